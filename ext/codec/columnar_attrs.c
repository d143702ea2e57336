/*
** columnar_attrs.c — attribute lists of the columnar codec, split into one
** column per (key, value type): the values of `http.route` are strings next
** to each other, those of `http.response.status_code` integers next to each
** other, so that each compresses as what it is.  Used three times per block:
** span attributes, event attributes, link attributes (the "sets").
**
** A set is up to four streams plus one per column (docs/format.md,
** "columnar: attributes"):
**   columns  LEB128 C, then per column: u8 value type, key (LEB128 length,
**            bytes)
**   shapes   LEB128 S, then per shape: LEB128 m, m column numbers: the
**            keys of one list, in order (duplicate keys included)
**   refs     integer column: the shape of each list
**   dropped  integer column: dropped_attributes_count of each list
**   values   one stream per column, index = column number, holding the
**            values of that column in list order:
**              string  u8 0, string table, integer column of codes; or
**                      u8 1, integer column of lengths, the bytes
**              bytes   integer column of lengths, the bytes
**              int     integer column (signed)
**              double  integer column of the IEEE-754 bits
**              bool    one byte each (0 or 1)
**              array, kvlist   typed values (valenc.c), one after another
**              empty   no stream
** Absent refs or dropped streams read as zeros; a set with no attribute at
** all is no stream.  A list's keys come back in its order, duplicates too.
**
** Why shapes: a service's spans of one operation carry the same keys in
** the same order, so a block of 4096 spans has a few dozen shapes and a
** list costs one small code instead of one key code per attribute.  Why
** strings choose: a table of codes wins for repeated values (methods,
** routes), plain bytes for ids and free text; the writer measures both.
*/
#include "columnar_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_TYPES 8

struct col_attrs {
  tl_strdict keys, shapes, strs;
  tl_vec colmap;  /* key code * N_TYPES + type -> column + 1 */
  tl_vec col_key, col_type, seq, offs, u64, vals, counts, starts, cursor, dsts;
  tl_strtab tab;
  tl_kvbuf kb;
  tl_buf name;
  tl_vec dtypes, dkeys, dshapes, dshape_offs; /* decoder */
  tl_vec shape_codes;                        /* of the set prepared last */
  tl_vec owners, last;                       /* trace of each value, per trace memory */
  tl_vec used, shape_n, ucols, uoffs;        /* col_attrs_read with want */
  const col_ctx *ctx;                         /* span set only: trace and op of each list */
  uint32_t ncols;
  size_t total;
};

col_attrs *col_attrs_new(void) { return calloc(1, sizeof(col_attrs)); }

void col_attrs_free(col_attrs *a) {
  if (!a) return;
  tl_strdict_free(&a->keys);
  tl_strdict_free(&a->shapes);
  tl_strdict_free(&a->strs);
  tl_vec *vs[] = {&a->colmap, &a->col_key, &a->col_type, &a->seq,        &a->offs,
                   &a->u64,    &a->vals,    &a->counts,   &a->starts,     &a->cursor,
                   &a->dtypes, &a->dkeys,   &a->dshapes,  &a->dshape_offs, &a->shape_codes, &a->owners, &a->last, &a->dsts, &a->used, &a->shape_n, &a->ucols, &a->uoffs};
  for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) tl_vec_free(vs[i]);
  tl_strtab_free(&a->tab);
  tl_kvbuf_free(&a->kb);
  tl_buf_free(&a->name);
  free(a);
}

static unsigned kind_of(int set, int part) { return COL_ATTRS + 8 * (unsigned)set + (unsigned)part; }

static const char *const set_names[ATTR_SETS] = {"attributes", "events.attributes",
                                                 "links.attributes"};

/* "attributes.shapes" and the like, for messages. */
static const char *part_name(col_attrs *a, int set, const char *part) {
  tl_buf_reset(&a->name);
  tl_buf_printf(&a->name, "%s.%s", set_names[set], part);
  const char *s = tl_buf_cstr(&a->name);
  return s ? s : set_names[set];
}

/* ---- writing --------------------------------------------------------------- */

static int oom(tl_err *e) { return tl_err_set(e, TL_ENOMEM, "columnar: out of memory"); }

