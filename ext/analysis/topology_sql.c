/*
** topology_sql.c — the SQL faces of the service topology (contract in
** topology.h, Requirements 1-6):
**
**   SELECT * FROM trace_topology('spans');                       -- all time, 'jaeger' mode
**   SELECT * FROM trace_topology('spans', 1700000000e9, 1700003600e9);  -- spans starting in [start, end)
**   SELECT * FROM trace_topology('spans', NULL, NULL, 'zipkin');
**     caller, callee, calls, errors, p50_ns, p99_ns
**   SELECT trace_topology_dot('spans');      -- Graphviz DOT: dot -Tsvg
**
** Arguments: table, then optionally start_ns and end_ns (NULL = unbounded)
** and mode ('jaeger' or 'zipkin', NULL = 'jaeger').  trace_topology is an
** eponymous table-valued function whose hidden columns source, start_ns,
** end_ns and mode are its arguments (xBestIndex plan: tl_src_best_index in
** analysis_sql.h, idxNum bit i = argument i given).
**
** Scanning: the rows are read once in the table's own order, from a
** tracelite table directly (analysis_sql.h: spans as the store decodes
** them, trace ids compared as bytes), from any other source through SQL;
** both feed the same open traces.  Traces stay open while the open ones
** hold at most OPEN_SPANS (262,144) spans; past that the least recently
** touched are linked and dropped, so memory is bounded (about 100 bytes a
** span: 26 MB) whatever the table's size.  The ids of the traces seen are
** remembered (16 bytes each); if a trace id comes back after its trace was
** linked (rows of one trace more than OPEN_SPANS apart), the scan starts
** over through SQL with ORDER BY trace_id, which an index on trace_id
** serves directly and otherwise SQLite's sorter (which spills to temporary
** files) serves.
** Results are exact either way; docs/analysis.md measures both.
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "../vtab/register.h"
#include "analysis_sql.h"
#include "topology.h"

enum { COL_CALLER, COL_CALLEE, COL_CALLS, COL_ERRORS, COL_P50, COL_P99, COL_SOURCE };
#define NARGS 4

/* Traces being read.  Rows of one trace may interleave with others (the
** generator writes spans in end-time order, so a long trace spans
** thousands of rows of other traces).  Every trace stays open until the
** open traces hold OPEN_SPANS spans; then the least recently touched are
** linked and dropped.  Names are interned once in one shared batch. */
#define OPEN_SPANS 262144

typedef struct open_trace {
  tl_trace_buf buf;
  uint64_t hash;
  int32_t prev, next; /* in the touch list, most recent first; -1 ends */
  int used;
} open_trace;

/* Trace id hash -> state: open (slot + 1) or linked (0).  Hash collisions
** only cost a rescan. */
typedef struct seen_entry {
  uint64_t hash; /* 0 = empty */
  int32_t slot;  /* open slot + 1, or 0 once linked */
} seen_entry;

typedef struct scan {
  sqlite3 *db;
  const char *fname;
  tl_src src;
  tl_tree tree;
  tl_topo *topo;
  tl_batch *names;
  open_trace *open;
  int32_t n_open, cap_open, free_head, head, tail;
  uint64_t open_spans;
  seen_entry *seen;
  uint64_t seen_mask, seen_n;
} scan;

#define RESCAN 1000 /* not a SQLite code: a trace came back after it was linked */

static seen_entry *seen_find(scan *sc, uint64_t h) {
  h |= 1;
  if (2 * (sc->seen_n + 1) > sc->seen_mask) {
    uint64_t size = sc->seen_mask ? (sc->seen_mask + 1) * 2 : 1024;
    seen_entry *t = calloc(size, sizeof *t);
    if (!t) return NULL;
    for (uint64_t i = 0; sc->seen_mask && i <= sc->seen_mask; i++) {
      if (!sc->seen[i].hash) continue;
      uint64_t k = (sc->seen[i].hash ^ sc->seen[i].hash >> 29) & (size - 1);
      while (t[k].hash) k = (k + 1) & (size - 1);
      t[k] = sc->seen[i];
    }
    free(sc->seen);
    sc->seen = t;
    sc->seen_mask = size - 1;
  }
  uint64_t k = (h ^ h >> 29) & sc->seen_mask;
  for (; sc->seen[k].hash; k = (k + 1) & sc->seen_mask)
    if (sc->seen[k].hash == h) return &sc->seen[k];
  sc->seen[k].hash = h;
  sc->seen[k].slot = -1; /* new: the caller opens it */
  sc->seen_n++;
  return &sc->seen[k];
}

