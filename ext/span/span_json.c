/*
** span_json.c — the JSON texts of a span's structured SQL columns
** (attributes, resource, scope, events, links, dropped) and their parsers,
** as span_json.h specifies them.
**
** Why a parser of our own: every span of every INSERT is rebuilt from these
** texts, so parsing sits on the ingest path.  A general JSON library builds
** a tree of allocations per value and collapses duplicate keys, which real
** attribute lists have and which must survive.  This parser reads the text
** in place: a string without escapes is interned straight from the text;
** lists are built on one scratch stack that nested lists share (a list
** pushes its items above its parent's and moves them into the batch in one
** piece when it closes), kept in the parser's own stack frame until it
** outgrows it.
**
** Round trip.  For every value a reader can put in the model,
** parse(write(x)) equals x exactly: an int stays an int (200) and a double
** a double (200.0: tl_buf_json_double always writes a '.' or an exponent,
** and "-0.0" for negative zero); NaN and the infinities are wrapper objects
** {"doubleValue":"NaN"}, bytes {"bytesValue":"<base64>"}, nested lists
** {"kvlistValue":{...}}; strings keep NUL bytes and control characters as
** escapes; timeUnixNano is an unsigned 64-bit integer.  What is not kept:
**   - a NaN's sign and payload (JSON names one NaN; it parses as NAN);
**   - a string that is not valid UTF-8 (no reader produces one):
**     tl_buf_json_str writes each stray byte as \u00XX, which reads back as
**     the character U+00XX.
**
** Decisions on hostile text (each failure is TL_EFORMAT "<column>: <what>
** at offset <byte offset>", ENOMEM aside):
**   - UTF-8: raw bytes must be valid UTF-8 and \u escapes must pair their
**     surrogates; invalid sequences and lone surrogates are rejected, so
**     every parsed string is valid UTF-8 and the text written for a parsed
**     value parses and writes back to itself.  Raw control characters are
**     rejected (JSON).
**   - Numbers follow the JSON grammar.  A literal without '.', 'e' or 'E'
**     is an int and must fit int64 exactly; any other literal is a double
**     (tl_parse_double: '.' whatever the locale) and must be finite.
**     Counts, flags and times are unsigned integers range-checked against
**     their field (uint32, or uint64 for timeUnixNano).
**   - Depth: a value inside k arrays or kvlists has depth k, and k may not
**     pass TL_MAX_DEPTH: the same rule as tl_span_copy(), so every parsed
**     value can be copied.
**   - Members of the fixed objects (resource, scope, events, links,
**     dropped) may come in any order; unknown or repeated members are
**     errors; a member holding its default ("", 0, {}) is accepted.
**   - Ids in links are 32 / 16 hex digits (either case; written lowercase),
**     or "" for an all-zero id.
**   - Sizes: a string or bytes value is at most TL_MAX_STRING bytes, a
**     number literal shorter than NUM_MAX, the items of open lists at most
**     TL_MAX_STRING bytes of scratch.
**   - tl_parse_attrs() leaves out->dropped alone: that count lives in the
**     dropped column, so the column parsers may run in any order.
**   - tl_parse_resource() and tl_parse_scope() always return a fresh object
**     in the batch (zeroed for a NULL column) that the caller may change.
*/
#include "span_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writers -------------------------------------------------------------- */

static void w_str(tl_buf *o, tl_str s) { tl_buf_json_str(o, s.ptr ? s.ptr : "", s.len); }

/* Starts a member of an object whose earlier members may all have been
** omitted: *count says how many were written.  key is quoted, with ':'. */
static void w_member(tl_buf *o, int *count, const char *key) {
  if ((*count)++) tl_buf_putc(o, ',');
  tl_buf_puts(o, key);
}

static void w_str_member(tl_buf *o, int *count, const char *key, tl_str s) {
  if (!s.len) return;
  w_member(o, count, key);
  w_str(o, s);
}

static void w_uint_member(tl_buf *o, int *count, const char *key, uint64_t v) {
  if (!v) return;
  w_member(o, count, key);
  tl_buf_u64(o, v);
}

static void w_kvs(tl_buf *o, const tl_kv *kv, uint32_t n, int depth);

/* depth counts the arrays and kvlists around v.  Producers never build
** values deeper than TL_MAX_DEPTH; the guard only bounds the recursion. */
static void w_value(tl_buf *o, const tl_value *v, int depth) {
  if (depth > TL_MAX_DEPTH) {
    tl_buf_puts(o, "null");
    return;
  }
  switch (v->type) {
    case TL_V_STRING: w_str(o, v->u.s); return;
    case TL_V_BOOL: tl_buf_puts(o, v->u.b ? "true" : "false"); return;
    case TL_V_INT: tl_buf_i64(o, v->u.i); return;
    case TL_V_DOUBLE:
      if (isfinite(v->u.d)) {
        tl_buf_json_double(o, v->u.d);
      } else {
        /* tl_buf_json_double writes these as the strings "NaN", ... */
        tl_buf_puts(o, "{\"doubleValue\":");
        tl_buf_json_double(o, v->u.d);
        tl_buf_putc(o, '}');
      }
      return;
    case TL_V_BYTES:
      tl_buf_puts(o, "{\"bytesValue\":\"");
      tl_buf_base64(o, (const uint8_t *)v->u.s.ptr, v->u.s.len);
      tl_buf_puts(o, "\"}");
      return;
    case TL_V_ARRAY:
      tl_buf_putc(o, '[');
      for (uint32_t i = 0; i < v->u.arr.n; i++) {
        if (i) tl_buf_putc(o, ',');
        w_value(o, &v->u.arr.items[i], depth + 1);
      }
      tl_buf_putc(o, ']');
      return;
    case TL_V_KVLIST:
      tl_buf_puts(o, "{\"kvlistValue\":");
      w_kvs(o, v->u.kv.items, v->u.kv.n, depth + 1);
      tl_buf_putc(o, '}');
      return;
    default: tl_buf_puts(o, "null"); return;
  }
}

