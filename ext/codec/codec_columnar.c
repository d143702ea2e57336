/*
** codec_columnar.c — format=columnar (phase 5): every field of the spans of
** a block in a column of its own, each column in the encoding that suits
** it, each compressed apart, so that a query decodes only the columns it
** reads.  docs/format.md, section "columnar", is the byte layout and says
** why each encoding won.  columnar_io.c holds the stream directory and the
** integer columns, columnar_ops.c the operations, columnar_attrs.c the
** attribute columns; this file the span columns and the codec's vtable.
**
** The columns, in the order of the directory:
**   trace ids     each distinct trace id once (16 bytes), in order of
**                 first use; per span a trace code (span_order.c)
**   span ids      8 raw bytes each: random, nothing removes them
**   parents       per span: root, an id stored apart (the parent is not in
**                 the block), or the distance in rank to the parent within
**                 the trace
**   start, end    deltas in the time order (parents first): from the
**                 parent's start, the previous sibling's end, ...; the
**                 duration or the distance to the parent's end; the writer
**                 measures every choice and keeps the smallest
**   operations    (name, kind, resource, scope, flags, attribute shape)
**                 once each, and per span a code in its parent's context
**   names         the table the operations' name codes index
**   status codes, status messages, trace states
**   resources, scopes     each distinct one once (objtab.c)
**   events, links counts per span, then their fields as columns
**   attributes    one column per key and type (columnar_attrs.c)
** A column whose every value is the default (no events, status UNSET, ...)
** is left out and reads as defaults.
**
** Decoding honours the TL_FIELD_* mask: ids and times always, the rest only
** when asked, so `SELECT sum(duration_ns)` inflates the id, time and
** operation streams only.  Spans keep their order: rowids are positions in
** the block.
**
** Hostile payloads: every length, count, code, reference and delta is
** checked before use, errors name the stream, and a failed decode leaves
** no span in the batch.
*/
#include "columnar.h"
#include "columnar_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Training: samples are the streams of small blocks of SAMPLE_SPANS spans,
** within the limits of tl_zs_train (codec_internal.h). */
#define SAMPLE_SPANS 256
#define MAX_DICT_SIZE (4 * 1024 * 1024)

/* Start and end modes (the first byte of those streams). */
enum { START_PREV, START_PARENT, START_TRACE, START_SIBLING, START_BEST, START_MODES };
enum { END_DURATION, END_PARENT, END_BEST, END_MODES };
/* Integer forms tried for times (columnar_internal.h). */
#define TIME_FORMS FORMS_ALL

/* Scratch vectors of the state. */
enum {
  V_TRACE, V_PAR, V_CODES, V_VALS, V_VALS2, V_PTRS, V_MAP, V_LISTS,
  V_SPANS, V_EV_LISTS, V_LINK_LISTS, V_RANK, V_MEMBERS, V_TSTART, V_PARENT_OP, V_F0,
  V_COUNT = V_F0 + OP_FIELDS
};

typedef struct cstate {
  tl_zs *zs;
  int dict_size;
  col_writer w;
  col_reader r;
  col_attrs *attrs;
  tl_strdict traces, spans, strs, names;
  tl_objtab objs;
  col_ops *ops;
  tl_span_order ord; /* the time order of the block (span_order.c) */
  tl_buf tables[2]; /* resources and scopes tables, between put_ops and their turn */
  tl_strtab tab;
  tl_kvbuf kb;
  tl_buf tmp;
  tl_vec v[V_COUNT];
  uint32_t ntraces; /* of the block being decoded */
  tl_err *e;
} cstate;

static void col_destroy(void *state) {
  cstate *c = state;
  if (!c) return;
  tl_zs_free(c->zs);
  tl_buf_free(&c->w.dir);
  tl_buf_free(&c->w.data);
  free(c->w.sizes);
  for (int i = 0; i < COL_MAX_CAND; i++) {
    tl_buf_free(&c->w.cand[i]);
    tl_buf_free(&c->w.packed[i]);
  }
  colr_free(&c->r);
  col_attrs_free(c->attrs);
  tl_strdict_free(&c->traces);
  tl_strdict_free(&c->spans);
  tl_strdict_free(&c->strs);
  tl_strdict_free(&c->names);
  col_ops_free(c->ops);
  tl_span_order_free(&c->ord);
  tl_buf_free(&c->tables[0]);
  tl_buf_free(&c->tables[1]);
  tl_objtab_free(&c->objs);
  tl_strtab_free(&c->tab);
  tl_kvbuf_free(&c->kb);
  tl_buf_free(&c->tmp);
  for (int i = 0; i < V_COUNT; i++) tl_vec_free(&c->v[i]);
  free(c);
}

static int col_create(const tl_codec_opts *opts, void **state, tl_err *e) {
  *state = NULL;
  int level = opts && opts->zstd_level ? opts->zstd_level : TL_CODEC_DEFAULT_ZSTD_LEVEL;
  int dict_size = opts ? opts->dict_size : TL_CODEC_DEFAULT_DICT_SIZE;
  if (dict_size < 0 || dict_size > MAX_DICT_SIZE)
    return tl_err_set(e, TL_ERANGE, "columnar: dict_size %d is not between 0 and %d", dict_size,
                      MAX_DICT_SIZE);
  cstate *c = calloc(1, sizeof *c);
  if (!c) return tl_err_set(e, TL_ENOMEM, "columnar: out of memory");
  int rc = tl_zs_new(level, "columnar", &c->zs, e);
  if (!rc && (!(c->attrs = col_attrs_new()) || !(c->ops = col_ops_new())))
    rc = tl_err_set(e, TL_ENOMEM, "columnar: out of memory");
  if (rc) {
    col_destroy(c);
    return rc;
  }
  c->dict_size = dict_size;
  c->w.zs = c->r.zs = c->zs;
  *state = c;
  return TL_OK;
}

/* A scratch array of n elements of size sz; NULL (with the error set) on OOM. */
static void *vec(cstate *c, int which, size_t n, size_t sz) {
  void *p = tl_vec_get(&c->v[which], (n ? n : 1) * sz);
  if (!p) tl_err_set(c->e, TL_ENOMEM, "columnar: out of memory");
  return p;
}

/* ---- encoding -------------------------------------------------------------- */

static int all_zero(const uint64_t *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (v[i]) return 0;
  return 1;
}

/* A string table and one code per value: strings[0..n) given by get(). */
typedef tl_str (*str_of)(const void *item);

static int put_strings(cstate *c, unsigned kind, const void *const *items, size_t n, str_of get) {
  uint64_t *codes = vec(c, V_CODES, n, sizeof *codes);
  if (!codes) return c->e->rc;
  tl_strdict_reset(&c->strs);
  int any = 0;
  for (size_t i = 0; i < n; i++) {
    tl_str s = get(items[i]);
    int64_t code = tl_strdict_code(&c->strs, s);
    if (code < 0) return tl_err_set(c->e, TL_ENOMEM, "columnar: out of memory");
    codes[i] = (uint64_t)code;
    any |= s.len != 0;
  }
  if (!any) return TL_OK; /* all empty: the column is left out */
  tl_buf_reset(&c->tmp);
  tl_strdict_write(&c->strs, &c->tmp);
  return colw_put_best(&c->w, kind, 0,
                       intcol_cands(&c->w, 0, c->tmp.p, c->tmp.n, codes, n, 0, FORMS_PLAIN));
}

