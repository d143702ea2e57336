/*
** test_otlp.c — the OTLP JSON reader (otlp_read.c) and the canonical NDJSON
** writer (otlp_write.c): exact canonical text, round trips, every real OTLP
** file of ../shared/traces with its span count and one span checked field
** by field against the file, batching across next() calls, and the exact
** error message of each kind of malformed input.
*/
#include "../../ext/io/otlp_write.h"
#include "../../ext/io/reader.h"
#include "unit.h"

#include <math.h>
#include <stdlib.h>

/* ---- helpers ----------------------------------------------------------------- */

typedef struct readout {
  int rc;            /* the last next() result */
  size_t spans;
  tl_buf text;       /* canonical lines of every span read */
  char msg[512];     /* the error message, if rc < 0 */
} readout;

/* Reads everything from in (closed here) with at most max spans per
** next() call, writing each span's canonical line. */
static void read_input(tl_input *in, size_t max, readout *r) {
  tl_err e = {0};
  void *st = NULL;
  memset(r, 0, sizeof *r);
  tl_buf_init(&r->text);
  r->rc = tl_otlp_reader.open(in, &st, &e);
  if (r->rc == TL_OK) {
    tl_batch *b = tl_batch_new();
    do {
      tl_batch_reset(b);
      r->rc = tl_otlp_reader.next(st, b, max, &e);
      for (size_t i = 0; i < tl_batch_count(b); i++)
        tl_otlp_write_span(&r->text, tl_batch_span(b, i));
      r->spans += tl_batch_count(b);
    } while (r->rc == TL_OK);
    tl_batch_free(b);
    tl_otlp_reader.close(st);
  }
  if (r->rc < 0) snprintf(r->msg, sizeof r->msg, "%s", e.msg);
  tl_buf_cstr(&r->text);
  tl_input_close(in);
}

static void read_text(const char *text, size_t max, readout *r) {
  tl_err e = {0};
  tl_input *in = NULL;
  if (tl_input_open_mem(&in, text, strlen(text), "t.json", &e)) {
    memset(r, 0, sizeof *r);
    r->rc = e.rc;
    return;
  }
  read_input(in, max, r);
}

static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *p = malloc((size_t)len + 1);
  if (p && fread(p, 1, (size_t)len, f) != (size_t)len) {
    free(p);
    p = NULL;
  }
  fclose(f);
  if (p) p[len] = 0;
  if (n) *n = (size_t)len;
  return p;
}

/* One span, as the canonical writer gives it, from a span object text. */
static const char *one_span_doc(const char *span_json, char *buf, size_t cap) {
  snprintf(buf, cap, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[%s]}]}]}", span_json);
  return buf;
}

/* A request of one span with these extra members. */
#define SPAN_DOC(members)                                                                   \
  "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"                          \
  "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\"" members "}]}]}]}"
#define IDS "\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\""
#define LINE_OF(span_members)                                                              \
  "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{" IDS span_members "}]}]}]}\n"

/* ---- the writer ------------------------------------------------------------------ */

TEST(write_minimal_span_omits_defaults) {
  tl_batch *b = tl_batch_new();
  tl_span *s = tl_batch_add_span(b);
  for (int i = 0; i < 16; i++) s->trace_id[i] = (uint8_t)(i + 1);
  for (int i = 0; i < 8; i++) s->span_id[i] = (uint8_t)(0x11 + i);
  tl_buf o;
  tl_buf_init(&o);
  tl_otlp_write_span(&o, s);
  CHECK_STR(tl_buf_cstr(&o), LINE_OF(""));

  /* A status with only a message, a resource with only a dropped count, a
  ** scope with only a version, a link with zero ids. */
  tl_resource *r = tl_batch_alloc(b, sizeof *r);
  tl_scope *sc = tl_batch_alloc(b, sizeof *sc);
  r->attrs.dropped = 7;
  sc->version = tl_batch_intern_cstr(b, "v1");
  s->resource = r;
  s->scope = sc;
  s->status_message = tl_batch_intern_cstr(b, "m");
  s->links = tl_batch_alloc(b, sizeof *s->links);
  s->n_links = 1;
  tl_buf_reset(&o);
  tl_otlp_write_span(&o, s);
  CHECK_STR(tl_buf_cstr(&o),
            "{\"resourceSpans\":[{\"resource\":{\"droppedAttributesCount\":7},\"scopeSpans\":[{"
            "\"scope\":{\"version\":\"v1\"},\"spans\":[{" IDS
            ",\"links\":[{\"traceId\":\"00000000000000000000000000000000\",\"spanId\":"
            "\"0000000000000000\"}],\"status\":{\"message\":\"m\"}}]}]}]}\n");
  tl_buf_free(&o);
  tl_batch_free(b);
}

