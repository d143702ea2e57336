/*
** analysis_sql.c — reading span rows from a named table or view for the
** analysis functions (interface and rules in analysis_sql.h).
**
** The statement is built once per (table, flags) from the columns the
** source actually has, so a plain table without links or kind works, and
** it is prepared SQLITE_PREPARE_PERSISTENT: trace_critical_path() joined
** with 10,000 trace ids resets and rebinds one statement 10,000 times.
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

#include "analysis_sql.h"

void tl_src_close(tl_src *src) {
  sqlite3_finalize(src->stmt);
  sqlite3_free(src->table);
  memset(src, 0, sizeof *src);
}

int tl_src_error(const char *fname, const tl_err *e, char **err) {
  if (e->rc == TL_ENOMEM) return SQLITE_NOMEM;
  *err = sqlite3_mprintf("%s: %s", fname, e->msg[0] ? e->msg : "failed");
  return e->rc == TL_ERANGE ? SQLITE_TOOBIG : SQLITE_ERROR;
}

/* The quoted, schema-qualified name of a source in the schema, or NULL
** with *err set.  Resolution is SQLite's own (temp, main, attached). */
static char *resolve(sqlite3 *db, const char *fname, const char *table, char **err) {
  const char *dot = strchr(table, '.');
  char *schema = dot ? sqlite3_mprintf("%.*s", (int)(dot - table), table) : NULL;
  sqlite3_stmt *q = NULL;
  char *out = NULL;
  int rc = sqlite3_prepare_v2(db,
                              "SELECT schema, name FROM pragma_table_list "
                              "WHERE name = ?1 AND (?2 IS NULL OR schema = ?2) "
                              "  AND type IN ('table', 'view', 'virtual') "
                              "ORDER BY schema <> 'temp', schema <> 'main'",
                              -1, &q, NULL);
  if (rc == SQLITE_OK && dot) { /* "schema.table" when that schema exists */
    sqlite3_bind_text(q, 1, dot + 1, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, schema, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
      out = sqlite3_mprintf("\"%w\".\"%w\"", sqlite3_column_text(q, 0), sqlite3_column_text(q, 1));
    sqlite3_reset(q);
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
  if (rc == SQLITE_OK && !out) {
    sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_null(q, 2);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
      out = sqlite3_mprintf("\"%w\".\"%w\"", sqlite3_column_text(q, 0), sqlite3_column_text(q, 1));
    else if (rc == SQLITE_DONE)
      *err = sqlite3_mprintf("%s: no such table: %s", fname, table);
    else
      *err = sqlite3_mprintf("%s: %s", fname, sqlite3_errmsg(db));
  }
  sqlite3_finalize(q);
  sqlite3_free(schema);
  return out;
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

int tl_src_prepare(tl_src *src, sqlite3 *db, const char *fname, const char *table, int flags,
                   char **err) {
  if (src->stmt && src->flags == flags && !strcmp(src->table, table)) {
    sqlite3_reset(src->stmt);
    sqlite3_clear_bindings(src->stmt);
    return SQLITE_OK;
  }
  tl_src_close(src);
  char *qname = resolve(db, fname, table, err);
  if (!qname) return *err ? SQLITE_ERROR : SQLITE_NOMEM;
  int has, rc = columns_of(db, fname, table, qname, &has, err);
  if (rc != SQLITE_OK) {
    sqlite3_free(qname);
    return rc;
  }
  /* Columns in TL_TC_* order; links only where a span has no parent
  ** (Tree 3), peer.service only for Zipkin links. */
  char *sql = sqlite3_mprintf(
      "SELECT %sspan_id, parent_span_id, %s, %s, %s, start_ns, end_ns, %s, %s, %s FROM %s%s%s",
      flags & TL_SRC_SCAN ? "trace_id, " : "", has & HAS_SERVICE ? "service" : "NULL",
      has & HAS_NAME ? "name" : "NULL", has & HAS_KIND ? "kind" : "NULL",
      has & HAS_STATUS ? "status_code" : "NULL",
      has & HAS_LINKS ? "CASE WHEN parent_span_id IS NULL OR parent_span_id = '' THEN links END"
                      : "NULL",
      (flags & TL_SRC_REMOTE) && (has & HAS_ATTRS)
          ? "json_extract(attributes, '$.\"peer.service\"')"
          : "NULL",
      qname,
      flags & TL_SRC_TRACE    ? " WHERE trace_id = ?1"
      : flags & TL_SRC_WINDOW ? " WHERE start_ns >= ?1 AND start_ns < ?2"
                              : "",
      flags & TL_SRC_SORTED ? " ORDER BY trace_id" : "");
  sqlite3_free(qname);
  if (!sql) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &src->stmt, NULL);
  sqlite3_free(sql);
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("%s: %s", fname, sqlite3_errmsg(db));
    return rc;
  }
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

int tl_src_read_trace(tl_src *src, const char *fname, sqlite3_value *trace_id, tl_trace_buf *buf,
                      tl_tree *tree, char **err) {
  if (!trace_id || sqlite3_value_type(trace_id) == SQLITE_NULL) {
    *err = sqlite3_mprintf("%s: trace_id is NULL", fname);
    return SQLITE_ERROR;
  }
  const char *tid = (const char *)sqlite3_value_text(trace_id);
  tl_trace_buf_reset(buf, tid ? tid : "", tid ? (uint32_t)sqlite3_value_bytes(trace_id) : 0);
  int rc = sqlite3_bind_value(src->stmt, 1, trace_id);
  tl_err e;
  tl_err_clear(&e);
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
