/*
** jaeger_read.c — the Jaeger JSON importer (tl_jaeger_reader).
**
** Jaeger JSON is not one format but a family; this reader takes all of them
** (docs/formats-in/jaeger.md is the full mapping, with examples):
**
**   {"data":[{traceID,spans,processes,warnings},...],total,limit,offset,errors}
**                                    query API response / Jaeger UI download
**   {"data":{traceID,spans,processes,services,...}}
**                                    the UI's internal transformed trace
**   {traceID,spans,processes,warnings}          one bare trace object
**   [{traceID,spanID,...,process:{...}},...]    flat array of spans
**   [{traceID,spans,processes},...]             array of trace objects
**   {"spans":[{traceId,spanId,startTime:"RFC 3339",duration:"100000ns",
**     process:{...}},...]}          api_v2 model JSON (jsonpb, camelCase)
**   {"batch":{"spans":[{trace_id,span_id,start_time,duration:ns,...}],
**     "process":{...}}}             api_v2 proto-JSON Batch (snake_case)
**
** Two dialects of span objects exist, and each span says which it is: the
** query/UI dialect ("traceID": hex ids, microsecond integers, tags as
** {key,type,value}) and the api_v2 protobuf dialect ("traceId" or
** "trace_id": base64 ids, RFC 3339 times, Duration strings or nanosecond
** numbers, tags as {key,vType,vStr,...}).  protobuf JSON parsers accept
** both the camelCase and the snake_case name of every field, and so do we.
**
** How it works.  open() reads the whole document (tl_input_whole), parses it
** with jansson and lists the span arrays it holds ("units", each with the
** processes its spans may refer to).  next() walks the units and converts
** one json_t span at a time straight into the caller's batch.  Nothing
** points into a batch between calls: the resource and scope caches that
** let spans share one tl_resource per process are cleared at the start of
** every next().
**
** Lossless by default: every tag, log field and warning is kept as an
** attribute; the OTLP fields Jaeger has no slot for (kind, status, scope)
** are derived from tags that stay in place.  Ids that are not hex (test
** fixtures use "span-1") are hashed into ids and their text kept beside.
*/
#include "reader.h"
#include "../common/buf.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest id text that is hashed rather than refused (non-hex ids). */
#define OPAQUE_ID_MAX 256

/* ---- field names of the two dialects ----------------------------------- */

/* Each field has up to two accepted names (camelCase, snake_case). */
typedef struct jr_dialect {
  const char *trace_id[2], *span_id[2], *operation[2], *ref_type[2], *start[2],
      *process_id[2], *service[2];
  int v2; /* api_v2 protobuf dialect: base64 ids, RFC 3339 times */
} jr_dialect;

static const jr_dialect UI = {{"traceID", NULL}, {"spanID", NULL},
                              {"operationName", NULL}, {"refType", NULL},
                              {"startTime", NULL}, {"processID", NULL},
                              {"serviceName", NULL}, 0};
static const jr_dialect V2 = {{"traceId", "trace_id"}, {"spanId", "span_id"},
                              {"operationName", "operation_name"},
                              {"refType", "ref_type"}, {"startTime", "start_time"},
                              {"processId", "process_id"},
                              {"serviceName", "service_name"}, 1};

static json_t *field(const json_t *o, const char *const names[2]) {
  json_t *v = json_object_get(o, names[0]);
  if (!v && names[1]) v = json_object_get(o, names[1]);
  return v;
}

/* A member that may be absent or null (both mean "not given"). */
static json_t *opt(const json_t *o, const char *name) {
  json_t *v = json_object_get(o, name);
  return json_is_null(v) ? NULL : v;
}

/* ---- per-batch caches -------------------------------------------------- */

/* Open addressing from a 64-bit key to a batch object (resource or scope).
** A slot matches when its id equals the id looked up, or, for content keys
** (id NULL), when eq() says the object has the content looked up. */
typedef struct jr_slot {
  uint64_t key;
  const void *id;
  void *val; /* NULL: empty slot */
} jr_slot;

typedef struct jr_map {
  jr_slot *slots;
  size_t n, cap; /* cap is a power of two */
} jr_map;

typedef int (*jr_eq)(const void *val, const void *arg);

static int map_reserve(jr_map *m) {
  if ((m->n + 1) * 2 <= m->cap) return 0;
  size_t cap = m->cap ? m->cap * 2 : 64;
  jr_slot *slots = calloc(cap, sizeof *slots);
  if (!slots) return -1;
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->slots[i].val) continue;
    size_t j = m->slots[i].key & (cap - 1);
    while (slots[j].val) j = (j + 1) & (cap - 1);
    slots[j] = m->slots[i];
  }
  free(m->slots);
  m->slots = slots;
  m->cap = cap;
  return 0;
}

/* The matching slot, or the empty slot where the key goes (call
** map_reserve first).  */
static jr_slot *map_find(jr_map *m, uint64_t key, const void *id, jr_eq eq,
                         const void *arg) {
  size_t j = key & (m->cap - 1);
  for (;;) {
    jr_slot *s = &m->slots[j];
    if (!s->val) return s;
    if (s->key == key && (id ? s->id == id : eq(s->val, arg))) return s;
    j = (j + 1) & (m->cap - 1);
  }
}

static void map_put(jr_map *m, jr_slot *s, uint64_t key, const void *id, void *val) {
  s->key = key;
  s->id = id;
  s->val = val;
  m->n++;
}

static void map_clear(jr_map *m) {
  if (m->n) memset(m->slots, 0, m->cap * sizeof *m->slots);
  m->n = 0;
}

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdull;
}

/* ---- reader state --------------------------------------------------------- */

/* One array of spans, and what its spans may refer to. */
typedef struct jr_unit {
  json_t *spans;          /* array */
  json_t *processes;      /* query/UI: {"p1": process, ...}, or NULL */
  json_t *process_map;    /* api_v2 Trace: [{processId, process}], or NULL */
  json_t *process;        /* api_v2 Batch: every span's process, or NULL */
  json_t *trace_warnings; /* the trace's "warnings", or NULL */
  int hex_binary;         /* binary tag values are hex text, not base64 */
  char path[48];          /* "data[3].spans", for messages */
} jr_unit;

typedef struct jr_state {
  char *name; /* the input's name, for messages */
  json_t *root;
  jr_unit *units;
  size_t n_units, unit, idx; /* walking position: units[unit].spans[idx] */
  int failed;                /* the first error, repeated by later calls */
  tl_kvbuf kb;               /* attribute scratch, nested by position */
  jr_map res_by_json;        /* process json_t -> tl_resource (this batch) */
  jr_map res_by_content;     /* resource attributes -> tl_resource (this batch) */
  jr_map scopes;             /* (name, version) -> tl_scope (this batch) */
} jr_state;

