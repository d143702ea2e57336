/*
** analysis_sql.c — reading span rows from a named table or view for the
** analysis functions (interface and rules in analysis_sql.h).
**
** The statement is built once per (table, flags) from the columns the
** source actually has, so a plain table without links or kind works, and
** it is prepared SQLITE_PREPARE_PERSISTENT: trace_critical_path() joined
** with 10,000 trace ids resets and rebinds one statement 10,000 times.
**
** A virtual table also gets the direct statement (store.h, tl_direct); the
** first run tells whether a tracelite table answered it (another module's
** table never calls run, and then only the SQL statement is used).
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <math.h>
#include <string.h>

#include "../span/span_json.h"
#include "analysis_sql.h"

void tl_src_close(tl_src *src) {
  sqlite3_finalize(src->stmt);
  sqlite3_finalize(src->direct);
  sqlite3_finalize(src->remote);
  tl_buf_free(&src->json);
  sqlite3_free(src->table);
  memset(src, 0, sizeof *src);
}

int tl_src_error(const char *fname, const tl_err *e, char **err) {
  if (e->rc == TL_ENOMEM) return SQLITE_NOMEM;
  *err = sqlite3_mprintf("%s: %s", fname, e->msg[0] ? e->msg : "failed");
  return e->rc == TL_ERANGE ? SQLITE_TOOBIG : SQLITE_ERROR;
}

/* Where a source is: its quoted, schema-qualified name, its bare name and
** whether it is a virtual table. */
typedef struct where {
  char *qname, *name;
  int is_virtual;
} where;

static void where_free(where *w) {
  sqlite3_free(w->qname);
  sqlite3_free(w->name);
}

static int where_row(sqlite3_stmt *q, where *w) {
  w->qname = sqlite3_mprintf("\"%w\".\"%w\"", sqlite3_column_text(q, 0), sqlite3_column_text(q, 1));
  w->name = sqlite3_mprintf("%s", sqlite3_column_text(q, 1));
  w->is_virtual = sqlite3_column_int(q, 2);
  return w->qname && w->name ? SQLITE_OK : SQLITE_NOMEM;
}

/* Finds a source in the schema, or sets *err.  Resolution is SQLite's own
** (temp, main, attached). */
static int resolve(sqlite3 *db, const char *fname, const char *table, where *w, char **err) {
  const char *dot = strchr(table, '.');
  char *schema = dot ? sqlite3_mprintf("%.*s", (int)(dot - table), table) : NULL;
  sqlite3_stmt *q = NULL;
  int found = 0;
  memset(w, 0, sizeof *w);
  int rc = dot && !schema ? SQLITE_NOMEM
                          : sqlite3_prepare_v2(db,
                                               "SELECT schema, name, type = 'virtual' "
                                               "FROM pragma_table_list "
                                               "WHERE name = ?1 AND (?2 IS NULL OR schema = ?2) "
                                               "  AND type IN ('table', 'view', 'virtual') "
                                               "ORDER BY schema <> 'temp', schema <> 'main'",
                                               -1, &q, NULL);
  if (rc == SQLITE_OK && dot) { /* "schema.table" when that schema exists */
    sqlite3_bind_text(q, 1, dot + 1, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, schema, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) found = 1, rc = where_row(q, w);
    sqlite3_reset(q);
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
  if (rc == SQLITE_OK && !found) {
    sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_null(q, 2);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
      rc = where_row(q, w);
    } else if (rc == SQLITE_DONE) {
      *err = sqlite3_mprintf("%s: no such table: %s", fname, table);
      rc = SQLITE_ERROR;
    }
  }
  if (rc != SQLITE_OK && rc != SQLITE_NOMEM && !*err)
    *err = sqlite3_mprintf("%s: %s", fname, sqlite3_errmsg(db));
  sqlite3_finalize(q);
  sqlite3_free(schema);
  return rc;
}

/* Which of the optional columns the source has. */
enum { HAS_SERVICE = 1, HAS_NAME = 2, HAS_KIND = 4, HAS_STATUS = 8, HAS_LINKS = 16, HAS_ATTRS = 32 };

