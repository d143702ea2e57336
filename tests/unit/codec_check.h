/*
** codec_check.h — what the codec unit tests share (test_codec.c,
** test_codec_columnar.c, test_codec_relational.c): spans built by hand with
** every value type and edge the model allows, realistic spans, the
** comparison of spans field by field and as canonical NDJSON (the test of
** "lossless"), round trips through a codec, and the walk over every real
** trace file in ../shared/traces.
**
** Everything is static inline: each test uses some of it.
*/
#ifndef TL_CODEC_CHECK_H
#define TL_CODEC_CHECK_H

#include "../../ext/codec/codec.h"
#include "../../ext/gen/gen.h"
#include "../../ext/common/varint.h"
#include "../../ext/io/otlp_write.h"
#include "../../ext/io/reader.h"
#include "unit.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

/* ---- building spans ------------------------------------------------------- */

static inline tl_value v_str(tl_batch *b, const char *s, size_t n) {
  tl_value v = {TL_V_STRING, {.s = tl_batch_intern(b, s, n)}};
  return v;
}
static inline tl_value v_cstr(tl_batch *b, const char *s) { return v_str(b, s, strlen(s)); }
static inline tl_value v_int(int64_t i) {
  tl_value v = {TL_V_INT, {.i = i}};
  return v;
}
static inline tl_value v_dbl(double d) {
  tl_value v = {TL_V_DOUBLE, {.d = d}};
  return v;
}
static inline tl_value v_bool(int x) {
  tl_value v = {TL_V_BOOL, {.b = x}};
  return v;
}
static inline tl_value v_bytes(tl_batch *b, const char *p, size_t n) {
  tl_value v = {TL_V_BYTES, {.s = tl_batch_copy(b, p, n)}};
  return v;
}
static inline tl_value v_empty(void) {
  tl_value v = {TL_V_EMPTY, {.i = 0}};
  return v;
}
static inline tl_value v_array(tl_batch *b, const tl_value *items, uint32_t n) {
  tl_value v = {TL_V_ARRAY, {.i = 0}};
  v.u.arr.items = tl_batch_alloc(b, n * sizeof *items);
  if (n) memcpy(v.u.arr.items, items, n * sizeof *items);
  v.u.arr.n = n;
  return v;
}

/* An attribute list from keys and values given in pairs. */
static inline tl_attrs attrs_of(tl_batch *b, uint32_t dropped, const char *const *keys,
                         const tl_value *vals, uint32_t n) {
  tl_kvbuf kb = {0};
  tl_attrs a;
  for (uint32_t i = 0; i < n; i++)
    tl_kvbuf_push(&kb, tl_batch_intern(b, keys[i], strlen(keys[i])), vals[i]);
  tl_kvbuf_take(&kb, 0, b, &a);
  tl_kvbuf_free(&kb);
  a.dropped = dropped;
  return a;
}

static inline tl_value v_kvlist(tl_batch *b, const char *const *keys, const tl_value *vals,
                         uint32_t n) {
  tl_attrs a = attrs_of(b, 0, keys, vals, n);
  tl_value v = {TL_V_KVLIST, {.i = 0}};
  v.u.kv.items = a.items;
  v.u.kv.n = n;
  return v;
}

static inline void set_id(uint8_t *id, size_t n, uint64_t seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    id[i] = (uint8_t)(seed >> 56);
  }
}

static inline tl_resource *resource_of(tl_batch *b, const char *service, const char *host) {
  tl_resource *r = tl_batch_alloc(b, sizeof *r);
  static const char *const keys[] = {"service.name", "host.name", "telemetry.sdk.language"};
  tl_value vals[] = {v_cstr(b, service), v_cstr(b, host), v_cstr(b, "go")};
  r->attrs = attrs_of(b, 0, keys, vals, 3);
  tl_resource_set_service(r);
  return r;
}

