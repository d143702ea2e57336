/*
** span.h — the span model that every reader produces, every writer and codec
** consumes, and every analysis walks.
**
** Plain C, no sqlite3.h: codecs and analysis are unit-tested and fuzzed without
** SQLite.  A span holds everything an OTLP span holds (OTLP trace.proto v1):
** ids, trace state, flags, name, kind, times, typed attributes, events, links,
** status, dropped counts, and pointers to its resource and instrumentation scope.
**
** Memory: every span, string, attribute array, resource and scope of a batch
** lives in the batch (an arena plus a string intern table).  Strings are
** interned, so a million spans of twenty services share twenty copies of the
** service names, and two interned strings of one batch are equal exactly when
** their pointers are equal.  tl_batch_reset() drops everything at once;
** nothing in a batch is freed piecemeal.
**
** Sizes: every length is a uint32_t.  Producers refuse input past TL_MAX_STRING
** rather than truncate it.
*/
#ifndef TL_SPAN_H
#define TL_SPAN_H

#include <stddef.h>
#include <stdint.h>

/* Return codes shared by the whole library (never SQLite codes: see glue). */
enum {
  TL_OK = 0,
  TL_DONE = 1,        /* a reader or iterator has nothing more */
  TL_ENOMEM = -1,
  TL_EFORMAT = -2,    /* input is malformed, truncated or hostile */
  TL_EIO = -3,        /* the operating system refused a read or write */
  TL_ERANGE = -4,     /* a value or size is past a documented limit */
  TL_EMISUSE = -5     /* a caller broke an API contract (bad argument) */
};

/* The longest string, bytes value or attribute list a batch accepts. */
#define TL_MAX_STRING (64u * 1024u * 1024u)
/* The deepest nesting of array / kvlist attribute values accepted. */
#define TL_MAX_DEPTH 32

/* A message for the user, filled by whoever failed first. */
typedef struct tl_err {
  int rc;
  char msg[512];
} tl_err;

