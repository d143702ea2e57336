/*
** row.c — spans to SQL rows and back (see row.h for the columns).
**
** Reading a row (tl_row_result) is on the hot path of every scan, so ids are
** hex-encoded into a stack buffer and JSON columns are written into one
** reused scratch buffer.  Writing a row (tl_row_to_span) is on the hot path
** of every INSERT: the resource and scope texts, identical for most rows of
** a batch, are parsed once per batch through tl_row_cache.
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include "row.h"

#include <string.h>

#include "../span/span_json.h"

int tl_sqlite_rc(int rc) {
  switch (rc) {
    case TL_OK: return SQLITE_OK;
    case TL_DONE: return SQLITE_DONE;
    case TL_ENOMEM: return SQLITE_NOMEM;
    case TL_EFORMAT: return SQLITE_ERROR;
    case TL_EIO: return SQLITE_IOERR;
    case TL_ERANGE: return SQLITE_TOOBIG;
    default: return SQLITE_ERROR;
  }
}

/* Text goes to SQLite as NUL-terminated text (length -1) wherever it has no
** NUL of its own.  SQLite 3.40 copies a text of given length without its
** terminator, and every client that reads the value through
** sqlite3_column_text (Python's sqlite3, most C programs) then makes the
** register grow to add one: allocator calls on every row, which cost a
** `SELECT *` read from C a quarter of its time (docs/storage.md, "Rendering
** rows").  A terminated copy is flagged as such and read in place.  p[n]
** must be 0. */
static void result_terminated(sqlite3_context *ctx, const char *p, size_t n) {
  sqlite3_result_text(ctx, p, memchr(p, 0, n) ? (int)n : -1, SQLITE_TRANSIENT);
}

static void result_hex(sqlite3_context *ctx, const uint8_t *p, size_t n) {
  char tmp[33];
  tl_hex_encode(p, n, tmp);
  tmp[2 * n] = 0;
  sqlite3_result_text(ctx, tmp, -1, SQLITE_TRANSIENT);
}

/* s is interned (span.h): NUL-terminated. */
static void result_str_or_null(sqlite3_context *ctx, tl_str s) {
  if (s.len)
    result_terminated(ctx, s.ptr, s.len);
  else
    sqlite3_result_null(ctx);
}

/* The JSON text just written into out ({NULL,0} when the column is NULL). */
static tl_str written(const tl_buf *out, int wrote) {
  tl_str t = {wrote ? out->p : NULL, wrote ? (uint32_t)out->n : 0};
  return t;
}

/* JSON text holds no NUL byte (tl_buf_json_str escapes U+0000); t is out's
** text, which has room for the terminator, or a copy memoised in the batch,
** which has it. */
static tl_str result_json(sqlite3_context *ctx, tl_buf *out, tl_str t) {
  tl_str none = {NULL, 0};
  if (out->oom) {
    sqlite3_result_error_nomem(ctx);
    return none;
  }
  if (!t.len) {
    sqlite3_result_null(ctx);
    return t;
  }
  if (t.ptr == out->p) out->p[out->n] = 0;
  sqlite3_result_text(ctx, t.ptr, -1, SQLITE_TRANSIENT);
  return t;
}

/* A resource's or scope's JSON: most rows of a batch share a few objects,
** so the text is written once per object and batch. */
static tl_str object_json(tl_batch *b, const void *obj, int is_resource, tl_buf *out) {
  tl_str t = b ? tl_batch_memo_get(b, obj) : (tl_str){NULL, 0};
  if (t.ptr) return t;
  int wrote = is_resource ? tl_json_resource(out, obj) : tl_json_scope(out, obj);
  t = written(out, wrote);
  if (b && t.len && !out->oom) {
    tl_str kept = tl_batch_memo_put(b, obj, t.ptr, t.len);
    if (kept.ptr) t = kept;
  }
  return t;
}

static const int json_cols[TL_NJSON] = {TL_COL_ATTRIBUTES, TL_COL_RESOURCE, TL_COL_EVENTS,
                                        TL_COL_LINKS, TL_COL_SCOPE, TL_COL_DROPPED};

int tl_row_json_index(int col) {
  for (int j = 0; j < TL_NJSON; j++)
    if (json_cols[j] == col) return j;
  return -1;
}