TEST(write_values_exact) {
  tl_batch *b = tl_batch_new();
  tl_buf o;
  tl_buf_init(&o);
  static const struct {
    tl_value v;
    const char *want;
  } cases[] = {
      {{.type = TL_V_EMPTY}, "{}"},
      {{.type = TL_V_BOOL, .u.b = 1}, "{\"boolValue\":true}"},
      {{.type = TL_V_INT, .u.i = INT64_MIN}, "{\"intValue\":\"-9223372036854775808\"}"},
      {{.type = TL_V_DOUBLE, .u.d = 2.0}, "{\"doubleValue\":2.0}"},
      {{.type = TL_V_DOUBLE, .u.d = -0.0}, "{\"doubleValue\":-0.0}"},
      {{.type = TL_V_DOUBLE, .u.d = 1e15}, "{\"doubleValue\":1e+15}"},
      {{.type = TL_V_DOUBLE, .u.d = 0.1}, "{\"doubleValue\":0.1}"},
      {{.type = TL_V_ARRAY}, "{\"arrayValue\":{}}"},
      {{.type = TL_V_KVLIST}, "{\"kvlistValue\":{}}"},
      {{.type = TL_V_STRING, .u.s = {"a\"\\\n\x01\x7f\xc3\xa9", 8}},
       "{\"stringValue\":\"a\\\"\\\\\\n\\u0001\x7f\xc3\xa9\"}"},
      {{.type = TL_V_BYTES, .u.s = {"\x00\x00\x30\x39", 4}}, "{\"bytesValue\":\"AAAwOQ==\"}"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tl_buf_reset(&o);
    tl_otlp_write_value(&o, &cases[i].v);
    CHECK_STR(tl_buf_cstr(&o), cases[i].want);
  }
  tl_value special[3] = {{.type = TL_V_DOUBLE}, {.type = TL_V_DOUBLE}, {.type = TL_V_DOUBLE}};
  special[0].u.d = (double)NAN;
  special[1].u.d = (double)INFINITY;
  special[2].u.d = -(double)INFINITY;
  tl_kv kvs[3] = {{tl_batch_intern_cstr(b, "nan"), special[0]},
                  {tl_batch_intern_cstr(b, "inf"), special[1]},
                  {{NULL, 0}, special[2]}};
  tl_attrs a = {kvs, 3, 0};
  tl_buf_reset(&o);
  tl_otlp_write_attrs(&o, &a);
  CHECK_STR(tl_buf_cstr(&o),
            "[{\"key\":\"nan\",\"value\":{\"doubleValue\":\"NaN\"}},{\"key\":\"inf\",\"value\":"
            "{\"doubleValue\":\"Infinity\"}},{\"key\":\"\",\"value\":{\"doubleValue\":\"-Infinity\"}}]");
  tl_buf_free(&o);
  tl_batch_free(b);
}

/* A model value nested deeper than readers allow is cut, not recursed into. */
TEST(write_depth_limit) {
  tl_value chain[TL_MAX_DEPTH + 2];
  for (int i = 0; i < TL_MAX_DEPTH + 1; i++) {
    chain[i].type = TL_V_ARRAY;
    chain[i].u.arr.items = &chain[i + 1];
    chain[i].u.arr.n = 1;
  }
  chain[TL_MAX_DEPTH + 1].type = TL_V_BOOL;
  chain[TL_MAX_DEPTH + 1].u.b = 1;
  tl_buf o, want;
  tl_buf_init(&o);
  tl_buf_init(&want);
  tl_otlp_write_value(&o, &chain[0]);
  for (int i = 0; i < TL_MAX_DEPTH; i++) tl_buf_puts(&want, "{\"arrayValue\":{\"values\":[");
  tl_buf_puts(&want, "{}");
  for (int i = 0; i < TL_MAX_DEPTH; i++) tl_buf_puts(&want, "]}}");
  CHECK_STR(tl_buf_cstr(&o), tl_buf_cstr(&want));
  tl_buf_free(&o);
  tl_buf_free(&want);
}

/* ---- canonical text and round trips ------------------------------------------------ */

/* testdata/otlp/all-types.json holds every value type, NaN and infinities,
** bytes (padded, unpadded, URL-safe), nested arrays and kvlists, duplicate
** keys, empty AnyValues, base64 and upper-case hex ids, enum names,
** numbers as strings and as numbers, snake_case names, schema URLs,
** dropped counts, events, links and deprecatedCode; all-types.ndjson is
** its canonical text (agreed on by tests/py/otlp_canon.py). */
TEST(golden_all_types) {
  char *want = slurp("testdata/otlp/all-types.ndjson", NULL);
  CHECK(want != NULL);
  if (!want) return;
  size_t maxes[] = {1, 2, 3, 1000};
  for (size_t m = 0; m < 4; m++) {
    tl_err e = {0};
    tl_input *in = NULL;
    CHECK_INT(tl_input_open_file(&in, "testdata/otlp/all-types.json", &e), TL_OK);
    if (!in) break;
    readout r;
    read_input(in, maxes[m], &r);
    CHECK_INT(r.rc, TL_DONE);
    CHECK_INT(r.spans, 4);
    CHECK_STR(r.text.p, want);
    /* The canonical text reads back to itself. */
    readout again;
    read_text(r.text.p, maxes[m], &again);
    CHECK_INT(again.rc, TL_DONE);
    CHECK_STR(again.text.p, want);
    tl_buf_free(&r.text);
    tl_buf_free(&again.text);
  }
  free(want);
}

TEST(ids_hex_and_base64_give_one_line) {
  static const char *spans[] = {
      "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\"}",
      "{\"traceId\":\"0102030405060708090A0B0C0D0E0F10\",\"spanId\":\"1112131415161718\"}",
      "{\"traceId\":\"AQIDBAUGBwgJCgsMDQ4PEA==\",\"spanId\":\"ERITFBUWFxg=\"}",
      "{\"trace_id\":\"AQIDBAUGBwgJCgsMDQ4PEA\",\"span_id\":\"ERITFBUWFxg\"}",
      "{\"traceId\":\"AQIDBAUGBwgJCgsMDQ4PEA\",\"spanId\":\"ERITFBUWFxg\",\"parentSpanId\":\"\"}",
      "{\"traceId\":\"AQIDBAUGBwgJCgsMDQ4PEA\",\"spanId\":\"ERITFBUWFxg\","
      "\"parentSpanId\":\"0000000000000000\",\"status\":{}}",
  };
  for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++) {
    char doc[512];
    readout r;
    read_text(one_span_doc(spans[i], doc, sizeof doc), 10, &r);
    CHECK_INT(r.rc, TL_DONE);
    CHECK_STR(r.text.p, LINE_OF(""));
    tl_buf_free(&r.text);
  }
}

