/*
** rng.h — the generator's random numbers: a seeded xoshiro256** stream,
** splitmix64 for deriving independent seeds, and the samplers the model
** needs (uniform, chance, normal, log-normal, exponential, Zipf).
**
** Reproducibility is the contract: the same seed gives the same bytes on
** every machine.  The integer parts are exact by construction.  The real
** valued samplers use tl_gen_exp() and tl_gen_log() below instead of libm,
** whose last-bit results differ between C libraries; they are written with
** + - * / only (each correctly rounded by IEEE 754), floor(), frexp(),
** ldexp() and sqrt() (all exact or correctly rounded).  The caveat: this
** holds on IEEE 754 machines that evaluate doubles in double precision
** (FLT_EVAL_METHOD 0: x86-64 SSE2, AArch64, RISC-V), and only when the
** compiler does not fuse a*b+c into one FMA, which rng.c forbids with
** FP_CONTRACT OFF (GCC already does not contract in -std=c11 mode).
*/
#ifndef TL_GEN_RNG_H
#define TL_GEN_RNG_H

#include <stdint.h>

typedef struct tl_rng {
  uint64_t s[4];
} tl_rng;

/* splitmix64's output function: a bijective mix of 64 bits. */
uint64_t tl_mix64(uint64_t x);

/* Seeds the four words from splitmix64(seed), so any seed (0 too) works. */
void tl_rng_seed(tl_rng *r, uint64_t seed);
uint64_t tl_rng_next(tl_rng *r);
/* Uniform in [0, n) without modulo bias; n > 0. */
uint64_t tl_rng_below(tl_rng *r, uint64_t n);
/* Uniform integer in [lo, hi] (lo <= hi). */
int64_t tl_rng_range(tl_rng *r, int64_t lo, int64_t hi);
/* Uniform in [0, 1) with 53 random bits. */
double tl_rng_unit(tl_rng *r);
/* 1 with probability p (p <= 0 never, p >= 1 always). */
int tl_rng_chance(tl_rng *r, double p);
/* Standard normal (Marsaglia's polar method), clamped to [-clamp, clamp]. */
double tl_rng_normal(tl_rng *r, double clamp);
/* median * exp(sigma * z), z standard normal clamped to +-4: the tail past
** 4 sigma is cut so that the longest span, and so the generator's window
** of traces in flight, stays bounded. */
double tl_rng_lognormal(tl_rng *r, double median, double sigma);
/* Exponential with the given mean (Poisson inter-arrival times). */
double tl_rng_exponential(tl_rng *r, double mean);

/* exp(x) and log(x) in portable arithmetic (see the file comment);
** relative error below 1e-15.  tl_gen_exp saturates outside [-745, 709];
** tl_gen_log of x <= 0 is -infinity. */
double tl_gen_exp(double x);
double tl_gen_log(double x);

/* Index drawn from a cumulative weight table cdf[0..n) (increasing, last
** entry the total), using 53 bits of u. */
uint32_t tl_pick_cdf(const double *cdf, uint32_t n, uint64_t u);

#endif
