/*
** otlp_read.c — the OTLP JSON importer (tl_otlp_reader of reader.h).
**
** Input, in any of these shapes (docs/formats-in/otlp.md is the manual):
**   - an ExportTraceServiceRequest document {"resourceSpans":[...]}, pretty
**     or not, or several such documents one after another (`jq .` output);
**   - NDJSON, one request per line: the collector's file exporter, and the
**     canonical lines of otlp_write.c;
**   - Jaeger API v3 {"result":{"resourceSpans":...}} (one per line when
**     streamed), and Tempo's {"batches":[...]} with the pre-1.0
**     "instrumentationLibrarySpans" / "instrumentationLibrary" keys;
**   - snake_case proto field names (resource_spans, trace_id, ...)
**     wherever the camelCase name is accepted.
** Ids are hex (32 / 16 digits) or base64 (of 16 / 8 bytes), told apart by
** length; kind and status code are integers or enum names; 64-bit integers
** are JSON numbers or decimal strings.  Unknown members are skipped and
** JSON null counts as absent, as proto3 JSON has it; status.deprecatedCode
** (pre-1.0) is ignored.  When a field is given under two names, the
** camelCase name wins, then the snake_case one, then the pre-1.0 one.
**
** NDJSON or document?  The first line that is not blank decides: when it
** is one complete JSON object the input is NDJSON and is streamed with
** tl_input_line, so memory is bounded by the longest line; otherwise the
** whole text is read (tl_input_whole) and parsed one top-level object at
** a time.  The first line is looked at with tl_input_peek, so nothing is
** consumed or copied to decide.
**
** Why not jansson: parsing a 1 KB canonical line with json_loadb alone runs
** at about 60,000 lines/s (a malloc per value, a hash table per object),
** under the 50,000 spans/s budget of the whole import.  The parser below
** builds a flat array of nodes in document order instead ("tape": each
** container knows where its subtree ends, so a member is skipped in O(1)),
** keeps strings in the text unless they hold escapes, and reuses its arrays
** from line to line, so the steady state allocates nothing but batch
** memory.  It is strict RFC 8259 (UTF-8 checked, lone surrogates refused,
** nesting limited to JSON_MAX_DEPTH) and iterative.
**
** One request may hold more spans than a next() call may return, so the
** position inside it (resource, scope and span indices) is kept between
** calls; the resource and scope are built again in each batch that needs
** them, and never referenced across calls.  Within one call consecutive
** spans whose resource (or scope) has the same JSON text share one
** tl_resource (tl_scope), which is what NDJSON's repeated resources need.
**
** Errors name the file, the line, and the path of the offending value:
**   "dump.json: line 12: resourceSpans[0].scopeSpans[0].spans[3].traceId:
**    expected 32 hex digits or base64 of 16 bytes"
** They are sticky, and spans of the request being read are taken back out
** of the batch.
*/
#include "reader.h"
#include "../common/buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* JSON nesting the parser accepts.  OTLP needs about 4 levels per nested
** AnyValue, so TL_MAX_DEPTH values fit with room to spare. */
#define JSON_MAX_DEPTH 512
/* How far the first line is looked for before deciding "document". */
#define PEEK_FIRST (64u * 1024u)
/* The longest number accepted where a double is expected. */
#define MAX_NUMBER_TEXT 500

/* ==== JSON tape =========================================================== */

enum { J_NULL, J_FALSE, J_TRUE, J_INT, J_REAL, J_STR, J_ARR, J_OBJ };

typedef struct jnode {
  uint32_t src;  /* offset of the token in the text */
  uint32_t len;  /* J_STR: decoded byte length; J_INT, J_REAL: token length;
                 ** J_ARR, J_OBJ: number of values (members) */
  uint32_t x;    /* J_STR with escapes: offset of the decoded bytes in
                 ** scratch; J_ARR, J_OBJ: index of the node after the subtree */
  uint8_t type;
  uint8_t esc;   /* J_STR: decoded bytes are in scratch, not in the text */
} jnode;

/* A parsed object.  Node 0 is the object itself; an object's members are
** key (J_STR), value pairs. */
typedef struct jdoc {
  const char *text;
  size_t end;          /* offset just past the parsed object */
  jnode *nodes;
  uint32_t n, cap;
  tl_buf scratch;      /* strings that held escapes, decoded */
  size_t err_off;      /* a syntax error: where, and what */
  const char *err;
  uint32_t stack[JSON_MAX_DEPTH];
} jdoc;

static int syntax(jdoc *d, size_t off, const char *what) {
  d->err_off = off;
  d->err = what;
  return TL_EFORMAT;
}

static uint32_t jnext(const jdoc *d, uint32_t i) {
  return d->nodes[i].type >= J_ARR ? d->nodes[i].x : i + 1;
}

static const char *jstr(const jdoc *d, const jnode *nd) {
  return nd->esc ? d->scratch.p + nd->x : d->text + nd->src + 1;
}

#define NO_NODE UINT32_MAX

/* Appends a node and returns its index, or NO_NODE when out of memory
** (the text is shorter than 4 GB and every node takes a byte of it, so
** NO_NODE is never a real index). */
static uint32_t add_node(jdoc *d, int type, size_t src) {
  if (d->n == d->cap) {
    if (d->cap > UINT32_MAX / 4) return NO_NODE;
    uint32_t cap = d->cap ? d->cap * 2 : 256;
    jnode *nn = realloc(d->nodes, (size_t)cap * sizeof *nn);
    if (!nn) return NO_NODE;
    d->nodes = nn;
    d->cap = cap;
  }
  jnode *nd = &d->nodes[d->n];
  nd->src = (uint32_t)src;
  nd->len = 0;
  nd->x = 0;
  nd->type = (uint8_t)type;
  nd->esc = 0;
  return d->n++;
}

static int is_ws(unsigned c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

static size_t skip_ws(const unsigned char *t, size_t len, size_t i) {
  while (i < len && is_ws(t[i])) i++;
  return i;
}

static int is_digit(unsigned c) { return c >= '0' && c <= '9'; }

static int hex4(const unsigned char *t, size_t len, size_t i, unsigned *out) {
  if (i + 4 > len) return -1;
  unsigned v = 0;
  for (size_t k = 0; k < 4; k++) {
    unsigned c = t[i + k], h;
    if (c >= '0' && c <= '9') h = c - '0';
    else if (c >= 'a' && c <= 'f') h = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') h = c - 'A' + 10;
    else return -1;
    v = v << 4 | h;
  }
  *out = v;
  return 0;
}

static void put_utf8(tl_buf *b, unsigned cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) u[0] = (char)cp, n = 1;
  else if (cp < 0x800) u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
  else if (cp < 0x10000)
    u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
    u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
  else
    u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
  tl_buf_append(b, u, n);
}

/* The rest of a string from its first backslash at i, decoded into scratch. */
static int parse_escaped(jdoc *d, const unsigned char *t, size_t len, size_t *pi,
                         uint32_t k, size_t start, size_t i) {
  tl_buf *s = &d->scratch;
  size_t from = s->n;
  tl_buf_append(s, t + start, i - start);
  for (;;) {
    if (i >= len) return syntax(d, *pi, "unterminated string");
    unsigned c = t[i];
    if (c == '"') break;
    if (c < 0x20) return syntax(d, i, "control character in a string");
    if (c >= 0x80) {
      size_t n = tl_utf8_seq(t + i, len - i);
      if (!n) return syntax(d, i, "invalid UTF-8 in a string");
      tl_buf_append(s, t + i, n);
      i += n;
      continue;
    }
    if (c != '\\') {
      tl_buf_putc(s, (char)c);
      i++;
      continue;
    }
    if (i + 1 >= len) return syntax(d, *pi, "unterminated string");
    char out;
    switch (t[i + 1]) {
      case '"': out = '"'; break;
      case '\\': out = '\\'; break;
      case '/': out = '/'; break;
      case 'b': out = '\b'; break;
      case 'f': out = '\f'; break;
      case 'n': out = '\n'; break;
      case 'r': out = '\r'; break;
      case 't': out = '\t'; break;
      case 'u': {
        unsigned cp, lo;
        if (hex4(t, len, i + 2, &cp)) return syntax(d, i, "invalid \\u escape");
        i += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
          return syntax(d, i - 6, "invalid \\u escape (unpaired surrogate)");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (i + 1 >= len || t[i] != '\\' || t[i + 1] != 'u' || hex4(t, len, i + 2, &lo) ||
              lo < 0xDC00 || lo > 0xDFFF)
            return syntax(d, i - 6, "invalid \\u escape (unpaired surrogate)");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        }
        put_utf8(s, cp);
        continue;
      }
      default: return syntax(d, i, "invalid escape in a string");
    }
    tl_buf_putc(s, out);
    i += 2;
  }
  if (s->oom) return TL_ENOMEM;
  d->nodes[k].esc = 1;
  d->nodes[k].x = (uint32_t)from;
  d->nodes[k].len = (uint32_t)(s->n - from);
  *pi = i + 1;
  return TL_OK;
}

