# MC146818 update-ended interrupts on IRQ8 through the slave 8259: two are taken while halted, then
# the seconds register is read into R13 (BCD). R12 counts interrupts, R14 holds register C as the
# handler read it. Built by tests/vm/_asm.ts with GNU as; loaded flat at 1 MiB.

start:
    IDT_GATE 0x28, handler        # IDT entry 0x28 (IRQ8)
    lidt [rip + idtr]
    INIT_PICS 0xfb, 0xfe                # master: only the cascade; slave: only IRQ8
    mov al, 0x0b                       # register B: UIE, 24-hour, BCD
    out 0x70, al
    mov al, 0x12
    out 0x71, al
    xor r12d, r12d
    sti
wait:
    hlt
    cmp r12, 2
    jb wait
    cli
    xor eax, eax
    out 0x70, al                       # seconds
    in al, 0x71
    mov r13, rax
    hlt
handler:
    push rax
    inc r12
    mov al, 0x0c                       # read register C: acknowledges the RTC
    out 0x70, al
    in al, 0x71
    movzx r14, al
    mov al, 0x20
    out 0xa0, al                       # EOI to the slave, then the master
    out 0x20, al
    pop rax
    iretq
idtr:
    .word 0x1000 - 1
    .quad 0x3000