/* Where a span is being converted, for messages and allocation. */
typedef struct jr_ctx {
  jr_state *st;
  tl_batch *b;
  const jr_unit *u;
  const jr_dialect *d;
  tl_err *e;
} jr_ctx;

/* Reports a problem of the current span: "<file>: data[0].spans[3]: ...". */
static int bad(jr_ctx *c, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int bad(jr_ctx *c, int rc, const char *fmt, ...) {
  char what[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return tl_err_set(c->e, rc, "%s: %s[%zu]: %s", c->st->name, c->u->path, c->st->idx,
                    what);
}

static int oom(jr_ctx *c) { return bad(c, TL_ENOMEM, "out of memory"); }

/* At most this many bytes of user text are quoted in messages. */
#define QUOTE 40
static int qlen(size_t n) { return n > QUOTE ? QUOTE : (int)n; }

/* Interns s[0..n); the empty string is {NULL, 0} as elsewhere in the model. */
static int intern(jr_ctx *c, const char *s, size_t n, tl_str *out) {
  out->ptr = NULL;
  out->len = 0;
  if (!n) return TL_OK;
  if (n > TL_MAX_STRING)
    return bad(c, TL_ERANGE, "a string is longer than %u bytes", TL_MAX_STRING);
  *out = tl_batch_intern(c->b, s, n);
  return out->ptr ? TL_OK : oom(c);
}

static int intern_json(jr_ctx *c, const json_t *j, tl_str *out) {
  return intern(c, json_string_value(j), json_string_length(j), out);
}

static int push_attr(jr_ctx *c, const char *key, tl_value v) {
  tl_str k;
  int rc = intern(c, key, strlen(key), &k);
  if (!rc && tl_kvbuf_push(&c->st->kb, k, v)) rc = oom(c);
  return rc;
}

static int push_string_attr(jr_ctx *c, const char *key, const char *s, size_t n) {
  tl_value v = {.type = TL_V_STRING};
  int rc = intern(c, s, n, &v.u.s);
  return rc ? rc : push_attr(c, key, v);
}

/* ---- ids ------------------------------------------------------------------ */

static int hexval(int ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* An id's text: out[width] from hex (1..2*width digits, zero-padded on the
** left), or from hashing text that is not hex.  *opaque tells which. */
static int read_ui_id(jr_ctx *c, const char *what, const char *s, size_t n, size_t width,
                      uint8_t *out, int *opaque) {
  size_t digits = 0;
  while (digits < n && hexval((unsigned char)s[digits]) >= 0) digits++;
  memset(out, 0, width);
  if (n == 0) return bad(c, TL_EFORMAT, "%s is empty", what);
  if (digits == n) {
    if (n > 2 * width)
      return bad(c, TL_EFORMAT, "%s \"%.*s\" is longer than %zu hex digits", what,
                 qlen(n), s, 2 * width);
    /* Right-aligned: the last digit is the low nibble of out[width-1]. */
    for (size_t i = 0; i < n; i++) {
      size_t pos = 2 * width - n + i;
      out[pos / 2] |= (uint8_t)(hexval((unsigned char)s[i]) << (pos % 2 ? 0 : 4));
    }
    *opaque = 0;
    return TL_OK;
  }
  if (n > OPAQUE_ID_MAX)
    return bad(c, TL_EFORMAT, "%s \"%.*s\" is not hex and longer than %d bytes", what,
               qlen(n), s, OPAQUE_ID_MAX);
  /* 64 bits of hash per 8 bytes of id; the second word hashes a variant of
  ** the text so the two words of a trace id are independent. */
  char tmp[OPAQUE_ID_MAX + 1];
  tmp[0] = '#';
  memcpy(tmp + 1, s, n);
  for (size_t w = 0; w < width / 8; w++) {
    uint64_t h = w ? tl_hash(tmp, n + 1) : tl_hash(s, n);
    for (int i = 0; i < 8; i++) out[w * 8 + (size_t)i] = (uint8_t)(h >> (56 - 8 * i));
  }
  *opaque = 1;
  return TL_OK;
}

/* api_v2 ids: base64 of 8 or 16 bytes (trace) or 8 bytes (span); an 8-byte
** trace id is the low half of a 16-byte one. */
static int read_v2_id(jr_ctx *c, const char *what, const char *s, size_t n, size_t width,
                      uint8_t *out) {
  uint8_t tmp[48];
  long got = n <= 60 ? tl_base64_decode(s, n, tmp, sizeof tmp) : -1;
  memset(out, 0, width);
  if (got == (long)width || (width == 16 && got == 8)) {
    memcpy(out + width - (size_t)got, tmp, (size_t)got);
    return TL_OK;
  }
  return bad(c, TL_EFORMAT, "%s \"%.*s\" is not base64 of %s bytes", what, qlen(n), s,
             width == 16 ? "8 or 16" : "8");
}

/* Reads the id in member j (required).  *opaque is set for hashed ids. */
static int read_id(jr_ctx *c, const char *what, const json_t *j, size_t width, uint8_t *out,
                   int *opaque) {
  *opaque = 0;
  if (!j) return bad(c, TL_EFORMAT, "no %s", what);
  if (!json_is_string(j)) return bad(c, TL_EFORMAT, "%s is not a string", what);
  const char *s = json_string_value(j);
  size_t n = json_string_length(j);
  if (c->d->v2) return read_v2_id(c, what, s, n, width, out);
  return read_ui_id(c, what, s, n, width, out, opaque);
}

/* ---- times ------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* n decimal digits at s, or -1. */
static int64_t digits(const char *s, size_t n) {
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+hh:mm|-hh:mm), 't', 'z' and a
** space separator accepted.  0 and *ns on success, -1 if malformed or
** outside 1970..2554 (the range of uint64 nanoseconds). */
static int parse_rfc3339(const char *s, size_t n, uint64_t *ns) {
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (n < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
    return -1;
  int64_t y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
  int64_t h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      sec < 0 || sec > 60)
    return -1;
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > mdays[mo - 1] + (mo == 2 && leap)) return -1;
  size_t i = 19;
  uint64_t frac = 0;
  if (s[i] == '.') {
    size_t k = 0;
    for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, k++) {
      if (k == 9) return -1;
      frac = frac * 10 + (uint64_t)(s[i] - '0');
    }
    if (k == 0) return -1;
    for (; k < 9; k++) frac *= 10;
  }
  int64_t off = 0;
  if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
    off = 0;
  } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int64_t oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return -1;
    off = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
  } else {
    return -1;
  }
  int64_t secs = days_from_civil(y, (int)mo, (int)d) * 86400 + h * 3600 + mi * 60 + sec - off;
  if (secs < 0 || (uint64_t)secs > (UINT64_MAX - frac) / 1000000000u) return -1;
  *ns = (uint64_t)secs * 1000000000u + frac;
  return 0;
}

