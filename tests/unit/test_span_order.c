/*
** test_span_order.c — the time order of span_order.c, which the relational
** and columnar codecs both compute from parent references and never store:
** a change in it would still round-trip (encoder and decoder share it) yet
** misread every block written before.  So the order, each span's parent,
** previous span of its trace and previous sibling are checked here against
** small forests worked out by hand, cycles and orphans included, and the
** trace members against a hand-worked interleaving.
*/
#include "../../ext/codec/codec_internal.h"
#include "unit.h"

#include <string.h>

#define N 7

/* Exporter order (children before parents), two traces:
**   trace 0: 2 is the root, 0 and 1 its children, 3 a child of 0
**   trace 1: 4 a root, 5 and 6 each other's parent (duplicate span ids
**   make such cycles possible), which the second pass starts at 5. */
static const int64_t forest_par[N] = {2, 2, -1, 0, -1, 6, 5};
static const uint32_t forest_tix[N] = {0, 0, 0, 0, 1, 1, 1};

static void check_forest(tl_span_order *o) {
  static const uint32_t order[N] = {2, 0, 1, 3, 4, 5, 6};
  static const int64_t pref[N] = {2, 2, -1, 0, -1, -1, 5};
  static const int64_t same[N] = {2, 0, -1, 1, -1, 4, 5};
  static const int64_t sib[N] = {-1, 0, -1, -1, -1, -1, -1};
  CHECK(tl_span_order_plan(o, forest_par, forest_tix, N) == TL_OK);
  CHECK_INT(o->n, N);
  for (size_t i = 0; i < N; i++) {
    CHECK_INT(o->order[i], order[i]);
    CHECK_INT(o->pref[i], pref[i]);
    CHECK_INT(o->same[i], same[i]);
    CHECK_INT(o->sib[i], sib[i]);
  }
}

TEST(order_of_a_hand_worked_forest) {
  tl_span_order o;
  memset(&o, 0, sizeof o);
  check_forest(&o);
  tl_span_order_free(&o);
}

/* Siblings: a parent places its children in block order, one after the
** other, each the next one's previous sibling; a grandchild comes after
** every child (breadth first). */
TEST(siblings_in_block_order) {
  static const int64_t par[5] = {-1, 0, 0, 1, 0};
  static const uint32_t tix[5] = {0, 0, 0, 0, 0};
  static const uint32_t order[5] = {0, 1, 2, 4, 3};
  static const int64_t sib[5] = {-1, -1, 1, -1, 2};
  static const int64_t same[5] = {-1, 0, 1, 4, 2};
  tl_span_order o;
  memset(&o, 0, sizeof o);
  CHECK(tl_span_order_plan(&o, par, tix, 5) == TL_OK);
  for (size_t i = 0; i < 5; i++) {
    CHECK_INT(o.order[i], order[i]);
    CHECK_INT(o.sib[i], sib[i]);
    CHECK_INT(o.same[i], same[i]);
  }
  tl_span_order_free(&o);
}

/* The scratch grows and is reused: an empty block, a large one, then the
** forest again gives the same answer as on a fresh state. */
TEST(state_is_reused_across_blocks) {
  enum { BIG = 5000 };
  static int64_t par[BIG];
  static uint32_t tix[BIG];
  for (size_t i = 0; i < BIG; i++) {
    par[i] = (int64_t)i - 1; /* one chain */
    tix[i] = 0;
  }
  tl_span_order o;
  memset(&o, 0, sizeof o);
  CHECK(tl_span_order_plan(&o, par, tix, 0) == TL_OK);
  CHECK_INT(o.n, 0);
  CHECK(tl_span_order_plan(&o, par, tix, BIG) == TL_OK);
  CHECK_INT(o.order[BIG - 1], BIG - 1);
  CHECK_INT(o.same[BIG - 1], BIG - 2);
  check_forest(&o);
  tl_span_order_free(&o);
}

TEST(trace_members_of_interleaved_traces) {
  static const uint32_t tix[5] = {1, 0, 1, 0, 0};
  uint32_t rank[5], members[5], tstart[3];
  static const uint32_t want_rank[5] = {0, 0, 1, 1, 2};
  static const uint32_t want_members[5] = {1, 3, 4, 0, 2};
  static const uint32_t want_tstart[3] = {0, 3, 5};
  tl_trace_members(tix, 5, 2, rank, members, tstart);
  for (size_t i = 0; i < 5; i++) {
    CHECK_INT(rank[i], want_rank[i]);
    CHECK_INT(members[i], want_members[i]);
  }
  for (size_t t = 0; t < 3; t++) CHECK_INT(tstart[t], want_tstart[t]);
}

int main(void) {
  RUN(order_of_a_hand_worked_forest);
  RUN(siblings_in_block_order);
  RUN(state_is_reused_across_blocks);
  RUN(trace_members_of_interleaved_traces);
  return UNIT_DONE();
}
