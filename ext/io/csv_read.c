/*
** csv_read.c — tl_csv_reader: span tables in CSV with a header row, as
** research datasets publish them (Nezha's TraceID,SpanID,ParentID,PodName,
** OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration) and as anyone
** exports them from a spreadsheet or a query.
**
** Streaming.  Records are read through tl_input_line, so memory is bounded
** by the longest record whatever the file size.  RFC 4180 quoting: a field
** in double quotes may hold commas, "" for a quote, and line breaks (the
** record then continues on the next line; a "\r\n" inside quotes reads back
** as "\n").  Blank lines are skipped.  Every record must have exactly as
** many fields as the header.
**
** Columns are recognised by name, case-insensitively and ignoring '_', '-',
** '.' and spaces (so TraceID, trace_id, traceId and "Trace ID" are one
** name); the tables below list the names of each role.  Time columns carry
** their unit in the name (start_ns, startTime_us, end_ms, StartTimeUnixNano,
** duration_us ...); a start or end column without a unit (StartTime) is
** read by magnitude, as epoch times since 1973 are unambiguous: 18 or more
** digits ns, 15-17 us, 12-14 ms, fewer s.  A duration without a unit
** (Nezha's "Duration") is in microseconds, like Jaeger and Zipkin.  When
** both an end and a duration column exist, the end is used and the
** duration dropped (Nezha's Duration is (end - start) truncated to us).
** Unrecognised columns become string span attributes named by their header;
** empty cells add no attribute, and a column with an empty header is ignored.
**
** Services.  A "service" column names the service.  Without one (or where
** its cell is empty), a pod-name column (PodName) gives the service by
** stripping a Deployment pod's suffix,
** "<deployment>-<replicaset hash>-<pod id>" with both suffixes in the
** Kubernetes name alphabet (no vowels, no 0/1/3): "ts-travel-service-
** 64469b5b48-25zj6" is service "ts-travel-service".  The full pod name is
** kept as resource attribute k8s.pod.name.  Spans of one (service, pod)
** share one tl_resource within each call's batch.
**
** Duplicates.  A record byte-identical to an earlier record of the same
** file is dropped (Nezha repeats whole rows).  The reader remembers the
** last 65,536 to 131,072 records in two hash-set generations of 128-bit
** keys (a 64-bit hash of the record plus its span id): at most ~4 MB, and
** far more than the 4,418 rows that separate the farthest duplicates in
** the Nezha data.  Rows with the same ids but any difference are kept.
*/
#include "reader.h"
#include "../common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_COLUMNS 4096u
#define DEDUP_GENERATION (64u * 1024u) /* records per dedup generation */
#define SHOWN 64                       /* bytes of a bad value quoted in errors */

/* ---- column roles ---------------------------------------------------------- */

typedef enum col_role {
  C_ATTR = 0,
  C_TRACE, C_SPAN, C_PARENT, C_SERVICE, C_POD, C_NAME,
  C_KIND, C_STATUS, C_STATUS_MSG, C_START, C_END, C_DURATION,
  C_ROLES
} col_role;

typedef enum time_unit { U_AUTO = 0, U_NS, U_US, U_MS, U_S } time_unit;

/* Normalised names (lowercase, no '_', '-', '.', ' ') per plain role. */
static const struct {
  const char *name;
  uint8_t role;
} plain_names[] = {
    {"traceid", C_TRACE},          {"spanid", C_SPAN},
    {"parentid", C_PARENT},        {"parentspanid", C_PARENT},
    {"parent", C_PARENT},          {"service", C_SERVICE},
    {"servicename", C_SERVICE},    {"podname", C_POD},
    {"pod", C_POD},                {"k8spodname", C_POD},
    {"operationname", C_NAME},     {"operation", C_NAME},
    {"name", C_NAME},              {"spanname", C_NAME},
    {"kind", C_KIND},              {"spankind", C_KIND},
    {"status", C_STATUS},          {"statuscode", C_STATUS},
    {"statusmessage", C_STATUS_MSG},
};

