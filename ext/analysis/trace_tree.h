/*
** trace_tree.h — one trace's spans as a tree: the structure that the critical
** path, the service topology and the waterfall all walk.
**
** Plain C, no sqlite3.h.  The SQL glue reads the rows of one trace into a
** tl_trace_buf (ids, parents, times, service, name, kind, status, links),
** tl_tree_build() links them into a forest, and the analyses read both.
** Both structures keep their memory between traces, so scanning a table of
** many traces allocates only while the largest trace grows.
**
** How real data is turned into a tree (docs/analysis.md, "The span tree";
** each rule is tested in tests/unit/test_trace_tree.c):
**
**   Tree 1. Ids are opaque: text of 1 to 16 hex digits is its value (any
**           case, so "00F0" and "f0" are the same id), an 8-byte blob its
**           big-endian value, anything else a 64-bit hash of its bytes.
**           NULL, "", and all-zero ids mean "no id" (a root's parent).
**   Tree 2. A parent id that no span of the trace has makes the span an
**           orphan: the root of its own subtree (TL_TREE_ORPHAN).
**   Tree 3. A span without parent that links to a span of its own trace
**           (a Jaeger FOLLOWS_FROM reference becomes such a link, and so
**           does an OTLP link inside the trace) is an asynchronous child of
**           the first linked span present (TL_TREE_FOLLOWS | TL_TREE_ASYNC).
**   Tree 4. A CONSUMER child of a PRODUCER is asynchronous (TL_TREE_ASYNC):
**           the producer does not wait for it (the Jaeger UI's rule).
**   Tree 5. Spans that share an id: a bare fragment (start = end = 0, kind
**           UNSPECIFIED) of an id another span has is merged away
**           (TL_TREE_MERGED: in no list, no parent, no children).  When
**           the others are one or more SERVER spans and at least one span
**           of another kind, the SERVER spans are the server halves of a
**           Zipkin shared span: children of that other span (the first
**           CLIENT, else the first non-SERVER one; TL_TREE_SHARED), as
**           Zipkin's tree builder and Jaeger's span-id deduper make them.
**           Any other repeat of an id keeps its own parent but is a
**           duplicate (TL_TREE_DUPLICATE): no span becomes its child.
**   Tree 6. A child of a shared id attaches to the server half with the
**           same service when there is one (Zipkin matches endpoints),
**           else to the span that owns the id.
**   Tree 7. Cycles (A parent of B parent of A; a span its own parent) are
**           cut: the first span found on the cycle becomes a root
**           (TL_TREE_CYCLE).  No recursion anywhere: depth is unbounded.
**   Tree 8. Children are ordered by start time, then input order; roots
**           likewise.  A span whose end precedes its start counts as
**           zero-length at its start.
*/
#ifndef TL_TRACE_TREE_H
#define TL_TRACE_TREE_H

#include <stdint.h>

#include "../span/span.h"

/* One span of a trace, as the analyses need it. */
typedef struct tl_tspan {
  uint64_t id;       /* tl_tree_key() of span_id; 0 only when it had none */
  uint64_t parent;   /* key of parent_span_id, 0 = none */
  uint64_t follows;  /* key of the first link into the same trace, 0 = none */
  int64_t start_ns, end_ns; /* end_ns >= start_ns (Tree 8 is applied on input) */
  const char *service; /* interned in the buffer (equal names: equal pointers), NULL if none */
  const char *name;    /* interned, never NULL ("" if none) */
  const char *remote;  /* peer.service (Zipkin's remote endpoint), interned, NULL if none */
  tl_str id_text;      /* the span id as read, for output */
  tl_str parent_text;  /* the parent id as read (empty if none) */
  uint8_t kind;        /* tl_kind */
  uint8_t error;       /* 1 when status_code is ERROR */
} tl_tspan;

/* The spans of one trace, with the strings they point to. */
typedef struct tl_trace_buf {
  tl_tspan *spans;
  uint32_t n, cap;
  tl_batch *strings; /* interned names, copied ids */
  int shared;        /* strings belongs to the caller: ids are not copied */
  tl_str trace_id;   /* the trace being read (hex text), for Tree 3 */
  char trace_id_buf[64];
} tl_trace_buf;

/* A value of a row as the reader found it: SQL NULL is {type 0}. */
typedef struct tl_cell {
  int type;          /* TL_CELL_NULL, _INT, _FLOAT, _TEXT, _BLOB */
  int64_t i;
  double d;
  const char *p;     /* text or blob bytes */
  uint32_t n;
} tl_cell;

