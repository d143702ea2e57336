/*
** valenc.c — typed values and attribute lists as compact self-describing
** bytes (codec_internal.h has the grammar), for what the relational and
** columnar codecs store as a whole rather than split into columns:
** resources, scopes, array and kvlist values.  Strings are written inline;
** the streams holding them go through zstd, which finds the repeats.
**
** Reading is bounded like every decoder here: each count is checked
** against the bytes left before anything is allocated (every item takes at
** least one byte), nesting stops at TL_MAX_DEPTH, and strings are interned
** (values) or copied (bytes) into the batch.  Without a batch the readers
** only read past what they would build, with the same checks: a trace
** lookup skips the values and objects of the spans it does not show.
*/
#include "codec_internal.h"

#include <string.h>

/* Type byte of a bool: 8 + value, so that bools cost one byte. */
#define VT_BOOL_BASE 8

void tl_str_write(tl_buf *out, tl_str s) {
  tl_buf_varint(out, s.len);
  if (s.len) tl_buf_append(out, s.ptr, s.len);
}

int tl_text_write(tl_buf *out, tl_strdict *strs, tl_str s, const char *who, tl_err *e) {
  if (!strs) {
    tl_str_write(out, s);
    return TL_OK;
  }
  int64_t code = tl_strdict_code(strs, s);
  if (code < 0) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", who);
  tl_buf_varint(out, (uint64_t)code);
  return TL_OK;
}

static int val_write(tl_buf *out, tl_strdict *strs, const tl_value *v, int depth, const char *who,
                     tl_err *e);

static int kvs_write(tl_buf *out, tl_strdict *strs, const tl_kv *items, uint32_t n, int depth,
                     const char *who, tl_err *e) {
  tl_buf_varint(out, n);
  for (uint32_t i = 0; i < n; i++) {
    int rc = tl_text_write(out, strs, items[i].key, who, e);
    if (!rc) rc = val_write(out, strs, &items[i].value, depth, who, e);
    if (rc) return rc;
  }
  return TL_OK;
}

static int val_write(tl_buf *out, tl_strdict *strs, const tl_value *v, int depth, const char *who,
                     tl_err *e) {
  uint8_t le[8];
  uint64_t bits;
  switch (v->type) {
    case TL_V_EMPTY: tl_buf_putc(out, TL_V_EMPTY); return TL_OK;
    case TL_V_STRING:
      tl_buf_putc(out, TL_V_STRING);
      return tl_text_write(out, strs, v->u.s, who, e);
    case TL_V_BYTES:
      tl_buf_putc(out, TL_V_BYTES);
      tl_str_write(out, v->u.s);
      return TL_OK;
    case TL_V_BOOL: tl_buf_putc(out, (char)(VT_BOOL_BASE + (v->u.b != 0))); return TL_OK;
    case TL_V_INT:
      tl_buf_putc(out, TL_V_INT);
      tl_buf_varint(out, tl_zigzag(v->u.i));
      return TL_OK;
    case TL_V_DOUBLE:
      tl_buf_putc(out, TL_V_DOUBLE);
      memcpy(&bits, &v->u.d, 8);
      for (int i = 0; i < 8; i++) le[i] = (uint8_t)(bits >> (8 * i));
      tl_buf_append(out, le, 8);
      return TL_OK;
    case TL_V_ARRAY:
    case TL_V_KVLIST:
      if (depth >= TL_MAX_DEPTH)
        return tl_err_set(e, TL_ERANGE, "%s: attribute values nested deeper than %d", who,
                          TL_MAX_DEPTH);
      tl_buf_putc(out, (char)v->type);
      if (v->type == TL_V_KVLIST)
        return kvs_write(out, strs, v->u.kv.items, v->u.kv.n, depth + 1, who, e);
      tl_buf_varint(out, v->u.arr.n);
      for (uint32_t i = 0; i < v->u.arr.n; i++) {
        int rc = val_write(out, strs, &v->u.arr.items[i], depth + 1, who, e);
        if (rc) return rc;
      }
      return TL_OK;
    default:
      return tl_err_set(e, TL_EMISUSE, "%s: attribute value of unknown type %u", who, v->type);
  }
}

