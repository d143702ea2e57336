/*
** scan_sql.c — a cursor's walk over the blocks of a table: which blocks
** (all of them in id order, or those the trace index names, or the one a
** rowid names), which of them the metadata rules out, and which spans of
** the rest match.
**
** Blocks are decoded lazily.  A block whose metadata proves that every span
** meets the filter (its whole time range inside the asked range, no trace
** or rowid filter) is walked without decoding it: count(*), or the rowids
** a DELETE collects, come from the metadata alone, which is what makes a
** retention DELETE by time cheap.  The block is decoded on the first
** xColumn, or at once when its spans must be checked one by one.
**
** Spans marked by a DELETE of the current transaction (tl_delmap) are
** skipped until the deletes are applied.
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <stdlib.h>
#include <string.h>

#include "store.h"

int tl_scan_init(tl_scan *sc, tl_store *st) {
  memset(sc, 0, sizeof *sc);
  sc->st = st;
  sc->eof = 1;
  sc->batch = tl_batch_new();
  tl_blockrd_init(&sc->rd, st);
  return sc->batch ? SQLITE_OK : SQLITE_NOMEM;
}

/* Stops reading the store's cached block, if the cursor was. */
static void release_view(tl_scan *sc) {
  if (sc->entry) sc->entry->users--;
  sc->entry = NULL;
  sc->view = NULL;
}

static void scan_reset(tl_scan *sc) {
  release_view(sc);
  sqlite3_finalize(sc->rows);
  sc->rows = NULL;
  sqlite3_free(sc->f.traces);
  memset(&sc->f, 0, sizeof sc->f);
  sc->ids.n = 0;
  sc->next_id = 0;
  sc->eof = 1;
  sc->decoded = 0;
}

void tl_scan_free(tl_scan *sc) {
  scan_reset(sc);
  tl_batch_free(sc->batch);
  tl_blockrd_free(&sc->rd);
  tl_i64vec_free(&sc->ids);
}

/* At the end: release the statement's read of the table and the blob. */
static int finish(tl_scan *sc) {
  sc->eof = 1;
  if (sc->rows) sqlite3_reset(sc->rows);
  tl_blockrd_close(&sc->rd);
  return SQLITE_OK;
}

/* The next candidate block's metadata into sc->cur; *found = 0 at the end. */
static int fetch_row(tl_scan *sc, int *found) {
  tl_store *st = sc->st;
  *found = 0;
  if (!sc->by_id) {
    int rc = sqlite3_step(sc->rows);
    if (rc == SQLITE_DONE) return SQLITE_OK;
    if (rc != SQLITE_ROW) return tl_store_sqlerr(st, rc);
    *found = 1;
    return tl_blockrow_read(st, sc->rows, &sc->cur);
  }
  while (sc->next_id < sc->ids.n) {
    sqlite3_int64 id = sc->ids.v[sc->next_id++];
    sqlite3_reset(sc->rows);
    sqlite3_bind_int64(sc->rows, 1, id);
    int rc = sqlite3_step(sc->rows);
    if (rc == SQLITE_ROW) {
      *found = 1;
      return tl_blockrow_read(st, sc->rows, &sc->cur);
    }
    if (rc != SQLITE_DONE) return tl_store_sqlerr(st, rc);
    /* A rowid may name a block that is gone; the trace index may not. */
    if (sc->f.traces)
      return tl_store_corrupt(st, id, "the trace index lists it, but %s_blocks has no such row",
                              st->name);
  }
  return SQLITE_OK;
}

/* Whether the metadata of sc->cur allows a match; sets need_check. */
static int block_may_match(tl_scan *sc, int *may) {
  const tl_scan_filter *f = &sc->f;
  const tl_block_meta *m = &sc->cur.m;
  *may = 0;
  if (m->max_start < f->start_lo || m->min_start > f->start_hi) return SQLITE_OK;
  if (m->max_end < f->end_lo || m->min_end > f->end_hi) return SQLITE_OK;
  if (f->status_mask && !(m->status & f->status_mask)) return SQLITE_OK;
  if (f->has_rowid && (f->rowid & ((1 << TL_POS_BITS) - 1)) >= m->n) return SQLITE_OK;
  if (f->service) {
    int has = tl_idlist_has(sc->cur.services, (size_t)sc->cur.services_len, sc->service_id);
    if (has < 0) return tl_store_corrupt(sc->st, sc->cur.id, "the services list is malformed");
    if (!has) return SQLITE_OK;
  }
  *may = 1;
  sc->need_check = f->traces || f->has_rowid || f->start_lo > m->min_start ||
                   f->start_hi < m->max_start || f->end_lo > m->min_end ||
                   f->end_hi < m->max_end;
  return SQLITE_OK;
}

static unsigned int data_version(tl_store *st) {
  unsigned int dv = 0;
  sqlite3_file_control(st->db, st->schema, SQLITE_FCNTL_DATA_VERSION, &dv);
  return dv;
}

/* The cache entry holding block id with these fields, if nothing has
** changed since it was decoded (store.h), else NULL. */
static struct tl_block_cache *cache_find(tl_store *st, sqlite3_int64 id, uint32_t fields) {
  for (int i = 0; i < TL_BLOCK_CACHE; i++) {
    struct tl_block_cache *c = &st->cache[i];
    if (c->id != id || !c->batch || (fields & ~c->fields)) continue;
    if (c->changes != sqlite3_total_changes64(st->db) || c->dv != data_version(st)) return NULL;
    return c;
  }
  return NULL;
}

/* The least recently used entry no cursor reads, or NULL. */
static struct tl_block_cache *cache_victim(tl_store *st) {
  struct tl_block_cache *best = NULL;
  for (int i = 0; i < TL_BLOCK_CACHE; i++) {
    struct tl_block_cache *c = &st->cache[i];
    if (!c->users && (!best || c->used < best->used)) best = c;
  }
  return best;
}