static tl_str span_msg(const void *s) { return ((const tl_span *)s)->status_message; }
static tl_str span_state(const void *s) { return ((const tl_span *)s)->trace_state; }
static tl_str event_name(const void *ev) { return ((const tl_event *)ev)->name; }
static tl_str link_state(const void *l) { return ((const tl_link *)l)->trace_state; }

/* Integers of each span from get(); left out when all zero. */
static int put_span_ints(cstate *c, unsigned kind, tl_span *const *spans, size_t n,
                         uint64_t (*get)(const tl_span *)) {
  uint64_t *v = vec(c, V_VALS, n, sizeof *v);
  if (!v) return c->e->rc;
  for (size_t i = 0; i < n; i++) v[i] = get(spans[i]);
  return all_zero(v, n) ? TL_OK : colw_put_ints(&c->w, kind, 0, v, n, 0);
}

static uint64_t span_n_events(const tl_span *s) { return s->n_events; }
static uint64_t span_n_links(const tl_span *s) { return s->n_links; }

/* The spans of each trace in block order: members[tstart[t] ..
** tstart[t+1]), and each span's rank among them (V_RANK).  Parents are
** coded as a distance in rank: short even when traces interleave. */
static int trace_members(cstate *c, size_t n, uint32_t traces) {
  const uint32_t *tix = c->v[V_TRACE].p;
  uint32_t *rank = vec(c, V_RANK, n, sizeof *rank), *members = vec(c, V_MEMBERS, n, sizeof *members);
  uint32_t *tstart = vec(c, V_TSTART, (size_t)traces + 1, sizeof *tstart);
  if (!rank || !members || !tstart) return c->e->rc;
  tl_trace_members(tix, n, traces, rank, members, tstart);
  return TL_OK;
}

/* Trace ids, trace codes, span ids, parents.  Leaves in V_TRACE the trace
** index of each span and in V_PAR the index of its parent in the block
** (else -1): what plan() orders the time columns by. */
static int put_ids(cstate *c, tl_span *const *spans, size_t n) {
  uint32_t *tix = vec(c, V_TRACE, n, sizeof *tix);
  int64_t *par = vec(c, V_PAR, n, sizeof *par);
  uint64_t *codes = vec(c, V_CODES, n, sizeof *codes);
  uint32_t *first = vec(c, V_MAP, n, sizeof *first);
  if (!tix || !par || !codes || !first) return c->e->rc;
  tl_strdict_reset(&c->traces);
  tl_strdict_reset(&c->spans);
  int64_t prev = -1;
  for (size_t i = 0; i < n; i++) {
    uint32_t seen = c->traces.n;
    int64_t t = tl_strdict_code(&c->traces, (tl_str){(const char *)spans[i]->trace_id, 16});
    /* trace_id and span_id are adjacent: one 24-byte key. */
    uint32_t before = c->spans.n;
    int64_t k = tl_strdict_code(&c->spans, (tl_str){(const char *)spans[i]->trace_id, 24});
    if (t < 0 || k < 0) return tl_err_set(c->e, TL_ENOMEM, "columnar: out of memory");
    if (c->spans.n != before) first[k] = (uint32_t)i;
    tix[i] = (uint32_t)t;
    codes[i] = tl_trace_code((uint32_t)t, prev, seen);
    prev = t;
  }
  col_writer *w = &c->w;
  tl_buf *ids = colw_cand(w, 0);
  for (uint32_t t = 0; t < c->traces.n; t++) tl_buf_append(ids, c->traces.items[t].ptr, 16);
  int rc = colw_put_best(w, COL_TRACE_IDS, 0, 1);
  if (!rc && n) rc = colw_put_ints(w, COL_TRACE_REFS, 0, codes, n, 0);
  if (rc) return rc;
  ids = colw_cand(w, 0);
  for (size_t i = 0; i < n; i++) tl_buf_append(ids, spans[i]->span_id, 8);
  if ((rc = colw_put_best(w, COL_SPAN_IDS, 0, 1)) || (rc = trace_members(c, n, c->traces.n)))
    return rc;
  const uint32_t *rank = c->v[V_RANK].p;
  tl_buf_reset(&c->tmp);
  for (size_t i = 0; i < n; i++) {
    const tl_span *s = spans[i];
    par[i] = -1;
    if (tl_span_is_root(s)) {
      codes[i] = 0;
      continue;
    }
    uint8_t key[24];
    memcpy(key, s->trace_id, 16);
    memcpy(key + 16, s->parent_span_id, 8);
    int64_t k = tl_strdict_find(&c->spans, (tl_str){(const char *)key, 24});
    if (k < 0) {
      codes[i] = 1;
      tl_buf_append(&c->tmp, s->parent_span_id, 8);
      continue;
    }
    int64_t j = first[k];
    codes[i] = 2 + tl_zigzag((int64_t)rank[i] - (int64_t)rank[j]);
    par[i] = j;
  }
  if (!all_zero(codes, n) && (rc = colw_put_ints(w, COL_PARENTS, 0, codes, n, 0))) return rc;
  return colw_put(w, COL_PARENT_IDS, 0, c->tmp.p, c->tmp.n);
}

/* The order in which times are coded (span_order.c): parents first. */
static int plan(cstate *c, size_t n) {
  int rc = tl_span_order_plan(&c->ord, c->v[V_PAR].p, c->v[V_TRACE].p, n);
  return rc ? tl_err_set(c->e, TL_ENOMEM, "columnar: out of memory") : TL_OK;
}

/* What the start of span i is a delta from, with reference m: the start
** of the span before it in the order, of its parent, of the trace's
** previous span, or the end of its previous sibling.  Without such a span
** the sibling falls back to the parent and every other to the previous
** span (as fixed modes use them); *ok says whether m itself was there (as
** START_BEST's per-span choice needs).  prev: the span before i in the
** order, or -1. */
static uint64_t start_base(const cstate *c, int m, size_t i, int64_t prev, tl_span *const *sp,
                           int *ok) {
  const int64_t *pref = c->ord.pref, *same = c->ord.same, *sib = c->ord.sib;
  *ok = 1;
  if (m == START_SIBLING && sib[i] >= 0) return sp[sib[i]]->end_ns;
  if ((m == START_PARENT || m == START_SIBLING) && pref[i] >= 0) {
    *ok = m == START_PARENT;
    return sp[pref[i]]->start_ns;
  }
  if (m == START_TRACE && same[i] >= 0) return sp[same[i]]->start_ns;
  *ok = m == START_PREV;
  return prev >= 0 ? sp[prev]->start_ns : 0;
}

/* The end of span i as a delta, with reference m: the duration, or the
** distance to its parent's end (the duration without a parent). */
static uint64_t end_delta(const cstate *c, int m, size_t i, tl_span *const *sp, int *ok) {
  int64_t j = c->ord.pref[i];
  *ok = m == END_DURATION || j >= 0;
  return m == END_PARENT && j >= 0 ? sp[j]->end_ns - sp[i]->end_ns
                                   : sp[i]->end_ns - sp[i]->start_ns;
}

