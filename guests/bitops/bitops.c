/*
 * bitops: the rest of the general-purpose instruction set that compiled C reaches for,
 * each result checked against a plain-C computation: BSF/BSR (ctz/clz), BT/BTS/BTR/BTC,
 * BSWAP, ROL/ROR, SHLD/SHRD, ADC/SBB chains, XADD and CMPXCHG (LOCK and plain), XCHG,
 * CBW/CWDE/CDQE/CWD/CDQ/CQO with 8/16/32/64-bit IDIV, SETcc/CMOVcc, LAHF/SAHF,
 * PUSHF/POPF, CLC/STC/CMC, a dense switch (jump table) and indirect calls.
 * GS-relative addressing (segment override with a base set through hv_set_gs_base).
 * RDTSC is only checked for monotonicity and CPUID only for a sane maximum leaf, since
 * their values differ between machines.
 *
 * cmdline: n=COUNT (random cases, default 30000), seed=S (default 1).
 */
#include "hvsim.h"
#include "prng.h"

static int ctz_loop(u64 x)
{
	int n = 0;
	while (!(x & 1))
		x >>= 1, n++;
	return n;
}

static int clz_loop(u64 x)
{
	int n = 0;
	while (!(x & (1UL << 63)))
		x <<= 1, n++;
	return n;
}

static int popcount_loop(u64 x)
{
	int n = 0;
	for (; x; x >>= 1)
		n += (int)(x & 1);
	return n;
}

static u64 bsf(u64 x)
{
	u64 r;
	__asm__("bsfq %1, %0" : "=r"(r) : "rm"(x) : "cc");
	return r;
}

static u64 bsr(u64 x)
{
	u64 r;
	__asm__("bsrq %1, %0" : "=r"(r) : "rm"(x) : "cc");
	return r;
}

/* BSF of zero sets ZF (the destination is undefined, so it is not looked at). */
static int bsf_zf(u64 x)
{
	u64 r;
	u8 zf;
	__asm__("bsfq %2, %0; setz %1" : "=&r"(r), "=q"(zf) : "rm"(x) : "cc");
	(void)r;
	return zf;
}

/* BT on a register and on a bit string in memory (bit offset beyond the first qword). */
static int bt_reg(u64 x, u64 bit)
{
	u8 cf;
	__asm__("btq %2, %1; setc %0" : "=q"(cf) : "r"(x), "r"(bit) : "cc");
	return cf;
}

static int bts_mem(u64 *base, i64 bit)
{
	u8 cf;
	__asm__ volatile("btsq %2, %1; setc %0" : "=q"(cf), "+m"(*base) : "r"(bit) : "cc", "memory");
	return cf;
}

static int btr_mem(u64 *base, i64 bit)
{
	u8 cf;
	__asm__ volatile("btrq %2, %1; setc %0" : "=q"(cf), "+m"(*base) : "r"(bit) : "cc", "memory");
	return cf;
}

static int btc_mem(u64 *base, i64 bit)
{
	u8 cf;
	__asm__ volatile("btcq %2, %1; setc %0" : "=q"(cf), "+m"(*base) : "r"(bit) : "cc", "memory");
	return cf;
}

static u64 xadd(u64 *p, u64 v)
{
	__asm__ volatile("xaddq %0, %1" : "+r"(v), "+m"(*p) : : "cc");
	return v;
}

/* CMPXCHG: returns 1 and stores new if *p == expected, else loads *p into *expected. */
static int cmpxchg(u64 *p, u64 *expected, u64 new)
{
	u8 ok;
	u64 rax = *expected;
	__asm__ volatile("lock cmpxchgq %3, %1; sete %0" : "=q"(ok), "+m"(*p), "+a"(rax) : "r"(new) : "cc");
	*expected = rax;
	return ok;
}

/* The arithmetic flags of a + b through LAHF (SF ZF AF PF CF in AH). */
static u8 lahf_after_add(u8 a, u8 b)
{
	u16 ax;
	__asm__("addb %2, %b1; lahf; movw %%ax, %0" : "=r"(ax), "+q"(a) : "q"(b) : "rax", "cc");
	return (u8)(ax >> 8) & 0xd5;
}

/* Flags of a + b computed in C. */
static u8 flags_of_add(u8 a, u8 b)
{
	u8 r = (u8)(a + b);
	int pf = !(popcount_loop(r) & 1);
	int af = ((a ^ b ^ r) & 0x10) != 0;
	return (u8)((r & 0x80) | (r == 0) << 6 | af << 4 | pf << 2 | ((unsigned)a + b > 0xff));
}

/* SAHF then PUSHF/POPF: carry set through AH, read back through the flags image. */
static u64 sahf_pushf(u8 ah)
{
	u64 flags;
	__asm__ volatile("movb %1, %%ah; sahf; pushfq; popq %0" : "=r"(flags) : "q"(ah) : "rax", "cc");
	return flags & 0xd5;
}

