/*
** cbor_spans.c — the CBOR span payload of the cbor and cbor_zstd codecs
** (cbor_spans.h).  docs/format.md, section "cbor", is the specification;
** this comment is the summary a reader of the code needs.
**
**   payload   = tag 256 (stringref namespace) [resources, scopes, hot,
**                                                tag 256 (cold)]
**   resources = [resource...]   resource = {1 attrs, 2 dropped, 3 schema_url}
**   scopes    = [scope...]      scope = {1 name, 2 version, 3 attrs,
**                                        4 dropped, 5 schema_url}
**   hot       = [hot span...]   exactly the block's span count
**   cold      = [cold span...]  as many, in the same order
**   hot span  = {1 trace_id, 2 span_id, 3 parent_span_id, 4 trace_state,
**                5 flags, 6 name, 7 kind, 8 start_ns - the start of the
**                span before (0 before the first), 9 duration,
**                10 status_code, 11 status_message, 16 links,
**                18 resource, 19 scope}
**   cold span = {12 attrs, 13 dropped attrs, 14 events, 15 dropped events,
**                17 dropped links}
**   event     = {1 time - start, 2 name, 3 attrs, 4 dropped}
**   link      = {1 trace_id, 2 span_id, 3 trace_state, 4 flags, 5 attrs,
**                6 dropped}
**   attrs     = a map of text keys to values, in span order, duplicate
**               keys kept; a kvlist value is the same kind of map
**   value     = text | bytes | int | float32/64 | true/false | null
**               (OTLP empty value) | [value...] | {text: value...}
**
** That is payload version 2.  Version 1 (still read) is
** [resources, scopes, spans] with one map per span holding all 19 keys;
** the payload array's length (3 or 4) tells them apart.  Version 2 puts
** what aggregates and analyses read first, so that their decode stops
** after the hot spans (cbor_zstd compresses the two sections as separate
** frames and then decompresses only the first).
**
** Maps have small unsigned keys in increasing order (the decoder rejects
** anything else) and leave out every field that is zero or empty;
** trace_id, span_id and start_ns are always written.  Ids are byte strings
** of exactly 16 and 8 bytes.  Durations and event offsets are signed:
** end_ns = start_ns + duration modulo 2^64, so every pair of times
** round-trips.  Resource and scope indexes count from 0 into the tables.
**
** Strings: every text and byte string (ids included) is numbered in the
** order written (in version 2 the tables and the hot section, which so
** stands alone, in the outer namespace; the cold section, a namespace of
** its own, from 0 again) when it is at least as long as stringref requires
** for the next number (3 bytes for numbers 0-23, 4 up to 255, 5 up to
** 65535, 7 up to 2^32-1, 11 after that); a string already numbered is
** written as tag 25 (its number).  So a block names a trace id, a parent
** span id, a service or an attribute key once, and the decoder interns
** each distinct string once per block however often spans use it.
**
** Resources and scopes are deduplicated by content, not by pointer, so
** blocks merged from decoded blocks stay as compact as fresh ones.
*/
#include "cbor_spans.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { M_UINT, M_NEG, M_BYTES, M_TEXT, M_ARRAY, M_MAP, M_TAG, M_SIMPLE };

#define TAG_NAMESPACE 256u
#define TAG_STRINGREF 25u

enum {
  K_TRACE_ID = 1, K_SPAN_ID, K_PARENT, K_TRACE_STATE, K_FLAGS, K_NAME, K_KIND,
  K_START, K_DURATION, K_STATUS_CODE, K_STATUS_MSG, K_ATTRS, K_DROPPED_ATTRS,
  K_EVENTS, K_DROPPED_EVENTS, K_LINKS, K_DROPPED_LINKS, K_RESOURCE, K_SCOPE
};
enum { EV_TIME = 1, EV_NAME, EV_ATTRS, EV_DROPPED };
enum { LK_TRACE_ID = 1, LK_SPAN_ID, LK_TRACE_STATE, LK_FLAGS, LK_ATTRS, LK_DROPPED };
enum { R_ATTRS = 1, R_DROPPED, R_SCHEMA };
enum { S_NAME = 1, S_VERSION, S_ATTRS, S_DROPPED, S_SCHEMA };

/* The shortest string stringref numbers when `count` strings are numbered:
** a reference to it is never longer than the string itself. */
static uint64_t min_ref_len(uint64_t count) {
  return count < 24 ? 3 : count < 256 ? 4 : count < 65536 ? 5 : count < 4294967296ull ? 7 : 11;
}

static uint64_t mix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  return k;
}

/* ---- scratch hash tables ------------------------------------------------- */

/* Slots are live when their gen equals the table's, so clearing a table
** between blocks is one increment, not a memset. */
typedef struct slot64 {
  uint64_t key;
  uint32_t gen, val;
} slot64;

typedef struct map64 {
  slot64 *s;
  uint32_t cap, n, gen;
} map64;

/* A string numbered by the encoder; its number is its index in strs. */
typedef struct estr {
  const void *p;
  uint32_t len;
  uint8_t major;
} estr;

/* A distinct resource or scope of the block being encoded: its plain
** encoding (for comparison by content) is plain.p[off, off + len). */
typedef struct obj {
  const void *ptr;
  size_t off, len;
  uint32_t kidx; /* index in its table (resources or scopes) */
  uint8_t kind;
} obj;

/* An entry of the decoder's string table. */
typedef struct dent {
  const uint8_t *p;
  uint32_t len;
  uint8_t major;
  uint8_t have; /* s holds the interned text or the arena copy of the bytes */
  tl_str s;
} dent;

/* put_str's memory of a string by address: spans come from one batch whose
** strings are interned, so the same text recurs at the same address, and a
** hit answers without hashing the text.  val is the stringref, or NOT_REF
** when the string was written plainly (it never becomes a ref later:
** min_ref_len only grows). */
#define FRONT_SLOTS 1024
#define NOT_REF UINT32_MAX
typedef struct front {
  const void *p;
  uint32_t len;
  uint32_t val;
  uint8_t major;
} front;

/* The encoder's table of byte strings of 8 and 16 bytes: every span,
** parent and trace id (and any bytes value of those sizes).  Ids live
** inside the spans, so put_str's memory by address never knows them, and
** they are most of a block's numbered strings.  A slot holds the bytes
** themselves: a lookup reads one slot and nothing else, and the slots of
** the next span's ids are prefetched while a span is written.  Slots are
** live when tag >> 1 is the table's gen (cleared by one increment). */
typedef struct idslot {
  uint64_t a, b; /* the bytes; b = 0 for 8 of them */
  uint32_t tag;  /* gen << 1 | (16 bytes) */
  uint32_t val;  /* the string's number */
} idslot;

typedef struct idmap {
  idslot *s;
  uint32_t cap, n, gen;
} idmap;

struct tl_cbor {
  /* encoder */
  front fronts[FRONT_SLOTS]; /* emptied per block */
  map64 by_str, by_ptr, by_content;
  idmap ids;
  uint32_t nstr;             /* strings numbered so far in the block */
  estr *strs;                /* by number; ids leave their numbers unused */
  uint32_t cap_strs;
  obj *objs;
  uint32_t n_objs, cap_objs;
  tl_buf plain;
  uint32_t *span_objs; /* resource and scope index of each span */
  size_t cap_span_objs;
  /* decoder */
  dent *tab;
  uint32_t cap_tab;
  const tl_resource **res;
  const tl_scope **scopes;
  uint32_t cap_res, cap_scopes;
};

tl_cbor *tl_cbor_new(void) {
  tl_cbor *c = calloc(1, sizeof *c);
  if (c) tl_buf_init(&c->plain);
  return c;
}

void tl_cbor_free(tl_cbor *c) {
  if (!c) return;
  free(c->by_str.s);
  free(c->ids.s);
  free(c->strs);
  free(c->by_ptr.s);
  free(c->by_content.s);
  free(c->objs);
  tl_buf_free(&c->plain);
  free(c->span_objs);
  free(c->tab);
  free(c->res);
  free(c->scopes);
  free(c);
}

/* p (an array of *cap items of size sz) grown to hold at least `need`;
** NULL when out of memory (p is then left as it was). */
static void *grow(void *p, uint32_t *cap, size_t need, size_t sz) {
  if (p && need <= *cap) return p;
  size_t n = *cap ? *cap : 64;
  while (n < need) n *= 2;
  if (n > UINT32_MAX || n > SIZE_MAX / sz) return NULL;
  void *q = realloc(p, n * sz);
  if (q) *cap = (uint32_t)n;
  return q;
}