static uint64_t magnitude64(uint64_t d) { return (int64_t)d < 0 ? 0 - d : d; }

/* The deltas of mode m (n of them, in the order) into d; for the BEST
** modes the reference of each span, the one with the smallest delta, into
** sel. */
static void time_deltas(const cstate *c, int is_end, int m, tl_span *const *sp, size_t n,
                        uint64_t *d, uint8_t *sel) {
  const uint32_t *order = c->ord.order;
  int best = is_end ? END_BEST : START_BEST, ok;
  for (size_t k = 0; k < n; k++) {
    size_t i = order[k];
    int64_t prev = k ? (int64_t)order[k - 1] : -1;
    int from = m == best ? 0 : m, to = m == best ? best - 1 : m;
    for (int r = from; r <= to; r++) {
      uint64_t x = is_end ? end_delta(c, r, i, sp, &ok)
                          : sp[i]->start_ns - start_base(c, r, i, prev, sp, &ok);
      if (m != best) d[k] = x;
      else if (ok && (r == 0 || magnitude64(x) < magnitude64(d[k]))) d[k] = x, sel[k] = (uint8_t)r;
    }
  }
}

/* One time column: the smallest mode (measured in LEB128 form), then its
** smallest integer form. */
static int put_time_column(cstate *c, int is_end, tl_span *const *sp, size_t n) {
  uint64_t *d = vec(c, V_VALS, n, sizeof *d);
  uint8_t *sel = vec(c, V_VALS2, n, 1);
  if (!d || !sel) return c->e->rc;
  int modes = is_end ? END_MODES : START_MODES, best = is_end ? END_BEST : START_BEST;
  unsigned kind = is_end ? COL_ENDS : COL_STARTS;
  int pick = 0;
  for (int pass = 0; pass < 2; pass++) {
    int ncand = 0;
    for (int m = pass ? pick : 0; m < (pass ? pick + 1 : modes); m++) {
      time_deltas(c, is_end, m, sp, n, d, sel);
      tl_buf_reset(&c->tmp);
      tl_buf_putc(&c->tmp, (char)m);
      if (m == best) tl_buf_append(&c->tmp, sel, n);
      ncand += intcol_cands(&c->w, ncand, c->tmp.p, c->tmp.n, d, n, 1,
                            pass ? TIME_FORMS : 1 << INT_DECIMAL);
    }
    if (pass) return colw_put_best(&c->w, kind, 0, ncand);
    int rc = colw_pick(&c->w, kind, ncand, &pick);
    if (rc) return rc;
  }
  return TL_OK;
}

static int put_times(cstate *c, tl_span *const *spans, size_t n) {
  if (!n) return TL_OK;
  int rc = plan(c, n);
  if (!rc) rc = put_time_column(c, 0, spans, n);
  return rc ? rc : put_time_column(c, 1, spans, n);
}

/* One byte per span from get(); left out when all zero. */
static int put_bytes(cstate *c, unsigned kind, tl_span *const *spans, size_t n, int max,
                     const char *what, int (*get)(const tl_span *)) {
  tl_buf *b = colw_cand(&c->w, 0);
  int any = 0;
  for (size_t i = 0; i < n; i++) {
    int v = get(spans[i]);
    if (v > max)
      return tl_err_set(c->e, TL_EMISUSE, "columnar: %s %d is past %d", what, v, max);
    tl_buf_putc(b, (char)v);
    any |= v;
  }
  return any ? colw_put_best(&c->w, kind, 0, 1) : TL_OK;
}

static int span_status(const tl_span *s) { return s->status_code; }

/* The operation of each span (columnar_ops.c): name code, kind, resource
** and scope codes, flags, attribute shape; the names, resources and scopes
** tables wait in c->names and c->tables for their turn. */
static int put_ops(cstate *c, tl_span *const *spans, size_t n) {
  uint64_t *f[OP_FIELDS];
  for (int k = 0; k < OP_FIELDS; k++)
    if (!(f[k] = vec(c, V_F0 + k, n, sizeof *f[k]))) return c->e->rc;
  const void **objs = vec(c, V_PTRS, n, sizeof *objs);
  if (!objs) return c->e->rc;
  tl_strdict_reset(&c->names);
  for (size_t i = 0; i < n; i++) {
    const tl_span *s = spans[i];
    int64_t code = tl_strdict_code(&c->names, s->name);
    if (code < 0) return tl_err_set(c->e, TL_ENOMEM, "columnar: out of memory");
    if (s->kind > TL_KIND_CONSUMER)
      return tl_err_set(c->e, TL_EMISUSE, "columnar: kind %d is past %d", s->kind,
                        TL_KIND_CONSUMER);
    f[OP_NAME][i] = (uint64_t)code;
    f[OP_KIND][i] = s->kind;
    f[OP_FLAGS][i] = s->flags;
    objs[i] = s->resource;
  }
  tl_buf_reset(&c->tables[0]);
  tl_buf_reset(&c->tables[1]);
  int rc = tl_objtab_build(&c->objs, TL_OBJ_RESOURCE, objs, n, NULL, f[OP_RESOURCE],
                           &c->tables[0], "columnar", c->e);
  for (size_t i = 0; i < n; i++) objs[i] = spans[i]->scope;
  if (!rc)
    rc = tl_objtab_build(&c->objs, TL_OBJ_SCOPE, objs, n, NULL, f[OP_SCOPE], &c->tables[1],
                         "columnar", c->e);
  tl_attrs const **lists = vec(c, V_LISTS, n, sizeof *lists);
  if (!lists) return c->e->rc;
  for (size_t i = 0; i < n; i++) lists[i] = &spans[i]->attrs;
  if (!rc) rc = col_attrs_prepare(c->attrs, ATTR_SPAN, lists, n, c->e);
  if (rc) return rc;
  memcpy(f[OP_SHAPE], col_attrs_shapes(c->attrs), n * sizeof *f[OP_SHAPE]);
  return col_ops_write(c->ops, &c->w, (const uint64_t *const *)f, n, c->ord.order,
                       c->ord.pref);
}

/* The names table, left out when every name is empty. */
static int put_names(cstate *c) {
  if (c->names.n == 1 && c->names.items[0].len == 0) return TL_OK;
  tl_buf *t = colw_cand(&c->w, 0);
  tl_strdict_write(&c->names, t);
  return colw_put_best(&c->w, COL_NAMES, 0, 1);
}

static int put_dropped(cstate *c, tl_span *const *spans, size_t n) {
  uint64_t *v = vec(c, V_VALS, 2 * n, sizeof *v);
  if (!v) return c->e->rc;
  for (size_t i = 0; i < n; i++) {
    v[i] = spans[i]->dropped_events;
    v[n + i] = spans[i]->dropped_links;
  }
  if (all_zero(v, 2 * n)) return TL_OK;
  tl_buf *b = colw_cand(&c->w, 0);
  intcol_write(b, v, n, 0, 0);
  intcol_write(b, v + n, n, 0, 0);
  return colw_put_best(&c->w, COL_DROPPED, 0, 1);
}

