/*
** generate.c — the synthetic trace generator (ext/gen) in SQL:
**
**   SELECT * FROM trace_generate(10000, 42);                -- built-in shop
**   SELECT * FROM trace_generate(100, 7, 'my_system.json'); -- a system file
**   INSERT INTO spans SELECT * FROM trace_generate(10000, 42);
**   SELECT * FROM trace_generate_truth(10000, 42);          -- scoring truth
**
** trace_generate(n_traces, seed [, system]) is a span source (row.h): one
** row per span, the columns of a tracelite table, spans in end-time order
** as an exporter emits them.  trace_generate_truth(n_traces, seed
** [, system]) has one row per trace, in arrival order:
**   trace_id, request_type, has_error, is_outlier, is_skewed,
**   is_incomplete, n_spans, start_ns, duration_ns
** The same arguments give the same rows everywhere.  n_traces is an
** integer from 0 to 1000000000, seed any integer (negative ones are taken
** modulo 2^64), system a file path or NULL for the built-in system.  Both
** read files, so both are SQLITE_DIRECTONLY: they cannot be used from
** views, triggers or schema, where a crafted database could make them read
** a file.
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

#include "../gen/gen.h"
#include "register.h"
#include "row.h"
#include "tvf.h"

typedef struct gen_source {
  tl_gen_system *sys;
  tl_gen *gen;
} gen_source;

static void gen_source_close(void *state) {
  gen_source *src = state;
  if (!src) return;
  tl_gen_free(src->gen);
  tl_gen_system_free(src->sys);
  sqlite3_free(src);
}

/* Checks the arguments (values, NULL when missing) and opens a generator. */
static int gen_source_open(void *aux, sqlite3_value **args, int nargs, void **state, tl_err *e) {
  (void)aux;
  *state = NULL;
  if (!args[0] || sqlite3_value_type(args[0]) != SQLITE_INTEGER ||
      sqlite3_value_int64(args[0]) < 0 || (uint64_t)sqlite3_value_int64(args[0]) > TL_GEN_MAX_TRACES)
    return tl_err_set(e, TL_EMISUSE, "n_traces must be an integer between 0 and %llu",
                      TL_GEN_MAX_TRACES);
  if (nargs < 2 || !args[1] || sqlite3_value_type(args[1]) != SQLITE_INTEGER)
    return tl_err_set(e, TL_EMISUSE, "seed must be an integer");
  const char *path = NULL;
  if (nargs >= 3 && args[2] && sqlite3_value_type(args[2]) != SQLITE_NULL) {
    if (sqlite3_value_type(args[2]) != SQLITE_TEXT)
      return tl_err_set(e, TL_EMISUSE, "system must be a file name (text) or NULL");
    path = (const char *)sqlite3_value_text(args[2]);
    if (!path) return TL_ENOMEM;
    if (!*path) return tl_err_set(e, TL_EMISUSE, "system must be a file name (text) or NULL");
  }
  gen_source *src = sqlite3_malloc(sizeof *src);
  if (!src) return TL_ENOMEM;
  memset(src, 0, sizeof *src);
  int rc = path ? tl_gen_system_load_file(&src->sys, path, e) : tl_gen_system_default(&src->sys, e);
  if (!rc)
    rc = tl_gen_new(&src->gen, src->sys, (uint64_t)sqlite3_value_int64(args[0]),
                    (uint64_t)sqlite3_value_int64(args[1]), e);
  if (rc) {
    gen_source_close(src);
    return rc;
  }
  *state = src;
  return TL_OK;
}

static int gen_source_next(void *state, tl_batch *b, size_t max, tl_err *e) {
  return tl_gen_next(((gen_source *)state)->gen, b, max, e);
}

static const tl_source_vt trace_generate_vt = {
    .name = "trace_generate",
    .args = "n_traces HIDDEN, seed HIDDEN, system HIDDEN",
    .usage = "trace_generate(n_traces, seed [, system])",
    .min_args = 2,
    .max_args = 3,
    .direct_only = 1,
    .open = gen_source_open,
    .next = gen_source_next,
    .close = gen_source_close,
};

/* ---- trace_generate_truth ------------------------------------------------------ */

enum { T_TRACE_ID, T_REQUEST, T_ERROR, T_OUTLIER, T_SKEWED, T_INCOMPLETE, T_SPANS, T_START,
       T_DURATION, T_NCOL, T_ARGS = 3 };

typedef struct truth_cursor {
  sqlite3_vtab_cursor base;
  gen_source *src;
  tl_gen_truth t;
  int eof;
} truth_cursor;

static int truth_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                         sqlite3_vtab **out, char **err) {
  (void)aux;
  (void)argc;
  (void)argv;
  (void)err;
  int rc = sqlite3_declare_vtab(
      db, "CREATE TABLE x(trace_id TEXT, request_type TEXT, has_error INTEGER, "
          "is_outlier INTEGER, is_skewed INTEGER, is_incomplete INTEGER, n_spans INTEGER, "
          "start_ns INTEGER, duration_ns INTEGER, "
          "n_traces HIDDEN, seed HIDDEN, system HIDDEN)");
  if (rc != SQLITE_OK) return rc;
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  sqlite3_vtab *v = sqlite3_malloc(sizeof *v);
  if (!v) return SQLITE_NOMEM;
  memset(v, 0, sizeof *v);
  *out = v;
  return SQLITE_OK;
}

