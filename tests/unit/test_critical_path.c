/*
** test_critical_path.c — the critical path (ext/analysis/critical_path.h):
** one test per Requirement 1..7, with the Jaeger UI's own test cases
** (jaeger-ui CriticalPath/testCases test1, test3, test4, test6, test8, test9)
** transcribed by hand: same spans, same expected sections (in time order).
*/
#include <stdlib.h>
#include <time.h>

#include "../../ext/analysis/critical_path.h"
#include "analysis_fixture.h"
#include "unit.h"

static tl_trace_buf B;
static tl_tree T;
static tl_cp CP;
static tl_err E;

typedef struct want {
  const char *id;
  long long start, end;
} want;

/* Computes the path of s and compares it with w[0..nw). */
static void check_path(const fx_span *s, int n, const want *w, int nw) {
  tl_err_clear(&E);
  CHECK_INT(fx_load(&B, &T, s, n, &E), TL_OK);
  CHECK_INT(tl_critical_path(&CP, &T, B.spans, &E), TL_OK);
  CHECK_INT(CP.n, nw);
  for (int i = 0; i < nw && i < (int)CP.n; i++) {
    const tl_tspan *x = &B.spans[CP.sec[i].span];
    CHECK_TLSTR(x->id_text, w[i].id);
    CHECK_INT(CP.sec[i].start_ns, w[i].start);
    CHECK_INT(CP.sec[i].end_ns, w[i].end);
  }
}

#define SPAN(id, parent, start, end) {id, parent, start, end, "svc", NULL, 0, NULL, NULL, NULL}

TEST(req5_jaeger_test1_walks_back_through_last_finishing_children) {
  fx_span s[] = {SPAN("span-E", "span-C", 50, 60), SPAN("span-C", NULL, 1, 101),
                 SPAN("span-D", "span-C", 20, 40)};
  want w[] = {{"span-C", 1, 20}, {"span-D", 20, 40}, {"span-C", 40, 50},
              {"span-E", 50, 60}, {"span-C", 60, 101}};
  check_path(s, 3, w, 5);
}

TEST(req3_jaeger_test3_child_after_parent_end_is_dropped) {
  fx_span s[] = {SPAN("006c3cf93508f205", NULL, 1679437737490189, 1679437737490225),
                 SPAN("2dc4b796e2127e32", "006c3cf93508f205", 1679437737491529,
                      1679437737491529 + 79182)};
  want w[] = {{"006c3cf93508f205", 1679437737490189, 1679437737490225}};
  check_path(s, 2, w, 1);
}

TEST(req3_jaeger_test4_dropped_child_takes_its_subtree) {
  fx_span s[] = {SPAN("span-A", NULL, 1, 31), SPAN("span-B", "span-A", 40, 80),
                 SPAN("span-c", "span-B", 50, 60)};
  want w[] = {{"span-A", 1, 31}};
  check_path(s, 3, w, 1);
}

TEST(req3_jaeger_test6_grandchild_clipped_to_clipped_parent) {
  fx_span s[] = {SPAN("span-A", NULL, 1, 30), SPAN("span-B", "span-A", 15, 35),
                 SPAN("span-C", "span-B", 10, 25)};
  want w[] = {{"span-A", 1, 15}, {"span-C", 15, 25}, {"span-B", 25, 30}};
  check_path(s, 3, w, 3);
}

TEST(req3_jaeger_test8_child_wider_than_parent_is_clipped) {
  fx_span s[] = {SPAN("span-A", NULL, 10, 30), SPAN("span-B", "span-A", 5, 35)};
  want w[] = {{"span-B", 10, 30}};
  check_path(s, 2, w, 1);
}

TEST(req3_jaeger_test9_child_before_parent_is_dropped) {
  fx_span s[] = {SPAN("span-A", NULL, 10, 30), SPAN("span-B", "span-A", 1, 5)};
  want w[] = {{"span-A", 10, 30}};
  check_path(s, 2, w, 1);
}

TEST(req4_async_children_do_not_block) {
  fx_span s[] = {{"p", NULL, 0, 100, "a", "PRODUCER", 0, NULL, NULL, NULL},
                 {"c", "p", 10, 200, "b", "CONSUMER", 0, NULL, NULL, NULL},
                 {"w", "p", 20, 40, "a", "CLIENT", 0, NULL, NULL, NULL},
                 {"f", NULL, 50, 90, "b", NULL, 0, NULL,
                  "[{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"p\"}]", NULL}};
  want w[] = {{"p", 0, 20}, {"w", 20, 40}, {"p", 40, 100}};
  check_path(s, 4, w, 3);
}

