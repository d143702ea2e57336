/*
** topology.c — service dependency links in Jaeger's and Zipkin's ways
** (contract in topology.h, Requirements 1-6), and their DOT rendering.
**
** Edges live in an array indexed by an open-addressing table keyed on the
** (caller, callee) pair of pointers: names are interned once in the
** accumulator's own batch, so equal names are equal pointers.  Each edge
** keeps the durations of its calls for the exact percentiles.
*/
#include "topology.h"
#include "../common/buf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct edge {
  const char *caller, *callee;
  uint64_t calls, errors;
  int64_t *lat;
  uint64_t n_lat, cap_lat;
} edge;

struct tl_topo {
  int mode;
  tl_batch *names;
  edge *edges;
  uint32_t n, cap;
  uint32_t *slots; /* edge index + 1, 0 empty */
  uint32_t mask;
  tl_topo_edge *out;
  uint32_t *ra;    /* zipkin: remote ancestor per span, kept between traces */
  uint32_t ra_cap;
};

int tl_topo_mode(const char *s, size_t n) {
  if (n == 6 && strncasecmp(s, "jaeger", 6) == 0) return TL_TOPO_JAEGER;
  if (n == 6 && strncasecmp(s, "zipkin", 6) == 0) return TL_TOPO_ZIPKIN;
  return -1;
}

tl_topo *tl_topo_new(int mode) {
  tl_topo *tp = calloc(1, sizeof *tp);
  if (!tp) return NULL;
  tp->mode = mode;
  tp->names = tl_batch_new();
  tp->mask = 63;
  tp->slots = calloc(64, sizeof *tp->slots);
  if (!tp->names || !tp->slots) {
    tl_topo_free(tp);
    return NULL;
  }
  return tp;
}

void tl_topo_free(tl_topo *tp) {
  if (!tp) return;
  for (uint32_t i = 0; i < tp->n; i++) free(tp->edges[i].lat);
  free(tp->edges);
  free(tp->slots);
  free(tp->out);
  free(tp->ra);
  tl_batch_free(tp->names);
  free(tp);
}

static uint32_t pair_slot(const char *a, const char *b, uint32_t mask) {
  uint64_t h = (uint64_t)(uintptr_t)a * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)b;
  h ^= h >> 31;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 29;
  return (uint32_t)h & mask;
}

static int rehash(tl_topo *tp) {
  uint32_t size = (tp->mask + 1) * 2;
  uint32_t *s = calloc(size, sizeof *s);
  if (!s) return TL_ENOMEM;
  for (uint32_t i = 0; i < tp->n; i++) {
    uint32_t h = pair_slot(tp->edges[i].caller, tp->edges[i].callee, size - 1);
    while (s[h]) h = (h + 1) & (size - 1);
    s[h] = i + 1;
  }
  free(tp->slots);
  tp->slots = s;
  tp->mask = size - 1;
  return TL_OK;
}

/* One call caller -> callee, with its duration and error flag. */
static int add_link(tl_topo *tp, const char *caller, const char *callee, int error, int64_t dur) {
  tl_str a = tl_batch_intern_cstr(tp->names, caller), b = tl_batch_intern_cstr(tp->names, callee);
  if (!a.ptr || !b.ptr) return TL_ENOMEM;
  uint32_t h = pair_slot(a.ptr, b.ptr, tp->mask);
  edge *e = NULL;
  for (; tp->slots[h]; h = (h + 1) & tp->mask) {
    edge *x = &tp->edges[tp->slots[h] - 1];
    if (x->caller == a.ptr && x->callee == b.ptr) {
      e = x;
      break;
    }
  }
  if (!e) {
    if (tp->n == tp->cap) {
      uint32_t cap = tp->cap ? tp->cap * 2 : 16;
      edge *p = realloc(tp->edges, (size_t)cap * sizeof *p);
      if (!p) return TL_ENOMEM;
      tp->edges = p;
      tp->cap = cap;
    }
    e = &tp->edges[tp->n++];
    memset(e, 0, sizeof *e);
    e->caller = a.ptr;
    e->callee = b.ptr;
    tp->slots[h] = tp->n;
    if (tp->n * 2 > tp->mask && rehash(tp)) return TL_ENOMEM;
    e = &tp->edges[tp->n - 1];
  }
  if (e->n_lat == e->cap_lat) {
    uint64_t cap = e->cap_lat ? e->cap_lat * 2 : 8;
    int64_t *p = realloc(e->lat, cap * sizeof *p);
    if (!p) return TL_ENOMEM;
    e->lat = p;
    e->cap_lat = cap;
  }
  e->lat[e->n_lat++] = dur;
  e->calls++;
  e->errors += error != 0;
  return TL_OK;
}

static int64_t dur(const tl_tspan *s) { return s->end_ns - s->start_ns; }

