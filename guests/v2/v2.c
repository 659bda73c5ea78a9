/*
 * v2: code for the x86-64-v2 level, built with -march=x86-64-v2 -O3: integer loops gcc vectorizes
 * with SSSE3 and SSE4.1 (PMULLD, PMINSD/PMAXSD, PABSD, PMOVZX/PMOVSX, PBLENDVB, PSHUFB), the
 * SSE4.1 rounding instructions gcc emits for floor/ceil/trunc/rint/nearbyint, SSE4.2 string
 * functions written the way glibc's SSE4.2 variants are (PCMPISTRI/PCMPESTRI over 16-byte
 * blocks), CRC32 and POPCNT through gcc's builtins, and the SSE3/SSE4.1 intrinsics a
 * hand-vectorized library uses (HADDPS, DPPS, MPSADBW, PHMINPOSUW). Each vector result is checked
 * against a plain scalar loop; results are printed as hex, so the native twin's output is the
 * oracle to the last bit.
 *
 * cmdline: n=N (array length, default 3000), seed=S (default 1).
 */
#include "hvsim.h"
#include <nmmintrin.h>

static u64 rng_state;

static u32 rnd(void)
{
	rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
	return (u32)(rng_state >> 32);
}

static u64 mix(u64 h, u64 v)
{
	h ^= v + 0x9e3779b97f4a7c15UL + (h << 6) + (h >> 2);
	return h;
}

/* ------------------------------------------------------------ vectorized integer loops */

__attribute__((noinline)) static void mul32(i32 *c, const i32 *a, const i32 *b, int n)
{
	for (int i = 0; i < n; i++)
		c[i] = a[i] * b[i] + (a[i] >> 3);
}

__attribute__((noinline)) static i32 minmax32(const i32 *a, int n, i32 *maxp)
{
	i32 mn = a[0], mx = a[0];
	for (int i = 0; i < n; i++) {
		mn = a[i] < mn ? a[i] : mn;
		mx = a[i] > mx ? a[i] : mx;
	}
	*maxp = mx;
	return mn;
}

__attribute__((noinline)) static u64 abs_sum(const i32 *a, int n)
{
	u32 s = 0;
	for (int i = 0; i < n; i++)
		s += (u32)(a[i] < 0 ? -a[i] : a[i]);
	return s;
}

__attribute__((noinline)) static void widen(i64 *out, const i32 *a, u32 *wout, const u8 *b, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = a[i];
	for (int i = 0; i < n; i++)
		wout[i] = b[i] * 3u;
}

__attribute__((noinline)) static void select8(i8 *c, const i8 *a, const i8 *b, int n)
{
	for (int i = 0; i < n; i++)
		c[i] = a[i] > b[i] ? a[i] : (i8)(b[i] ^ 0x55);
}

__attribute__((noinline)) static void reverse16(u8 *dst, const u8 *src, int blocks)
{
	for (int k = 0; k < blocks; k++)
		for (int i = 0; i < 16; i++)
			dst[16 * k + i] = src[16 * k + 15 - i];
}

static void integer_loops(int n)
{
	i32 *a = hv_alloc(n * sizeof(i32)), *b = hv_alloc(n * sizeof(i32)), *c = hv_alloc(n * sizeof(i32));
	i64 *w = hv_alloc(n * sizeof(i64));
	u32 *wu = hv_alloc(n * sizeof(u32));
	u8 *bytes = hv_alloc(n + 16), *rev = hv_alloc(n + 16);
	i8 *sa = hv_alloc(n), *sb = hv_alloc(n), *sc = hv_alloc(n);
	for (int i = 0; i < n; i++) {
		a[i] = (i32)rnd();
		b[i] = (i32)rnd() >> (i & 15);
		bytes[i] = (u8)rnd();
		sa[i] = (i8)rnd();
		sb[i] = (i8)rnd();
	}
	mul32(c, a, b, n);
	u64 h = 0;
	for (int i = 0; i < n; i++)
	{
		CHECK(c[i] == (i32)((u32)a[i] * (u32)b[i] + (u32)(a[i] >> 3)));
		h = mix(h, (u32)c[i]);
	}
	printf("mul32    %016lx\n", h);
	i32 mx, mn = minmax32(a, n, &mx);
	printf("minmax   %08x %08x\n", (u32)mn, (u32)mx);
	printf("abs      %08lx\n", abs_sum(b, n));
	widen(w, a, wu, bytes, n);
	h = 0;
	for (int i = 0; i < n; i++)
	{
		CHECK(w[i] == (i64)a[i] && wu[i] == bytes[i] * 3u);
		h = mix(mix(h, (u64)w[i]), wu[i]);
	}
	printf("widen    %016lx\n", h);
	select8(sc, sa, sb, n);
	h = 0;
	for (int i = 0; i < n; i++) h = mix(h, (u8)sc[i]);
	printf("select8  %016lx\n", h);
	reverse16(rev, bytes, n / 16);
	h = 0;
	for (int i = 0; i < n / 16 * 16; i++)
	{
		CHECK(rev[i] == bytes[(i & ~15) + 15 - (i & 15)]);
		h = mix(h, rev[i]);
	}
	printf("reverse  %016lx\n", h);
}

