# Instructions and a REP MOVSB that straddle page boundaries, in a loop, then exit with a checksum.
start:
    mov rsp, 0x800000
    xor r14d, r14d
    mov r15d, 200
again:
    lea rsi, [0x300ff0]             # 64 bytes across 0x301000
    lea rdi, [0x401fe0]             # to across 0x402000
    mov ecx, 64
    rep movsb
    mov rax, qword ptr [0x401ffc]   # a load across a page boundary
    add r14, rax
    mov qword ptr [0x300ffd], r14   # a store across a page boundary
    call far_code
    dec r15d
    jnz again
    mov eax, r14d
    out 0xf4, al
    .skip 0x1000 - ((. - start) & 0xfff) - 3, 0x90
far_code:                          # starts 3 bytes before the page end: this mov straddles it
    mov r13, 0x1122334455667788
    add r14, r13
    ret
