/*
** test_sketch.c — the DDSketch of ext/analysis/sketch.h: the accuracy
** guarantee against the exact percentile on thousands of random cases from
** fixed seeds (uniform, log-normal heavy tails, bimodal, constant, 1 ns to
** 1 hour, zeros, tiny and huge doubles), merges equal to the sketch of the
** whole byte for byte, the blob (a hand-made golden, round trips, every
** decoder error with its message), removal, and the limits.
*/
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "../../ext/analysis/percentile.h"
#include "../../ext/analysis/sketch.h"
#include "../../ext/gen/rng.h"
#include "unit.h"

static const uint32_t accuracies[] = {1000, 5000, 10000, 20000, 50000, 100000, 500000};
#define NACC (sizeof accuracies / sizeof accuracies[0])

/* The exact answer through percentile.h (tested against a sort there). */
static double exact(const double *v, size_t n, double q) {
  tl_pct p = {0};
  tl_err e = {0};
  for (size_t i = 0; i < n; i++) tl_pct_add(&p, v[i], &e);
  double r = NAN;
  tl_pct_value(&p, q, 1, &r);
  tl_pct_free(&p);
  return r;
}

static int build(tl_sketch *s, uint32_t ppm, const double *v, size_t n) {
  tl_err e = {0};
  tl_sketch_init(s, ppm);
  for (size_t i = 0; i < n; i++)
    if (tl_sketch_add(s, v[i], &e)) return e.rc;
  return TL_OK;
}

/* The blob of a sketch, as a malloc'ed copy with its length. */
static uint8_t *blob(const tl_sketch *s, size_t *n) {
  tl_buf b;
  tl_buf_init(&b);
  tl_sketch_encode(s, &b);
  *n = b.n;
  return (uint8_t *)b.p;
}

static int same_blob(const tl_sketch *a, const tl_sketch *b) {
  size_t na, nb;
  uint8_t *pa = blob(a, &na), *pb = blob(b, &nb);
  int same = na == nb && memcmp(pa, pb, na) == 0;
  free(pa);
  free(pb);
  return same;
}

/* Fills v[0..n) from one of the distributions the contract names. */
static const char *fill(tl_rng *r, int shape, double *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    switch (shape) {
    case 0: v[i] = 1 + tl_rng_unit(r) * 1e6; break;
    case 1: v[i] = tl_rng_lognormal(r, 2e6, 1.5); break;
    case 2: v[i] = tl_rng_chance(r, 0.7) ? tl_rng_lognormal(r, 1e5, 0.2)
                                         : tl_rng_lognormal(r, 5e8, 0.3); break;
    case 3: v[i] = 1234567; break;
    case 4: v[i] = floor(exp(tl_rng_unit(r) * log(3.6e12))); break; /* 1 ns .. 1 hour */
    case 5: v[i] = tl_rng_chance(r, 0.3) ? 0 : (double)tl_rng_below(r, 1000); break;
    case 6: v[i] = exp((tl_rng_unit(r) - 0.5) * 1300); break; /* 1e-282 .. 1e282 */
    default: v[i] = tl_rng_exponential(r, 3e4); break;
    }
  }
  static const char *const names[] = {"uniform", "lognormal", "bimodal", "constant",
                                      "1ns..1h", "zeros", "huge range", "exponential"};
  return names[shape];
}
#define NSHAPES 8

