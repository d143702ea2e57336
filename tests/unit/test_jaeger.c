/*
** test_jaeger.c — the Jaeger JSON reader (ext/io/jaeger_read.c) on every
** Jaeger file of ../shared/traces (span counts, parent links, services, read
** whole and one span per call), one span per document shape checked field
** by field against the file, hand-made documents for the rules of
** docs/formats-in/jaeger.md, and the exact messages for malformed input.
*/
#include "../../ext/common/buf.h"
#include "../../ext/io/reader.h"
#include "unit.h"

#include <math.h>
#include <stdlib.h>

/* ---- helpers ---------------------------------------------------------- */

/* Reads every span of `in` into `all`, max spans per next() call.  With a
** small max the spans go through a scratch batch that is reset between
** calls, so a reader keeping pointers into an old batch shows up as wrong
** values (and under ASan).  Returns the first error or TL_OK. */
static int read_input(tl_input *in, size_t max, tl_batch *all, tl_err *e) {
  void *st;
  int rc = tl_jaeger_reader.open(in, &st, e);
  if (rc) {
    tl_input_close(in);
    return rc;
  }
  tl_batch *tmp = max < 1000 ? tl_batch_new() : all;
  tl_copy_cache *cache = tl_copy_cache_new();
  do {
    rc = tl_jaeger_reader.next(st, tmp, max, e);
    if (tmp != all) {
      for (size_t i = 0; i < tl_batch_count(tmp); i++)
        if (tl_span_copy(all, tl_batch_span(tmp, i), cache, NULL)) rc = TL_ENOMEM;
      tl_batch_reset(tmp);
      tl_copy_cache_reset(cache);
    }
  } while (rc == TL_OK);
  tl_copy_cache_free(cache);
  if (tmp != all) tl_batch_free(tmp);
  tl_jaeger_reader.close(st);
  tl_input_close(in);
  return rc == TL_DONE ? TL_OK : rc;
}

static int read_file(const char *rel, size_t max, tl_batch *all, tl_err *e) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", UNIT_TRACES_DIR, rel);
  tl_input *in;
  int rc = tl_input_open_file(&in, path, e);
  return rc ? rc : read_input(in, max, all, e);
}

static int read_text(const char *text, tl_batch *all, tl_err *e) {
  tl_input *in;
  int rc = tl_input_open_mem(&in, text, strlen(text), "mem.json", e);
  return rc ? rc : read_input(in, 1000, all, e);
}

static const char *hex(const uint8_t *p, size_t n) {
  static char out[2][64];
  static int k;
  char *o = out[k++ & 1];
  for (size_t i = 0; i < n; i++) snprintf(o + 2 * i, 3, "%02x", p[i]);
  return o;
}

/* One word per span: "<index>:<parent>@<service>", the parent being the
** index of the first span with that id, "-" for a root, or "x<hex>" when
** the parent is not in the file. */
static void tree_text(const tl_batch *b, tl_buf *o) {
  size_t n = tl_batch_count(b);
  for (size_t i = 0; i < n; i++) {
    const tl_span *s = tl_batch_span(b, i);
    if (i) tl_buf_putc(o, ' ');
    tl_buf_printf(o, "%zu:", i);
    size_t p = 0;
    while (p < n && memcmp(tl_batch_span(b, p)->span_id, s->parent_span_id, 8)) p++;
    if (tl_span_is_root(s)) tl_buf_putc(o, '-');
    else if (p < n) tl_buf_printf(o, "%zu", p);
    else tl_buf_printf(o, "x%s", hex(s->parent_span_id, 8));
    tl_buf_putc(o, '@');
    tl_buf_append(o, s->resource->service.ptr, s->resource->service.len);
  }
}

static const tl_value *attr(const tl_attrs *a, const char *key) {
  return tl_attrs_get(a, key);
}

#define CHECK_ATTR_STR(a, key, want)                                          \
  do {                                                                        \
    const tl_value *v_ = attr(a, key);                                        \
    CHECK(v_ && v_->type == TL_V_STRING);                                     \
    if (v_ && v_->type == TL_V_STRING) CHECK_TLSTR(v_->u.s, want);            \
  } while (0)

#define CHECK_ATTR_INT(a, key, want)                                          \
  do {                                                                        \
    const tl_value *v_ = attr(a, key);                                        \
    CHECK(v_ && v_->type == TL_V_INT);                                        \
    if (v_ && v_->type == TL_V_INT) CHECK_INT(v_->u.i, want);                 \
  } while (0)

#define CHECK_ATTR_BOOL(a, key, want)                                         \
  do {                                                                        \
    const tl_value *v_ = attr(a, key);                                        \
    CHECK(v_ && v_->type == TL_V_BOOL);                                       \
    if (v_ && v_->type == TL_V_BOOL) CHECK_INT(v_->u.b, want);                \
  } while (0)

#define CHECK_ATTR_DOUBLE(a, key, want)                                       \
  do {                                                                        \
    const tl_value *v_ = attr(a, key);                                        \
    CHECK(v_ && v_->type == TL_V_DOUBLE);                                     \
    if (v_ && v_->type == TL_V_DOUBLE) CHECK(v_->u.d == (want));              \
  } while (0)

/* ---- every Jaeger file of ../shared/traces ------------------------------ */

static const struct {
  const char *path;
  size_t spans;
  const char *tree;
} real_files[] = {
    {"jaeger-analytics-java/ui-trace.json", 2, "0:-@jaeger-query 1:0@jaeger-query"},
    {"jaeger-ui/TraceCriticalPath/testTrace.json", 4, "0:-@S1 1:0@S2 2:0@S3 3:0@S4"},
    {"jaeger-ui/TraceFlamegraph/testTrace.json", 4,
     "0:-@load-generator 1:0@load-generator 2:1@ride-sharing-app 3:2@ride-sharing-app"},
    {"jaeger-ui/TraceGraph/testTrace.json", 11,
     "0:-@service1 1:0@service1 2:0@service1 3:0@service1 4:3@service2 5:4@service2 "
     "6:0@service1 7:-@service2 8:0@service1 9:8@service1 10:8@service1"},
    {"jaeger-ui/TraceStatistics/spanAmongEachOtherGroupedAndSpans.json", 17,
     "0:1@api-gateway 1:-@api-gateway 2:16@customers-service 3:16@customers-service "
     "4:16@customers-service 5:16@customers-service 6:16@customers-service "
     "7:16@customers-service 8:16@customers-service 9:16@customers-service "
     "10:16@customers-service 11:16@customers-service 12:16@customers-service "
     "13:16@customers-service 14:16@customers-service 15:16@customers-service "
     "16:0@customers-service"},
    {"jaeger-ui/TraceStatistics/traceWithOverlappingChildrenLongerThanParent.json", 4,
     "0:-@service-one 1:0@service-two 2:0@service-two 3:0@service-two"},
    {"jaeger-ui/TraceStatistics/traceWithSingleChildLongerThanParentAndStartsAfterParent.json",
     2, "0:-@service-one 1:0@service-two"},
    {"jaeger-ui/otlp2jaeger-out.json", 2,
     "0:x909541b92cf05311@telemetrygen 1:x909541b92cf05311@telemetrygen"},
    {"jaeger/trace_success.json", 2, "0:x492770a15935810f@16af988c443cff37 1:0@3c220036602f839e"},
    {"jaeger/ui_01.json", 5, "0:-@service-x 1:-@service-x 2:0@service-y 3:0@service-y 4:3@service-y"},
    {"jaeger/legacy-model/example_trace.json", 5,
     "0:-@example-service-1 1:-@example-service-2 2:-@example-service-3 "
     "3:-@example-service-1 4:-@example-service-1"},
    {"apm-server/batch_0.json", 1, "0:-@driver"},
    {"apm-server/batch_1.json", 14,
     "0:x7be2fd98d0973be3@redis 1:x7be2fd98d0973be3@redis 2:x7be2fd98d0973be3@redis "
     "3:x7be2fd98d0973be3@redis 4:x7be2fd98d0973be3@redis 5:x7be2fd98d0973be3@redis "
     "6:x7be2fd98d0973be3@redis 7:x7be2fd98d0973be3@redis 8:x7be2fd98d0973be3@redis "
     "9:x7be2fd98d0973be3@redis 10:x7be2fd98d0973be3@redis 11:x7be2fd98d0973be3@redis "
     "12:x7be2fd98d0973be3@redis 13:x7be2fd98d0973be3@redis"},
};

