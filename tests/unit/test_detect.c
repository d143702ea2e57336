/*
** test_detect.c — format detection (ext/io/reader.c): the detected format
** of EVERY file under the shared traces folder (as SOURCES.md describes
** each), the refusal of metadata files, format names, and small crafted
** inputs for each rule of the detector.
*/
#include "../../ext/io/reader.h"
#include "unit.h"

#include <dirent.h>
#include <stdlib.h>
#include <zlib.h>

/* The JSON files of ../shared/traces and their format per SOURCES.md;
** TL_FMT_AUTO marks metadata that must be refused.  Nezha's *_trace.csv
** and *_trace.csv.zst files are CSV by rule (93 of them). */
static const struct {
  const char *path;
  tl_format fmt;
} expected[] = {
    {"apm-server/batch_0.json", TL_FMT_JAEGER},
    {"apm-server/batch_1.json", TL_FMT_JAEGER},
    {"jaeger-analytics-java/ui-trace.json", TL_FMT_JAEGER},
    {"jaeger-ui/TraceCriticalPath/testTrace.json", TL_FMT_JAEGER},
    {"jaeger-ui/TraceFlamegraph/testTrace.json", TL_FMT_JAEGER},
    {"jaeger-ui/TraceGraph/testTrace.json", TL_FMT_JAEGER},
    {"jaeger-ui/TraceStatistics/spanAmongEachOtherGroupedAndSpans.json", TL_FMT_JAEGER},
    {"jaeger-ui/TraceStatistics/traceWithOverlappingChildrenLongerThanParent.json", TL_FMT_JAEGER},
    {"jaeger-ui/TraceStatistics/traceWithSingleChildLongerThanParentAndStartsAfterParent.json",
     TL_FMT_JAEGER},
    {"jaeger-ui/getTrace-response.json", TL_FMT_OTLP},
    {"jaeger-ui/otlp2jaeger-multi-in-combined.json", TL_FMT_OTLP},
    {"jaeger-ui/otlp2jaeger-out.json", TL_FMT_JAEGER},
    {"jaeger/example_trace.json", TL_FMT_OTLP},
    {"jaeger/legacy-model/example_trace.json", TL_FMT_JAEGER},
    {"jaeger/otel_traces_01.json", TL_FMT_OTLP},
    {"jaeger/skills/error_timeout_masked.json", TL_FMT_OTLP},
    {"jaeger/skills/error_timeout_masked.manifest.json", TL_FMT_AUTO},
    {"jaeger/skills/n_plus_one_full_concurrent.json", TL_FMT_OTLP},
    {"jaeger/skills/n_plus_one_full_concurrent.manifest.json", TL_FMT_AUTO},
    {"jaeger/skills/n_plus_one_full_serial.json", TL_FMT_OTLP},
    {"jaeger/skills/n_plus_one_full_serial.manifest.json", TL_FMT_AUTO},
    {"jaeger/skills/n_plus_one_near_miss.json", TL_FMT_OTLP},
    {"jaeger/skills/n_plus_one_near_miss.manifest.json", TL_FMT_AUTO},
    {"jaeger/skills/n_plus_one_positive.json", TL_FMT_OTLP},
    {"jaeger/skills/n_plus_one_positive.manifest.json", TL_FMT_AUTO},
    {"jaeger/trace_success.json", TL_FMT_JAEGER},
    {"jaeger/ui_01.json", TL_FMT_JAEGER},
    {"jaeger/zipkin/zipkin_03.json", TL_FMT_ZIPKIN},
    {"jaeger/zipkin/zipkin_v1_merged_spans.json", TL_FMT_ZIPKIN},
    {"jaeger/zipkin/zipkin_v2_01.json", TL_FMT_ZIPKIN},
    {"jaeger/zipkin/zipkin_v2_02.json", TL_FMT_ZIPKIN},
    {"nezha/rca_data/2022-08-22/2022-08-22-fault_list.json", TL_FMT_AUTO},
    {"nezha/rca_data/2023-01-29/2023-01-29-fault_list.json", TL_FMT_AUTO},
    {"tempo/legacy-batches/test-sample.json", TL_FMT_OTLP},
    {"tempo/trace-with-expired-edges.json", TL_FMT_OTLP},
    {"tempo/trace-with-failed-requests.json", TL_FMT_OTLP},
    {"tempo/trace-with-queue-database.json", TL_FMT_OTLP},
    {"tempo/trace-with-virtual-nodes.json", TL_FMT_OTLP},
    {"tempo/vulture/trace.json", TL_FMT_OTLP},
    {"zipkin/ascend.json", TL_FMT_ZIPKIN},
    {"zipkin/envoy.json", TL_FMT_ZIPKIN},
    {"zipkin/malformed.json", TL_FMT_ZIPKIN},
    {"zipkin/messaging-kafka.json", TL_FMT_ZIPKIN},
    {"zipkin/messaging.json", TL_FMT_ZIPKIN},
    {"zipkin/messaging2.json", TL_FMT_ZIPKIN},
    {"zipkin/simple-db-p6.json", TL_FMT_ZIPKIN},
    {"zipkin/skew.json", TL_FMT_ZIPKIN},
    {"zipkin/smartthings-mobile-web-install.json", TL_FMT_ZIPKIN},
    {"zipkin/smartthings-oauth-authorization.json", TL_FMT_ZIPKIN},
    {"zipkin/yelp.json", TL_FMT_ZIPKIN},
};
#define N_EXPECTED (sizeof expected / sizeof expected[0])