/* Requirement 6: within a*E of the exact E at every q, on thousands of
** cases; checked at 0, 1, the usual percentiles and random q. */
TEST(accuracy_property) {
  tl_rng r;
  tl_rng_seed(&r, 424242);
  int bad = 0, cases = 0;
  for (int round = 0; round < 4000 && bad < 5; round++) {
    size_t n = 1 + tl_rng_below(&r, round % 10 == 0 ? 20000 : 400);
    double *v = malloc(n * sizeof *v);
    int shape = round % NSHAPES;
    const char *name = fill(&r, shape, v, n);
    uint32_t ppm = accuracies[tl_rng_below(&r, NACC)];
    if (shape == 6 && ppm < 10000) ppm = 10000; /* every double fits from 1% up */
    tl_sketch s;
    CHECK_INT(build(&s, ppm, v, n), TL_OK);
    CHECK_INT(s.total, n);
    double a = ppm / 1e6;
    double qs[] = {0, 1, 0.5, 0.9, 0.99, 0.999, tl_rng_unit(&r), tl_rng_unit(&r)};
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
      double want = exact(v, n, qs[k]), got;
      CHECK_INT(tl_sketch_quantile(&s, qs[k], &got), TL_OK);
      if (!(fabs(got - want) <= a * want * (1 + 1e-9))) {
        UNIT_FAIL("%s n %zu a %g q %.17g: sketch %.17g exact %.17g (rel %.3g)", name, n, a, qs[k],
                  got, want, fabs(got - want) / want);
        bad++;
      }
      cases++;
    }
    tl_sketch_free(&s);
    free(v);
  }
  CHECK(cases >= 30000);
}

/* Every bucket value is within a of every value of the bucket, tried at
** bucket boundaries g^k (where the rounding of log decides) and across the
** whole double range. */
TEST(bucket_values) {
  tl_rng r;
  tl_rng_seed(&r, 5);
  int bad = 0;
  for (size_t ai = 0; ai < NACC; ai++) {
    tl_sketch s;
    tl_sketch_init(&s, accuracies[ai]);
    double a = accuracies[ai] / 1e6;
    for (int t = 0; t < 20000 && bad < 5; t++) {
      double x;
      if (t % 2) {
        x = exp(tl_rng_unit(&r) * 1418 - 708); /* DBL_MIN .. DBL_MAX, roughly */
      } else {
        int k = (int)tl_rng_range(&r, -300, 300);
        x = exp(k * s.ln_gamma); /* a boundary, up to rounding */
      }
      if (!(x >= DBL_MIN && x <= DBL_MAX)) continue;
      double v = tl_sketch_bucket_value(&s, tl_sketch_index(&s, x));
      if (!(fabs(v - x) <= a * x * (1 + 1e-9))) {
        UNIT_FAIL("a %g x %.17g: bucket value %.17g", a, x, v);
        bad++;
      }
    }
    for (int t = 0; t < 2; t++) {
      double x = t ? DBL_MAX : DBL_MIN;
      double v = tl_sketch_bucket_value(&s, tl_sketch_index(&s, x));
      CHECK(fabs(v - x) <= a * x * (1 + 1e-9));
    }
    CHECK_INT(s.min_index, tl_sketch_index(&s, DBL_MIN));
    CHECK_INT(s.max_index, tl_sketch_index(&s, DBL_MAX));
    /* The span claim of sketch.h: every positive double fits from a = 0.01. */
    if (accuracies[ai] >= 10000) CHECK(s.max_index - s.min_index + 1 <= TL_SKETCH_MAX_SPAN);
    tl_sketch_free(&s);
  }
}

/* Requirement 4: zero and the values below DBL_MIN come back as 0. */
TEST(zero_counter) {
  double v[] = {0, -0.0, DBL_MIN / 2, 5e-324, DBL_MIN, 1, 1};
  tl_sketch s;
  CHECK_INT(build(&s, 10000, v, 7), TL_OK);
  CHECK_INT(s.zero, 4);
  CHECK_INT(s.total, 7);
  double q;
  tl_sketch_quantile(&s, 0, &q);
  CHECK(q == 0);
  tl_sketch_quantile(&s, 0.5, &q); /* rank 3: the fourth zero */
  CHECK(q == 0);
  tl_sketch_quantile(&s, 4.0 / 6, &q); /* rank 4: DBL_MIN itself */
  CHECK(fabs(q - DBL_MIN) <= 0.01 * DBL_MIN * (1 + 1e-9));
  tl_sketch_quantile(&s, 1, &q);
  CHECK(fabs(q - 1) <= 0.01 * (1 + 1e-9));
  tl_sketch_free(&s);
}

