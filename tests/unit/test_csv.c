/*
** test_csv.c — the CSV span-table reader (ext/io/csv_read.c): exact counts
** on the real Nezha files, one span checked field by field, pod-name
** stripping, the duration unit, column aliases and units, quoting,
** duplicate rows and their bounded memory, and the exact message of each
** malformed input.
*/
#include "../../ext/common/buf.h"
#include "../../ext/io/reader.h"
#include "unit.h"

#include <dirent.h>
#include <stdlib.h>

/* ---- helpers ---------------------------------------------------------------- */

static tl_reader *open_csv_mem(const char *text, tl_err *e) {
  tl_input *in;
  tl_reader *r = NULL;
  if (tl_input_open_mem(&in, text, strlen(text), "t.csv", e)) return NULL;
  tl_reader_open(&r, in, TL_FMT_CSV, e);
  return r;
}

static tl_reader *open_csv_file(const char *path, tl_err *e) {
  tl_input *in;
  tl_reader *r = NULL;
  if (tl_input_open_file(&in, path, e)) return NULL;
  tl_reader_open(&r, in, TL_FMT_CSV, e);
  return r;
}

/* Reads everything into b (never reset); returns the last code. */
static int read_all(tl_reader *r, tl_batch *b, size_t max, tl_err *e) {
  int rc;
  while ((rc = tl_reader_next(r, b, max, e)) == TL_OK) {
  }
  return rc;
}

/* The error of a whole in-memory CSV text, opened and read. */
static const char *csv_error(const char *text, tl_err *e) {
  tl_err_clear(e);
  tl_reader *r = open_csv_mem(text, e);
  if (r) {
    tl_batch *b = tl_batch_new();
    read_all(r, b, 100, e);
    tl_batch_free(b);
    tl_reader_close(r);
  }
  return e->msg;
}

static void hex(const uint8_t *p, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", p[i]);
}

#define CHECK_HEX(id, want)                                                     \
  do {                                                                          \
    char unit_h[40];                                                            \
    hex(id, sizeof(id), unit_h);                                                \
    CHECK_STR(unit_h, want);                                                    \
  } while (0)

static const char *attr_str(const tl_attrs *a, const char *key) {
  const tl_value *v = tl_attrs_get(a, key);
  return v && v->type == TL_V_STRING ? v->u.s.ptr : NULL;
}

static char *traces_path(const char *rel) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s", UNIT_TRACES_DIR, rel);
  return buf;
}

/* ---- the real files -------------------------------------------------------------- */

/* Distinct strings, for counting services, pods and operations. */
typedef struct strset {
  char **items;
  size_t n;
} strset;

static void strset_add(strset *s, const char *p, size_t n) {
  for (size_t i = 0; i < s->n; i++)
    if (strlen(s->items[i]) == n && memcmp(s->items[i], p, n) == 0) return;
  s->items = realloc(s->items, (s->n + 1) * sizeof *s->items);
  s->items[s->n] = strndup(p, n);
  s->n++;
}

static void strset_free(strset *s) {
  for (size_t i = 0; i < s->n; i++) free(s->items[i]);
  free(s->items);
}

static int cmp16(const void *a, const void *b) { return memcmp(a, b, 16); }

typedef struct file_stats {
  size_t spans, traces, roots, services, pods, ops;
  uint64_t sum_dur, min_start, max_end;
} file_stats;