/* Sets e->rc and e->msg (printf-style) unless an error is already recorded;
** returns rc so callers can write `return tl_err_set(e, TL_EFORMAT, ...)`. */
int tl_err_set(tl_err *e, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void tl_err_clear(tl_err *e);

/* A string or a byte string.  For interned strings ptr is NUL-terminated
** (ptr[len] == 0) and unique within its batch; len does not count the NUL.
** Strings may hold NUL bytes.  {NULL, 0} is the empty/absent string. */
typedef struct tl_str {
  const char *ptr;
  uint32_t len;
} tl_str;

/* Attribute value types, numbered as OTLP AnyValue's oneof. */
typedef enum tl_vtype {
  TL_V_EMPTY = 0,  /* an AnyValue with no value set */
  TL_V_STRING = 1,
  TL_V_BOOL = 2,
  TL_V_INT = 3,
  TL_V_DOUBLE = 4,
  TL_V_ARRAY = 5,
  TL_V_KVLIST = 6,
  TL_V_BYTES = 7
} tl_vtype;

typedef struct tl_kv tl_kv;
typedef struct tl_value tl_value;

struct tl_value {
  uint8_t type; /* tl_vtype */
  union {
    tl_str s;      /* TL_V_STRING (interned), TL_V_BYTES (arena copy) */
    int64_t i;     /* TL_V_INT */
    double d;      /* TL_V_DOUBLE (NaN and infinities allowed) */
    int b;         /* TL_V_BOOL: 0 or 1 */
    struct {
      tl_value *items;
      uint32_t n;
    } arr;         /* TL_V_ARRAY */
    struct {
      tl_kv *items;
      uint32_t n;
    } kv;          /* TL_V_KVLIST */
  } u;
};

struct tl_kv {
  tl_str key;   /* interned */
  tl_value value;
};

/* An ordered attribute list.  Order is kept as read; duplicate keys are kept
** too (OTLP forbids them, real exports have them). */
typedef struct tl_attrs {
  tl_kv *items;
  uint32_t n;
  uint32_t dropped; /* dropped_attributes_count */
} tl_attrs;

typedef enum tl_kind {
  TL_KIND_UNSPECIFIED = 0,
  TL_KIND_INTERNAL = 1,
  TL_KIND_SERVER = 2,
  TL_KIND_CLIENT = 3,
  TL_KIND_PRODUCER = 4,
  TL_KIND_CONSUMER = 5
} tl_kind;

typedef enum tl_status {
  TL_STATUS_UNSET = 0,
  TL_STATUS_OK = 1,
  TL_STATUS_ERROR = 2
} tl_status;

typedef struct tl_event {
  uint64_t time_ns;
  tl_str name;      /* interned */
  tl_attrs attrs;
} tl_event;

typedef struct tl_link {
  uint8_t trace_id[16];
  uint8_t span_id[8];
  tl_str trace_state; /* interned */
  uint32_t flags;
  tl_attrs attrs;
} tl_link;

/* OTLP Resource plus the schema_url of its ResourceSpans. */
typedef struct tl_resource {
  tl_attrs attrs;
  tl_str schema_url;
  tl_str service;   /* the string value of attribute "service.name", or empty */
} tl_resource;

/* OTLP InstrumentationScope plus the schema_url of its ScopeSpans. */
typedef struct tl_scope {
  tl_str name;
  tl_str version;
  tl_attrs attrs;
  tl_str schema_url;
} tl_scope;

typedef struct tl_span {
  uint8_t trace_id[16];
  uint8_t span_id[8];
  uint8_t parent_span_id[8]; /* all zero when the span is a root */
  tl_str trace_state;        /* W3C tracestate, interned */
  uint32_t flags;            /* OTLP span flags (W3C trace flags in bits 0-7) */
  tl_str name;               /* interned */
  uint8_t kind;              /* tl_kind */
  uint8_t status_code;       /* tl_status */
  tl_str status_message;     /* interned */
  uint64_t start_ns;         /* unix epoch nanoseconds */
  uint64_t end_ns;
  tl_attrs attrs;
  tl_event *events;
  uint32_t n_events;
  uint32_t dropped_events;
  tl_link *links;
  uint32_t n_links;
  uint32_t dropped_links;
  const tl_resource *resource; /* never NULL for a span in a batch */
  const tl_scope *scope;       /* never NULL for a span in a batch */
} tl_span;

/* ---- batches ---------------------------------------------------------- */

typedef struct tl_batch tl_batch;

tl_batch *tl_batch_new(void);
void tl_batch_free(tl_batch *b);
/* Forget every span, string and allocation; keeps the memory for reuse. */
void tl_batch_reset(tl_batch *b);

size_t tl_batch_count(const tl_batch *b);
tl_span *tl_batch_span(const tl_batch *b, size_t i);
/* Appends a zeroed span whose resource and scope are the batch's empty ones.
** Pointers to spans stay valid until reset.  NULL when out of memory. */
tl_span *tl_batch_add_span(tl_batch *b);
/* Appends n such spans, out[i] the i-th (a decoder's whole block at once:
** fewer allocations).  0, or -1 on OOM with none appended. */
int tl_batch_add_spans(tl_batch *b, size_t n, tl_span **out);
/* Removes the last span (a reader that fails half-way through a span). */
void tl_batch_pop_span(tl_batch *b);

/* Zeroed, 8-byte aligned memory that lives until reset.  NULL on OOM or
** when n is past TL_MAX_STRING * 4. */
void *tl_batch_alloc(tl_batch *b, size_t n);
/* The same, not zeroed: for arrays the caller fills in whole. */
void *tl_batch_alloc_raw(tl_batch *b, size_t n);
/* Interns p[0..n).  Returns {NULL,0} on OOM or n > TL_MAX_STRING; an empty
** string interns to {"",0} (a non-NULL pointer) so it is distinguishable
** from failure only by the caller's own n == 0 check. */
tl_str tl_batch_intern(tl_batch *b, const char *p, size_t n);
tl_str tl_batch_intern_cstr(tl_batch *b, const char *s);
/* Copies bytes into the arena without interning (bytes attribute values). */
tl_str tl_batch_copy(tl_batch *b, const void *p, size_t n);

/* Text derived from an object of the batch (the JSON of a resource), kept
** until reset so that the many spans sharing the object derive it once.
** get: the text put for key, or {NULL,0}.  put: copies text into the arena
** (a later put for another key may evict it); {NULL,0} on OOM. */
tl_str tl_batch_memo_get(const tl_batch *b, const void *key);
tl_str tl_batch_memo_put(tl_batch *b, const void *key, const char *text, size_t n);

/* Shared empty resource and scope of the batch (never NULL). */
const tl_resource *tl_batch_empty_resource(tl_batch *b);
const tl_scope *tl_batch_empty_scope(tl_batch *b);

/* Fills r->service from r->attrs ("service.name"); call after the
** attributes are final. */
void tl_resource_set_service(tl_resource *r);

/* Bytes held by the batch (arena, spans, intern table): what a streaming
** caller watches to keep memory bounded. */
size_t tl_batch_memory(const tl_batch *b);

/* ---- attribute list builder ------------------------------------------- */

/* Readers build attribute lists of unknown length in a growable scratch
** array, then move them into the batch arena in one piece. */
typedef struct tl_kvbuf {
  tl_kv *items;
  uint32_t n, cap;
} tl_kvbuf;

int tl_kvbuf_push(tl_kvbuf *kb, tl_str key, tl_value value); /* TL_OK/TL_ENOMEM */
/* Copies the n items from position `from` on into the batch as *out and
** truncates kb back to `from` (so nested lists can share one buffer). */
int tl_kvbuf_take(tl_kvbuf *kb, uint32_t from, tl_batch *b, tl_attrs *out);
void tl_kvbuf_free(tl_kvbuf *kb);

/* Finds the first attribute with this key (compared by content), or NULL. */
const tl_value *tl_attrs_get(const tl_attrs *a, const char *key);

/* ---- helpers on spans -------------------------------------------------- */

int tl_span_is_root(const tl_span *s); /* parent_span_id all zero */
/* Deep-copies a span (with its resource and scope) from one batch into
** another.  With a cache, each source resource, scope and string is copied
** once (keyed by its address: reset the cache whenever either batch is
** reset); with NULL, each time. */
typedef struct tl_copy_cache tl_copy_cache;
tl_copy_cache *tl_copy_cache_new(void);
void tl_copy_cache_free(tl_copy_cache *c);
void tl_copy_cache_reset(tl_copy_cache *c);
int tl_span_copy(tl_batch *dst, const tl_span *src, tl_copy_cache *cache,
                 tl_span **out);
/* The copy in the destination made (or linked) since the last reset for
** the source resource or scope src, or NULL. */
const void *tl_copy_cache_get(const tl_copy_cache *c, const void *src);
/* Makes dst, a resource (scope) of the destination batch equal in content
** to the source resource (scope) src, what copies of spans using src point
** at: a caller that knows an object of a new source batch was copied before
** shares that copy instead of making another. */
void tl_copy_cache_link(tl_copy_cache *c, const void *src, const void *dst);

/* Names as the SQL columns show them: "SERVER", "ERROR", ... */
const char *tl_kind_name(int kind);     /* "UNSPECIFIED".."CONSUMER"; NULL if out of range */
const char *tl_status_name(int code);   /* "UNSET", "OK", "ERROR"; NULL if out of range */
/* Parses a kind or status by short name ("SERVER"), OTLP enum name
** ("SPAN_KIND_SERVER", "STATUS_CODE_ERROR"), case-insensitive; -1 if none. */
int tl_kind_parse(const char *s, size_t n);
int tl_status_parse(const char *s, size_t n);

#endif
