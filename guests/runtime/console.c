/* Console output: putchar, puts and a small printf over hv_console_byte(). */
#include "hvsim.h"
#include <stdarg.h>

int putchar(int c)
{
	hv_console_byte(c);
	return (u8)c;
}

int puts(const char *s)
{
	while (*s)
		hv_console_byte(*s++);
	hv_console_byte('\n');
	return 0;
}

/* Writes v in the given base, at least width digits, padded with pad (' ' or '0'). */
static int put_unsigned(u64 v, unsigned base, int upper, int width, char pad, int neg)
{
	char buf[24];
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0, out = 0;

	do {
		buf[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg && pad == '0') {
		hv_console_byte('-');
		out++;
		width--;
	}
	for (int i = n + (neg && pad != '0'); i < width; i++, out++)
		hv_console_byte(pad);
	if (neg && pad != '0') {
		hv_console_byte('-');
		out++;
	}
	while (n)
		hv_console_byte(buf[--n]), out++;
	return out;
}

/*
 * Supports %d %i %u %x %X %c %s %p %%, the length modifiers l, ll, z, a field width,
 * '0' padding and '-' (left-justify, for %s only).
 */
int printf(const char *fmt, ...)
{
	va_list ap;
	int out = 0;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			hv_console_byte(*fmt);
			out++;
			continue;
		}
		fmt++;
		char pad = ' ';
		int left = 0, width = 0, lng = 0;
		if (*fmt == '-') {
			left = 1;
			fmt++;
		}
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			i64 v = lng ? va_arg(ap, i64) : va_arg(ap, int);
			u64 mag = v < 0 ? -(u64)v : (u64)v;
			out += put_unsigned(mag, 10, 0, width, pad, v < 0);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			u64 v = lng ? va_arg(ap, u64) : va_arg(ap, unsigned);
			out += put_unsigned(v, *fmt == 'u' ? 10 : 16, *fmt == 'X', width, pad, 0);
			break;
		}
		case 'p':
			out += put_unsigned((u64)va_arg(ap, void *), 16, 0, width, pad, 0);
			break;
		case 'c':
			hv_console_byte(va_arg(ap, int));
			out++;
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int len = (int)strlen(s);
			for (int i = len; !left && i < width; i++, out++)
				hv_console_byte(' ');
			for (int i = 0; i < len; i++, out++)
				hv_console_byte(s[i]);
			for (int i = len; left && i < width; i++, out++)
				hv_console_byte(' ');
			break;
		}
		case '%':
			hv_console_byte('%');
			out++;
			break;
		case '\0':
			fmt--;
			break;
		default:
			hv_console_byte('%');
			hv_console_byte(*fmt);
			out += 2;
			break;
		}
	}
	va_end(ap);
	return out;
}
