/*
 * pcdev: programs the PC platform devices the way a kernel does and prints what it sees. It takes
 * the 8254's counter-0 interrupts through the 8259A pair, waits on counter 2 through port 0x61, sets
 * the MC146818 clock and takes its update-ended interrupt on IRQ8 through the slave, and drives the
 * 16550A: scratch, loopback, FIFO identification, and its THR-empty and received-data interrupts on
 * IRQ4. The local APIC is globally disabled (IA32_APIC_BASE bit 11), so the 8259's INTR is the
 * processor's interrupt pin, on hvsim as on any PC. Nothing printed depends on how fast time runs,
 * so the expected output is QEMU's (`deno task qemu-oracle`, guests/qemu/run.sh).
 */
#include "hvsim.h"

struct interrupt_frame;

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

struct idt_gate {
	u16 offset_low, selector;
	u8 ist, type;
	u16 offset_mid;
	u32 offset_high, reserved;
};

static struct idt_gate idt[256] __attribute__((aligned(16)));

static void set_gate(int vector, void (*fn)(struct interrupt_frame *))
{
	u64 a = (u64)fn;
	u16 cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	idt[vector] = (struct idt_gate){ (u16)a, cs, 0, 0x8e, (u16)(a >> 16), (u32)(a >> 32), 0 };
}

static volatile unsigned pit_ticks, rtc_irqs, uart_irqs, spurious;
static volatile u8 rtc_c, uart_iir[4], rx[8];
static volatile unsigned rx_len;

__attribute__((interrupt)) static void irq0(struct interrupt_frame *f)
{
	(void)f;
	pit_ticks++;
	outb(0x20, 0x20); /* non-specific EOI */
}

__attribute__((interrupt)) static void irq4(struct interrupt_frame *f)
{
	(void)f;
	u8 iir = inb(0x3fa);
	if (uart_irqs < 4)
		uart_iir[uart_irqs] = iir;
	uart_irqs++;
	if ((iir & 0x0f) == 0x02)
		outb(0x3f9, 0x00); /* THR empty: nothing to send, interrupts off */
	while (inb(0x3fd) & 0x01) {
		u8 b = inb(0x3f8);
		if (rx_len < sizeof rx)
			rx[rx_len++] = b;
	}
	outb(0x20, 0x20);
}

__attribute__((interrupt)) static void irq7(struct interrupt_frame *f)
{
	(void)f;
	spurious++; /* no EOI: a spurious IR7 is not in service */
}

__attribute__((interrupt)) static void irq8(struct interrupt_frame *f)
{
	(void)f;
	outb(0x70, 0x0c);
	rtc_c = inb(0x71); /* reading C lowers the RTC's interrupt */
	rtc_irqs++;
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
}

static u8 cmos(u8 r)
{
	outb(0x70, r);
	return inb(0x71);
}

static void cmos_set(u8 r, u8 v)
{
	outb(0x70, r);
	outb(0x71, v);
}

/* Halts with interrupts on until *count reaches n (each interrupt wakes the HLT). */
static void wait_for(volatile unsigned *count, unsigned n)
{
	while (*count < n)
		__asm__ volatile("sti; hlt; cli");
}

static u8 pic_reg(u16 port, u8 ocw3)
{
	outb(port, ocw3);
	return inb(port);
}

