/*
 * hvsim conformance oracle 1: the host CPU.
 *
 * Reads test cases as JSON lines on stdin (format: src/conformance/case.ts), runs each instruction
 * natively, writes one result per line on stdout. No root, no kernel module.
 *
 * How one case runs:
 *  - the code region (CODE_REGION_BASE, CODE_REGION_SIZE) is RWX and full of INT3 (0xCC); the case's
 *    bytes are written at CODE_ADDR. The scratch page is restored from the case.
 *  - enter_case (assembly below) loads RFLAGS (popfq on the host stack), then all 16 GPRs from a
 *    static block, RSP and RDI last, and jumps to CODE_ADDR through a RIP-relative memory operand,
 *    so nothing of the host's own state is needed after the switch.
 *  - the instruction runs; whatever way it goes, it reaches an INT3 (the one after it, a branch
 *    target, a return address) or faults. Every signal handler runs on an alternate stack
 *    (sigaltstack), so the case's RSP may point anywhere, copies the interrupted context (all GPRs,
 *    RIP, RFLAGS, trap number) from the ucontext, and siglongjmps back to the loop: the host's
 *    callee-saved registers and stack pointer come from the jmp_buf in static memory, never from
 *    the case's stack.
 *  - SIGTRAP at CODE_ADDR+1 is the instruction's own INT3 (#BP); any other SIGTRAP is the end
 *    sentinel, and the final RIP is the sentinel's address. SIGFPE/SIGILL/SIGSEGV/SIGBUS report
 *    the exception vector from the trap number (REG_TRAPNO: 0 #DE, 6 #UD, 13 #GP, 14 #PF, ...).
 *  - a watchdog (ITIMER_REAL, 1 s) turns an endless loop into a "timeout" result.
 *
 * Build: gcc -O2 -DCODE_REGION_BASE=... -DCODE_REGION_SIZE=... -DCODE_ADDR=... -DSCRATCH_PAGE=...
 *        -DSCRATCH_ADDR=... -DSCRATCH_SIZE=... host_oracle.c   (src/conformance/host_runner.ts does it)
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

#if !defined(CODE_REGION_BASE) || !defined(CODE_REGION_SIZE) || !defined(CODE_ADDR) || \
    !defined(SCRATCH_PAGE) || !defined(SCRATCH_ADDR) || !defined(SCRATCH_SIZE)
#error "build with -D for CODE_REGION_BASE CODE_REGION_SIZE CODE_ADDR SCRATCH_PAGE SCRATCH_ADDR SCRATCH_SIZE"
#endif

#define MAX_INSN 15
#define NREGS 16
static const char *const reg_names[NREGS] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                             "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
/* ucontext gregs index for each register in reg_names order. */
static const int greg_index[NREGS] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                                      REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};

/* Input state; enter_case reads it at fixed offsets: regs[i] at 8*i, rflags at 128, mxcsr at 136,
   XMM0-15 at 144 + 16*i, the x87 state as an FNSAVE image (32-bit layout, 108 bytes) at 400. */
struct state {
  uint64_t regs[NREGS];
  uint64_t rflags;
  uint32_t mxcsr, pad;
  uint8_t xmm[256];
  uint8_t fsave[108];
};
struct state case_state;
uint64_t case_entry = CODE_ADDR;

/* Output, written by the signal handler. */
static volatile uint64_t out_regs[NREGS], out_rip, out_rflags, out_trapno;
static volatile uint32_t out_mxcsr;
static uint8_t out_xmm[256];
/* The x87 state in the case format: FCW, FSW, full FTW, ST0-ST7 (86 bytes). */
static uint8_t out_x87[86];
static volatile int out_sig;
static sigjmp_buf back;