/* Members of attribute objects are written in place, with one reservation
** each, when their key (and string value) need no escape: most do. */

/* ,"key": (no comma for the first member). */
static void w_key(tl_buf *o, int first, tl_str key) {
  if (!tl_buf_reserve(o, (size_t)key.len + 4)) {
    char *p = o->p + o->n;
    if (!first) *p++ = ',';
    if ((p = tl_json_str_plain(p, key.ptr, key.len))) {
      *p++ = ':';
      o->n = (size_t)(p - o->p);
      return;
    }
  }
  if (!first) tl_buf_putc(o, ',');
  w_str(o, key);
  tl_buf_putc(o, ':');
}

/* ,"key":"value" in one piece; 0 when it wrote nothing (an escape is
** needed, or no memory) and the caller writes the member the general way. */
static int w_plain_member(tl_buf *o, int first, tl_str key, tl_str val) {
  if (tl_buf_reserve(o, (size_t)key.len + val.len + 6)) return 0;
  char *p = o->p + o->n;
  if (!first) *p++ = ',';
  if (!(p = tl_json_str_plain(p, key.ptr, key.len))) return 0;
  *p++ = ':';
  if (!(p = tl_json_str_plain(p, val.ptr, val.len))) return 0;
  o->n = (size_t)(p - o->p);
  return 1;
}

/* An attribute object whose values have the given depth. */
static void w_kvs(tl_buf *o, const tl_kv *kv, uint32_t n, int depth) {
  tl_buf_putc(o, '{');
  for (uint32_t i = 0; i < n; i++) {
    if (kv[i].value.type == TL_V_STRING && depth <= TL_MAX_DEPTH &&
        w_plain_member(o, i == 0, kv[i].key, kv[i].value.u.s))
      continue;
    w_key(o, i == 0, kv[i].key);
    w_value(o, &kv[i].value, depth);
  }
  tl_buf_putc(o, '}');
}

/* "attributes" and "droppedAttributesCount" of a resource, scope, event
** or link. */
static void w_attrs_members(tl_buf *o, int *count, const tl_attrs *a) {
  if (a->n) {
    w_member(o, count, "\"attributes\":");
    w_kvs(o, a->items, a->n, 0);
  }
  w_uint_member(o, count, "\"droppedAttributesCount\":", a->dropped);
}

static int is_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

static void w_id_member(tl_buf *o, int *count, const char *key, const uint8_t *id, size_t n) {
  if (is_zero(id, n)) return;
  w_member(o, count, key);
  tl_buf_putc(o, '"');
  tl_buf_hex(o, id, n);
  tl_buf_putc(o, '"');
}

int tl_json_attrs(tl_buf *out, const tl_attrs *a) {
  if (!a || !a->n) return 0;
  w_kvs(out, a->items, a->n, 0);
  return 1;
}

int tl_json_resource(tl_buf *out, const tl_resource *r) {
  if (!r || (!r->attrs.n && !r->attrs.dropped && !r->schema_url.len)) return 0;
  int m = 0;
  tl_buf_putc(out, '{');
  w_attrs_members(out, &m, &r->attrs);
  w_str_member(out, &m, "\"schemaUrl\":", r->schema_url);
  tl_buf_putc(out, '}');
  return 1;
}

int tl_json_scope(tl_buf *out, const tl_scope *s) {
  if (!s || (!s->name.len && !s->version.len && !s->attrs.n && !s->attrs.dropped &&
             !s->schema_url.len))
    return 0;
  int m = 0;
  tl_buf_putc(out, '{');
  w_str_member(out, &m, "\"name\":", s->name);
  w_str_member(out, &m, "\"version\":", s->version);
  w_attrs_members(out, &m, &s->attrs);
  w_str_member(out, &m, "\"schemaUrl\":", s->schema_url);
  tl_buf_putc(out, '}');
  return 1;
}

int tl_json_events(tl_buf *out, const tl_span *s) {
  if (!s->n_events) return 0;
  tl_buf_putc(out, '[');
  for (uint32_t i = 0; i < s->n_events; i++) {
    const tl_event *ev = &s->events[i];
    int m = 0;
    tl_buf_puts(out, i ? ",{" : "{");
    w_uint_member(out, &m, "\"timeUnixNano\":", ev->time_ns);
    w_str_member(out, &m, "\"name\":", ev->name);
    w_attrs_members(out, &m, &ev->attrs);
    tl_buf_putc(out, '}');
  }
  tl_buf_putc(out, ']');
  return 1;
}