static int parse_string(jdoc *d, const unsigned char *t, size_t len, size_t *pi) {
  size_t i = *pi + 1, start = i;
  uint32_t k = add_node(d, J_STR, *pi);
  if (k == NO_NODE) return TL_ENOMEM;
  for (;;) {
    if (i >= len) return syntax(d, *pi, "unterminated string");
    unsigned c = t[i];
    if (c == '"') break;
    if (c == '\\') return parse_escaped(d, t, len, pi, k, start, i);
    if (c < 0x20) return syntax(d, i, "control character in a string");
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n = tl_utf8_seq(t + i, len - i);
    if (!n) return syntax(d, i, "invalid UTF-8 in a string");
    i += n;
  }
  d->nodes[k].len = (uint32_t)(i - start);
  *pi = i + 1;
  return TL_OK;
}

/* The end of the JSON number starting at t[i], or 0 if there is none
** there; *type is J_INT or J_REAL (a fraction or an exponent). */
static size_t number_end(const unsigned char *t, size_t len, size_t i, int *type) {
  *type = J_INT;
  if (i < len && t[i] == '-') i++;
  if (i < len && t[i] == '0') {
    i++;
  } else if (i < len && t[i] >= '1' && t[i] <= '9') {
    while (i < len && is_digit(t[i])) i++;
  } else {
    return 0;
  }
  if (i < len && t[i] == '.') {
    *type = J_REAL;
    if (++i >= len || !is_digit(t[i])) return 0;
    while (i < len && is_digit(t[i])) i++;
  }
  if (i < len && (t[i] == 'e' || t[i] == 'E')) {
    *type = J_REAL;
    if (++i < len && (t[i] == '+' || t[i] == '-')) i++;
    if (i >= len || !is_digit(t[i])) return 0;
    while (i < len && is_digit(t[i])) i++;
  }
  return i;
}

static int parse_number(jdoc *d, const unsigned char *t, size_t len, size_t *pi) {
  int type;
  size_t end = number_end(t, len, *pi, &type);
  if (!end) return syntax(d, *pi, "invalid number");
  uint32_t k = add_node(d, type, *pi);
  if (k == NO_NODE) return TL_ENOMEM;
  d->nodes[k].len = (uint32_t)(end - *pi);
  *pi = end;
  return TL_OK;
}

static int parse_scalar(jdoc *d, const unsigned char *t, size_t len, size_t *pi) {
  size_t i = *pi;
  unsigned c = t[i];
  if (c == '"') return parse_string(d, t, len, pi);
  if (c == '-' || is_digit(c)) return parse_number(d, t, len, pi);
  static const struct { const char *word; size_t n; int type; } lits[] = {
      {"true", 4, J_TRUE}, {"false", 5, J_FALSE}, {"null", 4, J_NULL}};
  for (size_t l = 0; l < 3; l++) {
    if (c == (unsigned char)lits[l].word[0]) {
      if (len - i < lits[l].n || memcmp(t + i, lits[l].word, lits[l].n) != 0) break;
      if (add_node(d, lits[l].type, i) == NO_NODE) return TL_ENOMEM;
      *pi = i + lits[l].n;
      return TL_OK;
    }
  }
  return syntax(d, i, "unexpected character");
}

/* A member name and its ':' at *pi (whitespace before it skipped). */
static int parse_key(jdoc *d, const unsigned char *t, size_t len, size_t *pi) {
  size_t i = skip_ws(t, len, *pi);
  if (i >= len) return syntax(d, i, "unexpected end of input");
  if (t[i] != '"') return syntax(d, i, "expected a member name in double quotes");
  int rc = parse_string(d, t, len, &i);
  if (rc) return rc;
  i = skip_ws(t, len, i);
  if (i >= len) return syntax(d, i, "unexpected end of input");
  if (t[i] != ':') return syntax(d, i, "expected ':'");
  *pi = i + 1;
  return TL_OK;
}

/* Parses the JSON object at text[start] (no whitespace before it) into d;
** d->end is set past it.  TL_EFORMAT with d->err set on a syntax error. */
static int jparse(jdoc *d, const char *text, size_t len, size_t start) {
  const unsigned char *t = (const unsigned char *)text;
  uint32_t depth = 0;
  size_t i = start;
  int rc;
  d->text = text;
  d->n = 0;
  d->err = NULL;
  tl_buf_reset(&d->scratch);
  if (len > UINT32_MAX) return syntax(d, 0, "text longer than 4 GB");
  if (i >= len || t[i] != '{') return syntax(d, i, "expected '{' (an OTLP JSON object)");
  for (;;) {
    /* A value starts at i. */
    i = skip_ws(t, len, i);
    if (i >= len) return syntax(d, i, "unexpected end of input");
    unsigned c = t[i];
    if (c == '{' || c == '[') {
      if (depth == JSON_MAX_DEPTH) return syntax(d, i, "nesting deeper than 512 levels");
      uint32_t k = add_node(d, c == '{' ? J_OBJ : J_ARR, i);
      if (k == NO_NODE) return TL_ENOMEM;
      d->stack[depth++] = k;
      i = skip_ws(t, len, i + 1);
      if (i < len && t[i] == (c == '{' ? '}' : ']')) {
        d->nodes[d->stack[--depth]].x = d->n;
        i++;
      } else {
        if (c == '{' && (rc = parse_key(d, t, len, &i))) return rc;
        continue;
      }
    } else if ((rc = parse_scalar(d, t, len, &i))) {
      return rc;
    }
    /* A value just ended: count it, then close containers or move on to
    ** the next member / element. */
    for (;;) {
      if (depth == 0) {
        d->end = i;
        return TL_OK;
      }
      jnode *p = &d->nodes[d->stack[depth - 1]];
      int obj = p->type == J_OBJ;
      p->len++;
      i = skip_ws(t, len, i);
      if (i >= len) return syntax(d, i, "unexpected end of input");
      if (t[i] == ',') {
        i++;
        if (obj && (rc = parse_key(d, t, len, &i))) return rc;
        break;
      }
      if (t[i] != (obj ? '}' : ']'))
        return syntax(d, i, obj ? "expected ',' or '}'" : "expected ',' or ']'");
      p->x = d->n;
      depth--;
      i++;
    }
  }
}

/* ==== reader state ====================================================== */

/* Where a value is, for messages: a chain of frames on the C stack, from
** the value up to the request, formatted only when something fails. */
typedef struct jpath {
  const struct jpath *up;
  const char *key; /* a member name, or NULL for an array index */
  uint32_t index;
} jpath;

/* A cache of one built resource or scope, keyed by the JSON text it was
** built from; valid for one next() call (one batch). */
typedef struct built {
  tl_buf key;
  size_t raw_len; /* key = object text (raw_len bytes), then schema URL */
  const void *val;
} built;

