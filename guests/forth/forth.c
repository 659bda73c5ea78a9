/*
 * forth: a small Forth interpreter (indirect-threaded: each compiled cell is a primitive
 * number or the address of a colon definition) running a program stored in the guest.
 *
 * Words: : ; IF ELSE THEN BEGIN UNTIL AGAIN WHILE REPEAT DO ?DO LOOP +LOOP I J LEAVE RECURSE EXIT
 *        VARIABLE CONSTANT CREATE ALLOT CELLS , ." ( \ and the arithmetic, stack and memory words
 *        in the table below. Numbers are 64-bit cells.
 *
 * cmdline: n=N (upper bound for the prime sieve, 100..20000, default 10000).
 */
#include "hvsim.h"

typedef i64 cell;

enum {
	/* primitives that take an inline operand */
	P_LIT, P_BRANCH, P_0BRANCH, P_DOTQ, P_DO, P_QDO, P_LOOP, P_PLOOP,
	/* plain primitives */
	P_EXIT, P_ADD, P_SUB, P_MUL, P_DIV, P_MOD, P_DIVMOD, P_NEGATE, P_ABS, P_MIN, P_MAX,
	P_AND, P_OR, P_XOR, P_INVERT, P_LSHIFT, P_RSHIFT, P_EQ, P_NE, P_LT, P_GT, P_ULT, P_ZEQ,
	P_ZLT, P_DUP, P_DROP, P_SWAP, P_OVER, P_ROT, P_NIP, P_TUCK, P_QDUP, P_2DUP, P_2DROP, P_PICK,
	P_TOR, P_RFROM, P_RFETCH, P_I, P_J, P_UNLOOP, P_FETCH, P_STORE, P_PSTORE, P_CFETCH, P_CSTORE,
	P_CELLS, P_DOT, P_UDOT, P_EMIT, P_CR, P_SPACE, P_1ADD, P_1SUB, P_2MUL, P_2DIV, P_HERE,
	P_DEPTH,
	P_COUNT
};

static const char *const prim_names[P_COUNT] = {
	[P_EXIT] = "EXIT", [P_ADD] = "+", [P_SUB] = "-", [P_MUL] = "*", [P_DIV] = "/", [P_MOD] = "MOD",
	[P_DIVMOD] = "/MOD", [P_NEGATE] = "NEGATE", [P_ABS] = "ABS", [P_MIN] = "MIN", [P_MAX] = "MAX",
	[P_AND] = "AND", [P_OR] = "OR", [P_XOR] = "XOR", [P_INVERT] = "INVERT", [P_LSHIFT] = "LSHIFT",
	[P_RSHIFT] = "RSHIFT", [P_EQ] = "=", [P_NE] = "<>", [P_LT] = "<", [P_GT] = ">", [P_ULT] = "U<",
	[P_ZEQ] = "0=", [P_ZLT] = "0<", [P_DUP] = "DUP", [P_DROP] = "DROP", [P_SWAP] = "SWAP",
	[P_OVER] = "OVER", [P_ROT] = "ROT", [P_NIP] = "NIP", [P_TUCK] = "TUCK", [P_QDUP] = "?DUP",
	[P_2DUP] = "2DUP", [P_2DROP] = "2DROP", [P_PICK] = "PICK", [P_TOR] = ">R", [P_RFROM] = "R>",
	[P_RFETCH] = "R@", [P_I] = "I", [P_J] = "J", [P_UNLOOP] = "UNLOOP", [P_FETCH] = "@",
	[P_STORE] = "!", [P_PSTORE] = "+!", [P_CFETCH] = "C@", [P_CSTORE] = "C!", [P_CELLS] = "CELLS",
	[P_DOT] = ".", [P_UDOT] = "U.", [P_EMIT] = "EMIT", [P_CR] = "CR", [P_SPACE] = "SPACE",
	[P_1ADD] = "1+", [P_1SUB] = "1-", [P_2MUL] = "2*", [P_2DIV] = "2/", [P_HERE] = "HERE",
	[P_DEPTH] = "DEPTH",
};

