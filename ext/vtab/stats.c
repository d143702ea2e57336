/*
** stats.c — tracelite_stats: one row per tracelite table of the connection
** (every attached database), with what it stores and what that costs.
**
**   SELECT * FROM tracelite_stats;
**   schema | name | format | blocks | spans | traces | bytes | ndjson_bytes
**          | ratio | bytes_per_span
**
**   bytes         pages of every shadow table and index of the table
**                 (dbstat), so the trace index and dictionaries count;
**                 NULL when SQLite was built without dbstat
**   ndjson_bytes  the same spans as canonical OTLP NDJSON (the baseline of
**                 BRIEF.md): stored per block by 'optimize', counted here by
**                 decoding the blocks ingest wrote without it (so the first
**                 stats of a large un-optimized table takes a full decode)
**   ratio         ndjson_bytes / bytes
**   traces        distinct trace keys in the trace index: exact unless two
**                 trace ids share a 48-bit key (blockmeta.h)
**
** It reads the shadow tables, so it shows what is stored: spans still in
** the write buffer of an open transaction on this connection are not
** counted until a statement flushes them (any query on the table does).
** An eponymous-only table: there is nothing to create.
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <ctype.h>
#include <string.h>

#include "../store/store.h"
#include "register.h"

enum { COL_SCHEMA, COL_NAME, COL_FORMAT, COL_BLOCKS, COL_SPANS, COL_TRACES, COL_BYTES,
       COL_NDJSON, COL_RATIO, COL_BYTES_PER_SPAN };

typedef struct stats_row {
  char *schema, *name, *format;
  sqlite3_int64 blocks, spans, traces, bytes, ndjson;
  int has_bytes;
} stats_row;

typedef struct stats_vtab {
  sqlite3_vtab base;
  sqlite3 *db;
} stats_vtab;

typedef struct stats_cursor {
  sqlite3_vtab_cursor base;
  stats_row *rows;
  int n, cap, pos;
} stats_cursor;

static int stats_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                         sqlite3_vtab **out, char **err) {
  (void)aux;
  (void)argc;
  (void)argv;
  (void)err;
  int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(schema TEXT, name TEXT, format TEXT, "
                                    "blocks INTEGER, spans INTEGER, traces INTEGER, "
                                    "bytes INTEGER, ndjson_bytes INTEGER, ratio REAL, "
                                    "bytes_per_span REAL)");
  if (rc) return rc;
  sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  stats_vtab *v = sqlite3_malloc(sizeof *v);
  if (!v) return SQLITE_NOMEM;
  memset(v, 0, sizeof *v);
  v->db = db;
  *out = &v->base;
  return SQLITE_OK;
}

static int stats_disconnect(sqlite3_vtab *v) {
  sqlite3_free(v);
  return SQLITE_OK;
}

static int stats_best_index(sqlite3_vtab *v, sqlite3_index_info *info) {
  (void)v;
  info->estimatedCost = 1000;
  info->estimatedRows = 10;
  return SQLITE_OK;
}

static int stats_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out) {
  (void)v;
  stats_cursor *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  *out = &c->base;
  return SQLITE_OK;
}

static void free_rows(stats_cursor *c) {
  for (int i = 0; i < c->n; i++) {
    sqlite3_free(c->rows[i].schema);
    sqlite3_free(c->rows[i].name);
    sqlite3_free(c->rows[i].format);
  }
  c->n = c->pos = 0;
}

static int stats_close(sqlite3_vtab_cursor *cur) {
  stats_cursor *c = (stats_cursor *)cur;
  free_rows(c);
  sqlite3_free(c->rows);
  sqlite3_free(c);
  return SQLITE_OK;
}

/* ---- recognising a tracelite table -----------------------------------------
** SQLite keeps "CREATE VIRTUAL TABLE " followed by the text the user wrote
** from the table name on: name, USING, module name. */

static const char *skip_space(const char *p) {
  while (isspace((unsigned char)*p)) p++;
  return p;
}

/* An identifier, bare or quoted; its unquoted first bytes go to out. */
static const char *skip_ident(const char *p, char *out, size_t cap) {
  size_t n = 0;
  char close = *p == '"' ? '"' : *p == '`' ? '`' : *p == '[' ? ']' : *p == '\'' ? '\'' : 0;
  if (close) {
    for (p++; *p; p++) {
      if (*p == close) {
        if (close != ']' && p[1] == close) {
          p++;
        } else {
          p++;
          break;
        }
      }
      if (n + 1 < cap) out[n++] = *p;
    }
  } else {
    for (; isalnum((unsigned char)*p) || *p == '_' || *p == '$' || (unsigned char)*p >= 0x80; p++)
      if (n + 1 < cap) out[n++] = *p;
  }
  out[n] = 0;
  return p;
}