typedef struct otlp_state {
  tl_input *in;
  const char *name;
  int ndjson;            /* one request per line, else the whole text */
  int done;              /* no more requests */
  const char *whole;     /* document mode: the text, and where the next */
  size_t whole_len, whole_pos; /* top-level object may start */
  uint64_t line0;        /* line number of the first byte of d.text */

  jdoc d;                /* the request being read */
  int have_doc;
  /* Its span lists: a ResourceSpans array, one ScopeSpans array inside the
  ** current ResourceSpans, one spans array inside the current ScopeSpans.
  ** *_next is the node of the next element, *_left how many remain, *_i
  ** the index of the current (last entered) element; the keys are the
  ** member names as found, for messages. */
  const char *wrap_key, *rs_key, *ss_key, *sc_key, *res_schema_key, *sc_schema_key;
  uint32_t rs_next, rs_left, rs_i;
  uint32_t ss_next, ss_left, ss_i;
  uint32_t sp_next, sp_left, sp_i;
  uint32_t res_node, res_schema;  /* of the current ResourceSpans (0 = none) */
  uint32_t sc_node, sc_schema;    /* of the current ScopeSpans */

  const tl_resource *res;  /* built in the current batch, or NULL */
  const tl_scope *sc;
  built res_cache, sc_cache;

  int rc;                  /* sticky error */
  char msg[sizeof(((tl_err *)0)->msg)];
} otlp_state;

/* Field tables: the names an object's members may have.  The first nf
** entries are the primary (camelCase) names in field order; aliases follow
** in order of precedence, and the earliest entry present wins. */
typedef struct fname {
  const char *name;
  uint8_t len;
  uint8_t field;
} fname;
#define FN(s, f) {s, sizeof(s) - 1, f}
#define NTAB(t) (sizeof(t) / sizeof(t)[0])
#define MAX_FIELDS 16

enum { R_RS, R_RESULT, R_ERROR, R_N };
static const fname root_names[] = {FN("resourceSpans", R_RS), FN("result", R_RESULT),
                                   FN("error", R_ERROR), FN("resource_spans", R_RS),
                                   FN("batches", R_RS)};

enum { RS_RESOURCE, RS_SCOPE_SPANS, RS_SCHEMA, RS_N };
static const fname rs_names[] = {
    FN("resource", RS_RESOURCE), FN("scopeSpans", RS_SCOPE_SPANS), FN("schemaUrl", RS_SCHEMA),
    FN("scope_spans", RS_SCOPE_SPANS), FN("instrumentationLibrarySpans", RS_SCOPE_SPANS),
    FN("instrumentation_library_spans", RS_SCOPE_SPANS), FN("schema_url", RS_SCHEMA)};

enum { SS_SCOPE, SS_SPANS, SS_SCHEMA, SS_N };
static const fname ss_names[] = {
    FN("scope", SS_SCOPE), FN("spans", SS_SPANS), FN("schemaUrl", SS_SCHEMA),
    FN("instrumentationLibrary", SS_SCOPE), FN("instrumentation_library", SS_SCOPE),
    FN("schema_url", SS_SCHEMA)};

/* Resource: attributes and dropped count (fields shared with every table
** below that has them, so read_attrs can take either). */
enum { A_ATTRS, A_DROPPED, A_N };
static const fname res_names[] = {FN("attributes", A_ATTRS),
                                  FN("droppedAttributesCount", A_DROPPED),
                                  FN("dropped_attributes_count", A_DROPPED)};

enum { SC_ATTRS, SC_DROPPED, SC_NAME, SC_VERSION, SC_N };
static const fname scope_names[] = {
    FN("attributes", SC_ATTRS), FN("droppedAttributesCount", SC_DROPPED),
    FN("name", SC_NAME), FN("version", SC_VERSION),
    FN("dropped_attributes_count", SC_DROPPED)};

enum {
  SP_ATTRS, SP_DROPPED, SP_TRACE_ID, SP_SPAN_ID, SP_TRACE_STATE, SP_PARENT, SP_FLAGS,
  SP_NAME, SP_KIND, SP_START, SP_END, SP_EVENTS, SP_DROPPED_EVENTS, SP_LINKS,
  SP_DROPPED_LINKS, SP_STATUS, SP_N
};
static const fname span_names[] = {
    FN("attributes", SP_ATTRS), FN("droppedAttributesCount", SP_DROPPED),
    FN("traceId", SP_TRACE_ID), FN("spanId", SP_SPAN_ID), FN("traceState", SP_TRACE_STATE),
    FN("parentSpanId", SP_PARENT), FN("flags", SP_FLAGS), FN("name", SP_NAME),
    FN("kind", SP_KIND), FN("startTimeUnixNano", SP_START), FN("endTimeUnixNano", SP_END),
    FN("events", SP_EVENTS), FN("droppedEventsCount", SP_DROPPED_EVENTS),
    FN("links", SP_LINKS), FN("droppedLinksCount", SP_DROPPED_LINKS),
    FN("status", SP_STATUS),
    FN("dropped_attributes_count", SP_DROPPED), FN("trace_id", SP_TRACE_ID),
    FN("span_id", SP_SPAN_ID), FN("trace_state", SP_TRACE_STATE),
    FN("parent_span_id", SP_PARENT), FN("start_time_unix_nano", SP_START),
    FN("end_time_unix_nano", SP_END), FN("dropped_events_count", SP_DROPPED_EVENTS),
    FN("dropped_links_count", SP_DROPPED_LINKS)};

enum { EV_ATTRS, EV_DROPPED, EV_TIME, EV_NAME, EV_N };
static const fname event_names[] = {
    FN("attributes", EV_ATTRS), FN("droppedAttributesCount", EV_DROPPED),
    FN("timeUnixNano", EV_TIME), FN("name", EV_NAME),
    FN("dropped_attributes_count", EV_DROPPED), FN("time_unix_nano", EV_TIME)};

enum { LK_ATTRS, LK_DROPPED, LK_TRACE_ID, LK_SPAN_ID, LK_TRACE_STATE, LK_FLAGS, LK_N };
static const fname link_names[] = {
    FN("attributes", LK_ATTRS), FN("droppedAttributesCount", LK_DROPPED),
    FN("traceId", LK_TRACE_ID), FN("spanId", LK_SPAN_ID), FN("traceState", LK_TRACE_STATE),
    FN("flags", LK_FLAGS),
    FN("dropped_attributes_count", LK_DROPPED), FN("trace_id", LK_TRACE_ID),
    FN("span_id", LK_SPAN_ID), FN("trace_state", LK_TRACE_STATE)};

enum { ST_MESSAGE, ST_CODE, ST_N };
static const fname status_names[] = {FN("message", ST_MESSAGE), FN("code", ST_CODE)};

enum { KV_KEY, KV_VALUE, KV_N };
static const fname kv_names[] = {FN("key", KV_KEY), FN("value", KV_VALUE)};

/* AnyValue: one field per member of its oneof, and the type it gives. */
enum { AV_STRING, AV_BOOL, AV_INT, AV_DOUBLE, AV_ARRAY, AV_KVLIST, AV_BYTES, AV_N };
static const uint8_t av_type[AV_N] = {TL_V_STRING, TL_V_BOOL,   TL_V_INT,  TL_V_DOUBLE,
                                      TL_V_ARRAY,  TL_V_KVLIST, TL_V_BYTES};
static const fname any_names[] = {
    FN("stringValue", AV_STRING), FN("boolValue", AV_BOOL), FN("intValue", AV_INT),
    FN("doubleValue", AV_DOUBLE), FN("arrayValue", AV_ARRAY), FN("kvlistValue", AV_KVLIST),
    FN("bytesValue", AV_BYTES),
    FN("string_value", AV_STRING), FN("bool_value", AV_BOOL), FN("int_value", AV_INT),
    FN("double_value", AV_DOUBLE), FN("array_value", AV_ARRAY),
    FN("kvlist_value", AV_KVLIST), FN("bytes_value", AV_BYTES)};

enum { VL_VALUES, VL_N };
static const fname values_names[] = {FN("values", VL_VALUES)};