/* The JSON columns of tl_row_result: only they write into out, so only
** they reset it (most columns of a row are not JSON). */
static tl_str json_result(sqlite3_context *ctx, tl_batch *b, const tl_span *s, int col,
                          tl_buf *out) {
  tl_buf_reset(out);
  switch (col) {
    case TL_COL_ATTRIBUTES:
      return result_json(ctx, out, written(out, tl_json_attrs(out, &s->attrs)));
    case TL_COL_RESOURCE: return result_json(ctx, out, object_json(b, s->resource, 1, out));
    case TL_COL_EVENTS: return result_json(ctx, out, written(out, tl_json_events(out, s)));
    case TL_COL_LINKS: return result_json(ctx, out, written(out, tl_json_links(out, s)));
    case TL_COL_SCOPE: return result_json(ctx, out, object_json(b, s->scope, 0, out));
    default: return result_json(ctx, out, written(out, tl_json_dropped(out, s)));
  }
}

tl_str tl_row_result(sqlite3_context *ctx, tl_batch *b, const tl_span *s, int col, tl_buf *out) {
  tl_str none = {NULL, 0};
  switch (col) {
    case TL_COL_TRACE_ID: result_hex(ctx, s->trace_id, 16); break;
    case TL_COL_SPAN_ID: result_hex(ctx, s->span_id, 8); break;
    case TL_COL_PARENT_SPAN_ID:
      if (tl_span_is_root(s))
        sqlite3_result_null(ctx);
      else
        result_hex(ctx, s->parent_span_id, 8);
      break;
    case TL_COL_SERVICE: result_str_or_null(ctx, s->resource->service); break;
    case TL_COL_NAME: result_terminated(ctx, s->name.len ? s->name.ptr : "", s->name.len); break;
    /* Kind and status names are copied (SQLITE_TRANSIENT), not
    ** SQLITE_STATIC: a static result makes SQLite free the buffer of the
    ** register it lands in, and a scan reading several columns through one
    ** register would then allocate a new one for the next text column of
    ** every row.  A name out of range is NULL (sqlite3_result_text of NULL). */
    case TL_COL_KIND:
      sqlite3_result_text(ctx, tl_kind_name(s->kind), -1, SQLITE_TRANSIENT);
      break;
    case TL_COL_START_NS: sqlite3_result_int64(ctx, (sqlite3_int64)s->start_ns); break;
    case TL_COL_END_NS: sqlite3_result_int64(ctx, (sqlite3_int64)s->end_ns); break;
    case TL_COL_DURATION_NS:
      sqlite3_result_int64(ctx, (sqlite3_int64)(s->end_ns - s->start_ns));
      break;
    case TL_COL_STATUS_CODE:
      sqlite3_result_text(ctx, tl_status_name(s->status_code), -1, SQLITE_TRANSIENT);
      break;
    case TL_COL_STATUS_MESSAGE: result_str_or_null(ctx, s->status_message); break;
    case TL_COL_ATTRIBUTES:
    case TL_COL_RESOURCE:
    case TL_COL_EVENTS:
    case TL_COL_LINKS:
    case TL_COL_SCOPE:
    case TL_COL_DROPPED: return json_result(ctx, b, s, col, out);
    case TL_COL_TRACE_STATE: result_str_or_null(ctx, s->trace_state); break;
    case TL_COL_FLAGS: sqlite3_result_int64(ctx, s->flags); break;
    default: sqlite3_result_null(ctx); break;
  }
  return none;
}

void tl_row_offer_free(tl_row_offer *o) {
  for (int j = 0; j < TL_NJSON; j++) tl_buf_free(&o->buf[j]);
  memset(o, 0, sizeof *o);
}

/* ---- rows to spans ------------------------------------------------------ */

static const char *const col_names[TL_NCOL] = {
    "trace_id", "span_id", "parent_span_id", "service", "name", "kind",
    "start_ns", "end_ns", "duration_ns", "status_code", "status_message",
    "attributes", "resource", "events", "links", "scope", "trace_state",
    "flags", "dropped"};

#define CACHE_SLOTS 32

typedef struct cache_slot {
  uint64_t hash;
  tl_str text; /* copy in the batch, compared on a hash hit */
  const void *parsed;
} cache_slot;