/* The column numbers of every item, list by list, into a->seq / a->offs;
** the columns into a->col_key / a->col_type.  Returns the item count. */
static int assign_columns(col_attrs *a, const tl_attrs *const *lists, size_t n, uint32_t *ncols,
                          size_t *total, tl_err *e) {
  size_t items = 0;
  for (size_t i = 0; i < n; i++) items += lists[i]->n;
  if (items > COL_MAX_ITEMS)
    return tl_err_set(e, TL_ERANGE, "columnar: %zu attributes in one block, at most %u", items,
                      COL_MAX_ITEMS);
  uint32_t *seq = tl_vec_get(&a->seq, (items + 1) * sizeof *seq);
  size_t *offs = tl_vec_get(&a->offs, (n + 1) * sizeof *offs);
  uint32_t *col_key = tl_vec_get(&a->col_key, (items + 1) * sizeof *col_key);
  uint8_t *col_type = tl_vec_get(&a->col_type, items + 1);
  if (!seq || !offs || !col_key || !col_type) return oom(e);
  tl_strdict_reset(&a->keys);
  uint32_t cols = 0;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    offs[i] = k;
    for (uint32_t j = 0; j < lists[i]->n; j++) {
      const tl_kv *kv = &lists[i]->items[j];
      if (kv->value.type >= N_TYPES)
        return tl_err_set(e, TL_EMISUSE, "columnar: attribute value of unknown type %u",
                          kv->value.type);
      uint32_t before = a->keys.n;
      int64_t key = tl_strdict_code(&a->keys, kv->key);
      uint32_t *map = key < 0 ? NULL
                              : tl_vec_get(&a->colmap, (size_t)a->keys.n * N_TYPES * sizeof *map);
      if (!map) return oom(e);
      if (a->keys.n != before) memset(map + (size_t)key * N_TYPES, 0, N_TYPES * sizeof *map);
      uint32_t *slot = &map[(size_t)key * N_TYPES + kv->value.type];
      if (!*slot) {
        col_key[cols] = (uint32_t)key;
        col_type[cols] = kv->value.type;
        *slot = ++cols;
      }
      seq[k++] = *slot - 1;
    }
  }
  offs[n] = k;
  *ncols = cols;
  *total = k;
  return TL_OK;
}

static int put_columns_table(col_attrs *a, col_writer *w, int set, uint32_t ncols) {
  const uint32_t *col_key = a->col_key.p;
  const uint8_t *col_type = a->col_type.p;
  tl_buf *t = colw_cand(w, 0);
  tl_buf_varint(t, ncols);
  for (uint32_t c = 0; c < ncols; c++) {
    tl_buf_putc(t, (char)col_type[c]);
    tl_str_write(t, a->keys.items[col_key[c]]);
  }
  return colw_put_best(w, kind_of(set, AP_COLUMNS), 0, 1);
}

/* The shape code of each list into a->shape_codes. */
static int assign_shapes(col_attrs *a, size_t n, tl_err *e) {
  const uint32_t *seq = a->seq.p;
  const size_t *offs = a->offs.p;
  uint64_t *v = tl_vec_get(&a->shape_codes, (n ? n : 1) * sizeof *v);
  if (!v) return oom(e);
  tl_strdict_reset(&a->shapes);
  for (size_t i = 0; i < n; i++) {
    tl_str key = {(const char *)(seq + offs[i]), (uint32_t)((offs[i + 1] - offs[i]) * 4)};
    int64_t code = tl_strdict_code(&a->shapes, key);
    if (code < 0) return oom(e);
    v[i] = (uint64_t)code;
  }
  return TL_OK;
}

int col_attrs_prepare(col_attrs *a, int set, const tl_attrs *const *lists, size_t n, tl_err *e) {
  (void)set;
  int rc = assign_columns(a, lists, n, &a->ncols, &a->total, e);
  return rc ? rc : assign_shapes(a, n, e);
}

const uint64_t *col_attrs_shapes(const col_attrs *a) { return a->shape_codes.p; }

/* Shapes table, shape of each list (with_refs), dropped counts. */
static int put_shapes(col_attrs *a, col_writer *w, int set, const tl_attrs *const *lists,
                      size_t n, int with_refs) {
  tl_buf *t = colw_cand(w, 0);
  tl_buf_varint(t, a->shapes.n);
  for (uint32_t s = 0; s < a->shapes.n; s++) {
    const uint32_t *cols = (const uint32_t *)a->shapes.items[s].ptr;
    uint32_t m = a->shapes.items[s].len / 4;
    tl_buf_varint(t, m);
    for (uint32_t j = 0; j < m; j++) tl_buf_varint(t, cols[j]);
  }
  int rc = colw_put_best(w, kind_of(set, AP_SHAPES), 0, 1);
  const uint64_t *codes = a->shape_codes.p;
  int zero = 1;
  for (size_t i = 0; i < n && zero; i++) zero = codes[i] == 0;
  if (!rc && with_refs && !zero) rc = colw_put_ints(w, kind_of(set, AP_REFS), 0, codes, n, 0);
  uint64_t *v = tl_vec_get(&a->u64, (n ? n : 1) * sizeof *v);
  if (!v) return oom(w->e);
  zero = 1;
  for (size_t i = 0; i < n; i++) zero &= (v[i] = lists[i]->dropped) == 0;
  if (!rc && !zero) rc = colw_put_ints(w, kind_of(set, AP_DROPPED), 0, v, n, 0);
  return rc;
}