static int uses_tracelite(const char *sql) {
  static const char prefix[] = "CREATE VIRTUAL TABLE";
  char word[64];
  if (sqlite3_strnicmp(sql, prefix, sizeof prefix - 1)) return 0;
  const char *p = skip_ident(skip_space(sql + sizeof prefix - 1), word, sizeof word);
  if (*p == '.') p = skip_ident(p + 1, word, sizeof word);
  p = skip_ident(skip_space(p), word, sizeof word);
  if (sqlite3_stricmp(word, "using")) return 0;
  skip_ident(skip_space(p), word, sizeof word);
  return sqlite3_stricmp(word, "tracelite") == 0;
}

/* ---- one table ----------------------------------------------------------------- */

/* Runs sql (freed here) and reads the integer columns of its one row;
** isnull[i] tells NULLs apart. */
static int query_ints(sqlite3 *db, char *sql, int n, sqlite3_int64 *out, int *isnull) {
  if (!sql) return SQLITE_NOMEM;
  sqlite3_stmt *s;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
  sqlite3_free(sql);
  if (rc) return rc;
  rc = sqlite3_step(s);
  for (int i = 0; i < n; i++) {
    out[i] = rc == SQLITE_ROW ? sqlite3_column_int64(s, i) : 0;
    if (isnull) isnull[i] = rc != SQLITE_ROW || sqlite3_column_type(s, i) == SQLITE_NULL;
  }
  rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
  sqlite3_finalize(s);
  return rc;
}

static int table_format(sqlite3 *db, stats_row *r) {
  sqlite3_stmt *s;
  char *sql = sqlite3_mprintf("SELECT v FROM \"%w\".\"%w_config\" WHERE k='format'", r->schema,
                              r->name);
  if (!sql) return SQLITE_NOMEM;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
  sqlite3_free(sql);
  if (rc) return rc;
  if (sqlite3_step(s) == SQLITE_ROW) {
    r->format = sqlite3_mprintf("%s", (const char *)sqlite3_column_text(s, 0));
    if (!r->format) rc = SQLITE_NOMEM;
  }
  sqlite3_finalize(s);
  return rc;
}

/* Pages of every b-tree (tables and their indexes) of the shadow tables. */
static void table_bytes(sqlite3 *db, stats_row *r) {
  const char *const *sfx = tl_shadow_suffixes;
  char *sql = sqlite3_mprintf(
      "SELECT sum(pgsize) FROM dbstat WHERE schema=%Q AND name IN (SELECT name FROM "
      "\"%w\".sqlite_schema WHERE tbl_name IN ('%q_%s','%q_%s','%q_%s','%q_%s','%q_%s'))",
      r->schema, r->schema, r->name, sfx[0], r->name, sfx[1], r->name, sfx[2], r->name, sfx[3],
      r->name, sfx[4]);
  int isnull;
  r->has_bytes = query_ints(db, sql, 1, &r->bytes, &isnull) == SQLITE_OK && !isnull;
}

/* Blocks written without an NDJSON count (all but those 'optimize' wrote)
** are decoded and counted through the table's store. */
static int table_ndjson(sqlite3 *db, stats_row *r, char **err) {
  tl_store st;
  char *zerr = NULL;
  int rc = tl_store_init(&st, db, NULL, r->schema, r->name, &zerr);
  if (!rc) rc = tl_store_read_config(&st);
  if (!rc) rc = tl_store_count_ndjson(&st, &r->ndjson);
  tl_store_free(&st);
  if (rc && zerr) *err = sqlite3_mprintf("tracelite_stats: %s", zerr + strlen("tracelite: "));
  sqlite3_free(zerr);
  return rc;
}

static int table_stats(sqlite3 *db, stats_row *r, char **err) {
  int rc = table_format(db, r);
  sqlite3_int64 v[4];
  int isnull[4];
  if (!rc)
    rc = query_ints(db,
                    sqlite3_mprintf("SELECT count(*), coalesce(sum(n),0), sum(ndjson), "
                                    "count(ndjson) FROM \"%w\".\"%w_blocks\"",
                                    r->schema, r->name),
                    4, v, isnull);
  if (rc) return rc;
  r->blocks = v[0];
  r->spans = v[1];
  r->ndjson = isnull[2] ? 0 : v[2];
  if (v[3] < v[0] && (rc = table_ndjson(db, r, err))) return rc;
  rc = query_ints(db,
                  sqlite3_mprintf("SELECT count(DISTINCT k) FROM \"%w\".\"%w_traces\"",
                                  r->schema, r->name),
                  1, &r->traces, NULL);
  if (!rc) table_bytes(db, r);
  return rc;
}