/* Reads a file in batches of 1000 (reset in between) and sums it up; also
** checks that spans of one pod share one resource within each batch. */
static int stats_of(const char *rel, file_stats *st, tl_err *e) {
  memset(st, 0, sizeof *st);
  st->min_start = UINT64_MAX;
  tl_reader *r = open_csv_file(traces_path(rel), e);
  if (!r) return e->rc;
  tl_batch *b = tl_batch_new();
  strset svcs = {0}, pods = {0}, ops = {0};
  uint8_t(*traces)[16] = NULL;
  int rc;
  do {
    rc = tl_reader_next(r, b, 1000, e);
    if (rc < 0) break;
    size_t n = tl_batch_count(b);
    traces = realloc(traces, (st->spans + n) * 16);
    for (size_t i = 0; i < n; i++) {
      const tl_span *s = tl_batch_span(b, i);
      memcpy(traces[st->spans + i], s->trace_id, 16);
      st->roots += tl_span_is_root(s);
      strset_add(&svcs, s->resource->service.ptr, s->resource->service.len);
      const char *pod = attr_str(&s->resource->attrs, "k8s.pod.name");
      strset_add(&pods, pod ? pod : "", pod ? strlen(pod) : 0);
      strset_add(&ops, s->name.ptr, s->name.len);
      st->sum_dur += s->end_ns - s->start_ns;
      if (s->start_ns < st->min_start) st->min_start = s->start_ns;
      if (s->end_ns > st->max_end) st->max_end = s->end_ns;
      for (size_t j = 0; j < i; j++) {
        const tl_span *o = tl_batch_span(b, j);
        if (o->resource == s->resource) break;
        if (attr_str(&o->resource->attrs, "k8s.pod.name") == pod) {
          UNIT_FAIL("%s: pod %s has two resources in one batch", rel, pod);
          break;
        }
      }
    }
    st->spans += n;
    tl_batch_reset(b);
  } while (rc == TL_OK);
  qsort(traces, st->spans, 16, cmp16);
  for (size_t i = 0; i < st->spans; i++)
    st->traces += i == 0 || memcmp(traces[i], traces[i - 1], 16) != 0;
  st->services = svcs.n;
  st->pods = pods.n;
  st->ops = ops.n;
  strset_free(&svcs);
  strset_free(&pods);
  strset_free(&ops);
  free(traces);
  tl_batch_free(b);
  tl_reader_close(r);
  return rc < 0 ? rc : TL_OK;
}

/* Expected values computed independently with Debian's /usr/bin/python3:
** split the file into lines, drop lines byte-identical to an earlier one,
** parse each with csv.reader, strip pods with the regex
** ^(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$,
** and count distinct TraceID, ParentID == "root", PodName, services and
** OperationName; sum EndTimeUnixNano - StartTimeUnixNano; min start, max end. */
static const struct {
  const char *file;
  file_stats want;
} nezha_expected[] = {
    {"nezha/construct_data/2022-08-23/17_00_trace.csv",
     {22969, 502, 502, 10, 10, 43, 287048178235u, 1661273967991908975u,
      1661274028196973392u}},
    {"nezha/construct_data/2023-01-29/08_50_trace.csv",
     {4890, 71, 71, 25, 25, 166, 122130319307u, 1674982096478000000u,
      1674982264146893931u}},
    {"nezha/construct_data/2023-01-30/11_39_trace.csv",
     {4595, 62, 62, 28, 28, 200, 109313791593u, 1675078732047000000u,
      1675078791212343349u}},
    /* 6293 rows of which 136 repeat an earlier row exactly. */
    {"nezha/rca_data/2023-01-29/15_44_trace.csv.zst",
     {6157, 96, 96, 28, 28, 199, 235265512293u, 1675006929187000000u,
      1675007047798361132u}},
};

TEST(nezha_counts) {
  for (size_t i = 0; i < sizeof nezha_expected / sizeof nezha_expected[0]; i++) {
    file_stats got;
    tl_err e = {0};
    const file_stats *w = &nezha_expected[i].want;
    if (stats_of(nezha_expected[i].file, &got, &e)) {
      UNIT_FAIL("%s: %.300s", nezha_expected[i].file, e.msg);
      continue;
    }
    CHECK_INT(got.spans, w->spans);
    CHECK_INT(got.traces, w->traces);
    CHECK_INT(got.roots, w->roots);
    CHECK_INT(got.services, w->services);
    CHECK_INT(got.pods, w->pods);
    CHECK_INT(got.ops, w->ops);
    CHECK_INT(got.sum_dur, w->sum_dur);
    CHECK_INT(got.min_start, w->min_start);
    CHECK_INT(got.max_end, w->max_end);
  }
}

