/*
** source.c — one eponymous table-valued module for every span source:
** trace_file(path [, format]), trace_json(text [, format]),
** trace_generate(n, seed [, system]) ...  A source (tl_source_vt in row.h)
** only says how to open itself on its arguments and how to append spans to
** a batch; this module does the SQLite side: the schema (the span columns of
** row.h plus the source's hidden argument columns), planning, and a cursor
** that pulls CHUNK spans at a time and resets its batch between chunks, so
** a source of any size is scanned in bounded memory.
**
** xBestIndex plan encoding: that of tvf.h (idxNum bit i = hidden argument
** i given; xFilter's argv holds the given ones in argument order).  Missing
** required arguments are reported by xFilter with a clear message.
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <stdlib.h>
#include <string.h>

#include "register.h"
#include "row.h"
#include "tvf.h"

#define CHUNK 1024
#define MAX_ARGS TL_TVF_MAX_ARGS

typedef struct source_module {
  const tl_source_vt *vt;
  void *aux;
  tl_conn *conn;
} source_module;

typedef struct source_vtab {
  sqlite3_vtab base;
  const source_module *mod;
} source_vtab;

typedef struct source_cursor {
  sqlite3_vtab_cursor base;
  void *state;
  tl_batch *batch;
  size_t pos;
  int eof;
  sqlite3_int64 rowid;
  tl_buf scratch;
  sqlite3_value *args[MAX_ARGS];
  tl_conn *conn;
  uint64_t serial; /* of the batch's current contents */
  tl_row_offer offer;
} source_cursor;

static int source_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                          sqlite3_vtab **out, char **err) {
  (void)argc;
  (void)argv;
  const source_module *mod = aux;
  char *sql = sqlite3_mprintf("CREATE TABLE x(" TL_SPAN_COLUMNS ", %s)", mod->vt->args);
  if (!sql) return SQLITE_NOMEM;
  int rc = sqlite3_declare_vtab(db, sql);
  sqlite3_free(sql);
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("%s: %s", mod->vt->name, sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_vtab_config(db, mod->vt->direct_only ? SQLITE_VTAB_DIRECTONLY : SQLITE_VTAB_INNOCUOUS);
  source_vtab *v = sqlite3_malloc(sizeof *v);
  if (!v) return SQLITE_NOMEM;
  memset(v, 0, sizeof *v);
  v->mod = mod;
  *out = &v->base;
  return SQLITE_OK;
}

static int source_disconnect(sqlite3_vtab *vtab) {
  sqlite3_free(vtab);
  return SQLITE_OK;
}

static int source_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  const tl_source_vt *vt = ((source_vtab *)vtab)->mod->vt;
  int rc = tl_tvf_best_index(info, TL_NCOL, vt->max_args);
  if (rc != SQLITE_OK) return rc;
  info->estimatedCost = 1e6;
  info->estimatedRows = 100000;
  return SQLITE_OK;
}

static int source_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out) {
  source_cursor *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  c->batch = tl_batch_new();
  if (!c->batch) {
    sqlite3_free(c);
    return SQLITE_NOMEM;
  }
  tl_buf_init(&c->scratch);
  c->conn = ((source_vtab *)vtab)->mod->conn;
  c->offer.copied = &c->conn->rows_copied;
  c->eof = 1;
  *out = &c->base;
  return SQLITE_OK;
}

/* Empties the batch; what the cursor offered is gone with it. */
static void reset_batch(source_cursor *c) {
  tl_batch_reset(c->batch);
  c->pos = 0;
  c->serial = ++c->conn->serial;
  c->offer.span = NULL;
}

static void cursor_release(source_cursor *c, const tl_source_vt *vt) {
  if (c->state) vt->close(c->state);
  c->state = NULL;
  for (int i = 0; i < MAX_ARGS; i++) {
    sqlite3_value_free(c->args[i]);
    c->args[i] = NULL;
  }
  reset_batch(c);
  c->eof = 1;
}

static int source_close(sqlite3_vtab_cursor *cur) {
  source_cursor *c = (source_cursor *)cur;
  cursor_release(c, ((source_vtab *)cur->pVtab)->mod->vt);
  tl_batch_free(c->batch);
  tl_buf_free(&c->scratch);
  if (c->conn->offer == &c->offer) c->conn->offer = NULL;
  tl_row_offer_free(&c->offer);
  sqlite3_free(c);
  return SQLITE_OK;
}