/* Go / protobuf duration text: one or more <decimal><unit> with units ns,
** us, µs, ms, s, m, h ("100000ns", "1.5s", "1m30s"), or "0", or bare
** digits meaning nanoseconds.  0 on success, -1 malformed or too large,
** -2 negative. */
static int parse_duration(const char *s, size_t n, uint64_t *ns) {
  static const struct {
    const char *name;
    uint64_t ns;
  } units[] = {{"ns", 1},         {"us", 1000},        {"\xc2\xb5s", 1000},
               {"\xce\xbcs", 1000}, {"ms", 1000000},   {"s", 1000000000},
               {"m", 60000000000}, {"h", 3600000000000}};
  if (n && s[0] == '-') return -2;
  if (n && s[0] == '+') s++, n--;
  if (n == 0) return -1;
  int64_t all = n <= 18 ? digits(s, n) : -1;
  if (all >= 0) {
    *ns = (uint64_t)all;
    return 0;
  }
  uint64_t total = 0;
  size_t i = 0;
  while (i < n) {
    uint64_t ip = 0, fd = 0, p10 = 1;
    size_t start = i, fdigits = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
      if (ip > (UINT64_MAX - 9) / 10) return -1;
      ip = ip * 10 + (uint64_t)(s[i] - '0');
    }
    if (i < n && s[i] == '.') {
      for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, fdigits++) {
        if (fdigits < 18) { /* further digits are below a nanosecond */
          fd = fd * 10 + (uint64_t)(s[i] - '0');
          p10 *= 10;
        }
      }
    }
    if (i == start || (i == start + 1 && s[start] == '.')) return -1;
    size_t u = 0, nu = sizeof units / sizeof units[0];
    for (; u < nu; u++) {
      size_t ul = strlen(units[u].name);
      if (ul <= n - i && memcmp(s + i, units[u].name, ul) == 0) break;
    }
    if (u == nu) return -1;
    i += strlen(units[u].name);
    uint64_t unit = units[u].ns;
    if (ip > UINT64_MAX / unit) return -1;
    uint64_t part = ip * unit + (uint64_t)((double)fd * (double)unit / (double)p10 + 0.5);
    if (part < ip * unit || total > UINT64_MAX - part) return -1;
    total += part;
  }
  *ns = total;
  return 0;
}

/* A non-negative JSON integer of microseconds, as nanoseconds. */
static int read_micros(jr_ctx *c, const char *what, const json_t *j, uint64_t *ns) {
  if (!json_is_integer(j))
    return bad(c, TL_EFORMAT, "%s is not an integer (microseconds)", what);
  json_int_t us = json_integer_value(j);
  if (us < 0) return bad(c, TL_EFORMAT, "%s %lld is negative", what, (long long)us);
  if ((uint64_t)us > UINT64_MAX / 1000)
    return bad(c, TL_ERANGE, "%s %lld is past year 2554", what, (long long)us);
  *ns = (uint64_t)us * 1000;
  return TL_OK;
}

/* A timestamp: microseconds (query/UI) or RFC 3339 text (api_v2). */
static int read_time(jr_ctx *c, const char *what, const json_t *j, uint64_t *ns) {
  if (!j) return bad(c, TL_EFORMAT, "no %s", what);
  if (!c->d->v2) return read_micros(c, what, j, ns);
  if (!json_is_string(j)) return bad(c, TL_EFORMAT, "%s is not an RFC 3339 string", what);
  const char *s = json_string_value(j);
  size_t n = json_string_length(j);
  if (parse_rfc3339(s, n, ns))
    return bad(c, TL_EFORMAT, "%s \"%.*s\" is not an RFC 3339 time between 1970 and 2554",
               what, qlen(n), s);
  return TL_OK;
}

/* A duration: microseconds (query/UI); a Duration string or nanoseconds
** (api_v2).  Absent means 0, as protobuf JSON omits zero values. */
static int read_duration(jr_ctx *c, const json_t *j, uint64_t *ns) {
  *ns = 0;
  if (!j || json_is_null(j)) return TL_OK;
  if (!c->d->v2) return read_micros(c, "duration", j, ns);
  if (json_is_integer(j)) {
    json_int_t v = json_integer_value(j);
    if (v < 0) return bad(c, TL_EFORMAT, "duration %lld is negative", (long long)v);
    *ns = (uint64_t)v;
    return TL_OK;
  }
  if (!json_is_string(j))
    return bad(c, TL_EFORMAT, "duration is neither a string nor an integer (nanoseconds)");
  const char *s = json_string_value(j);
  size_t n = json_string_length(j);
  int r = parse_duration(s, n, ns);
  if (r == -2) return bad(c, TL_EFORMAT, "duration \"%.*s\" is negative", qlen(n), s);
  if (r) return bad(c, TL_EFORMAT, "duration \"%.*s\" is not a duration", qlen(n), s);
  return TL_OK;
}

/* ---- tags ----------------------------------------------------------------- */

enum { JT_STRING, JT_BOOL, JT_INT64, JT_FLOAT64, JT_BINARY, JT_COUNT };
static const char *const type_names[JT_COUNT] = {"string", "bool", "int64", "float64",
                                                 "binary"};
/* api_v2 value members, by type, in both spellings. */
static const char *const v2_members[JT_COUNT][2] = {{"vStr", "v_str"},
                                                    {"vBool", "v_bool"},
                                                    {"vInt64", "v_int64"},
                                                    {"vFloat64", "v_float64"},
                                                    {"vBinary", "v_binary"}};

/* Where a tag is: list "tags", "process.tags", "logs[2].fields"; index i. */
typedef struct jr_where {
  const char *list;
  size_t i;
  const json_t *key;
} jr_where;

