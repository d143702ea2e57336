/*
** percentile.c — the exact percentile multiset of percentile.h: a bulk array
** answered by selection, and a sorted-chunk list for window frames.
**
** Why two modes: a GROUP BY aggregate only appends and asks once, so an
** unsorted array and an O(N) selection beat any ordered structure; a window
** frame adds, removes and asks on every row, which an ordered structure
** answers without re-reading the frame.  Chunks of sorted values (a shallow
** B-tree without the tree) keep removal a binary search plus a memmove of
** at most TL_PCT_CHUNK doubles.
**
** Chunk invariant: every chunk is non-empty and any two neighbours hold
** more than TL_PCT_CHUNK/2 values together, so K values use at most
** 4K/TL_PCT_CHUNK + 1 chunks and a rank walk is O(K/TL_PCT_CHUNK).
*/
#include "percentile.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HALF (TL_PCT_CHUNK / 2)

void tl_pct_free(tl_pct *p) {
  for (size_t c = 0; c < p->nch; c++) free(p->ch[c].v);
  free(p->ch);
  free(p->a);
  memset(p, 0, sizeof *p);
}

/* ---- bulk mode ---------------------------------------------------------- */

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

static void swap_d(double *a, size_t i, size_t j) {
  double t = a[i];
  a[i] = a[j];
  a[j] = t;
}

static double median3(double x, double y, double z) {
  if (x > y) {
    double t = x;
    x = y;
    y = t;
  }
  /* now x <= y */
  return z <= x ? x : z >= y ? y : z;
}

/* Moves the k-th smallest of a[0..n) to a[k], smaller or equal values before
** it and greater or equal after (quickselect, iterative).  A three-way
** partition makes runs of equal values (constant latencies) one step; a
** step budget falls back to a sort on inputs built to defeat median-of-3,
** so the worst case is O(n log n). */
static void select_rank(double *a, size_t n, size_t k) {
  size_t lo = 0, hi = n - 1; /* inclusive */
  int budget = 16;
  for (size_t m = n; m > 1; m >>= 1) budget += 2;
  while (lo < hi) {
    if (budget-- == 0) {
      qsort(a + lo, hi - lo + 1, sizeof *a, cmp_double);
      return;
    }
    double pv = median3(a[lo], a[lo + (hi - lo) / 2], a[hi]);
    /* a[lo..lt) < pv, a[lt..i) == pv, a[gt..hi] > pv */
    size_t lt = lo, i = lo, gt = hi + 1;
    while (i < gt) {
      if (a[i] < pv)
        swap_d(a, lt++, i++);
      else if (a[i] > pv)
        swap_d(a, i, --gt);
      else
        i++;
    }
    if (k < lt)
      hi = lt - 1;
    else if (k >= gt)
      lo = gt;
    else
      return;
  }
}

/* ---- ordered mode ------------------------------------------------------- */

/* Opens an empty chunk at position at.  TL_OK or TL_ENOMEM. */
static int chunk_insert(tl_pct *p, size_t at) {
  if (p->nch == p->chcap) {
    size_t cap = p->chcap ? p->chcap * 2 : 8;
    tl_pct_chunk *ch = realloc(p->ch, cap * sizeof *ch);
    if (!ch) return TL_ENOMEM;
    p->ch = ch;
    p->chcap = cap;
  }
  double *v = malloc(TL_PCT_CHUNK * sizeof *v);
  if (!v) return TL_ENOMEM;
  memmove(p->ch + at + 1, p->ch + at, (p->nch - at) * sizeof *p->ch);
  p->ch[at].v = v;
  p->ch[at].n = 0;
  p->nch++;
  return TL_OK;
}

static void chunk_delete(tl_pct *p, size_t at) {
  free(p->ch[at].v);
  memmove(p->ch + at, p->ch + at + 1, (p->nch - at - 1) * sizeof *p->ch);
  p->nch--;
}

