/*
** test_zipkin.c — the Zipkin v2 JSON reader (ext/io/zipkin_read.c): every
** Zipkin file of the real trace collection imports with the counts computed
** independently in Python, one span of each kind of file is checked field
** by field, the accepted envelopes (span array, array of traces, NDJSON)
** give the same spans, batches of any size give the same result without
** keeping pointers into earlier batches, and malformed input gives exact
** error messages.
*/
#include "../../ext/io/reader.h"
#include "unit.h"

#include <stdlib.h>
#include <zlib.h>

/* ---- helpers -------------------------------------------------------------- */

static const char *trace_path(const char *rel) {
  static char path[4096];
  snprintf(path, sizeof path, "%s/%s", UNIT_TRACES_DIR, rel);
  return path;
}

/* Reads a whole input into one batch (max large enough for every file).
** Returns the batch, or NULL with the error in *e. */
static tl_batch *read_input(tl_input *in, tl_err *e) {
  void *st;
  tl_batch *b = tl_batch_new();
  if (tl_zipkin_reader.open(in, &st, e)) {
    tl_batch_free(b);
    return NULL;
  }
  int rc = tl_zipkin_reader.next(st, b, (size_t)1 << 30, e);
  tl_zipkin_reader.close(st);
  if (rc != TL_DONE) {
    tl_batch_free(b);
    return NULL;
  }
  return b;
}

static tl_batch *read_file(const char *rel) {
  tl_err e = {0};
  tl_input *in;
  if (tl_input_open_file(&in, trace_path(rel), &e)) return NULL;
  tl_batch *b = read_input(in, &e);
  tl_input_close(in);
  if (!b) printf("# %s: %s\n", rel, e.msg);
  return b;
}

static tl_batch *read_text(const char *text, tl_err *e) {
  tl_input *in;
  if (tl_input_open_mem(&in, text, strlen(text), "mem.json", e)) return NULL;
  tl_batch *b = read_input(in, e);
  tl_input_close(in);
  return b;
}

/* The error that reading `text` ends with (rc 0 and "" when it reads). */
static tl_err last_err;

static const char *error_of(const char *text) {
  tl_err_clear(&last_err);
  tl_batch *b = read_text(text, &last_err);
  tl_batch_free(b);
  return last_err.msg;
}

static const char *attr_str(const tl_attrs *a, const char *key) {
  const tl_value *v = tl_attrs_get(a, key);
  return v && v->type == TL_V_STRING ? (v->u.s.ptr ? v->u.s.ptr : "") : NULL;
}

static long long attr_int(const tl_attrs *a, const char *key) {
  const tl_value *v = tl_attrs_get(a, key);
  return v && v->type == TL_V_INT ? v->u.i : -1;
}

static int attr_true(const tl_attrs *a, const char *key) {
  const tl_value *v = tl_attrs_get(a, key);
  return v && v->type == TL_V_BOOL && v->u.b == 1;
}

static void hex(const uint8_t *p, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", p[i]);
}

#define CHECK_HEX(bytes, expect)                                              \
  do {                                                                        \
    char unit_h[65];                                                          \
    hex((bytes), sizeof(bytes), unit_h);                                      \
    CHECK_STR(unit_h, expect);                                                \
  } while (0)

/* The first span of a batch whose span id is `id` (hex) and kind `kind`. */
static tl_span *find_span(tl_batch *b, const char *id, int kind) {
  for (size_t i = 0; i < tl_batch_count(b); i++) {
    tl_span *s = tl_batch_span(b, i);
    char h[17];
    hex(s->span_id, 8, h);
    if (strcmp(h, id) == 0 && s->kind == kind) return s;
  }
  return NULL;
}

static int cmp_id8(const void *a, const void *b) { return memcmp(a, b, 8); }

/* Attribute lists of one batch with the same keys and values (strings are
** interned, so equal strings are equal pointers; endpoints hold only
** strings and ints). */
static int attrs_equal(const tl_attrs *a, const tl_attrs *c) {
  if (a->n != c->n) return 0;
  for (uint32_t i = 0; i < a->n; i++) {
    const tl_kv *x = &a->items[i], *y = &c->items[i];
    if (x->key.ptr != y->key.ptr || x->value.type != y->value.type) return 0;
    if (x->value.type == TL_V_STRING ? x->value.u.s.ptr != y->value.u.s.ptr
                                     : x->value.u.i != y->value.u.i)
      return 0;
  }
  return 1;
}

/* ---- real files: counts --------------------------------------------------- */