/* Requirement 1. */
static int add_jaeger(tl_topo *tp, const tl_tree *t, const tl_tspan *s) {
  for (uint32_t k = 0; k < t->n_order; k++) {
    uint32_t i = t->order[k];
    int32_t p = t->parent[i];
    if (p < 0 || !s[i].service || !s[p].service || s[i].service == s[p].service) continue;
    if (add_link(tp, s[p].service, s[i].service, s[i].error, dur(&s[i]))) return TL_ENOMEM;
  }
  return TL_OK;
}

/* Zipkin has no INTERNAL kind: it is "no kind", like UNSPECIFIED. */
static int remote_kind(const tl_tspan *s) {
  return s->kind != TL_KIND_UNSPECIFIED && s->kind != TL_KIND_INTERNAL;
}

#define NO_SPAN UINT32_MAX

/* Requirement 2, following zipkin2.internal.DependencyLinker.putTrace. */
static int add_zipkin(tl_topo *tp, const tl_tree *t, const tl_tspan *s) {
  if (t->n > tp->ra_cap) {
    uint32_t *p = realloc(tp->ra, (size_t)t->n * sizeof *p);
    if (!p) return TL_ENOMEM;
    tp->ra = p;
    tp->ra_cap = t->n;
  }
  /* The root Zipkin's builder picks: the first span without parent id;
  ** other roots and orphans become its children (Requirement 2). */
  uint32_t main = NO_SPAN;
  for (uint32_t r = 0; r < t->n_roots && main == NO_SPAN; r++)
    if (!s[t->roots[r]].parent && !t->flags[t->roots[r]]) main = t->roots[r];
  /* Remote ancestors, parents first (t->order). */
  for (uint32_t k = 0; k < t->n_order; k++) {
    uint32_t i = t->order[k];
    int32_t p = t->parent[i];
    uint32_t zp = p >= 0 ? (uint32_t)p : (i != main ? main : NO_SPAN);
    if (zp == NO_SPAN) tp->ra[i] = NO_SPAN;
    else if (remote_kind(&s[zp])) tp->ra[i] = zp;
    else tp->ra[i] = p >= 0 ? tp->ra[zp] : NO_SPAN; /* main has no ancestor */
  }
  for (uint32_t k = 0; k < t->n_order; k++) {
    uint32_t i = t->order[k];
    const tl_tspan *cur = &s[i];
    int kind = remote_kind(cur) ? cur->kind : 0;
    int has_children = t->child_at[i + 1] > t->child_at[i] || (i == main && t->n_roots > 1);
    if (kind == TL_KIND_CLIENT && has_children) continue; /* the server names the link */
    const char *service = cur->service, *remote = cur->remote, *parent, *child;
    if (!kind) {
      if (!service || !remote) continue; /* a local span */
      kind = TL_KIND_CLIENT;
    }
    if (kind == TL_KIND_SERVER || kind == TL_KIND_CONSUMER) {
      child = service;
      parent = remote;
      if (i == main && !parent) continue; /* the root's client is unknown */
    } else {
      parent = service;
      child = remote;
    }
    int error = cur->error;
    if (kind == TL_KIND_PRODUCER || kind == TL_KIND_CONSUMER) {
      if (parent && child && add_link(tp, parent, child, error, dur(cur))) return TL_ENOMEM;
      continue;
    }
    uint32_t ra = tp->ra[i];
    if (ra != NO_SPAN && s[ra].service) {
      const char *ra_service = s[ra].service;
      /* Backfill a client whose caller left no client span. */
      if (kind == TL_KIND_CLIENT && service && ra_service != service &&
          add_link(tp, ra_service, service, 0, dur(cur)))
        return TL_ENOMEM;
      if (kind == TL_KIND_SERVER || !parent) parent = ra_service;
      /* Requirement 3: a split RPC's error may be on the client side. */
      if (!error && s[ra].kind == TL_KIND_CLIENT && cur->parent && cur->parent == s[ra].id)
        error = s[ra].error;
    }
    if (parent && child && add_link(tp, parent, child, error, dur(cur))) return TL_ENOMEM;
  }
  return TL_OK;
}

