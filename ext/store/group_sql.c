/*
** group_sql.c — a scan's rows grouped by service, so that
**   SELECT service, latency_percentile(duration_ns, 0.99) FROM spans GROUP BY service
** needs no sorter: SQLite's sorter costs more than decoding the two columns
** (it writes every row to temporary files past its cache and compares the
** service texts again and again), while a table has a few hundred services
** at most.  The vtab takes this plan (store.h) only when the query reads
** nothing but the service, the times, kind and status_code.
**
** Rows are collected per service in one pass, each a rowid plus 8 bytes per
** value kept (start and end, or just the duration; kind and status codes),
** and come out group by group in BINARY order of the service, NULL first
** (all reversed for DESC), each group in scan order.  The plan is taken
** only when the table's rows fit in the budget (tl_groups_fit); if
** the table has grown past it by the time the statement runs, the table is
** walked once per service instead (each walk skips the blocks whose
** metadata lacks the service): slower, but memory stays bounded.
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <stdlib.h>
#include <string.h>

#include "store.h"

struct tl_group {
  char *key;        /* sqlite3_malloc'd copy; NULL for spans without a service */
  uint32_t len;
  int64_t *rows;    /* nslot values a row */
  size_t n, cap;    /* rows */
};

/* Slots of a collected row. */
enum { SLOT_ROWID, SLOT_A, SLOT_B };

static void clear_groups(tl_groups *gr) {
  for (size_t i = 0; i < gr->ng; i++) {
    sqlite3_free(gr->g[i].key);
    sqlite3_free(gr->g[i].rows);
  }
  sqlite3_free(gr->g);
  sqlite3_free(gr->slots);
  gr->g = NULL;
  gr->slots = NULL;
  gr->ng = gr->cap = 0;
  gr->mask = 0;
}

void tl_groups_free(tl_groups *gr) {
  clear_groups(gr);
  memset(gr, 0, sizeof *gr);
}

/* Groups by content: an open-addressing table of group index + 1. */
static int rehash(tl_groups *gr) {
  size_t size = gr->mask ? (gr->mask + 1) * 2 : 64;
  uint32_t *s = sqlite3_malloc64(size * sizeof *s);
  if (!s) return SQLITE_NOMEM;
  memset(s, 0, size * sizeof *s);
  for (size_t i = 0; i < gr->ng; i++) {
    size_t h = (size_t)tl_hash(gr->g[i].key, gr->g[i].len) & (size - 1);
    while (s[h]) h = (h + 1) & (size - 1);
    s[h] = (uint32_t)i + 1;
  }
  sqlite3_free(gr->slots);
  gr->slots = s;
  gr->mask = size - 1;
  return SQLITE_OK;
}

/* The group of service s (len 0: none), added if new; NULL when out of memory. */
static tl_group *group_of(tl_groups *gr, tl_str s) {
  const char *p = s.len ? s.ptr : NULL;
  if (2 * (gr->ng + 1) > gr->mask && rehash(gr)) return NULL;
  size_t h = (size_t)tl_hash(p, s.len) & gr->mask;
  for (; gr->slots[h]; h = (h + 1) & gr->mask) {
    tl_group *g = &gr->g[gr->slots[h] - 1];
    if (g->len == s.len && (!p) == (!g->key) && (!p || !memcmp(g->key, p, s.len))) return g;
  }
  if (gr->ng == gr->cap) {
    size_t cap = gr->cap ? gr->cap * 2 : 16;
    tl_group *ng = sqlite3_realloc64(gr->g, cap * sizeof *ng);
    if (!ng) return NULL;
    gr->g = ng;
    gr->cap = cap;
  }
  tl_group *g = &gr->g[gr->ng];
  memset(g, 0, sizeof *g);
  if (p) {
    g->key = sqlite3_malloc64((sqlite3_uint64)s.len + 1);
    if (!g->key) return NULL;
    memcpy(g->key, p, s.len);
    g->key[s.len] = 0;
    g->len = s.len;
  }
  gr->slots[h] = (uint32_t)++gr->ng;
  return g;
}

