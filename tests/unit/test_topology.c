/*
** test_topology.c — service links (ext/analysis/topology.h), one test per
** Requirement 1..6, on one hand-made trace that has every case: a Zipkin
** shared client/server id, a split RPC (distinct client and server ids), a
** leaf client to an uninstrumented service, a client whose caller left no
** client span (backfill), messaging through a broker, a span without kind
** but with both services, a local span, an orphan.  Expected values were
** worked out by hand from the rules (docs/analysis.md walks through them).
*/
#include <stdlib.h>

#include "../../ext/analysis/topology.h"
#include "../../ext/common/buf.h"
#include "analysis_fixture.h"
#include "unit.h"

static const fx_span TRACE[] = {
    {"r", NULL, 0, 100, "web", "SERVER", 0, NULL, NULL, NULL},
    {"x", "r", 10, 90, "web", "CLIENT", 0, NULL, NULL, NULL},
    {"x", "r", 12, 88, "api", "SERVER", 1, NULL, NULL, NULL},
    {"q", "x", 20, 60, "api", "CLIENT", 1, NULL, NULL, NULL},
    {"q2", "q", 22, 58, "db", "SERVER", 0, NULL, NULL, NULL},
    {"z", "x", 61, 70, "api", "CLIENT", 0, "cache", NULL, NULL},
    {"k", "r", 71, 80, "worker", "CLIENT", 0, "mq", NULL, NULL},
    {"p", "r", 81, 82, "web", "PRODUCER", 0, "kafka", NULL, NULL},
    {"c", "p", 83, 99, "api", "CONSUMER", 0, "kafka", NULL, NULL},
    {"l", "r", 1, 2, "web", "INTERNAL", 0, NULL, NULL, NULL},
    {"n", "x", 5, 6, "api", NULL, 0, "search", NULL, NULL},
    {"o", "missing", 0, 5, "orphan-svc", "SERVER", 0, NULL, NULL, NULL},
    {"v", "r", 3, 4, NULL, NULL, 0, NULL, NULL, NULL}};
#define NTRACE ((int)(sizeof TRACE / sizeof *TRACE))

typedef struct want {
  const char *caller, *callee;
  long long calls, errors;
  double p50, p99;
} want;

static void check(int mode, const want *w, int nw) {
  tl_trace_buf b;
  tl_tree t;
  tl_err e;
  tl_err_clear(&e);
  CHECK_INT(tl_trace_buf_init(&b), TL_OK);
  tl_tree_init(&t);
  tl_topo *tp = tl_topo_new(mode);
  CHECK(tp != NULL);
  CHECK_INT(fx_load(&b, &t, TRACE, NTRACE, &e), TL_OK);
  CHECK_INT(tl_topo_add(tp, &t, b.spans, &e), TL_OK);
  tl_trace_buf_reset(&b, "", 0); /* names must outlive the trace's buffer */
  CHECK_INT(tl_topo_finish(tp, &e), TL_OK);
  uint32_t n;
  const tl_topo_edge *ed = tl_topo_edges(tp, &n);
  CHECK_INT(n, nw);
  for (int i = 0; i < nw && i < (int)n; i++) {
    CHECK_STR(ed[i].caller, w[i].caller);
    CHECK_STR(ed[i].callee, w[i].callee);
    CHECK_INT(ed[i].calls, w[i].calls);
    CHECK_INT(ed[i].errors, w[i].errors);
    CHECK(ed[i].p50_ns == w[i].p50);
    CHECK(ed[i].p99_ns == w[i].p99);
  }
  tl_topo_free(tp);
  tl_tree_free(&t);
  tl_trace_buf_free(&b);
}

TEST(req1_req3_req4_req5_jaeger_mode) {
  /* web->api: the shared server half (76 ns, error) and the consumer under
  ** the producer (16 ns); p50 = 16 + 60 * 0.5, p99 = 16 + 60 * 0.99. */
  want w[] = {{"api", "db", 1, 0, 36, 36},
              {"web", "api", 2, 1, 46, 16 + 60 * 0.99},
              {"web", "worker", 1, 0, 9, 9}};
  check(TL_TOPO_JAEGER, w, 3);
}

TEST(req2_req3_req4_req5_zipkin_mode) {
  want w[] = {{"api", "cache", 1, 0, 9, 9},   /* leaf client to peer.service */
              {"api", "db", 1, 1, 36, 36},    /* split RPC: the client's error */
              {"api", "search", 1, 0, 1, 1},  /* no kind, both services: a client */
              {"kafka", "api", 1, 0, 16, 16}, /* broker -> consumer */
              {"web", "api", 1, 1, 76, 76},   /* shared server half */
              {"web", "kafka", 1, 0, 1, 1},   /* producer -> broker */
              {"web", "orphan-svc", 1, 0, 5, 5}, /* orphans hang below the root */
              {"web", "worker", 1, 0, 9, 9},  /* backfilled, never an error */
              {"worker", "mq", 1, 0, 9, 9}};
  check(TL_TOPO_ZIPKIN, w, 9);
}