/* Expected numbers for every Zipkin file, computed from the JSON with Debian's
** /usr/bin/python3 and its json module, without this code:
**   spans    = len(doc)
**   roots    = spans whose parentId is absent (or all zeros: none here)
**   parents  = len({s['parentId'] for s in doc if 'parentId' in s})
**   services = len({s['localEndpoint']['serviceName'] for s in doc
**                   if 'serviceName' in s.get('localEndpoint', {})})
**   resources= len({json.dumps(s['localEndpoint'], sort_keys=True)
**                   for s in doc if s.get('localEndpoint')})
**   events   = sum(len(s.get('annotations', [])) for s in doc)
**   errors   = spans with an "error" tag
**   no_dur   = spans whose duration is absent or 0
**   start    = sum(s.get('timestamp', 0) * 1000) % 2**64
**   end      = sum((s.get('timestamp', 0) + s.get('duration', 0)) * 1000) % 2**64
** Span counts match SOURCES.md. */
static const struct expect {
  const char *file;
  int spans, roots, parents, services, resources, events, errors, no_dur;
  uint64_t start, end;
} expected[] = {
    {"jaeger/zipkin/zipkin_03.json", 1, 0, 1, 1, 1, 0, 0, 0, 1597704629675602000ull,
     1597704639226172000ull},
    {"jaeger/zipkin/zipkin_v1_merged_spans.json", 2, 1, 1, 1, 1, 6, 0, 0,
     3266146497353258000ull, 3266146497371479000ull},
    {"jaeger/zipkin/zipkin_v2_01.json", 1, 0, 1, 1, 1, 1, 0, 0, 1000ull, 11000ull},
    {"jaeger/zipkin/zipkin_v2_02.json", 1, 1, 0, 1, 1, 0, 0, 0, 1000ull, 11000ull},
    {"zipkin/ascend.json", 8, 1, 3, 3, 3, 0, 0, 0, 12250256708385156000ull,
     12250256708489523000ull},
    {"zipkin/envoy.json", 1, 1, 0, 0, 1, 0, 0, 0, 1570523661059232000ull,
     1570523661186347000ull},
    {"zipkin/malformed.json", 7, 1, 2, 1, 1, 0, 0, 4, 10990036426889000000ull,
     10990036426975000000ull},
    {"zipkin/messaging-kafka.json", 28, 1, 16, 2, 2, 0, 3, 0, 6265862986888424768ull,
     6265862987652377768ull},
    {"zipkin/messaging.json", 4, 1, 3, 2, 2, 0, 0, 0, 6084744047711742000ull,
     6084744047714979000ull},
    {"zipkin/messaging2.json", 11, 1, 5, 4, 5, 0, 0, 0, 16948791350436391000ull,
     16948791354055754000ull},
    {"zipkin/simple-db-p6.json", 5, 1, 1, 1, 1, 0, 0, 0, 7707427687140993000ull,
     7707427687404625000ull},
    {"zipkin/skew.json", 4, 1, 2, 2, 2, 0, 0, 0, 5880600016162793000ull,
     5880600016515320000ull},
    {"zipkin/smartthings-mobile-web-install.json", 1041, 1, 248, 16, 136, 92, 2, 175,
     1437559967556522720ull, 1437560028962141720ull},
    {"zipkin/smartthings-oauth-authorization.json", 175, 1, 57, 8, 41, 9, 2, 19,
     11829156497281276376ull, 11829156504519366376ull},
    {"zipkin/yelp.json", 16, 1, 4, 6, 8, 1, 0, 0, 6703597930783436384ull,
     6703597931254538384ull},
};

static void check_counts(const struct expect *x) {
  tl_batch *b = read_file(x->file);
  if (!b) {
    UNIT_FAIL("%s does not read", x->file);
    return;
  }
  size_t n = tl_batch_count(b);
  int roots = 0, parents = 0, services = 0, resources = 0, events = 0, errors = 0,
      no_dur = 0;
  uint64_t start = 0, end = 0;
  uint8_t(*pids)[8] = calloc(n + 1, 8);
  const tl_resource **res = calloc(n + 1, sizeof *res);
  const char **svc = calloc(n + 1, sizeof *svc);
  size_t n_pids = 0;
  for (size_t i = 0; i < n; i++) {
    const tl_span *s = tl_batch_span(b, i);
    if (tl_span_is_root(s))
      roots++;
    else
      memcpy(pids[n_pids++], s->parent_span_id, 8);
    events += (int)s->n_events;
    errors += s->status_code == TL_STATUS_ERROR;
    no_dur += attr_true(&s->attrs, "zipkin.duration_missing");
    start += s->start_ns;
    end += s->end_ns;
    CHECK(s->scope == tl_batch_empty_scope(b));
    if (s->resource == tl_batch_empty_resource(b)) continue;
    int seen = 0;
    for (int k = 0; k < resources; k++) seen |= res[k] == s->resource;
    if (!seen) res[resources++] = s->resource;
    /* Interned within the batch: equal names are equal pointers. */
    const char *name = attr_str(&s->resource->attrs, "service.name");
    seen = !name;
    for (int k = 0; k < services && !seen; k++) seen = svc[k] == name;
    if (!seen) svc[services++] = name;
  }
  qsort(pids, n_pids, 8, cmp_id8);
  for (size_t i = 0; i < n_pids; i++)
    parents += i == 0 || memcmp(pids[i], pids[i - 1], 8) != 0;
  /* One resource per distinct endpoint: no two share all their attributes. */
  for (int k = 0; k < resources; k++) {
    for (int m = k + 1; m < resources; m++) {
      CHECK(!attrs_equal(&res[k]->attrs, &res[m]->attrs));
    }
  }
  if ((int)n != x->spans) UNIT_FAIL("%s: %zu spans, expected %d", x->file, n, x->spans);
  if (roots != x->roots || parents != x->parents || services != x->services ||
      resources != x->resources || events != x->events || errors != x->errors ||
      no_dur != x->no_dur)
    UNIT_FAIL("%s: roots %d parents %d services %d resources %d events %d errors %d "
              "no_dur %d",
              x->file, roots, parents, services, resources, events, errors, no_dur);
  if (start != x->start || end != x->end)
    UNIT_FAIL("%s: start sum %llu end sum %llu", x->file, (unsigned long long)start,
              (unsigned long long)end);
  free(pids);
  free(res);
  free(svc);
  tl_batch_free(b);
}

