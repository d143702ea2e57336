/*
** maintenance_sql.c — the operations that rewrite or check whole blocks:
** DELETE (marked per span, applied per block), 'optimize' and
** 'integrity-check'.
**
** DELETE: SQLite hands xUpdate one rowid at a time.  Rewriting a block per
** rowid would be quadratic, and rewriting it in the middle of a statement
** would shift the positions (rowids) of its other spans, so deletes are
** only marked (tl_delmap) and applied at the next savepoint or commit
** (tl_store_sync): a block with every span marked is dropped without being
** decoded, a block with some marked is decoded and rewritten under the same
** id without them.
**
** optimize: reads every block in order of its earliest start time,
** a window of at least WINDOW_MIN spans at a time, regroups the window's
** spans by trace (traces in order of first appearance, each trace's spans in
** their stored order) and writes them back as full blocks, cutting between
** traces where it can.  The partial block at the end of a window is carried
** into the next one, so memory is bounded by the window whatever the table
** size; a trace whose spans lie further apart than a window may stay split.
** It also (re)trains the dictionary when the current one was trained on
** less than half of what a window offers (kept only if it pays for itself
** over the whole table: tl_store_train), and drops older dictionaries once
** no block uses them.
**
** integrity-check: decodes every block and compares it with its metadata,
** the services dictionary and the trace index (both ways).
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <stdlib.h>
#include <string.h>

#include "store.h"

#define WINDOW_MIN 16384

/* One block's metadata by id; *found = 0 if there is no such block. */
static int block_meta(tl_store *st, sqlite3_int64 id, tl_blockrow *row, int *found) {
  sqlite3_stmt *s = tl_store_stmt(st, TL_SQL_BLOCK_META);
  if (!s) return SQLITE_ERROR;
  sqlite3_bind_int64(s, 1, id);
  int rc = sqlite3_step(s);
  *found = rc == SQLITE_ROW;
  if (rc == SQLITE_ROW)
    rc = tl_blockrow_read(st, s, row);
  else
    rc = rc == SQLITE_DONE ? SQLITE_OK : tl_store_sqlerr(st, rc);
  sqlite3_reset(s);
  return rc;
}

static int delete_block_row(tl_store *st, sqlite3_int64 id, uint32_t n) {
  sqlite3_stmt *s = tl_store_stmt(st, TL_SQL_BLOCK_DELETE);
  if (!s) return SQLITE_ERROR;
  sqlite3_bind_int64(s, 1, id);
  int rc = sqlite3_step(s);
  rc = rc == SQLITE_DONE ? SQLITE_OK : tl_store_sqlerr(st, rc);
  sqlite3_reset(s);
  if (!rc) st->stored_spans -= n;
  return rc;
}

/* Decodes a block, appending its spans to b, and removes it: its row and
** its trace index entries. */
static int take_block(tl_store *st, tl_blockrd *rd, const tl_blockrow *row, tl_batch *b) {
  sqlite3_int64 id = row->id;
  uint32_t n = row->m.n;
  size_t before = tl_batch_count(b);
  int rc = tl_blockrd_decode(rd, row, TL_FIELDS_ALL, b);
  if (!rc) rc = tl_store_reserve_ptrs(st, n);
  if (rc) return rc;
  for (uint32_t i = 0; i < n; i++) st->ptrs[i] = tl_batch_span(b, before + i);
  if (tl_block_meta_compute(st->ptrs, n, &st->meta, &st->keys, &st->seen)) return SQLITE_NOMEM;
  rc = tl_index_remove(st, id, &st->keys);
  return rc ? rc : delete_block_row(st, id, n);
}

/* ---- DELETE ------------------------------------------------------------------ */

int tl_store_mark_delete(tl_store *st, sqlite3_int64 rowid) {
  sqlite3_int64 id = rowid >> TL_POS_BITS;
  uint32_t pos = (uint32_t)(rowid & ((1 << TL_POS_BITS) - 1));
  int rc = tl_store_load(st);
  if (rc) return rc;
  /* Rowids come from a scan, which flushed the buffer: this only matters
  ** for a caller that made up a rowid of a buffered span. */
  if (id == st->next_id && tl_batch_count(st->buf) && (rc = tl_store_flush(st))) return rc;
  tl_delblock *d = tl_delmap_find(&st->dels, id);
  uint32_t n = d ? d->n : 0;
  if (!d) {
    tl_blockrow row;
    int found;
    if ((rc = block_meta(st, id, &row, &found))) return rc;
    if (!found) return SQLITE_OK;
    n = row.m.n;
  }
  return tl_delmap_mark(&st->dels, id, n, pos) ? SQLITE_NOMEM : SQLITE_OK;
}