/* Requirement 7: merging the sketches of any partition of the values, in
** any order and grouping, gives the sketch of the whole, byte for byte. */
TEST(merge_equals_whole) {
  tl_rng r;
  tl_rng_seed(&r, 31337);
  tl_err e = {0};
  int bad = 0;
  for (int round = 0; round < 500 && !bad; round++) {
    size_t n = tl_rng_below(&r, 3000);
    double *v = malloc((n + 1) * sizeof *v);
    fill(&r, round % NSHAPES, v, n);
    uint32_t ppm = round % NSHAPES == 6 ? 10000 : accuracies[round % NACC];
    tl_sketch whole;
    build(&whole, ppm, v, n);
    size_t parts = 1 + tl_rng_below(&r, 8);
    tl_sketch part[8];
    for (size_t k = 0; k < parts; k++) tl_sketch_init(&part[k], ppm);
    for (size_t i = 0; i < n; i++) tl_sketch_add(&part[tl_rng_below(&r, parts)], v[i], &e);
    /* Through the blob, as SQL does: decode each part's encoding. */
    for (size_t k = 0; k < parts; k++) {
      size_t bn;
      uint8_t *b = blob(&part[k], &bn);
      tl_sketch_free(&part[k]);
      CHECK_INT(tl_sketch_decode(&part[k], b, bn, &e), TL_OK);
      free(b);
    }
    /* Merge random pairs until one sketch is left. */
    while (parts > 1) {
      size_t i = tl_rng_below(&r, parts), j = tl_rng_below(&r, parts - 1);
      if (j >= i) j++;
      CHECK_INT(tl_sketch_merge(&part[i], &part[j], &e), TL_OK);
      tl_sketch_free(&part[j]);
      part[j] = part[--parts];
    }
    if (!same_blob(&part[0], &whole)) {
      UNIT_FAIL("round %d: merge of parts differs from the whole", round);
      bad = 1;
    }
    tl_sketch_free(&part[0]);
    tl_sketch_free(&whole);
    free(v);
  }
}

TEST(unmerge) {
  double a[] = {1, 2, 3, 0}, b[] = {2, 1e6};
  tl_sketch sa, sb, sab;
  tl_err e = {0};
  build(&sa, 10000, a, 4);
  build(&sb, 10000, b, 2);
  build(&sab, 10000, a, 4);
  CHECK_INT(tl_sketch_merge(&sab, &sb, &e), TL_OK);
  CHECK_INT(tl_sketch_unmerge(&sab, &sb), TL_OK);
  CHECK(same_blob(&sab, &sa));
  CHECK_INT(tl_sketch_unmerge(&sab, &sb), TL_EMISUSE); /* not part of it any more */
  CHECK(same_blob(&sab, &sa));                         /* and left unchanged */
  tl_sketch other;
  build(&other, 20000, a, 4);
  CHECK_INT(tl_sketch_unmerge(&sab, &other), TL_EMISUSE);
  tl_sketch_free(&sa);
  tl_sketch_free(&sb);
  tl_sketch_free(&sab);
  tl_sketch_free(&other);
}

/* Requirement 8 and the other merge refusals. */
TEST(merge_refusals) {
  double v[] = {1, 2};
  tl_sketch a, b;
  tl_err e = {0};
  build(&a, 10000, v, 2);
  build(&b, 20000, v, 2);
  CHECK_INT(tl_sketch_merge(&a, &b, &e), TL_EMISUSE);
  CHECK_STR(e.msg, "cannot merge sketches of relative accuracy 0.01 and 0.02");
  tl_err_clear(&e);
  tl_sketch_free(&b);
  /* Requirement 13: counts past 2^63-1. */
  build(&b, 10000, v, 2);
  b.total = (uint64_t)INT64_MAX - 1;
  CHECK_INT(tl_sketch_merge(&a, &b, &e), TL_ERANGE);
  CHECK_STR(e.msg, "the count of values passes 9223372036854775807");
  tl_err_clear(&e);
  a.total = (uint64_t)INT64_MAX;
  CHECK_INT(tl_sketch_add(&a, 1, &e), TL_ERANGE);
  CHECK_STR(e.msg, "the count of values passes 9223372036854775807");
  tl_sketch_free(&a);
  tl_sketch_free(&b);
}