static void use_entry(tl_scan *sc, struct tl_block_cache *c) {
  c->users++;
  c->used = ++sc->st->cache_clock;
  sc->entry = c;
  sc->view = c->batch;
  sc->views++;
}

static int decode_current(tl_scan *sc) {
  if (sc->decoded) return SQLITE_OK;
  tl_store *st = sc->st;
  release_view(sc);
  struct tl_block_cache *c = cache_find(st, sc->cur.id, sc->f.fields);
  if (c) {
    use_entry(sc, c);
    if (st->conn) st->conn->blocks_decoded++; /* read, if not decoded again */
    sc->decoded = 1;
    return SQLITE_OK;
  }
  tl_batch_reset(sc->batch);
  int rc = tl_blockrd_decode(&sc->rd, &sc->cur, sc->f.fields, sc->batch);
  if (rc) return rc;
  sc->view = sc->batch;
  sc->views++;
  c = cache_victim(st);
  tl_batch *spare = c ? (c->batch ? c->batch : tl_batch_new()) : NULL;
  if (spare) {
    /* Hand the decoded block to the cache, taking the entry's old batch. */
    c->batch = sc->batch;
    sc->batch = spare;
    c->id = sc->cur.id;
    c->fields = st->opts.codec->partial ? sc->f.fields : TL_FIELDS_ALL;
    c->changes = sqlite3_total_changes64(st->db);
    c->dv = data_version(st);
    use_entry(sc, c);
  }
  sc->decoded = 1;
  return SQLITE_OK;
}

static int cmp_trace(const void *a, const void *b) { return memcmp(a, b, 16); }

static int span_matches(const tl_scan *sc, const tl_span *s) {
  const tl_scan_filter *f = &sc->f;
  int64_t start = (int64_t)s->start_ns, end = (int64_t)s->end_ns;
  if (start < f->start_lo || start > f->start_hi || end < f->end_lo || end > f->end_hi) return 0;
  return !f->traces || bsearch(s->trace_id, f->traces, f->ntraces, 16, cmp_trace);
}

/* Moves sc->pos forward to the first span of the current block at or after
** it that matches; *found = 0 when the block has none left. */
static int settle(tl_scan *sc, int *found) {
  const tl_delmap *dels = &sc->st->dels;
  const tl_delblock *del = dels->n ? tl_delmap_find(dels, sc->cur.id) : NULL;
  uint32_t want = (uint32_t)(sc->f.rowid & ((1 << TL_POS_BITS) - 1));
  *found = 0;
  for (; sc->pos < sc->cur.m.n; sc->pos++) {
    if (sc->f.has_rowid && sc->pos != want) {
      if (sc->pos > want) return SQLITE_OK;
      sc->pos = want - 1; /* the loop's increment lands on want */
      continue;
    }
    if (del && tl_delblock_has(del, sc->pos)) continue;
    if (sc->need_check) {
      int rc = decode_current(sc);
      if (rc) return rc;
      if (!span_matches(sc, tl_batch_span(sc->view, sc->pos))) continue;
    }
    *found = 1;
    return SQLITE_OK;
  }
  return SQLITE_OK;
}

/* From the current block on: the next block with a matching span. */
static int next_block(tl_scan *sc) {
  for (;;) {
    int found, rc = fetch_row(sc, &found);
    if (rc) return rc;
    if (!found) return finish(sc);
    int may;
    if ((rc = block_may_match(sc, &may))) return rc;
    if (!may) continue;
    sc->decoded = 0;
    release_view(sc);
    sc->pos = 0;
    if ((rc = settle(sc, &found))) return rc;
    if (found) return SQLITE_OK;
  }
}

int tl_scan_start(tl_scan *sc, tl_scan_filter *f) {
  tl_store *st = sc->st;
  scan_reset(sc);
  sc->f = *f;
  f->traces = NULL; /* owned by the scan now */
  sc->f.fields |= TL_FIELD_IDS | TL_FIELD_TIMES;
  if (sc->f.empty) return SQLITE_OK;
  int rc = tl_store_load(st);
  if (rc) return rc;
  if (sc->f.service) {
    sc->service_id = tl_strmap_get(&st->services, sc->f.service, sc->f.service_len);
    if (!sc->service_id) return SQLITE_OK; /* a service no block has */
  }
  sc->by_id = sc->f.traces || sc->f.has_rowid;
  if (sc->f.traces) {
    for (size_t i = 0; i < sc->f.ntraces; i++)
      if ((rc = tl_index_lookup(st, tl_trace_key(sc->f.traces[i]), &sc->ids))) return rc;
    tl_i64vec_sort_unique(&sc->ids);
  } else if (sc->f.has_rowid) {
    if (tl_i64vec_push(&sc->ids, sc->f.rowid >> TL_POS_BITS)) return SQLITE_NOMEM;
  }
  char *sql = tl_store_sql(st, sc->by_id ? TL_SQL_BLOCK_META : TL_SQL_BLOCK_SCAN);
  if (!sql) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(st->db, sql, -1, &sc->rows, NULL);
  sqlite3_free(sql);
  if (rc) return tl_store_sqlerr(st, rc);
  sc->eof = 0;
  return next_block(sc);
}

int tl_scan_step(tl_scan *sc) {
  if (sc->eof) return SQLITE_OK;
  sc->pos++;
  int found, rc = settle(sc, &found);
  if (rc || found) return rc;
  return next_block(sc);
}

const tl_span *tl_scan_decode(tl_scan *sc, int *rc) {
  *rc = decode_current(sc);
  return *rc ? NULL : tl_batch_span(sc->view, sc->pos);
}