/* An object's members sorted into fields. */
typedef struct jobj {
  const fname *tab;
  const jpath *path;          /* where the object is */
  uint32_t node;              /* the object (messages about missing members) */
  uint32_t at[MAX_FIELDS];    /* value node of each field; 0 = absent */
  uint8_t ent[MAX_FIELDS];    /* the table entry that matched it */
} jobj;

static void jobj_read(const jdoc *d, uint32_t node, const fname *tab, size_t ntab, int nf,
                      const jpath *path, jobj *o) {
  o->tab = tab;
  o->path = path;
  o->node = node;
  for (int f = 0; f < nf; f++) {
    o->at[f] = 0;
    o->ent[f] = (uint8_t)f;
  }
  uint32_t c = node + 1;
  for (uint32_t m = 0; m < d->nodes[node].len; m++) {
    const jnode *k = &d->nodes[c];
    const char *ks = jstr(d, k);
    for (size_t e = 0; e < ntab; e++) {
      if (tab[e].len != k->len || memcmp(tab[e].name, ks, k->len) != 0) continue;
      int f = tab[e].field;
      /* Later duplicates of one name replace earlier ones (as jansson and
      ** Python do); a higher-precedence name is not replaced by an alias. */
      if (!o->at[f] || e <= o->ent[f]) {
        o->at[f] = c + 1;
        o->ent[f] = (uint8_t)e;
      }
      break;
    }
    c = jnext(d, c + 1);
  }
}

/* The value node of field f, or 0 when it is absent or null. */
static uint32_t jget(const jdoc *d, const jobj *o, int f) {
  uint32_t v = o->at[f];
  return v && d->nodes[v].type != J_NULL ? v : 0;
}

static const char *fkey(const jobj *o, int f) { return o->tab[o->ent[f]].name; }

/* ---- errors --------------------------------------------------------------- */

static uint64_t line_of(const otlp_state *st, size_t off) {
  uint64_t line = st->line0;
  const char *p = st->d.text, *end = p + off;
  while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
    line++;
    p++;
  }
  return line;
}

#define PATH_SHOWN 240 /* longest path in a message */
#define PATH_HEAD 60    /* how much of its start is kept when longer */

/* Formats "<file>: line N: <path>: <message>" for a value at node, the
** path being the frames of `at` followed by member `key` (if not NULL). */
#if defined(__GNUC__)
__attribute__((format(printf, 6, 7)))
#endif
static int bad(otlp_state *st, const jpath *at, const char *key, uint32_t node, int rc,
               const char *fmt, ...) {
  const jpath *frames[JSON_MAX_DEPTH];
  int nfr = 0;
  for (const jpath *p = at; p && nfr < JSON_MAX_DEPTH; p = p->up) frames[nfr++] = p;
  tl_buf path;
  tl_buf_init(&path);
  while (nfr--) {
    const jpath *p = frames[nfr];
    if (p->key)
      tl_buf_printf(&path, "%s%s", path.n ? "." : "", p->key);
    else
      tl_buf_printf(&path, "[%u]", p->index);
  }
  if (key) tl_buf_printf(&path, "%s%s", path.n ? "." : "", key);
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  const char *ps = tl_buf_cstr(&path);
  /* A deeply nested path keeps its start and its end, cut between
  ** members, so that the message after it still fits. */
  if (ps && path.n > PATH_SHOWN) {
    size_t head = PATH_HEAD, tail = path.n - (PATH_SHOWN - PATH_HEAD - 3);
    while (head > 0 && path.p[head] != '.' && path.p[head] != '[') head--;
    while (tail < path.n && path.p[tail] != '.' && path.p[tail] != '[') tail++;
    if (path.p[tail] == '.') tail++;
    memcpy(path.p + head, "...", 3);
    memmove(path.p + head + 3, path.p + tail, path.n - tail + 1);
  }
  snprintf(st->msg, sizeof st->msg, "%s: line %llu: %s%s%s", st->name,
           (unsigned long long)line_of(st, st->d.nodes[node].src), ps ? ps : "",
           ps && *ps ? ": " : "", what);
  tl_buf_free(&path);
  st->rc = rc;
  return rc;
}

static int oom(otlp_state *st) {
  snprintf(st->msg, sizeof st->msg, "%s: out of memory", st->name);
  st->rc = TL_ENOMEM;
  return TL_ENOMEM;
}

/* A failed jparse: a syntax error with its line and column, or OOM. */
static int parse_failed(otlp_state *st, int rc) {
  if (rc != TL_EFORMAT) return oom(st);
  const char *t = st->d.text;
  size_t col0 = st->d.err_off;
  while (col0 > 0 && t[col0 - 1] != '\n') col0--;
  snprintf(st->msg, sizeof st->msg, "%s: line %llu, column %zu: invalid JSON: %s", st->name,
           (unsigned long long)line_of(st, st->d.err_off), st->d.err_off - col0 + 1,
           st->d.err);
  st->rc = TL_EFORMAT;
  return TL_EFORMAT;
}

/* ---- scalars --------------------------------------------------------------- */

/* The string at node v (0: absent) interned in b; {NULL,0} when absent,
** null or empty.  at and key say where v is, for messages. */
static int str_node(otlp_state *st, tl_batch *b, uint32_t v, const jpath *at, const char *key,
                    tl_str *out) {
  const jdoc *d = &st->d;
  out->ptr = NULL;
  out->len = 0;
  if (!v || d->nodes[v].type == J_NULL) return TL_OK;
  const jnode *nd = &d->nodes[v];
  if (nd->type != J_STR) return bad(st, at, key, v, TL_EFORMAT, "expected a string");
  if (!nd->len) return TL_OK;
  if (nd->len > TL_MAX_STRING)
    return bad(st, at, key, v, TL_ERANGE, "string longer than %u bytes", TL_MAX_STRING);
  *out = tl_batch_intern(b, jstr(d, nd), nd->len);
  return out->ptr ? TL_OK : oom(st);
}

static int get_str(otlp_state *st, tl_batch *b, const jobj *o, int f, tl_str *out) {
  return str_node(st, b, o->at[f], o->path, fkey(o, f), out);
}

/* Decimal digits p[0..n), with a leading '-' when signed is allowed, into
** sign and magnitude; -1 when not such text or past UINT64_MAX. */
static int decimal(const char *p, size_t n, int allow_sign, int *neg, uint64_t *mag) {
  *neg = 0;
  if (allow_sign && n && p[0] == '-') {
    *neg = 1;
    p++, n--;
  }
  if (!n) return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned c = (unsigned char)p[i] - '0';
    if (c > 9 || v > (UINT64_MAX - c) / 10) return -1;
    v = v * 10 + c;
  }
  *mag = v;
  return 0;
}

/* An integer as a JSON number or a decimal string, into sign and
** magnitude; -1 when the node is neither. */
static int integer_node(const jdoc *d, uint32_t v, int string_sign, int *neg, uint64_t *mag) {
  const jnode *nd = &d->nodes[v];
  if (nd->type == J_INT) return decimal(d->text + nd->src, nd->len, 1, neg, mag);
  if (nd->type == J_STR) return decimal(jstr(d, nd), nd->len, string_sign, neg, mag);
  return -1;
}

/* An unsigned field from 0 to max (absent or null: 0).  "-0" as a JSON
** number is 0; strings are digits only. */
static int get_uint(otlp_state *st, const jobj *o, int f, uint64_t max, uint64_t *out) {
  const jdoc *d = &st->d;
  uint32_t v = jget(d, o, f);
  int neg;
  uint64_t mag;
  *out = 0;
  if (!v) return TL_OK;
  if (integer_node(d, v, 0, &neg, &mag) || (neg && mag) || mag > max)
    return bad(st, o->path, fkey(o, f), v, TL_EFORMAT,
               "expected an integer from 0 to %llu (a JSON number or a decimal string)",
               (unsigned long long)max);
  *out = mag;
  return TL_OK;
}

