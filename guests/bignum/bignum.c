/*
 * bignum: arbitrary-precision decimal arithmetic (base 10^9 limbs) checked by independent
 * routes: N! and Fibonacci(N) against their residues computed directly modulo primes,
 * a schoolbook product against the same number built by repeated small multiplication,
 * and the digits of e (Sale's spigot) against the published first 60 digits.
 *
 * cmdline: fact=N (default 1500), fib=N (default 8000), edigits=D (default 1500),
 *          pow=K (product 3^K * 7^K, default 3000).
 */
#include "hvsim.h"

#define BASE 1000000000u

struct big {
	u32 *limb; /* little-endian base 10^9 */
	size_t len, cap;
};

static struct big big_new(size_t cap, u32 value)
{
	struct big b = {hv_alloc(cap * sizeof(u32)), 1, cap};
	b.limb[0] = value;
	return b;
}

static void big_grow(struct big *b)
{
	CHECK(b->len < b->cap);
}

/* b *= m, for m < 2^32. */
static void big_mul_small(struct big *b, u32 m)
{
	u64 carry = 0;
	for (size_t i = 0; i < b->len; i++) {
		u64 t = (u64)b->limb[i] * m + carry;
		b->limb[i] = (u32)(t % BASE);
		carry = t / BASE;
	}
	while (carry) {
		big_grow(b);
		b->limb[b->len++] = (u32)(carry % BASE);
		carry /= BASE;
	}
}

/* dst = a + b (dst may alias a). */
static void big_add(struct big *dst, const struct big *a, const struct big *b)
{
	size_t n = a->len > b->len ? a->len : b->len;
	u32 carry = 0;
	for (size_t i = 0; i < n; i++) {
		u32 s = (i < a->len ? a->limb[i] : 0) + (i < b->len ? b->limb[i] : 0) + carry;
		carry = s >= BASE;
		dst->limb[i] = carry ? s - BASE : s;
	}
	dst->len = n;
	if (carry) {
		big_grow(dst);
		dst->limb[dst->len++] = 1;
	}
}

/* dst = a * b, schoolbook; dst must not alias a or b. */
static void big_mul(struct big *dst, const struct big *a, const struct big *b)
{
	CHECK(a->len + b->len <= dst->cap);
	memset(dst->limb, 0, (a->len + b->len) * sizeof(u32));
	for (size_t i = 0; i < a->len; i++) {
		u64 carry = 0;
		for (size_t j = 0; j < b->len; j++) {
			u64 t = (u64)a->limb[i] * b->limb[j] + dst->limb[i + j] + carry;
			dst->limb[i + j] = (u32)(t % BASE);
			carry = t / BASE;
		}
		dst->limb[i + b->len] = (u32)carry;
	}
	dst->len = a->len + b->len;
	while (dst->len > 1 && dst->limb[dst->len - 1] == 0)
		dst->len--;
}

static u32 big_mod_small(const struct big *b, u32 m)
{
	u64 r = 0;
	for (size_t i = b->len; i-- > 0;)
		r = (r * BASE + b->limb[i]) % m;
	return (u32)r;
}

static size_t big_digits(const struct big *b)
{
	size_t d = (b->len - 1) * 9;
	for (u32 top = b->limb[b->len - 1]; top; top /= 10)
		d++;
	return d ? d : 1;
}

static int big_equal(const struct big *a, const struct big *b)
{
	return a->len == b->len && memcmp(a->limb, b->limb, a->len * sizeof(u32)) == 0;
}

/* Prints the first and last 30 digits of b and its digit count. */
static void big_summary(const char *label, const struct big *b)
{
	char head[40], tail[40];
	int hn = 0;
	printf("%s: %lu digits, ", label, big_digits(b));
	/* head: the top limbs, printed without leading zeros for the first one */
	for (size_t i = b->len; i-- > 0 && hn < 30;) {
		u32 v = b->limb[i];
		char tmp[9];
		int n = 0;
		for (int k = 0; k < 9; k++, v /= 10)
			tmp[n++] = (char)('0' + v % 10);
		if (i == b->len - 1)
			while (n > 1 && tmp[n - 1] == '0')
				n--;
		while (n && hn < 30)
			head[hn++] = tmp[--n];
	}
	head[hn] = 0;
	/* tail: the low 30 digits (four limbs), zero-padded */
	int tn = 0;
	for (size_t i = 0; i < 4 && i < b->len; i++) {
		u32 v = b->limb[i];
		for (int k = 0; k < 9; k++, v /= 10)
			tail[tn++] = (char)('0' + v % 10);
	}
	int keep = tn < 30 ? tn : 30;
	if ((size_t)keep > big_digits(b))
		keep = (int)big_digits(b);
	char rev[40];
	for (int k = 0; k < keep; k++)
		rev[k] = tail[keep - 1 - k];
	rev[keep] = 0;
	printf("first %s... last ...%s\n", head, rev);
}

static const u32 PRIMES[] = {1000000007u, 998244353u, 2147483647u, 4294967291u};
#define NPRIMES (sizeof PRIMES / sizeof PRIMES[0])

