/*
** otlp_write.c — the canonical OTLP JSON line of a span (otlp_write.h): the
** NDJSON baseline every compression ratio is measured against, what
** trace_export() writes, and what format=ndjson stores.
**
** docs/format-ndjson.md is the specification; in short:
**   - one ExportTraceServiceRequest per span, resource and scope repeated;
**   - members in proto field order, no whitespace;
**   - ids lowercase hex; 64-bit integers (times, intValue) as decimal
**     strings; flags, kind, status code and counts as JSON integers;
**   - members holding their proto3 default (empty string, 0, empty list,
**     empty message) are omitted, as proto3 JSON does, except that the
**     chosen member of an AnyValue is always written ({"stringValue":""})
**     and a KeyValue always has both "key" and "value".
**
** The writer runs for every span of every benchmark, so it appends straight
** into the caller's tl_buf with literal lengths known at compile time and
** no intermediate tree.  Errors are the buffer's sticky oom flag.
*/
#include "otlp_write.h"

/* Appends a string literal without strlen(). */
#define LIT(o, s) tl_buf_append((o), (s), sizeof(s) - 1)

/* Opens member `name` (given with quotes and colon) of an object whose
** first member may or may not have been written yet. */
#define MEMBER(o, first, name)                 \
  do {                                         \
    if (!*(first)) tl_buf_putc((o), ',');      \
    *(first) = 0;                              \
    LIT((o), name);                            \
  } while (0)

static void put_str(tl_buf *o, tl_str s) { tl_buf_json_str(o, s.ptr, s.len); }

static void put_hex(tl_buf *o, const uint8_t *p, size_t n) {
  tl_buf_putc(o, '"');
  tl_buf_hex(o, p, n);
  tl_buf_putc(o, '"');
}

/* A uint64 as a proto3 JSON string ("123"). */
static void put_u64_str(tl_buf *o, uint64_t v) {
  tl_buf_putc(o, '"');
  tl_buf_u64(o, v);
  tl_buf_putc(o, '"');
}

static int ids_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

static void write_value(tl_buf *o, const tl_value *v, int depth);

/* [{"key":..,"value":{..}},...] */
static void write_kvs(tl_buf *o, const tl_kv *kv, uint32_t n, int depth) {
  tl_buf_putc(o, '[');
  for (uint32_t i = 0; i < n; i++) {
    if (i) tl_buf_putc(o, ',');
    LIT(o, "{\"key\":");
    put_str(o, kv[i].key);
    LIT(o, ",\"value\":");
    write_value(o, &kv[i].value, depth);
    tl_buf_putc(o, '}');
  }
  tl_buf_putc(o, ']');
}

/* depth counts the arrays and kvlists around v.  Readers refuse values
** nested deeper than TL_MAX_DEPTH; should a model built elsewhere hold one,
** the container that is too deep is written as an empty AnyValue rather
** than recursing without bound. */
static void write_value(tl_buf *o, const tl_value *v, int depth) {
  switch (v->type) {
    case TL_V_STRING:
      LIT(o, "{\"stringValue\":");
      put_str(o, v->u.s);
      break;
    case TL_V_BOOL:
      if (v->u.b)
        LIT(o, "{\"boolValue\":true");
      else
        LIT(o, "{\"boolValue\":false");
      break;
    case TL_V_INT:
      LIT(o, "{\"intValue\":\"");
      tl_buf_i64(o, v->u.i);
      tl_buf_putc(o, '"');
      break;
    case TL_V_DOUBLE:
      LIT(o, "{\"doubleValue\":");
      tl_buf_json_double(o, v->u.d);
      break;
    case TL_V_BYTES:
      LIT(o, "{\"bytesValue\":\"");
      tl_buf_base64(o, (const uint8_t *)v->u.s.ptr, v->u.s.len);
      tl_buf_putc(o, '"');
      break;
    case TL_V_ARRAY:
      if (depth >= TL_MAX_DEPTH) goto empty;
      if (!v->u.arr.n) {
        LIT(o, "{\"arrayValue\":{}");
        break;
      }
      LIT(o, "{\"arrayValue\":{\"values\":[");
      for (uint32_t i = 0; i < v->u.arr.n; i++) {
        if (i) tl_buf_putc(o, ',');
        write_value(o, &v->u.arr.items[i], depth + 1);
      }
      LIT(o, "]}");
      break;
    case TL_V_KVLIST:
      if (depth >= TL_MAX_DEPTH) goto empty;
      if (!v->u.kv.n) {
        LIT(o, "{\"kvlistValue\":{}");
        break;
      }
      LIT(o, "{\"kvlistValue\":{\"values\":");
      write_kvs(o, v->u.kv.items, v->u.kv.n, depth + 1);
      tl_buf_putc(o, '}');
      break;
    default:
    empty:
      tl_buf_putc(o, '{');
  }
  tl_buf_putc(o, '}');
}

void tl_otlp_write_value(tl_buf *out, const tl_value *v) { write_value(out, v, 0); }

void tl_otlp_write_attrs(tl_buf *out, const tl_attrs *a) {
  write_kvs(out, a->items, a->n, 0);
}

/* The "attributes" and "droppedAttributesCount" members, each when not
** empty, as the trailing members of Resource, Scope, Event and Link share
** them. */
static void put_attrs_members(tl_buf *o, int *first, const tl_attrs *a) {
  if (a->n) {
    MEMBER(o, first, "\"attributes\":");
    write_kvs(o, a->items, a->n, 0);
  }
  if (a->dropped) {
    MEMBER(o, first, "\"droppedAttributesCount\":");
    tl_buf_u64(o, a->dropped);
  }
}

