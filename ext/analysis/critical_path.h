/*
** critical_path.h — what made a trace slow: the critical path of a span
** tree, as the Jaeger UI computes it (the reference users compare with).
**
** Plain C on a tl_tree (trace_tree.h).  The SQL faces are in
** critical_path_sql.c: the table-valued trace_critical_path(table, trace_id)
** and the aggregate critical_path(span_id, parent_span_id, start_ns, end_ns
** [, kind]).  docs/analysis.md shows both with examples.
**
** The contract (each requirement is cited in critical_path.c and tested in
** tests/unit/test_critical_path.c and tests/py/test_analysis.py):
**
**  (1) Each root of the tree (trace_tree.h: true roots, orphans whose
**      parent is missing, spans where a cycle was cut) has its own path,
**      computed on its subtree; roots are taken by start time.
**  (2) The sections of one root tile that root: they are contiguous, do not
**      overlap, and run from the root's start to its end, in time order.
**      Sections of zero length are left out, except that a root of zero
**      duration has one zero-length section, so that every root appears.
**  (3) A child running past its parent is clipped to the parent (after the
**      parent itself was clipped to its own parent); a child wholly outside
**      its parent (starting at or after the parent's end, or ending at or
**      before its start) is dropped with its subtree.  No clock-skew
**      correction is made: skewed children are clipped or dropped.
**  (4) Asynchronous children (TL_TREE_ASYNC: follows-from work, a CONSUMER
**      under a PRODUCER) never block their parent: they and their subtrees
**      are left out.
**  (5) The path walks back from the end of a span: its last-finishing child
**      (latest end; on equal ends the one that started first) is on the
**      path; the span owns the time between that child's end and the end
**      of the window being explained.  After the child's own path, the walk
**      returns to the parent at the child's start and looks for the child
**      that finished strictly before that instant (a child ending exactly
**      when the later one starts did not block it, as in the Jaeger UI); a
**      span with no such child owns the time back to its own start.
**  (6) Each section names one span and carries that span's depth in the
**      tree (roots 0) and the index of its root.
**  (7) Memory and time: O(n log n) for n spans, no recursion, so traces of
**      100,000 spans and chains of that depth are handled in milliseconds.
*/
#ifndef TL_CRITICAL_PATH_H
#define TL_CRITICAL_PATH_H

#include "trace_tree.h"

typedef struct tl_cp_section {
  uint32_t span;   /* index into the spans */
  uint32_t root;   /* index of the root whose path this is */
  int64_t start_ns, end_ns;
} tl_cp_section;

/* A critical path computation; buffers are kept between traces. */
typedef struct tl_cp {
  tl_cp_section *sec;
  uint32_t n, cap;
  /* private */
  int64_t *cs, *ce;  /* clipped start and end */
  uint32_t *kids, *kid_end, *cursor, *tmp;
  int64_t *key;
  uint8_t *alive;
  uint32_t work_cap;
} tl_cp;

void tl_cp_init(tl_cp *cp);
void tl_cp_free(tl_cp *cp);
/* Computes the sections of every root of t (built from spans) into
** cp->sec[0..cp->n), roots in order, each root's sections in time order.
** TL_OK or TL_ENOMEM. */
int tl_critical_path(tl_cp *cp, const tl_tree *t, const tl_tspan *spans, tl_err *e);

#endif
