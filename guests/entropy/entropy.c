/*
 * entropy: the record/replay sample guest. Draws values from RDRAND and RDSEED, reads a line
 * from COM1, and prints a verdict that depends on both, so a replay must hand back exactly the
 * logged entropy and serial bytes at the logged instruction counts to print the same thing.
 *
 * cmdline: n=N (RDRAND values, default 3, at most 16), spins=S (LSR polls before giving up on
 * the next serial byte, default 2000), max=M (serial bytes kept, default 64).
 *
 * Outside hvsim (no "hvsimhvsim" CPUID signature, e.g. under QEMU) RDRAND values are not
 * reproducible, so the guest draws from SplitMix64 with hvsim's default entropy seed instead:
 * the same values hvsim's unlogged RDRAND gives, which makes QEMU an independent check of them.
 */
#include "hvsim.h"

#define COM1 0x3f8

static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static int under_hvsim(void)
{
	u32 a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x40000000), "c"(0));
	(void)a;
	/* "hvsimhvsim\0\0" in EBX, ECX, EDX */
	return b == 0x69737668 && c == 0x7376686d && d == 0x00006d69;
}

static u64 rdrand64(void)
{
	u64 v;
	u8 ok;
	do
		__asm__ volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok) : : "cc");
	while (!ok);
	return v;
}

static u64 rdseed64(void)
{
	u64 v;
	u8 ok;
	do
		__asm__ volatile("rdseed %0; setc %1" : "=r"(v), "=qm"(ok) : : "cc");
	while (!ok);
	return v;
}

/* SplitMix64 (Steele, Lea, Flood 2014) seeded as hvsim's entropy source ("hvsim_v1"). */
static u64 sm_state = 0x687673696d5f7631UL;

static u64 splitmix64(void)
{
	u64 z = (sm_state += 0x9e3779b97f4a7c15UL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
	return z ^ (z >> 31);
}

/* The next byte COM1 received, or -1 after `spins` polls without one (or without a UART). */
static int serial_getc(u64 spins)
{
	for (u64 i = 0; i < spins; i++) {
		u8 lsr = inb(COM1 + 5);
		if (lsr == 0xff)
			return -1; /* nothing decodes the port */
		if (lsr & 1)
			return inb(COM1);
	}
	return -1;
}

/* FNV-1a, 64-bit. */
static u64 fnv(u64 h, const u8 *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3UL;
	return h;
}

static const char *const adjectives[8] = { "brave", "quiet", "curious", "golden",
					   "patient", "swift", "gentle", "bold" };
static const char *const nouns[8] = { "otter", "comet", "lantern", "harbor",
				      "falcon", "garden", "compass", "river" };

int main(unsigned long ram_size, const char *cmdline)
{
	(void)ram_size;
	u64 n = cmdline_ulong(cmdline, "n", 3);
	u64 spins = cmdline_ulong(cmdline, "spins", 2000);
	u64 max = cmdline_ulong(cmdline, "max", 64);
	if (n > 16)
		n = 16;
	if (max > 256)
		max = 256;
	int hv = under_hvsim();
	printf("entropy: source %s\n", hv ? "rdrand (hvsim)" : "splitmix64 fallback (not hvsim)");

	u64 h = 0xcbf29ce484222325UL;
	u64 v;
	for (u64 i = 0; i < n; i++) {
		v = hv ? rdrand64() : splitmix64();
		printf("rdrand[%lu] 0x%016lx\n", i, v);
		h = fnv(h, (const u8 *)&v, 8);
	}
	v = hv ? rdseed64() : splitmix64();
	printf("rdseed    0x%016lx\n", v);
	h = fnv(h, (const u8 *)&v, 8);

	u8 line[257];
	u64 len = 0;
	for (;;) {
		int c = serial_getc(spins);
		if (c < 0 || c == '\n')
			break;
		if (len < max)
			line[len++] = (u8)c;
	}
	line[len] = 0;
	for (u64 i = 0; i < len; i++)
		if (line[i] < 0x20 || line[i] > 0x7e)
			line[i] = '?';
	printf("serial: %lu bytes \"%s\"\n", len, (const char *)line);
	h = fnv(h, line, len);

	printf("mix: 0x%016lx\n", h);
	printf("hello, %s: you are a %s %s; lucky number %lu\n", len ? (const char *)line : "stranger",
	       adjectives[h & 7], nouns[(h >> 3) & 7], (h >> 6) % 1000);
	return 0;
}