static int too_many(cstate *c, const char *what, uint64_t count) {
  return tl_err_set(c->e, TL_ERANGE, "columnar: %llu %s in one block, at most %u",
                    (unsigned long long)count, what, COL_MAX_ITEMS);
}

/* Events (links) leave their attribute lists in V_EV_LISTS (V_LINK_LISTS)
** for put_attr_sets: attribute streams come after all others. */
static int put_events(cstate *c, tl_span *const *spans, size_t n, size_t *n_lists) {
  uint64_t total = 0;
  *n_lists = 0;
  for (size_t i = 0; i < n; i++) total += spans[i]->n_events;
  if (!total) return TL_OK;
  if (total > COL_MAX_ITEMS) return too_many(c, "events", total);
  int rc = put_span_ints(c, COL_EVENT_COUNTS, spans, n, span_n_events);
  const void **evs = vec(c, V_PTRS, total, sizeof *evs);
  uint64_t *t = vec(c, V_VALS, total, sizeof *t);
  if (!evs || !t) return c->e->rc;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    for (uint32_t j = 0; j < spans[i]->n_events; j++, k++) {
      evs[k] = &spans[i]->events[j];
      t[k] = spans[i]->events[j].time_ns - spans[i]->start_ns;
    }
  if (!rc) rc = colw_put_ints(&c->w, COL_EVENT_TIMES, 0, t, total, 1);
  if (!rc) rc = put_strings(c, COL_EVENT_NAMES, evs, total, event_name);
  tl_attrs const **lists = vec(c, V_EV_LISTS, total, sizeof *lists);
  if (!lists) return c->e->rc;
  for (size_t i = 0; i < total; i++) lists[i] = &((const tl_event *)evs[i])->attrs;
  *n_lists = total;
  return rc;
}

static int put_links(cstate *c, tl_span *const *spans, size_t n, size_t *n_lists) {
  uint64_t total = 0;
  *n_lists = 0;
  for (size_t i = 0; i < n; i++) total += spans[i]->n_links;
  if (!total) return TL_OK;
  if (total > COL_MAX_ITEMS) return too_many(c, "links", total);
  int rc = put_span_ints(c, COL_LINK_COUNTS, spans, n, span_n_links);
  const void **ls = vec(c, V_PTRS, total, sizeof *ls);
  uint64_t *f = vec(c, V_VALS, total, sizeof *f);
  if (!ls || !f) return c->e->rc;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    for (uint32_t j = 0; j < spans[i]->n_links; j++) ls[k++] = &spans[i]->links[j];
  tl_buf *b = colw_cand(&c->w, 0);
  for (size_t i = 0; i < total; i++) tl_buf_append(b, ((const tl_link *)ls[i])->trace_id, 16);
  if (!rc) rc = colw_put_best(&c->w, COL_LINK_TRACE_IDS, 0, 1);
  b = colw_cand(&c->w, 0);
  for (size_t i = 0; i < total; i++) tl_buf_append(b, ((const tl_link *)ls[i])->span_id, 8);
  if (!rc) rc = colw_put_best(&c->w, COL_LINK_SPAN_IDS, 0, 1);
  if (!rc) rc = put_strings(c, COL_LINK_STATES, ls, total, link_state);
  for (size_t i = 0; i < total; i++) f[i] = ((const tl_link *)ls[i])->flags;
  if (!rc && !all_zero(f, total)) rc = colw_put_ints(&c->w, COL_LINK_FLAGS, 0, f, total, 0);
  tl_attrs const **lists = vec(c, V_LINK_LISTS, total, sizeof *lists);
  if (!lists) return c->e->rc;
  for (size_t i = 0; i < total; i++) lists[i] = &((const tl_link *)ls[i])->attrs;
  *n_lists = total;
  return rc;
}

/* The contexts of span attribute values (columnar_internal.h). */
static int span_contexts(cstate *c, size_t n, uint32_t traces, col_ctx *ctx) {
  const uint32_t *op = col_ops_of_spans(c->ops);
  uint32_t k = col_ops_count(c->ops), *pop = vec(c, V_PARENT_OP, n, sizeof *pop);
  if (!pop) return c->e->rc;
  for (size_t i = 0; i < n; i++) pop[i] = c->ord.pref[i] >= 0 ? op[c->ord.pref[i]] : k;
  *ctx = (col_ctx){{c->v[V_TRACE].p, op, pop}, {traces, k, k + 1}};
  return TL_OK;
}

/* Event or link attributes: a set of its own, with its own shapes. */
static int put_attr_set(cstate *c, int set, const tl_attrs *const *lists, size_t n) {
  int rc = col_attrs_prepare(c->attrs, set, lists, n, c->e);
  return rc ? rc : col_attrs_write(c->attrs, &c->w, set, lists, n, 1, NULL);
}

/* Every column of spans[0..n) into the writer, in directory order. */
static int put_columns(cstate *c, tl_span *const *spans, size_t n) {
  int rc = put_ids(c, spans, n);
  if (!rc) rc = put_times(c, spans, n);
  if (!rc) rc = put_ops(c, spans, n);
  if (!rc && n) rc = put_names(c);
  if (!rc) rc = put_bytes(c, COL_STATUS, spans, n, TL_STATUS_ERROR, "status code", span_status);
  if (!rc) rc = put_strings(c, COL_STATUS_MSGS, (const void *const *)spans, n, span_msg);
  if (!rc) rc = put_strings(c, COL_TRACE_STATES, (const void *const *)spans, n, span_state);
  if (!rc) rc = colw_put(&c->w, COL_RESOURCES, 0, c->tables[0].p, c->tables[0].n);
  if (!rc) rc = colw_put(&c->w, COL_SCOPES, 0, c->tables[1].p, c->tables[1].n);
  if (!rc) rc = put_dropped(c, spans, n);
  size_t n_events = 0, n_links = 0;
  if (!rc) rc = put_events(c, spans, n, &n_events);
  if (!rc) rc = put_links(c, spans, n, &n_links);
  /* The span attributes were prepared by put_ops (their shapes are part of
  ** the operations); events and links reuse the scratch after them. */
  col_ctx ctx;
  if (!rc) rc = span_contexts(c, n, c->traces.n, &ctx);
  if (!rc) rc = col_attrs_write(c->attrs, &c->w, ATTR_SPAN, c->v[V_LISTS].p, n, 0, &ctx);
  if (!rc && n_events) rc = put_attr_set(c, ATTR_EVENT, c->v[V_EV_LISTS].p, n_events);
  if (!rc && n_links) rc = put_attr_set(c, ATTR_LINK, c->v[V_LINK_LISTS].p, n_links);
  return rc;
}

static void writer_begin(col_writer *w, uint32_t dict, tl_err *e) {
  w->dict = dict;
  w->e = e;
  w->count = 0;
  tl_buf_reset(&w->dir);
  tl_buf_reset(&w->data);
}