/* Rewrites block d->id without its marked spans. */
static int rewrite_block(tl_store *st, const tl_delblock *d, tl_batch *b, tl_blockrd *rd) {
  tl_blockrow row;
  int found, rc = block_meta(st, d->id, &row, &found);
  if (!rc && (!found || row.m.n != d->n))
    rc = tl_store_corrupt(st, d->id, "the block changed while spans of it were being deleted");
  tl_batch_reset(b);
  if (!rc) rc = take_block(st, rd, &row, b);
  if (rc) return rc;
  size_t keep = 0;
  for (uint32_t i = 0; i < d->n; i++)
    if (!tl_delblock_has(d, i)) st->ptrs[keep++] = tl_batch_span(b, i);
  return tl_store_write_block(st, d->id, st->ptrs, keep, 0);
}

int tl_store_apply_deletes(tl_store *st) {
  if (!st->dels.n) return SQLITE_OK;
  int rc = tl_store_load(st);
  if (rc) return rc;
  tl_i64vec dropped = {0};
  tl_batch *b = NULL;
  tl_blockrd rd;
  tl_blockrd_init(&rd, st);
  for (size_t i = 0; !rc && i < st->dels.n; i++) {
    const tl_delblock *d = &st->dels.v[i];
    if (!d->ndel) continue;
    if (d->ndel == d->n) {
      rc = tl_i64vec_push(&dropped, d->id) ? SQLITE_NOMEM : delete_block_row(st, d->id, d->n);
      continue;
    }
    if (!b && !(b = tl_batch_new())) rc = SQLITE_NOMEM;
    if (!rc) rc = rewrite_block(st, d, b, &rd);
  }
  if (!rc) rc = tl_index_drop_blocks(st, &dropped);
  if (!rc) tl_delmap_clear(&st->dels);
  tl_blockrd_free(&rd);
  tl_batch_free(b);
  tl_i64vec_free(&dropped);
  return rc;
}

/* ---- optimize ------------------------------------------------------------------ */

typedef struct ranked {
  uint32_t rank, idx;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
  return (x->idx > y->idx) - (x->idx < y->idx);
}

typedef struct optimizer {
  tl_store *st;
  tl_batch *win, *carry;
  tl_copy_cache *cc;
  tl_blockrd rd;
  tl_span **sorted;
  ranked *order;
  size_t cap;
  sqlite3_int64 table_spans;
  int tried, trained; /* a dictionary was trained on the first window; kept */
} optimizer;

/* The window's spans grouped by trace into o->sorted. */
static int group_by_trace(optimizer *o, size_t n) {
  if (n > o->cap) {
    tl_span **s = sqlite3_realloc64(o->sorted, n * sizeof *s);
    if (s) o->sorted = s;
    ranked *r = sqlite3_realloc64(o->order, n * sizeof *r);
    if (r) o->order = r;
    if (!s || !r) return SQLITE_NOMEM;
    o->cap = n;
  }
  tl_u64map *ranks = &o->st->seen;
  tl_u64map_clear(ranks);
  for (size_t i = 0; i < n; i++) {
    const tl_span *s = tl_batch_span(o->win, i);
    uint64_t k = (uint64_t)tl_trace_key(s->trace_id), rank;
    if (!tl_u64map_get(ranks, k, &rank)) {
      rank = ranks->n;
      if (tl_u64map_put(ranks, k, rank)) return SQLITE_NOMEM;
    }
    o->order[i] = (ranked){(uint32_t)rank, (uint32_t)i};
  }
  qsort(o->order, n, sizeof *o->order, cmp_ranked);
  for (size_t i = 0; i < n; i++) o->sorted[i] = tl_batch_span(o->win, o->order[i].idx);
  return SQLITE_OK;
}

static int emit(optimizer *o, size_t from, size_t n) {
  tl_store *st = o->st;
  int rc = tl_store_write_block(st, st->next_id, o->sorted + from, n, 1);
  if (!rc) st->next_id++;
  return rc;
}

