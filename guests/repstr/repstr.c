/*
 * repstr: REP string instructions on large buffers and 128-bit multiply/divide, each checked
 * against plain C loops or independent arithmetic.
 *
 * Strings: REP MOVSB/MOVSW/MOVSD/MOVSQ forwards and (with STD) backwards, REP STOSB/W/D/Q,
 * REPE CMPSB, REPNE SCASB, REPE SCASQ, LODSB/LODSQ in a loop. Arithmetic: MUL/IMUL with a
 * 128-bit result (through unsigned __int128), DIV/IDIV of RDX:RAX by a 64-bit operand, and
 * 32- and 8-bit DIV, in inline assembly.
 *
 * cmdline: kb=SIZE (buffer size in KiB, at least 128, default 128), n=COUNT (arithmetic cases, default 3000),
 *          seed=S (default 1).
 */
#include "hvsim.h"
#include "prng.h"

typedef unsigned __int128 u128;
typedef __int128 i128;

/* ---- string instructions ---- */

static void rep_movsb(void *dst, const void *src, size_t n)
{
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static void rep_movsw(void *dst, const void *src, size_t n)
{
	__asm__ volatile("rep movsw" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static void rep_movsd(void *dst, const void *src, size_t n)
{
	__asm__ volatile("rep movsl" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static void rep_movsq(void *dst, const void *src, size_t n)
{
	__asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

/* Copies n bytes backwards (DF=1), starting from the last byte: an overlapping memmove up. */
static void rep_movsb_backward(void *dst, const void *src, size_t n)
{
	u8 *d = (u8 *)dst + n - 1;
	const u8 *s = (const u8 *)src + n - 1;
	__asm__ volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory", "cc");
}

static void rep_movsq_backward(void *dst, const void *src, size_t nq)
{
	u64 *d = (u64 *)dst + nq - 1;
	const u64 *s = (const u64 *)src + nq - 1;
	__asm__ volatile("std; rep movsq; cld" : "+D"(d), "+S"(s), "+c"(nq) : : "memory", "cc");
}

static void rep_stosb(void *dst, u8 v, size_t n)
{
	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(v) : "memory");
}

static void rep_stosw(void *dst, u16 v, size_t n)
{
	__asm__ volatile("rep stosw" : "+D"(dst), "+c"(n) : "a"(v) : "memory");
}

static void rep_stosd(void *dst, u32 v, size_t n)
{
	__asm__ volatile("rep stosl" : "+D"(dst), "+c"(n) : "a"(v) : "memory");
}

static void rep_stosq(void *dst, u64 v, size_t n)
{
	__asm__ volatile("rep stosq" : "+D"(dst), "+c"(n) : "a"(v) : "memory");
}

/* Index of the first differing byte, or n if equal (n > 0). */
static size_t repe_cmpsb(const void *a, const void *b, size_t n)
{
	size_t left = n;
	u8 differ;
	__asm__ volatile("repe cmpsb; setne %3"
			 : "+S"(a), "+D"(b), "+c"(left), "=q"(differ)
			 :
			 : "memory", "cc");
	return differ ? n - left - 1 : n;
}

/* Index of the first byte equal to v, or n if none (n > 0). */
static size_t repne_scasb(const void *p, u8 v, size_t n)
{
	size_t left = n;
	u8 found;
	__asm__ volatile("repne scasb; sete %2" : "+D"(p), "+c"(left), "=q"(found) : "a"(v) : "memory", "cc");
	return found ? n - left - 1 : n;
}

/* Index of the first qword different from v, or n if none (n > 0). */
static size_t repe_scasq(const void *p, u64 v, size_t n)
{
	size_t left = n;
	u8 differ;
	__asm__ volatile("repe scasq; setne %2" : "+D"(p), "+c"(left), "=q"(differ) : "a"(v) : "memory", "cc");
	return differ ? n - left - 1 : n;
}

/* Sum of n bytes read with LODSB (n > 0). */
static u64 lodsb_sum(const void *p, size_t n)
{
	u64 sum = 0, tmp;
	__asm__ volatile("1: xorl %k2, %k2\n\t"
			 "lodsb\n\t"
			 "addq %2, %1\n\t"
			 "decq %0\n\t"
			 "jnz 1b"
			 : "+c"(n), "+r"(sum), "=&a"(tmp), "+S"(p)
			 :
			 : "memory", "cc");
	return sum;
}

/* Wrapping sum of n qwords read with LODSQ (n > 0). */
static u64 lodsq_sum(const void *p, size_t n)
{
	u64 sum = 0, tmp;
	__asm__ volatile("1: lodsq\n\t"
			 "addq %2, %1\n\t"
			 "decq %0\n\t"
			 "jnz 1b"
			 : "+c"(n), "+r"(sum), "=&a"(tmp), "+S"(p)
			 :
			 : "memory", "cc");
	return sum;
}

static u64 fnv(const u8 *p, size_t n)
{
	u64 h = 0xcbf29ce484222325UL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3UL;
	return h;
}

static void fill_random(u8 *p, size_t n, u64 *state)
{
	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0) {
			u64 v = splitmix64(state);
			for (size_t j = 0; j < 8 && i + j < n; j++)
				p[i + j] = (u8)(v >> (8 * j));
		}
	}
}

static void strings(size_t size, u64 seed)
{
	u8 *a = hv_alloc(size + 64), *b = hv_alloc(size + 64), *c = hv_alloc(size + 64);
	u64 state = seed;
	fill_random(a, size + 64, &state);

	/* Forward copies in each width, at odd offsets too. */
	static const size_t offsets[] = {0, 1, 3, 8};
	for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++) {
		size_t off = offsets[k], n = size - 16;
		rep_movsb(b + off, a + 3, n);
		CHECK(memcmp(b + off, a + 3, n) == 0);
		rep_movsw(c + off, a + 5, n / 2);
		CHECK(memcmp(c + off, a + 5, n / 2 * 2) == 0);
		rep_movsd(b + off, a + 7, n / 4);
		CHECK(memcmp(b + off, a + 7, n / 4 * 4) == 0);
		rep_movsq(c + off, a + off, n / 8);
		CHECK(memcmp(c + off, a + off, n / 8 * 8) == 0);
	}
	printf("movs: b=%016lx c=%016lx\n", fnv(b, size), fnv(c, size));

	/* Overlapping moves up by 5 bytes (DF=1), checked against the original. */
	memcpy(b, a, size + 64);
	rep_movsb_backward(b + 5, b, size);
	CHECK(memcmp(b + 5, a, size) == 0);
	memcpy(c, a, size + 64);
	rep_movsq_backward(c + 40, c, size / 8);
	CHECK(memcmp(c + 40, a, size / 8 * 8) == 0);
	printf("movs backward: b=%016lx c=%016lx\n", fnv(b, size), fnv(c, size));

	/* Fills. */
	rep_stosb(b + 1, 0x5a, size);
	for (size_t i = 0; i < size; i++)
		CHECK(b[1 + i] == 0x5a);
	rep_stosw(b + 2, 0x1234, size / 2);
	for (size_t i = 0; i < size / 2; i++)
		CHECK(b[2 + 2 * i] == 0x34 && b[3 + 2 * i] == 0x12);
	rep_stosd(b, 0xdeadbeef, size / 4);
	for (size_t i = 0; i < size / 4; i++)
		CHECK(((u32 *)b)[i] == 0xdeadbeef);
	rep_stosq(c, 0x0123456789abcdefUL, size / 8);
	for (size_t i = 0; i < size / 8; i++)
		CHECK(((u64 *)c)[i] == 0x0123456789abcdefUL);
	printf("stos: b=%016lx c=%016lx\n", fnv(b, size), fnv(c, size));

	/* Compares and scans. */
	memcpy(b, a, size);
	CHECK(repe_cmpsb(a, b, size) == size);
	static const size_t spots[] = {0, 1, 4095, 4096, 77777};
	for (size_t k = 0; k < sizeof spots / sizeof spots[0]; k++) {
		size_t at = spots[k] % size;
		b[at] ^= 0x40;
		CHECK(repe_cmpsb(a, b, size) == at);
		b[at] ^= 0x40;
	}
	rep_stosb(c, 0, size);
	c[size - 3] = 0xee;
	CHECK(repne_scasb(c, 0xee, size) == size - 3);
	CHECK(repne_scasb(c, 0x11, size) == size);
	CHECK(repe_scasq(c, 0, size / 8) == (size - 3) / 8);
	u64 expect_b = 0, expect_q = 0;
	for (size_t i = 0; i < size; i++)
		expect_b += a[i];
	for (size_t i = 0; i < size / 8; i++)
		expect_q += ((const u64 *)a)[i];
	u64 sb = lodsb_sum(a, size), sq = lodsq_sum(a, size / 8);
	CHECK(sb == expect_b && sq == expect_q);
	printf("cmps/scas/lods: byte sum %lu, qword sum %016lx\n", sb, sq);
}

/* ---- 128-bit arithmetic ---- */

/* 64x64->128 by 32-bit halves, in plain 64-bit arithmetic. */
static void mul_halves(u64 a, u64 b, u64 *hi, u64 *lo)
{
	u64 a0 = (u32)a, a1 = a >> 32, b0 = (u32)b, b1 = b >> 32;
	u64 p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
	u64 mid = (p00 >> 32) + (u32)p01 + (u32)p10;
	*lo = (mid << 32) | (u32)p00;
	*hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

static void divq(u64 hi, u64 lo, u64 d, u64 *q, u64 *r)
{
	__asm__("divq %4" : "=a"(*q), "=d"(*r) : "a"(lo), "d"(hi), "rm"(d) : "cc");
}

static void idivq(i64 n, i64 d, i64 *q, i64 *r)
{
	__asm__("cqto; idivq %3" : "=a"(*q), "=&d"(*r) : "a"(n), "rm"(d) : "cc");
}

static void divl(u32 hi, u32 lo, u32 d, u32 *q, u32 *r)
{
	__asm__("divl %4" : "=a"(*q), "=d"(*r) : "a"(lo), "d"(hi), "rm"(d) : "cc");
}

static void divb(u16 n, u8 d, u8 *q, u8 *r)
{
	u16 ax = n;
	__asm__("divb %1" : "+a"(ax) : "qm"(d) : "cc");
	*q = (u8)ax;
	*r = (u8)(ax >> 8);
}

/* 128/128 by shift and subtract, in C on u128 (for divisors that need not fit 64 bits). */
static u128 div_shift(u128 n, u128 d, u128 *rem)
{
	u128 q = 0, r = 0;
	for (int i = 127; i >= 0; i--) {
		r = (r << 1) | ((n >> i) & 1);
		if (r >= d) {
			r -= d;
			q |= (u128)1 << i;
		}
	}
	*rem = r;
	return q;
}

static void wide(u64 count, u64 seed)
{
	u64 state = seed ^ 0xabcdef, acc = 0;
	for (u64 i = 0; i < count; i++) {
		u64 a = splitmix64(&state), b = splitmix64(&state);
		switch (i % 4) { /* edge values now and then */
		case 1: a >>= (b & 63); break;
		case 2: b = ~0UL - (a & 7); break;
		case 3: a = (u64)1 << (b & 63); break;
		}
		/* unsigned 64x64->128 */
		u128 p = (u128)a * b;
		u64 hi, lo;
		mul_halves(a, b, &hi, &lo);
		CHECK((u64)(p >> 64) == hi && (u64)p == lo);

		/* signed 64x64->128: product of magnitudes, then the sign */
		i128 sp = (i128)(i64)a * (i64)b;
		u64 ma = (i64)a < 0 ? -a : a, mb = (i64)b < 0 ? -b : b;
		u128 mag = (u128)ma * mb;
		CHECK(((i64)a < 0) != ((i64)b < 0) ? (u128)(-sp) == mag : (u128)sp == mag);

		/* 128/64 divide with a quotient that fits: (hi mod d):lo / d */
		u64 d = b | 1;
		u64 q, r;
		divq(hi % d, lo, d, &q, &r);
		CHECK(r < d && ((u128)(hi % d) << 64 | lo) == (u128)q * d + r);
		u128 q2, r2;
		q2 = div_shift((u128)(hi % d) << 64 | lo, d, &r2);
		CHECK(q2 == q && r2 == r);

		/* wider divisor through the C routine only */
		u128 big = (u128)a << 64 | b, dd = ((u128)(b >> 3) << 64) | a | 1;
		q2 = div_shift(big, dd, &r2);
		CHECK(r2 < dd && q2 * dd + r2 == big);

		/* signed divide: truncation toward zero, remainder takes the dividend's sign */
		i64 sn = (i64)a, sd = (i64)(b >> (i % 60)) | 1;
		if (!(sn == (i64)(1UL << 63) && sd == -1)) {
			i64 sq, sr;
			idivq(sn, sd, &sq, &sr);
			CHECK((i128)sq * sd + sr == sn);
			CHECK(sr == 0 || (sr < 0) == (sn < 0));
			u64 asr = sr < 0 ? -(u64)sr : (u64)sr, asd = sd < 0 ? -(u64)sd : (u64)sd;
			CHECK(asr < asd);
			acc ^= (u64)sq + (u64)sr;
		}

		/* 32- and 8-bit divides */
		u32 d32 = (u32)b | 1, q32, r32;
		divl((u32)a % d32, (u32)(a >> 32), d32, &q32, &r32);
		CHECK(r32 < d32 && ((u64)((u32)a % d32) << 32 | (u32)(a >> 32)) == (u64)q32 * d32 + r32);
		u8 d8 = (u8)b | 0x80, q8, r8;
		u16 n16 = (u16)(((u16)((u8)a % d8) << 8) | (u8)(a >> 8));
		divb(n16, d8, &q8, &r8);
		CHECK(r8 < d8 && n16 == (u16)(q8 * d8 + r8));

		acc += (u64)(p >> 64) ^ (u64)sp ^ q ^ r ^ (u64)q2 ^ q32 ^ r8;
	}
	printf("128-bit: %lu cases verified, accumulator %016lx\n", count, acc);
}

int main(unsigned long ram_size, const char *cmdline)
{
	(void)ram_size;
	size_t size = cmdline_ulong(cmdline, "kb", 128) << 10;
	u64 n = cmdline_ulong(cmdline, "n", 3000);
	u64 seed = cmdline_ulong(cmdline, "seed", 1);
	if (size < 128 << 10) {
		printf("repstr: kb must be at least 128\n");
		return 2;
	}
	strings(size, seed);
	wide(n, seed);
	puts("repstr: all results verified");
	return 0;
}
