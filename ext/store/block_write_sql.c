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
** the dictionary.  A batch shares each distinct resource between its spans,
** so a small cache keyed by the resource's address saves hashing the
** service name of every span. */
#define SVC_CACHE 64
static int block_services(tl_store *st, tl_span *const *spans, size_t n) {
  struct {
    const tl_resource *r;
    int64_t id; /* 0: the resource has no service */
  } cache[SVC_CACHE];
  memset(cache, 0, sizeof cache);
  st->ids.n = 0;
  for (size_t i = 0; i < n; i++) {
    const tl_resource *r = spans[i]->resource;
    size_t slot = ((uintptr_t)r >> 4) % SVC_CACHE;
    int64_t id = cache[slot].id;
    if (cache[slot].r != r) {
      id = r->service.len ? tl_strmap_get(&st->services, r->service.ptr, r->service.len) : 0;
      if (!id && r->service.len) {
        int rc = add_service(st, r->service, &id);
        if (rc) return rc;
      }
      cache[slot].r = r;
      cache[slot].id = id;
      if (id && tl_i64vec_push(&st->ids, id)) return SQLITE_NOMEM;
    }
  }
  tl_i64vec_sort_unique(&st->ids);
  return SQLITE_OK;
}

/* Bytes of spans encoded by state as the store would write them: one
** payload per block_spans spans (a dictionary helps small blocks most). */
static int encoded_size(tl_store *st, void *state, tl_span *const *spans, size_t n,
                        size_t *size) {
  tl_err e;
  tl_err_clear(&e);
  *size = 0;
  for (size_t at = 0; at < n; at += st->opts.block_spans) {
    size_t k = n - at < st->opts.block_spans ? n - at : st->opts.block_spans;
    tl_buf_reset(&st->blob);
    if (st->opts.codec->encode(state, spans + at, k, &st->blob, &e)) return tl_store_tlerr(st, &e);
    if (st->blob.oom) return SQLITE_NOMEM;
    *size += st->blob.n;
  }
  return SQLITE_OK;
}

/* The sample encoded with the current state and with only the candidate
** dictionary: what the dictionary saves on the sample. */
static int dict_saving(tl_store *st, const tl_buf *dict, sqlite3_int64 id,
                       tl_span *const *spans, size_t n, double *saved) {
  const tl_codec_vt *vt = st->opts.codec;
  size_t without, with = 0;
  int rc = encoded_size(st, st->codec_state, spans, n, &without);
  if (rc) return rc;
  tl_codec_opts co = tl_store_codec_opts(&st->opts);
  void *trial = NULL;
  tl_err e;
  tl_err_clear(&e);
  if (vt->create(&co, &trial, &e)) return tl_store_tlerr(st, &e);
  if (vt->add_dict(trial, (uint32_t)id, (const uint8_t *)dict->p, dict->n, &e))
    rc = tl_store_tlerr(st, &e);
  if (!rc) rc = encoded_size(st, trial, spans, n, &with);
  vt->destroy(trial);
  *saved = (double)without - (double)with;
  return rc;
}

int tl_store_train(tl_store *st, tl_span *const *spans, size_t n, sqlite3_int64 table_spans) {
  const tl_codec_vt *vt = st->opts.codec;
  st->dict_tried = 1;
  tl_buf dict;
  tl_buf_init(&dict);
  tl_err e;
  tl_err_clear(&e);
  sqlite3_int64 id = st->dict_id + 1;
  int rc = vt->train(st->codec_state, spans, n, &dict, &e) ? tl_store_tlerr(st, &e) : SQLITE_OK;
  if (!rc && dict.oom) rc = SQLITE_NOMEM;
  /* Keep it only if, over the spans it would serve, it saves more than it
  ** costs: large blocks leave a dictionary little to do, and a small table
  ** cannot pay for one. */
  double saved = 0;
  if (!rc && dict.n) rc = dict_saving(st, &dict, id, spans, n, &saved);
  if (rc || !dict.n || saved * ((double)table_spans / (double)n) <= (double)dict.n) {
    tl_buf_free(&dict);
    return rc;
  }
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

int tl_store_span_count(tl_store *st, sqlite3_int64 *n) {
  sqlite3_stmt *s = tl_store_stmt(st, TL_SQL_BLOCK_SPANS);
  if (!s) return SQLITE_ERROR;
  int rc = sqlite3_step(s);
  *n = rc == SQLITE_ROW ? (sqlite3_int64)sqlite3_column_double(s, 0) : 0;
  rc = rc == SQLITE_ROW ? SQLITE_OK : tl_store_sqlerr(st, rc);
  sqlite3_reset(s);
  return rc;
}

/* Training is tried once per connection, at the first flush of a block of
** at least TL_TRAIN_MIN_SPANS spans once the table holds PAYBACK_SPANS spans
** per dictionary byte: a dictionary saves about a byte per span on
** 4096-span blocks, so a smaller table cannot pay for one, and the verdict
** of tl_store_train would be no anyway.  'optimize' tries again with the
** whole table in view. */
#define PAYBACK_SPANS 8
static int maybe_train(tl_store *st, tl_span *const *spans, size_t n) {
  const tl_codec_vt *vt = st->opts.codec;
  sqlite3_int64 table_spans = st->stored_spans + (sqlite3_int64)n;
  if (!vt->train || !vt->add_dict || st->opts.dict_size <= 0 || st->dict_id || st->dict_tried ||
      n < TL_TRAIN_MIN_SPANS || table_spans < PAYBACK_SPANS * (sqlite3_int64)st->opts.dict_size)
    return SQLITE_OK;
  return tl_store_train(st, spans, n, table_spans);
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
  st->stored_spans += (sqlite3_int64)n;
  return tl_index_add(st, id, &st->keys);
}
