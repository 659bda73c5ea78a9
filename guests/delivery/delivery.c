/*
 * delivery: a kernel-like guest that exercises event delivery through the IDT from ring 0 and
 * ring 3 (INT n, INT3, INT1, INTO, exceptions, not-present and malformed gates and code segments,
 * RSP0 and IST stacks, faults while pushing the frame, double faults, IRETQ and SYSRET checks)
 * and prints, for each case, what its handler sees: the vector, the error code, the RIP, CS,
 * RFLAGS, RSP and SS the processor pushed, the stack the frame is on and the handler's CS and SS.
 *
 * It builds its own GDT, TSS, IDT and page tables, so nothing it prints depends on the loader;
 * addresses are printed relative to the case (RIP as insn+N from the instruction that raised the
 * event, RSP as "case" when it is the RSP at that instruction). Its expected output is QEMU's
 * (`deno task qemu-oracle`), with the lines where QEMU departs from the SDM listed in the
 * manifest. With "triple" on the command line it runs only one case instead: a fault while
 * delivering #DF, which ends the run in a triple fault.
 */
#include "hvsim.h"

#define PTE_P (1UL << 0)
#define PTE_W (1UL << 1)
#define PTE_U (1UL << 2)
#define PTE_PS (1UL << 7)

#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081

#define UNMAPPED_2M 0x3fe00000UL /* a 2 MiB region left not present */
#define NONCANONICAL 0x0000800000000000UL

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

/* delivery_asm.S */
extern u64 stub_table[256];
extern u64 case_rsp, case_insn;
extern char test_stack[], test_stack_top[];
long run_case(void (*fn)(void));
__attribute__((noreturn)) void case_return(void);
__attribute__((noreturn)) void enter_user(void (*rip)(void), u64 rsp);
__attribute__((noreturn)) void k_iretq(u64 rip, u64 cs, u64 rflags, u64 rsp, u64 ss);
void u_int80(void), u_int81(void), u_int0d(void), u_int0e(void), u_int08(void), u_int3(void), u_int03(void),
	u_icebp(void), u_into(void), u_ud2(void), u_hlt(void), u_read_unmapped(void), u_iretq_to_ring0(void);
void k_int40(void), k_int08(void), k_ud2(void), k_div0(void), k_read_unmapped(void), k_read_noncanonical(void),
	k_int40_noncanonical_rsp(void), k_iretq_nt(void), k_after_iretq_int40(void), k_sysret_noncanonical(void);

static u64 pml4[512] __attribute__((aligned(4096)));
static u64 pdpt[512] __attribute__((aligned(4096)));
static u64 pd[512] __attribute__((aligned(4096)));
static u64 gdt[9] __attribute__((aligned(16)));
static struct tss tss, tss_initial;
static struct idt_gate idt[256] __attribute__((aligned(16))), idt_initial[256];
static u8 rsp0_stack[4096] __attribute__((aligned(16)));
static u8 ist1_stack[4096] __attribute__((aligned(16)));
static u8 ist2_stack[4096] __attribute__((aligned(16)));
static u8 user_stack[4096] __attribute__((aligned(16)));

struct idtr {
	u16 limit;
	u64 base;
} __attribute__((packed));

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

