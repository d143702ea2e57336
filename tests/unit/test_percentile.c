/*
** test_percentile.c — the exact percentile of ext/analysis/percentile.h
** against a sort: the interpolation rule (Requirement 9) on hand-computed
** and on random inputs from fixed seeds, both modes (bulk selection and the
** ordered chunks of window frames) against a brute-force sorted array, the
** chunk invariant, the limits and every message.
*/
#include <math.h>
#include <stdlib.h>

#include "../../ext/analysis/percentile.h"
#include "../../ext/gen/rng.h"
#include "unit.h"

static int cmp_d(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* Requirement 9 on a sorted copy, written out as the header states it. */
static double by_sort(const double *v, size_t n, double q) {
  double *s = malloc(n * sizeof *s);
  memcpy(s, v, n * sizeof *s);
  qsort(s, n, sizeof *s, cmp_d);
  double h = q * (double)(n - 1);
  size_t i = (size_t)floor(h);
  double f = h - (double)i, r;
  if (i >= n - 1 || f == 0)
    r = s[i >= n - 1 ? n - 1 : i];
  else
    r = s[i] + f * (s[i + 1] - s[i]);
  free(s);
  return r;
}

static double answer(tl_pct *p, double q, int final) {
  double v = NAN;
  int rc = tl_pct_value(p, q, final, &v);
  return rc == TL_OK ? v : NAN;
}

static double answer_of(const double *v, size_t n, double q) {
  tl_pct p = {0};
  tl_err e = {0};
  for (size_t i = 0; i < n; i++) tl_pct_add(&p, v[i], &e);
  double r = answer(&p, q, 1);
  tl_pct_free(&p);
  return r;
}

/* Requirements 7, 8, 9: hand-computed answers. */
TEST(hand_computed) {
  tl_pct p = {0};
  double v;
  CHECK_INT(tl_pct_value(&p, 0.5, 1, &v), TL_DONE);
  double one[] = {42};
  CHECK(answer_of(one, 1, 0) == 42 && answer_of(one, 1, 0.37) == 42 && answer_of(one, 1, 1) == 42);
  double four[] = {4, 1, 3, 2};
  CHECK(answer_of(four, 4, 0.5) == 2.5);  /* h = 1.5 */
  CHECK(answer_of(four, 4, 0.25) == 1.75); /* h = 0.75 */
  CHECK(answer_of(four, 4, 0) == 1);
  CHECK(answer_of(four, 4, 1) == 4);
  CHECK(answer_of(four, 4, 2.0 / 3) == 3); /* h = 2 exactly: no interpolation */
  double ten[] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
  CHECK(answer_of(ten, 10, 0.99) == 99.1); /* h = 8.91: 90 + 0.91*10 */
  CHECK(answer_of(ten, 10, 0.9) == 91);    /* h = 8.1 */
  double neg[] = {-5, 0, -1e-3, 7}; /* Requirement 11 */
  CHECK(answer_of(neg, 4, 0) == -5);
  CHECK(answer_of(neg, 4, 0.5) == -0.0005); /* between -1e-3 and 0 */
  /* Opposite extremes: x1 - x0 overflows, the weighted form does not. */
  double ext[] = {-1.5e308, 1.5e308};
  CHECK(answer_of(ext, 2, 0.5) == 0);
  CHECK(answer_of(ext, 2, 0.25) == -0.75e308);
}

/* Requirement 9 against a sort on random inputs of many shapes, and
** selection against the adversarial orders that break naive quickselect. */
TEST(random_against_sort) {
  tl_rng r;
  tl_rng_seed(&r, 20240601);
  int bad = 0;
  for (int round = 0; round < 3000 && bad < 5; round++) {
    size_t n = 1 + tl_rng_below(&r, round < 2000 ? 60 : 5000);
    double *v = malloc(n * sizeof *v);
    int shape = round % 7;
    for (size_t i = 0; i < n; i++) {
      switch (shape) {
      case 0: v[i] = tl_rng_unit(&r) * 1000; break;
      case 1: v[i] = (double)tl_rng_below(&r, 5); break; /* many duplicates */
      case 2: v[i] = (double)i; break;                   /* sorted */
      case 3: v[i] = (double)(n - i); break;             /* reversed */
      case 4: v[i] = 7; break;                           /* constant */
      case 5: v[i] = (double)(i < n / 2 ? i : n - i); break; /* organ pipe */
      default: v[i] = tl_rng_lognormal(&r, 1e6, 2) * (tl_rng_chance(&r, 0.1) ? -1 : 1); break;
      }
    }
    double qs[] = {0, 1, 0.5, 0.99, 0.999, 0.01, tl_rng_unit(&r), tl_rng_unit(&r)};
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
      double want = by_sort(v, n, qs[k]), got = answer_of(v, n, qs[k]);
      if (want != got) {
        UNIT_FAIL("round %d n %zu shape %d q %.17g: got %.17g want %.17g", round, n, shape,
                  qs[k], got, want);
        bad++;
      }
    }
    free(v);
  }
}