int main(unsigned long ram_size, const char *cmdline)
{
	(void)ram_size;
	(void)cmdline;
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) idtr = { sizeof idt - 1, (u64)idt };
	set_gate(0x20, irq0);
	set_gate(0x24, irq4);
	set_gate(0x27, irq7);
	set_gate(0x28, irq8);
	__asm__ volatile("lidt %0" : : "m"(idtr));

	/* The local APIC off: LINT0's input is the processor's INTR pin (SDM Vol. 3 §11.4.3). */
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x1b));
	lo &= ~0x800u;
	__asm__ volatile("wrmsr" : : "a"(lo), "d"(hi), "c"(0x1b));

	/* 8259A pair as Linux's init_8259A programs it: vectors 0x20 and 0x28, slave on IR2. */
	static const u8 icw[][2] = { { 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 }, { 0x21, 0x01 },
				     { 0xa0, 0x11 }, { 0xa1, 0x28 }, { 0xa1, 0x02 }, { 0xa1, 0x01 } };
	for (unsigned i = 0; i < sizeof icw / sizeof icw[0]; i++)
		outb(icw[i][0], icw[i][1]);
	outb(0x21, 0xfe);
	outb(0xa1, 0xff);
	printf("pic: imr %02x %02x, isr %02x\n", inb(0x21), inb(0xa1), pic_reg(0x20, 0x0b));

	/* 8254 counter 0, mode 2, 100 Hz. */
	outb(0x43, 0x34);
	outb(0x40, 11932 & 0xff);
	outb(0x40, 11932 >> 8);
	wait_for(&pit_ticks, 5);
	outb(0x43, 0xe2); /* read-back: status of counter 0 */
	printf("pit: %u ticks on IRQ0, counter 0 status & 0x3f = %02x, isr %02x\n", pit_ticks, inb(0x40) & 0x3f,
	       pic_reg(0x20, 0x0b));
	outb(0x21, 0xff);

	/* Counter 2 in mode 0 gated by port 0x61 bit 0; OUT2 shows in bit 5 (Linux's PIT calibration). */
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb0);
	outb(0x42, 0x00);
	outb(0x42, 0x01);
	unsigned polls = 0;
	while (!(inb(0x61) & 0x20))
		polls++;
	printf("pit: OUT2 high after counting 256 (gate %u)\n", inb(0x61) & 1);

	/* MC146818: SET, a known time in BCD, then the update-ended interrupt on IRQ8. */
	printf("rtc: A %02x B %02x D %02x\n", cmos(0x0a) & 0x7f, cmos(0x0b), cmos(0x0d));
	cmos_set(0x0b, 0x82);
	cmos_set(0x0a, 0x20); /* no periodic rate */
	cmos_set(0x00, 0x07);
	cmos_set(0x02, 0x06);
	cmos_set(0x04, 0x05);
	cmos_set(0x07, 0x04);
	cmos_set(0x08, 0x03);
	cmos_set(0x09, 0x26);
	cmos_set(0x05, 0x3f); /* an alarm hour that never matches */
	cmos(0x0c);
	cmos_set(0x0b, 0x12); /* run, UIE, 24-hour BCD */
	outb(0xa1, 0xfe);
	outb(0x21, 0xfb);
	wait_for(&rtc_irqs, 1);
	printf("rtc: update interrupt, C %02x; now 20%02x-%02x-%02x %02x:%02x:%02x\n", rtc_c, cmos(9), cmos(8),
	       cmos(7), cmos(4), cmos(2), cmos(0));
	cmos_set(0x0b, 0x06); /* binary, 24-hour */
	printf("rtc: binary mode: month %u day %u hour %u\n", cmos(8), cmos(7), cmos(4));
	cmos_set(0x0b, 0x02);
	outb(0xa1, 0xff);

	/* 16550A: scratch, FIFO identification, loopback. */
	outb(0x3ff, 0x5a);
	u8 scr = inb(0x3ff);
	outb(0x3fa, 0x07);
	printf("uart: scratch %02x, iir with FIFOs %02x\n", scr, inb(0x3fa));
	outb(0x3fc, 0x1a);
	printf("uart: loopback msr & 0xf0 = %02x\n", inb(0x3fe) & 0xf0);

	/* Received-data interrupt from loopback bytes, then THR empty on enabling it. */
	outb(0x3fc, 0x18); /* loopback, OUT2 */
	outb(0x21, 0xef);
	outb(0x3f9, 0x01);
	__asm__ volatile("cli");
	outb(0x3f8, 'a');
	outb(0x3f8, 'b');
	outb(0x3f8, 'c');
	wait_for(&uart_irqs, 1);
	outb(0x3f9, 0x02);
	wait_for(&uart_irqs, 2);
	printf("uart: irq4 with iir %02x then %02x, received \"%c%c%c\" (%u bytes)\n", uart_iir[0], uart_iir[1], rx[0],
	       rx[1], rx[2], rx_len);
	outb(0x3fc, 0x00);
	printf("uart: iir after %02x, lsr %02x\n", inb(0x3fa), inb(0x3fd));
	outb(0x21, 0xff);
	printf("spurious: %u\n", spurious);
	return 0;
}
