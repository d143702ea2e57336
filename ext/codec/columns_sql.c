/*
** columns_sql.c — tracelite_columns(table [, schema]): where the bytes of a
** columnar table go, one row per column stream, summed over its blocks.
**
**   SELECT * FROM tracelite_columns('spans');
**   column                   blocks  bytes    raw_bytes  bytes_per_span  share
**   span_ids                 25      819200   819200     8.0             0.31
**   start_ns                 25      229000   318000     2.24            0.09
**   attributes.http.route    25      ...
**   (directory)              25      ...      -- envelope and stream directory
**   (dictionaries)           1       ...      -- trained zstd dictionaries
**
** bytes are as stored in the blocks (after compression), raw_bytes once
** decompressed; bytes_per_span divides by the spans of all blocks, share by
** the bytes of all blocks and dictionaries.  Rows come largest first.
** Spans still in a transaction's write buffer are not in blocks yet: run
** it after COMMIT.  Page overhead of SQLite is not counted
** (tracelite_stats has the whole file).
**
** How: reads "<table>_config" for the format (only columnar tables have
** column streams), "<table>_dict" for the dictionaries a block may name,
** and every blob of "<table>_blocks"; the stream directory of each block
** is read by tl_columnar_streams() (ext/codec/codec_columnar.c), which
** inflates only the small attribute key tables it needs for names.
** Eponymous only; the arguments are hidden columns.
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vtab/register.h"
#include "columnar.h"

enum { COL_NAME, COL_BLOCKS, COL_BYTES, COL_RAW, COL_PER_SPAN, COL_SHARE, COL_TABLE, COL_SCHEMA };

typedef struct cols_vtab {
  sqlite3_vtab base;
  sqlite3 *db;
} cols_vtab;

typedef struct colrow {
  char *name; /* sqlite3_malloc'd */
  sqlite3_int64 blocks, bytes, raw;
} colrow;

typedef struct cols_cursor {
  sqlite3_vtab_cursor base;
  colrow *rows;
  int n, cap, pos;
  sqlite3_int64 spans, total;
  int oom;
} cols_cursor;

static int cols_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                        sqlite3_vtab **out, char **err) {
  (void)aux;
  (void)argc;
  (void)argv;
  (void)err;
  int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(column TEXT, blocks INTEGER, bytes INTEGER, "
                                    "raw_bytes INTEGER, bytes_per_span REAL, share REAL, "
                                    "tbl HIDDEN, schema HIDDEN)");
  if (rc) return rc;
  cols_vtab *v = sqlite3_malloc(sizeof *v);
  if (!v) return SQLITE_NOMEM;
  memset(v, 0, sizeof *v);
  v->db = db;
  *out = &v->base;
  return SQLITE_OK;
}

static int cols_disconnect(sqlite3_vtab *v) {
  sqlite3_free(v->zErrMsg);
  sqlite3_free(v);
  return SQLITE_OK;
}

/* idxNum bit 0: tbl = ? (argv[0]); bit 1: schema = ? (next argv).  A plan
** without the table is refused in xFilter with a message. */
static int cols_best_index(sqlite3_vtab *v, sqlite3_index_info *info) {
  (void)v;
  int where[2] = {-1, -1};
  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &info->aConstraint[i];
    if (c->op != SQLITE_INDEX_CONSTRAINT_EQ || (c->iColumn != COL_TABLE && c->iColumn != COL_SCHEMA))
      continue;
    if (!c->usable) return SQLITE_CONSTRAINT;
    where[c->iColumn - COL_TABLE] = i;
  }
  int n = 0;
  info->idxNum = 0;
  for (int k = 0; k < 2; k++)
    if (where[k] >= 0) {
      info->aConstraintUsage[where[k]].argvIndex = ++n;
      info->aConstraintUsage[where[k]].omit = 1;
      info->idxNum |= 1 << k;
    }
  info->estimatedCost = where[0] >= 0 ? 1000 : 1e12;
  return SQLITE_OK;
}

static void clear_rows(cols_cursor *c) {
  for (int i = 0; i < c->n; i++) sqlite3_free(c->rows[i].name);
  c->n = c->pos = 0;
  c->spans = c->total = 0;
  c->oom = 0;
}

static int cols_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out) {
  (void)v;
  cols_cursor *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  *out = &c->base;
  return SQLITE_OK;
}

static int cols_close(sqlite3_vtab_cursor *cur) {
  cols_cursor *c = (cols_cursor *)cur;
  clear_rows(c);
  sqlite3_free(c->rows);
  sqlite3_free(c);
  return SQLITE_OK;
}