/* Requirements 2, 3 and 13: what is refused, with the messages. */
TEST(refusals) {
  tl_err e = {0};
  uint32_t ppm = 0;
  CHECK_INT(tl_sketch_ppm(0.01, &ppm, &e), TL_OK);
  CHECK_INT(ppm, 10000);
  CHECK_INT(tl_sketch_ppm(0.0123456789, &ppm, &e), TL_OK);
  CHECK_INT(ppm, 12346);
  CHECK_INT(tl_sketch_ppm(0.001, &ppm, &e), TL_OK);
  CHECK_INT(ppm, 1000);
  CHECK_INT(tl_sketch_ppm(0.5, &ppm, &e), TL_OK);
  CHECK_INT(ppm, 500000);
  CHECK_INT(tl_sketch_ppm(0.0009999, &ppm, &e), TL_ERANGE);
  CHECK_STR(e.msg, "relative_accuracy must be between 0.001 and 0.5 (got 0.0009999)");
  tl_err_clear(&e);
  CHECK_INT(tl_sketch_ppm(2, &ppm, &e), TL_ERANGE);
  CHECK_STR(e.msg, "relative_accuracy must be between 0.001 and 0.5 (got 2)");
  tl_err_clear(&e);
  CHECK_INT(tl_sketch_ppm(NAN, &ppm, &e), TL_ERANGE);
  tl_err_clear(&e);

  tl_sketch s;
  tl_sketch_init(&s, 1000);
  CHECK_INT(tl_sketch_add(&s, -5, &e), TL_ERANGE);
  CHECK_STR(e.msg, "x must not be negative (got -5)");
  tl_err_clear(&e);
  CHECK_INT(tl_sketch_add(&s, -INFINITY, &e), TL_ERANGE);
  CHECK_STR(e.msg, "x must not be negative (got -Inf)");
  tl_err_clear(&e);
  CHECK_INT(tl_sketch_add(&s, INFINITY, &e), TL_ERANGE);
  CHECK_STR(e.msg, "x must be finite (got Inf)");
  tl_err_clear(&e);
  CHECK_INT(tl_sketch_add(&s, NAN, &e), TL_ERANGE);
  CHECK_STR(e.msg, "x must not be NaN");
  tl_err_clear(&e);
  CHECK_INT(tl_sketch_add(&s, 1e-300, &e), TL_OK);
  CHECK_INT(tl_sketch_add(&s, 1e300, &e), TL_ERANGE);
  CHECK_STR(e.msg, "values span more than 131072 buckets (the largest is too many times the "
                   "smallest for relative_accuracy 0.001)");
  tl_err_clear(&e);
  CHECK_INT(s.total, 1);
  CHECK(s.cap <= TL_SKETCH_MAX_SPAN);
  tl_sketch_free(&s);
}

/* Removal is the exact inverse of adding (window frames). */
TEST(removal) {
  tl_rng r;
  tl_rng_seed(&r, 3);
  tl_err e = {0};
  double v[500];
  fill(&r, 1, v, 500);
  tl_sketch all, half;
  build(&all, 10000, v, 500);
  build(&half, 10000, v, 250);
  for (int i = 250; i < 500; i++) CHECK_INT(tl_sketch_remove(&all, v[i]), TL_OK);
  CHECK(same_blob(&all, &half));
  for (int i = 0; i < 250; i++) CHECK_INT(tl_sketch_remove(&all, v[i]), TL_OK);
  CHECK_INT(all.total, 0);
  double q;
  CHECK_INT(tl_sketch_quantile(&all, 0.5, &q), TL_DONE);
  CHECK_INT(tl_sketch_remove(&all, v[0]), TL_EMISUSE);
  CHECK_INT(tl_sketch_remove(&all, 0), TL_EMISUSE);
  CHECK_INT(tl_sketch_remove(&all, -1), TL_EMISUSE);
  CHECK_INT(tl_sketch_remove(&all, 1e300), TL_EMISUSE);
  tl_sketch_add(&all, 0, &e);
  CHECK_INT(tl_sketch_remove(&all, 0), TL_OK);
  tl_sketch_free(&all);
  tl_sketch_free(&half);
}

