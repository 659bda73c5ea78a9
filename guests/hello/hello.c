/* hello: the smallest guest. Prints a greeting and its boot parameters, exits with 0. */
#include "hvsim.h"

int main(unsigned long ram_size, const char *cmdline)
{
	puts("Hello from an hvsim guest!");
	printf("ram: %lu MiB, cmdline: \"%s\"\n", ram_size >> 20, cmdline);
	printf("printf: %d %u %x %X %c %s %ld %lu %lx %016lx %5d|%-5s|%05u %%\n", -42, 42u, 0xbeefu,
	       0xbeefu, 'z', "str", -1234567890123L, 18446744073709551615UL, 0xfedcba9876543210UL,
	       0x1234UL, 7, "ab", 99u);
	return 0;
}