/* Spans holding every value type and every edge the model allows.  With
** json_safe, only what canonical OTLP JSON can carry exactly (its strings
** are UTF-8, so a non-UTF-8 byte comes back as the character U+00XX). */
static inline void build_every_kind(tl_batch *b, int json_safe) {
  tl_resource *r1 = resource_of(b, "frontend", "host-1");
  tl_resource *r1_copy = resource_of(b, "frontend", "host-1"); /* same content */
  tl_resource *r2 = tl_batch_alloc(b, sizeof *r2);
  r2->schema_url = tl_batch_intern_cstr(b, "https://opentelemetry.io/schemas/1.21.0");
  r2->attrs.dropped = 7;
  tl_scope *sc = tl_batch_alloc(b, sizeof *sc);
  sc->name = tl_batch_intern_cstr(b, "io.opentelemetry.http");
  sc->version = tl_batch_intern_cstr(b, "1.2.3");
  static const char *const sck[] = {"scope.attr"};
  tl_value scv[] = {v_int(1)};
  sc->attrs = attrs_of(b, 2, sck, scv, 1);
  sc->schema_url = tl_batch_intern_cstr(b, "https://example.com/schema");

  /* Span A: a root SERVER span with an attribute of every type. */
  tl_span *a = tl_batch_add_span(b);
  set_id(a->trace_id, 16, 1);
  set_id(a->span_id, 8, 2);
  a->trace_state = tl_batch_intern_cstr(b, "congo=t61rcWkgMzE");
  a->flags = 0x101;
  a->name = tl_batch_intern_cstr(b, "GET /api/cart");
  a->kind = TL_KIND_SERVER;
  a->start_ns = 1700000000123456789ull;
  a->end_ns = a->start_ns + 1234567;
  a->status_code = TL_STATUS_OK;
  a->resource = r1;
  a->scope = sc;
  static const char *const nk[] = {"x", "x", "deep"};
  tl_value inner_items[] = {v_int(1), v_cstr(b, "two")};
  tl_value inner[] = {v_int(1), v_cstr(b, "duplicate key"),
                      v_array(b, inner_items, 2)};
  tl_value arr_items[] = {v_int(1),     v_cstr(b, "two"),        v_dbl(3.0),
                          v_bool(1),    v_array(b, inner_items, 2), v_kvlist(b, nk, inner, 3),
                          v_empty(),    v_bytes(b, "\x01\x02", 2)};
  static const char *const keys[] = {
      "s",    "empty",  "t",     "f",       "i0",    "imax",   "imin",  "ineg", "i23",
      "i24",  "i255",   "i256",  "i65536",  "i2^32", "d",      "dhalf", "dnan", "dinf",
      "dninf", "dneg0", "dbig",  "dsub",    "dfltmax", "bytes", "bytes0", "arr", "kv",
      "emptyv", "",     "arr0",  "kv0"};
  tl_value vals[] = {v_cstr(b, "hello"),
                     v_cstr(b, ""),
                     v_bool(1),
                     v_bool(0),
                     v_int(0),
                     v_int(INT64_MAX),
                     v_int(INT64_MIN),
                     v_int(-1),
                     v_int(23),
                     v_int(24),
                     v_int(255),
                     v_int(256),
                     v_int(65536),
                     v_int(4294967296ll),
                     v_dbl(0.1),
                     v_dbl(0.5),
                     v_dbl(NAN),
                     v_dbl(INFINITY),
                     v_dbl(-INFINITY),
                     v_dbl(-0.0),
                     v_dbl(1e300),
                     v_dbl(5e-324),
                     v_dbl(3.4028234663852886e38),
                     v_bytes(b, "\x00\x01\xff", 3),
                     v_bytes(b, "", 0),
                     v_array(b, arr_items, 8),
                     v_kvlist(b, nk, inner, 3),
                     v_empty(),
                     v_cstr(b, "empty key"),
                     v_array(b, NULL, 0),
                     v_kvlist(b, NULL, NULL, 0)};
  a->attrs = attrs_of(b, 3, keys, vals, sizeof vals / sizeof vals[0]);
  a->n_events = 2;
  a->events = tl_batch_alloc(b, 2 * sizeof *a->events);
  a->events[0].time_ns = a->start_ns + 10;
  a->events[0].name = tl_batch_intern_cstr(b, "retry");
  static const char *const ek[] = {"attempt"};
  tl_value ev[] = {v_int(1)};
  a->events[0].attrs = attrs_of(b, 1, ek, ev, 1);
  a->events[1].time_ns = a->start_ns - 5; /* before the span started */
  a->dropped_events = 2;
  a->n_links = 1;
  a->links = tl_batch_alloc(b, sizeof *a->links);
  set_id(a->links[0].trace_id, 16, 9);
  set_id(a->links[0].span_id, 8, 10);
  a->links[0].trace_state = tl_batch_intern_cstr(b, "x=y");
  a->links[0].flags = 1;
  static const char *const lk[] = {"link.kind"};
  tl_value lv[] = {v_cstr(b, "follows")};
  a->links[0].attrs = attrs_of(b, 4, lk, lv, 1);
  a->dropped_links = 5;

  /* Span B: child of A, the same resource at another address, ending
  ** before it starts, an error, strings with NUL (and non-UTF-8) bytes. */
  tl_span *c = tl_batch_add_span(b);
  memcpy(c->trace_id, a->trace_id, 16);
  set_id(c->span_id, 8, 3);
  memcpy(c->parent_span_id, a->span_id, 8);
  c->name = json_safe ? tl_batch_intern_cstr(b, "SELECT cart")
                      : tl_batch_intern(b, "bad\xff\xfe", 5);
  c->kind = TL_KIND_CLIENT;
  c->start_ns = a->start_ns + 100;
  c->end_ns = c->start_ns - 100;
  c->status_code = TL_STATUS_ERROR;
  c->status_message = tl_batch_intern_cstr(b, "connection refused");
  c->resource = r1_copy;
  static const char *const ck[] = {"nul", "latin1"};
  tl_value cv[] = {v_str(b, "a\0b", 3),
                   json_safe ? v_cstr(b, "caf\xc3\xa9") : v_str(b, "caf\xe9", 4)};
  c->attrs = attrs_of(b, 0, ck, cv, 2);

  /* Span C: another trace, time extremes, long strings (every CBOR length
  ** form), a resource with no attributes. */
  tl_span *d = tl_batch_add_span(b);
  set_id(d->trace_id, 16, 4);
  set_id(d->span_id, 8, 5);
  set_id(d->parent_span_id, 8, 6);
  d->kind = TL_KIND_CONSUMER;
  d->start_ns = UINT64_MAX;
  d->end_ns = 0;
  d->resource = r2;
  d->scope = sc;
  size_t long_n = 70000;
  char *long_s = malloc(long_n);
  for (size_t i = 0; i < long_n; i++) long_s[i] = (char)('a' + i % 26);
  d->name = tl_batch_intern(b, long_s, 300);
  static const char *const dk[] = {"long", "long.again", "mid"};
  tl_value dv[] = {v_str(b, long_s, long_n), v_str(b, long_s, long_n), v_str(b, long_s, 30)};
  d->attrs = attrs_of(b, 0, dk, dv, 3);
  free(long_s);

  /* Span D: same trace as A, repeating its strings; a minimal link. */
  tl_span *f = tl_batch_add_span(b);
  memcpy(f->trace_id, a->trace_id, 16);
  set_id(f->span_id, 8, 7);
  memcpy(f->parent_span_id, c->span_id, 8);
  f->name = a->name;
  f->kind = TL_KIND_INTERNAL;
  f->start_ns = a->start_ns;
  f->end_ns = a->end_ns;
  f->resource = r1;
  f->scope = sc;
  f->attrs = attrs_of(b, 0, keys, vals, 5);
  f->n_links = 1;
  f->links = tl_batch_alloc(b, sizeof *f->links);
  memcpy(f->links[0].trace_id, d->trace_id, 16);
  memcpy(f->links[0].span_id, d->span_id, 8);

  /* Span E: nothing set at all (zero ids, zero times). */
  tl_batch_add_span(b);
}