int tl_json_links(tl_buf *out, const tl_span *s) {
  if (!s->n_links) return 0;
  tl_buf_putc(out, '[');
  for (uint32_t i = 0; i < s->n_links; i++) {
    const tl_link *ln = &s->links[i];
    int m = 0;
    tl_buf_puts(out, i ? ",{" : "{");
    w_id_member(out, &m, "\"traceId\":", ln->trace_id, sizeof ln->trace_id);
    w_id_member(out, &m, "\"spanId\":", ln->span_id, sizeof ln->span_id);
    w_str_member(out, &m, "\"traceState\":", ln->trace_state);
    w_uint_member(out, &m, "\"flags\":", ln->flags);
    w_attrs_members(out, &m, &ln->attrs);
    tl_buf_putc(out, '}');
  }
  tl_buf_putc(out, ']');
  return 1;
}

int tl_json_dropped(tl_buf *out, const tl_span *s) {
  if (!s->attrs.dropped && !s->dropped_events && !s->dropped_links) return 0;
  int m = 0;
  tl_buf_putc(out, '{');
  w_uint_member(out, &m, "\"attributes\":", s->attrs.dropped);
  w_uint_member(out, &m, "\"events\":", s->dropped_events);
  w_uint_member(out, &m, "\"links\":", s->dropped_links);
  tl_buf_putc(out, '}');
  return 1;
}

/* ---- parser state ----------------------------------------------------------- */

#define STACK_SMALL 4096 /* list items held in the parser before malloc */
#define STR_SMALL 256    /* decoded escaped string held before malloc */
#define NUM_MAX 128      /* the longest number literal read as a double */
/* The longest decoded string literal: the base64 text of a bytes value of
** TL_MAX_STRING bytes.  Interned strings are held to TL_MAX_STRING. */
#define STR_LIMIT ((size_t)TL_MAX_STRING / 3 * 4 + 8)

/* A byte array that starts in the parser's frame and moves to the heap
** when it outgrows it. */
typedef struct scratch {
  char *p;
  size_t n, cap;
  int heap;
} scratch;

typedef struct jp {
  const char *t; /* the text, not NUL-terminated */
  size_t n, i;   /* its length and the read offset */
  const char *col;
  tl_batch *b;
  tl_err *e;
  scratch st;  /* items of the lists being built, innermost on top */
  scratch str; /* the decoded bytes of a string with escapes */
  union {      /* aligned for the tl_kv / tl_value / tl_event it holds */
    char c[STACK_SMALL];
    double align_d;
    void *align_p;
    uint64_t align_u;
  } st_small;
  char str_small[STR_SMALL];
} jp;

static void jp_init(jp *j, tl_batch *b, const char *text, size_t n, const char *col,
                    tl_err *e) {
  j->t = text;
  j->n = n;
  j->i = 0;
  j->col = col;
  j->b = b;
  j->e = e;
  j->st.p = j->st_small.c;
  j->st.n = 0;
  j->st.cap = sizeof j->st_small.c;
  j->st.heap = 0;
  j->str.p = j->str_small;
  j->str.n = 0;
  j->str.cap = sizeof j->str_small;
  j->str.heap = 0;
}

static void jp_free(jp *j) {
  if (j->st.heap) free(j->st.p);
  if (j->str.heap) free(j->str.p);
}

static int fail_at(jp *j, size_t at, const char *what) {
  return tl_err_set(j->e, TL_EFORMAT, "%s: %s at offset %zu%s", j->col, what, at,
                    at >= j->n ? " (end of text)" : "");
}

/* A failure that quotes a member name (at most 32 bytes, unprintable bytes
** shown as '?'). */
static int fail_name(jp *j, size_t at, const char *what, const char *k, size_t kn) {
  char name[33], msg[96];
  size_t m = 0;
  for (; m < kn && m < 32; m++)
    name[m] = k[m] >= 0x20 && k[m] < 0x7f ? k[m] : '?';
  name[m] = 0;
  snprintf(msg, sizeof msg, "%s \"%s%s\"", what, name, kn > 32 ? "..." : "");
  return fail_at(j, at, msg);
}

static int fail_oom(jp *j) {
  return tl_err_set(j->e, TL_ENOMEM, "%s: out of memory", j->col);
}

/* Makes room for `extra` more bytes; past `limit` in all it fails with
** `what` at offset `at`. */
static int scratch_reserve(jp *j, scratch *s, size_t extra, size_t limit, const char *what,
                           size_t at) {
  if (extra <= s->cap - s->n) return TL_OK;
  if (extra > limit - s->n) return fail_at(j, at, what);
  size_t cap = s->cap * 2;
  while (cap - s->n < extra) cap *= 2;
  char *p;
  if (s->heap) {
    p = realloc(s->p, cap);
  } else if ((p = malloc(cap))) {
    memcpy(p, s->p, s->n);
  }
  if (!p) return fail_oom(j);
  s->p = p;
  s->cap = cap;
  s->heap = 1;
  return TL_OK;
}