/* String column modes: a table and codes (plain, or relative to the
** trace's or the operation's last value), or lengths and bytes. */
enum { STR_DICT, STR_PLAIN, STR_TRACE, STR_OP, STR_PARENT };
/* Integer column modes: the values, or relative to the operation's last. */
enum { IV_RAW, IV_OP };

/* Context codes: 0 when the value is the one this column last had in the
** same context (the same trace: a session id; the same operation: a server
** port), else the value + 1.  In place; owner[i] is the list of value i.
** ctx_undo reverses it, refusing a 0 with no earlier value. */
static int ctx_codes(col_attrs *a, int which, uint64_t *codes, const uint32_t *owner, size_t m) {
  const uint32_t *of = a->ctx->of[which];
  uint64_t *last = tl_vec_get(&a->last, ((size_t)a->ctx->n[which] + 1) * sizeof *last);
  if (!last) return -1;
  memset(last, 0xff, ((size_t)a->ctx->n[which] + 1) * sizeof *last);
  for (size_t i = 0; i < m; i++) {
    uint32_t t = of[owner[i]];
    uint64_t code = codes[i];
    codes[i] = last[t] == code ? 0 : code + 1;
    last[t] = code;
  }
  return 0;
}

static int ctx_undo(col_attrs *a, int which, uint64_t *codes, const uint32_t *owner, size_t m,
                    const char *name, tl_err *e) {
  const uint32_t *of = a->ctx->of[which];
  uint64_t *last = tl_vec_get(&a->last, ((size_t)a->ctx->n[which] + 1) * sizeof *last);
  if (!last) return oom(e);
  memset(last, 0xff, ((size_t)a->ctx->n[which] + 1) * sizeof *last);
  for (size_t i = 0; i < m; i++) {
    uint32_t t = of[owner[i]];
    if (t > a->ctx->n[which] || (codes[i] == 0 && last[t] == UINT64_MAX))
      return col_bad(e, name, "value %zu: no earlier value in its %s", i,
                     which == CTX_TRACE ? "trace" : which == CTX_OP ? "operation" : "parent");
    codes[i] = codes[i] ? codes[i] - 1 : last[t];
    last[t] = codes[i];
  }
  return TL_OK;
}

/* A string column as a table of codes (optionally relative to the trace's
** last value) and as plain lengths and bytes; the writer keeps the
** smallest.  owner[i]: the list value i belongs to. */
static int put_string_column(col_attrs *a, col_writer *w, unsigned kind, unsigned index,
                             const tl_value *const *vals, const uint32_t *owner, size_t m) {
  uint64_t *v = tl_vec_get(&a->u64, m * sizeof *v);
  if (!v) return oom(w->e);
  tl_strdict_reset(&a->strs);
  for (size_t i = 0; i < m; i++) {
    int64_t code = tl_strdict_code(&a->strs, vals[i]->u.s);
    if (code < 0) return oom(w->e);
    v[i] = (uint64_t)code;
  }
  int ncand = 0;
  if (a->strs.n < m) {
    /* The table goes in the last candidate slot, as the others' prefix. */
    tl_buf *t = colw_cand(w, COL_MAX_CAND - 1);
    tl_buf_putc(t, STR_DICT);
    tl_strdict_write(&a->strs, t);
    ncand = intcol_cands(w, 0, t->p, t->n, v, m, 0, FORMS_PLAIN);
    for (int which = 0; a->ctx && which < CTX_COUNT; which++) {
      uint64_t *x = tl_vec_get(&a->counts, m * sizeof *x);
      if (!x) return oom(w->e);
      memcpy(x, v, m * sizeof *x);
      if (ctx_codes(a, which, x, owner, m)) return oom(w->e);
      t->p[0] = (char)(STR_TRACE + which);
      ncand += intcol_cands(w, ncand, t->p, t->n, x, m, 0, FORMS_PLAIN);
    }
  }
  for (size_t i = 0; i < m; i++) v[i] = vals[i]->u.s.len;
  tl_buf *t = colw_cand(w, ncand);
  tl_buf_putc(t, STR_PLAIN);
  intcol_write(w, t, v, m, 0, 0);
  for (size_t i = 0; i < m; i++)
    if (vals[i]->u.s.len) tl_buf_append(t, vals[i]->u.s.ptr, vals[i]->u.s.len);
  return colw_put_best(w, kind, index, ncand + 1);
}

