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
  tl_vec owners, last;                       /* list of each value, per context memory */
  tl_vec shape_n, wstart, touched, wpos;      /* col_attrs_read with want */
  const col_ctx *ctx;                         /* span set only: trace and op of each list */
  tl_vec ocursor;                             /* all_owners */
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
                   &a->dtypes, &a->dkeys,   &a->dshapes,  &a->dshape_offs, &a->shape_codes,
                   &a->owners, &a->last,    &a->dsts,     &a->shape_n,    &a->touched,
                   &a->wstart, &a->wpos,    &a->ocursor};
  for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) tl_vec_free(vs[i]);
  tl_strtab_free(&a->tab);
  tl_kvbuf_free(&a->kb);
  tl_buf_free(&a->name);
  free(a);
}

static unsigned kind_of(int set, int part) { return COL_ATTRS + 8 * (unsigned)set + (unsigned)part; }

static const char *const set_names[ATTR_SETS] = {"attributes", "events.attributes",
                                                 "links.attributes"};

/* "<set>.<part>" in a->name, for messages: "attributes.shapes", or a
** value column's "attributes.<key>" (up to 100 bytes of it); NULL when out
** of memory.  Without printf: each of a block's columns names itself
** before it is read. */
static const char *set_part_name(col_attrs *a, int set, const char *part, size_t len) {
  tl_buf_reset(&a->name);
  tl_buf_puts(&a->name, set_names[set]);
  tl_buf_putc(&a->name, '.');
  tl_buf_append(&a->name, part, len > 100 ? 100 : len);
  return tl_buf_cstr(&a->name);
}