TEST(real_files_counts) {
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
    check_counts(&expected[i]);
}

/* Batches of 7 spans, each in a new batch that is freed right after: a
** resource pointer kept from an earlier batch would be a use after free
** under ASan.  The same spans come out as from one batch. */
TEST(real_files_small_batches) {
  for (size_t f = 0; f < sizeof expected / sizeof expected[0]; f++) {
    const struct expect *x = &expected[f];
    tl_err e = {0};
    tl_input *in;
    void *st;
    if (tl_input_open_file(&in, trace_path(x->file), &e) ||
        tl_zipkin_reader.open(in, &st, &e)) {
      UNIT_FAIL("%s: %.200s", x->file, e.msg);
      continue;
    }
    size_t total = 0;
    uint64_t start = 0, end = 0;
    int rc, calls = 0;
    do {
      tl_batch *b = tl_batch_new();
      rc = tl_zipkin_reader.next(st, b, 7, &e);
      CHECK(tl_batch_count(b) <= 7);
      for (size_t i = 0; i < tl_batch_count(b); i++) {
        const tl_span *s = tl_batch_span(b, i);
        start += s->start_ns;
        end += s->end_ns;
        /* The service name lives in this batch's intern table. */
        if (s->resource->service.len) {
          tl_str again = tl_batch_intern(b, s->resource->service.ptr,
                                         s->resource->service.len);
          CHECK(again.ptr == s->resource->service.ptr);
        }
      }
      total += tl_batch_count(b);
      tl_batch_free(b);
      calls++;
    } while (rc == TL_OK && calls < 1000);
    CHECK_INT(rc, TL_DONE);
    CHECK_INT(total, x->spans);
    CHECK_INT(calls, x->spans / 7 + 1);
    CHECK(start == x->start && end == x->end);
    tl_zipkin_reader.close(st);
    tl_input_close(in);
  }
}

/* ---- real files: one span of each kind, field by field -------------------- */

/* 1-digit ids, the 1 us timestamp, a local endpoint with port. */
TEST(span_short_ids) {
  tl_batch *b = read_file("jaeger/zipkin/zipkin_v2_02.json");
  CHECK(b && tl_batch_count(b) == 1);
  if (!b) return;
  tl_span *s = tl_batch_span(b, 0);
  CHECK_HEX(s->trace_id, "00000000000000000000000000000002");
  CHECK_HEX(s->span_id, "0000000000000002");
  CHECK_HEX(s->parent_span_id, "0000000000000000");
  CHECK(tl_span_is_root(s));
  CHECK_TLSTR(s->name, "foo");
  CHECK_INT(s->kind, TL_KIND_UNSPECIFIED);
  CHECK_INT(s->start_ns, 1000);
  CHECK_INT(s->end_ns, 11000);
  CHECK_INT(s->status_code, TL_STATUS_UNSET);
  CHECK_INT(s->attrs.n, 0);
  CHECK_INT(s->n_events, 0);
  CHECK_TLSTR(s->resource->service, "bar");
  CHECK_INT(s->resource->attrs.n, 3);
  CHECK_TLSTR(s->resource->attrs.items[0].key, "service.name");
  CHECK_TLSTR(s->resource->attrs.items[1].key, "network.local.address");
  CHECK_STR(attr_str(&s->resource->attrs, "network.local.address"), "10.43.17.42");
  CHECK_TLSTR(s->resource->attrs.items[2].key, "network.local.port");
  CHECK_INT(attr_int(&s->resource->attrs, "network.local.port"), 8080);
  CHECK_INT(s->trace_state.len, 0);
  CHECK_INT(s->flags, 0);
  tl_batch_free(b);
}

/* 128-bit trace id, shared + debug, remote endpoint, tag, annotation; the
** attribute order is tags, remote endpoint, shared, debug. */
TEST(span_shared_client) {
  tl_batch *b = read_file("jaeger/zipkin/zipkin_v2_01.json");
  CHECK(b && tl_batch_count(b) == 1);
  if (!b) return;
  tl_span *s = tl_batch_span(b, 0);
  CHECK_HEX(s->trace_id, "bd7a974555f6b982bd71977555f6b981");
  CHECK_HEX(s->span_id, "0000000000000002");
  CHECK_HEX(s->parent_span_id, "0000000000000001");
  CHECK_TLSTR(s->name, "foo");
  CHECK_INT(s->kind, TL_KIND_CLIENT);
  CHECK_INT(s->start_ns, 1000);
  CHECK_INT(s->end_ns, 11000);
  CHECK_INT(s->attrs.n, 5);
  static const char *const keys[] = {"foo",          "peer.service",
                                     "network.peer.address", "zipkin.shared",
                                     "zipkin.debug", NULL};
  for (int i = 0; keys[i]; i++) CHECK_TLSTR(s->attrs.items[i].key, keys[i]);
  CHECK_STR(attr_str(&s->attrs, "foo"), "bar");
  CHECK_STR(attr_str(&s->attrs, "peer.service"), "bar");
  CHECK_STR(attr_str(&s->attrs, "network.peer.address"), "10.43.17.43");
  CHECK(attr_true(&s->attrs, "zipkin.shared"));
  CHECK(attr_true(&s->attrs, "zipkin.debug"));
  CHECK_INT(s->n_events, 1);
  if (s->n_events == 1) {
    CHECK_INT(s->events[0].time_ns, 1000);
    CHECK_TLSTR(s->events[0].name, "foo");
    CHECK_INT(s->events[0].attrs.n, 0);
  }
  CHECK_TLSTR(s->resource->service, "foo");
  CHECK_INT(s->resource->attrs.n, 2);
  tl_batch_free(b);
}