/* An int column as it is and, for spans, relative to the operation's last
** value (zigzagged first; INT64_MIN has no code there). */
static int put_int_column(col_attrs *a, col_writer *w, unsigned kind, unsigned index,
                          const tl_value *const *vals, const uint32_t *owner, size_t m) {
  uint64_t *v = tl_vec_get(&a->u64, m * sizeof *v);
  if (!v) return oom(w->e);
  int wide = 0;
  for (size_t i = 0; i < m; i++) {
    v[i] = (uint64_t)vals[i]->u.i;
    wide |= vals[i]->u.i == INT64_MIN;
  }
  uint8_t mode = IV_RAW;
  int ncand = intcol_cands(w, 0, &mode, 1, v, m, 1, FORMS_PLAIN);
  if (a->ctx && !wide) {
    for (size_t i = 0; i < m; i++) v[i] = tl_zigzag(vals[i]->u.i);
    if (ctx_codes(a, CTX_OP, v, owner, m)) return oom(w->e);
    mode = IV_OP;
    ncand += intcol_cands(w, ncand, &mode, 1, v, m, 0, FORMS_PLAIN);
  }
  return colw_put_best_text(w, kind, index, ncand, 0);
}

static int put_value_column(col_attrs *a, col_writer *w, int set, uint32_t col, uint8_t type,
                            const tl_value *const *vals, const uint32_t *owner, size_t m) {
  unsigned kind = kind_of(set, AP_VALUES);
  if (type == TL_V_STRING) return put_string_column(a, w, kind, col, vals, owner, m);
  if (type == TL_V_INT) return put_int_column(a, w, kind, col, vals, owner, m);
  uint64_t *v = tl_vec_get(&a->u64, m * sizeof *v);
  if (!v) return oom(w->e);
  tl_buf *t;
  switch (type) {
    case TL_V_EMPTY: return TL_OK;
    case TL_V_DOUBLE:
      for (size_t i = 0; i < m; i++) memcpy(&v[i], &vals[i]->u.d, 8);
      return colw_put_best_text(w, kind, col, intcol_cands(w, 0, NULL, 0, v, m, 0, FORMS_PLAIN),
                                0);
    case TL_V_BOOL:
      t = colw_cand(w, 0);
      for (size_t i = 0; i < m; i++) tl_buf_putc(t, (char)(vals[i]->u.b != 0));
      return colw_put_best_text(w, kind, col, 1, 0);
    case TL_V_BYTES:
      t = colw_cand(w, 0);
      for (size_t i = 0; i < m; i++) v[i] = vals[i]->u.s.len;
      intcol_write(w, t, v, m, 0, 0);
      for (size_t i = 0; i < m; i++)
        if (vals[i]->u.s.len) tl_buf_append(t, vals[i]->u.s.ptr, vals[i]->u.s.len);
      return colw_put_best(w, kind, col, 1);
    default: /* array, kvlist */
      t = colw_cand(w, 0);
      for (size_t i = 0; i < m; i++) {
        int rc = tl_val_write(t, NULL, vals[i], "columnar", w->e);
        if (rc) return rc;
      }
      return colw_put_best(w, kind, col, 1);
  }
}

int col_attrs_write(col_attrs *a, col_writer *w, int set, const tl_attrs *const *lists, size_t n,
                    int with_refs, const col_ctx *ctx) {
  a->ctx = ctx;
  uint32_t ncols = a->ncols;
  size_t total = a->total;
  int rc, dropped = 0;
  for (size_t i = 0; i < n && !dropped; i++) dropped = lists[i]->dropped != 0;
  if (!total && !dropped) return TL_OK;
  if ((rc = put_columns_table(a, w, set, ncols)) || (rc = put_shapes(a, w, set, lists, n, with_refs)))
    return rc;
  /* The values grouped by column, each group in list order. */
  size_t *start = tl_vec_get(&a->starts, (ncols + 1) * sizeof *start);
  const tl_value **vals = tl_vec_get(&a->vals, (total ? total : 1) * sizeof *vals);
  uint32_t *owner = tl_vec_get(&a->owners, (total ? total : 1) * sizeof *owner);
  if (!start || !vals || !owner) return oom(w->e);
  const uint32_t *seq = a->seq.p;
  memset(start, 0, (ncols + 1) * sizeof *start);
  for (size_t k = 0; k < total; k++) start[seq[k] + 1]++;
  for (uint32_t c = 0; c < ncols; c++) start[c + 1] += start[c];
  size_t *cursor = tl_vec_get(&a->cursor, (ncols ? ncols : 1) * sizeof *cursor);
  if (!cursor) return oom(w->e);
  memcpy(cursor, start, ncols * sizeof *cursor);
  for (size_t i = 0, k = 0; i < n; i++)
    for (uint32_t j = 0; j < lists[i]->n; j++, k++) {
      owner[cursor[seq[k]]] = (uint32_t)i;
      vals[cursor[seq[k]]++] = &lists[i]->items[j].value;
    }
  const uint8_t *col_type = a->col_type.p;
  for (uint32_t c = 0; c < ncols && !rc; c++) {
    tl_str key = a->keys.items[((const uint32_t *)a->col_key.p)[c]];
    w->value_tag = tl_hash(key.ptr ? key.ptr : "", key.len) ^ ((uint64_t)set << 8 | col_type[c]);
    rc = put_value_column(a, w, set, c, col_type[c], vals + start[c], owner + start[c],
                          start[c + 1] - start[c]);
  }
  return rc;
}

