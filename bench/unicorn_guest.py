"""Runs a guest ELF under Unicorn (QEMU's TCG) for bench/unicorn_mips.ts, the speed reference.

Usage: unicorn_guest.py ELF RAM_BYTES CMDLINE
Loads each PT_LOAD segment at its physical address, puts the command line at 0x8000 and enters
the ELF's entry point in 64-bit mode as hvsim's boot protocol does (RDI = RAM size, RSI = 0x8000,
RSP = top of RAM). Unicorn's 64-bit mode maps linear to physical one to one, which the boot
protocol's identity page tables also do. OUT to port 0xE9 is a console byte, OUT to 0xF4 ends
the run with that exit code. Prints one JSON line: seconds in emu_start (translation included),
the exit code and the console output.
"""
import json
import struct
import sys
import time

from unicorn import Uc, UC_ARCH_X86, UC_MODE_64, UC_HOOK_INSN, UcError
from unicorn.x86_const import (
    UC_X86_INS_OUT, UC_X86_REG_RAX, UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RSP,
)


def main():
    path, ram, cmdline = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    elf = open(path, "rb").read()
    entry, phoff = struct.unpack_from("<QQ", elf, 0x18)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    uc.mem_map(0, ram)
    for k in range(phnum):
        ptype, _flags, off, _vaddr, paddr, filesz, memsz, _align = struct.unpack_from(
            "<IIQQQQQQ", elf, phoff + k * phentsize)
        if ptype == 1 and memsz > 0:
            uc.mem_write(paddr, elf[off:off + filesz])
    uc.mem_write(0x8000, cmdline.encode() + b"\0")
    uc.reg_write(UC_X86_REG_RDI, ram)
    uc.reg_write(UC_X86_REG_RSI, 0x8000)
    uc.reg_write(UC_X86_REG_RSP, ram)
    out = bytearray()
    code = [None]

    def on_out(u, port, size, value, _data):
        if port == 0xE9:
            out.append(value & 0xFF)
        elif port == 0xF4:
            code[0] = value
            u.emu_stop()

    uc.hook_add(UC_HOOK_INSN, on_out, None, 1, 0, UC_X86_INS_OUT)
    t0 = time.perf_counter()
    error = None
    try:
        uc.emu_start(entry, 1 << 62)
    except UcError as e:
        error = str(e)
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "exitCode": code[0], "error": error,
                      "console": out.decode("utf-8", "replace")}))


main()
