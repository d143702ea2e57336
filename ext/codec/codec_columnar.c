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
**   durations     end - start of each span in block order, then a CRC-32
**                 of everything before it (the head check): first, so that
**                 `SELECT sum(duration_ns)` reads a blob's first few KB and
**                 nothing else (decode_durations), and can trust them
**   trace ids     each distinct trace id once (16 bytes), in order of
**                 first use; per span a trace code (span_order.c)
**   span ids      8 raw bytes each: random, nothing removes them
**   parents       per span: root, an id stored apart (the parent is not in
**                 the block), or the distance in rank to the parent within
**                 the trace
**   start         deltas in the time order (parents first): from the
**                 parent's start, the previous sibling's end, ...; each in
**                 the time's own unit (whole milliseconds among
**                 nanoseconds); the writer measures every choice and
**                 keeps the smallest.  The end is the start plus the
**                 duration.
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
** Payload versions: 3 writes the durations and the head check; 1 and 2
** (read by the same code: a payload without durations is read by their
** rules) coded the ends in the time order too (end_ns), from the start or
** back from the parent's end.
**
** Decoding honours the TL_FIELD_* mask: ids and times always, the rest only
** when asked; decode_durations reads the durations alone.  Ids and times
** are decoded into arrays of the state first, then every span is added and
** filled in one pass, then the other fields asked for are decoded into the
** spans.  Spans keep their order: rowids are positions in the block.
**
** The table's dictionary is raw content: the text streams (tables) a block
** repeats most, chosen by measuring (col_train).
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

/* The writer compresses every candidate encoding of a stream at this zstd
** level to find the smallest, then the one it keeps at the table's level:
** level 1 picks the same candidates as the higher levels, several times
** faster. */
#define TRIAL_LEVEL 1
/* Training: the fewest spans in each half of a sample (col_train). */
#define TRAIN_MIN_SPANS 64
#define MAX_DICT_SIZE (4 * 1024 * 1024)

/* Start and end modes (the first byte of those streams), plus TIME_UNITS
** (payload version 2): each time as a delta in its own unit.  Version 3
** writes no end modes: ends are starts plus durations. */
enum { START_PREV, START_PARENT, START_TRACE, START_SIBLING, START_BEST, START_MODES };
enum { END_DURATION, END_PARENT, END_BEST, END_MODES };
#define TIME_UNITS 0x10
/* Integer forms tried for times (columnar_internal.h). */
#define TIME_FORMS FORMS_ALL

/* Scratch vectors of the state. */
enum {
  V_TRACE, V_PAR, V_CODES, V_VALS, V_VALS2, V_PTRS, V_MAP, V_LISTS,
  V_SPANS, V_EV_LISTS, V_LINK_LISTS, V_RANK, V_MEMBERS, V_TSTART, V_PARENT_OP, V_START, V_END,
  V_PIDS, V_FLAGS, V_STATES, V_EXPS, V_WANT, V_ITEM_WANT, V_DUR, V_F0,
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
  /* Of the block being decoded: */
  uint32_t ntraces;
  const uint8_t *trace_ids, *span_ids; /* in their streams */
  const uint32_t *flags;               /* of each span, or NULL: all are `flag` */
  uint32_t flag;
  const tl_str *states;                /* trace states, or NULL: all empty */
  const uint8_t *want; /* decode_traces: 1 for the spans to fill in; NULL: all */
  tl_err *e;
} cstate;

static void col_destroy(void *state) {
  cstate *c = state;
  if (!c) return;
  tl_zs_free(c->zs);
  tl_buf_free(&c->w.dir);
  tl_buf_free(&c->w.data);
  free(c->w.sample);
  tl_vec_free(&c->w.prep);
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
  int rc = tl_zs_new(TRIAL_LEVEL, "columnar", &c->zs, e);
  if (!rc) rc = tl_zs_set_final_level(c->zs, level, e);
  if (!rc && (!(c->attrs = col_attrs_new()) || !(c->ops = col_ops_new())))
    rc = tl_err_set(e, TL_ENOMEM, "columnar: out of memory");
  if (rc) {
    col_destroy(c);
    return rc;
  }
  c->dict_size = dict_size;
  c->w.zs = c->r.zs = c->zs;
  c->w.final = level != TRIAL_LEVEL;
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
** order, or -1.  st, en: the starts and ends of the block's spans (those
** before i in the order, when decoding). */
static inline uint64_t start_base(const cstate *c, int m, size_t i, int64_t prev,
                                  const uint64_t *st, const uint64_t *en, int *ok) {
  const int64_t *pref = c->ord.pref, *same = c->ord.same, *sib = c->ord.sib;
  *ok = 1;
  if (m == START_SIBLING && sib[i] >= 0) return en[sib[i]];
  if ((m == START_PARENT || m == START_SIBLING) && pref[i] >= 0) {
    *ok = m == START_PARENT;
    return st[pref[i]];
  }
  if (m == START_TRACE && same[i] >= 0) return st[same[i]];
  *ok = m == START_PREV;
  return prev >= 0 ? st[prev] : 0;
}

