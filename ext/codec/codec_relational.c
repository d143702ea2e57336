/*
** codec_relational.c — format=relational (phase 4): the spans of a block
** as rows grouped by trace, every repeated thing a reference, compact
** varints, then one zstd frame.  docs/format.md, section "relational", is
** the byte layout:
**
**   payload = LEB128 dictionary id (0 = none), LEB128 content length,
**             u8 coding (0 stored, 1 zstd), the content (stored or one
**             zstd frame without content size or checksum)
**   content = strings    every text of the block once (strdict.c table)
**             resources  each distinct resource once (objtab.c), texts as
**             scopes     string codes
**             u8 time mode: 0 plain, 1 decimal (below); LEB128 base time
**             LEB128 T, T trace ids of 16 bytes, in order of first use
**             n trace codes (span_order.c): which trace each span of the
**                        block belongs to, in block order
**             the span ids (8 bytes each) in row order
**             the span rows of trace 0 in block order, then of trace 1, ...
**
** A row (every code LEB128, every text a string code):
**   parent: 0 root; 1 not in the block, then its 8 bytes; 2 + zigzag of
**           the span's rank in its trace minus the parent's (the parent's
**           8-byte id is not repeated: it is that span's id)
**   start: delta from the parent's start, or for a span without a parent
**          in the block from the start of the span before it in the time
**          order (span_order.c: parents first), the base for the first
**   duration: end - start
**          (times: zigzag LEB128; in decimal mode zigzag(m) * 20 + e for
**          a delta m * 10^e, chosen per block when it is smaller: most
**          exporters write microseconds as nanoseconds)
**   name, u8 kind * 3 + status code, resource code, scope code, flags,
**   trace_state, status message
**   attributes (valenc.c), dropped attributes
**   event count, then each: time - start (as the times above), name,
**   attributes
**   dropped events
**   link count, then each: trace id (16), span id (8), trace_state, flags,
**   attributes
**   dropped links
**
** Why rows and one frame: this is the format that decodes a whole span at
** a time (a trace by id, SELECT *), so it keeps a span's fields together;
** the references (trace, parent, strings, resources) and the time deltas do
** what a general-purpose compressor cannot, and zstd does the rest.  A
** decode still walks every row, but what its field mask leaves out (texts,
** attributes, events, links, resources, scopes) is read past with the same
** checks and nothing of it is built.  The dictionary
** trained per table (train, add_dict) is a zstd dictionary of sample
** contents: it carries the strings and resources every block repeats.
**
** Hostile payloads: the content size is bounded before allocating, every
** count by the bytes left, every code by its table, every parent rank by
** its trace; errors name the part ("relational payload: rows: ...") and a
** failed decode leaves no span in the batch.
*/
#include "codec.h"
#include "codec_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The level when the table does not set one (tl_codec_opts.zstd_level 0):
** a block is one frame of a few hundred kilobytes, where lazy matching
** (level 6) is 5% smaller than level 3 and no slower to encode on one core
** (docs/format.md, section relational). */
#define REL_DEFAULT_ZSTD_LEVEL 6
#define SAMPLE_SPANS 256
#define MAX_DICT_SIZE (4 * 1024 * 1024)
/* No valid zstd frame holds more than this many bytes per stored byte. */
#define MAX_RATIO (128 * 1024 / 4)
/* Events or links of one block, at most (bounds what a payload can make
** the decoder allocate, as for columnar). */
#define MAX_ITEMS (1u << 22)

enum {
  V_TIX, V_PAR, V_RANK, V_MEMBERS, V_TSTART, V_FIRST, V_CODES, V_RES, V_SCOPE, V_START, V_DUR,
  V_SPANS, V_OBJS, V_COUNT
};

typedef struct rstate {
  tl_zs *zs;
  int dict_size;
  tl_strdict strs, traces, spans;
  tl_objtab objs;
  tl_span_order ord;
  tl_strtab tab;
  tl_kvbuf kb;
  tl_buf tables, ids, rows, content;
  tl_vec v[V_COUNT];
  uint32_t fields; /* TL_FIELD_* of the decode under way */
  int decimal;   /* the block's time mode */
  uint64_t base; /* what the first span's start is a delta from */
  tl_err *e;
} rstate;