static int add_row(tl_groups *gr, tl_group *g, const tl_scan *sc, const tl_span *s) {
  if (g->n == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 256;
    int64_t *r = sqlite3_realloc64(g->rows, cap * gr->nslot * sizeof *r);
    if (!r) return SQLITE_NOMEM;
    g->rows = r;
    g->cap = cap;
  }
  int64_t *r = &g->rows[g->n++ * gr->nslot];
  int k = SLOT_A;
  r[SLOT_ROWID] = tl_scan_rowid(sc);
  if (gr->keep & TL_GROUP_TIMES) {
    r[k++] = (int64_t)s->start_ns;
    r[k++] = (int64_t)s->end_ns;
  } else if (gr->keep & TL_GROUP_DURATION) {
    r[k++] = (int64_t)(s->end_ns - s->start_ns);
  }
  if (gr->keep & TL_GROUP_CODES) r[k] = s->kind | s->status_code << 8;
  return SQLITE_OK;
}

/* BINARY order of the services, NULL first. */
static int cmp_group(const void *a, const void *b) {
  const tl_group *x = a, *y = b;
  if (!x->key || !y->key) return (x->key != NULL) - (y->key != NULL);
  int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
  return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The one pass that collects every row. */
static int collect(tl_groups *gr, tl_scan_filter *f) {
  tl_scan *sc = gr->sc;
  /* Spans of a block share a few services: an address and length in the
  ** block name one string until the scan takes another view. */
  const char *memo_from = NULL;
  uint32_t memo_len = 0;
  size_t memo_group = 0;
  uint64_t memo_views = 0;
  int rc = tl_scan_start(sc, f);
  while (rc == SQLITE_OK && !sc->eof) {
    const tl_span *s = tl_scan_span(sc, &rc);
    if (!s) break;
    tl_str key = s->resource->service;
    if (memo_views != sc->views || memo_from != key.ptr || memo_len != key.len) {
      const tl_group *g = group_of(gr, key);
      if (!g) return SQLITE_NOMEM;
      memo_group = (size_t)(g - gr->g);
      memo_from = key.ptr;
      memo_len = key.len;
      memo_views = sc->views;
    }
    if ((rc = add_row(gr, &gr->g[memo_group], sc, s))) break;
    rc = tl_scan_next(sc);
  }
  return rc;
}

/* ---- one walk per service (past the memory budget) ------------------------- */

static const tl_group *cur_group(const tl_groups *gr) {
  return &gr->g[gr->desc ? gr->ng - 1 - gr->gi : gr->gi];
}


/* Only the groups' keys: every service of the table, and NULL. */
static int list_services(tl_groups *gr) {
  const tl_strmap *m = &gr->sc->st->services;
  tl_str none = {NULL, 0};
  if (!group_of(gr, none)) return SQLITE_NOMEM;
  for (size_t i = 0; i < m->n; i++) {
    tl_str s = {m->ents[i].s, m->ents[i].len};
    if (s.len && !group_of(gr, s)) return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/* Whether the scan's current span belongs to the current group. */
static int in_group(tl_groups *gr, int *rc) {
  const tl_span *s = tl_scan_span(gr->sc, rc);
  if (!s) return 0;
  const tl_group *g = cur_group(gr);
  tl_str k = s->resource->service;
  return k.len == g->len && (!g->key ? !k.len : !memcmp(k.ptr, g->key, k.len));
}

/* Moves to the next span of the current group's walk, or the next walk. */
static int walk_settle(tl_groups *gr) {
  tl_scan *sc = gr->sc;
  int rc = SQLITE_OK;
  for (;;) {
    while (!sc->eof) {
      if (in_group(gr, &rc)) return SQLITE_OK;
      if (rc || (rc = tl_scan_next(sc))) return rc;
    }
    if (++gr->gi >= gr->ng) {
      gr->eof = 1;
      return SQLITE_OK;
    }
    tl_scan_filter f = gr->f;
    const tl_group *g = cur_group(gr);
    /* A service skips the blocks without it; NULL reads every block. */
    f.service = g->key;
    f.service_len = g->len;
    if ((rc = tl_scan_start(sc, &f))) return rc;
  }
}

/* ---- the interface ------------------------------------------------------------- */

static size_t row_bytes(int keep) {
  int slots = 1 + (keep & TL_GROUP_TIMES ? 2 : keep & TL_GROUP_DURATION ? 1 : 0) +
              (keep & TL_GROUP_CODES ? 1 : 0);
  return (size_t)slots * sizeof(int64_t);
}

/* TL_GROUP_MAX_BYTES, or a quarter of SQLite's soft heap limit when one is
** set lower. */
static uint64_t budget(void) {
  sqlite3_int64 soft = sqlite3_soft_heap_limit64(-1);
  return soft > 0 && (uint64_t)soft / 4 < TL_GROUP_MAX_BYTES ? (uint64_t)soft / 4
                                                            : TL_GROUP_MAX_BYTES;
}

int tl_groups_fit(tl_store *st, int keep) {
  if (tl_store_load(st)) return 0; /* SQLite's sorter will do */
  sqlite3_int64 n = st->stored_spans + (sqlite3_int64)(st->buf ? tl_batch_count(st->buf) : 0);
  return (uint64_t)n * row_bytes(keep) <= budget();
}

int tl_groups_start(tl_groups *gr, tl_scan *sc, tl_scan_filter *f, int keep, int desc) {
  clear_groups(gr);
  gr->sc = sc;
  gr->keep = keep;
  gr->desc = desc;
  gr->nslot = (int)(row_bytes(keep) / sizeof(int64_t));
  gr->gi = gr->ri = 0;
  gr->eof = 0;
  sqlite3_free(f->traces); /* the plan has no trace filter; nothing to own */
  f->traces = NULL;
  f->fields |= TL_FIELD_RESOURCE | (keep & TL_GROUP_CODES ? TL_FIELD_KIND | TL_FIELD_STATUS : 0);
  int rc = tl_store_load(sc->st);
  if (rc) return rc;
  gr->walks = (uint64_t)sc->st->stored_spans * row_bytes(keep) > budget();
  if (gr->walks) {
    gr->f = *f;
    if ((rc = list_services(gr))) return rc;
    qsort(gr->g, gr->ng, sizeof *gr->g, cmp_group);
    /* Start the first walk: walk_settle opens walk gi + 1. */
    gr->gi = (size_t)-1;
    sc->eof = 1;
    return walk_settle(gr);
  }
  if ((rc = collect(gr, f))) return rc;
  qsort(gr->g, gr->ng, sizeof *gr->g, cmp_group);
  gr->eof = gr->ng == 0;
  return SQLITE_OK;
}

int tl_groups_next(tl_groups *gr) {
  if (gr->eof) return SQLITE_OK;
  if (gr->walks) {
    int rc = tl_scan_next(gr->sc);
    return rc ? rc : walk_settle(gr);
  }
  if (++gr->ri < cur_group(gr)->n) return SQLITE_OK;
  gr->ri = 0;
  /* Groups are never empty: each was made by a row. */
  if (++gr->gi >= gr->ng) gr->eof = 1;
  return SQLITE_OK;
}

sqlite3_int64 tl_groups_rowid(const tl_groups *gr) {
  if (gr->walks) return tl_scan_rowid(gr->sc);
  return cur_group(gr)->rows[gr->ri * gr->nslot + SLOT_ROWID];
}

int tl_groups_result(tl_groups *gr, sqlite3_context *ctx, int col, tl_buf *scratch) {
  const tl_group *g = cur_group(gr);
  if (col == TL_COL_SERVICE) {
    if (g->key) sqlite3_result_text(ctx, g->key, (int)g->len, SQLITE_TRANSIENT);
    return SQLITE_OK;
  }
  if (gr->walks) {
    int rc;
    const tl_span *s = tl_scan_span(gr->sc, &rc);
    if (!s) return rc;
    tl_row_result(ctx, NULL, s, col, scratch);
    return SQLITE_OK;
  }
  const int64_t *r = &g->rows[gr->ri * gr->nslot];
  int times = gr->keep & TL_GROUP_TIMES ? 2 : gr->keep & TL_GROUP_DURATION ? 1 : 0;
  int64_t codes = gr->keep & TL_GROUP_CODES ? r[SLOT_A + times] : 0;
  switch (col) {
    case TL_COL_START_NS: sqlite3_result_int64(ctx, r[SLOT_A]); break;
    case TL_COL_END_NS: sqlite3_result_int64(ctx, r[SLOT_B]); break;
    case TL_COL_DURATION_NS:
      /* As tl_row_result: end - start in unsigned arithmetic. */
      sqlite3_result_int64(ctx, times == 2 ? (sqlite3_int64)((uint64_t)r[SLOT_B] - (uint64_t)r[SLOT_A])
                                           : r[SLOT_A]);
      break;
    case TL_COL_KIND: sqlite3_result_text(ctx, tl_kind_name((int)(codes & 0xff)), -1, SQLITE_STATIC); break;
    case TL_COL_STATUS_CODE:
      sqlite3_result_text(ctx, tl_status_name((int)(codes >> 8)), -1, SQLITE_STATIC);
      break;
    default: break; /* the plan reads no other column */
  }
  return SQLITE_OK;
}
