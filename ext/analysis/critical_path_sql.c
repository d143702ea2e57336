/*
** critical_path_sql.c — the SQL faces of the critical path
** (critical_path.h holds the contract, Requirements 1-7):
**
**   SELECT * FROM trace_critical_path('spans', '4bf92f3577b34da6a3ce929d0e0e4736');
**     span_id, service, name, start_ns, end_ns, depth, root_span_id
**     one row per section, each root's sections in time order
**
**   -- time on the path per span of one trace
**   SELECT span_id, service, name, sum(end_ns - start_ns) AS on_path_ns
**     FROM trace_critical_path('spans', ?) GROUP BY span_id ORDER BY on_path_ns DESC;
**
**   -- across many traces: what dominates the critical path of slow checkouts
**   SELECT cp.service, cp.name, sum(cp.end_ns - cp.start_ns)
**     FROM (SELECT DISTINCT trace_id FROM spans WHERE name = 'checkout' AND duration_ns > 1e9) t,
**          trace_critical_path('spans', t.trace_id) cp
**    GROUP BY 1, 2 ORDER BY 3 DESC;
**
**   -- spans held anywhere (any query), as JSON
**   SELECT critical_path(span_id, parent_span_id, start_ns, end_ns, kind) FROM my_rows;
**
** trace_critical_path is an eponymous table-valued function.  Its hidden
** columns `source` and `trace_id` are its two arguments.  xBestIndex plan
** (tl_src_best_index): idxNum bit 0 = source has a usable equality
** constraint, bit 1 = trace_id has one; xFilter's argv holds them in that
** order.  A plan where an argument is constrained but not usable (its value
** comes from a table later in the join) is refused with SQLITE_CONSTRAINT,
** so SQLite puts the table that supplies trace ids first.  Each cursor keeps its prepared
** statement (analysis_sql.h) between xFilter calls: a join over 10,000
** trace ids prepares once.
**
** Neither is SQLITE_INNOCUOUS-flagged except critical_path(): the table form
** reads whatever table its argument names (docs/analysis.md, "Security").
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

#include "../common/buf.h"
#include "../vtab/register.h"
#include "analysis_sql.h"
#include "critical_path.h"

#define FNAME "trace_critical_path"

enum { COL_SPAN_ID, COL_SERVICE, COL_NAME, COL_START, COL_END, COL_DEPTH, COL_ROOT,
       COL_SOURCE, COL_TRACE_ID };

typedef struct cp_vtab {
  sqlite3_vtab base;
  sqlite3 *db;
} cp_vtab;

typedef struct cp_cursor {
  sqlite3_vtab_cursor base;
  tl_src src;
  tl_trace_buf buf;
  tl_tree tree;
  tl_cp cp;
  uint32_t pos;
  sqlite3_value *args[2];
} cp_cursor;

static int cp_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                      sqlite3_vtab **out, char **err) {
  (void)aux;
  (void)argc;
  (void)argv;
  int rc = sqlite3_declare_vtab(db,
                                "CREATE TABLE x(span_id TEXT, service TEXT, name TEXT, "
                                "start_ns INTEGER, end_ns INTEGER, depth INTEGER, "
                                "root_span_id TEXT, source HIDDEN, trace_id HIDDEN)");
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf(FNAME ": %s", sqlite3_errmsg(db));
    return rc;
  }
  cp_vtab *v = sqlite3_malloc(sizeof *v);
  if (!v) return SQLITE_NOMEM;
  memset(v, 0, sizeof *v);
  v->db = db;
  *out = &v->base;
  return SQLITE_OK;
}

static int cp_disconnect(sqlite3_vtab *v) {
  sqlite3_free(v);
  return SQLITE_OK;
}

static int cp_best_index(sqlite3_vtab *v, sqlite3_index_info *info) {
  (void)v;
  return tl_src_best_index(info, COL_SOURCE, 2, 3);
}

static int cp_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out) {
  (void)v;
  cp_cursor *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  if (tl_trace_buf_init(&c->buf)) {
    sqlite3_free(c);
    return SQLITE_NOMEM;
  }
  tl_tree_init(&c->tree);
  tl_cp_init(&c->cp);
  *out = &c->base;
  return SQLITE_OK;
}

static int cp_close(sqlite3_vtab_cursor *cur) {
  cp_cursor *c = (cp_cursor *)cur;
  tl_tvf_filter_args(c->args, 2, 0, 0, NULL);
  tl_src_close(&c->src);
  tl_trace_buf_free(&c->buf);
  tl_tree_free(&c->tree);
  tl_cp_free(&c->cp);
  sqlite3_free(c);
  return SQLITE_OK;
}

static int fail(cp_cursor *c, int rc, char *msg) {
  sqlite3_free(c->base.pVtab->zErrMsg);
  c->base.pVtab->zErrMsg = msg;
  return rc;
}

/* xFilter: argv = [source if idxNum & 1] [trace_id if idxNum & 2]. */
static int cp_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr, int argc,
                     sqlite3_value **argv) {
  (void)idxStr;
  cp_cursor *c = (cp_cursor *)cur;
  c->cp.n = 0;
  c->pos = 0;
  if (tl_tvf_filter_args(c->args, 2, idxNum, argc, argv) < 0) return SQLITE_NOMEM;
  if (!c->args[0] || !c->args[1])
    return fail(c, SQLITE_ERROR,
                sqlite3_mprintf(FNAME " takes 2 arguments, as in " FNAME "(table, trace_id)"));
  const char *table = (const char *)sqlite3_value_text(c->args[0]);
  if (sqlite3_value_type(c->args[0]) != SQLITE_TEXT || !table)
    return fail(c, SQLITE_ERROR, sqlite3_mprintf(FNAME ": table must be a table or view name"));
  char *err = NULL;
  sqlite3 *db = ((cp_vtab *)cur->pVtab)->db;
  int rc = tl_src_prepare(&c->src, db, FNAME, table, TL_SRC_TRACE, &err);
  if (rc == SQLITE_OK) rc = tl_src_read_trace(&c->src, FNAME, c->args[1], &c->buf, &c->tree, &err);
  if (rc != SQLITE_OK) return fail(c, rc, err);
  tl_err e;
  tl_err_clear(&e);
  if (tl_critical_path(&c->cp, &c->tree, c->buf.spans, &e)) return SQLITE_NOMEM;
  return SQLITE_OK;
}