/* A 15-digit parentId is padded like any short id; PRODUCER; a tag. */
TEST(span_producer_short_parent) {
  tl_batch *b = read_file("jaeger/zipkin/zipkin_03.json");
  CHECK(b && tl_batch_count(b) == 1);
  if (!b) return;
  tl_span *s = tl_batch_span(b, 0);
  CHECK_HEX(s->trace_id, "0000000000000000091f00370361e578");
  CHECK_HEX(s->span_id, "188bb8428fc7e477");
  CHECK_HEX(s->parent_span_id, "0c26551047c72d19");
  CHECK_INT(s->kind, TL_KIND_PRODUCER);
  CHECK_INT(s->start_ns, 1597704629675602000ull);
  CHECK_INT(s->end_ns - s->start_ns, 9550570000ull);
  CHECK_TLSTR(s->resource->service, "schemas-service");
  CHECK_INT(s->resource->attrs.n, 1);
  CHECK_INT(s->attrs.n, 2);
  CHECK_STR(attr_str(&s->attrs, "kafka.topic"), "schema-changed");
  CHECK_STR(attr_str(&s->attrs, "peer.service"), "kafka");
  tl_batch_free(b);
}

/* v1 core annotations stay events in order; the corrupt 15-digit
** timestamp (163307324868981 us, 1975) is kept as given. */
TEST(span_v1_annotations) {
  tl_batch *b = read_file("jaeger/zipkin/zipkin_v1_merged_spans.json");
  CHECK(b && tl_batch_count(b) == 2);
  if (!b) return;
  tl_span *s = tl_batch_span(b, 0), *c = tl_batch_span(b, 1);
  CHECK_HEX(s->span_id, "4ed11df465275600");
  CHECK(tl_span_is_root(s));
  CHECK_INT(s->kind, TL_KIND_UNSPECIFIED);
  CHECK_INT(s->n_events, 2);
  if (s->n_events == 2) {
    CHECK_TLSTR(s->events[0].name, "sr");
    CHECK_INT(s->events[0].time_ns, 1633073248674949000ull);
    CHECK_TLSTR(s->events[1].name, "ss");
    CHECK_INT(s->events[1].time_ns, 163307324868981000ull);
  }
  CHECK_INT(c->n_events, 4);
  if (c->n_events == 4) {
    CHECK_TLSTR(c->events[0].name, "cs");
    CHECK_TLSTR(c->events[3].name, "ss");
    CHECK_INT(c->events[3].time_ns, 1633073248688388000ull);
  }
  CHECK_HEX(c->parent_span_id, "4ed11df465275600");
  /* Both spans have the same local endpoint: one resource. */
  CHECK(s->resource == c->resource);
  CHECK_STR(attr_str(&s->resource->attrs, "network.local.address"), "10.0.2.15");
  tl_batch_free(b);
}

/* SmartThings: a bare fragment (no kind, timestamp, duration) and the two
** spans sharing its id stay three spans; an "error" tag; a span without
** name; names that are a lone newline (120 of them) are kept as given. */
TEST(span_smartthings) {
  tl_batch *b = read_file("zipkin/smartthings-mobile-web-install.json");
  CHECK(b && tl_batch_count(b) == 1041);
  if (!b) return;
  tl_span *frag = find_span(b, "a0dc23f22c4fee3f", TL_KIND_UNSPECIFIED);
  tl_span *srv = find_span(b, "a0dc23f22c4fee3f", TL_KIND_SERVER);
  tl_span *cli = find_span(b, "a0dc23f22c4fee3f", TL_KIND_CLIENT);
  CHECK(frag && srv && cli);
  if (frag && srv && cli) {
    CHECK_INT(frag->start_ns, 0);
    CHECK_INT(frag->end_ns, 0);
    CHECK_INT(frag->attrs.n, 1);
    CHECK(attr_true(&frag->attrs, "zipkin.duration_missing"));
    CHECK_TLSTR(frag->name, "post");
    CHECK_HEX(frag->parent_span_id, "cfcd115a2af18bd9");
    /* Same endpoint as its SERVER span: the same resource. */
    CHECK(frag->resource == srv->resource);
    CHECK_TLSTR(srv->resource->service, "platformapi");
    CHECK_INT(attr_int(&srv->resource->attrs, "network.local.port"), 8140);
    CHECK_INT(srv->start_ns, 1543549825673008000ull);
    CHECK_INT(srv->end_ns - srv->start_ns, 558631000ull);
    CHECK(attr_true(&srv->attrs, "zipkin.shared"));
    CHECK(!tl_attrs_get(&cli->attrs, "zipkin.shared"));
    CHECK_TLSTR(cli->resource->service, "strongman");
  }
  tl_span *err = find_span(b, "71687cb74971c332", TL_KIND_SERVER);
  CHECK(err != NULL);
  if (err) {
    CHECK_INT(err->status_code, TL_STATUS_ERROR);
    CHECK_TLSTR(err->status_message, "404");
    CHECK_STR(attr_str(&err->attrs, "error"), "404");
    CHECK_STR(attr_str(&err->attrs, "network.peer.address"), "10.6.157.182");
    CHECK(!tl_attrs_get(&err->attrs, "peer.service"));
  }
  tl_span *noname = find_span(b, "9d73c7b6cfb4ed18", TL_KIND_SERVER);
  CHECK(noname != NULL);
  if (noname) {
    CHECK_INT(noname->name.len, 0);
    CHECK(attr_true(&noname->attrs, "zipkin.duration_missing"));
    CHECK_INT(noname->end_ns, noname->start_ns);
    CHECK_INT(noname->start_ns, 1543549524707831000ull);
  }
  int newline_names = 0;
  for (size_t i = 0; i < tl_batch_count(b); i++) {
    const tl_span *s = tl_batch_span(b, i);
    newline_names += s->name.len == 1 && s->name.ptr[0] == '\n';
  }
  CHECK_INT(newline_names, 120);
  tl_batch_free(b);
}