static void rel_destroy(void *state) {
  rstate *r = state;
  if (!r) return;
  tl_zs_free(r->zs);
  tl_strdict_free(&r->strs);
  tl_strdict_free(&r->traces);
  tl_strdict_free(&r->spans);
  tl_objtab_free(&r->objs);
  tl_span_order_free(&r->ord);
  tl_strtab_free(&r->tab);
  tl_kvbuf_free(&r->kb);
  tl_buf_free(&r->tables);
  tl_buf_free(&r->rows);
  tl_buf_free(&r->ids);
  tl_buf_free(&r->content);
  for (int i = 0; i < V_COUNT; i++) tl_vec_free(&r->v[i]);
  free(r);
}

static int rel_create(const tl_codec_opts *opts, void **state, tl_err *e) {
  *state = NULL;
  int level = opts && opts->zstd_level ? opts->zstd_level : REL_DEFAULT_ZSTD_LEVEL;
  int dict_size = opts ? opts->dict_size : TL_CODEC_DEFAULT_DICT_SIZE;
  if (dict_size < 0 || dict_size > MAX_DICT_SIZE)
    return tl_err_set(e, TL_ERANGE, "relational: dict_size %d is not between 0 and %d",
                      dict_size, MAX_DICT_SIZE);
  rstate *r = calloc(1, sizeof *r);
  if (!r) return tl_err_set(e, TL_ENOMEM, "relational: out of memory");
  int rc = tl_zs_new(level, "relational", &r->zs, e);
  if (rc) {
    rel_destroy(r);
    return rc;
  }
  r->dict_size = dict_size;
  *state = r;
  return TL_OK;
}

static void *vec(rstate *r, int which, size_t n, size_t sz) {
  void *p = tl_vec_get(&r->v[which], (n ? n : 1) * sz);
  if (!p) tl_err_set(r->e, TL_ENOMEM, "relational: out of memory");
  return p;
}

static int oom(rstate *r) { return tl_err_set(r->e, TL_ENOMEM, "relational: out of memory"); }

/* ---- encoding ------------------------------------------------------------------ */

static int text(rstate *r, tl_buf *out, tl_str s) {
  return tl_text_write(out, &r->strs, s, "relational", r->e);
}

/* zigzag(m) * 20 + e for a signed delta v = m * 10^e; UINT64_MAX when that
** does not fit in 64 bits (a block with such a delta is not decimal). */
static uint64_t decimal_code(uint64_t v) {
  uint64_t mag = (int64_t)v < 0 ? 0 - v : v;
  int e = tl_decimal_exp(mag);
  uint64_t m = mag / tl_pow10[e];
  if (m > (UINT64_MAX - 19) / 40) return UINT64_MAX;
  uint64_t zz = (int64_t)v < 0 ? 2 * m - 1 : 2 * m;
  return zz * 20 + (uint64_t)e;
}

/* A signed time delta: zigzag LEB128, or in decimal mode decimal_code. */
static void put_time(tl_buf *out, uint64_t v, int decimal) {
  if (!decimal) {
    tl_buf_varint(out, tl_zigzag((int64_t)v));
    return;
  }
  uint64_t zz = decimal_code(v);
  tl_buf_varint(out, zz);
}

/* Bytes of the times of the block in plain or decimal form: which is
** smaller decides the block's time mode. */
static size_t varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) v >>= 7, n++;
  return n;
}

