/* splitmix64 (Steele, Lea, Flood 2014): the guests' deterministic pseudo-random source. */
#ifndef HVSIM_PRNG_H
#define HVSIM_PRNG_H
#include "hvsim.h"

static inline u64 splitmix64(u64 *state)
{
	u64 z = (*state += 0x9e3779b97f4a7c15UL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
	return z ^ (z >> 31);
}
#endif