TEST(enums_and_number_forms) {
  static const struct {
    const char *members, *want;
  } cases[] = {
      {",\"kind\":\"SPAN_KIND_PRODUCER\"", ",\"kind\":4"},
      {",\"kind\":\"consumer\"", ",\"kind\":5"},
      {",\"kind\":0,\"flags\":0,\"name\":\"\",\"traceState\":null", ""},
      {",\"status\":{\"code\":\"STATUS_CODE_OK\"}", ",\"status\":{\"code\":1}"},
      {",\"status\":{\"code\":2,\"message\":\"x\",\"deprecatedCode\":1}",
       ",\"status\":{\"message\":\"x\",\"code\":2}"},
      {",\"startTimeUnixNano\":18446744073709551615",
       ",\"startTimeUnixNano\":\"18446744073709551615\""},
      {",\"startTimeUnixNano\":\"18446744073709551615\",\"endTimeUnixNano\":-0",
       ",\"startTimeUnixNano\":\"18446744073709551615\""},
      {",\"flags\":\"4294967295\",\"droppedLinksCount\":1",
       ",\"flags\":4294967295,\"droppedLinksCount\":1"},
      {",\"attributes\":[{\"key\":\"d\",\"value\":{\"doubleValue\":\"-1.5E3\"}},"
       "{\"key\":\"i\",\"value\":{\"int_value\":-7}}]",
       ",\"attributes\":[{\"key\":\"d\",\"value\":{\"doubleValue\":-1500.0}},"
       "{\"key\":\"i\",\"value\":{\"intValue\":\"-7\"}}]"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char span[512], doc[1024], want[1024];
    snprintf(span, sizeof span, "{" IDS "%s}", cases[i].members);
    snprintf(want, sizeof want, LINE_OF("%s"), cases[i].want);
    readout r;
    read_text(one_span_doc(span, doc, sizeof doc), 10, &r);
    CHECK_INT(r.rc, TL_DONE);
    CHECK_STR(r.text.p, want);
    tl_buf_free(&r.text);
  }
}

/* ---- input shapes and batching ------------------------------------------------------ */

#define REQ(svc, span_id)                                                                   \
  "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":" \
  "{\"stringValue\":\"" svc "\"}}]},\"scopeSpans\":[{\"spans\":[{\"traceId\":"              \
  "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"" span_id "\"}]}]}]}"

TEST(shapes_ndjson_document_and_wrappers) {
  static const char *want =
      REQ("a", "0000000000000001") "\n" REQ("a", "0000000000000002") "\n" REQ("b", "0000000000000003") "\n";
  static const char *inputs[] = {
      /* NDJSON with CRLF, blank and whitespace lines */
      "\r\n" REQ("a", "0000000000000001") "\r\n  \r\n" REQ("a", "0000000000000002") "\r\n" REQ(
          "b", "0000000000000003"),
      /* one document split over lines, two spans in one ResourceSpans */
      "{\n\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
      "{\"stringValue\":\"a\"}}]},\n\"scopeSpans\":[{\"spans\":[\n{\"traceId\":"
      "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0000000000000001\"},\n{\"traceId\":"
      "\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0000000000000002\"}]}]},\n"
      "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":"
      "\"b\"}}]},\"scopeSpans\":[{\"spans\":[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\","
      "\"spanId\":\"0000000000000003\"}]}]}]\n}\n",
      /* documents one after another, pretty (jq . of NDJSON) */
      "{\n  \"result\": " REQ("a", "0000000000000001") "\n}\n" REQ("a", "0000000000000002") " "
      "{\"batches\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
      "{\"stringValue\":\"b\"}}]},\"instrumentationLibrarySpans\":[{\"instrumentationLibrary\":"
      "{},\"spans\":[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":"
      "\"0000000000000003\"}]}]}]}",
      /* NDJSON lines of Jaeger API v3 stream chunks and empty requests */
      "{\"result\":" REQ("a", "0000000000000001") "}\n{}\n{\"result\":null}\n{\"resourceSpans\":null}\n"
      "{\"resource_spans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
      "{\"string_value\":\"a\"}}]},\"scope_spans\":[{\"spans\":[{\"trace_id\":"
      "\"0102030405060708090a0b0c0d0e0f10\",\"span_id\":\"0000000000000002\"}]}]}]}\n"
      "{\"result\":{\"resourceSpans\":[]}}\n" REQ("b", "0000000000000003") "\n",
  };
  for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
    for (size_t max = 1; max <= 4; max++) {
      readout r;
      read_text(inputs[i], max, &r);
      CHECK_INT(r.rc, TL_DONE);
      CHECK_INT(r.spans, 3);
      CHECK_STR(r.text.p, want);
      tl_buf_free(&r.text);
    }
  }
  static const char *empty[] = {"", " \n\t\r\n", "{}", "{\n}\n{}"};
  for (size_t i = 0; i < 4; i++) {
    readout r;
    read_text(empty[i], 10, &r);
    CHECK_INT(r.rc, TL_DONE);
    CHECK_INT(r.spans, 0);
    tl_buf_free(&r.text);
  }
}

/* The first line decides NDJSON or document even when it is longer than
** the first look (64 KiB) at the input. */
TEST(long_first_line) {
  tl_buf big, t;
  tl_buf_init(&big);
  tl_buf_init(&t);
  for (int i = 0; i < 100000; i++) tl_buf_putc(&big, 'x');
  tl_buf_printf(&t, SPAN_DOC(",\"name\":\"%s\"") "\n" SPAN_DOC(",\"name\":\"%s\""),
                tl_buf_cstr(&big), big.p);
  readout r;
  read_text(tl_buf_cstr(&t), 1, &r);
  CHECK_INT(r.rc, TL_DONE);
  CHECK_INT(r.spans, 2);
  /* The same spans as a document whose first line is long and incomplete. */
  tl_buf_reset(&t);
  tl_buf_printf(&t, "{\"resourceSpans\":[{\"schemaUrl\":\"%s\",\n\"scopeSpans\":[{\"spans\":[{" IDS
                "}]}]}]}", tl_buf_cstr(&big));
  readout d;
  read_text(tl_buf_cstr(&t), 1, &d);
  CHECK_INT(d.rc, TL_DONE);
  CHECK_INT(d.spans, 1);
  CHECK(d.text.n > 100000);
  tl_buf_free(&r.text);
  tl_buf_free(&d.text);
  tl_buf_free(&big);
  tl_buf_free(&t);
}

/* next() returns at most max spans, TL_DONE at the end, shares one
** resource between spans of one batch that have the same JSON resource, and
** builds resources again in each new batch. */
TEST(batching_and_shared_resources) {
  const char *text = REQ("a", "0000000000000001") "\n" REQ("a", "0000000000000002") "\n" REQ(
      "b", "0000000000000003") "\n" REQ("a", "0000000000000004") "\n";
  tl_err e = {0};
  tl_input *in = NULL;
  void *st = NULL;
  CHECK_INT(tl_input_open_mem(&in, text, strlen(text), "t.json", &e), TL_OK);
  CHECK_INT(tl_otlp_reader.open(in, &st, &e), TL_OK);
  tl_batch *b = tl_batch_new();
  CHECK_INT(tl_otlp_reader.next(st, b, 3, &e), TL_OK);
  CHECK_INT(tl_batch_count(b), 3);
  const tl_span *s0 = tl_batch_span(b, 0), *s1 = tl_batch_span(b, 1), *s2 = tl_batch_span(b, 2);
  CHECK(s0->resource == s1->resource);
  CHECK(s1->resource != s2->resource);
  CHECK(s0->scope == s2->scope); /* absent scope: the batch's empty one */
  CHECK_TLSTR(s0->resource->service, "a");
  CHECK_TLSTR(s2->resource->service, "b");
  /* The last span comes with TL_DONE: the reader saw the end. */
  tl_batch_reset(b);
  CHECK_INT(tl_otlp_reader.next(st, b, 3, &e), TL_DONE);
  CHECK_INT(tl_batch_count(b), 1);
  CHECK_TLSTR(tl_batch_span(b, 0)->resource->service, "a");
  CHECK_INT(tl_batch_span(b, 0)->span_id[7], 4);
  tl_batch_reset(b);
  CHECK_INT(tl_otlp_reader.next(st, b, 3, &e), TL_DONE);
  CHECK_INT(tl_batch_count(b), 0);
  tl_otlp_reader.close(st);
  tl_input_close(in);
  tl_batch_free(b);
}

/* On an error, the spans of the failing request read in this call leave
** the batch, earlier requests' spans stay, and the error is sticky. */
TEST(error_takes_back_the_request_and_sticks) {
  const char *text =
      REQ("a", "0000000000000001") "\n"
      "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\","
      "\"spanId\":\"0000000000000002\"},{\"traceId\":\"0102\",\"spanId\":\"0000000000000003\"}]}]}]}\n";
  static const char *msg =
      "t.json: line 2: resourceSpans[0].scopeSpans[0].spans[1].traceId: expected 32 hex digits or "
      "base64 of 16 bytes";
  tl_err e = {0};
  tl_input *in = NULL;
  void *st = NULL;
  CHECK_INT(tl_input_open_mem(&in, text, strlen(text), "t.json", &e), TL_OK);
  CHECK_INT(tl_otlp_reader.open(in, &st, &e), TL_OK);
  tl_batch *b = tl_batch_new();
  CHECK_INT(tl_otlp_reader.next(st, b, 10, &e), TL_EFORMAT);
  CHECK_STR(e.msg, msg);
  CHECK_INT(tl_batch_count(b), 1);
  tl_err_clear(&e);
  CHECK_INT(tl_otlp_reader.next(st, b, 10, &e), TL_EFORMAT);
  CHECK_STR(e.msg, msg);
  tl_otlp_reader.close(st);
  tl_input_close(in);
  tl_batch_free(b);
}

/* ---- malformed input: exact messages -------------------------------------------------- */

#define AT "t.json: line 1: resourceSpans[0].scopeSpans[0].spans[0]."

TEST(malformed_exact_messages) {
  static const struct {
    const char *text, *msg;
  } cases[] = {
      /* truncated and invalid JSON */
      {"{\n\"resourceSpans\": [\n  {\"scopeSpans\": [",
       "t.json: line 3, column 19: invalid JSON: unexpected end of input"},
      {"{}\n{\"resourceSpans\":[}\n", "t.json: line 2, column 19: invalid JSON: unexpected character"},
      {"{\"resourceSpans\":NaN}", "t.json: line 1, column 18: invalid JSON: unexpected character"},
      {"{\"resourceSpans\":[01]}", "t.json: line 1, column 20: invalid JSON: expected ',' or ']'"},
      {"{\"resourceSpans\":\"\\ud800\"}",
       "t.json: line 1, column 19: invalid JSON: invalid \\u escape (unpaired surrogate)"},
      {"{\"resourceSpans\":\"\xc3\x28\"}", "t.json: line 1, column 19: invalid JSON: invalid UTF-8 in a string"},
      {"{\"resourceSpans\":\"a\tb\"}",
       "t.json: line 1, column 20: invalid JSON: control character in a string"},
      {"{}\n{} x\n",
       "t.json: line 2, column 4: invalid JSON: text after the object (NDJSON needs one object per line)"},
      {"[1]", "t.json: line 1, column 1: invalid JSON: expected '{' (an OTLP JSON object)"},
      /* not OTLP */
      {"{\"data\":[]}",
       "t.json: line 1: expected an OTLP ExportTraceServiceRequest: an object with \"resourceSpans\" "
       "(or \"result\" or \"batches\")"},
      {"{\"error\":{\"code\":5,\"message\":\"trace not found\"}}",
       "t.json: line 1: error: the input is an error response: trace not found"},
      {"{\"result\":[]}", "t.json: line 1: result: expected an object"},
      {"{\"resourceSpans\":{}}", "t.json: line 1: resourceSpans: expected an array"},
      {"{\"resourceSpans\":[5]}", "t.json: line 1: resourceSpans[0]: expected an object"},
      {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":{}}]}]}",
       "t.json: line 1: resourceSpans[0].scopeSpans[0].spans: expected an array"},
      {"{\"resourceSpans\":[{\"resource\":[],\"scopeSpans\":[{\"spans\":[{}]}]}]}",
       "t.json: line 1: resourceSpans[0].resource: expected an object"},
      {"{\"batches\":[{\"instrumentationLibrarySpans\":[{\"instrumentationLibrary\":{\"name\":1},"
       "\"spans\":[{}]}]}]}",
       "t.json: line 1: batches[0].instrumentationLibrarySpans[0].instrumentationLibrary.name: "
       "expected a string"},
      {"{\"resourceSpans\":[{\"schemaUrl\":3,\"scopeSpans\":[{\"spans\":[{}]}]}]}",
       "t.json: line 1: resourceSpans[0].schemaUrl: expected a string"},
      /* ids */
      {SPAN_DOC(",\"parentSpanId\":\"xyz\""),
       AT "parentSpanId: expected 16 hex digits or base64 of 8 bytes"},
      {SPAN_DOC(",\"parentSpanId\":\"111213141516171g\""),
       AT "parentSpanId: expected 16 hex digits or base64 of 8 bytes"},
      {SPAN_DOC(",\"parentSpanId\":\"AQIDBAUGBwgJ\""),
       AT "parentSpanId: expected 16 hex digits or base64 of 8 bytes"},
      {SPAN_DOC(",\"parentSpanId\":7"), AT "parentSpanId: expected 16 hex digits or base64 of 8 bytes"},
      {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"\",\"spanId\":\"1112131415161718\"}]}]}]}",
       AT "traceId: expected 32 hex digits or base64 of 16 bytes"},
      {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\"}]}]}]}",
       AT "spanId: missing: expected 16 hex digits or base64 of 8 bytes"},
      {SPAN_DOC(",\"links\":[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"spanId\"}]"),
       AT "links[0].spanId: expected 16 hex digits or base64 of 8 bytes"},
      /* wrong types and ranges */
      {SPAN_DOC(",\"name\":5"), AT "name: expected a string"},
      {SPAN_DOC(",\"kind\":6"), AT "kind: expected a SpanKind: 0 to 5 or a name such as \"SPAN_KIND_SERVER\""},
      {SPAN_DOC(",\"kind\":\"SPAN_KIND_\""),
       AT "kind: expected a SpanKind: 0 to 5 or a name such as \"SPAN_KIND_SERVER\""},
      {SPAN_DOC(",\"status\":{\"code\":-1}"),
       AT "status.code: expected a StatusCode: 0 to 2 or a name such as \"STATUS_CODE_ERROR\""},
      {SPAN_DOC(",\"status\":\"ok\""), AT "status: expected an object"},
      {SPAN_DOC(",\"startTimeUnixNano\":-1"),
       AT "startTimeUnixNano: expected an integer from 0 to 18446744073709551615 (a JSON number or a "
          "decimal string)"},
      {SPAN_DOC(",\"end_time_unix_nano\":1.5e18"),
       AT "end_time_unix_nano: expected an integer from 0 to 18446744073709551615 (a JSON number or a "
          "decimal string)"},
      {SPAN_DOC(",\"startTimeUnixNano\":\"18446744073709551616\""),
       AT "startTimeUnixNano: expected an integer from 0 to 18446744073709551615 (a JSON number or a "
          "decimal string)"},
      {SPAN_DOC(",\"flags\":\"+1\""),
       AT "flags: expected an integer from 0 to 4294967295 (a JSON number or a decimal string)"},
      {SPAN_DOC(",\"droppedEventsCount\":4294967296"),
       AT "droppedEventsCount: expected an integer from 0 to 4294967295 (a JSON number or a decimal "
          "string)"},
      {SPAN_DOC(",\"events\":[{\"timeUnixNano\":true}]"),
       AT "events[0].timeUnixNano: expected an integer from 0 to 18446744073709551615 (a JSON number "
          "or a decimal string)"},
      {SPAN_DOC(",\"events\":[1]"), AT "events[0]: expected an object"},
      {SPAN_DOC(",\"links\":{}"), AT "links: expected an array"},
      {SPAN_DOC(",\"attributes\":{}"), AT "attributes: expected an array of KeyValue"},
      {SPAN_DOC(",\"attributes\":[[]]"), AT "attributes[0]: expected a KeyValue object"},
      {SPAN_DOC(",\"attributes\":[{\"key\":1}]"), AT "attributes[0].key: expected a string"},
      {SPAN_DOC(",\"attributes\":[{\"key\":\"k\",\"value\":\"v\"}]"),
       AT "attributes[0].value: expected an AnyValue object"},
      {SPAN_DOC(",\"attributes\":[{\"key\":\"k\",\"value\":{\"stringValue\":\"a\",\"intValue\":\"1\"}}]"),
       AT "attributes[0].value: both \"stringValue\" and \"intValue\" are set"},
      {SPAN_DOC(",\"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":\"9223372036854775808\"}}]"),
       AT "attributes[0].value.intValue: expected a 64-bit signed integer (a JSON number or a decimal "
          "string)"},
      {SPAN_DOC(",\"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":1.0}}]"),
       AT "attributes[0].value.intValue: expected a 64-bit signed integer (a JSON number or a decimal "
          "string)"},
      {SPAN_DOC(",\"attributes\":[{\"key\":\"k\",\"value\":{\"boolValue\":\"true\"}}]"),
       AT "attributes[0].value.boolValue: expected true or false"},
      {SPAN_DOC(",\"attributes\":[{\"key\":\"k\",\"value\":{\"doubleValue\":\"inf\"}}]"),
       AT "attributes[0].value.doubleValue: expected a number, or a string holding a number, \"NaN\", "
          "\"Infinity\" or \"-Infinity\""},
      {SPAN_DOC(",\"attributes\":[{\"key\":\"k\",\"value\":{\"doubleValue\":1e999}}]"),
       AT "attributes[0].value.doubleValue: number out of the range of a double"},
      {SPAN_DOC(",\"attributes\":[{\"key\":\"k\",\"value\":{\"bytesValue\":\"A\"}}]"),
       AT "attributes[0].value.bytesValue: invalid base64"},
      {SPAN_DOC(",\"attributes\":[{\"key\":\"k\",\"value\":{\"arrayValue\":[]}}]"),
       AT "attributes[0].value.arrayValue: expected an object"},
      {SPAN_DOC(",\"attributes\":[{\"key\":\"k\",\"value\":{\"arrayValue\":{\"values\":[1]}}}]"),
       AT "attributes[0].value.arrayValue.values[0]: expected an AnyValue object"},
      {SPAN_DOC(",\"attributes\":[{\"key\":\"k\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"a\","
                "\"value\":{\"stringValue\":[]}}]}}}]"),
       AT "attributes[0].value.kvlistValue.values[0].value.stringValue: expected a string"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    readout r;
    read_text(cases[i].text, 10, &r);
    CHECK(r.rc == TL_EFORMAT || r.rc == TL_ERANGE);
    CHECK_INT(r.spans, 0);
    CHECK_STR(r.msg, cases[i].msg);
    tl_buf_free(&r.text);
  }
}