typedef struct walk {
  size_t files, csv, json;
  int seen[N_EXPECTED];
} walk;

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void check_file(walk *w, const char *root, const char *rel) {
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", root, rel) >= sizeof path) return;
  tl_format want = TL_FMT_CSV;
  int known = 0;
  if (strncmp(rel, "nezha/", 6) == 0 &&
      (ends_with(rel, "_trace.csv") || ends_with(rel, "_trace.csv.zst"))) {
    known = 1;
    w->csv++;
  }
  for (size_t i = 0; i < N_EXPECTED && !known; i++)
    if (strcmp(rel, expected[i].path) == 0) {
      known = 1;
      want = expected[i].fmt;
      w->seen[i]++;
      w->json++;
    }
  if (!known) {
    UNIT_FAIL("%.300s: a file the test does not know (add it to expected[])", rel);
    return;
  }
  w->files++;
  tl_input *in;
  tl_err e = {0};
  tl_format got = TL_FMT_AUTO;
  if (tl_input_open_file(&in, path, &e)) {
    UNIT_FAIL("%.400s", e.msg);
    return;
  }
  int rc = tl_detect_format(in, &got, &e);
  tl_input_close(in);
  if (want == TL_FMT_AUTO) {
    char msg[4200];
    snprintf(msg, sizeof msg, "cannot detect the trace format of %s: ", path);
    if (rc != TL_EFORMAT || strncmp(e.msg, msg, strlen(msg)) != 0)
      UNIT_FAIL("%.200s: rc %d \"%.200s\", expected a detection failure", rel, rc, e.msg);
  } else if (rc != TL_OK || got != want) {
    UNIT_FAIL("%.200s: detected %s (%.200s), expected %s", rel,
              rc ? "nothing" : tl_format_name(got), e.msg, tl_format_name(want));
  }
}

static void walk_dir(walk *w, const char *root, const char *rel) {
  char dir[4096];
  if ((size_t)snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel) >= sizeof dir)
    return;
  DIR *d = opendir(dir);
  if (!d) {
    UNIT_FAIL("cannot open %.400s", dir);
    return;
  }
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char sub[4096];
    if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name) >=
        sizeof sub)
      continue;
    if (de->d_type == DT_DIR)
      walk_dir(w, root, sub);
    else if (strcmp(sub, "SOURCES.md") != 0) /* the folder's README, not a trace */
      check_file(w, root, sub);
  }
  closedir(d);
}

TEST(every_shared_file) {
  walk w;
  memset(&w, 0, sizeof w);
  walk_dir(&w, UNIT_TRACES_DIR, "");
  CHECK_INT(w.csv, 93);
  CHECK_INT(w.json, N_EXPECTED);
  CHECK_INT(w.files, 93 + N_EXPECTED);
  for (size_t i = 0; i < N_EXPECTED; i++)
    if (w.seen[i] != 1) UNIT_FAIL("%s: not found", expected[i].path);
}

TEST(format_names) {
  CHECK_STR(tl_format_name(TL_FMT_AUTO), "auto");
  CHECK_STR(tl_format_name(TL_FMT_OTLP), "otlp");
  CHECK_STR(tl_format_name(TL_FMT_JAEGER), "jaeger");
  CHECK_STR(tl_format_name(TL_FMT_ZIPKIN), "zipkin");
  CHECK_STR(tl_format_name(TL_FMT_CSV), "csv");
  CHECK(tl_format_name((tl_format)5) == NULL);
  CHECK_INT(tl_format_parse("auto"), TL_FMT_AUTO);
  CHECK_INT(tl_format_parse("OTLP"), TL_FMT_OTLP);
  CHECK_INT(tl_format_parse("jaeger"), TL_FMT_JAEGER);
  CHECK_INT(tl_format_parse("Zipkin"), TL_FMT_ZIPKIN);
  CHECK_INT(tl_format_parse("csv"), TL_FMT_CSV);
  CHECK_INT(tl_format_parse("json"), -1);
  CHECK_INT(tl_format_parse(""), -1);
}