TEST(req4_percentiles_interpolate_like_sqlite_percentile) {
  /* 4 calls web->api of 10, 20, 30, 40 ns: p50 at 1.5 -> 25, p99 at 2.97 -> 39.7. */
  fx_span s[] = {{"r", NULL, 0, 100, "web", NULL, 0, NULL, NULL, NULL},
                 {"a", "r", 0, 10, "api", NULL, 0, NULL, NULL, NULL},
                 {"b", "r", 0, 40, "api", NULL, 1, NULL, NULL, NULL},
                 {"c", "r", 0, 30, "api", NULL, 0, NULL, NULL, NULL},
                 {"d", "r", 0, 20, "api", NULL, 1, NULL, NULL, NULL}};
  tl_trace_buf b;
  tl_tree t;
  tl_err e;
  tl_err_clear(&e);
  tl_trace_buf_init(&b);
  tl_tree_init(&t);
  tl_topo *tp = tl_topo_new(TL_TOPO_JAEGER);
  CHECK_INT(fx_load(&b, &t, s, 5, &e), TL_OK);
  CHECK_INT(tl_topo_add(tp, &t, b.spans, &e), TL_OK);
  CHECK_INT(tl_topo_add(tp, &t, b.spans, &e), TL_OK); /* the same trace twice */
  CHECK_INT(tl_topo_finish(tp, &e), TL_OK);
  uint32_t n;
  const tl_topo_edge *ed = tl_topo_edges(tp, &n);
  CHECK_INT(n, 1);
  CHECK_INT(ed[0].calls, 8);
  CHECK_INT(ed[0].errors, 4);
  CHECK(ed[0].p50_ns == 25.0);
  CHECK(ed[0].p99_ns == 40.0); /* position 6.93 of 8: 40 + 0 */
  tl_buf dot;
  tl_buf_init(&dot);
  CHECK_INT(tl_topo_dot(tp, &dot), TL_OK);
  CHECK_STR(tl_buf_cstr(&dot),
            "digraph topology {\n"
            "  rankdir=LR;\n"
            "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eef2f8\", fontname=\"Helvetica\"];\n"
            "  edge [fontname=\"Helvetica\", fontsize=10];\n"
            "  \"web\" -> \"api\" [label=\"8 calls\\n50.0% errors\", color=\"#c0392b\", fontcolor=\"#c0392b\"];\n"
            "}\n");
  tl_buf_free(&dot);
  tl_topo_free(tp);
  tl_tree_free(&t);
  tl_trace_buf_free(&b);
}

static int cmp_ll(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return (x > y) - (x < y);
}

/* SQLite percentile()'s interpolation on a sorted copy: the reference. */
static double sorted_pct(const long long *v, int n, double p) {
  double pos = (n - 1) * p;
  int lo = (int)pos;
  if (lo + 1 >= n) return (double)v[n - 1];
  return (double)v[lo] + ((double)v[lo + 1] - (double)v[lo]) * (pos - lo);
}

TEST(req4_selection_matches_a_sort) {
  /* One edge web->api per round, n calls with durations drawn from few
  ** values (runs of equal keys), from many (distinct), ascending and
  ** descending: p50 and p99 by selection equal those of a sorted copy. */
  static const int sizes[] = {1, 2, 3, 7, 100, 101, 1000, 5001};
  char ids[5002][12];
  fx_span s[5002];
  long long d[5001];
  uint64_t x = 88172645463325252ull;
  for (int shape = 0; shape < 4; shape++) {
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
      int n = sizes[k];
      memset(s, 0, sizeof s);
      s[0] = (fx_span){"r", NULL, 0, 1000000, "web", NULL, 0, NULL, NULL, NULL};
      for (int i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        d[i] = shape == 0 ? (long long)(x % 5) : shape == 1 ? (long long)(x % 1000003)
             : shape == 2 ? i : n - i;
        snprintf(ids[i], sizeof ids[i], "%x", i + 1);
        s[i + 1] = (fx_span){ids[i], "r", 0, d[i], "api", NULL, 0, NULL, NULL, NULL};
      }
      tl_trace_buf b;
      tl_tree t;
      tl_err e;
      tl_err_clear(&e);
      tl_trace_buf_init(&b);
      tl_tree_init(&t);
      tl_topo *tp = tl_topo_new(TL_TOPO_JAEGER);
      CHECK_INT(fx_load(&b, &t, s, n + 1, &e), TL_OK);
      CHECK_INT(tl_topo_add(tp, &t, b.spans, &e), TL_OK);
      CHECK_INT(tl_topo_finish(tp, &e), TL_OK);
      uint32_t ne;
      const tl_topo_edge *ed = tl_topo_edges(tp, &ne);
      qsort(d, (size_t)n, sizeof *d, cmp_ll);
      CHECK_INT(ne, 1);
      if (ne == 1) {
        CHECK(ed[0].p50_ns == sorted_pct(d, n, 0.5));
        CHECK(ed[0].p99_ns == sorted_pct(d, n, 0.99));
      }
      tl_topo_free(tp);
      tl_tree_free(&t);
      tl_trace_buf_free(&b);
    }
  }
}

TEST(modes_parse) {
  CHECK_INT(tl_topo_mode("jaeger", 6), TL_TOPO_JAEGER);
  CHECK_INT(tl_topo_mode("ZIPKIN", 6), TL_TOPO_ZIPKIN);
  CHECK_INT(tl_topo_mode("otel", 4), -1);
}

int main(void) {
  RUN(req1_req3_req4_req5_jaeger_mode);
  RUN(req2_req3_req4_req5_zipkin_mode);
  RUN(req4_percentiles_interpolate_like_sqlite_percentile);
  RUN(req4_selection_matches_a_sort);
  RUN(modes_parse);
  return UNIT_DONE();
}