/* An IPv6 remote endpoint with port; CONSUMER. */
TEST(span_ipv6_remote) {
  tl_batch *b = read_file("zipkin/messaging.json");
  CHECK(b && tl_batch_count(b) == 4);
  if (!b) return;
  tl_span *s = tl_batch_span(b, 3);
  CHECK_HEX(s->trace_id, "5aab74dbb904746bb33447baae403ed6");
  CHECK_INT(s->kind, TL_KIND_SERVER);
  CHECK_INT(s->attrs.n, 6);
  CHECK_TLSTR(s->attrs.items[0].key, "http.method");
  CHECK_TLSTR(s->attrs.items[3].key, "mvc.controller.method");
  CHECK_TLSTR(s->attrs.items[4].key, "network.peer.address");
  CHECK_STR(attr_str(&s->attrs, "network.peer.address"), "::1");
  CHECK_INT(attr_int(&s->attrs, "network.peer.port"), 54602);
  CHECK_INT(tl_batch_span(b, 0)->kind, TL_KIND_CONSUMER);
  /* An empty tag value stays an empty string. */
  CHECK_STR(attr_str(&tl_batch_span(b, 0)->attrs, "rabbit.exchange"), "");
  tl_batch_free(b);
}

/* A local endpoint without service name is still a resource. */
TEST(span_envoy_no_service) {
  tl_batch *b = read_file("zipkin/envoy.json");
  CHECK(b && tl_batch_count(b) == 1);
  if (!b) return;
  tl_span *s = tl_batch_span(b, 0);
  CHECK(s->resource != tl_batch_empty_resource(b));
  CHECK_INT(s->resource->service.len, 0);
  CHECK_INT(s->resource->attrs.n, 1);
  CHECK_STR(attr_str(&s->resource->attrs, "network.local.address"), "169.254.65.45");
  CHECK(tl_span_is_root(s));
  CHECK(attr_true(&s->attrs, "zipkin.shared"));
  CHECK_INT(s->attrs.n, 13);
  CHECK_STR(attr_str(&s->attrs, "http.status_code"), "200");
  tl_batch_free(b);
}

/* No local endpoint at all: the batch's empty resource; no duration. */
TEST(span_malformed_fragment) {
  tl_batch *b = read_file("zipkin/malformed.json");
  CHECK(b && tl_batch_count(b) == 7);
  if (!b) return;
  tl_span *s = tl_batch_span(b, 0);
  CHECK_TLSTR(s->name, "kong.header_filter");
  CHECK(s->resource == tl_batch_empty_resource(b));
  CHECK_INT(s->start_ns, 1570005203864000000ull);
  CHECK_INT(s->end_ns, 1570005203864000000ull);
  CHECK(attr_true(&s->attrs, "zipkin.duration_missing"));
  /* A remote endpoint with only a port. */
  tl_span *r = tl_batch_span(b, 5);
  CHECK_INT(r->kind, TL_KIND_SERVER);
  CHECK_INT(attr_int(&r->attrs, "network.peer.port"), 3771);
  CHECK(!tl_attrs_get(&r->attrs, "network.peer.address"));
  tl_batch_free(b);
}

/* ---- envelopes and edge cases --------------------------------------------- */

#define SPAN_A "{\"traceId\":\"a\",\"id\":\"1\",\"name\":\"x\"}"
#define SPAN_B "{\"traceId\":\"b\",\"id\":\"2\",\"parentId\":\"1\"}"

/* Trace ids ...0a and ...0b in file order from a batch. */
static void check_ab(tl_batch *b, const char *what) {
  if (!b || tl_batch_count(b) != 2) {
    UNIT_FAIL("%s: %zu spans", what, b ? tl_batch_count(b) : 0);
  } else {
    CHECK_INT(tl_batch_span(b, 0)->trace_id[15], 0x0a);
    CHECK_INT(tl_batch_span(b, 1)->trace_id[15], 0x0b);
  }
  tl_batch_free(b);
}

TEST(envelopes) {
  tl_err e = {0};
  check_ab(read_text("[" SPAN_A "," SPAN_B "]", &e), "span array");
  check_ab(read_text("[[" SPAN_A "],[" SPAN_B "]]", &e), "array of traces");
  check_ab(read_text("[[" SPAN_A "]," SPAN_B "]", &e), "mixed");
  check_ab(read_text(SPAN_A "\n" SPAN_B "\n", &e), "NDJSON of spans");
  check_ab(read_text("[" SPAN_A "]\r\n\r\n[" SPAN_B "]", &e), "NDJSON of arrays");
  check_ab(read_text("  [" SPAN_A "][[]," SPAN_B "] \n", &e), "concatenated");
  CHECK_STR(e.msg, "");
  /* Nothing at all, or empty arrays, is no spans and no error. */
  static const char *const empty[] = {"", " \n", "[]", "[[]]", "[] []", "[[],[]]"};
  for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
    tl_batch *b = read_text(empty[i], &e);
    CHECK(b && tl_batch_count(b) == 0);
    tl_batch_free(b);
  }
  CHECK_STR(e.msg, "");
}