/* A pretty document reports the line of the offending value. */
TEST(malformed_document_line_numbers) {
  readout r;
  read_text("{\n  \"resourceSpans\": [{\n    \"scopeSpans\": [{\n      \"spans\": [\n"
            "        {\"traceId\": \"0102030405060708090a0b0c0d0e0f10\",\n"
            "         \"spanId\": \"1112131415161718\",\n"
            "         \"kind\": \"SPAN_KIND_SEVER\"}]}]}]}\n",
            10, &r);
  CHECK_INT(r.rc, TL_EFORMAT);
  CHECK_STR(r.msg, "t.json: line 7: resourceSpans[0].scopeSpans[0].spans[0].kind: expected a "
                   "SpanKind: 0 to 5 or a name such as \"SPAN_KIND_SERVER\"");
  tl_buf_free(&r.text);
}

TEST(malformed_nesting) {
  /* JSON nesting: the root object is level 1, so the 512th '[' is too deep. */
  tl_buf t;
  tl_buf_init(&t);
  tl_buf_puts(&t, "{\"a\":");
  for (int i = 0; i < 600; i++) tl_buf_putc(&t, '[');
  readout r;
  read_text(tl_buf_cstr(&t), 10, &r);
  CHECK_INT(r.rc, TL_EFORMAT);
  CHECK_STR(r.msg, "t.json: line 1, column 517: invalid JSON: nesting deeper than 512 levels");
  tl_buf_free(&r.text);

  /* AnyValue nesting: 32 arrays inside an attribute value are fine, 33 not. */
  for (int depth = 32; depth <= 33; depth++) {
    tl_buf_reset(&t);
    tl_buf_puts(&t, SPAN_DOC(",\"attributes\":[{\"key\":\"k\",\"value\":"));
    t.n -= strlen("}]}]}]}"); /* reopen the span object */
    for (int i = 0; i < depth; i++) tl_buf_puts(&t, "{\"arrayValue\":{\"values\":[");
    tl_buf_puts(&t, "{}");
    for (int i = 0; i < depth; i++) tl_buf_puts(&t, "]}}");
    tl_buf_puts(&t, "}]}]}]}]}");
    read_text(tl_buf_cstr(&t), 10, &r);
    if (depth == 32) {
      CHECK_INT(r.rc, TL_DONE);
      CHECK_INT(r.spans, 1);
    } else {
      CHECK_INT(r.rc, TL_ERANGE);
      CHECK_STR(r.msg, "t.json: line 1: resourceSpans[0].scopeSpans[0].spans[0].attributes[0]."
                       "value...values[0].arrayValue.values[0].arrayValue.values[0].arrayValue."
                       "values[0].arrayValue.values[0].arrayValue.values[0].arrayValue.values[0]."
                       "arrayValue.values[0].arrayValue: nested deeper than 32 arrays and kvlists");
    }
    tl_buf_free(&r.text);
  }
  tl_buf_free(&t);
}