/* Writes the window as full blocks; the last partial block is written too
** when this is the last window, else carried into the next. */
static int flush_window(optimizer *o, int last) {
  tl_store *st = o->st;
  size_t n = tl_batch_count(o->win), B = st->opts.block_spans;
  int rc = group_by_trace(o, n);
  if (rc) return rc;
  const tl_codec_vt *vt = st->opts.codec;
  if (!o->tried && vt->train && vt->add_dict && st->opts.dict_size > 0 &&
      n >= TL_TRAIN_MIN_SPANS && (sqlite3_int64)n >= 2 * st->dict_spans) {
    sqlite3_int64 before = st->dict_id;
    o->tried = 1;
    /* Trained on the first half of the window, judged on the second. */
    if ((rc = tl_store_train(st, o->sorted, n / 2, o->sorted + n / 2, n - n / 2,
                             o->table_spans)))
      return rc;
    o->trained = st->dict_id != before;
  }
  size_t start = 0, cur = 0, i = 0;
  while (i < n) {
    size_t j = i + 1;
    while (j < n && o->order[j].rank == o->order[i].rank) j++;
    size_t sz = j - i;
    i = j;
    if (cur + sz <= B) {
      cur += sz;
      continue;
    }
    if (cur && cur >= B / 2) { /* close the block between traces */
      if ((rc = emit(o, start, cur))) return rc;
      start += cur;
      cur = 0;
    }
    while (cur + sz > B) { /* a trace larger than the room left */
      size_t take = B - cur;
      if ((rc = emit(o, start, B))) return rc;
      start += B;
      sz -= take;
      cur = 0;
    }
    cur += sz;
  }
  if (!cur) return SQLITE_OK;
  if (last) return emit(o, start, cur);
  tl_copy_cache_reset(o->cc);
  for (size_t k = start; k < start + cur; k++) {
    tl_span *copy;
    if (tl_span_copy(o->carry, o->sorted[k], o->cc, &copy)) return SQLITE_NOMEM;
  }
  return SQLITE_OK;
}

static int optimize_blocks(optimizer *o, const tl_i64vec *ids) {
  tl_store *st = o->st;
  size_t window = 2 * (size_t)st->opts.block_spans;
  if (window < WINDOW_MIN) window = WINDOW_MIN;
  size_t i = 0;
  while (i < ids->n) {
    while (i < ids->n && tl_batch_count(o->win) < window) {
      tl_blockrow row;
      int found, rc = block_meta(st, ids->v[i], &row, &found);
      if (!rc && found) rc = take_block(st, &o->rd, &row, o->win);
      if (rc) return rc;
      i++;
    }
    int rc = flush_window(o, i == ids->n);
    if (rc) return rc;
    tl_batch *t = o->win;
    o->win = o->carry;
    o->carry = t;
    tl_batch_reset(o->carry);
  }
  return SQLITE_OK;
}

int tl_store_optimize(tl_store *st) {
  int rc = tl_store_sync(st);
  if (!rc) rc = tl_store_load(st);
  if (rc) return rc;
  tl_i64vec ids = {0};
  sqlite3_stmt *s = tl_store_stmt(st, TL_SQL_BLOCK_ORDER);
  if (!s) return SQLITE_ERROR;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW)
    if (tl_i64vec_push(&ids, sqlite3_column_int64(s, 0))) break;
  rc = rc == SQLITE_DONE ? SQLITE_OK : rc == SQLITE_ROW ? SQLITE_NOMEM : tl_store_sqlerr(st, rc);
  sqlite3_reset(s);

  optimizer o;
  memset(&o, 0, sizeof o);
  o.st = st;
  o.table_spans = st->stored_spans;
  o.win = tl_batch_new();
  o.carry = tl_batch_new();
  o.cc = tl_copy_cache_new();
  tl_blockrd_init(&o.rd, st);
  if (!rc && (!o.win || !o.carry || !o.cc)) rc = SQLITE_NOMEM;
  if (!rc) rc = optimize_blocks(&o, &ids);
  if (!rc && o.trained && (s = tl_store_stmt(st, TL_SQL_DICT_DELETE_OLD))) {
    sqlite3_bind_int64(s, 1, st->dict_id);
    rc = sqlite3_step(s);
    rc = rc == SQLITE_DONE ? SQLITE_OK : tl_store_sqlerr(st, rc);
    sqlite3_reset(s);
  } else if (!rc && o.trained) {
    rc = SQLITE_ERROR;
  }
  tl_blockrd_free(&o.rd);
  tl_batch_free(o.win);
  tl_batch_free(o.carry);
  if (o.cc) tl_copy_cache_free(o.cc);
  sqlite3_free(o.sorted);
  sqlite3_free(o.order);
  tl_i64vec_free(&ids);
  return rc;
}