/* Nulls are absent; zeros are Zipkin's "unset"; uppercase hex is taken;
** all-zero parentId is a root; number and boolean tags keep their type;
** both IP versions of an endpoint; unknown members are skipped. */
TEST(edge_values) {
  tl_err e = {0};
  tl_batch *b = read_text(
      "[{\"traceId\":\"ABCDEF0123456789\",\"id\":\"FFFFFFFFFFFFFFFF\","
      "\"parentId\":\"0000000000000000\",\"name\":null,\"kind\":null,"
      "\"timestamp\":0,\"duration\":0,\"localEndpoint\":{\"serviceName\":\"svc\","
      "\"ipv4\":\"1.2.3.4\",\"ipv6\":\"::2\",\"port\":0},\"remoteEndpoint\":{},"
      "\"tags\":{\"n\":42,\"d\":1.5,\"t\":true,\"error\":\"\"},\"shared\":false,"
      "\"debug\":null,\"annotations\":[],\"future\":{\"x\":[1]}}]",
      &e);
  CHECK_STR(e.msg, "");
  CHECK(b && tl_batch_count(b) == 1);
  if (!b) return;
  tl_span *s = tl_batch_span(b, 0);
  CHECK_HEX(s->trace_id, "0000000000000000abcdef0123456789");
  CHECK_HEX(s->span_id, "ffffffffffffffff");
  CHECK(tl_span_is_root(s));
  CHECK_INT(s->name.len, 0);
  CHECK_INT(s->kind, TL_KIND_UNSPECIFIED);
  CHECK_INT(s->start_ns, 0);
  CHECK_INT(s->end_ns, 0);
  CHECK_INT(s->n_events, 0);
  CHECK_INT(s->attrs.n, 5);
  CHECK_INT(attr_int(&s->attrs, "n"), 42);
  const tl_value *d = tl_attrs_get(&s->attrs, "d"), *t = tl_attrs_get(&s->attrs, "t");
  CHECK(d && d->type == TL_V_DOUBLE && d->u.d == 1.5);
  CHECK(t && t->type == TL_V_BOOL && t->u.b == 1);
  CHECK_INT(s->status_code, TL_STATUS_ERROR);
  CHECK_INT(s->status_message.len, 0);
  CHECK_TLSTR(s->attrs.items[4].key, "zipkin.duration_missing");
  const tl_attrs *r = &s->resource->attrs;
  CHECK_INT(r->n, 4);
  CHECK_STR(attr_str(r, "network.local.address"), "1.2.3.4");
  CHECK_STR(attr_str(r, "zipkin.local.ipv6"), "::2");
  CHECK_INT(attr_int(r, "network.local.port"), 0);
  tl_batch_free(b);

  /* Duration without timestamp keeps the duration; ipv6 alone is the
  ** address; the largest timestamp that fits. */
  b = read_text("{\"traceId\":\"1\",\"id\":\"1\",\"duration\":5,"
                "\"remoteEndpoint\":{\"ipv6\":\"fe80::1\"}}\n"
                "{\"traceId\":\"1\",\"id\":\"2\",\"timestamp\":18446744073709551}",
                &e);
  CHECK_STR(e.msg, "");
  CHECK(b && tl_batch_count(b) == 2);
  if (!b) return;
  s = tl_batch_span(b, 0);
  CHECK_INT(s->start_ns, 0);
  CHECK_INT(s->end_ns, 5000);
  CHECK_INT(s->attrs.n, 1);
  CHECK_STR(attr_str(&s->attrs, "network.peer.address"), "fe80::1");
  CHECK(tl_batch_span(b, 1)->start_ns == 18446744073709551000ull);
  tl_batch_free(b);
}

/* A string with a NUL byte (\u0000) is kept whole. */
TEST(nul_in_strings) {
  tl_err e = {0};
  tl_batch *b = read_text("[{\"traceId\":\"1\",\"id\":\"1\",\"name\":\"a\\u0000b\"}]", &e);
  CHECK(b && tl_batch_count(b) == 1);
  if (b && tl_batch_count(b) == 1) {
    tl_span *s = tl_batch_span(b, 0);
    CHECK_INT(s->name.len, 3);
    CHECK(memcmp(s->name.ptr, "a\0b", 3) == 0);
  }
  tl_batch_free(b);
}

/* ---- errors ----------------------------------------------------------------- */