/* Realistic spans of a small microservice system: traces of 4-12 spans
** over 6 services, with http and db attributes that carry ids. */
static inline void build_typical(tl_batch *b, size_t n, uint64_t seed) {
  static const char *const services[] = {"frontend", "cart", "checkout", "payment",
                                         "shipping", "catalog"};
  static const char *const ops[] = {"GET /api/cart", "POST /api/checkout", "GET /api/products",
                                    "SELECT products", "INSERT orders", "charge",
                                    "GET /api/shipping/quote", "hipstershop.CartService/GetCart"};
  tl_resource *res[6];
  tl_scope *scope = tl_batch_alloc(b, sizeof *scope);
  scope->name = tl_batch_intern_cstr(b, "go.opentelemetry.io/contrib/instrumentation/net/http");
  scope->version = tl_batch_intern_cstr(b, "0.45.0");
  for (int i = 0; i < 6; i++) {
    char host[32];
    snprintf(host, sizeof host, "%s-7d9f8c6b5-x%d", services[i], i);
    res[i] = resource_of(b, services[i], host);
  }
  uint64_t x = seed | 1;
  uint64_t t = 1700000000000000000ull;
  tl_span *root = NULL;
  size_t left_in_trace = 0;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    tl_span *s = tl_batch_add_span(b);
    if (!left_in_trace) {
      left_in_trace = 4 + x % 9;
      set_id(s->trace_id, 16, x);
      root = s;
    } else {
      memcpy(s->trace_id, root->trace_id, 16);
      memcpy(s->parent_span_id, root->span_id, 8);
    }
    left_in_trace--;
    set_id(s->span_id, 8, x >> 3);
    s->name = tl_batch_intern_cstr(b, ops[x % 8]);
    s->kind = (uint8_t)(1 + x % 3);
    t += x % 1000000;
    s->start_ns = t;
    s->end_ns = t + (x >> 20) % 50000000;
    s->status_code = x % 50 == 0 ? TL_STATUS_ERROR : TL_STATUS_UNSET;
    s->resource = res[(x >> 8) % 6];
    s->scope = scope;
    char url[96], stmt[96];
    snprintf(url, sizeof url, "http://cart:8080/api/cart/%llu?session=%llx",
             (unsigned long long)(x % 100000), (unsigned long long)(x >> 16));
    snprintf(stmt, sizeof stmt, "SELECT * FROM products WHERE id = %llu",
             (unsigned long long)(x % 5000));
    static const char *const keys[] = {"http.method", "http.url", "http.status_code",
                                       "db.statement", "net.peer.name"};
    tl_value vals[] = {v_cstr(b, x % 3 ? "GET" : "POST"), v_cstr(b, url),
                       v_int(s->status_code ? 500 : 200), v_cstr(b, stmt),
                       v_cstr(b, services[(x >> 11) % 6])};
    s->attrs = attrs_of(b, 0, keys, vals, 5);
  }
}

/* ---- comparing spans ------------------------------------------------------ */

