# 8259A + 8254: the PIT's counter 0 in mode 2 raises IRQ0 every 1000 PIT clocks; the PIC (vectors
# 0x20/0x28, only IRQ0 unmasked) delivers it through LINT0 in ExtINT mode. Five ticks are taken while
# halted, three more while spinning. R12 counts ticks, R13 holds the TSC at the first one, R14 the
# TSC when the timer was armed. Built by tests/vm/_asm.ts with GNU as; loaded flat at 1 MiB.

start:
    IDT_GATE 0x20, handler        # IDT entry 0x20
    lidt [rip + idtr]
    INIT_PICS 0xfe, 0xff                # only IRQ0
    xor r12d, r12d
    xor r13d, r13d
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r14, rax
    # Counter 0, LSB then MSB, mode 2, count 1000.
    mov al, 0x34
    out 0x43, al
    mov al, 0xe8
    out 0x40, al
    mov al, 0x03
    out 0x40, al
    sti
wait:
    hlt
    cmp r12, 5
    jb wait
spin:
    add r15, 1
    cmp r12, 8
    jb spin
    cli
    hlt
handler:
    test r13, r13
    jnz 1f
    push rax
    push rdx
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r13, rax
    pop rdx
    pop rax
1:
    inc r12
    push rax
    mov al, 0x20                       # non-specific EOI
    out 0x20, al
    pop rax
    iretq
idtr:
    .word 0x1000 - 1
    .quad 0x3000