static void map64_clear(map64 *m) {
  m->n = 0;
  if (++m->gen == 0) {
    if (m->s) memset(m->s, 0, (size_t)m->cap * sizeof *m->s);
    m->gen = 1;
  }
}

/* Makes room for one more entry (at most half full). */
static int map64_reserve(map64 *m) {
  if ((size_t)(m->n + 1) * 2 <= m->cap) return TL_OK;
  uint32_t cap = m->cap ? m->cap * 2 : 256;
  slot64 *s = calloc(cap, sizeof *s);
  if (!s) return TL_ENOMEM;
  for (uint32_t i = 0; i < m->cap; i++) {
    if (m->s[i].gen != m->gen) continue;
    uint32_t j = (uint32_t)mix64(m->s[i].key) & (cap - 1);
    while (s[j].gen == m->gen) j = (j + 1) & (cap - 1);
    s[j] = m->s[i];
  }
  free(m->s);
  m->s = s;
  m->cap = cap;
  return TL_OK;
}

/* Tells whether entry val of a table is the one a lookup looks for. */
typedef int (*same_fn)(const tl_cbor *c, uint32_t val, const void *wanted);

/* The live slot with this key that same() accepts (same == NULL: the key
** alone decides), or the free slot where such an entry goes.  The table
** has a free slot (map64_reserve). */
static slot64 *map64_find(map64 *m, uint64_t key, same_fn same, const tl_cbor *c,
                          const void *wanted) {
  uint32_t j = (uint32_t)mix64(key) & (m->cap - 1);
  for (;; j = (j + 1) & (m->cap - 1)) {
    slot64 *s = &m->s[j];
    if (s->gen != m->gen) return s;
    if (s->key == key && (!same || same(c, s->val, wanted))) return s;
  }
}

static void map64_put(map64 *m, slot64 *s, uint64_t key, uint32_t val) {
  s->key = key;
  s->gen = m->gen;
  s->val = val;
  m->n++;
}

/* ---- encoder ------------------------------------------------------------- */

typedef struct enc {
  tl_cbor *c;
  tl_buf *out;
  int refs;      /* 0 while writing the plain form of a resource or scope */
  int rc;        /* first error other than out->oom */
  int bad_type;  /* the value type behind rc == TL_EMISUSE */
} enc;

/* The k low bytes of v, big-endian, at d. */
static inline void be_at(uint8_t *d, uint64_t v, unsigned k) {
  for (unsigned i = 0; i < k; i++) d[i] = (uint8_t)(v >> (8 * (k - 1 - i)));
}

/* Writes the head of an item at d (which has room for 9 bytes) and
** returns its length. */
static inline size_t head_at(uint8_t *d, unsigned major, uint64_t v) {
  uint8_t m = (uint8_t)(major << 5);
  if (v < 24) {
    d[0] = (uint8_t)(m | v);
    return 1;
  }
  unsigned k = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffffu ? 4 : 8;
  d[0] = (uint8_t)(m | (k == 1 ? 24 : k == 2 ? 25 : k == 4 ? 26 : 27));
  be_at(d + 1, v, k);
  return 1 + k;
}

/* The heads and strings below check for room once per item: they are most
** of what the encoder does. */
static inline void put_head(enc *x, unsigned major, uint64_t v) {
  tl_buf *o = x->out;
  if (tl_buf_reserve(o, 9)) return;
  o->n += head_at((uint8_t *)o->p + o->n, major, v);
}

/* An initial byte followed by the k low bytes of v (floats). */
static void put_be(enc *x, uint8_t ib, uint64_t v, unsigned k) {
  tl_buf *o = x->out;
  if (tl_buf_reserve(o, 9)) return;
  uint8_t *d = (uint8_t *)o->p + o->n;
  d[0] = ib;
  be_at(d + 1, v, k);
  o->n += 1 + k;
}

static void put_int(enc *x, int64_t v) {
  /* CBOR's negative integers hold -1 - v, which is ~v in two's complement. */
  if (v >= 0) put_head(x, M_UINT, (uint64_t)v);
  else put_head(x, M_NEG, ~(uint64_t)v);
}

/* A string written out in full. */
static inline void put_literal(enc *x, unsigned major, const void *p, uint32_t len) {
  tl_buf *o = x->out;
  if (tl_buf_reserve(o, 9 + (size_t)len)) return;
  uint8_t *d = (uint8_t *)o->p + o->n;
  size_t h = head_at(d, major, len);
  if (len) memcpy(d + h, p, len);
  o->n += h + len;
}

/* A reference to string number num: tag 25 (0xd8 0x19) and the number. */
static inline void put_ref(enc *x, uint32_t num) {
  tl_buf *o = x->out;
  if (tl_buf_reserve(o, 2 + 9)) return;
  uint8_t *d = (uint8_t *)o->p + o->n;
  d[0] = (uint8_t)(M_TAG << 5 | 24);
  d[1] = TAG_STRINGREF;
  o->n += 2 + head_at(d + 2, M_UINT, num);
}

/* ---- the id table (idslot) ----------------------------------------------- */

static uint32_t id_hash(uint64_t a, uint64_t b) {
  return (uint32_t)mix64(a + b * 0x9e3779b97f4a7c15ull);
}

static void idmap_clear(idmap *m) {
  m->n = 0;
  if (++m->gen == 1u << 31) { /* tag keeps 31 bits of gen */
    if (m->s) memset(m->s, 0, (size_t)m->cap * sizeof *m->s);
    m->gen = 1;
  }
}

/* Makes room for one more entry (at most half full). */
static int idmap_reserve(idmap *m) {
  if ((size_t)(m->n + 1) * 2 <= m->cap) return TL_OK;
  if (m->cap >= 1u << 30) return TL_ENOMEM;
  uint32_t cap = m->cap ? m->cap * 2 : 1024;
  idslot *s = calloc(cap, sizeof *s);
  if (!s) return TL_ENOMEM;
  for (uint32_t i = 0; i < m->cap; i++) {
    if (m->s[i].tag >> 1 != m->gen) continue;
    uint32_t j = id_hash(m->s[i].a, m->s[i].b) & (cap - 1);
    while (s[j].tag >> 1 == m->gen) j = (j + 1) & (cap - 1);
    s[j] = m->s[i];
  }
  free(m->s);
  m->s = s;
  m->cap = cap;
  return TL_OK;
}

/* How far ahead of the span being read its successors are prefetched. */
#define PREFETCH_SPANS 8

/* Macros, not functions: GCC finds a function that only prefetches free of
** side effects and drops the calls. */
#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* The slot an id of 8 or 16 bytes (wide) will look at. */
static inline const idslot *id_first_slot(const idmap *m, const uint8_t *p, int wide) {
  uint64_t a, b = 0;
  memcpy(&a, p, 8);
  if (wide) memcpy(&b, p + 8, 8);
  return &m->s[id_hash(a, b) & (m->cap - 1)];
}

/* A byte string of 8 or 16 bytes, numbered as put_str numbers strings. */
static void put_id(enc *x, const void *p, uint32_t len) {
  tl_cbor *c = x->c;
  idmap *m = &c->ids;
  uint64_t a, b = 0;
  memcpy(&a, p, 8);
  if (len == 16) memcpy(&b, (const uint8_t *)p + 8, 8);
  if (idmap_reserve(m)) {
    x->rc = TL_ENOMEM;
    return;
  }
  uint32_t tag = m->gen << 1 | (len == 16);
  for (uint32_t j = id_hash(a, b) & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
    idslot *s = &m->s[j];
    if (s->tag == tag && s->a == a && s->b == b) {
      put_ref(x, s->val);
      return;
    }
    if (s->tag >> 1 != m->gen) {
      if (len >= min_ref_len(c->nstr)) {
        s->a = a;
        s->b = b;
        s->tag = tag;
        s->val = c->nstr++;
        m->n++;
      }
      break;
    }
  }
  put_literal(x, M_BYTES, p, len);
}

static int same_str(const tl_cbor *c, uint32_t val, const void *wanted) {
  const estr *a = &c->strs[val], *b = wanted;
  return a->len == b->len && a->major == b->major && memcmp(a->p, b->p, b->len) == 0;
}