static int bad_tag(jr_ctx *c, const jr_where *w, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int bad_tag(jr_ctx *c, const jr_where *w, const char *fmt, ...) {
  char what[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (!w->key) return bad(c, TL_EFORMAT, "%s[%zu]: %s", w->list, w->i, what);
  return bad(c, TL_EFORMAT, "%s[%zu] (\"%.*s\"): %s", w->list, w->i,
             qlen(json_string_length(w->key)), json_string_value(w->key), what);
}

static int parse_type_name(const char *s) {
  for (int t = 0; t < JT_COUNT; t++)
    if (strcasecmp(s, type_names[t]) == 0) return t;
  return -1;
}

/* s[0..n) as a whole decimal int64 / double (no spaces). */
static int text_int64(const char *s, size_t n, int64_t *out) {
  if (n == 0 || n > 20 || isspace((unsigned char)s[0]) || s[0] == '+') return -1;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end != s + n) return -1;
  *out = v;
  return 0;
}

static int text_double(const char *s, size_t n, double *out) {
  if (n > 64 || (n && isspace((unsigned char)s[0]))) return -1;
  return tl_parse_double(s, n, out);
}

/* Binary values: base64 (the query API, api_v2) or hex (the string-valued
** flat span arrays).  Text that does not decode is kept as a string when
** `lenient`, so nothing is lost. */
static int binary_value(jr_ctx *c, const jr_where *w, const json_t *j, int hex, int lenient,
                        tl_value *out) {
  const char *s = json_string_value(j);
  size_t n = json_string_length(j);
  size_t cap = hex ? n / 2 : tl_base64_max(n);
  uint8_t *p = cap ? tl_batch_alloc(c->b, cap) : NULL;
  if (cap && !p) return oom(c);
  long got = hex ? tl_hex_decode(s, n, p, cap) : tl_base64_decode(s, n, p, cap);
  if (got >= 0) {
    out->type = TL_V_BYTES;
    out->u.s.ptr = got ? (const char *)p : NULL;
    out->u.s.len = (uint32_t)got;
    return TL_OK;
  }
  if (!lenient)
    return bad_tag(c, w, "binary value \"%.*s\" is not base64", qlen(n), s);
  out->type = TL_V_STRING;
  return intern_json(c, j, &out->u.s);
}

/* The value j of Jaeger type t.  NULL j is the type's zero value
** (protobuf JSON omits zero values).  Numbers and booleans may also come
** as their text, as the string-valued exports write them. */
static int typed_value(jr_ctx *c, const jr_where *w, int t, const json_t *j, tl_value *out) {
  memset(out, 0, sizeof *out);
  static const uint8_t vtype[JT_COUNT] = {TL_V_STRING, TL_V_BOOL, TL_V_INT, TL_V_DOUBLE,
                                          TL_V_BYTES};
  out->type = vtype[t];
  if (!j || json_is_null(j)) return TL_OK;
  const char *s = json_string_value(j);
  size_t n = json_string_length(j);
  switch (t) {
    case JT_STRING:
      if (!s) return bad_tag(c, w, "string value is not a JSON string");
      return intern(c, s, n, &out->u.s);
    case JT_BOOL:
      if (json_is_boolean(j)) {
        out->u.b = json_is_true(j);
      } else if (s && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)) {
        out->u.b = s[0] == 't';
      } else {
        return bad_tag(c, w, "bool value is neither true nor false");
      }
      return TL_OK;
    case JT_INT64:
      if (json_is_integer(j)) {
        out->u.i = json_integer_value(j);
      } else if (!s || text_int64(s, n, &out->u.i)) {
        return bad_tag(c, w, "int64 value is not a 64-bit integer");
      }
      return TL_OK;
    case JT_FLOAT64:
      if (json_is_number(j)) {
        out->u.d = json_number_value(j);
      } else if (!s || text_double(s, n, &out->u.d)) {
        return bad_tag(c, w, "float64 value is not a number");
      }
      return TL_OK;
    default:
      if (!s) return bad_tag(c, w, "binary value is not a string");
      return binary_value(c, w, j, c->u->hex_binary && !c->d->v2, !c->d->v2, out);
  }
}

/* The value of a query/UI tag {key, type, value}.  Without "type", the
** JSON type of the value decides. */
static int ui_tag_value(jr_ctx *c, const jr_where *w, const json_t *kv, tl_value *out) {
  const json_t *jt = opt(kv, "type"), *jv = json_object_get(kv, "value");
  int t;
  if (!jv) return bad_tag(c, w, "no \"value\"");
  if (jt) {
    if (!json_is_string(jt)) return bad_tag(c, w, "\"type\" is not a string");
    if ((t = parse_type_name(json_string_value(jt))) < 0)
      return bad_tag(c, w, "unknown type \"%.*s\"", qlen(json_string_length(jt)),
                     json_string_value(jt));
  } else if (json_is_string(jv)) {
    t = JT_STRING;
  } else if (json_is_boolean(jv)) {
    t = JT_BOOL;
  } else if (json_is_integer(jv)) {
    t = JT_INT64;
  } else if (json_is_real(jv)) {
    t = JT_FLOAT64;
  } else {
    return bad_tag(c, w, "no \"type\", and the value is not a string, bool or number");
  }
  return typed_value(c, w, t, jv, out);
}

/* The value of an api_v2 KeyValue {key, vType, vStr|vBool|...}: vType is
** an enum name or number, and STRING (0) when absent. */
static int v2_tag_value(jr_ctx *c, const jr_where *w, const json_t *kv, tl_value *out) {
  static const char *const vtype_names[2] = {"vType", "v_type"};
  const json_t *jt = field(kv, vtype_names);
  int t = JT_STRING;
  if (jt && !json_is_null(jt)) {
    if (json_is_integer(jt)) {
      json_int_t v = json_integer_value(jt);
      t = v >= 0 && v < JT_COUNT ? (int)v : -1;
    } else if (json_is_string(jt)) {
      t = parse_type_name(json_string_value(jt));
    } else {
      t = -1;
    }
    if (t < 0) return bad_tag(c, w, "unknown vType");
  }
  return typed_value(c, w, t, field(kv, v2_members[t]), out);
}

/* Appends the tags of array `tags` (absent or null: none) to the scratch. */
static int push_tags(jr_ctx *c, const json_t *tags, const char *list) {
  if (!tags || json_is_null(tags)) return TL_OK;
  if (!json_is_array(tags)) return bad(c, TL_EFORMAT, "%s is not an array", list);
  for (size_t i = 0; i < json_array_size(tags); i++) {
    const json_t *kv = json_array_get(tags, i);
    jr_where w = {list, i, NULL};
    if (!json_is_object(kv)) return bad_tag(c, &w, "not an object");
    const json_t *jk = json_object_get(kv, "key");
    if (!json_is_string(jk)) return bad_tag(c, &w, "\"key\" is not a string");
    w.key = jk;
    tl_str key;
    tl_value v;
    int rc = intern_json(c, jk, &key);
    if (!rc) rc = c->d->v2 ? v2_tag_value(c, &w, kv, &v) : ui_tag_value(c, &w, kv, &v);
    if (rc) return rc;
    if (tl_kvbuf_push(&c->st->kb, key, v)) return oom(c);
  }
  return TL_OK;
}