/* A value of rank-sized adversarial input: every other value at the
** median-of-3 positions is extreme, which makes naive pivots linear. */
TEST(selection_worst_case) {
  size_t n = 200000;
  double *v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++) v[i] = (double)(i % 2 ? i : n - i);
  double want = by_sort(v, n, 0.37);
  CHECK(answer_of(v, n, 0.37) == want);
  free(v);
}

/* Checks ordered mode's structure: sorted chunks, none empty, neighbours
** above half a chunk together, counts adding up. */
static int invariant_ok(const tl_pct *p) {
  size_t total = 0;
  for (size_t c = 0; c < p->nch; c++) {
    const tl_pct_chunk *k = &p->ch[c];
    if (k->n == 0 || k->n > TL_PCT_CHUNK) return 0;
    for (size_t i = 1; i < k->n; i++)
      if (k->v[i - 1] > k->v[i]) return 0;
    if (c > 0 && p->ch[c - 1].v[p->ch[c - 1].n - 1] > k->v[0]) return 0;
    if (c > 0 && p->ch[c - 1].n + k->n <= TL_PCT_CHUNK / 2) return 0;
    total += k->n;
  }
  return total == p->count;
}

/* Window use: random adds and removes (sliding frames, growing and
** shrinking ones) against a brute-force multiset, past many chunk splits
** and merges, answering after every step. */
TEST(ordered_against_brute_force) {
  tl_rng r;
  tl_rng_seed(&r, 7);
  tl_err e = {0};
  int bad = 0;
  for (int round = 0; round < 6 && !bad; round++) {
    tl_pct p = {0};
    size_t cap = 20000, n = 0;
    double *ref = malloc(cap * sizeof *ref); /* in insertion order */
    size_t target = round < 3 ? 300 : 5000;  /* frame sizes around it */
    int dup = round % 2;
    for (int step = 0; step < 30000 && !bad; step++) {
      int add = n == 0 || (n < cap && tl_rng_below(&r, 2 * target) >= n);
      if (add) {
        double x = dup ? (double)tl_rng_below(&r, 50) : tl_rng_unit(&r) * 1e9;
        CHECK_INT(tl_pct_add(&p, x, &e), TL_OK);
        ref[n++] = x;
      } else {
        size_t at = tl_rng_below(&r, n);
        CHECK_INT(tl_pct_remove(&p, ref[at]), TL_OK);
        ref[at] = ref[--n];
      }
      if (step % (target < 1000 ? 7 : 41) == 0 || n < 3) {
        if (n == 0) {
          double v;
          CHECK_INT(tl_pct_value(&p, 0.5, 0, &v), TL_DONE);
          continue;
        }
        double q = step % 2 ? 0.99 : tl_rng_unit(&r);
        double want = by_sort(ref, n, q), got = answer(&p, q, 0);
        if (want != got) {
          UNIT_FAIL("round %d step %d n %zu q %.17g: got %.17g want %.17g", round, step, n, q, got,
                    want);
          bad = 1;
        }
      }
      if (step % 997 == 0 && p.ordered && !invariant_ok(&p)) {
        UNIT_FAIL("round %d step %d: chunk invariant broken", round, step);
        bad = 1;
      }
    }
    CHECK(p.ordered);
    CHECK(invariant_ok(&p));
    /* The chunk bound of percentile.c: at most 4K/CHUNK + 1 chunks. */
    CHECK(p.nch <= 4 * p.count / TL_PCT_CHUNK + 1);
    free(ref);
    tl_pct_free(&p);
  }
}

/* Switching modes keeps the values: bulk adds, a non-final answer, then
** more adds, removes down to nothing and up again. */
TEST(mode_switch) {
  tl_pct p = {0};
  tl_err e = {0};
  for (int i = 0; i < 3000; i++) tl_pct_add(&p, (double)(i * 7919 % 3000), &e);
  CHECK(!p.ordered);
  CHECK(answer(&p, 0.5, 0) == 1499.5);
  CHECK(p.ordered);
  CHECK(invariant_ok(&p));
  for (int i = 0; i < 3000; i++) CHECK_INT(tl_pct_remove(&p, (double)i), TL_OK);
  CHECK_INT(p.count, 0);
  CHECK_INT(p.nch, 0);
  CHECK_INT(tl_pct_remove(&p, 1), TL_EMISUSE);
  tl_pct_add(&p, 5, &e);
  tl_pct_add(&p, 3, &e);
  CHECK_INT(tl_pct_remove(&p, 4), TL_EMISUSE); /* absent, between values */
  CHECK_INT(tl_pct_remove(&p, 9), TL_EMISUSE); /* absent, above all */
  CHECK(answer(&p, 1, 1) == 5);
  tl_pct_free(&p);
  CHECK(p.count == 0 && p.a == NULL && p.ch == NULL && !p.ordered);
  /* A remove as the very first call (an empty frame) is a miss, not a crash. */
  CHECK_INT(tl_pct_remove(&p, 1), TL_EMISUSE);
  tl_pct_free(&p);
}