static int truth_disconnect(sqlite3_vtab *v) {
  sqlite3_free(v);
  return SQLITE_OK;
}

/* The plan of tvf.h: idxNum bit i = hidden argument i given. */
static int truth_best_index(sqlite3_vtab *v, sqlite3_index_info *info) {
  (void)v;
  int rc = tl_tvf_best_index(info, T_NCOL, T_ARGS);
  if (rc != SQLITE_OK) return rc;
  info->estimatedCost = 1e5;
  info->estimatedRows = 10000;
  return SQLITE_OK;
}

static int truth_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out) {
  (void)v;
  truth_cursor *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  c->eof = 1;
  *out = &c->base;
  return SQLITE_OK;
}

static int truth_close(sqlite3_vtab_cursor *cur) {
  truth_cursor *c = (truth_cursor *)cur;
  gen_source_close(c->src);
  sqlite3_free(c);
  return SQLITE_OK;
}

static int truth_error(truth_cursor *c, const tl_err *e) {
  sqlite3_vtab *v = c->base.pVtab;
  sqlite3_free(v->zErrMsg);
  v->zErrMsg = NULL;
  if (e->rc == TL_ENOMEM) return SQLITE_NOMEM;
  v->zErrMsg = sqlite3_mprintf("trace_generate_truth: %s", e->msg[0] ? e->msg : "failed");
  return tl_sqlite_rc(e->rc);
}

static int truth_step(truth_cursor *c) {
  tl_err e;
  tl_err_clear(&e);
  int rc = tl_gen_next_truth(c->src->gen, &c->t, &e);
  if (rc < 0) return truth_error(c, &e);
  c->eof = rc == TL_DONE;
  return SQLITE_OK;
}

static int truth_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr, int argc,
                        sqlite3_value **argv) {
  (void)idxStr;
  truth_cursor *c = (truth_cursor *)cur;
  gen_source_close(c->src);
  c->src = NULL;
  c->eof = 1;
  sqlite3_value *args[T_ARGS] = {NULL, NULL, NULL};
  int nargs = tl_tvf_filter_args(args, T_ARGS, idxNum, argc, argv);
  if (nargs < 0) return SQLITE_NOMEM;
  tl_err e;
  tl_err_clear(&e);
  void *state = NULL;
  if (!args[0] || !args[1]) {
    tl_err_set(&e, TL_EMISUSE, "takes at least 2 arguments, as in "
                               "trace_generate_truth(n_traces, seed [, system])");
  } else if (gen_source_open(NULL, args, nargs, &state, &e) >= 0) {
    c->src = state;
  }
  tl_tvf_filter_args(args, T_ARGS, 0, 0, NULL); /* frees the copies */
  return c->src ? truth_step(c) : truth_error(c, &e);
}

static int truth_next(sqlite3_vtab_cursor *cur) { return truth_step((truth_cursor *)cur); }

static int truth_eof(sqlite3_vtab_cursor *cur) { return ((truth_cursor *)cur)->eof; }

static int truth_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  const tl_gen_truth *t = &((truth_cursor *)cur)->t;
  switch (col) {
    case T_TRACE_ID: {
      char id[32];
      tl_hex_encode(t->trace_id, 16, id);
      sqlite3_result_text(ctx, id, 32, SQLITE_TRANSIENT);
      break;
    }
    case T_REQUEST: sqlite3_result_text(ctx, t->request_name, -1, SQLITE_TRANSIENT); break;
    case T_ERROR: sqlite3_result_int(ctx, t->has_error); break;
    case T_OUTLIER: sqlite3_result_int(ctx, t->is_outlier); break;
    case T_SKEWED: sqlite3_result_int(ctx, t->is_skewed); break;
    case T_INCOMPLETE: sqlite3_result_int(ctx, t->is_incomplete); break;
    case T_SPANS: sqlite3_result_int64(ctx, t->n_spans); break;
    case T_START: sqlite3_result_int64(ctx, (sqlite3_int64)t->start_ns); break;
    case T_DURATION: sqlite3_result_int64(ctx, (sqlite3_int64)t->duration_ns); break;
    default: break; /* hidden arguments: not kept */
  }
  return SQLITE_OK;
}

static int truth_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  *rowid = (sqlite3_int64)((truth_cursor *)cur)->t.index + 1;
  return SQLITE_OK;
}

static const sqlite3_module truth_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only */
    .xConnect = truth_connect,
    .xBestIndex = truth_best_index,
    .xDisconnect = truth_disconnect,
    .xDestroy = truth_disconnect,
    .xOpen = truth_open,
    .xClose = truth_close,
    .xFilter = truth_filter,
    .xNext = truth_next,
    .xEof = truth_eof,
    .xColumn = truth_column,
    .xRowid = truth_rowid,
};

int tl_register_generate(sqlite3 *db, tl_conn *conn) {
  int rc = tl_source_register(db, &trace_generate_vt, NULL, conn);
  if (rc == SQLITE_OK) rc = sqlite3_create_module_v2(db, "trace_generate_truth", &truth_module, NULL, NULL);
  return rc;
}