static int cursor_error(source_cursor *c, const tl_source_vt *vt, tl_err *e) {
  sqlite3_vtab *vtab = c->base.pVtab;
  sqlite3_free(vtab->zErrMsg);
  if (e->rc == TL_ENOMEM) return SQLITE_NOMEM;
  vtab->zErrMsg = sqlite3_mprintf("%s: %s", vt->name, e->msg[0] ? e->msg : "failed");
  return tl_sqlite_rc(e->rc);
}

/* Refills the batch when it is used up; sets eof at the end of the source. */
static int cursor_fill(source_cursor *c, const tl_source_vt *vt) {
  while (c->pos >= tl_batch_count(c->batch)) {
    if (!c->state) {
      c->eof = 1;
      return SQLITE_OK;
    }
    reset_batch(c);
    tl_err e;
    tl_err_clear(&e);
    int rc = vt->next(c->state, c->batch, CHUNK, &e);
    if (rc < 0) return cursor_error(c, vt, &e);
    if (rc == TL_DONE) {
      vt->close(c->state);
      c->state = NULL;
    }
  }
  c->eof = 0;
  return SQLITE_OK;
}

static int source_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr,
                         int argc, sqlite3_value **argv) {
  (void)idxStr;
  source_cursor *c = (source_cursor *)cur;
  const source_module *mod = ((source_vtab *)cur->pVtab)->mod;
  const tl_source_vt *vt = mod->vt;
  cursor_release(c, vt);
  c->rowid = 0;
  int nargs = tl_tvf_filter_args(c->args, vt->max_args, idxNum, argc, argv);
  if (nargs < 0) return SQLITE_NOMEM;
  tl_err e;
  tl_err_clear(&e);
  for (int arg = 0; arg < vt->min_args; arg++) {
    if (!c->args[arg]) {
      tl_err_set(&e, TL_EMISUSE, "takes at least %d argument%s, as in %s", vt->min_args,
                 vt->min_args > 1 ? "s" : "", vt->usage);
      return cursor_error(c, vt, &e);
    }
  }
  int rc = vt->open(mod->aux, c->args, nargs, &c->state, &e);
  if (rc < 0) {
    c->state = NULL;
    return cursor_error(c, vt, &e);
  }
  return cursor_fill(c, vt);
}

static int source_next(sqlite3_vtab_cursor *cur) {
  source_cursor *c = (source_cursor *)cur;
  c->pos++;
  c->rowid++;
  c->offer.span = NULL;
  return cursor_fill(c, ((source_vtab *)cur->pVtab)->mod->vt);
}

static int source_eof(sqlite3_vtab_cursor *cur) { return ((source_cursor *)cur)->eof; }

static int source_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  source_cursor *c = (source_cursor *)cur;
  if (col < TL_NCOL) {
    const tl_span *s = tl_batch_span(c->batch, c->pos);
    if (c->offer.span != s) {
      c->offer.span = s;
      c->offer.serial = c->serial;
      c->offer.shown = 0;
    }
    c->conn->offer = &c->offer;
    int j = tl_row_json_index(col);
    if (j < 0) {
      tl_row_result(ctx, c->batch, s, col, &c->scratch);
    } else {
      c->offer.json[j] = tl_row_result(ctx, c->batch, s, col, &c->offer.buf[j]);
      c->offer.shown |= 1u << j;
    }
  } else if (col - TL_NCOL < MAX_ARGS && c->args[col - TL_NCOL]) {
    sqlite3_result_value(ctx, c->args[col - TL_NCOL]);
  }
  return SQLITE_OK;
}

static int source_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  *rowid = ((source_cursor *)cur)->rowid + 1;
  return SQLITE_OK;
}

static const sqlite3_module source_sqlite_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only */
    .xConnect = source_connect,
    .xBestIndex = source_best_index,
    .xDisconnect = source_disconnect,
    .xDestroy = source_disconnect,
    .xOpen = source_open,
    .xClose = source_close,
    .xFilter = source_filter,
    .xNext = source_next,
    .xEof = source_eof,
    .xColumn = source_column,
    .xRowid = source_rowid,
};

static void module_free(void *p) {
  source_module *mod = p;
  tl_conn_unref(mod->conn);
  sqlite3_free(mod);
}

int tl_source_register(sqlite3 *db, const tl_source_vt *vt, void *aux, tl_conn *conn) {
  if (vt->max_args > MAX_ARGS || vt->min_args > vt->max_args) return SQLITE_MISUSE;
  source_module *mod = sqlite3_malloc(sizeof *mod);
  if (!mod) return SQLITE_NOMEM;
  mod->vt = vt;
  mod->aux = aux;
  mod->conn = tl_conn_ref(conn);
  return sqlite3_create_module_v2(db, vt->name, &source_sqlite_module, mod, module_free);
}
