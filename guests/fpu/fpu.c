/*
 * fpu: floating point and vectorizable integer loops as gcc compiles them with its default
 * x86-64 flags (SSE2 scalar double/float arithmetic, conversions, struct copies and vectorized
 * loops). Results are printed as bit patterns, so the native twin's output is the oracle to the
 * last bit.
 *
 * cmdline: steps=N (n-body steps, default 2000), size=N (Mandelbrot grid, default 48),
 *          n=N (integer loop length, default 4096).
 */
#include "hvsim.h"

static u64 bits(double d)
{
	u64 u;
	memcpy(&u, &d, sizeof u);
	return u;
}

static u32 fbits(float f)
{
	u32 u;
	memcpy(&u, &f, sizeof u);
	return u;
}

static double sqrt_newton(double x)
{
	/* gcc would call sqrt() (a libc function); this loop uses only + - * /. */
	if (x <= 0)
		return 0;
	double r = x > 1 ? x : 1;
	for (int i = 0; i < 60; i++)
		r = 0.5 * (r + x / r);
	return r;
}

/* ---- n-body (the Computer Language Benchmarks Game's planets) ---- */

struct body {
	double x, y, z, vx, vy, vz, mass;
};

#define PI 3.141592653589793
#define SOLAR_MASS (4 * PI * PI)
#define DAYS_PER_YEAR 365.24

static struct body planets[5] = {
	{0, 0, 0, 0, 0, 0, SOLAR_MASS},
	{4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
	 1.66007664274403694e-03 * DAYS_PER_YEAR, 7.69901118419740425e-03 * DAYS_PER_YEAR,
	 -6.90460016972063023e-05 * DAYS_PER_YEAR, 9.54791938424326609e-04 * SOLAR_MASS},
	{8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
	 -2.76742510726862411e-03 * DAYS_PER_YEAR, 4.99852801234917238e-03 * DAYS_PER_YEAR,
	 2.30417297573763929e-05 * DAYS_PER_YEAR, 2.85885980666130812e-04 * SOLAR_MASS},
	{1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
	 2.96460137564761618e-03 * DAYS_PER_YEAR, 2.37847173959480950e-03 * DAYS_PER_YEAR,
	 -2.96589568540237556e-05 * DAYS_PER_YEAR, 4.36624404335156298e-05 * SOLAR_MASS},
	{1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
	 2.68067772490389322e-03 * DAYS_PER_YEAR, 1.62824170038242295e-03 * DAYS_PER_YEAR,
	 -9.51592254519715870e-05 * DAYS_PER_YEAR, 5.15138902046611451e-05 * SOLAR_MASS},
};

static double energy(const struct body *b, int n)
{
	double e = 0;
	for (int i = 0; i < n; i++) {
		e += 0.5 * b[i].mass * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
		for (int j = i + 1; j < n; j++) {
			double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
			e -= b[i].mass * b[j].mass / sqrt_newton(dx * dx + dy * dy + dz * dz);
		}
	}
	return e;
}

