/*
** sketch.c — the DDSketch of sketch.h: dense bucket counts in memory, runs
** of non-empty buckets in the blob, and a decoder that accepts exactly the
** blobs the encoder writes.
**
** Why dense in memory: adding a value is one log() and one increment, and a
** latency distribution fills a few hundred neighbouring buckets.  Why runs
** in the blob: the same distribution is a handful of runs, so a bucket
** costs its count's varint (one byte up to 128) and nothing for its index.
** Why canonical: merging parts must give the sketch of the whole "bucket
** for bucket", which the tests check as equal bytes, and a decoder that
** rejects every other spelling (non-minimal varints, empty buckets written
** out, touching runs, trailing bytes) makes byte equality mean sketch
** equality.
*/
#include "sketch.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/varint.h"

static const uint8_t magic[2] = {0xDD, 0x4B};

int tl_sketch_ppm(double accuracy, uint32_t *ppm, tl_err *e) {
  if (!(accuracy >= TL_SKETCH_MIN_PPM / 1e6 && accuracy <= TL_SKETCH_MAX_PPM / 1e6))
    return tl_err_set(e, TL_ERANGE, "relative_accuracy must be between 0.001 and 0.5 (got %.15g)",
                      accuracy);
  *ppm = (uint32_t)lround(accuracy * 1e6);
  return TL_OK;
}

void tl_sketch_init(tl_sketch *s, uint32_t ppm) {
  memset(s, 0, sizeof *s);
  double a = ppm / 1e6;
  s->ppm = ppm;
  s->ln_gamma = log1p(a) - log1p(-a);
  s->ln_one_minus_a = log1p(-a);
  s->min_index = tl_sketch_index(s, DBL_MIN);
  s->max_index = tl_sketch_index(s, DBL_MAX);
}

void tl_sketch_free(tl_sketch *s) {
  free(s->counts);
  memset(s, 0, sizeof *s);
}

int32_t tl_sketch_index(const tl_sketch *s, double x) {
  return (int32_t)ceil(log(x) / s->ln_gamma);
}

double tl_sketch_bucket_value(const tl_sketch *s, int32_t i) {
  /* g^i*(1-a) in one exp(), so that it stays finite where it can; the
  ** bucket of DBL_MAX may stand for more, and DBL_MAX is closer. */
  double v = exp(i * s->ln_gamma + s->ln_one_minus_a);
  return v <= DBL_MAX ? v : DBL_MAX;
}

/* Makes buckets lo..hi (lo <= hi) part of the used range and addressable.
** TL_OK; TL_ERANGE when the used range would pass TL_SKETCH_MAX_SPAN;
** TL_ENOMEM. */
static int reserve(tl_sketch *s, int32_t lo, int32_t hi, tl_err *e) {
  int64_t ulo = lo, uhi = hi;
  if (s->n) {
    if (s->lo < ulo) ulo = s->lo;
    if ((int64_t)s->lo + s->n - 1 > uhi) uhi = (int64_t)s->lo + s->n - 1;
  }
  int64_t span = uhi - ulo + 1;
  if (span > TL_SKETCH_MAX_SPAN)
    return tl_err_set(e, TL_ERANGE,
                      "values span more than %d buckets (the largest is too many times the "
                      "smallest for relative_accuracy %.15g)",
                      TL_SKETCH_MAX_SPAN, s->ppm / 1e6);
  if (!s->counts || ulo < s->base || uhi >= (int64_t)s->base + s->cap) {
    /* Double the room (bounded by the span limit), slack on the side that
    ** grew, as latencies tend to keep growing the way they started. */
    int64_t cap = (int64_t)s->cap * 2;
    if (cap < 64) cap = 64;
    if (cap < span) cap = span;
    if (cap > TL_SKETCH_MAX_SPAN) cap = TL_SKETCH_MAX_SPAN;
    int64_t base = cap == TL_SKETCH_MAX_SPAN    ? ulo - (cap - span) / 2
                   : s->counts && ulo < s->base ? uhi - cap + 1
                                                : ulo;
    uint64_t *c = calloc((size_t)cap, sizeof *c);
    if (!c) return tl_err_set(e, TL_ENOMEM, "out of memory");
    if (s->n)
      memcpy(c + (s->lo - base), s->counts + (s->lo - s->base), s->n * sizeof *c);
    free(s->counts);
    s->counts = c;
    s->base = (int32_t)base;
    s->cap = (uint32_t)cap;
  }
  s->lo = (int32_t)ulo;
  s->n = (uint32_t)span;
  return TL_OK;
}