/* What the end of span i is a delta from, with reference m: its start
** (the delta is the duration, *sign 1), or its parent's end (the distance
** back from it, *sign -1; without a parent in the block, the duration). */
static inline uint64_t end_base(const cstate *c, int m, size_t i, const uint64_t *st,
                                const uint64_t *en, int *sign, int *ok) {
  int64_t j = c->ord.pref[i];
  *ok = m == END_DURATION || j >= 0;
  *sign = m == END_PARENT && j >= 0 ? -1 : 1;
  return *sign < 0 ? en[j] : st[i];
}

/* A time v as a delta from base in units of 10^e (v a multiple of it,
** base rounded down to one), forward (sign 1) or back (-1); and back.
** Modulo 2^64: a crafted delta decodes to some time. */
static inline uint64_t to_delta(uint64_t v, uint64_t base, int sign, int e) {
  if (e) {
    v /= tl_pow10[e];
    base /= tl_pow10[e];
  }
  return sign > 0 ? v - base : base - v;
}

static inline uint64_t from_delta(uint64_t d, uint64_t base, int sign, int e) {
  if (!e) return sign > 0 ? base + d : base - d;
  base /= tl_pow10[e];
  return (sign > 0 ? base + d : base - d) * tl_pow10[e];
}

/* The unit of a time in the rounded modes: the largest of 10^0, 10^3,
** 10^6, ... 10^18 that divides it. */
static inline int time_unit(uint64_t v) {
  int e = tl_decimal_exp(v);
  return e > 18 ? 18 : e - e % 3;
}

static uint64_t magnitude64(uint64_t d) { return (int64_t)d < 0 ? 0 - d : d; }

/* The start deltas of mode m (n of them, in the order) into d; for
** START_BEST the reference of each span, the one with the smallest delta,
** into sel.  With exps, each delta in the unit of the time (time_unit)
** into exps. */
static void start_deltas(const cstate *c, int m, size_t n, uint64_t *d, uint8_t *sel,
                         uint8_t *exps) {
  const uint32_t *order = c->ord.order;
  const uint64_t *st = c->v[V_START].p, *en = c->v[V_END].p;
  int ok;
  for (size_t k = 0; k < n; k++) {
    size_t i = order[k];
    int64_t prev = k ? (int64_t)order[k - 1] : -1;
    int e = exps ? (exps[k] = (uint8_t)time_unit(st[i])) : 0;
    if (m != START_BEST) {
      d[k] = to_delta(st[i], start_base(c, m, i, prev, st, en, &ok), 1, e);
      continue;
    }
    for (int r = 0; r < START_MODES; r++) {
      if (r == START_BEST) continue;
      uint64_t x = to_delta(st[i], start_base(c, r, i, prev, st, en, &ok), 1, e);
      if (ok && (r == 0 || magnitude64(x) < magnitude64(d[k]))) d[k] = x, sel[k] = (uint8_t)r;
    }
  }
}

/* Whether coding the times in their own units could pay: some times are
** whole milliseconds (say) where their deltas are not. */
static int units_worth_trying(const cstate *c, size_t n) {
  const uint64_t *v = c->v[V_START].p;
  size_t coarse = 0;
  for (size_t i = 0; i < n; i++) coarse += time_unit(v[i]) > 0;
  return coarse * 64 >= n;
}

/* The start column: the smallest mode (measured in decimal LEB128 form),
** with and without TIME_UNITS, then its smallest integer form. */
static int put_starts(cstate *c, size_t n) {
  uint64_t *d = vec(c, V_VALS, n, sizeof *d);
  uint8_t *sel = vec(c, V_VALS2, n, 1), *exps = vec(c, V_EXPS, n, 1);
  if (!d || !sel || !exps) return c->e->rc;
  const int modes = START_MODES, best = START_BEST;
  int pick = 0, units = units_worth_trying(c, n) ? TIME_UNITS : 0;
  for (int pass = 0; pass < 2; pass++) {
    int ncand = 0;
    for (int m = pass ? pick : 0; m < (pass ? pick + 1 : modes | units); m++) {
      if ((m & ~TIME_UNITS) >= modes) continue;
      int ref = m & ~TIME_UNITS;
      start_deltas(c, ref, n, d, sel, (m & TIME_UNITS) ? exps : NULL);
      tl_buf_reset(&c->tmp);
      tl_buf_putc(&c->tmp, (char)m);
      if (ref == best) tl_buf_append(&c->tmp, sel, n);
      if (m & TIME_UNITS) tl_buf_append(&c->tmp, exps, n);
      ncand += intcol_cands(&c->w, ncand, c->tmp.p, c->tmp.n, d, n, 1,
                            pass ? TIME_FORMS : 1 << INT_DECIMAL);
    }
    if (pass) return colw_put_best(&c->w, COL_STARTS, 0, ncand);
    int rc = colw_pick(&c->w, COL_STARTS, ncand, &pick);
    if (rc) return rc;
    /* Candidate `pick` back to its mode. */
    for (int m = 0, k = 0; m < (modes | units); m++) {
      if ((m & ~TIME_UNITS) >= modes) continue;
      if (k++ == pick) {
        pick = m;
        break;
      }
    }
  }
  return TL_OK;
}

