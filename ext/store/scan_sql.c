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
  tl_blockrd_init(&sc->rd, st);
  return SQLITE_OK;
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
  sc->cols_mode = 0;
}

void tl_scan_free(tl_scan *sc) {
  scan_reset(sc);
  tl_batch_free(sc->batch);
  tl_blockrd_free(&sc->rd);
  tl_i64vec_free(&sc->ids);
  tl_cols_free(&sc->cols);
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
** changed since it was decoded (store.h), else NULL.  *seen: whether an
** entry holds the block at all, with fewer fields. */
static struct tl_block_cache *cache_find(tl_store *st, sqlite3_int64 id, uint32_t fields,
                                         int *seen) {
  *seen = 0;
  for (int i = 0; i < TL_BLOCK_CACHE; i++) {
    struct tl_block_cache *c = &st->cache[i];
    if (c->id != id || !c->batch) continue;
    if (c->changes != sqlite3_total_changes64(st->db) || c->dv != data_version(st)) return NULL;
    *seen = 1;
    if (!(fields & ~c->fields)) return c;
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

const tl_span *tl_scan_cols_span(tl_scan *sc) {
  const tl_cols *c = &sc->cols;
  uint32_t i = sc->pos;
  tl_span *s = &sc->row;
  sc->row_pos = i;
  if (sc->cols_mode == TL_COLS_DURATIONS) {
    /* The scan reads duration_ns alone: the times themselves are not
    ** known, only their difference. */
    s->end_ns = c->duration[i];
    return s;
  }
  s->start_ns = c->start[i];
  s->end_ns = c->end[i];
  if (!(sc->f.fields & TL_FIELD_IDS)) return s; /* the ids stay zero */
  memcpy(s->trace_id, c->trace_id[i], 16);
  memcpy(s->span_id, c->span_id[i], 8);
  memcpy(s->parent_span_id, c->parent_id[i], 8);
  s->trace_state = c->trace_state[i];
  s->flags = c->flags[i];
  return s;
}

/* Cols mode: the block's ids and times (TL_COLS_TIMES) or durations
** alone (TL_COLS_DURATIONS) into sc->cols (strings in the cursor's own
** batch), and a row span whose other fields are defaults. */
static int decode_cols(tl_scan *sc, int mode) {
  if (!sc->batch && !(sc->batch = tl_batch_new())) return SQLITE_NOMEM;
  tl_batch_reset(sc->batch);
  int rc = mode == TL_COLS_DURATIONS
               ? tl_blockrd_decode_durations(&sc->rd, &sc->cur, &sc->cols)
               : tl_blockrd_decode_cols(&sc->rd, &sc->cur, sc->f.fields, &sc->cols, sc->batch);
  if (rc) return rc;
  memset(&sc->row, 0, sizeof sc->row);
  sc->row.resource = tl_batch_empty_resource(sc->batch);
  sc->row.scope = tl_batch_empty_scope(sc->batch);
  sc->row_pos = UINT32_MAX;
  sc->cols_mode = mode;
  sc->view = sc->batch;
  sc->views++;
  sc->decoded = 1;
  return SQLITE_OK;
}

/* The current block, from the cache or decoded into it.  A block is
** decoded straight into the batch of the entry it replaces (or, when
** cursors read every entry, into the cursor's own batch): batches live as
** long as the table's connection, so their memory is reused block after
** block instead of being faulted in afresh by each statement's cursor.
**
** A scan that reads ids and times alone takes cols mode (decode_cols),
** unless the cache has the block: a tl_span per span would cost more than
** the rest of its work; one that reads duration_ns alone, decode_durations
** where the codec has it, which reads only the part of the blob that holds
** them.
**
** A trace lookup on a codec with decode_traces fills in only its traces'
** spans (the others keep ids and times: the entry is cached with those
** fields alone), unless the cache already holds the block with fewer
** fields: lookups of neighbouring traces (a join over traces in block
** order) come in runs on one block, and the second one decodes it whole
** for the cache to serve the rest of the run. */
static int decode_current(tl_scan *sc) {
  if (sc->decoded) return SQLITE_OK;
  tl_store *st = sc->st;
  release_view(sc);
  sc->cols_mode = 0;
  int seen;
  struct tl_block_cache *c = cache_find(st, sc->cur.id, sc->f.fields, &seen);
  if (c) {
    use_entry(sc, c);
    if (st->conn) st->conn->blocks_decoded++; /* read, if not decoded again */
    sc->decoded = 1;
    return SQLITE_OK;
  }
  const tl_codec_vt *vt = st->opts.codec;
  const uint32_t cheap = TL_FIELD_IDS | TL_FIELD_TIMES;
  if (vt->decode_durations && sc->f.fields == TL_FIELD_DURATION)
    return decode_cols(sc, TL_COLS_DURATIONS);
  if (vt->decode_cols && !(sc->f.fields & ~(cheap | TL_FIELD_DURATION)))
    return decode_cols(sc, TL_COLS_TIMES);
  /* (Only a codec without decode_durations or decode_cols gets here with
  ** TL_FIELD_DURATION, which it decodes as the times it always gives.) */
  int partial = sc->f.traces && vt->decode_traces && !seen && (sc->f.fields & ~cheap);
  c = cache_victim(st);
  if (c && !c->batch) c->batch = tl_batch_new();
  if (c && !c->batch) c = NULL;
  if (!c && !sc->batch && !(sc->batch = tl_batch_new())) return SQLITE_NOMEM;
  tl_batch *into = c ? c->batch : sc->batch;
  if (c) c->id = 0; /* empty until the block is decoded */
  tl_batch_reset(into);
  int rc = tl_blockrd_decode_traces(&sc->rd, &sc->cur, sc->f.fields,
                                    partial ? (const uint8_t(*)[16])sc->f.traces : NULL,
                                    sc->f.ntraces, into);
  if (rc) return rc;
  if (c) {
    c->id = sc->cur.id;
    /* Every decode gives the times, so the durations too. */
    c->fields = (!vt->partial ? TL_FIELDS_ALL : partial ? sc->f.fields & cheap : sc->f.fields) |
                TL_FIELD_DURATION;
    c->changes = sqlite3_total_changes64(st->db);
    c->dv = data_version(st);
    use_entry(sc, c);
  } else {
    sc->view = sc->batch;
    sc->views++;
  }
  sc->decoded = 1;
  return SQLITE_OK;
}

static int cmp_trace(const void *a, const void *b) { return memcmp(a, b, 16); }

/* Whether trace id is one of the filter's (a lookup of one trace, the
** common case, checks every span of its block: no call per span). */
static int has_trace(const tl_scan_filter *f, const uint8_t *id) {
  if (f->ntraces == 1) {
    uint64_t x[2], y[2];
    memcpy(x, id, 16);
    memcpy(y, f->traces[0], 16);
    return x[0] == y[0] && x[1] == y[1];
  }
  return bsearch(id, f->traces, f->ntraces, 16, cmp_trace) != NULL;
}

static int span_matches(const tl_scan *sc, const tl_span *s) {
  const tl_scan_filter *f = &sc->f;
  int64_t start = (int64_t)s->start_ns, end = (int64_t)s->end_ns;
  if (start < f->start_lo || start > f->start_hi || end < f->end_lo || end > f->end_hi) return 0;
  return !f->traces || has_trace(f, s->trace_id);
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
      if (!span_matches(sc, tl_scan_current(sc))) continue;
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
  /* What the filters check: times, and trace ids (which every codec
  ** decodes, but cols mode copies only with TL_FIELD_IDS).  A scan that
  ** reads nothing but duration_ns and has no filter on the times or ids
  ** keeps TL_FIELD_DURATION alone: the durations are all it needs.  Any
  ** other scan decodes the times, which codecs are asked for by that name. */
  tl_scan_filter *g = &sc->f;
  int checks = g->traces || g->start_lo != INT64_MIN || g->start_hi != INT64_MAX ||
               g->end_lo != INT64_MIN || g->end_hi != INT64_MAX;
  if (checks || g->fields != TL_FIELD_DURATION)
    g->fields = (g->fields & ~TL_FIELD_DURATION) | TL_FIELD_TIMES | (g->traces ? TL_FIELD_IDS : 0);
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
  return *rc ? NULL : tl_scan_current(sc);
}