static int count_overflow(tl_err *e) {
  return tl_err_set(e, TL_ERANGE, "the count of values passes %" PRId64, TL_SKETCH_MAX_COUNT);
}

int tl_sketch_add(tl_sketch *s, double x, tl_err *e) {
  if (isnan(x)) return tl_err_set(e, TL_ERANGE, "x must not be NaN");
  if (x < 0) {
    if (isinf(x)) return tl_err_set(e, TL_ERANGE, "x must not be negative (got -Inf)");
    return tl_err_set(e, TL_ERANGE, "x must not be negative (got %.15g)", x);
  }
  if (isinf(x)) return tl_err_set(e, TL_ERANGE, "x must be finite (got Inf)");
  if (s->total == (uint64_t)TL_SKETCH_MAX_COUNT) return count_overflow(e);
  if (x < DBL_MIN) {
    s->zero++;
  } else {
    int32_t i = tl_sketch_index(s, x);
    int rc = reserve(s, i, i, e);
    if (rc) return rc;
    s->counts[i - s->base]++;
  }
  s->total++;
  return TL_OK;
}

int tl_sketch_remove(tl_sketch *s, double x) {
  uint64_t *slot;
  if (!(x >= 0) || isinf(x)) return TL_EMISUSE;
  if (x < DBL_MIN) {
    slot = &s->zero;
  } else {
    int32_t i = tl_sketch_index(s, x);
    if (!s->n || i < s->lo || i - s->lo >= (int64_t)s->n) return TL_EMISUSE;
    slot = &s->counts[i - s->base];
  }
  if (*slot == 0) return TL_EMISUSE;
  (*slot)--;
  s->total--;
  return TL_OK;
}

int tl_sketch_merge(tl_sketch *dst, const tl_sketch *src, tl_err *e) {
  if (dst->ppm != src->ppm)
    return tl_err_set(e, TL_EMISUSE, "cannot merge sketches of relative accuracy %.15g and %.15g",
                      dst->ppm / 1e6, src->ppm / 1e6);
  if (src->total > (uint64_t)TL_SKETCH_MAX_COUNT - dst->total) return count_overflow(e);
  if (src->n) {
    int rc = reserve(dst, src->lo, (int32_t)(src->lo + (int64_t)src->n - 1), e);
    if (rc) return rc;
    const uint64_t *from = src->counts + (src->lo - src->base);
    uint64_t *to = dst->counts + (src->lo - dst->base);
    for (uint32_t k = 0; k < src->n; k++) to[k] += from[k];
  }
  dst->zero += src->zero;
  dst->total += src->total;
  return TL_OK;
}

int tl_sketch_unmerge(tl_sketch *dst, const tl_sketch *src) {
  if (dst->ppm != src->ppm || src->zero > dst->zero || src->total > dst->total) return TL_EMISUSE;
  if (src->n && (src->lo < dst->lo || src->lo + (int64_t)src->n > dst->lo + (int64_t)dst->n))
    return TL_EMISUSE;
  const uint64_t *from = src->counts ? src->counts + (src->lo - src->base) : NULL;
  uint64_t *to = src->n ? dst->counts + (src->lo - dst->base) : NULL;
  for (uint32_t k = 0; k < src->n; k++)
    if (from[k] > to[k]) return TL_EMISUSE;
  for (uint32_t k = 0; k < src->n; k++) to[k] -= from[k];
  dst->zero -= src->zero;
  dst->total -= src->total;
  return TL_OK;
}