TEST(test_real_files_counts_parents_services) {
  static const size_t maxes[] = {1000, 1, 3};
  for (size_t f = 0; f < sizeof real_files / sizeof real_files[0]; f++) {
    for (size_t m = 0; m < sizeof maxes / sizeof maxes[0]; m++) {
      tl_batch *b = tl_batch_new();
      tl_err e = {0};
      int rc = read_file(real_files[f].path, maxes[m], b, &e);
      if (rc) UNIT_FAIL("%s (max %zu): %.300s", real_files[f].path, maxes[m], e.msg);
      CHECK_INT(tl_batch_count(b), real_files[f].spans);
      tl_buf o;
      tl_buf_init(&o);
      tree_text(b, &o);
      if (strcmp(tl_buf_cstr(&o), real_files[f].tree))
        UNIT_FAIL("%s (max %zu): tree %s", real_files[f].path, maxes[m], tl_buf_cstr(&o));
      tl_buf_free(&o);
      tl_batch_free(b);
    }
  }
}

/* Reads a real file whole into one batch (spans keep the reader's
** resources and scopes, so sharing can be checked). */
static tl_batch *load(const char *rel) {
  tl_batch *b = tl_batch_new();
  tl_err e = {0};
  if (read_file(rel, 1000, b, &e)) UNIT_FAIL("%s: %.300s", rel, e.msg);
  return b;
}

/* ---- one span per shape, field by field ---------------------------------- */

/* Query API envelope {"data":[trace],total,limit,offset,errors}. */
TEST(test_envelope_span_fields) {
  tl_batch *b = load("jaeger-analytics-java/ui-trace.json");
  if (tl_batch_count(b) != 2) {
    UNIT_FAIL("count %zu", tl_batch_count(b));
    tl_batch_free(b);
    return;
  }
  const tl_span *s = tl_batch_span(b, 0), *c = tl_batch_span(b, 1);
  CHECK_STR(hex(s->trace_id, 16), "00000000000000002db17286b3e6b148");
  CHECK_STR(hex(s->span_id, 8), "2db17286b3e6b148");
  CHECK(tl_span_is_root(s));
  CHECK_TLSTR(s->name, "/api/services/{service}/operations");
  CHECK_INT(s->flags, 1);
  CHECK_INT(s->start_ns, 1571326774777373000ull);
  CHECK_INT(s->end_ns, 1571326774777373000ull + 4199000);
  CHECK_INT(s->kind, TL_KIND_SERVER);
  CHECK_INT(s->status_code, TL_STATUS_UNSET);
  CHECK_INT(s->attrs.n, 8);
  CHECK_ATTR_STR(&s->attrs, "sampler.type", "probabilistic");
  CHECK_ATTR_DOUBLE(&s->attrs, "sampler.param", 1.0); /* float64 1 stays a double */
  CHECK_ATTR_STR(&s->attrs, "span.kind", "server");   /* kept */
  CHECK_ATTR_INT(&s->attrs, "http.status_code", 200);
  CHECK_ATTR_STR(&s->attrs, "internal.span.format", "proto");
  CHECK_TLSTR(s->attrs.items[7].key, "internal.span.format"); /* order kept */
  CHECK_INT(s->n_events, 0);
  CHECK_INT(s->n_links, 0);
  CHECK(s->scope == tl_batch_empty_scope(b));
  CHECK_INT(s->resource->attrs.n, 5);
  CHECK_TLSTR(s->resource->attrs.items[0].key, "service.name");
  CHECK_TLSTR(s->resource->service, "jaeger-query");
  CHECK_ATTR_STR(&s->resource->attrs, "hostname", "simple-streaming-query-66f49db66-8x9hd");
  CHECK_ATTR_STR(&s->resource->attrs, "jaeger.version", "Go-2.15.1dev");
  /* spanID "ec2b4e0bcea566d" has 15 digits: zero-padded on the left. */
  CHECK_STR(hex(c->span_id, 8), "0ec2b4e0bcea566d");
  CHECK_STR(hex(c->parent_span_id, 8), "2db17286b3e6b148");
  CHECK_INT(c->kind, TL_KIND_UNSPECIFIED);
  CHECK(c->resource == s->resource); /* one resource per process per batch */
  tl_batch_free(b);
}

/* The UI's internal trace {"data":{...}}: spans carry "process", depth... */
TEST(test_ui_internal_span_fields) {
  tl_batch *b = load("jaeger-ui/TraceFlamegraph/testTrace.json");
  if (tl_batch_count(b) != 4) {
    UNIT_FAIL("count %zu", tl_batch_count(b));
    tl_batch_free(b);
    return;
  }
  const tl_span *s = tl_batch_span(b, 1);
  CHECK_STR(hex(s->trace_id, 16), "84b3fad94c6112edd6af3347d06f6f1d");
  CHECK_STR(hex(s->span_id, 8), "d81ccf159d71bc66");
  CHECK_STR(hex(s->parent_span_id, 8), "487f03177ef9cf89");
  CHECK_TLSTR(s->name, "HTTP GET");
  CHECK_INT(s->flags, 1);
  CHECK_INT(s->start_ns, 1660049722993018000ull);
  CHECK_INT(s->end_ns, 1660049722993018000ull + 968334000ull);
  CHECK_INT(s->kind, TL_KIND_CLIENT);
  CHECK_INT(s->attrs.n, 10);
  CHECK_ATTR_INT(&s->attrs, "http.status_code", 200);
  CHECK_ATTR_STR(&s->attrs, "otel.library.name",
                 "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp");
  CHECK_TLSTR(s->scope->name, "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp");
  CHECK_TLSTR(s->scope->version, "semver:0.27.0");
  CHECK_TLSTR(s->resource->service, "load-generator");
  CHECK_INT(s->resource->attrs.n, 1);
  /* Derived UI fields (relativeStartTime, depth, references[].span) are not
  ** attributes. */
  CHECK(attr(&s->attrs, "depth") == NULL);
  CHECK_INT(s->n_links, 0);
  const tl_span *root = tl_batch_span(b, 0), *leaf = tl_batch_span(b, 3);
  CHECK_TLSTR(root->scope->name, "go.opentelemetry.io/otel/sdk/tracer");
  CHECK_INT(root->scope->version.len, 0);
  CHECK(root->scope == leaf->scope); /* same scope, one object per batch */
  CHECK(root->resource == s->resource);
  CHECK(leaf->resource == tl_batch_span(b, 2)->resource);
  CHECK(leaf->resource != s->resource);
  CHECK_INT(tl_batch_span(b, 2)->kind, TL_KIND_SERVER);
  tl_batch_free(b);
}