/* The durations in block order, then the head check (kind 0: first in
** the payload, where a reader of durations alone finds them), when there
** are spans.  Leaves the times in V_START, V_END and V_DUR for put_times. */
static int put_durations(cstate *c, tl_span *const *spans, size_t n) {
  if (!n) return TL_OK;
  uint64_t *st = vec(c, V_START, n, sizeof *st), *en = vec(c, V_END, n, sizeof *en);
  uint64_t *du = vec(c, V_DUR, n, sizeof *du);
  if (!st || !en || !du) return c->e->rc;
  for (size_t i = 0; i < n; i++) {
    st[i] = spans[i]->start_ns;
    en[i] = spans[i]->end_ns;
    du[i] = en[i] - st[i];
  }
  int rc = colw_put_best(&c->w, COL_DURATIONS, 0,
                         intcol_cands(&c->w, 0, NULL, 0, du, n, 1, TIME_FORMS));
  return rc ? rc : colw_put_head_check(&c->w);
}

/* The starts, in the time order (ends are starts plus durations). */
static int put_times(cstate *c, size_t n) {
  if (!n) return TL_OK;
  int rc = plan(c, n);
  return rc ? rc : put_starts(c, n);
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
  intcol_write(&c->w, b, v, n, 0, 0);
  intcol_write(&c->w, b, v + n, n, 0, 0);
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
  if (!op || !pop) return c->e->rc;
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
  int rc = put_durations(c, spans, n);
  if (!rc) rc = put_ids(c, spans, n);
  if (!rc) rc = put_times(c, n);
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
  w->check_at = SIZE_MAX;
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
  colw_finish(&c->w, out);
  return TL_OK;
}

/* ---- decoding -------------------------------------------------------------- */