static void put_str(enc *x, unsigned major, const void *p, uint32_t len) {
  if (!x->refs || len < 3) {
    put_literal(x, major, p, len);
    return;
  }
  if (major == M_BYTES && (len == 8 || len == 16)) {
    put_id(x, p, len);
    return;
  }
  tl_cbor *c = x->c;
  front *f = &c->fronts[((uintptr_t)p >> 3) % FRONT_SLOTS];
  if (f->p == p && f->len == len && f->major == major) {
    if (f->val == NOT_REF) put_literal(x, major, p, len);
    else put_ref(x, f->val);
    return;
  }
  f->p = p;
  f->len = len;
  f->major = (uint8_t)major;
  f->val = NOT_REF;
  estr want = {p, len, (uint8_t)major};
  uint64_t h = tl_hash(p, len) ^ major;
  if (map64_reserve(&c->by_str)) {
    x->rc = TL_ENOMEM;
    return;
  }
  slot64 *s = map64_find(&c->by_str, h, same_str, c, &want);
  if (s->gen == c->by_str.gen) {
    f->val = s->val;
    put_ref(x, s->val);
    return;
  }
  if (len >= min_ref_len(c->nstr)) {
    estr *strs = grow(c->strs, &c->cap_strs, (size_t)c->nstr + 1, sizeof *strs);
    if (!strs) {
      x->rc = TL_ENOMEM;
      return;
    }
    c->strs = strs;
    strs[c->nstr] = want;
    map64_put(&c->by_str, s, h, c->nstr);
    /* A string's first occurrence is written in full and numbered. */
    f->val = c->nstr++;
  }
  put_literal(x, major, p, len);
}

static void put_double(enc *x, double d) {
  /* float32 when it holds d exactly; NaN always as float64 to keep its bits. */
  if (!isnan(d) && (isinf(d) || fabs(d) <= FLT_MAX) && (double)(float)d == d) {
    float f = (float)d;
    uint32_t bits;
    memcpy(&bits, &f, 4);
    put_be(x, 0xfa, bits, 4);
  } else {
    uint64_t bits;
    memcpy(&bits, &d, 8);
    put_be(x, 0xfb, bits, 8);
  }
}

static void put_attrs(enc *x, const tl_kv *items, uint32_t n, int depth);

static void put_value(enc *x, const tl_value *v, int depth) {
  if (depth > TL_MAX_DEPTH) {
    if (!x->rc) x->rc = TL_ERANGE;
    return;
  }
  switch (v->type) {
    case TL_V_EMPTY: tl_buf_putc(x->out, (char)0xf6); break;
    case TL_V_STRING: put_str(x, M_TEXT, v->u.s.ptr, v->u.s.len); break;
    case TL_V_BYTES: put_str(x, M_BYTES, v->u.s.ptr, v->u.s.len); break;
    case TL_V_BOOL: tl_buf_putc(x->out, (char)(v->u.b ? 0xf5 : 0xf4)); break;
    case TL_V_INT: put_int(x, v->u.i); break;
    case TL_V_DOUBLE: put_double(x, v->u.d); break;
    case TL_V_ARRAY:
      put_head(x, M_ARRAY, v->u.arr.n);
      for (uint32_t i = 0; i < v->u.arr.n; i++) put_value(x, &v->u.arr.items[i], depth + 1);
      break;
    case TL_V_KVLIST: put_attrs(x, v->u.kv.items, v->u.kv.n, depth + 1); break;
    default:
      if (!x->rc) {
        x->rc = TL_EMISUSE;
        x->bad_type = v->type;
      }
  }
}

static void put_attrs(enc *x, const tl_kv *items, uint32_t n, int depth) {
  put_head(x, M_MAP, n);
  for (uint32_t i = 0; i < n; i++) {
    put_str(x, M_TEXT, items[i].key.ptr, items[i].key.len);
    put_value(x, &items[i].value, depth);
  }
}

/* Every map of the format has fewer than 24 keys, so its head is one byte,
** written first and patched with the count once the fields are out. */
typedef struct map_w {
  size_t at;
  unsigned n;
} map_w;

static map_w map_begin(enc *x) {
  map_w m = {x->out->n, 0};
  tl_buf_putc(x->out, (char)0xa0);
  return m;
}

static void map_key(enc *x, map_w *m, unsigned key) {
  put_head(x, M_UINT, key);
  m->n++;
}

static void map_end(enc *x, const map_w *m) {
  if (m->at < x->out->n) x->out->p[m->at] = (char)(0xa0 | m->n);
}

static void field_str(enc *x, map_w *m, unsigned key, tl_str s) {
  if (!s.len) return;
  map_key(x, m, key);
  put_str(x, M_TEXT, s.ptr, s.len);
}

static void field_uint(enc *x, map_w *m, unsigned key, uint64_t v) {
  if (!v) return;
  map_key(x, m, key);
  put_head(x, M_UINT, v);
}

static void field_int(enc *x, map_w *m, unsigned key, int64_t v) {
  if (!v) return;
  map_key(x, m, key);
  put_int(x, v);
}

static void field_attrs(enc *x, map_w *m, unsigned key, unsigned dropped_key,
                        const tl_attrs *a) {
  if (a->n) {
    map_key(x, m, key);
    put_attrs(x, a->items, a->n, 0);
  }
  field_uint(x, m, dropped_key, a->dropped);
}

static void field_id(enc *x, map_w *m, unsigned key, const uint8_t *id, uint32_t len) {
  map_key(x, m, key);
  put_str(x, M_BYTES, id, len);
}

static void put_resource(enc *x, const tl_resource *r) {
  map_w m = map_begin(x);
  field_attrs(x, &m, R_ATTRS, R_DROPPED, &r->attrs);
  field_str(x, &m, R_SCHEMA, r->schema_url);
  map_end(x, &m);
}

static void put_scope(enc *x, const tl_scope *s) {
  map_w m = map_begin(x);
  field_str(x, &m, S_NAME, s->name);
  field_str(x, &m, S_VERSION, s->version);
  field_attrs(x, &m, S_ATTRS, S_DROPPED, &s->attrs);
  field_str(x, &m, S_SCHEMA, s->schema_url);
  map_end(x, &m);
}

static void put_events(enc *x, map_w *m, const tl_span *s) {
  if (!s->n_events) return;
  map_key(x, m, K_EVENTS);
  put_head(x, M_ARRAY, s->n_events);
  for (uint32_t i = 0; i < s->n_events; i++) {
    const tl_event *ev = &s->events[i];
    map_w em = map_begin(x);
    field_int(x, &em, EV_TIME, (int64_t)(ev->time_ns - s->start_ns));
    field_str(x, &em, EV_NAME, ev->name);
    field_attrs(x, &em, EV_ATTRS, EV_DROPPED, &ev->attrs);
    map_end(x, &em);
  }
}

static void put_links(enc *x, map_w *m, const tl_span *s) {
  if (!s->n_links) return;
  map_key(x, m, K_LINKS);
  put_head(x, M_ARRAY, s->n_links);
  for (uint32_t i = 0; i < s->n_links; i++) {
    const tl_link *ln = &s->links[i];
    map_w lm = map_begin(x);
    field_id(x, &lm, LK_TRACE_ID, ln->trace_id, 16);
    field_id(x, &lm, LK_SPAN_ID, ln->span_id, 8);
    field_str(x, &lm, LK_TRACE_STATE, ln->trace_state);
    field_uint(x, &lm, LK_FLAGS, ln->flags);
    field_attrs(x, &lm, LK_ATTRS, LK_DROPPED, &ln->attrs);
    map_end(x, &lm);
  }
}

/* The hot part of a span: its keys of HOT_KEYS, in increasing order.  The
** start time is the difference from prev, the start of the span before
** (0 for the first), modulo 2^64: consecutive spans start close together,
** and the difference takes half the bytes. */
static void put_hot(enc *x, const tl_span *s, uint64_t prev, uint32_t res, uint32_t scope) {
  map_w m = map_begin(x);
  field_id(x, &m, K_TRACE_ID, s->trace_id, 16);
  field_id(x, &m, K_SPAN_ID, s->span_id, 8);
  if (!tl_span_is_root(s)) field_id(x, &m, K_PARENT, s->parent_span_id, 8);
  field_str(x, &m, K_TRACE_STATE, s->trace_state);
  field_uint(x, &m, K_FLAGS, s->flags);
  field_str(x, &m, K_NAME, s->name);
  field_uint(x, &m, K_KIND, s->kind);
  map_key(x, &m, K_START);
  put_int(x, (int64_t)(s->start_ns - prev));
  field_int(x, &m, K_DURATION, (int64_t)(s->end_ns - s->start_ns));
  field_uint(x, &m, K_STATUS_CODE, s->status_code);
  field_str(x, &m, K_STATUS_MSG, s->status_message);
  put_links(x, &m, s);
  field_uint(x, &m, K_RESOURCE, res);
  field_uint(x, &m, K_SCOPE, scope);
  map_end(x, &m);
}

