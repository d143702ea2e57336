/*
** test_trace_tree.c — the span tree (ext/analysis/trace_tree.h): one test
** per rule Tree 1..8 on hand-written traces, plus the reader's errors.
*/
#include <stdlib.h>

#include "analysis_fixture.h"
#include "unit.h"

static tl_trace_buf B;
static tl_tree T;
static tl_err E;

static int load(const fx_span *s, int n) {
  tl_err_clear(&E);
  return fx_load(&B, &T, s, n, &E);
}

TEST(tree1_ids_are_opaque_keys) {
  CHECK(tl_tree_key("00F0", 4, 0) == 0xf0);
  CHECK(tl_tree_key("f0", 2, 0) == 0xf0);
  CHECK(tl_tree_key("0000000000000000", 16, 0) == 0);
  CHECK(tl_tree_key("00000000000000000000000000000000", 32, 0) == 0);
  CHECK(tl_tree_key("", 0, 0) == 0);
  CHECK(tl_tree_key("\x00\x00\x00\x00\x00\x00\x01\x02", 8, 1) == 0x102);
  uint64_t a = tl_tree_key("span-A", 6, 0), b = tl_tree_key("span-B", 6, 0);
  CHECK(a && b && a != b);
  /* Upper-case hex parent finds a lower-case id. */
  fx_span s[] = {{"00f067aa0ba902b7", NULL, 0, 10, "a", NULL, 0, NULL, NULL, NULL},
                 {"b9c7c989f97918e1", "00F067AA0BA902B7", 1, 5, "a", NULL, 0, NULL, NULL, NULL}};
  CHECK_INT(load(s, 2), TL_OK);
  CHECK_INT(T.parent[1], 0);
  CHECK_INT(T.n_roots, 1);
}

TEST(tree2_missing_parent_makes_an_orphan_root) {
  fx_span s[] = {{"a", NULL, 0, 10, "s", NULL, 0, NULL, NULL, NULL},
                 {"b", "ff", 2, 4, "s", NULL, 0, NULL, NULL, NULL},
                 {"c", "b", 3, 4, "s", NULL, 0, NULL, NULL, NULL}};
  CHECK_INT(load(s, 3), TL_OK);
  CHECK_INT(T.parent[1], -1);
  CHECK_INT(T.flags[1], TL_TREE_ORPHAN);
  CHECK_INT(T.n_roots, 2);
  CHECK_INT(T.roots[0], 0);
  CHECK_INT(T.roots[1], 1);
  CHECK_INT(T.depth[2], 1);
  CHECK_INT(T.parent[2], 1);
}

TEST(tree3_link_into_the_trace_makes_an_async_child) {
  fx_span s[] = {
      {"1", NULL, 0, 10, "s", NULL, 0, NULL, NULL, NULL},
      {"2", NULL, 20, 30, "t", NULL, 0,  NULL,
       "[{\"traceId\":\"0AF7651916CD43DD8448EB211C80319C\",\"spanId\":\"0000000000000001\"}]", NULL},
      {"3", NULL, 40, 50, "t", NULL, 0, NULL,
       "[{\"traceId\":\"ffffffffffffffffffffffffffffffff\",\"spanId\":\"0000000000000001\"}]", NULL},
      {"4", NULL, 60, 70, "t", NULL, 0, NULL, "not json", NULL}};
  CHECK_INT(load(s, 4), TL_OK);
  CHECK_INT(T.parent[1], 0);
  CHECK_INT(T.flags[1], TL_TREE_FOLLOWS | TL_TREE_ASYNC);
  CHECK_INT(T.parent[2], -1); /* a link into another trace is no parent */
  CHECK_INT(T.parent[3], -1);
  CHECK_INT(T.n_roots, 3);
}

