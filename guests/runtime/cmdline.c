/* Command line parsing: space-separated key=value words. */
#include "hvsim.h"

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

const char *cmdline_get(const char *cmdline, const char *key, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p) {
		while (is_space(*p))
			p++;
		const char *word = p;
		while (*p && !is_space(*p))
			p++;
		if ((size_t)(p - word) >= klen && memcmp(word, key, klen) == 0) {
			if ((size_t)(p - word) == klen) {
				*len = 0;
				return p;
			}
			if (word[klen] == '=') {
				*len = (size_t)(p - word) - klen - 1;
				return word + klen + 1;
			}
		}
	}
	return NULL;
}

u64 cmdline_ulong(const char *cmdline, const char *key, u64 dflt)
{
	size_t len;
	const char *v = cmdline_get(cmdline, key, &len);
	u64 n = 0;
	size_t i = 0;
	unsigned base = 10;

	if (!v)
		return dflt;
	if (len > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		goto bad;
	for (; i < len; i++) {
		char c = v[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			break;
		n = n * base + d;
	}
	if (i + 1 == len) {
		switch (v[i]) {
		case 'k': case 'K': return n << 10;
		case 'm': case 'M': return n << 20;
		case 'g': case 'G': return n << 30;
		}
	}
	if (i == len)
		return n;
bad:
	printf("cmdline: bad value for %s (expected a number with optional K/M/G suffix)\n", key);
	hv_exit(2);
}