void enter_case(struct state *s) __attribute__((noreturn));
__asm__(
    ".text\n"
    ".globl enter_case\n"
    "enter_case:\n"
    "  frstor 400(%rdi)\n"
    "  ldmxcsr 136(%rdi)\n"
    "  movdqu 144(%rdi), %xmm0\n"
    "  movdqu 160(%rdi), %xmm1\n"
    "  movdqu 176(%rdi), %xmm2\n"
    "  movdqu 192(%rdi), %xmm3\n"
    "  movdqu 208(%rdi), %xmm4\n"
    "  movdqu 224(%rdi), %xmm5\n"
    "  movdqu 240(%rdi), %xmm6\n"
    "  movdqu 256(%rdi), %xmm7\n"
    "  movdqu 272(%rdi), %xmm8\n"
    "  movdqu 288(%rdi), %xmm9\n"
    "  movdqu 304(%rdi), %xmm10\n"
    "  movdqu 320(%rdi), %xmm11\n"
    "  movdqu 336(%rdi), %xmm12\n"
    "  movdqu 352(%rdi), %xmm13\n"
    "  movdqu 368(%rdi), %xmm14\n"
    "  movdqu 384(%rdi), %xmm15\n"
    "  pushq 128(%rdi)\n"
    "  popfq\n"
    "  movq 0(%rdi), %rax\n"
    "  movq 8(%rdi), %rcx\n"
    "  movq 16(%rdi), %rdx\n"
    "  movq 24(%rdi), %rbx\n"
    "  movq 40(%rdi), %rbp\n"
    "  movq 48(%rdi), %rsi\n"
    "  movq 64(%rdi), %r8\n"
    "  movq 72(%rdi), %r9\n"
    "  movq 80(%rdi), %r10\n"
    "  movq 88(%rdi), %r11\n"
    "  movq 96(%rdi), %r12\n"
    "  movq 104(%rdi), %r13\n"
    "  movq 112(%rdi), %r14\n"
    "  movq 120(%rdi), %r15\n"
    "  movq 32(%rdi), %rsp\n"
    "  movq 56(%rdi), %rdi\n"
    "  jmp *case_entry(%rip)\n");

static void on_signal(int sig, siginfo_t *si, void *ctx) {
  (void)si;
  ucontext_t *uc = (ucontext_t *)ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  for (int i = 0; i < NREGS; i++) out_regs[i] = (uint64_t)g[greg_index[i]];
  out_rip = (uint64_t)g[REG_RIP];
  out_rflags = (uint64_t)g[REG_EFL];
  out_trapno = (uint64_t)g[REG_TRAPNO];
  /* The interrupted context's SSE state, from the signal frame's FXSAVE image. */
  if (uc->uc_mcontext.fpregs) {
    out_mxcsr = uc->uc_mcontext.fpregs->mxcsr;
    memcpy(out_xmm, uc->uc_mcontext.fpregs->_xmm, sizeof out_xmm);
    const struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
    uint16_t fsw = fp->swd, ftw = 0;
    int top = (fsw >> 11) & 7;
    for (int i = 0; i < 8; i++) {
      const uint8_t *r = (const uint8_t *)&fp->_st[i];
      memcpy(out_x87 + 6 + 10 * i, r, 10);
      /* The full tag of physical register p = (TOP + i) mod 8 from the abridged tag and contents. */
      int p = (top + i) & 7, t = 3;
      if (fp->ftw & (1 << p)) {
        uint64_t sig;
        memcpy(&sig, r, 8);
        int exp = (r[8] | r[9] << 8) & 0x7fff;
        t = exp == 0x7fff ? 2 : exp == 0 ? (sig == 0 ? 1 : 2) : (sig >> 63) ? 0 : 2;
      }
      ftw |= (uint16_t)(t << (2 * p));
    }
    out_x87[0] = (uint8_t)fp->cwd;
    out_x87[1] = (uint8_t)(fp->cwd >> 8);
    out_x87[2] = (uint8_t)fsw;
    out_x87[3] = (uint8_t)(fsw >> 8);
    out_x87[4] = (uint8_t)ftw;
    out_x87[5] = (uint8_t)(ftw >> 8);
  }
  out_sig = sig;
  siglongjmp(back, 1);
}

static void die(const char *msg) {
  fprintf(stderr, "host_oracle: %s\n", msg);
  exit(2);
}

/* ---- a minimal JSON object scanner: enough for the case format, strict about what it needs ---- */

struct span {
  const char *p;
  size_t n;
};

static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
  return p;
}

/* Returns the end of the JSON value starting at p, or NULL. */
static const char *skip_value(const char *p) {
  if (*p == '"') {
    for (p++; *p && *p != '"'; p++)
      if (*p == '\\' && p[1]) p++;
    return *p == '"' ? p + 1 : NULL;
  }
  if (*p == '{' || *p == '[') {
    int depth = 0;
    for (; *p; p++) {
      if (*p == '"') {
        p = skip_value(p);
        if (!p) return NULL;
        p--;
      } else if (*p == '{' || *p == '[') {
        depth++;
      } else if (*p == '}' || *p == ']') {
        if (--depth == 0) return p + 1;
      }
    }
    return NULL;
  }
  while (*p && *p != ',' && *p != '}' && *p != ']') p++;
  return p;
}