/* ---- NDJSON counts ----------------------------------------------------------- */

int tl_store_count_ndjson(tl_store *st, sqlite3_int64 *bytes) {
  int rc = tl_store_load(st);
  if (rc) return rc;
  char *sql = tl_store_sql(st, TL_SQL_BLOCK_NO_NDJSON);
  sqlite3_stmt *s = NULL;
  tl_batch *b = tl_batch_new();
  tl_blockrd rd;
  tl_blockrd_init(&rd, st);
  if (!sql || !b)
    rc = SQLITE_NOMEM;
  else if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL)))
    rc = tl_store_sqlerr(st, rc);
  while (!rc) {
    int step = sqlite3_step(s);
    if (step == SQLITE_DONE) break;
    if (step != SQLITE_ROW) {
      rc = tl_store_sqlerr(st, step);
      break;
    }
    tl_blockrow row;
    if ((rc = tl_blockrow_read(st, s, &row))) break;
    tl_batch_reset(b);
    rc = tl_blockrd_decode(&rd, &row, TL_FIELDS_ALL, b);
    if (!rc) rc = tl_store_reserve_ptrs(st, row.m.n);
    if (rc) break;
    for (uint32_t i = 0; i < row.m.n; i++) st->ptrs[i] = tl_batch_span(b, i);
    sqlite3_int64 nd = tl_store_ndjson_bytes(st, st->ptrs, row.m.n);
    if (nd < 0) rc = SQLITE_NOMEM;
    *bytes += nd;
  }
  sqlite3_finalize(s);
  sqlite3_free(sql);
  tl_blockrd_free(&rd);
  tl_batch_free(b);
  return rc;
}

/* ---- integrity-check ------------------------------------------------------------ */

typedef struct key_block {
  int64_t k, block;
} key_block;

static int cmp_key_block(const void *a, const void *b) {
  const key_block *x = a, *y = b;
  if (x->k != y->k) return x->k < y->k ? -1 : 1;
  return (x->block > y->block) - (x->block < y->block);
}

typedef struct checker {
  tl_store *st;
  tl_batch *b;
  tl_blockrd rd;
  key_block *entries;
  size_t n, cap;
  tl_i64vec svc;
} checker;

static int add_entries(checker *c, sqlite3_int64 block, const tl_i64vec *keys) {
  if (c->n + keys->n > c->cap) {
    size_t cap = c->cap ? c->cap : 1024;
    while (cap < c->n + keys->n) cap *= 2;
    key_block *e = sqlite3_realloc64(c->entries, cap * sizeof *e);
    if (!e) return SQLITE_NOMEM;
    c->entries = e;
    c->cap = cap;
  }
  for (size_t i = 0; i < keys->n; i++) c->entries[c->n++] = (key_block){keys->v[i], block};
  return SQLITE_OK;
}

#define META_MISMATCH(what, stored, actual)                                                   \
  if ((stored) != (actual))                                                                  \
    return tl_store_corrupt(st, row->id, "the metadata says %s %lld, the blob gives %lld",   \
                            what, (long long)(stored), (long long)(actual));

