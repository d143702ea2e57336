/*
** block_read_sql.c — the read side of one block: its metadata row, checked
** before anything trusts it, and its blob, read through one sqlite3_blob
** handle per reader and decoded by the table's codec.
**
** Everything read here may have been written by someone else (a corrupted
** file, a crafted database): the metadata must be self-consistent, the blob
** is copied into a buffer with zeroed slack after it (so a codec bug cannot
** turn into an over-read of SQLite's page cache), it must match the CRC-32
** kept in its row (so a flipped bit inside a string is caught, not returned
** as data) and its envelope the metadata's span count before the codec
** runs, and every failure is SQLITE_CORRUPT_VTAB naming the table and block.
**
** A scan of durations alone reads a part of the blob, as much as the codec
** asks for (its head holds them; a page of overflow chain is a pread, so
** not reading the rest is what makes that scan cheap): there the codec
** checks what it reads by a CRC of its own, and the row's CRC is checked
** only if the codec needed the whole blob.
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <string.h>
#include <libdeflate.h>

#include "store.h"

/* Zeroed bytes after the copy of a blob. */
#define SLACK 16

static int int_col(sqlite3_stmt *s, int col, sqlite3_int64 *out) {
  *out = sqlite3_column_int64(s, col);
  return sqlite3_column_type(s, col) == SQLITE_INTEGER;
}

int tl_blockrow_read(tl_store *st, sqlite3_stmt *s, tl_blockrow *row) {
  sqlite3_int64 v[8], crc;
  int ok = int_col(s, 10, &crc);
  for (int i = 0; i < 8; i++) ok &= int_col(s, i, &v[i]);
  row->id = v[0];
  if (!ok) return tl_store_corrupt(st, row->id, "metadata columns are not all integers");
  if (crc < 0 || crc > 0xFFFFFFFFll)
    return tl_store_corrupt(st, row->id, "impossible checksum %lld", (long long)crc);
  row->crc = (uint32_t)crc;
  if (v[1] < 1 || v[1] > TL_BLOCK_MAX_SPANS || v[2] < 1 || v[2] > v[1] || v[3] > v[4] ||
      v[5] > v[6] || v[7] < 1 || v[7] > 7)
    return tl_store_corrupt(st, row->id,
                            "impossible metadata (n=%lld ntraces=%lld start %lld..%lld "
                            "end %lld..%lld status=%lld)",
                            (long long)v[1], (long long)v[2], (long long)v[3], (long long)v[4],
                            (long long)v[5], (long long)v[6], (long long)v[7]);
  row->m.n = (uint32_t)v[1];
  row->m.ntraces = (uint32_t)v[2];
  row->m.min_start = v[3];
  row->m.max_start = v[4];
  row->m.min_end = v[5];
  row->m.max_end = v[6];
  row->m.status = (uint32_t)v[7];
  int t = sqlite3_column_type(s, 8);
  if (t != SQLITE_BLOB)
    return tl_store_corrupt(st, row->id, "the services column is not a blob");
  row->services = sqlite3_column_blob(s, 8);
  row->services_len = sqlite3_column_bytes(s, 8);
  row->ndjson = sqlite3_column_type(s, 9) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 9);
  return SQLITE_OK;
}

void tl_blockrd_init(tl_blockrd *r, tl_store *st) {
  memset(r, 0, sizeof *r);
  r->st = st;
  tl_buf_init(&r->data);
}

void tl_blockrd_close(tl_blockrd *r) {
  if (r->blob) sqlite3_blob_close(r->blob);
  r->blob = NULL;
}

void tl_blockrd_free(tl_blockrd *r) {
  tl_blockrd_close(r);
  tl_buf_free(&r->data);
}

/* Points the handle at block id: sqlite3_blob_reopen when a handle is open
** (the cheap path), a fresh sqlite3_blob_open when there is none or it was
** expired by a write to the table (SQLITE_ABORT). */
static int open_blob(tl_blockrd *r, sqlite3_int64 id) {
  tl_store *st = r->st;
  if (r->blob) {
    if (sqlite3_blob_reopen(r->blob, id) == SQLITE_OK) return SQLITE_OK;
    tl_blockrd_close(r);
  }
  char *table = sqlite3_mprintf("%s_blocks", st->name);
  if (!table) return SQLITE_NOMEM;
  int rc = sqlite3_blob_open(st->db, st->schema, table, "data", id, 0, &r->blob);
  sqlite3_free(table);
  if (rc == SQLITE_OK) return rc;
  tl_blockrd_close(r);
  if (rc == SQLITE_ERROR)
    return tl_store_corrupt(st, id, "the blob cannot be read: %s", sqlite3_errmsg(st->db));
  return tl_store_sqlerr(st, rc);
}

/* Reads n bytes at offset into p, reopening once if a write expired the
** handle between open and read. */
static int read_blob(tl_blockrd *r, sqlite3_int64 id, void *p, int n, int offset) {
  int rc = sqlite3_blob_read(r->blob, p, n, offset);
  if (rc == SQLITE_ABORT) {
    tl_blockrd_close(r);
    rc = open_blob(r, id);
    if (rc) return rc;
    rc = sqlite3_blob_read(r->blob, p, n, offset);
  }
  return rc == SQLITE_OK ? rc : tl_store_sqlerr(r->st, rc);
}