static int col_encode(void *state, tl_span *const *spans, size_t n, tl_buf *out, tl_err *e) {
  cstate *c = state;
  c->e = e;
  writer_begin(&c->w, tl_zs_top_dict(c->zs), e);
  int rc = put_columns(c, spans, n);
  if (rc) return rc;
  if (c->w.dir.oom || c->w.data.oom) return tl_err_set(e, TL_ENOMEM, "columnar: out of memory");
  tl_buf_varint(out, c->w.dict);
  tl_buf_varint(out, c->w.count);
  tl_buf_append(out, c->w.dir.p, c->w.dir.n);
  tl_buf_append(out, c->w.data.p, c->w.data.n);
  return TL_OK;
}

/* ---- decoding -------------------------------------------------------------- */

/* The stream names of messages and of tracelite_columns(). */
static const char *const fixed_names[COL_ATTRS] = {
    [COL_TRACE_IDS] = "trace_ids",           [COL_TRACE_REFS] = "trace_refs",
    [COL_SPAN_IDS] = "span_ids",             [COL_PARENTS] = "parents",
    [COL_PARENT_IDS] = "parent_ids",         [COL_STARTS] = "start_ns",
    [COL_ENDS] = "end_ns",                   [COL_OPS] = "ops",
    [COL_OP_REFS] = "op_refs",               [COL_NAMES] = "names",
    [COL_STATUS] = "status_codes",           [COL_STATUS_MSGS] = "status_messages",
    [COL_TRACE_STATES] = "trace_states",     [COL_RESOURCES] = "resources",
    [COL_SCOPES] = "scopes",                 [COL_DROPPED] = "dropped",
    [COL_EVENT_COUNTS] = "event_counts",     [COL_EVENT_TIMES] = "event_times",
    [COL_EVENT_NAMES] = "event_names",       [COL_LINK_COUNTS] = "link_counts",
    [COL_LINK_TRACE_IDS] = "link_trace_ids", [COL_LINK_SPAN_IDS] = "link_span_ids",
    [COL_LINK_STATES] = "link_trace_states", [COL_LINK_FLAGS] = "link_flags",
};
#define NAME(kind) fixed_names[kind]

/* n integers of a stream; zeros when the stream is absent. */
static int get_ints(cstate *c, unsigned kind, uint64_t *v, size_t n, int is_signed) {
  tl_rd rd;
  int rc = colr_get(&c->r, kind, 0, NAME(kind), &rd);
  if (rc) return rc;
  if (!tl_rd_left(&rd)) {
    memset(v, 0, n * sizeof *v);
    return TL_OK;
  }
  rc = intcol_read(&rd, v, n, is_signed, NAME(kind), c->e);
  return rc ? rc : colr_done(&c->r, &rd, NAME(kind));
}

/* A string table and n codes into c->tab and codes; an absent stream is n
** empty strings (c->tab.n == 0). */
static int get_strings(cstate *c, unsigned kind, uint64_t *codes, size_t n) {
  tl_rd rd;
  c->tab.n = 0;
  int rc = colr_get(&c->r, kind, 0, NAME(kind), &rd);
  if (rc || !tl_rd_left(&rd)) return rc;
  if ((rc = tl_strtab_read(&c->tab, &rd, (uint32_t)n, NAME(kind), c->e))) {
    if (rc == TL_EFORMAT) { /* say which payload the stream is in */
      tl_err_clear(c->e);
      return col_bad(c->e, NAME(kind), "bad string table");
    }
    return rc;
  }
  if ((rc = intcol_read(&rd, codes, n, 0, NAME(kind), c->e))) return rc;
  for (size_t i = 0; i < n; i++)
    if (codes[i] >= c->tab.n)
      return col_bad(c->e, NAME(kind), "code %llu past the %u strings",
                     (unsigned long long)codes[i], c->tab.n);
  return colr_done(&c->r, &rd, NAME(kind));
}

/* String `code` of the table just read (empty when there is none). */
static int string_at(cstate *c, tl_batch *b, uint64_t code, tl_str *out) {
  if (!c->tab.n) {
    *out = (tl_str){NULL, 0};
    return TL_OK;
  }
  *out = tl_strtab_get(&c->tab, b, (uint32_t)code);
  return out->ptr ? TL_OK : tl_err_set(c->e, TL_ENOMEM, "columnar: out of memory");
}

static int get_ids(cstate *c, tl_span **sp, size_t n, tl_batch *b) {
  uint32_t *tix = vec(c, V_TRACE, n, sizeof *tix);
  uint64_t *codes = vec(c, V_CODES, n, sizeof *codes);
  int64_t *par = vec(c, V_PAR, n, sizeof *par);
  if (!tix || !par || !codes) return c->e->rc;
  tl_rd rd;
  int rc = colr_get(&c->r, COL_TRACE_IDS, 0, NAME(COL_TRACE_IDS), &rd);
  if (rc) return rc;
  size_t len = tl_rd_left(&rd), traces = len / 16;
  if (len % 16 || traces > n || (n && !traces))
    return col_bad(c->e, NAME(COL_TRACE_IDS), "%zu bytes for %zu spans", len, n);
  const uint8_t *ids = rd.p;
  if ((rc = get_ints(c, COL_TRACE_REFS, codes, n, 0))) return rc;
  uint32_t seen = 0;
  for (size_t i = 0; i < n; i++) {
    if (tl_trace_decode(codes[i], i ? (int64_t)tix[i - 1] : -1, &seen, (uint32_t)traces, &tix[i]))
      return col_bad(c->e, NAME(COL_TRACE_REFS), "span %zu: bad trace code %llu", i,
                     (unsigned long long)codes[i]);
    memcpy(sp[i]->trace_id, ids + 16 * (size_t)tix[i], 16);
  }
  if (seen != traces)
    return col_bad(c->e, NAME(COL_TRACE_IDS), "%zu trace ids, %u used", traces, seen);
  c->ntraces = (uint32_t)traces;
  if ((rc = colr_get(&c->r, COL_SPAN_IDS, 0, NAME(COL_SPAN_IDS), &rd))) return rc;
  if (tl_rd_left(&rd) != 8 * n)
    return col_bad(c->e, NAME(COL_SPAN_IDS), "%zu bytes for %zu spans", tl_rd_left(&rd), n);
  for (size_t i = 0; i < n; i++) memcpy(sp[i]->span_id, rd.p + 8 * i, 8);
  if ((rc = trace_members(c, n, (uint32_t)traces))) return rc;
  const uint32_t *rank = c->v[V_RANK].p, *members = c->v[V_MEMBERS].p, *tstart = c->v[V_TSTART].p;
  if ((rc = get_ints(c, COL_PARENTS, codes, n, 0))) return rc;
  if ((rc = colr_get(&c->r, COL_PARENT_IDS, 0, NAME(COL_PARENT_IDS), &rd))) return rc;
  for (size_t i = 0; i < n; i++) {
    par[i] = -1;
    if (codes[i] == 0) continue;
    if (codes[i] == 1) {
      const uint8_t *p = tl_rd_bytes(&rd, 8);
      if (!p) return col_bad(c->e, NAME(COL_PARENT_IDS), "fewer ids than the parents need");
      memcpy(sp[i]->parent_span_id, p, 8);
      continue;
    }
    int64_t d = tl_unzigzag(codes[i] - 2), r = (int64_t)rank[i] - d;
    uint32_t t = tix[i];
    if (d > (int64_t)rank[i] || r >= (int64_t)(tstart[t + 1] - tstart[t]))
      return col_bad(c->e, NAME(COL_PARENTS), "span %zu: parent reference %lld is not a span "
                     "of its trace", i, (long long)d);
    size_t j = members[tstart[t] + r];
    memcpy(sp[i]->parent_span_id, sp[j]->span_id, 8);
    par[i] = (int64_t)j;
  }
  if ((rc = colr_done(&c->r, &rd, NAME(COL_PARENT_IDS)))) return rc;
  /* The time order, then the operations coded in it. */
  if ((rc = plan(c, n)) ||
      (rc = col_ops_read(c->ops, &c->r, n, c->ord.order, c->ord.pref)))
    return rc;
  const uint32_t *op = col_ops_of_spans(c->ops);
  const uint64_t *flags = col_ops_table(c->ops, OP_FLAGS);
  for (size_t i = 0; i < n; i++) {
    if (flags[op[i]] > UINT32_MAX) return col_bad(c->e, NAME(COL_OPS), "flags past 32 bits");
    sp[i]->flags = (uint32_t)flags[op[i]];
  }
  if ((rc = get_strings(c, COL_TRACE_STATES, codes, n))) return rc;
  for (size_t i = 0; i < n && !rc; i++) rc = string_at(c, b, codes[i], &sp[i]->trace_state);
  return rc;
}