TEST(tree4_consumer_under_producer_is_async) {
  fx_span s[] = {{"1", NULL, 0, 10, "s", "PRODUCER", 0, NULL, NULL, NULL},
                 {"2", "1", 5, 30, "t", "CONSUMER", 0, NULL, NULL, NULL},
                 {"3", NULL, 0, 10, "s", "SERVER", 0, NULL, NULL, NULL},
                 {"4", "3", 5, 9, "t", "CONSUMER", 0, NULL, NULL, NULL}};
  CHECK_INT(load(s, 4), TL_OK);
  CHECK_INT(T.flags[1], TL_TREE_ASYNC);
  CHECK_INT(T.flags[3], 0);
}

TEST(tree5_shared_ids_fragments_and_duplicates) {
  fx_span s[] = {{"r", NULL, 0, 100, "web", "SERVER", 0, NULL, NULL, NULL},
                 {"x", "r", 10, 90, "web", "CLIENT", 0, NULL, NULL, NULL},
                 {"x", "r", 12, 88, "api", "SERVER", 0, NULL, NULL, NULL},  /* shared half */
                 {"x", "r", 0, 0, "api", NULL, 0, NULL, NULL, NULL},        /* bare fragment */
                 {"d", "r", 20, 30, "web", NULL, 0, NULL, NULL, NULL},
                 {"d", "r", 40, 50, "web", NULL, 0, NULL, NULL, NULL},      /* duplicate id */
                 {"e", "d", 21, 22, "web", NULL, 0, NULL, NULL, NULL}};
  CHECK_INT(load(s, 7), TL_OK);
  CHECK_INT(T.parent[2], 1);
  CHECK_INT(T.flags[2], TL_TREE_SHARED);
  CHECK_INT(T.flags[3], TL_TREE_MERGED);
  CHECK_INT(T.parent[3], -1);
  CHECK_INT(T.n_order, 6); /* the fragment is in no list */
  CHECK_INT(T.flags[5], TL_TREE_DUPLICATE);
  CHECK_INT(T.parent[5], 0);
  CHECK_INT(T.parent[6], 4); /* children go to the first span of the id */
  CHECK_INT(T.depth[2], 2);
}

TEST(tree6_child_of_shared_id_goes_to_the_server_of_its_service) {
  fx_span s[] = {{"r", NULL, 0, 100, "web", "SERVER", 0, NULL, NULL, NULL},
                 {"x", "r", 10, 90, "web", "CLIENT", 0, NULL, NULL, NULL},
                 {"x", "r", 12, 88, "api", "SERVER", 0, NULL, NULL, NULL},
                 {"x", "r", 13, 87, "db", "SERVER", 0, NULL, NULL, NULL},
                 {"a", "x", 20, 30, "db", NULL, 0, NULL, NULL, NULL},
                 {"b", "x", 30, 40, "api", NULL, 0, NULL, NULL, NULL},
                 {"c", "x", 40, 50, "web", NULL, 0, NULL, NULL, NULL}};
  CHECK_INT(load(s, 7), TL_OK);
  CHECK_INT(T.parent[4], 3);
  CHECK_INT(T.parent[5], 2);
  CHECK_INT(T.parent[6], 1); /* no server half of its service: the owner */
}

TEST(tree7_cycles_are_cut) {
  fx_span s[] = {{"a", "b", 0, 10, "s", NULL, 0, NULL, NULL, NULL},
                 {"b", "a", 1, 9, "s", NULL, 0, NULL, NULL, NULL},
                 {"c", "c", 2, 3, "s", NULL, 0, NULL, NULL, NULL}};
  CHECK_INT(load(s, 3), TL_OK);
  CHECK_INT(T.n_roots, 2);
  CHECK_INT(T.parent[0], -1);
  CHECK_INT(T.flags[0], TL_TREE_CYCLE);
  CHECK_INT(T.parent[1], 0);
  CHECK_INT(T.parent[2], -1);
  CHECK_INT(T.flags[2], TL_TREE_CYCLE);
  CHECK_INT(T.n_order, 3);
}