/* Adds bytes to the row of name (made when new). */
static void add(cols_cursor *c, const char *name, sqlite3_int64 bytes, sqlite3_int64 raw) {
  for (int i = c->n - 1; i >= 0; i--)
    if (strcmp(c->rows[i].name, name) == 0) {
      c->rows[i].blocks++;
      c->rows[i].bytes += bytes;
      c->rows[i].raw += raw;
      return;
    }
  if (c->n == c->cap) {
    int cap = c->cap ? 2 * c->cap : 64;
    colrow *rows = sqlite3_realloc64(c->rows, (sqlite3_uint64)cap * sizeof *rows);
    if (!rows) {
      c->oom = 1;
      return;
    }
    c->rows = rows;
    c->cap = cap;
  }
  colrow *r = &c->rows[c->n];
  if (!(r->name = sqlite3_mprintf("%s", name))) {
    c->oom = 1;
    return;
  }
  r->blocks = 1;
  r->bytes = bytes;
  r->raw = raw;
  c->n++;
}

typedef struct block_sum {
  cols_cursor *c;
  sqlite3_int64 streams;
} block_sum;

static void on_stream(void *ctx, const char *name, size_t stored, size_t raw) {
  block_sum *s = ctx;
  add(s->c, name, (sqlite3_int64)stored, (sqlite3_int64)raw);
  s->streams += (sqlite3_int64)stored;
}

static int by_bytes(const void *a, const void *b) {
  const colrow *x = a, *y = b;
  return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : strcmp(x->name, y->name);
}

/* Runs sql; each row goes to fn.  *err gets SQLite's message. */
static int each_row(sqlite3 *db, char *sql, int (*fn)(void *, sqlite3_stmt *), void *ctx,
                    char **err) {
  if (!sql) return SQLITE_NOMEM;
  sqlite3_stmt *s;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
  sqlite3_free(sql);
  if (rc) {
    *err = sqlite3_mprintf("tracelite_columns: %s", sqlite3_errmsg(db));
    return rc;
  }
  while ((rc = sqlite3_step(s)) == SQLITE_ROW && (rc = fn(ctx, s)) == SQLITE_OK) {
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  if (rc && !*err) *err = sqlite3_mprintf("tracelite_columns: %s", sqlite3_errmsg(db));
  sqlite3_finalize(s);
  return rc;
}

typedef struct scan {
  cols_cursor *c;
  void *state;
  char **err;
  const char *table;
  char format[64];
} scan;

static int on_format(void *ctx, sqlite3_stmt *s) {
  scan *sc = ctx;
  const unsigned char *v = sqlite3_column_text(s, 0);
  snprintf(sc->format, sizeof sc->format, "%s", v ? (const char *)v : "");
  return SQLITE_OK;
}

static int on_dict(void *ctx, sqlite3_stmt *s) {
  scan *sc = ctx;
  sqlite3_int64 id = sqlite3_column_int64(s, 0);
  const void *p = sqlite3_column_blob(s, 1);
  int n = sqlite3_column_bytes(s, 1);
  tl_err e;
  tl_err_clear(&e);
  if (id < 1 || id > 0xFFFFFFFFll || n <= 0 ||
      tl_codec_columnar.add_dict(sc->state, (uint32_t)id, p, (size_t)n, &e)) {
    *sc->err = sqlite3_mprintf("tracelite_columns: table %s: dictionary %lld: %s", sc->table,
                               id, e.msg[0] ? e.msg : "bad row");
    return SQLITE_CORRUPT_VTAB;
  }
  add(sc->c, "(dictionaries)", n, n);
  return SQLITE_OK;
}

static int on_block(void *ctx, sqlite3_stmt *s) {
  scan *sc = ctx;
  sqlite3_int64 id = sqlite3_column_int64(s, 0);
  const uint8_t *p = sqlite3_column_blob(s, 2);
  int n = sqlite3_column_bytes(s, 2);
  block_sum sum = {sc->c, 0};
  tl_err e;
  tl_err_clear(&e);
  if (tl_columnar_streams(sc->state, p, (size_t)n, on_stream, &sum, &e)) {
    *sc->err = sqlite3_mprintf("tracelite_columns: table %s: block %lld: %s", sc->table, id,
                               e.msg);
    return e.rc == TL_ENOMEM ? SQLITE_NOMEM : SQLITE_CORRUPT_VTAB;
  }
  add(sc->c, "(directory)", n - sum.streams, n - sum.streams);
  sc->c->spans += sqlite3_column_int64(s, 1);
  return sc->c->oom ? SQLITE_NOMEM : SQLITE_OK;
}

static int cols_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr, int argc,
                       sqlite3_value **argv) {
  (void)idxStr;
  cols_cursor *c = (cols_cursor *)cur;
  cols_vtab *v = (cols_vtab *)cur->pVtab;
  char **err = &v->base.zErrMsg;
  clear_rows(c);
  sqlite3_free(*err);
  *err = NULL;
  const char *table = (idxNum & 1) && argc > 0 ? (const char *)sqlite3_value_text(argv[0]) : NULL;
  const char *schema = (idxNum & 2) && argc > (idxNum & 1)
                           ? (const char *)sqlite3_value_text(argv[idxNum & 1])
                           : "main";
  if (!table || !schema) {
    *err = sqlite3_mprintf("tracelite_columns: usage: tracelite_columns(table [, schema])");
    return SQLITE_ERROR;
  }
  scan sc = {c, NULL, err, table, ""};
  int rc = each_row(v->db,
                    sqlite3_mprintf("SELECT v FROM \"%w\".\"%w_config\" WHERE k='format'",
                                    schema, table),
                    on_format, &sc, err);
  if (rc || strcmp(sc.format, "columnar") != 0) {
    sqlite3_free(*err);
    *err = rc ? sqlite3_mprintf("tracelite_columns: %s.%s is not a tracelite table", schema,
                                table)
              : sqlite3_mprintf("tracelite_columns: table %s has format %s: only columnar "
                                "tables have column streams",
                                table, sc.format);
    return SQLITE_ERROR;
  }
  tl_err e;
  tl_err_clear(&e);
  if (tl_codec_columnar.create(NULL, &sc.state, &e)) return SQLITE_NOMEM;
  rc = each_row(v->db,
                sqlite3_mprintf("SELECT id, data FROM \"%w\".\"%w_dict\"", schema, table),
                on_dict, &sc, err);
  if (!rc)
    rc = each_row(v->db,
                  sqlite3_mprintf("SELECT id, n, data FROM \"%w\".\"%w_blocks\" ORDER BY id",
                                  schema, table),
                  on_block, &sc, err);
  tl_codec_columnar.destroy(sc.state);
  if (!rc && c->oom) rc = SQLITE_NOMEM;
  if (rc) return rc;
  for (int i = 0; i < c->n; i++) c->total += c->rows[i].bytes;
  qsort(c->rows, (size_t)c->n, sizeof *c->rows, by_bytes);
  return SQLITE_OK;
}