static int columns_of(sqlite3 *db, const char *fname, const char *table, const char *qname,
                      int *has, char **err) {
  static const char *const required[] = {"trace_id", "span_id", "parent_span_id", "start_ns",
                                         "end_ns"};
  static const char *const optional[] = {"service", "name", "kind", "status_code", "links",
                                         "attributes"};
  char *sql = sqlite3_mprintf("SELECT * FROM %s LIMIT 0", qname);
  sqlite3_stmt *q = NULL;
  int rc = sql ? sqlite3_prepare_v2(db, sql, -1, &q, NULL) : SQLITE_NOMEM;
  sqlite3_free(sql);
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("%s: %s", fname, sqlite3_errmsg(db));
    return rc;
  }
  int n = sqlite3_column_count(q), req = 0;
  *has = 0;
  for (int i = 0; i < n; i++) {
    const char *c = sqlite3_column_name(q, i);
    for (int k = 0; k < 5; k++) req |= sqlite3_stricmp(c, required[k]) ? 0 : 1 << k;
    for (int k = 0; k < 6; k++) *has |= sqlite3_stricmp(c, optional[k]) ? 0 : 1 << k;
  }
  sqlite3_finalize(q);
  for (int k = 0; k < 5; k++) {
    if (!(req & (1 << k))) {
      *err = sqlite3_mprintf("%s: table %s has no column %s", fname, table, required[k]);
      return SQLITE_ERROR;
    }
  }
  return SQLITE_OK;
}

/* The WHERE clause of the arguments, numbered from ?first. */
static char *args_where(int flags, int first) {
  if (flags & TL_SRC_TRACE) return sqlite3_mprintf("trace_id = ?%d", first);
  if (flags & TL_SRC_WINDOW)
    return sqlite3_mprintf("start_ns >= ?%d AND start_ns < ?%d", first, first + 1);
  return sqlite3_mprintf("1");
}

/* The direct statement of a virtual table w, or NULL when it cannot be one
** (its module has no such column: not a tracelite table). */
static sqlite3_stmt *direct_stmt(sqlite3 *db, const where *w, int flags) {
  char *cond = args_where(flags, 2);
  char *sql = cond ? sqlite3_mprintf("SELECT 1 FROM %s WHERE \"%w\" = ?1 AND %s", w->qname,
                                     w->name, cond)
                   : NULL;
  sqlite3_stmt *q = NULL;
  if (sql && sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &q, NULL) != SQLITE_OK) {
    sqlite3_finalize(q);
    q = NULL;
  }
  sqlite3_free(cond);
  sqlite3_free(sql);
  return q;
}