static void advance(struct body *b, int n, double dt)
{
	for (int i = 0; i < n; i++) {
		for (int j = i + 1; j < n; j++) {
			double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
			double d2 = dx * dx + dy * dy + dz * dz;
			double mag = dt / (d2 * sqrt_newton(d2));
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

/* ---- Mandelbrot set in float ---- */

static u32 mandelbrot(int size)
{
	u32 h = 2166136261u;
	for (int py = 0; py < size; py++) {
		for (int px = 0; px < size; px++) {
			float cr = 2.5f * (float)px / (float)size - 2.0f;
			float ci = 2.0f * (float)py / (float)size - 1.0f;
			float zr = 0, zi = 0;
			int k = 0;
			while (k < 64 && zr * zr + zi * zi <= 4.0f) {
				float t = zr * zr - zi * zi + cr;
				zi = 2.0f * zr * zi + ci;
				zr = t;
				k++;
			}
			h = (h ^ (u32)k ^ fbits(zr)) * 16777619u;
		}
	}
	return h;
}

/* ---- vectorizable integer loops and struct copies ---- */

struct record {
	u64 a, b;
	u32 c[6];
};

static u32 int_loops(int n, u32 *x, u32 *y, u8 *bytes)
{
	for (int i = 0; i < n; i++) {
		x[i] = (u32)i * 2654435761u;
		y[i] = (u32)(n - i) ^ 0x5bd1e995u;
	}
	u32 sum = 0;
	for (int i = 0; i < n; i++) {
		x[i] += y[i] * 3;
		sum += x[i] ^ (x[i] >> 7);
	}
	for (int i = 0; i < n; i++)
		bytes[i] = (u8)(x[i] >> 3) > (u8)y[i] ? (u8)x[i] : (u8)y[i];
	u32 count = 0;
	for (int i = 0; i < n; i++)
		count += bytes[i] == 0x5a;
	struct record r[4], s[4];
	for (int i = 0; i < 4; i++) {
		r[i].a = (u64)sum * (u64)(i + 1);
		r[i].b = ~r[i].a;
		for (int k = 0; k < 6; k++)
			r[i].c[k] = sum + (u32)k;
	}
	memcpy(s, r, sizeof r);
	u32 h = count;
	for (int i = 0; i < 4; i++)
		h = h * 31 + (u32)s[i].a + (u32)(s[i].b >> 32) + s[i].c[i];
	return sum ^ h;
}

int main(unsigned long ram_size, const char *cmdline)
{
	(void)ram_size;
	int steps = (int)cmdline_ulong(cmdline, "steps", 2000);
	int size = (int)cmdline_ulong(cmdline, "size", 48);
	int n = (int)cmdline_ulong(cmdline, "n", 4096);

	/* n-body: offset the sun's momentum, then integrate. */
	double px = 0, py = 0, pz = 0;
	for (int i = 0; i < 5; i++) {
		px += planets[i].vx * planets[i].mass;
		py += planets[i].vy * planets[i].mass;
		pz += planets[i].vz * planets[i].mass;
	}
	planets[0].vx = -px / SOLAR_MASS;
	planets[0].vy = -py / SOLAR_MASS;
	planets[0].vz = -pz / SOLAR_MASS;
	double e0 = energy(planets, 5);
	for (int i = 0; i < steps; i++)
		advance(planets, 5, 0.01);
	double e1 = energy(planets, 5);
	printf("nbody energy before %016lx after %016lx (%d steps)\n", bits(e0), bits(e1), steps);
	printf("nbody x[4] %016lx vz[1] %016lx\n", bits(planets[4].x), bits(planets[1].vz));

	printf("mandelbrot %dx%d hash %08x\n", size, size, mandelbrot(size));

	/* Conversions, printed as bit patterns. */
	static const double ds[] = {0.0, -0.0, 1.5, -1.5, 2.5, 3.5, -2.5, 1e10, -1e10, 4294967295.7,
				    9.2233720368547758e18, 1e-310, 123456789.123456789, 0.1};
	u32 ch = 0;
	for (unsigned i = 0; i < sizeof ds / sizeof ds[0]; i++) {
		double d = ds[i];
		float f = (float)d;
		long l = d > -9.2e18 && d < 9.2e18 ? (long)d : 0;
		int k = d > -2e9 && d < 2e9 ? (int)d : 0;
		double back = (double)l + (double)(unsigned)k * 0.5;
		printf("cvt %016lx -> f %08x l %016lx i %08x back %016lx\n", bits(d), fbits(f), (u64)l, (u32)k,
		       bits(back));
		ch = ch * 33 + fbits(f * 3.0f - (float)k);
	}
	printf("cvt hash %08x\n", ch);

	u32 *x = hv_alloc(sizeof(u32) * (size_t)n);
	u32 *y = hv_alloc(sizeof(u32) * (size_t)n);
	u8 *b = hv_alloc((size_t)n);
	printf("int loops %08x\n", int_loops(n, x, y, b));
	return 0;
}