static void put_count(tl_buf *o, const char *member, size_t len, uint32_t n) {
  if (!n) return;
  tl_buf_append(o, member, len);
  tl_buf_u64(o, n);
}
#define PUT_COUNT(o, member, n) put_count((o), (member), sizeof(member) - 1, (n))

static void write_events(tl_buf *o, const tl_span *s) {
  LIT(o, ",\"events\":[");
  for (uint32_t i = 0; i < s->n_events; i++) {
    const tl_event *ev = &s->events[i];
    int first = 1;
    if (i) tl_buf_putc(o, ',');
    tl_buf_putc(o, '{');
    if (ev->time_ns) {
      MEMBER(o, &first, "\"timeUnixNano\":");
      put_u64_str(o, ev->time_ns);
    }
    if (ev->name.len) {
      MEMBER(o, &first, "\"name\":");
      put_str(o, ev->name);
    }
    put_attrs_members(o, &first, &ev->attrs);
    tl_buf_putc(o, '}');
  }
  tl_buf_putc(o, ']');
}

static void write_links(tl_buf *o, const tl_span *s) {
  LIT(o, ",\"links\":[");
  for (uint32_t i = 0; i < s->n_links; i++) {
    const tl_link *l = &s->links[i];
    int first = 0; /* traceId is always there */
    if (i) tl_buf_putc(o, ',');
    LIT(o, "{\"traceId\":");
    put_hex(o, l->trace_id, 16);
    LIT(o, ",\"spanId\":");
    put_hex(o, l->span_id, 8);
    if (l->trace_state.len) {
      LIT(o, ",\"traceState\":");
      put_str(o, l->trace_state);
    }
    put_attrs_members(o, &first, &l->attrs);
    PUT_COUNT(o, ",\"flags\":", l->flags);
    tl_buf_putc(o, '}');
  }
  tl_buf_putc(o, ']');
}

static void write_span_object(tl_buf *o, const tl_span *s) {
  LIT(o, "{\"traceId\":");
  put_hex(o, s->trace_id, 16);
  LIT(o, ",\"spanId\":");
  put_hex(o, s->span_id, 8);
  if (s->trace_state.len) {
    LIT(o, ",\"traceState\":");
    put_str(o, s->trace_state);
  }
  if (!ids_zero(s->parent_span_id, 8)) {
    LIT(o, ",\"parentSpanId\":");
    put_hex(o, s->parent_span_id, 8);
  }
  PUT_COUNT(o, ",\"flags\":", s->flags);
  if (s->name.len) {
    LIT(o, ",\"name\":");
    put_str(o, s->name);
  }
  PUT_COUNT(o, ",\"kind\":", s->kind);
  if (s->start_ns) {
    LIT(o, ",\"startTimeUnixNano\":");
    put_u64_str(o, s->start_ns);
  }
  if (s->end_ns) {
    LIT(o, ",\"endTimeUnixNano\":");
    put_u64_str(o, s->end_ns);
  }
  if (s->attrs.n) {
    LIT(o, ",\"attributes\":");
    write_kvs(o, s->attrs.items, s->attrs.n, 0);
  }
  PUT_COUNT(o, ",\"droppedAttributesCount\":", s->attrs.dropped);
  if (s->n_events) write_events(o, s);
  PUT_COUNT(o, ",\"droppedEventsCount\":", s->dropped_events);
  if (s->n_links) write_links(o, s);
  PUT_COUNT(o, ",\"droppedLinksCount\":", s->dropped_links);
  if (s->status_code || s->status_message.len) {
    int first = 1;
    LIT(o, ",\"status\":{");
    if (s->status_message.len) {
      MEMBER(o, &first, "\"message\":");
      put_str(o, s->status_message);
    }
    if (s->status_code) {
      MEMBER(o, &first, "\"code\":");
      tl_buf_u64(o, s->status_code);
    }
    tl_buf_putc(o, '}');
  }
  tl_buf_putc(o, '}');
}

void tl_otlp_write_span(tl_buf *o, const tl_span *s) {
  const tl_resource *r = s->resource;
  const tl_scope *sc = s->scope;
  LIT(o, "{\"resourceSpans\":[{");
  if (r->attrs.n || r->attrs.dropped) {
    int first = 1;
    LIT(o, "\"resource\":{");
    put_attrs_members(o, &first, &r->attrs);
    LIT(o, "},");
  }
  LIT(o, "\"scopeSpans\":[{");
  if (sc->name.len || sc->version.len || sc->attrs.n || sc->attrs.dropped) {
    int first = 1;
    LIT(o, "\"scope\":{");
    if (sc->name.len) {
      MEMBER(o, &first, "\"name\":");
      put_str(o, sc->name);
    }
    if (sc->version.len) {
      MEMBER(o, &first, "\"version\":");
      put_str(o, sc->version);
    }
    put_attrs_members(o, &first, &sc->attrs);
    LIT(o, "},");
  }
  LIT(o, "\"spans\":[");
  write_span_object(o, s);
  tl_buf_putc(o, ']');
  if (sc->schema_url.len) {
    LIT(o, ",\"schemaUrl\":");
    put_str(o, sc->schema_url);
  }
  LIT(o, "}]");
  if (r->schema_url.len) {
    LIT(o, ",\"schemaUrl\":");
    put_str(o, r->schema_url);
  }
  LIT(o, "}]}\n");
}