enum { TL_CELL_NULL = 0, TL_CELL_INT, TL_CELL_FLOAT, TL_CELL_TEXT, TL_CELL_BLOB };

/* The columns of a span row the analyses read, in this order. */
enum {
  TL_TC_SPAN_ID, TL_TC_PARENT, TL_TC_SERVICE, TL_TC_NAME, TL_TC_KIND,
  TL_TC_START, TL_TC_END, TL_TC_STATUS, TL_TC_LINKS, TL_TC_REMOTE,
  TL_TC_COUNT
};

int tl_trace_buf_init(tl_trace_buf *b);   /* TL_OK or TL_ENOMEM */
/* A buffer whose names are interned in the caller's batch, which outlives
** it and is not reset with it; id_text and parent_text stay empty.  Many
** such buffers (one per open trace of a scan) share one copy of each name. */
void tl_trace_buf_init_shared(tl_trace_buf *b, tl_batch *strings);
void tl_trace_buf_free(tl_trace_buf *b);
/* Starts a new trace: forgets the spans and strings of the previous one.
** trace_id (hex text, may be empty) lets Tree 3 recognise links into it. */
void tl_trace_buf_reset(tl_trace_buf *b, const char *trace_id, uint32_t len);
/* Appends one row (TL_TC_COUNT cells).  kind and status are names
** ('SERVER', 'SPAN_KIND_SERVER', 'ERROR') or OTLP integers; links is the
** JSON of the links column.  TL_EFORMAT naming the column when a value
** cannot be a span (a span id missing, times that are not integers);
** TL_ERANGE past TL_TREE_MAX_SPANS. */
int tl_trace_buf_add(tl_trace_buf *b, const tl_cell *cells, tl_err *e);

/* Appends a span of the model, read directly from a tracelite table
** (analysis_sql.h): the same tl_tspan that tl_trace_buf_add makes of the row
** the table shows for it.  The caller interns its strings in b->strings
** (it knows which repeat): service (NULL when empty), name ("" when empty)
** and remote, peer.service as the row's json_extract would give it (NULL
** when that is not text or empty). */
int tl_trace_buf_add_span(tl_trace_buf *b, const tl_span *s, const char *service,
                          const char *name, const char *remote, tl_err *e);

/* The largest trace the analyses accept (memory is about 200 bytes a span). */
#define TL_TREE_MAX_SPANS 10000000u

/* The key of an id (Tree 1). */
uint64_t tl_tree_key(const char *p, size_t n, int is_blob);

/* Node flags. */
enum {
  TL_TREE_ORPHAN = 1,     /* root because its parent is missing (Tree 2) */
  TL_TREE_FOLLOWS = 2,    /* attached through a link (Tree 3) */
  TL_TREE_ASYNC = 4,      /* does not block its parent (Tree 3, 4) */
  TL_TREE_MERGED = 8,     /* fragment merged away: not in the tree (Tree 5) */
  TL_TREE_SHARED = 16,    /* server half of a shared id (Tree 5) */
  TL_TREE_DUPLICATE = 32, /* repeated id that cannot have children (Tree 5) */
  TL_TREE_CYCLE = 64      /* root because a cycle was cut here (Tree 7) */
};

typedef struct tl_tree {
  uint32_t n;          /* spans, merged ones included */
  int32_t *parent;     /* parent index, -1 for roots and merged spans */
  uint8_t *flags;
  uint32_t *depth;     /* roots 0 */
  uint32_t *child_at;  /* children of i: child[child_at[i] .. child_at[i+1]) */
  uint32_t *child;
  uint32_t *roots;     /* by start time, then input order */
  uint32_t n_roots;
  uint32_t *order;     /* every node but merged ones, depth first: each root
                          followed by its subtree, children in order */
  uint32_t n_order;
  /* private */
  void *mem;
  size_t mem_cap;
  uint32_t *scratch;   /* 2n + hash slots, for the sort and the id index */
} tl_tree;

void tl_tree_init(tl_tree *t);
void tl_tree_free(tl_tree *t);
/* Builds the tree of spans[0..n); TL_OK or TL_ENOMEM. */
int tl_tree_build(tl_tree *t, const tl_tspan *spans, uint32_t n, tl_err *e);

/* Sorts idx[0..n) by key[idx[i]] (descending when desc), stably; tmp holds
** n entries.  Shared by the analyses that order spans by time. */
void tl_tree_sort(uint32_t *idx, uint32_t n, const int64_t *key, int desc, uint32_t *tmp);

#endif
