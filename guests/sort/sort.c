/*
 * sort: sorts one pseudo-random array with several algorithms and checks each result:
 * sorted order, the same multiset as the input (order-independent checksums), and equal
 * to every other algorithm's result.
 *
 * cmdline: n=COUNT (elements, default 20000), seed=S (default 1).
 */
#include "hvsim.h"
#include "prng.h"

typedef void sort_fn(u64 *a, u64 *tmp, size_t n);

static void insertion_sort(u64 *a, u64 *tmp, size_t n)
{
	(void)tmp;
	for (size_t i = 1; i < n; i++) {
		u64 v = a[i];
		size_t j = i;
		while (j > 0 && a[j - 1] > v) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = v;
	}
}

static void shell_sort(u64 *a, u64 *tmp, size_t n)
{
	/* Ciura's gap sequence, extended by *2.25. */
	static const size_t gaps[] = {1, 4, 10, 23, 57, 132, 301, 701, 1577, 3548, 7983, 17961, 40412, 90927};
	(void)tmp;
	for (int g = (int)(sizeof gaps / sizeof gaps[0]) - 1; g >= 0; g--) {
		size_t gap = gaps[g];
		for (size_t i = gap; i < n; i++) {
			u64 v = a[i];
			size_t j = i;
			while (j >= gap && a[j - gap] > v) {
				a[j] = a[j - gap];
				j -= gap;
			}
			a[j] = v;
		}
	}
}

static void quick_sort_range(u64 *a, long lo, long hi)
{
	while (hi - lo > 16) {
		/* Median of three, Hoare partition. */
		long mid = lo + (hi - lo) / 2;
		u64 x = a[lo], y = a[mid], z = a[hi];
		u64 pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
		long i = lo - 1, j = hi + 1;
		for (;;) {
			do
				i++;
			while (a[i] < pivot);
			do
				j--;
			while (a[j] > pivot);
			if (i >= j)
				break;
			u64 t = a[i];
			a[i] = a[j];
			a[j] = t;
		}
		/* Recurse into the smaller half, loop on the larger. */
		if (j - lo < hi - j) {
			quick_sort_range(a, lo, j);
			lo = j + 1;
		} else {
			quick_sort_range(a, j + 1, hi);
			hi = j;
		}
	}
	insertion_sort(a + lo, NULL, (size_t)(hi - lo + 1));
}

static void quick_sort(u64 *a, u64 *tmp, size_t n)
{
	(void)tmp;
	if (n > 1)
		quick_sort_range(a, 0, (long)n - 1);
}

static void merge_sort(u64 *a, u64 *tmp, size_t n)
{
	/* Bottom-up, ping-ponging between a and tmp. */
	u64 *src = a, *dst = tmp;
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				dst[k++] = src[j] < src[i] ? src[j++] : src[i++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		u64 *t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, n * sizeof *a);
}

static void sift_down(u64 *a, size_t root, size_t n)
{
	u64 v = a[root];
	for (;;) {
		size_t child = 2 * root + 1;
		if (child >= n)
			break;
		if (child + 1 < n && a[child + 1] > a[child])
			child++;
		if (a[child] <= v)
			break;
		a[root] = a[child];
		root = child;
	}
	a[root] = v;
}

static void heap_sort(u64 *a, u64 *tmp, size_t n)
{
	(void)tmp;
	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (size_t end = n; end-- > 1;) {
		u64 t = a[0];
		a[0] = a[end];
		a[end] = t;
		sift_down(a, 0, end);
	}
}

static void radix_sort(u64 *a, u64 *tmp, size_t n)
{
	/* LSD, 8 passes of 8 bits. */
	size_t count[256];
	u64 *src = a, *dst = tmp;
	for (int shift = 0; shift < 64; shift += 8) {
		memset(count, 0, sizeof count);
		for (size_t i = 0; i < n; i++)
			count[(src[i] >> shift) & 0xff]++;
		size_t sum = 0;
		for (int b = 0; b < 256; b++) {
			size_t c = count[b];
			count[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i] >> shift) & 0xff]++] = src[i];
		u64 *t = src;
		src = dst;
		dst = t;
	}
	/* An even number of passes leaves the result in a. */
}

/* Order-independent fingerprint of a multiset: sum and xor of a mixed copy of each value. */
struct fingerprint {
	u64 sum, xor;
};

static struct fingerprint fingerprint(const u64 *a, size_t n)
{
	struct fingerprint f = {0, 0};
	for (size_t i = 0; i < n; i++) {
		u64 s = a[i];
		u64 m = splitmix64(&s);
		f.sum += m;
		f.xor ^= m;
	}
	return f;
}

/* Order-dependent checksum (FNV-1a over the 64-bit words). */
static u64 checksum(const u64 *a, size_t n)
{
	u64 h = 0xcbf29ce484222325UL;
	for (size_t i = 0; i < n; i++) {
		h ^= a[i];
		h *= 0x100000001b3UL;
	}
	return h;
}

static const struct {
	const char *name;
	sort_fn *fn;
	int quadratic;
} sorts[] = {
	{"insertion", insertion_sort, 1},
	{"shell", shell_sort, 0},
	{"quick", quick_sort, 0},
	{"merge", merge_sort, 0},
	{"heap", heap_sort, 0},
	{"radix", radix_sort, 0},
};

int main(unsigned long ram_size, const char *cmdline)
{
	(void)ram_size;
	size_t n = cmdline_ulong(cmdline, "n", 20000);
	u64 seed = cmdline_ulong(cmdline, "seed", 1);
	/* Insertion sort is quadratic: it sorts only a prefix. */
	size_t small = n < 1000 ? n : 1000;

	u64 *input = hv_alloc(n * sizeof(u64));
	u64 *work = hv_alloc(n * sizeof(u64));
	u64 *tmp = hv_alloc(n * sizeof(u64));
	u64 *reference = hv_alloc(n * sizeof(u64));

	u64 state = seed;
	for (size_t i = 0; i < n; i++) {
		/* Some duplicates: every 8th value repeats an earlier one. */
		input[i] = (i % 8 == 7) ? input[i / 2] : splitmix64(&state) >> (i % 3);
	}
	printf("sort: n=%lu seed=%lu input checksum %016lx\n", n, seed, checksum(input, n));

	int have_reference = 0;
	for (size_t s = 0; s < sizeof sorts / sizeof sorts[0]; s++) {
		size_t m = sorts[s].quadratic ? small : n;
		struct fingerprint before = fingerprint(input, m);
		memcpy(work, input, m * sizeof(u64));
		sorts[s].fn(work, tmp, m);
		for (size_t i = 1; i < m; i++)
			CHECK(work[i - 1] <= work[i]);
		struct fingerprint after = fingerprint(work, m);
		CHECK(before.sum == after.sum && before.xor == after.xor);
		if (m == n) {
			if (!have_reference)
				memcpy(reference, work, n * sizeof(u64));
			else
				CHECK(memcmp(reference, work, n * sizeof(u64)) == 0);
			have_reference = 1;
		}
		printf("%-9s n=%-7lu sorted, min %016lx max %016lx checksum %016lx\n", sorts[s].name, m, work[0],
		       work[m - 1], checksum(work, m));
	}
	puts("sort: all results verified");
	return 0;
}