/* The worked example of docs/percentiles.md: {0, 1, 1, 2} at 1%.
** 1 is bucket ceil(0) = 0; 2 is ceil(ln 2 / ln(1.01/0.99)) = ceil(34.66)
** = 35; so: magic DD 4B, version 01, accuracy 10000 = 90 4E, one zero 01,
** two runs 02, run one at zigzag(0) = 00 of length 1 (00) counting 2 (01),
** run two 34 empty buckets later (34-1 = 0x21) of length 1 (00) counting 1
** (00). */
TEST(golden_blob) {
  static const uint8_t want[] = {0xDD, 0x4B, 0x01, 0x90, 0x4E, 0x01, 0x02,
                                 0x00, 0x00, 0x01, 0x21, 0x00, 0x00};
  double v[] = {0, 1, 1, 2};
  tl_sketch s;
  build(&s, 10000, v, 4);
  size_t n;
  uint8_t *b = blob(&s, &n);
  CHECK_INT(n, sizeof want);
  CHECK(n == sizeof want && memcmp(b, want, n) == 0);
  free(b);
  double q;
  tl_sketch_quantile(&s, 1, &q);
  CHECK(fabs(q - exp(35 * s.ln_gamma) * 0.99) < 1e-12);
  tl_sketch_free(&s);
}

/* A decoded blob re-encodes to the same bytes and answers the same. */
TEST(round_trip) {
  tl_rng r;
  tl_rng_seed(&r, 77);
  tl_err e = {0};
  for (int round = 0; round < 300; round++) {
    size_t n = tl_rng_below(&r, 2000);
    double *v = malloc((n + 1) * sizeof *v);
    fill(&r, round % NSHAPES, v, n);
    tl_sketch s, d;
    build(&s, round % NSHAPES == 6 ? 10000 : accuracies[round % NACC], v, n);
    size_t bn, dn;
    uint8_t *b = blob(&s, &bn);
    CHECK_INT(tl_sketch_decode(&d, b, bn, &e), TL_OK);
    uint8_t *b2 = blob(&d, &dn);
    CHECK(bn == dn && memcmp(b, b2, bn) == 0);
    CHECK_INT(d.total, s.total);
    double q1 = 0, q2 = 0;
    tl_sketch_quantile(&s, 0.9, &q1);
    tl_sketch_quantile(&d, 0.9, &q2);
    CHECK(q1 == q2);
    free(b);
    free(b2);
    tl_sketch_free(&s);
    tl_sketch_free(&d);
    free(v);
  }
}

/* Requirement 11: every decoder error, with its message. */
static void check_bad(const char *hex, const char *msg, int line) {
  uint8_t b[64];
  long n = tl_hex_decode(hex, strlen(hex), b, sizeof b);
  tl_sketch s;
  tl_err e = {0};
  int rc = tl_sketch_decode(&s, b, (size_t)n, &e);
  tl_sketch_free(&s);
  if (rc != TL_EFORMAT || strcmp(e.msg, msg) != 0)
    UNIT_FAIL("line %d: %s gave rc %d \"%.160s\", expected \"%s\"", line, hex, rc, e.msg, msg);
}
#define BAD(hex, msg) check_bad(hex, msg, __LINE__)

