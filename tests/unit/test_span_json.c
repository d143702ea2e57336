/*
** test_span_json.c — the JSON texts of the structured span columns
** (span_json.h): exact texts for hand-built spans, omission of defaults and
** NULL columns, parsing back with deep equality, round trips of random
** values from a fixed-seed PRNG, real attribute lists from the OTLP files
** in shared/traces, every malformed input we could think of with its exact
** message, the depth limit, and a throughput figure (printed, not asserted).
*/
#include "../../ext/span/span_json.h"
#include "unit.h"

#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

/* ---- building values -------------------------------------------------------- */

static tl_str S(tl_batch *b, const char *s) { return tl_batch_intern_cstr(b, s); }

static tl_value v_str(tl_batch *b, const char *s) {
  tl_value v = {.type = TL_V_STRING};
  v.u.s = S(b, s);
  return v;
}
static tl_value v_strn(tl_batch *b, const char *s, size_t n) {
  tl_value v = {.type = TL_V_STRING};
  v.u.s = tl_batch_intern(b, s, n);
  return v;
}
static tl_value v_int(int64_t i) {
  tl_value v = {.type = TL_V_INT};
  v.u.i = i;
  return v;
}
static tl_value v_dbl(double d) {
  tl_value v = {.type = TL_V_DOUBLE};
  v.u.d = d;
  return v;
}
static tl_value v_bool(int x) {
  tl_value v = {.type = TL_V_BOOL};
  v.u.b = x;
  return v;
}
static tl_value v_empty(void) {
  tl_value v = {.type = TL_V_EMPTY};
  return v;
}
static tl_value v_bytes(tl_batch *b, const void *p, size_t n) {
  tl_value v = {.type = TL_V_BYTES};
  v.u.s = tl_batch_copy(b, p, n);
  return v;
}
static tl_value v_arr(tl_batch *b, uint32_t n, ...) {
  tl_value v = {.type = TL_V_ARRAY};
  va_list ap;
  va_start(ap, n);
  v.u.arr.n = n;
  v.u.arr.items = n ? tl_batch_alloc(b, n * sizeof(tl_value)) : NULL;
  for (uint32_t i = 0; i < n; i++) v.u.arr.items[i] = va_arg(ap, tl_value);
  va_end(ap);
  return v;
}
static tl_kv KV(tl_batch *b, const char *key, tl_value v) {
  tl_kv kv;
  kv.key = S(b, key);
  kv.value = v;
  return kv;
}
/* n tl_kv arguments into the batch. */
static tl_kv *kvs_va(tl_batch *b, uint32_t n, va_list ap) {
  tl_kv *items = n ? tl_batch_alloc(b, n * sizeof(tl_kv)) : NULL;
  for (uint32_t i = 0; i < n; i++) items[i] = va_arg(ap, tl_kv);
  return items;
}
static tl_value v_kvl(tl_batch *b, uint32_t n, ...) {
  tl_value v = {.type = TL_V_KVLIST};
  va_list ap;
  va_start(ap, n);
  v.u.kv.n = n;
  v.u.kv.items = kvs_va(b, n, ap);
  va_end(ap);
  return v;
}
static tl_attrs attrs_of(tl_batch *b, uint32_t n, ...) {
  tl_attrs a = {NULL, n, 0};
  va_list ap;
  va_start(ap, n);
  a.items = kvs_va(b, n, ap);
  va_end(ap);
  return a;
}

/* ---- deep equality ------------------------------------------------------------ */