/* Memory: one array of cells holding compiled code and data; addresses are byte offsets. */
#define MEM_CELLS (1 << 16)
static cell mem[MEM_CELLS];
/* Byte address of the next free cell. Code starts above every primitive number, so a cell
   below P_COUNT is always a primitive and anything else the address of a colon body. */
static cell here = 1024;
_Static_assert(P_COUNT < 1024, "primitive numbers must stay below the first code address");

#define STACK 256
static cell ds[STACK], rs[STACK];
static int dsp, rsp;

struct word {
	char name[24];
	cell xt;       /* primitive number (< P_COUNT) or byte address of a colon body */
};
#define MAX_WORDS 512
static struct word dict[MAX_WORDS];
static int nwords;

/* Strings for ." live in a separate pool; P_DOTQ's operand is (offset << 16 | length). */
static char strings[8192];
static int nstrings;

static __attribute__((noreturn)) void fail(const char *what, const char *name)
{
	printf("\nforth error: %s %s\n", what, name);
	hv_exit(3);
}

static void push(cell v)
{
	if (dsp == STACK)
		fail("data stack overflow", "");
	ds[dsp++] = v;
}

static cell pop(void)
{
	if (dsp == 0)
		fail("data stack underflow", "");
	return ds[--dsp];
}

static void rpush(cell v)
{
	if (rsp == STACK)
		fail("return stack overflow", "");
	rs[rsp++] = v;
}

static cell *at(cell addr)
{
	if (addr < 0 || addr >= (cell)sizeof mem || addr % 8)
		fail("bad cell address", "");
	return &mem[addr / 8];
}

static void comma(cell v)
{
	*at(here) = v;
	here += 8;
}

/* Executes the colon definition at byte address body until its EXIT. */
static void execute(cell xt);

static void print_number(cell v)
{
	printf("%ld ", v);
}