static int get_u32(otlp_state *st, const jobj *o, int f, uint32_t *out) {
  uint64_t v;
  int rc = get_uint(st, o, f, UINT32_MAX, &v);
  *out = (uint32_t)v;
  return rc;
}

/* kind or status.code: an integer from 0 to max, or an enum name. */
static int get_enum(otlp_state *st, const jobj *o, int f, int max,
                    int (*parse)(const char *, size_t), const char *what, uint8_t *out) {
  const jdoc *d = &st->d;
  uint32_t v = jget(d, o, f);
  *out = 0;
  if (!v) return TL_OK;
  const jnode *nd = &d->nodes[v];
  int neg, val = -1;
  uint64_t mag;
  if (nd->type == J_STR)
    val = parse(jstr(d, nd), nd->len);
  else if (nd->type == J_INT && !decimal(d->text + nd->src, nd->len, 1, &neg, &mag) &&
           (!neg || !mag) && mag <= (uint64_t)max)
    val = (int)mag;
  if (val < 0)
    return bad(st, o->path, fkey(o, f), v, TL_EFORMAT, "expected %s", what);
  *out = (uint8_t)val;
  return TL_OK;
}

/* An id of n bytes (16 or 8): 2n hex digits, or base64 of n bytes.  Absent,
** null or "" leaves out zeroed and is an error only when required. */
static int get_id(otlp_state *st, const jobj *o, int f, size_t n, int required, uint8_t *out) {
  const jdoc *d = &st->d;
  uint32_t v = jget(d, o, f);
  memset(out, 0, n);
  const jnode *nd = v ? &d->nodes[v] : NULL;
  if (nd && nd->type == J_STR) {
    const char *s = jstr(d, nd);
    uint8_t tmp[64];
    if (nd->len == 0 && !required) return TL_OK;
    if (nd->len == 2 * n) {
      if (tl_hex_decode(s, nd->len, out, n) == (long)n) return TL_OK;
    } else if (nd->len && nd->len <= 4 * n && tl_base64_decode(s, nd->len, tmp, sizeof tmp) == (long)n) {
      memcpy(out, tmp, n);
      return TL_OK;
    }
  } else if (!v && !required) {
    return TL_OK;
  }
  return bad(st, o->path, fkey(o, f), v ? v : o->node, TL_EFORMAT,
             "%sexpected %zu hex digits or base64 of %zu bytes", v ? "" : "missing: ", 2 * n, n);
}

/* A double: a JSON number, or a string holding "NaN", "Infinity",
** "-Infinity" or a JSON number (proto3 JSON). */
static int get_double(otlp_state *st, const jdoc *d, uint32_t v, const jpath *at,
                      const char *key, double *out) {
  const jnode *nd = &d->nodes[v];
  const char *s = NULL;
  size_t n = nd->len;
  if (nd->type == J_INT || nd->type == J_REAL) {
    s = d->text + nd->src;
  } else if (nd->type == J_STR) {
    s = jstr(d, nd);
    if (n == 3 && memcmp(s, "NaN", 3) == 0) return *out = (double)NAN, TL_OK;
    if (n == 8 && memcmp(s, "Infinity", 8) == 0) return *out = (double)INFINITY, TL_OK;
    if (n == 9 && memcmp(s, "-Infinity", 9) == 0) return *out = -(double)INFINITY, TL_OK;
    /* Only JSON number syntax: strtod alone would take hex, "inf", spaces. */
    int type;
    if (number_end((const unsigned char *)s, n, 0, &type) != n) s = NULL;
  }
  if (s && n <= MAX_NUMBER_TEXT && tl_parse_double(s, n, out) == 0) {
    if (isfinite(*out)) return TL_OK;
    return bad(st, at, key, v, TL_ERANGE, "number out of the range of a double");
  }
  return bad(st, at, key, v, TL_EFORMAT,
             "expected a number, or a string holding a number, \"NaN\", \"Infinity\" or "
             "\"-Infinity\"");
}

/* ---- attributes -------------------------------------------------------------- */

static int read_kvs(otlp_state *st, tl_batch *b, uint32_t arr, int depth, const jpath *at,
                    const char *key, tl_kv **items, uint32_t *n);

static int read_any(otlp_state *st, tl_batch *b, uint32_t node, int depth, const jpath *at,
                    const char *key, tl_value *out) {
  const jdoc *d = &st->d;
  memset(out, 0, sizeof *out);
  if (d->nodes[node].type != J_OBJ)
    return bad(st, at, key, node, TL_EFORMAT, "expected an AnyValue object");
  /* An array element has no key: its frame is the index frame at. */
  jpath named = {at, key, 0};
  const jpath *here = key ? &named : at;
  jobj o;
  jobj_read(d, node, any_names, NTAB(any_names), AV_N, here, &o);
  int f = -1;
  for (int g = 0; g < AV_N; g++) {
    if (!jget(d, &o, g)) continue;
    if (f >= 0)
      return bad(st, at, key, node, TL_EFORMAT, "both \"%s\" and \"%s\" are set", fkey(&o, f),
                 fkey(&o, g));
    f = g;
  }
  if (f < 0) return TL_OK; /* the empty AnyValue */
  uint32_t v = jget(d, &o, f);
  const jnode *nd = &d->nodes[v];
  const char *vkey = fkey(&o, f);
  int rc, neg, type = av_type[f];
  uint64_t mag;
  out->type = (uint8_t)type;
  switch (type) {
    case TL_V_STRING:
      return get_str(st, b, &o, f, &out->u.s);
    case TL_V_BOOL:
      if (nd->type != J_TRUE && nd->type != J_FALSE)
        return bad(st, here, vkey, v, TL_EFORMAT, "expected true or false");
      out->u.b = nd->type == J_TRUE;
      return TL_OK;
    case TL_V_INT:
      if (integer_node(d, v, 1, &neg, &mag) || mag > (uint64_t)INT64_MAX + neg)
        return bad(st, here, vkey, v, TL_EFORMAT,
                   "expected a 64-bit signed integer (a JSON number or a decimal string)");
      out->u.i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
      return TL_OK;
    case TL_V_DOUBLE:
      return get_double(st, d, v, here, vkey, &out->u.d);
    case TL_V_BYTES: {
      if (nd->type != J_STR) return bad(st, here, vkey, v, TL_EFORMAT, "expected a base64 string");
      if (nd->len > TL_MAX_STRING)
        return bad(st, here, vkey, v, TL_ERANGE, "string longer than %u bytes", TL_MAX_STRING);
      uint8_t *buf = tl_batch_alloc(b, tl_base64_max(nd->len));
      if (!buf) return oom(st);
      long got = tl_base64_decode(jstr(d, nd), nd->len, buf, tl_base64_max(nd->len));
      if (got < 0) return bad(st, here, vkey, v, TL_EFORMAT, "invalid base64");
      out->u.s.ptr = (const char *)buf;
      out->u.s.len = (uint32_t)got;
      return TL_OK;
    }
    default: /* TL_V_ARRAY, TL_V_KVLIST: {"values": [...]} */
      if (nd->type != J_OBJ) return bad(st, here, vkey, v, TL_EFORMAT, "expected an object");
      if (depth >= TL_MAX_DEPTH)
        return bad(st, here, vkey, v, TL_ERANGE, "nested deeper than %d arrays and kvlists",
                   TL_MAX_DEPTH);
      jpath inner = {here, vkey, 0};
      jobj vo;
      jobj_read(d, v, values_names, NTAB(values_names), VL_N, &inner, &vo);
      uint32_t arr = jget(d, &vo, VL_VALUES);
      if (!arr) return TL_OK;
      if (d->nodes[arr].type != J_ARR)
        return bad(st, &inner, "values", arr, TL_EFORMAT, "expected an array");
      if (type == TL_V_KVLIST)
        return read_kvs(st, b, arr, depth + 1, &inner, "values", &out->u.kv.items, &out->u.kv.n);
      uint32_t cnt = d->nodes[arr].len;
      if (!cnt) return TL_OK;
      tl_value *items = tl_batch_alloc(b, (size_t)cnt * sizeof *items);
      if (!items) return oom(st);
      jpath list = {&inner, "values", 0};
      uint32_t c = arr + 1;
      for (uint32_t i = 0; i < cnt; i++, c = jnext(d, c)) {
        jpath el = {&list, NULL, i};
        if ((rc = read_any(st, b, c, depth + 1, &el, NULL, &items[i]))) return rc;
      }
      out->u.arr.items = items;
      out->u.arr.n = cnt;
      return TL_OK;
  }
}

