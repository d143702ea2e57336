/*
** export.c — trace_export(): spans back out as canonical OTLP NDJSON, the
** baseline format of BRIEF.md (one span per line, resource and scope
** repeated; see docs/format-ndjson.md).
**
**   SELECT trace_export('spans', 'out.ndjson');     -- a table or view -> file
**   SELECT trace_export('SELECT * FROM trace_file(''in.json'') WHERE kind = ''SERVER''',
**                       'servers.ndjson');          -- any query -> file
**   SELECT trace_export('spans');                   -- the NDJSON as text
**
** The source is a table or view name, or a query (text starting with SELECT,
** WITH or VALUES).  Its columns are matched by name to the span columns of
** row.h; trace_id, span_id and start_ns are required, the others optional,
** so a plain table of spans exports too.  With a path, the file is written
** (replaced) and the number of spans returned; on any error the partial
** file is removed.  Without a path the NDJSON text is returned.  Writing
** files and running SQL given as text make it SQLITE_DIRECTONLY.
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../io/otlp_write.h"
#include "register.h"
#include "row.h"

#define FLUSH_BYTES (1u << 20)
#define BATCH_SPANS 1024

static const char *const span_columns[TL_NCOL] = {
    "trace_id", "span_id", "parent_span_id", "service", "name", "kind",
    "start_ns", "end_ns", "duration_ns", "status_code", "status_message",
    "attributes", "resource", "events", "links", "scope", "trace_state",
    "flags", "dropped"};

static int is_query(const char *s) {
  while (isspace((unsigned char)*s) || *s == '(') s++;
  return !strncasecmp(s, "select", 6) || !strncasecmp(s, "with", 4) ||
         !strncasecmp(s, "values", 6);
}

typedef struct exporter {
  sqlite3_context *ctx;
  sqlite3_stmt *stmt;
  int map[TL_NCOL]; /* statement column of each span column, or -1 */
  FILE *out;
  const char *path;
  tl_buf text;
  tl_batch *batch;
  tl_row_cache *cache;
  sqlite3_int64 spans;
} exporter;

static int map_columns(exporter *x) {
  int n = sqlite3_column_count(x->stmt);
  for (int c = 0; c < TL_NCOL; c++) {
    x->map[c] = -1;
    for (int i = 0; i < n; i++) {
      const char *name = sqlite3_column_name(x->stmt, i);
      if (name && !strcasecmp(name, span_columns[c])) {
        x->map[c] = i;
        break;
      }
    }
  }
  static const int required[] = {TL_COL_TRACE_ID, TL_COL_SPAN_ID, TL_COL_START_NS};
  for (size_t i = 0; i < sizeof required / sizeof *required; i++) {
    if (x->map[required[i]] < 0) {
      char *msg = sqlite3_mprintf("trace_export: the source has no column %s",
                                  span_columns[required[i]]);
      sqlite3_result_error(x->ctx, msg ? msg : "trace_export: missing column", -1);
      sqlite3_free(msg);
      return SQLITE_ERROR;
    }
  }
  return SQLITE_OK;
}

static int flush(exporter *x, int force) {
  if (!x->out || (!force && x->text.n < FLUSH_BYTES)) return SQLITE_OK;
  if (x->text.n && fwrite(x->text.p, 1, x->text.n, x->out) != x->text.n) {
    char *msg = sqlite3_mprintf("trace_export: cannot write %s", x->path);
    sqlite3_result_error(x->ctx, msg ? msg : "trace_export: write failed", -1);
    sqlite3_free(msg);
    return SQLITE_IOERR;
  }
  tl_buf_reset(&x->text);
  return SQLITE_OK;
}