static int str_append(jp *j, const void *p, size_t n, size_t at) {
  int rc = scratch_reserve(j, &j->str, n, STR_LIMIT, "string too long", at);
  if (rc) return rc;
  memcpy(j->str.p + j->str.n, p, n);
  j->str.n += n;
  return TL_OK;
}

static int push(jp *j, const void *item, size_t size) {
  int rc = scratch_reserve(j, &j->st, size, TL_MAX_STRING, "too many items", j->i);
  if (rc) return rc;
  memcpy(j->st.p + j->st.n, item, size);
  j->st.n += size;
  return TL_OK;
}

/* Moves the items pushed since `from` (at least one) into the batch;
** NULL when out of memory. */
static void *take(jp *j, size_t from) {
  size_t size = j->st.n - from;
  void *p = tl_batch_alloc(j->b, size);
  if (!p) {
    fail_oom(j);
    return NULL;
  }
  memcpy(p, j->st.p + from, size);
  j->st.n = from;
  return p;
}

/* The next byte after whitespace (not consumed), or -1 at the end. */
static int peek(jp *j) {
  while (j->i < j->n) {
    unsigned char c = (unsigned char)j->t[j->i];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return c;
    j->i++;
  }
  return -1;
}

static int expect(jp *j, char c, const char *what) {
  if (peek(j) != c) return fail_at(j, j->i, what);
  j->i++;
  return TL_OK;
}

/* ---- strings -------------------------------------------------------------- */

/* The 4 hex digits at t[i..i+4) as a number, or -1. */
static long hex4(const jp *j, size_t i) {
  if (i > j->n || j->n - i < 4) return -1;
  long v = 0;
  for (size_t k = i; k < i + 4; k++) {
    int c = (unsigned char)j->t[k], d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return -1;
    v = v << 4 | d;
  }
  return v;
}

/* Decodes the escape at t[*pi] (a backslash) into j->str and moves *pi
** past it. */
static int parse_escape(jp *j, size_t *pi, size_t quote) {
  size_t i = *pi;
  if (i + 1 >= j->n) return fail_at(j, quote, "unterminated string");
  char c = j->t[i + 1], one;
  switch (c) {
    case '"': case '\\': case '/': one = c; break;
    case 'b': one = '\b'; break;
    case 'f': one = '\f'; break;
    case 'n': one = '\n'; break;
    case 'r': one = '\r'; break;
    case 't': one = '\t'; break;
    case 'u': {
      long cp = hex4(j, i + 2);
      size_t end = i + 6;
      if (cp < 0) return fail_at(j, i, "invalid \\u escape");
      if (cp >= 0xDC00 && cp <= 0xDFFF) return fail_at(j, i, "lone surrogate");
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = end + 1 < j->n && j->t[end] == '\\' && j->t[end + 1] == 'u'
                      ? hex4(j, end + 2) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF) return fail_at(j, i, "lone surrogate");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        end += 6;
      }
      unsigned char u[4];
      size_t len;
      if (cp < 0x80) {
        u[0] = (unsigned char)cp, len = 1;
      } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | cp >> 6), len = 2;
      } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | cp >> 12), len = 3;
      } else {
        u[0] = (unsigned char)(0xF0 | cp >> 18), len = 4;
      }
      for (size_t k = 1; k < len; k++)
        u[k] = (unsigned char)(0x80 | ((cp >> (6 * (len - 1 - k))) & 0x3F));
      *pi = end;
      return str_append(j, u, len, i);
    }
    default: return fail_at(j, i, "invalid escape");
  }
  *pi = i + 2;
  return str_append(j, &one, 1, i);
}

/* Reads the string literal at j->i (a '"').  *s points into the text when
** the literal has no escapes, else into j->str (valid until the next
** string is read). */
static int parse_str(jp *j, const char **s, size_t *len) {
  const unsigned char *t = (const unsigned char *)j->t;
  size_t quote = j->i, i = quote + 1, seg = i, n = j->n;
  int escaped = 0, rc;
  for (;;) {
    /* The common bytes, in one tight loop. */
    while (i < n && t[i] >= 0x20 && t[i] < 0x80 && t[i] != '"' && t[i] != '\\') i++;
    if (i >= n) return fail_at(j, quote, "unterminated string");
    unsigned c = t[i];
    if (c == '"') break;
    if (c >= 0x80) {
      size_t k = tl_utf8_seq(t + i, n - i);
      if (!k) return fail_at(j, i, "invalid UTF-8");
      i += k;
    } else if (c < 0x20) {
      return fail_at(j, i, "control character in string");
    } else { /* a backslash */
      if (!escaped) j->str.n = 0;
      escaped = 1;
      if ((rc = str_append(j, t + seg, i - seg, i))) return rc;
      if ((rc = parse_escape(j, &i, quote))) return rc;
      seg = i;
    }
  }
  if (escaped) {
    if ((rc = str_append(j, t + seg, i - seg, i))) return rc;
    *s = j->str.p;
    *len = j->str.n;
  } else {
    *s = j->t + seg;
    *len = i - seg;
  }
  j->i = i + 1;
  return TL_OK;
}

