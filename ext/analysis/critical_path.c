/*
** critical_path.c — the critical path of a span tree (contract in
** critical_path.h, Requirements 1-7).
**
** Three passes per trace, none recursive:
**   1. clip: in depth-first order (parents before children) each span is
**      clipped to its parent's clipped interval or dropped (Requirement 3),
**      asynchronous spans are dropped (Requirement 4);
**   2. for every kept span, its kept children sorted by clipped end,
**      latest first (Requirement 5's order);
**   3. the walk of Requirement 5 as a loop over (span, window end), with a
**      cursor per span into its sorted children: the window end only moves
**      back in time, so each child is passed over once, O(n) in all.
** Sections come out latest first; each root's run is reversed at the end.
*/
#include "critical_path.h"

#include <stdlib.h>
#include <string.h>

void tl_cp_init(tl_cp *cp) { memset(cp, 0, sizeof *cp); }

void tl_cp_free(tl_cp *cp) {
  free(cp->sec);
  free(cp->cs);
  free(cp->ce);
  free(cp->kids);
  free(cp->kid_end);
  free(cp->cursor);
  free(cp->tmp);
  free(cp->key);
  free(cp->alive);
  memset(cp, 0, sizeof *cp);
}

static int grow_work(tl_cp *cp, uint32_t n) {
  if (n <= cp->work_cap) return TL_OK;
  size_t m = n + 1;
#define GROW(f, size)                                   \
  do {                                                  \
    void *p = realloc(cp->f, m * (size));               \
    if (!p) return TL_ENOMEM;                           \
    cp->f = p;                                          \
  } while (0)
  GROW(cs, sizeof(int64_t));
  GROW(ce, sizeof(int64_t));
  GROW(key, sizeof(int64_t));
  GROW(kids, sizeof(uint32_t));
  GROW(kid_end, sizeof(uint32_t));
  GROW(cursor, sizeof(uint32_t));
  GROW(tmp, sizeof(uint32_t));
  GROW(alive, 1);
#undef GROW
  cp->work_cap = n;
  return TL_OK;
}

static int emit(tl_cp *cp, uint32_t span, uint32_t root, int64_t start, int64_t end) {
  if (cp->n == cp->cap) {
    uint32_t cap = cp->cap ? cp->cap * 2 : 64;
    tl_cp_section *p = realloc(cp->sec, (size_t)cap * sizeof *p);
    if (!p) return TL_ENOMEM;
    cp->sec = p;
    cp->cap = cap;
  }
  cp->sec[cp->n++] = (tl_cp_section){span, root, start, end};
  return TL_OK;
}

/* Requirement 3 and 4, in depth-first order so parents come first. */
static void clip(tl_cp *cp, const tl_tree *t, const tl_tspan *s) {
  for (uint32_t k = 0; k < t->n_order; k++) {
    uint32_t i = t->order[k];
    int32_t p = t->parent[i];
    cp->alive[i] = 0;
    if (p < 0) {
      cp->cs[i] = s[i].start_ns;
      cp->ce[i] = s[i].end_ns;
      cp->alive[i] = 1;
      continue;
    }
    if (!cp->alive[p] || (t->flags[i] & TL_TREE_ASYNC)) continue;
    int64_t ps = cp->cs[p], pe = cp->ce[p], cs = s[i].start_ns, ce = s[i].end_ns;
    if (cs >= ps ? cs >= pe : ce <= ps) continue; /* wholly outside */
    cp->cs[i] = cs < ps ? ps : cs;
    cp->ce[i] = ce > pe ? pe : ce;
    cp->alive[i] = 1;
  }
}

/* The kept children of every kept span, latest end first. */
static void sort_children(tl_cp *cp, const tl_tree *t) {
  uint32_t m = 0;
  for (uint32_t k = 0; k < t->n_order; k++) {
    uint32_t u = t->order[k];
    cp->kid_end[u] = m;
    cp->cursor[u] = m;
    if (!cp->alive[u]) continue;
    uint32_t from = m;
    for (uint32_t c = t->child_at[u]; c < t->child_at[u + 1]; c++)
      if (cp->alive[t->child[c]]) cp->kids[m++] = t->child[c];
    /* Children are in start order: the stable sort keeps the earlier
    ** starter first among equal ends (Requirement 5). */
    tl_tree_sort(cp->kids + from, m - from, cp->ce, 1, cp->tmp);
    cp->kid_end[u] = m;
  }
}

int tl_critical_path(tl_cp *cp, const tl_tree *t, const tl_tspan *s, tl_err *e) {
  cp->n = 0;
  if (grow_work(cp, t->n)) return tl_err_set(e, TL_ENOMEM, "out of memory");
  clip(cp, t, s);
  sort_children(cp, t);
  for (uint32_t r = 0; r < t->n_roots; r++) { /* Requirement 1 */
    uint32_t root = t->roots[r], cur = root, first = cp->n;
    int64_t window_end = cp->ce[root];
    for (;;) {
      /* Requirement 5: the child finishing last, strictly before the
      ** window end unless this is the span's own end. */
      uint32_t end = cp->kid_end[cur], lfc = UINT32_MAX;
      int returning = window_end < cp->ce[cur];
      while (cp->cursor[cur] < end) {
        uint32_t c = cp->kids[cp->cursor[cur]];
        if (!returning || cp->ce[c] < window_end) {
          lfc = c;
          break;
        }
        cp->cursor[cur]++;
      }
      if (lfc != UINT32_MAX) {
        cp->cursor[cur]++;
        if (cp->ce[lfc] < window_end && emit(cp, cur, root, cp->ce[lfc], window_end)) goto nomem;
        cur = lfc;
        window_end = cp->ce[lfc];
        continue;
      }
      if (cp->cs[cur] < window_end && emit(cp, cur, root, cp->cs[cur], window_end)) goto nomem;
      if (cur == root) break;
      window_end = cp->cs[cur];
      cur = (uint32_t)t->parent[cur];
    }
    /* Requirement 2: a zero-length root still appears; time order. */
    if (cp->n == first && emit(cp, root, root, cp->cs[root], cp->ce[root])) goto nomem;
    for (uint32_t a = first, b = cp->n - 1; a < b; a++, b--) {
      tl_cp_section x = cp->sec[a];
      cp->sec[a] = cp->sec[b];
      cp->sec[b] = x;
    }
  }
  return TL_OK;
nomem:
  return tl_err_set(e, TL_ENOMEM, "out of memory");
}