/* ---- reading ---------------------------------------------------------------- */

/* The columns table: types and keys (keys interned only with b). */
static int read_columns(col_attrs *a, col_reader *r, int set, tl_batch *b, uint32_t *ncols) {
  const char *name = part_name(a, set, "columns");
  tl_rd rd;
  *ncols = 0;
  int rc = colr_get(r, kind_of(set, AP_COLUMNS), 0, name, &rd);
  if (rc || !tl_rd_left(&rd)) return rc;
  uint64_t n = tl_rd_varint(&rd);
  /* A column takes at least two bytes (type, key length). */
  if (rd.err || n > tl_rd_left(&rd) / 2) return col_bad(r->e, name, "bad column count");
  uint8_t *types = tl_vec_get(&a->dtypes, (size_t)n + 1);
  tl_str *keys = tl_vec_get(&a->dkeys, ((size_t)n + 1) * sizeof *keys);
  if (!types || !keys) return oom(r->e);
  char what[160];
  snprintf(what, sizeof what, "columnar payload: stream %s", name);
  for (uint64_t c = 0; c < n; c++) {
    types[c] = tl_rd_u8(&rd);
    if (rd.err || types[c] >= N_TYPES) return col_bad(r->e, name, "column %llu: bad type",
                                                     (unsigned long long)c);
    if ((rc = tl_str_read(&rd, b, &keys[c], what, r->e))) return rc;
  }
  if ((rc = colr_done(r, &rd, name))) return rc;
  *ncols = (uint32_t)n;
  return TL_OK;
}

/* The shapes table into a->dshapes (column numbers) and a->dshape_offs. */
static int read_shapes(col_attrs *a, col_reader *r, int set, uint32_t ncols, uint32_t *nshapes) {
  const char *name = part_name(a, set, "shapes");
  tl_rd rd;
  *nshapes = 0;
  int rc = colr_get(r, kind_of(set, AP_SHAPES), 0, name, &rd);
  if (rc || !tl_rd_left(&rd)) return rc;
  uint64_t n = tl_rd_varint(&rd);
  if (rd.err || n > tl_rd_left(&rd)) return col_bad(r->e, name, "bad shape count");
  /* Every column number takes a byte: at most that many in all. */
  size_t cap = tl_rd_left(&rd);
  uint32_t *cols = tl_vec_get(&a->dshapes, (cap + 1) * sizeof *cols);
  size_t *offs = tl_vec_get(&a->dshape_offs, ((size_t)n + 1) * sizeof *offs);
  if (!cols || !offs) return oom(r->e);
  size_t k = 0;
  for (uint64_t s = 0; s < n; s++) {
    offs[s] = k;
    uint64_t m = tl_rd_varint(&rd);
    if (rd.err || m > tl_rd_left(&rd)) return col_bad(r->e, name, "shape %llu: bad length",
                                                     (unsigned long long)s);
    for (uint64_t j = 0; j < m; j++) {
      uint64_t c = tl_rd_varint(&rd);
      if (rd.err || c >= ncols)
        return col_bad(r->e, name, "shape %llu: bad column", (unsigned long long)s);
      cols[k++] = (uint32_t)c;
    }
  }
  offs[n] = k;
  if ((rc = colr_done(r, &rd, name))) return rc;
  *nshapes = (uint32_t)n;
  return TL_OK;
}

/* n integers of part `part` (zeros when absent). */
static int read_ints(col_attrs *a, col_reader *r, int set, int part, const char *pname,
                     uint64_t *v, size_t n) {
  const char *name = part_name(a, set, pname);
  tl_rd rd;
  int rc = colr_get(r, kind_of(set, part), 0, name, &rd);
  if (rc) return rc;
  if (!tl_rd_left(&rd)) {
    memset(v, 0, n * sizeof *v);
    return TL_OK;
  }
  rc = intcol_read(&rd, v, n, 0, name, r->e);
  return rc ? rc : colr_done(r, &rd, name);
}