/* A mode byte then n signed deltas; required when there are spans. */
/* A mode byte, the references of each span (BEST modes), then n signed
** deltas; required when there are spans. */
static int get_deltas(cstate *c, unsigned kind, int modes, int *mode, const uint8_t **sel,
                      uint64_t *d, size_t n) {
  tl_rd rd;
  int rc = colr_get(&c->r, kind, 0, NAME(kind), &rd);
  if (rc || !n) return rc;
  *mode = tl_rd_u8(&rd);
  if (rd.err) return col_bad(c->e, NAME(kind), "missing");
  if (*mode >= modes) return col_bad(c->e, NAME(kind), "unknown mode %d", *mode);
  if (*mode == modes - 1 && !(*sel = tl_rd_bytes(&rd, n)))
    return col_bad(c->e, NAME(kind), "truncated");
  rc = intcol_read(&rd, d, n, 1, NAME(kind), c->e);
  return rc ? rc : colr_done(&c->r, &rd, NAME(kind));
}

static int get_times(cstate *c, tl_span **sp, size_t n) {
  uint64_t *ds = vec(c, V_VALS, n, sizeof *ds), *de = vec(c, V_VALS2, n, sizeof *de);
  const uint8_t *ss = NULL, *se = NULL;
  int ms = 0, me = 0;
  if (!ds || !de) return c->e->rc;
  int rc = get_deltas(c, COL_STARTS, START_MODES, &ms, &ss, ds, n);
  if (!rc) rc = get_deltas(c, COL_ENDS, END_MODES, &me, &se, de, n);
  if (rc) return rc;
  const uint32_t *order = c->ord.order;
  const int64_t *pref = c->ord.pref;
  /* In the order: a start may refer to an earlier span's end. */
  for (size_t k = 0; k < n; k++) {
    size_t i = order[k];
    int64_t j = pref[i];
    int rs = ss ? ss[k] : ms, re = se ? se[k] : me, ok;
    sp[i]->start_ns = ds[k] + start_base(c, rs, i, k ? (int64_t)order[k - 1] : -1, sp, &ok);
    if (ss && (rs >= START_BEST || !ok))
      return col_bad(c->e, NAME(COL_STARTS), "span %zu: bad reference %d", i, rs);
    if (se && (re >= END_BEST || (re == END_PARENT && j < 0)))
      return col_bad(c->e, NAME(COL_ENDS), "span %zu: bad reference %d", i, re);
    sp[i]->end_ns = re == END_PARENT && j >= 0 ? sp[j]->end_ns - de[k] : sp[i]->start_ns + de[k];
  }
  return TL_OK;
}

/* Field f of each span's operation, each below limit (names, resources
** and scopes: their table's size, or 1 when the table is absent). */
static int op_field(cstate *c, int f, uint64_t limit, const char *what, uint64_t *out, size_t n) {
  const uint32_t *op = col_ops_of_spans(c->ops);
  const uint64_t *v = col_ops_table(c->ops, f);
  for (size_t i = 0; i < n; i++) {
    if (v[op[i]] >= limit)
      return col_bad(c->e, NAME(COL_OPS), "span %zu: %s %llu is past %llu", i, what,
                     (unsigned long long)v[op[i]], (unsigned long long)limit - 1);
    out[i] = v[op[i]];
  }
  return TL_OK;
}

static int get_names(cstate *c, tl_span **sp, size_t n, tl_batch *b) {
  uint64_t *codes = vec(c, V_CODES, n, sizeof *codes);
  if (!codes) return c->e->rc;
  tl_rd rd;
  c->tab.n = 0;
  int rc = colr_get(&c->r, COL_NAMES, 0, NAME(COL_NAMES), &rd);
  if (!rc && tl_rd_left(&rd)) {
    if ((rc = tl_strtab_read(&c->tab, &rd, (uint32_t)n, NAME(COL_NAMES), c->e)) == TL_EFORMAT) {
      tl_err_clear(c->e);
      return col_bad(c->e, NAME(COL_NAMES), "bad string table");
    }
    if (!rc) rc = colr_done(&c->r, &rd, NAME(COL_NAMES));
  }
  if (!rc) rc = op_field(c, OP_NAME, c->tab.n ? c->tab.n : 1, "name", codes, n);
  for (size_t i = 0; i < n && !rc; i++) rc = string_at(c, b, codes[i], &sp[i]->name);
  return rc;
}

static int get_status(cstate *c, tl_span **sp, size_t n, tl_batch *b) {
  uint64_t *codes = vec(c, V_CODES, n, sizeof *codes);
  if (!codes) return c->e->rc;
  tl_rd rd;
  int rc = colr_get(&c->r, COL_STATUS, 0, NAME(COL_STATUS), &rd);
  if (!rc && tl_rd_left(&rd)) {
    if (tl_rd_left(&rd) != n)
      return col_bad(c->e, NAME(COL_STATUS), "%zu bytes for %zu spans", tl_rd_left(&rd), n);
    for (size_t i = 0; i < n; i++) {
      if (rd.p[i] > TL_STATUS_ERROR)
        return col_bad(c->e, NAME(COL_STATUS), "span %zu: %u is past %d", i, rd.p[i],
                       TL_STATUS_ERROR);
      sp[i]->status_code = rd.p[i];
    }
  }
  if (!rc) rc = get_strings(c, COL_STATUS_MSGS, codes, n);
  for (size_t i = 0; i < n && !rc; i++) rc = string_at(c, b, codes[i], &sp[i]->status_message);
  return rc;
}

