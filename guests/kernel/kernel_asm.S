/*
 * Low-level parts of the kernel guest: interrupt and exception entry stubs, the SYSCALL
 * entry, the switch to ring 3 and back, and the ring-3 task itself (section .user, one page,
 * position-independent, mapped for CPL 3 at USER_BASE by kernel.c).
 */
	.file "kernel_asm.S"		/* a fixed name: without it the symbol table holds gcc's temp file name */
#define SYS_WRITE 1
#define SYS_EXIT 2
#define SYS_CHECK_GS 3

#define USER_BASE 0x40000000
#define USER_TICKS 0x40002000
#define USER_DEMAND 0x40010010
#define KERNEL_PAGE 0x400000

	.text

/* ---- exception and interrupt entry: push a dummy error code where the CPU does not ---- */
	.macro stub vector, has_error
	.globl isr\vector
isr\vector:
	.if \has_error == 0
	pushq $0
	.endif
	pushq $\vector
	jmp isr_common
	.endm

	stub 0, 0
	stub 1, 0
	stub 2, 0
	stub 3, 0
	stub 4, 0
	stub 5, 0
	stub 6, 0
	stub 7, 0
	stub 8, 1
	stub 9, 0
	stub 10, 1
	stub 11, 1
	stub 12, 1
	stub 13, 1
	stub 14, 1
	stub 16, 0
	stub 17, 1
	stub 18, 0
	stub 19, 0
	stub 32, 0
	stub 128, 0
	stub 255, 0

/* Saves the general registers in struct frame order (kernel.c) and calls trap(frame). */
isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	movq %rsp, %rbx			/* callee-saved: the frame, across an aligned call */
	andq $-16, %rsp
	call trap
	movq %rbx, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp			/* vector and error code */
	iretq

/*
 * SYSCALL entry: RCX = user RIP, R11 = user RFLAGS, RSP still the user's. SWAPGS makes
 * GS the per-CPU block {kernel stack top, scratch}; the call is syscall(nr, a1, a2, a3).
 */
	.globl syscall_entry
syscall_entry:
	swapgs
	movq %rsp, %gs:8
	movq %gs:0, %rsp
	pushq %gs:8			/* user RSP */
	pushq %rcx			/* user RIP */
	pushq %r11			/* user RFLAGS */
	pushq %rbx			/* keeps RSP 16-byte aligned at the call */
	movq %rdx, %rcx
	movq %rsi, %rdx
	movq %rdi, %rsi
	movq %rax, %rdi
	call syscall
	popq %rbx
	popq %r11
	popq %rcx
	popq %rsp
	swapgs
	sysretq

/*
 * long enter_user(u64 rip, u64 rsp): IRETQ to CPL 3 with IF set; returns the exit code
 * when the task calls SYS_EXIT (leave_user).
 */
	.globl enter_user
enter_user:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, kernel_resume_rsp(%rip)
	pushq $0x1b			/* SS: user data, RPL 3 */
	pushq %rsi			/* RSP */
	pushq $0x202			/* RFLAGS: IF */
	pushq $0x23			/* CS: user code, RPL 3 */
	pushq %rdi			/* RIP */
	xorl %eax, %eax
	xorl %ebx, %ebx
	xorl %ecx, %ecx
	xorl %edx, %edx
	xorl %esi, %esi
	xorl %edi, %edi
	xorl %ebp, %ebp
	iretq

/* void leave_user(long code): back into enter_user's caller, on the kernel stack. */
	.globl leave_user
leave_user:
	movq kernel_resume_rsp(%rip), %rsp
	movq %rdi, %rax
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret

/* A function the kernel copies into a no-execute page and calls (instruction-fetch #PF). */
	.globl nx_ret
nx_ret:
	ret

	.bss
	.balign 8
kernel_resume_rsp:
	.quad 0

/* ---- the ring-3 task: one page, mapped at USER_BASE ---- */
	.section .user, "ax", @progbits
	.balign 4096
	.globl user_start
user_start:
	leaq msg_hello(%rip), %rdi
	movl $msg_hello_len, %esi
	movl $SYS_WRITE, %eax
	syscall

	/* wait in ring 3 until the timer interrupt changes the shared tick count */
	movq USER_TICKS, %rbx
1:	pause
	cmpq USER_TICKS, %rbx
	je 1b
	leaq msg_tick(%rip), %rdi
	movl $msg_tick_len, %esi
	movl $SYS_WRITE, %eax
	syscall

	/* a call and a push: the stack page gets its dirty flag */
	call user_sub

	/* demand paging: the page is not present until the #PF handler maps it */
	movq $0x1234abcd, %rax
	.globl user_demand_write
user_demand_write:
	movq %rax, USER_DEMAND
	movq USER_DEMAND, %r12
	cmpq %rax, %r12
	jne user_fail

	/* the rest fault on purpose; the kernel resumes at R15 */
	leaq 2f(%rip), %r15
	.globl user_read_kernel
user_read_kernel:
	movq KERNEL_PAGE, %rax		/* supervisor page: #PF(U|P) */
2:	leaq 3f(%rip), %r15
	.globl user_hlt
user_hlt:
	hlt				/* CPL 3: #GP(0) */
3:	.globl user_int3
user_int3:
	int3				/* #BP through a DPL-3 trap gate, resumes after it */
	leaq msg_int80(%rip), %rdi
	movl $msg_int80_len, %esi
	movl $SYS_WRITE, %eax
	int $0x80			/* the same call through a DPL-3 interrupt gate */
	leaq 4f(%rip), %r15
	.globl user_int81
user_int81:
	int $0x81			/* DPL-0 gate from CPL 3: #GP(0x81 * 8 + 2) */
4:	leaq 5f(%rip), %r15
	.globl user_write_code
user_write_code:
	movb $0x90, user_start(%rip)	/* read-only page: #PF(U|W|P) */
5:	movl $SYS_CHECK_GS, %eax
	syscall
	movl $42, %edi
	movl $SYS_EXIT, %eax
	syscall
user_fail:
	movl $99, %edi
	movl $SYS_EXIT, %eax
	syscall

user_sub:
	pushq %rbx
	popq %rbx
	ret

msg_hello:
	.ascii "user: hello from ring 3\n"
	.set msg_hello_len, . - msg_hello
msg_tick:
	.ascii "user: saw a timer tick while in ring 3\n"
	.set msg_tick_len, . - msg_tick
msg_int80:
	.ascii "user: write through int $0x80\n"
	.set msg_int80_len, . - msg_int80
	.globl user_end
user_end:

	.section .note.GNU-stack, "", @progbits