TEST(errors_structure) {
  CHECK_STR(error_of("{\"resourceSpans\":[]}"), "mem.json: span 0: traceId is missing");
  CHECK_STR(error_of("\n\n  \"spans\""),
            "mem.json: line 3, byte 4: expected a JSON array of Zipkin v2 spans, "
            "found '\"'");
  CHECK_STR(error_of("[" SPAN_A "]\nx"),
            "mem.json: line 2, byte 38: expected a JSON array of Zipkin v2 spans, "
            "found 'x'");
  CHECK_STR(error_of("[" SPAN_A ",\n" SPAN_B),
            "mem.json: line 2, byte 77: invalid JSON: ']' expected near end of file");
  CHECK_STR(error_of("[" SPAN_A ",]"),
            "mem.json: line 1, byte 38: invalid JSON: unexpected token near ']'");
  CHECK_STR(error_of("[1]"),
            "mem.json: byte 0: element 0 of the array is neither a span object nor "
            "an array of spans");
  CHECK_STR(error_of("[] [" SPAN_A ",\"s\"]"),
            "mem.json: byte 3: element 1 of the array is neither a span object nor "
            "an array of spans");
  CHECK_STR(error_of("[[" SPAN_A ",[]]]"), "mem.json: span 1: is not a JSON object");
  CHECK_STR(error_of("[{\"traceId\":\"1\",\"id\":\"1\",\"tags\":[]}]"),
            "mem.json: span 0: tags is not an object");
  CHECK_INT(last_err.rc, TL_EFORMAT);
}

TEST(errors_ids) {
  CHECK_STR(error_of("[" SPAN_A ",{\"traceId\":\"xyz\",\"id\":\"1\"}]"),
            "mem.json: span 1: traceId \"xyz\" is not 1 to 32 hex digits");
  CHECK_STR(error_of("[{\"traceId\":\"\",\"id\":\"1\"}]"),
            "mem.json: span 0: traceId \"\" is not 1 to 32 hex digits");
  CHECK_STR(error_of("[{\"traceId\":\"123456789012345678901234567890123\",\"id\":\"1\"}]"),
            "mem.json: span 0: traceId \"123456789012345678901234567890123\" is not 1 "
            "to 32 hex digits");
  CHECK_STR(error_of("[{\"traceId\":\"000\",\"id\":\"1\"}]"),
            "mem.json: span 0: traceId \"000\" is all zeros");
  CHECK_STR(error_of("[{\"traceId\":1,\"id\":\"1\"}]"),
            "mem.json: span 0: traceId is not a string");
  CHECK_STR(error_of("[{\"traceId\":\"1\"}]"), "mem.json: span 0: id is missing");
  CHECK_STR(error_of("[{\"traceId\":\"1\",\"id\":\"0x12\"}]"),
            "mem.json: span 0: id \"0x12\" is not 1 to 16 hex digits");
  CHECK_STR(error_of("[{\"traceId\":\"1\",\"id\":\"0\"}]"),
            "mem.json: span 0: id \"0\" is all zeros");
  CHECK_STR(error_of("[{\"traceId\":\"1\",\"id\":\"1\",\"parentId\":\"12345678901234567\"}]"),
            "mem.json: span 0: parentId \"12345678901234567\" is not 1 to 16 hex digits");
  CHECK_STR(error_of("[{\"traceId\":\"1\",\"id\":\"1\",\"parentId\":\"\"}]"),
            "mem.json: span 0: parentId \"\" is not 1 to 16 hex digits");
  /* A long bad value is cut in the message. */
  char text[256];
  snprintf(text, sizeof text, "[{\"traceId\":\"%s\",\"id\":\"1\"}]",
           "g123456789012345678901234567890123456789012345678901234567890123456789");
  CHECK_STR(error_of(text),
            "mem.json: span 0: traceId "
            "\"g123456789012345678901234567890123456789012345678901234567890123...\" is "
            "not 1 to 32 hex digits");
}

TEST(errors_fields) {
#define ONE(extra) "[{\"traceId\":\"1\",\"id\":\"1\"," extra "}]"
  CHECK_STR(error_of(ONE("\"kind\":\"client\"")),
            "mem.json: span 0: kind \"client\" is not CLIENT, SERVER, PRODUCER or "
            "CONSUMER");
  CHECK_STR(error_of(ONE("\"kind\":2")), "mem.json: span 0: kind is not a string");
  CHECK_STR(error_of(ONE("\"name\":[]")), "mem.json: span 0: name is not a string");
  CHECK_STR(error_of(ONE("\"timestamp\":\"1\"")),
            "mem.json: span 0: timestamp is not an integer");
  CHECK_STR(error_of(ONE("\"timestamp\":1.5")),
            "mem.json: span 0: timestamp is not an integer");
  CHECK_STR(error_of(ONE("\"duration\":-3")), "mem.json: span 0: duration -3 is negative");
  CHECK_STR(error_of(ONE("\"timestamp\":18446744073709552")),
            "mem.json: span 0: timestamp 18446744073709552 us is past the largest time "
            "in nanoseconds (18446744073709551 us)");
  CHECK_INT(last_err.rc, TL_ERANGE);
  CHECK_STR(error_of(ONE("\"timestamp\":18446744073709551,\"duration\":1")),
            "mem.json: span 0: timestamp + duration is past the largest time");
  CHECK_INT(last_err.rc, TL_ERANGE);
  CHECK_STR(error_of(ONE("\"localEndpoint\":\"svc\"")),
            "mem.json: span 0: localEndpoint is not an object");
  CHECK_STR(error_of(ONE("\"localEndpoint\":{\"serviceName\":7}")),
            "mem.json: span 0: localEndpoint.serviceName is not a string");
  CHECK_STR(error_of(ONE("\"remoteEndpoint\":{\"port\":65536}")),
            "mem.json: span 0: remoteEndpoint.port is not an integer from 0 to 65535");
  CHECK_STR(error_of(ONE("\"remoteEndpoint\":{\"port\":\"80\"}")),
            "mem.json: span 0: remoteEndpoint.port is not an integer from 0 to 65535");
  CHECK_STR(error_of(ONE("\"tags\":{\"a\":\"b\",\"http.url\":null}")),
            "mem.json: span 0: tag \"http.url\" is not a string, number or boolean");
  CHECK_STR(error_of(ONE("\"annotations\":{}")),
            "mem.json: span 0: annotations is not an array");
  CHECK_STR(error_of(ONE("\"annotations\":[{\"timestamp\":1,\"value\":\"a\"},"
                         "{\"value\":\"b\"}]")),
            "mem.json: span 0: annotation 1 is not an object with timestamp and value");
  CHECK_STR(error_of(ONE("\"annotations\":[\"cs\"]")),
            "mem.json: span 0: annotation 0 is not an object with timestamp and value");
  CHECK_STR(error_of(ONE("\"annotations\":[{\"timestamp\":1,\"value\":1}]")),
            "mem.json: span 0: annotation 0 value is not a string");
  CHECK_STR(error_of(ONE("\"annotations\":[{\"timestamp\":-1,\"value\":\"a\"}]")),
            "mem.json: span 0: annotation 0 timestamp -1 is negative");
  CHECK_STR(error_of(ONE("\"shared\":\"true\"")),
            "mem.json: span 0: shared is not a boolean");
  CHECK_STR(error_of(ONE("\"debug\":1")), "mem.json: span 0: debug is not a boolean");
#undef ONE
}