int tl_val_write(tl_buf *out, tl_strdict *strs, const tl_value *v, const char *who, tl_err *e) {
  return val_write(out, strs, v, 0, who, e);
}

int tl_attrs_write(tl_buf *out, tl_strdict *strs, const tl_attrs *a, const char *who, tl_err *e) {
  int rc = kvs_write(out, strs, a->items, a->n, 0, who, e);
  tl_buf_varint(out, a->dropped);
  return rc;
}

/* ---- reading ------------------------------------------------------------ */

static int bad(const char *what, const char *why, tl_err *e) {
  return tl_err_set(e, TL_EFORMAT, "%s: %s", what, why);
}

int tl_str_peek(tl_rd *r, tl_str *out, const char *what, tl_err *e) {
  uint64_t n = tl_rd_varint(r);
  if (!r->err && n > TL_MAX_STRING) return bad(what, "string longer than the limit", e);
  out->ptr = (const char *)tl_rd_bytes(r, (size_t)n);
  if (r->err) return bad(what, "truncated value", e);
  out->len = (uint32_t)n;
  return TL_OK;
}

int tl_str_read(tl_rd *r, tl_batch *b, tl_str *out, const char *what, tl_err *e) {
  tl_str in;
  int rc = tl_str_peek(r, &in, what, e);
  if (rc) return rc;
  *out = in.len && b ? tl_batch_intern(b, in.ptr, in.len) : (tl_str){NULL, 0};
  return in.len && b && !out->ptr ? tl_err_set(e, TL_ENOMEM, "%s: out of memory", what) : TL_OK;
}

int tl_text_read(tl_rd *r, tl_batch *b, tl_strtab *strs, tl_str *out, const char *what,
                 tl_err *e) {
  if (!strs) return tl_str_read(r, b, out, what, e);
  uint64_t code = tl_rd_varint(r);
  if (r->err) return bad(what, "truncated value", e);
  if (code >= strs->n) return tl_err_set(e, TL_EFORMAT, "%s: string %llu past the %u strings",
                                         what, (unsigned long long)code, strs->n);
  if (!b) {
    *out = (tl_str){NULL, 0};
    return TL_OK;
  }
  *out = tl_strtab_get(strs, b, (uint32_t)code);
  return out->ptr ? TL_OK : tl_err_set(e, TL_ENOMEM, "%s: out of memory", what);
}

static int val_read(tl_rd *r, tl_batch *b, tl_kvbuf *kb, tl_strtab *strs, tl_value *v, int depth,
                    const char *what, tl_err *e);

/* n (key, value) pairs into kb from position `from` on. */
static int kvs_read(tl_rd *r, tl_batch *b, tl_kvbuf *kb, tl_strtab *strs, uint32_t *n_out,
                    int depth, const char *what, tl_err *e) {
  uint64_t n = tl_rd_varint(r);
  if (r->err) return bad(what, "truncated value", e);
  /* A key and a value take at least two bytes. */
  if (n > tl_rd_left(r) / 2) return bad(what, "attribute list claims more items than fit", e);
  for (uint64_t i = 0; i < n; i++) {
    tl_str key;
    tl_value v;
    int rc = tl_text_read(r, b, strs, &key, what, e);
    if (!rc) rc = val_read(r, b, kb, strs, &v, depth, what, e);
    if (rc) return rc;
    if (!b) continue;
    if (!key.ptr) key = tl_batch_intern(b, "", 0); /* keys are interned, even empty ones */
    if (!key.ptr || tl_kvbuf_push(kb, key, v))
      return tl_err_set(e, TL_ENOMEM, "%s: out of memory", what);
  }
  *n_out = (uint32_t)n;
  return TL_OK;
}