static int cp_next(sqlite3_vtab_cursor *cur) {
  ((cp_cursor *)cur)->pos++;
  return SQLITE_OK;
}

static int cp_eof(sqlite3_vtab_cursor *cur) {
  cp_cursor *c = (cp_cursor *)cur;
  return c->pos >= c->cp.n;
}

static void result_str(sqlite3_context *ctx, tl_str s) {
  if (s.len) sqlite3_result_text(ctx, s.ptr, (int)s.len, SQLITE_TRANSIENT);
}

static int cp_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  cp_cursor *c = (cp_cursor *)cur;
  const tl_cp_section *sec = &c->cp.sec[c->pos];
  const tl_tspan *s = &c->buf.spans[sec->span];
  switch (col) {
    case COL_SPAN_ID: result_str(ctx, s->id_text); break;
    case COL_SERVICE:
      if (s->service) sqlite3_result_text(ctx, s->service, -1, SQLITE_TRANSIENT);
      break;
    case COL_NAME: sqlite3_result_text(ctx, s->name, -1, SQLITE_TRANSIENT); break;
    case COL_START: sqlite3_result_int64(ctx, sec->start_ns); break;
    case COL_END: sqlite3_result_int64(ctx, sec->end_ns); break;
    case COL_DEPTH: sqlite3_result_int64(ctx, c->tree.depth[sec->span]); break;
    case COL_ROOT: result_str(ctx, c->buf.spans[sec->root].id_text); break;
    default:
      if (c->args[col - COL_SOURCE]) sqlite3_result_value(ctx, c->args[col - COL_SOURCE]);
      break;
  }
  return SQLITE_OK;
}

static int cp_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  *rowid = ((cp_cursor *)cur)->pos + 1;
  return SQLITE_OK;
}

static const sqlite3_module cp_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only */
    .xConnect = cp_connect,
    .xBestIndex = cp_best_index,
    .xDisconnect = cp_disconnect,
    .xDestroy = cp_disconnect,
    .xOpen = cp_open,
    .xClose = cp_close,
    .xFilter = cp_filter,
    .xNext = cp_next,
    .xEof = cp_eof,
    .xColumn = cp_column,
    .xRowid = cp_rowid,
};

/* ---- critical_path(span_id, parent_span_id, start_ns, end_ns [, kind]) ----
** An aggregate over rows from anywhere; the result is a JSON array of the
** sections: [{"span_id":…,"start_ns":…,"end_ns":…,"depth":…,"root_span_id":…}].
** Links are not among its arguments, so follows-from spans are roots here. */

typedef struct agg {
  tl_trace_buf *buf;
} agg;