/* A KeyValue list (attributes, kvlistValue.values) at array node arr. */
static int read_kvs(otlp_state *st, tl_batch *b, uint32_t arr, int depth, const jpath *at,
                    const char *key, tl_kv **items, uint32_t *n) {
  const jdoc *d = &st->d;
  uint32_t cnt = d->nodes[arr].len;
  *items = NULL;
  *n = 0;
  if (!cnt) return TL_OK;
  tl_kv *kv = tl_batch_alloc(b, (size_t)cnt * sizeof *kv);
  if (!kv) return oom(st);
  jpath list = {at, key, 0};
  uint32_t c = arr + 1;
  for (uint32_t i = 0; i < cnt; i++, c = jnext(d, c)) {
    jpath el = {&list, NULL, i};
    if (d->nodes[c].type != J_OBJ)
      return bad(st, &el, NULL, c, TL_EFORMAT, "expected a KeyValue object");
    jobj o;
    jobj_read(d, c, kv_names, NTAB(kv_names), KV_N, &el, &o);
    int rc = get_str(st, b, &o, KV_KEY, &kv[i].key);
    uint32_t v = jget(d, &o, KV_VALUE);
    if (!rc && v) rc = read_any(st, b, v, depth, &el, "value", &kv[i].value);
    if (rc) return rc;
  }
  *items = kv;
  *n = cnt;
  return TL_OK;
}

/* Fields fa (attributes) and fd (dropped count) of o into out. */
static int read_attrs(otlp_state *st, tl_batch *b, const jobj *o, int fa, int fd,
                      tl_attrs *out) {
  const jdoc *d = &st->d;
  uint32_t v = jget(d, o, fa);
  int rc = get_u32(st, o, fd, &out->dropped);
  if (rc || !v) {
    out->items = NULL;
    out->n = 0;
    return rc;
  }
  if (d->nodes[v].type != J_ARR)
    return bad(st, o->path, fkey(o, fa), v, TL_EFORMAT, "expected an array of KeyValue");
  return read_kvs(st, b, v, 0, o->path, fkey(o, fa), &out->items, &out->n);
}

/* ---- resource and scope -------------------------------------------------------- */

/* The text of node's subtree, up to where the next node starts (a few
** separators more than the value, which does not matter for equality). */
static void raw_text(const jdoc *d, uint32_t node, const char **p, size_t *n) {
  if (!node) {
    *p = "";
    *n = 0;
    return;
  }
  uint32_t nx = jnext(d, node);
  size_t end = nx < d->n ? d->nodes[nx].src : d->end;
  *p = d->text + d->nodes[node].src;
  *n = end - d->nodes[node].src;
}

/* Looks up the object at node plus its schema URL in the cache; on a miss
** prepares the key for built_store.  A schema URL that is not a string
** always misses, so that its error is reported. */
static const void *built_find(const jdoc *d, built *c, uint32_t node, uint32_t schema) {
  const char *raw, *url = "";
  size_t rn, un = 0;
  raw_text(d, node, &raw, &rn);
  if (schema) {
    if (d->nodes[schema].type != J_STR) return c->val = NULL;
    url = jstr(d, &d->nodes[schema]);
    un = d->nodes[schema].len;
  }
  if (c->val && c->raw_len == rn && c->key.n == rn + un && memcmp(c->key.p, raw, rn) == 0 &&
      memcmp(c->key.p + rn, url, un) == 0)
    return c->val;
  c->val = NULL;
  tl_buf_reset(&c->key);
  tl_buf_append(&c->key, raw, rn);
  tl_buf_append(&c->key, url, un);
  c->raw_len = rn;
  return NULL;
}

static void built_store(built *c, const void *val) {
  if (!c->key.oom) c->val = val;
}

static const jpath *rs_path(const otlp_state *st, jpath *fr) {
  fr[0] = (jpath){NULL, st->wrap_key, 0};
  fr[1] = (jpath){st->wrap_key ? &fr[0] : NULL, st->rs_key, 0};
  fr[2] = (jpath){&fr[1], NULL, st->rs_i};
  return &fr[2];
}

static const jpath *ss_path(const otlp_state *st, jpath *fr) {
  fr[3] = (jpath){rs_path(st, fr), st->ss_key, 0};
  fr[4] = (jpath){&fr[3], NULL, st->ss_i};
  return &fr[4];
}

/* The resource of the current ResourceSpans (its "resource" member and
** its "schemaUrl"), built in b. */
static int build_resource(otlp_state *st, tl_batch *b) {
  jdoc *d = &st->d;
  if (!st->res_node && !st->res_schema) {
    st->res = tl_batch_empty_resource(b);
    return TL_OK;
  }
  if ((st->res = built_find(d, &st->res_cache, st->res_node, st->res_schema))) return TL_OK;
  jpath fr[3];
  const jpath *at = rs_path(st, fr);
  tl_resource *r = tl_batch_alloc(b, sizeof *r);
  if (!r) return oom(st);
  int rc = str_node(st, b, st->res_schema, at, st->res_schema_key, &r->schema_url);
  if (!rc && st->res_node) {
    if (d->nodes[st->res_node].type != J_OBJ)
      return bad(st, at, "resource", st->res_node, TL_EFORMAT, "expected an object");
    jpath here = {at, "resource", 0};
    jobj o;
    jobj_read(d, st->res_node, res_names, NTAB(res_names), A_N, &here, &o);
    rc = read_attrs(st, b, &o, A_ATTRS, A_DROPPED, &r->attrs);
  }
  if (rc) return rc;
  tl_resource_set_service(r);
  st->res = r;
  built_store(&st->res_cache, r);
  return TL_OK;
}

/* The scope of the current ScopeSpans, likewise. */
static int build_scope(otlp_state *st, tl_batch *b) {
  jdoc *d = &st->d;
  if (!st->sc_node && !st->sc_schema) {
    st->sc = tl_batch_empty_scope(b);
    return TL_OK;
  }
  if ((st->sc = built_find(d, &st->sc_cache, st->sc_node, st->sc_schema))) return TL_OK;
  jpath fr[5];
  const jpath *at = ss_path(st, fr);
  tl_scope *s = tl_batch_alloc(b, sizeof *s);
  if (!s) return oom(st);
  int rc = str_node(st, b, st->sc_schema, at, st->sc_schema_key, &s->schema_url);
  if (!rc && st->sc_node) {
    if (d->nodes[st->sc_node].type != J_OBJ)
      return bad(st, at, st->sc_key, st->sc_node, TL_EFORMAT, "expected an object");
    jpath here = {at, st->sc_key, 0};
    jobj o;
    jobj_read(d, st->sc_node, scope_names, NTAB(scope_names), SC_N, &here, &o);
    if (!(rc = get_str(st, b, &o, SC_NAME, &s->name)) &&
        !(rc = get_str(st, b, &o, SC_VERSION, &s->version)))
      rc = read_attrs(st, b, &o, SC_ATTRS, SC_DROPPED, &s->attrs);
  }
  if (rc) return rc;
  st->sc = s;
  built_store(&st->sc_cache, s);
  return TL_OK;
}

/* ---- spans ------------------------------------------------------------------ */

/* The array field f of o, as its node (0 when absent, null or empty), with
** its element count. */
static int get_array(otlp_state *st, const jobj *o, int f, uint32_t *node, uint32_t *n) {
  const jdoc *d = &st->d;
  uint32_t v = jget(d, o, f);
  *node = 0;
  *n = 0;
  if (!v) return TL_OK;
  if (d->nodes[v].type != J_ARR) return bad(st, o->path, fkey(o, f), v, TL_EFORMAT, "expected an array");
  *node = v;
  *n = d->nodes[v].len;
  return TL_OK;
}