/* Resources (scopes) and each span's, from its operation; an absent
** table: the batch's empty one. */
static int get_table(cstate *c, unsigned kind, int field, tl_span **sp, size_t n, tl_batch *b) {
  char what[64];
  snprintf(what, sizeof what, "columnar payload: stream %s", NAME(kind));
  tl_rd rd;
  uint64_t count = 0;
  uint64_t *codes = vec(c, V_CODES, n, sizeof *codes);
  if (!codes) return c->e->rc;
  int rc = colr_get(&c->r, kind, 0, NAME(kind), &rd);
  if (rc) return rc;
  if (tl_rd_left(&rd)) {
    count = tl_rd_varint(&rd);
    if (rd.err || count == 0 || count > n || count > tl_rd_left(&rd))
      return col_bad(c->e, NAME(kind), "bad count");
  }
  const void **objs = vec(c, V_PTRS, (size_t)count, sizeof *objs);
  if (!objs) return c->e->rc;
  int obj = kind == COL_RESOURCES ? TL_OBJ_RESOURCE : TL_OBJ_SCOPE;
  for (uint64_t k = 0; k < count; k++)
    if ((rc = tl_obj_read(obj, &rd, b, &c->kb, NULL, &objs[k], what, c->e))) return rc;
  if ((rc = colr_done(&c->r, &rd, NAME(kind))) ||
      (rc = op_field(c, field, count ? count : 1, NAME(kind), codes, n)))
    return rc;
  for (size_t i = 0; i < n && count; i++) {
    if (kind == COL_RESOURCES) sp[i]->resource = objs[codes[i]];
    else sp[i]->scope = objs[codes[i]];
  }
  return TL_OK;
}

static int get_dropped(cstate *c, tl_span **sp, size_t n) {
  uint64_t *v = vec(c, V_VALS, 2 * n, sizeof *v);
  if (!v) return c->e->rc;
  tl_rd rd;
  int rc = colr_get(&c->r, COL_DROPPED, 0, NAME(COL_DROPPED), &rd);
  if (rc || !tl_rd_left(&rd)) return rc;
  if ((rc = intcol_read(&rd, v, n, 0, NAME(COL_DROPPED), c->e)) ||
      (rc = intcol_read(&rd, v + n, n, 0, NAME(COL_DROPPED), c->e)) ||
      (rc = colr_done(&c->r, &rd, NAME(COL_DROPPED))))
    return rc;
  for (size_t i = 0; i < n; i++) {
    if (v[i] > UINT32_MAX || v[n + i] > UINT32_MAX)
      return col_bad(c->e, NAME(COL_DROPPED), "span %zu: count past 32 bits", i);
    sp[i]->dropped_events = (uint32_t)v[i];
    sp[i]->dropped_links = (uint32_t)v[n + i];
  }
  return TL_OK;
}

/* Per span counts of events (links): their total, checked. */
static int get_counts(cstate *c, unsigned kind, size_t n, uint64_t *counts, size_t *total) {
  int rc = get_ints(c, kind, counts, n, 0);
  uint64_t sum = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    sum += counts[i] > COL_MAX_ITEMS ? (uint64_t)COL_MAX_ITEMS + 1 : counts[i];
    if (sum > COL_MAX_ITEMS)
      return col_bad(c->e, NAME(kind), "more than %u in one block", COL_MAX_ITEMS);
  }
  *total = (size_t)sum;
  return rc;
}

static int get_events(cstate *c, tl_span **sp, size_t n, tl_batch *b) {
  uint64_t *counts = vec(c, V_CODES, n, sizeof *counts);
  size_t total;
  if (!counts) return c->e->rc;
  int rc = get_counts(c, COL_EVENT_COUNTS, n, counts, &total);
  if (rc || !total) return rc;
  tl_event *evs = tl_batch_alloc(b, total * sizeof *evs);
  tl_attrs **lists = vec(c, V_LISTS, total, sizeof *lists);
  uint64_t *v = vec(c, V_VALS, total, sizeof *v);
  if (!evs || !lists || !v) return evs ? c->e->rc : tl_err_set(c->e, TL_ENOMEM, "columnar: out of memory");
  for (size_t i = 0, k = 0; i < n; k += counts[i++]) {
    sp[i]->events = counts[i] ? evs + k : NULL;
    sp[i]->n_events = (uint32_t)counts[i];
  }
  if ((rc = get_ints(c, COL_EVENT_TIMES, v, total, 1))) return rc;
  for (size_t i = 0, k = 0; i < n; i++)
    for (uint32_t j = 0; j < sp[i]->n_events; j++, k++) evs[k].time_ns = sp[i]->start_ns + v[k];
  if ((rc = get_strings(c, COL_EVENT_NAMES, v, total))) return rc;
  for (size_t k = 0; k < total && !rc; k++) rc = string_at(c, b, v[k], &evs[k].name);
  for (size_t k = 0; k < total; k++) lists[k] = &evs[k].attrs;
  return rc ? rc : col_attrs_read(c->attrs, &c->r, ATTR_EVENT, lists, total, 1, NULL, NULL, b);
}

static int get_links(cstate *c, tl_span **sp, size_t n, tl_batch *b) {
  uint64_t *counts = vec(c, V_CODES, n, sizeof *counts);
  size_t total;
  if (!counts) return c->e->rc;
  int rc = get_counts(c, COL_LINK_COUNTS, n, counts, &total);
  if (rc || !total) return rc;
  tl_link *ls = tl_batch_alloc(b, total * sizeof *ls);
  tl_attrs **lists = vec(c, V_LISTS, total, sizeof *lists);
  uint64_t *v = vec(c, V_VALS, total, sizeof *v);
  if (!ls || !lists || !v) return ls ? c->e->rc : tl_err_set(c->e, TL_ENOMEM, "columnar: out of memory");
  for (size_t i = 0, k = 0; i < n; k += counts[i++]) {
    sp[i]->links = counts[i] ? ls + k : NULL;
    sp[i]->n_links = (uint32_t)counts[i];
  }
  static const unsigned id_kinds[2] = {COL_LINK_TRACE_IDS, COL_LINK_SPAN_IDS};
  for (int w = 0; w < 2; w++) {
    tl_rd rd;
    size_t width = w ? 8 : 16;
    if ((rc = colr_get(&c->r, id_kinds[w], 0, NAME(id_kinds[w]), &rd))) return rc;
    if (tl_rd_left(&rd) != width * total)
      return col_bad(c->e, NAME(id_kinds[w]), "%zu bytes for %zu links", tl_rd_left(&rd), total);
    for (size_t k = 0; k < total; k++)
      memcpy(w ? ls[k].span_id : ls[k].trace_id, rd.p + width * k, width);
  }
  if ((rc = get_strings(c, COL_LINK_STATES, v, total))) return rc;
  for (size_t k = 0; k < total && !rc; k++) rc = string_at(c, b, v[k], &ls[k].trace_state);
  if (!rc) rc = get_ints(c, COL_LINK_FLAGS, v, total, 0);
  for (size_t k = 0; k < total && !rc; k++) {
    if (v[k] > UINT32_MAX) return col_bad(c->e, NAME(COL_LINK_FLAGS), "flags past 32 bits");
    ls[k].flags = (uint32_t)v[k];
  }
  for (size_t k = 0; k < total; k++) lists[k] = &ls[k].attrs;
  return rc ? rc : col_attrs_read(c->attrs, &c->r, ATTR_LINK, lists, total, 1, NULL, NULL, b);
}