int tl_topo_add(tl_topo *tp, const tl_tree *t, const tl_tspan *spans, tl_err *e) {
  int rc = tp->mode == TL_TOPO_ZIPKIN ? add_zipkin(tp, t, spans) : add_jaeger(tp, t, spans);
  return rc ? tl_err_set(e, TL_ENOMEM, "out of memory") : TL_OK;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void swap_i64(int64_t *a, int64_t *b) {
  int64_t t = *a;
  *a = *b;
  *b = t;
}

/* Moves the k-th smallest of v[lo..hi] to v[k], smaller ones before it and
** larger ones after (quickselect with a median-of-three pivot: expected
** O(n), no recursion).  Past 64 rounds, as crafted data could force, the
** rest is sorted instead, so the worst case stays O(n log n). */
static void select_k(int64_t *v, int64_t lo, int64_t hi, int64_t k) {
  for (int round = 0; lo < hi && k >= lo && k <= hi; round++) {
    if (round == 64) {
      qsort(v + lo, (size_t)(hi - lo + 1), sizeof *v, cmp_i64);
      return;
    }
    int64_t mid = lo + (hi - lo) / 2;
    if (v[mid] < v[lo]) swap_i64(&v[mid], &v[lo]);
    if (v[hi] < v[lo]) swap_i64(&v[hi], &v[lo]);
    if (v[hi] < v[mid]) swap_i64(&v[hi], &v[mid]);
    int64_t pivot = v[mid], i = lo, j = hi;
    while (i <= j) { /* Hoare: both sides stop on equal keys, so runs of them split evenly */
      while (v[i] < pivot) i++;
      while (v[j] > pivot) j--;
      if (i <= j) swap_i64(&v[i++], &v[j--]);
    }
    /* v[lo..j] <= pivot <= v[i..hi]; what lies between equals the pivot */
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/* Requirement 4: SQLite percentile()'s interpolation between the ranks
** around (n - 1) * p.  v is permuted; ranks at or below `done` are already
** in place (selections run in increasing p). */
static double percentile(int64_t *v, uint64_t n, double p, uint64_t *done) {
  double pos = (double)(n - 1) * p;
  uint64_t lo = (uint64_t)pos;
  if (lo + 1 >= n) {
    select_k(v, (int64_t)*done, (int64_t)n - 1, (int64_t)n - 1);
    *done = n - 1;
    return (double)v[n - 1];
  }
  select_k(v, (int64_t)*done, (int64_t)n - 1, (int64_t)lo);
  uint64_t next = lo + 1; /* the smallest of what lies after lo */
  for (uint64_t i = lo + 2; i < n; i++)
    if (v[i] < v[next]) next = i;
  swap_i64(&v[lo + 1], &v[next]);
  *done = lo + 1;
  return (double)v[lo] + ((double)v[lo + 1] - (double)v[lo]) * (pos - (double)lo);
}

static int cmp_edge(const void *a, const void *b) {
  const tl_topo_edge *x = a, *y = b;
  int c = strcmp(x->caller, y->caller);
  return c ? c : strcmp(x->callee, y->callee);
}

int tl_topo_finish(tl_topo *tp, tl_err *e) {
  free(tp->out);
  tp->out = malloc(((size_t)tp->n + 1) * sizeof *tp->out);
  if (!tp->out) return tl_err_set(e, TL_ENOMEM, "out of memory");
  for (uint32_t i = 0; i < tp->n; i++) {
    edge *x = &tp->edges[i];
    uint64_t done = 0;
    double p50 = percentile(x->lat, x->n_lat, 0.5, &done);
    double p99 = percentile(x->lat, x->n_lat, 0.99, &done);
    tp->out[i] = (tl_topo_edge){x->caller, x->callee, x->calls, x->errors, p50, p99};
  }
  qsort(tp->out, tp->n, sizeof *tp->out, cmp_edge); /* Requirement 5 */
  return TL_OK;
}

const tl_topo_edge *tl_topo_edges(const tl_topo *tp, uint32_t *n) {
  *n = tp->out ? tp->n : 0;
  return tp->out;
}

static void dot_id(tl_buf *b, const char *s) {
  tl_buf_putc(b, '"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') tl_buf_putc(b, '\\');
    if (*s == '\n') tl_buf_puts(b, "\\n");
    else tl_buf_putc(b, *s);
  }
  tl_buf_putc(b, '"');
}

int tl_topo_dot(const tl_topo *tp, tl_buf *b) {
  uint32_t n;
  const tl_topo_edge *ed = tl_topo_edges(tp, &n);
  tl_buf_puts(b,
              "digraph topology {\n"
              "  rankdir=LR;\n"
              "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eef2f8\", fontname=\"Helvetica\"];\n"
              "  edge [fontname=\"Helvetica\", fontsize=10];\n");
  for (uint32_t i = 0; i < n; i++) {
    tl_buf_puts(b, "  ");
    dot_id(b, ed[i].caller);
    tl_buf_puts(b, " -> ");
    dot_id(b, ed[i].callee);
    tl_buf_printf(b, " [label=\"%llu call%s", (unsigned long long)ed[i].calls,
                  ed[i].calls == 1 ? "" : "s");
    if (ed[i].errors)
      tl_buf_printf(b, "\\n%.1f%% errors\", color=\"#c0392b\", fontcolor=\"#c0392b\"",
                    100.0 * (double)ed[i].errors / (double)ed[i].calls);
    else
      tl_buf_puts(b, "\"");
    tl_buf_puts(b, "];\n");
  }
  tl_buf_puts(b, "}\n");
  return b->oom ? TL_ENOMEM : TL_OK;
}
