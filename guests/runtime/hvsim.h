/*
 * hvsim guest runtime: the few things a freestanding guest needs.
 *
 * Boot protocol v1 (docs/boot-protocol.md): the loader enters _start in 64-bit mode at CPL 0
 * with RDI = RAM size, RSI = guest-physical address of the NUL-terminated command line,
 * RSP = top of RAM. crt0.S calls main(ram_size, cmdline) and writes its return value
 * to the debug-exit port 0xF4.
 *
 * The same header serves the native (Linux) build of every guest, which is the oracle
 * for the guests' expected output: only the platform layer (console byte, exit, heap)
 * differs, see platform_hv.c and linux/shim.c.
 */
#ifndef HVSIM_H
#define HVSIM_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef signed char i8;
typedef short i16;
typedef int i32;
typedef long i64;
typedef unsigned long size_t;

#define NULL ((void *)0)

/* QEMU/Bochs debug console: one byte per OUT. */
#define HV_PORT_CONSOLE 0xE9
/* QEMU isa-debug-exit: the run ends with exit code = the value written. */
#define HV_PORT_EXIT 0xF4

int main(unsigned long ram_size, const char *cmdline);

/* Platform layer (guest: platform_hv.c; native: linux/shim.c). */
void hv_console_byte(int c);
__attribute__((noreturn)) void hv_exit(int code);
/* Free memory for the heap: [*start, *end). */
void hv_heap_range(u64 *start, u64 *end);
/* Sets the GS segment base (guest: WRMSR IA32_GS_BASE; native: arch_prctl(ARCH_SET_GS)). */
void hv_set_gs_base(u64 base);

/* console.c */
int putchar(int c);
int puts(const char *s);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* string.c */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/* heap.c: a bump allocator over hv_heap_range(); exits with code 2 when memory runs out. */
void *hv_alloc(size_t size);

/*
 * cmdline.c: "key=value key2=value2 flag". cmdline_get finds key and returns its value
 * (not NUL-terminated; *len is set) or NULL. cmdline_ulong parses a decimal or 0x number
 * with an optional K/M/G suffix (powers of 1024) and returns dflt when key is absent;
 * a malformed value prints one line and exits with code 2.
 */
const char *cmdline_get(const char *cmdline, const char *key, size_t *len);
u64 cmdline_ulong(const char *cmdline, const char *key, u64 dflt);

/* check.c: report a failed self-check and exit with code 1. */
#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond))                                                            \
			hv_check_failed(__FILE__, __LINE__, #cond);                     \
	} while (0)
__attribute__((noreturn)) void hv_check_failed(const char *file, int line, const char *what);

#endif