static void list_unlink(scan *sc, int32_t i) {
  open_trace *o = &sc->open[i];
  if (o->prev >= 0) sc->open[o->prev].next = o->next;
  else sc->head = o->next;
  if (o->next >= 0) sc->open[o->next].prev = o->prev;
  else sc->tail = o->prev;
}

static void list_push(scan *sc, int32_t i) {
  open_trace *o = &sc->open[i];
  o->prev = -1;
  o->next = sc->head;
  if (sc->head >= 0) sc->open[sc->head].prev = i;
  sc->head = i;
  if (sc->tail < 0) sc->tail = i;
}

/* Links and closes open slot i. */
static int link_trace(scan *sc, int32_t i, char **err) {
  open_trace *o = &sc->open[i];
  tl_err e;
  tl_err_clear(&e);
  list_unlink(sc, i);
  seen_entry *se = seen_find(sc, o->hash);
  if (!se) return SQLITE_NOMEM;
  se->slot = 0;
  o->used = 0;
  sc->open_spans -= o->buf.n;
  o->next = sc->free_head;
  sc->free_head = i;
  if (tl_tree_build(&sc->tree, o->buf.spans, o->buf.n, &e) ||
      tl_topo_add(sc->topo, &sc->tree, o->buf.spans, &e))
    return tl_src_error(sc->fname, &e, err);
  return SQLITE_OK;
}

/* The open slot of this trace id: found (and touched), or opened.
** RESCAN when the id was linked before. */
static int open_of(scan *sc, const void *tid, size_t n, int text, int32_t *out) {
  uint64_t h = tl_hash(tid, n);
  seen_entry *se = seen_find(sc, h);
  if (!se) return SQLITE_NOMEM;
  if (se->slot > 0) {
    int32_t i = se->slot - 1;
    list_unlink(sc, i);
    list_push(sc, i);
    *out = i;
    return SQLITE_OK;
  }
  if (se->slot == 0) return RESCAN;
  int32_t i = sc->free_head;
  if (i >= 0) {
    sc->free_head = sc->open[i].next;
  } else {
    if (sc->n_open == sc->cap_open) {
      int32_t cap = sc->cap_open ? sc->cap_open * 2 : 64;
      open_trace *p = realloc(sc->open, (size_t)cap * sizeof *p);
      if (!p) return SQLITE_NOMEM;
      sc->open = p;
      sc->cap_open = cap;
    }
    i = sc->n_open++;
    tl_trace_buf_init_shared(&sc->open[i].buf, sc->names);
  }
  open_trace *o = &sc->open[i];
  char id[64];
  int keep = text && n < sizeof id;
  if (keep) memcpy(id, tid, n);
  tl_trace_buf_reset(&o->buf, id, keep ? (uint32_t)n : 0);
  o->hash = h;
  o->used = 1;
  se->slot = i + 1;
  list_push(sc, i);
  *out = i;
  return SQLITE_OK;
}

static int link_all(scan *sc, uint64_t keep_spans, char **err) {
  int rc = SQLITE_OK;
  while (rc == SQLITE_OK && sc->tail >= 0 && sc->open_spans > keep_spans)
    rc = link_trace(sc, sc->tail, err);
  return rc;
}

/* The arguments as the functions take them. */
typedef struct topo_args {
  const char *table;
  int window, mode;
  sqlite3_int64 lo, hi;
} topo_args;