/* One row (the layout in the header comment). */
static int put_row(rstate *r, const tl_span *s, size_t i, tl_buf *out) {
  const int64_t *par = r->v[V_PAR].p;
  const uint32_t *rank = r->v[V_RANK].p;
  const uint64_t *res = r->v[V_RES].p, *scope = r->v[V_SCOPE].p, *start = r->v[V_START].p;
  tl_buf_append(&r->ids, s->span_id, 8);
  if (tl_span_is_root(s)) {
    tl_buf_putc(out, 0);
  } else if (par[i] < 0) {
    tl_buf_putc(out, 1);
    tl_buf_append(out, s->parent_span_id, 8);
  } else {
    tl_buf_varint(out, 2 + tl_zigzag((int64_t)rank[i] - (int64_t)rank[par[i]]));
  }
  put_time(out, start[i], r->decimal);
  put_time(out, s->end_ns - s->start_ns, r->decimal);
  int rc = text(r, out, s->name);
  if (s->kind > TL_KIND_CONSUMER || s->status_code > TL_STATUS_ERROR)
    return tl_err_set(r->e, TL_EMISUSE, "relational: kind %d or status %d out of range", s->kind,
                      s->status_code);
  tl_buf_putc(out, (char)(s->kind * 3 + s->status_code));
  tl_buf_varint(out, res[i]);
  tl_buf_varint(out, scope[i]);
  tl_buf_varint(out, s->flags);
  if (!rc) rc = text(r, out, s->trace_state);
  if (!rc) rc = text(r, out, s->status_message);
  if (!rc) rc = tl_attrs_write(out, &r->strs, &s->attrs, "relational", r->e);
  tl_buf_varint(out, s->n_events);
  for (uint32_t k = 0; k < s->n_events && !rc; k++) {
    const tl_event *ev = &s->events[k];
    put_time(out, ev->time_ns - s->start_ns, r->decimal);
    rc = text(r, out, ev->name);
    if (!rc) rc = tl_attrs_write(out, &r->strs, &ev->attrs, "relational", r->e);
  }
  tl_buf_varint(out, s->dropped_events);
  tl_buf_varint(out, s->n_links);
  for (uint32_t k = 0; k < s->n_links && !rc; k++) {
    const tl_link *l = &s->links[k];
    tl_buf_append(out, l->trace_id, 16);
    tl_buf_append(out, l->span_id, 8);
    rc = text(r, out, l->trace_state);
    tl_buf_varint(out, l->flags);
    if (!rc) rc = tl_attrs_write(out, &r->strs, &l->attrs, "relational", r->e);
  }
  tl_buf_varint(out, s->dropped_links);
  return rc;
}

/* Traces, trace codes (into r->tables), parents and start deltas. */
static int plan_block(rstate *r, tl_span *const *spans, size_t n) {
  uint32_t *tix = vec(r, V_TIX, n, sizeof *tix), *first = vec(r, V_FIRST, n, sizeof *first);
  int64_t *par = vec(r, V_PAR, n, sizeof *par);
  uint64_t *start = vec(r, V_START, n, sizeof *start);
  if (!tix || !first || !par || !start) return r->e->rc;
  tl_strdict_reset(&r->traces);
  tl_strdict_reset(&r->spans);
  for (size_t i = 0; i < n; i++) {
    uint32_t before = r->spans.n;
    int64_t t = tl_strdict_code(&r->traces, (tl_str){(const char *)spans[i]->trace_id, 16});
    /* trace_id and span_id are adjacent: one 24-byte key. */
    int64_t k = tl_strdict_code(&r->spans, (tl_str){(const char *)spans[i]->trace_id, 24});
    if (t < 0 || k < 0) return oom(r);
    if (r->spans.n != before) first[k] = (uint32_t)i;
    tix[i] = (uint32_t)t;
  }
  for (size_t i = 0; i < n; i++) {
    const tl_span *s = spans[i];
    uint8_t key[24];
    memcpy(key, s->trace_id, 16);
    memcpy(key + 16, s->parent_span_id, 8);
    int64_t k = tl_span_is_root(s) ? -1 : tl_strdict_find(&r->spans, (tl_str){(const char *)key, 24});
    par[i] = k < 0 ? -1 : (int64_t)first[k];
  }
  if (tl_span_order_plan(&r->ord, par, tix, n)) return oom(r);
  size_t plain = 0, decimal = 0;
  int fits = 1;
  r->base = n ? spans[r->ord.order[0]]->start_ns : 0;
  for (size_t k = 0; k < n; k++) {
    size_t i = r->ord.order[k];
    int64_t base = r->ord.pref[i] >= 0 ? r->ord.pref[i] : k ? (int64_t)r->ord.order[k - 1] : -1;
    start[i] = spans[i]->start_ns - (base < 0 ? r->base : spans[base]->start_ns);
    uint64_t t[2] = {start[i], spans[i]->end_ns - spans[i]->start_ns};
    for (int j = 0; j < 2; j++) {
      uint64_t code = decimal_code(t[j]);
      fits &= code != UINT64_MAX;
      plain += varint_len(tl_zigzag((int64_t)t[j]));
      decimal += varint_len(code);
    }
    for (uint32_t ev = 0; ev < spans[i]->n_events; ev++)
      fits &= decimal_code(spans[i]->events[ev].time_ns - spans[i]->start_ns) != UINT64_MAX;
  }
  r->decimal = fits && decimal < plain;
  return TL_OK;
}