static void run(cell ip)
{
	int base = rsp;
	for (;;) {
		cell w = *at(ip);
		ip += 8;
		if (w >= P_COUNT) {
			rpush(ip);
			ip = w;
			continue;
		}
		cell a, b, c;
		switch (w) {
		case P_LIT: push(*at(ip)); ip += 8; break;
		case P_BRANCH: ip = *at(ip); break;
		case P_0BRANCH: ip = pop() ? ip + 8 : *at(ip); break;
		case P_DOTQ: {
			cell op = *at(ip);
			ip += 8;
			for (cell k = 0; k < (op & 0xffff); k++)
				putchar(strings[(op >> 16) + k]);
			break;
		}
		case P_QDO:
			a = pop(), b = pop(); /* index, limit */
			if (a == b) {
				ip = *at(ip);
				break;
			}
			rpush(*at(ip)), rpush(b), rpush(a);
			ip += 8;
			break;
		case P_DO:
			a = pop(), b = pop();
			rpush(*at(ip)), rpush(b), rpush(a);
			ip += 8;
			break;
		case P_LOOP:
		case P_PLOOP: {
			/* Loop frame on the return stack: leave address, limit, index. */
			cell step = w == P_LOOP ? 1 : pop();
			cell limit = rs[rsp - 2];
			cell before = rs[rsp - 1] - limit;
			cell after = before + step;
			rs[rsp - 1] += step;
			/* Ends when the index crosses the boundary between limit-1 and limit (as gforth). */
			if (((before ^ after) & (before ^ step)) < 0) {
				rsp -= 3;
				ip += 8;
			} else {
				ip = *at(ip);
			}
			break;
		}
		case P_EXIT:
			if (rsp == base)
				return;
			ip = rs[--rsp];
			break;
		case P_ADD: b = pop(); push(pop() + b); break;
		case P_SUB: b = pop(); push(pop() - b); break;
		case P_MUL: b = pop(); push(pop() * b); break;
		case P_DIV: b = pop(); if (!b) fail("division by zero", ""); push(pop() / b); break;
		case P_MOD: b = pop(); if (!b) fail("division by zero", ""); push(pop() % b); break;
		case P_DIVMOD:
			b = pop(), a = pop();
			if (!b)
				fail("division by zero", "");
			push(a % b), push(a / b);
			break;
		case P_NEGATE: push(-pop()); break;
		case P_ABS: a = pop(); push(a < 0 ? -a : a); break;
		case P_MIN: b = pop(), a = pop(); push(a < b ? a : b); break;
		case P_MAX: b = pop(), a = pop(); push(a > b ? a : b); break;
		case P_AND: b = pop(); push(pop() & b); break;
		case P_OR: b = pop(); push(pop() | b); break;
		case P_XOR: b = pop(); push(pop() ^ b); break;
		case P_INVERT: push(~pop()); break;
		case P_LSHIFT: b = pop(); push((cell)((u64)pop() << (b & 63))); break;
		case P_RSHIFT: b = pop(); push((cell)((u64)pop() >> (b & 63))); break;
		case P_EQ: b = pop(); push(-(cell)(pop() == b)); break;
		case P_NE: b = pop(); push(-(cell)(pop() != b)); break;
		case P_LT: b = pop(); push(-(cell)(pop() < b)); break;
		case P_GT: b = pop(); push(-(cell)(pop() > b)); break;
		case P_ULT: b = pop(); push(-(cell)((u64)pop() < (u64)b)); break;
		case P_ZEQ: push(-(cell)(pop() == 0)); break;
		case P_ZLT: push(-(cell)(pop() < 0)); break;
		case P_DUP: a = pop(); push(a), push(a); break;
		case P_DROP: pop(); break;
		case P_SWAP: b = pop(), a = pop(); push(b), push(a); break;
		case P_OVER: b = pop(), a = pop(); push(a), push(b), push(a); break;
		case P_ROT: c = pop(), b = pop(), a = pop(); push(b), push(c), push(a); break;
		case P_NIP: b = pop(); pop(); push(b); break;
		case P_TUCK: b = pop(), a = pop(); push(b), push(a), push(b); break;
		case P_QDUP: a = pop(); push(a); if (a) push(a); break;
		case P_2DUP: b = pop(), a = pop(); push(a), push(b), push(a), push(b); break;
		case P_2DROP: pop(), pop(); break;
		case P_PICK:
			a = pop();
			if (a < 0 || a >= dsp)
				fail("PICK out of range", "");
			push(ds[dsp - 1 - a]);
			break;
		case P_TOR: rpush(pop()); break;
		case P_RFROM: if (rsp <= base) fail("return stack underflow", ""); push(rs[--rsp]); break;
		case P_RFETCH: push(rs[rsp - 1]); break;
		case P_I: push(rs[rsp - 1]); break;
		case P_J: push(rs[rsp - 4]); break;
		case P_UNLOOP: rsp -= 3; break;
		case P_FETCH: push(*at(pop())); break;
		case P_STORE: a = pop(); b = pop(); *at(a) = b; break;
		case P_PSTORE: a = pop(); b = pop(); *at(a) += b; break;
		case P_CFETCH:
			a = pop();
			if (a < 0 || a >= (cell)sizeof mem)
				fail("bad byte address", "");
			push(((u8 *)mem)[a]);
			break;
		case P_CSTORE:
			a = pop(), b = pop();
			if (a < 0 || a >= (cell)sizeof mem)
				fail("bad byte address", "");
			((u8 *)mem)[a] = (u8)b;
			break;
		case P_CELLS: push(pop() * 8); break;
		case P_DOT: print_number(pop()); break;
		case P_UDOT: printf("%lu ", (u64)pop()); break;
		case P_EMIT: putchar((int)pop()); break;
		case P_CR: putchar('\n'); break;
		case P_SPACE: putchar(' '); break;
		case P_1ADD: push(pop() + 1); break;
		case P_1SUB: push(pop() - 1); break;
		case P_2MUL: push(pop() * 2); break;
		case P_2DIV: push(pop() >> 1); break;
		case P_HERE: push(here); break;
		case P_DEPTH: push(dsp); break;
		default: fail("bad primitive", "");
		}
	}
}