static int window_bound(sqlite3_value *v, sqlite3_int64 dflt, sqlite3_int64 *out) {
  if (!v || sqlite3_value_type(v) == SQLITE_NULL) {
    *out = dflt;
    return 1;
  }
  int t = sqlite3_value_numeric_type(v);
  if (t != SQLITE_INTEGER && t != SQLITE_FLOAT) return 0;
  double d = sqlite3_value_double(v);
  *out = t == SQLITE_INTEGER ? sqlite3_value_int64(v)
         : d >= 9.2e18       ? INT64_MAX
         : d <= -9.2e18      ? INT64_MIN
                             : (sqlite3_int64)d;
  return 1;
}

static int parse_args(const char *fname, sqlite3_value **v, int nargs, topo_args *a, char **err) {
  memset(a, 0, sizeof *a);
  if (nargs < 1 || !v[0] || nargs == 2 || nargs > NARGS) {
    *err = sqlite3_mprintf("%s takes 1, 3 or 4 arguments, as in %s(table [, start_ns, end_ns "
                           "[, mode]])", fname, fname);
    return SQLITE_ERROR;
  }
  if (sqlite3_value_type(v[0]) != SQLITE_TEXT) {
    *err = sqlite3_mprintf("%s: table must be a table or view name", fname);
    return SQLITE_ERROR;
  }
  a->table = (const char *)sqlite3_value_text(v[0]);
  if (!a->table) return SQLITE_NOMEM;
  if (nargs >= 3) {
    if (!window_bound(v[1], INT64_MIN, &a->lo) || !window_bound(v[2], INT64_MAX, &a->hi)) {
      *err = sqlite3_mprintf("%s: start_ns and end_ns must be integers or NULL", fname);
      return SQLITE_ERROR;
    }
    a->window = sqlite3_value_type(v[1]) != SQLITE_NULL || sqlite3_value_type(v[2]) != SQLITE_NULL;
  }
  a->mode = TL_TOPO_JAEGER;
  if (nargs == 4 && sqlite3_value_type(v[3]) != SQLITE_NULL) {
    const char *m = (const char *)sqlite3_value_text(v[3]);
    a->mode = m ? tl_topo_mode(m, (size_t)sqlite3_value_bytes(v[3])) : -1;
    if (a->mode < 0) {
      *err = sqlite3_mprintf("%s: mode must be 'jaeger' or 'zipkin', not '%s'", fname,
                             m ? m : "");
      return SQLITE_ERROR;
    }
  }
  return SQLITE_OK;
}

/* Where the rows of a new trace go: linked traces make room first, then
** the trace is found or opened.  RESCAN when it was linked before. */
static int switch_trace(scan *sc, const void *tid, size_t n, int text, int32_t *cur, char **err) {
  int rc = link_all(sc, OPEN_SPANS, err);
  return rc == SQLITE_OK ? open_of(sc, tid, n, text, cur) : rc;
}

/* A direct read of a tracelite table (analysis_sql.h). */
typedef struct topo_run {
  tl_src_run r;
  scan *sc;
  int rescan;
  char **err;
} topo_run;

static int topo_run_fn(tl_direct *d, tl_scan *scn, tl_scan_filter *f) {
  topo_run *t = (topo_run *)d;
  scan *sc = t->sc;
  f->fields = tl_src_fields(t->r.src->flags);
  int rc = tl_scan_start(scn, f);
  int32_t cur = -1;
  uint8_t prev[16];
  while (rc == SQLITE_OK && !scn->eof) {
    const tl_span *s = tl_scan_span(scn, &rc);
    if (!s) break;
    if (cur < 0 || !sc->open[cur].used || memcmp(s->trace_id, prev, 16)) {
      /* The trace id as the SQL read shows it, so that both reads hash and
      ** remember the same text. */
      char hex[32];
      tl_hex_encode(s->trace_id, 16, hex);
      rc = switch_trace(sc, hex, sizeof hex, 1, &cur, t->err);
      if (rc == RESCAN) {
        t->rescan = 1;
        return SQLITE_OK;
      }
      if (rc != SQLITE_OK) return rc;
      memcpy(prev, s->trace_id, 16);
    }
    if ((rc = tl_src_add_span(&t->r, &sc->open[cur].buf, scn, s))) break;
    sc->open_spans++;
    rc = tl_scan_next(scn);
  }
  return rc == SQLITE_OK ? link_all(sc, 0, t->err) : rc;
}