/* A non-empty array of strings as an array attribute; *have 0 when the
** member is absent, null or empty. */
static int strings_value(jr_ctx *c, const json_t *arr, const char *what, tl_value *out,
                         int *have) {
  *have = 0;
  if (!arr || json_is_null(arr)) return TL_OK;
  if (!json_is_array(arr)) return bad(c, TL_EFORMAT, "%s is not an array", what);
  size_t n = json_array_size(arr);
  if (!n) return TL_OK;
  tl_value *items = tl_batch_alloc(c->b, n * sizeof *items);
  if (!items) return oom(c);
  for (size_t i = 0; i < n; i++) {
    const json_t *s = json_array_get(arr, i);
    if (!json_is_string(s)) return bad(c, TL_EFORMAT, "%s[%zu] is not a string", what, i);
    items[i].type = TL_V_STRING;
    int rc = intern_json(c, s, &items[i].u.s);
    if (rc) return rc;
  }
  out->type = TL_V_ARRAY;
  out->u.arr.items = items;
  out->u.arr.n = (uint32_t)n;
  *have = 1;
  return TL_OK;
}

/* ---- resources and scopes ---------------------------------------------- */

static uint64_t value_hash(const tl_value *v) {
  switch (v->type) {
    case TL_V_STRING: return (uintptr_t)v->u.s.ptr;
    case TL_V_BYTES: return tl_hash(v->u.s.ptr, v->u.s.len);
    case TL_V_BOOL: return (uint64_t)v->u.b;
    case TL_V_INT: return (uint64_t)v->u.i;
    case TL_V_DOUBLE: {
      uint64_t bits;
      memcpy(&bits, &v->u.d, sizeof bits);
      return bits;
    }
    default: return 0;
  }
}

/* Process tags are scalars, and strings are interned: pointers compare. */
static int value_eq(const tl_value *a, const tl_value *b) {
  if (a->type != b->type) return 0;
  switch (a->type) {
    case TL_V_STRING: return a->u.s.ptr == b->u.s.ptr;
    case TL_V_BYTES:
      return a->u.s.len == b->u.s.len &&
             (!a->u.s.len || !memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len));
    case TL_V_BOOL: return a->u.b == b->u.b;
    case TL_V_INT: return a->u.i == b->u.i;
    case TL_V_DOUBLE: return !memcmp(&a->u.d, &b->u.d, sizeof a->u.d);
    default: return 0;
  }
}

typedef struct kv_run {
  const tl_kv *items;
  uint32_t n;
} kv_run;

static int resource_eq(const void *val, const void *arg) {
  const tl_resource *r = val;
  const kv_run *run = arg;
  if (r->attrs.n != run->n) return 0;
  for (uint32_t i = 0; i < run->n; i++) {
    if (r->attrs.items[i].key.ptr != run->items[i].key.ptr ||
        !value_eq(&r->attrs.items[i].value, &run->items[i].value))
      return 0;
  }
  return 1;
}

/* The resource of a process object, shared by every span of the batch
** whose process is the same object or has the same content. */
static int resource_of(jr_ctx *c, const json_t *proc, const tl_resource **out) {
  jr_state *st = c->st;
  if (map_reserve(&st->res_by_json) || map_reserve(&st->res_by_content)) return oom(c);
  uint64_t pkey = mix(0, (uintptr_t)proc);
  jr_slot *ps = map_find(&st->res_by_json, pkey, proc, NULL, NULL);
  if (ps->val) {
    *out = ps->val;
    return TL_OK;
  }
  if (!json_is_object(proc)) return bad(c, TL_EFORMAT, "process is not an object");
  uint32_t from = st->kb.n;
  const json_t *svc = opt(proc, c->d->service[0]);
  if (!svc && c->d->service[1]) svc = opt(proc, c->d->service[1]);
  int rc = TL_OK;
  if (svc) {
    if (!json_is_string(svc)) return bad(c, TL_EFORMAT, "process.serviceName is not a string");
    rc = push_string_attr(c, "service.name", json_string_value(svc), json_string_length(svc));
  }
  if (!rc) rc = push_tags(c, json_object_get(proc, "tags"), "process.tags");
  if (rc) return rc;
  kv_run run = {st->kb.n > from ? st->kb.items + from : NULL, st->kb.n - from};
  uint64_t ckey = 0;
  for (uint32_t i = 0; i < run.n; i++)
    ckey = mix(mix(ckey, (uintptr_t)run.items[i].key.ptr), value_hash(&run.items[i].value));
  jr_slot *cs = map_find(&st->res_by_content, ckey, NULL, resource_eq, &run);
  tl_resource *r = cs->val;
  if (r) {
    st->kb.n = from;
  } else {
    r = tl_batch_alloc(c->b, sizeof *r);
    if (!r || tl_kvbuf_take(&st->kb, from, c->b, &r->attrs)) return oom(c);
    tl_resource_set_service(r);
    map_put(&st->res_by_content, cs, ckey, NULL, r);
  }
  map_put(&st->res_by_json, ps, pkey, proc, r);
  *out = r;
  return TL_OK;
}

/* The process object of a span: by id from the trace's processes, else
** embedded, else the batch's; NULL when the span has none. */
static int span_process(jr_ctx *c, const json_t *sp, const json_t **out) {
  *out = NULL;
  const json_t *pid = field(sp, c->d->process_id);
  const char *id = NULL;
  size_t idn = 0;
  if (pid && !json_is_null(pid)) {
    if (!json_is_string(pid)) return bad(c, TL_EFORMAT, "processID is not a string");
    id = json_string_value(pid);
    idn = json_string_length(pid);
    if (json_is_object(c->u->processes)) *out = json_object_getn(c->u->processes, id, idn);
    for (size_t i = 0; !*out && i < json_array_size(c->u->process_map); i++) {
      static const char *const pid_names[2] = {"processId", "process_id"};
      const json_t *m = json_array_get(c->u->process_map, i);
      const json_t *mid = field(m, pid_names);
      if (json_is_string(mid) && json_string_length(mid) == idn &&
          memcmp(json_string_value(mid), id, idn) == 0)
        *out = json_object_get(m, "process");
    }
  }
  if (!*out) *out = opt(sp, "process");
  if (!*out && id)
    return bad(c, TL_EFORMAT, "processID \"%.*s\" is not in the trace's processes", qlen(idn),
               id);
  if (!*out) *out = c->u->process;
  return TL_OK;
}

static int scope_eq(const void *val, const void *arg) {
  const tl_scope *a = val, *b = arg;
  return a->name.ptr == b->name.ptr && a->version.ptr == b->version.ptr;
}