/* Opens the handle on block row->id and empties r->data; *size: the
** blob's bytes. */
static int start_blob(tl_blockrd *r, const tl_blockrow *row, size_t *size) {
  int rc = tl_store_load(r->st);
  if (!rc) rc = open_blob(r, row->id);
  if (rc) return rc;
  *size = (size_t)sqlite3_blob_bytes(r->blob);
  tl_buf_reset(&r->data);
  return SQLITE_OK;
}

/* Grows r->data (the blob's first r->data.n bytes) to its first `to`,
** zeroed slack after them. */
static int read_upto(tl_blockrd *r, sqlite3_int64 id, size_t to) {
  size_t have = r->data.n;
  if (tl_buf_reserve(&r->data, to - have + SLACK)) return SQLITE_NOMEM;
  int rc = read_blob(r, id, r->data.p + have, (int)(to - have), (int)have);
  if (rc) return rc;
  memset(r->data.p + to, 0, SLACK);
  r->data.n = to;
  return SQLITE_OK;
}

/* The envelope's span count in r->data must be the metadata's before a
** codec runs; *e is cleared for the codec. */
static int check_count(tl_blockrd *r, const tl_blockrow *row, tl_err *e) {
  tl_err_clear(e);
  size_t count;
  if (tl_block_span_count((const uint8_t *)r->data.p, r->data.n, &count, e))
    return tl_store_corrupt(r->st, row->id, "%s", e->msg);
  if (count != row->m.n)
    return tl_store_corrupt(r->st, row->id, "the metadata says %u spans, the blob holds %lld",
                            row->m.n, (long long)count);
  return SQLITE_OK;
}

/* r->data, the whole blob, against the CRC of its row. */
static int check_crc(tl_blockrd *r, const tl_blockrow *row) {
  uint32_t crc = libdeflate_crc32(0, r->data.p, r->data.n);
  if (crc != row->crc)
    return tl_store_corrupt(r->st, row->id, "the blob's CRC-32 is %08x, the metadata says %08x",
                            crc, row->crc);
  return SQLITE_OK;
}

/* Reads block row->id into r->data and checks it (CRC, envelope span
** count) before a codec sees it; *e is cleared for the codec. */
static int load_blob(tl_blockrd *r, const tl_blockrow *row, tl_err *e) {
  size_t size;
  int rc = start_blob(r, row, &size);
  if (!rc) rc = read_upto(r, row->id, size);
  if (!rc) rc = check_crc(r, row);
  return rc ? rc : check_count(r, row, e);
}

/* After a codec ran: its error as the block's, or the decode counted. */
static int decoded(tl_blockrd *r, const tl_blockrow *row, int failed, const tl_err *e) {
  tl_store *st = r->st;
  if (failed) {
    if (e->rc == TL_ENOMEM) return SQLITE_NOMEM;
    return tl_store_corrupt(st, row->id, "%s", e->msg);
  }
  if (st->conn) st->conn->blocks_decoded++;
  return SQLITE_OK;
}

int tl_blockrd_decode(tl_blockrd *r, const tl_blockrow *row, uint32_t fields, tl_batch *b) {
  return tl_blockrd_decode_traces(r, row, fields, NULL, 0, b);
}

int tl_blockrd_decode_traces(tl_blockrd *r, const tl_blockrow *row, uint32_t fields,
                             const uint8_t (*traces)[16], size_t ntraces, tl_batch *b) {
  tl_err e;
  int rc = load_blob(r, row, &e);
  if (rc) return rc;
  tl_store *st = r->st;
  return decoded(r, row,
                 tl_block_decode_traces(st->opts.codec, st->codec_state, (const uint8_t *)r->data.p,
                                        r->data.n, fields, traces, ntraces, b, &e),
                 &e);
}

int tl_blockrd_decode_cols(tl_blockrd *r, const tl_blockrow *row, uint32_t fields, tl_cols *out,
                           tl_batch *b) {
  tl_err e;
  int rc = load_blob(r, row, &e);
  if (rc) return rc;
  tl_store *st = r->st;
  return decoded(r, row,
                 tl_block_decode_cols(st->opts.codec, st->codec_state, (const uint8_t *)r->data.p,
                                      r->data.n, fields, out, b, &e),
                 &e);
}

/* What a durations decode reads first: a page holds the envelope, the
** directory and often the durations of a columnar block. */
#define FIRST_READ 4096

int tl_blockrd_decode_durations(tl_blockrd *r, const tl_blockrow *row, tl_cols *out) {
  size_t size, n, need;
  int rc = start_blob(r, row, &size);
  if (!rc) rc = read_upto(r, row->id, size < FIRST_READ ? size : FIRST_READ);
  tl_err e;
  if (!rc) rc = check_count(r, row, &e);
  if (!rc && tl_cols_reserve(out, row->m.n)) rc = SQLITE_NOMEM;
  if (rc) return rc;
  tl_store *st = r->st;
  out->n = 0;
  for (;;) {
    /* The codec checks what it reads of a part; the whole blob is
    ** checked here, as for every other decode. */
    if (r->data.n == size && (rc = check_crc(r, row))) return rc;
    tl_err_clear(&e);
    int failed = tl_block_decode_durations(st->opts.codec, st->codec_state,
                                           (const uint8_t *)r->data.p, r->data.n, size,
                                           out->duration, &n, &need, &e);
    if (failed || !need) {
      out->n = failed ? 0 : n;
      return decoded(r, row, failed, &e);
    }
    if ((rc = read_upto(r, row->id, need))) return rc;
  }
}
