/*
** sketch.h — a mergeable latency sketch with a relative-accuracy guarantee
** (DDSketch: Masson, Rim and Lee, VLDB 2019), its canonical blob and the
** validating decoder.  Pure C; ext/analysis/sketch_sql.c makes the SQL
** functions latency_sketch(), sketch_merge(), sketch_quantile() and
** sketch_count() of it, and numbers the contract they share.
**
** The math.  For a relative accuracy a (0.001 <= a <= 0.5), let
** g = (1+a)/(1-a).  A value x > 0 goes to bucket i = ceil(log(x)/log(g)),
** which holds (g^(i-1), g^i]; the bucket stands for 2*g^i/(g+1), which is
** within a*x of every x in it.  Zero has its own counter (and so do the
** positive values below DBL_MIN, 2.2250738585072014e-308, where doubles lose
** precision); it stands for exactly 0.  Negative values are refused:
** latencies are not negative, and a relative bound means nothing across 0.
**
** Quantiles use the exact aggregate's rule (percentile.h, Requirement 9)
** on the bucket values: with N counted values, h = q*(N-1), i = floor(h),
** f = h - i, the answer is v(i) + f*(v(i+1) - v(i)), where v(k) is the
** value that stands for the rank-k item.  Each v(k) is within a of the
** exact rank-k value and the weights are not negative, so the answer is
** within a of latency_percentile() at the same q, for every q.
**
** Memory: the counts of the buckets from the lowest to the highest one in
** use, 8 bytes each, at most TL_SKETCH_MAX_SPAN of them (1 MiB).  Every
** positive double fits in that span when a >= 0.01; at a = 0.001 the
** largest value may be up to about 1e113 times the smallest.
**
** The blob (docs/percentiles.md has the byte table): canonical — one
** sketch, one byte string — so '=' and GROUP BY work on blobs, and a
** decoded blob re-encodes to the same bytes.
**   magic DD 4B, version 01,
**   varint accuracy in millionths, varint zero count, varint run count,
**   then per run of consecutive non-empty buckets: varint start (the first
**   run: zigzag of its index; later runs: empty buckets since the previous
**   run, minus 1), varint length-1, and length varints count-1.
*/
#ifndef TL_SKETCH_H
#define TL_SKETCH_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../span/span.h"

#define TL_SKETCH_VERSION 1
#define TL_SKETCH_MIN_PPM 1000u            /* relative accuracy 0.001 */
#define TL_SKETCH_MAX_PPM 500000u          /* relative accuracy 0.5 */
#define TL_SKETCH_DEFAULT_PPM 10000u       /* relative accuracy 0.01 */
#define TL_SKETCH_MAX_SPAN (1 << 17)       /* buckets from lowest to highest */
#define TL_SKETCH_MAX_COUNT INT64_MAX      /* sketch_count() is an SQL INTEGER */

typedef struct tl_sketch {
  uint32_t ppm;           /* relative accuracy in millionths */
  double ln_gamma;        /* log(g) */
  double ln_one_minus_a;  /* log(1-a): bucket i stands for g^i*(1-a) */
  int32_t min_index, max_index; /* buckets of DBL_MIN and DBL_MAX */
  uint64_t zero;          /* values counted as 0 */
  uint64_t total;         /* zero + every bucket's count */
  int32_t lo;             /* buckets lo..lo+n-1 have been used (n may be 0) */
  uint32_t n;
  int32_t base;           /* counts[k] is bucket base+k, k < cap; the used */
  uint32_t cap;           /* range lies inside, zero counts are allowed */
  uint64_t *counts;
} tl_sketch;

/* Turns a relative accuracy into millionths (rounded to the nearest).
** TL_OK, or TL_ERANGE with "relative_accuracy must be between 0.001 and
** 0.5 (got 2)" in e (NaN included). */
int tl_sketch_ppm(double accuracy, uint32_t *ppm, tl_err *e);

/* An empty sketch of the given accuracy (ppm already in range). */
void tl_sketch_init(tl_sketch *s, uint32_t ppm);
void tl_sketch_free(tl_sketch *s); /* back to all zeros */

/* Counts x.  TL_OK; TL_ERANGE for x negative, infinite or NaN, or when the
** buckets in use would span more than TL_SKETCH_MAX_SPAN, or the count
** would pass TL_SKETCH_MAX_COUNT; TL_ENOMEM.  e gets the message. */
int tl_sketch_add(tl_sketch *s, double x, tl_err *e);
/* Uncounts x (a window function's inverse).  TL_OK, or TL_EMISUSE when x
** was not counted. */
int tl_sketch_remove(tl_sketch *s, double x);
/* Adds src's counts to dst.  TL_OK; TL_EMISUSE when the accuracies differ
** ("cannot merge sketches of relative accuracy 0.01 and 0.02"); TL_ERANGE
** for a span or count past the limits; TL_ENOMEM. */
int tl_sketch_merge(tl_sketch *dst, const tl_sketch *src, tl_err *e);
/* Takes src's counts back out of dst (a merge window's inverse).  TL_OK, or
** TL_EMISUSE (dst unchanged) when src is not part of dst. */
int tl_sketch_unmerge(tl_sketch *dst, const tl_sketch *src);

/* The quantile at q in [0, 1] by the rule above.  TL_OK, or TL_DONE for an
** empty sketch. */
int tl_sketch_quantile(const tl_sketch *s, double q, double *out);
/* The value bucket i stands for: 2*g^i/(g+1), at most DBL_MAX. */
double tl_sketch_bucket_value(const tl_sketch *s, int32_t i);
/* The bucket of x > 0 (x >= DBL_MIN). */
int32_t tl_sketch_index(const tl_sketch *s, double x);

/* Appends the canonical blob to out (check out->oom). */
void tl_sketch_encode(const tl_sketch *s, tl_buf *out);
/* Reads a blob into s (initialised here; free it even on error).  TL_OK;
** TL_EFORMAT with "bad magic", "unsupported version 7", "truncated at byte
** 9", "non-canonical varint at byte 5", "bucket index 99999 out of range
** at byte 6", "buckets span more than 131072", "count overflows at byte
** 12", "trailing bytes at byte 14", ... in e; TL_ENOMEM. */
int tl_sketch_decode(tl_sketch *s, const void *p, size_t n, tl_err *e);

#endif