static int scope_of(jr_ctx *c, tl_str name, tl_str version, const tl_scope **out) {
  if (!name.len && !version.len) {
    *out = tl_batch_empty_scope(c->b);
    return TL_OK;
  }
  jr_map *m = &c->st->scopes;
  if (map_reserve(m)) return oom(c);
  tl_scope want = {.name = name, .version = version};
  uint64_t key = mix(mix(0, (uintptr_t)name.ptr), (uintptr_t)version.ptr);
  jr_slot *s = map_find(m, key, NULL, scope_eq, &want);
  if (!s->val) {
    tl_scope *sc = tl_batch_alloc(c->b, sizeof *sc);
    if (!sc) return oom(c);
    *sc = want;
    map_put(m, s, key, NULL, sc);
  }
  *out = s->val;
  return TL_OK;
}

/* ---- tags with an OTLP meaning -------------------------------------------- */

enum {
  SP_KIND, SP_ERROR, SP_STATUS_CODE, SP_STATUS_DESC, SP_SCOPE_NAME, SP_LIB_NAME,
  SP_SCOPE_VERSION, SP_LIB_VERSION, SP_COUNT
};
static const char *const special_keys[SP_COUNT] = {
    "span.kind",       "error",             "otel.status_code",   "otel.status_description",
    "otel.scope.name", "otel.library.name", "otel.scope.version", "otel.library.version"};

static int is_str(const tl_value *v) { return v && v->type == TL_V_STRING; }

/* Derives kind, status and scope from the span's tags in kb[from..), which
** stay attributes. The first tag of each key counts. */
static int apply_special_tags(jr_ctx *c, tl_span *s, uint32_t from) {
  const tl_value *sp[SP_COUNT] = {0};
  for (uint32_t i = from; i < c->st->kb.n; i++) {
    const tl_kv *kv = &c->st->kb.items[i];
    for (int k = 0; k < SP_COUNT; k++) {
      if (!sp[k] && kv->key.len == strlen(special_keys[k]) &&
          memcmp(kv->key.ptr, special_keys[k], kv->key.len) == 0)
        sp[k] = &kv->value;
    }
  }
  if (is_str(sp[SP_KIND])) {
    int k = tl_kind_parse(sp[SP_KIND]->u.s.ptr, sp[SP_KIND]->u.s.len);
    if (k > 0) s->kind = (uint8_t)k;
  }
  int code = is_str(sp[SP_STATUS_CODE])
                 ? tl_status_parse(sp[SP_STATUS_CODE]->u.s.ptr, sp[SP_STATUS_CODE]->u.s.len)
                 : -1;
  const tl_value *err = sp[SP_ERROR];
  if (code < 0 && err &&
      ((err->type == TL_V_BOOL && err->u.b) ||
       (is_str(err) && err->u.s.len == 4 && memcmp(err->u.s.ptr, "true", 4) == 0)))
    code = TL_STATUS_ERROR;
  if (code >= 0) s->status_code = (uint8_t)code;
  if (is_str(sp[SP_STATUS_DESC])) s->status_message = sp[SP_STATUS_DESC]->u.s;
  const tl_value *name = is_str(sp[SP_SCOPE_NAME]) ? sp[SP_SCOPE_NAME] : sp[SP_LIB_NAME];
  const tl_value *ver = is_str(sp[SP_SCOPE_VERSION]) ? sp[SP_SCOPE_VERSION] : sp[SP_LIB_VERSION];
  tl_str none = {NULL, 0};
  return scope_of(c, is_str(name) ? name->u.s : none, is_str(ver) ? ver->u.s : none,
                  &s->scope);
}

/* ---- references -------------------------------------------------------- */

/* Reads references into parent and links; the links' attributes keep the
** reference type and the text of hashed ids.  *opaque_parent points at
** the parent's id text when it was hashed. */
static int read_references(jr_ctx *c, tl_span *s, const json_t *refs, int *have_parent,
                           const json_t **opaque_parent) {
  *have_parent = 0;
  *opaque_parent = NULL;
  if (!refs || json_is_null(refs)) return TL_OK;
  if (!json_is_array(refs)) return bad(c, TL_EFORMAT, "references is not an array");
  size_t n = json_array_size(refs);
  if (!n) return TL_OK;
  tl_link *links = tl_batch_alloc(c->b, n * sizeof *links);
  if (!links) return oom(c);
  uint32_t nl = 0;
  for (size_t i = 0; i < n; i++) {
    const json_t *r = json_array_get(refs, i);
    char what[48];
    if (!json_is_object(r)) return bad(c, TL_EFORMAT, "references[%zu] is not an object", i);
    /* Reference type: CHILD_OF (the protobuf zero value, so absent) or
    ** FOLLOWS_FROM, by name or enum number. */
    const json_t *jt = field(r, c->d->ref_type);
    int follows = 0;
    if (jt && !json_is_null(jt)) {
      const char *t = json_string_value(jt);
      if (t && strcasecmp(t, "CHILD_OF") == 0) follows = 0;
      else if (t && strcasecmp(t, "FOLLOWS_FROM") == 0) follows = 1;
      else if (json_is_integer(jt) && (json_integer_value(jt) & ~1) == 0)
        follows = (int)json_integer_value(jt);
      else
        return bad(c, TL_EFORMAT, "references[%zu]: unknown refType", i);
    }
    tl_link *l = &links[nl];
    int op_trace = 0, op_span;
    const json_t *jtid = field(r, c->d->trace_id), *jsid = field(r, c->d->span_id);
    /* No trace id (or the protobuf empty one): the span's own trace. */
    if (!jtid || json_is_null(jtid) || (c->d->v2 && json_string_length(jtid) == 0 &&
                                        json_is_string(jtid))) {
      memcpy(l->trace_id, s->trace_id, 16);
      jtid = NULL;
    } else {
      snprintf(what, sizeof what, "references[%zu].traceID", i);
      int rc = read_id(c, what, jtid, 16, l->trace_id, &op_trace);
      if (rc) return rc;
    }
    snprintf(what, sizeof what, "references[%zu].spanID", i);
    int rc = read_id(c, what, jsid, 8, l->span_id, &op_span);
    if (rc) return rc;
    if (!follows && !*have_parent && memcmp(l->trace_id, s->trace_id, 16) == 0) {
      memcpy(s->parent_span_id, l->span_id, 8);
      *have_parent = 1;
      if (op_span) *opaque_parent = jsid;
      continue;
    }
    uint32_t from = c->st->kb.n;
    rc = push_string_attr(c, "jaeger.ref_type", follows ? "follows_from" : "child_of",
                          follows ? 12 : 8);
    if (!rc && op_trace)
      rc = push_string_attr(c, "jaeger.trace_id", json_string_value(jtid),
                            json_string_length(jtid));
    if (!rc && op_span)
      rc = push_string_attr(c, "jaeger.span_id", json_string_value(jsid),
                            json_string_length(jsid));
    if (rc) return rc;
    if (tl_kvbuf_take(&c->st->kb, from, c->b, &l->attrs)) return oom(c);
    nl++;
  }
  s->links = nl ? links : NULL;
  s->n_links = nl;
  return TL_OK;
}