/* Where value i of a column goes: the value of item dst[i] of kv; NOWHERE
** for the value of a list not asked for (col_attrs_read's want), which is
** read past but not built. */
typedef struct value_dst {
  tl_kv *kv;
  const uint32_t *dst;
} value_dst;
#define NOWHERE UINT32_MAX

static inline tl_value *slot(const value_dst *out, size_t i) {
  return out->dst[i] == NOWHERE ? NULL : &out->kv[out->dst[i]].value;
}

/* Lengths then bytes: m strings (interned, or copied for bytes values). */
static int read_plain(col_attrs *a, tl_rd *rd, const char *name, const value_dst *out, size_t m,
                      uint8_t type, tl_batch *b, tl_err *e) {
  uint64_t *len = tl_vec_get(&a->u64, (m ? m : 1) * sizeof *len);
  if (!len) return oom(e);
  int rc = intcol_read(rd, len, m, 0, name, e);
  if (rc) return rc;
  uint64_t total = 0;
  for (size_t i = 0; i < m; i++) {
    if (len[i] > TL_MAX_STRING) return col_bad(e, name, "string longer than the limit");
    total += len[i];
  }
  if (total > tl_rd_left(rd)) return col_bad(e, name, "strings are truncated");
  for (size_t i = 0; i < m; i++) {
    const char *p = (const char *)tl_rd_bytes(rd, (size_t)len[i]);
    tl_value *o = slot(out, i);
    if (!o) continue;
    o->type = type;
    o->u.s = type == TL_V_STRING ? tl_batch_intern(b, p, (size_t)len[i])
                                 : tl_batch_copy(b, p, (size_t)len[i]);
    if (!o->u.s.ptr && len[i]) return oom(e);
  }
  return TL_OK;
}

/* The m values of column `col` of type `type` into their items of out
** (zeroed memory). */
static int read_values(col_attrs *a, col_reader *r, int set, uint32_t col, uint8_t type,
                       tl_str key, const value_dst *out, const uint32_t *owner, size_t m,
                       tl_batch *b) {
  tl_buf_reset(&a->name);
  tl_buf_printf(&a->name, "%s.", set_names[set]);
  tl_buf_append(&a->name, key.ptr, key.len > 100 ? 100 : key.len);
  const char *name = tl_buf_cstr(&a->name);
  if (!name) return oom(r->e);
  tl_rd rd;
  int rc = colr_get(r, kind_of(set, AP_VALUES), col, name, &rd);
  if (rc) return rc;
  if ((type == TL_V_EMPTY) != !tl_rd_left(&rd))
    return col_bad(r->e, name, type == TL_V_EMPTY ? "values of an empty column" : "missing");
  uint64_t *v = tl_vec_get(&a->u64, (m ? m : 1) * sizeof *v);
  if (!v) return oom(r->e);
  switch (type) {
    case TL_V_EMPTY: return TL_OK;
    case TL_V_STRING: {
      uint8_t mode = tl_rd_u8(&rd);
      if (mode == STR_PLAIN) {
        rc = read_plain(a, &rd, name, out, m, type, b, r->e);
        break;
      }
      if (mode > STR_PARENT || (mode >= STR_TRACE && !a->ctx))
        return col_bad(r->e, name, "bad string mode");
      if ((rc = tl_strtab_read(&a->tab, &rd, (uint32_t)m, name, r->e)) ||
          (rc = intcol_read(&rd, v, m, 0, name, r->e)))
        return rc == TL_EFORMAT ? (tl_err_clear(r->e), col_bad(r->e, name, "bad string table"))
                                : rc;
      if (mode >= STR_TRACE &&
          (rc = ctx_undo(a, mode - STR_TRACE, v, owner, m, name, r->e)))
        return rc;
      for (size_t i = 0; i < m; i++) {
        if (v[i] >= a->tab.n) return col_bad(r->e, name, "string code past the table");
        tl_value *o = slot(out, i);
        if (!o) continue;
        o->type = TL_V_STRING;
        o->u.s = tl_strtab_get(&a->tab, b, (uint32_t)v[i]);
        if (!o->u.s.ptr) return oom(r->e);
      }
      break;
    }
    case TL_V_BYTES: rc = read_plain(a, &rd, name, out, m, type, b, r->e); break;
    case TL_V_INT: {
      uint8_t mode = tl_rd_u8(&rd);
      if (mode > IV_OP || (mode == IV_OP && !a->ctx)) return col_bad(r->e, name, "bad mode");
      if ((rc = intcol_read(&rd, v, m, mode == IV_RAW, name, r->e))) return rc;
      if (mode == IV_OP) {
        if ((rc = ctx_undo(a, CTX_OP, v, owner, m, name, r->e))) return rc;
        for (size_t i = 0; i < m; i++) v[i] = (uint64_t)tl_unzigzag(v[i]);
      }
      for (size_t i = 0; i < m; i++) {
        tl_value *o = slot(out, i);
        if (!o) continue;
        o->type = TL_V_INT;
        o->u.i = (int64_t)v[i];
      }
      break;
    }
    case TL_V_DOUBLE:
      if ((rc = intcol_read(&rd, v, m, 0, name, r->e))) return rc;
      for (size_t i = 0; i < m; i++) {
        tl_value *o = slot(out, i);
        if (!o) continue;
        o->type = type;
        memcpy(&o->u.d, &v[i], 8);
      }
      break;
    case TL_V_BOOL:
      for (size_t i = 0; i < m; i++) {
        uint8_t x = tl_rd_u8(&rd);
        if (rd.err || x > 1) return col_bad(r->e, name, "bad bool");
        tl_value *o = slot(out, i);
        if (!o) continue;
        o->type = TL_V_BOOL;
        o->u.b = x;
      }
      break;
    default: { /* array, kvlist */
      char what[160];
      snprintf(what, sizeof what, "columnar payload: stream %s", name);
      /* Nested values are read in sequence: one not asked for is read
      ** (into the batch) to get past it. */
      for (size_t i = 0; i < m && !rc; i++) {
        tl_value skipped, *o = slot(out, i);
        if (!o) o = &skipped;
        rc = tl_val_read(&rd, b, &a->kb, NULL, o, what, r->e);
        if (!rc && o->type != type) rc = col_bad(r->e, name, "value of another type");
      }
    }
  }
  return rc ? rc : colr_done(r, &rd, name);
}