static inline int same_str(tl_str a, tl_str b) {
  return a.len == b.len && (!a.len || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline int same_kvs(const tl_kv *a, uint32_t na, const tl_kv *b, uint32_t nb);

static inline int same_value(const tl_value *a, const tl_value *b) {
  if (a->type != b->type) return 0;
  switch (a->type) {
    case TL_V_STRING:
    case TL_V_BYTES: return same_str(a->u.s, b->u.s);
    case TL_V_BOOL: return a->u.b == b->u.b;
    case TL_V_INT: return a->u.i == b->u.i;
    case TL_V_DOUBLE: return memcmp(&a->u.d, &b->u.d, sizeof(double)) == 0;
    case TL_V_ARRAY:
      if (a->u.arr.n != b->u.arr.n) return 0;
      for (uint32_t i = 0; i < a->u.arr.n; i++)
        if (!same_value(&a->u.arr.items[i], &b->u.arr.items[i])) return 0;
      return 1;
    case TL_V_KVLIST: return same_kvs(a->u.kv.items, a->u.kv.n, b->u.kv.items, b->u.kv.n);
    default: return 1;
  }
}

static inline int same_kvs(const tl_kv *a, uint32_t na, const tl_kv *b, uint32_t nb) {
  if (na != nb) return 0;
  for (uint32_t i = 0; i < na; i++)
    if (!same_str(a[i].key, b[i].key) || !same_value(&a[i].value, &b[i].value)) return 0;
  return 1;
}

static inline int same_attrs(const tl_attrs *a, const tl_attrs *b) {
  return a->dropped == b->dropped && same_kvs(a->items, a->n, b->items, b->n);
}

/* The first field in which two spans differ, or NULL. */
static inline const char *span_diff(const tl_span *a, const tl_span *b) {
  if (memcmp(a->trace_id, b->trace_id, 16)) return "trace_id";
  if (memcmp(a->span_id, b->span_id, 8)) return "span_id";
  if (memcmp(a->parent_span_id, b->parent_span_id, 8)) return "parent_span_id";
  if (!same_str(a->trace_state, b->trace_state)) return "trace_state";
  if (a->flags != b->flags) return "flags";
  if (!same_str(a->name, b->name)) return "name";
  if (a->kind != b->kind) return "kind";
  if (a->start_ns != b->start_ns || a->end_ns != b->end_ns) return "times";
  if (a->status_code != b->status_code || !same_str(a->status_message, b->status_message))
    return "status";
  if (!same_attrs(&a->attrs, &b->attrs)) return "attrs";
  if (a->n_events != b->n_events || a->dropped_events != b->dropped_events) return "events";
  for (uint32_t i = 0; i < a->n_events; i++) {
    const tl_event *x = &a->events[i], *y = &b->events[i];
    if (x->time_ns != y->time_ns || !same_str(x->name, y->name) ||
        !same_attrs(&x->attrs, &y->attrs))
      return "event";
  }
  if (a->n_links != b->n_links || a->dropped_links != b->dropped_links) return "links";
  for (uint32_t i = 0; i < a->n_links; i++) {
    const tl_link *x = &a->links[i], *y = &b->links[i];
    if (memcmp(x->trace_id, y->trace_id, 16) || memcmp(x->span_id, y->span_id, 8) ||
        !same_str(x->trace_state, y->trace_state) || x->flags != y->flags ||
        !same_attrs(&x->attrs, &y->attrs))
      return "link";
  }
  const tl_resource *r = a->resource, *q = b->resource;
  if (!same_attrs(&r->attrs, &q->attrs) || !same_str(r->schema_url, q->schema_url) ||
      !same_str(r->service, q->service))
    return "resource";
  const tl_scope *s = a->scope, *t = b->scope;
  if (!same_str(s->name, t->name) || !same_str(s->version, t->version) ||
      !same_attrs(&s->attrs, &t->attrs) || !same_str(s->schema_url, t->schema_url))
    return "scope";
  return NULL;
}

/* Canonical NDJSON of one span, in a static buffer. */
static inline const char *ndjson_of(const tl_span *s, tl_buf *buf) {
  tl_buf_reset(buf);
  tl_otlp_write_span(buf, s);
  return tl_buf_cstr(buf);
}

static inline int same_ndjson(const tl_span *a, const tl_span *b) {
  tl_buf x, y;
  tl_buf_init(&x);
  tl_buf_init(&y);
  int same = strcmp(ndjson_of(a, &x), ndjson_of(b, &y)) == 0;
  if (!same) printf("# ndjson differs:\n#  %s#  %s", x.p, y.p);
  tl_buf_free(&x);
  tl_buf_free(&y);
  return same;
}

/* ---- codec helpers --------------------------------------------------------- */

static inline void *new_state(const tl_codec_vt *vt, const tl_codec_opts *opts) {
  void *st = NULL;
  tl_err e = {0};
  int rc = vt->create(opts, &st, &e);
  if (rc) printf("# create %s: %s\n", vt->name, e.msg);
  return st;
}

static inline tl_span **spans_of(tl_batch *b) {
  size_t n = tl_batch_count(b);
  tl_span **v = malloc((n ? n : 1) * sizeof *v);
  for (size_t i = 0; i < n; i++) v[i] = tl_batch_span(b, i);
  return v;
}

/* Encodes all spans of b as one block into blob (reset first). */
static inline int encode_all(const tl_codec_vt *vt, void *st, tl_batch *b, tl_buf *blob, tl_err *e) {
  tl_span **v = spans_of(b);
  tl_buf_reset(blob);
  int rc = tl_block_encode(vt, st, v, tl_batch_count(b), blob, e);
  free(v);
  return rc;
}

static inline int decode_blob(const tl_codec_vt *vt, void *st, const tl_buf *blob, size_t len,
                       tl_batch *out, tl_err *e) {
  tl_err_clear(e);
  return tl_block_decode(vt, st, (const uint8_t *)blob->p, len, TL_FIELDS_ALL, out, e);
}

/* Round trip of all spans of b through one codec, checked span by span. */
static inline void check_round_trip(const tl_codec_vt *vt, tl_batch *b, int deep) {
  void *st = new_state(vt, NULL);
  tl_buf blob;
  tl_buf_init(&blob);
  tl_err e = {0};
  tl_batch *out = tl_batch_new();
  CHECK_INT(encode_all(vt, st, b, &blob, &e), TL_OK);
  int rc = decode_blob(vt, st, &blob, blob.n, out, &e);
  if (rc) printf("# %s: %s\n", vt->name, e.msg);
  CHECK_INT(rc, TL_OK);
  CHECK_INT(tl_batch_count(out), tl_batch_count(b));
  for (size_t i = 0; i < tl_batch_count(out) && i < tl_batch_count(b); i++) {
    const char *diff = deep ? span_diff(tl_batch_span(b, i), tl_batch_span(out, i)) : NULL;
    if (diff) UNIT_FAIL("%s: span %zu differs in %s", vt->name, i, diff);
    if (!same_ndjson(tl_batch_span(b, i), tl_batch_span(out, i)))
      UNIT_FAIL("%s: span %zu differs as NDJSON", vt->name, i);
  }
  tl_batch_free(out);
  tl_buf_free(&blob);
  vt->destroy(st);
}

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A small block of `vt` holding the spans of build_typical(n). */
static inline void small_block(const tl_codec_vt *vt, void *st, size_t n, tl_buf *blob) {
  tl_batch *b = tl_batch_new();
  tl_err e = {0};
  build_typical(b, n, 42);
  CHECK_INT(encode_all(vt, st, b, blob, &e), TL_OK);
  tl_batch_free(b);
}

/* A codec with zstd options refuses levels past 22 and dictionaries past
** 4 MiB, naming itself, and every level reads every other level's blocks. */
static inline void cc_options_are_checked(const tl_codec_vt *vt) {
  tl_err e = {0};
  void *st = NULL;
  char want[128];
  tl_codec_opts bad_level = {23, 0}, big_dict = {3, 5 * 1024 * 1024};
  CHECK_INT(vt->create(&bad_level, &st, &e), TL_ERANGE);
  snprintf(want, sizeof want, "%s: zstd_level 23 is not between 1 and 22", vt->name);
  CHECK_STR(e.msg, want);
  tl_err_clear(&e);
  CHECK_INT(vt->create(&big_dict, &st, &e), TL_ERANGE);
  snprintf(want, sizeof want, "%s: dict_size 5242880 is not between 0 and 4194304", vt->name);
  CHECK_STR(e.msg, want);
  CHECK(st == NULL);
  tl_codec_opts l19 = {19, 0};
  void *a = new_state(vt, NULL), *z = new_state(vt, &l19);
  tl_buf blob;
  tl_buf_init(&blob);
  small_block(vt, z, 50, &blob);
  tl_batch *out = tl_batch_new();
  CHECK_INT(decode_blob(vt, a, &blob, blob.n, out, &e), TL_OK);
  CHECK_INT(tl_batch_count(out), 50);
  tl_batch_free(out);
  tl_buf_free(&blob);
  vt->destroy(a);
  vt->destroy(z);
}

static inline const char *decode_fields_error(const tl_codec_vt *vt, void *st, const uint8_t *p,
                                              size_t n, uint32_t fields, tl_err *e) {
  tl_batch *out = tl_batch_new();
  tl_err_clear(e);
  int rc = tl_block_decode(vt, st, p, n, fields, out, e);
  if (rc == TL_OK) snprintf(e->msg, sizeof e->msg, "(decoded)");
  else if (tl_batch_count(out) != 0) snprintf(e->msg, sizeof e->msg, "(spans left in the batch)");
  tl_batch_free(out);
  return e->msg;
}

static inline const char *decode_error(const tl_codec_vt *vt, void *st, const uint8_t *p, size_t n,
                                tl_err *e) {
  return decode_fields_error(vt, st, p, n, TL_FIELDS_ALL, e);
}

/* A fuzz seed: a state of vt, with the fuzz target's dictionary as
** dictionary 1 when with_dict; with write (TL_WRITE_SEEDS=1) the block of b
** is written to path first; then the file's bytes into blob, and 1 when
** they are a block of payload version `version` (else a failure is
** reported and 0).  *st is the caller's to destroy. */
static inline int cc_seed(const tl_codec_vt *vt, const char *dict, size_t dict_len, tl_batch *b,
                          const char *path, int write, int version, void **st, tl_buf *blob) {
  tl_err e = {0};
  *st = new_state(vt, NULL);
  if (dict_len) CHECK_INT(vt->add_dict(*st, 1, (const uint8_t *)dict, dict_len, &e), TL_OK);
  tl_buf_reset(blob);
  FILE *f;
  if (write) {
    CHECK_INT(encode_all(vt, *st, b, blob, &e), TL_OK);
    if ((f = fopen(path, "wb"))) {
      CHECK_INT(fwrite(blob->p, 1, blob->n, f), blob->n);
      fclose(f);
    }
  }
  tl_buf_reset(blob);
  char chunk[4096];
  size_t got;
  if ((f = fopen(path, "rb"))) {
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) tl_buf_append(blob, chunk, got);
    fclose(f);
  }
  if (blob->n < 6 || (uint8_t)blob->p[5] != version) {
    UNIT_FAIL("%s: missing or not payload version %d (TL_WRITE_SEEDS=1 writes the current "
              "version)", path, version);
    return 0;
  }
  return 1;
}

/* ---- real trace files ------------------------------------------------------- */

/* Called with every span of one real trace file (read by the importers),
** and the file's group: its format, or csv-boutique / csv-trainticket. */
typedef void (*cc_file_fn)(void *ctx, const char *path, const char *group, tl_batch *b);

typedef struct cc_walk {
  cc_file_fn fn;
  void *ctx;
  size_t files, metadata; /* trace files read; metadata files refused by detection */
} cc_walk;

static inline int cc_is_metadata(const char *path) {
  size_t n = strlen(path);
  return (n > 14 && strcmp(path + n - 14, ".manifest.json") == 0) ||
         (n > 15 && strcmp(path + n - 15, "fault_list.json") == 0);
}

static inline void cc_real_file(cc_walk *w, const char *path) {
  tl_err e = {0};
  tl_input *in;
  tl_reader *r;
  if (tl_input_open_file(&in, path, &e) || tl_reader_open(&r, in, TL_FMT_AUTO, &e)) {
    /* Fixture manifests and fault lists talk about traces but hold none. */
    if (cc_is_metadata(path) && strstr(e.msg, "cannot detect the trace format")) {
      w->metadata++;
      return;
    }
    UNIT_FAIL("%.100s: %.300s", path, e.msg);
    return;
  }
  tl_batch *b = tl_batch_new();
  int rc;
  while ((rc = tl_reader_next(r, b, 1 << 16, &e)) == TL_OK) {
  }
  char group[32];
  const char *fmt = tl_format_name(tl_reader_format(r));
  if (strcmp(fmt, "csv") == 0)
    snprintf(group, sizeof group, "csv-%s", strstr(path, "/2022-") ? "boutique" : "trainticket");
  else
    snprintf(group, sizeof group, "%s", fmt);
  tl_reader_close(r);
  if (rc != TL_DONE) {
    UNIT_FAIL("%.100s: %.300s", path, e.msg);
  } else if (cc_is_metadata(path)) {
    UNIT_FAIL("%s: metadata read as %s", path, group);
  } else {
    w->fn(w->ctx, path, group, b);
    w->files++;
  }
  tl_batch_free(b);
}

static inline int cc_cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every file under dir, sorted, except SOURCES.md. */
static inline void cc_walk_dir(cc_walk *w, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    UNIT_FAIL("cannot open %s (set TL_TRACES)", dir);
    return;
  }
  char **names = NULL;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.' || strcmp(de->d_name, "SOURCES.md") == 0) continue;
    names = realloc(names, (n + 1) * sizeof *names);
    names[n] = malloc(strlen(dir) + strlen(de->d_name) + 2);
    sprintf(names[n++], "%s/%s", dir, de->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cc_cmp_str);
  for (size_t i = 0; i < n; i++) {
    struct stat sb;
    if (stat(names[i], &sb) == 0 && S_ISDIR(sb.st_mode)) cc_walk_dir(w, names[i]);
    else cc_real_file(w, names[i]);
    free(names[i]);
  }
  free(names);
}