struct tl_row_cache {
  cache_slot resource[CACHE_SLOTS];
  cache_slot scope[CACHE_SLOTS];
  tl_copy_cache *copies; /* what was copied from offered spans ... */
  uint64_t serial;       /* ... of this serial (0: none yet) */
};

tl_row_cache *tl_row_cache_new(void) {
  tl_row_cache *c = sqlite3_malloc64(sizeof *c);
  if (!c) return NULL;
  memset(c, 0, sizeof *c);
  c->copies = tl_copy_cache_new();
  if (!c->copies) {
    sqlite3_free(c);
    return NULL;
  }
  return c;
}

void tl_row_cache_reset(tl_row_cache *c) {
  memset(c->resource, 0, sizeof c->resource);
  memset(c->scope, 0, sizeof c->scope);
  if (c->serial) tl_copy_cache_reset(c->copies);
  c->serial = 0;
}

void tl_row_cache_free(tl_row_cache *c) {
  if (!c) return;
  tl_copy_cache_free(c->copies);
  sqlite3_free(c);
}

/* The slot for text in one of the cache's tables, and whether it holds it. */
static cache_slot *cache_find(cache_slot *table, const char *text, size_t n, int *hit) {
  uint64_t h = tl_hash(text, n);
  cache_slot *slot = &table[h % CACHE_SLOTS];
  *hit = slot->parsed && slot->hash == h && slot->text.len == n &&
         memcmp(slot->text.ptr, text, n) == 0;
  if (!*hit) {
    slot->hash = h;
    slot->parsed = NULL;
  }
  return slot;
}

static int cache_store(tl_batch *b, cache_slot *slot, const char *text, size_t n,
                       const void *parsed) {
  slot->text = tl_batch_copy(b, text, n);
  if (!slot->text.ptr) return TL_ENOMEM;
  slot->parsed = parsed;
  return TL_OK;
}

static int value_is_null(sqlite3_value *v) {
  return !v || sqlite3_value_type(v) == SQLITE_NULL;
}

/* Text of a value (NULL for SQL NULL); blobs are taken as their bytes. */
static const char *value_text(sqlite3_value *v, size_t *n) {
  if (value_is_null(v)) {
    *n = 0;
    return NULL;
  }
  const char *t = (const char *)sqlite3_value_text(v);
  *n = t ? (size_t)sqlite3_value_bytes(v) : 0;
  return t;
}

/* An id column: hex text of up to 2*size digits (left-padded with zeros, as
** Zipkin and Jaeger shorten ids) or a blob of exactly size bytes. */
static int parse_id(sqlite3_value *v, uint8_t *out, size_t size, int col, tl_err *e) {
  memset(out, 0, size);
  if (sqlite3_value_type(v) == SQLITE_BLOB) {
    if ((size_t)sqlite3_value_bytes(v) != size)
      return tl_err_set(e, TL_EFORMAT, "%s: a blob id must be %zu bytes, not %d",
                        col_names[col], size, sqlite3_value_bytes(v));
    memcpy(out, sqlite3_value_blob(v), size);
    return TL_OK;
  }
  size_t n;
  const char *t = value_text(v, &n);
  char padded[32];
  if (!t || n == 0 || n > 2 * size)
    return tl_err_set(e, TL_EFORMAT, "%s: expected up to %zu hex digits, got '%.*s'",
                      col_names[col], 2 * size, (int)(n > 40 ? 40 : n), t ? t : "");
  memset(padded, '0', 2 * size - n);
  memcpy(padded + 2 * size - n, t, n);
  if (tl_hex_decode(padded, 2 * size, out, size) < 0)
    return tl_err_set(e, TL_EFORMAT, "%s: not a hex id: '%.*s'", col_names[col],
                      (int)(n > 40 ? 40 : n), t);
  return TL_OK;
}

