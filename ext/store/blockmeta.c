/*
** blockmeta.c — block metadata, trace keys, packed id lists and the store's
** in-memory hash tables (blockmeta.h).  Everything here runs once per span
** on ingest or once per block on scan, so it avoids allocation per span:
** the maps grow by doubling and are cleared, not freed, between blocks.
*/
#include "blockmeta.h"

#include <stdlib.h>
#include <string.h>

#include "../common/varint.h"

/* ---- trace keys ------------------------------------------------------------ */

static uint64_t load_be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

/* MurmurHash3's 64-bit finalizer: every input bit affects every output bit. */
static uint64_t fmix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

int64_t tl_trace_key(const uint8_t trace_id[16]) {
  uint64_t x = fmix64(load_be64(trace_id) * 0x9e3779b97f4a7c15ull ^ load_be64(trace_id + 8));
  /* Keep 48 bits, sign-extended: SQLite stores such an integer in 6 bytes. */
  return (int64_t)(x << 16) >> 16;
}

/* ---- u64 map --------------------------------------------------------------- */

void tl_u64map_init(tl_u64map *m) { memset(m, 0, sizeof *m); }

void tl_u64map_free(tl_u64map *m) {
  free(m->keys);
  free(m->vals);
  free(m->used);
  tl_u64map_init(m);
}

void tl_u64map_clear(tl_u64map *m) {
  if (m->used && m->n) memset(m->used, 0, m->cap);
  m->n = 0;
}

static size_t slot_of(uint64_t key, size_t cap) { return (size_t)fmix64(key) & (cap - 1); }

static int map_grow(tl_u64map *m) {
  size_t cap = m->cap ? m->cap * 2 : 64;
  uint64_t *keys = malloc(cap * sizeof *keys), *vals = malloc(cap * sizeof *vals);
  uint8_t *used = calloc(cap, 1);
  if (!keys || !vals || !used) {
    free(keys);
    free(vals);
    free(used);
    return TL_ENOMEM;
  }
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->used[i]) continue;
    size_t j = slot_of(m->keys[i], cap);
    while (used[j]) j = (j + 1) & (cap - 1);
    used[j] = 1;
    keys[j] = m->keys[i];
    vals[j] = m->vals[i];
  }
  free(m->keys);
  free(m->vals);
  free(m->used);
  m->keys = keys;
  m->vals = vals;
  m->used = used;
  m->cap = cap;
  return TL_OK;
}

int tl_u64map_put(tl_u64map *m, uint64_t key, uint64_t val) {
  if ((m->n + 1) * 4 > m->cap * 3 && map_grow(m)) return TL_ENOMEM;
  size_t j = slot_of(key, m->cap);
  while (m->used[j] && m->keys[j] != key) j = (j + 1) & (m->cap - 1);
  if (!m->used[j]) {
    m->used[j] = 1;
    m->keys[j] = key;
    m->n++;
  }
  m->vals[j] = val;
  return TL_OK;
}

int tl_u64map_get(const tl_u64map *m, uint64_t key, uint64_t *val) {
  if (!m->n) return 0;
  size_t j = slot_of(key, m->cap);
  while (m->used[j]) {
    if (m->keys[j] == key) {
      if (val) *val = m->vals[j];
      return 1;
    }
    j = (j + 1) & (m->cap - 1);
  }
  return 0;
}

/* ---- int64 vectors ------------------------------------------------------------ */

int tl_i64vec_push(tl_i64vec *a, int64_t x) {
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 64;
    int64_t *v = realloc(a->v, cap * sizeof *v);
    if (!v) return TL_ENOMEM;
    a->v = v;
    a->cap = cap;
  }
  a->v[a->n++] = x;
  return TL_OK;
}