/* Detects a text in memory; returns the format or -1 with the message. */
static int detect_mem(const void *p, size_t n, tl_err *e) {
  tl_input *in;
  tl_format f = TL_FMT_AUTO;
  tl_err_clear(e);
  if (tl_input_open_mem(&in, p, n, "m", e)) return -2;
  int rc = tl_detect_format(in, &f, e);
  tl_input_close(in);
  return rc ? -1 : (int)f;
}

#define DETECT(s, e) detect_mem(s, strlen(s), e)

TEST(rules) {
  tl_err e;
  /* CSV: anything not starting with '{' or '[' (after whitespace). */
  CHECK_INT(DETECT("TraceID,SpanID\n", &e), TL_FMT_CSV);
  CHECK_INT(DETECT("  \n\ttrace_id\n", &e), TL_FMT_CSV);
  CHECK_INT(DETECT("\xEF\xBB\xBF{\"resourceSpans\":[]}", &e), TL_FMT_OTLP);
  /* OTLP keys, NDJSON, snake_case, legacy batches. */
  CHECK_INT(DETECT("{\"resourceSpans\":[]}\n{\"resourceSpans\":[]}\n", &e), TL_FMT_OTLP);
  CHECK_INT(DETECT("{\"resource_spans\":[]}", &e), TL_FMT_OTLP);
  CHECK_INT(DETECT("{\"batches\":[{\"resource\":{},\"instrumentationLibrarySpans\":[]}]}", &e),
            TL_FMT_OTLP);
  CHECK_INT(DETECT("{\"result\":{\"resourceSpans\":[]}}", &e), TL_FMT_OTLP);
  /* Jaeger: UI keys, api_v2 camelCase with base64 ids, snake_case batch. */
  CHECK_INT(DETECT("{\"data\":[{\"traceID\":\"1\"}]}", &e), TL_FMT_JAEGER);
  CHECK_INT(DETECT("{\"spans\":[{\"traceId\":\"AAAAAAAAAAAAAAAAAAAAEQ==\",\"spanId\":"
                   "\"AAAAAAAAAAM=\",\"operationName\":\"x\"}]}", &e),
            TL_FMT_JAEGER);
  CHECK_INT(DETECT("{\"batch\":{\"spans\":[{\"trace_id\":\"AA==\",\"operation_name\":\"x\"}]}}", &e),
            TL_FMT_JAEGER);
  /* Zipkin: endpoints, or traceId + id without spanId. */
  CHECK_INT(DETECT("[{\"traceId\":\"1\",\"id\":\"2\",\"localEndpoint\":{}}]", &e), TL_FMT_ZIPKIN);
  CHECK_INT(DETECT("[{\"traceId\":\"1\",\"id\":\"2\",\"name\":\"x\"}]", &e), TL_FMT_ZIPKIN);
  /* ... but traceId + spanId + id is not Zipkin. */
  CHECK_INT(DETECT("[{\"traceId\":\"1\",\"spanId\":\"2\",\"id\":\"3\"}]", &e), -1);
  /* Free-form Zipkin tags do not mislead: "process" inside tags is a tag. */
  CHECK_INT(DETECT("[{\"tags\":{\"process\":\"x\",\"a\":{\"operationName\":1}},\"traceId\":\"1\","
                   "\"id\":\"2\"}]", &e),
            TL_FMT_ZIPKIN);
  /* Keys are keys: a value that spells a key decides nothing. */
  CHECK_INT(DETECT("{\"note\":\"resourceSpans\",\"x\":[\"traceID\"]}", &e), -1);
  CHECK_STR(e.msg, "cannot detect the trace format of m: no OTLP, Jaeger or Zipkin span keys in "
                   "the first 40 bytes (name the format: otlp, jaeger, zipkin or csv)");
  /* Escaped quotes inside strings. */
  CHECK_INT(DETECT("{\"a\\\"\":\"x\\\\\",\"traceID\":1}", &e), TL_FMT_JAEGER);
  /* Empty or blank input. */
  CHECK_INT(DETECT("", &e), -1);
  CHECK_STR(e.msg, "cannot detect the trace format of m: the input is empty");
  CHECK_INT(DETECT(" \n\r\n", &e), -1);
  CHECK_STR(e.msg, "cannot detect the trace format of m: the input is empty");
  /* Cut short: a key never finished. */
  CHECK_INT(DETECT("{\"resourceSp", &e), -1);
  /* Deeper than the detector tracks. */
  char deep[200];
  memset(deep, '[', sizeof deep - 1);
  deep[sizeof deep - 1] = 0;
  CHECK_INT(DETECT(deep, &e), -1);
}