/* A bare trace object; tag types, logs, references, warnings, duplicates. */
TEST(test_bare_trace_span_fields) {
  tl_batch *b = load("jaeger/ui_01.json");
  if (tl_batch_count(b) != 5) {
    UNIT_FAIL("count %zu", tl_batch_count(b));
    tl_batch_free(b);
    return;
  }
  const tl_span *s0 = tl_batch_span(b, 0), *s1 = tl_batch_span(b, 1);
  /* Duplicate span ids: both spans are kept. */
  CHECK_STR(hex(s0->span_id, 8), "0000000000000002");
  CHECK_STR(hex(s1->span_id, 8), "0000000000000002");
  CHECK_STR(hex(s1->trace_id, 16), "00000000000000000000000000000001");
  CHECK_TLSTR(s1->name, "some-operation");
  CHECK_INT(s1->flags, 0);
  CHECK_INT(s1->start_ns, 1485467191639875000ull);
  CHECK_INT(s1->end_ns, 1485467191639880000ull);
  CHECK_INT(s1->attrs.n, 7);
  CHECK_ATTR_STR(&s1->attrs, "peer.service", "service-y");
  CHECK_ATTR_INT(&s1->attrs, "peer.ipv4", 23456);
  CHECK_ATTR_BOOL(&s1->attrs, "error", 1);
  CHECK_ATTR_DOUBLE(&s1->attrs, "temperature", 72.5);
  CHECK_ATTR_INT(&s1->attrs, "javascript_limit", 9223372036854775222ll); /* from a string */
  const tl_value *blob = attr(&s1->attrs, "blob");
  CHECK(blob && blob->type == TL_V_BYTES && blob->u.s.len == 4 &&
        memcmp(blob->u.s.ptr, "\x00\x00\x30\x39", 4) == 0); /* base64 "AAAwOQ==" */
  CHECK_INT(s1->status_code, TL_STATUS_ERROR); /* from error=true */
  CHECK_INT(s1->status_message.len, 0);
  /* Trace-level warnings go on every span of the trace. */
  const tl_value *tw = attr(&s1->attrs, "jaeger.trace_warnings");
  CHECK(tw && tw->type == TL_V_ARRAY && tw->u.arr.n == 1);
  if (tw && tw->type == TL_V_ARRAY && tw->u.arr.n == 1)
    CHECK_TLSTR(tw->u.arr.items[0].u.s, "some trace warning");
  CHECK(attr(&s1->attrs, "jaeger.warnings") == NULL); /* "warnings": null */
  /* Logs: "event" names the event and stays an attribute; no "event", no name. */
  CHECK_INT(s0->n_events, 2);
  if (s0->n_events == 2) {
    CHECK_INT(s0->events[0].time_ns, 1485467191639875000ull);
    CHECK_TLSTR(s0->events[0].name, "some-event");
    CHECK_INT(s0->events[0].attrs.n, 1);
    CHECK_ATTR_STR(&s0->events[0].attrs, "event", "some-event");
    CHECK_INT(s0->events[1].name.len, 0);
    CHECK_ATTR_STR(&s0->events[1].attrs, "x", "y");
  }
  CHECK_INT(s0->status_code, TL_STATUS_UNSET);
  /* reference-test: CHILD_OF into another trace, CHILD_OF (the parent),
  ** FOLLOWS_FROM; the first same-trace CHILD_OF is the parent. */
  const tl_span *s3 = tl_batch_span(b, 3);
  CHECK_STR(hex(s3->parent_span_id, 8), "0000000000000002");
  CHECK_INT(s3->n_links, 2);
  if (s3->n_links == 2) {
    CHECK_STR(hex(s3->links[0].trace_id, 16), "000000000000000000000000000000ff");
    CHECK_STR(hex(s3->links[0].span_id, 8), "00000000000000ff");
    CHECK_INT(s3->links[0].attrs.n, 1);
    CHECK_ATTR_STR(&s3->links[0].attrs, "jaeger.ref_type", "child_of");
    CHECK_STR(hex(s3->links[1].trace_id, 16), "00000000000000000000000000000001");
    CHECK_STR(hex(s3->links[1].span_id, 8), "0000000000000002");
    CHECK_ATTR_STR(&s3->links[1].attrs, "jaeger.ref_type", "follows_from");
  }
  const tl_value *w = attr(&s3->attrs, "jaeger.warnings");
  CHECK(w && w->type == TL_V_ARRAY && w->u.arr.n == 1);
  if (w && w->type == TL_V_ARRAY && w->u.arr.n == 1)
    CHECK_TLSTR(w->u.arr.items[0].u.s, "some span warning");
  CHECK_INT(s3->attrs.n, 2);
  CHECK_TLSTR(s3->resource->service, "service-y");
  CHECK(s3->resource == tl_batch_span(b, 2)->resource);
  CHECK(s3->resource != s0->resource);
  tl_batch_free(b);
}

/* A flat array of spans with embedded processes and string values. */
TEST(test_flat_array_span_fields) {
  tl_batch *b = load("jaeger/trace_success.json");
  if (tl_batch_count(b) != 2) {
    UNIT_FAIL("count %zu", tl_batch_count(b));
    tl_batch_free(b);
    return;
  }
  const tl_span *s = tl_batch_span(b, 1);
  CHECK_STR(hex(s->trace_id, 16), "00000000000000002be38093ead7a083");
  CHECK_STR(hex(s->span_id, 8), "7bd66f09ba90ea3d");
  CHECK_STR(hex(s->parent_span_id, 8), "7606ddfe69932d34");
  CHECK_TLSTR(s->name, "471418097747d04a");
  CHECK_INT(s->flags, 1);
  CHECK_INT(s->start_ns, 1605223981965074000ull);
  CHECK_INT(s->end_ns, 1605223981965074000ull + 32782000ull);
  CHECK_INT(s->kind, TL_KIND_CLIENT);
  CHECK_INT(s->attrs.n, 2);
  CHECK_ATTR_BOOL(&s->attrs, "error", 1); /* "type":"bool","value":"true" */
  CHECK_INT(s->status_code, TL_STATUS_ERROR);
  CHECK_TLSTR(s->resource->service, "3c220036602f839e");
  CHECK_INT(s->resource->attrs.n, 1);
  CHECK_INT(s->n_events, 0);
  const tl_span *r = tl_batch_span(b, 0);
  CHECK_STR(hex(r->parent_span_id, 8), "492770a15935810f"); /* absent from the file */
  CHECK_INT(r->kind, TL_KIND_SERVER);
  CHECK_INT(r->n_links, 0);
  tl_batch_free(b);
}

/* api_v2 jsonpb (camelCase): base64 ids, RFC 3339, "100000ns". */
TEST(test_api_v2_jsonpb_span_fields) {
  tl_batch *b = load("jaeger/legacy-model/example_trace.json");
  if (tl_batch_count(b) != 5) {
    UNIT_FAIL("count %zu", tl_batch_count(b));
    tl_batch_free(b);
    return;
  }
  const tl_span *s = tl_batch_span(b, 3);
  CHECK_STR(hex(s->trace_id, 16), "00000000000000000000000000000011"); /* AAAAAAAAAAAAAAAAAAAAEQ== */
  CHECK_STR(hex(s->span_id, 8), "0000000000000006");                  /* AAAAAAAAAAY= */
  CHECK(tl_span_is_root(s));
  CHECK_TLSTR(s->name, "example-operation-3");
  CHECK_INT(s->start_ns, 1485449191639875000ull); /* 2017-01-26T16:46:31.639875Z */
  CHECK_INT(s->end_ns, 1485449191639875000ull + 100000);
  CHECK_INT(s->kind, TL_KIND_SERVER);
  CHECK_INT(s->attrs.n, 1);
  CHECK_ATTR_STR(&s->attrs, "span.kind", "server"); /* vType "STRING", vStr */
  CHECK_INT(s->n_events, 2);
  if (s->n_events == 2) {
    CHECK_INT(s->events[1].time_ns, 1485449191639875000ull);
    CHECK_INT(s->events[1].name.len, 0);
    CHECK_INT(s->events[1].attrs.n, 0);
  }
  CHECK_TLSTR(s->resource->service, "example-service-1");
  /* Embedded processes with the same content share one resource. */
  CHECK(s->resource == tl_batch_span(b, 0)->resource);
  CHECK(s->resource == tl_batch_span(b, 4)->resource);
  CHECK(s->resource != tl_batch_span(b, 1)->resource);
  CHECK_INT(tl_batch_span(b, 4)->kind, TL_KIND_CLIENT);
  tl_batch_free(b);
}