static int clc_stc_cmc(void)
{
	u8 a, b, c;
	__asm__("clc; setc %0; stc; setc %1; cmc; setc %2" : "=q"(a), "=q"(b), "=q"(c) : : "cc");
	return a << 2 | b << 1 | c;
}

/* Dense switch: gcc builds a jump table. */
static u64 op(int k, u64 a, u64 b)
{
	switch (k) {
	case 0: return a + b;
	case 1: return a - b;
	case 2: return a * b;
	case 3: return a & b;
	case 4: return a | b;
	case 5: return a ^ b;
	case 6: return a << (b & 63);
	case 7: return a >> (b & 63);
	case 8: return (u64)((i64)a >> (b & 63));
	case 9: return a < b ? a : b;
	case 10: return a > b ? a : b;
	case 11: return (i64)a < (i64)b ? a : b;
	default: return ~a;
	}
}

static u64 rotl(u64 x, int n)
{
	return (x << (n & 63)) | (x >> (-n & 63));
}

static u32 rotr32(u32 x, int n)
{
	return (x >> (n & 31)) | (x << (-n & 31));
}

typedef u64 binop(u64, u64);
static u64 f_add(u64 a, u64 b) { return a + b; }
static u64 f_mulhi(u64 a, u64 b) { return (u64)(((unsigned __int128)a * b) >> 64); }
static u64 f_avg(u64 a, u64 b) { return (a & b) + ((a ^ b) >> 1); }
static binop *const table[] = {f_add, f_mulhi, f_avg};

static u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (u64)hi << 32 | lo;
}

static u32 cpuid_max_leaf(void)
{
	u32 a = 0, b, c = 0, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return a;
}

/* Loads and stores through %gs with a base, an index and a displacement. */
static u64 gs_load(u64 index)
{
	u64 v;
	__asm__ volatile("movq %%gs:8(,%1,8), %0" : "=r"(v) : "r"(index) : "memory");
	return v;
}

static void gs_store(u64 index, u64 v)
{
	__asm__ volatile("movq %1, %%gs:8(,%0,8)" : : "r"(index), "r"(v) : "memory");
}

static u64 gs_add_byte(u64 offset, u8 v)
{
	u64 r;
	__asm__ volatile("addb %2, %%gs:(%1); movzbq %%gs:(%1), %0" : "=&r"(r) : "r"(offset), "q"(v) : "memory", "cc");
	return r;
}

static u64 segments(void)
{
	static u64 area[66];
	for (u64 i = 0; i < 66; i++)
		area[i] = i * 0x0101010101010101UL;
	hv_set_gs_base((u64)area);
	u64 sum = 0;
	for (u64 i = 0; i < 64; i++) {
		CHECK(gs_load(i) == area[i + 1]);
		gs_store(i, ~i);
		CHECK(area[i + 1] == ~i);
		sum += gs_add_byte(8 * i + 3, (u8)i);
	}
	hv_set_gs_base(0);
	return sum;
}