/* ---- the real files -------------------------------------------------------------------- */

/* One span per file, every value copied by hand from the file (ids as the
** file writes them: hex, or base64 for Tempo's files). */
typedef struct file_case {
  const char *path;
  size_t spans, pick;
  const char *trace_id, *span_id, *parent; /* parent NULL: a root */
  const char *name;
  int kind, status;
  uint64_t start, end;
  uint32_t flags, n_attrs, n_events, n_links;
  const char *attr_key, *attr_value;     /* one attribute, as canonical AnyValue */
  uint64_t ev0_time;                     /* first event */
  const char *ev0_name;
  const char *link0_span, *trace_state;
  const char *service, *scope_name, *scope_version;
} file_case;

static const file_case files[] = {
    {"jaeger/example_trace.json", 5, 0, "00000000000000000000000000000011", "0000000000000004", NULL,
     "example-operation-2", 0, 0, 1485449191639875000u, 1485449191639975000u, 0, 0, 2, 0, NULL, NULL,
     1485449191639875000u, NULL, NULL, NULL, "example-service-2", NULL, NULL},
    {"jaeger/otel_traces_01.json", 4, 0, "00000000000000010000000000000000", "0000000000000002",
     "0000000000000003", "test-general-conversion-2", 2, 2, 1485467191639875000u,
     1485467191639880000u, 1, 4, 2, 2, "blob", "{\"bytesValue\":\"AAAwOQ==\"}", 1485467191639875000u,
     "testing-event", "0000000000000004", "state.2", "service-x", "testing-library-2", "1.1.1"},
    {"jaeger/skills/error_timeout_masked.json", 26, 4, "3e241b731fcf87976a3d50f5a7cc4d94",
     "247a43490cfe60cd", "3e77d7cad1306af6", "POST", 2, 2, 1786060425606622000u, 1786060440608084000u,
     0, 18, 0, 0, "error", "{\"stringValue\":\"true\"}", 0, NULL, NULL, NULL, "frontend-proxy", NULL,
     NULL},
    {"jaeger/skills/n_plus_one_full_concurrent.json", 40, 0, "1a4e4a7b270e9f2a0f716e3ee115218a",
     "1a6b421c38807f84", "72bc23154c387b1f", "GET /customer", 2, 0, 1787132404505251740u,
     1787132404787863086u, 769, 13, 2, 0, "http.response.body.size", "{\"intValue\":\"60\"}",
     1787132404505270920u, "HTTP request received", NULL, NULL, "customer", NULL, NULL},
    {"jaeger/skills/n_plus_one_full_serial.json", 40, 0, "fe65c5beefbe4e96119efbba3da07e99",
     "f6e63a82f4597e0e", "f7cf0c8385e66ace", "driver.DriverService/FindNearest", 2, 0,
     1787132458952894897u, 1787132459196379005u, 769, 5, 5, 0, "rpc.system.name",
     "{\"stringValue\":\"grpc\"}", 1787132459019652095u, "Retrying GetDriver after error", NULL, NULL,
     "driver", NULL, NULL},
    {"jaeger/skills/n_plus_one_near_miss.json", 12, 0, "66371dd0eafc70e48e4234803fe94d41",
     "f3b8606bd90ad122", NULL, "GET /dispatch", 2, 0, 1786057566544612019u, 1786057568268172213u, 257,
     13, 17, 0, "client.address", "{\"stringValue\":\"172.29.0.1\"}", 1786057568268146164u,
     "Dispatch successful", NULL, NULL, "frontend",
     "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", "0.69.0"},
    {"jaeger/skills/n_plus_one_positive.json", 16, 0, "ea6db5d7b317ca1a5e2c4e0e7cea53ce",
     "be56eec6f3678130", "e24459008a1488f2", "driver.DriverService/FindNearest", 2, 0,
     1786057568475144853u, 1786057568687066857u, 769, 5, 5, 0, "rpc.response.status_code",
     "{\"stringValue\":\"OK\"}", 1786057568523055032u, "Retrying GetDriver after error", NULL, NULL,
     "driver", "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
     "0.69.0"},
    {"jaeger-ui/getTrace-response.json", 40, 11, "2ea75461946a7dd10f2c15ab36a076cb",
     "c8d93156b47cd010", NULL, "GET /dispatch", 2, 0, 1782036644630407050u, 1782036645333015327u,
     257, 13, 17, 0, "http.request.method", "{\"stringValue\":\"GET\"}", 1782036645332989516u,
     "Dispatch successful", NULL, NULL, "frontend",
     "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", "0.69.0"},
    {"jaeger-ui/otlp2jaeger-multi-in-combined.json", 4, 3, "c620759e5d60fafb8ee0922b30e06bc6",
     "eff3153be6b1fb93", NULL, "main", 1, 0, 1711138246940000000u, 1711138247116321958u, 0, 0, 0,
     0, NULL, NULL, 0, NULL, NULL, NULL, "example-trace", "widgets", "1.2.3"},
    {"tempo/legacy-batches/test-sample.json", 17, 1, "AAAAAAAAAABbdZuWJO/uiw==", "d5ZXpoG4mUc=",
     "W3WbliTv7os=", "HTTP POST", 3, 2, 1626717503329568000u, 1626717505829568000u, 0, 6, 10, 0,
     "http.status_code", "{\"intValue\":\"302\"}", 1626717505784725000u, NULL, NULL, NULL, "lb", NULL,
     NULL},
    {"tempo/trace-with-expired-edges.json", 5, 0, "QpC1h3qZMN55u0KDZTmOzA==", "2gZXnld4dYc=", NULL,
     "server-root", 2, 1, 1658320854877522688u, 1658320854923357184u, 0, 0, 0, 0, NULL, NULL, 0, NULL,
     NULL, NULL, "mythical-server", NULL, NULL},
    {"tempo/trace-with-failed-requests.json", 15, 0, "6Lbf+fjUSyjxsivDvS9naA==", "kAf+pIRVStc=", NULL,
     "requester", 3, 2, 1658325672496201216u, 1658325672511518720u, 0, 1, 0, 0, "beast",
     "{\"stringValue\":\"illithid\"}", 0, NULL, NULL, NULL, "mythical-requester", "mythical-requester",
     NULL},
    {"tempo/trace-with-queue-database.json", 19, 0, "QpC1h3qZMN55u0KDZTmOzA==", "1gZXnld4dYc=", NULL,
     "requester", 3, 1, 1658320854877522688u, 1658320854923357184u, 0, 2, 0, 0, "god",
     "{\"stringValue\":\"ares\"}", 0, NULL, NULL, NULL, "mythical-requester", "mythical-requester",
     NULL},
    {"tempo/trace-with-virtual-nodes.json", 3, 0, "QpC1h3qZMN55u0KDZTmOzA==", "1gZXnld4dYc=", NULL,
     "requester", 2, 1, 1658320854877522688u, 1658320854923357184u, 0, 1, 0, 0, "beast",
     "{\"stringValue\":\"manticore\"}", 0, NULL, NULL, NULL, "mythical-server", "mythical-server",
     NULL},
    {"tempo/vulture/trace.json", 6, 0, "MUkZX/sL7AU0e0jv6OzBsA==", "SyPeJdH7ZkE=", NULL, "vulture-68",
     0, 0, 1636729665000000000u, 1636729665000092000u, 0, 10, 4, 0, "vulture-1",
     "{\"stringValue\":\"faaortSAtLt\"}", 1636729665000000000u, NULL, NULL, NULL, "tempo-vulture",
     NULL, NULL},
};