TEST(tree8_order_by_start_then_input_and_negative_durations) {
  fx_span s[] = {{"r2", NULL, 5, 6, "s", NULL, 0, NULL, NULL, NULL},
                 {"r1", NULL, 0, 100, "s", NULL, 0, NULL, NULL, NULL},
                 {"c", "r1", 30, 20, "s", NULL, 0, NULL, NULL, NULL},
                 {"a", "r1", 10, 40, "s", NULL, 0, NULL, NULL, NULL},
                 {"b", "r1", 10, 15, "s", NULL, 0, NULL, NULL, NULL}};
  CHECK_INT(load(s, 5), TL_OK);
  CHECK_INT(T.roots[0], 1);
  CHECK_INT(T.roots[1], 0);
  CHECK_INT(T.child[T.child_at[1]], 3);
  CHECK_INT(T.child[T.child_at[1] + 1], 4);
  CHECK_INT(T.child[T.child_at[1] + 2], 2);
  CHECK(B.spans[2].end_ns == 30); /* end before start: zero length */
  static const uint32_t order[] = {1, 3, 4, 2, 0};
  for (int i = 0; i < 5; i++) CHECK_INT(T.order[i], order[i]);
}

TEST(tree7_deep_chain_without_recursion) {
  enum { N = 100000 };
  fx_span *s = calloc(N, sizeof *s);
  char (*ids)[12] = calloc(N, sizeof *ids);
  for (int i = 0; i < N; i++) {
    snprintf(ids[i], sizeof ids[i], "%x", i + 1);
    s[i] = (fx_span){ids[i], i ? ids[i - 1] : NULL, i, 2 * N - i, "s", NULL, 0, NULL, NULL, NULL};
  }
  CHECK_INT(load(s, N), TL_OK);
  CHECK_INT(T.depth[N - 1], N - 1);
  CHECK_INT(T.n_roots, 1);
  CHECK_INT(T.order[N - 1], N - 1);
  free(s);
  free(ids);
}

TEST(reader_errors_name_the_column) {
  fx_span s[] = {{NULL, NULL, 0, 1, "s", NULL, 0, NULL, NULL, NULL}};
  CHECK_INT(load(s, 1), TL_EFORMAT);
  CHECK_STR(E.msg, "span_id is NULL or empty");
  tl_trace_buf_reset(&B, "", 0);
  tl_cell c[TL_TC_COUNT];
  memset(c, 0, sizeof c);
  c[TL_TC_SPAN_ID] = fx_text("a");
  c[TL_TC_START] = fx_text("yesterday");
  tl_err_clear(&E);
  CHECK_INT(tl_trace_buf_add(&B, c, &E), TL_EFORMAT);
  CHECK_STR(E.msg, "start_ns is not an integer number of nanoseconds");
  /* NULL end: zero-length at the start; kind as an OTLP integer. */
  c[TL_TC_START] = fx_int(7);
  c[TL_TC_KIND] = fx_int(TL_KIND_CLIENT);
  c[TL_TC_STATUS] = fx_int(TL_STATUS_ERROR);
  tl_err_clear(&E);
  CHECK_INT(tl_trace_buf_add(&B, c, &E), TL_OK);
  CHECK(B.spans[0].end_ns == 7);
  CHECK_INT(B.spans[0].kind, TL_KIND_CLIENT);
  CHECK_INT(B.spans[0].error, 1);
}

int main(void) {
  if (tl_trace_buf_init(&B)) return 1;
  tl_tree_init(&T);
  RUN(tree1_ids_are_opaque_keys);
  RUN(tree2_missing_parent_makes_an_orphan_root);
  RUN(tree3_link_into_the_trace_makes_an_async_child);
  RUN(tree4_consumer_under_producer_is_async);
  RUN(tree5_shared_ids_fragments_and_duplicates);
  RUN(tree6_child_of_shared_id_goes_to_the_server_of_its_service);
  RUN(tree7_cycles_are_cut);
  RUN(tree8_order_by_start_then_input_and_negative_durations);
  RUN(tree7_deep_chain_without_recursion);
  RUN(reader_errors_name_the_column);
  tl_tree_free(&T);
  tl_trace_buf_free(&B);
  return UNIT_DONE();
}