/* The stream names of messages and of tracelite_columns(). */
static const char *const fixed_names[COL_ATTRS] = {
    [COL_DURATIONS] = "durations",
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

/* Ids, parents, the time order, flags and trace states into the arrays of
** the state (phase one of col_decode: no span exists yet).  V_TRACE: the
** trace of each span; V_PAR: its parent in the block, else -1; V_PIDS: a
** pointer to its parent's id (NULL for a root).  The operations (whose
** per-span codes the flags need) only when fields asks for more than
** times: `sum(duration_ns)` reads neither. */
static int get_ids(cstate *c, size_t n, uint32_t fields, tl_batch *b) {
  uint32_t *tix = vec(c, V_TRACE, n, sizeof *tix);
  uint64_t *codes = vec(c, V_CODES, n, sizeof *codes);
  int64_t *par = vec(c, V_PAR, n, sizeof *par);
  const uint8_t **pids = vec(c, V_PIDS, n, sizeof *pids);
  if (!tix || !par || !codes || !pids) return c->e->rc;
  tl_rd rd;
  int rc = colr_get(&c->r, COL_TRACE_IDS, 0, NAME(COL_TRACE_IDS), &rd);
  if (rc) return rc;
  size_t len = tl_rd_left(&rd), traces = len / 16;
  if (len % 16 || traces > n || (n && !traces))
    return col_bad(c->e, NAME(COL_TRACE_IDS), "%zu bytes for %zu spans", len, n);
  c->trace_ids = rd.p;
  if ((rc = get_ints(c, COL_TRACE_REFS, codes, n, 0))) return rc;
  uint32_t seen = 0;
  for (size_t i = 0; i < n; i++)
    if (tl_trace_decode(codes[i], i ? (int64_t)tix[i - 1] : -1, &seen, (uint32_t)traces, &tix[i]))
      return col_bad(c->e, NAME(COL_TRACE_REFS), "span %zu: bad trace code %llu", i,
                     (unsigned long long)codes[i]);
  if (seen != traces)
    return col_bad(c->e, NAME(COL_TRACE_IDS), "%zu trace ids, %u used", traces, seen);
  c->ntraces = (uint32_t)traces;
  if ((rc = colr_get(&c->r, COL_SPAN_IDS, 0, NAME(COL_SPAN_IDS), &rd))) return rc;
  if (tl_rd_left(&rd) != 8 * n)
    return col_bad(c->e, NAME(COL_SPAN_IDS), "%zu bytes for %zu spans", tl_rd_left(&rd), n);
  const uint8_t *span_ids = c->span_ids = rd.p;
  if ((rc = trace_members(c, n, (uint32_t)traces))) return rc;
  const uint32_t *rank = c->v[V_RANK].p, *members = c->v[V_MEMBERS].p, *tstart = c->v[V_TSTART].p;
  if ((rc = get_ints(c, COL_PARENTS, codes, n, 0))) return rc;
  if ((rc = colr_get(&c->r, COL_PARENT_IDS, 0, NAME(COL_PARENT_IDS), &rd))) return rc;
  for (size_t i = 0; i < n; i++) {
    par[i] = -1;
    pids[i] = NULL;
    if (codes[i] == 0) continue;
    if (codes[i] == 1) {
      if (!(pids[i] = tl_rd_bytes(&rd, 8)))
        return col_bad(c->e, NAME(COL_PARENT_IDS), "fewer ids than the parents need");
      continue;
    }
    int64_t d = tl_unzigzag(codes[i] - 2), r = (int64_t)rank[i] - d;
    uint32_t t = tix[i];
    if (d > (int64_t)rank[i] || r >= (int64_t)(tstart[t + 1] - tstart[t]))
      return col_bad(c->e, NAME(COL_PARENTS), "span %zu: parent reference %lld is not a span "
                     "of its trace", i, (long long)d);
    size_t j = members[tstart[t] + r];
    pids[i] = span_ids + 8 * j;
    par[i] = (int64_t)j;
  }
  if ((rc = colr_done(&c->r, &rd, NAME(COL_PARENT_IDS)))) return rc;
  /* The time order, then the operations coded in it. */
  c->flags = NULL;
  c->flag = 0;
  c->states = NULL;
  if ((rc = plan(c, n))) return rc;
  if (!(fields & ~(TL_FIELD_TIMES | TL_FIELD_DURATION))) return TL_OK;
  if ((rc = col_ops_read(c->ops, &c->r, n, c->ord.order, c->ord.pref))) return rc;
  if (!(fields & TL_FIELD_IDS)) return TL_OK;
  /* Flags are a field of the operations: the spans' operations are only
  ** needed when they differ. */
  uint64_t flag;
  if (col_ops_uniform(c->ops, OP_FLAGS, &flag)) {
    if (flag > UINT32_MAX) return col_bad(c->e, NAME(COL_OPS), "flags past 32 bits");
    c->flag = (uint32_t)flag;
  } else {
    const uint32_t *op = col_ops_of_spans(c->ops);
    const uint64_t *flags = col_ops_table(c->ops, OP_FLAGS);
    uint32_t *f = vec(c, V_FLAGS, n, sizeof *f);
    if (!op || !f) return c->e->rc;
    for (size_t i = 0; i < n; i++) {
      if (flags[op[i]] > UINT32_MAX) return col_bad(c->e, NAME(COL_OPS), "flags past 32 bits");
      f[i] = (uint32_t)flags[op[i]];
    }
    c->flags = f;
  }
  if ((rc = get_strings(c, COL_TRACE_STATES, codes, n)) || !c->tab.n) return rc;
  tl_str *states = vec(c, V_STATES, n, sizeof *states);
  if (!states) return c->e->rc;
  for (size_t i = 0; i < n && !rc; i++) rc = string_at(c, b, codes[i], &states[i]);
  c->states = states;
  return rc;
}

/* A mode byte, the references of each span (mode `best`), the unit of
** each time (TIME_UNITS), then n signed deltas; required when there are
** spans.  Modes below `modes`. */
typedef struct time_col {
  int mode;
  const uint8_t *sel, *exps;
} time_col;

static int get_deltas(cstate *c, unsigned kind, int modes, int best, time_col *t, uint64_t *d,
                      size_t n) {
  tl_rd rd;
  int rc = colr_get(&c->r, kind, 0, NAME(kind), &rd);
  *t = (time_col){0, NULL, NULL};
  if (rc || !n) return rc;
  int byte = tl_rd_u8(&rd);
  if (rd.err) return col_bad(c->e, NAME(kind), "missing");
  t->mode = byte & ~TIME_UNITS;
  if (t->mode >= modes) return col_bad(c->e, NAME(kind), "unknown mode %d", byte);
  if ((t->mode == best && !(t->sel = tl_rd_bytes(&rd, n))) ||
      ((byte & TIME_UNITS) && !(t->exps = tl_rd_bytes(&rd, n))))
    return col_bad(c->e, NAME(kind), "truncated");
  for (size_t k = 0; t->exps && k < n; k++)
    if (t->exps[k] > TL_MAX_EXP)
      return col_bad(c->e, NAME(kind), "unit 10^%d past 10^%d", t->exps[k], TL_MAX_EXP);
  rc = intcol_read(&rd, d, n, 1, NAME(kind), c->e);
  return rc ? rc : colr_done(&c->r, &rd, NAME(kind));
}

/* The durations stream (version 3): n signed integers in block order. */
static int get_durations(cstate *c, size_t n, uint64_t *du) {
  tl_rd rd;
  int rc = colr_get(&c->r, COL_DURATIONS, 0, NAME(COL_DURATIONS), &rd);
  if (!rc) rc = intcol_read(&rd, du, n, 1, NAME(COL_DURATIONS), c->e);
  return rc ? rc : colr_done(&c->r, &rd, NAME(COL_DURATIONS));
}

/* The starts and ends into V_START and V_END: version 3 ends are starts
** plus durations, version 1 and 2 ends deltas of their own. */
static int get_times(cstate *c, size_t n) {
  /* The end deltas (versions 1 and 2) or the durations (version 3). */
  int v3 = c->r.durations;
  uint64_t *ds = vec(c, V_VALS, n, sizeof *ds), *de = vec(c, v3 ? V_DUR : V_VALS2, n, sizeof *de);
  uint64_t *st = vec(c, V_START, n, sizeof *st), *en = vec(c, V_END, n, sizeof *en);
  uint64_t *du = v3 ? de : NULL;
  time_col ts, te = {0, NULL, NULL};
  if (!ds || !de || !st || !en) return c->e->rc;
  int rc = get_deltas(c, COL_STARTS, START_MODES, START_BEST, &ts, ds, n);
  if (!rc && du) rc = get_durations(c, n, du);
  else if (!rc) rc = get_deltas(c, COL_ENDS, END_MODES, END_BEST, &te, de, n);
  if (rc) return rc;
  const uint32_t *order = c->ord.order;
  /* In the order: a start may refer to an earlier span's end. */
  for (size_t k = 0; k < n; k++) {
    size_t i = order[k];
    int rs = ts.sel ? ts.sel[k] : ts.mode, re = te.sel ? te.sel[k] : te.mode, ok = 1, sign;
    uint64_t base = 0;
    if (rs < START_BEST) base = start_base(c, rs, i, k ? (int64_t)order[k - 1] : -1, st, en, &ok);
    if (ts.sel && (rs >= START_BEST || !ok))
      return col_bad(c->e, NAME(COL_STARTS), "span %zu: bad reference %d", i, rs);
    st[i] = from_delta(ds[k], base, 1, ts.exps ? ts.exps[k] : 0);
    if (du) {
      en[i] = st[i] + du[i];
      continue;
    }
    base = end_base(c, re, i, st, en, &sign, &ok);
    if (te.sel && (re >= END_BEST || !ok))
      return col_bad(c->e, NAME(COL_ENDS), "span %zu: bad reference %d", i, re);
    en[i] = from_delta(de[k], base, sign, te.exps ? te.exps[k] : 0);
  }
  return TL_OK;
}

/* Phase two of col_decode: the spans, with what get_ids and get_times
** left in the arrays, in one pass. */
static int add_spans(cstate *c, tl_span **sp, size_t n, tl_batch *b) {
  const uint32_t *tix = c->v[V_TRACE].p;
  const uint8_t *const *pids = c->v[V_PIDS].p;
  const uint64_t *st = c->v[V_START].p, *en = c->v[V_END].p;
  if (tl_batch_add_spans(b, n, sp)) return tl_err_set(c->e, TL_ENOMEM, "columnar: out of memory");
  for (size_t i = 0; i < n; i++) {
    tl_span *s = sp[i];
    memcpy(s->trace_id, c->trace_ids + 16 * (size_t)tix[i], 16);
    memcpy(s->span_id, c->span_ids + 8 * i, 8);
    if (pids[i]) memcpy(s->parent_span_id, pids[i], 8);
    s->flags = c->flags ? c->flags[i] : c->flag;
    if (c->states) s->trace_state = c->states[i];
    s->start_ns = st[i];
    s->end_ns = en[i];
  }
  return TL_OK;
}

/* Field f of each span's operation, each below limit (names, resources
** and scopes: their table's size, or 1 when the table is absent). */
static int op_field(cstate *c, int f, uint64_t limit, const char *what, uint64_t *out, size_t n) {
  const uint32_t *op = col_ops_of_spans(c->ops);
  const uint64_t *v = col_ops_table(c->ops, f);
  if (!op) return c->e->rc;
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
  for (size_t i = 0; i < n && !rc; i++)
    if (WANTED(c->want, i)) rc = string_at(c, b, codes[i], &sp[i]->name);
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
  for (size_t i = 0; i < n && !rc; i++)
    if (WANTED(c->want, i)) rc = string_at(c, b, codes[i], &sp[i]->status_message);
  return rc;
}

/* Resources (scopes) and each span's, from its operation; an absent
** table: the batch's empty one.  decode_traces builds only the objects of
** the spans it fills in, and reads past the others. */
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
  uint8_t *used = c->want ? vec(c, V_ITEM_WANT, (size_t)count, 1) : NULL;
  if (!objs || (c->want && !used)) return c->e->rc;
  if ((rc = op_field(c, field, count ? count : 1, NAME(kind), codes, n))) return rc;
  if (used) {
    memset(used, 0, (size_t)count);
    for (size_t i = 0; i < n && count; i++) used[codes[i]] |= c->want[i];
  }
  int obj = kind == COL_RESOURCES ? TL_OBJ_RESOURCE : TL_OBJ_SCOPE;
  for (uint64_t k = 0; k < count; k++)
    if ((rc = tl_obj_read(obj, &rd, WANTED(used, k) ? b : NULL, &c->kb, NULL, &objs[k], what,
                          c->e)))
      return rc;
  if ((rc = colr_done(&c->r, &rd, NAME(kind)))) return rc;
  for (size_t i = 0; i < n && count; i++) {
    if (!WANTED(c->want, i)) continue;
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

/* decode_traces: which of the block's `total` events (links) belong to
** the spans filled in; NULL (with the error set) on OOM. */
static const uint8_t *item_want(cstate *c, tl_span *const *sp, size_t n, size_t total,
                                int links) {
  uint8_t *w = vec(c, V_ITEM_WANT, total, 1);
  if (!w) return NULL;
  for (size_t i = 0, k = 0; i < n; i++) {
    uint32_t m = links ? sp[i]->n_links : sp[i]->n_events;
    memset(w + k, c->want[i], m);
    k += m;
  }
  return w;
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
  const uint8_t *want = NULL;
  if (c->want && !(want = item_want(c, sp, n, total, 0))) return c->e->rc;
  if ((rc = get_strings(c, COL_EVENT_NAMES, v, total))) return rc;
  for (size_t k = 0; k < total && !rc; k++)
    if (WANTED(want, k)) rc = string_at(c, b, v[k], &evs[k].name);
  for (size_t k = 0; k < total; k++) lists[k] = &evs[k].attrs;
  return rc ? rc
            : col_attrs_read(c->attrs, &c->r, ATTR_EVENT, lists, total, 1, NULL, NULL, want, b);
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
  const uint8_t *want = NULL;
  if (c->want && !(want = item_want(c, sp, n, total, 1))) return c->e->rc;
  if ((rc = get_strings(c, COL_LINK_STATES, v, total))) return rc;
  for (size_t k = 0; k < total && !rc; k++)
    if (WANTED(want, k)) rc = string_at(c, b, v[k], &ls[k].trace_state);
  if (!rc) rc = get_ints(c, COL_LINK_FLAGS, v, total, 0);
  for (size_t k = 0; k < total && !rc; k++) {
    if (v[k] > UINT32_MAX) return col_bad(c->e, NAME(COL_LINK_FLAGS), "flags past 32 bits");
    ls[k].flags = (uint32_t)v[k];
  }
  for (size_t k = 0; k < total; k++) lists[k] = &ls[k].attrs;
  return rc ? rc
            : col_attrs_read(c->attrs, &c->r, ATTR_LINK, lists, total, 1, NULL, NULL, want, b);
}

/* Phase three: the fields asked for, into the spans. */
static int get_columns(cstate *c, tl_span **sp, size_t n, uint32_t fields, tl_batch *b) {
  int rc = TL_OK;
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
                          shapes, &ctx, c->want, b);
  }
  return rc;
}