TEST(req5_touching_and_overlapping_children) {
  /* B ends exactly when C starts: it did not block C (strictly before). */
  fx_span s[] = {SPAN("a", NULL, 0, 60), SPAN("b", "a", 10, 30), SPAN("c", "a", 30, 50)};
  want w[] = {{"a", 0, 30}, {"c", 30, 50}, {"a", 50, 60}};
  check_path(s, 3, w, 3);
  /* Equal ends: the one that started first is on the path. */
  fx_span s2[] = {SPAN("a", NULL, 0, 60), SPAN("late", "a", 20, 50), SPAN("early", "a", 10, 50)};
  want w2[] = {{"a", 0, 10}, {"early", 10, 50}, {"a", 50, 60}};
  check_path(s2, 3, w2, 3);
}

TEST(req1_req2_req6_each_root_is_tiled) {
  fx_span s[] = {SPAN("r1", NULL, 0, 50), SPAN("x", "r1", 10, 20),
                 SPAN("o", "missing", 5, 25), SPAN("y", "o", 5, 25),
                 SPAN("z", NULL, 70, 70)};
  want w[] = {{"r1", 0, 10}, {"x", 10, 20}, {"r1", 20, 50}, {"y", 5, 25}, {"z", 70, 70}};
  check_path(s, 5, w, 5);
  CHECK_INT(CP.sec[1].root, 0);
  CHECK_INT(T.depth[CP.sec[1].span], 1);
  CHECK_INT(CP.sec[3].root, 2);
  CHECK_INT(T.depth[CP.sec[3].span], 1);
  CHECK_INT(CP.sec[4].root, 4);
  /* Tiling: within each root, contiguous from its start to its end. */
  for (uint32_t i = 1; i < CP.n; i++)
    if (CP.sec[i].root == CP.sec[i - 1].root) CHECK(CP.sec[i].start_ns == CP.sec[i - 1].end_ns);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST(req7_huge_traces_in_milliseconds) {
  enum { N = 100000 };
  fx_span *s = calloc(N, sizeof *s);
  char (*ids)[12] = calloc(N, sizeof *ids);
  /* Wide: one root, N-1 sequential children with gaps. */
  for (int i = 0; i < N; i++) {
    snprintf(ids[i], sizeof ids[i], "%x", i + 1);
    s[i] = (fx_span)SPAN(ids[i], i ? ids[0] : NULL, i ? 10LL * i : 0, i ? 10LL * i + 5 : 10LL * N);
  }
  double t0 = now();
  tl_err_clear(&E);
  CHECK_INT(fx_load(&B, &T, s, N, &E), TL_OK);
  CHECK_INT(tl_critical_path(&CP, &T, B.spans, &E), TL_OK);
  double wide = now() - t0;
  CHECK_INT(CP.n, 2 * (N - 1) + 1);
  long long total = 0;
  for (uint32_t i = 0; i < CP.n; i++) total += CP.sec[i].end_ns - CP.sec[i].start_ns;
  CHECK_INT(total, 10LL * N);
  /* Deep: a chain, each child ending 1 ns before its parent. */
  for (int i = 0; i < N; i++)
    s[i] = (fx_span)SPAN(ids[i], i ? ids[i - 1] : NULL, i, 2LL * N - i);
  t0 = now();
  tl_err_clear(&E);
  CHECK_INT(fx_load(&B, &T, s, N, &E), TL_OK);
  CHECK_INT(tl_critical_path(&CP, &T, B.spans, &E), TL_OK);
  double deep = now() - t0;
  CHECK_INT(CP.n, 2 * N - 1);
  printf("# 100,000 spans: wide %.1f ms, deep %.1f ms\n", wide * 1e3, deep * 1e3);
  CHECK(wide < 1.0 && deep < 1.0);
  free(s);
  free(ids);
}

int main(void) {
  if (tl_trace_buf_init(&B)) return 1;
  tl_tree_init(&T);
  tl_cp_init(&CP);
  RUN(req5_jaeger_test1_walks_back_through_last_finishing_children);
  RUN(req3_jaeger_test3_child_after_parent_end_is_dropped);
  RUN(req3_jaeger_test4_dropped_child_takes_its_subtree);
  RUN(req3_jaeger_test6_grandchild_clipped_to_clipped_parent);
  RUN(req3_jaeger_test8_child_wider_than_parent_is_clipped);
  RUN(req3_jaeger_test9_child_before_parent_is_dropped);
  RUN(req4_async_children_do_not_block);
  RUN(req5_touching_and_overlapping_children);
  RUN(req1_req2_req6_each_root_is_tiled);
  RUN(req7_huge_traces_in_milliseconds);
  tl_cp_free(&CP);
  tl_tree_free(&T);
  tl_trace_buf_free(&B);
  return UNIT_DONE();
}
