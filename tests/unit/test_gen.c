/*
** test_gen.c — the synthetic trace generator (ext/gen): reproducibility,
** the shape and statistics of what it generates against what the system
** configures, its ground truth against the spans, and its refusal of
** broken system files.
**
** Statistical checks use fixed seeds, so each either always passes or
** always fails; their tolerances are still set from the sampling error
** (4 to 5 standard errors) so that a correct generator passes for any
** seed, and a wrong rate or distribution (off by more than that) fails.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../ext/gen/gen_internal.h"
#include "../../ext/io/otlp_write.h"
#include "unit.h"

/* ---- collecting generated spans ------------------------------------------------ */

/* What the tests need of a span, copied out of the batch. */
typedef struct rec {
  uint8_t tid[16], sid[8], pid[8], link[8];
  uint64_t start, end;
  int kind, status, has_link, n_events, has_exception, n_attrs;
  uint32_t op;      /* index in the op table below: service + name + kind */
  uint32_t order;   /* position in the output */
  char session[40]; /* baggage session.id, if any */
} rec;

typedef struct collection {
  rec *r;
  size_t n, cap;
  uint64_t hash;        /* of the canonical NDJSON, in output order */
  char **ops;           /* "service\tname\tkind" */
  uint32_t n_ops, cap_ops;
  int ndjson_stacktrace_lines; /* largest line count of a stack trace */
} collection;

static uint32_t op_id(collection *c, const tl_span *s) {
  char key[512];
  snprintf(key, sizeof key, "%.*s\t%.*s\t%d", (int)s->resource->service.len,
           s->resource->service.ptr ? s->resource->service.ptr : "", (int)s->name.len,
           s->name.ptr ? s->name.ptr : "", s->kind);
  for (uint32_t i = 0; i < c->n_ops; i++)
    if (strcmp(c->ops[i], key) == 0) return i;
  if (c->n_ops == c->cap_ops) {
    c->cap_ops = c->cap_ops ? c->cap_ops * 2 : 64;
    c->ops = realloc(c->ops, c->cap_ops * sizeof *c->ops);
  }
  c->ops[c->n_ops] = strdup(key);
  return c->n_ops++;
}

static void add_rec(collection *c, const tl_span *s) {
  if (c->n == c->cap) {
    c->cap = c->cap ? c->cap * 2 : 4096;
    c->r = realloc(c->r, c->cap * sizeof *c->r);
  }
  rec *r = &c->r[c->n];
  memset(r, 0, sizeof *r);
  memcpy(r->tid, s->trace_id, 16);
  memcpy(r->sid, s->span_id, 8);
  memcpy(r->pid, s->parent_span_id, 8);
  r->start = s->start_ns;
  r->end = s->end_ns;
  r->kind = s->kind;
  r->status = s->status_code;
  r->n_attrs = (int)s->attrs.n;
  r->n_events = (int)s->n_events;
  r->order = (uint32_t)c->n;
  if (s->n_links) {
    r->has_link = 1;
    memcpy(r->link, s->links[0].span_id, 8);
  }
  for (uint32_t i = 0; i < s->n_events; i++) {
    const tl_event *ev = &s->events[i];
    if (ev->name.len != 9 || memcmp(ev->name.ptr, "exception", 9)) continue;
    const tl_value *st = tl_attrs_get(&ev->attrs, "exception.stacktrace");
    r->has_exception = tl_attrs_get(&ev->attrs, "exception.type") && tl_attrs_get(&ev->attrs, "exception.message");
    if (st && st->type == TL_V_STRING) {
      int lines = 1;
      for (uint32_t k = 0; k < st->u.s.len; k++) lines += st->u.s.ptr[k] == '\n';
      if (lines > c->ndjson_stacktrace_lines) c->ndjson_stacktrace_lines = lines;
    }
  }
  const tl_value *sess = tl_attrs_get(&s->attrs, "session.id");
  if (sess && sess->type == TL_V_STRING && sess->u.s.len < sizeof r->session)
    memcpy(r->session, sess->u.s.ptr, sess->u.s.len);
  r->op = op_id(c, s);
  c->n++;
}

/* Generates n traces in chunks of `chunk` spans into c. */
static int collect(const tl_gen_system *sys, uint64_t n, uint64_t seed, size_t chunk, collection *c) {
  memset(c, 0, sizeof *c);
  tl_err e;
  tl_err_clear(&e);
  tl_gen *g;
  if (tl_gen_new(&g, sys, n, seed, &e)) return -1;
  tl_batch *b = tl_batch_new();
  tl_buf line;
  tl_buf_init(&line);
  uint64_t h = 0;
  int rc;
  do {
    rc = tl_gen_next(g, b, chunk, &e);
    if (rc < 0) break;
    if (tl_batch_count(b) > chunk) rc = -99;
    for (size_t i = 0; i < tl_batch_count(b); i++) {
      const tl_span *s = tl_batch_span(b, i);
      tl_buf_reset(&line);
      tl_otlp_write_span(&line, s);
      h = tl_mix64(h ^ tl_hash(line.p, line.n));
      add_rec(c, s);
    }
    tl_batch_reset(b);
  } while (rc == TL_OK);
  c->hash = h;
  tl_buf_free(&line);
  tl_batch_free(b);
  tl_gen_free(g);
  return rc < 0 ? rc : 0;
}