static int eq_str(tl_str a, tl_str b) {
  return a.len == b.len && (!a.len || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static int eq_kvs(const tl_kv *a, const tl_kv *b, uint32_t n);

/* Doubles compare by bits (so -0.0 != 0.0), except that all NaNs are one. */
static int eq_value(const tl_value *a, const tl_value *b) {
  if (a->type != b->type) return 0;
  switch (a->type) {
    case TL_V_STRING:
    case TL_V_BYTES: return eq_str(a->u.s, b->u.s);
    case TL_V_INT: return a->u.i == b->u.i;
    case TL_V_BOOL: return !a->u.b == !b->u.b;
    case TL_V_DOUBLE:
      if (isnan(a->u.d) || isnan(b->u.d)) return isnan(a->u.d) && isnan(b->u.d);
      return memcmp(&a->u.d, &b->u.d, sizeof(double)) == 0;
    case TL_V_ARRAY:
      if (a->u.arr.n != b->u.arr.n) return 0;
      for (uint32_t i = 0; i < a->u.arr.n; i++)
        if (!eq_value(&a->u.arr.items[i], &b->u.arr.items[i])) return 0;
      return 1;
    case TL_V_KVLIST:
      return a->u.kv.n == b->u.kv.n && eq_kvs(a->u.kv.items, b->u.kv.items, a->u.kv.n);
    default: return 1;
  }
}

static int eq_kvs(const tl_kv *a, const tl_kv *b, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (!eq_str(a[i].key, b[i].key) || !eq_value(&a[i].value, &b[i].value)) return 0;
  return 1;
}

static int eq_attrs(const tl_attrs *a, const tl_attrs *b) {
  return a->n == b->n && a->dropped == b->dropped && eq_kvs(a->items, b->items, a->n);
}

static int eq_resource(const tl_resource *a, const tl_resource *b) {
  return eq_attrs(&a->attrs, &b->attrs) && eq_str(a->schema_url, b->schema_url) &&
         eq_str(a->service, b->service);
}

static int eq_scope(const tl_scope *a, const tl_scope *b) {
  return eq_str(a->name, b->name) && eq_str(a->version, b->version) &&
         eq_attrs(&a->attrs, &b->attrs) && eq_str(a->schema_url, b->schema_url);
}

/* Everything the six structured columns hold. */
static int eq_columns(const tl_span *a, const tl_span *b) {
  if (!eq_attrs(&a->attrs, &b->attrs) || a->dropped_events != b->dropped_events ||
      a->dropped_links != b->dropped_links || a->n_events != b->n_events ||
      a->n_links != b->n_links || !eq_resource(a->resource, b->resource) ||
      !eq_scope(a->scope, b->scope))
    return 0;
  for (uint32_t i = 0; i < a->n_events; i++) {
    const tl_event *x = &a->events[i], *y = &b->events[i];
    if (x->time_ns != y->time_ns || !eq_str(x->name, y->name) || !eq_attrs(&x->attrs, &y->attrs))
      return 0;
  }
  for (uint32_t i = 0; i < a->n_links; i++) {
    const tl_link *x = &a->links[i], *y = &b->links[i];
    if (memcmp(x->trace_id, y->trace_id, 16) || memcmp(x->span_id, y->span_id, 8) ||
        !eq_str(x->trace_state, y->trace_state) || x->flags != y->flags ||
        !eq_attrs(&x->attrs, &y->attrs))
      return 0;
  }
  return 1;
}

/* ---- one interface over the six columns --------------------------------------- */

enum { C_ATTRS, C_RESOURCE, C_SCOPE, C_EVENTS, C_LINKS, C_DROPPED, C_COUNT };
static const char *const col_name[C_COUNT] = {"attributes", "resource", "scope",
                                              "events", "links", "dropped"};

/* Writes column c of s into o (reset first); the writer's return value. */
static int write_col(tl_buf *o, int c, const tl_span *s) {
  tl_buf_reset(o);
  switch (c) {
    case C_ATTRS: return tl_json_attrs(o, &s->attrs);
    case C_RESOURCE: return tl_json_resource(o, s->resource);
    case C_SCOPE: return tl_json_scope(o, s->scope);
    case C_EVENTS: return tl_json_events(o, s);
    case C_LINKS: return tl_json_links(o, s);
    default: return tl_json_dropped(o, s);
  }
}

/* Parses text as column c into s. */
static int parse_col(tl_batch *b, int c, const char *t, size_t n, tl_span *s, tl_err *e) {
  int rc;
  switch (c) {
    case C_ATTRS: return tl_parse_attrs(b, t, n, &s->attrs, e);
    case C_RESOURCE: {
      tl_resource *r;
      if (!(rc = tl_parse_resource(b, t, n, &r, e))) s->resource = r;
      return rc;
    }
    case C_SCOPE: {
      tl_scope *sc;
      if (!(rc = tl_parse_scope(b, t, n, &sc, e))) s->scope = sc;
      return rc;
    }
    case C_EVENTS: return tl_parse_events(b, t, n, s, e);
    case C_LINKS: return tl_parse_links(b, t, n, s, e);
    default: return tl_parse_dropped(t, n, s, e);
  }
}

/* Parses every column of src's texts into a new span of dst and checks
** deep equality and that writing again gives the same texts.  Returns 1
** when all held; on failure prints what differed (with `label`). */
static int round_trip(tl_batch *dst, const tl_span *src, const char *label) {
  tl_buf t1, t2;
  tl_buf_init(&t1);
  tl_buf_init(&t2);
  tl_span *back = tl_batch_add_span(dst);
  int ok = back != NULL;
  for (int c = 0; ok && c < C_COUNT; c++) {
    tl_err e;
    tl_err_clear(&e);
    write_col(&t1, c, src);
    if (t1.oom || parse_col(dst, c, t1.p, t1.n, back, &e) != TL_OK) {
      printf("  %s: %s does not parse back: %s\n  text: %.*s\n", label, col_name[c], e.msg,
             (int)(t1.n > 2000 ? 2000 : t1.n), t1.p ? t1.p : "");
      ok = 0;
      break;
    }
    write_col(&t2, c, back);
    if (t1.n != t2.n || (t1.n && memcmp(t1.p, t2.p, t1.n))) {
      printf("  %s: %s written again differs\n  %.*s\n  %.*s\n", label, col_name[c],
             (int)t1.n, t1.p, (int)t2.n, t2.p);
      ok = 0;
    }
  }
  if (ok && !eq_columns(src, back)) {
    printf("  %s: parsed span differs from the original\n", label);
    ok = 0;
  }
  tl_buf_free(&t1);
  tl_buf_free(&t2);
  return ok;
}

/* The text column c of s, as a C string in o. */
static const char *text_of(tl_buf *o, int c, const tl_span *s) {
  write_col(o, c, s);
  return tl_buf_cstr(o);
}

/* ---- the hand-built span ------------------------------------------------------ */

static const uint8_t kBytes[] = {0, 1, 2, 0xff};
static const char kCtl[] = "\0\x01\x1f\"\\/\n\t\x7f\xc3\xa9\xf0\x9f\x98\x80";

static tl_attrs every_value_attrs(tl_batch *b) {
  return attrs_of(
      b, 21, KV(b, "str", v_str(b, "text")), KV(b, "int", v_int(200)),
      KV(b, "neg", v_int(INT64_MIN)), KV(b, "max", v_int(INT64_MAX)),
      KV(b, "dbl", v_dbl(200.0)), KV(b, "small", v_dbl(1.5e-07)),
      KV(b, "negzero", v_dbl(-0.0)), KV(b, "nan", v_dbl(NAN)),
      KV(b, "inf", v_dbl(INFINITY)), KV(b, "ninf", v_dbl(-INFINITY)),
      KV(b, "yes", v_bool(1)), KV(b, "no", v_bool(0)), KV(b, "empty", v_empty()),
      KV(b, "bytes", v_bytes(b, kBytes, sizeof kBytes)), KV(b, "nobytes", v_bytes(b, "", 0)),
      KV(b, "arr", v_arr(b, 5, v_int(1), v_str(b, "x"), v_dbl(2.5), v_arr(b, 0), v_empty())),
      KV(b, "kv", v_kvl(b, 3, KV(b, "k", v_int(1)), KV(b, "k", v_int(2)), KV(b, "", v_str(b, "")))),
      KV(b, "ekv", v_kvl(b, 0)), KV(b, "ctl", v_strn(b, kCtl, sizeof kCtl - 1)),
      KV(b, "str", v_str(b, "dup")), KV(b, "", v_str(b, "")));
}

static const char kEveryValueText[] =
    "{\"str\":\"text\",\"int\":200,\"neg\":-9223372036854775808,"
    "\"max\":9223372036854775807,\"dbl\":200.0,\"small\":1.5e-07,\"negzero\":-0.0,"
    "\"nan\":{\"doubleValue\":\"NaN\"},\"inf\":{\"doubleValue\":\"Infinity\"},"
    "\"ninf\":{\"doubleValue\":\"-Infinity\"},\"yes\":true,\"no\":false,\"empty\":null,"
    "\"bytes\":{\"bytesValue\":\"AAEC/w==\"},\"nobytes\":{\"bytesValue\":\"\"},"
    "\"arr\":[1,\"x\",2.5,[],null],"
    "\"kv\":{\"kvlistValue\":{\"k\":1,\"k\":2,\"\":\"\"}},\"ekv\":{\"kvlistValue\":{}},"
    "\"ctl\":\"\\u0000\\u0001\\u001f\\\"\\\\/\\n\\t\x7f\xc3\xa9\xf0\x9f\x98\x80\","
    "\"str\":\"dup\",\"\":\"\"}";

/* A span with every column full, max counts and times included. */
static tl_span *full_span(tl_batch *b) {
  tl_span *s = tl_batch_add_span(b);
  s->attrs = every_value_attrs(b);
  s->attrs.dropped = UINT32_MAX;
  s->dropped_events = 1;
  s->dropped_links = 7;

  tl_resource *r = tl_batch_alloc(b, sizeof *r);
  r->attrs = attrs_of(b, 2, KV(b, "service.name", v_str(b, "frontend")),
                      KV(b, "host.name", v_str(b, "h1")));
  r->attrs.dropped = 3;
  r->schema_url = S(b, "https://opentelemetry.io/schemas/1.21.0");
  tl_resource_set_service(r);
  s->resource = r;

  tl_scope *sc = tl_batch_alloc(b, sizeof *sc);
  sc->name = S(b, "io.opentelemetry.http");
  sc->version = S(b, "1.2.3");
  sc->attrs = attrs_of(b, 1, KV(b, "a", v_int(1)));
  sc->attrs.dropped = UINT32_MAX;
  sc->schema_url = S(b, "s");
  s->scope = sc;

  s->n_events = 3;
  s->events = tl_batch_alloc(b, 3 * sizeof(tl_event));
  s->events[0].time_ns = UINT64_MAX;
  s->events[0].name = S(b, "exception");
  s->events[0].attrs = attrs_of(b, 1, KV(b, "exception.type", v_str(b, "E")));
  s->events[0].attrs.dropped = 2;
  s->events[2].time_ns = 1700000000000000000ull;

  s->n_links = 3;
  s->links = tl_batch_alloc(b, 3 * sizeof(tl_link));
  for (int i = 0; i < 16; i++) s->links[0].trace_id[i] = (uint8_t)(i + 1);
  for (int i = 0; i < 8; i++) s->links[0].span_id[i] = (uint8_t)(0xa1 + i);
  s->links[0].trace_state = S(b, "k=v");
  s->links[0].flags = 257;
  s->links[0].attrs = attrs_of(b, 1, KV(b, "l", v_bool(1)));
  s->links[0].attrs.dropped = 1;
  s->links[2].span_id[7] = 1;
  return s;
}

TEST(test_texts_of_every_column) {
  tl_batch *b = tl_batch_new();
  tl_buf o;
  tl_buf_init(&o);
  tl_span *s = full_span(b);
  CHECK_STR(text_of(&o, C_ATTRS, s), kEveryValueText);
  CHECK_STR(text_of(&o, C_RESOURCE, s),
            "{\"attributes\":{\"service.name\":\"frontend\",\"host.name\":\"h1\"},"
            "\"droppedAttributesCount\":3,"
            "\"schemaUrl\":\"https://opentelemetry.io/schemas/1.21.0\"}");
  CHECK_STR(text_of(&o, C_SCOPE, s),
            "{\"name\":\"io.opentelemetry.http\",\"version\":\"1.2.3\","
            "\"attributes\":{\"a\":1},\"droppedAttributesCount\":4294967295,"
            "\"schemaUrl\":\"s\"}");
  CHECK_STR(text_of(&o, C_EVENTS, s),
            "[{\"timeUnixNano\":18446744073709551615,\"name\":\"exception\","
            "\"attributes\":{\"exception.type\":\"E\"},\"droppedAttributesCount\":2},"
            "{},{\"timeUnixNano\":1700000000000000000}]");
  CHECK_STR(text_of(&o, C_LINKS, s),
            "[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\","
            "\"spanId\":\"a1a2a3a4a5a6a7a8\",\"traceState\":\"k=v\",\"flags\":257,"
            "\"attributes\":{\"l\":true},\"droppedAttributesCount\":1},"
            "{},{\"spanId\":\"0000000000000001\"}]");
  CHECK_STR(text_of(&o, C_DROPPED, s), "{\"attributes\":4294967295,\"events\":1,\"links\":7}");
  /* The writers return 1 for a value. */
  for (int c = 0; c < C_COUNT; c++) CHECK_INT(write_col(&o, c, s), 1);
  tl_buf_free(&o);
  tl_batch_free(b);
}

TEST(test_texts_parse_back) {
  tl_batch *src = tl_batch_new(), *dst = tl_batch_new();
  tl_span *s = full_span(src);
  int ok = round_trip(dst, s, "full span");
  CHECK(ok);
  /* Values are in the destination batch, strings interned there. */
  tl_span *back = tl_batch_span(dst, 0);
  if (!ok) goto done;
  CHECK(back->attrs.items[0].key.ptr == tl_batch_intern_cstr(dst, "str").ptr);
  CHECK(back->attrs.items[0].value.u.s.ptr == tl_batch_intern_cstr(dst, "text").ptr);
  /* Type and sign details that deep equality covers, spelled out. */
  CHECK_INT(back->attrs.items[4].value.type, TL_V_DOUBLE);
  CHECK(back->attrs.items[4].value.u.d == 200.0);
  CHECK_INT(back->attrs.items[1].value.type, TL_V_INT);
  CHECK(signbit(back->attrs.items[6].value.u.d) && back->attrs.items[6].value.u.d == 0.0);
  CHECK(isnan(back->attrs.items[7].value.u.d));
  CHECK_INT(back->attrs.items[18].value.u.s.len, sizeof kCtl - 1);
  CHECK_TLSTR(back->resource->service, "frontend");
  CHECK_INT(back->events[0].time_ns == UINT64_MAX, 1);
done:
  tl_batch_free(src);
  tl_batch_free(dst);
}

TEST(test_omitted_defaults_and_null_columns) {
  tl_batch *b = tl_batch_new();
  tl_buf o;
  tl_buf_init(&o);
  tl_span *s = tl_batch_add_span(b);
  /* An empty span: every column is NULL and nothing is appended. */
  for (int c = 0; c < C_COUNT; c++) {
    tl_buf_reset(&o);
    tl_buf_puts(&o, "x");
    int got = c == C_ATTRS ? tl_json_attrs(&o, &s->attrs)
              : c == C_RESOURCE ? tl_json_resource(&o, s->resource)
              : c == C_SCOPE ? tl_json_scope(&o, s->scope)
              : c == C_EVENTS ? tl_json_events(&o, s)
              : c == C_LINKS ? tl_json_links(&o, s)
              : tl_json_dropped(&o, s);
    CHECK_INT(got, 0);
    CHECK_INT(o.n, 1);
  }
  /* Dropped attributes alone do not make an attributes column. */
  s->attrs.dropped = 5;
  CHECK_INT(tl_json_attrs(&o, &s->attrs), 0);
  CHECK_STR(text_of(&o, C_DROPPED, s), "{\"attributes\":5}");
  s->attrs.dropped = 0;
  s->dropped_links = 2;
  CHECK_STR(text_of(&o, C_DROPPED, s), "{\"links\":2}");

  /* One member at a time: only non-defaults are written. */
  tl_resource r = {{NULL, 0, 0}, {NULL, 0}, {NULL, 0}};
  r.schema_url = S(b, "u");
  s->resource = &r;
  CHECK_STR(text_of(&o, C_RESOURCE, s), "{\"schemaUrl\":\"u\"}");
  r.schema_url.len = 0;
  r.attrs.dropped = 1;
  CHECK_STR(text_of(&o, C_RESOURCE, s), "{\"droppedAttributesCount\":1}");
  tl_scope sc = {{NULL, 0}, {NULL, 0}, {NULL, 0, 0}, {NULL, 0}};
  sc.version = S(b, "v");
  s->scope = &sc;
  CHECK_STR(text_of(&o, C_SCOPE, s), "{\"version\":\"v\"}");
  tl_event ev[2];
  memset(ev, 0, sizeof ev);
  ev[1].name = S(b, "e");
  s->events = ev;
  s->n_events = 2;
  CHECK_STR(text_of(&o, C_EVENTS, s), "[{},{\"name\":\"e\"}]");
  tl_link ln;
  memset(&ln, 0, sizeof ln);
  ln.trace_id[0] = 0xAB;
  s->links = &ln;
  s->n_links = 1;
  CHECK_STR(text_of(&o, C_LINKS, s), "[{\"traceId\":\"ab000000000000000000000000000000\"}]");
  ln.flags = 1;
  ln.attrs.dropped = 9;
  memset(ln.trace_id, 0, 16);
  CHECK_STR(text_of(&o, C_LINKS, s), "[{\"flags\":1,\"droppedAttributesCount\":9}]");
  /* NULL pointers where a column has nothing at all. */
  CHECK_INT(tl_json_resource(&o, NULL), 0);
  CHECK_INT(tl_json_scope(&o, NULL), 0);
  CHECK_INT(tl_json_attrs(&o, NULL), 0);
  tl_buf_free(&o);
  tl_batch_free(b);
}

TEST(test_parse_null_columns) {
  tl_batch *b = tl_batch_new();
  tl_err e;
  tl_err_clear(&e);
  tl_span *s = tl_batch_add_span(b);
  /* The attributes column leaves the dropped count (the dropped column's) alone. */
  s->attrs.dropped = 4;
  CHECK_INT(tl_parse_attrs(b, NULL, 0, &s->attrs, &e), TL_OK);
  CHECK_INT(s->attrs.n, 0);
  CHECK(s->attrs.items == NULL);
  CHECK_INT(s->attrs.dropped, 4);
  CHECK_INT(tl_parse_attrs(b, "{\"a\":1}", 7, &s->attrs, &e), TL_OK);
  CHECK_INT(s->attrs.n, 1);
  CHECK_INT(s->attrs.dropped, 4);
  /* An empty text is NULL too. */
  CHECK_INT(tl_parse_attrs(b, "", 0, &s->attrs, &e), TL_OK);
  CHECK_INT(s->attrs.n, 0);
  /* Resource and scope: a fresh zeroed object, not the batch's shared one. */
  tl_resource *r = NULL;
  CHECK_INT(tl_parse_resource(b, NULL, 0, &r, &e), TL_OK);
  CHECK(r != NULL && r != tl_batch_empty_resource(b));
  CHECK(r && !r->attrs.n && !r->schema_url.len && !r->service.len);
  tl_scope *sc = NULL;
  CHECK_INT(tl_parse_scope(b, NULL, 0, &sc, &e), TL_OK);
  CHECK(sc != NULL && sc != tl_batch_empty_scope(b) && !sc->name.len);
  /* Lists: none. */
  s->n_events = 3;
  s->n_links = 3;
  CHECK_INT(tl_parse_events(b, NULL, 0, s, &e), TL_OK);
  CHECK_INT(tl_parse_links(b, NULL, 0, s, &e), TL_OK);
  CHECK_INT(s->n_events, 0);
  CHECK_INT(s->n_links, 0);
  CHECK(s->events == NULL && s->links == NULL);
  /* Dropped: all three counts are the column's, so NULL zeroes them. */
  s->dropped_events = s->dropped_links = 8;
  CHECK_INT(tl_parse_dropped(NULL, 0, s, &e), TL_OK);
  CHECK_INT(s->attrs.dropped + s->dropped_events + s->dropped_links, 0);
  /* Explicit empty values are the same as NULL. */
  const char *empties[C_COUNT] = {"{}", "{}", "{}", "[]", "[]", "{}"};
  for (int c = 0; c < C_COUNT; c++) {
    tl_span *t = tl_batch_add_span(b);
    CHECK_INT(parse_col(b, c, empties[c], 2, t, &e), TL_OK);
    tl_buf o;
    tl_buf_init(&o);
    CHECK_INT(write_col(&o, c, t), 0);
    tl_buf_free(&o);
  }
  /* Members holding their defaults are accepted. */
  static const char defaults[] =
      "{\"attributes\":{},\"droppedAttributesCount\":0,\"schemaUrl\":\"\"}";
  static const char zero_link[] = "[{\"traceId\":\"\",\"spanId\":\"\",\"flags\":0}]";
  CHECK_INT(tl_parse_resource(b, defaults, sizeof defaults - 1, &r, &e), TL_OK);
  CHECK(r && !r->attrs.n && !r->attrs.dropped && !r->schema_url.len);
  CHECK_INT(tl_parse_links(b, zero_link, sizeof zero_link - 1, s, &e), TL_OK);
  CHECK_INT(s->n_links, 1);
  /* A non-empty length with a NULL pointer is a caller's bug. */
  CHECK_INT(tl_parse_attrs(b, NULL, 3, &s->attrs, &e), TL_EMISUSE);
  CHECK_STR(e.msg, "attributes: NULL text of length 3");
  tl_batch_free(b);
}

/* Parses text as column c, expecting success; returns the span. */
static tl_span *parse_ok(tl_batch *b, int c, const char *text) {
  tl_err e;
  tl_err_clear(&e);
  tl_span *s = tl_batch_add_span(b);
  int rc = parse_col(b, c, text, strlen(text), s, &e);
  if (rc != TL_OK) {
    UNIT_FAIL("%s: %.100s rejected: %.200s", col_name[c], text, e.msg);
    return NULL;
  }
  return s;
}

TEST(test_parse_whitespace_and_member_order) {
  tl_batch *b = tl_batch_new();
  tl_buf o;
  tl_buf_init(&o);
  tl_span *s = parse_ok(b, C_ATTRS, " \t\r\n{ \"a\" : 1 ,\n\"b\":[ 1 , { \"kvlistValue\" : "
                                    "{ } } ] , \"c\" : { \"bytesValue\" : \"AA==\" } } \n");
  if (s) CHECK_STR(text_of(&o, C_ATTRS, s),
                   "{\"a\":1,\"b\":[1,{\"kvlistValue\":{}}],\"c\":{\"bytesValue\":\"AA==\"}}");
  s = parse_ok(b, C_RESOURCE, "{\"schemaUrl\":\"u\",\"droppedAttributesCount\":2,"
                              "\"attributes\":{\"service.name\":\"svc\"}}");
  if (s) {
    CHECK_STR(text_of(&o, C_RESOURCE, s),
              "{\"attributes\":{\"service.name\":\"svc\"},\"droppedAttributesCount\":2,"
              "\"schemaUrl\":\"u\"}");
    CHECK_TLSTR(s->resource->service, "svc");
  }
  s = parse_ok(b, C_SCOPE, "{\"schemaUrl\":\"u\",\"version\":\"2\",\"name\":\"n\"}");
  if (s) CHECK_STR(text_of(&o, C_SCOPE, s), "{\"name\":\"n\",\"version\":\"2\",\"schemaUrl\":\"u\"}");
  s = parse_ok(b, C_EVENTS, "[ {\"name\":\"x\",\"timeUnixNano\":5} , {} ]");
  if (s) CHECK_STR(text_of(&o, C_EVENTS, s), "[{\"timeUnixNano\":5,\"name\":\"x\"},{}]");
  /* Ids in either case; written lowercase. */
  s = parse_ok(b, C_LINKS, "[{\"spanId\":\"A1A2A3A4A5A6A7A8\",\"traceId\":"
                           "\"0102030405060708090A0B0C0D0E0F10\"}]");
  if (s) CHECK_STR(text_of(&o, C_LINKS, s), "[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\","
                                            "\"spanId\":\"a1a2a3a4a5a6a7a8\"}]");
  s = parse_ok(b, C_DROPPED, "{\"links\":3,\"attributes\":1}");
  if (s) CHECK_STR(text_of(&o, C_DROPPED, s), "{\"attributes\":1,\"links\":3}");
  tl_buf_free(&o);
  tl_batch_free(b);
}

/* ---- numbers and strings -------------------------------------------------------- */

/* Parses {"v":<lit>} and returns the value (type EMPTY+99 on error). */
static tl_value parse_one(tl_batch *b, const char *lit, char *err, size_t errn) {
  char text[512];
  tl_err e;
  tl_attrs a = {NULL, 0, 0};
  tl_value bad = {.type = 99};
  tl_err_clear(&e);
  snprintf(text, sizeof text, "{\"v\":%s}", lit);
  if (tl_parse_attrs(b, text, strlen(text), &a, &e) != TL_OK) {
    snprintf(err, errn, "%s", e.msg);
    return bad;
  }
  err[0] = 0;
  return a.n == 1 ? a.items[0].value : bad;
}

TEST(test_numbers) {
  tl_batch *b = tl_batch_new();
  char err[512];
  tl_value v;
  v = parse_one(b, "9223372036854775807", err, sizeof err);
  CHECK(v.type == TL_V_INT && v.u.i == INT64_MAX);
  v = parse_one(b, "-9223372036854775808", err, sizeof err);
  CHECK(v.type == TL_V_INT && v.u.i == INT64_MIN);
  v = parse_one(b, "-0", err, sizeof err);
  CHECK(v.type == TL_V_INT && v.u.i == 0);
  v = parse_one(b, "0", err, sizeof err);
  CHECK(v.type == TL_V_INT && v.u.i == 0);
  v = parse_one(b, "3.0", err, sizeof err);
  CHECK(v.type == TL_V_DOUBLE && v.u.d == 3.0);
  v = parse_one(b, "1e2", err, sizeof err);
  CHECK(v.type == TL_V_DOUBLE && v.u.d == 100.0);
  v = parse_one(b, "1E-2", err, sizeof err);
  CHECK(v.type == TL_V_DOUBLE && v.u.d == 0.01);
  v = parse_one(b, "-1.5e+3", err, sizeof err);
  CHECK(v.type == TL_V_DOUBLE && v.u.d == -1500.0);
  v = parse_one(b, "-0.0", err, sizeof err);
  CHECK(v.type == TL_V_DOUBLE && v.u.d == 0.0 && signbit(v.u.d));
  v = parse_one(b, "0.0", err, sizeof err);
  CHECK(v.type == TL_V_DOUBLE && v.u.d == 0.0 && !signbit(v.u.d));
  v = parse_one(b, "4.9406564584124654e-324", err, sizeof err);
  CHECK(v.type == TL_V_DOUBLE && v.u.d == 4.9406564584124654e-324);
  v = parse_one(b, "1.7976931348623157e+308", err, sizeof err);
  CHECK(v.type == TL_V_DOUBLE && v.u.d == DBL_MAX);
  v = parse_one(b, "1e-400", err, sizeof err); /* underflows to zero: accepted */
  CHECK(v.type == TL_V_DOUBLE && v.u.d == 0.0);
  v = parse_one(b, "{\"doubleValue\":\"-Infinity\"}", err, sizeof err);
  CHECK(v.type == TL_V_DOUBLE && isinf(v.u.d) && v.u.d < 0);

  /* The writer side of -0.0 and friends (tl_buf_json_double). */
  static const struct {
    double d;
    const char *text;
  } dw[] = {{-0.0, "-0.0"}, {0.0, "0.0"}, {3.0, "3.0"}, {0.1, "0.1"}, {1e21, "1e+21"},
            {-2.5e-300, "-2.5e-300"}, {DBL_MAX, "1.7976931348623157e+308"},
            {4.9406564584124654e-324, "4.94065645841247e-324"}, {123456789.0, "123456789.0"}};
  for (size_t i = 0; i < sizeof dw / sizeof dw[0]; i++) {
    tl_buf o;
    tl_buf_init(&o);
    tl_buf_json_double(&o, dw[i].d);
    CHECK_STR(tl_buf_cstr(&o), dw[i].text);
    tl_buf_free(&o);
  }
  tl_batch_free(b);
}

TEST(test_string_escapes) {
  tl_batch *b = tl_batch_new();
  char err[512];
  static const struct {
    const char *lit;
    const char *bytes;
    size_t n;
  } cases[] = {
      {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8},
      {"\"a\\u0000b\"", "a\0b", 3},
      {"\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6},
      {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4},
      {"\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf", 4},
      {"\"\xf4\x8f\xbf\xbf \xc3\xa9\x7f\"", "\xf4\x8f\xbf\xbf \xc3\xa9\x7f", 8},
      {"\"\"", "", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tl_value v = parse_one(b, cases[i].lit, err, sizeof err);
    if (v.type != TL_V_STRING || v.u.s.len != cases[i].n ||
        memcmp(v.u.s.ptr, cases[i].bytes, cases[i].n))
      UNIT_FAIL("string %.60s: type %d len %u err %.200s", cases[i].lit, v.type, v.u.s.len, err);
  }
  /* A long string with escapes spills the parser's scratch to the heap. */
  size_t n = 100000;
  char *text = malloc(n * 2 + 16), *want = malloc(n);
  size_t k = 0;
  memcpy(text, "{\"v\":\"", 6);
  k = 6;
  for (size_t i = 0; i < n; i++) {
    want[i] = (char)(i % 3 ? 'a' + i % 26 : '\n');
    if (want[i] == '\n') text[k++] = '\\', text[k++] = 'n';
    else text[k++] = want[i];
  }
  memcpy(text + k, "\"}", 2);
  k += 2;
  tl_attrs a = {NULL, 0, 0};
  tl_err e;
  tl_err_clear(&e);
  CHECK_INT(tl_parse_attrs(b, text, k, &a, &e), TL_OK);
  CHECK(a.n == 1 && a.items[0].value.u.s.len == n && !memcmp(a.items[0].value.u.s.ptr, want, n));
  free(text);
  free(want);
  tl_batch_free(b);
}

/* Attribute members are written in place when key and value need no
** escape and the general way otherwise (span_json.c, w_kvs): every mix of
** plain and escaped keys and values, long ones past the fast path's limit,
** empty ones, non-string values, first or later in the list, after every
** length of earlier text in the buffer (so it grows inside a member), must
** give the text built piece by piece from tl_buf_json_str. */
TEST(test_attr_members_plain_and_escaped) {
  tl_batch *b = tl_batch_new();
  char long_plain[301], long_esc[301];
  memset(long_plain, 'k', 300);
  long_plain[300] = 0;
  memcpy(long_esc, long_plain, 301);
  long_esc[299] = '"';
  const char *const keys[] = {"", "k", "http.request.method", "a\"b", "\n", "caf\xc3\xa9",
                              "0123456789abcdef", long_plain, long_esc};
  enum { NK = sizeof keys / sizeof keys[0], NV = NK + 3 };
  tl_kv kv[NK * NV];
  uint32_t n = 0;
  for (int k = 0; k < NK; k++) {
    for (int v = 0; v < NV; v++) {
      tl_value val = v < NK    ? v_str(b, keys[v])
                     : v == NK ? v_int(-42)
                     : v == NK + 1 ? v_bool(1)
                                   : v_kvl(b, 1, KV(b, "\t", v_str(b, "x")));
      kv[n++] = KV(b, keys[k], val);
    }
  }
  /* The text piece by piece. */
  tl_buf want, got;
  tl_buf_init(&want);
  tl_buf_init(&got);
  tl_buf_putc(&want, '{');
  for (uint32_t i = 0; i < n; i++) {
    if (i) tl_buf_putc(&want, ',');
    tl_buf_json_str(&want, kv[i].key.ptr, kv[i].key.len);
    tl_buf_putc(&want, ':');
    const tl_value *v = &kv[i].value;
    if (v->type == TL_V_STRING) tl_buf_json_str(&want, v->u.s.ptr, v->u.s.len);
    else if (v->type == TL_V_INT) tl_buf_puts(&want, "-42");
    else if (v->type == TL_V_BOOL) tl_buf_puts(&want, "true");
    else tl_buf_puts(&want, "{\"kvlistValue\":{\"\\t\":\"x\"}}");
  }
  tl_buf_putc(&want, '}');
  int bad = 0;
  for (size_t prefix = 0; prefix < 300 && bad < 3; prefix++) {
    tl_buf_free(&got);
    for (size_t k = 0; k < prefix; k++) tl_buf_putc(&got, '.');
    tl_attrs a = {kv, n, 0};
    CHECK_INT(tl_json_attrs(&got, &a), 1);
    if (got.oom || got.n != prefix + want.n || memcmp(got.p + prefix, want.p, want.n)) {
      bad++;
      UNIT_FAIL("after %zu bytes: got %zu bytes, want %zu", prefix, got.n - prefix, want.n);
    }
  }
  /* Each member alone, and second after a plain one. */
  for (uint32_t i = 0; i < n && !bad; i++) {
    tl_kv two[2] = {KV(b, "p", v_str(b, "q")), kv[i]};
    for (int first = 0; first < 2; first++) {
      tl_attrs a = {first ? two + 1 : two, first ? 1 : 2, 0};
      tl_buf_reset(&want);
      tl_buf_reset(&got);
      tl_buf_puts(&want, first ? "{" : "{\"p\":\"q\",");
      tl_buf_json_str(&want, kv[i].key.ptr, kv[i].key.len);
      tl_buf_putc(&want, ':');
      tl_json_attrs(&got, &a);
      bad += got.n < want.n || memcmp(got.p, want.p, want.n) != 0;
    }
  }
  CHECK_INT(bad, 0);
  tl_buf_free(&want);
  tl_buf_free(&got);
  tl_batch_free(b);
}

/* ---- malformed input -------------------------------------------------------------- */

typedef struct bad_case {
  int col;
  const char *text;
  size_t n; /* 0: strlen(text) */
  const char *msg;
} bad_case;

static const bad_case kBad[] = {
    /* structure */
    {C_ATTRS, "[]", 0, "attributes: expected '{' at offset 0"},
    {C_ATTRS, " ", 0, "attributes: expected '{' at offset 1 (end of text)"},
    {C_ATTRS, "null", 0, "attributes: expected '{' at offset 0"},
    {C_ATTRS, "\xef\xbb\xbf{}", 0, "attributes: expected '{' at offset 0"},
    {C_ATTRS, "{", 0, "attributes: expected '\"' at offset 1 (end of text)"},
    {C_ATTRS, "{\"a\"", 0, "attributes: expected ':' at offset 4 (end of text)"},
    {C_ATTRS, "{\"a\" 1}", 0, "attributes: expected ':' at offset 5"},
    {C_ATTRS, "{\"a\":}", 0, "attributes: expected a value at offset 5"},
    {C_ATTRS, "{\"a\":1", 0, "attributes: expected ',' or '}' at offset 6 (end of text)"},
    {C_ATTRS, "{\"a\":1,}", 0, "attributes: expected '\"' at offset 7"},
    {C_ATTRS, "{\"a\":1}x", 0, "attributes: expected end of text at offset 7"},
    {C_ATTRS, "{\"a\":1} {}", 0, "attributes: expected end of text at offset 8"},
    {C_ATTRS, "{a:1}", 0, "attributes: expected '\"' at offset 1"},
    {C_ATTRS, "{\"a\":1\0}", 8, "attributes: expected ',' or '}' at offset 6"},
    {C_ATTRS, "{\"a\":1;\"b\":2}", 0, "attributes: expected ',' or '}' at offset 6"},
    /* literals */
    {C_ATTRS, "{\"a\":tru}", 0, "attributes: expected a value at offset 5"},
    {C_ATTRS, "{\"a\":True}", 0, "attributes: expected a value at offset 5"},
    {C_ATTRS, "{\"a\":nul", 0, "attributes: expected a value at offset 5"},
    {C_ATTRS, "{\"a\":'x'}", 0, "attributes: expected a value at offset 5"},
    {C_ATTRS, "{\"a\":NaN}", 0, "attributes: expected a value at offset 5"},
    /* numbers */
    {C_ATTRS, "{\"a\":01}", 0, "attributes: invalid number at offset 5"},
    {C_ATTRS, "{\"a\":-01}", 0, "attributes: invalid number at offset 5"},
    {C_ATTRS, "{\"a\":-}", 0, "attributes: invalid number at offset 5"},
    {C_ATTRS, "{\"a\":-x}", 0, "attributes: invalid number at offset 5"},
    {C_ATTRS, "{\"a\":1.}", 0, "attributes: invalid number at offset 5"},
    {C_ATTRS, "{\"a\":1.e5}", 0, "attributes: invalid number at offset 5"},
    {C_ATTRS, "{\"a\":.5}", 0, "attributes: expected a value at offset 5"},
    {C_ATTRS, "{\"a\":+1}", 0, "attributes: expected a value at offset 5"},
    {C_ATTRS, "{\"a\":1e}", 0, "attributes: invalid number at offset 5"},
    {C_ATTRS, "{\"a\":1e+}", 0, "attributes: invalid number at offset 5"},
    {C_ATTRS, "{\"a\":0x10}", 0, "attributes: expected ',' or '}' at offset 6"},
    {C_ATTRS, "{\"a\":9223372036854775808}", 0, "attributes: integer out of range at offset 5"},
    {C_ATTRS, "{\"a\":-9223372036854775809}", 0, "attributes: integer out of range at offset 5"},
    {C_ATTRS, "{\"a\":18446744073709551616}", 0, "attributes: integer out of range at offset 5"},
    {C_ATTRS, "{\"a\":99999999999999999999999}", 0, "attributes: integer out of range at offset 5"},
    {C_ATTRS, "{\"a\":1e400}", 0, "attributes: number out of range at offset 5"},
    {C_ATTRS, "{\"a\":-1.5e999}", 0, "attributes: number out of range at offset 5"},
    /* strings */
    {C_ATTRS, "{\"a\":\"x}", 0, "attributes: unterminated string at offset 5"},
    {C_ATTRS, "{\"a", 0, "attributes: unterminated string at offset 1"},
    {C_ATTRS, "{\"a\":\"\\", 0, "attributes: unterminated string at offset 5"},
    {C_ATTRS, "{\"a\":\"\\x\"}", 0, "attributes: invalid escape at offset 6"},
    {C_ATTRS, "{\"a\":\"\\U0041\"}", 0, "attributes: invalid escape at offset 6"},
    {C_ATTRS, "{\"a\":\"\\u12\"}", 0, "attributes: invalid \\u escape at offset 6"},
    {C_ATTRS, "{\"a\":\"\\u12G4\"}", 0, "attributes: invalid \\u escape at offset 6"},
    {C_ATTRS, "{\"a\":\"\\u12", 0, "attributes: invalid \\u escape at offset 6"},
    {C_ATTRS, "{\"a\":\"\\ud800\"}", 0, "attributes: lone surrogate at offset 6"},
    {C_ATTRS, "{\"a\":\"\\udc00\"}", 0, "attributes: lone surrogate at offset 6"},
    {C_ATTRS, "{\"a\":\"\\udfff\\ud800\"}", 0, "attributes: lone surrogate at offset 6"},
    {C_ATTRS, "{\"a\":\"\\ud800\\u0041\"}", 0, "attributes: lone surrogate at offset 6"},
    {C_ATTRS, "{\"a\":\"\\ud800\\ud800\"}", 0, "attributes: lone surrogate at offset 6"},
    {C_ATTRS, "{\"a\":\"\\ud800x\"}", 0, "attributes: lone surrogate at offset 6"},
    {C_ATTRS, "{\"a\":\"\\ud800\\", 0, "attributes: lone surrogate at offset 6"},
    {C_ATTRS, "{\"a\":\"x\\ud800\\udc0\"}", 0, "attributes: lone surrogate at offset 7"},
    {C_ATTRS, "{\"a\":\"\x01\"}", 0, "attributes: control character in string at offset 6"},
    {C_ATTRS, "{\"a\":\"a\nb\"}", 0, "attributes: control character in string at offset 7"},
    {C_ATTRS, "{\"a\":\"\0\"}", 9, "attributes: control character in string at offset 6"},
    {C_ATTRS, "{\"a\":\"\xff\"}", 0, "attributes: invalid UTF-8 at offset 6"},
    {C_ATTRS, "{\"a\":\"\xc0\x80\"}", 0, "attributes: invalid UTF-8 at offset 6"},
    {C_ATTRS, "{\"a\":\"\xe0\x80\xaf\"}", 0, "attributes: invalid UTF-8 at offset 6"},
    {C_ATTRS, "{\"a\":\"\xed\xa0\x80\"}", 0, "attributes: invalid UTF-8 at offset 6"},
    {C_ATTRS, "{\"a\":\"ab\xe2\x82\"}", 0, "attributes: invalid UTF-8 at offset 8"},
    {C_ATTRS, "{\"a\":\"\xf4\x90\x80\x80\"}", 0, "attributes: invalid UTF-8 at offset 6"},
    {C_ATTRS, "{\"a\":\"\xf8\x88\x80\x80\x80\"}", 0, "attributes: invalid UTF-8 at offset 6"},
    {C_ATTRS, "{\"a\":\"\x80\"}", 0, "attributes: invalid UTF-8 at offset 6"},
    {C_ATTRS, "{\"a\":\"\xf0\x9f\x98", 0, "attributes: invalid UTF-8 at offset 6"},
    {C_ATTRS, "{\"\xff\":1}", 0, "attributes: invalid UTF-8 at offset 2"},
    {C_ATTRS, "{\"a\\u00\":1}", 0, "attributes: invalid \\u escape at offset 3"},
    /* wrapper objects */
    {C_ATTRS, "{\"a\":{}}", 0, "attributes: expected '\"' at offset 6"},
    {C_ATTRS, "{\"a\":{\"stringValue\":\"x\"}}", 0,
     "attributes: unknown value object \"stringValue\" at offset 6"},
    {C_ATTRS, "{\"a\":{\"bytesvalue\":\"\"}}", 0,
     "attributes: unknown value object \"bytesvalue\" at offset 6"},
    {C_ATTRS, "{\"a\":{\"bytesValue\":\"!!\"}}", 0, "attributes: invalid base64 at offset 19"},
    {C_ATTRS, "{\"a\":{\"bytesValue\":\"A\"}}", 0, "attributes: invalid base64 at offset 19"},
    {C_ATTRS, "{\"a\":{\"bytesValue\":\"AB\"}}", 0, "attributes: invalid base64 at offset 19"},
    {C_ATTRS, "{\"a\":{\"bytesValue\":1}}", 0, "attributes: expected a string at offset 19"},
    {C_ATTRS, "{\"a\":{\"bytesValue\":null}}", 0, "attributes: expected a string at offset 19"},
    {C_ATTRS, "{\"a\":{\"bytesValue\":\"AA==\",\"x\":1}}", 0,
     "attributes: expected '}' at offset 25"},
    {C_ATTRS, "{\"a\":{\"bytesValue\":\"AA==\"", 0,
     "attributes: expected '}' at offset 25 (end of text)"},
    {C_ATTRS, "{\"a\":{\"doubleValue\":\"nan\"}}", 0,
     "attributes: expected \"NaN\", \"Infinity\" or \"-Infinity\" at offset 20"},
    {C_ATTRS, "{\"a\":{\"doubleValue\":1.5}}", 0,
     "attributes: expected \"NaN\", \"Infinity\" or \"-Infinity\" at offset 20"},
    {C_ATTRS, "{\"a\":{\"doubleValue\":\"+Infinity\"}}", 0,
     "attributes: expected \"NaN\", \"Infinity\" or \"-Infinity\" at offset 20"},
    {C_ATTRS, "{\"a\":{\"kvlistValue\":[]}}", 0, "attributes: expected '{' at offset 20"},
    {C_ATTRS, "{\"a\":{\"kvlistValue\":{\"b\":}}}", 0, "attributes: expected a value at offset 25"},
    {C_ATTRS, "{\"a\":{\"kvlistValue\":{\"b\":1}", 0,
     "attributes: expected '}' at offset 27 (end of text)"},
    {C_ATTRS, "{\"a\":{\"kvlistValue\":{\"b\":1}}", 0,
     "attributes: expected ',' or '}' at offset 28 (end of text)"},
    /* arrays */
    {C_ATTRS, "{\"a\":[1,]}", 0, "attributes: expected a value at offset 8"},
    {C_ATTRS, "{\"a\":[,]}", 0, "attributes: expected a value at offset 6"},
    {C_ATTRS, "{\"a\":[1 2]}", 0, "attributes: expected ',' or ']' at offset 8"},
    {C_ATTRS, "{\"a\":[1}", 0, "attributes: expected ',' or ']' at offset 7"},
    {C_ATTRS, "{\"a\":[", 0, "attributes: expected a value at offset 6 (end of text)"},
    /* resource */
    {C_RESOURCE, "[]", 0, "resource: expected '{' at offset 0"},
    {C_RESOURCE, "{\"attributes\":[]}", 0, "resource: expected '{' at offset 14"},
    {C_RESOURCE, "{\"service\":\"x\"}", 0, "resource: unknown member \"service\" at offset 1"},
    {C_RESOURCE, " { \"x\\u0000\\n\":1}", 0, "resource: unknown member \"x??\" at offset 3"},
    {C_RESOURCE, "{\"abcdefghijklmnopqrstuvwxyz0123456789\":1}", 0,
     "resource: unknown member \"abcdefghijklmnopqrstuvwxyz012345...\" at offset 1"},
    {C_RESOURCE, "{\"schemaUrl\":\"a\",\"schemaUrl\":\"b\"}", 0,
     "resource: duplicate member \"schemaUrl\" at offset 17"},
    {C_RESOURCE, "{\"schemaUrl\":\"a\", \"schemaUrl\":\"b\"}", 0,
     "resource: duplicate member \"schemaUrl\" at offset 18"},
    {C_RESOURCE, "{\"schemaUrl\":1}", 0, "resource: expected a string at offset 13"},
    {C_RESOURCE, "{\"schemaUrl\":null}", 0, "resource: expected a string at offset 13"},
    {C_RESOURCE, "{\"droppedAttributesCount\":-1}", 0,
     "resource: expected an unsigned integer at offset 26"},
    {C_RESOURCE, "{\"droppedAttributesCount\":4294967296}", 0,
     "resource: integer out of range at offset 26"},
    {C_RESOURCE, "{\"droppedAttributesCount\":1.0}", 0,
     "resource: expected an unsigned integer at offset 26"},
    {C_RESOURCE, "{\"droppedAttributesCount\":\"1\"}", 0,
     "resource: expected an unsigned integer at offset 26"},
    {C_RESOURCE, "{\"attributes\":{},}", 0, "resource: expected '\"' at offset 17"},
    {C_RESOURCE, "{\"attributes\":{\"a\":[}]}}", 0, "resource: expected a value at offset 20"},
    /* scope */
    {C_SCOPE, "{\"name\":\"a\",\"version\":1}", 0, "scope: expected a string at offset 22"},
    {C_SCOPE, "{\"Name\":\"a\"}", 0, "scope: unknown member \"Name\" at offset 1"},
    {C_SCOPE, "{\"name\":\"a\"", 0, "scope: expected ',' or '}' at offset 11 (end of text)"},
    /* events */
    {C_EVENTS, "{}", 0, "events: expected '[' at offset 0"},
    {C_EVENTS, "[1]", 0, "events: expected '{' at offset 1"},
    {C_EVENTS, "[{}", 0, "events: expected ',' or ']' at offset 3 (end of text)"},
    {C_EVENTS, "[{},]", 0, "events: expected '{' at offset 4"},
    {C_EVENTS, "[{}]]", 0, "events: expected end of text at offset 4"},
    {C_EVENTS, "[{\"timeUnixNano\":\"1\"}]", 0,
     "events: expected an unsigned integer at offset 17"},
    {C_EVENTS, "[{\"timeUnixNano\":18446744073709551616}]", 0,
     "events: integer out of range at offset 17"},
    {C_EVENTS, "[{\"timeUnixNano\":-1}]", 0, "events: expected an unsigned integer at offset 17"},
    {C_EVENTS, "[{\"timeUnixNano\":1e3}]", 0, "events: expected an unsigned integer at offset 17"},
    {C_EVENTS, "[{\"time\":1}]", 0, "events: unknown member \"time\" at offset 2"},
    {C_EVENTS, "[{\"name\":\"a\",\"name\":\"b\"}]", 0,
     "events: duplicate member \"name\" at offset 13"},
    {C_EVENTS, "[{\"attributes\":{\"k\":{\"kvlistValue\":1}}}]", 0,
     "events: expected '{' at offset 35"},
    /* links */
    {C_LINKS, "[{\"traceId\":\"abc\"}]", 0, "links: expected 32 hex digits at offset 12"},
    {C_LINKS, "[{\"traceId\":\"0102030405060708090a0b0c0d0e0f1\"}]", 0,
     "links: expected 32 hex digits at offset 12"},
    {C_LINKS, "[{\"traceId\":\"AQIDBAUGBwgJCgsMDQ4PEA==\"}]", 0,
     "links: expected 32 hex digits at offset 12"},
    {C_LINKS, "[{\"spanId\":\"0102030405060708090a\"}]", 0,
     "links: expected 16 hex digits at offset 11"},
    {C_LINKS, "[{\"spanId\":\"010203040506070g\"}]", 0, "links: expected 16 hex digits at offset 11"},
    {C_LINKS, "[{\"spanId\":\" 102030405060708\"}]", 0, "links: expected 16 hex digits at offset 11"},
    {C_LINKS, "[{\"traceId\":5}]", 0, "links: expected a string at offset 12"},
    {C_LINKS, "[{\"flags\":4294967296}]", 0, "links: integer out of range at offset 10"},
    {C_LINKS, "[{\"flags\":true}]", 0, "links: expected an unsigned integer at offset 10"},
    {C_LINKS, "[{\"traceState\":\"a\",\"traceState\":\"a\"}]", 0,
     "links: duplicate member \"traceState\" at offset 19"},
    /* dropped */
    {C_DROPPED, "[]", 0, "dropped: expected '{' at offset 0"},
    {C_DROPPED, "{\"attributes\":1,\"spans\":2}", 0, "dropped: unknown member \"spans\" at offset 16"},
    {C_DROPPED, "{\"events\":-1}", 0, "dropped: expected an unsigned integer at offset 10"},
    {C_DROPPED, "{\"links\":4294967296}", 0, "dropped: integer out of range at offset 9"},
    {C_DROPPED, "{\"links\":1}}", 0, "dropped: expected end of text at offset 11"},
    {C_DROPPED, "{\"links\":01}", 0, "dropped: invalid number at offset 9"},
    {C_DROPPED, "{\"links\":", 0, "dropped: expected an unsigned integer at offset 9 (end of text)"},
};

TEST(test_malformed_messages) {
  tl_batch *b = tl_batch_new();
  for (size_t i = 0; i < sizeof kBad / sizeof kBad[0]; i++) {
    const bad_case *c = &kBad[i];
    size_t n = c->n ? c->n : strlen(c->text);
    /* An exact-size copy, so ASan sees any read past the end. */
    char *t = malloc(n);
    memcpy(t, c->text, n);
    tl_span *s = tl_batch_add_span(b);
    tl_span before = *s;
    tl_err e;
    tl_err_clear(&e);
    int rc = parse_col(b, c->col, t, n, s, &e);
    if (rc != TL_EFORMAT || e.rc != TL_EFORMAT || strcmp(e.msg, c->msg) != 0)
      UNIT_FAIL("case %zu (%.60s): rc %d msg \"%.150s\", expected \"%.150s\"", i, c->text, rc, e.msg,
                c->msg);
    /* A failed parse leaves the span as it was. */
    if (memcmp(&before, s, sizeof before) != 0) UNIT_FAIL("case %zu changed the span", i);
    free(t);
  }
  /* A double literal longer than the parser's copy. */
  char text[300] = "{\"a\":0.";
  memset(text + 7, '1', 200);
  strcpy(text + 207, "}");
  tl_attrs a = {NULL, 0, 0};
  tl_err e;
  tl_err_clear(&e);
  CHECK_INT(tl_parse_attrs(b, text, strlen(text), &a, &e), TL_EFORMAT);
  CHECK_STR(e.msg, "attributes: number too long at offset 5");
  /* The longest accepted: 127 characters. */
  text[5 + 127] = '}';
  tl_err_clear(&e);
  CHECK_INT(tl_parse_attrs(b, text, 5 + 128, &a, &e), TL_OK);
  tl_batch_free(b);
}

/* The size limits: a string past TL_MAX_STRING, a list past what the
** parser's scratch holds (TL_MAX_STRING bytes of items). */
TEST(test_size_limits) {
  tl_batch *b = tl_batch_new();
  tl_attrs a = {NULL, 0, 0};
  tl_err e;
  size_t n = TL_MAX_STRING + 1, k = 0;
  char *text = malloc(n + 16);
  k = (size_t)sprintf(text, "{\"a\":\"");
  memset(text + k, 'x', n);
  k += n;
  memcpy(text + k, "\"}", 2);
  tl_err_clear(&e);
  CHECK_INT(tl_parse_attrs(b, text, k + 2, &a, &e), TL_EFORMAT);
  CHECK_STR(e.msg, "attributes: string too long at offset 5");
  /* One byte less is accepted. */
  text[k - 1] = '"', text[k] = '}';
  tl_err_clear(&e);
  CHECK_INT(tl_parse_attrs(b, text, k + 1, &a, &e), TL_OK);
  CHECK(a.n == 1 && a.items[0].value.u.s.len == TL_MAX_STRING);
  free(text);

  size_t fit = TL_MAX_STRING / sizeof(tl_value), items = fit + 10;
  text = malloc(items * 2 + 16);
  k = (size_t)sprintf(text, "{\"a\":[");
  for (size_t i = 0; i < items; i++) text[k++] = '0', text[k++] = ',';
  memcpy(text + k - 1, "]}", 2);
  k++;
  tl_batch_reset(b);
  tl_err_clear(&e);
  CHECK_INT(tl_parse_attrs(b, text, k, &a, &e), TL_EFORMAT);
  char want[96];
  snprintf(want, sizeof want, "attributes: too many items at offset %zu", 6 + 2 * fit + 1);
  CHECK_STR(e.msg, want);
  /* As many as fit are accepted. */
  memcpy(text + 6 + 2 * fit - 1, "]}", 2);
  tl_err_clear(&e);
  CHECK_INT(tl_parse_attrs(b, text, 6 + 2 * fit + 1, &a, &e), TL_OK);
  CHECK(a.n == 1 && a.items[0].value.u.arr.n == fit);
  free(text);
  tl_batch_free(b);
}

/* ---- depth --------------------------------------------------------------------------- */

/* {"k": <levels arrays or kvlists> innermost </levels>} */
static char *nested_text(int levels, int kvlist, const char *innermost) {
  tl_buf o;
  tl_buf_init(&o);
  tl_buf_puts(&o, "{\"k\":");
  for (int i = 0; i < levels; i++) tl_buf_puts(&o, kvlist ? "{\"kvlistValue\":{\"k\":" : "[");
  tl_buf_puts(&o, innermost);
  for (int i = 0; i < levels; i++) tl_buf_puts(&o, kvlist ? "}}" : "]");
  tl_buf_putc(&o, '}');
  return (char *)tl_buf_cstr(&o);
}

/* A model value: `levels` arrays around an int. */
static tl_value nested_value(tl_batch *b, int levels) {
  tl_value v = v_int(7);
  for (int i = 0; i < levels; i++) v = v_arr(b, 1, v);
  return v;
}

TEST(test_depth_limit) {
  tl_batch *b = tl_batch_new();
  tl_err e;
  for (int kvlist = 0; kvlist <= 1; kvlist++) {
    /* A value inside TL_MAX_DEPTH containers is accepted, one more is not. */
    char *ok = nested_text(TL_MAX_DEPTH, kvlist, "1");
    char *deep = nested_text(TL_MAX_DEPTH + 1, kvlist, "1");
    tl_attrs a = {NULL, 0, 0};
    tl_err_clear(&e);
    CHECK_INT(tl_parse_attrs(b, ok, strlen(ok), &a, &e), TL_OK);
    tl_err_clear(&e);
    CHECK_INT(tl_parse_attrs(b, deep, strlen(deep), &a, &e), TL_EFORMAT);
    char want[128];
    snprintf(want, sizeof want, "attributes: values nested too deep at offset %zu",
             strchr(deep, '1') - deep);
    CHECK_STR(e.msg, want);
    free(ok);
    free(deep);
  }
  /* The rule is tl_span_copy()'s: an empty container holds no value, so it
  ** may itself sit at depth TL_MAX_DEPTH. */
  char *edge = nested_text(TL_MAX_DEPTH + 1, 0, "");
  tl_span *s = tl_batch_add_span(b);
  tl_err_clear(&e);
  CHECK_INT(tl_parse_attrs(b, edge, strlen(edge), &s->attrs, &e), TL_OK);
  tl_batch *copy = tl_batch_new();
  CHECK_INT(tl_span_copy(copy, s, NULL, NULL), TL_OK);
  free(edge);
  /* A hostile nesting far deeper fails at the limit, without recursing on. */
  char *hostile = nested_text(100000, 0, "1");
  tl_err_clear(&e);
  CHECK_INT(tl_parse_attrs(b, hostile, strlen(hostile), &s->attrs, &e), TL_EFORMAT);
  CHECK_STR(e.msg, "attributes: values nested too deep at offset 38");
  free(hostile);
  /* The deepest model value writes and reads back. */
  tl_span *m = tl_batch_add_span(b);
  m->attrs = attrs_of(b, 1, KV(b, "k", nested_value(b, TL_MAX_DEPTH)));
  tl_batch_reset(copy);
  CHECK(round_trip(copy, m, "deepest value"));
  tl_batch_free(copy);
  tl_batch_free(b);
}

/* ---- random round trips ---------------------------------------------------------------- */

static uint64_t rnd(uint64_t *st) { /* xorshift64* */
  *st ^= *st >> 12;
  *st ^= *st << 25;
  *st ^= *st >> 27;
  return *st * 0x2545F4914F6CDD1Dull;
}
static uint32_t rndn(uint64_t *st, uint32_t n) { return (uint32_t)(rnd(st) % n); }

/* Appends the UTF-8 of code point cp. */
static size_t put_utf8(char *o, uint32_t cp) {
  if (cp < 0x80) return o[0] = (char)cp, 1;
  if (cp < 0x800) return o[0] = (char)(0xC0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3F)), 2;
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* A random valid UTF-8 string: control characters, quotes, backslashes,
** NULs and characters of every UTF-8 length. */
static tl_str rnd_str(tl_batch *b, uint64_t *st) {
  static const char *const pool[] = {"", "a", "http.method", "service.name", "k"};
  if (rndn(st, 4) == 0) return S(b, pool[rndn(st, 5)]);
  char buf[4 * 40];
  size_t n = 0, len = rndn(st, 8) ? rndn(st, 12) : rndn(st, 40);
  for (size_t i = 0; i < len; i++) {
    uint32_t cp;
    switch (rndn(st, 8)) {
      case 0: cp = rndn(st, 0x20); break;
      case 1: cp = "\"\\/\x7f"[rndn(st, 4)]; break;
      case 2: cp = 0x80 + rndn(st, 0x800 - 0x80); break;
      case 3: cp = 0x800 + rndn(st, 0x10000 - 0x800); if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD; break;
      case 4: cp = 0x10000 + rndn(st, 0x110000 - 0x10000); break;
      default: cp = 0x20 + rndn(st, 0x5F); break;
    }
    n += put_utf8(buf + n, cp);
  }
  return tl_batch_intern(b, buf, n);
}

static double rnd_double(uint64_t *st) {
  static const double edge[] = {0.0, -0.0, 1.0, 3.0, 0.1, -2.5, 1e21, 1e-7, 1e300,
                                DBL_MAX, -DBL_MAX, DBL_MIN, 4.9406564584124654e-324,
                                123456789012345678.0, 0.30000000000000004};
  uint64_t bits;
  double d;
  switch (rndn(st, 6)) {
    case 0: return edge[rndn(st, sizeof edge / sizeof edge[0])];
    case 1: return rndn(st, 3) == 0 ? NAN : rndn(st, 2) ? INFINITY : -INFINITY;
    case 2: return (double)(int32_t)rnd(st); /* integral doubles: 3.0 must stay a double */
    case 3: return (double)rnd(st) / (double)(rnd(st) | 1);
    default: /* any bit pattern: denormals, NaN payloads, ... */
      bits = rnd(st);
      memcpy(&d, &bits, sizeof d);
      return d;
  }
}

static tl_attrs rnd_attrs(tl_batch *b, uint64_t *st, uint32_t max, int depth);

static tl_value rnd_value(tl_batch *b, uint64_t *st, int depth) {
  static const int64_t edge[] = {0, 1, -1, INT64_MIN, INT64_MAX, 200, -200, 9007199254740993};
  tl_value v;
  memset(&v, 0, sizeof v);
  /* Containers thin out with depth, and stop at the limit. */
  uint32_t kinds = depth < TL_MAX_DEPTH && rndn(st, (uint32_t)depth + 2) < 2 ? 8 : 6;
  switch (rndn(st, kinds)) {
    case 0: v.type = TL_V_STRING; v.u.s = rnd_str(b, st); break;
    case 1: v.type = TL_V_INT; v.u.i = rndn(st, 2) ? edge[rndn(st, 8)] : (int64_t)rnd(st); break;
    case 2: v.type = TL_V_DOUBLE; v.u.d = rnd_double(st); break;
    case 3: v.type = TL_V_BOOL; v.u.b = (int)rndn(st, 2); break;
    case 4: {
      uint8_t bytes[32];
      uint32_t n = rndn(st, 33);
      for (uint32_t i = 0; i < n; i++) bytes[i] = (uint8_t)rnd(st);
      v = v_bytes(b, bytes, n);
      break;
    }
    case 5: v.type = TL_V_EMPTY; break;
    case 6:
      v.type = TL_V_ARRAY;
      v.u.arr.n = rndn(st, 5);
      v.u.arr.items = v.u.arr.n ? tl_batch_alloc(b, v.u.arr.n * sizeof(tl_value)) : NULL;
      for (uint32_t i = 0; i < v.u.arr.n; i++) v.u.arr.items[i] = rnd_value(b, st, depth + 1);
      break;
    default: {
      tl_attrs a = rnd_attrs(b, st, 5, depth + 1);
      v.type = TL_V_KVLIST;
      v.u.kv.items = a.items;
      v.u.kv.n = a.n;
      break;
    }
  }
  return v;
}

static uint32_t rnd_count(uint64_t *st) {
  uint32_t k = rndn(st, 4);
  return k == 0 ? 0 : k == 1 ? UINT32_MAX : k == 2 ? 1 : (uint32_t)rnd(st);
}

/* Up to max attributes whose values have the given depth. */
static tl_attrs rnd_attrs(tl_batch *b, uint64_t *st, uint32_t max, int depth) {
  tl_attrs a = {NULL, rndn(st, max + 1), 0};
  a.items = a.n ? tl_batch_alloc(b, a.n * sizeof(tl_kv)) : NULL;
  for (uint32_t i = 0; i < a.n; i++) {
    a.items[i].key = rnd_str(b, st);
    a.items[i].value = rnd_value(b, st, depth);
  }
  if (depth == 0 && rndn(st, 3) == 0) a.dropped = rnd_count(st);
  return a;
}

static uint64_t rnd_time(uint64_t *st) {
  uint32_t k = rndn(st, 4);
  return k == 0 ? 0 : k == 1 ? UINT64_MAX : rnd(st) >> rndn(st, 64);
}

static tl_span *rnd_span(tl_batch *b, uint64_t *st) {
  tl_span *s = tl_batch_add_span(b);
  s->attrs = rnd_attrs(b, st, 12, 0);
  s->dropped_events = rndn(st, 2) ? 0 : rnd_count(st);
  s->dropped_links = rndn(st, 2) ? 0 : rnd_count(st);
  if (rndn(st, 3)) {
    tl_resource *r = tl_batch_alloc(b, sizeof *r);
    r->attrs = rnd_attrs(b, st, 6, 0);
    if (rndn(st, 2)) r->schema_url = rnd_str(b, st);
    tl_resource_set_service(r);
    s->resource = r;
  }
  if (rndn(st, 3)) {
    tl_scope *sc = tl_batch_alloc(b, sizeof *sc);
    if (rndn(st, 2)) sc->name = rnd_str(b, st);
    if (rndn(st, 2)) sc->version = rnd_str(b, st);
    sc->attrs = rnd_attrs(b, st, 3, 0);
    if (rndn(st, 2)) sc->schema_url = rnd_str(b, st);
    s->scope = sc;
  }
  s->n_events = rndn(st, 4);
  s->events = s->n_events ? tl_batch_alloc(b, s->n_events * sizeof(tl_event)) : NULL;
  for (uint32_t i = 0; i < s->n_events; i++) {
    s->events[i].time_ns = rnd_time(st);
    if (rndn(st, 2)) s->events[i].name = rnd_str(b, st);
    s->events[i].attrs = rnd_attrs(b, st, 4, 0);
  }
  s->n_links = rndn(st, 4);
  s->links = s->n_links ? tl_batch_alloc(b, s->n_links * sizeof(tl_link)) : NULL;
  for (uint32_t i = 0; i < s->n_links; i++) {
    tl_link *ln = &s->links[i];
    if (rndn(st, 4))
      for (int k = 0; k < 16; k++) ln->trace_id[k] = (uint8_t)rnd(st);
    if (rndn(st, 4))
      for (int k = 0; k < 8; k++) ln->span_id[k] = (uint8_t)rnd(st);
    if (rndn(st, 2)) ln->trace_state = rnd_str(b, st);
    ln->flags = rndn(st, 2) ? 0 : rnd_count(st);
    ln->attrs = rnd_attrs(b, st, 3, 0);
  }
  return s;
}

TEST(test_random_round_trips) {
  tl_batch *src = tl_batch_new(), *dst = tl_batch_new();
  uint64_t st = 0x9E3779B97F4A7C15ull;
  int failures = 0;
  const int cases = 5000;
  for (int i = 0; i < cases && failures < 3; i++) {
    char label[32];
    snprintf(label, sizeof label, "case %d", i);
    tl_span *s = rnd_span(src, &st);
    if (!round_trip(dst, s, label)) failures++;
    if (i % 256 == 255) {
      tl_batch_reset(src);
      tl_batch_reset(dst);
    }
  }
  CHECK_INT(failures, 0);
  tl_batch_free(src);
  tl_batch_free(dst);
}

/* ---- real attribute lists ------------------------------------------------------------- */

static int any_to_value(tl_batch *b, json_t *any, tl_value *v, int depth);

/* An OTLP JSON KeyValue array into a tl_attrs; -1 if it is not one. */
static int otlp_kvs(tl_batch *b, json_t *arr, tl_kv **items, uint32_t *n, int depth) {
  size_t count = json_array_size(arr);
  *n = (uint32_t)count;
  *items = count ? tl_batch_alloc(b, count * sizeof(tl_kv)) : NULL;
  for (size_t i = 0; i < count; i++) {
    json_t *kv = json_array_get(arr, i), *key = json_object_get(kv, "key");
    if (!json_is_string(key)) return -1;
    (*items)[i].key = tl_batch_intern(b, json_string_value(key), json_string_length(key));
    if (any_to_value(b, json_object_get(kv, "value"), &(*items)[i].value, depth)) return -1;
  }
  return 0;
}

static int any_to_value(tl_batch *b, json_t *any, tl_value *v, int depth) {
  json_t *x;
  memset(v, 0, sizeof *v);
  if (depth > TL_MAX_DEPTH) return -1;
  if (!any || !json_object_size(any)) return 0;
  if ((x = json_object_get(any, "stringValue"))) {
    v->type = TL_V_STRING;
    v->u.s = tl_batch_intern(b, json_string_value(x), json_string_length(x));
  } else if ((x = json_object_get(any, "boolValue"))) {
    v->type = TL_V_BOOL;
    v->u.b = json_is_true(x);
  } else if ((x = json_object_get(any, "intValue"))) {
    v->type = TL_V_INT;
    v->u.i = json_is_string(x) ? strtoll(json_string_value(x), NULL, 10) : json_integer_value(x);
  } else if ((x = json_object_get(any, "doubleValue"))) {
    v->type = TL_V_DOUBLE;
    v->u.d = json_number_value(x);
  } else if ((x = json_object_get(any, "bytesValue"))) {
    uint8_t tmp[4096];
    long n = tl_base64_decode(json_string_value(x), json_string_length(x), tmp, sizeof tmp);
    if (n < 0) return -1;
    *v = v_bytes(b, tmp, (size_t)n);
  } else if ((x = json_object_get(any, "arrayValue"))) {
    json_t *vals = json_object_get(x, "values");
    size_t n = json_array_size(vals);
    v->type = TL_V_ARRAY;
    v->u.arr.n = (uint32_t)n;
    v->u.arr.items = n ? tl_batch_alloc(b, n * sizeof(tl_value)) : NULL;
    for (size_t i = 0; i < n; i++)
      if (any_to_value(b, json_array_get(vals, i), &v->u.arr.items[i], depth + 1)) return -1;
  } else if ((x = json_object_get(any, "kvlistValue"))) {
    v->type = TL_V_KVLIST;
    return otlp_kvs(b, json_object_get(x, "values"), &v->u.kv.items, &v->u.kv.n, depth + 1);
  } else {
    return -1;
  }
  return 0;
}

/* Round-trips every "attributes" array under j; counts them in *lists. */
static void walk_attributes(tl_batch *src, tl_batch *dst, json_t *j, const char *file,
                            int *lists, int *failed) {
  if (json_is_array(j)) {
    for (size_t i = 0; i < json_array_size(j); i++)
      walk_attributes(src, dst, json_array_get(j, i), file, lists, failed);
    return;
  }
  if (!json_is_object(j)) return;
  const char *key;
  json_t *val;
  json_object_foreach(j, key, val) {
    if (strcmp(key, "attributes") == 0 && json_is_array(val) && json_array_size(val)) {
      tl_span *s = tl_batch_add_span(src);
      if (otlp_kvs(src, val, &s->attrs.items, &s->attrs.n, 0) == 0) {
        (*lists)++;
        if (!round_trip(dst, s, file)) (*failed)++;
      }
    } else {
      walk_attributes(src, dst, val, file, lists, failed);
    }
  }
}

TEST(test_real_otlp_attributes) {
  static const char *const files[] = {
      "jaeger/skills/error_timeout_masked.json", "jaeger/skills/n_plus_one_full_serial.json",
      "jaeger/example_trace.json", "jaeger/otel_traces_01.json",
      "jaeger-ui/getTrace-response.json", "tempo/trace-with-queue-database.json",
      "tempo/legacy-batches/test-sample.json", "tempo/vulture/trace.json"};
  tl_batch *src = tl_batch_new(), *dst = tl_batch_new();
  int lists = 0, failed = 0;
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char path[1024];
    json_error_t err;
    snprintf(path, sizeof path, "%s/%s", UNIT_TRACES_DIR, files[i]);
    json_t *root = json_load_file(path, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!root) {
      UNIT_FAIL("cannot read %.200s: %.100s", path, err.text);
      continue;
    }
    walk_attributes(src, dst, root, files[i], &lists, &failed);
    json_decref(root);
  }
  printf("  real OTLP attribute lists round-tripped: %d\n", lists);
  CHECK(lists > 300);
  CHECK_INT(failed, 0);
  tl_batch_free(src);
  tl_batch_free(dst);
}

/* ---- throughput (information only) ------------------------------------------------------- */

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* one core, whatever the load */
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST(test_throughput) {
  static const char text[] =
      "{\"http.method\":\"GET\",\"http.url\":\"http://frontend:8080/dispatch?customer=123\","
      "\"http.status_code\":200,\"net.peer.name\":\"frontend\",\"net.peer.port\":8080,"
      "\"component\":\"net/http\",\"span.kind\":\"server\",\"http.flavor\":\"1.1\","
      "\"http.user_agent\":\"Mozilla/5.0 (X11; Linux x86_64)\",\"sampler.param\":0.25}";
  tl_batch *b = tl_batch_new();
  tl_buf o;
  tl_buf_init(&o);
  tl_err e;
  tl_err_clear(&e);
  tl_attrs a = {NULL, 0, 0};
  const int rounds = 200000;
  int bad = 0;
  double t0 = cpu_s();
  for (int i = 0; i < rounds; i++) {
    if (i % 4096 == 0) tl_batch_reset(b);
    bad += tl_parse_attrs(b, text, sizeof text - 1, &a, &e) != TL_OK;
  }
  double t1 = cpu_s();
  for (int i = 0; i < rounds; i++) {
    tl_buf_reset(&o);
    tl_json_attrs(&o, &a);
  }
  double t2 = cpu_s();
  CHECK_INT(bad, 0);
  CHECK_INT(a.n, 10);
  CHECK_STR(tl_buf_cstr(&o), text);
  printf("  10-key attribute objects: parse %.0f/s, write %.0f/s\n", rounds / (t1 - t0),
         rounds / (t2 - t1));
  tl_buf_free(&o);
  tl_batch_free(b);
}

int main(void) {
  RUN(test_texts_of_every_column);
  RUN(test_texts_parse_back);
  RUN(test_omitted_defaults_and_null_columns);
  RUN(test_parse_null_columns);
  RUN(test_parse_whitespace_and_member_order);
  RUN(test_numbers);
  RUN(test_string_escapes);
  RUN(test_attr_members_plain_and_escaped);
  RUN(test_malformed_messages);
  RUN(test_size_limits);
  RUN(test_depth_limit);
  RUN(test_random_round_trips);
  RUN(test_real_otlp_attributes);
  RUN(test_throughput);
  return UNIT_DONE();
}