/* Every Nezha CSV imports (93 files, plain and zstd). */
static void import_dir(const char *dir, size_t *files, size_t *spans) {
  DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    if (de->d_type == DT_DIR) {
      import_dir(path, files, spans);
      continue;
    }
    if (!strstr(de->d_name, "_trace.csv")) continue;
    tl_err e = {0};
    tl_reader *r = open_csv_file(path, &e);
    tl_batch *b = tl_batch_new();
    int rc = r ? TL_OK : e.rc;
    while (r && (rc = tl_reader_next(r, b, 4096, &e)) >= 0) {
      *spans += tl_batch_count(b);
      tl_batch_reset(b);
      if (rc == TL_DONE) break;
    }
    if (rc < 0) UNIT_FAIL("%.400s", e.msg);
    (*files)++;
    tl_batch_free(b);
    tl_reader_close(r);
  }
  if (d) closedir(d);
}

TEST(nezha_all_files) {
  size_t files = 0, spans = 0;
  import_dir(traces_path("nezha"), &files, &spans);
  CHECK_INT(files, 93);
  /* SOURCES.md: 471,951 spans in 93 files; 136 are exact repeats. */
  CHECK_INT(spans, 471951 - 136);
}

/* File line 67 of 08_50_trace.csv, by hand:
** 950a9e7e1989eda57078d48616555bc3,6c58d5d85825fc68,8914ba7c1c86db6d,
** ts-travel-service-64469b5b48-25zj6,/api/v1/travelservice/trip_detail,
** 1674982178059000000,1674982178167845210,108845 */
TEST(nezha_one_span) {
  tl_err e = {0};
  tl_reader *r = open_csv_file(traces_path("nezha/construct_data/2023-01-29/08_50_trace.csv"), &e);
  CHECK(r != NULL);
  if (!r) return;
  tl_batch *b = tl_batch_new();
  CHECK_INT(read_all(r, b, 100000, &e), TL_DONE);
  CHECK_INT(tl_batch_count(b), 4890);
  const tl_span *s = tl_batch_count(b) > 65 ? tl_batch_span(b, 65) : NULL;
  CHECK(s != NULL);
  if (s) {
    CHECK_HEX(s->trace_id, "950a9e7e1989eda57078d48616555bc3");
    CHECK_HEX(s->span_id, "6c58d5d85825fc68");
    CHECK_HEX(s->parent_span_id, "8914ba7c1c86db6d");
    CHECK_TLSTR(s->name, "/api/v1/travelservice/trip_detail");
    CHECK_INT(s->start_ns, 1674982178059000000u);
    CHECK_INT(s->end_ns, 1674982178167845210u);
    CHECK_INT(s->kind, TL_KIND_UNSPECIFIED);
    CHECK_INT(s->status_code, TL_STATUS_UNSET);
    CHECK_INT(s->status_message.len, 0);
    /* Duration is not kept: the end time says it. */
    CHECK_INT(s->attrs.n, 0);
    CHECK_INT(s->n_events + s->n_links, 0);
    CHECK_TLSTR(s->resource->service, "ts-travel-service");
    CHECK_INT(s->resource->attrs.n, 2);
    CHECK_STR(attr_str(&s->resource->attrs, "service.name"), "ts-travel-service");
    CHECK_STR(attr_str(&s->resource->attrs, "k8s.pod.name"), "ts-travel-service-64469b5b48-25zj6");
    CHECK(s->scope == tl_batch_empty_scope(b));
    /* The next row, same pod, same resource. */
    CHECK(tl_batch_span(b, 66)->resource == s->resource);
  }
  /* The root: ParentID "root". */
  CHECK(tl_span_is_root(tl_batch_span(b, 0)));
  tl_batch_free(b);
  tl_reader_close(r);
}