/* SOURCES.md: 143 files of which 2 fault lists and 5 manifests. */
#define CC_TRACE_FILES 136
#define CC_METADATA_FILES 7

/* n spans from the built-in shop (end-time order: children first). */
static inline void build_generated(tl_batch *b, uint64_t traces, uint64_t seed) {
  tl_gen_system *sys;
  tl_gen *g;
  tl_err e = {0};
  CHECK_INT(tl_gen_system_default(&sys, &e), TL_OK);
  CHECK_INT(tl_gen_new(&g, sys, traces, seed, &e), TL_OK);
  while (tl_gen_next(g, b, 4096, &e) == TL_OK) {
  }
  tl_gen_free(g);
  tl_gen_system_free(sys);
}

/* ---- one codec over real files and generated spans ------------------------------ */

/* The store's default block size. */
#define CC_BLOCK_SPANS 4096

typedef struct cc_group {
  char name[32];
  const char *vt_name;
  void *st;
  size_t spans, bytes, ndjson;
  double enc_s, dec_s;
} cc_group;

typedef struct cc_run {
  const tl_codec_vt *vt;
  cc_group g[8];
  int n;
  tl_batch *out;
  tl_buf blob, a, b;
} cc_run;

static inline cc_group *cc_group_of(cc_run *run, const char *name) {
  for (int i = 0; i < run->n; i++)
    if (strcmp(run->g[i].name, name) == 0) return &run->g[i];
  if (run->n == 8) return NULL;
  cc_group *g = &run->g[run->n++];
  snprintf(g->name, sizeof g->name, "%s", name);
  g->vt_name = run->vt->name;
  g->st = new_state(run->vt, NULL);
  return g;
}