/* Time columns: a base name, optionally followed by a unit suffix. */
static const struct {
  const char *base;
  uint8_t role;
} time_bases[] = {
    {"start", C_START},        {"starttime", C_START},   {"starttimeunix", C_START},
    {"starttimestamp", C_START}, {"timestamp", C_START}, {"end", C_END},
    {"endtime", C_END},        {"endtimeunix", C_END},   {"endtimestamp", C_END},
    {"duration", C_DURATION},
};

static const struct {
  const char *suffix;
  uint8_t unit;
} unit_suffixes[] = {
    {"nanos", U_NS}, {"nano", U_NS},   {"ns", U_NS},  {"micros", U_US}, {"micro", U_US},
    {"us", U_US},    {"millis", U_MS}, {"milli", U_MS}, {"ms", U_MS},   {"seconds", U_S},
    {"sec", U_S},    {"s", U_S},
};

/* For "no ... column" errors. */
static const char *const role_shown[C_ROLES] = {
    [C_TRACE] = "trace id column (TraceID, trace_id, traceId)",
    [C_SPAN] = "span id column (SpanID, span_id, spanId)",
    [C_START] = "start time column (StartTimeUnixNano, start_ns, startTime_us, StartTime, ...)",
    [C_END] = "end time or duration column (EndTimeUnixNano, end_ns, Duration, duration_ns, ...)",
    [C_PARENT] = "parent id column", [C_SERVICE] = "service column",
    [C_POD] = "pod name column", [C_NAME] = "operation name column",
    [C_KIND] = "span kind column", [C_STATUS] = "status code column",
    [C_STATUS_MSG] = "status message column", [C_DURATION] = "duration column",
};

typedef struct column {
  uint8_t role, unit;
  char *header; /* as written, for attribute keys and messages */
  size_t header_len;
} column;

typedef struct field {
  const char *p;
  size_t n;
} field;

/* ---- duplicate memory ------------------------------------------------------ */

typedef struct dedup_key {
  uint64_t hash; /* never 0: 0 marks a free slot */
  uint64_t span;
} dedup_key;

typedef struct dedup_set {
  dedup_key *slots;
  size_t cap, n; /* cap a power of two */
} dedup_set;

/* ---- per-call resource table ---------------------------------------------- */

typedef struct res_slot {
  const char *service, *pod; /* interned: equal strings, equal pointers */
  const tl_resource *res;
} res_slot;

typedef struct csv_state {
  tl_input *in;
  const char *name;
  column *cols;
  uint32_t ncols;
  int idx[C_ROLES]; /* column of each role, or -1 */
  field *fields;
  uint32_t fields_cap;
  tl_buf rec;       /* a record spanning several lines */
  tl_buf unq;       /* quoted fields, unescaped */
  tl_kvbuf kv;
  tl_str *keys;     /* attribute keys interned in this call's batch */
  res_slot *res;
  size_t res_cap, res_n;
  dedup_set dedup[2]; /* [0] current generation, [1] the one before */
  uint64_t lineno;    /* first line of the current record */
  int eof;
} csv_state;