/* A string literal, interned in the batch. */
static int parse_interned(jp *j, tl_str *out) {
  const char *s;
  size_t len;
  if (peek(j) != '"') return fail_at(j, j->i, "expected a string");
  size_t at = j->i;
  int rc = parse_str(j, &s, &len);
  if (rc) return rc;
  if (len > TL_MAX_STRING) return fail_at(j, at, "string too long");
  *out = tl_batch_intern(j->b, s, len);
  return out->ptr ? TL_OK : fail_oom(j);
}

/* ---- numbers -------------------------------------------------------------- */

typedef struct numtext {
  size_t start, end;
  int neg, frac; /* frac: has a '.' or an exponent */
} numtext;

static int is_digit(const jp *j, size_t i) {
  return i < j->n && j->t[i] >= '0' && j->t[i] <= '9';
}

static size_t skip_digits(const jp *j, size_t i) {
  while (is_digit(j, i)) i++;
  return i;
}

/* Checks the JSON number grammar at j->i and consumes the literal. */
static int scan_number(jp *j, numtext *nt) {
  size_t i = j->i;
  nt->start = i;
  nt->neg = i < j->n && j->t[i] == '-';
  nt->frac = 0;
  i += (size_t)nt->neg;
  if (!is_digit(j, i)) return fail_at(j, nt->start, "invalid number");
  i = j->t[i] == '0' ? i + 1 : skip_digits(j, i);
  if (i < j->n && j->t[i] == '.') {
    if (!is_digit(j, ++i)) return fail_at(j, nt->start, "invalid number");
    i = skip_digits(j, i);
    nt->frac = 1;
  }
  if (i < j->n && (j->t[i] == 'e' || j->t[i] == 'E')) {
    i++;
    if (i < j->n && (j->t[i] == '+' || j->t[i] == '-')) i++;
    if (!is_digit(j, i)) return fail_at(j, nt->start, "invalid number");
    i = skip_digits(j, i);
    nt->frac = 1;
  }
  /* "01": JSON has no leading zeros. */
  if (is_digit(j, i)) return fail_at(j, nt->start, "invalid number");
  nt->end = i;
  j->i = i;
  return TL_OK;
}

/* The magnitude of an integer literal, exactly, if it is at most limit. */
static int int_magnitude(jp *j, const numtext *nt, uint64_t limit, uint64_t *out) {
  uint64_t acc = 0;
  for (size_t k = nt->start + (size_t)nt->neg; k < nt->end; k++) {
    unsigned d = (unsigned)(j->t[k] - '0');
    if (acc > (limit - d) / 10) return fail_at(j, nt->start, "integer out of range");
    acc = acc * 10 + d;
  }
  *out = acc;
  return TL_OK;
}

static int parse_uint(jp *j, uint64_t max, uint64_t *out) {
  numtext nt;
  int c = peek(j), rc;
  if (c != '-' && (c < '0' || c > '9')) return fail_at(j, j->i, "expected an unsigned integer");
  if ((rc = scan_number(j, &nt))) return rc;
  if (nt.neg || nt.frac) return fail_at(j, nt.start, "expected an unsigned integer");
  return int_magnitude(j, &nt, max, out);
}

static int parse_u32(jp *j, uint32_t *out) {
  uint64_t v;
  int rc = parse_uint(j, UINT32_MAX, &v);
  if (!rc) *out = (uint32_t)v;
  return rc;
}

static int parse_number(jp *j, tl_value *v) {
  numtext nt;
  int rc = scan_number(j, &nt);
  if (rc) return rc;
  if (!nt.frac) {
    uint64_t mag;
    if ((rc = int_magnitude(j, &nt, nt.neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX, &mag)))
      return rc;
    v->type = TL_V_INT;
    v->u.i = !nt.neg ? (int64_t)mag : mag > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)mag;
    return TL_OK;
  }
  size_t len = nt.end - nt.start;
  if (len >= NUM_MAX) return fail_at(j, nt.start, "number too long");
  double d;
  if (tl_parse_double(j->t + nt.start, len, &d)) return fail_at(j, nt.start, "invalid number");
  if (isinf(d)) return fail_at(j, nt.start, "number out of range");
  v->type = TL_V_DOUBLE;
  v->u.d = d;
  return TL_OK;
}

/* ---- attribute values ----------------------------------------------------- */

static int parse_value(jp *j, tl_value *v, int depth);

/* An attribute object {"key":value,...} at j->i whose values have the
** given depth; duplicate keys are kept in order. */
static int parse_kvs(jp *j, int depth, tl_kv **items, uint32_t *count) {
  size_t from = j->st.n;
  int rc, c;
  if ((rc = expect(j, '{', "expected '{'"))) return rc;
  if (peek(j) == '}') {
    j->i++;
    *items = NULL;
    *count = 0;
    return TL_OK;
  }
  for (;;) {
    tl_kv kv;
    if (peek(j) != '"') return fail_at(j, j->i, "expected '\"'");
    if ((rc = parse_interned(j, &kv.key))) return rc;
    if ((rc = expect(j, ':', "expected ':'"))) return rc;
    if ((rc = parse_value(j, &kv.value, depth))) return rc;
    if ((rc = push(j, &kv, sizeof kv))) return rc;
    if ((c = peek(j)) == '}') break;
    if (c != ',') return fail_at(j, j->i, "expected ',' or '}'");
    j->i++;
  }
  j->i++;
  *count = (uint32_t)((j->st.n - from) / sizeof(tl_kv));
  return (*items = take(j, from)) ? TL_OK : TL_ENOMEM;
}