static inline u64 read_cr2(void)
{
	u64 v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static void load_idt(u16 limit)
{
	struct idtr r = {limit, (u64)idt};
	__asm__ volatile("lidt %0" : : "m"(r) : "memory");
}

/* Gate `v`: 64-bit interrupt (0xe) or trap (0xf) gate, or any other type, to the vector's stub. */
static void gate(int v, int type, int dpl, int ist, u16 sel, int present)
{
	u64 a = stub_table[v];
	idt[v] = (struct idt_gate){
		.offset_low = (u16)a,
		.selector = sel,
		.ist = (u8)ist,
		.type = (u8)((present ? 0x80 : 0) | dpl << 5 | type),
		.offset_mid = (u16)(a >> 16),
		.offset_high = (u32)(a >> 32),
	};
}

static void setup(void)
{
	/* GDT: kernel code/data, user data/code in SYSRET order, the TSS, then descriptors for the gate tests. */
	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffUL; /* 0x08 64-bit code, DPL 0 */
	gdt[2] = 0x00cf92000000ffffUL; /* 0x10 data, DPL 0 */
	gdt[3] = 0x00cff2000000ffffUL; /* 0x18 data, DPL 3 */
	gdt[4] = 0x00affa000000ffffUL; /* 0x20 64-bit code, DPL 3 */
	u64 base = (u64)&tss, limit = sizeof tss - 1;
	gdt[5] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89UL << 40 | ((limit >> 16) & 0xf) << 48 |
		 ((base >> 24) & 0xff) << 56; /* 0x28 available 64-bit TSS */
	gdt[6] = base >> 32;
	gdt[7] = 0x00af1a000000ffffUL; /* 0x38 64-bit code, not present */
	gdt[8] = 0x00cf9a000000ffffUL; /* 0x40 32-bit code (L = 0) */
	struct idtr gdtr = {sizeof gdt - 1, (u64)gdt};
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

	/* RSP0 and IST1 8 bytes below a 16-byte boundary: the processor aligns them. IST3 is not mapped. */
	tss.rsp0 = (u64)(rsp0_stack + sizeof rsp0_stack) - 8;
	tss.ist[0] = (u64)(ist1_stack + sizeof ist1_stack) - 8;
	tss.ist[1] = (u64)(ist2_stack + sizeof ist2_stack);
	tss.ist[2] = UNMAPPED_2M + 0x1000;
	tss.iomap_base = sizeof tss;
	tss_initial = tss;

	/* IDT: interrupt gates to each vector's stub; #BP and INT 0x80 reachable from ring 3; #DF on IST2. */
	for (int v = 0; v < 256; v++)
		gate(v, 0xe, 0, 0, 0x08, 1);
	gate(3, 0xe, 3, 0, 0x08, 1);
	gate(0x80, 0xf, 3, 0, 0x08, 1);
	gate(8, 0xe, 0, 2, 0x08, 1);
	memcpy(idt_initial, idt, sizeof idt);
	load_idt(sizeof idt - 1);

	/* Paging: 0..1 GiB identity-mapped with 2 MiB pages, user-accessible, except the last 2 MiB. */
	for (u64 i = 0; i < 512; i++)
		pd[i] = i << 21 | PTE_P | PTE_W | PTE_U | PTE_PS;
	pd[UNMAPPED_2M >> 21] = 0;
	pdpt[0] = (u64)pd | PTE_P | PTE_W | PTE_U;
	pml4[0] = (u64)pdpt | PTE_P | PTE_W | PTE_U;
	__asm__ volatile("mov %0, %%cr3" : : "r"((u64)pml4) : "memory");

	/* SYSCALL/SYSRET: SCE, and STAR[63:48] = 0x10 (SYSRET: CS 0x20 | 3, SS 0x18 | 3). */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | 1);
	wrmsr(MSR_STAR, 0x0010000800000000UL);
}

/* ---- reporting ---- */

static const char *current;
static int events;

struct region {
	const char *name;
	u8 *base;
	u64 size;
};

/* The stack a frame at `f` is on, and the aligned top the processor pushed it from. */
static const char *stack_of(u64 f, u64 *top)
{
	const struct region r[] = {
		{"rsp0", rsp0_stack, sizeof rsp0_stack},
		{"ist1", ist1_stack, sizeof ist1_stack},
		{"ist2", ist2_stack, sizeof ist2_stack},
		{"test", (u8 *)test_stack, 4096},
		{"user", user_stack, sizeof user_stack},
	};
	for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
		u64 b = (u64)r[i].base;
		if (f < b || f >= b + r[i].size)
			continue;
		if (i == 0)
			*top = tss_initial.rsp0 & ~15UL;
		else if (i == 1)
			*top = tss_initial.ist[0] & ~15UL;
		else if (i == 2)
			*top = tss_initial.ist[1] & ~15UL;
		else
			*top = case_rsp & ~15UL;
		return r[i].name;
	}
	*top = 0;
	return "?";
}

static void print_rip(u64 rip)
{
	if (rip >= case_insn && rip < case_insn + 16)
		printf("insn+%lu", rip - case_insn);
	else
		printf("0x%lx", rip);
}

/* Called by entry_common for every event: prints it and returns to the case driver. */
__attribute__((noreturn)) void event(u64 *frame, u64 vector, u64 cs, u64 ss)
{
	u64 top;
	const char *where = stack_of((u64)frame, &top);
	u64 bytes = top - (u64)frame;
	events++;
	printf("%s: vector 0x%lx", current, vector);
	if (bytes == 48) {
		printf(" error 0x%lx", frame[0]);
		frame++;
	} else if (bytes != 40) {
		printf(" (a frame of %ld bytes)", (long)bytes);
	}
	printf(" | rip ");
	print_rip(frame[0]);
	printf(" cs 0x%lx rflags 0x%lx rsp ", frame[1], frame[2]);
	if (frame[3] == case_rsp)
		printf("case");
	else
		printf("0x%lx", frame[3]);
	printf(" ss 0x%lx | on %s, cs 0x%lx ss 0x%lx", frame[4], where, cs, ss);
	if (vector == 14)
		printf(" cr2 0x%lx", read_cr2());
	printf("\n");
	case_return();
}