static int export_rows(exporter *x) {
  sqlite3_value *values[TL_NCOL];
  int rc;
  while ((rc = sqlite3_step(x->stmt)) == SQLITE_ROW) {
    for (int c = 0; c < TL_NCOL; c++)
      values[c] = x->map[c] >= 0 ? sqlite3_column_value(x->stmt, x->map[c]) : NULL;
    if (tl_batch_count(x->batch) >= BATCH_SPANS) {
      tl_batch_reset(x->batch);
      tl_row_cache_reset(x->cache);
    }
    tl_err e;
    tl_err_clear(&e);
    tl_span *s;
    if (tl_row_to_span(x->batch, x->cache, values, NULL, &s, &e)) {
      char *msg = sqlite3_mprintf("trace_export: row %lld: %s", (long long)x->spans + 1, e.msg);
      sqlite3_result_error(x->ctx, msg ? msg : "trace_export: bad row", -1);
      sqlite3_free(msg);
      return SQLITE_ERROR;
    }
    tl_otlp_write_span(&x->text, s);
    if (x->text.oom) {
      sqlite3_result_error_nomem(x->ctx);
      return SQLITE_NOMEM;
    }
    x->spans++;
    if ((rc = flush(x, 0))) return rc;
  }
  if (rc != SQLITE_DONE) {
    sqlite3 *db = sqlite3_context_db_handle(x->ctx);
    char *msg = sqlite3_mprintf("trace_export: %s", sqlite3_errmsg(db));
    sqlite3_result_error(x->ctx, msg ? msg : "trace_export: query failed", -1);
    sqlite3_free(msg);
    return rc;
  }
  return flush(x, 1);
}

static void export_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  const char *source = (const char *)sqlite3_value_text(argv[0]);
  if (!source || !*source) {
    sqlite3_result_error(ctx, "trace_export: the source (a table, view or query) is NULL or empty", -1);
    return;
  }
  exporter x;
  memset(&x, 0, sizeof x);
  x.ctx = ctx;
  tl_buf_init(&x.text);
  char *sql = is_query(source) ? sqlite3_mprintf("%s", source)
                               : sqlite3_mprintf("SELECT * FROM \"%w\"", source);
  x.batch = tl_batch_new();
  x.cache = tl_row_cache_new();
  if (!sql || !x.batch || !x.cache) {
    sqlite3_result_error_nomem(ctx);
    goto done;
  }
  if (sqlite3_prepare_v2(db, sql, -1, &x.stmt, NULL) != SQLITE_OK) {
    char *msg = sqlite3_mprintf("trace_export: %s", sqlite3_errmsg(db));
    sqlite3_result_error(ctx, msg ? msg : "trace_export: bad source", -1);
    sqlite3_free(msg);
    goto done;
  }
  if (map_columns(&x) != SQLITE_OK) goto done;
  if (argc > 1 && sqlite3_value_type(argv[1]) != SQLITE_NULL) {
    x.path = (const char *)sqlite3_value_text(argv[1]);
    x.out = x.path && *x.path ? fopen(x.path, "wb") : NULL;
    if (!x.out) {
      char *msg = sqlite3_mprintf("trace_export: cannot open %s for writing", x.path ? x.path : "");
      sqlite3_result_error(ctx, msg ? msg : "trace_export: cannot open file", -1);
      sqlite3_free(msg);
      goto done;
    }
  }
  if (export_rows(&x) == SQLITE_OK) {
    if (x.out) {
      int failed = fclose(x.out) != 0;
      x.out = NULL;
      if (failed) {
        remove(x.path);
        sqlite3_result_error(ctx, "trace_export: cannot write the file", -1);
      } else {
        sqlite3_result_int64(ctx, x.spans);
      }
    } else {
      sqlite3_result_text64(ctx, x.text.n ? x.text.p : "", x.text.n, SQLITE_TRANSIENT,
                            SQLITE_UTF8);
    }
  } else if (x.out) {
    fclose(x.out);
    x.out = NULL;
    remove(x.path);
  }
done:
  if (x.out) fclose(x.out);
  sqlite3_finalize(x.stmt);
  sqlite3_free(sql);
  tl_buf_free(&x.text);
  tl_batch_free(x.batch);
  tl_row_cache_free(x.cache);
}

int tl_register_export(sqlite3 *db) {
  const int flags = SQLITE_UTF8 | SQLITE_DIRECTONLY;
  int rc = sqlite3_create_function(db, "trace_export", 1, flags, 0, export_func, 0, 0);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function(db, "trace_export", 2, flags, 0, export_func, 0, 0);
  return rc;
}