static void factorial(u32 n)
{
	struct big f = big_new(n * 2 + 16, 1);
	for (u32 i = 2; i <= n; i++)
		big_mul_small(&f, i);
	big_summary("factorial", &f);
	for (size_t k = 0; k < NPRIMES; k++) {
		u64 r = 1;
		for (u32 i = 2; i <= n; i++)
			r = r * i % PRIMES[k];
		CHECK(big_mod_small(&f, PRIMES[k]) == r);
	}
	/* Legendre: the number of trailing zeros of n! is sum n/5^k. */
	u32 zeros = 0;
	for (u32 p = 5; p <= n; p *= 5)
		zeros += n / p;
	u32 counted = 0;
	for (size_t i = 0; i < f.len; i++) {
		u32 v = f.limb[i];
		if (v == 0) {
			counted += 9;
			continue;
		}
		while (v % 10 == 0)
			v /= 10, counted++;
		break;
	}
	CHECK(counted == zeros);
	printf("factorial(%u): residues mod %d primes and %u trailing zeros verified\n", n, (int)NPRIMES, zeros);
}

static void fibonacci(u32 n)
{
	size_t cap = n / 40 + 8;
	struct big a = big_new(cap, 0), b = big_new(cap, 1);
	for (u32 i = 0; i < n; i++) {
		big_add(&a, &a, &b); /* (a, b) = (b, a + b), by swapping roles */
		struct big t = a;
		a = b;
		b = t;
	}
	big_summary("fibonacci", &a);
	for (size_t k = 0; k < NPRIMES; k++) {
		u64 x = 0, y = 1;
		for (u32 i = 0; i < n; i++) {
			u64 t = (x + y) % PRIMES[k];
			x = y;
			y = t;
		}
		CHECK(big_mod_small(&a, PRIMES[k]) == x);
	}
	printf("fibonacci(%u): residues mod %d primes verified\n", n, (int)NPRIMES);
}

static void power_product(u32 k)
{
	/* 3^k * 7^k two ways: a schoolbook product, and 21^k by small multiplications. */
	size_t cap = k / 6 + 8;
	struct big p3 = big_new(cap, 1), p7 = big_new(cap, 1), p21 = big_new(2 * cap, 1);
	struct big prod = big_new(2 * cap, 0);
	for (u32 i = 0; i < k; i++) {
		big_mul_small(&p3, 3);
		big_mul_small(&p7, 7);
		big_mul_small(&p21, 21);
	}
	big_mul(&prod, &p3, &p7);
	big_summary("3^k*7^k", &prod);
	CHECK(big_equal(&prod, &p21));
	printf("power(%u): schoolbook product equals 21^%u\n", k, k);
}

/* Smallest n with n! > 10^(d+10), via a lower bound on log10(i) from its bit length. */
static u32 spigot_terms(u32 d)
{
	u64 log_sum = 0; /* in units of 1e-5 decimal digits */
	u32 n = 1;
	while (log_sum < (u64)(d + 10) * 100000) {
		n++;
		u32 bits = 0;
		for (u32 v = n; v > 1; v >>= 1)
			bits++;
		log_sum += (u64)bits * 30102; /* floor(log2(n)) * log10(2), rounded down */
	}
	return n;
}

static void e_digits(u32 d)
{
	/* The first 60 decimals of e (OEIS A001113). */
	static const char known[] = "718281828459045235360287471352662497757247093699959574966967";
	u32 n = spigot_terms(d);
	u32 *a = hv_alloc((n + 1) * sizeof(u32));
	char *digits = hv_alloc(d + 1);
	for (u32 i = 2; i <= n; i++)
		a[i] = 1;
	for (u32 k = 0; k < d; k++) {
		u64 carry = 0;
		for (u32 i = n; i >= 2; i--) {
			u64 t = (u64)a[i] * 10 + carry;
			a[i] = (u32)(t % i);
			carry = t / i;
		}
		digits[k] = (char)('0' + carry);
	}
	digits[d] = 0;
	size_t check = d < sizeof known - 1 ? d : sizeof known - 1;
	CHECK(memcmp(digits, known, check) == 0);
	u64 sum = 0;
	for (u32 k = 0; k < d; k++)
		sum += (u64)(digits[k] - '0');
	printf("e: %u decimals from %u terms, digit sum %lu, first %lu verified\n", d, n, sum, check);
	printf("e = 2.");
	for (u32 k = 0; k < d; k++) {
		if (k && k % 64 == 0)
			printf("\n      ");
		putchar(digits[k]);
	}
	putchar('\n');
}

int main(unsigned long ram_size, const char *cmdline)
{
	(void)ram_size;
	u32 fact = (u32)cmdline_ulong(cmdline, "fact", 1500);
	u32 fib = (u32)cmdline_ulong(cmdline, "fib", 8000);
	u32 edigits = (u32)cmdline_ulong(cmdline, "edigits", 1500);
	u32 pow = (u32)cmdline_ulong(cmdline, "pow", 3000);

	factorial(fact);
	fibonacci(fib);
	power_product(pow);
	e_digits(edigits);
	puts("bignum: all results verified");
	return 0;
}
