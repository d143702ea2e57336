/*
** waterfall_sql.c — trace_waterfall(table, trace_id [, width]): the text
** Gantt chart of one trace (waterfall.h), for the sqlite3 shell:
**
**   .mode list
**   SELECT trace_waterfall('spans', '4bf92f3577b34da6a3ce929d0e0e4736');
**   SELECT trace_waterfall('spans', trace_id, 100) FROM spans
**    WHERE parent_span_id IS NULL AND status_code = 'ERROR' LIMIT 3;
**
** It reads the table its argument names, so it is not SQLITE_INNOCUOUS
** (docs/analysis.md, "Security").
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

#include "../vtab/register.h"
#include "analysis_sql.h"
#include "waterfall.h"

#define FNAME "trace_waterfall"

static void waterfall_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const char *table = (const char *)sqlite3_value_text(argv[0]);
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT || !table) {
    sqlite3_result_error(ctx, FNAME ": table must be a table or view name", -1);
    return;
  }
  sqlite3_int64 width = TL_WATERFALL_WIDTH;
  if (argc > 2 && sqlite3_value_type(argv[2]) != SQLITE_NULL) {
    width = sqlite3_value_int64(argv[2]);
    if (sqlite3_value_numeric_type(argv[2]) != SQLITE_INTEGER || width < TL_WATERFALL_MIN_WIDTH ||
        width > TL_WATERFALL_MAX_WIDTH) {
      char *m = sqlite3_mprintf(FNAME ": width must be an integer from %d to %d",
                                TL_WATERFALL_MIN_WIDTH, TL_WATERFALL_MAX_WIDTH);
      sqlite3_result_error(ctx, m ? m : FNAME ": bad width", -1);
      sqlite3_free(m);
      return;
    }
  }
  tl_src src;
  tl_trace_buf buf;
  tl_tree tree;
  tl_buf out;
  memset(&src, 0, sizeof src);
  tl_tree_init(&tree);
  tl_buf_init(&out);
  char *err = NULL;
  int rc = tl_trace_buf_init(&buf) ? SQLITE_NOMEM : SQLITE_OK;
  if (rc == SQLITE_OK)
    rc = tl_src_prepare(&src, sqlite3_context_db_handle(ctx), FNAME, table, TL_SRC_TRACE, &err);
  if (rc == SQLITE_OK) rc = tl_src_read_trace(&src, FNAME, argv[1], &buf, &tree, &err);
  if (rc == SQLITE_OK && tree.n_order == 0) {
    sqlite3_result_null(ctx); /* no such trace */
  } else if (rc == SQLITE_OK) {
    const char *tid = (const char *)sqlite3_value_text(argv[1]);
    if (tl_waterfall(&out, &tree, buf.spans, tid ? tid : "", (uint32_t)width))
      sqlite3_result_error_nomem(ctx);
    else
      sqlite3_result_text(ctx, out.p, (int)out.n, SQLITE_TRANSIENT);
  } else if (rc == SQLITE_NOMEM) {
    sqlite3_result_error_nomem(ctx);
  } else {
    sqlite3_result_error(ctx, err ? err : FNAME ": failed", -1);
    sqlite3_result_error_code(ctx, rc);
  }
  sqlite3_free(err);
  tl_buf_free(&out);
  tl_tree_free(&tree);
  if (buf.strings) tl_trace_buf_free(&buf);
  tl_src_close(&src);
}

int tl_register_waterfall(sqlite3 *db) {
  int rc = SQLITE_OK;
  for (int n = 2; rc == SQLITE_OK && n <= 3; n++)
    rc = sqlite3_create_function(db, FNAME, n, SQLITE_UTF8, NULL, waterfall_func, NULL, NULL);
  return rc;
}
