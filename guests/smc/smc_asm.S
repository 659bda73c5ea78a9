/*
 * Code that smc.c rewrites while it runs. It lives in a writable and executable section
 * (.smc, flags "awx"), so the same bytes run in hvsim and, natively, on the host CPU.
 */
	.file "smc_asm.S"		/* a fixed name: without it the symbol table holds gcc's temp file name */
	.section .smc, "awx", @progbits
	.balign 64

/* u32 smc_imm(void): returns the imm32 of its MOV; smc.c patches it at smc_imm+1. */
	.globl smc_imm
smc_imm:
	movl $0x11111111, %eax
	ret

/*
 * u32 smc_ahead(u32 v): stores v into the imm32 of an instruction a few bytes ahead in the
 * same straight-line block, then executes it. x86 detects stores to prefetched instructions
 * (SDM Vol. 3, 11.6), so the new value is returned, never the stale 0x11111111. The original
 * immediate is restored before returning.
 */
	.globl smc_ahead
smc_ahead:
	movl %edi, 1f+1(%rip)
	nop
1:	movl $0x11111111, %eax
	movl $0x11111111, 1b+1(%rip)
	ret

/*
 * u32 smc_opcode(void): rewrites the opcode ahead of it: the ADD below becomes a SUB
 * (01 /r -> 29 /r), runs once, and is put back. Returns 10 - 3 = 7 (the stale code gives 13).
 */
	.globl smc_opcode
smc_opcode:
	movl $10, %eax
	movl $3, %ecx
	movb $0x29, 2f(%rip)
2:	addl %ecx, %eax
	movb $0x01, 2b(%rip)
	ret

/* A 64-byte slot that smc.c overwrites with other functions (REP MOVSB) and calls. */
	.balign 64
	.globl smc_slot
	.globl smc_slot_arg		/* the same slot, declared in C with a u32 argument */
smc_slot_arg:
smc_slot:
	movl $0x5107, %eax
	ret
	.fill 58, 1, 0xcc

	.section .note.GNU-stack, "", @progbits