/* ---- the outer interpreter ---- */

static const char *src;
static int compiling;
static struct word *latest;

/* Compile-time control stack for IF/BEGIN/DO (addresses to patch). */
static cell cs[64];
static int csp;

static int next_token(char *tok, int max)
{
	while (*src == ' ' || *src == '\n' || *src == '\t')
		src++;
	if (!*src)
		return 0;
	int n = 0;
	while (*src && *src != ' ' && *src != '\n' && *src != '\t') {
		char ch = *src++;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (n < max - 1)
			tok[n++] = ch;
	}
	tok[n] = 0;
	return 1;
}

static struct word *find(const char *name)
{
	for (int i = nwords; i-- > 0;)
		if (strcmp(dict[i].name, name) == 0)
			return &dict[i];
	return NULL;
}

static struct word *define(const char *name, cell xt)
{
	if (nwords == MAX_WORDS)
		fail("dictionary full at", name);
	struct word *w = &dict[nwords++];
	size_t len = strlen(name);
	if (len >= sizeof w->name)
		fail("name too long:", name);
	memcpy(w->name, name, len + 1);
	w->xt = xt;
	return w;
}

static void execute(cell xt)
{
	if (xt >= P_COUNT) {
		run(xt);
		return;
	}
	/* A primitive: run it from a two-cell scratch body [prim, EXIT]. */
	static cell scratch;
	if (!scratch) {
		scratch = here;
		comma(0);
		comma(P_EXIT);
	}
	*at(scratch) = xt;
	run(scratch);
}

static void cs_push(cell v)
{
	if (csp == 64)
		fail("control structure nesting too deep", "");
	cs[csp++] = v;
}

static cell cs_pop(const char *word)
{
	if (csp == 0)
		fail("unbalanced control structure at", word);
	return cs[--csp];
}

/* Compiles an immediate word; returns 0 if tok is not one. */
static int compile_immediate(const char *tok)
{
	if (!strcmp(tok, "IF")) {
		comma(P_0BRANCH), cs_push(here), comma(0);
	} else if (!strcmp(tok, "ELSE")) {
		cell patch = cs_pop(tok);
		comma(P_BRANCH), cs_push(here), comma(0);
		*at(patch) = here;
	} else if (!strcmp(tok, "THEN")) {
		*at(cs_pop(tok)) = here;
	} else if (!strcmp(tok, "BEGIN")) {
		cs_push(here);
	} else if (!strcmp(tok, "UNTIL")) {
		comma(P_0BRANCH), comma(cs_pop(tok));
	} else if (!strcmp(tok, "AGAIN")) {
		comma(P_BRANCH), comma(cs_pop(tok));
	} else if (!strcmp(tok, "WHILE")) {
		cell begin = cs_pop(tok);
		comma(P_0BRANCH), cs_push(here), comma(0);
		cs_push(begin);
	} else if (!strcmp(tok, "REPEAT")) {
		comma(P_BRANCH), comma(cs_pop(tok));
		*at(cs_pop(tok)) = here;
	} else if (!strcmp(tok, "DO") || !strcmp(tok, "?DO")) {
		/* Operand: the address after LOOP's operand (where LEAVE goes). */
		comma(tok[0] == '?' ? P_QDO : P_DO), cs_push(here), comma(0);
	} else if (!strcmp(tok, "LOOP") || !strcmp(tok, "+LOOP")) {
		cell patch = cs_pop(tok);
		comma(tok[0] == '+' ? P_PLOOP : P_LOOP), comma(patch + 8);
		*at(patch) = here;
	} else if (!strcmp(tok, "LEAVE")) {
		/* Jump to the leave address stored in the loop frame: R> R> R> DROP DROP >R EXIT-like. */
		comma(P_RFROM), comma(P_DROP), comma(P_RFROM), comma(P_DROP);
		/* The frame's leave address is now on top of the return stack; EXIT jumps there. */
		comma(P_EXIT);
	} else if (!strcmp(tok, "RECURSE")) {
		comma(latest->xt);
	} else if (!strcmp(tok, ";")) {
		comma(P_EXIT);
		if (csp)
			fail("unbalanced control structure in", latest->name);
		compiling = 0;
	} else if (!strcmp(tok, ".\"")) {
		if (*src == ' ')
			src++;
		int start = nstrings;
		while (*src && *src != '"') {
			if (nstrings == (int)sizeof strings)
				fail("string pool full", "");
			strings[nstrings++] = *src++;
		}
		if (*src == '"')
			src++;
		comma(P_DOTQ), comma((cell)start << 16 | (nstrings - start));
	} else {
		return 0;
	}
	return 1;
}