/* Nezha's Duration is microseconds: with the end column removed, the end
** is start + Duration us, which is the true end truncated to whole us
** (checked on every row of a real file). */
TEST(nezha_duration_unit) {
  tl_err e = {0};
  tl_input *in;
  CHECK_INT(tl_input_open_file(&in, traces_path("nezha/construct_data/2023-01-29/08_50_trace.csv"), &e), TL_OK);
  tl_buf text;
  tl_buf_init(&text);
  const char *line;
  size_t len;
  while (tl_input_line(in, &line, &len, &e) == TL_OK) {
    /* Drop the 7th field (EndTimeUnixNano). */
    const char *p = line;
    for (int k = 0; k < 6; k++) p = memchr(p, ',', len - (size_t)(p - line)) + 1;
    const char *q = memchr(p, ',', len - (size_t)(p - line));
    tl_buf_append(&text, line, (size_t)(p - line));
    tl_buf_append(&text, q + 1, len - (size_t)(q + 1 - line));
    tl_buf_putc(&text, '\n');
  }
  tl_input_close(in);
  tl_reader *full = open_csv_file(traces_path("nezha/construct_data/2023-01-29/08_50_trace.csv"), &e);
  tl_reader *cut = open_csv_mem(tl_buf_cstr(&text), &e);
  tl_batch *bf = tl_batch_new(), *bc = tl_batch_new();
  CHECK_INT(read_all(full, bf, 100000, &e), TL_DONE);
  CHECK_INT(read_all(cut, bc, 100000, &e), TL_DONE);
  CHECK_INT(tl_batch_count(bc), 4890);
  size_t bad = 0;
  for (size_t i = 0; i < tl_batch_count(bc) && i < tl_batch_count(bf); i++) {
    const tl_span *f = tl_batch_span(bf, i), *c = tl_batch_span(bc, i);
    uint64_t want = f->start_ns + (f->end_ns - f->start_ns) / 1000 * 1000;
    bad += c->end_ns != want || c->start_ns != f->start_ns;
    /* The Duration column is not an attribute either way. */
    bad += c->attrs.n != 0;
  }
  CHECK_INT(bad, 0);
  tl_batch_free(bf);
  tl_batch_free(bc);
  tl_reader_close(full);
  tl_reader_close(cut);
  tl_buf_free(&text);
}

/* ---- hand-made fixtures (testdata/csv) ---------------------------------------------- */