static int add_row(stats_cursor *c, const char *schema, const char *name) {
  if (c->n == c->cap) {
    int cap = c->cap ? c->cap * 2 : 8;
    stats_row *rows = sqlite3_realloc64(c->rows, (size_t)cap * sizeof *rows);
    if (!rows) return SQLITE_NOMEM;
    c->rows = rows;
    c->cap = cap;
  }
  stats_row *r = &c->rows[c->n++];
  memset(r, 0, sizeof *r);
  r->schema = sqlite3_mprintf("%s", schema);
  r->name = sqlite3_mprintf("%s", name);
  return r->schema && r->name ? SQLITE_OK : SQLITE_NOMEM;
}

static int scan_schema(sqlite3 *db, stats_cursor *c, const char *schema, char **err) {
  char *sql = sqlite3_mprintf("SELECT name, sql FROM \"%w\".sqlite_schema WHERE type='table' "
                              "AND sql LIKE 'CREATE VIRTUAL TABLE%%' ORDER BY name",
                              schema);
  if (!sql) return SQLITE_NOMEM;
  sqlite3_stmt *s;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
  sqlite3_free(sql);
  if (rc) return rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(s, 0);
    const char *text = (const char *)sqlite3_column_text(s, 1);
    if (!name || !text || !uses_tracelite(text)) continue;
    if ((rc = add_row(c, schema, name))) break;
    if ((rc = table_stats(db, &c->rows[c->n - 1], err))) {
      if (!*err)
        *err = sqlite3_mprintf("tracelite_stats: table %s: %s", name, sqlite3_errmsg(db));
      break;
    }
  }
  sqlite3_finalize(s);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int stats_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr, int argc,
                        sqlite3_value **argv) {
  (void)idxNum;
  (void)idxStr;
  (void)argc;
  (void)argv;
  stats_cursor *c = (stats_cursor *)cur;
  stats_vtab *v = (stats_vtab *)cur->pVtab;
  free_rows(c);
  sqlite3_stmt *s;
  char *err = NULL;
  int rc = sqlite3_prepare_v2(v->db, "PRAGMA database_list", -1, &s, NULL);
  while (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
    const char *schema = (const char *)sqlite3_column_text(s, 1);
    if (schema) rc = scan_schema(v->db, c, schema, &err);
    if (rc && !err && rc != SQLITE_NOMEM)
      err = sqlite3_mprintf("tracelite_stats: %s", sqlite3_errmsg(v->db));
  }
  sqlite3_finalize(s);
  if (err) {
    sqlite3_free(v->base.zErrMsg);
    v->base.zErrMsg = err;
  }
  return rc;
}

static int stats_next(sqlite3_vtab_cursor *cur) {
  ((stats_cursor *)cur)->pos++;
  return SQLITE_OK;
}

static int stats_eof(sqlite3_vtab_cursor *cur) {
  const stats_cursor *c = (const stats_cursor *)cur;
  return c->pos >= c->n;
}

static int stats_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  const stats_cursor *c = (const stats_cursor *)cur;
  const stats_row *r = &c->rows[c->pos];
  switch (col) {
    case COL_SCHEMA: sqlite3_result_text(ctx, r->schema, -1, SQLITE_TRANSIENT); break;
    case COL_NAME: sqlite3_result_text(ctx, r->name, -1, SQLITE_TRANSIENT); break;
    case COL_FORMAT:
      if (r->format) sqlite3_result_text(ctx, r->format, -1, SQLITE_TRANSIENT);
      break;
    case COL_BLOCKS: sqlite3_result_int64(ctx, r->blocks); break;
    case COL_SPANS: sqlite3_result_int64(ctx, r->spans); break;
    case COL_TRACES: sqlite3_result_int64(ctx, r->traces); break;
    case COL_BYTES:
      if (r->has_bytes) sqlite3_result_int64(ctx, r->bytes);
      break;
    case COL_NDJSON: sqlite3_result_int64(ctx, r->ndjson); break;
    case COL_RATIO:
      if (r->has_bytes && r->bytes > 0)
        sqlite3_result_double(ctx, (double)r->ndjson / (double)r->bytes);
      break;
    case COL_BYTES_PER_SPAN:
      if (r->has_bytes && r->spans > 0)
        sqlite3_result_double(ctx, (double)r->bytes / (double)r->spans);
      break;
    default: break;
  }
  return SQLITE_OK;
}

static int stats_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  *rowid = ((const stats_cursor *)cur)->pos + 1;
  return SQLITE_OK;
}

static const sqlite3_module stats_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only */
    .xConnect = stats_connect,
    .xBestIndex = stats_best_index,
    .xDisconnect = stats_disconnect,
    .xDestroy = stats_disconnect,
    .xOpen = stats_open,
    .xClose = stats_close,
    .xFilter = stats_filter,
    .xNext = stats_next,
    .xEof = stats_eof,
    .xColumn = stats_column,
    .xRowid = stats_rowid,
};

int tl_register_stats(sqlite3 *db) {
  return sqlite3_create_module_v2(db, "tracelite_stats", &stats_module, NULL, NULL);
}