/* api_v2 proto-JSON Batch (snake_case): typed tags, logs, batch process. */
TEST(test_api_v2_batch_span_fields) {
  tl_batch *b = load("apm-server/batch_0.json");
  if (tl_batch_count(b) != 1) {
    UNIT_FAIL("count %zu", tl_batch_count(b));
    tl_batch_free(b);
    return;
  }
  const tl_span *s = tl_batch_span(b, 0);
  CHECK_STR(hex(s->trace_id, 16), "00000000000000007be2fd98d0973be3");
  CHECK_STR(hex(s->span_id, 8), "7be2fd98d0973be3");
  CHECK(tl_span_is_root(s)); /* "references": null */
  CHECK_TLSTR(s->name, "Driver::findNearest");
  CHECK_INT(s->flags, 1);
  CHECK_INT(s->start_ns, 1576827704953864000ull); /* 2019-12-20T07:41:44.953864Z */
  CHECK_INT(s->end_ns, 1576827704953864000ull + 243417000ull);
  CHECK_INT(s->kind, TL_KIND_SERVER);
  CHECK_INT(s->attrs.n, 7);
  CHECK_ATTR_STR(&s->attrs, "sampler.type", "const"); /* no v_type: STRING */
  CHECK_ATTR_BOOL(&s->attrs, "sampler.param", 1);     /* v_type 1 */
  CHECK_ATTR_INT(&s->attrs, "peer.ipv4", 2130706433); /* v_type 2 */
  CHECK_ATTR_INT(&s->attrs, "peer.port", 50535);
  CHECK_INT(s->n_events, 6);
  if (s->n_events == 6) {
    CHECK_INT(s->events[0].time_ns, 1576827704954043000ull);
    CHECK_TLSTR(s->events[0].name, "baggage");
    CHECK_INT(s->events[0].attrs.n, 3);
    CHECK_ATTR_STR(&s->events[0].attrs, "event", "baggage");
    CHECK_ATTR_STR(&s->events[0].attrs, "value", "Japanese Desserts");
    CHECK_INT(s->events[1].time_ns, 1576827704954050000ull); /* ".95405Z" */
    CHECK_TLSTR(s->events[2].name, "Retrying GetDriver after error");
    CHECK_ATTR_INT(&s->events[2].attrs, "retry_no", 1);
    CHECK_INT(s->events[5].time_ns, 1576827705197117000ull);
  }
  CHECK_TLSTR(s->resource->service, "driver");
  CHECK_INT(s->resource->attrs.n, 5);
  CHECK_ATTR_STR(&s->resource->attrs, "client-uuid", "624386e9c81d2980");
  CHECK(s->scope == tl_batch_empty_scope(b));
  tl_batch_free(b);

  b = load("apm-server/batch_1.json");
  if (tl_batch_count(b) == 14) {
    const tl_span *g = tl_batch_span(b, 1);
    CHECK_STR(hex(g->span_id, 8), "333295bfb438ea03"); /* MzKVv7Q46gM= */
    CHECK_INT(g->status_code, TL_STATUS_ERROR);       /* error v_bool true */
    CHECK(g->resource == tl_batch_span(b, 13)->resource);
  }
  tl_batch_free(b);
}

/* Ids that are not hex ("trace-123", "span-1") are hashed; the text stays. */
TEST(test_opaque_ids) {
  tl_batch *b = load("jaeger-ui/TraceGraph/testTrace.json");
  if (tl_batch_count(b) != 11) {
    UNIT_FAIL("count %zu", tl_batch_count(b));
    tl_batch_free(b);
    return;
  }
  const tl_span *root = tl_batch_span(b, 0), *s1 = tl_batch_span(b, 1), *s7 = tl_batch_span(b, 7);
  CHECK_ATTR_STR(&root->attrs, "jaeger.trace_id", "trace-123");
  CHECK_ATTR_STR(&root->attrs, "jaeger.span_id", "span-1");
  CHECK(attr(&root->attrs, "jaeger.parent_span_id") == NULL);
  CHECK(memcmp(s1->parent_span_id, root->span_id, 8) == 0);
  CHECK(memcmp(s1->trace_id, root->trace_id, 16) == 0);
  CHECK_ATTR_STR(&s1->attrs, "jaeger.parent_span_id", "span-1");
  CHECK_INT(s1->status_code, TL_STATUS_ERROR); /* "error" bool "true" */
  CHECK_INT(s1->attrs.n, 5);
  /* span-7 FOLLOWS_FROM span-6: a root with one link. */
  CHECK(tl_span_is_root(s7));
  CHECK_INT(s7->kind, TL_KIND_CONSUMER);
  CHECK_INT(s7->n_links, 1);
  if (s7->n_links == 1) {
    CHECK(memcmp(s7->links[0].span_id, tl_batch_span(b, 6)->span_id, 8) == 0);
    CHECK_ATTR_STR(&s7->links[0].attrs, "jaeger.ref_type", "follows_from");
    CHECK_ATTR_STR(&s7->links[0].attrs, "jaeger.trace_id", "trace-123");
    CHECK_ATTR_STR(&s7->links[0].attrs, "jaeger.span_id", "span-6");
  }
  CHECK_ATTR_STR(&root->resource->attrs, "hostname", "foobar.org");
  tl_batch_free(b);
}

/* ---- hand-made documents --------------------------------------------------- */

/* Reads a document that must import; the batch is returned for checks. */
static tl_batch *load_text(const char *text, size_t want) {
  tl_batch *b = tl_batch_new();
  tl_err e = {0};
  if (read_text(text, b, &e)) UNIT_FAIL("%.300s", e.msg);
  CHECK_INT(tl_batch_count(b), want);
  return b;
}