TEST(aliases_quotes_crlf_bom) {
  tl_err e = {0};
  tl_reader *r = open_csv_file("testdata/csv/aliases.csv", &e);
  CHECK(r != NULL);
  if (!r) {
    UNIT_FAIL("%.400s", e.msg);
    return;
  }
  tl_batch *b = tl_batch_new();
  CHECK_INT(read_all(r, b, 2, &e), TL_DONE);
  CHECK_INT(tl_batch_count(b), 3);
  const tl_span *a = tl_batch_span(b, 0), *s2 = tl_batch_span(b, 1), *c = tl_batch_span(b, 2);
  if (!a || !s2 || !c) goto out;
  /* Ids shorter than 32/16 digits are left-padded. */
  CHECK_HEX(a->trace_id, "00000000000000000000000000000002");
  CHECK_HEX(a->span_id, "000000000000000a");
  CHECK(tl_span_is_root(a));
  CHECK_TLSTR(a->name, "POST /checkout");
  CHECK_INT(a->start_ns, 1700000000000000000u);
  CHECK_INT(a->end_ns, 1700000000250000000u);
  CHECK_INT(a->kind, TL_KIND_SERVER);
  CHECK_INT(a->status_code, TL_STATUS_OK);
  /* A service column wins over the pod, which is kept as an attribute. */
  CHECK_TLSTR(a->resource->service, "checkout");
  CHECK_STR(attr_str(&a->resource->attrs, "k8s.pod.name"), "checkout-7d4b9c6f5-x2x9z");
  /* Unknown columns are attributes; empty cells are not. */
  CHECK_INT(a->attrs.n, 1);
  CHECK_STR(attr_str(&a->attrs, "http.method"), "POST");

  CHECK_HEX(s2->parent_span_id, "000000000000000a");
  CHECK_INT(s2->kind, TL_KIND_CLIENT);
  CHECK_INT(s2->status_code, TL_STATUS_ERROR);
  CHECK_TLSTR(s2->status_message, "card declined, retry");
  CHECK_TLSTR(s2->resource->service, "payments");
  CHECK_INT(s2->resource->attrs.n, 1);
  CHECK_INT(s2->attrs.n, 1);
  CHECK_STR(attr_str(&s2->attrs, "Note"), "said \"no\"");

  /* A quoted field across a CRLF line break; all-zero parent is none. */
  CHECK(tl_span_is_root(c));
  CHECK_TLSTR(c->name, "multi\nline");
  CHECK_INT(c->kind, TL_KIND_CLIENT);
  CHECK_INT(c->status_code, TL_STATUS_UNSET);
  CHECK(c->resource == tl_batch_empty_resource(b));
  CHECK_INT(c->attrs.n, 2);
  CHECK_STR(attr_str(&c->attrs, "Note"), "x");
out:
  tl_batch_free(b);
  tl_reader_close(r);
}

TEST(time_units) {
  tl_err e = {0};
  tl_batch *b = tl_batch_new();
  tl_reader *r = open_csv_file("testdata/csv/units.csv", &e);
  CHECK_INT(read_all(r, b, 10, &e), TL_DONE);
  CHECK_INT(tl_batch_count(b), 1);
  const tl_span *s = tl_batch_span(b, 0);
  if (s) {
    CHECK_INT(s->start_ns, 1700000000123456000u); /* startTime_us */
    CHECK_INT(s->end_ns, 1700000000135956000u);   /* + Duration_ms 12.5 */
    CHECK_TLSTR(s->resource->service, "frontend");
    CHECK_TLSTR(s->name, "GET /");
  }
  tl_reader_close(r);
  tl_batch_reset(b);

  /* StartTime/EndTime without a unit: by magnitude (s, ms, us, ns). */
  r = open_csv_file("testdata/csv/magnitude.csv", &e);
  CHECK_INT(read_all(r, b, 10, &e), TL_DONE);
  CHECK_INT(tl_batch_count(b), 4);
  static const uint64_t want[4][2] = {
      {1700000000000000000u, 1700000001500000000u},
      {1700000000123000000u, 1700000000124000000u},
      {1700000000123456000u, 1700000000123457000u},
      {1700000000123456789u, 1700000000123456790u}};
  for (size_t i = 0; i < 4 && i < tl_batch_count(b); i++) {
    CHECK_INT(tl_batch_span(b, i)->start_ns, want[i][0]);
    CHECK_INT(tl_batch_span(b, i)->end_ns, want[i][1]);
  }
  tl_reader_close(r);
  tl_batch_reset(b);

  /* Nezha's layout without the end column: Duration in microseconds. */
  r = open_csv_file("testdata/csv/duration_us.csv", &e);
  CHECK_INT(read_all(r, b, 10, &e), TL_DONE);
  CHECK_INT(tl_batch_count(b), 2);
  if (tl_batch_count(b) == 2) {
    CHECK_INT(tl_batch_span(b, 0)->end_ns, 1674982159219000000u + 28160000u);
    CHECK_INT(tl_batch_span(b, 1)->end_ns, 1674982159219813595u + 27137000u);
    CHECK_TLSTR(tl_batch_span(b, 0)->resource->service, "ts-gateway-service");
    CHECK(tl_batch_span(b, 0)->resource == tl_batch_span(b, 1)->resource);
  }
  tl_reader_close(r);
  tl_batch_free(b);
}

