/*
 * gdbdemo: the sample guest for debugging with gdb (built at -O0 with -g, so every variable lives
 * in memory and every line has code). Sums scale * i * i for i below n through a small function,
 * counts the calls in a global, and prints the result. With the defaults (n=10, scale 3):
 * total = 3 * (0 + 1 + 4 + ... + 81) = 855.
 */
#include "hvsim.h"

unsigned long counter; /* calls of step() so far */
unsigned long total;   /* the sum so far */
int scale = 3;         /* the multiplier */
char message[] = "abc";

unsigned long step(unsigned long i)
{
	unsigned long square = i * i;
	counter = counter + 1;
	return square * scale;
}

void report(void)
{
	printf("total %lu counter %lu scale %d message %s\n", total, counter, scale, message);
}

int main(unsigned long ram_size, const char *cmdline)
{
	unsigned long n = cmdline_ulong(cmdline, "n", 10);
	(void)ram_size;
	for (unsigned long i = 0; i < n; i++)
		total += step(i);
	report();
	return 0;
}