/* Finds the member `key` of the object starting at obj (top level only). */
static int get_member(const char *obj, const char *key, struct span *out) {
  const char *p = skip_ws(obj);
  if (*p != '{') return 0;
  p = skip_ws(p + 1);
  size_t klen = strlen(key);
  while (*p == '"') {
    const char *k = p + 1;
    const char *kend = skip_value(p);
    if (!kend) return 0;
    p = skip_ws(kend);
    if (*p != ':') return 0;
    p = skip_ws(p + 1);
    const char *vend = skip_value(p);
    if (!vend) return 0;
    if ((size_t)(kend - 1 - k) == klen && memcmp(k, key, klen) == 0) {
      out->p = p;
      out->n = (size_t)(vend - p);
      return 1;
    }
    p = skip_ws(vend);
    if (*p == ',') p = skip_ws(p + 1);
  }
  return 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Parses a JSON string value "0x..." as a 64-bit number. */
static int get_u64(const char *obj, const char *key, uint64_t *v) {
  struct span s;
  if (!get_member(obj, key, &s) || s.n < 4 || s.p[0] != '"' || s.p[1] != '0' || s.p[2] != 'x') return 0;
  uint64_t x = 0;
  size_t digits = 0;
  for (size_t i = 3; i < s.n - 1; i++, digits++) {
    int h = hexval(s.p[i]);
    if (h < 0 || digits >= 16) return 0;
    x = (x << 4) | (uint64_t)h;
  }
  *v = x;
  return digits > 0;
}

/* Parses a JSON hex-bytes string into buf; returns the byte count or -1. */
static int get_bytes(const char *obj, const char *key, uint8_t *buf, int max) {
  struct span s;
  if (!get_member(obj, key, &s) || s.n < 2 || s.p[0] != '"') return -1;
  size_t nd = s.n - 2;
  if (nd % 2 || (int)(nd / 2) > max) return -1;
  for (size_t i = 0; i < nd / 2; i++) {
    int hi = hexval(s.p[1 + 2 * i]), lo = hexval(s.p[2 + 2 * i]);
    if (hi < 0 || lo < 0) return -1;
    buf[i] = (uint8_t)(hi << 4 | lo);
  }
  return (int)(nd / 2);
}

static void put_hex_bytes(const uint8_t *b, int n) {
  static const char d[] = "0123456789abcdef";
  for (int i = 0; i < n; i++) {
    putchar(d[b[i] >> 4]);
    putchar(d[b[i] & 15]);
  }
}

static const char *exception_name(uint64_t v) {
  switch (v) {
    case 0: return "DE";
    case 1: return "DB";
    case 3: return "BP";
    case 4: return "OF";
    case 5: return "BR";
    case 6: return "UD";
    case 7: return "NM";
    case 10: return "TS";
    case 11: return "NP";
    case 12: return "SS";
    case 13: return "GP";
    case 14: return "PF";
    case 16: return "MF";
    case 17: return "AC";
    case 19: return "XM";
    default: return "unknown";
  }
}

int main(void) {
  uint8_t *code = mmap((void *)CODE_REGION_BASE, CODE_REGION_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (code != (uint8_t *)CODE_REGION_BASE) die("cannot map the code region at its fixed address");
  uint8_t *page = mmap((void *)SCRATCH_PAGE, 4096, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (page != (uint8_t *)SCRATCH_PAGE) die("cannot map the scratch page at its fixed address");
  uint8_t *scratch = (uint8_t *)SCRATCH_ADDR;
  memset(code, 0xcc, CODE_REGION_SIZE);

  static uint8_t altstack[65536];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) die("sigaltstack failed");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigfillset(&sa.sa_mask);
  const int sigs[] = {SIGTRAP, SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGALRM};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    if (sigaction(sigs[i], &sa, NULL) != 0) die("sigaction failed");

  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  static uint8_t insn[MAX_INSN];
  static uint8_t mem[SCRATCH_SIZE];
  static volatile long lineno;
  while ((len = getline(&line, &cap, stdin)) > 0) {
    lineno++;
    const char *obj = skip_ws(line);
    if (*obj == 0) continue;
    struct span id;
    if (!get_member(obj, "id", &id) || id.p[0] != '"') {
      fprintf(stderr, "host_oracle: line %ld: missing \"id\" string\n", lineno);
      return 2;
    }
    struct span regs;
    int n = get_bytes(obj, "bytes", insn, MAX_INSN);
    int m = get_bytes(obj, "mem", mem, SCRATCH_SIZE);
    int ok = n > 0 && m == SCRATCH_SIZE && get_member(obj, "regs", &regs) && get_u64(obj, "rflags", &case_state.rflags);
    for (int i = 0; ok && i < NREGS; i++) ok = get_u64(regs.p, reg_names[i], &case_state.regs[i]);
    /* SSE state: optional ("xmm" 256 bytes as hex, XMM0 first; "mxcsr"); without it XMM is zero, MXCSR 0x1F80. */
    struct span sx;
    int has_sse = get_member(obj, "xmm", &sx);
    uint64_t mx = 0x1f80;
    if (ok && has_sse) ok = get_bytes(obj, "xmm", case_state.xmm, 256) == 256 && get_u64(obj, "mxcsr", &mx) && mx <= 0xffff;
    else memset(case_state.xmm, 0, sizeof case_state.xmm);
    case_state.mxcsr = (uint32_t)mx;
    /* x87 state: optional ("x87", 86 bytes: FCW, FSW, full FTW, ST0-ST7); without it FNINIT's. */
    struct span s87;
    int has_x87 = get_member(obj, "x87", &s87);
    uint8_t x87[86] = {0x7f, 0x03, 0, 0, 0xff, 0xff};
    if (ok && has_x87) ok = get_bytes(obj, "x87", x87, 86) == 86;
    memset(case_state.fsave, 0, sizeof case_state.fsave);
    for (int k = 0; k < 3; k++) {
      case_state.fsave[4 * k] = x87[2 * k];
      case_state.fsave[4 * k + 1] = x87[2 * k + 1];
      case_state.fsave[4 * k + 2] = case_state.fsave[4 * k + 3] = 0xff;
    }
    memcpy(case_state.fsave + 28, x87 + 6, 80);
    if (!ok) {
      printf("{\"id\":%.*s,\"exception\":\"error\",\"detail\":\"malformed case: needs bytes (1..15), mem (%d bytes), "
             "regs rax..r15 and rflags as 0x hex\"}\n",
             (int)id.n, id.p, SCRATCH_SIZE);
      fflush(stdout);
      continue;
    }
    /* Only the status flags and DF are taken from the case; bit 1 is always set. */
    case_state.rflags = (case_state.rflags & 0xcd5) | 2;
    /* A case may write anywhere in the code region (CALL through RSP pointing there): refill it all. */
    memset(code, 0xcc, CODE_REGION_SIZE);
    memcpy((void *)(CODE_ADDR), insn, n);
    memset(page, 0, 4096);
    memcpy(scratch, mem, SCRATCH_SIZE);

    struct itimerval watchdog = {.it_value = {.tv_sec = 1}};
    setitimer(ITIMER_REAL, &watchdog, NULL);
    if (sigsetjmp(back, 1) == 0) enter_case(&case_state);
    struct itimerval off = {0};
    setitimer(ITIMER_REAL, &off, NULL);

    uint64_t rip = out_rip;
    printf("{\"id\":%.*s", (int)id.n, id.p);
    if (out_sig == SIGALRM) {
      printf(",\"exception\":\"timeout\",\"detail\":\"no INT3 reached within 1 s\"");
    } else if (out_sig == SIGTRAP && out_trapno == 3 && rip - 1 != CODE_ADDR) {
      rip -= 1; /* stopped at an INT3 sentinel: report its address */
    } else if (out_sig == SIGTRAP && out_trapno == 3) {
      printf(",\"exception\":\"BP\",\"vector\":3");
    } else {
      printf(",\"exception\":\"%s\",\"vector\":%llu", exception_name(out_trapno), (unsigned long long)out_trapno);
    }
    printf(",\"regs\":{");
    for (int i = 0; i < NREGS; i++)
      printf("%s\"%s\":\"0x%llx\"", i ? "," : "", reg_names[i], (unsigned long long)out_regs[i]);
    printf("},\"rip\":\"0x%llx\",\"rflags\":\"0x%llx\",\"mem\":\"", (unsigned long long)rip,
           (unsigned long long)out_rflags);
    put_hex_bytes(scratch, SCRATCH_SIZE);
    printf("\"");
    if (has_sse) {
      printf(",\"xmm\":\"");
      put_hex_bytes(out_xmm, sizeof out_xmm);
      printf("\",\"mxcsr\":\"0x%x\"", (unsigned)out_mxcsr);
    }
    if (has_x87) {
      printf(",\"x87\":\"");
      put_hex_bytes(out_x87, sizeof out_x87);
      printf("\"");
    }
    printf("}\n");
    fflush(stdout);
  }
  return 0;
}