/* Requirements 6 and 13: the values refused, with their messages. */
TEST(limits_and_messages) {
  tl_pct p = {0};
  tl_err e = {0};
  CHECK_INT(tl_pct_add(&p, INFINITY, &e), TL_ERANGE);
  CHECK_STR(e.msg, "x must be finite (got Inf)");
  tl_err_clear(&e);
  CHECK_INT(tl_pct_add(&p, -INFINITY, &e), TL_ERANGE);
  CHECK_STR(e.msg, "x must be finite (got -Inf)");
  tl_err_clear(&e);
  CHECK_INT(tl_pct_add(&p, NAN, &e), TL_ERANGE);
  CHECK_STR(e.msg, "x must be finite (got NaN)");
  tl_err_clear(&e);
  CHECK_INT(p.count, 0);
  /* 2^28 values take 2 GiB: pretend the set is full instead. */
  p.count = TL_PCT_MAX_VALUES;
  CHECK_INT(tl_pct_add(&p, 1, &e), TL_ERANGE);
  CHECK_STR(e.msg, "more than 268435456 values in one group");
  p.count = 0;
  tl_pct_free(&p);
}

/* Requirement 2: the p check and its messages. */
TEST(check_p) {
  tl_err e = {0};
  CHECK_INT(tl_pct_check_p(1, "", 0, &e), TL_OK);
  CHECK_INT(tl_pct_check_p(1, "", 1, &e), TL_OK);
  CHECK_INT(tl_pct_check_p(1, "", 0.99, &e), TL_OK);
  CHECK_INT(tl_pct_check_p(1, "", 99, &e), TL_ERANGE);
  CHECK_STR(e.msg, "p must be between 0 and 1 (got 99); did you mean 0.99?");
  tl_err_clear(&e);
  tl_pct_check_p(1, "", 99.9, &e);
  CHECK_STR(e.msg, "p must be between 0 and 1 (got 99.9); did you mean 0.999?");
  tl_err_clear(&e);
  tl_pct_check_p(1, "", 100, &e);
  CHECK_STR(e.msg, "p must be between 0 and 1 (got 100); did you mean 1?");
  tl_err_clear(&e);
  tl_pct_check_p(1, "", 100.5, &e);
  CHECK_STR(e.msg, "p must be between 0 and 1 (got 100.5)");
  tl_err_clear(&e);
  tl_pct_check_p(1, "", -0.01, &e);
  CHECK_STR(e.msg, "p must be between 0 and 1 (got -0.01)");
  tl_err_clear(&e);
  tl_pct_check_p(1, "", NAN, &e);
  CHECK_STR(e.msg, "p must be between 0 and 1 (got nan)");
  tl_err_clear(&e);
  tl_pct_check_p(0, tl_sql_type_name(3), 0, &e);
  CHECK_STR(e.msg, "p must be a number between 0 and 1 (got text)");
  tl_err_clear(&e);
  CHECK_STR(tl_sql_type_name(1), "an integer");
  CHECK_STR(tl_sql_type_name(2), "a real");
  CHECK_STR(tl_sql_type_name(4), "a blob");
  CHECK_STR(tl_sql_type_name(5), "NULL");
  CHECK_STR(tl_sql_type_name(0), "?");
  CHECK_STR(tl_sql_type_name(6), "?");
}

/* Requirement 12, roughly: a million values answer in expected linear time
** (a sort would do too; this guards against quadratic behaviour). */
TEST(million_values) {
  tl_pct p = {0};
  tl_err e = {0};
  tl_rng r;
  tl_rng_seed(&r, 99);
  for (int i = 0; i < 1000000; i++) tl_pct_add(&p, (double)tl_rng_below(&r, 1000001), &e);
  double v = answer(&p, 0.5, 1);
  CHECK(v > 499000 && v < 501000);
  tl_pct_free(&p);
}

int main(void) {
  RUN(hand_computed);
  RUN(random_against_sort);
  RUN(selection_worst_case);
  RUN(ordered_against_brute_force);
  RUN(mode_switch);
  RUN(limits_and_messages);
  RUN(check_p);
  RUN(million_values);
  return UNIT_DONE();
}