TEST(pod_names) {
  static const char *const cases[][2] = {
      {"ts-travel-service-64469b5b48-25zj6", "ts-travel-service"},
      {"frontend-579b9bff58-t2dbm", "frontend"},
      {"ts-station-food-service-dc4d75dd-fw6ft", "ts-station-food-service"},
      {"currencyservice-cf787dd48-vpjrd", "currencyservice"},
      /* Not a Deployment pod name: kept whole. */
      {"redis-cart-0", "redis-cart-0"},
      {"web-abcdef12-x2x9z", "web-abcdef12-x2x9z"}, /* vowels: not a hash */
      {"api-5f6585d649-toolong", "api-5f6585d649-toolong"},
      {"a-b", "a-b"},
      {"-579b9bff58-t2dbm", "-579b9bff58-t2dbm"},
      {"single", "single"},
  };
  tl_buf t;
  tl_buf_init(&t);
  tl_buf_puts(&t, "TraceID,SpanID,PodName,StartTimeUnixNano,EndTimeUnixNano\n");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    tl_buf_printf(&t, "1,%zx,%s,1,2\n", i + 1, cases[i][0]);
  tl_err e = {0};
  tl_batch *b = tl_batch_new();
  tl_reader *r = open_csv_mem(tl_buf_cstr(&t), &e);
  CHECK_INT(read_all(r, b, 100, &e), TL_DONE);
  CHECK_INT(tl_batch_count(b), sizeof cases / sizeof cases[0]);
  for (size_t i = 0; i < tl_batch_count(b); i++) {
    CHECK_TLSTR(tl_batch_span(b, i)->resource->service, cases[i][1]);
    CHECK_STR(attr_str(&tl_batch_span(b, i)->resource->attrs, "k8s.pod.name"), cases[i][0]);
  }
  tl_reader_close(r);
  tl_batch_free(b);
  tl_buf_free(&t);
}

TEST(no_parent_spellings) {
  const char *text =
      "TraceID,SpanID,parentSpanId,start_ns,duration_ns\n"
      "1,1,,5,1\n1,2,root,5,1\n1,3,0,5,1\n1,4,-1,5,1\n1,5,0000000000000000,5,1\n"
      "1,6,ROOT,5,1\n1,7,7,5,1\n";
  tl_err e = {0};
  tl_batch *b = tl_batch_new();
  tl_reader *r = open_csv_mem(text, &e);
  CHECK_INT(read_all(r, b, 100, &e), TL_DONE);
  CHECK_INT(tl_batch_count(b), 7);
  for (size_t i = 0; i < 6 && i < tl_batch_count(b); i++) CHECK(tl_span_is_root(tl_batch_span(b, i)));
  if (tl_batch_count(b) == 7) {
    CHECK_HEX(tl_batch_span(b, 6)->parent_span_id, "0000000000000007");
    CHECK_INT(tl_batch_span(b, 6)->end_ns, 6);
  }
  tl_reader_close(r);
  tl_batch_free(b);
}

TEST(duplicates) {
  tl_err e = {0};
  tl_batch *b = tl_batch_new();
  tl_reader *r = open_csv_file("testdata/csv/duplicates.csv", &e);
  CHECK_INT(read_all(r, b, 1, &e), TL_DONE);
  /* Row 3 repeats row 1 exactly: dropped.  Row 4 differs from row 2 in
  ** the last digit of its end time: kept. */
  CHECK_INT(tl_batch_count(b), 3);
  if (tl_batch_count(b) == 3) {
    CHECK_INT(tl_batch_span(b, 1)->end_ns, 1661273974737125575u);
    CHECK_INT(tl_batch_span(b, 2)->end_ns, 1661273974737125576u);
  }
  tl_reader_close(r);
  tl_batch_free(b);
}

