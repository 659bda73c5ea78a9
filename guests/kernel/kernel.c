/*
 * kernel: a small kernel-like guest. It installs its own GDT (with a TSS), IDT and 4-level
 * page tables (4 KiB, 2 MiB and 1 GiB pages, NX, CR0.WP), enables SYSCALL, maps a ring-3
 * task, enters it with IRETQ and takes it back through SYSCALL, INT 0x80 and exceptions,
 * counts local APIC timer interrupts (periodic, one-shot and TSC-deadline), recovers from
 * page faults by mapping or unprotecting the page, and prints what happened.
 *
 * With "triple" on the command line it ends differently: it makes the #UD and #NP gates
 * not present, so UD2 escalates #UD -> #NP -> #NP -> double fault (taken on IST2), and the
 * #DF handler loads an empty IDT and raises #BP, which ends the run in a triple fault.
 *
 * It needs ring 0, so it has no native twin: its expected output is derived by hand from
 * the Intel SDM (see kernel.expected.txt and EXPECTED.md).
 */
#include "hvsim.h"

#define SYS_WRITE 1
#define SYS_EXIT 2
#define SYS_CHECK_GS 3

#define USER_BASE 0x40000000UL
#define USER_STACK 0x40001000UL
#define USER_TICKS 0x40002000UL
#define USER_DEMAND 0x40010000UL
#define ALIAS_1G 0x80000000UL
#define LAPIC 0xfee00000UL

/* Page-table entry bits (SDM Vol. 3, 4.5, Tables 4-14 to 4-20). */
#define PTE_P (1UL << 0)
#define PTE_W (1UL << 1)
#define PTE_U (1UL << 2)
#define PTE_PWT (1UL << 3)
#define PTE_PCD (1UL << 4)
#define PTE_A (1UL << 5)
#define PTE_D (1UL << 6)
#define PTE_PS (1UL << 7)
#define PTE_NX (1UL << 63)

/* MSRs (SDM Vol. 4, Table 2-2). */
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FMASK 0xc0000084
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_APIC_BASE 0x1b
#define MSR_TSC_DEADLINE 0x6e0

/* Local APIC registers (SDM Vol. 3, 11.4.1, Table 11-1). */
#define APIC_EOI 0x0b0
#define APIC_SVR 0x0f0
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CURRENT 0x390
#define APIC_TIMER_DIVIDE 0x3e0

#define TIMER_VECTOR 0x20

struct frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error, rip, cs, rflags, rsp, ss;
};

struct tss {
	u32 reserved0;
	u64 rsp0, rsp1, rsp2, reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3, iomap_base;
} __attribute__((packed));

struct idt_gate {
	u16 offset_low, selector;
	u8 ist, type;
	u16 offset_mid;
	u32 offset_high, reserved;
};

struct percpu {
	u64 kernel_rsp;
	u64 user_rsp;
};

/* asm (kernel_asm.S) */
extern char isr0[], isr1[], isr2[], isr3[], isr4[], isr5[], isr6[], isr7[], isr8[], isr9[], isr10[], isr11[],
	isr12[], isr13[], isr14[], isr16[], isr17[], isr18[], isr19[], isr32[], isr128[], isr255[];
extern char syscall_entry[], user_start[], user_end[], nx_ret[];
extern char user_demand_write[], user_read_kernel[], user_hlt[], user_int3[], user_int81[], user_write_code[];
long enter_user(u64 rip, u64 rsp);
__attribute__((noreturn)) void leave_user(long code);

static u64 pml4[512] __attribute__((aligned(4096)));
static u64 pdpt[512] __attribute__((aligned(4096)));
static u64 pd_low[512] __attribute__((aligned(4096)));   /* 0..1 GiB, 2 MiB pages */
static u64 pd_user[512] __attribute__((aligned(4096)));  /* 1..2 GiB */
static u64 pt_user[512] __attribute__((aligned(4096)));  /* 1 GiB .. +2 MiB, 4 KiB pages */
static u64 pd_apic[512] __attribute__((aligned(4096)));  /* 3..4 GiB */
static u64 pt_test[512] __attribute__((aligned(4096)));  /* kernel 4 KiB test pages */
static u8 user_stack[4096] __attribute__((aligned(4096)));
static u8 demand_frame[4096] __attribute__((aligned(4096)));
static u8 test_pages[2][4096] __attribute__((aligned(4096)));
static u8 kernel_stack[4096] __attribute__((aligned(16)));
static u8 ist1_stack[4096] __attribute__((aligned(16)));
static u8 ist2_stack[4096] __attribute__((aligned(16)));
static u8 syscall_stack[4096] __attribute__((aligned(16)));

