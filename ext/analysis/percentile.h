/*
** percentile.h — the exact percentile behind latency_percentile(X, P): a
** multiset of doubles and the interpolation rule of docs/percentiles.md.
** Pure C; ext/analysis/percentile_sql.c turns it into the SQL aggregate and
** window function, and the requirements below are the contract of both
** (the SQL-only ones — argument types, NULLs — are numbered in the glue).
**
** Requirement 9 (interpolation).  With N values sorted x[0] <= ... <= x[N-1]
** and h = P*(N-1), i = floor(h), f = h - i, the percentile is x[i] when f is
** 0 and x[i] + f*(x[i+1] - x[i]) otherwise: the linear interpolation between
** closest ranks of SQLite's percentile(X, 100*P), PostgreSQL's
** percentile_cont(P), numpy's default and Python's
** statistics.quantiles(method='inclusive').
**
** Two modes, chosen by how the values are used, never by the caller:
**   bulk     values are appended to one array; a final answer selects the
**            one or two ranks it needs (expected O(N), no sort).  This is
**            the plain aggregate's path.
**   ordered  values live sorted in chunks of at most TL_PCT_CHUNK; insert
**            and remove cost O(log K + TL_PCT_CHUNK), an answer O(K /
**            TL_PCT_CHUNK) for K values.  Window functions need it: the
**            first remove, or a non-final answer, sorts once and switches.
**
** An all-zero tl_pct is a valid empty set, so SQLite's zero-filled
** aggregate context needs no initialisation.
*/
#ifndef TL_PERCENTILE_H
#define TL_PERCENTILE_H

#include <stddef.h>

#include "../span/span.h"

/* Values per chunk in ordered mode (a power of two; 8 KiB of doubles). */
#define TL_PCT_CHUNK 1024
/* Requirement 13: at most this many values in one set (2 GiB of doubles). */
#define TL_PCT_MAX_VALUES (1u << 28)

typedef struct tl_pct_chunk {
  double *v;  /* TL_PCT_CHUNK slots, v[0..n) sorted */
  size_t n;
} tl_pct_chunk;

typedef struct tl_pct {
  size_t count;       /* values held, in either mode */
  double *a;          /* bulk mode: a[0..count), in no particular order */
  size_t acap;
  tl_pct_chunk *ch;   /* ordered mode: ch[0..nch) in ascending order */
  size_t nch, chcap;
  int ordered;
} tl_pct;

void tl_pct_free(tl_pct *p);  /* leaves an empty set */

/* Adds x.  TL_OK; TL_ERANGE for a NaN or infinite x or past
** TL_PCT_MAX_VALUES; TL_ENOMEM.  e gets the message. */
int tl_pct_add(tl_pct *p, double x, tl_err *e);

/* Removes one value equal to x (the window function's inverse).  TL_OK;
** TL_EMISUSE when no value equals x; TL_ENOMEM (switching to ordered). */
int tl_pct_remove(tl_pct *p, double x);

/* The percentile at q in [0, 1] by Requirement 9, in *out.  TL_OK; TL_DONE
** for an empty set; TL_ENOMEM.  A final answer may permute bulk values; a
** non-final one switches to ordered mode so that later adds, removes and
** answers stay cheap. */
int tl_pct_value(tl_pct *p, double q, int final, double *out);

/* Requirement 2, shared by every function that takes a quantile: P must be
** a number (is_number: an SQL INTEGER or REAL; type_name names what it was
** otherwise, "NULL", "text", "a blob") between 0 and 1.  TL_OK, or
** TL_ERANGE with "p must be ..." in e (callers prefix the function name). */
int tl_pct_check_p(int is_number, const char *type_name, double q, tl_err *e);

/* How messages name a value of SQLite's fundamental type code (1 INTEGER,
** 2 FLOAT, 3 TEXT, 4 BLOB, 5 NULL): "an integer", "a real", "text",
** "a blob", "NULL".  The codes are SQLite's stable public constants; the
** glue files pass sqlite3_value_type() here. */
const char *tl_sql_type_name(int code);

#endif
