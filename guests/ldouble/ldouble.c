/*
 * ldouble: long double (the x87 80-bit extended format) as gcc compiles it with its default x86-64
 * flags: an n-body integration, series for pi, e and zeta(2), square roots by FSQRT and by Newton's
 * method, and conversions between long double, double, float and the integer types (FILD, FISTP
 * with the FNSTCW/FLDCW truncation sequence, FLD/FSTP of every width). Results are printed as bit
 * patterns (sign and exponent, then the 64-bit significand), so the native twin's output is the
 * oracle to the last bit.
 *
 * cmdline: steps=N (n-body steps, default 1000), terms=N (series terms, default 2000).
 */
#include "hvsim.h"

typedef long double ld;

/* The 80 bits of a long double: sign and exponent, then the significand. */
static void put_ld(const char *name, ld x)
{
	u64 sig;
	u16 se;
	memcpy(&sig, &x, 8);
	memcpy(&se, (const char *)&x + 8, 2);
	printf("%s %04x:%016lx\n", name, se, sig);
}

static ld fsqrt(ld x)
{
	__asm__("fsqrt" : "+t"(x));
	return x;
}

static ld sqrt_newton(ld x)
{
	if (x <= 0)
		return 0;
	ld r = x > 1 ? x : 1;
	for (int i = 0; i < 80; i++)
		r = 0.5L * (r + x / r);
	return r;
}

struct body {
	ld x, y, z, vx, vy, vz, mass;
};

#define PI 3.14159265358979323846264338327950288L
#define SOLAR_MASS (4 * PI * PI)
#define DAYS_PER_YEAR 365.24L

static struct body planets[5] = {
	{0, 0, 0, 0, 0, 0, SOLAR_MASS},
	{4.84143144246472090e+00L, -1.16032004402742839e+00L, -1.03622044471123109e-01L,
	 1.66007664274403694e-03L * DAYS_PER_YEAR, 7.69901118419740425e-03L * DAYS_PER_YEAR,
	 -6.90460016972063023e-05L * DAYS_PER_YEAR, 9.54791938424326609e-04L * SOLAR_MASS},
	{8.34336671824457987e+00L, 4.12479856412430479e+00L, -4.03523417114321381e-01L,
	 -2.76742510726862411e-03L * DAYS_PER_YEAR, 4.99852801234917238e-03L * DAYS_PER_YEAR,
	 2.30417297573763929e-05L * DAYS_PER_YEAR, 2.85885980666130812e-04L * SOLAR_MASS},
	{1.28943695621391310e+01L, -1.51111514016986312e+01L, -2.23307578892655734e-01L,
	 2.96460137564761618e-03L * DAYS_PER_YEAR, 2.37847173959480950e-03L * DAYS_PER_YEAR,
	 -2.96589568540237556e-05L * DAYS_PER_YEAR, 4.36624404335156298e-05L * SOLAR_MASS},
	{1.53796971148509165e+01L, -2.59193146099879641e+01L, 1.79258772950371181e-01L,
	 2.68067772490389322e-03L * DAYS_PER_YEAR, 1.62824170038242295e-03L * DAYS_PER_YEAR,
	 -9.51592254519715870e-05L * DAYS_PER_YEAR, 5.15138902046611451e-05L * SOLAR_MASS},
};

static ld energy(const struct body *b, int n)
{
	ld e = 0;
	for (int i = 0; i < n; i++) {
		e += 0.5L * b[i].mass * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
		for (int j = i + 1; j < n; j++) {
			ld dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
			e -= b[i].mass * b[j].mass / fsqrt(dx * dx + dy * dy + dz * dz);
		}
	}
	return e;
}