/* The cold part: the keys of COLD_KEYS. */
static void put_cold(enc *x, const tl_span *s) {
  map_w m = map_begin(x);
  field_attrs(x, &m, K_ATTRS, K_DROPPED_ATTRS, &s->attrs);
  put_events(x, &m, s);
  field_uint(x, &m, K_DROPPED_EVENTS, s->dropped_events);
  field_uint(x, &m, K_DROPPED_LINKS, s->dropped_links);
  map_end(x, &m);
}

enum { OBJ_RESOURCE = 'r', OBJ_SCOPE = 's' };

static int same_plain(const tl_cbor *c, uint32_t oi, const void *wanted) {
  const obj *o = &c->objs[oi], *w = wanted;
  return o->len == w->len && memcmp(c->plain.p + o->off, c->plain.p + w->off, w->len) == 0;
}

/* The index in its table of a resource or scope, numbering it on first
** sight; equal content gets one index whatever its address. */
static int obj_index(enc *x, const void *ptr, uint8_t kind, uint32_t *counts,
                     uint32_t *out) {
  tl_cbor *c = x->c;
  if (map64_reserve(&c->by_ptr) || map64_reserve(&c->by_content)) return TL_ENOMEM;
  slot64 *ps = map64_find(&c->by_ptr, (uintptr_t)ptr, NULL, c, NULL);
  if (ps->gen == c->by_ptr.gen) {
    *out = c->objs[ps->val].kidx;
    return TL_OK;
  }
  /* The plain form: the kind, then the map without string references. */
  enc plain = {c, &c->plain, 0, 0, 0};
  size_t off = c->plain.n;
  tl_buf_putc(&c->plain, (char)kind);
  if (kind == OBJ_RESOURCE) put_resource(&plain, ptr);
  else put_scope(&plain, ptr);
  if (plain.rc) {
    x->rc = plain.rc;
    x->bad_type = plain.bad_type;
    return plain.rc;
  }
  if (c->plain.oom) return TL_ENOMEM;
  obj want = {ptr, off, c->plain.n - off, 0, kind};
  uint64_t h = tl_hash(c->plain.p + off, want.len);
  slot64 *cs = map64_find(&c->by_content, h, same_plain, c, &want);
  uint32_t oi;
  if (cs->gen == c->by_content.gen) {
    oi = cs->val;
    c->plain.n = off;
  } else {
    obj *objs = grow(c->objs, &c->cap_objs, (size_t)c->n_objs + 1, sizeof *objs);
    if (!objs) return TL_ENOMEM;
    c->objs = objs;
    oi = c->n_objs++;
    want.kidx = counts[kind == OBJ_SCOPE]++;
    c->objs[oi] = want;
    map64_put(&c->by_content, cs, h, oi);
  }
  map64_put(&c->by_ptr, ps, (uintptr_t)ptr, oi);
  *out = c->objs[oi].kidx;
  return TL_OK;
}

/* Pass 1: the resource and scope index of every span. */
static int index_objects(enc *x, tl_span *const *spans, size_t n, uint32_t *counts) {
  tl_cbor *c = x->c;
  if (n > SIZE_MAX / 8) return TL_ENOMEM;
  if (2 * n > c->cap_span_objs) {
    uint32_t *p = realloc(c->span_objs, 2 * n * sizeof *p);
    if (!p) return TL_ENOMEM;
    c->span_objs = p;
    c->cap_span_objs = 2 * n;
  }
  const tl_resource *last_r = NULL;
  const tl_scope *last_s = NULL;
  uint32_t ri = 0, si = 0;
  for (size_t i = 0; i < n; i++) {
    const tl_span *s = spans[i];
    int rc = TL_OK;
    /* This pass reads one field of each span, a cache miss each time
    ** unless asked for ahead. */
    if (i + PREFETCH_SPANS < n) PREFETCH(&spans[i + PREFETCH_SPANS]->resource);
    if (s->resource != last_r) rc = obj_index(x, last_r = s->resource, OBJ_RESOURCE, counts, &ri);
    if (!rc && s->scope != last_s) rc = obj_index(x, last_s = s->scope, OBJ_SCOPE, counts, &si);
    if (rc) return rc;
    c->span_objs[2 * i] = ri;
    c->span_objs[2 * i + 1] = si;
  }
  return TL_OK;
}

static void put_table(enc *x, uint8_t kind, uint32_t count) {
  put_head(x, M_ARRAY, count);
  for (uint32_t i = 0; i < x->c->n_objs; i++) {
    const obj *o = &x->c->objs[i];
    if (o->kind != kind) continue;
    if (kind == OBJ_RESOURCE) put_resource(x, o->ptr);
    else put_scope(x, o->ptr);
  }
}

/* The cache lines of a span that put_hot (cold = 0) or put_cold reads. */
#define prefetch_span(s, cold)                                                                 \
  do {                                                                                         \
    const char *p_ = (const char *)(s);                                                        \
    if (!(cold)) PREFETCH(p_);                                                                 \
    PREFETCH(p_ + 64);                                                                         \
    PREFETCH(p_ + 128);                                                                        \
    if (!(cold)) PREFETCH(p_ + sizeof(tl_span) - 1);                                           \
  } while (0)

/* Forgets every string numbered: a stringref namespace begins. */
static void new_namespace(tl_cbor *c) {
  map64_clear(&c->by_str);
  idmap_clear(&c->ids);
  c->nstr = 0;
  memset(c->fronts, 0, sizeof c->fronts);
}

int tl_cbor_encode(tl_cbor *c, tl_span *const *spans, size_t n, tl_buf *out, size_t *hot_len,
                   tl_err *e) {
  size_t start = out->n;
  enc x = {c, out, 1, 0, 0};
  uint32_t counts[2] = {0, 0};
  map64_clear(&c->by_ptr);
  map64_clear(&c->by_content);
  c->n_objs = 0;
  tl_buf_reset(&c->plain);
  new_namespace(c);
  int rc = index_objects(&x, spans, n, counts);
  if (!rc) {
    put_head(&x, M_TAG, TAG_NAMESPACE);
    put_head(&x, M_ARRAY, 4);
    put_table(&x, OBJ_RESOURCE, counts[0]);
    put_table(&x, OBJ_SCOPE, counts[1]);
    put_head(&x, M_ARRAY, n);
    for (size_t i = 0; i < n && !x.rc; i++) {
      /* A hot part is quickly written: the spans to come are asked for
      ** ahead, or each one's first read waits for memory. */
      if (i + PREFETCH_SPANS < n) prefetch_span(spans[i + PREFETCH_SPANS], 0);
      /* The slots the next span's ids will look at. */
      if (i + 1 < n && c->ids.cap) {
        const tl_span *next = spans[i + 1];
        PREFETCH(id_first_slot(&c->ids, next->trace_id, 1));
        PREFETCH(id_first_slot(&c->ids, next->span_id, 0));
        PREFETCH(id_first_slot(&c->ids, next->parent_span_id, 0));
      }
      put_hot(&x, spans[i], i ? spans[i - 1]->start_ns : 0, c->span_objs[2 * i],
              c->span_objs[2 * i + 1]);
    }
    if (hot_len) *hot_len = out->n - start;
    /* The cold section numbers its strings afresh: its attribute keys
    ** then get one-byte numbers instead of numbers past the hot section's
    ** thousands of ids (measured: 2.5% smaller cbor_zstd blocks). */
    new_namespace(c);
    put_head(&x, M_TAG, TAG_NAMESPACE);
    put_head(&x, M_ARRAY, n);
    for (size_t i = 0; i < n && !x.rc; i++) {
      if (i + 2 * PREFETCH_SPANS < n) prefetch_span(spans[i + 2 * PREFETCH_SPANS], 1);
      if (i + PREFETCH_SPANS < n) PREFETCH(spans[i + PREFETCH_SPANS]->attrs.items);
      put_cold(&x, spans[i]);
    }
    rc = x.rc ? x.rc : out->oom ? TL_ENOMEM : TL_OK;
  }
  if (rc) {
    out->n = start;
    if (rc == TL_ERANGE)
      return tl_err_set(e, rc, "cbor: attribute values nested deeper than %d", TL_MAX_DEPTH);
    if (rc == TL_EMISUSE)
      return tl_err_set(e, rc, "cbor: attribute value of unknown type %d", x.bad_type);
    return tl_err_set(e, rc, "cbor: out of memory encoding %zu spans", n);
  }
  return TL_OK;
}

/* ---- decoder ------------------------------------------------------------- */

typedef struct dec {
  tl_cbor *c;
  const uint8_t *p, *end, *base;
  const uint8_t *item; /* start of the item being read, for messages */
  tl_batch *b;
  uint32_t ntab;       /* strings numbered so far */
  uint32_t nres, nscopes;
  uint32_t fields;     /* TL_FIELD_* the caller needs; the rest is skipped */
  tl_err *e;
  tl_cols *cols;       /* where the hot spans go instead of b (decode_cols) */
} dec;