static int val_read(tl_rd *r, tl_batch *b, tl_kvbuf *kb, tl_strtab *strs, tl_value *v, int depth,
                    const char *what, tl_err *e) {
  memset(v, 0, sizeof *v);
  uint8_t t = tl_rd_u8(r);
  if (r->err) return bad(what, "truncated value", e);
  tl_str in;
  int rc;
  switch (t) {
    case TL_V_EMPTY: v->type = TL_V_EMPTY; return TL_OK;
    case TL_V_STRING:
      v->type = t;
      if ((rc = tl_text_read(r, b, strs, &v->u.s, what, e)) || !b) return rc;
      if (!v->u.s.ptr) v->u.s = tl_batch_intern(b, "", 0); /* as the readers make it */
      return v->u.s.ptr ? TL_OK : tl_err_set(e, TL_ENOMEM, "%s: out of memory", what);
    case TL_V_BYTES:
      if ((rc = tl_str_peek(r, &in, what, e))) return rc;
      v->type = t;
      if (!b) return TL_OK;
      v->u.s = tl_batch_copy(b, in.ptr, in.len);
      if (!v->u.s.ptr && in.len) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", what);
      return TL_OK;
    case VT_BOOL_BASE:
    case VT_BOOL_BASE + 1:
      v->type = TL_V_BOOL;
      v->u.b = t - VT_BOOL_BASE;
      return TL_OK;
    case TL_V_INT:
      v->type = TL_V_INT;
      v->u.i = tl_unzigzag(tl_rd_varint(r));
      return r->err ? bad(what, "truncated value", e) : TL_OK;
    case TL_V_DOUBLE: {
      uint64_t bits = tl_rd_le64(r);
      if (r->err) return bad(what, "truncated value", e);
      v->type = TL_V_DOUBLE;
      memcpy(&v->u.d, &bits, 8);
      return TL_OK;
    }
    case TL_V_ARRAY:
    case TL_V_KVLIST:
      if (depth >= TL_MAX_DEPTH) return bad(what, "values nested deeper than 32", e);
      break;
    default: return tl_err_set(e, TL_EFORMAT, "%s: unknown value type %u", what, t);
  }
  v->type = t;
  if (t == TL_V_KVLIST) {
    uint32_t from = kb->n, n;
    tl_attrs a;
    if ((rc = kvs_read(r, b, kb, strs, &n, depth + 1, what, e)) || !b) return rc;
    if (tl_kvbuf_take(kb, from, b, &a)) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", what);
    v->u.kv.items = a.items;
    v->u.kv.n = n;
    return TL_OK;
  }
  uint64_t n = tl_rd_varint(r);
  if (r->err) return bad(what, "truncated value", e);
  if (n > tl_rd_left(r)) return bad(what, "array claims more items than fit", e);
  tl_value *items = n && b ? tl_batch_alloc(b, (size_t)n * sizeof *items) : NULL, skipped;
  if (n && b && !items) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", what);
  for (uint64_t i = 0; i < n; i++)
    if ((rc = val_read(r, b, kb, strs, b ? &items[i] : &skipped, depth + 1, what, e))) return rc;
  v->u.arr.items = items;
  v->u.arr.n = (uint32_t)n;
  return TL_OK;
}

int tl_val_read(tl_rd *r, tl_batch *b, tl_kvbuf *kb, tl_strtab *strs, tl_value *v,
                const char *what, tl_err *e) {
  uint32_t from = kb->n;
  int rc = val_read(r, b, kb, strs, v, 0, what, e);
  if (rc) kb->n = from;
  return rc;
}

int tl_attrs_read(tl_rd *r, tl_batch *b, tl_kvbuf *kb, tl_strtab *strs, tl_attrs *out,
                  const char *what, tl_err *e) {
  uint32_t from = kb->n, n;
  memset(out, 0, sizeof *out);
  int rc = kvs_read(r, b, kb, strs, &n, 0, what, e);
  if (rc) {
    kb->n = from;
    return rc;
  }
  if (b && tl_kvbuf_take(kb, from, b, out))
    return tl_err_set(e, TL_ENOMEM, "%s: out of memory", what);
  uint64_t dropped = tl_rd_varint(r);
  if (r->err || dropped > UINT32_MAX) return bad(what, "bad dropped attributes count", e);
  out->dropped = (uint32_t)dropped;
  return TL_OK;
}
