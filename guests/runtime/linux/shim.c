/*
 * Platform layer of the native (Linux) build of a guest: the oracle for its expected output.
 *
 * The guest's C sources and the shared runtime are compiled unchanged, with main renamed
 * to guest_main (-Dmain=guest_main); this file is compiled as an ordinary hosted program.
 * Console bytes go to stdout, hv_exit(code) and main's return become exit(code), and the
 * command line is argv[1..] joined with single spaces. RAM size: 64 MiB (hvsim's default),
 * or the value of --memory=BYTES given as the first argument.
 */
#include <stdlib.h>
#include <string.h>
#include <asm/prctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int guest_main(unsigned long ram_size, const char *cmdline);

static char out_buf[1 << 16];
static size_t out_len;
static unsigned char *heap;
static unsigned long heap_size;

static void flush_out(void)
{
	size_t done = 0;
	while (done < out_len) {
		ssize_t n = write(1, out_buf + done, out_len - done);
		if (n <= 0)
			_exit(125);
		done += (size_t)n;
	}
	out_len = 0;
}

void hv_console_byte(int c)
{
	if (out_len == sizeof out_buf)
		flush_out();
	out_buf[out_len++] = (char)c;
}

__attribute__((noreturn)) void hv_exit(int code)
{
	flush_out();
	exit(code);
}

void hv_heap_range(unsigned long *start, unsigned long *end)
{
	*start = (unsigned long)heap;
	*end = (unsigned long)heap + heap_size;
}

/* glibc does not use GS on x86-64, so a guest may point it anywhere. */
void hv_set_gs_base(unsigned long base)
{
	if (syscall(SYS_arch_prctl, ARCH_SET_GS, base) != 0)
		_exit(123);
}

int main(int argc, char **argv)
{
	unsigned long ram_size = 64UL << 20;
	int first = 1;
	if (argc > 1 && strncmp(argv[1], "--memory=", 9) == 0) {
		ram_size = strtoul(argv[1] + 9, NULL, 0);
		first = 2;
	}
	size_t len = 1;
	for (int i = first; i < argc; i++)
		len += strlen(argv[i]) + 1;
	char *cmdline = calloc(len, 1);
	for (int i = first; i < argc; i++) {
		if (i > first)
			strcat(cmdline, " ");
		strcat(cmdline, argv[i]);
	}
	/* The guest's heap is RAM above its image, less the stack: 1 MiB + image <= 4 MiB here. */
	heap_size = ram_size > (5UL << 20) ? ram_size - (5UL << 20) : 0;
	/* Executable too: guests may generate code on their heap (guests/smc). */
	heap = mmap(NULL, heap_size ? heap_size : 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (heap == MAP_FAILED)
		return 124;
	hv_exit(guest_main(ram_size, cmdline));
}