static int fail(dec *d, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(dec *d, int rc, const char *fmt, ...) {
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return tl_err_set(d->e, rc, "cbor payload: %s at byte %zu", what, (size_t)(d->item - d->base));
}

#define BAD(d, ...) fail(d, TL_EFORMAT, __VA_ARGS__)

static size_t left(const dec *d) { return (size_t)(d->end - d->p); }

/* The argument of a head whose initial byte b0 says it follows in 1, 2, 4
** or 8 bytes; the rare path of head(). */
static int head_long(dec *d, uint8_t b0, uint64_t *v) {
  unsigned ai = b0 & 31;
  if (ai > 27) return BAD(d, "indefinite length or reserved value 0x%02x", b0);
  size_t k = (size_t)1 << (ai - 24);
  if (left(d) < k) return BAD(d, "truncated");
  const uint8_t *p = d->p;
  switch (k) {
    case 1: *v = p[0]; break;
    case 2: *v = (uint64_t)p[0] << 8 | p[1]; break;
    case 4: *v = (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3]; break;
    default:
      *v = (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
           (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
           (uint64_t)p[6] << 8 | p[7];
  }
  d->p += k;
  return TL_OK;
}

/* One item head: the initial byte and its argument.  Inline, because
** every item of a payload starts with one and most fit in the first byte. */
static inline int head(dec *d, uint8_t *ib, uint64_t *v) {
  d->item = d->p;
  if (d->p >= d->end) {
    *ib = 0; /* callers test rc first, but the compiler cannot see it */
    *v = 0;
    return BAD(d, "truncated");
  }
  uint8_t b0 = *d->p++;
  *ib = b0;
  if ((b0 & 31) < 24) {
    *v = b0 & 31;
    return TL_OK;
  }
  return head_long(d, b0, v);
}

/* The argument of a head of the given major type with all its bytes
** there, read inline; 0 (and nothing read) for anything else, which the
** callers' general path then reads or refuses.  Most heads of a hot
** section are integers and counts: this is most of its walk. */
static inline int fast_head(dec *d, unsigned major, uint64_t *v) {
  const uint8_t *p = d->p;
  if (p >= d->end || *p >> 5 != major) return 0;
  unsigned ai = *p & 31;
  d->item = p;
  if (ai < 24) {
    *v = ai;
    d->p = p + 1;
    return 1;
  }
  if (ai > 27) return 0;
  size_t k = (size_t)1 << (ai - 24);
  if ((size_t)(d->end - p) <= k) return 0;
  uint64_t x = 0;
  for (size_t i = 1; i <= k; i++) x = x << 8 | p[i];
  *v = x;
  d->p = p + 1 + k;
  return 1;
}

static inline int rd_uint(dec *d, uint64_t *v, const char *what) {
  if (fast_head(d, M_UINT, v)) return TL_OK;
  uint8_t ib;
  int rc = head(d, &ib, v);
  if (!rc && ib >> 5 != M_UINT) rc = BAD(d, "%s is not an unsigned integer", what);
  return rc;
}

static inline int rd_u32(dec *d, uint32_t *v, const char *what) {
  uint64_t x;
  int rc = rd_uint(d, &x, what);
  if (!rc && x > UINT32_MAX) rc = BAD(d, "%s %llu is past 2^32-1", what, (unsigned long long)x);
  *v = (uint32_t)x;
  return rc;
}

static inline int rd_small(dec *d, uint8_t *v, unsigned max, const char *what) {
  uint64_t x;
  int rc = rd_uint(d, &x, what);
  if (!rc && x > max) rc = BAD(d, "%s %llu is past %u", what, (unsigned long long)x, max);
  *v = (uint8_t)x;
  return rc;
}

static inline int rd_int(dec *d, int64_t *v, const char *what) {
  uint8_t ib;
  uint64_t x;
  const uint8_t *at = d->p;
  unsigned m = at < d->end ? *at >> 5 : M_SIMPLE;
  if ((m == M_UINT || m == M_NEG) && fast_head(d, m, &x) && x <= INT64_MAX) {
    *v = m == M_UINT ? (int64_t)x : -1 - (int64_t)x;
    return TL_OK;
  }
  d->p = at; /* the general path reads the head again, and says what is wrong */
  int rc = head(d, &ib, &x);
  if (rc) return rc;
  if ((ib >> 5 != M_UINT && ib >> 5 != M_NEG)) return BAD(d, "%s is not an integer", what);
  if (x > INT64_MAX) return BAD(d, "%s does not fit in 64 bits", what);
  *v = ib >> 5 == M_UINT ? (int64_t)x : -1 - (int64_t)x;
  return TL_OK;
}

/* The count of an array or map whose items take at least `min` bytes each;
** checked against the bytes left before anything is allocated for it. */
static inline int rd_count(dec *d, unsigned major, size_t min, uint32_t *n, const char *what) {
  uint8_t ib;
  uint64_t x;
  const uint8_t *at = d->p;
  if (fast_head(d, major, &x) && x <= left(d) / min) {
    *n = (uint32_t)x;
    return TL_OK;
  }
  d->p = at;
  int rc = head(d, &ib, &x);
  if (rc) return rc;
  if (ib >> 5 != major) return BAD(d, "%s is not a%s", what, major == M_MAP ? " map" : "n array");
  if (x > left(d) / min) return BAD(d, "%s claims %llu items, more than the bytes left", what,
                                    (unsigned long long)x);
  *n = (uint32_t)x;
  return TL_OK;
}

static void *alloc_list(dec *d, uint32_t n, size_t size, int *rc) {
  if ((size_t)n > (size_t)TL_MAX_STRING * 4 / size) {
    *rc = fail(d, TL_ERANGE, "list of %u items is past the limit", n);
    return NULL;
  }
  void *p = tl_batch_alloc(d->b, (size_t)n * size);
  if (!p) *rc = tl_err_set(d->e, TL_ENOMEM, "cbor: out of memory");
  return p;
}

/* Numbers the literal string p[0..len) (*ent: its table entry). */
static int number(dec *d, const uint8_t *p, uint32_t len, uint8_t major, dent **ent) {
  if (d->ntab == d->c->cap_tab) {
    dent *tab = grow(d->c->tab, &d->c->cap_tab, (size_t)d->ntab + 1, sizeof *tab);
    if (!tab) return tl_err_set(d->e, TL_ENOMEM, "cbor: out of memory");
    d->c->tab = tab;
  }
  dent *t = &d->c->tab[d->ntab++];
  t->p = p;
  t->len = len;
  t->major = major;
  t->have = 0;
  *ent = t;
  return TL_OK;
}

/* A text or byte string, literal (numbered when long enough) or a string
** reference.  *ent is its string-table entry, NULL for a literal too short
** to be numbered; it is valid until the next string is read. */
static int rd_str(dec *d, uint8_t *major, const uint8_t **p, uint32_t *len, dent **ent,
                  const char *what) {
  uint8_t ib;
  uint64_t v;
  int rc = head(d, &ib, &v);
  if (rc) return rc;
  unsigned m = ib >> 5;
  if (m == M_TAG) {
    const uint8_t *tag = d->item;
    if (v != TAG_STRINGREF)
      return BAD(d, "unexpected tag %llu for %s", (unsigned long long)v, what);
    if ((rc = rd_uint(d, &v, "string reference"))) return rc;
    d->item = tag; /* messages about a reference point at its tag */
    if (v >= d->ntab)
      return BAD(d, "string reference %llu past the %u strings numbered", (unsigned long long)v,
                 d->ntab);
    dent *t = &d->c->tab[v];
    *major = t->major;
    *p = t->p;
    *len = t->len;
    *ent = t;
    return TL_OK;
  }
  if (m != M_BYTES && m != M_TEXT) return BAD(d, "%s is not a string", what);
  if (v > left(d))
    return BAD(d, "%s runs past the end (%llu bytes)", what, (unsigned long long)v);
  if (v > TL_MAX_STRING)
    return fail(d, TL_ERANGE, "%s is past the size limit (%llu bytes)", what,
                (unsigned long long)v);
  *major = (uint8_t)m;
  *p = d->p;
  *len = (uint32_t)v;
  *ent = NULL;
  d->p += v;
  return v >= min_ref_len(d->ntab) ? number(d, *p, *len, *major, ent) : TL_OK;
}

/* The interned text or the arena copy of the bytes of a string item. */
static int str_value(dec *d, uint8_t major, const uint8_t *p, uint32_t len, dent *ent,
                     tl_str *out) {
  if (ent && ent->have) {
    *out = ent->s;
    return TL_OK;
  }
  *out = major == M_TEXT ? tl_batch_intern(d->b, (const char *)p, len)
                         : tl_batch_copy(d->b, p, len);
  if (!out->ptr) return tl_err_set(d->e, TL_ENOMEM, "cbor: out of memory");
  if (ent) {
    ent->s = *out;
    ent->have = 1;
  }
  return TL_OK;
}

static int rd_text(dec *d, tl_str *out, const char *what) {
  uint8_t major;
  const uint8_t *p;
  uint32_t len;
  dent *ent;
  int rc = rd_str(d, &major, &p, &len, &ent, what);
  if (rc) return rc;
  if (major != M_TEXT) return BAD(d, "%s is not a text string", what);
  return str_value(d, major, p, len, ent, out);
}

/* An id: a byte string of exactly n (8 or 16) bytes.  The two forms the
** encoder writes, a literal and a reference numbered below 65536, are
** read here with the checks of rd_str (an id is most of what a hot decode
** reads); anything else takes rd_str's way, and its messages. */
static int rd_id(dec *d, uint8_t *out, uint32_t n, const char *what) {
  const uint8_t *q = d->p;
  size_t avail = left(d);
  dent *ent;
  if (avail > n && q[0] == (M_BYTES << 5 | n)) {
    memcpy(out, q + 1, n);
    d->p = q + 1 + n;
    return n >= min_ref_len(d->ntab) ? number(d, q + 1, n, M_BYTES, &ent) : TL_OK;
  }
  if (avail >= 3 && q[0] == (M_TAG << 5 | 24) && q[1] == TAG_STRINGREF) {
    uint32_t v = UINT32_MAX, k = 0;
    if (q[2] < 24) v = q[2], k = 3;
    else if (q[2] == 24 && avail >= 4) v = q[3], k = 4;
    else if (q[2] == 25 && avail >= 5) v = (uint32_t)q[3] << 8 | q[4], k = 5;
    if (v < d->ntab && d->c->tab[v].major == M_BYTES && d->c->tab[v].len == n) {
      memcpy(out, d->c->tab[v].p, n);
      d->p = q + k;
      return TL_OK;
    }
  }
  uint8_t major;
  const uint8_t *p;
  uint32_t len;
  int rc = rd_str(d, &major, &p, &len, &ent, what);
  if (rc) return rc;
  if (major != M_BYTES || len != n) return BAD(d, "%s is not a byte string of %u bytes", what, n);
  memcpy(out, p, n);
  return TL_OK;
}

static int rd_attrs(dec *d, tl_kv **items, uint32_t *n, int depth);

static int rd_value(dec *d, tl_value *v, int depth) {
  d->item = d->p;
  if (depth > TL_MAX_DEPTH) return BAD(d, "values nested deeper than %d", TL_MAX_DEPTH);
  if (d->p >= d->end) return BAD(d, "truncated");
  uint8_t ib = *d->p, major;
  int rc;
  switch (ib >> 5) {
    case M_UINT:
    case M_NEG:
      v->type = TL_V_INT;
      return rd_int(d, &v->u.i, "int value");
    case M_BYTES:
    case M_TEXT:
    case M_TAG: {
      const uint8_t *p;
      uint32_t len;
      dent *ent;
      if ((rc = rd_str(d, &major, &p, &len, &ent, "value"))) return rc;
      v->type = major == M_TEXT ? TL_V_STRING : TL_V_BYTES;
      return str_value(d, major, p, len, ent, &v->u.s);
    }
    case M_ARRAY: {
      uint32_t n;
      if ((rc = rd_count(d, M_ARRAY, 1, &n, "array value"))) return rc;
      v->type = TL_V_ARRAY;
      v->u.arr.n = n;
      if (!n) return TL_OK;
      if (!(v->u.arr.items = alloc_list(d, n, sizeof(tl_value), &rc))) return rc;
      for (uint32_t i = 0; i < n; i++)
        if ((rc = rd_value(d, &v->u.arr.items[i], depth + 1))) return rc;
      return TL_OK;
    }
    case M_MAP:
      v->type = TL_V_KVLIST;
      return rd_attrs(d, &v->u.kv.items, &v->u.kv.n, depth + 1);
    default: {
      uint64_t x;
      if ((rc = head(d, &ib, &x))) return rc;
      switch (ib) {
        case 0xf4:
        case 0xf5:
          v->type = TL_V_BOOL;
          v->u.b = ib == 0xf5;
          return TL_OK;
        case 0xf6: v->type = TL_V_EMPTY; return TL_OK;
        case 0xfa: {
          uint32_t bits = (uint32_t)x;
          float f;
          memcpy(&f, &bits, 4);
          v->type = TL_V_DOUBLE;
          v->u.d = f;
          return TL_OK;
        }
        case 0xfb:
          v->type = TL_V_DOUBLE;
          memcpy(&v->u.d, &x, 8);
          return TL_OK;
        default: return BAD(d, "unsupported value 0x%02x", ib);
      }
    }
  }
}

static int rd_attrs(dec *d, tl_kv **items, uint32_t *n, int depth) {
  int rc = rd_count(d, M_MAP, 2, n, "attributes");
  if (rc || !*n) return rc;
  if (!(*items = alloc_list(d, *n, sizeof(tl_kv), &rc))) return rc;
  for (uint32_t i = 0; i < *n; i++) {
    if ((rc = rd_text(d, &(*items)[i].key, "attribute key"))) return rc;
    if ((rc = rd_value(d, &(*items)[i].value, depth))) return rc;
  }
  return TL_OK;
}

/* Walks past one item the caller does not need.  Strings still go through
** rd_str, because a literal long enough is numbered and later references
** count on that numbering; nothing is interned or allocated.  The checks
** are those of the item's own decoder where they guard the walk (lengths,
** counts, references, depth); a skipped value's type is not judged. */
/* Deep enough for any value the decoders take: an attribute value nested
** TL_MAX_DEPTH deep inside an event's attributes, inside the event, inside
** the span's list of events. */
#define SKIP_MAX_DEPTH (TL_MAX_DEPTH + 3)
static int skip_item(dec *d, int depth) {
  d->item = d->p;
  if (depth > SKIP_MAX_DEPTH) return BAD(d, "skipped value nested deeper than %d", SKIP_MAX_DEPTH);
  if (d->p >= d->end) return BAD(d, "truncated");
  uint8_t ib = *d->p;
  uint64_t v;
  uint32_t n;
  int rc;
  switch (ib >> 5) {
    case M_UINT:
    case M_NEG:
      if ((ib & 31) < 24) { /* the most common skipped item: a small integer */
        d->p++;
        return TL_OK;
      }
      return head(d, &ib, &v);
    case M_BYTES:
    case M_TEXT:
    case M_TAG: {
      uint8_t major;
      const uint8_t *p;
      uint32_t len;
      dent *ent;
      return rd_str(d, &major, &p, &len, &ent, "value");
    }
    case M_ARRAY:
    case M_MAP: {
      int is_map = ib >> 5 == M_MAP;
      if ((rc = rd_count(d, ib >> 5, is_map ? 2 : 1, &n, "skipped value"))) return rc;
      for (uint64_t i = 0, items = (uint64_t)n << is_map; i < items; i++)
        if ((rc = skip_item(d, depth + 1))) return rc;
      return TL_OK;
    }
    default: return head(d, &ib, &v);
  }
}

/* The next key of a map whose keys must increase. */
static inline int rd_key(dec *d, uint64_t *prev, uint64_t *key) {
  if (d->p < d->end && *d->p < 24 && *d->p > *prev) { /* a one-byte key, in order */
    d->item = d->p;
    *key = *prev = *d->p++;
    return TL_OK;
  }
  int rc = rd_uint(d, key, "map key");
  if (!rc && *key <= *prev) rc = BAD(d, "map key %llu out of order", (unsigned long long)*key);
  *prev = *key;
  return rc;
}

static int unknown_key(dec *d, const char *what, uint64_t key) {
  return BAD(d, "unknown %s key %llu", what, (unsigned long long)key);
}

static int rd_resource(dec *d, const tl_resource **out) {
  tl_resource r;
  memset(&r, 0, sizeof r);
  uint32_t nk;
  uint64_t prev = 0, key;
  int rc = rd_count(d, M_MAP, 2, &nk, "resource");
  for (uint32_t i = 0; !rc && i < nk; i++) {
    if ((rc = rd_key(d, &prev, &key))) break;
    switch (key) {
      case R_ATTRS: rc = rd_attrs(d, &r.attrs.items, &r.attrs.n, 0); break;
      case R_DROPPED: rc = rd_u32(d, &r.attrs.dropped, "dropped attributes count"); break;
      case R_SCHEMA: rc = rd_text(d, &r.schema_url, "schema url"); break;
      default: rc = unknown_key(d, "resource", key);
    }
  }
  if (rc) return rc;
  if (!r.attrs.n && !r.attrs.dropped && !r.schema_url.len) {
    *out = tl_batch_empty_resource(d->b);
    return TL_OK;
  }
  tl_resource *copy = tl_batch_alloc(d->b, sizeof *copy);
  if (!copy) return tl_err_set(d->e, TL_ENOMEM, "cbor: out of memory");
  *copy = r;
  tl_resource_set_service(copy);
  *out = copy;
  return TL_OK;
}

static int rd_scope(dec *d, const tl_scope **out) {
  tl_scope s;
  memset(&s, 0, sizeof s);
  uint32_t nk;
  uint64_t prev = 0, key;
  int rc = rd_count(d, M_MAP, 2, &nk, "scope");
  for (uint32_t i = 0; !rc && i < nk; i++) {
    if ((rc = rd_key(d, &prev, &key))) break;
    switch (key) {
      case S_NAME: rc = rd_text(d, &s.name, "scope name"); break;
      case S_VERSION: rc = rd_text(d, &s.version, "scope version"); break;
      case S_ATTRS: rc = rd_attrs(d, &s.attrs.items, &s.attrs.n, 0); break;
      case S_DROPPED: rc = rd_u32(d, &s.attrs.dropped, "dropped attributes count"); break;
      case S_SCHEMA: rc = rd_text(d, &s.schema_url, "schema url"); break;
      default: rc = unknown_key(d, "scope", key);
    }
  }
  if (rc) return rc;
  if (!s.name.len && !s.version.len && !s.attrs.n && !s.attrs.dropped && !s.schema_url.len) {
    *out = tl_batch_empty_scope(d->b);
    return TL_OK;
  }
  tl_scope *copy = tl_batch_alloc(d->b, sizeof *copy);
  if (!copy) return tl_err_set(d->e, TL_ENOMEM, "cbor: out of memory");
  *copy = s;
  *out = copy;
  return TL_OK;
}

static int rd_event(dec *d, tl_event *ev, uint64_t start) {
  uint32_t nk;
  uint64_t prev = 0, key;
  int64_t delta = 0;
  int rc = rd_count(d, M_MAP, 2, &nk, "event");
  for (uint32_t i = 0; !rc && i < nk; i++) {
    if ((rc = rd_key(d, &prev, &key))) break;
    switch (key) {
      case EV_TIME: rc = rd_int(d, &delta, "event time"); break;
      case EV_NAME: rc = rd_text(d, &ev->name, "event name"); break;
      case EV_ATTRS: rc = rd_attrs(d, &ev->attrs.items, &ev->attrs.n, 0); break;
      case EV_DROPPED: rc = rd_u32(d, &ev->attrs.dropped, "dropped attributes count"); break;
      default: rc = unknown_key(d, "event", key);
    }
  }
  ev->time_ns = start + (uint64_t)delta;
  return rc;
}

static int rd_link(dec *d, tl_link *ln) {
  uint32_t nk;
  uint64_t prev = 0, key;
  int rc = rd_count(d, M_MAP, 2, &nk, "link");
  for (uint32_t i = 0; !rc && i < nk; i++) {
    if ((rc = rd_key(d, &prev, &key))) break;
    switch (key) {
      case LK_TRACE_ID: rc = rd_id(d, ln->trace_id, 16, "link trace id"); break;
      case LK_SPAN_ID: rc = rd_id(d, ln->span_id, 8, "link span id"); break;
      case LK_TRACE_STATE: rc = rd_text(d, &ln->trace_state, "link trace state"); break;
      case LK_FLAGS: rc = rd_u32(d, &ln->flags, "link flags"); break;
      case LK_ATTRS: rc = rd_attrs(d, &ln->attrs.items, &ln->attrs.n, 0); break;
      case LK_DROPPED: rc = rd_u32(d, &ln->attrs.dropped, "dropped attributes count"); break;
      default: rc = unknown_key(d, "link", key);
    }
  }
  return rc;
}

static int rd_events(dec *d, tl_span *s) {
  int rc = rd_count(d, M_ARRAY, 1, &s->n_events, "events");
  if (rc || !s->n_events) return rc;
  if (!(s->events = alloc_list(d, s->n_events, sizeof *s->events, &rc))) return rc;
  for (uint32_t i = 0; !rc && i < s->n_events; i++) rc = rd_event(d, &s->events[i], s->start_ns);
  return rc;
}

static int rd_links(dec *d, tl_span *s) {
  int rc = rd_count(d, M_ARRAY, 1, &s->n_links, "links");
  if (rc || !s->n_links) return rc;
  if (!(s->links = alloc_list(d, s->n_links, sizeof *s->links, &rc))) return rc;
  for (uint32_t i = 0; !rc && i < s->n_links; i++) rc = rd_link(d, &s->links[i]);
  return rc;
}

/* A resource or scope index (0 when the span leaves it out), checked once
** the span is read; errors point at the span. */
static int rd_index(dec *d, const uint8_t *span, uint32_t count, uint32_t idx, const char *what) {
  if (idx < count) return TL_OK;
  d->item = span;
  return BAD(d, "%s %u past the %u in the table", what, idx, count);
}

/* Which span keys a map may hold: all of them in a version 1 span, the
** hot ones in the hot part of a version 2 span, the others in its cold
** part.  Bit k is key k. */
#define KEY_BIT(k) (1u << (k))
#define ALL_KEYS (((1u << (K_SCOPE + 1)) - 1) & ~1u)
#define COLD_KEYS                                                                              \
  (KEY_BIT(K_ATTRS) | KEY_BIT(K_DROPPED_ATTRS) | KEY_BIT(K_EVENTS) |                           \
   KEY_BIT(K_DROPPED_EVENTS) | KEY_BIT(K_DROPPED_LINKS))
#define HOT_KEYS (ALL_KEYS & ~COLD_KEYS)

/* A span map, or one part of it (keys: ALL_KEYS, HOT_KEYS or COLD_KEYS;
** what names it in messages).  The times, resource and scope are settled
** by the map that holds the start time (every map but a cold one); a hot
** one holds it as the difference from prev_start. */
static int rd_span(dec *d, tl_span *s, uint32_t keys, const char *what, uint64_t prev_start) {
  const uint8_t *start = d->p;
  uint32_t nk, res = 0, scope = 0;
  uint64_t prev = 0, key;
  int64_t dur = 0, delta = 0;
  const uint32_t want = d->fields;
  int rc = rd_count(d, M_MAP, 2, &nk, what);
  for (uint32_t i = 0; !rc && i < nk; i++) {
    if ((rc = rd_key(d, &prev, &key))) break;
    if (key > K_SCOPE || !(keys & KEY_BIT(key))) {
      rc = unknown_key(d, what, key);
      break;
    }
    switch (key) {
      case K_TRACE_ID: rc = rd_id(d, s->trace_id, 16, "trace id"); break;
      case K_SPAN_ID: rc = rd_id(d, s->span_id, 8, "span id"); break;
      case K_PARENT: rc = rd_id(d, s->parent_span_id, 8, "parent span id"); break;
      case K_TRACE_STATE: rc = rd_text(d, &s->trace_state, "trace state"); break;
      case K_FLAGS: rc = rd_u32(d, &s->flags, "flags"); break;
      case K_NAME:
        rc = want & TL_FIELD_NAME ? rd_text(d, &s->name, "name") : skip_item(d, 0);
        break;
      case K_KIND: rc = rd_small(d, &s->kind, TL_KIND_CONSUMER, "kind"); break;
      case K_START:
        rc = keys == HOT_KEYS ? rd_int(d, &delta, "start time")
                              : rd_uint(d, &s->start_ns, "start time");
        break;
      case K_DURATION: rc = rd_int(d, &dur, "duration"); break;
      case K_STATUS_CODE: rc = rd_small(d, &s->status_code, TL_STATUS_ERROR, "status code"); break;
      case K_STATUS_MSG:
        rc = want & TL_FIELD_STATUS ? rd_text(d, &s->status_message, "status message")
                                    : skip_item(d, 0);
        break;
      case K_ATTRS:
        rc = want & TL_FIELD_ATTRS ? rd_attrs(d, &s->attrs.items, &s->attrs.n, 0)
                                   : skip_item(d, 0);
        break;
      case K_DROPPED_ATTRS: rc = rd_u32(d, &s->attrs.dropped, "dropped attributes count"); break;
      case K_EVENTS: rc = want & TL_FIELD_EVENTS ? rd_events(d, s) : skip_item(d, 0); break;
      case K_DROPPED_EVENTS: rc = rd_u32(d, &s->dropped_events, "dropped events count"); break;
      case K_LINKS: rc = want & TL_FIELD_LINKS ? rd_links(d, s) : skip_item(d, 0); break;
      case K_DROPPED_LINKS: rc = rd_u32(d, &s->dropped_links, "dropped links count"); break;
      case K_RESOURCE: rc = rd_u32(d, &res, "resource index"); break;
      default: rc = rd_u32(d, &scope, "scope index"); break; /* K_SCOPE */
    }
  }
  if (!(keys & KEY_BIT(K_START))) return rc;
  if (keys == HOT_KEYS) s->start_ns = prev_start + (uint64_t)delta;
  s->end_ns = s->start_ns + (uint64_t)dur;
  if (!rc) rc = rd_index(d, start, d->nres, res, "resource index");
  if (!rc) rc = rd_index(d, start, d->nscopes, scope, "scope index");
  if (!rc) {
    s->resource = d->c->res[res];
    s->scope = d->c->scopes[scope];
  }
  return rc;
}

/* The list of a block's spans (part ""), or of their hot or cold parts
** ("hot ", "cold "): exactly n of them. */
static int rd_span_list(dec *d, size_t n, const char *part) {
  char what[32];
  uint32_t count;
  snprintf(what, sizeof what, "%sspan list", part);
  int rc = rd_count(d, M_ARRAY, 1, &count, what);
  if (!rc && count != n) rc = BAD(d, "%u %sspans, the block says %zu", count, part, n);
  return rc;
}

static int rd_tables(dec *d) {
  tl_cbor *c = d->c;
  uint32_t count;
  int rc = rd_count(d, M_ARRAY, 1, &count, "resource table");
  if (rc) return rc;
  const tl_resource **res = grow(c->res, &c->cap_res, count, sizeof *res);
  if (!res) return tl_err_set(d->e, TL_ENOMEM, "cbor: out of memory");
  c->res = res;
  for (d->nres = 0; d->nres < count; d->nres++)
    if ((rc = rd_resource(d, &c->res[d->nres]))) return rc;

  if ((rc = rd_count(d, M_ARRAY, 1, &count, "scope table"))) return rc;
  const tl_scope **scopes = grow(c->scopes, &c->cap_scopes, count, sizeof *scopes);
  if (!scopes) return tl_err_set(d->e, TL_ENOMEM, "cbor: out of memory");
  c->scopes = scopes;
  for (d->nscopes = 0; d->nscopes < count; d->nscopes++)
    if ((rc = rd_scope(d, &c->scopes[d->nscopes]))) return rc;
  return TL_OK;
}

/* Span i of a block into the arrays of decode_cols. */
static void put_cols(tl_cols *c, size_t i, const tl_span *s, uint32_t fields) {
  c->start[i] = s->start_ns;
  c->end[i] = s->end_ns;
  if (!(fields & TL_FIELD_IDS)) return;
  memcpy(c->trace_id[i], s->trace_id, 16);
  memcpy(c->span_id[i], s->span_id, 8);
  memcpy(c->parent_id[i], s->parent_span_id, 8);
  c->flags[i] = s->flags;
  c->trace_state[i] = s->trace_state;
}

static int trailing(dec *d) {
  if (d->p == d->end) return TL_OK;
  d->item = d->p;
  return BAD(d, "bytes after the last span: %zu", left(d));
}

/* hot_len: 0 for a whole payload of either version; otherwise the payload
** is a version 2 one whose hot part is exactly p[0..hot_len) (d->end is
** then either there, for a hot-only decode, or past the cold part). */
static int decode_payload(dec *d, size_t n, size_t hot_len) {
  uint8_t ib;
  uint64_t v;
  uint32_t count;
  int rc = head(d, &ib, &v);
  if (rc) return rc;
  if (ib >> 5 != M_TAG || v != TAG_NAMESPACE) return BAD(d, "no stringref namespace tag");
  if (hot_len) { /* the hot part alone need not hold the 4th item */
    if ((rc = head(d, &ib, &v))) return rc;
    if (ib >> 5 != M_ARRAY) return BAD(d, "payload is not an array");
    count = v == 4 ? 4 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
  } else if ((rc = rd_count(d, M_ARRAY, 1, &count, "payload"))) {
    return rc;
  }
  if (count != 4 && (count != 3 || hot_len))
    return BAD(d, "payload array of %u items, expected %s", count,
               hot_len ? "4 (version 2)" : "3 (version 1) or 4 (version 2)");
  if ((rc = rd_tables(d))) return rc;
  size_t before = tl_batch_count(d->b);
  int v1 = count == 3;
  if ((rc = rd_span_list(d, n, v1 ? "" : "hot "))) return rc;
  /* Only now: the list's count has been checked against the bytes left. */
  if (d->cols && tl_cols_reserve(d->cols, n))
    return tl_err_set(d->e, TL_ENOMEM, "cbor: out of memory");
  uint64_t prev_start = 0;
  tl_span one;
  for (size_t i = 0; i < n; i++) {
    tl_span *s = &one;
    if (d->cols) memset(&one, 0, sizeof one);
    else if (!(s = tl_batch_add_span(d->b)))
      return tl_err_set(d->e, TL_ENOMEM, "cbor: out of memory");
    if ((rc = rd_span(d, s, v1 ? ALL_KEYS : HOT_KEYS, v1 ? "span" : "hot span", prev_start)))
      return rc;
    prev_start = s->start_ns;
    if (d->cols) put_cols(d->cols, i, s, d->fields);
  }
  if (v1) return trailing(d);
  if (hot_len && d->p != d->base + hot_len) {
    d->item = d->p;
    return BAD(d, "the hot spans end here, their frame holds %zu bytes", hot_len);
  }
  /* A cbor payload's cold part is not looked at by a hot-only decode. */
  if (tl_cbor_hot_only(d->fields)) return hot_len ? trailing(d) : TL_OK;
  /* The cold section: a namespace of its own. */
  if ((rc = head(d, &ib, &v))) return rc;
  if (ib >> 5 != M_TAG || v != TAG_NAMESPACE)
    return BAD(d, "no stringref namespace tag before the cold spans");
  d->ntab = 0;
  if ((rc = rd_span_list(d, n, "cold "))) return rc;
  for (size_t i = 0; i < n; i++)
    if ((rc = rd_span(d, tl_batch_span(d->b, before + i), COLD_KEYS, "cold span", 0))) return rc;
  return trailing(d);
}

int tl_cbor_hot_only(uint32_t fields) {
  return !(fields & (TL_FIELD_ATTRS | TL_FIELD_EVENTS | TL_FIELD_DROPPED));
}

static int decode(tl_cbor *c, const uint8_t *p, size_t len, size_t hot_len, size_t n,
                  uint32_t fields, tl_batch *b, tl_err *e) {
  dec d = {c, p, p + len, p, p, b, 0, 0, 0, fields, e, NULL};
  size_t before = tl_batch_count(b);
  int rc = decode_payload(&d, n, hot_len);
  if (rc)
    while (tl_batch_count(b) > before) tl_batch_pop_span(b);
  return rc;
}

int tl_cbor_decode(tl_cbor *c, const uint8_t *p, size_t len, size_t n, uint32_t fields,
                   tl_batch *b, tl_err *e) {
  return decode(c, p, len, 0, n, fields, b, e);
}

int tl_cbor_decode_split(tl_cbor *c, const uint8_t *p, size_t len, size_t hot_len, size_t n,
                         uint32_t fields, tl_batch *b, tl_err *e) {
  if (hot_len && (hot_len > len || (len == hot_len) != tl_cbor_hot_only(fields)))
    return tl_err_set(e, TL_EMISUSE, "cbor: hot part of %zu bytes in %zu for fields 0x%x",
                      hot_len, len, fields);
  return decode(c, p, len, hot_len, n, fields, b, e);
}

int tl_cbor_decode_cols(tl_cbor *c, const uint8_t *p, size_t len, size_t hot_len, size_t n,
                        uint32_t fields, tl_cols *out, tl_batch *b, tl_err *e) {
  /* Names and the rest are walked past, and the cold section not read. */
  dec d = {c, p, p + len, p, p, b, 0, 0, 0, fields & (TL_FIELD_IDS | TL_FIELD_TIMES), e, out};
  if (hot_len && hot_len != len)
    return tl_err_set(e, TL_EMISUSE, "cbor: hot part of %zu bytes in %zu for arrays", hot_len,
                      len);
  int rc = decode_payload(&d, n, hot_len);
  out->n = rc ? 0 : n;
  return rc;
}
