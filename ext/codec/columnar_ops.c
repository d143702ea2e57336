/*
** columnar_ops.c — the operation column of the columnar codec
** (columnar_internal.h): what a span is, as opposed to when it ran.
**
** An operation is the tuple (name, kind, resource, scope, flags, attribute
** shape) of a span; a block of 4096 spans has a few dozen distinct ones,
** each written once in the ops stream.  Per span there is one code in the
** op_refs stream instead of six, and that code is relative to the parent:
** calls follow the code's call graph, so under a parent of operation P the
** children are a handful of the operations seen under P before.
**
**   ops      LEB128 K, then OP_FIELDS integer columns of K values each
**            (name code, kind, resource code, scope code, flags, shape)
**   op_refs  integer column, one code per span in the time order (plan()
**            in codec_columnar.c: parents first).  The context of a span
**            is its parent's operation, or a root context for a span
**            without a parent in the block.  Each context keeps the list
**            of operations met in it, in order of first use: a code c
**            below the list's length is list[c]; otherwise operation
**            c - length, which joins the list.
**
** Why relative: on the generated shop, names, kinds, resources, scopes,
** flags and shapes as separate columns cost 2.4 bytes per span; op codes
** in their parent's context cost under 0.5 (docs/format.md has the table).
**
** The decoder reads the ops table with the block, and the op_refs stream
** only when a span's operation is first asked for: ids and times need none
** when every operation has the same flags.
*/
#include "columnar_internal.h"

#include <stdlib.h>
#include <string.h>

/* An open-addressing map from a 64-bit key to a 32-bit value. */
typedef struct u64map {
  uint64_t *keys;
  uint32_t *vals;
  size_t mask, n;
} u64map;

struct col_ops {
  tl_strdict tuples;  /* encoder: operation tuples by content */
  tl_vec tuple_vals, table, ops, codes, list_len;
  tl_vec list_at, pool; /* decoder: each context's list, in a pool */
  u64map map;
  uint32_t k;
  /* Decoder: the op_refs stream is only read when a span's operation is
  ** asked for (col_ops_of_spans), with what col_ops_read was given. */
  col_reader *r;
  size_t n;
  const uint32_t *order;
  const int64_t *pref;
  int resolved;
};

col_ops *col_ops_new(void) { return calloc(1, sizeof(col_ops)); }

void col_ops_free(col_ops *o) {
  if (!o) return;
  tl_strdict_free(&o->tuples);
  tl_vec_free(&o->tuple_vals);
  tl_vec_free(&o->table);
  tl_vec_free(&o->ops);
  tl_vec_free(&o->codes);
  tl_vec_free(&o->list_len);
  tl_vec_free(&o->list_at);
  tl_vec_free(&o->pool);
  free(o->map.keys);
  free(o->map.vals);
  free(o);
}

/* Empties the map, sized for up to n entries (at most half full). */
static int map_reset(u64map *m, size_t n) {
  size_t size = 64;
  while (size < 2 * n + 2) size *= 2;
  if (size > m->mask + 1 || !m->keys) {
    uint64_t *keys = realloc(m->keys, size * sizeof *keys);
    if (keys) m->keys = keys;
    uint32_t *vals = keys ? realloc(m->vals, size * sizeof *vals) : NULL;
    if (vals) m->vals = vals;
    if (!keys || !vals) return -1;
    m->mask = size - 1;
  }
  /* Key UINT64_MAX marks a free slot: no real key is that large. */
  memset(m->keys, 0xff, (m->mask + 1) * sizeof *m->keys);
  m->n = 0;
  return 0;
}

static uint32_t *map_slot(u64map *m, uint64_t key, int *found) {
  size_t h = (size_t)(key * 0x9E3779B97F4A7C15ull >> 20) & m->mask;
  while (m->keys[h] != UINT64_MAX && m->keys[h] != key) h = (h + 1) & m->mask;
  *found = m->keys[h] == key;
  if (!*found) {
    m->keys[h] = key;
    m->n++;
  }
  return &m->vals[h];
}

