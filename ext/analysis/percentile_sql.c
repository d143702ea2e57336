/*
** percentile_sql.c — latency_percentile(X, P), the exact percentile, as an
** SQL aggregate and window function over percentile.h.
**
**   SELECT service, latency_percentile(duration_ns, 0.99) FROM spans GROUP BY service;
**   SELECT start_ns, latency_percentile(duration_ns, 0.5)
**          OVER (ORDER BY start_ns ROWS BETWEEN 999 PRECEDING AND CURRENT ROW)
**     FROM spans WHERE service = 'checkout';
**
** The contract (docs/percentiles.md repeats it; tests/py/test_percentile.py
** tests each point by number):
**
**   (1)  latency_percentile(X, P) is an aggregate function of exactly two
**        arguments, and a window function with any frame (ROWS, RANGE,
**        GROUPS; SQLite adds and removes rows through xStep/xInverse).
**   (2)  P must be an INTEGER or REAL between 0 and 1 inclusive (0.99 is the
**        99th percentile); anything else is an error "latency_percentile():
**        p must be a number between 0 and 1 (got text)" (or NULL, a blob),
**        and a number outside [0, 1] "p must be between 0 and 1 (got 99);
**        did you mean 0.99?" — the hint whenever 1 < P <= 100.
**   (3)  P must be the same on every row of a group (compared exactly), or
**        the error is "p must be the same on every row of a group (got 0.5,
**        then 0.9)".
**   (4)  Rows whose X is NULL are ignored.
**   (5)  X that is not NULL must be an INTEGER or REAL: text (even "12") and
**        blobs are an error "x must be a number or NULL (got text)".
**   (6)  X = +-Inf is an error "x must be finite (got Inf)".  (SQLite turns
**        NaN into NULL before a function sees it.)
**   (7)  With no non-NULL X the result is NULL.
**   (8)  With one non-NULL X the result is that X.
**   (9)  With N values sorted x[0] <= ... <= x[N-1], h = P*(N-1),
**        i = floor(h), f = h - i: the result is x[i] when f = 0, else
**        x[i] + f*(x[i+1] - x[i]) — linear interpolation between closest
**        ranks, as SQLite's percentile(X, 100*P), PostgreSQL's
**        percentile_cont(P) and numpy's default.
**   (10) The result is a REAL (or NULL).  INTEGER X are converted to
**        doubles, exact up to 2^53 (104 days in nanoseconds).
**   (11) Any finite X counts, zero and negative ones too: this is the exact
**        percentile of the numbers given.
**   (12) Cost: the aggregate keeps 8 bytes per value and answers in expected
**        O(N) (selection, no sort).  As a window function with a frame of K
**        rows, adding or removing a row costs O(log K + 1024) and each
**        answer O(K/1024 + 1) (sorted chunks of 1024, percentile.h).
**   (13) At most 2^28 values per group (2 GiB of doubles); one more is the
**        error "more than 268435456 values in one group".
**
** Every error message starts with "latency_percentile(): ".
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include "../vtab/register.h"
#include "percentile.h"

#define FNAME "latency_percentile"

typedef struct pct_ctx {
  tl_pct set;
  double p;
  int have_p;
} pct_ctx;

static void report(sqlite3_context *ctx, const tl_err *e) {
  if (e->rc == TL_ENOMEM) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  char *m = sqlite3_mprintf(FNAME "(): %s", e->msg);
  if (!m) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_error(ctx, m, -1);
  sqlite3_free(m);
}

static void pct_step(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  tl_err e;
  tl_err_clear(&e); /* not = {0}: 516 bytes to zero on every row */
  /* Requirement 2: P is checked on every row, NULL X or not. */
  int pt = sqlite3_value_type(argv[1]);
  double p = sqlite3_value_double(argv[1]);
  if (tl_pct_check_p(pt == SQLITE_INTEGER || pt == SQLITE_FLOAT, tl_sql_type_name(pt), p, &e)) {
    report(ctx, &e);
    return;
  }
  pct_ctx *c = sqlite3_aggregate_context(ctx, sizeof *c);
  if (!c) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (!c->have_p) {
    c->p = p;
    c->have_p = 1;
  } else if (c->p != p) { /* Requirement 3 */
    tl_err_set(&e, TL_ERANGE, "p must be the same on every row of a group (got %.15g, then %.15g)",
               c->p, p);
    report(ctx, &e);
    return;
  }
  int xt = sqlite3_value_type(argv[0]);
  if (xt == SQLITE_NULL) return; /* Requirement 4 */
  if (xt != SQLITE_INTEGER && xt != SQLITE_FLOAT) { /* Requirement 5 */
    tl_err_set(&e, TL_ERANGE, "x must be a number or NULL (got %s)", tl_sql_type_name(xt));
    report(ctx, &e);
    return;
  }
  /* Requirements 6 (finite), 10 (as a double) and 13 (count) in tl_pct_add. */
  if (tl_pct_add(&c->set, sqlite3_value_double(argv[0]), &e)) report(ctx, &e);
}

/* Removes a row that left the window frame.  xStep accepted it, so X is
** NULL or a finite number that is in the set. */
static void pct_inverse(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  pct_ctx *c = sqlite3_aggregate_context(ctx, sizeof *c);
  if (!c) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return;
  int rc = tl_pct_remove(&c->set, sqlite3_value_double(argv[0]));
  if (rc == TL_ENOMEM)
    sqlite3_result_error_nomem(ctx);
  else if (rc != TL_OK)
    sqlite3_result_error(ctx, FNAME "(): internal error: removed a value not in the frame", -1);
}

static void pct_result(sqlite3_context *ctx, int final) {
  pct_ctx *c = sqlite3_aggregate_context(ctx, 0);
  if (!c) return; /* no rows: NULL (Requirement 7) */
  double v;
  int rc = tl_pct_value(&c->set, c->p, final, &v);
  if (rc == TL_OK)
    sqlite3_result_double(ctx, v); /* Requirement 10 */
  else if (rc == TL_ENOMEM)
    sqlite3_result_error_nomem(ctx);
  /* TL_DONE: no values, NULL (Requirement 7) */
  if (final) tl_pct_free(&c->set);
}

static void pct_final(sqlite3_context *ctx) { pct_result(ctx, 1); }
static void pct_value(sqlite3_context *ctx) { pct_result(ctx, 0); }

int tl_register_percentile(sqlite3 *db) {
  /* Requirement 1 */
  return sqlite3_create_window_function(
      db, FNAME, 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, 0, pct_step,
      pct_final, pct_value, pct_inverse, 0);
}
