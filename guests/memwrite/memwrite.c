/*
 * memwrite: the workload live migration is measured on (after QEMU's migration-test guest,
 * which increments the first byte of every page in a loop).
 *
 * The working set is ws bytes. Before the loop, each page gets an 8-byte tag, so no page is
 * all zeros. Each pass then increments one byte every stride bytes over a window of `rate`
 * pages that starts where the previous pass stopped (wrapping around the working set), and
 * optionally spins `spin` iterations of pure computation. So `rate` sets the pages dirtied
 * per pass, `spin` sets the time between passes, and ws sets the memory migration must copy.
 * At the end the guest checks every byte against the value it must hold and prints a checksum.
 * With iters=0 it never ends (like QEMU's guest): it prints a '.' every 64 passes and is
 * stopped from outside (an instruction limit).
 *
 * cmdline: ws=SIZE (default 16M), stride=BYTES (default 4096), rate=PAGES (per pass, default
 *          ws/4096), iters=N (passes, default 500; 0 = forever), spin=N (default 0),
 *          quiet (no progress dots).
 */
#include "hvsim.h"

#define PAGE 4096UL
#define TAG_OFFSET 8

static u64 page_tag(u64 page)
{
	return 0x6876736d00000000UL | page; /* "hvsm" + page number */
}

int main(unsigned long ram_size, const char *cmdline)
{
	(void)ram_size;
	u64 ws = cmdline_ulong(cmdline, "ws", 16UL << 20);
	u64 stride = cmdline_ulong(cmdline, "stride", PAGE);
	u64 iters = cmdline_ulong(cmdline, "iters", 500);
	u64 spin = cmdline_ulong(cmdline, "spin", 0);
	size_t flag_len;
	int quiet = cmdline_get(cmdline, "quiet", &flag_len) != NULL;

	if (ws < PAGE || ws % PAGE) {
		printf("memwrite: ws=%lu must be a non-zero multiple of %lu\n", ws, PAGE);
		return 2;
	}
	if (stride < 16 || stride > PAGE || (stride & (stride - 1))) {
		printf("memwrite: stride=%lu must be a power of two from 16 to %lu\n", stride, PAGE);
		return 2;
	}
	u64 npages = ws / PAGE;
	u64 per_pass = cmdline_ulong(cmdline, "rate", npages);
	if (per_pass == 0 || per_pass > npages) {
		printf("memwrite: rate=%lu must be 1..%lu pages\n", per_pass, npages);
		return 2;
	}
	u8 *mem = hv_alloc(ws);
	printf("memwrite: ws=%lu KiB stride=%lu pages/pass=%lu iters=%lu spin=%lu\n", ws >> 10, stride, per_pass,
	       iters, spin);

	/* Give every page a tag and clear the bytes the loop writes. */
	for (u64 p = 0; p < npages; p++) {
		u8 *page = mem + p * PAGE;
		for (u64 off = 0; off < PAGE; off += stride)
			page[off] = 0;
		*(u64 *)(page + TAG_OFFSET) = page_tag(p);
	}

	u64 next = 0, spun = 0x1234567;
	int forever = iters == 0;
	for (u64 it = 0; forever || it < iters; it++) {
		for (u64 k = 0; k < per_pass; k++) {
			u8 *page = mem + next * PAGE;
			for (u64 off = 0; off < PAGE; off += stride)
				page[off]++;
			if (++next == npages)
				next = 0;
		}
		for (u64 s = 0; s < spin; s++)
			spun = spun * 6364136223846793005UL + 1442695040888963407UL;
		if (!quiet && (forever ? (it + 1) % 64 == 0 : iters >= 10 && (it + 1) % (iters / 10) == 0))
			putchar('.');
	}
	if (!quiet && iters >= 10)
		putchar('\n');

	/* Page p was written once for each pass position that covered it. */
	u64 total = iters * per_pass;
	u64 full = total / npages, extra = total % npages;
	u64 sum = 0, hash = 0xcbf29ce484222325UL;
	for (u64 p = 0; p < npages; p++) {
		u8 *page = mem + p * PAGE;
		u8 want = (u8)(full + (p < extra));
		CHECK(*(u64 *)(page + TAG_OFFSET) == page_tag(p));
		for (u64 off = 0; off < PAGE; off += stride) {
			CHECK(page[off] == want);
			sum += page[off];
			hash = (hash ^ page[off]) * 0x100000001b3UL;
		}
	}
	printf("memwrite: %lu page writes verified, byte sum %lu, checksum %016lx, spin %016lx\n", total, sum, hash,
	       spun);
	return 0;
}