static int cols_next(sqlite3_vtab_cursor *cur) {
  ((cols_cursor *)cur)->pos++;
  return SQLITE_OK;
}

static int cols_eof(sqlite3_vtab_cursor *cur) {
  const cols_cursor *c = (const cols_cursor *)cur;
  return c->pos >= c->n;
}

static int cols_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  const cols_cursor *c = (const cols_cursor *)cur;
  const colrow *r = &c->rows[c->pos];
  switch (col) {
    case COL_NAME: sqlite3_result_text(ctx, r->name, -1, SQLITE_TRANSIENT); break;
    case COL_BLOCKS: sqlite3_result_int64(ctx, r->blocks); break;
    case COL_BYTES: sqlite3_result_int64(ctx, r->bytes); break;
    case COL_RAW: sqlite3_result_int64(ctx, r->raw); break;
    case COL_PER_SPAN:
      if (c->spans) sqlite3_result_double(ctx, (double)r->bytes / (double)c->spans);
      break;
    case COL_SHARE:
      if (c->total) sqlite3_result_double(ctx, (double)r->bytes / (double)c->total);
      break;
    default: break;
  }
  return SQLITE_OK;
}

static int cols_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  *rowid = ((const cols_cursor *)cur)->pos + 1;
  return SQLITE_OK;
}

static const sqlite3_module cols_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only */
    .xConnect = cols_connect,
    .xBestIndex = cols_best_index,
    .xDisconnect = cols_disconnect,
    .xDestroy = cols_disconnect,
    .xOpen = cols_open,
    .xClose = cols_close,
    .xFilter = cols_filter,
    .xNext = cols_next,
    .xEof = cols_eof,
    .xColumn = cols_column,
    .xRowid = cols_rowid,
};

int tl_register_columns(sqlite3 *db) {
  return sqlite3_create_module_v2(db, "tracelite_columns", &cols_module, NULL, NULL);
}