/* kind and status_code: a name (tl_kind_parse) or its integer. */
static int parse_enum_col(sqlite3_value *v, int col, int max,
                          int (*parse)(const char *, size_t), uint8_t *out, tl_err *e) {
  if (value_is_null(v)) {
    *out = 0;
    return TL_OK;
  }
  int t = sqlite3_value_type(v);
  if (t == SQLITE_INTEGER) {
    sqlite3_int64 i = sqlite3_value_int64(v);
    if (i < 0 || i > max)
      return tl_err_set(e, TL_EFORMAT, "%s: %lld is out of range 0..%d", col_names[col],
                        (long long)i, max);
    *out = (uint8_t)i;
    return TL_OK;
  }
  size_t n;
  const char *s = value_text(v, &n);
  int k = s ? parse(s, n) : -1;
  if (k < 0)
    return tl_err_set(e, TL_EFORMAT, "%s: unknown value '%.*s'", col_names[col],
                      (int)(n > 40 ? 40 : n), s ? s : "");
  *out = (uint8_t)k;
  return TL_OK;
}

static int parse_int_col(sqlite3_value *v, int col, sqlite3_int64 *out, tl_err *e) {
  int t = sqlite3_value_type(v);
  if (t == SQLITE_INTEGER) {
    *out = sqlite3_value_int64(v);
    return TL_OK;
  }
  if (t == SQLITE_FLOAT) {
    double d = sqlite3_value_double(v);
    if (d == (double)(sqlite3_int64)d) {
      *out = (sqlite3_int64)d;
      return TL_OK;
    }
  }
  if (t == SQLITE_TEXT) {
    /* Numeric text (from a CSV import) is accepted when it is an exact integer. */
    sqlite3_value *copy = sqlite3_value_dup(v);
    if (!copy) return TL_ENOMEM;
    sqlite3_value_numeric_type(copy);
    int ok = sqlite3_value_type(copy) == SQLITE_INTEGER;
    *out = ok ? sqlite3_value_int64(copy) : 0;
    sqlite3_value_free(copy);
    if (ok) return TL_OK;
  }
  size_t n;
  const char *s = value_text(v, &n);
  return tl_err_set(e, TL_EFORMAT, "%s: expected an integer, got '%.*s'", col_names[col],
                    (int)(n > 40 ? 40 : n), s ? s : "");
}

static int parse_text_col(tl_batch *b, sqlite3_value *v, tl_str *out) {
  size_t n;
  const char *t = value_text(v, &n);
  out->ptr = NULL;
  out->len = 0;
  if (!n) return TL_OK;
  *out = tl_batch_intern(b, t, n);
  return out->ptr ? TL_OK : (n > TL_MAX_STRING ? TL_ERANGE : TL_ENOMEM);
}

/* The resource of a row: parsed from its JSON (once per batch for each
** distinct text), then reconciled with the service column. */
static int row_resource(tl_batch *b, tl_row_cache *cache, sqlite3_value *json,
                        sqlite3_value *service, const tl_resource **out, tl_err *e) {
  size_t n, sn;
  const char *text = value_text(json, &n);
  const char *svc = value_text(service, &sn);
  const tl_resource *r = tl_batch_empty_resource(b);
  if (n) {
    int hit;
    cache_slot *slot = cache_find(cache->resource, text, n, &hit);
    if (hit) {
      r = slot->parsed;
    } else {
      tl_resource *parsed;
      int rc = tl_parse_resource(b, text, n, &parsed, e);
      if (rc) return rc;
      rc = cache_store(b, slot, text, n, parsed);
      if (rc) return rc;
      r = parsed;
    }
  }
  if (!sn || (r->service.len == sn && memcmp(r->service.ptr, svc, sn) == 0)) {
    *out = r;
    return TL_OK;
  }
  if (r->service.len || tl_attrs_get(&r->attrs, "service.name"))
    return tl_err_set(e, TL_EFORMAT,
                      "service: '%.*s' differs from the resource's service.name '%.*s'",
                      (int)(sn > 60 ? 60 : sn), svc, (int)r->service.len,
                      r->service.ptr ? r->service.ptr : "");
  /* A row with a service but no service.name in its resource (a hand-written
  ** INSERT): the service becomes the resource's first attribute. */
  tl_resource *with = tl_batch_alloc(b, sizeof *with);
  if (!with) return TL_ENOMEM;
  *with = *r;
  with->attrs.n = r->attrs.n + 1;
  with->attrs.items = tl_batch_alloc(b, sizeof(tl_kv) * with->attrs.n);
  if (!with->attrs.items) return TL_ENOMEM;
  with->attrs.items[0].key = tl_batch_intern_cstr(b, "service.name");
  with->attrs.items[0].value.type = TL_V_STRING;
  with->attrs.items[0].value.u.s = tl_batch_intern(b, svc, sn);
  if (!with->attrs.items[0].key.ptr || !with->attrs.items[0].value.u.s.ptr) return TL_ENOMEM;
  if (r->attrs.n) memcpy(with->attrs.items + 1, r->attrs.items, sizeof(tl_kv) * r->attrs.n);
  tl_resource_set_service(with);
  *out = with;
  return TL_OK;
}