TEST(decoder_errors) {
  BAD("", "truncated at byte 0");
  BAD("dd", "truncated at byte 1");
  BAD("dd4b", "truncated at byte 2");
  BAD("00", "bad magic (not a tracelite sketch)");
  BAD("dd4c01", "bad magic (not a tracelite sketch)");
  BAD("dd4b02904e0000", "unsupported version 2 (this build reads version 1)");
  BAD("dd4b00", "unsupported version 0 (this build reads version 1)");
  BAD("dd4b01e707", "relative accuracy 999e-6 out of range at byte 3");
  BAD("dd4b01a1c21e", "relative accuracy 500001e-6 out of range at byte 3");
  BAD("dd4b01904e", "truncated at byte 5");
  BAD("dd4b01904e00", "truncated at byte 6");
  BAD("dd4b01904e8000", "non-canonical varint at byte 5");
  BAD("dd4b01904e00ffffffffffffffffff02", "varint overflows at byte 6");
  BAD("dd4b01904e00ffffffffffffffffff7f", "varint overflows at byte 6");
  BAD("dd4b01904e0001", "truncated at byte 7");
  BAD("dd4b01904e000100", "truncated at byte 8");
  BAD("dd4b01904e00010000", "truncated at byte 9");
  /* run length 2 but one count byte left */
  BAD("dd4b01904e0001000100", "truncated at byte 10");
  /* the first run's index: 70000 (zigzag e0 c5 08) is past 35488 */
  BAD("dd4b01904e0001e0c5080000",
      "bucket index out of range at byte 7 (relative accuracy 0.01 allows -35418..35488)");
  /* the second run starts past the top */
  BAD("dd4b01904e000200000080a2080000",
      "bucket index out of range at byte 10 (relative accuracy 0.01 allows -35418..35488)");
  /* a run whose length reaches past the top: start 35488 (zigzag c0 aa 04),
  ** length 2 (its length varint is at byte 10) */
  BAD("dd4b01904e0001c0aa0401000000",
      "bucket index out of range at byte 10 (relative accuracy 0.01 allows -35418..35488)");
  /* at 0.001 two runs 200000 buckets apart: the span limit */
  BAD("dd4b01e8070002000000c09a0c0000", "buckets span more than 131072 at byte 10");
  /* counts: 2^63-1 zeros is fine, one more bucket overflows */
  BAD("dd4b01904effffffffffffffff7f01000000", "count overflows at byte 17");
  BAD("dd4b01904e808080808080808080010000", "count overflows at byte 5");
  BAD("dd4b01904e000100000000", "trailing bytes at byte 10");
  /* Other spellings of a sketch cannot be written at all: counts, run
  ** lengths and gaps are stored minus one, so empty buckets and touching
  ** runs have no encoding. */
}

/* The smallest valid blobs, and where the limits sit exactly. */
TEST(decoder_accepts) {
  static const char *const ok[] = {
      "dd4b01904e0000",                 /* empty sketch */
      "dd4b01904effffffffffffffff7f00", /* 2^63-1 zeros */
      "dd4b01904e0001b3a9040000",       /* the lowest bucket at 1%: -35418 */
      "dd4b01904e0001c0aa040000",       /* the highest: 35488 */
      "dd4b01e8070002000000fdff070000", /* 0.001, span exactly 131072 */
  };
  for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
    uint8_t b[64];
    long n = tl_hex_decode(ok[k], strlen(ok[k]), b, sizeof b);
    tl_sketch s;
    tl_err e = {0};
    int rc = tl_sketch_decode(&s, b, (size_t)n, &e);
    if (rc != TL_OK) UNIT_FAIL("%s: rc %d %.160s", ok[k], rc, e.msg);
    size_t bn;
    uint8_t *b2 = blob(&s, &bn);
    CHECK((long)bn == n && memcmp(b, b2, bn) == 0);
    free(b2);
    tl_sketch_free(&s);
  }
}

/* Every strict prefix of a real blob is "truncated" at its length. */
TEST(prefixes_truncated) {
  tl_rng r;
  tl_rng_seed(&r, 8);
  double v[300];
  fill(&r, 2, v, 300);
  tl_sketch s;
  build(&s, 10000, v, 300);
  size_t n;
  uint8_t *b = blob(&s, &n);
  for (size_t k = 0; k < n; k++) {
    tl_sketch d;
    tl_err e = {0};
    char want[64];
    snprintf(want, sizeof want, "truncated at byte %zu", k);
    uint8_t *copy = malloc(k + 1);
    memcpy(copy, b, k);
    CHECK_INT(tl_sketch_decode(&d, copy, k, &e), TL_EFORMAT);
    CHECK_STR(e.msg, want);
    tl_sketch_free(&d);
    free(copy);
  }
  free(b);
  tl_sketch_free(&s);
}

int main(void) {
  RUN(accuracy_property);
  RUN(bucket_values);
  RUN(zero_counter);
  RUN(merge_equals_whole);
  RUN(unmerge);
  RUN(merge_refusals);
  RUN(refusals);
  RUN(removal);
  RUN(golden_blob);
  RUN(round_trip);
  RUN(decoder_errors);
  RUN(decoder_accepts);
  RUN(prefixes_truncated);
  return UNIT_DONE();
}