/* The content in one pass, with the strings table as it is (pass 1: codes
** in order of first use; pass 2: codes by falling use). */
static int put_pass(rstate *r, tl_span *const *spans, size_t n) {
  int rc = TL_OK;
  uint32_t traces = r->traces.n;
  uint32_t *rank = vec(r, V_RANK, n, sizeof *rank), *members = vec(r, V_MEMBERS, n, sizeof *members);
  uint32_t *tstart = vec(r, V_TSTART, (size_t)traces + 1, sizeof *tstart);
  uint64_t *res = vec(r, V_RES, n, sizeof *res), *scope = vec(r, V_SCOPE, n, sizeof *scope);
  const void **objs = vec(r, V_OBJS, n, sizeof *objs);
  if (rc || !rank || !members || !tstart || !res || !scope || !objs) return rc ? rc : r->e->rc;
  const uint32_t *tix = r->v[V_TIX].p;
  tl_trace_members(tix, n, traces, rank, members, tstart);
  tl_buf_reset(&r->tables);
  tl_buf_reset(&r->ids);
  tl_buf_reset(&r->rows);
  for (size_t i = 0; i < n; i++) objs[i] = spans[i]->resource;
  rc = tl_objtab_build(&r->objs, TL_OBJ_RESOURCE, objs, n, &r->strs, res, &r->tables,
                       "relational", r->e);
  if (!r->tables.n) tl_buf_putc(&r->tables, 0); /* no table: 0 resources */
  size_t at = r->tables.n;
  for (size_t i = 0; i < n; i++) objs[i] = spans[i]->scope;
  if (!rc)
    rc = tl_objtab_build(&r->objs, TL_OBJ_SCOPE, objs, n, &r->strs, scope, &r->tables,
                         "relational", r->e);
  if (r->tables.n == at) tl_buf_putc(&r->tables, 0);
  tl_buf_putc(&r->tables, (char)r->decimal);
  tl_buf_varint(&r->tables, r->base);
  tl_buf_varint(&r->tables, traces);
  for (uint32_t t = 0; t < traces; t++) tl_buf_append(&r->tables, r->traces.items[t].ptr, 16);
  for (size_t i = 0, seen = 0; i < n; i++) {
    tl_buf_varint(&r->tables, tl_trace_code(tix[i], i ? (int64_t)tix[i - 1] : -1, (uint32_t)seen));
    if (tix[i] == seen) seen++;
  }
  for (size_t k = 0; k < n && !rc; k++) rc = put_row(r, spans[members[k]], members[k], &r->rows);
  if (rc) return rc;
  tl_buf_reset(&r->content);
  tl_strdict_write(&r->strs, &r->content);
  tl_buf_append(&r->content, r->tables.p, r->tables.n);
  tl_buf_append(&r->content, r->ids.p, r->ids.n);
  tl_buf_append(&r->content, r->rows.p, r->rows.n);
  return r->content.oom || r->tables.oom || r->ids.oom || r->rows.oom ? oom(r) : TL_OK;
}

/* Two passes: the first numbers the texts in order of first use and counts
** their uses, the second writes them with the most used numbered first, so
** that most codes take one byte (about 4% smaller on the generated shop). */
static int put_content(rstate *r, tl_span *const *spans, size_t n) {
  int rc = plan_block(r, spans, n);
  if (rc) return rc;
  tl_strdict_reset(&r->strs);
  /* "" is code 0 in both passes. */
  if (tl_strdict_code(&r->strs, (tl_str){"", 0}) < 0) return oom(r);
  rc = put_pass(r, spans, n);
  if (!rc && tl_strdict_sort_by_use(&r->strs, 1)) rc = oom(r);
  return rc ? rc : put_pass(r, spans, n);
}