static int parse_number(const char *tok, cell *out)
{
	int neg = *tok == '-' && tok[1];
	cell v = 0;
	const char *p = tok + neg;
	if (!*p)
		return 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (*p - '0');
	}
	*out = neg ? -v : v;
	return 1;
}

static void interpret(const char *program)
{
	char tok[32];
	src = program;
	while (next_token(tok, sizeof tok)) {
		if (!strcmp(tok, "(")) {
			while (*src && *src != ')')
				src++;
			if (*src)
				src++;
			continue;
		}
		if (!strcmp(tok, "\\")) {
			while (*src && *src != '\n')
				src++;
			continue;
		}
		if (!compiling && !strcmp(tok, ".\"")) {
			if (*src == ' ')
				src++;
			while (*src && *src != '"')
				putchar(*src++);
			if (*src)
				src++;
			continue;
		}
		if (compiling && compile_immediate(tok))
			continue;
		if (!compiling) {
			if (!strcmp(tok, ":")) {
				if (!next_token(tok, sizeof tok))
					fail("missing name after", ":");
				latest = define(tok, here);
				compiling = 1;
				continue;
			}
			if (!strcmp(tok, "VARIABLE") || !strcmp(tok, "CREATE")) {
				int var = tok[0] == 'V';
				if (!next_token(tok, sizeof tok))
					fail("missing name after", "VARIABLE/CREATE");
				/* Body: LIT addr EXIT, data follows. */
				define(tok, here);
				comma(P_LIT), comma(here + 16), comma(P_EXIT);
				if (var)
					comma(0);
				continue;
			}
			if (!strcmp(tok, "CONSTANT")) {
				cell v = pop();
				if (!next_token(tok, sizeof tok))
					fail("missing name after", "CONSTANT");
				define(tok, here);
				comma(P_LIT), comma(v), comma(P_EXIT);
				continue;
			}
			if (!strcmp(tok, "ALLOT")) {
				cell n = pop();
				if (n < 0 || n % 8 || here + n > (cell)sizeof mem)
					fail("bad ALLOT", "");
				memset((u8 *)mem + here, 0, (size_t)n);
				here += n;
				continue;
			}
			if (!strcmp(tok, ",")) {
				comma(pop());
				continue;
			}
		}
		struct word *w = find(tok);
		cell num;
		if (w) {
			if (compiling)
				comma(w->xt);
			else
				execute(w->xt);
		} else if (parse_number(tok, &num)) {
			if (compiling)
				comma(P_LIT), comma(num);
			else
				push(num);
		} else {
			fail("unknown word", tok);
		}
	}
	if (compiling)
		fail("unterminated definition", latest->name);
}