static void agg_step(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  agg *a = sqlite3_aggregate_context(ctx, sizeof *a);
  if (!a) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (!a->buf) {
    a->buf = sqlite3_malloc(sizeof *a->buf);
    if (!a->buf || tl_trace_buf_init(a->buf)) {
      sqlite3_free(a->buf);
      a->buf = NULL;
      sqlite3_result_error_nomem(ctx);
      return;
    }
  }
  /* Put the arguments where the table reader puts columns. */
  static const int col_of_arg[5] = {TL_TC_SPAN_ID, TL_TC_PARENT, TL_TC_START, TL_TC_END, TL_TC_KIND};
  tl_cell cells[TL_TC_COUNT];
  memset(cells, 0, sizeof cells);
  for (int i = 0; i < argc && i < 5; i++) {
    tl_cell *c = &cells[col_of_arg[i]];
    switch (sqlite3_value_type(argv[i])) {
      case SQLITE_INTEGER: c->type = TL_CELL_INT; c->i = sqlite3_value_int64(argv[i]); break;
      case SQLITE_FLOAT: c->type = TL_CELL_FLOAT; c->d = sqlite3_value_double(argv[i]); break;
      case SQLITE_TEXT:
        c->type = TL_CELL_TEXT;
        c->p = (const char *)sqlite3_value_text(argv[i]);
        c->n = (uint32_t)sqlite3_value_bytes(argv[i]);
        break;
      case SQLITE_BLOB:
        c->type = TL_CELL_BLOB;
        c->p = sqlite3_value_blob(argv[i]);
        c->n = (uint32_t)sqlite3_value_bytes(argv[i]);
        break;
      default: break;
    }
  }
  tl_err e;
  tl_err_clear(&e);
  if (tl_trace_buf_add(a->buf, cells, &e)) {
    char *err = NULL;
    int rc = tl_src_error("critical_path", &e, &err);
    if (rc == SQLITE_NOMEM) sqlite3_result_error_nomem(ctx);
    else sqlite3_result_error(ctx, err, -1);
    sqlite3_free(err);
  }
}

static void json_id(tl_buf *b, tl_str s) {
  if (s.len) tl_buf_json_str(b, s.ptr, s.len);
  else tl_buf_puts(b, "null");
}

static void agg_final(sqlite3_context *ctx) {
  agg *a = sqlite3_aggregate_context(ctx, 0);
  if (!a || !a->buf) {
    sqlite3_result_text(ctx, "[]", 2, SQLITE_STATIC);
    return;
  }
  tl_tree tree;
  tl_cp cp;
  tl_buf out;
  tl_err e;
  tl_tree_init(&tree);
  tl_cp_init(&cp);
  tl_buf_init(&out);
  tl_err_clear(&e);
  int rc = tl_tree_build(&tree, a->buf->spans, a->buf->n, &e);
  if (rc == TL_OK) rc = tl_critical_path(&cp, &tree, a->buf->spans, &e);
  if (rc == TL_OK) {
    tl_buf_putc(&out, '[');
    for (uint32_t i = 0; i < cp.n; i++) {
      const tl_cp_section *sec = &cp.sec[i];
      tl_buf_puts(&out, i ? ",{\"span_id\":" : "{\"span_id\":");
      json_id(&out, a->buf->spans[sec->span].id_text);
      tl_buf_printf(&out, ",\"start_ns\":%lld,\"end_ns\":%lld,\"depth\":%u,\"root_span_id\":",
                    (long long)sec->start_ns, (long long)sec->end_ns, tree.depth[sec->span]);
      json_id(&out, a->buf->spans[sec->root].id_text);
      tl_buf_putc(&out, '}');
    }
    tl_buf_putc(&out, ']');
  }
  if (rc != TL_OK || out.oom) sqlite3_result_error_nomem(ctx);
  else sqlite3_result_text(ctx, out.p, (int)out.n, SQLITE_TRANSIENT);
  tl_buf_free(&out);
  tl_cp_free(&cp);
  tl_tree_free(&tree);
  tl_trace_buf_free(a->buf);
  sqlite3_free(a->buf);
  a->buf = NULL;
}

int tl_register_critical_path(sqlite3 *db) {
  int rc = sqlite3_create_module(db, FNAME, &cp_module, NULL);
  static const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  for (int n = 4; rc == SQLITE_OK && n <= 5; n++)
    rc = sqlite3_create_function(db, "critical_path", n, flags, NULL, NULL, agg_step, agg_final);
  return rc;
}