/* The rows through SQL; RESCAN when a trace id comes back. */
static int sql_pass(scan *sc, char **err) {
  sqlite3_stmt *st = sc->src.stmt;
  tl_err e;
  tl_err_clear(&e);
  tl_cell cells[TL_TC_COUNT];
  int32_t cur = -1;
  const void *prev = NULL;
  size_t prev_n = 0;
  tl_buf prev_id;
  tl_buf_init(&prev_id);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const void *tid = sqlite3_column_blob(st, 0);
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    if (cur < 0 || !sc->open[cur].used || n != prev_n || (n && memcmp(tid, prev, n))) {
      rc = switch_trace(sc, tid, n, sqlite3_column_type(st, 0) == SQLITE_TEXT, &cur, err);
      if (rc != SQLITE_OK) break;
      tl_buf_reset(&prev_id);
      tl_buf_append(&prev_id, tid, n);
      if (prev_id.oom) {
        rc = SQLITE_NOMEM;
        break;
      }
      prev = prev_id.p;
      prev_n = n;
    }
    tl_src_cells(st, 1, cells);
    if (tl_trace_buf_add(&sc->open[cur].buf, cells, &e)) {
      rc = tl_src_error(sc->fname, &e, err);
      break;
    }
    sc->open_spans++;
  }
  tl_buf_free(&prev_id);
  if (rc == SQLITE_DONE) rc = link_all(sc, 0, err);
  else if (rc != SQLITE_OK && rc != RESCAN && !*err)
    *err = sqlite3_mprintf("%s: %s", sc->fname, sqlite3_errmsg(sc->db));
  sqlite3_reset(st);
  return rc;
}

/* One pass over the rows, directly from a tracelite table unless sorted;
** RESCAN when a trace id comes back. */
static int scan_pass(scan *sc, const topo_args *a, int sorted, char **err) {
  int flags = TL_SRC_SCAN | TL_SRC_NAMELESS | (a->window ? TL_SRC_WINDOW : 0) |
              (sorted ? TL_SRC_SORTED : 0) | (a->mode == TL_TOPO_ZIPKIN ? TL_SRC_REMOTE : 0);
  int rc = tl_src_prepare(&sc->src, sc->db, sc->fname, a->table, flags, err);
  if (rc != SQLITE_OK) return rc;
  if (sc->src.direct) {
    topo_run t = {.r = {.base = {.run = topo_run_fn}, .src = &sc->src, .fname = sc->fname},
                  .sc = sc,
                  .err = err};
    int ran;
    if (a->window) {
      sqlite3_bind_int64(sc->src.direct, 2, a->lo);
      sqlite3_bind_int64(sc->src.direct, 3, a->hi);
    }
    rc = tl_src_run_direct(&t.r, &ran, err);
    if (rc != SQLITE_OK || ran) return rc == SQLITE_OK && t.rescan ? RESCAN : rc;
  }
  if (a->window) {
    sqlite3_bind_int64(sc->src.stmt, 1, a->lo);
    sqlite3_bind_int64(sc->src.stmt, 2, a->hi);
  }
  return sql_pass(sc, err);
}

/* Forgets every open trace and seen id (before a rescan). */
static void scan_clear(scan *sc) {
  for (int32_t i = 0; i < sc->n_open; i++) tl_trace_buf_free(&sc->open[i].buf);
  free(sc->open);
  free(sc->seen);
  sc->open = NULL;
  sc->seen = NULL;
  sc->n_open = sc->cap_open = 0;
  sc->free_head = sc->head = sc->tail = -1;
  sc->open_spans = sc->seen_mask = sc->seen_n = 0;
}