/* A decision after the first 64 KiB is found by looking further (up to
** 1 MiB); gzip input is detected after decompression. */
TEST(far_key_and_gzip) {
  size_t pad = 200 * 1024;
  char *t = malloc(pad + 100);
  size_t n = (size_t)sprintf(t, "{\"x\":\"");
  memset(t + n, 'a', pad);
  n += pad;
  n += (size_t)sprintf(t + n, "\",\"resourceSpans\":[]}");
  tl_err e;
  CHECK_INT(detect_mem(t, n, &e), TL_FMT_OTLP);

  uLongf zn = compressBound((uLong)n) + 64;
  unsigned char *z = malloc(zn);
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  zs.next_in = (Bytef *)t;
  zs.avail_in = (uInt)n;
  zs.next_out = z;
  zs.avail_out = (uInt)zn;
  CHECK_INT(deflate(&zs, Z_FINISH), Z_STREAM_END);
  CHECK_INT(detect_mem(z, zs.total_out, &e), TL_FMT_OTLP);
  deflateEnd(&zs);

  /* Past 1 MiB nothing more is looked at. */
  char *big = malloc(2 * 1024 * 1024);
  n = (size_t)sprintf(big, "{\"x\":\"");
  memset(big + n, 'a', 1024 * 1024 + 10);
  n += 1024 * 1024 + 10;
  n += (size_t)sprintf(big + n, "\",\"resourceSpans\":[]}");
  CHECK_INT(detect_mem(big, n, &e), -1);
  CHECK_STR(e.msg, "cannot detect the trace format of m: no OTLP, Jaeger or Zipkin span keys in "
                   "the first 1048576 bytes (name the format: otlp, jaeger, zipkin or csv)");
  free(big);
  free(z);
  free(t);
}

/* tl_reader_open: a detection failure closes the input (ASan would report
** a leak otherwise), and a forced format skips detection. */
TEST(reader_open) {
  tl_input *in;
  tl_reader *r = (tl_reader *)1;
  tl_err e = {0};
  CHECK_INT(tl_input_open_mem(&in, "{\"a\":1}", 7, "x.json", &e), TL_OK);
  CHECK_INT(tl_reader_open(&r, in, TL_FMT_AUTO, &e), TL_EFORMAT);
  CHECK(r == NULL);
  CHECK(strncmp(e.msg, "cannot detect the trace format of x.json: ", 42) == 0);

  const char *csv = "TraceID,SpanID,start_ns,end_ns\n1,2,3,4\n";
  tl_err_clear(&e);
  CHECK_INT(tl_input_open_mem(&in, csv, strlen(csv), "y.csv", &e), TL_OK);
  CHECK_INT(tl_reader_open(&r, in, TL_FMT_AUTO, &e), TL_OK);
  CHECK_INT(tl_reader_format(r), TL_FMT_CSV);
  tl_batch *b = tl_batch_new();
  CHECK_INT(tl_reader_next(r, b, 10, &e), TL_DONE);
  CHECK_INT(tl_batch_count(b), 1);
  CHECK_INT(tl_reader_next(r, b, 10, &e), TL_DONE);
  CHECK_INT(tl_batch_count(b), 1);
  tl_reader_close(r);
  tl_batch_free(b);

  /* Forced CSV on JSON: the CSV reader's own error. */
  tl_err_clear(&e);
  CHECK_INT(tl_input_open_mem(&in, "{\"a\":1}", 7, "z.json", &e), TL_OK);
  CHECK_INT(tl_reader_open(&r, in, TL_FMT_CSV, &e), TL_EFORMAT);
  CHECK_STR(e.msg, "z.json: no trace id column (TraceID, trace_id, traceId) in the header");

  tl_err_clear(&e);
  CHECK_INT(tl_input_open_mem(&in, "", 0, "w", &e), TL_OK);
  CHECK_INT(tl_reader_open(&r, in, (tl_format)9, &e), TL_EMISUSE);
  CHECK_STR(e.msg, "unknown trace format 9");
}

int main(void) {
  RUN(every_shared_file);
  RUN(format_names);
  RUN(rules);
  RUN(far_key_and_gzip);
  RUN(reader_open);
  return UNIT_DONE();
}
