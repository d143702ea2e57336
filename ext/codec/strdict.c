/*
** strdict.c — string dictionaries for the relational and columnar codecs
** (codec_internal.h): names, attribute keys and repeated values are written
** once per block as a table and referred to by code.
**
** Table layout: LEB128 count, the count lengths (LEB128), then the bytes of
** every string back to back.  Lengths apart from the bytes because zstd then
** sees a run of small numbers and a run of text, each compressing better
** than the two interleaved.
**
** The encoder hashes content, not addresses: spans of a block can come from
** several batches (optimize merges decoded blocks), and two equal strings
** must get one code.  The decoder keeps each string as a pointer into the
** stream and interns it in the batch on first use, so a block of 4096 spans
** over 30 operation names hashes 30 names, not 4096.
*/
#include "codec_internal.h"

#include <stdlib.h>
#include <string.h>

void tl_strdict_init(tl_strdict *d) { memset(d, 0, sizeof *d); }

void tl_strdict_free(tl_strdict *d) {
  free(d->items);
  free(d->slots);
  free(d->hashes);
  free(d->uses);
  tl_strdict_init(d);
}

void tl_strdict_reset(tl_strdict *d) {
  d->n = 0;
  if (d->slots) memset(d->slots, 0, ((size_t)d->mask + 1) * sizeof *d->slots);
}

static int same(tl_str a, tl_str b) {
  return a.len == b.len && (a.len == 0 || a.ptr == b.ptr || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Doubles the hash table (or makes the first one) and re-inserts. */
static int grow_slots(tl_strdict *d) {
  size_t size = d->slots ? ((size_t)d->mask + 1) * 2 : 64;
  uint32_t *slots = calloc(size, sizeof *slots);
  if (!slots) return -1;
  for (uint32_t i = 0; i < d->n; i++) {
    size_t h = (size_t)d->hashes[i] & (size - 1);
    while (slots[h]) h = (h + 1) & (size - 1);
    slots[h] = i + 1;
  }
  free(d->slots);
  d->slots = slots;
  d->mask = (uint32_t)(size - 1);
  return 0;
}

int64_t tl_strdict_find(const tl_strdict *d, tl_str s) {
  if (!d->slots) return -1;
  uint64_t hash = tl_hash(s.ptr ? s.ptr : "", s.len);
  for (size_t h = (size_t)hash & d->mask; d->slots[h]; h = (h + 1) & d->mask) {
    uint32_t code = d->slots[h] - 1;
    if (d->hashes[code] == hash && same(d->items[code], s)) return code;
  }
  return -1;
}

int64_t tl_strdict_code(tl_strdict *d, tl_str s) {
  if (!d->slots && grow_slots(d)) return -1;
  uint64_t hash = tl_hash(s.ptr ? s.ptr : "", s.len);
  size_t h = (size_t)hash & d->mask;
  for (uint32_t slot; (slot = d->slots[h]) != 0; h = (h + 1) & d->mask)
    if (d->hashes[slot - 1] == hash && same(d->items[slot - 1], s)) {
      d->uses[slot - 1]++;
      return slot - 1;
    }
  if (d->n == d->cap) {
    uint32_t cap = d->cap ? d->cap * 2 : 32;
    tl_str *items = realloc(d->items, cap * sizeof *items);
    if (!items) return -1;
    d->items = items;
    uint64_t *hashes = realloc(d->hashes, cap * sizeof *hashes);
    if (!hashes) return -1;
    d->hashes = hashes;
    uint32_t *uses = realloc(d->uses, cap * sizeof *uses);
    if (!uses) return -1;
    d->uses = uses;
    d->cap = cap;
  }
  uint32_t code = d->n++;
  d->items[code] = s;
  d->hashes[code] = hash;
  d->uses[code] = 1;
  d->slots[h] = code + 1;
  /* Keep the table at most half full. */
  if ((size_t)d->n * 2 > (size_t)d->mask + 1 && grow_slots(d)) {
    d->n--;
    return -1;
  }
  return code;
}

/* For qsort: falling uses, then code order. */
typedef struct by_use {
  uint32_t uses, code;
} by_use;

static int cmp_use(const void *a, const void *b) {
  const by_use *x = a, *y = b;
  if (x->uses != y->uses) return x->uses < y->uses ? 1 : -1;
  return x->code < y->code ? -1 : x->code > y->code;
}

int tl_strdict_sort_by_use(tl_strdict *d, uint32_t keep) {
  if (keep > d->n) keep = d->n;
  uint32_t m = d->n - keep;
  by_use *v = malloc((m ? m : 1) * sizeof *v);
  tl_str *items = malloc((d->n ? d->n : 1) * sizeof *items);
  if (!v || !items) {
    free(v);
    free(items);
    return -1;
  }
  for (uint32_t i = 0; i < m; i++) v[i] = (by_use){d->uses[keep + i], keep + i};
  qsort(v, m, sizeof *v, cmp_use);
  memcpy(items, d->items, d->n * sizeof *items);
  uint32_t n = d->n;
  tl_strdict_reset(d);
  int rc = 0;
  for (uint32_t i = 0; i < n && !rc; i++)
    rc = tl_strdict_code(d, items[i < keep ? i : v[i - keep].code]) < 0;
  for (uint32_t i = 0; i < d->n; i++) d->uses[i] = 0;
  free(v);
  free(items);
  return rc ? -1 : 0;
}

void tl_strdict_write(const tl_strdict *d, tl_buf *out) {
  tl_buf_varint(out, d->n);
  for (uint32_t i = 0; i < d->n; i++) tl_buf_varint(out, d->items[i].len);
  for (uint32_t i = 0; i < d->n; i++)
    if (d->items[i].len) tl_buf_append(out, d->items[i].ptr, d->items[i].len);
}

void tl_strtab_free(tl_strtab *t) {
  free(t->raw);
  free(t->interned);
  memset(t, 0, sizeof *t);
}

int tl_strtab_read(tl_strtab *t, tl_rd *r, uint32_t max_n, const char *what, tl_err *e) {
  t->n = 0;
  uint64_t n = tl_rd_varint(r);
  if (r->err) return tl_err_set(e, TL_EFORMAT, "%s: truncated string table", what);
  /* Every string costs at least its length byte. */
  if (n > max_n || n > tl_rd_left(r))
    return tl_err_set(e, TL_EFORMAT, "%s: string table claims %llu strings, more than fit",
                      what, (unsigned long long)n);
  if (n > t->cap) {
    tl_str *raw = realloc(t->raw, n * sizeof *raw);
    if (raw) t->raw = raw;
    tl_str *interned = raw ? realloc(t->interned, n * sizeof *interned) : NULL;
    if (interned) t->interned = interned;
    if (!raw || !interned) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", what);
    t->cap = (uint32_t)n;
  }
  uint64_t total = 0;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t len = tl_rd_varint(r);
    if (len > TL_MAX_STRING) r->err = 1;
    t->raw[i].len = (uint32_t)len;
    total += len;
  }
  if (r->err || total > tl_rd_left(r))
    return tl_err_set(e, TL_EFORMAT, "%s: string table is truncated", what);
  for (uint64_t i = 0; i < n; i++) {
    t->raw[i].ptr = (const char *)tl_rd_bytes(r, t->raw[i].len);
    t->interned[i].ptr = NULL;
    t->interned[i].len = 0;
  }
  t->n = (uint32_t)n;
  return TL_OK;
}

tl_str tl_strtab_intern(tl_strtab *t, tl_batch *b, uint32_t i) {
  return t->interned[i] = tl_batch_intern(b, t->raw[i].ptr, t->raw[i].len);
}