static void advance(struct body *b, int n, ld dt)
{
	for (int i = 0; i < n; i++) {
		for (int j = i + 1; j < n; j++) {
			ld dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
			ld d2 = dx * dx + dy * dy + dz * dz;
			ld mag = dt / (d2 * fsqrt(d2));
			b[i].vx -= dx * b[j].mass * mag;
			b[i].vy -= dy * b[j].mass * mag;
			b[i].vz -= dz * b[j].mass * mag;
			b[j].vx += dx * b[i].mass * mag;
			b[j].vy += dy * b[i].mass * mag;
			b[j].vz += dz * b[i].mass * mag;
		}
	}
	for (int i = 0; i < n; i++) {
		b[i].x += dt * b[i].vx;
		b[i].y += dt * b[i].vy;
		b[i].z += dt * b[i].vz;
	}
}

/* arctan(1/n) by its series, for Machin's formula. */
static ld acot(int n, int terms)
{
	ld x = 1.0L / n, x2 = x * x, term = x, sum = 0;
	for (int k = 0; k < terms; k++) {
		sum += (k & 1 ? -term : term) / (2 * k + 1);
		term *= x2;
	}
	return sum;
}

int main(unsigned long ram_size, const char *cmdline)
{
	(void)ram_size;
	int steps = (int)cmdline_ulong(cmdline, "steps", 1000);
	int terms = (int)cmdline_ulong(cmdline, "terms", 2000);

	ld px = 0, py = 0, pz = 0;
	for (int i = 0; i < 5; i++) {
		px += planets[i].vx * planets[i].mass;
		py += planets[i].vy * planets[i].mass;
		pz += planets[i].vz * planets[i].mass;
	}
	planets[0].vx = -px / SOLAR_MASS;
	planets[0].vy = -py / SOLAR_MASS;
	planets[0].vz = -pz / SOLAR_MASS;
	put_ld("nbody energy before", energy(planets, 5));
	for (int i = 0; i < steps; i++)
		advance(planets, 5, 0.01L);
	put_ld("nbody energy after", energy(planets, 5));
	put_ld("nbody x[4]", planets[4].x);
	put_ld("nbody vz[1]", planets[1].vz);

	/* Series. */
	put_ld("pi machin", 16 * acot(5, terms / 40 + 1) - 4 * acot(239, terms / 100 + 1));
	ld e = 1, f = 1;
	for (int k = 1; k < 30; k++) {
		f /= k;
		e += f;
	}
	put_ld("e", e);
	ld z = 0;
	for (int k = terms; k >= 1; k--)
		z += 1.0L / ((ld)k * k);
	put_ld("zeta2 partial", z);
	put_ld("sqrt2 fsqrt", fsqrt(2));
	put_ld("sqrt2 newton", sqrt_newton(2));
	put_ld("sqrt3/7", fsqrt(3.0L / 7));

	/* Conversions, both ways, of values near the formats' limits. */
	static const ld vs[] = {0.0L, -0.0L, 1.5L, -2.5L, 3.5L, 1e18L, -9.2e18L, 123456789.123456789L, 0.1L,
				1e-4940L, 1e4000L, 4294967295.75L, 1.0L / 3};
	u32 h = 0;
	for (unsigned i = 0; i < sizeof vs / sizeof vs[0]; i++) {
		ld v = vs[i];
		double d = (double)v;
		float fl = (float)v;
		long l = v > -9.3e18L && v < 9.3e18L ? (long)v : 0;
		int k = v > -2e9L && v < 2e9L ? (int)v : 0;
		short s = v > -30000 && v < 30000 ? (short)v : 0;
		u64 db;
		u32 fb;
		memcpy(&db, &d, 8);
		memcpy(&fb, &fl, 4);
		printf("cvt %2u -> d %016lx f %08x l %016lx i %08x s %04x\n", i, db, fb, (u64)l, (u32)k, (u16)s);
		ld back = (ld)d + (ld)fl + (ld)l + (ld)k + (ld)s;
		u64 sig;
		memcpy(&sig, &back, 8);
		h = h * 31 + (u32)sig + (u32)(sig >> 32);
	}
	printf("cvt hash %08x\n", h);
	return 0;
}