static int read_events(otlp_state *st, tl_batch *b, const jobj *so, tl_span *s) {
  const jdoc *d = &st->d;
  uint32_t arr, n;
  int rc = get_array(st, so, SP_EVENTS, &arr, &n);
  if (rc || !n) return rc;
  s->events = tl_batch_alloc(b, (size_t)n * sizeof *s->events);
  if (!s->events) return oom(st);
  jpath list = {so->path, fkey(so, SP_EVENTS), 0};
  uint32_t c = arr + 1;
  for (uint32_t i = 0; i < n; i++, c = jnext(d, c)) {
    jpath el = {&list, NULL, i};
    tl_event *ev = &s->events[i];
    if (d->nodes[c].type != J_OBJ) return bad(st, &el, NULL, c, TL_EFORMAT, "expected an object");
    jobj o;
    jobj_read(d, c, event_names, NTAB(event_names), EV_N, &el, &o);
    if ((rc = get_uint(st, &o, EV_TIME, UINT64_MAX, &ev->time_ns)) ||
        (rc = get_str(st, b, &o, EV_NAME, &ev->name)) ||
        (rc = read_attrs(st, b, &o, EV_ATTRS, EV_DROPPED, &ev->attrs)))
      return rc;
  }
  s->n_events = n;
  return TL_OK;
}

static int read_links(otlp_state *st, tl_batch *b, const jobj *so, tl_span *s) {
  const jdoc *d = &st->d;
  uint32_t arr, n;
  int rc = get_array(st, so, SP_LINKS, &arr, &n);
  if (rc || !n) return rc;
  s->links = tl_batch_alloc(b, (size_t)n * sizeof *s->links);
  if (!s->links) return oom(st);
  jpath list = {so->path, fkey(so, SP_LINKS), 0};
  uint32_t c = arr + 1;
  for (uint32_t i = 0; i < n; i++, c = jnext(d, c)) {
    jpath el = {&list, NULL, i};
    tl_link *l = &s->links[i];
    if (d->nodes[c].type != J_OBJ) return bad(st, &el, NULL, c, TL_EFORMAT, "expected an object");
    jobj o;
    jobj_read(d, c, link_names, NTAB(link_names), LK_N, &el, &o);
    if ((rc = get_id(st, &o, LK_TRACE_ID, 16, 1, l->trace_id)) ||
        (rc = get_id(st, &o, LK_SPAN_ID, 8, 1, l->span_id)) ||
        (rc = get_str(st, b, &o, LK_TRACE_STATE, &l->trace_state)) ||
        (rc = read_attrs(st, b, &o, LK_ATTRS, LK_DROPPED, &l->attrs)) ||
        (rc = get_u32(st, &o, LK_FLAGS, &l->flags)))
      return rc;
  }
  s->n_links = n;
  return TL_OK;
}

static int read_status(otlp_state *st, tl_batch *b, const jobj *so, tl_span *s) {
  const jdoc *d = &st->d;
  uint32_t v = jget(d, so, SP_STATUS);
  if (!v) return TL_OK;
  if (d->nodes[v].type != J_OBJ)
    return bad(st, so->path, fkey(so, SP_STATUS), v, TL_EFORMAT, "expected an object");
  jpath here = {so->path, fkey(so, SP_STATUS), 0};
  jobj o;
  jobj_read(d, v, status_names, NTAB(status_names), ST_N, &here, &o);
  int rc = get_str(st, b, &o, ST_MESSAGE, &s->status_message);
  if (!rc)
    rc = get_enum(st, &o, ST_CODE, TL_STATUS_ERROR, tl_status_parse,
                  "a StatusCode: 0 to 2 or a name such as \"STATUS_CODE_ERROR\"", &s->status_code);
  return rc;
}

/* The span at st->sp_next, appended to b. */
static int read_span(otlp_state *st, tl_batch *b) {
  const jdoc *d = &st->d;
  uint32_t node = st->sp_next;
  jpath fr[7];
  fr[5] = (jpath){ss_path(st, fr), "spans", 0};
  fr[6] = (jpath){&fr[5], NULL, st->sp_i};
  if (d->nodes[node].type != J_OBJ)
    return bad(st, &fr[6], NULL, node, TL_EFORMAT, "expected an object");
  int rc;
  if (!st->res && (rc = build_resource(st, b))) return rc;
  if (!st->sc && (rc = build_scope(st, b))) return rc;
  tl_span *s = tl_batch_add_span(b);
  if (!s) return oom(st);
  s->resource = st->res;
  s->scope = st->sc;
  jobj o;
  jobj_read(d, node, span_names, NTAB(span_names), SP_N, &fr[6], &o);
  if ((rc = get_id(st, &o, SP_TRACE_ID, 16, 1, s->trace_id)) ||
      (rc = get_id(st, &o, SP_SPAN_ID, 8, 1, s->span_id)) ||
      (rc = get_str(st, b, &o, SP_TRACE_STATE, &s->trace_state)) ||
      (rc = get_id(st, &o, SP_PARENT, 8, 0, s->parent_span_id)) ||
      (rc = get_u32(st, &o, SP_FLAGS, &s->flags)) ||
      (rc = get_str(st, b, &o, SP_NAME, &s->name)) ||
      (rc = get_enum(st, &o, SP_KIND, TL_KIND_CONSUMER, tl_kind_parse,
                     "a SpanKind: 0 to 5 or a name such as \"SPAN_KIND_SERVER\"", &s->kind)) ||
      (rc = get_uint(st, &o, SP_START, UINT64_MAX, &s->start_ns)) ||
      (rc = get_uint(st, &o, SP_END, UINT64_MAX, &s->end_ns)) ||
      (rc = read_attrs(st, b, &o, SP_ATTRS, SP_DROPPED, &s->attrs)) ||
      (rc = read_events(st, b, &o, s)) ||
      (rc = get_u32(st, &o, SP_DROPPED_EVENTS, &s->dropped_events)) ||
      (rc = read_links(st, b, &o, s)) ||
      (rc = get_u32(st, &o, SP_DROPPED_LINKS, &s->dropped_links)) ||
      (rc = read_status(st, b, &o, s)))
    return rc;
  return TL_OK;
}

/* ---- walking a request ----------------------------------------------------- */

/* A list member (resourceSpans, scopeSpans, spans) of o as first node and
** count. */
static int enter_list(otlp_state *st, const jobj *o, int f, uint32_t *next, uint32_t *left) {
  uint32_t arr;
  int rc = get_array(st, o, f, &arr, left);
  *next = arr + 1;
  return rc;
}

/* Sets up the walk of the request just parsed into st->d.  A list name
** present with null is an empty list; {"result": null} and {} hold no
** spans; {"error": {...}} is a failed query's answer. */
static int enter_request(otlp_state *st) {
  const jdoc *d = &st->d;
  jpath wrap = {NULL, "result", 0};
  jobj o;
  jobj_read(d, 0, root_names, NTAB(root_names), R_N, NULL, &o);
  st->wrap_key = NULL;
  st->rs_left = st->ss_left = st->sp_left = 0;
  if (!o.at[R_RS]) {
    uint32_t err = jget(d, &o, R_ERROR), res = o.at[R_RESULT];
    if (err) {
      jobj eo;
      uint32_t m = 0;
      if (d->nodes[err].type == J_OBJ) {
        jobj_read(d, err, status_names, NTAB(status_names), ST_N, NULL, &eo);
        m = jget(d, &eo, ST_MESSAGE);
      }
      int has = m && d->nodes[m].type == J_STR;
      int mlen = has ? (int)(d->nodes[m].len > 200 ? 200 : d->nodes[m].len) : 0;
      return bad(st, NULL, "error", err, TL_EFORMAT, "the input is an error response%s%.*s",
                 has ? ": " : "", mlen, has ? jstr(d, &d->nodes[m]) : "");
    }
    if (res) {
      if (d->nodes[res].type == J_NULL) return TL_OK;
      if (d->nodes[res].type != J_OBJ)
        return bad(st, NULL, "result", res, TL_EFORMAT, "expected an object");
      st->wrap_key = "result";
      jobj_read(d, res, root_names, NTAB(root_names), R_N, &wrap, &o);
    } else if (d->nodes[0].len) {
      return bad(st, NULL, NULL, 0, TL_EFORMAT,
                 "expected an OTLP ExportTraceServiceRequest: an object with \"resourceSpans\" "
                 "(or \"result\" or \"batches\")");
    }
  }
  st->rs_key = fkey(&o, R_RS);
  st->rs_i = UINT32_MAX; /* wraps to 0 when the first is entered */
  return enter_list(st, &o, R_RS, &st->rs_next, &st->rs_left);
}