/* ---- the cases ---- */

static void (*user_target)(void);

static void to_user(void)
{
	enter_user(user_target, (u64)(user_stack + sizeof user_stack) - 8);
}

static void iretq_null_ss(void)
{
	k_iretq((u64)u_ud2, 0x23, 0x2, (u64)(user_stack + sizeof user_stack) - 8, 0);
}

static void iretq_rf(void)
{
	k_iretq((u64)k_after_iretq_int40, 0x08, 0x10002, (u64)test_stack_top - 8, 0x10);
}

static void gate_np(int v) { gate(v, 0xe, 0, 0, 0x08, 0); }

struct case_def {
	const char *name;
	int ring;
	void (*fn)(void);
	void (*prepare)(void);
};

static void p_int3_dpl0(void) { gate(3, 0xe, 0, 0, 0x08, 1); }
static void p_gp_ist1(void) { gate(13, 0xe, 0, 1, 0x08, 1); }
static void p_int80_ist1(void) { gate(0x80, 0xf, 3, 1, 0x08, 1); }
static void p_rsp0_noncanonical(void)
{
	tss.rsp0 = NONCANONICAL;
	gate(12, 0xe, 0, 2, 0x08, 1);
}
static void p_rsp0_unmapped(void)
{
	tss.rsp0 = UNMAPPED_2M + 0x1000;
	gate(14, 0xe, 0, 2, 0x08, 1);
}
static void p_int40_ist1(void) { gate(0x40, 0xe, 0, 1, 0x08, 1); }
static void p_int40_np(void) { gate_np(0x40); }
static void p_ud_np(void) { gate_np(6); }
static void p_int40_limit(void) { load_idt(0x40 * 16 - 1); }
static void p_int40_callgate(void) { gate(0x40, 0xc, 0, 0, 0x08, 1); }
static void p_ud_gate16(void) { gate(6, 0x6, 0, 0, 0x08, 1); }
static void p_int40_null(void) { gate(0x40, 0xe, 0, 0, 0, 1); }
static void p_ud_null(void) { gate(6, 0xe, 0, 0, 0, 1); }
static void p_int40_data(void) { gate(0x40, 0xe, 0, 0, 0x10, 1); }
static void p_ud_data(void) { gate(6, 0xe, 0, 0, 0x10, 1); }
static void p_int40_cs_np(void) { gate(0x40, 0xe, 0, 0, 0x38, 1); }
static void p_ud_cs_np(void) { gate(6, 0xe, 0, 0, 0x38, 1); }
static void p_int40_cs32(void) { gate(0x40, 0xe, 0, 0, 0x40, 1); }
static void p_int40_cs_dpl3(void) { gate(0x40, 0xe, 0, 0, 0x23, 1); }
static void p_de_np(void) { gate_np(0); }
static void p_de_ist3(void) { gate(0, 0xe, 0, 3, 0x08, 1); }
static void p_pf_np(void) { gate_np(14); }
static void p_pf_ist3(void) { gate(14, 0xe, 0, 3, 0x08, 1); }
static void p_gp_callgate(void) { gate(13, 0xc, 0, 0, 0x08, 1); }
static void p_int08_np(void) { gate_np(8); }
static void p_ss_ist2(void) { gate(12, 0xe, 0, 2, 0x08, 1); }
static void p_triple(void)
{
	gate_np(0);
	gate_np(8);
}