static int parse_array(jp *j, tl_value *v, int depth) {
  size_t from = j->st.n;
  int rc, c;
  j->i++; /* '[' */
  v->type = TL_V_ARRAY;
  if (peek(j) == ']') {
    j->i++;
    return TL_OK;
  }
  for (;;) {
    tl_value item;
    if ((rc = parse_value(j, &item, depth + 1))) return rc;
    if ((rc = push(j, &item, sizeof item))) return rc;
    if ((c = peek(j)) == ']') break;
    if (c != ',') return fail_at(j, j->i, "expected ',' or ']'");
    j->i++;
  }
  j->i++;
  v->u.arr.n = (uint32_t)((j->st.n - from) / sizeof(tl_value));
  return (v->u.arr.items = take(j, from)) ? TL_OK : TL_ENOMEM;
}

/* The index of name k[0..kn) in a NULL-terminated list, or -1. */
static int lookup(const char *const *names, const char *k, size_t kn) {
  for (int i = 0; names[i]; i++)
    if (strlen(names[i]) == kn && memcmp(names[i], k, kn) == 0) return i;
  return -1;
}

/* Reads `"name":` at j->i and returns the name's index in names. */
static int parse_member_name(jp *j, const char *const *names, const char *what, int *idx) {
  const char *k;
  size_t kn, at;
  int rc;
  if (peek(j) != '"') return fail_at(j, j->i, "expected '\"'");
  at = j->i;
  if ((rc = parse_str(j, &k, &kn))) return rc;
  if ((*idx = lookup(names, k, kn)) < 0) return fail_name(j, at, what, k, kn);
  return expect(j, ':', "expected ':'");
}

enum { W_BYTES, W_KVLIST, W_DOUBLE };
static const char *const wrapper_names[] = {"bytesValue", "kvlistValue", "doubleValue", NULL};

static int parse_bytes(jp *j, tl_value *v) {
  const char *s;
  size_t len, at;
  int rc;
  if (peek(j) != '"') return fail_at(j, j->i, "expected a string");
  at = j->i;
  if ((rc = parse_str(j, &s, &len))) return rc;
  size_t cap = tl_base64_max(len);
  if (cap > TL_MAX_STRING + (size_t)3) return fail_at(j, at, "bytes value too long");
  char *p = tl_batch_alloc(j->b, cap + 1);
  if (!p) return fail_oom(j);
  long got = tl_base64_decode(s, len, (uint8_t *)p, cap);
  if (got < 0) return fail_at(j, at, "invalid base64");
  if ((size_t)got > TL_MAX_STRING) return fail_at(j, at, "bytes value too long");
  v->type = TL_V_BYTES;
  v->u.s.ptr = p;
  v->u.s.len = (uint32_t)got;
  return TL_OK;
}

static int parse_special_double(jp *j, tl_value *v) {
  static const char *const names[] = {"NaN", "Infinity", "-Infinity", NULL};
  const char *s;
  size_t len, at;
  int rc, which;
  if (peek(j) != '"') return fail_at(j, j->i, "expected \"NaN\", \"Infinity\" or \"-Infinity\"");
  at = j->i;
  if ((rc = parse_str(j, &s, &len))) return rc;
  if ((which = lookup(names, s, len)) < 0)
    return fail_at(j, at, "expected \"NaN\", \"Infinity\" or \"-Infinity\"");
  v->type = TL_V_DOUBLE;
  v->u.d = which == 0 ? NAN : which == 1 ? INFINITY : -INFINITY;
  return TL_OK;
}

/* {"bytesValue":..} / {"kvlistValue":..} / {"doubleValue":..} at j->i. */
static int parse_wrapper(jp *j, tl_value *v, int depth) {
  int rc, idx;
  j->i++; /* '{' */
  if ((rc = parse_member_name(j, wrapper_names, "unknown value object", &idx))) return rc;
  switch (idx) {
    case W_BYTES: rc = parse_bytes(j, v); break;
    case W_KVLIST:
      v->type = TL_V_KVLIST;
      rc = parse_kvs(j, depth + 1, &v->u.kv.items, &v->u.kv.n);
      break;
    default: rc = parse_special_double(j, v); break;
  }
  return rc ? rc : expect(j, '}', "expected '}'");
}

static int parse_literal(jp *j, const char *word, size_t len) {
  if (j->n - j->i < len || memcmp(j->t + j->i, word, len) != 0)
    return fail_at(j, j->i, "expected a value");
  j->i += len;
  return TL_OK;
}

