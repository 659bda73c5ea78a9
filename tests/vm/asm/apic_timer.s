# Periodic local APIC timer: counts 5 ticks in R12 while halted with interrupts on.
# Built by tests/vm/_asm.ts with GNU as; loaded flat at 1 MiB.


start:
    IDT_GATE 0x20, handler        # IDT entry 0x20
    lidt [rip + idtr]
    mov rbx, 0xfee00000
    mov dword ptr [rbx + 0xf0], 0x1ff      # SVR: APIC on
    mov dword ptr [rbx + 0x3e0], 0xb       # divide by 1
    mov dword ptr [rbx + 0x320], 0x20020   # periodic, vector 0x20
    mov dword ptr [rbx + 0x380], 1000      # every 1000 ticks
    xor r12d, r12d
    sti
wait:
    hlt
    cmp r12, 5
    jb wait
    cli
    mov dword ptr [rbx + 0x380], 0         # stop the timer
    mov eax, dword ptr [rbx + 0x390]       # current count: 0
    mov r13, rax
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r14, rax
    hlt
handler:
    inc r12
    mov dword ptr [rbx + 0xb0], 0          # EOI
    iretq
idtr:
    .word 0x1000 - 1
    .quad 0x3000
