/*
** span_order.c — the order in which the relational and columnar codecs
** code times (codec_internal.h): parents before their children, so that a
** child's start can be a delta from its parent's.  Exporters often write
** children first (they end first), so block order will not do.
**
** Breadth first from the spans without a parent in the block, in block
** order; then, in block order, every span not reached (one on a cycle of
** parent references, possible with duplicate span ids) starts a tree of
** its own.  Encoder and decoder compute it from the parent references
** alone, which they decode first, so no order is stored.
**
** Also here, because both codecs group spans by trace the same way: the
** members of each trace in block order (the trace codes are inline in
** codec_internal.h).
*/
#include "codec_internal.h"

#include <stdlib.h>
#include <string.h>

void tl_span_order_free(tl_span_order *o) {
  free(o->order);
  free(o->pref);
  free(o->same);
  free(o->sib);
  free(o->first);
  free(o->kids);
  free(o->last);
  memset(o, 0, sizeof *o);
}

static int grow(tl_span_order *o, size_t n) {
  if (n + 1 <= o->cap) return 0;
  size_t cap = o->cap ? o->cap : 1024;
  while (cap < n + 1) cap *= 2;
  uint32_t *order = realloc(o->order, cap * sizeof *order);
  if (order) o->order = order;
  int64_t *pref = realloc(o->pref, cap * sizeof *pref);
  if (pref) o->pref = pref;
  int64_t *same = realloc(o->same, cap * sizeof *same);
  if (same) o->same = same;
  int64_t *sib = realloc(o->sib, cap * sizeof *sib);
  if (sib) o->sib = sib;
  uint32_t *first = realloc(o->first, cap * sizeof *first);
  if (first) o->first = first;
  uint32_t *kids = realloc(o->kids, cap * sizeof *kids);
  if (kids) o->kids = kids;
  uint32_t *last = realloc(o->last, cap * sizeof *last);
  if (last) o->last = last;
  if (!order || !pref || !same || !sib || !first || !kids || !last) return -1;
  o->cap = cap;
  return 0;
}

/* Puts span i next in the order; its trace's previous span is the one
** last[] holds for the trace. */
static inline void place(tl_span_order *o, uint32_t i, uint32_t t, size_t *placed) {
  uint32_t prev = o->last[t];
  o->same[i] = prev == UINT32_MAX ? -1 : (int64_t)prev;
  o->last[t] = i;
  o->order[(*placed)++] = i;
}

int tl_span_order_plan(tl_span_order *o, const int64_t *par, const uint32_t *tix, size_t n) {
  if (grow(o, n)) return TL_ENOMEM;
  int64_t *pref = o->pref, *sib = o->sib;
  uint32_t *order = o->order, *first = o->first, *kids = o->kids;
  /* Children of each span, by counting sort: kids[first[j] .. first[j+1]),
  ** in block order.  Counts, then where each list ends, then filled from
  ** the back, which leaves first[j] where list j starts. */
  memset(first, 0, (n + 1) * sizeof *first);
  for (size_t i = 0; i < n; i++) {
    pref[i] = -2; /* not placed */
    if (par[i] >= 0) first[par[i]]++;
  }
  for (size_t j = 0, sum = 0; j <= n; j++) first[j] = (uint32_t)(sum += first[j]);
  for (size_t i = n; i-- > 0;)
    if (par[i] >= 0) kids[--first[par[i]]] = (uint32_t)i;
  /* The previous span of the trace and the previous sibling are known as
  ** each span is placed: a parent places all the children it places in
  ** one run. */
  memset(o->last, 0xff, n * sizeof *o->last);
  size_t placed = 0, head = 0;
  for (int pass = 0; pass < 2; pass++)
    for (size_t r = 0; r < n; r++) {
      if (pref[r] != -2 || (pass == 0 && par[r] >= 0)) continue;
      pref[r] = sib[r] = -1;
      place(o, (uint32_t)r, tix[r], &placed);
      while (head < placed) {
        uint32_t j = order[head++];
        int64_t prev = -1;
        for (uint32_t k = first[j], end = first[j + 1]; k < end; k++) {
          uint32_t c = kids[k];
          if (pref[c] != -2) continue;
          pref[c] = j;
          sib[c] = prev;
          prev = c;
          place(o, c, tix[c], &placed);
        }
      }
    }
  o->n = n;
  return TL_OK;
}

void tl_trace_members(const uint32_t *tix, size_t n, uint32_t traces, uint32_t *rank,
                      uint32_t *members, uint32_t *tstart) {
  memset(tstart, 0, ((size_t)traces + 1) * sizeof *tstart);
  for (size_t i = 0; i < n; i++) rank[i] = tstart[tix[i] + 1]++;
  for (uint32_t t = 0; t < traces; t++) tstart[t + 1] += tstart[t];
  for (size_t i = 0; i < n; i++) members[tstart[tix[i]] + rank[i]] = (uint32_t)i;
}