/* Every span through the codec in blocks of the store's size, compared
** as canonical NDJSON. */
static inline void cc_through_codec(cc_run *run, cc_group *g, const char *path, tl_batch *b) {
  const tl_codec_vt *vt = run->vt;
  size_t n = tl_batch_count(b);
  tl_span **v = spans_of(b);
  int reported = 0;
  for (size_t at = 0; at < n; at += CC_BLOCK_SPANS) {
    size_t k = n - at < CC_BLOCK_SPANS ? n - at : CC_BLOCK_SPANS;
    tl_err e = {0};
    tl_buf_reset(&run->blob);
    double t0 = now_s();
    int rc = tl_block_encode(vt, g->st, v + at, k, &run->blob, &e);
    double t1 = now_s();
    tl_batch_reset(run->out);
    if (!rc) rc = tl_block_decode(vt, g->st, (const uint8_t *)run->blob.p, run->blob.n,
                                  TL_FIELDS_ALL, run->out, &e);
    g->enc_s += t1 - t0;
    g->dec_s += now_s() - t1;
    g->bytes += run->blob.n;
    g->spans += k;
    if (rc) {
      if (!reported++) UNIT_FAIL("%.100s: %.300s", path, e.msg);
      continue;
    }
    for (size_t i = 0; i < k; i++) {
      tl_buf_reset(&run->a);
      tl_buf_reset(&run->b);
      tl_otlp_write_span(&run->a, v[at + i]);
      tl_otlp_write_span(&run->b, tl_batch_span(run->out, i));
      g->ndjson += run->a.n;
      if ((run->a.n != run->b.n || memcmp(run->a.p, run->b.p, run->a.n)) && !reported++)
        UNIT_FAIL("%s: span %zu differs:\n%s%s", path, at + i, tl_buf_cstr(&run->a),
                  tl_buf_cstr(&run->b));
    }
  }
  free(v);
}

