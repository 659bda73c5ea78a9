/*
 * ctrlmix: a control-heavy integer workload of the kind EEMBC CoreMark is made of (written for hvsim,
 * not CoreMark itself): per iteration, a linked list is searched, reversed and merge-sorted by two
 * keys; a small matrix is multiplied and accumulated with 16-bit data; a byte stream runs through a
 * number-scanning state machine; a CRC16 (CCITT, reflected polynomial 0xA001, as CoreMark's crcu16)
 * folds every result into one running check value, printed at the end with the per-part totals.
 *
 * cmdline: iters=N (default 300), seed=S (default 1), list=N (list nodes, default 100), mat=N
 *          (matrix order, default 10), stream=N (state-machine bytes, default 240).
 */
#include "hvsim.h"
#include "prng.h"

/* ---- CRC16 (bitwise, one byte at a time) ---- */

static u16 crc16_byte(u8 data, u16 crc)
{
	for (int i = 0; i < 8; i++) {
		u8 x = (data & 1) ^ (crc & 1);
		data >>= 1;
		if (x) {
			crc ^= 0x4002;
			crc = (u16)((crc >> 1) | 0x8000);
		} else {
			crc >>= 1;
		}
	}
	return crc;
}

static u16 crc16_u16(u16 v, u16 crc)
{
	crc = crc16_byte((u8)v, crc);
	return crc16_byte((u8)(v >> 8), crc);
}

static u16 crc16_u32(u32 v, u16 crc)
{
	crc = crc16_u16((u16)v, crc);
	return crc16_u16((u16)(v >> 16), crc);
}

/* ---- linked list ---- */

struct node {
	struct node *next;
	i16 data;
	i16 idx;
};

static int cmp_data(const struct node *a, const struct node *b)
{
	return a->data - b->data;
}

static int cmp_idx(const struct node *a, const struct node *b)
{
	return a->idx - b->idx;
}

static struct node *list_find(struct node *p, i16 data)
{
	while (p && p->data != data)
		p = p->next;
	return p;
}

static struct node *list_reverse(struct node *p)
{
	struct node *r = NULL;
	while (p) {
		struct node *n = p->next;
		p->next = r;
		r = p;
		p = n;
	}
	return r;
}

/* Bottom-up merge sort of a singly linked list (stable), as in Simon Tatham's list sort. */
static struct node *list_sort(struct node *list, int (*cmp)(const struct node *, const struct node *))
{
	if (!list)
		return NULL;
	for (int insize = 1;; insize *= 2) {
		struct node *p = list, *tail = NULL;
		int merges = 0;
		list = NULL;
		while (p) {
			merges++;
			struct node *q = p;
			int psize = 0;
			for (int i = 0; i < insize && q; i++) {
				psize++;
				q = q->next;
			}
			int qsize = insize;
			while (psize > 0 || (qsize > 0 && q)) {
				struct node *e;
				if (psize == 0) {
					e = q;
					q = q->next;
					qsize--;
				} else if (qsize == 0 || !q || cmp(p, q) <= 0) {
					e = p;
					p = p->next;
					psize--;
				} else {
					e = q;
					q = q->next;
					qsize--;
				}
				if (tail)
					tail->next = e;
				else
					list = e;
				tail = e;
			}
			p = q;
		}
		tail->next = NULL;
		if (merges <= 1)
			return list;
	}
}

static u16 list_bench(struct node *nodes, int n, u16 seedv, u16 crc)
{
	/* Scramble the data from the seed, then search, sort by data, reverse, sort back by index. */
	struct node *head = NULL;
	for (int i = n - 1; i >= 0; i--) {
		nodes[i].data = (i16)(((i * 37 + seedv) ^ (seedv >> 3)) & 0x7fff);
		nodes[i].idx = (i16)i;
		nodes[i].next = head;
		head = &nodes[i];
	}
	int found = 0, missed = 0;
	for (int k = 0; k < 16; k++) {
		i16 want = (i16)(((k * 37 * 3 + seedv) ^ (seedv >> 3)) & 0x7fff);
		struct node *f = list_find(head, want);
		if (f) {
			found++;
			crc = crc16_u16((u16)f->idx, crc);
		} else {
			missed++;
		}
	}
	head = list_sort(head, cmp_data);
	for (struct node *p = head; p; p = p->next)
		crc = crc16_u16((u16)p->data, crc);
	head = list_reverse(head);
	crc = crc16_u16((u16)head->data, crc);
	head = list_sort(head, cmp_idx);
	for (struct node *p = head; p; p = p->next)
		CHECK(p->next == NULL || p->idx < p->next->idx);
	return crc16_u16((u16)(found * 256 + missed), crc);
}

/* ---- matrix ---- */

