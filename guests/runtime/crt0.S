/*
 * Guest entry (boot protocol v1, docs/boot-protocol.md):
 *   RDI = RAM size, RSI = command line address, RSP = top of RAM (16-byte aligned).
 * Clears .bss, calls main(ram_size, cmdline), writes main's return value to the
 * debug-exit port 0xF4, then halts with interrupts off.
 */
	.file "crt0.S"		/* a fixed name: without it the symbol table holds gcc's temp file name */
	.text
	.globl _start
	.type _start, @function
_start:
	movq %rdi, %r12			/* callee-saved across the bss clear */
	movq %rsi, %r13
	cld
	leaq __bss_start(%rip), %rdi
	leaq _end(%rip), %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	rep stosb
	movq %r12, hv_ram_size(%rip)
	movq %r12, %rdi
	movq %r13, %rsi
	xorl %ebp, %ebp			/* end of frame chain */
	call main
	outl %eax, $0xf4
1:	cli
	hlt
	jmp 1b
	.size _start, . - _start

	.bss
	.balign 8
	.globl hv_ram_size
hv_ram_size:
	.quad 0

	.section .note.GNU-stack, "", @progbits