static void collection_free(collection *c) {
  for (uint32_t i = 0; i < c->n_ops; i++) free(c->ops[i]);
  free(c->ops);
  free(c->r);
}

static int truth_all(const tl_gen_system *sys, uint64_t n, uint64_t seed, tl_gen_truth **out) {
  tl_err e;
  tl_err_clear(&e);
  tl_gen *g;
  if (tl_gen_new(&g, sys, n, seed, &e)) return -1;
  tl_gen_truth *t = calloc(n ? n : 1, sizeof *t);
  size_t k = 0;
  int rc;
  while ((rc = tl_gen_next_truth(g, &t[k], &e)) == TL_OK) k++;
  tl_gen_free(g);
  *out = t;
  return rc == TL_DONE && k == n ? 0 : -1;
}

/* Orders records by trace id, then output order. */
static int cmp_trace(const void *a, const void *b) {
  const rec *x = a, *y = b;
  int c = memcmp(x->tid, y->tid, 16);
  return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int cmp_truth(const void *a, const void *b) {
  return memcmp(((const tl_gen_truth *)a)->trace_id, ((const tl_gen_truth *)b)->trace_id, 16);
}

/* The span of a trace (records [lo, hi)) with this id, or NULL. */
static const rec *find_span(const rec *r, size_t lo, size_t hi, const uint8_t *id) {
  for (size_t i = lo; i < hi; i++)
    if (memcmp(r[i].sid, id, 8) == 0) return &r[i];
  return NULL;
}

static int is_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

static tl_gen_system *default_sys(void) {
  tl_err e;
  tl_err_clear(&e);
  tl_gen_system *s = NULL;
  if (tl_gen_system_default(&s, &e)) fprintf(stderr, "default system: %s\n", e.msg);
  return s;
}

/* ---- the random numbers ---------------------------------------------------------- */

TEST(test_rng_reference) {
  /* Outputs of the reference xoshiro256** from state {1,2,3,4}, and of
  ** splitmix64 from 0, as the algorithms define them (checked against an
  ** independent Python transcription of the published C code). */
  tl_rng r = {{1, 2, 3, 4}};
  CHECK(tl_rng_next(&r) == 11520u);
  CHECK(tl_rng_next(&r) == 0u);
  CHECK(tl_rng_next(&r) == 1509978240u);
  CHECK(tl_rng_next(&r) == 1215971899390074240u);
  CHECK(tl_mix64(0) == 0xe220a8397b1dcdafull);
  /* below() stays in range and reaches both ends */
  tl_rng q;
  tl_rng_seed(&q, 0);
  int seen[7] = {0};
  for (int i = 0; i < 7000; i++) {
    uint64_t v = tl_rng_below(&q, 7);
    if (v < 7) seen[v]++;
    else UNIT_FAIL("below(7) gave %llu", (unsigned long long)v);
  }
  for (int i = 0; i < 7; i++) CHECK(seen[i] > 800 && seen[i] < 1200);
}

TEST(test_exp_log_accuracy) {
  /* The portable exp/log agree with libm to ~1 ulp over the ranges used. */
  double worst = 0;
  for (double x = -40; x <= 40; x += 0.01337) {
    double rel = fabs(tl_gen_exp(x) - exp(x)) / exp(x);
    if (rel > worst) worst = rel;
  }
  CHECK(worst < 1e-14);
  worst = 0;
  for (double x = 1e-9; x < 1e9; x *= 1.0731) {
    double d = fabs(tl_gen_log(x) - log(x));
    if (d > worst) worst = d;
  }
  CHECK(worst < 1e-14);
  CHECK(tl_gen_log(1.0) == 0.0);
  CHECK(tl_gen_exp(0.0) == 1.0);
  CHECK(isinf(tl_gen_log(0.0)) && tl_gen_log(0.0) < 0);
  /* the normal sampler: mean 0, variance 1 (n = 200000: se 0.0022, 0.0032) */
  tl_rng r;
  tl_rng_seed(&r, 99);
  double sum = 0, sq = 0;
  for (int i = 0; i < 200000; i++) {
    double z = tl_rng_normal(&r, 10);
    sum += z;
    sq += z * z;
  }
  CHECK(fabs(sum / 200000) < 0.011);
  CHECK(fabs(sq / 200000 - 1) < 0.016);
}

/* ---- the default system -------------------------------------------------------- */

TEST(test_default_system_shape) {
  tl_gen_system *s = default_sys();
  CHECK(s != NULL);
  if (!s) return;
  CHECK_INT(s->n_services, 24);
  CHECK_INT(tl_gen_request_count(s), 17);
  uint32_t recording = 0;
  for (uint32_t i = 0; i < s->n_services; i++) {
    const gen_protocol *p = &s->protocols[s->services[i].protocol];
    recording += p->instrumented && !p->messaging;
  }
  CHECK_INT(recording, 20);
  CHECK_STR(tl_gen_request_name(s, 0), "home");
  CHECK_STR(tl_gen_request_name(s, 16), "healthz");
  CHECK(tl_gen_request_name(s, 17) == NULL);
  tl_gen_system_free(s);
}

TEST(test_determinism_and_chunks) {
  tl_gen_system *s = default_sys();
  if (!s) { UNIT_FAIL("no system"); return; }
  collection a, b, c, d;
  CHECK_INT(collect(s, 400, 42, 1024, &a), 0);
  CHECK_INT(collect(s, 400, 42, 1, &b), 0);
  CHECK_INT(collect(s, 400, 42, 7777, &c), 0);
  CHECK_INT(collect(s, 400, 43, 1024, &d), 0);
  CHECK(a.n > 4000);
  CHECK_INT(a.n, b.n);
  CHECK_INT(a.n, c.n);
  CHECK(a.hash == b.hash);
  CHECK(a.hash == c.hash);
  CHECK(a.hash != d.hash);
  /* a second system object loaded from the same text gives the same bytes */
  tl_gen_system *s2 = default_sys();
  collection e2;
  CHECK_INT(collect(s2, 400, 42, 333, &e2), 0);
  CHECK(e2.hash == a.hash);
  /* traces are a prefix property: the first traces of a longer run are
  ** the same traces (same truth) */
  tl_gen_truth *t1, *t2;
  CHECK_INT(truth_all(s, 50, 42, &t1), 0);
  CHECK_INT(truth_all(s, 400, 42, &t2), 0);
  for (int i = 0; i < 50; i++) CHECK(memcmp(t1[i].trace_id, t2[i].trace_id, 16) == 0);
  free(t1);
  free(t2);
  collection_free(&a);
  collection_free(&b);
  collection_free(&c);
  collection_free(&d);
  collection_free(&e2);
  tl_gen_system_free(s);
  tl_gen_system_free(s2);
}

TEST(test_request_types_and_weights) {
  tl_gen_system *s = default_sys();
  if (!s) { UNIT_FAIL("no system"); return; }
  enum { N = 20000 };
  tl_gen_truth *t;
  CHECK_INT(truth_all(s, N, 5, &t), 0);
  uint32_t nr = tl_gen_request_count(s), count[64] = {0};
  for (int i = 0; i < N; i++) {
    CHECK_INT(t[i].index, i);
    if (t[i].request < 64) count[t[i].request]++;
    CHECK_STR(t[i].request_name, tl_gen_request_name(s, t[i].request));
  }
  double total = s->request_cdf[nr - 1];
  for (uint32_t r = 0; r < nr; r++) {
    double p = s->requests[r].weight / total, exp_n = p * N, sd = sqrt(N * p * (1 - p));
    if (count[r] == 0) UNIT_FAIL("request type %s never appears", tl_gen_request_name(s, r));
    if (fabs(count[r] - exp_n) > 5 * sd)
      UNIT_FAIL("request type %s: %u traces, expected %.0f +- %.0f", tl_gen_request_name(s, r),
                count[r], exp_n, 5 * sd);
  }
  free(t);
  tl_gen_system_free(s);
}

/* Spans come out in end-time order; ids are non-zero and unique. */
TEST(test_end_time_order_and_ids) {
  tl_gen_system *s = default_sys();
  if (!s) { UNIT_FAIL("no system"); return; }
  collection c;
  CHECK_INT(collect(s, 3000, 11, 1000, &c), 0);
  size_t bad = 0;
  for (size_t i = 1; i < c.n; i++) bad += c.r[i].end < c.r[i - 1].end;
  CHECK_INT(bad, 0);
  for (size_t i = 0; i < c.n; i++) {
    if (is_zero(c.r[i].tid, 16) || is_zero(c.r[i].sid, 8)) bad++;
    if (c.r[i].end <= c.r[i].start) bad++;
  }
  CHECK_INT(bad, 0);
  /* span ids unique within a trace */
  qsort(c.r, c.n, sizeof *c.r, cmp_trace);
  for (size_t lo = 0, hi; lo < c.n; lo = hi) {
    for (hi = lo + 1; hi < c.n && memcmp(c.r[hi].tid, c.r[lo].tid, 16) == 0; hi++) {}
    for (size_t i = lo; i < hi; i++)
      for (size_t j = i + 1; j < hi; j++) bad += memcmp(c.r[i].sid, c.r[j].sid, 8) == 0;
  }
  CHECK_INT(bad, 0);
  collection_free(&c);
  tl_gen_system_free(s);
}

/* Structure against truth: parents contain children except in skewed
** traces (and consumers, which outlive their producers); links point at
** spans of the output; orphans and missing roots only in incomplete
** traces; has_error and n_spans agree with the spans. */
TEST(test_structure_and_truth) {
  tl_gen_system *s = default_sys();
  if (!s) { UNIT_FAIL("no system"); return; }
  enum { N = 6000 };
  collection c;
  tl_gen_truth *t;
  CHECK_INT(collect(s, N, 21, 4096, &c), 0);
  CHECK_INT(truth_all(s, N, 21, &t), 0);
  qsort(c.r, c.n, sizeof *c.r, cmp_trace);
  qsort(t, N, sizeof *t, cmp_truth);
  size_t k = 0, outside = 0, skew_seen = 0, orphans_complete = 0, bad_links = 0, consumers = 0;
  size_t mismatch = 0, skewed = 0, incomplete = 0, errors = 0, retried_ok = 0, bad_session = 0;
  size_t no_exception = 0, max_depth = 0, depth_sum = 0;
  for (size_t lo = 0, hi; lo < c.n; lo = hi, k++) {
    for (hi = lo + 1; hi < c.n && memcmp(c.r[hi].tid, c.r[lo].tid, 16) == 0; hi++) {}
    if (k >= N || memcmp(t[k].trace_id, c.r[lo].tid, 16) != 0) {
      mismatch++;
      break;
    }
    const tl_gen_truth *tr = &t[k];
    skewed += tr->is_skewed;
    incomplete += tr->is_incomplete;
    errors += tr->has_error;
    if (tr->n_spans != hi - lo) mismatch++;
    int any_error = 0, roots = 0, child_before_parent = 0, client_error = 0, root_ok = 0;
    for (size_t i = lo; i < hi; i++) {
      const rec *r = &c.r[i];
      any_error |= r->status == TL_STATUS_ERROR;
      if (strcmp(r->session, c.r[lo].session) != 0 || !r->session[0]) bad_session++;
      if (r->status == TL_STATUS_ERROR && (r->kind == TL_KIND_SERVER || r->kind == TL_KIND_INTERNAL) &&
          !r->has_exception)
        no_exception++;
      if (r->status == TL_STATUS_ERROR && r->kind == TL_KIND_CLIENT) client_error = 1;
      if (r->has_link) {
        consumers++;
        const rec *l = find_span(c.r, lo, hi, r->link);
        if (!l || memcmp(r->link, r->pid, 8) != 0 || l->kind != TL_KIND_PRODUCER || r->start < l->start)
          bad_links++;
      }
      if (is_zero(r->pid, 8)) {
        roots++;
        root_ok = r->status != TL_STATUS_ERROR;
        continue;
      }
      const rec *p = find_span(c.r, lo, hi, r->pid);
      if (!p) {
        if (!tr->is_incomplete) orphans_complete++;
        continue;
      }
      size_t depth = 1;
      for (const rec *q = p; q && !is_zero(q->pid, 8) && depth < 64; q = find_span(c.r, lo, hi, q->pid)) depth++;
      if (depth > max_depth) max_depth = depth;
      depth_sum += depth;
      if (r->start < p->start) child_before_parent = 1;
      if (r->kind == TL_KIND_CONSUMER) continue;
      if ((r->start < p->start || r->end > p->end) && !tr->is_skewed) outside++;
    }
    if (any_error != tr->has_error) mismatch++;
    if (roots != 1 && !tr->is_incomplete) mismatch++;
    if (tr->is_skewed) skew_seen += child_before_parent;
    if (client_error && root_ok && roots == 1) retried_ok++;
  }
  CHECK_INT(k, N);
  CHECK_INT(mismatch, 0);
  CHECK_INT(outside, 0);
  CHECK_INT(orphans_complete, 0);
  CHECK_INT(bad_links, 0);
  CHECK_INT(bad_session, 0);
  CHECK_INT(no_exception, 0);
  CHECK(consumers > 50);             /* checkouts publish orders to two consumers */
  CHECK_INT(skew_seen, skewed);      /* every skewed trace shows a child before its parent */
  CHECK(retried_ok > 5);             /* failures that were retried or ignored */
  CHECK(max_depth >= 9 && max_depth <= 12);
  /* shares: skew 0.02 and incompleteness 0.01 of the traces that can have
  ** them (all but the one-span healthz traces, ~3%): 5 standard errors */
  double sd_skew = sqrt(N * 0.02 * 0.98), sd_inc = sqrt(N * 0.01 * 0.99);
  if (fabs((double)skewed - 0.02 * 0.97 * N) > 5 * sd_skew) UNIT_FAIL("%zu skewed traces", skewed);
  if (fabs((double)incomplete - 0.01 * 0.97 * N) > 5 * sd_inc) UNIT_FAIL("%zu incomplete traces", incomplete);
  CHECK(errors > 0);
  CHECK(c.ndjson_stacktrace_lines >= 5);
  free(t);
  collection_free(&c);
  tl_gen_system_free(s);
}

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Per-operation durations of leaf server spans (self time only) follow
** the configured log-normal: p10, p50, p90 within 5 standard errors of a
** sample quantile, se(log q) = sigma * sqrt(q(1-q)/n) / phi(z_q). */
static void check_quantiles(collection *c, const char *key, double median_ns, double sigma) {
  uint32_t op = GEN_NONE;
  for (uint32_t i = 0; i < c->n_ops; i++)
    if (strcmp(c->ops[i], key) == 0) op = i;
  if (op == GEN_NONE) { UNIT_FAIL("no spans of %s", key); return; }
  double *d = malloc(c->n * sizeof *d);
  size_t n = 0;
  for (size_t i = 0; i < c->n; i++)
    if (c->r[i].op == op) d[n++] = (double)(c->r[i].end - c->r[i].start);
  qsort(d, n, sizeof *d, cmpd);
  static const double q[3] = {0.1, 0.5, 0.9}, z[3] = {-1.2815515655, 0, 1.2815515655};
  for (int i = 0; i < 3; i++) {
    double expect = median_ns * exp(sigma * z[i]);
    double got = d[(size_t)(q[i] * (double)n)];
    double phi = exp(-z[i] * z[i] / 2) / sqrt(2 * M_PI);
    double se = sigma * sqrt(q[i] * (1 - q[i]) / (double)n) / phi;
    if (fabs(log(got / expect)) > 5 * se + 0.01)
      UNIT_FAIL("%s p%.0f = %.0f ns, expected %.0f (n=%zu, se %.3f)", key, q[i] * 100, got, expect, n, se);
  }
  if (n < 1000) UNIT_FAIL("%s: only %zu spans", key, n);
  free(d);
}

TEST(test_leaf_latency_percentiles) {
  tl_gen_system *s = default_sys();
  if (!s) { UNIT_FAIL("no system"); return; }
  collection c;
  CHECK_INT(collect(s, 15000, 3, 4096, &c), 0);
  /* go records ns, so the span is the self time exactly; java rounds to
  ** the microsecond (the 0.01 slack of check_quantiles covers it) */
  check_quantiles(&c, "flagd\tflagd.evaluation.v1.Service/ResolveBoolean\t2", 150e3, 0.4);
  check_quantiles(&c, "ad\toteldemo.AdService/GetAds\t2", 1.2e6, 0.7);
  check_quantiles(&c, "currency\toteldemo.CurrencyService/Convert\t2", 120e3, 0.5);
  collection_free(&c);
  tl_gen_system_free(s);
}

/* A system made to measure rates: api/root calls db/q (fails 10%, slow 5%
** of the time, x20-40) and then, unless that failed, svc/leaf (fails 3%,
** ignored by the caller; slow 2% of the time, x10).  Sigmas are small so
** that an injected slowdown always doubles the trace. */
static const char rates_system[] =
    "{\"arrival_rate\": 200, \"skew_share\": 0.1, \"incomplete_share\": 0.1,"
    " \"variables\": {}, \"baggage\": {},"
    " \"services\": ["
    "  {\"name\": \"api\", \"protocol\": \"http\", \"runtime\": \"go\", \"instances\": 2, \"port\": 80,"
    "   \"operations\": {\"root\": {\"method\": \"GET\", \"route\": \"/\", \"path\": \"/\","
    "     \"latency\": {\"median_ms\": 1, \"sigma\": 0.1, \"outlier_p\": 0}}}},"
    "  {\"name\": \"svc\", \"protocol\": \"grpc\", \"runtime\": \"go\", \"rpc_service\": \"t.Svc\","
    "   \"operations\": {\"leaf\": {\"latency\": {\"median_ms\": 5, \"sigma\": 0.1, \"outlier_p\": 0.02,"
    "     \"outlier_factor\": 10}, \"error_rate\": 0.03}}},"
    "  {\"name\": \"db\", \"protocol\": \"postgresql\", \"db_name\": \"t\","
    "   \"operations\": {\"q\": {\"db_operation\": \"SELECT\", \"table\": \"t\", \"statement\": \"SELECT 1\","
    "     \"latency\": {\"median_ms\": 2, \"sigma\": 0.1, \"outlier_p\": 0.05, \"outlier_factor\": [20, 40]},"
    "     \"error_rate\": 0.1}}}],"
    " \"requests\": [{\"name\": \"r\", \"root\": {\"call\": \"api/root\", \"children\": ["
    "   {\"call\": \"db/q\"}, {\"call\": \"svc/leaf\", \"ignore_errors\": true}]}}]}";

static void check_rate(const char *what, size_t got, size_t n, double p) {
  double sd = sqrt((double)n * p * (1 - p));
  if (fabs((double)got - p * (double)n) > 5 * sd)
    UNIT_FAIL("%s: %zu of %zu, expected %.0f +- %.0f", what, got, n, p * (double)n, 5 * sd);
}

TEST(test_configured_rates) {
  tl_err e;
  tl_err_clear(&e);
  tl_gen_system *s;
  int rc = tl_gen_system_load(&s, rates_system, strlen(rates_system), "rates", &e);
  CHECK_INT(rc, 0);
  if (rc) { UNIT_FAIL("%.300s", e.msg); return; }
  enum { N = 20000 };
  tl_gen_truth *t;
  CHECK_INT(truth_all(s, N, 77, &t), 0);
  size_t err = 0, out = 0, skew = 0, inc = 0;
  for (int i = 0; i < N; i++) {
    err += t[i].has_error;
    out += t[i].is_outlier;
    skew += t[i].is_skewed;
    inc += t[i].is_incomplete;
  }
  /* error: db fails (0.1), or it does not and leaf fails (0.9 * 0.03) */
  check_rate("traces with an error", err, N, 0.1 + 0.9 * 0.03);
  /* outlier: db slow (0.05), or leaf called (0.9) and slow (0.02) */
  check_rate("outlier traces", out, N, 1 - 0.95 * (1 - 0.9 * 0.02));
  /* skew needs a server span besides the root: leaf is called 90% of the time */
  check_rate("skewed traces", skew, N, 0.1 * 0.9);
  check_rate("incomplete traces", inc, N, 0.1);
  free(t);

  /* per-operation: error rates of the leaf server span and db client span,
  ** and the leaf's slow tail: no normal draw passes median * e^(4 sigma)
  ** (the clamp) while a x10 outlier almost always does */
  collection c;
  CHECK_INT(collect(s, N, 77, 4096, &c), 0);
  size_t leaf_n = 0, leaf_err = 0, leaf_slow = 0, db_n = 0, db_err = 0;
  for (size_t i = 0; i < c.n; i++) {
    const rec *r = &c.r[i];
    const char *key = c.ops[r->op];
    if (strcmp(key, "svc\tt.Svc/leaf\t2") == 0) {
      leaf_n++;
      leaf_err += r->status == TL_STATUS_ERROR;
      leaf_slow += (double)(r->end - r->start) > 5e6 * exp(0.4);
    }
    if (strcmp(key, "api\tSELECT t.t\t3") == 0) {
      db_n++;
      db_err += r->status == TL_STATUS_ERROR;
    }
  }
  CHECK(leaf_n > N / 2);
  check_rate("leaf errors", leaf_err, leaf_n, 0.03);
  check_rate("leaf outliers", leaf_slow, leaf_n, 0.02);
  check_rate("db errors", db_err, db_n, 0.1);
  collection_free(&c);
  tl_gen_system_free(s);
}

TEST(test_memory_bounded) {
  tl_gen_system *s = default_sys();
  if (!s) { UNIT_FAIL("no system"); return; }
  tl_err e;
  tl_err_clear(&e);
  size_t mem[2];
  uint64_t sizes[2] = {2000, 40000};
  for (int k = 0; k < 2; k++) {
    tl_gen *g;
    tl_gen_new(&g, s, sizes[k], 1, &e);
    tl_batch *b = tl_batch_new();
    size_t peak = 0;
    int rc;
    do {
      rc = tl_gen_next(g, b, 4096, &e);
      size_t m = tl_gen_memory(g);
      if (m > peak) peak = m;
      tl_batch_reset(b);
    } while (rc == TL_OK);
    CHECK_INT(rc, TL_DONE);
    mem[k] = peak;
    tl_batch_free(b);
    tl_gen_free(g);
  }
  /* 20x the traces: the window, not the run, decides the memory */
  if (mem[1] > 2 * mem[0]) UNIT_FAIL("peak %zu bytes for 2000 traces, %zu for 40000", mem[0], mem[1]);
  CHECK(mem[1] < 16u * 1024 * 1024);
  tl_gen_system_free(s);
}

TEST(test_example_system_file) {
  tl_err e;
  tl_err_clear(&e);
  tl_gen_system *s;
  int rc = tl_gen_system_load_file(&s, "testdata/systems/bookstore.json", &e);
  CHECK_INT(rc, 0);
  if (rc) { UNIT_FAIL("%.300s", e.msg); return; }
  CHECK_INT(tl_gen_request_count(s), 2);
  collection c;
  CHECK_INT(collect(s, 500, 1, 100, &c), 0);
  size_t consumers = 0, internal = 0;
  for (size_t i = 0; i < c.n; i++) {
    consumers += c.r[i].kind == TL_KIND_CONSUMER;
    internal += c.r[i].kind == TL_KIND_INTERNAL;
  }
  CHECK(consumers > 20 && internal > 200);
  collection_free(&c);
  tl_gen_system_free(s);
}

TEST(test_engine_misuse) {
  tl_gen_system *s = default_sys();
  if (!s) { UNIT_FAIL("no system"); return; }
  tl_err e;
  tl_err_clear(&e);
  tl_gen *g;
  CHECK_INT(tl_gen_new(&g, s, TL_GEN_MAX_TRACES + 1, 1, &e), TL_ERANGE);
  CHECK_STR(e.msg, "n_traces must be between 0 and 1000000000");
  tl_err_clear(&e);
  CHECK_INT(tl_gen_new(&g, s, 0, 1, &e), 0);
  tl_batch *b = tl_batch_new();
  CHECK_INT(tl_gen_next(g, b, 10, &e), TL_DONE);
  CHECK_INT(tl_batch_count(b), 0);
  tl_gen_truth t;
  CHECK_INT(tl_gen_next_truth(g, &t, &e), TL_EMISUSE);
  CHECK_STR(e.msg, "this generator is used for spans");
  tl_gen_free(g);
  tl_batch_free(b);
  tl_gen_system_free(s);
}

/* ---- hostile system files -------------------------------------------------------- */

/* A minimal valid system, with one member to replace by a test. */
#define SYS_HEAD "{\"services\": [{\"name\": \"a\", \"protocol\": \"http\", \"runtime\": \"go\", \"operations\": {"
#define OP_OK "\"o\": {\"method\": \"GET\", \"route\": \"/\", \"path\": \"/\", \"latency\": {\"median_ms\": 1}}"
#define REQ(root) "\"requests\": [{\"name\": \"r\", \"root\": " root "}]}"

static const struct {
  const char *json, *msg;
} bad_systems[] = {
    /* jansson's own words vary between versions: only the position is ours */
    {"{\"services\": ", "t: line 1, column 13: *"},
    {"[]", "t: $: must be an object"},
    {"{}", "t: $.services: must be an array of 1 to 4096 services"},
    {"{\"servicez\": 1}", "t: $.servicez: unknown key"},
    {"{\"a\": 1, \"a\": 2}", "t: line 1, column 12: *"},
    {SYS_HEAD OP_OK "}}], " REQ("{\"call\": \"a/o\", \"chidren\": []}"), "t: $.requests[0].root.chidren: unknown key"},
    {SYS_HEAD "\"o\": {\"method\": \"GET\", \"route\": \"/\", \"path\": \"/\", \"latency\": {\"median_ms\": 1, \"sigma\": 9}}}}], "
     REQ("{\"call\": \"a/o\"}"),
     "t: $.services[0].operations.o.latency.sigma: must be a number between 0 and 3"},
    {SYS_HEAD "\"o\": {\"method\": \"GET\", \"route\": \"/\", \"path\": \"/\", \"latency\": {\"sigma\": 1}}}}], "
     REQ("{\"call\": \"a/o\"}"),
     "t: $.services[0].operations.o.latency: needs exactly one of median_ms and median_us"},
    {SYS_HEAD "\"o\": {\"method\": \"GET\", \"route\": \"/\", \"latency\": {\"median_ms\": 1}}}}], " REQ("{\"call\": \"a/o\"}"),
     "t: $.protocols.http.server.attributes.url.path: unknown name '{path}': not a field of the "
     "operation or service, nor a variable (for operation 'a/o')"},
    {SYS_HEAD OP_OK ", \"p\": {\"type\": \"internal\", \"attributes\": {\"x\": \"{nope}\"}, \"latency\": {\"median_ms\": 1}}}}], "
     REQ("{\"call\": \"a/o\"}"),
     "t: $.services[0].operations.p.attributes.x: unknown name '{nope}': not a field of the operation "
     "or service, nor a variable"},
    {SYS_HEAD OP_OK ", \"p\": {\"type\": \"internal\", \"attributes\": {\"x\": \"{$pod}\"}, \"latency\": {\"median_ms\": 1}}}}], "
     REQ("{\"call\": \"a/o\"}"),
     "t: $.services[0].operations.p.attributes.x: '{$pod}' cannot be used here (it is a resource builtin)"},
    {SYS_HEAD OP_OK ", \"p\": {\"type\": \"internal\", \"name\": \"x{\", \"latency\": {\"median_ms\": 1}}}}], "
     REQ("{\"call\": \"a/o\"}"),
     "t: $.services[0].operations.p: unterminated '{' in template (write '{{' for a brace)"},
    {SYS_HEAD OP_OK "}}], " REQ("{\"call\": \"b/o\"}"), "t: $.requests[0].root.call: no service 'b'"},
    {SYS_HEAD OP_OK "}}], " REQ("{\"call\": \"a/x\"}"), "t: $.requests[0].root.call: service 'a' has no operation 'x'"},
    {SYS_HEAD OP_OK "}}], " REQ("{\"call\": \"a/o\", \"repeat\": [0, 2]}"),
     "t: $.requests[0].root.call: the root call is made exactly once (no p, repeat or retries) ('a/o')"},
    {SYS_HEAD OP_OK "}}], " REQ("{\"call\": \"a/o\", \"retries\": 1.5}"),
     "t: $.requests[0].root.retries: must be an integer between 0 and 10"},
    {SYS_HEAD OP_OK "}}], " REQ("{\"call\": \"a/o\", \"repeat\": [3, 2]}"),
     "t: $.requests[0].root.repeat: must be an integer or [low, high] with 0 <= low <= high <= 1000"},
    {SYS_HEAD OP_OK "}}, {\"name\": \"d\", \"protocol\": \"redis\", \"operations\": {\"g\": {\"command\": \"GET\", "
     "\"statement\": \"GET k\", \"latency\": {\"median_us\": 100}}}}], "
     REQ("{\"call\": \"d/g\"}"),
     "t: $.requests[0].root.call: a request must start at a server operation ('d/g')"},
    {SYS_HEAD OP_OK ", \"i\": {\"type\": \"internal\", \"latency\": {\"median_ms\": 1}}}}, "
     "{\"name\": \"b\", \"protocol\": \"http\", \"runtime\": \"go\", \"operations\": {" OP_OK "}}], "
     REQ("{\"call\": \"b/o\", \"children\": [{\"call\": \"a/i\"}]}"),
     "t: $.requests[0].root.children[0].call: an internal operation can only be called from its own "
     "service ('a/i')"},
    {SYS_HEAD OP_OK "}}], " REQ("{\"call\": \"a/o\", \"children\": [{\"call\": \"a/o\", \"repeat\": 1000, "
                                "\"children\": [{\"call\": \"a/o\", \"repeat\": 1000}]}]}"),
     "t: $.requests[0].root.children[0]: this call can make up to 2002000 spans in one trace (the "
     "limit is 20000)"},
    {SYS_HEAD OP_OK "}}], \"variables\": {\"v\": {\"type\": \"zzz\"}}, " REQ("{\"call\": \"a/o\"}"),
     "t: $.variables.v.type: unknown type 'zzz' (uuid, hex, alnum, int, double, bool, choice or ipv4)"},
    {SYS_HEAD OP_OK "}}], \"start\": \"yesterday\", " REQ("{\"call\": \"a/o\"}"),
     "t: $.start: must be a UTC time as \"2026-01-01T00:00:00Z\" (years 1970 to 2200)"},
    {SYS_HEAD OP_OK "}}, {\"name\": \"a\", \"protocol\": \"http\", \"runtime\": \"go\", \"operations\": {" OP_OK
     "}}], " REQ("{\"call\": \"a/o\"}"),
     "t: $.services[1].name: duplicate service 'a'"},
};

/* A call tree nested past GEN_MAX_CALL_DEPTH. */
static char *deep_system(int depth) {
  tl_buf b;
  tl_buf_init(&b);
  tl_buf_puts(&b, SYS_HEAD OP_OK "}}], \"requests\": [{\"name\": \"r\", \"root\": ");
  for (int i = 0; i < depth; i++) tl_buf_puts(&b, "{\"call\": \"a/o\", \"children\": [");
  tl_buf_puts(&b, "{\"call\": \"a/o\"}");
  for (int i = 0; i < depth; i++) tl_buf_puts(&b, "]}");
  tl_buf_puts(&b, "}]}");
  return (char *)tl_buf_cstr(&b);
}

TEST(test_hostile_systems) {
  for (size_t i = 0; i < sizeof bad_systems / sizeof *bad_systems; i++) {
    tl_err e;
    tl_err_clear(&e);
    tl_gen_system *s = (tl_gen_system *)1;
    int rc = tl_gen_system_load(&s, bad_systems[i].json, strlen(bad_systems[i].json), "t", &e);
    if (rc != TL_EFORMAT || s != NULL) UNIT_FAIL("case %zu: rc %d", i, rc);
    const char *want = bad_systems[i].msg, *star = strchr(want, '*');
    if (star ? strncmp(e.msg, want, (size_t)(star - want)) != 0 : strcmp(e.msg, want) != 0)
      UNIT_FAIL("case %zu: \"%.200s\", expected \"%.200s\"", i, e.msg, bad_systems[i].msg);
  }
  /* the same minimal system is valid without the defects */
  const char *ok = SYS_HEAD OP_OK "}}], " REQ("{\"call\": \"a/o\"}");
  tl_err e;
  tl_err_clear(&e);
  tl_gen_system *s;
  CHECK_INT(tl_gen_system_load(&s, ok, strlen(ok), "t", &e), 0);
  tl_gen_system_free(s);
  char *deep = deep_system(30);
  tl_err_clear(&e);
  CHECK_INT(tl_gen_system_load(&s, deep, strlen(deep), "t", &e), TL_EFORMAT);
  CHECK(strstr(e.msg, ": calls are nested deeper than 24") != NULL);
  free(deep);
  tl_err_clear(&e);
  CHECK_INT(tl_gen_system_load_file(&s, "testdata/systems/no-such-file.json", &e), TL_EIO);
  CHECK_STR(e.msg, "cannot open system file 'testdata/systems/no-such-file.json': No such file or directory");
}

/* Every prefix of the default system is refused cleanly (no crash, no
** leak under ASan), and so is every single-byte corruption of its start. */
TEST(test_truncated_and_corrupt_default) {
  const char *text = tl_gen_default_system_json();
  size_t n = strlen(text), failures = 0;
  for (size_t k = 0; k < n; k += 53) {
    tl_err e;
    tl_err_clear(&e);
    tl_gen_system *s;
    if (tl_gen_system_load(&s, text, k, "t", &e) != TL_EFORMAT) failures++;
  }
  CHECK_INT(failures, 0);
  char *copy = strdup(text);
  static const char junk[] = "{}[]\",:0a-";
  for (size_t k = 0; k < n; k += 211) {
    char saved = copy[k];
    copy[k] = junk[k % (sizeof junk - 1)];
    tl_err e;
    tl_err_clear(&e);
    tl_gen_system *s = NULL;
    int rc = tl_gen_system_load(&s, copy, n, "t", &e);
    if (rc == 0) tl_gen_system_free(s); /* some corruptions are still valid */
    else if (rc != TL_EFORMAT) failures++;
    copy[k] = saved;
  }
  CHECK_INT(failures, 0);
  free(copy);
}

int main(void) {
  RUN(test_rng_reference);
  RUN(test_exp_log_accuracy);
  RUN(test_default_system_shape);
  RUN(test_determinism_and_chunks);
  RUN(test_request_types_and_weights);
  RUN(test_end_time_order_and_ids);
  RUN(test_structure_and_truth);
  RUN(test_leaf_latency_percentiles);
  RUN(test_configured_rates);
  RUN(test_memory_bounded);
  RUN(test_example_system_file);
  RUN(test_engine_misuse);
  RUN(test_hostile_systems);
  RUN(test_truncated_and_corrupt_default);
  return UNIT_DONE();
}