static int row_scope(tl_batch *b, tl_row_cache *cache, sqlite3_value *json,
                     const tl_scope **out, tl_err *e) {
  size_t n;
  const char *text = value_text(json, &n);
  if (!n) {
    *out = tl_batch_empty_scope(b);
    return TL_OK;
  }
  int hit;
  cache_slot *slot = cache_find(cache->scope, text, n, &hit);
  if (hit) {
    *out = slot->parsed;
    return TL_OK;
  }
  tl_scope *parsed;
  int rc = tl_parse_scope(b, text, n, &parsed, e);
  if (!rc) rc = cache_store(b, slot, text, n, parsed);
  if (!rc) *out = parsed;
  return rc;
}

static int row_fill(tl_batch *b, tl_row_cache *cache, sqlite3_value **v, tl_span *s,
                    tl_err *e) {
  int rc;
  if (value_is_null(v[TL_COL_TRACE_ID]) || value_is_null(v[TL_COL_SPAN_ID]))
    return tl_err_set(e, TL_EFORMAT, "%s: a span needs a trace_id and a span_id",
                      value_is_null(v[TL_COL_TRACE_ID]) ? "trace_id" : "span_id");
  if ((rc = parse_id(v[TL_COL_TRACE_ID], s->trace_id, 16, TL_COL_TRACE_ID, e))) return rc;
  if ((rc = parse_id(v[TL_COL_SPAN_ID], s->span_id, 8, TL_COL_SPAN_ID, e))) return rc;
  if (!value_is_null(v[TL_COL_PARENT_SPAN_ID]) &&
      !(sqlite3_value_type(v[TL_COL_PARENT_SPAN_ID]) == SQLITE_TEXT &&
        sqlite3_value_bytes(v[TL_COL_PARENT_SPAN_ID]) == 0) &&
      (rc = parse_id(v[TL_COL_PARENT_SPAN_ID], s->parent_span_id, 8,
                     TL_COL_PARENT_SPAN_ID, e)))
    return rc;
  if ((rc = parse_text_col(b, v[TL_COL_NAME], &s->name))) return rc;
  if ((rc = parse_enum_col(v[TL_COL_KIND], TL_COL_KIND, 5, tl_kind_parse, &s->kind, e)))
    return rc;

  sqlite3_int64 start = 0, end = 0, dur = 0;
  int has_end = !value_is_null(v[TL_COL_END_NS]);
  int has_dur = !value_is_null(v[TL_COL_DURATION_NS]);
  if (value_is_null(v[TL_COL_START_NS]))
    return tl_err_set(e, TL_EFORMAT, "start_ns: a span needs a start time");
  if ((rc = parse_int_col(v[TL_COL_START_NS], TL_COL_START_NS, &start, e))) return rc;
  if (has_end && (rc = parse_int_col(v[TL_COL_END_NS], TL_COL_END_NS, &end, e))) return rc;
  if (has_dur && (rc = parse_int_col(v[TL_COL_DURATION_NS], TL_COL_DURATION_NS, &dur, e)))
    return rc;
  if (!has_end) end = has_dur ? (sqlite3_int64)((uint64_t)start + (uint64_t)dur) : start;
  if (has_end && has_dur && (sqlite3_int64)((uint64_t)end - (uint64_t)start) != dur)
    return tl_err_set(e, TL_EFORMAT, "duration_ns: %lld is not end_ns - start_ns (%lld)",
                      (long long)dur, (long long)((uint64_t)end - (uint64_t)start));
  s->start_ns = (uint64_t)start;
  s->end_ns = (uint64_t)end;

  if ((rc = parse_enum_col(v[TL_COL_STATUS_CODE], TL_COL_STATUS_CODE, 2, tl_status_parse,
                           &s->status_code, e)))
    return rc;
  if ((rc = parse_text_col(b, v[TL_COL_STATUS_MESSAGE], &s->status_message))) return rc;
  if ((rc = parse_text_col(b, v[TL_COL_TRACE_STATE], &s->trace_state))) return rc;
  if (!value_is_null(v[TL_COL_FLAGS])) {
    sqlite3_int64 flags;
    if ((rc = parse_int_col(v[TL_COL_FLAGS], TL_COL_FLAGS, &flags, e))) return rc;
    if (flags < 0 || flags > 0xFFFFFFFFll)
      return tl_err_set(e, TL_EFORMAT, "flags: %lld is not a 32-bit unsigned integer",
                        (long long)flags);
    s->flags = (uint32_t)flags;
  }

  size_t n;
  const char *t = value_text(v[TL_COL_ATTRIBUTES], &n);
  if ((rc = tl_parse_attrs(b, t, n, &s->attrs, e))) return rc;
  t = value_text(v[TL_COL_EVENTS], &n);
  if ((rc = tl_parse_events(b, t, n, s, e))) return rc;
  t = value_text(v[TL_COL_LINKS], &n);
  if ((rc = tl_parse_links(b, t, n, s, e))) return rc;
  t = value_text(v[TL_COL_DROPPED], &n);
  if ((rc = tl_parse_dropped(t, n, s, e))) return rc;
  if ((rc = row_resource(b, cache, v[TL_COL_RESOURCE], v[TL_COL_SERVICE], &s->resource, e)))
    return rc;
  return row_scope(b, cache, v[TL_COL_SCOPE], &s->scope, e);
}

