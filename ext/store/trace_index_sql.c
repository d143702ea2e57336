/*
** trace_index_sql.c — the trace index %_traces(k, block): which blocks may
** hold the spans of a trace.  k is tl_trace_key() of the trace id, a 48-bit
** hash that SQLite stores in 6 bytes; the primary key (k, block) of a
** WITHOUT ROWID table is the whole index, so one entry costs about
** 6 + 1..3 bytes of record plus SQLite's cell overhead, once per trace per
** block.  Two traces can share a key: readers compare the decoded ids, so a
** collision costs a block read, never a wrong row.
**
** Entries are added with each block and removed with it.  A block being
** rewritten knows its traces (it was decoded); a block dropped whole by a
** DELETE was not decoded, so its entries are found by one pass over the
** index for all the blocks a transaction drops (tl_index_drop_blocks).
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include "store.h"

/* Runs stmt once per key with (key, block) bound. */
static int each_key(tl_store *st, int which, sqlite3_int64 block, const tl_i64vec *keys) {
  sqlite3_stmt *s = tl_store_stmt(st, which);
  if (!s) return SQLITE_ERROR;
  sqlite3_bind_int64(s, 2, block);
  for (size_t i = 0; i < keys->n; i++) {
    sqlite3_bind_int64(s, 1, keys->v[i]);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
      rc = tl_store_sqlerr(st, rc);
      sqlite3_reset(s);
      return rc;
    }
    sqlite3_reset(s);
  }
  return SQLITE_OK;
}

int tl_index_add(tl_store *st, sqlite3_int64 block, const tl_i64vec *keys) {
  return each_key(st, TL_SQL_TRACE_INSERT, block, keys);
}

int tl_index_remove(tl_store *st, sqlite3_int64 block, const tl_i64vec *keys) {
  return each_key(st, TL_SQL_TRACE_DELETE, block, keys);
}

int tl_index_drop_blocks(tl_store *st, const tl_i64vec *blocks) {
  if (!blocks->n) return SQLITE_OK;
  /* The ids as a JSON array for json_each(): any number in one statement. */
  tl_buf list;
  tl_buf_init(&list);
  tl_buf_putc(&list, '[');
  for (size_t i = 0; i < blocks->n; i++) {
    if (i) tl_buf_putc(&list, ',');
    tl_buf_i64(&list, blocks->v[i]);
  }
  tl_buf_putc(&list, ']');
  int rc = list.oom ? SQLITE_NOMEM : SQLITE_OK;
  sqlite3_stmt *s = rc ? NULL : tl_store_stmt(st, TL_SQL_TRACE_DROP_BLOCKS);
  if (!rc && !s) rc = SQLITE_ERROR;
  if (!rc) {
    sqlite3_bind_text(s, 1, list.p, (int)list.n, SQLITE_STATIC);
    rc = sqlite3_step(s);
    rc = rc == SQLITE_DONE ? SQLITE_OK : tl_store_sqlerr(st, rc);
    sqlite3_reset(s);
  }
  tl_buf_free(&list);
  return rc;
}

int tl_index_lookup(tl_store *st, int64_t key, tl_i64vec *blocks) {
  sqlite3_stmt *s = tl_store_stmt(st, TL_SQL_TRACE_LOOKUP);
  if (!s) return SQLITE_ERROR;
  sqlite3_bind_int64(s, 1, key);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (tl_i64vec_push(blocks, sqlite3_column_int64(s, 0))) {
      sqlite3_reset(s);
      return SQLITE_NOMEM;
    }
  }
  rc = rc == SQLITE_DONE ? SQLITE_OK : tl_store_sqlerr(st, rc);
  sqlite3_reset(s);
  return rc;
}