TEST(test_api_v2_camel_case_typed_values) {
  tl_batch *b = load_text(
      "{\"spans\":[{\"traceId\":\"AAAAAAAAAAE=\",\"spanId\":\"AAAAAAAAAAI=\","
      "\"operationName\":\"op\",\"flags\":3,"
      "\"startTime\":\"2020-02-29T23:59:59.123456789+05:30\",\"duration\":\"1m30.5s\","
      "\"processId\":\"p9\","
      "\"references\":[{\"traceId\":\"AAAAAAAAAAE=\",\"spanId\":\"AAAAAAAAAAM=\",\"refType\":\"FOLLOWS_FROM\"},"
      "{\"spanId\":\"AAAAAAAAAAQ=\"},"
      "{\"traceId\":\"AAAAAAAAAAE=\",\"spanId\":\"AAAAAAAAAAU=\",\"refType\":1}],"
      "\"tags\":[{\"key\":\"b\",\"vType\":\"BOOL\",\"vBool\":true},"
      "{\"key\":\"i\",\"vType\":\"INT64\",\"vInt64\":\"-5\"},"
      "{\"key\":\"f\",\"vType\":\"FLOAT64\",\"vFloat64\":\"NaN\"},"
      "{\"key\":\"z\",\"vType\":\"INT64\"},"
      "{\"key\":\"bin\",\"vType\":\"BINARY\",\"vBinary\":\"AP8=\"},"
      "{\"key\":\"otel.status_code\",\"vStr\":\"ERROR\"},"
      "{\"key\":\"otel.status_description\",\"vStr\":\"boom\"}],"
      "\"logs\":[{\"timestamp\":\"1970-01-01T00:00:01Z\",\"fields\":[{\"key\":\"event\",\"vStr\":\"e\"}]}],"
      "\"warnings\":[\"w1\",\"w2\"]}],"
      "\"processMap\":[{\"processId\":\"p9\",\"process\":{\"serviceName\":\"svc\","
      "\"tags\":[{\"key\":\"host\",\"vStr\":\"h\"}]}}]}",
      1);
  const tl_span *s = tl_batch_span(b, 0);
  if (s) {
    CHECK_STR(hex(s->trace_id, 16), "00000000000000000000000000000001");
    CHECK_STR(hex(s->span_id, 8), "0000000000000002");
    /* The CHILD_OF without traceId is in the span's trace: the parent. */
    CHECK_STR(hex(s->parent_span_id, 8), "0000000000000004");
    CHECK_INT(s->flags, 3);
    /* 2020-02-29T18:29:59.123456789Z */
    CHECK_INT(s->start_ns, 1583000999123456789ull);
    CHECK_INT(s->end_ns, 1583000999123456789ull + 90500000000ull);
    CHECK_ATTR_BOOL(&s->attrs, "b", 1);
    CHECK_ATTR_INT(&s->attrs, "i", -5);
    const tl_value *f = attr(&s->attrs, "f");
    CHECK(f && f->type == TL_V_DOUBLE && isnan(f->u.d));
    CHECK_ATTR_INT(&s->attrs, "z", 0); /* omitted zero value */
    const tl_value *bin = attr(&s->attrs, "bin");
    CHECK(bin && bin->type == TL_V_BYTES && bin->u.s.len == 2 &&
          memcmp(bin->u.s.ptr, "\x00\xff", 2) == 0);
    CHECK_INT(s->status_code, TL_STATUS_ERROR);
    CHECK_TLSTR(s->status_message, "boom");
    const tl_value *w = attr(&s->attrs, "jaeger.warnings");
    CHECK(w && w->type == TL_V_ARRAY && w->u.arr.n == 2);
    CHECK_INT(s->attrs.n, 8);
    CHECK_INT(s->n_links, 2);
    if (s->n_links == 2) {
      CHECK_STR(hex(s->links[0].span_id, 8), "0000000000000003");
      CHECK_ATTR_STR(&s->links[0].attrs, "jaeger.ref_type", "follows_from");
      CHECK_STR(hex(s->links[1].span_id, 8), "0000000000000005");
      CHECK_ATTR_STR(&s->links[1].attrs, "jaeger.ref_type", "follows_from");
    }
    CHECK_INT(s->n_events, 1);
    if (s->n_events == 1) {
      CHECK_INT(s->events[0].time_ns, 1000000000ull);
      CHECK_TLSTR(s->events[0].name, "e");
    }
    CHECK_TLSTR(s->resource->service, "svc");
    CHECK_ATTR_STR(&s->resource->attrs, "host", "h");
  }
  tl_batch_free(b);
}

TEST(test_ui_rules) {
  tl_batch *b = load_text(
      "{\"traceID\":\"abc\",\"spans\":["
      "{\"traceID\":\"ABC\",\"spanID\":\"1\",\"startTime\":5,\"duration\":2,"
      "\"tags\":[{\"key\":\"s\",\"value\":\"x\"},{\"key\":\"n\",\"value\":7},"
      "{\"key\":\"r\",\"value\":1.5},{\"key\":\"t\",\"value\":false},"
      "{\"key\":\"d\",\"type\":\"float64\",\"value\":3},"
      "{\"key\":\"raw\",\"type\":\"binary\",\"value\":\"not base64!\"},"
      "{\"key\":\"span.kind\",\"type\":\"string\",\"value\":\"internal\"},"
      "{\"key\":\"error\",\"type\":\"bool\",\"value\":true},"
      "{\"key\":\"otel.status_code\",\"type\":\"string\",\"value\":\"OK\"},"
      "{\"key\":\"otel.scope.name\",\"type\":\"string\",\"value\":\"lib\"},"
      "{\"key\":\"otel.scope.version\",\"type\":\"string\",\"value\":\"1.2\"}]},"
      "{\"traceID\":\"abc\",\"spanID\":\"2\",\"parentSpanID\":\"1\",\"startTime\":0,"
      "\"logs\":[{\"timestamp\":9,\"fields\":[{\"key\":\"event\",\"type\":\"int64\",\"value\":1}]}],"
      "\"processID\":\"p\",\"process\":{\"serviceName\":\"embedded\"}}],"
      "\"processes\":{\"p\":{\"serviceName\":\"by-id\"}}}",
      2);
  const tl_span *s = tl_batch_span(b, 0), *c = tl_batch_span(b, 1);
  if (s && c) {
    CHECK_STR(hex(s->trace_id, 16), "00000000000000000000000000000abc"); /* case-insensitive */
    CHECK(memcmp(s->trace_id, c->trace_id, 16) == 0);
    CHECK_INT(s->start_ns, 5000);
    CHECK_INT(s->end_ns, 7000);
    CHECK_ATTR_STR(&s->attrs, "s", "x"); /* no "type": the JSON type decides */
    CHECK_ATTR_INT(&s->attrs, "n", 7);
    CHECK_ATTR_DOUBLE(&s->attrs, "r", 1.5);
    CHECK_ATTR_BOOL(&s->attrs, "t", 0);
    CHECK_ATTR_DOUBLE(&s->attrs, "d", 3.0);
    CHECK_ATTR_STR(&s->attrs, "raw", "not base64!"); /* kept as text */
    CHECK_INT(s->kind, TL_KIND_INTERNAL);
    CHECK_INT(s->status_code, TL_STATUS_OK); /* otel.status_code wins over error */
    CHECK_TLSTR(s->scope->name, "lib");
    CHECK_TLSTR(s->scope->version, "1.2");
    CHECK_INT(s->attrs.n, 11);
    CHECK(s->resource == tl_batch_empty_resource(b)); /* no process at all */
    CHECK_INT(s->flags, 0);
    /* parentSpanID gives the parent when no reference does. */
    CHECK_STR(hex(c->parent_span_id, 8), "0000000000000001");
    CHECK_INT(c->end_ns, 0); /* no duration: 0 */
    CHECK_TLSTR(c->resource->service, "by-id"); /* processID wins */
    CHECK_INT(c->n_events, 1);
    if (c->n_events == 1) {
      CHECK_INT(c->events[0].time_ns, 9000);
      CHECK_INT(c->events[0].name.len, 0); /* "event" is not a string */
      CHECK_ATTR_INT(&c->events[0].attrs, "event", 1);
    }
  }
  tl_batch_free(b);
}