/* The value standing for the item of rank r (0-based, r < total). */
static double rank_value(const tl_sketch *s, uint64_t r) {
  if (r < s->zero) return 0;
  r -= s->zero;
  const uint64_t *c = s->counts + (s->lo - s->base);
  uint32_t k = 0;
  while (r >= c[k]) r -= c[k++];
  return tl_sketch_bucket_value(s, (int32_t)(s->lo + (int64_t)k));
}

int tl_sketch_quantile(const tl_sketch *s, double q, double *out) {
  if (s->total == 0) return TL_DONE;
  /* The rule of percentile.h's Requirement 9, on bucket values. */
  uint64_t last = s->total - 1;
  double h = q * (double)last;
  uint64_t i = h >= (double)last ? last : (uint64_t)h;
  double f = i == last ? 0 : h - (double)i;
  double v0 = rank_value(s, i);
  *out = f == 0 ? v0 : v0 + f * (rank_value(s, i + 1) - v0);
  return TL_OK;
}

/* ---- the blob ----------------------------------------------------------- */

void tl_sketch_encode(const tl_sketch *s, tl_buf *out) {
  const uint64_t *c = s->counts ? s->counts + (s->lo - s->base) : NULL;
  uint64_t runs = 0;
  for (uint32_t k = 0; k < s->n; k++)
    if (c[k] && (k == 0 || !c[k - 1])) runs++;
  tl_buf_append(out, magic, sizeof magic);
  tl_buf_putc(out, TL_SKETCH_VERSION);
  tl_buf_varint(out, s->ppm);
  tl_buf_varint(out, s->zero);
  tl_buf_varint(out, runs);
  int64_t prev_end = 0;
  int first = 1;
  for (uint32_t k = 0; k < s->n;) {
    if (!c[k]) {
      k++;
      continue;
    }
    uint32_t len = 1;
    while (k + len < s->n && c[k + len]) len++;
    int64_t idx = (int64_t)s->lo + k;
    tl_buf_varint(out, first ? tl_zigzag(idx) : (uint64_t)(idx - prev_end - 2));
    tl_buf_varint(out, len - 1);
    for (uint32_t j = 0; j < len; j++) tl_buf_varint(out, c[k + j] - 1);
    prev_end = idx + len - 1;
    first = 0;
    k += len;
  }
}

/* A cursor over the blob that names byte offsets in its messages. */
typedef struct rd {
  const uint8_t *p;
  size_t n, pos;
  tl_err *e;
} rd;

static int truncated(rd *r) {
  return tl_err_set(r->e, TL_EFORMAT, "truncated at byte %zu", r->n);
}

/* A minimal LEB128 varint: the encoder never writes a trailing 0x00 byte
** (a longer spelling of a smaller number) nor more than 64 bits. */
static int rd_varint(rd *r, uint64_t *v) {
  size_t at = r->pos;
  uint64_t x = 0;
  for (int shift = 0;; shift += 7) {
    if (r->pos >= r->n) return truncated(r);
    uint8_t b = r->p[r->pos++];
    if (shift == 63 && b > 1)
      return tl_err_set(r->e, TL_EFORMAT, "varint overflows at byte %zu", at);
    x |= (uint64_t)(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      if (b == 0 && shift > 0)
        return tl_err_set(r->e, TL_EFORMAT, "non-canonical varint at byte %zu", at);
      *v = x;
      return TL_OK;
    }
  }
}

static int out_of_range(rd *r, const tl_sketch *s, size_t at) {
  return tl_err_set(r->e, TL_EFORMAT,
                    "bucket index out of range at byte %zu (relative accuracy %.15g allows "
                    "%" PRId32 "..%" PRId32 ")",
                    at, s->ppm / 1e6, s->min_index, s->max_index);
}

