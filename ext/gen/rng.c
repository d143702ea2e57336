/*
** rng.c — xoshiro256** (Blackman and Vigna), splitmix64, and samplers
** written so that their results are bit-identical across machines: see
** rng.h for what is assumed.  exp and log use textbook range reduction and
** short series instead of libm; they are accurate to about 1 ulp, which is
** far beyond what a latency model needs, and, unlike libm, the same
** everywhere.
*/
#include "rng.h"

#include <math.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

uint64_t tl_mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void tl_rng_seed(tl_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) {
    seed = tl_mix64(seed);
    r->s[i] = seed;
  }
  /* splitmix64 is a bijection, so four zero words cannot all occur; keep
  ** the guard anyway since the all-zero state is a fixed point. */
  if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t tl_rng_next(tl_rng *r) {
  uint64_t *s = r->s;
  uint64_t out = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

uint64_t tl_rng_below(tl_rng *r, uint64_t n) {
  /* Reject the low values that would make x % n favour small results. */
  uint64_t threshold = (0 - n) % n;
  for (;;) {
    uint64_t x = tl_rng_next(r);
    if (x >= threshold) return x % n;
  }
}

int64_t tl_rng_range(tl_rng *r, int64_t lo, int64_t hi) {
  uint64_t span = (uint64_t)hi - (uint64_t)lo;
  if (span == UINT64_MAX) return (int64_t)tl_rng_next(r);
  return (int64_t)((uint64_t)lo + tl_rng_below(r, span + 1));
}

double tl_rng_unit(tl_rng *r) { return (double)(tl_rng_next(r) >> 11) * 0x1.0p-53; }

int tl_rng_chance(tl_rng *r, double p) {
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  return tl_rng_unit(r) < p;
}

/* ln 2 split so that k * LN2_HI is exact for |k| < 2^20. */
static const double LN2_HI = 6.93147180369123816490e-01;
static const double LN2_LO = 1.90821492927058770002e-10;

double tl_gen_exp(double x) {
  if (x != x) return x;
  if (x > 709.0) return HUGE_VAL;
  if (x < -745.0) return 0.0;
  double k = floor(x * 1.44269504088896338700 + 0.5);
  double r = (x - k * LN2_HI) - k * LN2_LO; /* |r| <= 0.35 */
  /* Taylor series to r^13/13!: the next term is below 5e-18.  Unrolled,
  ** the divisions by 1, 2, 4 and 8 become the multiplications that round
  ** to the same doubles (the others stay divisions): the same bits, and a
  ** chain of 13 dependent divisions was most of the function's time. */
  double sum = 1.0, term = 1.0;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 13
#endif
  for (int i = 1; i <= 13; i++) {
    term = term * r / i;
    sum += term;
  }
  return ldexp(sum, (int)k);
}

double tl_gen_log(double x) {
  if (x != x) return x;
  if (x <= 0) return -HUGE_VAL;
  if (x == HUGE_VAL) return x;
  int e;
  double m = frexp(x, &e); /* x = m * 2^e, m in [0.5, 1) */
  if (m < 0.70710678118654752440) {
    m *= 2;
    e--;
  }
  /* ln m = 2 atanh(f) with f = (m-1)/(m+1), |f| <= 0.172: series in f^2
  ** to f^23, whose next term is below 1e-19. */
  double f = (m - 1) / (m + 1), s = f * f, sum = 0, pow = f;
  for (int i = 1; i <= 23; i += 2) {
    sum += pow / i;
    pow *= s;
  }
  return (e * LN2_HI + (e * LN2_LO + 2 * sum));
}

double tl_rng_normal(tl_rng *r, double clamp) {
  double u, v, s;
  do {
    u = 2 * tl_rng_unit(r) - 1;
    v = 2 * tl_rng_unit(r) - 1;
    s = u * u + v * v;
  } while (s >= 1 || s == 0);
  double z = u * sqrt(-2 * tl_gen_log(s) / s);
  if (z > clamp) z = clamp;
  if (z < -clamp) z = -clamp;
  return z;
}

double tl_rng_lognormal(tl_rng *r, double median, double sigma) {
  if (sigma <= 0) return median;
  return median * tl_gen_exp(sigma * tl_rng_normal(r, 4.0));
}

double tl_rng_exponential(tl_rng *r, double mean) {
  /* 1 - unit is in (0, 1], so the log is finite. */
  return -mean * tl_gen_log(1.0 - tl_rng_unit(r));
}

uint32_t tl_pick_cdf(const double *cdf, uint32_t n, uint64_t u) {
  double target = (double)(u >> 11) * 0x1.0p-53 * cdf[n - 1];
  uint32_t lo = 0, hi = n - 1;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (cdf[mid] > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
