/*
** sketch_sql.c — mergeable latency sketches in SQL, over sketch.h:
**
**   latency_sketch(X [, A])  aggregate and window function -> sketch blob
**   sketch_merge(S)          aggregate (and window): sketches -> one blob
**   sketch_quantile(S, P)    the P-quantile (P in [0, 1]) of a sketch
**   sketch_count(S)          how many values a sketch counts
**
**   CREATE TABLE hourly AS
**     SELECT service, start_ns / 3600000000000 AS hour,
**            latency_sketch(duration_ns) AS s FROM spans GROUP BY 1, 2;
**   SELECT service, sketch_quantile(sketch_merge(s), 0.99), sketch_count(sketch_merge(s))
**     FROM hourly GROUP BY service;        -- p99 per service, within 1%
**
** The contract (docs/percentiles.md repeats it; tests/py/test_percentile.py
** tests each point by number):
**
**   (1)  latency_sketch(X) and latency_sketch(X, A) are aggregate and window
**        functions returning a sketch blob.  A is the relative accuracy,
**        0.01 (1%) when not given.
**   (2)  A must be an INTEGER or REAL between 0.001 and 0.5 and the same on
**        every row of a group (compared exactly); it is rounded to the
**        nearest millionth.  Errors: "relative_accuracy must be a number
**        between 0.001 and 0.5 (got text)", "relative_accuracy must be
**        between 0.001 and 0.5 (got 2)", "relative_accuracy must be the
**        same on every row of a group (got 0.01, then 0.02)".
**   (3)  Rows whose X is NULL are ignored.  Other X must be an INTEGER or
**        REAL ("x must be a number or NULL (got text)"), finite ("x must be
**        finite (got Inf)") and not negative ("x must not be negative (got
**        -5)"): latencies are not negative, and a relative error bound
**        means nothing across zero.
**   (4)  Zero, and positive X below 2.2250738585072014e-308 (DBL_MIN), have
**        their own counter and come back as exactly 0.
**   (5)  With no non-NULL X (or none left in a window frame) the result is
**        NULL.
**   (6)  Accuracy: for every P in [0, 1], sketch_quantile(latency_sketch(X,
**        A), P) is within A*E of E = latency_percentile(X, P) (up to
**        floating-point rounding, below 1e-12 relative).
**   (7)  sketch_merge(S), an aggregate and window function, ignores NULL S
**        and is NULL without any other.  The merge of the sketches of parts
**        is, byte for byte, the sketch of the whole, whatever the order and
**        grouping; over a window frame it is the merge of the frame's S.
**   (8)  Sketches of different accuracies do not merge: "cannot merge
**        sketches of relative accuracy 0.01 and 0.02".
**   (9)  sketch_quantile(S, P): P as latency_percentile's Requirement 2;
**        NULL S gives NULL, as does a sketch of no values; otherwise a REAL
**        by latency_percentile's Requirement 9 applied to the values the
**        buckets stand for (sketch.h).
**   (10) sketch_count(S) is the number of values S counts, zeros included,
**        as an INTEGER; NULL S gives NULL.
**   (11) Every function that reads S checks it: not a blob is "s must be a
**        sketch blob (got text)"; a malformed one "invalid sketch: " and
**        the reason (bad magic, unsupported version, truncated, a
**        non-canonical or overflowing varint, accuracy or bucket index out
**        of range, buckets spanning more than 131072, a count overflow,
**        trailing bytes) with its byte offset.
**   (12) Blobs are canonical: equal sketches have equal blobs, and a valid
**        blob decodes and re-encodes to the same bytes.
**   (13) Limits: the buckets in use span at most 131072 ("values span more
**        than 131072 buckets ...": only below A = 0.0055, and at A = 0.001
**        only when the largest value is over 1e113 times the smallest); a
**        sketch counts at most 2^63-1 values ("the count of values passes
**        9223372036854775807").
**
** Every error message starts with the function's name, "sketch_merge(): ".
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <stdlib.h>

#include "../vtab/register.h"
#include "percentile.h"
#include "sketch.h"

static void report(sqlite3_context *ctx, const char *fname, const tl_err *e) {
  if (e->rc == TL_ENOMEM) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  char *m = sqlite3_mprintf("%s(): %s", fname, e->msg);
  if (!m) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_error(ctx, m, -1);
  sqlite3_free(m);
}

static int is_number(int type) { return type == SQLITE_INTEGER || type == SQLITE_FLOAT; }

/* Returns the sketch blob as the function's result, or NULL for a sketch
** of no values when null_if_empty (Requirement 5). */
static void result_sketch(sqlite3_context *ctx, const tl_sketch *s, int null_if_empty) {
  if (s->total == 0 && null_if_empty) return;
  tl_buf b;
  tl_buf_init(&b);
  tl_sketch_encode(s, &b);
  if (b.oom) {
    tl_buf_free(&b);
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_blob(ctx, b.p, (int)b.n, free);
}

/* Reads argument v as a sketch into s.  1: a sketch; 0: v is NULL (s is
** left empty); -1: an error, already reported (Requirement 11). */
static int read_sketch(sqlite3_context *ctx, const char *fname, sqlite3_value *v, tl_sketch *s) {
  tl_err e;
  tl_err_clear(&e);
  int t = sqlite3_value_type(v);
  if (t == SQLITE_NULL) return 0;
  if (t != SQLITE_BLOB) {
    tl_err_set(&e, TL_EFORMAT, "s must be a sketch blob (got %s)", tl_sql_type_name(t));
    report(ctx, fname, &e);
    return -1;
  }
  const void *p = sqlite3_value_blob(v);
  int n = sqlite3_value_bytes(v);
  tl_err d;
  tl_err_clear(&d);
  if (tl_sketch_decode(s, p, (size_t)n, &d) != TL_OK) {
    tl_sketch_free(s);
    if (d.rc != TL_ENOMEM) tl_err_set(&e, d.rc, "invalid sketch: %s", d.msg);
    report(ctx, fname, d.rc == TL_ENOMEM ? &d : &e);
    return -1;
  }
  return 1;
}

/* ---- latency_sketch ----------------------------------------------------- */

typedef struct build_ctx {
  tl_sketch s;
  double accuracy; /* as given, for Requirement 2's "same on every row" */
  int ready;
} build_ctx;

static void build_step(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fname[] = "latency_sketch";
  tl_err e;
  tl_err_clear(&e); /* not = {0}: 516 bytes to zero on every row */
  uint32_t ppm = TL_SKETCH_DEFAULT_PPM;
  double accuracy = TL_SKETCH_DEFAULT_PPM / 1e6;
  if (argc == 2) { /* Requirement 2 */
    int at = sqlite3_value_type(argv[1]);
    accuracy = sqlite3_value_double(argv[1]);
    if (!is_number(at)) {
      tl_err_set(&e, TL_ERANGE, "relative_accuracy must be a number between 0.001 and 0.5 (got %s)",
                 tl_sql_type_name(at));
      report(ctx, fname, &e);
      return;
    }
    if (tl_sketch_ppm(accuracy, &ppm, &e)) {
      report(ctx, fname, &e);
      return;
    }
  }
  build_ctx *c = sqlite3_aggregate_context(ctx, sizeof *c);
  if (!c) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (!c->ready) {
    tl_sketch_init(&c->s, ppm);
    c->accuracy = accuracy;
    c->ready = 1;
  } else if (c->accuracy != accuracy) {
    tl_err_set(&e, TL_ERANGE,
               "relative_accuracy must be the same on every row of a group (got %.15g, then %.15g)",
               c->accuracy, accuracy);
    report(ctx, fname, &e);
    return;
  }
  int xt = sqlite3_value_type(argv[0]);
  if (xt == SQLITE_NULL) return; /* Requirement 3 */
  if (!is_number(xt)) {
    tl_err_set(&e, TL_ERANGE, "x must be a number or NULL (got %s)", tl_sql_type_name(xt));
    report(ctx, fname, &e);
    return;
  }
  /* Requirements 3 (finite, not negative), 4 (zero) and 13 (limits). */
  if (tl_sketch_add(&c->s, sqlite3_value_double(argv[0]), &e)) report(ctx, fname, &e);
}

/* Uncounts a row that left the window frame; xStep accepted it. */
static void build_inverse(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  build_ctx *c = sqlite3_aggregate_context(ctx, sizeof *c);
  if (!c) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return;
  if (tl_sketch_remove(&c->s, sqlite3_value_double(argv[0])) != TL_OK)
    sqlite3_result_error(ctx, "latency_sketch(): internal error: removed a value not in the frame",
                         -1);
}

static void build_value(sqlite3_context *ctx) {
  build_ctx *c = sqlite3_aggregate_context(ctx, 0);
  if (c) result_sketch(ctx, &c->s, 1);
}

static void build_final(sqlite3_context *ctx) {
  build_ctx *c = sqlite3_aggregate_context(ctx, 0);
  if (!c) return;
  result_sketch(ctx, &c->s, 1);
  tl_sketch_free(&c->s);
}

/* ---- sketch_merge ------------------------------------------------------- */

typedef struct merge_ctx {
  tl_sketch s;
  sqlite3_int64 parts; /* non-NULL sketches in the group or frame */
} merge_ctx;

static void merge_step(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fname[] = "sketch_merge";
  (void)argc;
  tl_sketch part;
  int got = read_sketch(ctx, fname, argv[0], &part);
  if (got <= 0) return; /* NULL (Requirement 7) or reported */
  merge_ctx *c = sqlite3_aggregate_context(ctx, sizeof *c);
  if (!c) {
    tl_sketch_free(&part);
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (c->parts == 0) {
    /* The first sketch (or the first after a window frame emptied)
    ** becomes the accumulator, accuracy and all. */
    tl_sketch_free(&c->s);
    c->s = part;
    c->parts = 1;
    return;
  }
  tl_err e;
  tl_err_clear(&e);
  if (tl_sketch_merge(&c->s, &part, &e))
    report(ctx, fname, &e); /* Requirement 8 */
  else
    c->parts++;
  tl_sketch_free(&part);
}

/* Takes out a sketch that left the window frame; xStep merged it. */
static void merge_inverse(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fname[] = "sketch_merge";
  (void)argc;
  tl_sketch part;
  if (read_sketch(ctx, fname, argv[0], &part) <= 0) return;
  merge_ctx *c = sqlite3_aggregate_context(ctx, sizeof *c);
  if (!c)
    sqlite3_result_error_nomem(ctx);
  else if (tl_sketch_unmerge(&c->s, &part) != TL_OK)
    sqlite3_result_error(ctx, "sketch_merge(): internal error: removed a sketch not in the frame",
                         -1);
  else
    c->parts--;
  tl_sketch_free(&part);
}

/* An empty sketch read from a blob stays a blob: only "no sketch at all"
** is NULL (Requirement 7). */
static void merge_value(sqlite3_context *ctx) {
  merge_ctx *c = sqlite3_aggregate_context(ctx, 0);
  if (c && c->parts) result_sketch(ctx, &c->s, 0);
}

static void merge_final(sqlite3_context *ctx) {
  merge_ctx *c = sqlite3_aggregate_context(ctx, 0);
  if (!c) return;
  if (c->parts) result_sketch(ctx, &c->s, 0);
  tl_sketch_free(&c->s);
}

/* ---- sketch_quantile, sketch_count -------------------------------------- */

static void quantile_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char fname[] = "sketch_quantile";
  (void)argc;
  tl_err e;
  tl_err_clear(&e);
  int pt = sqlite3_value_type(argv[1]);
  double p = sqlite3_value_double(argv[1]);
  if (tl_pct_check_p(is_number(pt), tl_sql_type_name(pt), p, &e)) { /* Requirement 9 */
    report(ctx, fname, &e);
    return;
  }
  tl_sketch s;
  if (read_sketch(ctx, fname, argv[0], &s) <= 0) return;
  double v;
  if (tl_sketch_quantile(&s, p, &v) == TL_OK) sqlite3_result_double(ctx, v);
  tl_sketch_free(&s);
}

static void count_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  tl_sketch s;
  if (read_sketch(ctx, "sketch_count", argv[0], &s) <= 0) return;
  sqlite3_result_int64(ctx, (sqlite3_int64)s.total); /* Requirement 10 */
  tl_sketch_free(&s);
}

int tl_register_sketch(sqlite3 *db) {
  static const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  int rc = SQLITE_OK;
  for (int n = 1; n <= 2 && rc == SQLITE_OK; n++) /* Requirement 1 */
    rc = sqlite3_create_window_function(db, "latency_sketch", n, flags, 0, build_step,
                                        build_final, build_value, build_inverse, 0);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_window_function(db, "sketch_merge", 1, flags, 0, merge_step, merge_final,
                                        merge_value, merge_inverse, 0);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function(db, "sketch_quantile", 2, flags, 0, quantile_func, 0, 0);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function(db, "sketch_count", 1, flags, 0, count_func, 0, 0);
  return rc;
}