/* The tick count, alone in a page that the task can read. */
static volatile u64 ticks[512] __attribute__((aligned(4096)));

static u64 gdt[7] __attribute__((aligned(16)));
static struct tss tss __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
static struct percpu percpu;

/* Where a deliberate fault from ring 3 resumes: the task sets R15 first. */
static int faults_seen;

/* The test pages' virtual addresses: the 2 MiB region at 1 GiB - 2 MiB, mapped by pt_test. */
#define TEST_VA 0x3fe00000UL

static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (u64)hi << 32 | lo;
}

static inline u64 read_cr0(void) { u64 v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline u64 read_cr2(void) { u64 v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline u64 read_cr3(void) { u64 v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline void write_cr0(u64 v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(u64 v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void invlpg(u64 va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }

static inline u32 apic_read(u32 reg) { return *(volatile u32 *)(LAPIC + reg); }
static inline void apic_write(u32 reg, u32 v) { *(volatile u32 *)(LAPIC + reg) = v; }

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (u64)hi << 32 | lo;
}

static void set_gate(int vector, void *handler, int ist, int dpl, int trap)
{
	u64 a = (u64)handler;
	idt[vector] = (struct idt_gate){
		.offset_low = (u16)a,
		.selector = 0x08,
		.ist = (u8)ist,
		.type = (u8)(0x80 | dpl << 5 | (trap ? 0xf : 0xe)),
		.offset_mid = (u16)(a >> 16),
		.offset_high = (u32)(a >> 32),
	};
}

static void setup_gdt(void)
{
	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffUL; /* 0x08 kernel code: L, P, DPL 0 */
	gdt[2] = 0x00cf92000000ffffUL; /* 0x10 kernel data */
	gdt[3] = 0x00cff2000000ffffUL; /* 0x18 user data: DPL 3 */
	gdt[4] = 0x00affa000000ffffUL; /* 0x20 user code: L, DPL 3 */
	u64 base = (u64)&tss, limit = sizeof tss - 1;
	gdt[5] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89UL << 40 | ((limit >> 16) & 0xf) << 48 |
		 ((base >> 24) & 0xff) << 56; /* 0x28 available 64-bit TSS */
	gdt[6] = base >> 32;

	tss.rsp0 = (u64)(kernel_stack + sizeof kernel_stack);
	tss.ist[0] = (u64)(ist1_stack + sizeof ist1_stack);
	tss.ist[1] = (u64)(ist2_stack + sizeof ist2_stack);
	tss.iomap_base = sizeof tss;

	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) gdtr = {sizeof gdt - 1, (u64)gdt};
	__asm__ volatile("lgdt %0\n\t"
			 "pushq $0x08\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\tmovl $0x10, %%eax\n\t"
			 "movl %%eax, %%ds\n\t"
			 "movl %%eax, %%es\n\t"
			 "movl %%eax, %%ss\n\t"
			 "xorl %%eax, %%eax\n\t"
			 "movl %%eax, %%fs\n\t"
			 "movl %%eax, %%gs\n\t"
			 "movw $0x28, %%ax\n\t"
			 "ltr %%ax"
			 :
			 : "m"(gdtr)
			 : "rax", "memory");
}

static void setup_idt(void)
{
	static const struct {
		int vector;
		char *handler;
	} stubs[] = {{0, isr0}, {1, isr1}, {2, isr2}, {4, isr4}, {5, isr5}, {6, isr6}, {7, isr7},
		     {9, isr9}, {10, isr10}, {11, isr11}, {12, isr12}, {13, isr13}, {16, isr16},
		     {17, isr17}, {18, isr18}, {19, isr19}, {TIMER_VECTOR, isr32}, {255, isr255}};
	for (size_t i = 0; i < sizeof stubs / sizeof stubs[0]; i++)
		set_gate(stubs[i].vector, stubs[i].handler, 0, 0, 0);
	set_gate(3, isr3, 0, 3, 1);      /* #BP: trap gate, reachable from ring 3 */
	set_gate(8, isr8, 2, 0, 0);      /* #DF on IST2 */
	set_gate(14, isr14, 1, 0, 0);    /* #PF on IST1 */
	set_gate(0x80, isr128, 0, 3, 0); /* system calls through an interrupt gate */
	set_gate(0x81, isr255, 0, 0, 0); /* present, but DPL 0: INT 0x81 from ring 3 is #GP */
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) idtr = {sizeof idt - 1, (u64)idt};
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

static void setup_paging(void)
{
	for (u64 i = 0; i < 512; i++)
		pd_low[i] = i << 21 | PTE_P | PTE_W | PTE_PS;
	/* The last 2 MiB below 1 GiB: 4 KiB kernel test pages. */
	pd_low[511] = (u64)pt_test | PTE_P | PTE_W;
	pt_test[0] = (u64)test_pages[0] | PTE_P;          /* read-only: CR0.WP makes a write fault */
	pt_test[1] = (u64)test_pages[1] | PTE_P | PTE_W | PTE_NX; /* no-execute */

	/* User pages: code (read-only), stack (no-execute), tick page (read-only, no-execute). */
	pd_user[0] = (u64)pt_user | PTE_P | PTE_W | PTE_U;
	pt_user[0] = (u64)user_start | PTE_P | PTE_U;
	pt_user[1] = (u64)user_stack | PTE_P | PTE_W | PTE_U | PTE_NX;
	pt_user[2] = (u64)ticks | PTE_P | PTE_U | PTE_NX;

	/* Local APIC registers: one 2 MiB page, uncached. */
	pd_apic[(LAPIC >> 21) & 511] = LAPIC | PTE_P | PTE_W | PTE_PCD | PTE_PWT | PTE_PS | PTE_NX;

	pdpt[0] = (u64)pd_low | PTE_P | PTE_W;
	pdpt[1] = (u64)pd_user | PTE_P | PTE_W | PTE_U;
	pdpt[2] = 0 | PTE_P | PTE_W | PTE_PS | PTE_NX; /* 2..3 GiB: a 1 GiB page aliasing RAM */
	pdpt[3] = (u64)pd_apic | PTE_P | PTE_W;
	pml4[0] = (u64)pdpt | PTE_P | PTE_W | PTE_U;

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | 1 << 11 | 1 << 0); /* NXE, SCE */
	write_cr3((u64)pml4);
	write_cr0(read_cr0() | 1 << 16); /* WP */
}

static void print_pte(const char *what, u64 pte)
{
	printf("  %-16s accessed=%d dirty=%d\n", what, (pte & PTE_A) != 0, (pte & PTE_D) != 0);
}

static const char *user_label(u64 rip)
{
	static const struct {
		char *at;
		const char *name;
	} labels[] = {
		{user_demand_write, "user_demand_write"}, {user_read_kernel, "user_read_kernel"},
		{user_hlt, "user_hlt"}, {user_int3, "user_int3"}, {user_int81, "user_int81"},
		{user_write_code, "user_write_code"},
	};
	for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
		u64 va = USER_BASE + (u64)(labels[i].at - user_start);
		if (rip == va)
			return labels[i].name;
		if (rip == va + 1 && labels[i].at == user_int3)
			return "after user_int3";
	}
	return "?";
}

long syscall(long nr, long a1, long a2, long a3);

static __attribute__((noreturn)) void fatal(struct frame *f)
{
	printf("kernel: unexpected vector %lu error 0x%lx at rip %lx cs %lx cr2 %lx\n", f->vector, f->error, f->rip,
	       f->cs, read_cr2());
	hv_exit(3);
}

/* Called by isr_common with the saved state; returning resumes it (IRETQ). */
void trap(struct frame *f)
{
	int user = (f->cs & 3) == 3;
	switch (f->vector) {
	case 8: {
		int on_ist2 = (u64)f >= (u64)ist2_stack && (u64)(f + 1) <= (u64)(ist2_stack + sizeof ist2_stack);
		printf("kernel: double fault, error code 0x%lx, handler on the IST2 stack: %s\n", f->error,
		       on_ist2 ? "yes" : "no");
		puts("kernel: loading an empty IDT and raising #BP: a triple fault ends the run");
		struct {
			u16 limit;
			u64 base;
		} __attribute__((packed)) empty = {0, 0};
		__asm__ volatile("lidt %0; int3" : : "m"(empty));
		puts("kernel: still running after a triple fault?!");
		hv_exit(4);
	}
	case TIMER_VECTOR:
		ticks[0]++;
		apic_write(APIC_EOI, 0);
		return;
	case 0x80:
		f->rax = (u64)syscall((long)f->rax, (long)f->rdi, (long)f->rsi, (long)f->rdx);
		return;
	case 3:
		printf("kernel: #BP from ring %d, saved rip at %s\n", user ? 3 : 0, user_label(f->rip));
		return;
	case 13:
		if (!user)
			fatal(f);
		printf("kernel: #GP(0x%lx) from ring 3 at %s\n", f->error, user_label(f->rip));
		f->rip = f->r15;
		faults_seen++;
		return;
	case 14: {
		u64 cr2 = read_cr2();
		if (user && cr2 >= USER_DEMAND && cr2 < USER_DEMAND + 4096 && !(f->error & 1)) {
			printf("kernel: #PF(0x%lx) cr2 0x%lx from ring 3 at %s: mapping a page\n", f->error, cr2,
			       user_label(f->rip));
			pt_user[(USER_DEMAND >> 12) & 511] = (u64)demand_frame | PTE_P | PTE_W | PTE_U | PTE_NX;
			return; /* the store is retried */
		}
		if (user) {
			printf("kernel: #PF(0x%lx) cr2 0x%lx from ring 3 at %s\n", f->error, cr2, user_label(f->rip));
			f->rip = f->r15;
			faults_seen++;
			return;
		}
		if (cr2 == TEST_VA + 8 && f->error == 3) {
			printf("kernel: #PF(0x%lx) writing read-only page: making it writable\n", f->error);
			pt_test[0] |= PTE_W;
			invlpg(TEST_VA);
			return;
		}
		if (cr2 == TEST_VA + 4096 && f->error == 0x11) {
			printf("kernel: #PF(0x%lx) fetching from no-execute page: returning to the caller\n", f->error);
			f->rip = *(u64 *)f->rsp;
			f->rsp += 8;
			return;
		}
		fatal(f);
	}
	default:
		fatal(f);
	}
}

long syscall(long nr, long a1, long a2, long a3)
{
	(void)a3;
	switch (nr) {
	case SYS_WRITE: {
		const char *s = (const char *)a1;
		for (long i = 0; i < a2; i++)
			putchar(s[i]);
		return a2;
	}
	case SYS_CHECK_GS:
		printf("kernel: in SYSCALL, GS base %s the per-CPU block, user RSP saved %s\n",
		       rdmsr(MSR_GS_BASE) == (u64)&percpu ? "is" : "is NOT",
		       percpu.user_rsp == USER_STACK + 4096 ? "ok" : "WRONG");
		return 0;
	case SYS_EXIT:
		leave_user(a1);
	default:
		return -1;
	}
}

static void wait_ticks(u64 n)
{
	u64 start = ticks[0];
	while (ticks[0] - start < n)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
}

int main(unsigned long ram_size, const char *cmdline)
{
	(void)ram_size;
	puts("kernel: booting");
	setup_gdt();
	setup_idt();
	setup_paging();
	printf("kernel: own GDT, TSS, IDT and page tables loaded (cr3 = pml4: %s)\n",
	       read_cr3() == (u64)pml4 ? "yes" : "no");

	/* A 1 GiB page aliases RAM: a store through it is seen through the identity map. */
	static volatile u64 probe;
	*(volatile u64 *)(ALIAS_1G + (u64)&probe) = 0x1babe;
	printf("kernel: 1 GiB page alias: %s\n", probe == 0x1babe ? "ok" : "FAILED");

	/* CR0.WP: a supervisor write to a read-only page faults; the handler unprotects it. */
	volatile u64 *ro = (volatile u64 *)(TEST_VA + 8);
	*ro = 77;
	printf("kernel: write retried after the fault: %lu\n", *ro);

	/* NX: fetching from a no-execute page faults; the handler returns to the caller. */
	memcpy((void *)(TEST_VA + 4096), nx_ret, 1);
	((void (*)(void))(TEST_VA + 4096))();
	puts("kernel: call into the no-execute page came back");

	/* SYSCALL: CS/SS from STAR, entry from LSTAR, IF/TF/DF masked by FMASK. */
	wrmsr(MSR_STAR, 0x0010UL << 48 | 0x0008UL << 32);
	wrmsr(MSR_LSTAR, (u64)syscall_entry);
	wrmsr(MSR_FMASK, 0x700);
	percpu.kernel_rsp = (u64)(syscall_stack + sizeof syscall_stack);
	wrmsr(MSR_GS_BASE, 0);
	wrmsr(MSR_KERNEL_GS_BASE, (u64)&percpu);

	/* Local APIC: enabled, periodic timer on TIMER_VECTOR. */
	u64 apic_base = rdmsr(MSR_APIC_BASE);
	printf("kernel: APIC base 0x%lx, global enable %d\n", apic_base & ~0xfffUL, (int)(apic_base >> 11) & 1);
	apic_write(APIC_SVR, 0x100 | 0xff);
	apic_write(APIC_LVT_LINT0, 1 << 16); /* masked: no legacy PIC interrupts through LINT0 */
	apic_write(APIC_TIMER_DIVIDE, 0xb); /* divide by 1 */
	apic_write(APIC_LVT_TIMER, 1 << 17 | TIMER_VECTOR);
	apic_write(APIC_TIMER_INIT, 20000);

	long code = enter_user(USER_BASE, USER_STACK + 4096);
	printf("kernel: task exited with code %ld after %d deliberate faults\n", code, faults_seen);
	puts("kernel: page-table accessed/dirty flags set by the CPU:");
	print_pte("user code", pt_user[0]);
	print_pte("user stack", pt_user[1]);
	print_pte("tick page", pt_user[2]);
	print_pte("demand page", pt_user[(USER_DEMAND >> 12) & 511]);

	wait_ticks(5);
	puts("kernel: periodic timer: 5 more ticks counted with sti; hlt");

	apic_write(APIC_TIMER_INIT, 0);
	apic_write(APIC_LVT_TIMER, TIMER_VECTOR); /* one-shot */
	apic_write(APIC_TIMER_INIT, 5000);
	wait_ticks(1);
	printf("kernel: one-shot timer fired; current count now %u\n", apic_read(APIC_TIMER_CURRENT));

	u32 eax = 1, ebx, ecx = 0, edx;
	__asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
	if (ecx & 1 << 24) {
		apic_write(APIC_LVT_TIMER, 2 << 17 | TIMER_VECTOR); /* TSC-deadline */
		wrmsr(MSR_TSC_DEADLINE, rdtsc() + 10000);
		wait_ticks(1);
		printf("kernel: TSC-deadline timer fired; deadline MSR now %lu\n", rdmsr(MSR_TSC_DEADLINE));
	} else {
		puts("kernel: TSC-deadline mode not supported (CPUID.1:ECX[24] = 0)");
	}

	size_t flag_len;
	if (cmdline_get(cmdline, "triple", &flag_len)) {
		/* Not-present #UD and #NP gates: #UD -> #NP(6 * 8 + 2 + EXT) -> #NP again -> #DF. */
		idt[6].type &= 0x7f;
		idt[11].type &= 0x7f;
		puts("kernel: UD2 with the #UD and #NP gates not present");
		__asm__ volatile("ud2");
		puts("kernel: UD2 returned?!");
		return 5;
	}
	puts("kernel: done");
	return 0;
}