/* ------------------------------------------------------------ SSE4.1 rounding */

static u64 dbits(double d)
{
	u64 u;
	memcpy(&u, &d, sizeof u);
	return u;
}

__attribute__((noinline)) static void rounding(int n)
{
	u64 hf = 0, hc = 0, ht = 0, hr = 0, hn = 0;
	float sf = 0;
	for (int i = 0; i < n; i++) {
		double x = ((double)(i32)rnd()) / ((rnd() & 0xffff) + 1) + (i & 1 ? 0.5 : 0.25);
		hf = mix(hf, dbits(__builtin_floor(x)));
		hc = mix(hc, dbits(__builtin_ceil(x)));
		ht = mix(ht, dbits(__builtin_trunc(x)));
		hr = mix(hr, dbits(__builtin_rint(x)));
		hn = mix(hn, dbits(__builtin_nearbyint(x * 1.5)));
		sf += __builtin_floorf((float)x * 0.5f);
	}
	printf("floor    %016lx\nceil     %016lx\ntrunc    %016lx\nrint     %016lx\nnearby   %016lx\n", hf, hc,
	       ht, hr, hn);
	u32 fb;
	memcpy(&fb, &sf, sizeof fb);
	printf("floorf   %08x\n", fb);
}

/* ------------------------------------------------------------ SSE4.2 strings, glibc style */

#define MODE_ANY (_SIDD_UBYTE_OPS | _SIDD_CMP_EQUAL_ANY)
#define MODE_RANGES (_SIDD_UBYTE_OPS | _SIDD_CMP_RANGES)
#define MODE_ORDERED (_SIDD_UBYTE_OPS | _SIDD_CMP_EQUAL_ORDERED)
#define MODE_EACH (_SIDD_UBYTE_OPS | _SIDD_CMP_EQUAL_EACH | _SIDD_NEGATIVE_POLARITY)

/* Strings live in buffers with 16 bytes of slack, so a 16-byte load past the terminator stays inside. */
static size_t sse_strlen(const char *s)
{
	const __m128i zero = _mm_setzero_si128();
	for (size_t off = 0;; off += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(s + off));
		if (_mm_cmpistrz(zero, v, MODE_EACH))
			return off + _mm_cmpistri(v, v, _SIDD_UBYTE_OPS | _SIDD_CMP_EQUAL_EACH |
							  _SIDD_MASKED_NEGATIVE_POLARITY);
	}
}

static const char *sse_strchr(const char *s, int c)
{
	const __m128i set = _mm_cvtsi32_si128(c & 0xff);
	for (;; s += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)s);
		int i = _mm_cmpistri(set, v, MODE_ANY);
		if (i < 16)
			return s + i;
		if (_mm_cmpistrz(set, v, MODE_ANY))
			return NULL;
	}
}

/* Length of the prefix of identifier characters [0-9A-Z_a-z]: strspn with a range set. */
static size_t sse_identspan(const char *s)
{
	const __m128i ranges = _mm_setr_epi8('0', '9', 'A', 'Z', '_', '_', 'a', 'z', 0, 0, 0, 0, 0, 0, 0, 0);
	for (size_t off = 0;; off += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(s + off));
		int i = _mm_cmpistri(ranges, v, MODE_RANGES | _SIDD_NEGATIVE_POLARITY);
		if (i < 16)
			return off + i;
	}
}

static int prefix_eq(const char *a, const char *b, size_t n)
{
	for (size_t k = 0; k < n; k++) if (a[k] != b[k]) return 0;
	return 1;
}