/* ---- offered rows ---------------------------------------------------------- */

static int is_text(sqlite3_value *v, const char *p, size_t n) {
  if (sqlite3_value_type(v) != SQLITE_TEXT) return 0;
  /* The bytes as they are first: sqlite3_value_text() would make the value
  ** NUL-terminated, and a text a source shows comes without the NUL, so
  ** that reallocates it (a sixth of the CPU time of INSERT ... SELECT
  ** from trace_generate).  Bytes that differ may be UTF-16 (a database in
  ** that encoding): then the text as UTF-8 decides. */
  const void *t = sqlite3_value_blob(v);
  if ((size_t)sqlite3_value_bytes(v) == n && (n == 0 || (t && memcmp(t, p, n) == 0))) return 1;
  const unsigned char *u = sqlite3_value_text(v);
  return u && (size_t)sqlite3_value_bytes(v) == n && memcmp(u, p, n) == 0;
}

/* Text column that reads NULL when the string is empty. */
static int is_str_or_null(sqlite3_value *v, tl_str s) {
  return s.len ? is_text(v, s.ptr, s.len) : value_is_null(v);
}

static int is_int(sqlite3_value *v, uint64_t x) {
  return sqlite3_value_type(v) == SQLITE_INTEGER &&
         (uint64_t)sqlite3_value_int64(v) == x;
}

static int is_id(sqlite3_value *v, const uint8_t *id, size_t n) {
  char hex[32];
  tl_hex_encode(id, n, hex);
  return is_text(v, hex, 2 * n);
}