/* An id compared with the file's text: hex (any case) or base64. */
static void check_id(const uint8_t *id, size_t n, const char *want, const char *what) {
  tl_buf b;
  tl_buf_init(&b);
  if (strlen(want) == 2 * n)
    tl_buf_hex(&b, id, n);
  else
    tl_buf_base64(&b, id, n);
  if (strcmp(tl_buf_cstr(&b), want) != 0) UNIT_FAIL("%s: %s, expected %s", what, b.p, want);
  tl_buf_free(&b);
}

static void check_str(tl_str s, const char *want, const char *what) {
  if (!want) want = "";
  if (s.len != strlen(want) || (s.len && memcmp(s.ptr, want, s.len) != 0))
    UNIT_FAIL("%s: \"%.*s\", expected \"%s\"", what, (int)s.len, s.ptr ? s.ptr : "", want);
}

static void check_span(const file_case *c, const tl_span *s) {
  check_id(s->trace_id, 16, c->trace_id, "trace_id");
  check_id(s->span_id, 8, c->span_id, "span_id");
  if (c->parent)
    check_id(s->parent_span_id, 8, c->parent, "parent_span_id");
  else
    CHECK(tl_span_is_root(s));
  check_str(s->name, c->name, "name");
  CHECK_INT(s->kind, c->kind);
  CHECK_INT(s->status_code, c->status);
  CHECK(s->start_ns == c->start);
  CHECK(s->end_ns == c->end);
  CHECK_INT(s->flags, c->flags);
  CHECK_INT(s->attrs.n, c->n_attrs);
  CHECK_INT(s->n_events, c->n_events);
  CHECK_INT(s->n_links, c->n_links);
  check_str(s->trace_state, c->trace_state, "trace_state");
  check_str(s->resource->service, c->service, "service");
  check_str(s->scope->name, c->scope_name, "scope name");
  check_str(s->scope->version, c->scope_version, "scope version");
  if (c->attr_key) {
    const tl_value *v = tl_attrs_get(&s->attrs, c->attr_key);
    CHECK(v != NULL);
    if (v) {
      tl_buf b;
      tl_buf_init(&b);
      tl_otlp_write_value(&b, v);
      CHECK_STR(tl_buf_cstr(&b), c->attr_value);
      tl_buf_free(&b);
    }
  }
  if (c->n_events) {
    CHECK(s->events[0].time_ns == c->ev0_time);
    check_str(s->events[0].name, c->ev0_name, "event name");
  }
  if (c->link0_span) check_id(s->links[0].span_id, 8, c->link0_span, "link span_id");
}