/* The needle (at most 15 bytes, in a 16-byte buffer) in the haystack: an equal-ordered search per block. */
static const char *sse_strstr(const char *hay, const char *needle, size_t nlen)
{
	const __m128i nv = _mm_loadu_si128((const __m128i *)needle);
	const char *p = hay;
	for (;;) {
		__m128i v = _mm_loadu_si128((const __m128i *)p);
		int i = _mm_cmpistri(nv, v, MODE_ORDERED);
		if (i < 16) {
			if (prefix_eq(p + i, needle, nlen))
				return p + i;
			p += i + 1;
			continue;
		}
		if (_mm_cmpistrz(nv, v, MODE_ORDERED))
			return NULL;
		p += 16;
	}
}

static size_t plain_strlen(const char *s)
{
	size_t n = 0;
	while (s[n]) n++;
	return n;
}

static const char *plain_strchr(const char *s, int c)
{
	for (;; s++)
	{
		if (*s == (char)c)
			return s;
		if (!*s)
			return NULL;
	}
}

static int is_ident(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= 'a' && c <= 'z');
}

static const char *plain_strstr(const char *hay, const char *needle, size_t nlen)
{
	for (; *hay; hay++) if (prefix_eq(hay, needle, nlen)) return hay;
	return NULL;
}

static void strings(int n)
{
	static const char alphabet[] = "etaoin shrdlu_ETAOIN,.;cmfwyp0123456789";
	char *text = hv_alloc(n + 32);
	for (int i = 0; i < n; i++)
		text[i] = alphabet[rnd() % (sizeof alphabet - 1)];
	for (int i = n; i < n + 32; i++)
		text[i] = 0;
	/* Lines: a NUL every 20..120 bytes, so many strings end at every offset of a block. */
	for (int i = 0; i < n; i += 20 + rnd() % 100)
		text[i] = 0;
	u64 hl = 0, hc = 0, hs = 0, hx = 0;
	for (int start = 0; start < n; start += 1 + rnd() % 7) {
		const char *s = text + start;
		size_t len = sse_strlen(s);
		CHECK(len == plain_strlen(s));
		hl = mix(hl, len);
		int c = alphabet[rnd() % (sizeof alphabet - 1)];
		const char *p = sse_strchr(s, c);
		CHECK(p == plain_strchr(s, c));
		hc = mix(hc, p ? (u64)(p - s) : 0xffff);
		size_t span = sse_identspan(s), ref = 0;
		while (is_ident(s[ref])) ref++;
		CHECK(span == ref);
		hs = mix(hs, span);
	}
	static const char *needles[] = { "ta", "eta", "in s", "0123", "ETAOIN", "_E", "zz" };
	char nbuf[16];
	for (unsigned k = 0; k < sizeof needles / sizeof needles[0]; k++) {
		size_t nl = plain_strlen(needles[k]);
		memset(nbuf, 0, sizeof nbuf);
		memcpy(nbuf, needles[k], nl);
		for (int start = 0; start < n; start += 1 + rnd() % 97) {
			const char *s = text + start;
			const char *p = sse_strstr(s, nbuf, nl);
			CHECK(p == plain_strstr(s, nbuf, nl));
			hx = mix(hx, p ? (u64)(p - s) : 0xffff);
		}
	}
	printf("strlen   %016lx\nstrchr   %016lx\nstrspn   %016lx\nstrstr   %016lx\n", hl, hc, hs, hx);
}

/* ------------------------------------------------------------ CRC32 and POPCNT */

static void crc_popcount(int n)
{
	u8 *buf = hv_alloc(n + 8);
	for (int i = 0; i < n + 8; i++)
		buf[i] = (u8)rnd();
	u32 table[256];
	for (u32 i = 0; i < 256; i++) {
		u32 c = i;
		for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		table[i] = c;
	}
	u32 soft = 0xffffffffu;
	for (int i = 0; i < n; i++) soft = table[(soft ^ buf[i]) & 0xff] ^ (soft >> 8);
	u64 hw = 0xffffffffu;
	int i = 0;
	for (; i + 8 <= n; i += 8) {
		u64 q;
		memcpy(&q, buf + i, 8);
		hw = __builtin_ia32_crc32di(hw, q);
	}
	u32 hw32 = (u32)hw;
	for (; i < n; i++)
		hw32 = __builtin_ia32_crc32qi(hw32, buf[i]);
	CHECK(hw32 == soft);
	u32 check = 0xffffffffu;
	for (const char *p = "123456789"; *p; p++)
		check = __builtin_ia32_crc32qi(check, (u8)*p);
	printf("crc32c   %08x (check %08x)\n", ~hw32, ~check);
	u64 pop = 0, ref = 0;
	for (int k = 0; k + 8 <= n; k += 8) {
		u64 q;
		memcpy(&q, buf + k, 8);
		pop += (u64)__builtin_popcountll(q) + __builtin_popcount((u32)q & 0xfff0f0f0u);
		u64 r = q;
		for (int b = 0; b < 64; b++) ref += (r >> b) & 1;
		r = q & 0xfff0f0f0u;
		for (int b = 0; b < 32; b++) ref += (r >> b) & 1;
	}
	CHECK(pop == ref);
	printf("popcount %lu\n", pop);
}