/* Sorts the bulk array once and deals it into half-full chunks, so that the
** next inserts do not split at once. */
static int make_ordered(tl_pct *p) {
  if (p->ordered) return TL_OK;
  if (p->count) qsort(p->a, p->count, sizeof *p->a, cmp_double);
  for (size_t at = 0; at < p->count; at += HALF) {
    if (chunk_insert(p, p->nch) != TL_OK) {
      for (size_t c = 0; c < p->nch; c++) free(p->ch[c].v);
      p->nch = 0; /* the values are still all in p->a */
      return TL_ENOMEM;
    }
    size_t n = p->count - at < HALF ? p->count - at : HALF;
    memcpy(p->ch[p->nch - 1].v, p->a + at, n * sizeof *p->a);
    p->ch[p->nch - 1].n = n;
  }
  free(p->a);
  p->a = NULL;
  p->acap = 0;
  p->ordered = 1;
  return TL_OK;
}

/* The first chunk whose largest value is >= x, or nch when there is none. */
static size_t find_chunk(const tl_pct *p, double x) {
  size_t lo = 0, hi = p->nch;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (p->ch[mid].v[p->ch[mid].n - 1] < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* The first position in v[0..n) whose value is >= x. */
static size_t lower_bound(const double *v, size_t n, double x) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (v[mid] < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static int ordered_add(tl_pct *p, double x) {
  if (p->nch == 0) {
    if (chunk_insert(p, 0) != TL_OK) return TL_ENOMEM;
    p->ch[0].v[0] = x;
    p->ch[0].n = 1;
    return TL_OK;
  }
  size_t c = find_chunk(p, x);
  if (c == p->nch) c--; /* larger than everything: append to the last */
  size_t pos = lower_bound(p->ch[c].v, p->ch[c].n, x);
  if (p->ch[c].n == TL_PCT_CHUNK) {
    /* Split the full chunk into two halves (their sum keeps the
    ** invariant), then insert into the half that owns pos. */
    if (chunk_insert(p, c + 1) != TL_OK) return TL_ENOMEM;
    memcpy(p->ch[c + 1].v, p->ch[c].v + HALF, HALF * sizeof(double));
    p->ch[c + 1].n = HALF;
    p->ch[c].n = HALF;
    if (pos > HALF) {
      c++;
      pos -= HALF;
    }
  }
  tl_pct_chunk *k = &p->ch[c];
  memmove(k->v + pos + 1, k->v + pos, (k->n - pos) * sizeof(double));
  k->v[pos] = x;
  k->n++;
  return TL_OK;
}

/* Appends chunk c+1 to chunk c and deletes it; the caller checked that the
** two fit in one chunk. */
static void merge_next(tl_pct *p, size_t c) {
  memcpy(p->ch[c].v + p->ch[c].n, p->ch[c + 1].v, p->ch[c + 1].n * sizeof(double));
  p->ch[c].n += p->ch[c + 1].n;
  chunk_delete(p, c + 1);
}

static int ordered_remove(tl_pct *p, double x) {
  size_t c = find_chunk(p, x);
  if (c == p->nch) return TL_EMISUSE;
  tl_pct_chunk *k = &p->ch[c];
  size_t pos = lower_bound(k->v, k->n, x);
  if (pos == k->n || k->v[pos] != x) return TL_EMISUSE;
  memmove(k->v + pos, k->v + pos + 1, (k->n - pos - 1) * sizeof(double));
  k->n--;
  /* Restore the invariant around c: drop an empty chunk (its neighbours
  ** were each above HALF), else merge with a neighbour while the pair
  ** holds HALF or fewer (at most three chunks, still below a full one). */
  if (k->n == 0) {
    chunk_delete(p, c);
    return TL_OK;
  }
  if (c > 0 && p->ch[c - 1].n + p->ch[c].n <= HALF) merge_next(p, --c);
  if (c + 1 < p->nch && p->ch[c].n + p->ch[c + 1].n <= HALF) merge_next(p, c);
  return TL_OK;
}

/* The value of rank k (0-based) in ordered mode. */
static double ordered_rank(const tl_pct *p, size_t k) {
  size_t c = 0;
  while (k >= p->ch[c].n) k -= p->ch[c++].n;
  return p->ch[c].v[k];
}

/* ---- interface ---------------------------------------------------------- */

int tl_pct_add(tl_pct *p, double x, tl_err *e) {
  if (!isfinite(x))
    return tl_err_set(e, TL_ERANGE, "x must be finite (got %s)",
                      isnan(x) ? "NaN" : x > 0 ? "Inf" : "-Inf");
  /* Requirement 13 */
  if (p->count >= TL_PCT_MAX_VALUES)
    return tl_err_set(e, TL_ERANGE, "more than %u values in one group", TL_PCT_MAX_VALUES);
  if (p->ordered) {
    if (ordered_add(p, x) != TL_OK) return tl_err_set(e, TL_ENOMEM, "out of memory");
  } else {
    if (p->count == p->acap) {
      size_t cap = p->acap ? p->acap * 2 : 256;
      double *a = realloc(p->a, cap * sizeof *a);
      if (!a) return tl_err_set(e, TL_ENOMEM, "out of memory");
      p->a = a;
      p->acap = cap;
    }
    p->a[p->count] = x;
  }
  p->count++;
  return TL_OK;
}

int tl_pct_remove(tl_pct *p, double x) {
  if (make_ordered(p) != TL_OK) return TL_ENOMEM;
  int rc = ordered_remove(p, x);
  if (rc == TL_OK) p->count--;
  return rc;
}

/* Requirement 9, given the values of ranks i and i+1 (x1 unused when f is
** 0).  The difference form is the textbook one; when x1 - x0 overflows
** (values of opposite sign near the double range) the weighted form gives
** the same number without the infinity. */
static double interpolate(double x0, double x1, double f) {
  if (f == 0) return x0;
  double d = x1 - x0;
  return isfinite(d) ? x0 + f * d : x0 * (1 - f) + x1 * f;
}

int tl_pct_value(tl_pct *p, double q, int final, double *out) {
  size_t n = p->count;
  if (n == 0) return TL_DONE; /* Requirement 7 */
  double h = q * (double)(n - 1);
  size_t i = (size_t)h;
  if (i >= n - 1) i = n - 1;
  double f = i == n - 1 ? 0 : h - (double)i;
  if (!final && make_ordered(p) != TL_OK) return TL_ENOMEM;
  if (p->ordered) {
    *out = interpolate(ordered_rank(p, i), f ? ordered_rank(p, i + 1) : 0, f);
    return TL_OK;
  }
  select_rank(p->a, n, i);
  double x1 = 0;
  if (f) {
    /* select_rank left a[i+1..n) >= a[i]: rank i+1 is their minimum. */
    x1 = p->a[i + 1];
    for (size_t j = i + 2; j < n; j++)
      if (p->a[j] < x1) x1 = p->a[j];
  }
  *out = interpolate(p->a[i], x1, f);
  return TL_OK;
}

int tl_pct_check_p(int is_number, const char *type_name, double q, tl_err *e) {
  if (!is_number)
    return tl_err_set(e, TL_ERANGE, "p must be a number between 0 and 1 (got %s)", type_name);
  if (q >= 0 && q <= 1) return TL_OK;
  if (q > 1 && q <= 100)
    return tl_err_set(e, TL_ERANGE, "p must be between 0 and 1 (got %.15g); did you mean %.15g?",
                      q, q / 100);
  return tl_err_set(e, TL_ERANGE, "p must be between 0 and 1 (got %.15g)", q);
}

const char *tl_sql_type_name(int code) {
  static const char *const names[] = {"?", "an integer", "a real", "text", "a blob", "NULL"};
  return code >= 1 && code <= 5 ? names[code] : names[0];
}