TEST(real_files) {
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    const file_case *c = &files[f];
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", UNIT_TRACES_DIR, c->path);
    tl_err e = {0};
    tl_input *in = NULL;
    void *st = NULL;
    if (tl_input_open_file(&in, path, &e) || tl_otlp_reader.open(in, &st, &e)) {
      UNIT_FAIL("%s: %.300s", c->path, e.msg);
      tl_input_close(in);
      continue;
    }
    tl_batch *b = tl_batch_new();
    int rc = tl_otlp_reader.next(st, b, 100000, &e);
    if (rc != TL_DONE) UNIT_FAIL("%s: rc %d: %.300s", c->path, rc, e.msg);
    if (tl_batch_count(b) != c->spans)
      UNIT_FAIL("%s: %zu spans, expected %zu", c->path, tl_batch_count(b), c->spans);
    else
      check_span(c, tl_batch_span(b, c->pick));
    tl_otlp_reader.close(st);
    tl_input_close(in);
    tl_batch_free(b);

    /* read -> write -> read -> write gives the same text, in batches of 7. */
    CHECK_INT(tl_input_open_file(&in, path, &e), TL_OK);
    readout r1, r2;
    read_input(in, 7, &r1);
    CHECK_INT(r1.rc, TL_DONE);
    CHECK_INT(r1.spans, c->spans);
    read_text(r1.text.p, 3, &r2);
    CHECK_INT(r2.rc, TL_DONE);
    CHECK_STR(r2.text.p, r1.text.p);
    tl_buf_free(&r1.text);
    tl_buf_free(&r2.text);
  }
}

int main(void) {
  RUN(write_minimal_span_omits_defaults);
  RUN(write_values_exact);
  RUN(write_depth_limit);
  RUN(golden_all_types);
  RUN(ids_hex_and_base64_give_one_line);
  RUN(enums_and_number_forms);
  RUN(shapes_ndjson_document_and_wrappers);
  RUN(long_first_line);
  RUN(batching_and_shared_resources);
  RUN(error_takes_back_the_request_and_sticks);
  RUN(malformed_exact_messages);
  RUN(malformed_document_line_numbers);
  RUN(malformed_nesting);
  RUN(real_files);
  return UNIT_DONE();
}