static inline void cc_real_file_cb(void *ctx, const char *path, const char *name, tl_batch *b) {
  cc_run *run = ctx;
  cc_group *g = cc_group_of(run, name);
  if (g) cc_through_codec(run, g, path, b);
}

static inline void cc_print_group(const cc_group *g) {
  printf("# %-10s %-16s %7zu spans %6.1f bytes/span %6.1fx ndjson  encode %5.0fk spans/s  "
         "decode %5.0fk spans/s\n",
         g->vt_name, g->name, g->spans, (double)g->bytes / (double)g->spans,
         (double)g->ndjson / (double)g->bytes, (double)g->spans / g->enc_s / 1e3,
         (double)g->spans / g->dec_s / 1e3);
}

/* Every span of every real file through vt in blocks of the store's size,
** compared as canonical NDJSON; bytes and speeds per group as "# " lines. */
static inline void cc_real_files(const tl_codec_vt *vt) {
  cc_run run;
  memset(&run, 0, sizeof run);
  run.vt = vt;
  run.out = tl_batch_new();
  cc_walk w = {cc_real_file_cb, &run, 0, 0};
  cc_walk_dir(&w, UNIT_TRACES_DIR);
  CHECK_INT(w.files, CC_TRACE_FILES);
  CHECK_INT(w.metadata, CC_METADATA_FILES);
  cc_group all;
  memset(&all, 0, sizeof all);
  snprintf(all.name, sizeof all.name, "all");
  all.vt_name = vt->name;
  for (int i = 0; i < run.n; i++) {
    cc_print_group(&run.g[i]);
    all.spans += run.g[i].spans;
    all.bytes += run.g[i].bytes;
    all.ndjson += run.g[i].ndjson;
    all.enc_s += run.g[i].enc_s;
    all.dec_s += run.g[i].dec_s;
    vt->destroy(run.g[i].st);
  }
  cc_print_group(&all);
  tl_buf_free(&run.blob);
  tl_buf_free(&run.a);
  tl_buf_free(&run.b);
  tl_batch_free(run.out);
}

/* The generator's 2000 traces (seed 42) through vt: bytes and speeds. */
static inline void cc_generated_sizes(const tl_codec_vt *vt) {
  tl_batch *b = tl_batch_new();
  build_generated(b, 2000, 42);
  cc_run run;
  memset(&run, 0, sizeof run);
  run.vt = vt;
  run.out = tl_batch_new();
  cc_group *g = cc_group_of(&run, "generated");
  cc_through_codec(&run, g, "generated", b);
  cc_print_group(g);
  vt->destroy(g->st);
  tl_buf_free(&run.blob);
  tl_buf_free(&run.a);
  tl_buf_free(&run.b);
  tl_batch_free(run.out);
  tl_batch_free(b);
}

