/*
 * smc: self-modifying and generated code. Each case stores into instructions and then runs
 * them; the results must be those of the new code (SDM Vol. 3, 11.6: a store to an instruction
 * in the prefetch queue or decoded cache invalidates it). Covers patching an immediate of a
 * called function, patching the very next instructions of the running block, rewriting an
 * opcode, copying new function bodies over old ones with REP MOVSB, and generating code in
 * a heap buffer, including an instruction that straddles a page boundary.
 *
 * cmdline: n=COUNT (rounds, default 2000).
 */
#include "hvsim.h"

u32 smc_imm(void);
u32 smc_ahead(u32 v);
u32 smc_opcode(void);
u32 smc_slot(void);
u32 smc_slot_arg(u32 v);

typedef u32 fn_u32(void);

/* Bodies copied into smc_slot: mov $imm32, %eax; ret, and lea (%rdi,%rdi,2), %eax; ret. */
static const u8 body_mov[] = {0xb8, 0x00, 0x00, 0x00, 0x00, 0xc3};
static const u8 body_lea[] = {0x8d, 0x04, 0x7f, 0xc3};

static void rep_movsb(void *dst, const void *src, size_t n)
{
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static void put32(u8 *p, u32 v)
{
	p[0] = (u8)v, p[1] = (u8)(v >> 8), p[2] = (u8)(v >> 16), p[3] = (u8)(v >> 24);
}

int main(unsigned long ram_size, const char *cmdline)
{
	(void)ram_size;
	u32 n = (u32)cmdline_ulong(cmdline, "n", 2000);
	u64 sum;

	/* 1: patch the immediate of a function between calls. */
	CHECK(smc_imm() == 0x11111111);
	sum = 0;
	for (u32 i = 0; i < n; i++) {
		put32((u8 *)smc_imm + 1, i * 7 + 1);
		sum += smc_imm();
	}
	CHECK(sum == (u64)7 * n * (n - 1) / 2 + n);
	printf("patched immediate: %u calls, sum %lu\n", n, sum);

	/* 2: the function patches an instruction a few bytes ahead of itself. */
	sum = 0;
	for (u32 i = 0; i < n; i++) {
		u32 v = 0x40000000u + i;
		u32 got = smc_ahead(v);
		CHECK(got == v);
		sum += got;
	}
	printf("patched next instruction: %u calls, sum %lu\n", n, sum);

	/* 3: an opcode rewritten ahead of execution. */
	for (u32 i = 0; i < n; i++)
		CHECK(smc_opcode() == 7);
	printf("rewritten opcode: %u calls, each returned 7\n", n);

	/* 4: whole function bodies replaced with REP MOVSB. */
	CHECK(smc_slot() == 0x5107);
	u8 body[sizeof body_mov];
	sum = 0;
	for (u32 i = 0; i < n; i++) {
		if (i % 2) {
			rep_movsb((void *)smc_slot, body_lea, sizeof body_lea);
			sum += smc_slot_arg(i); /* 3 * i */
		} else {
			memcpy(body, body_mov, sizeof body);
			put32(body + 1, i);
			rep_movsb((void *)smc_slot, body, sizeof body);
			sum += smc_slot();
		}
	}
	/* even i contribute i, odd i contribute 3i */
	u64 want = 0;
	for (u32 i = 0; i < n; i++)
		want += i % 2 ? 3 * (u64)i : i;
	CHECK(sum == want);
	printf("replaced function bodies: %u calls, sum %lu\n", n, sum);

	/* 5: generated code in heap pages; the MOV's immediate straddles a page boundary. */
	u8 *buf = hv_alloc(3 * 4096);
	u8 *page2 = (u8 *)(((u64)buf + 4095) & ~4095UL) + 4096;
	u8 *code = page2 - 3; /* b8 xx xx | xx xx c3 */
	memcpy(code, body_mov, sizeof body_mov);
	sum = 0;
	for (u32 i = 0; i < n; i++) {
		u32 v = 0xa5000000u ^ (i * 2654435761u);
		put32(code + 1, v);
		u32 got = ((fn_u32 *)(void *)code)();
		CHECK(got == v);
		sum += got;
	}
	printf("generated code across a page boundary: %u calls, sum %lu\n", n, sum);

	/* 6: a generated loop that counts, patched to count to a different bound each round. */
	/* xor %eax,%eax; 1: inc %eax; cmp $imm32,%eax; jne 1b; ret */
	static const u8 loop[] = {0x31, 0xc0, 0xff, 0xc0, 0x3d, 0, 0, 0, 0, 0x75, 0xf7, 0xc3};
	u8 *lp = buf + 64;
	memcpy(lp, loop, sizeof loop);
	sum = 0;
	for (u32 i = 1; i <= 64; i++) {
		put32(lp + 5, i);
		u32 got = ((fn_u32 *)(void *)lp)();
		CHECK(got == i);
		sum += got;
	}
	printf("patched loop bound: 64 rounds, sum %lu\n", sum);
	puts("smc: all results verified");
	return 0;
}