static void scan_free(scan *sc) {
  scan_clear(sc);
  tl_src_close(&sc->src);
  tl_tree_free(&sc->tree);
  tl_topo_free(sc->topo);
  tl_batch_free(sc->names);
}

/* Computes the topology of the arguments into *out (the caller frees it). */
static int compute(sqlite3 *db, const char *fname, sqlite3_value **v, int nargs, tl_topo **out,
                   char **err) {
  topo_args a;
  *out = NULL;
  int rc = parse_args(fname, v, nargs, &a, err);
  if (rc != SQLITE_OK) return rc;
  scan sc;
  memset(&sc, 0, sizeof sc);
  sc.db = db;
  sc.fname = fname;
  scan_clear(&sc);
  sc.topo = tl_topo_new(a.mode);
  sc.names = tl_batch_new();
  if (!sc.topo || !sc.names) {
    scan_free(&sc);
    return SQLITE_NOMEM;
  }
  tl_tree_init(&sc.tree);
  rc = scan_pass(&sc, &a, 0, err);
  if (rc == RESCAN) {
    scan_clear(&sc);
    tl_topo_free(sc.topo);
    sc.topo = tl_topo_new(a.mode);
    rc = sc.topo ? scan_pass(&sc, &a, 1, err) : SQLITE_NOMEM;
  }
  tl_err e;
  tl_err_clear(&e);
  if (rc == SQLITE_OK && tl_topo_finish(sc.topo, &e)) rc = SQLITE_NOMEM;
  if (rc == SQLITE_OK) {
    *out = sc.topo;
    sc.topo = NULL;
  }
  scan_free(&sc);
  return rc;
}

/* ---- trace_topology: the table-valued function ----------------------------- */

typedef struct topo_vtab {
  sqlite3_vtab base;
  sqlite3 *db;
} topo_vtab;

typedef struct topo_cursor {
  sqlite3_vtab_cursor base;
  tl_topo *topo;
  const tl_topo_edge *edges;
  uint32_t n, pos;
  sqlite3_value *args[NARGS];
} topo_cursor;

static int topo_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                        sqlite3_vtab **out, char **err) {
  (void)aux;
  (void)argc;
  (void)argv;
  int rc = sqlite3_declare_vtab(db,
                                "CREATE TABLE x(caller TEXT, callee TEXT, calls INTEGER, "
                                "errors INTEGER, p50_ns REAL, p99_ns REAL, source HIDDEN, "
                                "start_ns HIDDEN, end_ns HIDDEN, mode HIDDEN)");
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("trace_topology: %s", sqlite3_errmsg(db));
    return rc;
  }
  topo_vtab *v = sqlite3_malloc(sizeof *v);
  if (!v) return SQLITE_NOMEM;
  memset(v, 0, sizeof *v);
  v->db = db;
  *out = &v->base;
  return SQLITE_OK;
}

static int topo_disconnect(sqlite3_vtab *v) {
  sqlite3_free(v);
  return SQLITE_OK;
}

static int topo_best_index(sqlite3_vtab *v, sqlite3_index_info *info) {
  (void)v;
  return tl_src_best_index(info, COL_SOURCE, NARGS, 1);
}

static int topo_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out) {
  (void)v;
  topo_cursor *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  *out = &c->base;
  return SQLITE_OK;
}

static int topo_close(sqlite3_vtab_cursor *cur) {
  topo_cursor *c = (topo_cursor *)cur;
  tl_tvf_filter_args(c->args, NARGS, 0, 0, NULL);
  tl_topo_free(c->topo);
  sqlite3_free(c);
  return SQLITE_OK;
}

