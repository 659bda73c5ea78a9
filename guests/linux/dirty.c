/*
 * dirty: the initramfs's memory workload (as the memwrite sample guest, in a Linux process).
 *
 * usage: dirty WS RATE PASSES SPIN
 *   WS      working set in bytes (K, M, G suffixes: binary units), a multiple of 4096
 *   RATE    pages rewritten per pass (0: the whole working set)
 *   PASSES  passes
 *   SPIN    iterations of pure computation between passes
 *
 * Each page of an anonymous mapping first gets an 8-byte tag (so no page is zero). Each pass then
 * increments byte 8 of RATE pages, starting where the previous pass stopped (wrapping around). At
 * the end every page is checked against the tag and count it must hold, and the program prints
 * "dirty: ok" with a checksum, or "dirty: FAILED" and exits 1.
 *
 * Freestanding (no libc): built with gcc -static -nostdlib, system calls by the syscall instruction.
 */
typedef unsigned long u64;

#define PAGE 4096UL

static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long r;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return r;
}

static u64 slen(const char *s)
{
	u64 n = 0;
	while (s[n])
		n++;
	return n;
}

static void puts_(const char *s)
{
	sys3(1, 1, (long)s, (long)slen(s)); /* write(1, s, n) */
}

static void putu(const char *label, u64 v, int hex)
{
	char b[32];
	int i = 31;
	b[i] = 0;
	do {
		u64 d = v % (hex ? 16 : 10);
		b[--i] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= hex ? 16 : 10;
	} while (v);
	if (hex) {
		b[--i] = 'x';
		b[--i] = '0';
	}
	puts_(label);
	puts_(b + i);
}

static int parse(const char *s, u64 *out)
{
	u64 v = 0;
	if (!*s)
		return 0;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (u64)(*s - '0');
	if (*s == 'K' || *s == 'k')
		v <<= 10, s++;
	else if (*s == 'M' || *s == 'm')
		v <<= 20, s++;
	else if (*s == 'G' || *s == 'g')
		v <<= 30, s++;
	if (*s)
		return 0;
	*out = v;
	return 1;
}

static u64 tag(u64 page)
{
	return 0x6876736d00000000UL | page; /* "hvsm" + page number */
}

static int run(int argc, char **argv)
{
	u64 ws, rate, passes, spin;
	if (argc != 5 || !parse(argv[1], &ws) || !parse(argv[2], &rate) || !parse(argv[3], &passes) ||
	    !parse(argv[4], &spin) || ws < PAGE || ws % PAGE) {
		puts_("usage: dirty WS RATE PASSES SPIN (WS a non-zero multiple of 4096)\n");
		return 2;
	}
	u64 pages = ws / PAGE;
	if (rate == 0 || rate > pages)
		rate = pages;
	/* mmap(NULL, ws, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) */
	long m = sys6(9, 0, (long)ws, 3, 0x22, -1, 0);
	if (m < 0 && m > -4096) {
		puts_("dirty: cannot map the working set\n");
		return 1;
	}
	volatile unsigned char *mem = (volatile unsigned char *)m;
	putu("dirty: ws ", ws, 0);
	putu(" rate ", rate, 0);
	putu(" passes ", passes, 0);
	putu(" spin ", spin, 0);
	puts_("\n");
	for (u64 p = 0; p < pages; p++)
		*(volatile u64 *)(mem + p * PAGE) = tag(p);
	u64 next = 0;
	volatile u64 sink = 0;
	for (u64 k = 0; k < passes; k++) {
		for (u64 i = 0; i < rate; i++) {
			mem[next * PAGE + 8]++;
			if (++next == pages)
				next = 0;
		}
		for (u64 s = 0; s < spin; s++)
			sink = sink * 6364136223846793005UL + 1442695040888963407UL;
	}
	u64 total = passes * rate, sum = 0;
	for (u64 p = 0; p < pages; p++) {
		u64 visits = total / pages + (p < total % pages ? 1 : 0);
		if (*(volatile u64 *)(mem + p * PAGE) != tag(p) || mem[p * PAGE + 8] != (unsigned char)visits) {
			putu("dirty: FAILED at page ", p, 0);
			puts_("\n");
			return 1;
		}
		sum = sum * 31 + mem[p * PAGE + 8];
	}
	putu("dirty: ok, checksum ", sum, 1);
	puts_("\n");
	return 0;
}

__attribute__((used)) static void start_c(long *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);
	sys3(60, run(argc, argv), 0, 0); /* exit */
	for (;;)
		;
}

__asm__(".globl _start\n"
	"_start:\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call start_c\n");
