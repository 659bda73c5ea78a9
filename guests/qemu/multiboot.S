/*
 * A Multiboot (v1) loader that lets QEMU boot an hvsim guest under boot protocol v1, as an
 * independent check of expected output that no native twin can produce (guests/qemu/run.sh).
 *
 * QEMU loads this flat image at 0x100000 (a.out kludge: load addresses in the header) and
 * enters it in 32-bit protected mode. It copies the guest's flat image (objcopy -O binary)
 * to GUEST_LOAD, builds an identity map of the first 1 GiB with 2 MiB pages, enables long
 * mode and jumps to GUEST_ENTRY with RDI = RAM size, RSI = the command line and
 * RSP = top of RAM, interrupts off, as in docs/boot-protocol.md.
 *
 * Defines: GUEST_BLOB (path), GUEST_LOAD, GUEST_ENTRY, RAM_SIZE, CMDLINE (a string).
 */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00010000		/* the address fields below are valid */

	.code32
	.section .text
	.globl start
start:
	jmp entry32

	.balign 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long mb_header			/* header_addr */
	.long start			/* load_addr */
	.long image_end			/* load_end_addr */
	.long bss_end			/* bss_end_addr */
	.long entry32			/* entry_addr */

entry32:
	cli
	cld
	movl $stack_top, %esp
	/* copy the guest image into place */
	movl $blob, %esi
	movl $GUEST_LOAD, %edi
	movl $(blob_end - blob), %ecx
	rep movsb
	/* PML4[0] -> PDPT, PDPT[0] -> PD, PD[i] = i * 2 MiB, present | writable | PS */
	movl $pdpt, %eax
	orl $3, %eax
	movl %eax, pml4
	movl $pd, %eax
	orl $3, %eax
	movl %eax, pdpt
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax
	movl %eax, pd(,%ecx,8)
	incl %ecx
	cmpl $512, %ecx
	jne 1b
	movl $pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl $0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax		/* PG, PE */
	movl %eax, %cr0
	lgdt gdtr
	ljmp $0x08, $entry64

	.code64
entry64:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movq $RAM_SIZE, %rdi
	movq $cmdline, %rsi
	movq $RAM_SIZE, %rsp
	pushq $2
	popfq
	movq $GUEST_ENTRY, %rax
	jmp *%rax

	.balign 8
gdt:
	.quad 0
	.quad 0x00af9a000000ffff		/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff		/* 0x10: data */
gdtr:
	.word gdtr - gdt - 1
	.long gdt
cmdline:
	.asciz CMDLINE

	.balign 16
blob:
	.incbin GUEST_BLOB
blob_end:
image_end:

	.section .bss
	.balign 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4096
	.skip 4096
stack_top:
bss_end:
