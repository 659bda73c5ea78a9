#!/usr/bin/env python3
"""hvsim conformance oracle 2: the Unicorn engine (python3-unicorn, QEMU's CPU emulation).

Reads test cases as JSON lines on stdin (format: src/conformance/case.ts), runs each under Unicorn
in 64-bit mode, writes one result per line on stdout, in the same format as host_oracle.c.

The memory layout is passed on the command line (src/conformance/unicorn_runner.ts does it):
  unicorn_oracle.py CODE_REGION_BASE CODE_REGION_SIZE CODE_ADDR SCRATCH_PAGE SCRATCH_ADDR SCRATCH_SIZE

As on the host, the code region is full of INT3 and execution runs until it reaches an INT3 other than
the instruction itself (its address is the final RIP). Interrupts and exceptions arrive through an
interrupt hook (vector = intno); an invalid opcode (UC_ERR_INSN_INVALID) is #UD and an access to
unmapped memory is #PF. A limit of 10,000 instructions turns an endless loop into "timeout".
"""
import json
import sys

try:
    from unicorn import (UC_ARCH_X86, UC_ERR_FETCH_UNMAPPED, UC_ERR_INSN_INVALID, UC_ERR_READ_UNMAPPED,
                         UC_ERR_WRITE_UNMAPPED, UC_ERR_FETCH_PROT, UC_ERR_READ_PROT, UC_ERR_WRITE_PROT,
                         UC_HOOK_INTR, UC_MODE_64, UC_PROT_ALL, Uc, UcError)
    from unicorn import x86_const as X
except ImportError:
    sys.stderr.write("unicorn_oracle: python3-unicorn is not installed (apt-get install -y python3-unicorn)\n")
    sys.exit(3)

REG_NAMES = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
             "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
UC_REGS = [X.UC_X86_REG_RAX, X.UC_X86_REG_RCX, X.UC_X86_REG_RDX, X.UC_X86_REG_RBX,
           X.UC_X86_REG_RSP, X.UC_X86_REG_RBP, X.UC_X86_REG_RSI, X.UC_X86_REG_RDI,
           X.UC_X86_REG_R8, X.UC_X86_REG_R9, X.UC_X86_REG_R10, X.UC_X86_REG_R11,
           X.UC_X86_REG_R12, X.UC_X86_REG_R13, X.UC_X86_REG_R14, X.UC_X86_REG_R15]
EXCEPTION_NAMES = {0: "DE", 1: "DB", 3: "BP", 4: "OF", 5: "BR", 6: "UD", 7: "NM", 10: "TS", 11: "NP",
                   12: "SS", 13: "GP", 14: "PF", 16: "MF", 17: "AC", 19: "XM"}
MAX_STEPS = 10000


