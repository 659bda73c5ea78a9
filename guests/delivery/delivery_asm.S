/*
 * Low-level parts of the delivery guest: one entry stub per vector, the way back from a handler
 * to the case driver, ring-3 entry, and the cases themselves. Each case records the RSP and the
 * address of the instruction that raises its event (case_rsp, case_insn), then raises it; the
 * handler reports what the processor pushed and returns to run_case's caller.
 */
	.file "delivery_asm.S"		/* a fixed name: without it the symbol table holds gcc's temp file name */
	.altmacro

/* ---- 256 entry stubs: push the vector, then the common path ---- */
	.macro stub n
vec_\n:
	pushq $\n
	jmp entry_common
	.endm
	.macro stub_addr n
	.quad vec_\n
	.endm

	.text
	.set i, 0
	.rept 256
	stub %i
	.set i, i + 1
	.endr

/*
 * Entered with the vector on top of the frame the processor pushed. Records the handler's CS
 * and SS and the frame's address, then reports on the kernel stack: event(frame, vector, cs, ss).
 * event() does not return: it ends in case_return.
 */
entry_common:
	movq (%rsp), %rsi		/* vector */
	leaq 8(%rsp), %rdi		/* the frame: [error code,] RIP, CS, RFLAGS, RSP, SS */
	xorl %edx, %edx
	movw %cs, %dx
	xorl %ecx, %ecx
	movw %ss, %cx
	leaq report_stack_top(%rip), %rsp
	call event
	ud2

/* long run_case(void (*fn)(void)): calls fn; returns 1 when an event came back through case_return, 0 when fn returned. */
	.globl run_case
run_case:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, case_resume_rsp(%rip)
	call *%rdi
	xorl %eax, %eax
	jmp 1f
/* void case_return(void): back to run_case's caller at CPL 0 with the kernel's SS. */
	.globl case_return
case_return:
	movl $0x10, %eax
	movl %eax, %ss
	movq case_resume_rsp(%rip), %rsp
	movl $1, %eax
1:	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret

/* void enter_user(void (*rip)(void), u64 rsp): IRETQ to CPL 3 (CS 0x23, SS 0x1b, RFLAGS 0x2). */
	.globl enter_user
enter_user:
	pushq $0x1b
	pushq %rsi
	pushq $0x2
	pushq $0x23
	pushq %rdi
	iretq

/* Records the current RSP and the address of the next labelled instruction (1:). */
	.macro mark
	movq %rsp, case_rsp(%rip)
	leaq 1f(%rip), %rax
	movq %rax, case_insn(%rip)
	.endm

/* A case: function `name` records and raises its event with `insn`. */
	.macro case name, insn:vararg
	.globl \name
\name:
	mark
1:	\insn
	ret
	.endm

/* A ring-0 case on the test stack (RSP 8 bytes below a 16-byte boundary, so alignment shows). */
	.macro kcase name, insn:vararg
	.globl \name
\name:
	leaq test_stack_top - 8(%rip), %rsp
	mark
1:	\insn
	jmp case_return
	.endm

	/* ring 3 (entered through enter_user) */
	case u_int80, int $0x80
	case u_int81, int $0x81
	case u_int0d, int $0x0d
	case u_int0e, int $0x0e
	case u_int08, int $0x08
	case u_int3, int3
	case u_int03, int $3
	case u_icebp, .byte 0xf1
	case u_into, .byte 0xce
	case u_ud2, ud2
	case u_hlt, hlt
	case u_read_unmapped, movq 0x3fe00010, %rax
	.globl u_iretq_to_ring0
u_iretq_to_ring0:
	pushq $0x10
	pushq %rsp
	pushq $0x2
	pushq $0x08
	leaq case_return(%rip), %rax
	pushq %rax
	mark
1:	iretq

	/* ring 0 */
	kcase k_int40, int $0x40
	kcase k_int08, int $0x08
	kcase k_ud2, ud2
	kcase k_read_unmapped, movq 0x3fe00010, %rax
	.globl k_div0
k_div0:
	leaq test_stack_top - 8(%rip), %rsp
	xorl %ebx, %ebx
	mark
1:	divl %ebx
	jmp case_return
	.globl k_read_noncanonical
k_read_noncanonical:
	leaq test_stack_top - 8(%rip), %rsp
	movabsq $0x0000800000000000, %rcx
	mark
1:	movq (%rcx), %rax
	jmp case_return
	.globl k_int40_noncanonical_rsp
k_int40_noncanonical_rsp:
	movabsq $0x0000800000000048, %rsp
	mark
1:	int $0x40
	jmp case_return

/* IRETQ from the test stack with the frame RIP, CS, RFLAGS, RSP, SS = RDI, RSI, RDX, RCX, R8. */
	.globl k_iretq
k_iretq:
	leaq test_stack_top - 48(%rip), %rsp
	movq %rdi, 0(%rsp)
	movq %rsi, 8(%rsp)
	movq %rdx, 16(%rsp)
	movq %rcx, 24(%rsp)
	movq %r8, 32(%rsp)
	mark
1:	iretq

/* IRETQ with RFLAGS.NT set. */
	.globl k_iretq_nt
k_iretq_nt:
	leaq test_stack_top - 48(%rip), %rsp
	pushfq
	orq $0x4000, (%rsp)
	popfq
	movq $0x10, 32(%rsp)
	leaq test_stack_top - 48(%rip), %rax
	movq %rax, 24(%rsp)
	movq $0x2, 16(%rsp)
	movq $0x08, 8(%rsp)
	leaq case_return(%rip), %rax
	movq %rax, 0(%rsp)
	mark
1:	iretq

/* The target of an IRETQ that sets RF: an INT n as the first instruction after it. */
	.globl k_after_iretq_int40
k_after_iretq_int40:
	mark
1:	int $0x40
	jmp case_return

/* SYSRET to a non-canonical RCX at CPL 0. */
	.globl k_sysret_noncanonical
k_sysret_noncanonical:
	leaq test_stack_top - 8(%rip), %rsp
	movabsq $0x0000800000000000, %rcx
	movl $0x2, %r11d
	mark
1:	sysretq

	.section .rodata
	.balign 8
	.globl stub_table
stub_table:
	.set i, 0
	.rept 256
	stub_addr %i
	.set i, i + 1
	.endr

	.bss
	.balign 16
	.globl case_rsp, case_insn
case_rsp:
	.quad 0
case_insn:
	.quad 0
case_resume_rsp:
	.quad 0
	.balign 16
	.globl test_stack, test_stack_top
test_stack:
	.skip 4096
test_stack_top:
report_stack:
	.skip 8192
report_stack_top:

	.section .note.GNU-stack, "", @progbits
