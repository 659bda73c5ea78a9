/* Platform layer of the freestanding guest: port I/O console and exit, heap after the image. */
#include "hvsim.h"

/* Set by crt0.S from RDI. */
extern u64 hv_ram_size;
/* End of the loaded image (.bss included), from the linker. */
extern char _end[];

/* Stack space kept free below the top of RAM, where RSP starts. */
#define STACK_RESERVE (1UL << 20)

static inline void outb(u16 port, u8 value)
{
	__asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline void outl(u16 port, u32 value)
{
	__asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}

void hv_console_byte(int c)
{
	outb(HV_PORT_CONSOLE, (u8)c);
}

void hv_exit(int code)
{
	outl(HV_PORT_EXIT, (u32)code);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void hv_heap_range(u64 *start, u64 *end)
{
	*start = ((u64)_end + 4095) & ~4095UL;
	*end = hv_ram_size > STACK_RESERVE ? hv_ram_size - STACK_RESERVE : 0;
}

void hv_set_gs_base(u64 base)
{
	/* IA32_GS_BASE (SDM Vol. 4, Table 2-2). */
	__asm__ volatile("wrmsr" : : "c"(0xc0000101), "a"((u32)base), "d"((u32)(base >> 32)));
}