/* ---- logs ---------------------------------------------------------------- */

static int read_logs(jr_ctx *c, tl_span *s, const json_t *logs) {
  if (!logs || json_is_null(logs)) return TL_OK;
  if (!json_is_array(logs)) return bad(c, TL_EFORMAT, "logs is not an array");
  size_t n = json_array_size(logs);
  if (!n) return TL_OK;
  tl_event *ev = tl_batch_alloc(c->b, n * sizeof *ev);
  if (!ev) return oom(c);
  for (size_t i = 0; i < n; i++) {
    const json_t *log = json_array_get(logs, i);
    char what[48];
    if (!json_is_object(log)) return bad(c, TL_EFORMAT, "logs[%zu] is not an object", i);
    snprintf(what, sizeof what, "logs[%zu].timestamp", i);
    int rc = read_time(c, what, json_object_get(log, "timestamp"), &ev[i].time_ns);
    uint32_t from = c->st->kb.n;
    snprintf(what, sizeof what, "logs[%zu].fields", i);
    if (!rc) rc = push_tags(c, json_object_get(log, "fields"), what);
    if (rc) return rc;
    /* The first string field "event" names the event; it stays an attribute. */
    for (uint32_t k = from; k < c->st->kb.n; k++) {
      const tl_kv *kv = &c->st->kb.items[k];
      if (kv->key.len == 5 && memcmp(kv->key.ptr, "event", 5) == 0 &&
          kv->value.type == TL_V_STRING) {
        ev[i].name = kv->value.u.s;
        break;
      }
    }
    if (tl_kvbuf_take(&c->st->kb, from, c->b, &ev[i].attrs)) return oom(c);
  }
  s->events = ev;
  s->n_events = (uint32_t)n;
  return TL_OK;
}

/* ---- one span ------------------------------------------------------------ */

static int fill_span(jr_ctx *c, const json_t *sp, tl_span *s) {
  const jr_dialect *d = c->d;
  const json_t *jtid = field(sp, d->trace_id), *jsid = field(sp, d->span_id);
  int op_trace, op_span, rc;
  if ((rc = read_id(c, "traceID", jtid, 16, s->trace_id, &op_trace)) ||
      (rc = read_id(c, "spanID", jsid, 8, s->span_id, &op_span)))
    return rc;
  /* The all-zero id is the invalid id of W3C and OTLP: it would merge
  ** unrelated traces and make a span look like "no parent". */
  static const uint8_t zero[16];
  if (!memcmp(s->trace_id, zero, 16) || !memcmp(s->span_id, zero, 8)) {
    const json_t *z = memcmp(s->trace_id, zero, 16) ? jsid : jtid;
    return bad(c, TL_EFORMAT, "%s \"%.*s\" is all zeros", z == jtid ? "traceID" : "spanID",
               qlen(json_string_length(z)), json_string_value(z));
  }

  const json_t *jname = opt(sp, d->operation[0]);
  if (!jname && d->operation[1]) jname = opt(sp, d->operation[1]);
  if (jname && !json_is_string(jname))
    return bad(c, TL_EFORMAT, "operationName is not a string");
  if (jname && (rc = intern_json(c, jname, &s->name))) return rc;

  const json_t *jflags = opt(sp, "flags");
  if (jflags) {
    json_int_t f = json_integer_value(jflags);
    if (!json_is_integer(jflags) || f < 0 || f > (json_int_t)UINT32_MAX)
      return bad(c, TL_EFORMAT, "flags is not a 32-bit unsigned integer");
    s->flags = (uint32_t)f;
  }

  uint64_t dur;
  if ((rc = read_time(c, "startTime", field(sp, d->start), &s->start_ns)) ||
      (rc = read_duration(c, json_object_get(sp, "duration"), &dur)))
    return rc;
  if (dur > UINT64_MAX - s->start_ns)
    return bad(c, TL_ERANGE, "startTime + duration is past year 2554");
  s->end_ns = s->start_ns + dur;

  const json_t *proc;
  if ((rc = span_process(c, sp, &proc))) return rc;
  if (proc && (rc = resource_of(c, proc, &s->resource))) return rc;

  /* Attributes: tags, then what Jaeger holds outside tags. */
  uint32_t from = c->st->kb.n;
  if ((rc = push_tags(c, json_object_get(sp, "tags"), "tags")) ||
      (rc = apply_special_tags(c, s, from)))
    return rc;
  tl_value w = {0};
  int have;
  if ((rc = strings_value(c, json_object_get(sp, "warnings"), "warnings", &w, &have)) ||
      (have && (rc = push_attr(c, "jaeger.warnings", w))))
    return rc;
  if ((rc = strings_value(c, c->u->trace_warnings, "the trace's warnings", &w, &have)) ||
      (have && (rc = push_attr(c, "jaeger.trace_warnings", w))))
    return rc;

  int have_parent;
  const json_t *op_parent;
  if ((rc = read_references(c, s, json_object_get(sp, "references"), &have_parent,
                            &op_parent)))
    return rc;
  const json_t *jpar = d->v2 ? NULL : opt(sp, "parentSpanID");
  if (!have_parent && jpar) {
    int opaque;
    if ((rc = read_id(c, "parentSpanID", jpar, 8, s->parent_span_id, &opaque))) return rc;
    if (opaque) op_parent = jpar;
  }
  /* Hashed ids keep their text. */
  if ((op_trace && (rc = push_string_attr(c, "jaeger.trace_id", json_string_value(jtid),
                                          json_string_length(jtid)))) ||
      (op_span && (rc = push_string_attr(c, "jaeger.span_id", json_string_value(jsid),
                                         json_string_length(jsid)))) ||
      (op_parent && (rc = push_string_attr(c, "jaeger.parent_span_id",
                                           json_string_value(op_parent),
                                           json_string_length(op_parent)))))
    return rc;
  if (tl_kvbuf_take(&c->st->kb, from, c->b, &s->attrs)) return oom(c);

  return read_logs(c, s, json_object_get(sp, "logs"));
}

static int convert_span(jr_ctx *c, const json_t *sp) {
  if (!json_is_object(sp)) return bad(c, TL_EFORMAT, "not an object");
  if (json_object_get(sp, "traceID")) {
    c->d = &UI;
  } else if (field(sp, V2.trace_id)) {
    c->d = &V2;
  } else {
    return bad(c, TL_EFORMAT, "no traceID");
  }
  tl_span *s = tl_batch_add_span(c->b);
  if (!s) return oom(c);
  int rc = fill_span(c, sp, s);
  if (rc) {
    tl_batch_pop_span(c->b);
    c->st->kb.n = 0;
  }
  return rc;
}

