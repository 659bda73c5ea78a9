/*
 * hash: SHA-256 (FIPS 180-4), CRC-32 (IEEE 802.3, reflected) and Adler-32 (RFC 1950).
 * Checks each against published test vectors, then hashes a pseudo-random buffer as a
 * workload and prints the digests.
 *
 * cmdline: kb=SIZE (workload buffer in KiB, default 256), seed=S (default 1),
 *          million=1 (also check SHA-256 of one million 'a', about 55M instructions).
 */
#include "hvsim.h"
#include "prng.h"

/* ---- SHA-256 ---- */

struct sha256 {
	u32 h[8];
	u8 block[64];
	size_t used;
	u64 length;
};

static const u32 K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline u32 ror(u32 x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_init(struct sha256 *s)
{
	static const u32 iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(s->h, iv, sizeof iv);
	s->used = 0;
	s->length = 0;
}

static void sha256_block(struct sha256 *s, const u8 *p)
{
	u32 w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (u32)p[4 * i] << 24 | (u32)p[4 * i + 1] << 16 | (u32)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		u32 s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		u32 s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	u32 a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
	u32 e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
	for (int i = 0; i < 64; i++) {
		u32 t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		u32 t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d;
	s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha256_update(struct sha256 *s, const void *data, size_t n)
{
	const u8 *p = data;
	s->length += n;
	while (n) {
		if (s->used == 0 && n >= 64) {
			sha256_block(s, p);
			p += 64, n -= 64;
			continue;
		}
		size_t take = 64 - s->used < n ? 64 - s->used : n;
		memcpy(s->block + s->used, p, take);
		s->used += take, p += take, n -= take;
		if (s->used == 64) {
			sha256_block(s, s->block);
			s->used = 0;
		}
	}
}

static void sha256_final(struct sha256 *s, char hex[65])
{
	u64 bits = s->length * 8;
	u8 pad = 0x80;
	sha256_update(s, &pad, 1);
	pad = 0;
	while (s->used != 56)
		sha256_update(s, &pad, 1);
	u8 len[8];
	for (int i = 0; i < 8; i++)
		len[i] = (u8)(bits >> (56 - 8 * i));
	sha256_update(s, len, 8);
	for (int i = 0; i < 32; i++) {
		u8 byte = (u8)(s->h[i / 4] >> (24 - 8 * (i % 4)));
		hex[2 * i] = "0123456789abcdef"[byte >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[byte & 15];
	}
	hex[64] = 0;
}

static void sha256_hex(const void *data, size_t n, char hex[65])
{
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, data, n);
	sha256_final(&s, hex);
}

/* ---- CRC-32 and Adler-32 ---- */

static u32 crc_table[256];

static void crc32_init(void)
{
	for (u32 i = 0; i < 256; i++) {
		u32 c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320 ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static u32 crc32(const void *data, size_t n)
{
	const u8 *p = data;
	u32 c = 0xffffffff;
	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffff;
}

static u32 adler32(const void *data, size_t n)
{
	const u8 *p = data;
	u32 a = 1, b = 0;
	while (n--) {
		a = (a + *p++) % 65521;
		b = (b + a) % 65521;
	}
	return b << 16 | a;
}

/* ---- checks against published vectors ---- */

static int failures;

static void expect_sha(const char *label, const void *data, size_t n, const char *want)
{
	char hex[65];
	sha256_hex(data, n, hex);
	int ok = strcmp(hex, want) == 0;
	failures += !ok;
	printf("sha256(%s) = %s %s\n", label, hex, ok ? "ok" : "MISMATCH");
}

static void expect_u32(const char *label, u32 got, u32 want)
{
	int ok = got == want;
	failures += !ok;
	printf("%s = %08x %s\n", label, got, ok ? "ok" : "MISMATCH");
}

int main(unsigned long ram_size, const char *cmdline)
{
	(void)ram_size;
	size_t kb = cmdline_ulong(cmdline, "kb", 256);
	u64 seed = cmdline_ulong(cmdline, "seed", 1);

	crc32_init();
	/* FIPS 180-2 Appendix B and the empty message. */
	expect_sha("\"\"", "", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	expect_sha("\"abc\"", "abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two_block = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	expect_sha("448-bit message", two_block, strlen(two_block),
		   "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	if (cmdline_get(cmdline, "million", &(size_t){0})) {
		struct sha256 s;
		char a[1000], hex[65];
		memset(a, 'a', sizeof a);
		sha256_init(&s);
		for (int i = 0; i < 1000; i++)
			sha256_update(&s, a, sizeof a);
		sha256_final(&s, hex);
		int ok = strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0;
		failures += !ok;
		printf("sha256(1000000 x 'a') = %s %s\n", hex, ok ? "ok" : "MISMATCH");
	}
	/* The CRC catalogue's check value, and Adler-32's classic example. */
	expect_u32("crc32(\"123456789\")", crc32("123456789", 9), 0xcbf43926);
	expect_u32("adler32(\"Wikipedia\")", adler32("Wikipedia", 9), 0x11e60398);

	/* The workload: a pseudo-random buffer through all three. */
	size_t n = kb << 10;
	u8 *buf = hv_alloc(n);
	u64 state = seed;
	for (size_t i = 0; i < n; i += 8) {
		u64 v = splitmix64(&state);
		for (int j = 0; j < 8 && i + j < n; j++)
			buf[i + j] = (u8)(v >> (8 * j));
	}
	char hex[65];
	sha256_hex(buf, n, hex);
	printf("workload: %lu KiB seed=%lu\n", kb, seed);
	printf("  sha256  %s\n", hex);
	printf("  crc32   %08x\n", crc32(buf, n));
	printf("  adler32 %08x\n", adler32(buf, n));
	if (failures) {
		printf("hash: %d check(s) failed\n", failures);
		return 1;
	}
	puts("hash: all test vectors verified");
	return 0;
}
