# A periodic local APIC timer ticks while the guest spins with interrupts off, so a tick is often
# pending (IRR set, IF = 0); each STI lets it in. R12 counts ticks, R15 rounds.
start:
    IDT_GATE 0x20, handler
    lidt [rip + idtr]
    mov rbx, 0xfee00000
    mov dword ptr [rbx + 0xf0], 0x1ff
    mov dword ptr [rbx + 0x3e0], 0xb
    mov dword ptr [rbx + 0x320], 0x20020
    mov dword ptr [rbx + 0x380], 5000
    xor r12d, r12d
    xor r15d, r15d
outer:
    cli
    mov ecx, 3000
spin:
    add r13, rcx
    dec ecx
    jnz spin
    sti
    nop
    inc r15
    cmp r15, 20
    jb outer
    cli
    mov al, r12b
    out 0xf4, al
handler:
    inc r12
    mov dword ptr [rbx + 0xb0], 0
    iretq
idtr:
    .word 0x1000 - 1
    .quad 0x3000