/* One block against its metadata row. */
static int check_block(checker *c, const tl_blockrow *row) {
  tl_store *st = c->st;
  tl_batch_reset(c->b);
  int rc = tl_blockrd_decode(&c->rd, row, TL_FIELDS_ALL, c->b);
  if (!rc) rc = tl_store_reserve_ptrs(st, row->m.n);
  if (rc) return rc;
  for (uint32_t i = 0; i < row->m.n; i++) st->ptrs[i] = tl_batch_span(c->b, i);
  tl_block_meta m;
  if (tl_block_meta_compute(st->ptrs, row->m.n, &m, &st->keys, &st->seen)) return SQLITE_NOMEM;
  META_MISMATCH("trace count", row->m.ntraces, m.ntraces);
  META_MISMATCH("min start_ns", row->m.min_start, m.min_start);
  META_MISMATCH("max start_ns", row->m.max_start, m.max_start);
  META_MISMATCH("min end_ns", row->m.min_end, m.min_end);
  META_MISMATCH("max end_ns", row->m.max_end, m.max_end);
  META_MISMATCH("status mask", row->m.status, m.status);
  if (row->ndjson >= 0) {
    sqlite3_int64 nd = tl_store_ndjson_bytes(st, st->ptrs, row->m.n);
    if (nd < 0) return SQLITE_NOMEM;
    META_MISMATCH("NDJSON bytes", row->ndjson, nd);
  }
  /* Services: every name is in the dictionary, and the stored id list is
  ** exactly the set of the block's services. */
  c->svc.n = 0;
  for (uint32_t i = 0; i < row->m.n; i++) {
    tl_str name = st->ptrs[i]->resource->service;
    if (!name.len) continue;
    int64_t id = tl_strmap_get(&st->services, name.ptr, name.len);
    if (!id)
      return tl_store_corrupt(st, row->id, "service '%.*s' is missing from %s_services",
                              (int)(name.len > 60 ? 60 : name.len), name.ptr, st->name);
    if (tl_i64vec_push(&c->svc, id)) return SQLITE_NOMEM;
  }
  tl_i64vec_sort_unique(&c->svc);
  if (tl_idlist_decode(row->services, (size_t)row->services_len, &st->ids) == TL_EFORMAT)
    return tl_store_corrupt(st, row->id, "the services list is malformed");
  if (st->ids.n != c->svc.n ||
      (c->svc.n && memcmp(st->ids.v, c->svc.v, c->svc.n * sizeof *c->svc.v) != 0))
    return tl_store_corrupt(st, row->id, "the services list does not match the spans");
  return add_entries(c, row->id, &st->keys);
}

/* The trace index against the entries the blocks imply (sorted). */
static int check_index(checker *c) {
  tl_store *st = c->st;
  qsort(c->entries, c->n, sizeof *c->entries, cmp_key_block);
  sqlite3_stmt *s = tl_store_stmt(st, TL_SQL_TRACE_SCAN);
  if (!s) return SQLITE_ERROR;
  size_t i = 0;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    key_block got = {sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1)};
    if (i < c->n && cmp_key_block(&c->entries[i], &got) == 0) {
      i++;
      continue;
    }
    sqlite3_reset(s);
    if (i < c->n && cmp_key_block(&c->entries[i], &got) < 0) break;
    return tl_store_corrupt(st, got.block, "the trace index lists trace key %lld, which the "
                            "block does not hold", (long long)got.k);
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return tl_store_sqlerr(st, rc);
  if (i < c->n)
    return tl_store_corrupt(st, c->entries[i].block, "trace key %lld is missing from the "
                            "trace index", (long long)c->entries[i].k);
  return SQLITE_OK;
}

int tl_store_integrity(tl_store *st, int flush) {
  int rc = flush ? tl_store_sync(st) : SQLITE_OK;
  /* Nothing is pending now: check against the services dictionary as it is
  ** stored, not as this connection remembers it. */
  if (!rc && !tl_batch_count(st->buf) && !st->dels.n) tl_store_invalidate(st);
  if (!rc) rc = tl_store_load(st);
  if (rc) return rc;
  checker c;
  memset(&c, 0, sizeof c);
  c.st = st;
  c.b = tl_batch_new();
  tl_blockrd_init(&c.rd, st);
  char *sql = tl_store_sql(st, TL_SQL_BLOCK_SCAN);
  sqlite3_stmt *s = NULL;
  if (!c.b || !sql)
    rc = SQLITE_NOMEM;
  else if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL)))
    rc = tl_store_sqlerr(st, rc);
  sqlite3_free(sql);
  while (!rc) {
    int step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
      rc = check_index(&c);
      break;
    }
    if (step != SQLITE_ROW) {
      rc = tl_store_sqlerr(st, step);
      break;
    }
    tl_blockrow row;
    rc = tl_blockrow_read(st, s, &row);
    if (!rc) rc = check_block(&c, &row);
  }
  sqlite3_finalize(s);
  tl_blockrd_free(&c.rd);
  tl_batch_free(c.b);
  sqlite3_free(c.entries);
  tl_i64vec_free(&c.svc);
  return rc;
}