static int cmp_id16(const void *x, const void *y) { return memcmp(x, y, 16); }

/* decode_traces: V_WANT, 1 for the spans of the traces asked for; c->want
** NULL when that is every span (nothing to skip). */
static int want_traces(cstate *c, size_t n, const uint8_t (*traces)[16], size_t ntraces) {
  uint8_t *tw = vec(c, V_ITEM_WANT, c->ntraces, 1), *w = vec(c, V_WANT, n, 1);
  if (!tw || !w) return c->e->rc;
  uint32_t hits = 0;
  for (uint32_t t = 0; t < c->ntraces; t++)
    hits += tw[t] = bsearch(c->trace_ids + 16 * (size_t)t, traces, ntraces, 16, cmp_id16) != NULL;
  const uint32_t *tix = c->v[V_TRACE].p;
  for (size_t i = 0; i < n; i++) w[i] = tw[tix[i]];
  c->want = hits < c->ntraces ? w : NULL;
  return TL_OK;
}

static int decode_block(cstate *c, const uint8_t *p, size_t len, size_t n, uint32_t fields,
                        const uint8_t (*traces)[16], size_t ntraces, tl_batch *b) {
  c->want = NULL;
  int rc = colr_open(&c->r, p, len);
  if (rc) return rc;
  size_t before = tl_batch_count(b);
  tl_span **sp = vec(c, V_SPANS, n, sizeof *sp);
  if (!sp) return c->e->rc;
  if ((rc = get_ids(c, n, fields, b)) || (rc = get_times(c, n))) return rc;
  if (traces && (rc = want_traces(c, n, traces, ntraces))) return rc;
  rc = add_spans(c, sp, n, b);
  if (!rc) rc = get_columns(c, sp, n, fields, b);
  if (rc)
    while (tl_batch_count(b) > before) tl_batch_pop_span(b);
  c->want = NULL;
  return rc;
}

