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
#include <libdeflate.h>

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

static int maybe_train(tl_store *st, sqlite3_int64 id, tl_span *const *spans, size_t n);

int tl_store_flush(tl_store *st) {
  size_t n = tl_batch_count(st->buf);
  if (!n) return SQLITE_OK;
  int rc = tl_store_load(st);
  if (!rc) rc = tl_store_reserve_ptrs(st, n);
  if (rc) return rc;
  for (size_t i = 0; i < n; i++) st->ptrs[i] = tl_batch_span(st->buf, i);
  rc = maybe_train(st, st->next_id, st->ptrs, n);
  if (!rc) rc = tl_store_write_block(st, st->next_id, st->ptrs, n, 0);
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

/* A candidate dictionary of at most `size` bytes trained on train[0..nt),
** and what it saves on test[0..ntest) against `without` (the bytes of
** test with the current dictionary): a codec state of its own trains it
** and encodes with it alone. */
static int candidate(tl_store *st, int size, sqlite3_int64 id, tl_span *const *train, size_t nt,
                     tl_span *const *test, size_t ntest, size_t without, tl_buf *dict,
                     double *saved) {
  const tl_codec_vt *vt = st->opts.codec;
  tl_codec_opts co = tl_store_codec_opts(&st->opts);
  co.dict_size = size;
  void *trial = NULL;
  tl_err e;
  tl_err_clear(&e);
  size_t with = without;
  int rc = vt->create(&co, &trial, &e) ? tl_store_tlerr(st, &e) : SQLITE_OK;
  tl_buf_reset(dict);
  if (!rc && vt->train(trial, train, nt, dict, &e)) rc = tl_store_tlerr(st, &e);
  if (!rc && dict->oom) rc = SQLITE_NOMEM;
  if (!rc && dict->n && vt->add_dict(trial, (uint32_t)id, (const uint8_t *)dict->p, dict->n, &e))
    rc = tl_store_tlerr(st, &e);
  if (!rc && dict->n) rc = encoded_size(st, trial, test, ntest, &with);
  if (trial) vt->destroy(trial);
  *saved = (double)without - (double)with;
  return rc;
}

static int store_dict(tl_store *st, sqlite3_int64 id, size_t spans, const tl_buf *dict) {
  const tl_codec_vt *vt = st->opts.codec;
  sqlite3_stmt *s = tl_store_stmt(st, TL_SQL_DICT_INSERT);
  if (!s) return SQLITE_ERROR;
  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, (sqlite3_int64)spans);
  sqlite3_bind_blob(s, 3, dict->p, (int)dict->n, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  rc = rc == SQLITE_DONE ? SQLITE_OK : tl_store_sqlerr(st, rc);
  sqlite3_reset(s);
  tl_err e;
  tl_err_clear(&e);
  if (!rc && vt->add_dict(st->codec_state, (uint32_t)id, (const uint8_t *)dict->p, dict->n, &e))
    rc = tl_store_tlerr(st, &e);
  if (rc) return rc;
  st->dict_id = id;
  st->dict_spans = (sqlite3_int64)spans;
  return SQLITE_OK;
}

/* The smallest candidate size tried: below it a dictionary's header and
** tables are most of it. */
#define DICT_MIN_TRY 4096

int tl_store_train(tl_store *st, tl_span *const *train, size_t nt, tl_span *const *test,
                   size_t ntest, sqlite3_int64 serves) {
  size_t without;
  int rc = encoded_size(st, st->codec_state, test, ntest, &without);
  tl_buf dict, best;
  tl_buf_init(&dict);
  tl_buf_init(&best);
  sqlite3_int64 id = st->dict_id + 1;
  /* The full size; when that does not pay for itself (net of its own
  ** bytes), a quarter of it, which holds the most useful part of what the
  ** full one would. */
  for (int size = st->opts.dict_size, tries = 0;
       !rc && !best.n && tries < 2 && (!tries || size >= DICT_MIN_TRY); size /= 4, tries++) {
    double saved;
    rc = candidate(st, size, id, train, nt, test, ntest, without, &dict, &saved);
    double net = saved * ((double)serves / (double)ntest) - (double)dict.n;
    if (!rc && dict.n && net > 0) {
      tl_buf t = best;
      best = dict;
      dict = t;
    }
  }
  if (!rc && best.n) rc = store_dict(st, id, nt, &best);
  tl_buf_free(&dict);
  tl_buf_free(&best);
  return rc;
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

/* The spans of block id into b (all fields) and *spans (sqlite3_malloc'd);
** *n = 0 when there is no such block. */
static int read_block(tl_store *st, sqlite3_int64 id, tl_batch *b, tl_span ***spans, size_t *n) {
  *spans = NULL;
  *n = 0;
  sqlite3_stmt *s = tl_store_stmt(st, TL_SQL_BLOCK_META);
  if (!s) return SQLITE_ERROR;
  sqlite3_bind_int64(s, 1, id);
  int rc = sqlite3_step(s);
  tl_blockrow row;
  if (rc == SQLITE_ROW) {
    tl_blockrd rd;
    tl_blockrd_init(&rd, st);
    rc = tl_blockrow_read(st, s, &row);
    if (!rc) rc = tl_blockrd_decode(&rd, &row, TL_FIELDS_ALL, b);
    tl_blockrd_free(&rd);
  } else {
    rc = rc == SQLITE_DONE ? SQLITE_OK : tl_store_sqlerr(st, rc);
  }
  sqlite3_reset(s);
  size_t count = tl_batch_count(b);
  if (rc || !count) return rc;
  if (!(*spans = sqlite3_malloc64(count * sizeof **spans))) return SQLITE_NOMEM;
  for (size_t i = 0; i < count; i++) (*spans)[i] = tl_batch_span(b, i);
  *n = count;
  return SQLITE_OK;
}

/* When the ingest writes a block, a dictionary is tried (docs/storage.md,
** "Dictionaries"): trained on the block before it (read back from the
** table) and judged on this one, so that what it saves is measured on
** spans it was not trained on.  The first try is at the first block of
** at least TL_TRAIN_MIN_SPANS spans this connection writes after one as
** large; then each time the table has grown TRAIN_GROWTH times since the
** last try (a later dictionary is kept only if it beats the current one
** by more than its size).  A table that already has a dictionary counts as
** tried at the size it is loaded with.  A dictionary serves the blocks
** that follow: it is judged as if the table will grow to at least
** PAYBACK_BLOCKS blocks, the size at which the next try would come.  A
** table of one block gets none; 'optimize' tries again with the whole
** table in view. */
#define TRAIN_GROWTH 16
#define PAYBACK_BLOCKS 16
static int maybe_train(tl_store *st, sqlite3_int64 id, tl_span *const *spans, size_t n) {
  const tl_codec_vt *vt = st->opts.codec;
  sqlite3_int64 table_spans = st->stored_spans + (sqlite3_int64)n;
  if (!vt->train || !vt->add_dict || st->opts.dict_size <= 0 || n < TL_TRAIN_MIN_SPANS ||
      st->stored_spans < TL_TRAIN_MIN_SPANS)
    return SQLITE_OK;
  if (!st->dict_tried && st->dict_id) st->dict_tried = st->stored_spans;
  if (st->dict_tried && table_spans < TRAIN_GROWTH * st->dict_tried) return SQLITE_OK;
  tl_batch *prev = tl_batch_new();
  tl_span **train = NULL;
  size_t nt = 0;
  int rc = prev ? read_block(st, id - 1, prev, &train, &nt) : SQLITE_NOMEM;
  if (!rc && nt >= TL_TRAIN_MIN_SPANS) {
    st->dict_tried = table_spans;
    sqlite3_int64 serves = PAYBACK_BLOCKS * (sqlite3_int64)st->opts.block_spans;
    rc = tl_store_train(st, train, nt, spans, n, table_spans > serves ? table_spans : serves);
  }
  sqlite3_free(train);
  tl_batch_free(prev);
  return rc;
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
  size_t size = st->blob.n - svc_len;
  sqlite3_bind_int64(s, 11, (sqlite3_int64)libdeflate_crc32(0, data, size));
  sqlite3_bind_blob(s, 12, data, (int)size, SQLITE_STATIC);
  rc = sqlite3_step(s);
  rc = rc == SQLITE_DONE ? SQLITE_OK : tl_store_sqlerr(st, rc);
  sqlite3_reset(s);
  if (rc) return rc;
  st->stored_spans += (sqlite3_int64)n;
  return tl_index_add(st, id, &st->keys);
}