uint32_t col_ops_count(const col_ops *o) { return o->k; }
const uint64_t *col_ops_table(const col_ops *o, int field) {
  /* No operation (an empty block): no table, maybe not even memory. */
  if (!o->k) return o->table.p;
  return (const uint64_t *)o->table.p + (size_t)field * o->k;
}

int col_ops_uniform(const col_ops *o, int field, uint64_t *value) {
  *value = 0;
  if (!o->k) return 1;
  const uint64_t *v = col_ops_table(o, field);
  for (uint32_t k = 1; k < o->k; k++)
    if (v[k] != v[0]) return 0;
  *value = v[0];
  return 1;
}

/* Per span operation (ops[i]) to context codes in the time order.  ctx of
** a span is its parent's operation, k for none; the map takes (ctx, op) to
** the operation's index in the list of ctx. */
static int walk_encode(col_ops *o, uint64_t *codes, const uint32_t *ops, size_t n,
                       const uint32_t *order, const int64_t *pref, tl_err *e) {
  uint32_t *len = tl_vec_get(&o->list_len, ((size_t)o->k + 1) * sizeof *len);
  if (!len || map_reset(&o->map, n)) return tl_err_set(e, TL_ENOMEM, "columnar: out of memory");
  memset(len, 0, ((size_t)o->k + 1) * sizeof *len);
  for (size_t k = 0; k < n; k++) {
    size_t i = order[k];
    uint64_t ctx = pref[i] >= 0 ? ops[pref[i]] : o->k;
    int found;
    uint32_t *slot = map_slot(&o->map, ctx << 32 | ops[i], &found);
    codes[k] = found ? *slot : len[ctx] + (uint64_t)ops[i];
    if (!found) *slot = len[ctx]++;
  }
  return TL_OK;
}

/* The reverse: codes to operations.  Each context's list lives in a pool,
** moved to the pool's end with twice the room when full, so a lookup is an
** index and the pool holds at most 4 entries per span and per context. */
static int walk_decode(col_ops *o, const uint64_t *codes, uint32_t *ops, size_t n,
                       const uint32_t *order, const int64_t *pref, tl_err *e) {
  size_t nctx = (size_t)o->k + 1;
  uint32_t *len = tl_vec_get(&o->list_len, 2 * nctx * sizeof *len);
  size_t *at = tl_vec_get(&o->list_at, nctx * sizeof *at);
  uint32_t *pool = tl_vec_get(&o->pool, 64 * sizeof *pool);
  if (!len || !at || !pool) return tl_err_set(e, TL_ENOMEM, "columnar: out of memory");
  uint32_t *cap = len + nctx;
  memset(len, 0, 2 * nctx * sizeof *len);
  size_t used = 0;
  for (size_t k = 0; k < n; k++) {
    size_t i = order[k];
    uint32_t ctx = pref[i] >= 0 ? ops[pref[i]] : o->k;
    uint64_t c = codes[k];
    if (c < len[ctx]) {
      ops[i] = pool[at[ctx] + c];
      continue;
    }
    if (c - len[ctx] >= o->k)
      return col_bad(e, "op_refs", "span %zu: operation %llu past the %u operations", i,
                     (unsigned long long)(c - len[ctx]), o->k);
    ops[i] = (uint32_t)(c - len[ctx]);
    if (len[ctx] == cap[ctx]) {
      uint32_t room = cap[ctx] ? 2 * cap[ctx] : 4;
      if (!(pool = tl_vec_get(&o->pool, (used + room) * sizeof *pool)))
        return tl_err_set(e, TL_ENOMEM, "columnar: out of memory");
      if (len[ctx]) memcpy(pool + used, pool + at[ctx], len[ctx] * sizeof *pool);
      at[ctx] = used;
      cap[ctx] = room;
      used += room;
    }
    pool[at[ctx] + len[ctx]++] = ops[i];
  }
  return TL_OK;
}