/* The duplicate memory is bounded: a repeat of the previous row is
** dropped, a repeat of a row 200,000 records back is not remembered. */
TEST(duplicates_bounded) {
  tl_buf t;
  tl_buf_init(&t);
  tl_buf_puts(&t, "TraceID,SpanID,StartTimeUnixNano,EndTimeUnixNano\n");
  for (unsigned i = 1; i <= 200000; i++) tl_buf_printf(&t, "1,%x,1,2\n", i);
  tl_buf_puts(&t, "1,30d40,1,2\n"); /* record 200000 again: dropped */
  tl_buf_puts(&t, "1,1,1,2\n");     /* record 1 again: forgotten, kept */
  tl_err e = {0};
  tl_batch *b = tl_batch_new();
  tl_reader *r = open_csv_mem(tl_buf_cstr(&t), &e);
  size_t n = 0;
  int rc;
  while ((rc = tl_reader_next(r, b, 50000, &e)) >= 0) {
    n += tl_batch_count(b);
    tl_batch_reset(b);
    if (rc == TL_DONE) break;
  }
  CHECK_INT(rc, TL_DONE);
  CHECK_INT(n, 200001);
  tl_reader_close(r);
  tl_batch_free(b);
  tl_buf_free(&t);
}

/* ---- malformed input: exact messages ------------------------------------------------ */

#define NEZHA_HEADER \
  "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration\n"
#define GOOD_ROW \
  "898fbabdd1894463575af052c4cd7982,233d5101e107e112,root,ts-gateway-service-6f6cfc45b-h5m2n,/*,1674982159219000000,1674982159247160439,28160\n"