/* xFilter: argv holds the arguments given, in order (idxNum bit i). */
static int topo_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr, int argc,
                       sqlite3_value **argv) {
  (void)idxStr;
  topo_cursor *c = (topo_cursor *)cur;
  tl_topo_free(c->topo);
  c->topo = NULL;
  c->n = c->pos = 0;
  if (tl_tvf_filter_args(c->args, NARGS, idxNum, argc, argv) < 0) return SQLITE_NOMEM;
  int nargs = 0;
  for (int i = 0; i < NARGS; i++)
    if (c->args[i]) nargs = i + 1;
  for (int i = 0; i < nargs; i++) {
    if (!c->args[i]) nargs = 2; /* a gap: report the usage */
  }
  char *err = NULL;
  int rc = compute(((topo_vtab *)cur->pVtab)->db, "trace_topology", c->args, nargs, &c->topo, &err);
  if (rc != SQLITE_OK) {
    sqlite3_free(cur->pVtab->zErrMsg);
    cur->pVtab->zErrMsg = err;
    return rc;
  }
  c->edges = tl_topo_edges(c->topo, &c->n);
  return SQLITE_OK;
}

static int topo_next(sqlite3_vtab_cursor *cur) {
  ((topo_cursor *)cur)->pos++;
  return SQLITE_OK;
}

static int topo_eof(sqlite3_vtab_cursor *cur) {
  topo_cursor *c = (topo_cursor *)cur;
  return c->pos >= c->n;
}

static int topo_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  topo_cursor *c = (topo_cursor *)cur;
  const tl_topo_edge *e = &c->edges[c->pos];
  switch (col) {
    case COL_CALLER: sqlite3_result_text(ctx, e->caller, -1, SQLITE_TRANSIENT); break;
    case COL_CALLEE: sqlite3_result_text(ctx, e->callee, -1, SQLITE_TRANSIENT); break;
    case COL_CALLS: sqlite3_result_int64(ctx, (sqlite3_int64)e->calls); break;
    case COL_ERRORS: sqlite3_result_int64(ctx, (sqlite3_int64)e->errors); break;
    case COL_P50: sqlite3_result_double(ctx, e->p50_ns); break;
    case COL_P99: sqlite3_result_double(ctx, e->p99_ns); break;
    default:
      if (c->args[col - COL_SOURCE]) sqlite3_result_value(ctx, c->args[col - COL_SOURCE]);
      break;
  }
  return SQLITE_OK;
}

static int topo_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  *rowid = ((topo_cursor *)cur)->pos + 1;
  return SQLITE_OK;
}

static const sqlite3_module topo_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only */
    .xConnect = topo_connect,
    .xBestIndex = topo_best_index,
    .xDisconnect = topo_disconnect,
    .xDestroy = topo_disconnect,
    .xOpen = topo_open,
    .xClose = topo_close,
    .xFilter = topo_filter,
    .xNext = topo_next,
    .xEof = topo_eof,
    .xColumn = topo_column,
    .xRowid = topo_rowid,
};

/* ---- trace_topology_dot(table [, start_ns, end_ns [, mode]]) ---------------- */

static void dot_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  tl_topo *topo = NULL;
  char *err = NULL;
  int rc = compute(sqlite3_context_db_handle(ctx), "trace_topology_dot", argv, argc, &topo, &err);
  if (rc == SQLITE_OK) {
    tl_buf out;
    tl_buf_init(&out);
    if (tl_topo_dot(topo, &out)) sqlite3_result_error_nomem(ctx);
    else sqlite3_result_text(ctx, out.p, (int)out.n, SQLITE_TRANSIENT);
    tl_buf_free(&out);
  } else if (rc == SQLITE_NOMEM) {
    sqlite3_result_error_nomem(ctx);
  } else {
    sqlite3_result_error(ctx, err ? err : "trace_topology_dot: failed", -1);
    sqlite3_result_error_code(ctx, rc);
  }
  sqlite3_free(err);
  tl_topo_free(topo);
}

int tl_register_topology(sqlite3 *db) {
  int rc = sqlite3_create_module(db, "trace_topology", &topo_module, NULL);
  /* Reads the table its argument names: not SQLITE_INNOCUOUS (docs/analysis.md). */
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function(db, "trace_topology_dot", -1, SQLITE_UTF8, NULL, dot_func, NULL,
                                 NULL);
  return rc;
}
