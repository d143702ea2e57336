/*
** analysis_fixture.h — hand-written traces for the analysis unit tests
** (test_trace_tree.c, test_critical_path.c, test_topology.c): a row per
** span in a compact literal form, fed through tl_trace_buf_add() exactly as
** the SQL glue feeds table rows.
*/
#ifndef TL_ANALYSIS_FIXTURE_H
#define TL_ANALYSIS_FIXTURE_H

#include <string.h>

#include "../../ext/analysis/trace_tree.h"

typedef struct fx_span {
  const char *id, *parent; /* NULL parent = root */
  long long start, end;
  const char *service;     /* NULL = none */
  const char *kind;        /* "SERVER", ... or NULL */
  int error;
  const char *remote;      /* peer.service or NULL */
  const char *links;       /* links JSON or NULL */
  const char *name;
} fx_span;

static inline tl_cell fx_text(const char *s) {
  tl_cell c;
  memset(&c, 0, sizeof c);
  if (s) {
    c.type = TL_CELL_TEXT;
    c.p = s;
    c.n = (uint32_t)strlen(s);
  }
  return c;
}

static inline tl_cell fx_int(long long v) {
  tl_cell c;
  memset(&c, 0, sizeof c);
  c.type = TL_CELL_INT;
  c.i = v;
  return c;
}

/* Loads spans[0..n) as one trace (trace id "0af7…" for links) and builds
** the tree; returns TL_OK or the first error. */
static inline int fx_load(tl_trace_buf *b, tl_tree *t, const fx_span *spans, int n, tl_err *e) {
  static const char tid[] = "0af7651916cd43dd8448eb211c80319c";
  tl_trace_buf_reset(b, tid, sizeof tid - 1);
  for (int i = 0; i < n; i++) {
    tl_cell c[TL_TC_COUNT];
    memset(c, 0, sizeof c);
    c[TL_TC_SPAN_ID] = fx_text(spans[i].id);
    c[TL_TC_PARENT] = fx_text(spans[i].parent);
    c[TL_TC_SERVICE] = fx_text(spans[i].service);
    c[TL_TC_NAME] = fx_text(spans[i].name ? spans[i].name : spans[i].id);
    c[TL_TC_KIND] = fx_text(spans[i].kind);
    c[TL_TC_START] = fx_int(spans[i].start);
    c[TL_TC_END] = fx_int(spans[i].end);
    c[TL_TC_STATUS] = fx_text(spans[i].error ? "ERROR" : "UNSET");
    c[TL_TC_LINKS] = fx_text(spans[i].links);
    c[TL_TC_REMOTE] = fx_text(spans[i].remote);
    int rc = tl_trace_buf_add(b, c, e);
    if (rc) return rc;
  }
  return tl_tree_build(t, b->spans, b->n, e);
}

/* The input index of the span whose id text is id, or -1. */
static inline int fx_find(const tl_trace_buf *b, const char *id) {
  for (uint32_t i = 0; i < b->n; i++)
    if (b->spans[i].id_text.len == strlen(id) && !memcmp(b->spans[i].id_text.ptr, id, strlen(id)))
      return (int)i;
  return -1;
}

#endif
