# Macros the test programs in this folder share; tests/vm/_asm.ts puts this file in front of each.

# Points IDT entry `vector` (the IDT is at 0x3000, 16 bytes an entry) at `handler`: a present DPL 0
# 64-bit interrupt gate through the boot code segment (selector 0x08). Clobbers RAX and RDI.
.macro IDT_GATE vector, handler
    lea rax, [rip + \handler]
    mov rdi, 0x3000 + \vector * 16
    mov word ptr [rdi], ax
    mov word ptr [rdi + 2], 0x08
    mov word ptr [rdi + 4], 0x8e00
    shr rax, 16
    mov word ptr [rdi + 6], ax
    shr rax, 16
    mov dword ptr [rdi + 8], eax
    mov dword ptr [rdi + 12], 0
.endm

# ICW1-4 of both 8259As as Linux's init_8259A writes them (edge triggered, cascaded, 8086 mode;
# vectors 0x20-0x27 and 0x28-0x2f, the slave on IRQ2), then the interrupt masks given. Clobbers AL.
.macro INIT_PICS master_mask, slave_mask
    mov al, 0x11
    out 0x20, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x01
    out 0x21, al
    mov al, 0x11
    out 0xa0, al
    mov al, 0x28
    out 0xa1, al
    mov al, 0x02
    out 0xa1, al
    mov al, 0x01
    out 0xa1, al
    mov al, \master_mask
    out 0x21, al
    mov al, \slave_mask
    out 0xa1, al
.endm