static u16 matrix_bench(int n, i16 *a, i16 *b, i32 *c, i16 val, u16 crc)
{
	/* C = A * B, then C += A * val, then a bit-extract multiply; fold sums into the CRC. */
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			i32 s = 0;
			for (int k = 0; k < n; k++)
				s += (i32)a[i * n + k] * (i32)b[k * n + j];
			c[i * n + j] = s;
		}
	i32 sum = 0;
	for (int i = 0; i < n * n; i++) {
		c[i] += (i32)a[i] * val;
		sum += c[i] > 0x1000 ? 1 : -1;
	}
	crc = crc16_u32((u32)sum, crc);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			i32 s = 0;
			for (int k = 0; k < n; k++) {
				i32 t = (i32)a[i * n + k] * (i32)b[k * n + j];
				s += (t >> 2) & 0xf;
			}
			c[i * n + j] = s;
		}
	u32 x = 0;
	for (int i = 0; i < n * n; i++)
		x = x * 31 + (u32)c[i];
	return crc16_u32(x, crc);
}

/* ---- state machine ---- */

enum state { START, INT, FLOAT, EXP, EXP_SIGN, SCI, BAD, NSTATES };

static enum state next_state(enum state s, u8 ch)
{
	int digit = ch >= '0' && ch <= '9';
	switch (s) {
	case START:
		if (digit)
			return INT;
		if (ch == '+' || ch == '-')
			return INT;
		if (ch == '.')
			return FLOAT;
		return BAD;
	case INT:
		if (digit)
			return INT;
		if (ch == '.')
			return FLOAT;
		if (ch == 'e' || ch == 'E')
			return EXP;
		return BAD;
	case FLOAT:
		if (digit)
			return FLOAT;
		if (ch == 'e' || ch == 'E')
			return EXP;
		return BAD;
	case EXP:
		if (ch == '+' || ch == '-')
			return EXP_SIGN;
		return digit ? SCI : BAD;
	case EXP_SIGN:
	case SCI:
		return digit ? SCI : BAD;
	default:
		return BAD;
	}
}

static u16 state_bench(u8 *buf, int n, u64 *rng, u16 crc)
{
	static const char alphabet[] = "0123456789+-.eE,x5";
	for (int i = 0; i < n; i++)
		buf[i] = (u8)alphabet[splitmix64(rng) % (sizeof alphabet - 1)];
	u32 final[NSTATES] = {0}, trans[NSTATES] = {0};
	enum state s = START;
	for (int i = 0; i < n; i++) {
		if (buf[i] == ',') {
			final[s]++;
			s = START;
			continue;
		}
		enum state t = next_state(s, buf[i]);
		if (t != s)
			trans[t]++;
		s = t;
	}
	final[s]++;
	for (int k = 0; k < NSTATES; k++) {
		crc = crc16_u32(final[k], crc);
		crc = crc16_u32(trans[k], crc);
	}
	return crc;
}

int main(unsigned long ram_size, const char *cmdline)
{
	(void)ram_size;
	u64 iters = cmdline_ulong(cmdline, "iters", 300);
	u64 seed = cmdline_ulong(cmdline, "seed", 1);
	u64 nlist = cmdline_ulong(cmdline, "list", 100);
	u64 nmat = cmdline_ulong(cmdline, "mat", 10);
	u64 nstream = cmdline_ulong(cmdline, "stream", 240);
	if (nlist < 2 || nlist > 30000 || nmat < 1 || nmat > 100 || nstream < 1 || nstream > 1000000) {
		printf("ctrlmix: list 2..30000, mat 1..100, stream 1..1000000\n");
		return 2;
	}
	struct node *nodes = hv_alloc(nlist * sizeof *nodes);
	i16 *a = hv_alloc(nmat * nmat * sizeof *a);
	i16 *b = hv_alloc(nmat * nmat * sizeof *b);
	i32 *c = hv_alloc(nmat * nmat * sizeof *c);
	u8 *buf = hv_alloc(nstream);
	u64 rng = seed;
	for (u64 i = 0; i < nmat * nmat; i++) {
		a[i] = (i16)(splitmix64(&rng) & 0xfff) - 0x800;
		b[i] = (i16)(splitmix64(&rng) & 0xff);
	}
	u16 crc = 0, clist = 0, cmat = 0, cstate = 0;
	for (u64 it = 0; it < iters; it++) {
		u16 seedv = (u16)(splitmix64(&rng) & 0xffff);
		clist = list_bench(nodes, (int)nlist, seedv, clist);
		cmat = matrix_bench((int)nmat, a, b, c, (i16)(seedv & 0xff), cmat);
		cstate = state_bench(buf, (int)nstream, &rng, cstate);
		crc = crc16_u16(clist, crc16_u16(cmat, crc16_u16(cstate, crc)));
	}
	printf("ctrlmix iters=%lu list=%lu mat=%lu stream=%lu\n", iters, nlist, nmat, nstream);
	printf("crc list   0x%04x\n", clist);
	printf("crc matrix 0x%04x\n", cmat);
	printf("crc state  0x%04x\n", cstate);
	printf("crc final  0x%04x\n", crc);
	return 0;
}