/* One run: its start (already read as v at byte at), length and counts. */
static int rd_run(rd *r, tl_sketch *s, int first, uint64_t v, size_t at, int64_t *prev_end) {
  int64_t idx;
  if (first) {
    idx = tl_unzigzag(v);
    if (idx < s->min_index || idx > s->max_index) return out_of_range(r, s, at);
  } else {
    /* v is the number of empty buckets since the previous run, minus 1. */
    int64_t room = s->max_index - *prev_end - 2;
    if (room < 0 || v > (uint64_t)room) return out_of_range(r, s, at);
    idx = *prev_end + 2 + (int64_t)v;
  }
  uint64_t len1;
  size_t len_at = r->pos;
  if (rd_varint(r, &len1)) return r->e->rc;
  if (len1 > (uint64_t)(s->max_index - idx)) return out_of_range(r, s, len_at);
  int64_t span_lo = s->n ? s->lo : idx;
  if (idx + (int64_t)len1 - span_lo + 1 > TL_SKETCH_MAX_SPAN)
    return tl_err_set(r->e, TL_EFORMAT, "buckets span more than %d at byte %zu",
                      TL_SKETCH_MAX_SPAN, at);
  /* Every count takes a byte: refuse a length the blob cannot hold before
  ** making room for it. */
  if (len1 >= r->n - r->pos) return truncated(r);
  int rc = reserve(s, (int32_t)idx, (int32_t)(idx + (int64_t)len1), r->e);
  if (rc) return rc; /* TL_ENOMEM: the span was checked above */
  uint64_t *c = s->counts + (idx - s->base);
  for (uint64_t k = 0; k <= len1; k++) {
    uint64_t c1;
    at = r->pos;
    if (rd_varint(r, &c1)) return r->e->rc;
    if (c1 >= (uint64_t)TL_SKETCH_MAX_COUNT - s->total)
      return tl_err_set(r->e, TL_EFORMAT, "count overflows at byte %zu", at);
    c[k] = c1 + 1;
    s->total += c1 + 1;
  }
  *prev_end = idx + (int64_t)len1;
  return TL_OK;
}

int tl_sketch_decode(tl_sketch *s, const void *p, size_t n, tl_err *e) {
  rd r = {p, n, 0, e};
  memset(s, 0, sizeof *s);
  for (size_t k = 0; k < sizeof magic; k++) {
    if (k == n) return truncated(&r);
    if (r.p[k] != magic[k]) return tl_err_set(e, TL_EFORMAT, "bad magic (not a tracelite sketch)");
  }
  if (n == 2) return truncated(&r);
  if (r.p[2] != TL_SKETCH_VERSION)
    return tl_err_set(e, TL_EFORMAT, "unsupported version %u (this build reads version %d)",
                      r.p[2], TL_SKETCH_VERSION);
  r.pos = 3;
  uint64_t ppm, zero, runs;
  if (rd_varint(&r, &ppm)) return e->rc;
  if (ppm < TL_SKETCH_MIN_PPM || ppm > TL_SKETCH_MAX_PPM)
    return tl_err_set(e, TL_EFORMAT, "relative accuracy %" PRIu64 "e-6 out of range at byte 3",
                      ppm);
  tl_sketch_init(s, (uint32_t)ppm);
  size_t at = r.pos;
  if (rd_varint(&r, &zero)) return e->rc;
  if (zero > (uint64_t)TL_SKETCH_MAX_COUNT)
    return tl_err_set(e, TL_EFORMAT, "count overflows at byte %zu", at);
  s->zero = s->total = zero;
  if (rd_varint(&r, &runs)) return e->rc;
  int64_t prev_end = 0;
  for (uint64_t k = 0; k < runs; k++) {
    uint64_t v;
    at = r.pos;
    if (rd_varint(&r, &v)) return e->rc;
    int rc = rd_run(&r, s, k == 0, v, at, &prev_end);
    if (rc) return rc;
  }
  if (r.pos != n) return tl_err_set(e, TL_EFORMAT, "trailing bytes at byte %zu", r.pos);
  return TL_OK;
}
