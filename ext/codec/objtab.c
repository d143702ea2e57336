/*
** objtab.c — resources and scopes for the relational and columnar codecs
** (codec_internal.h): a block holds each distinct one once and spans refer
** to it by code, as the NDJSON baseline does not (it repeats the resource
** on every line).
**
** Objects are told apart by content, not address: spans of one block can
** come from several batches ('optimize' merges decoded blocks), and equal
** resources must get one code.  Cheap first: the struct bytes of an object
** (equal structs are equal objects, and a batch shares one object among
** its spans); then the serialized bytes of each distinct struct.  A block
** whose spans all have empty objects writes no table at all, and an empty
** object reads back as the batch's shared empty one.
*/
#include "codec_internal.h"

#include <stdlib.h>
#include <string.h>

void tl_objtab_free(tl_objtab *t) {
  tl_strdict_free(&t->ptrs);
  tl_strdict_free(&t->contents);
  tl_buf_free(&t->ser);
  free(t->offs);
  free(t->map);
  memset(t, 0, sizeof *t);
}

static int empty_attrs(const tl_attrs *a) { return !a->n && !a->dropped; }

static int is_empty(int kind, const void *obj) {
  if (kind == TL_OBJ_RESOURCE) {
    const tl_resource *r = obj;
    return empty_attrs(&r->attrs) && !r->schema_url.len;
  }
  const tl_scope *s = obj;
  return empty_attrs(&s->attrs) && !s->name.len && !s->version.len && !s->schema_url.len;
}

static int write_obj(int kind, const void *obj, tl_strdict *strs, tl_buf *out, const char *who,
                     tl_err *e) {
  if (kind == TL_OBJ_RESOURCE) {
    const tl_resource *r = obj;
    int rc = tl_attrs_write(out, strs, &r->attrs, who, e);
    return rc ? rc : tl_text_write(out, strs, r->schema_url, who, e);
  }
  const tl_scope *s = obj;
  int rc = tl_text_write(out, strs, s->name, who, e);
  if (!rc) rc = tl_text_write(out, strs, s->version, who, e);
  if (!rc) rc = tl_attrs_write(out, strs, &s->attrs, who, e);
  return rc ? rc : tl_text_write(out, strs, s->schema_url, who, e);
}

int tl_objtab_build(tl_objtab *t, int kind, const void *const *objs, size_t n, tl_strdict *strs,
                    uint64_t *codes, tl_buf *table, const char *who, tl_err *e) {
  if (n + 1 > t->cap) {
    size_t *offs = realloc(t->offs, (n + 1) * sizeof *offs);
    if (offs) t->offs = offs;
    uint64_t *map = realloc(t->map, (n + 1) * sizeof *map);
    if (map) t->map = map;
    if (!offs || !map) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", who);
    t->cap = n + 1;
  }
  size_t size = kind == TL_OBJ_RESOURCE ? sizeof(tl_resource) : sizeof(tl_scope);
  tl_strdict_reset(&t->ptrs);
  tl_strdict_reset(&t->contents);
  tl_buf_reset(&t->ser);
  int any = 0;
  t->offs[0] = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t before = t->ptrs.n;
    int64_t k = tl_strdict_code(&t->ptrs, (tl_str){objs[i], (uint32_t)size});
    if (k < 0) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", who);
    codes[i] = (uint64_t)k;
    if (t->ptrs.n == before) continue;
    int rc = write_obj(kind, objs[i], strs, &t->ser, who, e);
    if (rc) return rc;
    t->offs[k + 1] = t->ser.n;
    any |= !is_empty(kind, objs[i]);
  }
  if (t->ser.oom) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", who);
  if (!any) {
    memset(codes, 0, n * sizeof *codes);
    return TL_OK;
  }
  /* t->ser no longer moves: content keys can point into it. */
  for (uint32_t k = 0; k < t->ptrs.n; k++) {
    int64_t code = tl_strdict_code(
        &t->contents, (tl_str){t->ser.p + t->offs[k], (uint32_t)(t->offs[k + 1] - t->offs[k])});
    if (code < 0) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", who);
    t->map[k] = (uint64_t)code;
  }
  for (size_t i = 0; i < n; i++) codes[i] = t->map[codes[i]];
  tl_buf_varint(table, t->contents.n);
  for (uint32_t k = 0; k < t->contents.n; k++)
    tl_buf_append(table, t->contents.items[k].ptr, t->contents.items[k].len);
  return table->oom ? tl_err_set(e, TL_ENOMEM, "%s: out of memory", who) : TL_OK;
}

int tl_obj_read(int kind, tl_rd *rd, tl_batch *b, tl_kvbuf *kb, tl_strtab *strs,
                const void **out, const char *what, tl_err *e) {
  int rc;
  *out = NULL;
  if (kind == TL_OBJ_RESOURCE) {
    tl_resource skipped, *r = b ? tl_batch_alloc(b, sizeof *r) : &skipped;
    if (!r) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", what);
    rc = tl_attrs_read(rd, b, kb, strs, &r->attrs, what, e);
    if (!rc) rc = tl_text_read(rd, b, strs, &r->schema_url, what, e);
    if (rc || !b) return rc;
    tl_resource_set_service(r);
    *out = is_empty(kind, r) ? tl_batch_empty_resource(b) : (const void *)r;
    return TL_OK;
  }
  tl_scope skipped, *s = b ? tl_batch_alloc(b, sizeof *s) : &skipped;
  if (!s) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", what);
  rc = tl_text_read(rd, b, strs, &s->name, what, e);
  if (!rc) rc = tl_text_read(rd, b, strs, &s->version, what, e);
  if (!rc) rc = tl_attrs_read(rd, b, kb, strs, &s->attrs, what, e);
  if (!rc) rc = tl_text_read(rd, b, strs, &s->schema_url, what, e);
  if (rc || !b) return rc;
  *out = is_empty(kind, s) ? tl_batch_empty_scope(b) : (const void *)s;
  return TL_OK;
}