/* depth: how many arrays and kvlists hold v. */
static int parse_value(jp *j, tl_value *v, int depth) {
  int c = peek(j);
  memset(v, 0, sizeof *v);
  if (depth > TL_MAX_DEPTH) return fail_at(j, j->i, "values nested too deep");
  switch (c) {
    case '"': v->type = TL_V_STRING; return parse_interned(j, &v->u.s);
    case '[': return parse_array(j, v, depth);
    case '{': return parse_wrapper(j, v, depth);
    case 't': v->type = TL_V_BOOL; v->u.b = 1; return parse_literal(j, "true", 4);
    case 'f': v->type = TL_V_BOOL; return parse_literal(j, "false", 5);
    case 'n': v->type = TL_V_EMPTY; return parse_literal(j, "null", 4);
    default:
      if (c == '-' || (c >= '0' && c <= '9')) return parse_number(j, v);
      return fail_at(j, j->i, "expected a value");
  }
}

/* ---- the fixed objects ------------------------------------------------------ */

/* Parses member number idx of a fixed object into obj. */
typedef int (*member_fn)(jp *j, void *obj, int idx);

/* An object whose members are named in names (each at most once, any
** order). */
static int parse_members(jp *j, const char *const *names, member_fn fn, void *obj) {
  unsigned seen = 0;
  int rc, c, idx;
  if ((rc = expect(j, '{', "expected '{'"))) return rc;
  if (peek(j) == '}') {
    j->i++;
    return TL_OK;
  }
  for (;;) {
    peek(j);
    size_t at = j->i;
    if ((rc = parse_member_name(j, names, "unknown member", &idx))) return rc;
    if (seen & 1u << idx) return fail_name(j, at, "duplicate member", names[idx], strlen(names[idx]));
    seen |= 1u << idx;
    if ((rc = fn(j, obj, idx))) return rc;
    if ((c = peek(j)) == '}') break;
    if (c != ',') return fail_at(j, j->i, "expected ',' or '}'");
    j->i++;
  }
  j->i++;
  return TL_OK;
}

/* An array of fixed objects; elem (size bytes) is the parser's working
** copy of one element. */
static int parse_object_list(jp *j, const char *const *names, member_fn fn, void *elem,
                             size_t size, void **items, uint32_t *count) {
  size_t from = j->st.n;
  int rc, c;
  *items = NULL;
  *count = 0;
  if ((rc = expect(j, '[', "expected '['"))) return rc;
  if (peek(j) == ']') {
    j->i++;
    return TL_OK;
  }
  for (;;) {
    memset(elem, 0, size);
    if ((rc = parse_members(j, names, fn, elem))) return rc;
    if ((rc = push(j, elem, size))) return rc;
    if ((c = peek(j)) == ']') break;
    if (c != ',') return fail_at(j, j->i, "expected ',' or ']'");
    j->i++;
  }
  j->i++;
  *count = (uint32_t)((j->st.n - from) / size);
  return (*items = take(j, from)) ? TL_OK : TL_ENOMEM;
}

static int parse_attrs_member(jp *j, tl_attrs *a) {
  return parse_kvs(j, 0, &a->items, &a->n);
}

static int parse_id(jp *j, uint8_t *out, size_t n) {
  const char *s;
  size_t len, at;
  int rc;
  if (peek(j) != '"') return fail_at(j, j->i, "expected a string");
  at = j->i;
  if ((rc = parse_str(j, &s, &len))) return rc;
  if (len == 0) return TL_OK; /* the all-zero id, as the element starts */
  if (len != 2 * n || tl_hex_decode(s, len, out, n) != (long)n)
    return fail_at(j, at, n == 16 ? "expected 32 hex digits" : "expected 16 hex digits");
  return TL_OK;
}

static const char *const resource_names[] = {"attributes", "droppedAttributesCount",
                                              "schemaUrl", NULL};

static int resource_member(jp *j, void *obj, int idx) {
  tl_resource *r = obj;
  switch (idx) {
    case 0: return parse_attrs_member(j, &r->attrs);
    case 1: return parse_u32(j, &r->attrs.dropped);
    default: return parse_interned(j, &r->schema_url);
  }
}

static const char *const scope_names[] = {"name", "version", "attributes",
                                          "droppedAttributesCount", "schemaUrl", NULL};

static int scope_member(jp *j, void *obj, int idx) {
  tl_scope *s = obj;
  switch (idx) {
    case 0: return parse_interned(j, &s->name);
    case 1: return parse_interned(j, &s->version);
    case 2: return parse_attrs_member(j, &s->attrs);
    case 3: return parse_u32(j, &s->attrs.dropped);
    default: return parse_interned(j, &s->schema_url);
  }
}

static const char *const event_names[] = {"timeUnixNano", "name", "attributes",
                                          "droppedAttributesCount", NULL};

static int event_member(jp *j, void *obj, int idx) {
  tl_event *ev = obj;
  switch (idx) {
    case 0: return parse_uint(j, UINT64_MAX, &ev->time_ns);
    case 1: return parse_interned(j, &ev->name);
    case 2: return parse_attrs_member(j, &ev->attrs);
    default: return parse_u32(j, &ev->attrs.dropped);
  }
}

static const char *const link_names[] = {"traceId", "spanId", "traceState", "flags",
                                         "attributes", "droppedAttributesCount", NULL};

