/*
 * vecint: integer loops that gcc vectorizes with SSE2 when it may (default flags; -O2 since gcc 12
 * with its cheap cost model, more at -O3): sums, minimum and maximum over arrays of bytes, words
 * and dwords, a byte search, a dot product, saturating-looking clamps, array copies and fills, and
 * copies of small structs. Built both with -mgeneral-regs-only (scalar code) and with gcc's
 * defaults, so the benchmark compares the two builds of the same program; each pass folds its
 * results into a checksum printed at the end (the native build's output is the expected one).
 *
 * cmdline: n=ELEMENTS (default 4096, 64..65536), passes=P (default 80), seed=S (default 1).
 */
#include "hvsim.h"
#include "prng.h"

struct item {
	u32 key;
	u16 weight;
	u8 tag, flags;
	u64 value;
};

static u32 sum_u32(const u32 *a, int n)
{
	u32 s = 0;
	for (int i = 0; i < n; i++)
		s += a[i];
	return s;
}

static u32 sum_u8(const u8 *a, int n)
{
	u32 s = 0;
	for (int i = 0; i < n; i++)
		s += a[i];
	return s;
}

static i32 min_i32(const i32 *a, int n)
{
	i32 m = a[0];
	for (int i = 1; i < n; i++)
		m = a[i] < m ? a[i] : m;
	return m;
}

static u32 max_u32(const u32 *a, int n)
{
	u32 m = 0;
	for (int i = 0; i < n; i++)
		m = a[i] > m ? a[i] : m;
	return m;
}

static u8 max_u8(const u8 *a, int n)
{
	u8 m = 0;
	for (int i = 0; i < n; i++)
		m = a[i] > m ? a[i] : m;
	return m;
}

static i16 min_i16(const i16 *a, int n)
{
	i16 m = 32767;
	for (int i = 0; i < n; i++)
		m = a[i] < m ? a[i] : m;
	return m;
}

static int count_byte(const u8 *a, int n, u8 c)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += a[i] == c;
	return k;
}

static int find_byte(const u8 *a, int n, u8 c)
{
	for (int i = 0; i < n; i++)
		if (a[i] == c)
			return i;
	return -1;
}

static i64 dot_i16(const i16 *a, const i16 *b, int n)
{
	i64 s = 0;
	for (int i = 0; i < n; i++)
		s += (i32)a[i] * b[i];
	return s;
}

static void clamp_add(u8 *dst, const u8 *a, const u8 *b, int n)
{
	for (int i = 0; i < n; i++) {
		u32 v = (u32)a[i] + b[i];
		dst[i] = v > 255 ? 255 : (u8)v;
	}
}

static void scale_u32(u32 *dst, const u32 *src, int n, u32 k)
{
	for (int i = 0; i < n; i++)
		dst[i] = (src[i] << 3) + (src[i] ^ k) - (src[i] >> 5);
}

static void copy_u32(u32 *dst, const u32 *src, int n)
{
	for (int i = 0; i < n; i++)
		dst[i] = src[i];
}

static void fill_u16(u16 *dst, int n, u16 v)
{
	for (int i = 0; i < n; i++)
		dst[i] = v;
}

static u64 copy_items(struct item *dst, const struct item *src, int n)
{
	for (int i = 0; i < n; i++)
		dst[i] = src[n - 1 - i];
	u64 h = 0;
	for (int i = 0; i < n; i += 7)
		h = h * 1099511628211UL + dst[i].key + dst[i].weight + dst[i].tag + dst[i].value;
	return h;
}

int main(unsigned long ram_size, const char *cmdline)
{
	(void)ram_size;
	int n = (int)cmdline_ulong(cmdline, "n", 4096);
	int passes = (int)cmdline_ulong(cmdline, "passes", 80);
	u64 seed = cmdline_ulong(cmdline, "seed", 1);
	if (n < 64 || n > 65536 || passes < 1) {
		puts("vecint: n must be 64..65536 and passes at least 1");
		return 2;
	}
	u64 rng = seed;
	u32 *a = hv_alloc((size_t)n * 4), *b = hv_alloc((size_t)n * 4);
	u8 *bytes = hv_alloc((size_t)n), *bytes2 = hv_alloc((size_t)n), *sat = hv_alloc((size_t)n);
	i16 *w = hv_alloc((size_t)n * 2), *w2 = hv_alloc((size_t)n * 2);
	u16 *fill = hv_alloc((size_t)n * 2);
	int items = n / 16;
	struct item *src = hv_alloc((size_t)items * sizeof *src), *dst = hv_alloc((size_t)items * sizeof *dst);
	for (int i = 0; i < n; i++) {
		a[i] = (u32)splitmix64(&rng);
		bytes[i] = (u8)(splitmix64(&rng) % 251);
		bytes2[i] = (u8)splitmix64(&rng);
		w[i] = (i16)splitmix64(&rng);
		w2[i] = (i16)(splitmix64(&rng) >> 3);
	}
	for (int i = 0; i < items; i++) {
		src[i].key = (u32)splitmix64(&rng);
		src[i].weight = (u16)i;
		src[i].tag = (u8)(i * 7);
		src[i].flags = 0;
		src[i].value = splitmix64(&rng);
	}
	u64 check = 0;
	for (int p = 0; p < passes; p++) {
		u32 k = (u32)p * 0x9e3779b9u;
		scale_u32(b, a, n, k);
		u64 r = sum_u32(b, n);
		r = r * 31 + sum_u8(bytes, n);
		r = r * 31 + (u32)min_i32((const i32 *)b, n);
		r = r * 31 + max_u32(b, n);
		r = r * 31 + max_u8(bytes2, n);
		r = r * 31 + (u16)min_i16(w, n);
		r = r * 31 + (u32)count_byte(bytes, n, (u8)p);
		r = r * 31 + (u32)find_byte(bytes, n, (u8)(250 - p % 16));
		r = r * 31 + (u64)dot_i16(w, w2, n);
		clamp_add(sat, bytes, bytes2, n);
		r = r * 31 + sum_u8(sat, n);
		copy_u32(a, b, n);
		fill_u16(fill, n, (u16)(p * 257));
		r = r * 31 + fill[n - 1 - p % 8];
		r = r * 31 + copy_items(dst, src, items);
		struct item *t = src;
		src = dst;
		dst = t;
		check = (check ^ r) * 0x100000001b3UL;
	}
	printf("vecint: n=%d passes=%d sum %08x max %08x min %d bytes %u\n", n, passes, sum_u32(a, n), max_u32(a, n),
	       min_i32((const i32 *)a, n), sum_u8(sat, n));
	printf("vecint: checksum %016lx\n", check);
	return 0;
}
