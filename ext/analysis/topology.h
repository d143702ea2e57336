/*
** topology.h — which service calls which, how often, how often it fails and
** how long the callee takes: service dependency links, counted the way
** Jaeger or Zipkin count them, so that users of either see their numbers.
**
** Plain C: an accumulator fed one trace at a time (a tl_tree and its
** spans), then finished into edges.  The SQL faces, trace_topology() and
** trace_topology_dot(), are in topology_sql.c; docs/analysis.md has
** examples of both modes on the same trace.
**
** The contract (cited in topology.c; tested in tests/unit/test_topology.c
** and tests/py/test_analysis.py):
**
**  (1) Mode 'jaeger' (the default): every span whose parent in the tree
**      (trace_tree.h: its parent_span_id; for the server half of a Zipkin
**      shared span, the client half; for a span without parent, the span
**      its link into the trace points at) belongs to another service adds
**      one call parent service -> span service.  Same-service pairs, spans
**      without a service and orphans add nothing.  This is what Jaeger's
**      in-memory store and its dependency jobs count after Jaeger's span-id
**      deduplication.
**  (2) Mode 'zipkin': Zipkin's DependencyLinker, on the same tree:
**      SERVER and CONSUMER spans link from their remote ancestor's (the
**      nearest ancestor with a kind) or their peer.service's service to
**      their own; a CLIENT span links only when it has no children (the
**      uninstrumented callee named by peer.service); PRODUCER -> broker and
**      broker -> CONSUMER links need both services; a span without kind
**      (UNSPECIFIED or INTERNAL) that has both a service and a peer.service
**      counts as a CLIENT; a CLIENT whose remote ancestor is another
**      service backfills the missing link ancestor -> client service.
**      Extra roots and orphans hang below the trace's first root, as in
**      Zipkin's tree builder.
**  (3) Errors: in 'jaeger' mode a call is an error when the callee span's
**      status is ERROR; in 'zipkin' mode when the span the link comes from
**      is an error, or, for a server whose parent_span_id is its client's
**      span id, when that client is (Zipkin's rule).  Backfilled links
**      never count errors.
**  (4) Latency: each call carries the duration of the span it was counted
**      from (the callee span in 'jaeger' mode; the server, consumer,
**      producer or leaf client span in 'zipkin' mode); p50 and p99 are the
**      exact percentiles of those durations with linear interpolation
**      between ranks (SQLite's percentile(): position (n - 1) * p).
**  (5) Edges come out ordered by caller, then callee (bytewise).
**  (6) Memory: one entry per distinct (caller, callee) plus 8 bytes per
**      call for the exact percentiles; service names are kept once.
*/
#ifndef TL_TOPOLOGY_H
#define TL_TOPOLOGY_H

#include "trace_tree.h"

enum { TL_TOPO_JAEGER = 0, TL_TOPO_ZIPKIN = 1 };

/* 'jaeger' or 'zipkin' (case-insensitive), or -1. */
int tl_topo_mode(const char *s, size_t n);

typedef struct tl_topo_edge {
  const char *caller, *callee; /* NUL-terminated, owned by the accumulator */
  uint64_t calls, errors;
  double p50_ns, p99_ns;
} tl_topo_edge;

typedef struct tl_topo tl_topo;

tl_topo *tl_topo_new(int mode);
void tl_topo_free(tl_topo *tp);
/* Adds the links of one trace.  TL_OK or TL_ENOMEM. */
int tl_topo_add(tl_topo *tp, const tl_tree *t, const tl_tspan *spans, tl_err *e);
/* Computes percentiles and orders the edges (Requirements 4, 5); after it,
** tl_topo_edges() is valid and tl_topo_add() must not be called. */
int tl_topo_finish(tl_topo *tp, tl_err *e);
const tl_topo_edge *tl_topo_edges(const tl_topo *tp, uint32_t *n);

/* The graph as Graphviz DOT text (docs/analysis.md shows one drawn):
** services are nodes, edges carry "N calls" and the error rate; edges
** with errors are red.  TL_OK, or TL_ENOMEM with out->oom set. */
struct tl_buf;
int tl_topo_dot(const tl_topo *tp, struct tl_buf *out);

#endif
