/*
** block_write_sql.c — the write side of the block store: the per-table
** buffer of inserted spans, flushing it as a block, and writing one block
** (metadata, services, dictionary training, trace index, blob).
**
** When data reaches the database (the transaction rules of docs/storage.md):
**   - a full buffer (block_spans spans) is flushed at once, so a large
**     INSERT ... SELECT runs in bounded memory;
**   - xSavepoint flushes, so the buffer only ever holds spans newer than the
**     newest savepoint, and ROLLBACK TO can simply drop it (the FTS5 rule);
**   - xSync flushes, so a COMMIT that returned has stored every span;
**   - xFilter flushes before a scan, so a transaction reads its own writes.
** Nothing is written outside a write transaction: the buffer is empty
** unless xBegin was called.
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

#include <zlib.h>

#include "../io/otlp_write.h"
#include "store.h"

/* A block must hold at least this many spans before the first flush trains
** a dictionary on it; smaller tables get theirs from 'optimize'. */
#define TRAIN_MIN_SPANS 1024
/* NDJSON is written into a scratch buffer only to be counted: it is
** emptied whenever it holds more than this. */
#define NDJSON_CHUNK (256u * 1024u)

int tl_store_reserve_ptrs(tl_store *st, size_t n) {
  if (n <= st->ptrs_cap) return SQLITE_OK;
  size_t cap = st->ptrs_cap ? st->ptrs_cap : 256;
  while (cap < n) cap *= 2;
  tl_span **p = sqlite3_realloc64(st->ptrs, cap * sizeof *p);
  if (!p) return SQLITE_NOMEM;
  st->ptrs = p;
  st->ptrs_cap = cap;
  return SQLITE_OK;
}

int tl_store_added(tl_store *st, sqlite3_int64 *rowid) {
  size_t n = tl_batch_count(st->buf);
  *rowid = TL_ROWID(st->next_id, n - 1);
  return n >= st->opts.block_spans ? tl_store_flush(st) : SQLITE_OK;
}

static void reset_buffer(tl_store *st) {
  tl_batch_reset(st->buf);
  tl_row_cache_reset(st->rowcache);
}

int tl_store_flush(tl_store *st) {
  size_t n = tl_batch_count(st->buf);
  if (!n) return SQLITE_OK;
  int rc = tl_store_load(st);
  if (!rc) rc = tl_store_reserve_ptrs(st, n);
  if (rc) return rc;
  for (size_t i = 0; i < n; i++) st->ptrs[i] = tl_batch_span(st->buf, i);
  rc = tl_store_write_block(st, st->next_id, st->ptrs, n, 0);
  if (rc) return rc;
  st->next_id++;
  reset_buffer(st);
  return SQLITE_OK;
}

int tl_store_sync(tl_store *st) {
  int rc = tl_store_flush(st);
  return rc ? rc : tl_store_apply_deletes(st);
}

void tl_store_discard(tl_store *st) {
  reset_buffer(st);
  tl_delmap_clear(&st->dels);
  tl_store_invalidate(st);
}

/* ---- one block ------------------------------------------------------------ */

static int add_service(tl_store *st, tl_str name, int64_t *id) {
  sqlite3_stmt *s = tl_store_stmt(st, TL_SQL_SERVICE_INSERT);
  if (!s) return SQLITE_ERROR;
  sqlite3_bind_int64(s, 1, st->next_service);
  sqlite3_bind_text(s, 2, name.ptr, (int)name.len, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  rc = rc == SQLITE_DONE ? SQLITE_OK : tl_store_sqlerr(st, rc);
  sqlite3_reset(s);
  if (rc) return rc;
  if (tl_strmap_put(&st->services, name.ptr, name.len, st->next_service)) return SQLITE_NOMEM;
  *id = st->next_service++;
  return SQLITE_OK;
}

/* The sorted ids of the services of spans into st->ids, adding new ones to
** the dictionary.  Spans of one resource come in runs: one lookup a run. */
static int block_services(tl_store *st, tl_span *const *spans, size_t n) {
  st->ids.n = 0;
  const tl_resource *last = NULL;
  for (size_t i = 0; i < n; i++) {
    const tl_resource *r = spans[i]->resource;
    if (r == last) continue;
    last = r;
    if (!r->service.len) continue;
    int64_t id = tl_strmap_get(&st->services, r->service.ptr, r->service.len);
    if (!id) {
      int rc = add_service(st, r->service, &id);
      if (rc) return rc;
    }
    if (tl_i64vec_push(&st->ids, id)) return SQLITE_NOMEM;
  }
  tl_i64vec_sort_unique(&st->ids);
  return SQLITE_OK;
}

int tl_store_train(tl_store *st, tl_span *const *spans, size_t n) {
  const tl_codec_vt *vt = st->opts.codec;
  st->dict_tried = 1;
  tl_buf dict;
  tl_buf_init(&dict);
  tl_err e;
  tl_err_clear(&e);
  int rc = vt->train(st->codec_state, spans, n, &dict, &e) ? tl_store_tlerr(st, &e) : SQLITE_OK;
  if (!rc && dict.oom) rc = SQLITE_NOMEM;
  if (rc || dict.n == 0) {
    tl_buf_free(&dict);
    return rc;
  }
  sqlite3_int64 id = st->dict_id + 1;
  sqlite3_stmt *s = tl_store_stmt(st, TL_SQL_DICT_INSERT);
  if (!s) {
    tl_buf_free(&dict);
    return SQLITE_ERROR;
  }
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, (sqlite3_int64)n);
  sqlite3_bind_blob(s, 3, dict.p, (int)dict.n, SQLITE_STATIC);
  rc = sqlite3_step(s);
  rc = rc == SQLITE_DONE ? SQLITE_OK : tl_store_sqlerr(st, rc);
  sqlite3_reset(s);
  if (!rc && vt->add_dict(st->codec_state, (uint32_t)id, (const uint8_t *)dict.p, dict.n, &e))
    rc = tl_store_tlerr(st, &e);
  tl_buf_free(&dict);
  if (rc) return rc;
  st->dict_id = id;
  st->dict_spans = (sqlite3_int64)n;
  return SQLITE_OK;
}