/* A codec with a trained dictionary (relational, columnar): training on
** generated spans gives one that makes blocks smaller; a block records it
** by id and needs it (unknown_msg without it); add_dict takes the same
** bytes again but not others nor id 0; too little to train on, or a table
** without dictionaries, trains none. */
static inline void cc_dictionaries_train_and_are_required(const tl_codec_vt *vt,
                                                          const char *unknown_msg) {
  tl_batch *b = tl_batch_new(), *out = tl_batch_new();
  build_generated(b, 200, 3);
  tl_span **v = spans_of(b);
  size_t n = tl_batch_count(b);
  void *st = new_state(vt, NULL);
  tl_buf dict, blob, plain;
  tl_buf_init(&dict);
  tl_buf_init(&blob);
  tl_buf_init(&plain);
  tl_err e = {0};
  char want[160];
  CHECK_INT(tl_block_encode(vt, st, v, 512, &plain, &e), TL_OK);
  CHECK_INT(vt->train(st, v, n, &dict, &e), TL_OK);
  printf("# %zu spans train a %zu-byte dictionary\n", n, dict.n);
  CHECK(dict.n > 1024 && dict.n <= TL_CODEC_DEFAULT_DICT_SIZE);
  CHECK_INT(vt->add_dict(st, 1, (const uint8_t *)dict.p, dict.n, &e), TL_OK);
  CHECK_INT(tl_block_encode(vt, st, v, 512, &blob, &e), TL_OK);
  printf("# 512 spans: %zu bytes without the dictionary, %zu with\n", plain.n, blob.n);
  CHECK(blob.n < plain.n);
  CHECK_INT((uint8_t)blob.p[8], 1); /* dictionary id after the 8-byte envelope */
  CHECK_INT(decode_blob(vt, st, &blob, blob.n, out, &e), TL_OK);
  CHECK_INT(tl_batch_count(out), 512);
  for (size_t i = 0; i < 512; i++)
    if (!same_ndjson(v[i], tl_batch_span(out, i))) {
      UNIT_FAIL("span %zu differs", i);
      break;
    }
  void *other = new_state(vt, NULL);
  CHECK_STR(decode_error(vt, other, (const uint8_t *)blob.p, blob.n, &e),
            unknown_msg);
  tl_batch_reset(out);
  CHECK_INT(decode_blob(vt, other, &plain, plain.n, out, &e), TL_OK);
  CHECK_INT(vt->add_dict(st, 1, (const uint8_t *)dict.p, dict.n, &e), TL_OK);
  tl_err_clear(&e);
  CHECK_INT(vt->add_dict(st, 1, (const uint8_t *)dict.p, dict.n - 1, &e), TL_EMISUSE);
  snprintf(want, sizeof want, "%s: dictionary 1 is already known with other bytes", vt->name);
  CHECK_STR(e.msg, want);
  tl_err_clear(&e);
  CHECK_INT(vt->add_dict(st, 0, (const uint8_t *)dict.p, dict.n, &e), TL_EMISUSE);
  snprintf(want, sizeof want, "%s: dictionary 0: id 0 means no dictionary", vt->name);
  CHECK_STR(e.msg, want);
  /* Too little to train on, or no dictionary asked for: none. */
  tl_buf_reset(&dict);
  CHECK_INT(vt->train(st, v, 15, &dict, &e), TL_OK);
  CHECK_INT(dict.n, 0);
  tl_codec_opts none = {0, 0};
  void *nd = new_state(vt, &none);
  CHECK_INT(vt->train(nd, v, n, &dict, &e), TL_OK);
  CHECK_INT(dict.n, 0);
  vt->destroy(nd);
  vt->destroy(other);
  vt->destroy(st);
  free(v);
  tl_buf_free(&dict);
  tl_buf_free(&blob);
  tl_buf_free(&plain);
  tl_batch_free(b);
  tl_batch_free(out);
}

/* Decodes blob[0..len) with each byte flipped by each of four masks: every
** decode gives the block's n spans or an error with a message and no span;
** counts both outcomes. */
static inline void cc_flip_bytes(const tl_codec_vt *vt, void *st, const uint8_t *blob, size_t len,
                                 size_t n, size_t *failed, size_t *decoded) {
  uint8_t *q = malloc(len ? len : 1);
  static const uint8_t masks[] = {0x01, 0x80, 0xff, 0x1f};
  for (size_t i = 0; i < len; i++) {
    for (size_t m = 0; m < sizeof masks; m++) {
      memcpy(q, blob, len);
      q[i] ^= masks[m];
      tl_batch *out = tl_batch_new();
      tl_err e = {0};
      int rc = tl_block_decode(vt, st, q, len, TL_FIELDS_ALL, out, &e);
      if (rc == TL_OK) {
        ++*decoded;
        CHECK_INT(tl_batch_count(out), n);
      } else {
        ++*failed;
        CHECK_INT(tl_batch_count(out), 0);
        CHECK(e.msg[0] != 0);
      }
      tl_batch_free(out);
    }
  }
  free(q);
}

#endif