TEST(test_other_shapes) {
  /* An array of trace objects. */
  tl_batch *b = load_text("[{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"1\",\"startTime\":1}]},"
                          "{\"spans\":[{\"traceID\":\"2\",\"spanID\":\"1\",\"startTime\":1},"
                          "{\"traceID\":\"2\",\"spanID\":\"2\",\"startTime\":1}]}]",
                          3);
  tl_batch_free(b);
  /* An empty result, and "spans": null (Go's empty slice). */
  b = load_text("{\"data\":[],\"total\":0,\"limit\":0,\"offset\":0,\"errors\":null}", 0);
  tl_batch_free(b);
  b = load_text("{\"data\":[{\"traceID\":\"1\",\"spans\":null}]}", 0);
  tl_batch_free(b);
  b = load_text("[]", 0);
  tl_batch_free(b);
  /* A flat span array writes binary as hex (Jaeger's AsString). */
  b = load_text("[{\"traceID\":\"1\",\"spanID\":\"1\",\"startTime\":1,"
                "\"tags\":[{\"key\":\"bin\",\"type\":\"binary\",\"value\":\"00ff\"}]}]",
                1);
  const tl_span *s = tl_batch_span(b, 0);
  if (s) {
    const tl_value *bin = attr(&s->attrs, "bin");
    CHECK(bin && bin->type == TL_V_BYTES && bin->u.s.len == 2 &&
          memcmp(bin->u.s.ptr, "\x00\xff", 2) == 0);
  }
  tl_batch_free(b);
  /* A 16-byte base64 trace id, a Duration in each unit, an api_v2 Batch
  ** without the "batch" wrapper. */
  b = load_text("{\"spans\":["
                "{\"trace_id\":\"AQIDBAUGBwgJCgsMDQ4PEA==\",\"span_id\":\"AQIDBAUGBwg=\","
                "\"start_time\":\"2000-01-01t00:00:00z\",\"duration\":\"3us\"},"
                "{\"trace_id\":\"AQIDBAUGBwgJCgsMDQ4PEA==\",\"span_id\":\"AQIDBAUGBwg=\","
                "\"start_time\":\"2000-01-01 00:00:00.5-01:00\",\"duration\":\"250ms\"},"
                "{\"trace_id\":\"AQIDBAUGBwgJCgsMDQ4PEA==\",\"span_id\":\"AQIDBAUGBwg=\","
                "\"start_time\":\"2000-01-01T00:00:00Z\",\"duration\":\"2h\"},"
                "{\"trace_id\":\"AQIDBAUGBwgJCgsMDQ4PEA==\",\"span_id\":\"AQIDBAUGBwg=\","
                "\"start_time\":\"2000-01-01T00:00:00Z\",\"duration\":\"1.5\xc2\xb5s\"}],"
                "\"process\":{\"service_name\":\"batch-svc\"}}",
                4);
  if (tl_batch_count(b) == 4) {
    const tl_span *a = tl_batch_span(b, 0);
    CHECK_STR(hex(a->trace_id, 16), "0102030405060708090a0b0c0d0e0f10");
    CHECK_INT(a->start_ns, 946684800000000000ull);
    CHECK_INT(a->end_ns - a->start_ns, 3000);
    CHECK_TLSTR(a->resource->service, "batch-svc");
    const tl_span *h = tl_batch_span(b, 1);
    CHECK_INT(h->start_ns, 946684800000000000ull + 3600000000000ull + 500000000ull);
    CHECK_INT(h->end_ns - h->start_ns, 250000000ull);
    CHECK_INT(tl_batch_span(b, 2)->end_ns - tl_batch_span(b, 2)->start_ns, 7200000000000ull);
    CHECK_INT(tl_batch_span(b, 3)->end_ns - tl_batch_span(b, 3)->start_ns, 1500);
  }
  tl_batch_free(b);
}

/* Resources and scopes are interned again in each batch: with one span
** per call, every batch has its own, and all of them are in that batch. */
TEST(test_per_batch_resources) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", UNIT_TRACES_DIR, "jaeger-ui/TraceFlamegraph/testTrace.json");
  tl_input *in;
  tl_err e = {0};
  void *st;
  if (tl_input_open_file(&in, path, &e) || tl_jaeger_reader.open(in, &st, &e)) {
    UNIT_FAIL("%.300s", e.msg);
    return;
  }
  tl_batch *b1 = tl_batch_new(), *b2 = tl_batch_new();
  CHECK_INT(tl_jaeger_reader.next(st, b1, 1, &e), TL_OK);
  CHECK_INT(tl_jaeger_reader.next(st, b2, 1, &e), TL_OK);
  CHECK_INT(tl_batch_count(b1), 1);
  CHECK_INT(tl_batch_count(b2), 1);
  if (tl_batch_count(b1) == 1 && tl_batch_count(b2) == 1) {
    /* Same process (p2), different batches: different resource objects,
    ** whose strings are interned in their own batch. */
    const tl_resource *r1 = tl_batch_span(b1, 0)->resource, *r2 = tl_batch_span(b2, 0)->resource;
    CHECK(r1 != r2);
    CHECK(r2->service.ptr == tl_batch_intern_cstr(b2, "load-generator").ptr);
    CHECK(tl_batch_span(b2, 0)->scope->name.ptr ==
          tl_batch_intern_cstr(b2, "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp").ptr);
  }
  CHECK_INT(tl_jaeger_reader.next(st, b2, 0, &e), TL_OK); /* max 0: nothing, more follows */
  CHECK_INT(tl_batch_count(b2), 1);
  CHECK_INT(tl_jaeger_reader.next(st, b2, 5, &e), TL_DONE);
  CHECK_INT(tl_batch_count(b2), 3);
  CHECK_INT(tl_jaeger_reader.next(st, b2, 5, &e), TL_DONE);
  CHECK_INT(tl_batch_count(b2), 3);
  tl_batch_free(b1);
  tl_batch_free(b2);
  tl_jaeger_reader.close(st);
  tl_input_close(in);
}

/* ---- malformed input --------------------------------------------------------- */