static int col_decode(void *state, const uint8_t *p, size_t len, size_t n, uint32_t fields,
                      tl_batch *b, tl_err *e) {
  cstate *c = state;
  c->e = c->r.e = e;
  return decode_block(c, p, len, n, fields, NULL, 0, b);
}

static int col_decode_traces(void *state, const uint8_t *p, size_t len, size_t n,
                             uint32_t fields, const uint8_t (*traces)[16], size_t ntraces,
                             tl_batch *b, tl_err *e) {
  cstate *c = state;
  c->e = c->r.e = e;
  return decode_block(c, p, len, n, fields, traces, ntraces, b);
}

/* Phases one and two of decode_block, into arrays instead of spans: what
** add_spans would put in each span, array by array. */
static int col_decode_cols(void *state, const uint8_t *p, size_t len, size_t n, uint32_t fields,
                           tl_cols *out, tl_batch *b, tl_err *e) {
  cstate *c = state;
  c->e = c->r.e = e;
  c->want = NULL;
  int rc = colr_open(&c->r, p, len);
  if (!rc) rc = get_ids(c, n, fields, b);
  if (!rc) rc = get_times(c, n);
  if (!rc && tl_cols_reserve(out, n)) rc = tl_err_set(e, TL_ENOMEM, "columnar: out of memory");
  if (rc) return rc;
  const uint32_t *tix = c->v[V_TRACE].p;
  const uint8_t *const *pids = c->v[V_PIDS].p;
  out->n = n;
  if (!n) return TL_OK;
  memcpy(out->start, c->v[V_START].p, n * sizeof *out->start);
  memcpy(out->end, c->v[V_END].p, n * sizeof *out->end);
  if (!(fields & TL_FIELD_IDS)) return TL_OK;
  for (size_t i = 0; i < n; i++) {
    memcpy(out->trace_id[i], c->trace_ids + 16 * (size_t)tix[i], 16);
    if (pids[i]) memcpy(out->parent_id[i], pids[i], 8);
    else memset(out->parent_id[i], 0, 8);
    out->flags[i] = c->flags ? c->flags[i] : c->flag;
    out->trace_state[i] = c->states ? c->states[i] : (tl_str){NULL, 0};
  }
  memcpy(out->span_id, c->span_ids, 8 * n);
  return TL_OK;
}