static const char program[] =
	"\\ Arithmetic and stack words\n"
	".\" 2 3 + 4 * = \" 2 3 + 4 * . CR\n"
	".\" -7 2 /MOD = \" -7 2 /MOD SWAP . . CR\n"
	": SQUARE ( n -- n*n ) DUP * ;\n"
	": CUBE DUP SQUARE * ;\n"
	": SQUARES 11 1 DO I SQUARE . LOOP ;\n"
	": CUBES-DOWN 0 5 DO I CUBE . -1 +LOOP ;\n"
	".\" squares: \" SQUARES CR .\" cubes down: \" CUBES-DOWN CR\n"
	"\\ Recursion and loops\n"
	": FACT ( n -- n! ) DUP 1 > IF DUP 1- RECURSE * ELSE DROP 1 THEN ;\n"
	".\" 20! = \" 20 FACT . CR\n"
	": FIB ( n -- fib ) 0 1 ROT 0 ?DO OVER + SWAP LOOP DROP ;\n"
	": FIBS 15 0 DO I FIB . LOOP ;\n"
	".\" fib: \" FIBS CR\n"
	".\" fib(90) = \" 90 FIB . CR\n"
	": GCD ( a b -- gcd ) BEGIN DUP WHILE TUCK MOD REPEAT DROP ;\n"
	".\" gcd(1071, 462) = \" 1071 462 GCD . CR\n"
	": COLLATZ ( n -- steps ) 0 SWAP BEGIN DUP 1 <> WHILE\n"
	"    DUP 1 AND IF 3 * 1+ ELSE 2/ THEN SWAP 1+ SWAP REPEAT DROP ;\n"
	"VARIABLE BEST VARIABLE BESTN\n"
	": LONGEST ( limit -- ) 0 BEST ! 1 DO I COLLATZ DUP BEST @ > IF BEST ! I BESTN ! ELSE DROP THEN LOOP ;\n"
	"1000 LONGEST .\" longest Collatz chain below 1000: \" BESTN @ . .\" with \" BEST @ . .\" steps\" CR\n"
	"\\ A sieve over a CREATEd array of cells\n"
	"CREATE FLAGS 20001 CELLS ALLOT\n"
	": SIEVE ( n -- count ) DUP 2 ?DO 1 FLAGS I CELLS + ! LOOP\n"
	"  0 SWAP DUP 2 ?DO FLAGS I CELLS + @ IF SWAP 1+ SWAP\n"
	"    I I * OVER < IF DUP I I * ?DO 0 FLAGS I CELLS + ! J +LOOP THEN THEN LOOP DROP ;\n"
	"NLIMIT SIEVE .\" primes below \" NLIMIT . .\" : \" . CR\n"
	": FIRST-PRIMES ( count -- ) 2 BEGIN OVER WHILE\n"
	"  FLAGS OVER CELLS + @ IF DUP . SWAP 1- SWAP THEN 1+ REPEAT 2DROP ;\n"
	".\" first primes: \" 20 FIRST-PRIMES CR\n"
	": FIND-FIRST ( n -- i ) 0 SWAP 0 DO I 7 * 100 > IF DROP I LEAVE THEN LOOP ;\n"
	".\" first i with 7i > 100: \" 1000 FIND-FIRST . CR\n"
	": STARS 0 ?DO 42 EMIT LOOP ;\n"
	": TRIANGLE 6 1 DO I STARS CR LOOP ;\n"
	"TRIANGLE\n"
	".\" bits: \" 1 62 LSHIFT . -1 1 RSHIFT . -1 U. CR\n"
	".\" depth at end: \" DEPTH . CR\n";

int main(unsigned long ram_size, const char *cmdline)
{
	(void)ram_size;
	cell n = (cell)cmdline_ulong(cmdline, "n", 10000);
	if (n < 100 || n > 20000)
		fail("n out of range (expected 100..20000):", "n");
	for (int p = P_EXIT; p < P_COUNT; p++)
		if (prim_names[p])
			define(prim_names[p], p);
	define("NLIMIT", here);
	comma(P_LIT), comma(n), comma(P_EXIT);
	interpret(program);
	if (dsp != 0)
		fail("stack not empty at end", "");
	puts("forth: ok");
	return 0;
}