int tl_src_prepare(tl_src *src, sqlite3 *db, const char *fname, const char *table, int flags,
                   char **err) {
  if (src->stmt && src->flags == flags && !strcmp(src->table, table)) {
    sqlite3_reset(src->stmt);
    sqlite3_clear_bindings(src->stmt);
    return SQLITE_OK;
  }
  tl_src_close(src);
  where w;
  int has, rc = resolve(db, fname, table, &w, err);
  if (rc == SQLITE_OK) rc = columns_of(db, fname, table, w.qname, &has, err);
  if (rc != SQLITE_OK) {
    where_free(&w);
    return rc;
  }
  /* Columns in TL_TC_* order; links only where a span has no parent
  ** (Tree 3), peer.service only for Zipkin links. */
  char *cond = args_where(flags, 1);
  char *sql = !cond ? NULL : sqlite3_mprintf(
      "SELECT %sspan_id, parent_span_id, %s, %s, %s, start_ns, end_ns, %s, %s, %s FROM %s "
      "WHERE %s%s",
      flags & TL_SRC_SCAN ? "trace_id, " : "", has & HAS_SERVICE ? "service" : "NULL",
      has & HAS_NAME && !(flags & TL_SRC_NAMELESS) ? "name" : "NULL",
      has & HAS_KIND ? "kind" : "NULL",
      has & HAS_STATUS ? "status_code" : "NULL",
      has & HAS_LINKS ? "CASE WHEN parent_span_id IS NULL OR parent_span_id = '' THEN links END"
                      : "NULL",
      (flags & TL_SRC_REMOTE) && (has & HAS_ATTRS)
          ? "json_extract(attributes, '$.\"peer.service\"')"
          : "NULL",
      w.qname, cond, flags & TL_SRC_SORTED ? " ORDER BY trace_id" : "");
  sqlite3_free(cond);
  if (!sql) {
    where_free(&w);
    return SQLITE_NOMEM;
  }
  rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &src->stmt, NULL);
  sqlite3_free(sql);
  if (rc != SQLITE_OK) {
    where_free(&w);
    *err = sqlite3_mprintf("%s: %s", fname, sqlite3_errmsg(db));
    return rc;
  }
  /* A sorted read is SQL's own (ORDER BY). */
  if (w.is_virtual && !(flags & TL_SRC_SORTED)) src->direct = direct_stmt(db, &w, flags);
  where_free(&w);
  src->table = sqlite3_mprintf("%s", table);
  src->flags = flags;
  if (!src->table) {
    tl_src_close(src);
    return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

void tl_src_cells(sqlite3_stmt *stmt, int first, tl_cell *cells) {
  for (int k = 0; k < TL_TC_COUNT; k++) {
    tl_cell *c = &cells[k];
    int col = first + k;
    memset(c, 0, sizeof *c);
    switch (sqlite3_column_type(stmt, col)) {
      case SQLITE_INTEGER:
        c->type = TL_CELL_INT;
        c->i = sqlite3_column_int64(stmt, col);
        break;
      case SQLITE_FLOAT:
        c->type = TL_CELL_FLOAT;
        c->d = sqlite3_column_double(stmt, col);
        break;
      case SQLITE_TEXT:
        c->type = TL_CELL_TEXT;
        c->p = (const char *)sqlite3_column_text(stmt, col);
        c->n = (uint32_t)sqlite3_column_bytes(stmt, col);
        break;
      case SQLITE_BLOB:
        c->type = TL_CELL_BLOB;
        c->p = sqlite3_column_blob(stmt, col);
        c->n = (uint32_t)sqlite3_column_bytes(stmt, col);
        break;
      default: break;
    }
  }
}

/* ---- direct reads ------------------------------------------------------------ */

uint32_t tl_src_fields(int flags) {
  return TL_FIELD_IDS | TL_FIELD_TIMES | TL_FIELD_RESOURCE | TL_FIELD_KIND | TL_FIELD_STATUS |
         TL_FIELD_LINKS | (flags & TL_SRC_NAMELESS ? 0 : TL_FIELD_NAME) |
         (flags & TL_SRC_REMOTE ? TL_FIELD_ATTRS : 0);
}

/* s interned in buf's strings, through the memo of the current block. */
static const char *intern_memo(tl_src_run *r, const tl_scan *sc, tl_trace_buf *buf, tl_str s) {
  static const char empty[] = "";
  const char *from = s.len ? s.ptr : empty;
  if (r->views != sc->views || r->into != buf->strings) {
    memset(r->memo, 0, sizeof r->memo);
    r->views = sc->views;
    r->into = buf->strings;
  }
  uintptr_t h = (uintptr_t)from;
  h = (h ^ h >> 7 ^ h >> 13) & (TL_SRC_MEMO - 1);
  if (r->memo[h].from == from && r->memo[h].len == s.len) return r->memo[h].to;
  const char *to = tl_batch_intern(buf->strings, from, s.len).ptr;
  if (to) {
    r->memo[h].from = from;
    r->memo[h].len = s.len;
    r->memo[h].to = to;
  }
  return to;
}

/* Text that json_extract gives back byte for byte from the JSON of the
** attributes: valid UTF-8 without NUL (tl_buf_json_str escapes other bytes,
** and SQLite's json_extract stops at an escaped NUL). */
static int plain_text(tl_str s) {
  const unsigned char *u = (const unsigned char *)s.ptr;
  for (uint32_t i = 0; i < s.len;) {
    if (!u[i]) return 0;
    if (u[i] < 0x80) {
      i++;
      continue;
    }
    size_t n = tl_utf8_seq(u + i, s.len - i);
    if (!n) return 0;
    i += (uint32_t)n;
  }
  return 1;
}

/* json_extract(attributes, '$."peer.service"') of span s, as the SQL read
** computes it, on the attributes JSON the row would show.  *out points into
** src->remote's row until it is reset. */
static int extract_remote(tl_src *src, const tl_span *s, tl_str *out) {
  sqlite3 *db = sqlite3_db_handle(src->direct);
  int rc = SQLITE_OK;
  if (!src->remote)
    rc = sqlite3_prepare_v3(db, "SELECT json_extract(?1, '$.\"peer.service\"')", -1,
                            SQLITE_PREPARE_PERSISTENT, &src->remote, NULL);
  if (rc != SQLITE_OK) return rc;
  tl_buf_reset(&src->json);
  tl_json_attrs(&src->json, &s->attrs);
  if (src->json.oom) return SQLITE_NOMEM;
  sqlite3_bind_text(src->remote, 1, src->json.p, (int)src->json.n, SQLITE_STATIC);
  rc = sqlite3_step(src->remote);
  if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? SQLITE_ERROR : rc;
  if (sqlite3_column_type(src->remote, 0) == SQLITE_TEXT) {
    out->ptr = (const char *)sqlite3_column_text(src->remote, 0);
    out->len = (uint32_t)sqlite3_column_bytes(src->remote, 0);
    if (!out->ptr) return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

/* A run's failure as the SQLite code xFilter returns; the message stays in
** the tl_err for tl_src_run_direct. */
static int run_rc(const tl_err *e) {
  return e->rc == TL_ENOMEM ? SQLITE_NOMEM : e->rc == TL_ERANGE ? SQLITE_TOOBIG : SQLITE_ERROR;
}

int tl_src_add_span(tl_src_run *r, tl_trace_buf *buf, const tl_scan *sc, const tl_span *s) {
  tl_str odd_remote = {NULL, 0};
  const char *remote = NULL;
  int odd = 0;
  if (r->src->flags & TL_SRC_REMOTE) {
    /* Most values are strings (or absent), taken as they are; the rest go
    ** through the same json_extract as the SQL read. */
    const tl_value *v = tl_attrs_get(&s->attrs, "peer.service");
    int type = v ? v->type : TL_V_EMPTY;
    if (type == TL_V_STRING && plain_text(v->u.s)) {
      if (v->u.s.len && !(remote = intern_memo(r, sc, buf, v->u.s))) goto nomem;
    } else {
      odd = type == TL_V_STRING || type == TL_V_ARRAY || type == TL_V_KVLIST ||
            type == TL_V_BYTES || (type == TL_V_DOUBLE && !isfinite(v->u.d));
    }
  }
  if (odd) {
    int rc = extract_remote(r->src, s, &odd_remote);
    if (rc == SQLITE_OK && odd_remote.len)
      remote = tl_batch_intern(buf->strings, odd_remote.ptr, odd_remote.len).ptr;
    sqlite3_reset(r->src->remote);
    if (rc == SQLITE_NOMEM || (odd_remote.len && !remote)) goto nomem;
    if (rc != SQLITE_OK) {
      tl_err_set(&r->e, TL_EFORMAT, "%s", sqlite3_errmsg(sqlite3_db_handle(r->src->remote)));
      return run_rc(&r->e);
    }
  }
  const tl_str service = s->resource->service;
  const char *sv = service.len ? intern_memo(r, sc, buf, service) : NULL;
  const char *name = r->src->flags & TL_SRC_NAMELESS ? "" : intern_memo(r, sc, buf, s->name);
  if ((service.len && !sv) || !name) goto nomem;
  return tl_trace_buf_add_span(buf, s, sv, name, remote, &r->e) ? run_rc(&r->e) : SQLITE_OK;
nomem:
  tl_err_set(&r->e, TL_ENOMEM, "out of memory");
  return SQLITE_NOMEM;
}

int tl_src_run_direct(tl_src_run *r, int *ran, char **err) {
  tl_src *src = r->src;
  sqlite3_stmt *q = src->direct;
  r->base.entered = 0;
  tl_err_clear(&r->e);
  int rc = sqlite3_bind_pointer(q, 1, r, TL_DIRECT_TYPE, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_step(q);
  *ran = r->base.entered;
  if (*ran && r->e.rc) {
    rc = tl_src_error(r->fname, &r->e, err);
  } else if (*ran && rc != SQLITE_DONE) {
    *err = sqlite3_mprintf("%s: %s", r->fname, sqlite3_errmsg(sqlite3_db_handle(q)));
  } else {
    rc = SQLITE_OK;
  }
  sqlite3_reset(q);
  sqlite3_bind_null(q, 1); /* r lives on the caller's stack */
  if (!*ran) { /* another module's table: SQL only from now on */
    sqlite3_finalize(src->direct);
    src->direct = NULL;
  }
  return rc;
}

/* One trace into a tl_trace_buf, by a direct read. */
typedef struct trace_run {
  tl_src_run r;
  tl_trace_buf *buf;
} trace_run;

static int trace_run_fn(tl_direct *d, tl_scan *sc, tl_scan_filter *f) {
  trace_run *t = (trace_run *)d;
  f->fields = tl_src_fields(t->r.src->flags);
  int rc = tl_scan_start(sc, f);
  while (rc == SQLITE_OK && !sc->eof) {
    const tl_span *s = tl_scan_span(sc, &rc);
    if (!s) break;
    if ((rc = tl_src_add_span(&t->r, t->buf, sc, s))) break;
    rc = tl_scan_next(sc);
  }
  return rc;
}

int tl_src_read_trace(tl_src *src, const char *fname, sqlite3_value *trace_id, tl_trace_buf *buf,
                      tl_tree *tree, char **err) {
  if (!trace_id || sqlite3_value_type(trace_id) == SQLITE_NULL) {
    *err = sqlite3_mprintf("%s: trace_id is NULL", fname);
    return SQLITE_ERROR;
  }
  const char *tid = (const char *)sqlite3_value_text(trace_id);
  tl_trace_buf_reset(buf, tid ? tid : "", tid ? (uint32_t)sqlite3_value_bytes(trace_id) : 0);
  tl_err e;
  tl_err_clear(&e);
  int ran = 0, rc = SQLITE_OK;
  if (src->direct) {
    trace_run t = {.r = {.base = {.run = trace_run_fn}, .src = src, .fname = fname}, .buf = buf};
    rc = sqlite3_bind_value(src->direct, 2, trace_id);
    if (rc == SQLITE_OK) rc = tl_src_run_direct(&t.r, &ran, err);
    if (rc != SQLITE_OK) return rc;
  }
  if (!ran) {
    rc = sqlite3_bind_value(src->stmt, 1, trace_id);
    tl_cell cells[TL_TC_COUNT];
    while (rc == SQLITE_OK && (rc = sqlite3_step(src->stmt)) == SQLITE_ROW) {
      tl_src_cells(src->stmt, 0, cells);
      if (tl_trace_buf_add(buf, cells, &e)) break;
      rc = SQLITE_OK;
    }
    sqlite3_reset(src->stmt);
    if (e.rc) return tl_src_error(fname, &e, err);
    if (rc != SQLITE_DONE) {
      *err = sqlite3_mprintf("%s: %s", fname, sqlite3_errmsg(sqlite3_db_handle(src->stmt)));
      return rc;
    }
  }
  if (tl_tree_build(tree, buf->spans, buf->n, &e)) return tl_src_error(fname, &e, err);
  return SQLITE_OK;
}

int tl_src_best_index(sqlite3_index_info *info, int first, int nargs, int needed) {
  int rc = tl_tvf_best_index(info, first, nargs);
  if (rc != SQLITE_OK) return rc;
  int ok = (info->idxNum & needed) == needed;
  info->estimatedCost = ok ? 100 : 1e12;
  info->estimatedRows = ok ? 20 : 1000000;
  return SQLITE_OK;
}