/* The durations alone (codec.h): from the first bytes of a version 3
** payload, its directory, head check and durations stream; a version 1 or
** 2 payload has none of its own, and takes the whole payload and the time
** decode of decode_cols. */
static int col_decode_durations(void *state, const uint8_t *p, size_t avail, size_t len,
                                size_t n, uint64_t *out, size_t *need, tl_err *e) {
  cstate *c = state;
  c->e = c->r.e = e;
  c->want = NULL;
  int rc = colr_open_part(&c->r, p, avail, len, need);
  if (rc || *need) return rc;
  if (c->r.durations) return get_durations(c, n, out);
  if (avail < len) {
    *need = len;
    return TL_OK;
  }
  if ((rc = get_ids(c, n, TL_FIELD_TIMES, NULL)) || (rc = get_times(c, n))) return rc;
  const uint64_t *st = c->v[V_START].p, *en = c->v[V_END].p;
  for (size_t i = 0; i < n; i++) out[i] = en[i] - st[i];
  return TL_OK;
}

/* ---- dictionaries ------------------------------------------------------------ */

/* The text streams of spans[0..n) (those a dictionary serves), one after
** another into out; *list (malloc'd) and *count say where each is. */
static int text_streams(cstate *c, tl_span *const *spans, size_t n, tl_buf *out,
                        struct col_sample **list, unsigned *count, tl_err *e) {
  col_writer *w = &c->w;
  writer_begin(w, 0, e);
  w->samples = out;
  w->n_samples = 0;
  int rc = put_columns(c, spans, n);
  w->samples = NULL;
  *count = w->n_samples;
  if (!rc && out->oom) rc = tl_err_set(e, TL_ENOMEM, "columnar: out of memory");
  if (!rc && list && !(*list = malloc((*count ? *count : 1) * sizeof **list)))
    rc = tl_err_set(e, TL_ENOMEM, "columnar: out of memory");
  if (!rc && list) memcpy(*list, w->sample, *count * sizeof **list);
  return rc;
}

typedef struct ranked_stream {
  size_t at, len;
  double use; /* bytes saved per byte of dictionary */
} ranked_stream;

static int by_use(const void *x, const void *y) {
  const ranked_stream *a = x, *b = y;
  return (a->use > b->use) - (a->use < b->use);
}

