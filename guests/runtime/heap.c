/* A bump allocator: memory is never freed; guests allocate their buffers once. */
#include "hvsim.h"

static u64 heap_next, heap_end;

void *hv_alloc(size_t size)
{
	if (!heap_end)
		hv_heap_range(&heap_next, &heap_end);
	size = (size + 63) & ~63UL;
	if (size > heap_end - heap_next) {
		printf("hv_alloc: out of memory: %lu bytes wanted, %lu free\n", size, heap_end - heap_next);
		hv_exit(2);
	}
	void *p = (void *)heap_next;
	heap_next += size;
	return p;
}