def main():
    if len(sys.argv) != 7:
        sys.stderr.write("usage: unicorn_oracle.py CODE_REGION_BASE CODE_REGION_SIZE CODE_ADDR "
                         "SCRATCH_PAGE SCRATCH_ADDR SCRATCH_SIZE (numbers, 0x hex allowed)\n")
        sys.exit(2)
    code_base, code_size, code_addr, scratch_page, scratch_addr, scratch_size = (
        int(a, 0) for a in sys.argv[1:])

    mu = Uc(UC_ARCH_X86, UC_MODE_64)
    mu.mem_map(code_base, code_size, UC_PROT_ALL)
    mu.mem_map(scratch_page, 0x1000, UC_PROT_ALL)
    sentinel = b"\xcc" * code_size
    zero_page = bytes(0x1000)
    state = {}

    def on_intr(uc, intno, _user):
        state["vector"] = intno
        uc.emu_stop()

    mu.hook_add(UC_HOOK_INTR, on_intr)
    # Unicorn 2.0.1 keeps the last exception in the CPU state across emu_start calls, so the next
    # exception becomes a double fault (#DF) or is lost: start every case from a clean saved context.
    clean = mu.context_save()
    out = sys.stdout
    for lineno, line in enumerate(sys.stdin, 1):
        line = line.strip()
        if not line:
            continue
        case = json.loads(line)
        res = {"id": case["id"]}
        try:
            code = bytes.fromhex(case["bytes"])
            mem = bytes.fromhex(case["mem"])
            regs = [int(case["regs"][r], 16) for r in REG_NAMES]
            rflags = (int(case["rflags"], 16) & 0xcd5) | 2
            if not 1 <= len(code) <= 15 or len(mem) != scratch_size:
                raise ValueError("bad sizes")
        except (KeyError, ValueError, TypeError):
            res.update(exception="error", detail="malformed case: needs bytes (1..15), mem (%d bytes), regs "
                       "rax..r15 and rflags as 0x hex" % scratch_size)
            out.write(json.dumps(res, separators=(",", ":")) + "\n")
            out.flush()
            continue
        mu.context_restore(clean)
        mu.mem_write(code_base, sentinel)
        mu.mem_write(code_addr, code)
        # Unicorn 2.0.1 keeps translated blocks across mem_write: drop them, or it runs the old code.
        mu.ctl_remove_cache(code_base, code_base + code_size)
        mu.mem_write(scratch_page, zero_page)
        mu.mem_write(scratch_addr, mem)
        for reg, v in zip(UC_REGS, regs):
            mu.reg_write(reg, v)
        has_sse = "xmm" in case
        if has_sse:
            xmm = bytes.fromhex(case["xmm"])
            for i in range(16):
                mu.reg_write(X.UC_X86_REG_XMM0 + i, int.from_bytes(xmm[16 * i:16 * i + 16], "little"))
            mu.reg_write(X.UC_X86_REG_MXCSR, int(case["mxcsr"], 16))
        has_x87 = "x87" in case
        if has_x87:
            write_x87(mu, bytes.fromhex(case["x87"]))
        mu.reg_write(X.UC_X86_REG_RFLAGS, rflags)
        state.clear()
        err = None
        try:
            mu.emu_start(code_addr, code_base + code_size, count=MAX_STEPS)
        except UcError as e:
            err = e
        rip = mu.reg_read(X.UC_X86_REG_RIP)
        if err is not None:
            if err.errno == UC_ERR_INSN_INVALID:
                res.update(exception="UD", vector=6)
            elif err.errno in (UC_ERR_READ_UNMAPPED, UC_ERR_WRITE_UNMAPPED, UC_ERR_FETCH_UNMAPPED,
                               UC_ERR_READ_PROT, UC_ERR_WRITE_PROT, UC_ERR_FETCH_PROT):
                res.update(exception="PF", vector=14)
            else:
                res.update(exception="error", detail="unicorn: %s" % err)
        elif "vector" in state:
            v = state["vector"]
            if v == 3 and rip - 1 != code_addr:
                rip -= 1  # stopped at an INT3 sentinel: report its address
            else:
                res.update(exception=EXCEPTION_NAMES.get(v, "unknown"), vector=v)
        else:
            res.update(exception="timeout", detail="no INT3 reached within %d instructions" % MAX_STEPS)
        res["regs"] = {name: hex(mu.reg_read(reg)) for name, reg in zip(REG_NAMES, UC_REGS)}
        res["rip"] = hex(rip)
        res["rflags"] = hex(mu.reg_read(X.UC_X86_REG_RFLAGS))
        res["mem"] = bytes(mu.mem_read(scratch_addr, scratch_size)).hex()
        if has_sse:
            res["xmm"] = b"".join(mu.reg_read(X.UC_X86_REG_XMM0 + i).to_bytes(16, "little")
                                  for i in range(16)).hex()
            res["mxcsr"] = hex(mu.reg_read(X.UC_X86_REG_MXCSR))
        if has_x87:
            res["x87"] = read_x87(mu).hex()
        out.write(json.dumps(res, separators=(",", ":")) + "\n")
        out.flush()


def write_x87(mu, b):
    """Loads a case's x87 state (FCW, FSW, full FTW, ST0-ST7 in stack order) into Unicorn."""
    if len(b) != 86:
        raise ValueError("x87 state size")
    fcw, fsw, ftw = (int.from_bytes(b[2 * k:2 * k + 2], "little") for k in range(3))
    mu.reg_write(X.UC_X86_REG_FPCW, fcw)
    mu.reg_write(X.UC_X86_REG_FPSW, fsw)
    top = (fsw >> 11) & 7
    for i in range(8):
        r = b[6 + 10 * i:16 + 10 * i]
        mu.reg_write(X.UC_X86_REG_FP0 + ((top + i) & 7),
                     (int.from_bytes(r[:8], "little"), int.from_bytes(r[8:], "little")))
    mu.reg_write(X.UC_X86_REG_FPTAG, ftw)


def read_x87(mu):
    """The x87 state in the case format; tags of non-empty registers from their contents."""
    fcw = mu.reg_read(X.UC_X86_REG_FPCW)
    fsw = mu.reg_read(X.UC_X86_REG_FPSW)
    tags = mu.reg_read(X.UC_X86_REG_FPTAG)
    top = (fsw >> 11) & 7
    out = bytearray(86)
    ftw = 0
    for p in range(8):
        sig, exp = mu.reg_read(X.UC_X86_REG_FP0 + p)
        t = 3
        if (tags >> (2 * p)) & 3 != 3:
            e = exp & 0x7fff
            t = 2 if e == 0x7fff else (1 if sig == 0 else 2) if e == 0 else (0 if sig >> 63 else 2)
        ftw |= t << (2 * p)
        i = (p - top) & 7
        out[6 + 10 * i:16 + 10 * i] = sig.to_bytes(8, "little") + (exp & 0xffff).to_bytes(2, "little")
    out[0:6] = fcw.to_bytes(2, "little") + fsw.to_bytes(2, "little") + ftw.to_bytes(2, "little")
    return bytes(out)


if __name__ == "__main__":
    main()