static const char *part_name(col_attrs *a, int set, const char *part) {
  const char *s = set_part_name(a, set, part, strlen(part));
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

static int no_earlier(tl_err *e, const char *name, size_t i, int which) {
  return col_bad(e, name, "value %zu: no earlier value in its %s", i,
                 which == CTX_TRACE ? "trace" : which == CTX_OP ? "operation" : "parent");
}

/* ctx_undo: over codes idx[j] (j when idx is NULL) for j below m, of
** lists owner[j]: every value of the contexts they are in. */
static int ctx_undo(col_attrs *a, int which, uint64_t *codes, const uint32_t *owner,
                    const uint32_t *idx, size_t m, const char *name, tl_err *e) {
  const uint32_t *of = a->ctx->of[which];
  uint64_t *last = tl_vec_get(&a->last, ((size_t)a->ctx->n[which] + 1) * sizeof *last);
  if (!last) return oom(e);
  memset(last, 0xff, ((size_t)a->ctx->n[which] + 1) * sizeof *last);
  for (size_t j = 0; j < m; j++) {
    size_t i = idx ? idx[j] : j;
    uint32_t t = of[owner[j]];
    if (t > a->ctx->n[which]) return no_earlier(e, name, i, which);
    /* Without a branch on the code (0 half of the time, at random): a
    ** code c > 0 is c - 1 (below UINT64_MAX), 0 the last value, which is
    ** UINT64_MAX when there is none. */
    uint64_t code = codes[i], x = code - 1 + (uint64_t)(code == 0) * (last[t] + 1);
    if (x == UINT64_MAX) return no_earlier(e, name, i, which);
    codes[i] = last[t] = x;
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

/* The columns table: types and keys, the keys in place (interned for the
** columns a list asked for uses: a trace lookup needs a few). */
static int read_columns(col_attrs *a, col_reader *r, int set, uint32_t *ncols) {
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
    if ((rc = tl_str_peek(&rd, &keys[c], what, r->e))) return rc;
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

/* The lists of the set read: their shapes and the shapes table; then, of
** one col_attrs_read, where each column's values start (count) and, with
** want, column c's values up to the last list asked for (upto) and the
** lists up to it (lim); whether a->owners holds the list of every value
** (all_owners). */
typedef struct lists_in {
  tl_attrs *const *lists;
  const uint64_t *shape;
  size_t n;
  uint32_t nshapes, ncols;
  const size_t *offs;
  const uint32_t *cols;
  const size_t *count, *upto;
  size_t lim;
  int owners_ready;
} lists_in;

/* The values of a column to build: for j below n, value idx[j] (j when
** idx is NULL: every value) of list owner[j] (NULL when no context needs
** it) into the value of item dst[j] of kv.  The others (of lists not asked
** for: col_attrs_read's want) are read past, not built. */
typedef struct value_dst {
  tl_kv *kv;
  const uint32_t *idx, *dst, *owner;
  size_t n;
  lists_in *in; /* the lists they belong to */
} value_dst;

static inline size_t value_at(const value_dst *out, size_t j) {
  return out->idx ? out->idx[j] : j;
}

static inline tl_value *slot(const value_dst *out, size_t j) {
  return &out->kv[out->dst[j]].value;
}

/* The list of every value of the lists read up to the last one asked for
** (column c's from in->count[c] on): what an operation's context needs
** when lists are skipped (a value refers to earlier ones only); built on
** first use, once per set. */
static const uint32_t *all_owners(col_attrs *a, lists_in *in) {
  uint32_t *own = tl_vec_get(&a->owners, (in->count[in->ncols] + 1) * sizeof *own);
  size_t *cursor = tl_vec_get(&a->ocursor, ((size_t)in->ncols + 1) * sizeof *cursor);
  if (!own || !cursor) return NULL;
  if (in->owners_ready) return own;
  memcpy(cursor, in->count, (size_t)in->ncols * sizeof *cursor);
  for (size_t i = 0; i < in->lim; i++)
    for (size_t j = in->offs[in->shape[i]], end = in->offs[in->shape[i] + 1]; j < end; j++)
      own[cursor[in->cols[j]]++] = (uint32_t)i;
  in->owners_ready = 1;
  return own;
}

/* Undoes the context codes of column c for the values out
** builds.  A trace's values are all among them (col_attrs_read asks for
** whole traces); an operation's may be in lists not asked for: then every
** value of the column up to the last list asked for is undone. */
static int undo_codes(col_attrs *a, int which, uint64_t *v, const value_dst *out, uint32_t c,
                      const char *name, tl_err *e) {
  if (!out->idx || which == CTX_TRACE)
    return ctx_undo(a, which, v, out->owner, out->idx, out->n, name, e);
  const uint32_t *own = all_owners(a, out->in);
  return own ? ctx_undo(a, which, v, own + out->in->count[c], NULL, out->in->upto[c], name, e)
             : oom(e);
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
  const char *p = (const char *)tl_rd_bytes(rd, (size_t)total);
  for (size_t i = 0, j = 0, at = 0; i < m && j < out->n; at += len[i++]) {
    if (value_at(out, j) != i) continue;
    tl_str s = type == TL_V_STRING ? tl_batch_intern(b, p + at, (size_t)len[i])
                                   : tl_batch_copy(b, p + at, (size_t)len[i]);
    if (!s.ptr && len[i]) return oom(e);
    *slot(out, j++) = (tl_value){.type = type, .u.s = s};
  }
  return TL_OK;
}

/* The m values of column `col` of type `type` into the items out says
** (whose memory is not zeroed: every value is written whole). */
static int read_values(col_attrs *a, col_reader *r, int set, uint32_t col, uint8_t type,
                       tl_str key, const value_dst *out, size_t m, tl_batch *b) {
  const char *name = set_part_name(a, set, key.ptr, key.len);
  if (!name) return oom(r->e);
  tl_rd rd;
  int rc = colr_get(r, kind_of(set, AP_VALUES), col, name, &rd);
  if (rc) return rc;
  if ((type == TL_V_EMPTY) != !tl_rd_left(&rd))
    return col_bad(r->e, name, type == TL_V_EMPTY ? "values of an empty column" : "missing");
  uint64_t *v = tl_vec_get(&a->u64, (m ? m : 1) * sizeof *v);
  if (!v) return oom(r->e);
  switch (type) {
    case TL_V_EMPTY:
      for (size_t j = 0; j < out->n; j++) *slot(out, j) = (tl_value){.type = TL_V_EMPTY};
      return TL_OK;
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
      if (mode >= STR_TRACE && (rc = undo_codes(a, mode - STR_TRACE, v, out, col, name, r->e)))
        return rc;
      for (size_t j = 0; j < out->n; j++) {
        uint64_t code = v[value_at(out, j)];
        if (code >= a->tab.n) return col_bad(r->e, name, "string code past the table");
        tl_str s = tl_strtab_get(&a->tab, b, (uint32_t)code);
        if (!s.ptr) return oom(r->e);
        *slot(out, j) = (tl_value){.type = TL_V_STRING, .u.s = s};
      }
      break;
    }
    case TL_V_BYTES: rc = read_plain(a, &rd, name, out, m, type, b, r->e); break;
    case TL_V_INT: {
      uint8_t mode = tl_rd_u8(&rd);
      if (mode > IV_OP || (mode == IV_OP && !a->ctx)) return col_bad(r->e, name, "bad mode");
      if ((rc = intcol_read(&rd, v, m, mode == IV_RAW, name, r->e)) ||
          (mode == IV_OP && (rc = undo_codes(a, CTX_OP, v, out, col, name, r->e))))
        return rc;
      for (size_t j = 0; j < out->n; j++) {
        uint64_t x = v[value_at(out, j)];
        *slot(out, j) = (tl_value){.type = TL_V_INT,
                                   .u.i = mode == IV_OP ? tl_unzigzag(x) : (int64_t)x};
      }
      break;
    }
    case TL_V_DOUBLE:
      if ((rc = intcol_read(&rd, v, m, 0, name, r->e))) return rc;
      for (size_t j = 0; j < out->n; j++) {
        tl_value *o = slot(out, j);
        *o = (tl_value){.type = type};
        memcpy(&o->u.d, &v[value_at(out, j)], 8);
      }
      break;
    case TL_V_BOOL: {
      const uint8_t *x = tl_rd_bytes(&rd, m);
      for (size_t i = 0; i < m && x; i++)
        if (x[i] > 1) x = NULL;
      if (!x) return col_bad(r->e, name, "bad bool");
      for (size_t j = 0; j < out->n; j++)
        *slot(out, j) = (tl_value){.type = TL_V_BOOL, .u.b = x[value_at(out, j)]};
      break;
    }
    default: { /* array, kvlist */
      char what[160];
      snprintf(what, sizeof what, "columnar payload: stream %s", name);
      /* Nested values are read in sequence: one not asked for is read
      ** past (checked, not built). */
      for (size_t i = 0, j = 0; i < m && !rc; i++) {
        int keep = j < out->n && value_at(out, j) == i;
        tl_value skipped, *o = keep ? slot(out, j++) : &skipped;
        rc = tl_val_read(&rd, keep ? b : NULL, &a->kb, NULL, o, what, r->e);
        if (!rc && o->type != type) rc = col_bad(r->e, name, "value of another type");
      }
    }
  }
  return rc ? rc : colr_done(r, &rd, name);
}

/* Column c's key interned (it was left in place by read_columns). */
static int intern_key(tl_str *key, tl_batch *b, tl_err *e) {
  if (!key->len) {
    *key = (tl_str){NULL, 0};
    return TL_OK;
  }
  *key = tl_batch_intern(b, key->ptr, key->len);
  return key->ptr ? TL_OK : oom(e);
}

/* Every list built: the items of each in kv (keys set), and for column c
** its values, in list order, at count[c] .. count[c + 1) of dst (the item
** of each) and, for contexts, of a->owners (the list of each). */
static int place_all(col_attrs *a, const lists_in *in, const size_t *count, size_t total,
                     tl_kv *kv, tl_err *e) {
  const tl_str *keys = a->dkeys.p;
  uint32_t *dst = tl_vec_get(&a->dsts, total * sizeof *dst);
  uint32_t *owner = a->ctx ? tl_vec_get(&a->owners, total * sizeof *owner) : NULL;
  size_t *cursor = tl_vec_get(&a->cursor, ((size_t)in->ncols + 1) * sizeof *cursor);
  if (!dst || (a->ctx && !owner) || !cursor) return oom(e);
  memcpy(cursor, count, (size_t)in->ncols * sizeof *cursor);
  for (size_t i = 0, k = 0; i < in->n; i++) {
    const uint32_t *sc = in->cols + in->offs[in->shape[i]];
    size_t m = in->offs[in->shape[i] + 1] - in->offs[in->shape[i]];
    in->lists[i]->items = m ? kv + k : NULL;
    in->lists[i]->n = (uint32_t)m;
    for (size_t j = 0; j < m; j++, k++) {
      size_t at = cursor[sc[j]]++;
      if (owner) owner[at] = (uint32_t)i;
      kv[k].key = keys[sc[j]];
      dst[at] = (uint32_t)k;
    }
  }
  return TL_OK;
}

/* The lists asked for (want[i]) built, the others left empty: the items
** of each in kv (keys set), and for column c the values to build at
** wstart[c] .. wstart[c + 1) of a->wpos, three arrays of `kept`: each
** value's position in the column, its item, its list.  A run of lists not
** asked for costs no step per value: it moves the position in each column
** by what its shapes hold, counted shape by shape when the run ends. */
static int place_wanted(col_attrs *a, lists_in *in, const uint8_t *want,
                        const uint32_t *wstart, size_t kept, tl_kv *kv, tl_err *e) {
  const tl_str *keys = a->dkeys.p;
  uint32_t *pos = tl_vec_get(&a->wpos, (3 * kept + 1) * sizeof *pos);
  size_t *cursor = tl_vec_get(&a->cursor, (2 * (size_t)in->ncols + 1) * sizeof *cursor);
  uint32_t *pend = tl_vec_get(&a->shape_n, ((size_t)in->nshapes + 1) * sizeof *pend);
  uint32_t *touched = tl_vec_get(&a->touched, ((size_t)in->nshapes + 1) * sizeof *touched);
  if (!pos || !cursor || !pend || !touched) return oom(e);
  uint32_t *item = pos + kept, *owner = pos + 2 * kept;
  size_t *next = cursor + in->ncols; /* where column c's next value to build goes */
  for (uint32_t c = 0; c < in->ncols; c++) {
    cursor[c] = 0;
    next[c] = wstart[c];
  }
  memset(pend, 0, (size_t)in->nshapes * sizeof *pend);
  uint32_t ntouched = 0;
  in->lim = 0;
  for (size_t i = 0, k = 0; i < in->n; i++) {
    uint64_t sh = in->shape[i];
    size_t m = in->nshapes ? in->offs[sh + 1] - in->offs[sh] : 0;
    in->lists[i]->items = NULL;
    in->lists[i]->n = 0;
    if (!m) continue;
    if (!want[i]) {
      if (pend[sh]++ == 0) touched[ntouched++] = (uint32_t)sh;
      continue;
    }
    for (uint32_t t = 0; t < ntouched; t++) {
      uint32_t s = touched[t];
      for (size_t j = in->offs[s]; j < in->offs[s + 1]; j++) cursor[in->cols[j]] += pend[s];
      pend[s] = 0;
    }
    ntouched = 0;
    const uint32_t *sc = in->cols + in->offs[sh];
    in->lists[i]->items = kv + k;
    in->lists[i]->n = (uint32_t)m;
    for (size_t j = 0; j < m; j++, k++) {
      size_t at = next[sc[j]]++;
      pos[at] = (uint32_t)cursor[sc[j]]++;
      item[at] = (uint32_t)k;
      owner[at] = (uint32_t)i;
      kv[k].key = keys[sc[j]];
    }
    in->lim = i + 1;
  }
  in->upto = cursor;
  return TL_OK;
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
  if ((rc = read_columns(a, r, set, &ncols)) || (rc = read_shapes(a, r, set, ncols, &nshapes)))
    return rc;
  if (refs) memcpy(v, refs, n * sizeof *v);
  else if ((rc = read_ints(a, r, set, AP_REFS, "refs", v, n))) return rc;
  /* No value stream past the columns. */
  for (size_t i = 0; i < r->ns; i++)
    if (r->s[i].kind == kind_of(set, AP_VALUES) && r->s[i].index >= ncols)
      return col_bad(r->e, part_name(a, set, "values"), "stream for column %u of %u",
                     r->s[i].index, ncols);
  lists_in in = {lists, v, n, nshapes, ncols, a->dshape_offs.p, a->dshapes.p, NULL, NULL, 0, 0};
  /* Where each column's values start: count (of every list), wstart (of
  ** the lists asked for); counted shape by shape, as lists of a block
  ** share a few dozen shapes. */
  size_t *count = tl_vec_get(&a->starts, ((size_t)ncols + 1) * sizeof *count);
  uint32_t *wstart = tl_vec_get(&a->wstart, ((size_t)ncols + 1) * sizeof *wstart);
  uint32_t *shape_n = tl_vec_get(&a->shape_n, (2 * (size_t)nshapes + 1) * sizeof *shape_n);
  if (!count || !wstart || !shape_n) return oom(r->e);
  uint32_t *shape_w = shape_n + nshapes;
  memset(count, 0, ((size_t)ncols + 1) * sizeof *count);
  memset(wstart, 0, ((size_t)ncols + 1) * sizeof *wstart);
  memset(shape_n, 0, 2 * (size_t)nshapes * sizeof *shape_n);
  in.count = count;
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i] >= nshapes && !(v[i] == 0 && nshapes == 0))
      return col_bad(r->e, part_name(a, set, "refs"), "list %zu: shape %llu past the %u shapes",
                     i, (unsigned long long)v[i], nshapes);
    size_t m = nshapes ? in.offs[v[i] + 1] - in.offs[v[i]] : 0;
    if (m > COL_MAX_ITEMS - total)
      return col_bad(r->e, part_name(a, set, "refs"), "more than %u attributes", COL_MAX_ITEMS);
    total += m;
    if (m) {
      shape_n[v[i]]++;
      shape_w[v[i]] += WANTED(want, i);
    }
  }
  if (!total) return TL_OK;
  for (uint32_t sh = 0; sh < nshapes; sh++)
    for (size_t j = in.offs[sh]; j < in.offs[sh + 1]; j++) {
      count[in.cols[j] + 1] += shape_n[sh];
      wstart[in.cols[j] + 1] += shape_w[sh];
    }
  for (uint32_t c = 0; c < ncols; c++) {
    count[c + 1] += count[c];
    wstart[c + 1] += wstart[c];
  }
  /* With want, only the columns of the lists asked for are read (a column
  ** of other lists only is not even decompressed) and their keys
  ** interned. */
  size_t kept = wstart[ncols];
  tl_str *keys = a->dkeys.p;
  for (uint32_t c = 0; c < ncols && !rc; c++)
    if (!want || wstart[c + 1] > wstart[c]) rc = intern_key(&keys[c], b, r->e);
  if (rc) return rc;
  tl_kv *kv = kept ? tl_batch_alloc_raw(b, kept * sizeof *kv) : NULL;
  if (kept && !kv) return oom(r->e);
  if ((rc = want ? place_wanted(a, &in, want, wstart, kept, kv, r->e)
                 : place_all(a, &in, count, total, kv, r->e)))
    return rc;
  const uint8_t *types = a->dtypes.p;
  const uint32_t *dst = a->dsts.p, *owner = a->owners.p, *pos = a->wpos.p;
  for (uint32_t c = 0; c < ncols && !rc; c++) {
    if (want && wstart[c + 1] == wstart[c]) continue;
    size_t m = count[c + 1] - count[c];
    value_dst out = {kv, NULL, dst + count[c], ctx ? owner + count[c] : NULL, m, &in};
    if (want)
      out = (value_dst){kv, pos + wstart[c], pos + kept + wstart[c], pos + 2 * kept + wstart[c],
                        wstart[c + 1] - wstart[c], &in};
    rc = read_values(a, r, set, c, types[c], keys[c], &out, m, b);
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