static int rel_encode(void *state, tl_span *const *spans, size_t n, tl_buf *out, tl_err *e) {
  rstate *r = state;
  r->e = e;
  int rc = put_content(r, spans, n);
  if (rc) return rc;
  uint32_t dict = tl_zs_top_dict(r->zs);
  tl_buf_varint(out, dict);
  tl_buf_varint(out, r->content.n);
  size_t at = out->n;
  tl_buf_putc(out, 1);
  rc = tl_zs_compress(r->zs, r->content.p, r->content.n, dict, out, e);
  if (!rc && out->n - at - 1 >= r->content.n) { /* incompressible: stored */
    out->n = at;
    tl_buf_putc(out, 0);
    tl_buf_append(out, r->content.p, r->content.n);
  }
  return rc;
}

/* ---- decoding ------------------------------------------------------------------ */

static int bad(rstate *r, const char *part, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int bad(rstate *r, const char *part, const char *fmt, ...) {
  char why[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return tl_err_set(r->e, TL_EFORMAT, "relational payload: %s: %s", part, why);
}

/* A time delta as put_time wrote it (wrapping modulo 2^64 for crafted
** input, without undefined behaviour). */
static uint64_t get_time(tl_rd *rd, int decimal) {
  uint64_t x = tl_rd_varint(rd);
  if (!decimal) return (uint64_t)tl_unzigzag(x);
  return (uint64_t)tl_unzigzag(x / 20) * tl_pow10[x % 20];
}

/* The batch to build field f into, or NULL when the decode does not ask
** for it: the readers then read past it with the same checks. */
static tl_batch *into(const rstate *r, uint32_t f, tl_batch *b) {
  return r->fields & f ? b : NULL;
}

/* A text code of the strings table. */
static int get_text(rstate *r, tl_rd *rd, tl_batch *b, tl_str *out) {
  return tl_text_read(rd, b, &r->tab, out, "relational payload: rows", r->e);
}

static int get_attrs(rstate *r, tl_rd *rd, tl_batch *b, tl_attrs *out) {
  return tl_attrs_read(rd, b, &r->kb, &r->tab, out, "relational payload: rows", r->e);
}

static int get_u32(rstate *r, tl_rd *rd, uint32_t *out, const char *what) {
  uint64_t v = tl_rd_varint(rd);
  if (rd->err || v > UINT32_MAX) return bad(r, "rows", "bad %s", what);
  *out = (uint32_t)v;
  return TL_OK;
}

/* Row of span s (of trace t); its parent reference into par. */
static int get_row(rstate *r, tl_rd *rd, tl_span *s, size_t i, uint32_t rank, uint32_t t,
                   tl_batch *b,
                   const void *const *res, uint64_t nres, const void *const *scopes,
                   uint64_t nscopes) {
  const uint32_t *members = r->v[V_MEMBERS].p, *tstart = r->v[V_TSTART].p;
  int64_t *par = r->v[V_PAR].p;
  uint64_t *start = r->v[V_START].p, *dur = r->v[V_DUR].p;
  uint64_t p = tl_rd_varint(rd);
  if (rd->err) return bad(r, "rows", "truncated at span %zu", i);
  par[i] = -1;
  if (p == 1) {
    const uint8_t *pid = tl_rd_bytes(rd, 8);
    if (!pid) return bad(r, "rows", "truncated at span %zu", i);
    memcpy(s->parent_span_id, pid, 8);
  } else if (p >= 2) {
    int64_t d = tl_unzigzag(p - 2), j = (int64_t)rank - d;
    if (d > (int64_t)rank || j >= (int64_t)(tstart[t + 1] - tstart[t]))
      return bad(r, "rows", "span %zu: parent %lld is not a span of its trace", i, (long long)d);
    par[i] = members[tstart[t] + (uint32_t)j];
  }
  start[i] = get_time(rd, r->decimal);
  dur[i] = get_time(rd, r->decimal);
  int rc = get_text(r, rd, into(r, TL_FIELD_NAME, b), &s->name);
  if (rc) return rc;
  uint8_t ks = tl_rd_u8(rd);
  uint64_t rcode = tl_rd_varint(rd), scode = tl_rd_varint(rd);
  if (rd->err) return bad(r, "rows", "truncated at span %zu", i);
  if (ks >= 18) return bad(r, "rows", "span %zu: kind and status %u out of range", i, ks);
  s->kind = ks / 3;
  s->status_code = ks % 3;
  if (rcode >= (nres ? nres : 1) || scode >= (nscopes ? nscopes : 1))
    return bad(r, "rows", "span %zu: resource %llu or scope %llu past the tables", i,
               (unsigned long long)rcode, (unsigned long long)scode);
  /* Tables read past (not asked for) hold NULL: the span keeps the
  ** batch's empty resource or scope. */
  if (nres && res[rcode]) s->resource = res[rcode];
  if (nscopes && scopes[scode]) s->scope = scopes[scode];
  if ((rc = get_u32(r, rd, &s->flags, "flags")) ||
      (rc = get_text(r, rd, into(r, TL_FIELD_IDS, b), &s->trace_state)) ||
      (rc = get_text(r, rd, into(r, TL_FIELD_STATUS, b), &s->status_message)) ||
      (rc = get_attrs(r, rd, into(r, TL_FIELD_ATTRS, b), &s->attrs)))
    return rc;
  /* Events and links not asked for are read past into `skip`, and the
  ** span has none. */
  tl_batch *eb = into(r, TL_FIELD_EVENTS, b), *lb = into(r, TL_FIELD_LINKS, b);
  tl_event skip_event;
  tl_link skip_link;
  uint32_t count = 0;
  if ((rc = get_u32(r, rd, &count, "event count"))) return rc;
  /* An event takes at least three bytes. */
  if (count > tl_rd_left(rd) / 3) return bad(r, "rows", "span %zu: bad event count", i);
  if (eb && count && !(s->events = tl_batch_alloc(b, count * sizeof *s->events))) return oom(r);
  s->n_events = eb ? count : 0;
  for (uint32_t k = 0; k < count; k++) {
    tl_event *ev = eb ? &s->events[k] : &skip_event;
    ev->time_ns = get_time(rd, r->decimal); /* a delta until times are known */
    if ((rc = get_text(r, rd, eb, &ev->name)) || (rc = get_attrs(r, rd, eb, &ev->attrs)))
      return rc;
  }
  if ((rc = get_u32(r, rd, &s->dropped_events, "dropped events")) ||
      (rc = get_u32(r, rd, &count, "link count")))
    return rc;
  /* A link takes at least 27 bytes. */
  if (count > tl_rd_left(rd) / 27) return bad(r, "rows", "span %zu: bad link count", i);
  if (lb && count && !(s->links = tl_batch_alloc(b, count * sizeof *s->links))) return oom(r);
  s->n_links = lb ? count : 0;
  for (uint32_t k = 0; k < count; k++) {
    tl_link *l = lb ? &s->links[k] : &skip_link;
    const uint8_t *tid = tl_rd_bytes(rd, 16), *sid = tl_rd_bytes(rd, 8);
    if (!tid || !sid) return bad(r, "rows", "truncated at span %zu", i);
    memcpy(l->trace_id, tid, 16);
    memcpy(l->span_id, sid, 8);
    if ((rc = get_text(r, rd, lb, &l->trace_state)) || (rc = get_u32(r, rd, &l->flags, "flags")) ||
        (rc = get_attrs(r, rd, lb, &l->attrs)))
      return rc;
  }
  return get_u32(r, rd, &s->dropped_links, "dropped links");
}

/* Resources or scopes: count and objects into V_OBJS + offset. */
static int get_objs(rstate *r, tl_rd *rd, int kind, tl_batch *b, const void ***out,
                    uint64_t *count, size_t n) {
  const char *part = kind == TL_OBJ_RESOURCE ? "resources" : "scopes";
  char what[64];
  snprintf(what, sizeof what, "relational payload: %s", part);
  *count = tl_rd_varint(rd);
  if (rd->err || *count > n || *count > tl_rd_left(rd)) return bad(r, part, "bad count");
  const void **objs = malloc((*count ? *count : 1) * sizeof *objs);
  if (!objs) return oom(r);
  *out = objs;
  tl_batch *into_b = into(r, kind == TL_OBJ_RESOURCE ? TL_FIELD_RESOURCE : TL_FIELD_SCOPE, b);
  for (uint64_t k = 0; k < *count; k++) {
    int rc = tl_obj_read(kind, rd, into_b, &r->kb, &r->tab, &objs[k], what, r->e);
    if (rc) return rc;
  }
  return TL_OK;
}

static int get_content(rstate *r, tl_rd *rd, size_t n, tl_batch *b) {
  const void **res = NULL, **scopes = NULL;
  uint64_t nres = 0, nscopes = 0;
  int rc = tl_strtab_read(&r->tab, rd, UINT32_MAX, "relational payload: strings", r->e);
  if (!rc) rc = get_objs(r, rd, TL_OBJ_RESOURCE, b, &res, &nres, n);
  if (!rc) rc = get_objs(r, rd, TL_OBJ_SCOPE, b, &scopes, &nscopes, n);
  uint8_t mode = rc ? 0 : tl_rd_u8(rd);
  r->base = rc ? 0 : tl_rd_varint(rd);
  if (!rc && (rd->err || mode > 1)) rc = bad(r, "traces", "bad time mode");
  r->decimal = mode;
  uint64_t traces = rc ? 0 : tl_rd_varint(rd);
  const uint8_t *ids = NULL;
  if (!rc && (rd->err || traces > n || (n && !traces) || !(ids = tl_rd_bytes(rd, 16 * traces))))
    rc = bad(r, "traces", "bad trace count");
  uint32_t *tix = rc ? NULL : vec(r, V_TIX, n, sizeof *tix);
  uint32_t *rank = rc ? NULL : vec(r, V_RANK, n, sizeof *rank);
  uint32_t *members = rc ? NULL : vec(r, V_MEMBERS, n, sizeof *members);
  uint32_t *tstart = rc ? NULL : vec(r, V_TSTART, (size_t)traces + 1, sizeof *tstart);
  tl_span **sp = rc ? NULL : vec(r, V_SPANS, n, sizeof *sp);
  if (!rc && (!vec(r, V_PAR, n, sizeof(int64_t)) || !vec(r, V_START, n, sizeof(uint64_t)) ||
              !vec(r, V_DUR, n, sizeof(uint64_t)) || !tix || !rank || !members || !tstart || !sp))
    rc = r->e->rc;
  uint32_t seen = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    uint64_t code = tl_rd_varint(rd);
    if (rd->err || tl_trace_decode(code, i ? (int64_t)tix[i - 1] : -1, &seen,
                                   (uint32_t)traces, &tix[i]))
      rc = bad(r, "traces", "span %zu: bad trace code", i);
  }
  if (!rc && seen != traces) rc = bad(r, "traces", "%llu trace ids, %u used",
                                      (unsigned long long)traces, seen);
  if (!rc) tl_trace_members(tix, n, (uint32_t)traces, rank, members, tstart);
  for (size_t i = 0; i < n && !rc; i++)
    if (!(sp[i] = tl_batch_add_span(b))) rc = oom(r);
  const uint8_t *span_ids = rc ? NULL : tl_rd_bytes(rd, 8 * n);
  if (!rc && !span_ids) rc = bad(r, "span ids", "truncated");
  for (size_t k = 0; k < n && !rc; k++) {
    size_t i = members[k];
    memcpy(sp[i]->trace_id, ids + 16 * (size_t)tix[i], 16);
    memcpy(sp[i]->span_id, span_ids + 8 * k, 8);
    rc = get_row(r, rd, sp[i], i, (uint32_t)(k - tstart[tix[i]]), tix[i], b, res, nres, scopes,
                 nscopes);
  }
  free(res);
  free(scopes);
  if (rc) return rc;
  if (tl_rd_left(rd)) return bad(r, "rows", "%zu bytes after the last span", tl_rd_left(rd));
  /* Parents' ids, then times in the order (parents first). */
  const int64_t *par = r->v[V_PAR].p;
  const uint64_t *start = r->v[V_START].p, *dur = r->v[V_DUR].p;
  for (size_t i = 0; i < n; i++)
    if (par[i] >= 0) memcpy(sp[i]->parent_span_id, sp[par[i]]->span_id, 8);
  if (tl_span_order_plan(&r->ord, par, tix, n)) return oom(r);
  for (size_t k = 0; k < n; k++) {
    size_t i = r->ord.order[k];
    int64_t base = r->ord.pref[i] >= 0 ? r->ord.pref[i] : k ? (int64_t)r->ord.order[k - 1] : -1;
    tl_span *s = sp[i];
    s->start_ns = start[i] + (base < 0 ? r->base : sp[base]->start_ns);
    s->end_ns = s->start_ns + dur[i];
    for (uint32_t e = 0; e < s->n_events; e++) s->events[e].time_ns += s->start_ns;
  }
  return TL_OK;
}

static int rel_decode(void *state, const uint8_t *p, size_t len, size_t n, uint32_t fields,
                      tl_batch *b, tl_err *e) {
  rstate *r = state;
  r->fields = fields;
  r->e = e;
  tl_rd rd;
  tl_rd_init(&rd, p, len);
  uint64_t dict = tl_rd_varint(&rd), size = tl_rd_varint(&rd);
  uint8_t coding = tl_rd_u8(&rd);
  if (rd.err) return bad(r, "header", "truncated");
  if (dict > UINT32_MAX || !tl_zs_has_dict(r->zs, (uint32_t)dict))
    return bad(r, "header", "dictionary %llu is not known", (unsigned long long)dict);
  size_t left = tl_rd_left(&rd);
  if (coding > 1 || (coding == 0 && size != left) ||
      (coding == 1 && (size > TL_BLOCK_MAX_DECODED || size > (uint64_t)left * MAX_RATIO)))
    return bad(r, "header", "coding %u with %llu bytes of content in %zu", coding,
               (unsigned long long)size, left);
  const uint8_t *content = rd.p;
  if (coding == 1) {
    tl_buf_reset(&r->content);
    if (tl_buf_reserve(&r->content, size ? (size_t)size : 1)) return oom(r);
    int rc = tl_zs_decompress(r->zs, rd.p, left, (uint32_t)dict, (uint8_t *)r->content.p,
                              (size_t)size, "", "relational payload", e);
    if (rc) return rc;
    content = (const uint8_t *)r->content.p;
  }
  tl_rd_init(&rd, content, (size_t)size);
  size_t before = tl_batch_count(b);
  int rc = get_content(r, &rd, n, b);
  if (rc)
    while (tl_batch_count(b) > before) tl_batch_pop_span(b);
  return rc;
}

/* ---- dictionaries ------------------------------------------------------------- */

/* Samples are the contents of small blocks (SAMPLE_SPANS spans), spread
** over the run: what every block repeats (strings, resources) in its real
** form. */
static int rel_train(void *state, tl_span *const *spans, size_t n, tl_buf *dict, tl_err *e) {
  rstate *r = state;
  r->e = e;
  if (!r->dict_size || n < TL_ZS_MIN_SAMPLES) return TL_OK;
  size_t k = n / TL_ZS_MIN_SAMPLES < SAMPLE_SPANS ? n / TL_ZS_MIN_SAMPLES : SAMPLE_SPANS;
  size_t groups = n / k, budget = (size_t)r->dict_size * TL_ZS_SAMPLE_RATIO;
  size_t *sizes = malloc(groups * sizeof *sizes);
  if (!sizes) return oom(r);
  tl_buf samples;
  tl_buf_init(&samples);
  unsigned count = 0;
  int rc = TL_OK;
  size_t stride = 0;
  for (size_t g = 0; !rc && g < groups && samples.n < budget; g += stride) {
    rc = put_content(r, spans + g * k, k);
    if (!rc) {
      tl_buf_append(&samples, r->content.p, r->content.n);
      sizes[count++] = r->content.n;
    }
    if (!stride) stride = samples.n * groups / budget + 1;
  }
  if (!rc && samples.oom) rc = oom(r);
  if (!rc) rc = tl_zs_train(&samples, sizes, count, (size_t)r->dict_size, dict, e);
  free(sizes);
  tl_buf_free(&samples);
  return rc;
}

static int rel_add_dict(void *state, uint32_t id, const uint8_t *p, size_t n, tl_err *e) {
  return tl_zs_add_dict(((rstate *)state)->zs, id, p, n, e);
}

const tl_codec_vt tl_codec_relational = {
    .name = "relational",
    .id = TL_CODEC_RELATIONAL,
    .version = 1,
    .partial = 1,
    .create = rel_create,
    .destroy = rel_destroy,
    .encode = rel_encode,
    .decode = rel_decode,
    .train = rel_train,
    .add_dict = rel_add_dict,
};