int col_attrs_read(col_attrs *a, col_reader *r, int set, tl_attrs *const *lists, size_t n,
                   int want_items, const uint64_t *refs, const col_ctx *ctx, const uint8_t *want,
                   tl_batch *b) {
  a->ctx = ctx;
  uint32_t ncols, nshapes;
  uint64_t *v = tl_vec_get(&a->counts, (n ? n : 1) * sizeof *v);
  if (!v) return oom(r->e);
  int rc = read_ints(a, r, set, AP_DROPPED, "dropped", v, n);
  for (size_t i = 0; i < n && !rc; i++) {
    if (v[i] > UINT32_MAX) return col_bad(r->e, part_name(a, set, "dropped"), "past 32 bits");
    lists[i]->dropped = (uint32_t)v[i];
  }
  if (rc || !want_items) return rc;
  if ((rc = read_columns(a, r, set, b, &ncols)) || (rc = read_shapes(a, r, set, ncols, &nshapes)))
    return rc;
  if (refs) memcpy(v, refs, n * sizeof *v);
  else if ((rc = read_ints(a, r, set, AP_REFS, "refs", v, n))) return rc;
  /* No value stream past the columns. */
  for (size_t i = 0; i < r->ns; i++)
    if (r->s[i].kind == kind_of(set, AP_VALUES) && r->s[i].index >= ncols)
      return col_bad(r->e, part_name(a, set, "values"), "stream for column %u of %u",
                     r->s[i].index, ncols);
  const size_t *offs = a->dshape_offs.p;
  const uint32_t *cols = a->dshapes.p;
  size_t *count = tl_vec_get(&a->starts, ((size_t)ncols + 1) * sizeof *count);
  if (!count) return oom(r->e);
  memset(count, 0, ((size_t)ncols + 1) * sizeof *count);
  /* total: the items of every list; kept: of the lists asked for.  The
  ** values of each column are counted shape by shape (lists of a block
  ** share a few dozen shapes). */
  size_t total = 0, kept = 0;
  uint32_t *shape_n = tl_vec_get(&a->shape_n, ((size_t)nshapes + 1) * sizeof *shape_n);
  if (!shape_n) return oom(r->e);
  memset(shape_n, 0, ((size_t)nshapes + 1) * sizeof *shape_n);
  for (size_t i = 0; i < n; i++) {
    if (v[i] >= nshapes && !(v[i] == 0 && nshapes == 0))
      return col_bad(r->e, part_name(a, set, "refs"), "list %zu: shape %llu past the %u shapes",
                     i, (unsigned long long)v[i], nshapes);
    size_t m = nshapes ? offs[v[i] + 1] - offs[v[i]] : 0;
    if (m > COL_MAX_ITEMS - total)
      return col_bad(r->e, part_name(a, set, "refs"), "more than %u attributes", COL_MAX_ITEMS);
    total += m;
    if (!want || want[i]) kept += m;
    shape_n[v[i]]++;
  }
  if (!total) return TL_OK;
  for (uint32_t sh = 0; sh < nshapes; sh++)
    for (size_t j = offs[sh]; j < offs[sh + 1]; j++) count[cols[j] + 1] += shape_n[sh];
  for (uint32_t c = 0; c < ncols; c++) count[c + 1] += count[c]; /* now starts */
  uint32_t *dst = tl_vec_get(&a->dsts, total * sizeof *dst);
  tl_kv *kv = kept ? tl_batch_alloc(b, kept * sizeof *kv) : NULL;
  size_t *cursor = tl_vec_get(&a->cursor, ((size_t)ncols + 1) * sizeof *cursor);
  uint32_t *owner = tl_vec_get(&a->owners, total * sizeof *owner);
  if (!dst || (kept && !kv) || !cursor || !owner) return oom(r->e);
  /* The items of each list, its keys; column by column, the list each value
  ** belongs to and the item it goes into (NOWHERE for a list not asked
  ** for, which keeps no items). */
  const tl_str *keys = a->dkeys.p;
  memcpy(cursor, count, (size_t)ncols * sizeof *cursor);
  /* A column no list asked for holds values of other lists only: it is
  ** skipped, its stream not even decompressed. */
  uint8_t *used = tl_vec_get(&a->used, (size_t)ncols + 1);
  if (!used) return oom(r->e);
  memset(used, !want, ncols);
  for (size_t i = 0; want && i < n; i++)
    for (size_t j = 0, m = want[i] && nshapes ? offs[v[i] + 1] - offs[v[i]] : 0; j < m; j++)
      used[cols[offs[v[i]] + j]] = 1;
  /* Each shape's used columns (ucols[uoffs[s] .. uoffs[s + 1])): all a
  ** list not asked for has to place. */
  const uint32_t *ucols = cols;
  const size_t *uoffs = offs;
  if (want && nshapes) {
    uint32_t *uc = tl_vec_get(&a->ucols, (offs[nshapes] + 1) * sizeof *uc);
    size_t *uo = tl_vec_get(&a->uoffs, ((size_t)nshapes + 1) * sizeof *uo), k = 0;
    if (!uc || !uo) return oom(r->e);
    for (uint32_t sh = 0; sh < nshapes; sh++) {
      uo[sh] = k;
      for (size_t j = offs[sh]; j < offs[sh + 1]; j++)
        if (used[cols[j]]) uc[k++] = cols[j];
    }
    uo[nshapes] = k;
    ucols = uc;
    uoffs = uo;
  }
  for (size_t i = 0, k = 0; i < n; i++) {
    size_t m = nshapes ? offs[v[i] + 1] - offs[v[i]] : 0;
    int keep = !want || want[i];
    lists[i]->items = m && keep ? kv + k : NULL;
    lists[i]->n = keep ? (uint32_t)m : 0;
    if (!keep) {
      for (size_t j = m ? uoffs[v[i]] : 0, end = m ? uoffs[v[i] + 1] : 0; j < end; j++) {
        uint32_t c = ucols[j];
        owner[cursor[c]] = (uint32_t)i;
        dst[cursor[c]++] = NOWHERE;
      }
      continue;
    }
    for (size_t j = 0; j < m; j++) {
      uint32_t c = cols[offs[v[i]] + j];
      owner[cursor[c]] = (uint32_t)i;
      kv[k].key = keys[c];
      dst[cursor[c]++] = (uint32_t)k++;
    }
  }
  const uint8_t *types = a->dtypes.p;
  for (uint32_t c = 0; c < ncols && !rc; c++) {
    if (!used[c]) continue;
    value_dst out = {kv, dst + count[c]};
    rc = read_values(a, r, set, c, types[c], keys[c], &out, owner + count[c],
                     count[c + 1] - count[c], b);
  }
  return rc;
}

int col_attrs_column_name(col_reader *r, int set, unsigned index, tl_buf *out) {
  tl_rd rd;
  int rc = colr_get(r, kind_of(set, AP_COLUMNS), 0, "columns", &rd);
  if (rc) return rc;
  uint64_t n = tl_rd_varint(&rd);
  for (uint64_t c = 0; c < n && !rd.err; c++) {
    tl_rd_u8(&rd);
    uint64_t len = tl_rd_varint(&rd);
    const uint8_t *p = tl_rd_bytes(&rd, (size_t)(len <= tl_rd_left(&rd) ? len : tl_rd_left(&rd) + 1));
    if (p && c == index) {
      tl_buf_append(out, p, (size_t)len);
      return TL_OK;
    }
  }
  tl_buf_printf(out, "#%u", index);
  return TL_OK;
}