static const struct {
  const char *doc;
  int rc;
  const char *msg;
} bad_docs[] = {
    /* Truncated and broken JSON. */
    {"{\"data\":[{\"traceID\":\"1\",\"spans\":[", TL_EFORMAT,
     "mem.json: line 1, column 33: invalid JSON: ']' expected near end of file"},
    {"", TL_EFORMAT, "mem.json: line 1, column 0: invalid JSON: '[' or '{' expected near end of file"},
    {"\"spans\"", TL_EFORMAT,
     "mem.json: line 1, column 7: invalid JSON: '[' or '{' expected near '\"spans\"'"},
    /* Missing or mistyped spans. */
    {"{}", TL_EFORMAT, "mem.json: not Jaeger JSON: no \"data\", \"spans\" or \"batch\" member"},
    {"{\"data\":[{\"traceID\":\"1\"}]}", TL_EFORMAT, "mem.json: data[0].spans is missing"},
    {"{\"data\":[{\"spans\":[]},{\"traceID\":\"1\",\"spans\":{}}]}", TL_EFORMAT,
     "mem.json: data[1].spans is not an array"},
    {"{\"data\":[7]}", TL_EFORMAT, "mem.json: data[0] is not a trace object"},
    {"{\"data\":5}", TL_EFORMAT, "mem.json: data is neither an array nor an object"},
    {"{\"spans\":5}", TL_EFORMAT, "mem.json: spans is not an array"},
    {"{\"batch\":{\"process\":{}}}", TL_EFORMAT, "mem.json: batch.spans is missing"},
    {"{\"data\":null,\"errors\":[{\"code\":404,\"msg\":\"trace not found\"}]}", TL_EFORMAT,
     "mem.json: the Jaeger query failed: trace not found"},
    {"{\"data\":{\"spans\":[],\"processes\":[]}}", TL_EFORMAT,
     "mem.json: data.processes is not an object"},
    /* Wrong types in spans. */
    {"[5]", TL_EFORMAT, "mem.json: [0]: not an object"},
    {"[{\"spanID\":\"1\"}]", TL_EFORMAT, "mem.json: [0]: no traceID"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":\"5\"}]}", TL_EFORMAT,
     "mem.json: spans[0]: startTime is not an integer (microseconds)"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\"}]}", TL_EFORMAT, "mem.json: spans[0]: no startTime"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":1,\"operationName\":3}]}",
     TL_EFORMAT, "mem.json: spans[0]: operationName is not a string"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":1,\"flags\":-1}]}", TL_EFORMAT,
     "mem.json: spans[0]: flags is not a 32-bit unsigned integer"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":1,\"tags\":{}}]}", TL_EFORMAT,
     "mem.json: spans[0]: tags is not an array"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":1,"
     "\"tags\":[{\"key\":\"a\",\"type\":\"int64\",\"value\":\"12x\"}]}]}",
     TL_EFORMAT, "mem.json: spans[0]: tags[0] (\"a\"): int64 value is not a 64-bit integer"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":1,"
     "\"tags\":[{\"key\":\"a\",\"value\":1},{\"key\":\"b\",\"type\":\"uuid\",\"value\":\"x\"}]}]}",
     TL_EFORMAT, "mem.json: spans[0]: tags[1] (\"b\"): unknown type \"uuid\""},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":1,"
     "\"tags\":[{\"type\":\"string\",\"value\":\"x\"}]}]}",
     TL_EFORMAT, "mem.json: spans[0]: tags[0]: \"key\" is not a string"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":1,"
     "\"tags\":[{\"key\":\"a\",\"type\":\"bool\",\"value\":1}]}]}",
     TL_EFORMAT, "mem.json: spans[0]: tags[0] (\"a\"): bool value is neither true nor false"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":1,"
     "\"logs\":[{\"timestamp\":1,\"fields\":[{\"key\":\"f\",\"type\":\"float64\",\"value\":\"1e\"}]}]}]}",
     TL_EFORMAT, "mem.json: spans[0]: logs[0].fields[0] (\"f\"): float64 value is not a number"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":1,\"logs\":[{\"fields\":[]}]}]}",
     TL_EFORMAT, "mem.json: spans[0]: no logs[0].timestamp"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":1,\"warnings\":[\"a\",2]}]}",
     TL_EFORMAT, "mem.json: spans[0]: warnings[1] is not a string"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":1,\"processID\":\"p2\"}],"
     "\"processes\":{\"p1\":{\"serviceName\":\"a\"}}}",
     TL_EFORMAT, "mem.json: spans[0]: processID \"p2\" is not in the trace's processes"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":1,\"processID\":\"p1\"}],"
     "\"processes\":{\"p1\":{\"serviceName\":7}}}",
     TL_EFORMAT, "mem.json: spans[0]: process.serviceName is not a string"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":1,"
     "\"references\":[{\"refType\":\"PARENT\",\"spanID\":\"1\"}]}]}",
     TL_EFORMAT, "mem.json: spans[0]: references[0]: unknown refType"},
    /* Bad ids. */
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"0123456789abcdef0\",\"startTime\":1}]}", TL_EFORMAT,
     "mem.json: spans[0]: spanID \"0123456789abcdef0\" is longer than 16 hex digits"},
    {"{\"spans\":[{\"traceID\":\"\",\"spanID\":\"1\",\"startTime\":1}]}", TL_EFORMAT,
     "mem.json: spans[0]: traceID is empty"},
    {"{\"spans\":[{\"traceID\":1,\"spanID\":\"1\",\"startTime\":1}]}", TL_EFORMAT,
     "mem.json: spans[0]: traceID is not a string"},
    {"{\"spans\":[{\"traceID\":\"1\",\"startTime\":1}]}", TL_EFORMAT, "mem.json: spans[0]: no spanID"},
    {"{\"spans\":[{\"traceID\":\"000\",\"spanID\":\"1\",\"startTime\":1}]}", TL_EFORMAT,
     "mem.json: spans[0]: traceID \"000\" is all zeros"},
    {"{\"spans\":[{\"traceId\":\"AAAAAAAAAAE=\",\"spanId\":\"AAAAAAAAAAA=\",\"startTime\":\"2017-01-26T16:46:31Z\"}]}",
     TL_EFORMAT, "mem.json: spans[0]: spanID \"AAAAAAAAAAA=\" is all zeros"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":1,"
     "\"references\":[{\"refType\":\"CHILD_OF\",\"traceID\":\"1\",\"spanID\":\"\"}]}]}",
     TL_EFORMAT, "mem.json: spans[0]: references[0].spanID is empty"},
    {"{\"spans\":[{\"traceId\":\"AAAAAAAAAAAAAAE=\",\"spanId\":\"AAAAAAAAAAI=\",\"startTime\":\"2017-01-26T16:46:31Z\"}]}",
     TL_EFORMAT, "mem.json: spans[0]: traceID \"AAAAAAAAAAAAAAE=\" is not base64 of 8 or 16 bytes"},
    {"{\"spans\":[{\"traceId\":\"AAAAAAAAAAE=\",\"spanId\":\"0000000000000002\",\"startTime\":\"2017-01-26T16:46:31Z\"}]}",
     TL_EFORMAT, "mem.json: spans[0]: spanID \"0000000000000002\" is not base64 of 8 bytes"},
    /* Bad times. */
    {"{\"spans\":[{\"traceId\":\"AAAAAAAAAAE=\",\"spanId\":\"AAAAAAAAAAI=\",\"startTime\":\"2017-02-29T16:46:31Z\"}]}",
     TL_EFORMAT,
     "mem.json: spans[0]: startTime \"2017-02-29T16:46:31Z\" is not an RFC 3339 time between 1970 and 2554"},
    {"{\"spans\":[{\"traceId\":\"AAAAAAAAAAE=\",\"spanId\":\"AAAAAAAAAAI=\",\"startTime\":\"2017-01-26T16:46:31.639875\"}]}",
     TL_EFORMAT,
     "mem.json: spans[0]: startTime \"2017-01-26T16:46:31.639875\" is not an RFC 3339 time between 1970 and 2554"},
    {"{\"spans\":[{\"traceId\":\"AAAAAAAAAAE=\",\"spanId\":\"AAAAAAAAAAI=\",\"startTime\":\"1969-12-31T23:59:59Z\"}]}",
     TL_EFORMAT,
     "mem.json: spans[0]: startTime \"1969-12-31T23:59:59Z\" is not an RFC 3339 time between 1970 and 2554"},
    {"{\"spans\":[{\"traceId\":\"AAAAAAAAAAE=\",\"spanId\":\"AAAAAAAAAAI=\",\"startTime\":\"2017-01-26T16:46:31.1234567891Z\"}]}",
     TL_EFORMAT,
     "mem.json: spans[0]: startTime \"2017-01-26T16:46:31.1234567891Z\" is not an RFC 3339 time between 1970 and 2554"},
    {"{\"spans\":[{\"traceId\":\"AAAAAAAAAAE=\",\"spanId\":\"AAAAAAAAAAI=\",\"startTime\":\"2017-01-26T16:46:31+24:00\"}]}",
     TL_EFORMAT,
     "mem.json: spans[0]: startTime \"2017-01-26T16:46:31+24:00\" is not an RFC 3339 time between 1970 and 2554"},
    {"{\"spans\":[{\"traceId\":\"AAAAAAAAAAE=\",\"spanId\":\"AAAAAAAAAAI=\",\"startTime\":1485449191639875}]}",
     TL_EFORMAT, "mem.json: spans[0]: startTime is not an RFC 3339 string"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":-1}]}", TL_EFORMAT,
     "mem.json: spans[0]: startTime -1 is negative"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":18446744073709552}]}", TL_ERANGE,
     "mem.json: spans[0]: startTime 18446744073709552 is past year 2554"},
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":18446744073709551,\"duration\":1}]}",
     TL_ERANGE, "mem.json: spans[0]: startTime + duration is past year 2554"},
    /* Negative and malformed durations. */
    {"{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":1,\"duration\":-5}]}", TL_EFORMAT,
     "mem.json: spans[0]: duration -5 is negative"},
    {"{\"batch\":{\"spans\":[{\"trace_id\":\"AAAAAAAAAAE=\",\"span_id\":\"AAAAAAAAAAI=\","
     "\"start_time\":\"2017-01-26T16:46:31Z\",\"duration\":-1}]}}",
     TL_EFORMAT, "mem.json: batch.spans[0]: duration -1 is negative"},
    {"{\"spans\":[{\"traceId\":\"AAAAAAAAAAE=\",\"spanId\":\"AAAAAAAAAAI=\","
     "\"startTime\":\"2017-01-26T16:46:31Z\",\"duration\":\"-1.5s\"}]}",
     TL_EFORMAT, "mem.json: spans[0]: duration \"-1.5s\" is negative"},
    {"{\"spans\":[{\"traceId\":\"AAAAAAAAAAE=\",\"spanId\":\"AAAAAAAAAAI=\","
     "\"startTime\":\"2017-01-26T16:46:31Z\",\"duration\":\"10 days\"}]}",
     TL_EFORMAT, "mem.json: spans[0]: duration \"10 days\" is not a duration"},
    {"{\"spans\":[{\"traceId\":\"AAAAAAAAAAE=\",\"spanId\":\"AAAAAAAAAAI=\","
     "\"startTime\":\"2017-01-26T16:46:31Z\",\"duration\":\"1.5\"}]}",
     TL_EFORMAT, "mem.json: spans[0]: duration \"1.5\" is not a duration"},
    {"{\"spans\":[{\"traceId\":\"AAAAAAAAAAE=\",\"spanId\":\"AAAAAAAAAAI=\","
     "\"startTime\":\"2017-01-26T16:46:31Z\",\"tags\":[{\"key\":\"b\",\"vType\":4,\"vBinary\":\"%%\"}]}]}",
     TL_EFORMAT, "mem.json: spans[0]: tags[0] (\"b\"): binary value \"%%\" is not base64"},
    {"{\"spans\":[{\"traceId\":\"AAAAAAAAAAE=\",\"spanId\":\"AAAAAAAAAAI=\","
     "\"startTime\":\"2017-01-26T16:46:31Z\",\"tags\":[{\"key\":\"b\",\"vType\":5}]}]}",
     TL_EFORMAT, "mem.json: spans[0]: tags[0] (\"b\"): unknown vType"},
    /* The index of the failing span, in the right trace. */
    {"{\"data\":[{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"1\",\"startTime\":1}]},"
     "{\"spans\":[{\"traceID\":\"1\",\"spanID\":\"1\",\"startTime\":1},"
     "{\"traceID\":\"1\",\"spanID\":\"1\",\"startTime\":1},"
     "{\"traceID\":\"1\",\"spanID\":\"x\",\"startTime\":1.5}]}]}",
     TL_EFORMAT, "mem.json: data[1].spans[2]: startTime is not an integer (microseconds)"},
};