void tl_i64vec_free(tl_i64vec *a) {
  free(a->v);
  memset(a, 0, sizeof *a);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

void tl_i64vec_sort_unique(tl_i64vec *a) {
  if (a->n < 2) return;
  qsort(a->v, a->n, sizeof *a->v, cmp_i64);
  size_t w = 1;
  for (size_t i = 1; i < a->n; i++)
    if (a->v[i] != a->v[w - 1]) a->v[w++] = a->v[i];
  a->n = w;
}

/* ---- block metadata ------------------------------------------------------------ */

int tl_block_meta_compute(tl_span *const *spans, size_t n, tl_block_meta *m, tl_i64vec *keys,
                          tl_u64map *seen) {
  memset(m, 0, sizeof *m);
  keys->n = 0;
  tl_u64map_clear(seen);
  m->n = (uint32_t)n;
  const uint8_t *last_trace = NULL;
  for (size_t i = 0; i < n; i++) {
    const tl_span *s = spans[i];
    int64_t start = (int64_t)s->start_ns, end = (int64_t)s->end_ns;
    if (i == 0 || start < m->min_start) m->min_start = start;
    if (i == 0 || start > m->max_start) m->max_start = start;
    if (i == 0 || end < m->min_end) m->min_end = end;
    if (i == 0 || end > m->max_end) m->max_end = end;
    if (s->status_code < 32) m->status |= 1u << s->status_code;
    /* Spans of one trace usually come together: hash each run once. */
    if (last_trace && memcmp(last_trace, s->trace_id, 16) == 0) continue;
    last_trace = s->trace_id;
    int64_t k = tl_trace_key(s->trace_id);
    if (tl_u64map_get(seen, (uint64_t)k, NULL)) continue;
    if (tl_u64map_put(seen, (uint64_t)k, 0) || tl_i64vec_push(keys, k)) return TL_ENOMEM;
  }
  tl_i64vec_sort_unique(keys);
  m->ntraces = (uint32_t)keys->n;
  return TL_OK;
}

/* ---- packed id lists ------------------------------------------------------------ */

void tl_idlist_encode(tl_buf *out, const int64_t *ids, size_t n) {
  int64_t prev = 0;
  for (size_t i = 0; i < n; i++) {
    tl_buf_varint(out, (uint64_t)(ids[i] - prev));
    prev = ids[i];
  }
}

/* Walks a list, calling back with each id; stops early when cb returns
** non-zero (and returns that).  TL_EFORMAT on bad bytes. */
static int idlist_walk(const uint8_t *p, size_t len, int (*cb)(void *, int64_t), void *arg) {
  tl_rd r;
  tl_rd_init(&r, p, len);
  int64_t id = 0;
  while (tl_rd_left(&r)) {
    uint64_t d = tl_rd_varint(&r);
    if (r.err || d == 0 || d > (uint64_t)INT64_MAX - (uint64_t)id) return TL_EFORMAT;
    id += (int64_t)d;
    int rc = cb(arg, id);
    if (rc) return rc;
  }
  return TL_OK;
}

static int push_cb(void *arg, int64_t id) { return tl_i64vec_push(arg, id); }

int tl_idlist_decode(const uint8_t *p, size_t len, tl_i64vec *out) {
  out->n = 0;
  return idlist_walk(p, len, push_cb, out);
}

static int has_cb(void *arg, int64_t id) {
  int64_t want = *(const int64_t *)arg;
  return id == want ? 1 : id > want ? 2 : 0;
}

int tl_idlist_has(const uint8_t *p, size_t len, int64_t id) {
  int rc = idlist_walk(p, len, has_cb, &id);
  return rc == 2 ? 0 : rc;
}

/* ---- string map -------------------------------------------------------------- */

void tl_strmap_init(tl_strmap *m) {
  memset(m, 0, sizeof *m);
  tl_u64map_init(&m->index);
}

void tl_strmap_clear(tl_strmap *m) {
  for (size_t i = 0; i < m->n; i++) free(m->ents[i].s);
  m->n = 0;
  tl_u64map_clear(&m->index);
}

void tl_strmap_free(tl_strmap *m) {
  tl_strmap_clear(m);
  free(m->ents);
  tl_u64map_free(&m->index);
  tl_strmap_init(m);
}

int64_t tl_strmap_get(const tl_strmap *m, const char *s, size_t len) {
  uint64_t at;
  if (!tl_u64map_get(&m->index, tl_hash(s, len), &at)) return 0;
  while (at) {
    const struct tl_strent *e = &m->ents[at - 1];
    if (e->len == len && memcmp(e->s, s, len) == 0) return e->id;
    at = e->next;
  }
  return 0;
}

int tl_strmap_put(tl_strmap *m, const char *s, size_t len, int64_t id) {
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 16;
    struct tl_strent *ents = realloc(m->ents, cap * sizeof *ents);
    if (!ents) return TL_ENOMEM;
    m->ents = ents;
    m->cap = cap;
  }
  char *copy = malloc(len + 1);
  if (!copy) return TL_ENOMEM;
  memcpy(copy, s, len);
  copy[len] = 0;
  uint64_t h = tl_hash(s, len), first = 0;
  tl_u64map_get(&m->index, h, &first);
  if (tl_u64map_put(&m->index, h, m->n + 1)) {
    free(copy);
    return TL_ENOMEM;
  }
  m->ents[m->n++] = (struct tl_strent){copy, (uint32_t)len, id, (size_t)first};
  return TL_OK;
}

/* ---- pending deletes ---------------------------------------------------------- */

void tl_delmap_init(tl_delmap *d) {
  memset(d, 0, sizeof *d);
  tl_u64map_init(&d->index);
}

void tl_delmap_clear(tl_delmap *d) {
  for (size_t i = 0; i < d->n; i++) free(d->v[i].bits);
  d->n = 0;
  tl_u64map_clear(&d->index);
}

void tl_delmap_free(tl_delmap *d) {
  tl_delmap_clear(d);
  free(d->v);
  tl_u64map_free(&d->index);
  tl_delmap_init(d);
}

tl_delblock *tl_delmap_find(const tl_delmap *d, int64_t id) {
  uint64_t at;
  return tl_u64map_get(&d->index, (uint64_t)id, &at) ? &d->v[at - 1] : NULL;
}

int tl_delmap_mark(tl_delmap *d, int64_t id, uint32_t n, uint32_t pos) {
  tl_delblock *b = tl_delmap_find(d, id);
  if (!b) {
    if (d->n == d->cap) {
      size_t cap = d->cap ? d->cap * 2 : 16;
      tl_delblock *v = realloc(d->v, cap * sizeof *v);
      if (!v) return TL_ENOMEM;
      d->v = v;
      d->cap = cap;
    }
    uint64_t *bits = calloc((n + 63) / 64 + 1, sizeof *bits);
    if (!bits || tl_u64map_put(&d->index, (uint64_t)id, d->n + 1)) {
      free(bits);
      return TL_ENOMEM;
    }
    b = &d->v[d->n++];
    *b = (tl_delblock){id, n, 0, bits};
  }
  if (pos >= b->n || tl_delblock_has(b, pos)) return TL_OK;
  b->bits[pos >> 6] |= 1ull << (pos & 63);
  b->ndel++;
  return TL_OK;
}