/* ---- the document ---------------------------------------------------------- */

static int doc_bad(jr_state *st, tl_err *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int doc_bad(jr_state *st, tl_err *e, const char *fmt, ...) {
  char what[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return tl_err_set(e, TL_EFORMAT, "%s: %s", st->name, what);
}

/* Adds the span array of trace object `t` (path e.g. "data[2]"). */
static int add_trace(jr_state *st, json_t *t, const char *path, tl_err *e) {
  const char *sep = path[0] ? "." : "";
  if (!json_is_object(t)) return doc_bad(st, e, "%s is not a trace object", path);
  json_t *spans = json_object_get(t, "spans");
  if (!spans) return doc_bad(st, e, "%s%sspans is missing", path, sep);
  if (json_is_null(spans)) return TL_OK; /* Go writes an empty slice as null */
  if (!json_is_array(spans)) return doc_bad(st, e, "%s%sspans is not an array", path, sep);
  jr_unit *u = &st->units[st->n_units++];
  memset(u, 0, sizeof *u);
  u->spans = spans;
  u->processes = opt(t, "processes");
  u->process_map = opt(t, "processMap");
  if (!u->process_map) u->process_map = opt(t, "process_map");
  u->process = opt(t, "process");
  u->trace_warnings = opt(t, "warnings");
  snprintf(u->path, sizeof u->path, "%s%sspans", path, sep);
  if (u->processes && !json_is_object(u->processes))
    return doc_bad(st, e, "%s%sprocesses is not an object", path, sep);
  if (u->process_map && !json_is_array(u->process_map))
    return doc_bad(st, e, "%s%sprocessMap is not an array", path, sep);
  return TL_OK;
}

/* The query API answers a failed query with "data": null and "errors". */
static int query_errors(jr_state *st, const json_t *root, tl_err *e) {
  const json_t *errs = json_object_get(root, "errors");
  if (!json_is_array(errs) || !json_array_size(errs)) return TL_OK;
  const json_t *msg = json_object_get(json_array_get(errs, 0), "msg");
  return doc_bad(st, e, "the Jaeger query failed: %.200s",
                 json_is_string(msg) ? json_string_value(msg) : "(no message)");
}

/* Lists the span arrays of the document (see the file comment). */
static int plan(jr_state *st, tl_err *e) {
  json_t *root = st->root;
  size_t cap = json_is_array(root) ? json_array_size(root) : 0;
  json_t *data = json_is_object(root) ? json_object_get(root, "data") : NULL;
  if (json_is_array(data)) cap = json_array_size(data);
  st->units = calloc(cap ? cap : 1, sizeof *st->units);
  if (!st->units) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", st->name);
  char path[48];
  if (json_is_array(root)) {
    json_t *first = json_array_get(root, 0);
    if (!json_is_object(first) || !json_object_get(first, "spans")) {
      jr_unit *u = &st->units[st->n_units++];
      u->spans = root;
      u->hex_binary = 1; /* string-valued exports write binary as hex */
      return TL_OK;
    }
    for (size_t i = 0; i < json_array_size(root); i++) {
      snprintf(path, sizeof path, "[%zu]", i);
      int rc = add_trace(st, json_array_get(root, i), path, e);
      if (rc) return rc;
    }
    return TL_OK;
  }
  if (data) {
    if (json_is_null(data)) return query_errors(st, root, e);
    if (json_is_object(data)) return add_trace(st, data, "data", e);
    if (!json_is_array(data)) return doc_bad(st, e, "data is neither an array nor an object");
    if (!json_array_size(data)) return query_errors(st, root, e);
    for (size_t i = 0; i < json_array_size(data); i++) {
      snprintf(path, sizeof path, "data[%zu]", i);
      int rc = add_trace(st, json_array_get(data, i), path, e);
      if (rc) return rc;
    }
    return TL_OK;
  }
  json_t *batch = json_object_get(root, "batch");
  if (batch) return add_trace(st, batch, "batch", e);
  if (json_object_get(root, "spans")) return add_trace(st, root, "", e);
  return doc_bad(st, e, "not Jaeger JSON: no \"data\", \"spans\" or \"batch\" member");
}

static void jr_close(void *state) {
  jr_state *st = state;
  if (!st) return;
  json_decref(st->root);
  free(st->units);
  tl_kvbuf_free(&st->kb);
  free(st->res_by_json.slots);
  free(st->res_by_content.slots);
  free(st->scopes.slots);
  free(st->name);
  free(st);
}

static int jr_open(tl_input *in, void **state, tl_err *e) {
  *state = NULL;
  jr_state *st = calloc(1, sizeof *st);
  if (st) st->name = strdup(tl_input_name(in));
  if (!st || !st->name) {
    jr_close(st);
    return tl_err_set(e, TL_ENOMEM, "%s: out of memory", tl_input_name(in));
  }
  const char *data;
  size_t len;
  int rc = tl_input_whole(in, &data, &len, e);
  if (!rc) {
    json_error_t je;
    st->root = json_loadb(data, len, JSON_ALLOW_NUL, &je);
    if (!st->root)
      rc = tl_err_set(e, TL_EFORMAT, "%s: line %d, column %d: invalid JSON: %s", st->name,
                      je.line, je.column, je.text);
  }
  if (!rc) rc = plan(st, e);
  if (rc) {
    jr_close(st);
    return rc;
  }
  *state = st;
  return TL_OK;
}

/* Moves past exhausted units; 0 when no span is left. */
static int more(jr_state *st) {
  while (st->unit < st->n_units && st->idx >= json_array_size(st->units[st->unit].spans)) {
    st->unit++;
    st->idx = 0;
  }
  return st->unit < st->n_units;
}

static int jr_next(void *state, tl_batch *b, size_t max, tl_err *e) {
  jr_state *st = state;
  if (st->failed)
    return tl_err_set(e, st->failed, "%s: the Jaeger reader stopped at an earlier error",
                      st->name);
  /* The caller may have reset the batch: nothing cached points into it. */
  map_clear(&st->res_by_json);
  map_clear(&st->res_by_content);
  map_clear(&st->scopes);
  st->kb.n = 0;
  for (size_t added = 0; added < max; added++) {
    if (!more(st)) return TL_DONE;
    const jr_unit *u = &st->units[st->unit];
    jr_ctx c = {st, b, u, &UI, e};
    int rc = convert_span(&c, json_array_get(u->spans, st->idx));
    if (rc) {
      st->failed = rc;
      return rc;
    }
    st->idx++;
  }
  return more(st) ? TL_OK : TL_DONE;
}

const tl_reader_vt tl_jaeger_reader = {"jaeger", jr_open, jr_next, jr_close};