TEST(test_malformed_input_messages) {
  for (size_t i = 0; i < sizeof bad_docs / sizeof bad_docs[0]; i++) {
    tl_batch *b = tl_batch_new();
    tl_err e = {0};
    int rc = read_text(bad_docs[i].doc, b, &e);
    if (rc != bad_docs[i].rc || strcmp(e.msg, bad_docs[i].msg))
    if (rc != bad_docs[i].rc || strcmp(e.msg, bad_docs[i].msg))
      UNIT_FAIL("doc %zu: rc %d \"%.200s\", expected %d \"%.200s\"", i, rc, e.msg, bad_docs[i].rc,
                bad_docs[i].msg);
    tl_batch_free(b);
  }
}

/* A failing span leaves nothing in the batch; the spans before it stay,
** and the reader keeps failing afterwards. */
TEST(test_error_mid_batch) {
  static const char doc[] =
      "[{\"traceID\":\"1\",\"spanID\":\"1\",\"startTime\":1,\"tags\":[{\"key\":\"a\",\"value\":1}]},"
      "{\"traceID\":\"1\",\"spanID\":\"2\",\"startTime\":1},"
      "{\"traceID\":\"1\",\"spanID\":\"3\",\"startTime\":1,"
      "\"tags\":[{\"key\":\"a\",\"value\":1},{\"key\":\"b\",\"type\":\"int64\",\"value\":true}]}]";
  tl_input *in;
  tl_err e = {0};
  void *st;
  if (tl_input_open_mem(&in, doc, sizeof doc - 1, "three.json", &e) ||
      tl_jaeger_reader.open(in, &st, &e)) {
    UNIT_FAIL("%.300s", e.msg);
    return;
  }
  tl_batch *b = tl_batch_new();
  CHECK_INT(tl_jaeger_reader.next(st, b, 10, &e), TL_EFORMAT);
  CHECK_STR(e.msg, "three.json: [2]: tags[1] (\"b\"): int64 value is not a 64-bit integer");
  CHECK_INT(tl_batch_count(b), 2);
  tl_err_clear(&e);
  CHECK_INT(tl_jaeger_reader.next(st, b, 10, &e), TL_EFORMAT);
  CHECK_STR(e.msg, "three.json: the Jaeger reader stopped at an earlier error");
  CHECK_INT(tl_batch_count(b), 2);
  tl_batch_free(b);
  tl_jaeger_reader.close(st);
  tl_input_close(in);
}

/* A real file cut in half names the file and where the JSON ends. */
TEST(test_truncated_real_file) {
  char path[1024];
  snprintf(path, sizeof path, "%s/jaeger/ui_01.json", UNIT_TRACES_DIR);
  FILE *f = fopen(path, "rb");
  char buf[8192];
  size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
  if (f) fclose(f);
  CHECK(n > 1000 && n < sizeof buf);
  tl_input *in;
  tl_err e = {0};
  tl_batch *b = tl_batch_new();
  int rc = tl_input_open_mem(&in, buf, 1000, "jaeger/ui_01.json", &e);
  if (!rc) rc = read_input(in, 1000, b, &e);
  CHECK_INT(rc, TL_EFORMAT);
  CHECK_STR(e.msg, "jaeger/ui_01.json: line 44, column 11: invalid JSON: "
                   "premature end of input near '\"tags'");
  tl_batch_free(b);
}

int main(void) {
  RUN(test_real_files_counts_parents_services);
  RUN(test_envelope_span_fields);
  RUN(test_ui_internal_span_fields);
  RUN(test_bare_trace_span_fields);
  RUN(test_flat_array_span_fields);
  RUN(test_api_v2_jsonpb_span_fields);
  RUN(test_api_v2_batch_span_fields);
  RUN(test_opaque_ids);
  RUN(test_api_v2_camel_case_typed_values);
  RUN(test_ui_rules);
  RUN(test_other_shapes);
  RUN(test_per_batch_resources);
  RUN(test_malformed_input_messages);
  RUN(test_error_mid_batch);
  RUN(test_truncated_real_file);
  return UNIT_DONE();
}