static int get_columns(cstate *c, tl_span **sp, size_t n, uint32_t fields, tl_batch *b) {
  int rc = get_ids(c, sp, n, b);
  if (!rc) rc = get_times(c, sp, n);
  if (!rc && (fields & TL_FIELD_NAME)) rc = get_names(c, sp, n, b);
  if (!rc && (fields & TL_FIELD_KIND)) {
    uint64_t *kinds = vec(c, V_CODES, n, sizeof *kinds);
    rc = kinds ? op_field(c, OP_KIND, TL_KIND_CONSUMER + 1, "kind", kinds, n) : c->e->rc;
    for (size_t i = 0; i < n && !rc; i++) sp[i]->kind = (uint8_t)kinds[i];
  }
  if (!rc && (fields & TL_FIELD_STATUS)) rc = get_status(c, sp, n, b);
  if (!rc && (fields & TL_FIELD_RESOURCE))
    rc = get_table(c, COL_RESOURCES, OP_RESOURCE, sp, n, b);
  if (!rc && (fields & TL_FIELD_SCOPE))
    rc = get_table(c, COL_SCOPES, OP_SCOPE, sp, n, b);
  if (!rc && (fields & TL_FIELD_DROPPED)) rc = get_dropped(c, sp, n);
  if (!rc && (fields & TL_FIELD_EVENTS)) rc = get_events(c, sp, n, b);
  if (!rc && (fields & TL_FIELD_LINKS)) rc = get_links(c, sp, n, b);
  if (!rc && (fields & (TL_FIELD_ATTRS | TL_FIELD_DROPPED))) {
    tl_attrs **lists = vec(c, V_LISTS, n, sizeof *lists);
    uint64_t *shapes = vec(c, V_VALS, n, sizeof *shapes);
    if (!lists || !shapes) return c->e->rc;
    rc = op_field(c, OP_SHAPE, UINT64_MAX, "shape", shapes, n);
    for (size_t i = 0; i < n; i++) lists[i] = &sp[i]->attrs;
    col_ctx ctx;
    if (!rc) rc = span_contexts(c, n, c->ntraces, &ctx);
    if (!rc)
      rc = col_attrs_read(c->attrs, &c->r, ATTR_SPAN, lists, n, (fields & TL_FIELD_ATTRS) != 0,
                          shapes, &ctx, b);
  }
  return rc;
}

static int col_decode(void *state, const uint8_t *p, size_t len, size_t n, uint32_t fields,
                      tl_batch *b, tl_err *e) {
  cstate *c = state;
  c->e = c->r.e = e;
  int rc = colr_open(&c->r, p, len);
  if (rc) return rc;
  size_t before = tl_batch_count(b);
  tl_span **sp = vec(c, V_SPANS, n, sizeof *sp);
  if (!sp) return c->e->rc;
  for (size_t i = 0; i < n && !rc; i++)
    if (!(sp[i] = tl_batch_add_span(b))) rc = tl_err_set(e, TL_ENOMEM, "columnar: out of memory");
  if (!rc) rc = get_columns(c, sp, n, fields, b);
  if (rc)
    while (tl_batch_count(b) > before) tl_batch_pop_span(b);
  return rc;
}

/* ---- dictionaries ------------------------------------------------------------ */

/* The streams of small blocks are the samples: what a dictionary helps
** most is what every block repeats (resources, names, attribute keys and
** their values), and a block's streams hold those in their real form. */
static int col_train(void *state, tl_span *const *spans, size_t n, tl_buf *dict, tl_err *e) {
  cstate *c = state;
  if (!c->dict_size || n < TL_ZS_MIN_SAMPLES) return TL_OK;
  size_t k = n / TL_ZS_MIN_SAMPLES < SAMPLE_SPANS ? n / TL_ZS_MIN_SAMPLES : SAMPLE_SPANS;
  size_t groups = n / k, budget = (size_t)c->dict_size * TL_ZS_SAMPLE_RATIO;
  tl_buf samples;
  tl_buf_init(&samples);
  col_writer *w = &c->w;
  w->samples = &samples;
  w->n_samples = 0;
  int rc = TL_OK;
  size_t stride = 0;
  c->e = e;
  for (size_t g = 0; !rc && g < groups && samples.n < budget; g += stride) {
    writer_begin(w, 0, e);
    rc = put_columns(c, spans + g * k, k);
    /* The stride that fits the budget, estimated from the first group. */
    if (!stride) stride = samples.n * groups / budget + 1;
  }
  w->samples = NULL;
  if (!rc && samples.oom) rc = tl_err_set(e, TL_ENOMEM, "columnar: out of memory");
  if (!rc) rc = tl_zs_train(&samples, w->sizes, w->n_samples, (size_t)c->dict_size, dict, e);
  tl_buf_free(&samples);
  return rc;
}

static int col_add_dict(void *state, uint32_t id, const uint8_t *p, size_t n, tl_err *e) {
  return tl_zs_add_dict(((cstate *)state)->zs, id, p, n, e);
}

const tl_codec_vt tl_codec_columnar = {
    .name = "columnar",
    .id = TL_CODEC_COLUMNAR,
    .version = 1,
    .partial = 1,
    .create = col_create,
    .destroy = col_destroy,
    .encode = col_encode,
    .decode = col_decode,
    .train = col_train,
    .add_dict = col_add_dict,
};

/* ---- stream listing (tracelite_columns) ------------------------------------- */

int tl_columnar_streams(void *state, const uint8_t *blob, size_t len, tl_columnar_stream_fn fn,
                        void *ctx, tl_err *e) {
  cstate *c = state;
  size_t n, payload;
  int rc = tl_block_span_count(blob, len, &n, e);
  if (rc) return rc;
  if (len < 6 || blob[4] != TL_CODEC_COLUMNAR)
    return tl_err_set(e, TL_EFORMAT, "block: not a columnar block");
  tl_rd rd;
  tl_rd_init(&rd, blob + 6, len - 6);
  tl_rd_varint(&rd);
  payload = len - tl_rd_left(&rd);
  c->e = c->r.e = e;
  if ((rc = colr_open(&c->r, blob + payload, len - payload))) return rc;
  static const char *const sets[ATTR_SETS] = {"attributes", "events.attributes",
                                              "links.attributes"};
  static const char *const parts[AP_VALUES] = {"columns", "shapes", "refs", "dropped"};
  for (size_t i = 0; i < c->r.ns && !rc; i++) {
    const col_stream *s = &c->r.s[i];
    tl_buf_reset(&c->tmp);
    if (s->kind < COL_ATTRS) {
      tl_buf_puts(&c->tmp, NAME(s->kind));
    } else {
      int set = (int)(s->kind - COL_ATTRS) / 8, part = (int)(s->kind - COL_ATTRS) % 8;
      tl_buf_printf(&c->tmp, "%s.", sets[set]);
      if (part < AP_VALUES) tl_buf_puts(&c->tmp, parts[part]);
      else rc = col_attrs_column_name(&c->r, set, s->index, &c->tmp);
    }
    if (!rc && !tl_buf_cstr(&c->tmp)) rc = tl_err_set(e, TL_ENOMEM, "columnar: out of memory");
    if (!rc) fn(ctx, c->tmp.p, s->stored, s->raw);
  }
  return rc;
}