const uint32_t *col_ops_of_spans(col_ops *o) {
  if (o->resolved) return o->ops.p;
  col_reader *r = o->r;
  size_t n = o->n;
  uint32_t *ops = tl_vec_get(&o->ops, (n ? n : 1) * sizeof *ops);
  uint64_t *codes = tl_vec_get(&o->codes, (n ? n : 1) * sizeof *codes);
  if (!ops || !codes) {
    tl_err_set(r->e, TL_ENOMEM, "columnar: out of memory");
    return NULL;
  }
  tl_rd rd;
  int rc = n ? colr_get(r, COL_OP_REFS, 0, "op_refs", &rd) : TL_OK;
  if (!rc && n) {
    if (!tl_rd_left(&rd)) memset(codes, 0, n * sizeof *codes);
    else if (!(rc = intcol_read(&rd, codes, n, 0, "op_refs", r->e)))
      rc = colr_done(r, &rd, "op_refs");
  }
  if (!rc && n) rc = walk_decode(o, codes, ops, n, o->order, o->pref, r->e);
  if (rc) return NULL;
  o->resolved = 1;
  return ops;
}

int col_ops_write(col_ops *o, col_writer *w, const uint64_t *const *fields, size_t n,
                  const uint32_t *order, const int64_t *pref) {
  uint64_t *tv = tl_vec_get(&o->tuple_vals, (n ? n : 1) * OP_FIELDS * sizeof *tv);
  uint32_t *ops = tl_vec_get(&o->ops, (n ? n : 1) * sizeof *ops);
  uint64_t *codes = tl_vec_get(&o->codes, (n ? n : 1) * sizeof *codes);
  if (!tv || !ops || !codes) return tl_err_set(w->e, TL_ENOMEM, "columnar: out of memory");
  for (size_t i = 0; i < n; i++)
    for (int f = 0; f < OP_FIELDS; f++) tv[i * OP_FIELDS + f] = fields[f][i];
  tl_strdict_reset(&o->tuples);
  for (size_t i = 0; i < n; i++) {
    int64_t op = tl_strdict_code(
        &o->tuples, (tl_str){(const char *)(tv + i * OP_FIELDS), OP_FIELDS * sizeof *tv});
    if (op < 0) return tl_err_set(w->e, TL_ENOMEM, "columnar: out of memory");
    ops[i] = (uint32_t)op;
  }
  o->k = o->tuples.n;
  o->resolved = 1;
  if (!n) return TL_OK;
  uint64_t *col = tl_vec_get(&o->table, (size_t)o->k * sizeof *col);
  if (!col) return tl_err_set(w->e, TL_ENOMEM, "columnar: out of memory");
  tl_buf *t = colw_cand(w, 0);
  tl_buf_varint(t, o->k);
  for (int f = 0; f < OP_FIELDS; f++) {
    for (uint32_t k = 0; k < o->k; k++) col[k] = ((const uint64_t *)o->tuples.items[k].ptr)[f];
    intcol_write(w, t, col, o->k, 0, 0);
  }
  int rc = colw_put_best(w, COL_OPS, 0, 1);
  if (!rc) rc = walk_encode(o, codes, ops, n, order, pref, w->e);
  return rc ? rc : colw_put_ints(w, COL_OP_REFS, 0, codes, n, 0);
}

int col_ops_read(col_ops *o, col_reader *r, size_t n, const uint32_t *order,
                 const int64_t *pref) {
  tl_rd rd;
  o->k = 0;
  o->r = r;
  o->n = n;
  o->order = order;
  o->pref = pref;
  o->resolved = 0;
  int rc = colr_get(r, COL_OPS, 0, "ops", &rd);
  if (rc || !n) return rc;
  if (!tl_rd_left(&rd)) return col_bad(r->e, "ops", "missing");
  uint64_t k = tl_rd_varint(&rd);
  /* Every operation is used by a span. */
  if (rd.err || k == 0 || k > n) return col_bad(r->e, "ops", "bad operation count");
  uint64_t *table = tl_vec_get(&o->table, (size_t)k * OP_FIELDS * sizeof *table);
  if (!table) return tl_err_set(r->e, TL_ENOMEM, "columnar: out of memory");
  for (int f = 0; f < OP_FIELDS && !rc; f++)
    rc = intcol_read(&rd, table + (size_t)f * k, (size_t)k, 0, "ops", r->e);
  if (!rc) rc = colr_done(r, &rd, "ops");
  if (rc) return rc;
  o->k = (uint32_t)k;
  return TL_OK;
}