static int maybe_train(tl_store *st, tl_span *const *spans, size_t n) {
  const tl_codec_vt *vt = st->opts.codec;
  if (!vt->train || !vt->add_dict || st->opts.dict_size <= 0 || st->dict_id || st->dict_tried ||
      n < TRAIN_MIN_SPANS)
    return SQLITE_OK;
  return tl_store_train(st, spans, n);
}

sqlite3_int64 tl_store_ndjson_bytes(tl_store *st, tl_span *const *spans, size_t n) {
  sqlite3_int64 total = 0;
  tl_buf_reset(&st->text);
  for (size_t i = 0; i < n; i++) {
    tl_otlp_write_span(&st->text, spans[i]);
    if (st->text.n > NDJSON_CHUNK || i + 1 == n) {
      total += (sqlite3_int64)st->text.n;
      tl_buf_reset(&st->text);
    }
  }
  return st->text.oom ? -1 : total;
}

int tl_store_write_block(tl_store *st, sqlite3_int64 id, tl_span *const *spans, size_t n,
                         int ndjson) {
  int rc = tl_store_load(st);
  if (rc) return rc;
  if (tl_block_meta_compute(spans, n, &st->meta, &st->keys, &st->seen)) return SQLITE_NOMEM;
  if ((rc = block_services(st, spans, n))) return rc;
  if ((rc = maybe_train(st, spans, n))) return rc;

  /* One buffer: the packed service ids, then the block blob. */
  tl_buf_reset(&st->blob);
  tl_idlist_encode(&st->blob, st->ids.v, st->ids.n);
  size_t svc_len = st->blob.n;
  tl_err e;
  tl_err_clear(&e);
  if (tl_block_encode(st->opts.codec, st->codec_state, spans, n, &st->blob, &e))
    return tl_store_tlerr(st, &e);
  if (st->blob.oom) return SQLITE_NOMEM;
  if (st->blob.n - svc_len > 0x7FFFFFFF)
    return tl_store_error(st, SQLITE_TOOBIG, "block %lld: %lld bytes is too large for a blob",
                          (long long)id, (long long)(st->blob.n - svc_len));
  sqlite3_int64 ndjson_bytes = ndjson ? tl_store_ndjson_bytes(st, spans, n) : 0;
  if (ndjson_bytes < 0) return SQLITE_NOMEM;

  sqlite3_stmt *s = tl_store_stmt(st, TL_SQL_BLOCK_INSERT);
  if (!s) return SQLITE_ERROR;
  const tl_block_meta *m = &st->meta;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, m->n);
  sqlite3_bind_int64(s, 3, m->ntraces);
  sqlite3_bind_int64(s, 4, m->min_start);
  sqlite3_bind_int64(s, 5, m->max_start);
  sqlite3_bind_int64(s, 6, m->min_end);
  sqlite3_bind_int64(s, 7, m->max_end);
  sqlite3_bind_int64(s, 8, m->status);
  if (svc_len)
    sqlite3_bind_blob(s, 9, st->blob.p, (int)svc_len, SQLITE_STATIC);
  else
    sqlite3_bind_zeroblob(s, 9, 0);
  if (ndjson) sqlite3_bind_int64(s, 10, ndjson_bytes); /* else NULL: unknown */
  const uint8_t *data = (const uint8_t *)st->blob.p + svc_len;
  uInt size = (uInt)(st->blob.n - svc_len);
  sqlite3_bind_int64(s, 11, (sqlite3_int64)crc32(0L, data, size));
  sqlite3_bind_blob(s, 12, data, (int)size, SQLITE_STATIC);
  rc = sqlite3_step(s);
  rc = rc == SQLITE_DONE ? SQLITE_OK : tl_store_sqlerr(st, rc);
  sqlite3_reset(s);
  if (rc) return rc;
  return tl_index_add(st, id, &st->keys);
}