int main(unsigned long ram_size, const char *cmdline)
{
	(void)ram_size;
	u64 n = cmdline_ulong(cmdline, "n", 30000);
	u64 state = cmdline_ulong(cmdline, "seed", 1);
	u64 acc = 0;
	static u64 bits[64], shadow[64];

	for (u64 i = 0; i < n; i++) {
		u64 a = splitmix64(&state), b = splitmix64(&state);
		if (i % 3 == 1)
			a >>= b & 63;
		if (i % 5 == 2)
			a = (u64)1 << (b & 63);
		u64 nz = a | (1UL << (b & 63)) | (i % 7 == 0 ? 0 : 1UL << 63 >> (a & 63));

		/* counting bits */
		CHECK(__builtin_ctzll(nz) == ctz_loop(nz) && (int)bsf(nz) == ctz_loop(nz));
		CHECK(__builtin_clzll(nz) == clz_loop(nz) && (int)bsr(nz) == 63 - clz_loop(nz));
		CHECK(__builtin_popcountll(a) == popcount_loop(a));
		CHECK(bsf_zf(0) && !bsf_zf(nz));

		/* bit tests */
		u64 bit = b & 63;
		CHECK(bt_reg(a, bit) == (int)((a >> bit) & 1));
		CHECK(bt_reg(a, bit + 64) == (int)((a >> bit) & 1)); /* register offsets wrap mod 64 */
		i64 mbit = (i64)(b % 4096);
		u64 word = (u64)mbit / 64, mask = 1UL << (mbit % 64);
		int was = (shadow[word] & mask) != 0;
		switch (i % 3) {
		case 0: CHECK(bts_mem(bits, mbit) == was); shadow[word] |= mask; break;
		case 1: CHECK(btr_mem(bits, mbit) == was); shadow[word] &= ~mask; break;
		default: CHECK(btc_mem(bits, mbit) == was); shadow[word] ^= mask; break;
		}
		/* a negative offset reaches below the base: bits[1] bit 63 is offset -1 from &bits[2] */
		if (i % 97 == 0) {
			int below = (shadow[1] >> 63) & 1;
			CHECK(btc_mem(&bits[2], -1) == below);
			shadow[1] ^= 1UL << 63;
		}

		/* byte order and rotates */
		u64 swapped = 0;
		for (int k = 0; k < 8; k++)
			swapped |= ((a >> (8 * k)) & 0xff) << (56 - 8 * k);
		CHECK(__builtin_bswap64(a) == swapped);
		CHECK(__builtin_bswap32((u32)a) == (u32)(swapped >> 32));
		CHECK(__builtin_bswap16((u16)a) == (u16)(swapped >> 48));
		int r = (int)(b % 64);
		CHECK(rotl(a, r) == (r ? (a << r) | (a >> (64 - r)) : a));
		CHECK(rotr32((u32)a, r) == (r % 32 ? ((u32)a >> (r % 32)) | ((u32)a << (32 - r % 32)) : (u32)a));

		/* double-width shifts and carries (__int128 shifts give SHLD/SHRD, adds give ADC) */
		unsigned __int128 w = (unsigned __int128)a << 64 | b;
		u64 hi_shl = (u64)((w << r) >> 64), lo_shr = (u64)(w >> r);
		CHECK(hi_shl == (r ? (a << r) | (b >> (64 - r)) : a));
		CHECK(lo_shr == (r ? (b >> r) | (a << (64 - r)) : b));
		unsigned __int128 sum = w + ((unsigned __int128)b << 64 | a);
		u64 carry = (b + a) < b;
		CHECK((u64)sum == b + a && (u64)(sum >> 64) == a + b + carry);
		unsigned __int128 diff = w - ((unsigned __int128)b << 64 | a);
		u64 borrow = b < a;
		CHECK((u64)diff == b - a && (u64)(diff >> 64) == a - b - borrow);

		/* sign extension and narrow signed division */
		i8 s8 = (i8)a;
		i16 s16 = (i16)(a >> 8);
		i32 s32 = (i32)(a >> 16);
		i8 d8 = (i8)(b | 1);
		i16 d16 = (i16)(b | 1);
		i32 d32 = (i32)(b | 1);
		CHECK((i16)s8 == (s8 >= 0 ? (i16)(u8)s8 : (i16)((u8)s8 - 256)));
		if (!(s8 == -128 && d8 == -1))
			acc += (u64)(i64)(s8 / d8) + (u64)(i64)(s8 % d8);
		if (!(s16 == -32768 && d16 == -1))
			acc += (u64)(i64)(s16 / d16) ^ (u64)(i64)(s16 % d16);
		if (!(s32 == (i32)0x80000000 && d32 == -1)) {
			i32 q = s32 / d32, m = s32 % d32;
			CHECK((i64)q * d32 + m == s32);
			acc += (u64)(i64)q;
		}
		acc += (u64)(i64)s32 * 3;

		/* atomics */
		u64 cell = a, old = xadd(&cell, b);
		CHECK(old == a && cell == a + b);
		u64 expected = a;
		CHECK(!cmpxchg(&cell, &expected, 7) && expected == a + b);
		CHECK(cmpxchg(&cell, &expected, 7) && cell == 7);
		CHECK(__atomic_fetch_add(&cell, 5, __ATOMIC_SEQ_CST) == 7 && cell == 12);
		CHECK(__atomic_exchange_n(&cell, a, __ATOMIC_SEQ_CST) == 12 && cell == a);
		u64 want = a;
		CHECK(__atomic_compare_exchange_n(&cell, &want, b, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST) && cell == b);

		/* flags */
		CHECK(lahf_after_add((u8)a, (u8)b) == flags_of_add((u8)a, (u8)b));
		u8 ah = (u8)(a & 0xd5);
		CHECK(sahf_pushf(ah) == ah);

		/* jump table and indirect calls */
		acc = acc * 31 + op((int)(i % 13), a, b);
		acc ^= table[i % 3](a, b);
	}
	CHECK(memcmp(bits, shadow, sizeof bits) == 0);
	CHECK(clc_stc_cmc() == 2); /* CF: clc 0, stc 1, cmc 0 */
	u64 t0 = rdtsc(), t1 = rdtsc();
	CHECK(t1 > t0);
	CHECK(cpuid_max_leaf() >= 1);
	u64 gs_sum = segments();
	u64 set = 0;
	for (int k = 0; k < 64; k++)
		set += (u64)popcount_loop(bits[k]);
	printf("bitops: %lu cases verified, %lu bits set, accumulator %016lx\n", n, set, acc);
	printf("bitops: %%gs-relative loads, stores and read-modify-writes verified, sum %lu\n", gs_sum);
	puts("bitops: rdtsc increases, cpuid reports leaf 1: ok");
	return 0;
}