/* ---- errors ------------------------------------------------------------------ */

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int line_err(csv_state *st, tl_err *e, const char *fmt, ...) {
  char msg[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return tl_err_set(e, TL_EFORMAT, "%s: line %llu: %s", st->name,
                    (unsigned long long)st->lineno, msg);
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int cell_err(csv_state *st, tl_err *e, int col, const char *fmt, ...) {
  char msg[320];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const column *c = &st->cols[col];
  return tl_err_set(e, TL_EFORMAT, "%s: line %llu, column %d (%.*s): %s", st->name,
                    (unsigned long long)st->lineno, col + 1,
                    (int)(c->header_len > SHOWN ? SHOWN : c->header_len), c->header, msg);
}

static int shown_len(size_t n) { return (int)(n > SHOWN ? SHOWN : n); }

/* ---- records --------------------------------------------------------------- */

static int fields_reserve(csv_state *st, uint32_t n, tl_err *e) {
  if (n <= st->fields_cap) return TL_OK;
  if (n > MAX_COLUMNS) return line_err(st, e, "more than %u fields", MAX_COLUMNS);
  uint32_t cap = st->fields_cap ? st->fields_cap * 2 : 16;
  while (cap < n) cap *= 2;
  field *f = realloc(st->fields, cap * sizeof *f);
  if (!f) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", st->name);
  st->fields = f;
  st->fields_cap = cap;
  return TL_OK;
}

/* Splits p[0..n) into st->fields.  Returns TL_OK, TL_DONE when the record
** ends inside quotes (it continues on the next line), or an error. */
static int split_fields(csv_state *st, const char *p, size_t n, uint32_t *nf, tl_err *e) {
  /* Unescaped text is never longer than the record, so the pointers into
  ** st->unq stay valid for the whole record. */
  tl_buf_reset(&st->unq);
  if (tl_buf_reserve(&st->unq, n)) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", st->name);
  uint32_t k = 0;
  size_t i = 0;
  for (;;) {
    int rc = fields_reserve(st, k + 1, e);
    if (rc) return rc;
    field *f = &st->fields[k++];
    if (i < n && p[i] == '"') {
      char *out = st->unq.p + st->unq.n;
      size_t len = 0;
      i++;
      for (;;) {
        const char *q = memchr(p + i, '"', n - i);
        if (!q) return TL_DONE;
        size_t seg = (size_t)(q - (p + i));
        memcpy(out + len, p + i, seg);
        len += seg;
        i += seg + 1;
        if (i < n && p[i] == '"') {
          out[len++] = '"';
          i++;
          continue;
        }
        break;
      }
      st->unq.n += len;
      f->p = out;
      f->n = len;
      if (i < n && p[i] != ',') {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x7f)
          return line_err(st, e, "field %u: '%c' after a closing quote (expected ',')", k, c);
        return line_err(st, e, "field %u: byte 0x%02x after a closing quote (expected ',')",
                        k, c);
      }
    } else {
      const char *c = memchr(p + i, ',', n - i);
      size_t end = c ? (size_t)(c - p) : n;
      f->p = p + i;
      f->n = end - i;
      i = end;
    }
    if (i >= n) break;
    i++; /* the comma */
  }
  *nf = k;
  return TL_OK;
}

/* The next non-blank record, split into fields.  TL_DONE at the end. */
static int next_record(csv_state *st, uint32_t *nf, const char **rec, size_t *rec_n,
                       tl_err *e) {
  const char *line;
  size_t len;
  int rc;
  do {
    rc = tl_input_line(st->in, &line, &len, e);
    if (rc) return rc;
  } while (len == 0);
  st->lineno = tl_input_lineno(st->in);
  const char *p = line;
  size_t n = len;
  while ((rc = split_fields(st, p, n, nf, e)) == TL_DONE) {
    /* A quoted field goes on: gather the lines in st->rec. */
    if (p == line) {
      tl_buf_reset(&st->rec);
      tl_buf_append(&st->rec, line, len);
    }
    rc = tl_input_line(st->in, &line, &len, e);
    if (rc == TL_DONE) return line_err(st, e, "unterminated quoted field");
    if (rc) return rc;
    if (st->rec.n + 1 + len > TL_INPUT_MAX_LINE)
      return tl_err_set(e, TL_ERANGE, "%s: line %llu: a record longer than %u bytes",
                        st->name, (unsigned long long)st->lineno, TL_INPUT_MAX_LINE);
    tl_buf_putc(&st->rec, '\n');
    tl_buf_append(&st->rec, line, len);
    if (st->rec.oom) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", st->name);
    p = st->rec.p;
    n = st->rec.n;
  }
  *rec = p;
  *rec_n = n;
  return rc;
}

/* ---- header ------------------------------------------------------------------ */

/* Lowercase, without '_', '-', '.' and spaces; "" when too long to be a name
** we know. */
static void normalise(const char *p, size_t n, char *out, size_t cap) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (c == '_' || c == '-' || c == '.' || c == ' ') continue;
    if (k + 1 >= cap) {
      k = 0;
      break;
    }
    out[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  out[k] = 0;
}

static int time_base_role(const char *s, size_t n) {
  for (size_t i = 0; i < sizeof time_bases / sizeof time_bases[0]; i++)
    if (strlen(time_bases[i].base) == n && memcmp(time_bases[i].base, s, n) == 0)
      return time_bases[i].role;
  return -1;
}

static void classify(column *c) {
  char norm[64];
  normalise(c->header, c->header_len, norm, sizeof norm);
  size_t n = strlen(norm);
  c->role = C_ATTR;
  c->unit = U_AUTO;
  if (!n) return;
  for (size_t i = 0; i < sizeof plain_names / sizeof plain_names[0]; i++)
    if (strcmp(norm, plain_names[i].name) == 0) {
      c->role = plain_names[i].role;
      return;
    }
  int role = time_base_role(norm, n);
  if (role >= 0) {
    c->role = (uint8_t)role;
    c->unit = role == C_DURATION ? U_US : U_AUTO;
    return;
  }
  for (size_t i = 0; i < sizeof unit_suffixes / sizeof unit_suffixes[0]; i++) {
    size_t sl = strlen(unit_suffixes[i].suffix);
    if (sl >= n || memcmp(norm + n - sl, unit_suffixes[i].suffix, sl) != 0) continue;
    role = time_base_role(norm, n - sl);
    if (role >= 0) {
      c->role = (uint8_t)role;
      c->unit = unit_suffixes[i].unit;
      return;
    }
  }
}

static int read_header(csv_state *st, tl_err *e) {
  uint32_t nf;
  const char *rec;
  size_t rec_n;
  int rc = next_record(st, &nf, &rec, &rec_n, e);
  if (rc == TL_DONE)
    return tl_err_set(e, TL_EFORMAT, "%s: no CSV header row (the input is empty)", st->name);
  if (rc) return rc;
  st->cols = calloc(nf, sizeof *st->cols);
  st->keys = calloc(nf, sizeof *st->keys);
  if (!st->cols || !st->keys) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", st->name);
  st->ncols = nf;
  for (int r = 0; r < C_ROLES; r++) st->idx[r] = -1;
  for (uint32_t i = 0; i < nf; i++) {
    column *c = &st->cols[i];
    c->header = malloc(st->fields[i].n + 1);
    if (!c->header) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", st->name);
    memcpy(c->header, st->fields[i].p, st->fields[i].n);
    c->header[st->fields[i].n] = 0;
    c->header_len = st->fields[i].n;
    classify(c);
    if (c->role == C_ATTR) continue;
    int prev = st->idx[c->role];
    if (prev >= 0)
      return line_err(st, e, "columns %d (%s) and %u (%s) are both the %s", prev + 1,
                      st->cols[prev].header, i + 1, c->header, role_shown[c->role]);
    st->idx[c->role] = (int)i;
  }
  static const uint8_t required[] = {C_TRACE, C_SPAN, C_START};
  for (size_t i = 0; i < sizeof required; i++)
    if (st->idx[required[i]] < 0)
      return tl_err_set(e, TL_EFORMAT, "%s: no %s in the header", st->name,
                        role_shown[required[i]]);
  if (st->idx[C_END] < 0 && st->idx[C_DURATION] < 0)
    return tl_err_set(e, TL_EFORMAT, "%s: no %s in the header", st->name, role_shown[C_END]);
  return TL_OK;
}

/* ---- cell values -------------------------------------------------------------- */

static field trim(field f) {
  while (f.n && (f.p[0] == ' ' || f.p[0] == '\t')) f.p++, f.n--;
  while (f.n && (f.p[f.n - 1] == ' ' || f.p[f.n - 1] == '\t')) f.n--;
  return f;
}

/* A hex id of up to `bytes` bytes, left-padded with zeros. */
static int parse_id(csv_state *st, int col, field f, uint8_t *out, size_t bytes, tl_err *e) {
  char pad[32];
  f = trim(f);
  if (f.n == 0) return cell_err(st, e, col, "empty id");
  if (f.n > bytes * 2)
    return cell_err(st, e, col, "id \"%.*s\" is longer than %zu hex digits", shown_len(f.n),
                    f.p, bytes * 2);
  memset(pad, '0', bytes * 2 - f.n);
  memcpy(pad + bytes * 2 - f.n, f.p, f.n);
  if (tl_hex_decode(pad, bytes * 2, out, bytes) != (long)bytes)
    return cell_err(st, e, col, "invalid hex id \"%.*s\"", shown_len(f.n), f.p);
  return TL_OK;
}

static int is_no_parent(field f) {
  static const char *const none[] = {"root", "-1", "null", "none"};
  if (f.n == 0) return 1;
  for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
    if (strlen(none[i]) == f.n && strncasecmp(f.p, none[i], f.n) == 0) return 1;
  for (size_t i = 0; i < f.n; i++)
    if (f.p[i] != '0') return 0;
  return 1; /* "0", "0000000000000000" */
}

static const uint64_t unit_ns[] = {[U_NS] = 1, [U_US] = 1000, [U_MS] = 1000000,
                                   [U_S] = 1000000000};

/* A non-negative decimal, with an optional fraction, in `unit`, to ns. */
static int parse_time(csv_state *st, int col, field f, time_unit unit, uint64_t *out,
                      tl_err *e) {
  f = trim(f);
  size_t i = 0;
  uint64_t whole = 0;
  while (i < f.n && f.p[i] >= '0' && f.p[i] <= '9') {
    unsigned d = (unsigned)(f.p[i++] - '0');
    if (whole > (UINT64_MAX - d) / 10) goto range;
    whole = whole * 10 + d;
  }
  size_t int_digits = i;
  uint64_t frac = 0, frac_scale = 1;
  if (i < f.n && f.p[i] == '.') {
    i++;
    /* Nanoseconds of a second are 9 digits: more say nothing we keep. */
    for (; i < f.n && f.p[i] >= '0' && f.p[i] <= '9'; i++)
      if (frac_scale < 1000000000u) {
        frac = frac * 10 + (uint64_t)(f.p[i] - '0');
        frac_scale *= 10;
      }
  }
  if (i != f.n || int_digits == 0) {
    if (f.n == 0) return cell_err(st, e, col, "empty time");
    return cell_err(st, e, col, "not a number: \"%.*s\"", shown_len(f.n), f.p);
  }
  if (unit == U_AUTO)
    unit = whole >= 100000000000000000u ? U_NS
           : whole >= 100000000000000u  ? U_US
           : whole >= 100000000000u     ? U_MS
                                        : U_S;
  uint64_t m = unit_ns[unit];
  if (whole > UINT64_MAX / m) goto range;
  *out = whole * m + frac * m / frac_scale;
  if (*out < whole * m) goto range;
  return TL_OK;
range:
  return cell_err(st, e, col, "time \"%.*s\" out of range", shown_len(f.n), f.p);
}

/* A kind or status: empty, a number in [0, max], or a name tl_*_parse takes. */
static int parse_enum_cell(csv_state *st, int col, field f, int max,
                           int (*parse)(const char *, size_t), const char *what,
                           uint8_t *out, tl_err *e) {
  f = trim(f);
  if (f.n == 0) {
    *out = 0;
    return TL_OK;
  }
  int v = -1;
  if (f.n == 1 && f.p[0] >= '0' && f.p[0] <= '9')
    v = f.p[0] - '0';
  else
    v = parse(f.p, f.n);
  if (v < 0 || v > max)
    return cell_err(st, e, col, "unknown %s \"%.*s\"", what, shown_len(f.n), f.p);
  *out = (uint8_t)v;
  return TL_OK;
}

/* ---- services and resources --------------------------------------------------- */

/* Kubernetes generated names use this alphabet (no vowels, no 0, 1, 3). */
static int k8s_name_char(char c) {
  return c && strchr("bcdfghjklmnpqrstvwxz2456789", c) != NULL;
}

static int k8s_suffix(const char *p, size_t n, size_t min, size_t max) {
  if (n < min || n > max) return 0;
  for (size_t i = 0; i < n; i++)
    if (!k8s_name_char(p[i])) return 0;
  return 1;
}

/* The service of a Deployment pod: "<name>-<hash 6..10>-<id 5>" -> "<name>".
** Other names are their own service. */
static size_t pod_service(const char *p, size_t n) {
  const char *d2 = NULL, *d1 = NULL;
  for (size_t i = n; i-- > 0;)
    if (p[i] == '-') {
      if (!d2)
        d2 = p + i;
      else {
        d1 = p + i;
        break;
      }
    }
  if (!d1 || d1 == p) return n;
  if (!k8s_suffix(d2 + 1, (size_t)(p + n - d2 - 1), 5, 5)) return n;
  if (!k8s_suffix(d1 + 1, (size_t)(d2 - d1 - 1), 6, 10)) return n;
  return (size_t)(d1 - p);
}

static const tl_resource *make_resource(csv_state *st, tl_batch *b, tl_str service,
                                        tl_str pod) {
  uint32_t from = st->kv.n;
  tl_value v = {.type = TL_V_STRING};
  if (service.len) {
    v.u.s = service;
    if (tl_kvbuf_push(&st->kv, tl_batch_intern_cstr(b, "service.name"), v)) return NULL;
  }
  if (pod.len) {
    v.u.s = pod;
    if (tl_kvbuf_push(&st->kv, tl_batch_intern_cstr(b, "k8s.pod.name"), v)) return NULL;
  }
  tl_resource *r = tl_batch_alloc(b, sizeof *r);
  if (!r || tl_kvbuf_take(&st->kv, from, b, &r->attrs)) return NULL;
  tl_resource_set_service(r);
  return r;
}

/* The resource of (service, pod), one per pair in this call's batch. */
static const tl_resource *get_resource(csv_state *st, tl_batch *b, tl_str service,
                                       tl_str pod) {
  if (!service.len && !pod.len) return tl_batch_empty_resource(b);
  if ((st->res_n + 1) * 2 > st->res_cap) {
    size_t cap = st->res_cap ? st->res_cap * 2 : 64;
    res_slot *slots = calloc(cap, sizeof *slots);
    if (!slots) return NULL;
    for (size_t i = 0; i < st->res_cap; i++) {
      res_slot *s = &st->res[i];
      if (!s->res) continue;
      size_t j = (((uintptr_t)s->service * 31) ^ (uintptr_t)s->pod) >> 3 & (cap - 1);
      while (slots[j].res) j = (j + 1) & (cap - 1);
      slots[j] = *s;
    }
    free(st->res);
    st->res = slots;
    st->res_cap = cap;
  }
  size_t mask = st->res_cap - 1;
  size_t j = (((uintptr_t)service.ptr * 31) ^ (uintptr_t)pod.ptr) >> 3 & mask;
  for (; st->res[j].res; j = (j + 1) & mask)
    if (st->res[j].service == service.ptr && st->res[j].pod == pod.ptr) return st->res[j].res;
  const tl_resource *r = make_resource(st, b, service, pod);
  if (!r) return NULL;
  st->res[j].service = service.ptr;
  st->res[j].pod = pod.ptr;
  st->res[j].res = r;
  st->res_n++;
  return r;
}

/* ---- duplicates ---------------------------------------------------------------- */

static int dedup_has(const dedup_set *s, dedup_key k) {
  if (!s->cap) return 0;
  for (size_t j = k.hash & (s->cap - 1); s->slots[j].hash; j = (j + 1) & (s->cap - 1))
    if (s->slots[j].hash == k.hash && s->slots[j].span == k.span) return 1;
  return 0;
}

static int dedup_insert(dedup_set *s, dedup_key k) {
  if ((s->n + 1) * 2 > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 1024;
    dedup_key *slots = calloc(cap, sizeof *slots);
    if (!slots) return TL_ENOMEM;
    for (size_t i = 0; i < s->cap; i++) {
      if (!s->slots[i].hash) continue;
      size_t j = s->slots[i].hash & (cap - 1);
      while (slots[j].hash) j = (j + 1) & (cap - 1);
      slots[j] = s->slots[i];
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
  }
  size_t j = k.hash & (s->cap - 1);
  while (s->slots[j].hash) j = (j + 1) & (s->cap - 1);
  s->slots[j] = k;
  s->n++;
  return TL_OK;
}

/* 1 if the record was seen (drop it), 0 if new (now remembered). */
static int seen_before(csv_state *st, const char *rec, size_t n, const uint8_t span[8],
                       tl_err *e) {
  dedup_key k;
  k.hash = tl_hash(rec, n) | 1;
  memcpy(&k.span, span, 8);
  if (dedup_has(&st->dedup[0], k) || dedup_has(&st->dedup[1], k)) return 1;
  if (st->dedup[0].n == DEDUP_GENERATION) {
    /* The older generation is forgotten; the current one becomes it. */
    dedup_set old = st->dedup[1];
    st->dedup[1] = st->dedup[0];
    st->dedup[0] = old;
    st->dedup[0].n = 0;
    if (old.slots) memset(old.slots, 0, old.cap * sizeof *old.slots);
  }
  if (dedup_insert(&st->dedup[0], k))
    return tl_err_set(e, TL_ENOMEM, "%s: out of memory", st->name);
  return 0;
}

/* ---- spans ------------------------------------------------------------------------ */

static tl_str intern_field(tl_batch *b, field f) {
  return tl_batch_intern(b, f.p, f.n);
}

/* Fills s from the current record's fields. */
static int build_span(csv_state *st, tl_batch *b, tl_span *s, tl_err *e) {
  const field *f = st->fields;
  const int *ix = st->idx;
  int rc;
  tl_str svc = {NULL, 0}, pod = {NULL, 0};
  if (ix[C_PARENT] >= 0) {
    field p = trim(f[ix[C_PARENT]]);
    if (!is_no_parent(p) && (rc = parse_id(st, ix[C_PARENT], p, s->parent_span_id, 8, e)))
      return rc;
  }
  if ((rc = parse_time(st, ix[C_START], f[ix[C_START]], st->cols[ix[C_START]].unit,
                       &s->start_ns, e)))
    return rc;
  if (ix[C_END] >= 0) {
    rc = parse_time(st, ix[C_END], f[ix[C_END]], st->cols[ix[C_END]].unit, &s->end_ns, e);
  } else {
    uint64_t d;
    rc = parse_time(st, ix[C_DURATION], f[ix[C_DURATION]], st->cols[ix[C_DURATION]].unit,
                    &d, e);
    if (!rc && d > UINT64_MAX - s->start_ns)
      rc = cell_err(st, e, ix[C_DURATION], "start + duration out of range");
    s->end_ns = s->start_ns + d;
  }
  if (rc) return rc;
  if (ix[C_KIND] >= 0 &&
      (rc = parse_enum_cell(st, ix[C_KIND], f[ix[C_KIND]], TL_KIND_CONSUMER, tl_kind_parse,
                            "span kind", &s->kind, e)))
    return rc;
  if (ix[C_STATUS] >= 0 &&
      (rc = parse_enum_cell(st, ix[C_STATUS], f[ix[C_STATUS]], TL_STATUS_ERROR,
                            tl_status_parse, "status code", &s->status_code, e)))
    return rc;
  int oom = 0;
  if (ix[C_NAME] >= 0 && f[ix[C_NAME]].n) {
    s->name = intern_field(b, f[ix[C_NAME]]);
    oom |= !s->name.ptr;
  }
  if (ix[C_STATUS_MSG] >= 0 && f[ix[C_STATUS_MSG]].n) {
    s->status_message = intern_field(b, f[ix[C_STATUS_MSG]]);
    oom |= !s->status_message.ptr;
  }
  if (ix[C_POD] >= 0 && f[ix[C_POD]].n) {
    pod = intern_field(b, f[ix[C_POD]]);
    oom |= !pod.ptr;
  }
  if (ix[C_SERVICE] >= 0 && f[ix[C_SERVICE]].n) {
    svc = intern_field(b, f[ix[C_SERVICE]]);
    oom |= !svc.ptr;
  } else if (pod.len) {
    svc = tl_batch_intern(b, pod.ptr, pod_service(pod.ptr, pod.len));
    oom |= !svc.ptr;
  }
  if (!oom) s->resource = get_resource(st, b, svc, pod);
  oom |= !s->resource;
  uint32_t from = st->kv.n;
  for (uint32_t i = 0; i < st->ncols && !oom; i++) {
    if (st->cols[i].role != C_ATTR || !f[i].n || !st->cols[i].header_len) continue;
    if (!st->keys[i].ptr) {
      st->keys[i] = tl_batch_intern(b, st->cols[i].header, st->cols[i].header_len);
      oom |= !st->keys[i].ptr;
    }
    tl_value v = {.type = TL_V_STRING};
    v.u.s = intern_field(b, f[i]);
    oom |= !v.u.s.ptr || tl_kvbuf_push(&st->kv, st->keys[i], v) != TL_OK;
  }
  if (!oom) oom = tl_kvbuf_take(&st->kv, from, b, &s->attrs) != TL_OK;
  st->kv.n = from;
  if (oom) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", st->name);
  return TL_OK;
}

/* ---- the reader ------------------------------------------------------------------- */

static void csv_close(void *state) {
  csv_state *st = state;
  if (!st) return;
  for (uint32_t i = 0; i < st->ncols; i++) free(st->cols[i].header);
  free(st->cols);
  free(st->fields);
  free(st->keys);
  free(st->res);
  free(st->dedup[0].slots);
  free(st->dedup[1].slots);
  tl_buf_free(&st->rec);
  tl_buf_free(&st->unq);
  tl_kvbuf_free(&st->kv);
  free(st);
}

static int csv_open(tl_input *in, void **state, tl_err *e) {
  csv_state *st = calloc(1, sizeof *st);
  if (!st) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", tl_input_name(in));
  st->in = in;
  st->name = tl_input_name(in);
  int rc = read_header(st, e);
  if (rc) {
    csv_close(st);
    return rc;
  }
  *state = st;
  return TL_OK;
}

static int csv_next(void *state, tl_batch *b, size_t max, tl_err *e) {
  csv_state *st = state;
  if (st->eof) return TL_DONE;
  /* Keys and resources are interned in this call's batch. */
  memset(st->keys, 0, st->ncols * sizeof *st->keys);
  if (st->res_n) memset(st->res, 0, st->res_cap * sizeof *st->res);
  st->res_n = 0;
  for (size_t added = 0; added < max;) {
    uint32_t nf;
    const char *rec;
    size_t rec_n;
    int rc = next_record(st, &nf, &rec, &rec_n, e);
    if (rc == TL_DONE) {
      st->eof = 1;
      return TL_DONE;
    }
    if (rc) return rc;
    if (nf != st->ncols)
      return line_err(st, e, "%u fields, the header has %u", nf, st->ncols);
    uint8_t trace[16], span[8];
    if ((rc = parse_id(st, st->idx[C_TRACE], st->fields[st->idx[C_TRACE]], trace, 16, e)) ||
        (rc = parse_id(st, st->idx[C_SPAN], st->fields[st->idx[C_SPAN]], span, 8, e)))
      return rc;
    rc = seen_before(st, rec, rec_n, span, e);
    if (rc < 0) return rc;
    if (rc) continue;
    tl_span *s = tl_batch_add_span(b);
    if (!s) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", st->name);
    memcpy(s->trace_id, trace, 16);
    memcpy(s->span_id, span, 8);
    if ((rc = build_span(st, b, s, e))) {
      tl_batch_pop_span(b);
      return rc;
    }
    added++;
  }
  return TL_OK;
}

const tl_reader_vt tl_csv_reader = {"csv", csv_open, csv_next, csv_close};