/* The sample of list[0..n) tagged tag, or NULL. */
static const struct col_sample *find_sample(const struct col_sample *list, unsigned n,
                                            uint64_t tag) {
  for (unsigned i = 0; i < n; i++)
    if (list[i].tag == tag) return &list[i];
  return NULL;
}

/* Training.  A block's text streams are tables (operation names, resources,
** attribute keys and shapes, the strings of attribute values) that the
** next blocks largely repeat, so the dictionary is raw content: streams
** themselves, for zstd to match whole entries of a new block's tables
** against.  Which streams go in is measured on the two halves of the
** spans: a stream's use is what the first half's version of it saves on
** the second half's (compressed with it as the dictionary, against
** without), per byte.  The dictionary then takes the streams encoded from
** all the spans (tables that cover more), the most useful first, up to
** dict_size, and writes them best last, where zstd reaches them with the
** shortest offsets.  Streams of values that do not repeat (ids, free
** text) save nothing and stay out. */
static int col_train(void *state, tl_span *const *spans, size_t n, tl_buf *dict, tl_err *e) {
  cstate *c = state;
  if (!c->dict_size || n < 2 * TRAIN_MIN_SPANS) return TL_OK;
  size_t half = n / 2;
  tl_buf all, first, second;
  tl_buf_init(&all);
  tl_buf_init(&first);
  tl_buf_init(&second);
  struct col_sample *in_all = NULL, *in_first = NULL, *in_second = NULL;
  ranked_stream *r = NULL;
  unsigned n_all = 0, n_first = 0, n_second = 0, kept = 0;
  c->e = e;
  int rc = text_streams(c, spans, n, &all, &in_all, &n_all, e);
  if (!rc) rc = text_streams(c, spans, half, &first, &in_first, &n_first, e);
  if (!rc) rc = text_streams(c, spans + half, n - half, &second, &in_second, &n_second, e);
  if (!rc && !(r = malloc((n_all ? n_all : 1) * sizeof *r)))
    rc = tl_err_set(e, TL_ENOMEM, "columnar: out of memory");
  for (unsigned i = 0; i < n_all && !rc; i++) {
    const struct col_sample *a = find_sample(in_first, n_first, in_all[i].tag),
                            *b = find_sample(in_second, n_second, in_all[i].tag);
    size_t with, without;
    if (!a || !b) continue;
    rc = tl_zs_size_with(c->zs, second.p + b->at, b->len, NULL, 0, &without, e);
    if (!rc) rc = tl_zs_size_with(c->zs, second.p + b->at, b->len, first.p + a->at, a->len, &with, e);
    if (!rc && with < without)
      r[kept++] = (ranked_stream){in_all[i].at, in_all[i].len, (double)(without - with) / a->len};
  }
  if (r) qsort(r, kept, sizeof *r, by_use);
  /* The most useful that fit (one that does not is left out, and a
  ** smaller one after it may still be taken), written best last. */
  size_t total = 0;
  for (size_t i = kept; i-- > 0;) {
    if (total + r[i].len <= (size_t)c->dict_size) total += r[i].len;
    else r[i].len = 0;
  }
  if (!rc && total >= TL_ZS_MIN_DICT) {
    size_t start = dict->n;
    for (size_t i = 0; i < kept; i++) tl_buf_append(dict, all.p + r[i].at, r[i].len);
    /* Raw content must not start like a formatted zstd dictionary. */
    if (!dict->oom && memcmp(dict->p + start, TL_ZS_DICT_MAGIC, 4) == 0) dict->p[start] = 0;
    if (dict->oom) rc = tl_err_set(e, TL_ENOMEM, "columnar: out of memory");
  }
  free(r);
  free(in_all);
  free(in_first);
  free(in_second);
  tl_buf_free(&all);
  tl_buf_free(&first);
  tl_buf_free(&second);
  return rc;
}

static int col_add_dict(void *state, uint32_t id, const uint8_t *p, size_t n, tl_err *e) {
  return tl_zs_add_dict(((cstate *)state)->zs, id, p, n, e);
}

const tl_codec_vt tl_codec_columnar = {
    .name = "columnar",
    .id = TL_CODEC_COLUMNAR,
    /* 2: times in their own units (TIME_UNITS).  Version 1 payloads are
    ** version 2 payloads that do not use it, and read the same.  3: the
    ** durations and head check streams instead of end_ns;
    ** a payload is read by the rules of what it holds (durations or not),
    ** so that the version in the envelope need not be passed down. */
    .version = 3,
    .partial = 1,
    .create = col_create,
    .destroy = col_destroy,
    .encode = col_encode,
    .decode = col_decode,
    .train = col_train,
    .add_dict = col_add_dict,
    .decode_traces = col_decode_traces,
    .decode_cols = col_decode_cols,
    .decode_durations = col_decode_durations,
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
    if (s->kind == COL_DURATIONS && s->index == COL_CHECK_INDEX) {
      tl_buf_puts(&c->tmp, "(head check)");
    } else if (s->kind < COL_ATTRS) {
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