static const struct case_def cases[] = {
	/* ring 3 */
	{"user int 0x80 (DPL-3 trap gate)", 3, u_int80, 0},
	{"user int 0x81 (DPL-0 gate)", 3, u_int81, 0},
	{"user int 0x0d (DPL-0 gate)", 3, u_int0d, 0},
	{"user int 0x0e (DPL-0 gate)", 3, u_int0e, 0},
	{"user int 0x08 (DPL-0 gate)", 3, u_int08, 0},
	{"user int3 (DPL-3 gate)", 3, u_int3, 0},
	{"user int3 (DPL-0 gate)", 3, u_int3, p_int3_dpl0},
	{"user int 3 (cd 03, DPL-0 gate)", 3, u_int03, p_int3_dpl0},
	{"user int1 (icebp, DPL-0 gate)", 3, u_icebp, 0},
	{"user into", 3, u_into, 0},
	{"user ud2", 3, u_ud2, 0},
	{"user read of a page not present", 3, u_read_unmapped, 0},
	{"user hlt, #GP gate on IST1", 3, u_hlt, p_gp_ist1},
	{"user int 0x80 through IST1", 3, u_int80, p_int80_ist1},
	{"user int 0x80, RSP0 not canonical", 3, u_int80, p_rsp0_noncanonical},
	{"user ud2, RSP0 not canonical", 3, u_ud2, p_rsp0_noncanonical},
	{"user int 0x80, RSP0 on a page not present", 3, u_int80, p_rsp0_unmapped},
	{"user iretq to ring 0", 3, u_iretq_to_ring0, 0},
	/* ring 0 */
	{"int 0x40", 0, k_int40, 0},
	{"int 0x40 through IST1", 0, k_int40, p_int40_ist1},
	{"int 0x40, gate not present", 0, k_int40, p_int40_np},
	{"ud2, gate not present", 0, k_ud2, p_ud_np},
	{"int 0x40 past the IDT limit", 0, k_int40, p_int40_limit},
	{"int 0x40 through a call gate", 0, k_int40, p_int40_callgate},
	{"ud2 through a 16-bit interrupt gate", 0, k_ud2, p_ud_gate16},
	{"int 0x40, gate selector null", 0, k_int40, p_int40_null},
	{"ud2, gate selector null", 0, k_ud2, p_ud_null},
	{"int 0x40, gate selector a data segment", 0, k_int40, p_int40_data},
	{"ud2, gate selector a data segment", 0, k_ud2, p_ud_data},
	{"int 0x40, gate code segment not present", 0, k_int40, p_int40_cs_np},
	{"ud2, gate code segment not present", 0, k_ud2, p_ud_cs_np},
	{"int 0x40, gate code segment 32-bit", 0, k_int40, p_int40_cs32},
	{"int 0x40, gate code segment DPL 3", 0, k_int40, p_int40_cs_dpl3},
	{"int 0x40 with RSP not canonical", 0, k_int40_noncanonical_rsp, p_ss_ist2},
	{"#DE, its gate not present (contributory twice)", 0, k_div0, p_de_np},
	{"#DE, its stack not present (contributory, page fault)", 0, k_div0, p_de_ist3},
	{"#PF, its gate not present (page fault, contributory)", 0, k_read_unmapped, p_pf_np},
	{"#PF, its stack not present (page fault twice)", 0, k_read_unmapped, p_pf_ist3},
	{"#GP, its gate a call gate (contributory twice)", 0, k_read_noncanonical, p_gp_callgate},
	{"int 0x08, gate not present", 0, k_int08, p_int08_np},
	{"iretq to ring 3 with a null SS", 0, iretq_null_ss, 0},
	{"iretq with NT set", 0, k_iretq_nt, 0},
	{"int 0x40 after an iretq that set RF", 0, iretq_rf, 0},
	{"sysretq to a non-canonical RCX", 0, k_sysret_noncanonical, 0},
};

static void run(const struct case_def *c)
{
	memcpy(idt, idt_initial, sizeof idt);
	tss = tss_initial;
	load_idt(sizeof idt - 1);
	if (c->prepare)
		c->prepare();
	current = c->name;
	int before = events;
	if (c->ring == 3) {
		user_target = c->fn;
		run_case(to_user);
	} else {
		run_case(c->fn);
	}
	if (events == before)
		printf("%s: no event\n", c->name);
}

int main(unsigned long ram_size, const char *cmdline)
{
	(void)ram_size;
	setup();
	size_t n = sizeof cases / sizeof cases[0];
	if (cmdline_get(cmdline, "triple", &n)) {
		static const struct case_def triple = {"#DE, its gate and the #DF gate not present", 0, k_div0, p_triple};
		puts("delivery: a fault while delivering #DF: a triple fault ends the run");
		run(&triple);
		puts("delivery: still running after a triple fault?!");
		return 4;
	}
	printf("delivery: %lu cases\n", (u64)n);
	for (size_t i = 0; i < n; i++)
		run(&cases[i]);
	puts("delivery: done");
	return 0;
}