static int enter_resource_spans(otlp_state *st) {
  const jdoc *d = &st->d;
  uint32_t node = st->rs_next;
  jpath fr[3];
  st->rs_i++;
  st->rs_left--;
  st->rs_next = jnext(d, node);
  st->res = NULL;
  const jpath *at = rs_path(st, fr);
  if (d->nodes[node].type != J_OBJ) return bad(st, at, NULL, node, TL_EFORMAT, "expected an object");
  jobj o;
  jobj_read(d, node, rs_names, NTAB(rs_names), RS_N, at, &o);
  st->res_node = jget(d, &o, RS_RESOURCE);
  st->res_schema = jget(d, &o, RS_SCHEMA);
  st->res_schema_key = fkey(&o, RS_SCHEMA);
  st->ss_key = fkey(&o, RS_SCOPE_SPANS);
  st->ss_i = UINT32_MAX;
  return enter_list(st, &o, RS_SCOPE_SPANS, &st->ss_next, &st->ss_left);
}

static int enter_scope_spans(otlp_state *st) {
  const jdoc *d = &st->d;
  uint32_t node = st->ss_next;
  jpath fr[5];
  st->ss_i++;
  st->ss_left--;
  st->ss_next = jnext(d, node);
  st->sc = NULL;
  const jpath *at = ss_path(st, fr);
  if (d->nodes[node].type != J_OBJ) return bad(st, at, NULL, node, TL_EFORMAT, "expected an object");
  jobj o;
  jobj_read(d, node, ss_names, NTAB(ss_names), SS_N, at, &o);
  st->sc_node = jget(d, &o, SS_SCOPE);
  st->sc_schema = jget(d, &o, SS_SCHEMA);
  st->sc_schema_key = fkey(&o, SS_SCHEMA);
  st->sc_key = fkey(&o, SS_SCOPE);
  st->sp_i = 0;
  return enter_list(st, &o, SS_SPANS, &st->sp_next, &st->sp_left);
}

/* Parses the next request into st->d: TL_OK, TL_DONE at the end. */
static int load_request(otlp_state *st, tl_err *e) {
  const unsigned char *t;
  size_t len, i;
  int rc;
  if (st->ndjson) {
    const char *line;
    for (;;) {
      rc = tl_input_line(st->in, &line, &len, e);
      if (rc) return rc; /* TL_DONE, or the input's own error in e */
      t = (const unsigned char *)line;
      if ((i = skip_ws(t, len, 0)) < len) break;
    }
    st->line0 = tl_input_lineno(st->in);
    st->d.text = line; /* for messages, also when jparse fails early */
    if ((rc = jparse(&st->d, line, len, i))) return parse_failed(st, rc);
    if (skip_ws(t, len, st->d.end) != len) {
      syntax(&st->d, skip_ws(t, len, st->d.end),
             "text after the object (NDJSON needs one object per line)");
      return parse_failed(st, TL_EFORMAT);
    }
  } else {
    t = (const unsigned char *)st->whole;
    len = st->whole_len;
    i = skip_ws(t, len, st->whole_pos);
    if (i == len) return TL_DONE;
    st->line0 = 1;
    st->d.text = st->whole;
    if ((rc = jparse(&st->d, st->whole, len, i))) return parse_failed(st, rc);
    st->whole_pos = st->d.end;
  }
  st->have_doc = 1;
  return enter_request(st);
}

/* ---- the reader interface ------------------------------------------------------ */

static void otlp_close(void *p) {
  otlp_state *st = p;
  if (!st) return;
  free(st->d.nodes);
  tl_buf_free(&st->d.scratch);
  tl_buf_free(&st->res_cache.key);
  tl_buf_free(&st->sc_cache.key);
  free(st);
}

/* NDJSON when the first non-blank line is one complete JSON object. */
static int detect_ndjson(otlp_state *st, int *ndjson, tl_err *e) {
  size_t want = PEEK_FIRST;
  for (;;) {
    const char *p;
    long have = tl_input_peek(st->in, want, &p, e);
    if (have < 0) return (int)have;
    const unsigned char *t = (const unsigned char *)p;
    size_t n = (size_t)have, i = skip_ws(t, n, 0);
    const unsigned char *nl = i < n ? memchr(t + i, '\n', n - i) : NULL;
    int at_eof = n < want;
    if (nl || at_eof) {
      size_t end = nl ? (size_t)(nl - t) : n;
      if (i == n) {
        *ndjson = 1; /* blank input: no spans either way */
        return TL_OK;
      }
      *ndjson = jparse(&st->d, p, end, i) == TL_OK && skip_ws(t, end, st->d.end) == end;
      return TL_OK;
    }
    if (want >= TL_INPUT_MAX_LINE) {
      *ndjson = 0; /* a first line too long for a line: a document */
      return TL_OK;
    }
    want *= 2;
  }
}

static int otlp_open(tl_input *in, void **state, tl_err *e) {
  *state = NULL;
  otlp_state *st = calloc(1, sizeof *st);
  if (!st) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", tl_input_name(in));
  st->in = in;
  st->name = tl_input_name(in);
  int rc = detect_ndjson(st, &st->ndjson, e);
  if (!rc && !st->ndjson) rc = tl_input_whole(in, &st->whole, &st->whole_len, e);
  if (rc) {
    otlp_close(st);
    return rc;
  }
  *state = st;
  return TL_OK;
}

static int otlp_next(void *p, tl_batch *b, size_t max, tl_err *e) {
  otlp_state *st = p;
  if (st->rc) return tl_err_set(e, st->rc, "%s", st->msg);
  if (st->done) return TL_DONE;
  size_t first = tl_batch_count(b), record_start = first;
  int rc = TL_OK;
  /* Resources and scopes are built again in this batch. */
  st->res = NULL;
  st->sc = NULL;
  st->res_cache.val = NULL;
  st->sc_cache.val = NULL;
  while (tl_batch_count(b) - first < max) {
    if (!st->have_doc) {
      record_start = tl_batch_count(b);
      rc = load_request(st, e);
      if (rc == TL_DONE) {
        st->done = 1;
        return TL_DONE;
      }
      if (rc) break;
    } else if (st->sp_left) {
      if ((rc = read_span(st, b))) break;
      st->sp_next = jnext(&st->d, st->sp_next);
      st->sp_left--;
      st->sp_i++;
    } else if (st->ss_left) {
      if ((rc = enter_scope_spans(st))) break;
    } else if (st->rs_left) {
      if ((rc = enter_resource_spans(st))) break;
    } else {
      st->have_doc = 0;
    }
  }
  if (rc == TL_OK) return TL_OK;
  /* Take the failed request's spans of this call back out. */
  while (tl_batch_count(b) > record_start) tl_batch_pop_span(b);
  if (!st->rc) {
    /* The input's own error: keep it for later calls. */
    st->rc = rc;
    snprintf(st->msg, sizeof st->msg, "%s", e->msg);
    return rc;
  }
  return tl_err_set(e, st->rc, "%s", st->msg);
}

const tl_reader_vt tl_otlp_reader = {"otlp", otlp_open, otlp_next, otlp_close};