/* ------------------------------------------------------------ SSE3 .. SSE4.1 intrinsics */

static __m128i rndvec(void)
{
	return _mm_setr_epi32((int)rnd(), (int)rnd(), (int)rnd(), (int)rnd());
}

static __m128 rndps(void)
{
	return _mm_setr_ps((float)(i32)rnd() / 65536.0f, (float)(i32)rnd() / 4096.0f, (float)(rnd() & 0xff),
			   (float)(i32)rnd() / 1e6f);
}

static u64 hashvec(u64 h, __m128i v)
{
	return mix(mix(h, (u64)_mm_cvtsi128_si64(v)), (u64)_mm_extract_epi64(v, 1));
}

static void intrinsics(int n)
{
	u64 hi = 0, hf = 0;
	for (int k = 0; k < n; k++) {
		__m128i a = rndvec(), b = rndvec(), m = rndvec();
		hi = hashvec(hi, _mm_shuffle_epi8(a, b));
		hi = hashvec(hi, _mm_alignr_epi8(a, b, 5));
		hi = hashvec(hi, _mm_hadds_epi16(a, b));
		hi = hashvec(hi, _mm_maddubs_epi16(a, b));
		hi = hashvec(hi, _mm_mulhrs_epi16(a, b));
		hi = hashvec(hi, _mm_sign_epi16(a, b));
		hi = hashvec(hi, _mm_blendv_epi8(a, b, m));
		hi = hashvec(hi, _mm_mpsadbw_epu8(a, b, 5));
		hi = hashvec(hi, _mm_minpos_epu16(a));
		hi = hashvec(hi, _mm_packus_epi32(a, b));
		hi = hashvec(hi, _mm_mul_epi32(a, b));
		hi = hashvec(hi, _mm_cmpgt_epi64(a, b));
		hi = hashvec(hi, _mm_insert_epi8(a, k, 9));
		hi = mix(hi, (u64)_mm_extract_epi8(b, 13) + ((u64)_mm_testz_si128(a, m) << 8) +
				     ((u64)_mm_testc_si128(a, a) << 9));
		hi = mix(hi, (u64)_mm_cmpestri(a, 5, b, 9, _SIDD_UWORD_OPS | _SIDD_CMP_EQUAL_ANY));
		hi = hashvec(hi, _mm_cmpestrm(a, 5, b, 9, _SIDD_SBYTE_OPS | _SIDD_CMP_RANGES | _SIDD_UNIT_MASK));
		__m128 x = rndps(), y = rndps();
		__m128i r = _mm_castps_si128(_mm_hadd_ps(x, y));
		r = _mm_xor_si128(r, _mm_castps_si128(_mm_addsub_ps(x, y)));
		r = _mm_xor_si128(r, _mm_castps_si128((k & 1 ? _mm_dp_ps(x, y, 0xf1) : _mm_dp_ps(x, y, 0x7b))));
		r = _mm_xor_si128(r, _mm_castps_si128(_mm_blendv_ps(x, y, _mm_castsi128_ps(m))));
		r = _mm_xor_si128(r, _mm_castps_si128(_mm_insert_ps(x, y, 0x5a)));
		r = _mm_xor_si128(r, _mm_castps_si128(_mm_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
		r = _mm_xor_si128(r, _mm_castpd_si128(_mm_dp_pd(_mm_castps_pd(x), _mm_castps_pd(y), 0x31)));
		hf = hashvec(hf, r);
	}
	printf("ssse3+   %016lx\nfloat    %016lx\n", hi, hf);
}

int main(unsigned long ram_size, const char *cmdline)
{
	(void)ram_size;
	int n = (int)cmdline_ulong(cmdline, "n", 3000);
	rng_state = cmdline_ulong(cmdline, "seed", 1);
	if (n < 64 || n > 1000000) {
		printf("v2: n must be 64..1000000\n");
		return 2;
	}
	integer_loops(n);
	rounding(n);
	strings(4 * n);
	crc_popcount(4 * n);
	intrinsics(n / 4);
	printf("v2: ok\n");
	return 0;
}