TEST(malformed) {
  tl_err e;
  static const char *const cases[][2] = {
      /* truncated line */
      {NEZHA_HEADER GOOD_ROW "898fbabdd1894463575af052c4cd7982,f613c6a34f920926,233d51",
       "t.csv: line 3: 3 fields, the header has 8"},
      {NEZHA_HEADER GOOD_ROW GOOD_ROW ",,\n", "t.csv: line 4: 3 fields, the header has 8"},
      {NEZHA_HEADER "898fbabdd1894463575af052c4cd7982,zz3d5101e107e112,root,p,o,1,2,3\n",
       "t.csv: line 2, column 2 (SpanID): invalid hex id \"zz3d5101e107e112\""},
      {NEZHA_HEADER "x98fbabdd1894463575af052c4cd7982,233d5101e107e112,root,p,o,1,2,3\n",
       "t.csv: line 2, column 1 (TraceID): invalid hex id \"x98fbabdd1894463575af052c4cd7982\""},
      {NEZHA_HEADER "1,233d5101e107e1120,root,p,o,1,2,3\n",
       "t.csv: line 2, column 2 (SpanID): id \"233d5101e107e1120\" is longer than 16 hex digits"},
      {NEZHA_HEADER "1,2,g,p,o,1,2,3\n",
       "t.csv: line 2, column 3 (ParentID): invalid hex id \"g\""},
      {NEZHA_HEADER "1,,root,p,o,1,2,3\n", "t.csv: line 2, column 2 (SpanID): empty id"},
      {NEZHA_HEADER "1,2,root,p,o,12:00,2,3\n",
       "t.csv: line 2, column 6 (StartTimeUnixNano): not a number: \"12:00\""},
      {NEZHA_HEADER "1,2,root,p,o,1,-2,3\n",
       "t.csv: line 2, column 7 (EndTimeUnixNano): not a number: \"-2\""},
      {NEZHA_HEADER "1,2,root,p,o,,2,3\n",
       "t.csv: line 2, column 6 (StartTimeUnixNano): empty time"},
      {NEZHA_HEADER "1,2,root,p,o,18446744073709551616,2,3\n",
       "t.csv: line 2, column 6 (StartTimeUnixNano): time \"18446744073709551616\" out of range"},
      {"TraceID,SpanID,start_s,end_s\n1,2,18446744074,18446744075\n",
       "t.csv: line 2, column 3 (start_s): time \"18446744074\" out of range"},
      /* missing required columns */
      {"TraceID,ParentID,StartTimeUnixNano,EndTimeUnixNano\n1,2,3,4\n",
       "t.csv: no span id column (SpanID, span_id, spanId) in the header"},
      {"SpanID,StartTimeUnixNano,EndTimeUnixNano\n",
       "t.csv: no trace id column (TraceID, trace_id, traceId) in the header"},
      {"TraceID,SpanID,EndTimeUnixNano\n",
       "t.csv: no start time column (StartTimeUnixNano, start_ns, startTime_us, StartTime, ...) in the header"},
      {"TraceID,SpanID,StartTimeUnixNano\n",
       "t.csv: no end time or duration column (EndTimeUnixNano, end_ns, Duration, duration_ns, ...) in the header"},
      {"TraceID,SpanID,trace_id,start,end\n",
       "t.csv: line 1: columns 1 (TraceID) and 3 (trace_id) are both the trace id column (TraceID, trace_id, traceId)"},
      {"", "t.csv: no CSV header row (the input is empty)"},
      {"\n\n", "t.csv: no CSV header row (the input is empty)"},
      /* quoting */
      {NEZHA_HEADER "1,2,root,p,\"o,1,2,3\n", "t.csv: line 2: unterminated quoted field"},
      {NEZHA_HEADER "1,2,root,p,\"o\"x,1,2,3\n",
       "t.csv: line 2: field 5: 'x' after a closing quote (expected ',')"},
      {NEZHA_HEADER "1,2,root,p,\"o\"\t,1,2,3\n",
       "t.csv: line 2: field 5: byte 0x09 after a closing quote (expected ',')"},
      /* line numbers count physical lines across a quoted line break */
      {NEZHA_HEADER "1,2,root,p,\"a\nb\",1,2,3\n1,3,root,p,o,1,x,3\n",
       "t.csv: line 4, column 7 (EndTimeUnixNano): not a number: \"x\""},
      {"TraceID,SpanID,start,end,kind\n1,2,3,4,SERVE\n",
       "t.csv: line 2, column 5 (kind): unknown span kind \"SERVE\""},
      {"TraceID,SpanID,start,end,kind\n1,2,3,4,6\n",
       "t.csv: line 2, column 5 (kind): unknown span kind \"6\""},
      {"TraceID,SpanID,start,end,status\n1,2,3,4,FAILED\n",
       "t.csv: line 2, column 5 (status): unknown status code \"FAILED\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *got = csv_error(cases[i][0], &e);
    if (strcmp(got, cases[i][1]) != 0)
      UNIT_FAIL("case %zu: \"%.200s\", expected \"%.200s\"", i, got, cases[i][1]);
    else if (e.rc != TL_EFORMAT)
      UNIT_FAIL("case %zu: rc %d", i, e.rc);
  }
}

/* A failing record leaves nothing of itself in the batch; earlier spans
** of the same call stay. */
TEST(error_keeps_earlier_spans) {
  tl_err e = {0};
  tl_batch *b = tl_batch_new();
  tl_reader *r = open_csv_mem(NEZHA_HEADER GOOD_ROW "1,2,root,p,o,1,2x,3\n", &e);
  CHECK_INT(tl_reader_next(r, b, 10, &e), TL_EFORMAT);
  CHECK_INT(tl_batch_count(b), 1);
  tl_reader_close(r);
  tl_batch_free(b);
}

int main(void) {
  RUN(nezha_counts);
  RUN(nezha_all_files);
  RUN(nezha_one_span);
  RUN(nezha_duration_unit);
  RUN(aliases_quotes_crlf_bom);
  RUN(time_units);
  RUN(pod_names);
  RUN(no_parent_spellings);
  RUN(duplicates);
  RUN(duplicates_bounded);
  RUN(malformed);
  RUN(error_keeps_earlier_spans);
  return UNIT_DONE();
}