/* Truncation at every byte of a real span: an error, never a crash, and
** the spans before the cut are complete. */
TEST(errors_truncated) {
  const char *text = "[{\"traceId\":\"1\",\"id\":\"2\",\"kind\":\"SERVER\",\"timestamp\":1,"
                     "\"duration\":2,\"localEndpoint\":{\"serviceName\":\"s\"},"
                     "\"tags\":{\"a\":\"b\"},\"annotations\":[{\"timestamp\":1,"
                     "\"value\":\"v\"}]}]";
  size_t n = strlen(text);
  for (size_t cut = 1; cut < n; cut++) {
    tl_err e = {0};
    tl_input *in;
    if (tl_input_open_mem(&in, text, cut, "cut.json", &e)) {
      UNIT_FAIL("open");
      return;
    }
    tl_batch *b = read_input(in, &e);
    tl_input_close(in);
    if (b) UNIT_FAIL("cut at %zu reads %zu spans", cut, tl_batch_count(b));
    tl_batch_free(b);
    if (strncmp(e.msg, "cut.json: line 1, byte ", 23) != 0 || !strstr(e.msg, "invalid JSON"))
      UNIT_FAIL("cut at %zu: %.200s", cut, e.msg);
  }
}

/* An error is sticky, and a span that fails is not left in the batch while
** the complete spans before it stay. */
TEST(errors_sticky) {
  const char *text = "[" SPAN_A "," SPAN_B ",{\"traceId\":\"1\",\"id\":\"q\"}," SPAN_A "]";
  tl_err e = {0};
  tl_input *in;
  void *st;
  CHECK_INT(tl_input_open_mem(&in, text, strlen(text), "s.json", &e), TL_OK);
  CHECK_INT(tl_zipkin_reader.open(in, &st, &e), TL_OK);
  tl_batch *b = tl_batch_new();
  CHECK_INT(tl_zipkin_reader.next(st, b, 10, &e), TL_EFORMAT);
  CHECK_INT(tl_batch_count(b), 2);
  CHECK_STR(e.msg, "s.json: span 2: id \"q\" is not 1 to 16 hex digits");
  tl_err e2 = {0};
  CHECK_INT(tl_zipkin_reader.next(st, b, 10, &e2), TL_EFORMAT);
  CHECK_STR(e2.msg, e.msg);
  CHECK_INT(tl_batch_count(b), 2);
  tl_batch_free(b);
  tl_zipkin_reader.close(st);
  tl_input_close(in);
}

/* Compressed input goes through tl_input: the same spans. */
TEST(gzip_input) {
  const char *plain = "[" SPAN_A "," SPAN_B "]";
  /* gzip -n of the text above, made at test time with zlib. */
  unsigned char gz[512];
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  CHECK_INT(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  zs.next_in = (Bytef *)(uintptr_t)plain;
  zs.avail_in = (uInt)strlen(plain);
  zs.next_out = gz;
  zs.avail_out = sizeof gz;
  CHECK_INT(deflate(&zs, Z_FINISH), Z_STREAM_END);
  size_t n = sizeof gz - zs.avail_out;
  deflateEnd(&zs);
  tl_err e = {0};
  tl_input *in;
  CHECK_INT(tl_input_open_mem(&in, gz, n, "gz.json.gz", &e), TL_OK);
  check_ab(read_input(in, &e), "gzip");
  tl_input_close(in);
}

int main(void) {
  RUN(real_files_counts);
  RUN(real_files_small_batches);
  RUN(span_short_ids);
  RUN(span_shared_client);
  RUN(span_producer_short_parent);
  RUN(span_v1_annotations);
  RUN(span_smartthings);
  RUN(span_ipv6_remote);
  RUN(span_envoy_no_service);
  RUN(span_malformed_fragment);
  RUN(envelopes);
  RUN(edge_values);
  RUN(nul_in_strings);
  RUN(errors_structure);
  RUN(errors_ids);
  RUN(errors_fields);
  RUN(errors_truncated);
  RUN(errors_sticky);
  RUN(gzip_input);
  return UNIT_DONE();
}