/* Whether v holds exactly the values tl_row_result shows for the offered
** span: every column compared, so that only the very row can pass. */
static int row_is_offered(sqlite3_value **v, const tl_row_offer *o) {
  const tl_span *s = o->span;
  if (!s || o->shown != (1u << TL_NJSON) - 1) return 0;
  for (int j = 0; j < TL_NJSON; j++) {
    sqlite3_value *x = v[json_cols[j]];
    if (o->json[j].ptr ? !is_text(x, o->json[j].ptr, o->json[j].len) : !value_is_null(x))
      return 0;
  }
  const char *name = s->name.len ? s->name.ptr : "";
  return is_id(v[TL_COL_TRACE_ID], s->trace_id, 16) && is_id(v[TL_COL_SPAN_ID], s->span_id, 8) &&
         (tl_span_is_root(s) ? value_is_null(v[TL_COL_PARENT_SPAN_ID])
                             : is_id(v[TL_COL_PARENT_SPAN_ID], s->parent_span_id, 8)) &&
         is_str_or_null(v[TL_COL_SERVICE], s->resource->service) &&
         is_text(v[TL_COL_NAME], name, s->name.len) &&
         is_text(v[TL_COL_KIND], tl_kind_name(s->kind), strlen(tl_kind_name(s->kind))) &&
         is_int(v[TL_COL_START_NS], s->start_ns) && is_int(v[TL_COL_END_NS], s->end_ns) &&
         is_int(v[TL_COL_DURATION_NS], s->end_ns - s->start_ns) &&
         is_text(v[TL_COL_STATUS_CODE], tl_status_name(s->status_code),
                 strlen(tl_status_name(s->status_code))) &&
         is_str_or_null(v[TL_COL_STATUS_MESSAGE], s->status_message) &&
         is_str_or_null(v[TL_COL_TRACE_STATE], s->trace_state) &&
         is_int(v[TL_COL_FLAGS], s->flags);
}

/* The slot of the cache's table for the JSON text shown for a resource or
** scope (src) of an offered span, NULL when the text is NULL or src was
** already copied for this serial.  When the slot holds that text, src is
** linked to the object copied or parsed from it earlier in this batch:
** a source shows the same few objects at new addresses in every chunk
** (serial), and they are shared rather than copied again, which also
** spares the codec recognising the copies as equal when it encodes.
** Equal texts are equal objects (the round trip of span_json.h) but for a
** NaN's sign and payload, which no source can show: its readers take
** doubles from JSON text, which names one NaN. */
static cache_slot *link_shown(tl_row_cache *cache, cache_slot *table, const void *src,
                              tl_str text) {
  if (!text.len || tl_copy_cache_get(cache->copies, src)) return NULL;
  int hit;
  cache_slot *slot = cache_find(table, text.ptr, text.len, &hit);
  if (!hit) return slot;
  tl_copy_cache_link(cache->copies, src, slot->parsed);
  return NULL;
}

/* The offered span copied into b. */
static int copy_offered(tl_batch *b, tl_row_cache *cache, const tl_row_offer *o, tl_span **out) {
  const tl_span *src = o->span;
  if (cache->serial != o->serial) {
    tl_copy_cache_reset(cache->copies);
    cache->serial = o->serial;
  }
  tl_str rtext = o->json[tl_row_json_index(TL_COL_RESOURCE)];
  tl_str stext = o->json[tl_row_json_index(TL_COL_SCOPE)];
  cache_slot *rslot = link_shown(cache, cache->resource, src->resource, rtext);
  cache_slot *sslot = link_shown(cache, cache->scope, src->scope, stext);
  int rc = tl_span_copy(b, src, cache->copies, out);
  if (rc) return rc;
  if (rslot) rc = cache_store(b, rslot, rtext.ptr, rtext.len, (*out)->resource);
  if (!rc && sslot) rc = cache_store(b, sslot, stext.ptr, stext.len, (*out)->scope);
  if (rc) tl_batch_pop_span(b); /* nothing of a failed row stays in b */
  return rc;
}

int tl_row_to_span(tl_batch *b, tl_row_cache *cache, sqlite3_value **values,
                   const tl_row_offer *offer, tl_span **out, tl_err *e) {
  if (offer && row_is_offered(values, offer)) {
    int rc = copy_offered(b, cache, offer, out);
    if (rc == TL_ENOMEM) return tl_err_set(e, TL_ENOMEM, "out of memory");
    if (rc == TL_OK) {
      if (offer->copied) (*offer->copied)++;
      return TL_OK;
    }
    /* Past a copy limit: the parse below reports it. */
  }
  tl_span *s = tl_batch_add_span(b);
  if (!s) return tl_err_set(e, TL_ENOMEM, "out of memory");
  int rc = row_fill(b, cache, values, s, e);
  if (rc) {
    tl_batch_pop_span(b);
    if (rc == TL_ENOMEM) tl_err_set(e, TL_ENOMEM, "out of memory");
    if (rc == TL_ERANGE) tl_err_set(e, TL_ERANGE, "a value is larger than %u bytes", TL_MAX_STRING);
    return rc;
  }
  *out = s;
  return TL_OK;
}