static int link_member(jp *j, void *obj, int idx) {
  tl_link *ln = obj;
  switch (idx) {
    case 0: return parse_id(j, ln->trace_id, sizeof ln->trace_id);
    case 1: return parse_id(j, ln->span_id, sizeof ln->span_id);
    case 2: return parse_interned(j, &ln->trace_state);
    case 3: return parse_u32(j, &ln->flags);
    case 4: return parse_attrs_member(j, &ln->attrs);
    default: return parse_u32(j, &ln->attrs.dropped);
  }
}

typedef struct dropped_counts {
  uint32_t attrs, events, links;
} dropped_counts;

static const char *const dropped_names[] = {"attributes", "events", "links", NULL};

static int dropped_member(jp *j, void *obj, int idx) {
  dropped_counts *d = obj;
  return parse_u32(j, idx == 0 ? &d->attrs : idx == 1 ? &d->events : &d->links);
}

/* ---- the column parsers ----------------------------------------------------- */

/* Ends a parse: only whitespace may follow the value. */
static int jp_finish(jp *j, int rc) {
  if (!rc && peek(j) >= 0) rc = fail_at(j, j->i, "expected end of text");
  jp_free(j);
  return rc;
}

static int null_text(const char *text, size_t n, const char *col, tl_err *e) {
  if (!text && n) return tl_err_set(e, TL_EMISUSE, "%s: NULL text of length %zu", col, n);
  return TL_OK;
}

int tl_parse_attrs(tl_batch *b, const char *text, size_t n, tl_attrs *out, tl_err *e) {
  int rc = null_text(text, n, "attributes", e);
  tl_kv *items = NULL;
  uint32_t count = 0;
  if (!rc && n) {
    jp j;
    jp_init(&j, b, text, n, "attributes", e);
    rc = jp_finish(&j, parse_kvs(&j, 0, &items, &count));
  }
  if (!rc) {
    out->items = items;
    out->n = count;
  }
  return rc;
}

/* Allocates a zeroed object of `size` bytes in b and fills it from the
** fixed object in text (left zero for a NULL column). */
static int parse_fixed(tl_batch *b, const char *text, size_t n, const char *col,
                       const char *const *names, member_fn fn, size_t size, void **out,
                       tl_err *e) {
  int rc = null_text(text, n, col, e);
  if (rc) return rc;
  void *obj = tl_batch_alloc(b, size);
  if (!obj) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", col);
  if (n) {
    jp j;
    jp_init(&j, b, text, n, col, e);
    if ((rc = jp_finish(&j, parse_members(&j, names, fn, obj)))) return rc;
  }
  *out = obj;
  return TL_OK;
}

int tl_parse_resource(tl_batch *b, const char *text, size_t n, tl_resource **out, tl_err *e) {
  void *r;
  int rc = parse_fixed(b, text, n, "resource", resource_names, resource_member,
                       sizeof(tl_resource), &r, e);
  if (rc) return rc;
  tl_resource_set_service(r);
  *out = r;
  return TL_OK;
}

int tl_parse_scope(tl_batch *b, const char *text, size_t n, tl_scope **out, tl_err *e) {
  void *s;
  int rc = parse_fixed(b, text, n, "scope", scope_names, scope_member, sizeof(tl_scope), &s, e);
  if (!rc) *out = s;
  return rc;
}

/* Parses a list column into *items / *count of s. */
static int parse_list_column(tl_batch *b, const char *text, size_t n, const char *col,
                             const char *const *names, member_fn fn, void *elem,
                             size_t size, void **items, uint32_t *count, tl_err *e) {
  int rc = null_text(text, n, col, e);
  void *got = NULL;
  uint32_t k = 0;
  if (!rc && n) {
    jp j;
    jp_init(&j, b, text, n, col, e);
    rc = jp_finish(&j, parse_object_list(&j, names, fn, elem, size, &got, &k));
  }
  if (!rc) {
    *items = got;
    *count = k;
  }
  return rc;
}

int tl_parse_events(tl_batch *b, const char *text, size_t n, tl_span *s, tl_err *e) {
  tl_event ev;
  void *items;
  int rc = parse_list_column(b, text, n, "events", event_names, event_member, &ev, sizeof ev,
                             &items, &s->n_events, e);
  if (!rc) s->events = items;
  return rc;
}

int tl_parse_links(tl_batch *b, const char *text, size_t n, tl_span *s, tl_err *e) {
  tl_link ln;
  void *items;
  int rc = parse_list_column(b, text, n, "links", link_names, link_member, &ln, sizeof ln,
                             &items, &s->n_links, e);
  if (!rc) s->links = items;
  return rc;
}

int tl_parse_dropped(const char *text, size_t n, tl_span *s, tl_err *e) {
  dropped_counts d = {0, 0, 0};
  int rc = null_text(text, n, "dropped", e);
  if (!rc && n) {
    jp j;
    jp_init(&j, NULL, text, n, "dropped", e);
    rc = jp_finish(&j, parse_members(&j, dropped_names, dropped_member, &d));
  }
  if (rc) return rc;
  s->attrs.dropped = d.attrs;
  s->dropped_events = d.events;
  s->dropped_links = d.links;
  return TL_OK;
}
