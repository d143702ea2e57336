/*
** zipkin_read.c — the Zipkin v2 JSON importer (tl_zipkin_reader of reader.h).
**
** Input: a JSON array of Zipkin v2 spans (what /api/v2/spans accepts and
** what zipkin-lens downloads), a JSON array of such arrays (the answer of
** /api/v2/traces), or several of these one after another, which covers
** NDJSON of one span object or one span array per line.  The text is read
** whole (tl_input_whole) and parsed one top-level value at a time with
** jansson's JSON_DISABLE_EOF_CHECK, so only one value's tree is alive at once.
**
** The mapping to the span model (docs/formats-in/zipkin.md is the manual):
**   traceId 1..32 hex digits   -> trace_id, zero-padded on the left to 16 bytes
**   id, parentId 1..16 hex     -> span_id, parent_span_id (padded to 8 bytes);
**                                 parentId absent, null or all zeros = root
**   name                       -> name (absent = empty)
**   kind CLIENT/SERVER/PRODUCER/CONSUMER -> kind; absent -> UNSPECIFIED
**   timestamp, duration (us)   -> start_ns, end_ns = start_ns + duration_ns;
**                                 absent or 0 (Zipkin's "unset") -> start_ns 0,
**                                 end_ns = start_ns and the span attribute
**                                 zipkin.duration_missing = true
**   localEndpoint              -> the resource: service.name,
**                                 network.local.address (ipv4, else ipv6),
**                                 zipkin.local.ipv6 (ipv6 when ipv4 is there
**                                 too), network.local.port; one tl_resource
**                                 per distinct endpoint in a batch
**   remoteEndpoint             -> span attributes peer.service,
**                                 network.peer.address, zipkin.remote.ipv6,
**                                 network.peer.port
**   tags                       -> span attributes in input order (strings;
**                                 a number or boolean keeps its JSON type);
**                                 tag "error" also sets status ERROR with the
**                                 tag's string as status message
**   annotations                -> events {time_ns = timestamp * 1000, name}
**   shared, debug = true       -> span attributes zipkin.shared,
**                                 zipkin.debug = true (bool)
** JSON null counts as absent everywhere, as Zipkin's own reader has it.
** Unknown keys are skipped (Zipkin does the same).  Unlike Zipkin's server,
** nothing is normalized (names keep their case, a self-parent stays) and a
** negative time is an error rather than "unset".  Spans that share an id
** (a CLIENT and its SERVER, or bare fragments of one span) stay separate
** spans: merging would invent a choice between their fields.
**
** State between calls is the parse position (top-level value, index in it,
** index in a nested trace array) and never a pointer into a batch: the
** endpoint -> resource table is forgotten at the start of every call.
** Errors name the file and the 0-based index of the span in file order;
** JSON syntax errors name the line and byte offset.  Errors are sticky.
*/
#include "reader.h"
#include "../common/buf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest timestamp or duration in microseconds whose nanoseconds
** still fit in a uint64_t (year 2554). */
#define MAX_US (UINT64_MAX / 1000u)

/* A Zipkin endpoint with its strings interned in the current batch; an
** absent field has ptr == NULL (a present "" interns to a non-NULL ptr). */
typedef struct zk_endpoint {
  tl_str service, ipv4, ipv6;
  int64_t port;
  int has_port;
} zk_endpoint;

/* One entry of the endpoint -> resource table; valid when gen matches. */
typedef struct zk_slot {
  uint64_t hash;
  uint32_t gen;
  zk_endpoint key;
  const tl_resource *res;
} zk_slot;

typedef struct zk_state {
  const char *name;  /* input name for messages */
  const char *data;  /* the whole text, owned by the input */
  size_t len, off;   /* off: where the next top-level value starts */
  json_t *top;       /* the top-level value being walked, or NULL */
  size_t top_off;    /* its byte offset, for messages */
  size_t i, j;       /* top[i], and top[i][j] when top[i] is an array */
  unsigned long long span_no; /* span objects seen: the index in messages */
  tl_kvbuf kv;       /* scratch for attribute lists */
  zk_slot *slots;    /* endpoint -> resource, open addressing */
  size_t cap, used;  /* cap: 0 or a power of two */
  uint32_t gen;      /* bumped per call: forgets every slot at once */
  tl_err sticky;     /* the first error, reported again by later calls */
} zk_state;

/* ---- small helpers ------------------------------------------------------ */

static int span_err(zk_state *st, tl_err *e, int rc, const char *what) {
  return tl_err_set(e, rc, "%s: span %llu: %s", st->name, st->span_no, what);
}

/* Quotes at most 64 bytes of a bad value in a message. */
static int span_err_val(zk_state *st, tl_err *e, const char *what, const char *s,
                        size_t n, const char *why) {
  return tl_err_set(e, TL_EFORMAT, "%s: span %llu: %s \"%.*s%s\" %s", st->name,
                    st->span_no, what, (int)(n > 64 ? 64 : n), s,
                    n > 64 ? "..." : "", why);
}

static int oom(zk_state *st, tl_err *e) {
  return tl_err_set(e, TL_ENOMEM, "%s: out of memory", st->name);
}

/* Interns p[0..n) into *out; a string past TL_MAX_STRING is TL_ERANGE. */
static int intern(zk_state *st, tl_batch *b, const char *p, size_t n, tl_str *out,
                  tl_err *e) {
  if (n > TL_MAX_STRING)
    return tl_err_set(e, TL_ERANGE, "%s: span %llu: a string of %zu bytes is longer "
                      "than %u bytes", st->name, st->span_no, n, TL_MAX_STRING);
  *out = tl_batch_intern(b, p, n);
  return out->ptr ? TL_OK : oom(st, e);
}

static int intern_json(zk_state *st, tl_batch *b, const json_t *v, tl_str *out,
                       tl_err *e) {
  return intern(st, b, json_string_value(v), json_string_length(v), out, e);
}

/* A member of o, with JSON null taken as absent. */
static json_t *member(const json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_null(v) ? NULL : v;
}

/* Appends one attribute to the scratch list. */
static int push_kv(zk_state *st, tl_str key, tl_value v, tl_err *e) {
  int rc = tl_kvbuf_push(&st->kv, key, v);
  if (rc == TL_ENOMEM) return oom(st, e);
  return rc ? span_err(st, e, rc, "too many attributes") : TL_OK;
}

static int push(zk_state *st, tl_batch *b, const char *key, tl_value v, tl_err *e) {
  tl_str k = tl_batch_intern_cstr(b, key);
  return k.ptr ? push_kv(st, k, v, e) : oom(st, e);
}

static int push_str(zk_state *st, tl_batch *b, const char *key, tl_str s, tl_err *e) {
  tl_value v = {.type = TL_V_STRING};
  v.u.s = s;
  return push(st, b, key, v, e);
}

static int push_int(zk_state *st, tl_batch *b, const char *key, int64_t i, tl_err *e) {
  tl_value v = {.type = TL_V_INT};
  v.u.i = i;
  return push(st, b, key, v, e);
}

static int push_true(zk_state *st, tl_batch *b, const char *key, tl_err *e) {
  tl_value v = {.type = TL_V_BOOL};
  v.u.b = 1;
  return push(st, b, key, v, e);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Reads 1 to 2*n hex digits right-aligned into out[0..n), zeros on the
** left ("2" -> 00..02).  0 on success, -1 when the text is not such hex. */
static int hex_id(const char *s, size_t len, uint8_t *out, size_t n) {
  if (len == 0 || len > 2 * n) return -1;
  memset(out, 0, n);
  for (size_t k = 0; k < len; k++) {
    int d = hexval(s[len - 1 - k]);
    if (d < 0) return -1;
    out[n - 1 - k / 2] |= (uint8_t)(k % 2 ? d << 4 : d);
  }
  return 0;
}

static int all_zero(const uint8_t *p, size_t n) {
  for (size_t k = 0; k < n; k++)
    if (p[k]) return 0;
  return 1;
}

/* Reads the id member `key` of span o into out[0..n).  Absent is an error
** when required; otherwise it leaves out zeroed. */
static int read_id(zk_state *st, const json_t *o, const char *key, uint8_t *out,
                   size_t n, int required, tl_err *e) {
  char why[64];
  json_t *v = member(o, key);
  if (!v) {
    if (!required) return TL_OK;
    snprintf(why, sizeof why, "%s is missing", key);
    return span_err(st, e, TL_EFORMAT, why);
  }
  if (!json_is_string(v)) {
    snprintf(why, sizeof why, "%s is not a string", key);
    return span_err(st, e, TL_EFORMAT, why);
  }
  const char *s = json_string_value(v);
  size_t len = json_string_length(v);
  snprintf(why, sizeof why, "is not 1 to %zu hex digits", 2 * n);
  if (hex_id(s, len, out, n)) return span_err_val(st, e, key, s, len, why);
  if (required && all_zero(out, n))
    return span_err_val(st, e, key, s, len, "is all zeros");
  return TL_OK;
}

/* A timestamp or duration in microseconds (a non-negative JSON integer
** small enough for nanoseconds in 64 bits) as nanoseconds. */
static int read_us(zk_state *st, const json_t *v, const char *what, uint64_t *ns,
                   tl_err *e) {
  if (!json_is_integer(v))
    return tl_err_set(e, TL_EFORMAT, "%s: span %llu: %s is not an integer",
                      st->name, st->span_no, what);
  json_int_t us = json_integer_value(v);
  if (us < 0)
    return tl_err_set(e, TL_EFORMAT, "%s: span %llu: %s %lld is negative", st->name,
                      st->span_no, what, (long long)us);
  if ((uint64_t)us > MAX_US)
    return tl_err_set(e, TL_ERANGE,
                      "%s: span %llu: %s %lld us is past the largest time in "
                      "nanoseconds (%llu us)",
                      st->name, st->span_no, what, (long long)us,
                      (unsigned long long)MAX_US);
  *ns = (uint64_t)us * 1000u;
  return TL_OK;
}

/* ---- endpoints ------------------------------------------------------------ */

/* Where each field of an endpoint goes: the local endpoint becomes the
** resource, the remote one span attributes (OTel semantic conventions; the
** zipkin.* key only for an ipv6 beside an ipv4, which has no such name). */
typedef struct zk_ep_keys {
  const char *member; /* the span member, for messages */
  const char *service, *address, *ipv6, *port;
} zk_ep_keys;

static const zk_ep_keys local_keys = {"localEndpoint", "service.name",
                                      "network.local.address", "zipkin.local.ipv6",
                                      "network.local.port"};
static const zk_ep_keys remote_keys = {"remoteEndpoint", "peer.service",
                                       "network.peer.address", "zipkin.remote.ipv6",
                                       "network.peer.port"};

/* Parses the endpoint member of span o; *any is set when a field was there
** (an endpoint without fields is no endpoint, as for Zipkin). */
static int read_endpoint(zk_state *st, const json_t *o, const zk_ep_keys *keys,
                         tl_batch *b, zk_endpoint *ep, int *any, tl_err *e) {
  static const char *const str_keys[3] = {"serviceName", "ipv4", "ipv6"};
  tl_str *str_out[3] = {&ep->service, &ep->ipv4, &ep->ipv6};
  json_t *obj = member(o, keys->member);
  memset(ep, 0, sizeof *ep);
  *any = 0;
  if (!obj) return TL_OK;
  if (!json_is_object(obj))
    return tl_err_set(e, TL_EFORMAT, "%s: span %llu: %s is not an object", st->name,
                      st->span_no, keys->member);
  for (int k = 0; k < 3; k++) {
    json_t *v = member(obj, str_keys[k]);
    if (!v) continue;
    if (!json_is_string(v))
      return tl_err_set(e, TL_EFORMAT, "%s: span %llu: %s.%s is not a string",
                        st->name, st->span_no, keys->member, str_keys[k]);
    int rc = intern_json(st, b, v, str_out[k], e);
    if (rc) return rc;
    *any = 1;
  }
  json_t *port = member(obj, "port");
  if (port) {
    if (!json_is_integer(port) || json_integer_value(port) < 0 ||
        json_integer_value(port) > 65535)
      return tl_err_set(e, TL_EFORMAT,
                        "%s: span %llu: %s.port is not an integer from 0 to 65535",
                        st->name, st->span_no, keys->member);
    ep->port = json_integer_value(port);
    ep->has_port = 1;
    *any = 1;
  }
  return TL_OK;
}

static int push_endpoint(zk_state *st, tl_batch *b, const zk_endpoint *ep,
                         const zk_ep_keys *keys, tl_err *e) {
  int rc = TL_OK;
  if (ep->service.ptr) rc = push_str(st, b, keys->service, ep->service, e);
  if (!rc && (ep->ipv4.ptr || ep->ipv6.ptr))
    rc = push_str(st, b, keys->address, ep->ipv4.ptr ? ep->ipv4 : ep->ipv6, e);
  if (!rc && ep->ipv4.ptr && ep->ipv6.ptr) rc = push_str(st, b, keys->ipv6, ep->ipv6, e);
  if (!rc && ep->has_port) rc = push_int(st, b, keys->port, ep->port, e);
  return rc;
}

static int endpoint_eq(const zk_endpoint *a, const zk_endpoint *b) {
  return a->service.ptr == b->service.ptr && a->ipv4.ptr == b->ipv4.ptr &&
         a->ipv6.ptr == b->ipv6.ptr && a->has_port == b->has_port &&
         a->port == b->port;
}

static uint64_t endpoint_hash(const zk_endpoint *ep) {
  /* Interned pointers identify the strings within the batch. */
  uintptr_t key[5] = {(uintptr_t)ep->service.ptr, (uintptr_t)ep->ipv4.ptr,
                      (uintptr_t)ep->ipv6.ptr, (uintptr_t)ep->has_port,
                      (uintptr_t)ep->port};
  return tl_hash(key, sizeof key);
}

static int slots_grow(zk_state *st) {
  size_t cap = st->cap ? st->cap * 2 : 64;
  zk_slot *slots = calloc(cap, sizeof *slots);
  if (!slots) return TL_ENOMEM;
  for (size_t k = 0; k < st->cap; k++) {
    zk_slot *s = &st->slots[k];
    if (s->gen != st->gen) continue;
    size_t m = s->hash & (cap - 1);
    while (slots[m].gen == st->gen) m = (m + 1) & (cap - 1);
    slots[m] = *s;
  }
  free(st->slots);
  st->slots = slots;
  st->cap = cap;
  return TL_OK;
}

/* The batch's resource for a local endpoint, made on first use. */
static int endpoint_resource(zk_state *st, tl_batch *b, const zk_endpoint *ep,
                             const tl_resource **out, tl_err *e) {
  if ((st->used + 1) * 2 > st->cap && slots_grow(st)) return oom(st, e);
  uint64_t h = endpoint_hash(ep);
  size_t m = h & (st->cap - 1);
  for (; st->slots[m].gen == st->gen; m = (m + 1) & (st->cap - 1)) {
    if (st->slots[m].hash == h && endpoint_eq(&st->slots[m].key, ep)) {
      *out = st->slots[m].res;
      return TL_OK;
    }
  }
  tl_resource *r = tl_batch_alloc(b, sizeof *r);
  if (!r) return oom(st, e);
  uint32_t from = st->kv.n;
  int rc = push_endpoint(st, b, ep, &local_keys, e);
  if (!rc && tl_kvbuf_take(&st->kv, from, b, &r->attrs)) rc = oom(st, e);
  if (rc) return rc;
  tl_resource_set_service(r);
  st->slots[m].hash = h;
  st->slots[m].gen = st->gen;
  st->slots[m].key = *ep;
  st->slots[m].res = r;
  st->used++;
  *out = r;
  return TL_OK;
}

/* ---- one span ------------------------------------------------------------- */

static int read_kind(zk_state *st, const json_t *o, tl_span *s, tl_err *e) {
  static const struct {
    const char *name;
    uint8_t kind;
  } kinds[] = {{"CLIENT", TL_KIND_CLIENT},
               {"SERVER", TL_KIND_SERVER},
               {"PRODUCER", TL_KIND_PRODUCER},
               {"CONSUMER", TL_KIND_CONSUMER}};
  json_t *v = member(o, "kind");
  if (!v) return TL_OK; /* a local span, or a fragment */
  if (!json_is_string(v)) return span_err(st, e, TL_EFORMAT, "kind is not a string");
  const char *k = json_string_value(v);
  size_t len = json_string_length(v);
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    if (len == strlen(kinds[i].name) && memcmp(k, kinds[i].name, len) == 0) {
      s->kind = kinds[i].kind;
      return TL_OK;
    }
  }
  return span_err_val(st, e, "kind", k, len,
                      "is not CLIENT, SERVER, PRODUCER or CONSUMER");
}

/* Zero means unset in Zipkin, as an absent member does. */
static int read_times(zk_state *st, const json_t *o, tl_span *s, int *no_duration,
                      tl_err *e) {
  uint64_t dur = 0;
  json_t *ts = member(o, "timestamp"), *d = member(o, "duration");
  int rc = ts ? read_us(st, ts, "timestamp", &s->start_ns, e) : TL_OK;
  if (!rc && d) rc = read_us(st, d, "duration", &dur, e);
  if (rc) return rc;
  if (dur > UINT64_MAX - s->start_ns)
    return span_err(st, e, TL_ERANGE, "timestamp + duration is past the largest time");
  s->end_ns = s->start_ns + dur;
  *no_duration = dur == 0;
  return TL_OK;
}

static int read_tags(zk_state *st, const json_t *o, tl_batch *b, tl_span *s,
                     tl_err *e) {
  json_t *tags = member(o, "tags");
  if (!tags) return TL_OK;
  if (!json_is_object(tags)) return span_err(st, e, TL_EFORMAT, "tags is not an object");
  const char *key;
  size_t klen;
  json_t *v;
  json_object_keylen_foreach(tags, key, klen, v) {
    tl_value val = {.type = TL_V_STRING};
    tl_str k;
    int rc = TL_OK;
    switch (json_typeof(v)) {
      case JSON_STRING:
        rc = intern_json(st, b, v, &val.u.s, e);
        break;
      case JSON_INTEGER:
        val.type = TL_V_INT;
        val.u.i = json_integer_value(v);
        break;
      case JSON_REAL:
        val.type = TL_V_DOUBLE;
        val.u.d = json_real_value(v);
        break;
      case JSON_TRUE:
      case JSON_FALSE:
        val.type = TL_V_BOOL;
        val.u.b = json_is_true(v);
        break;
      default:
        return span_err_val(st, e, "tag", key, klen,
                            "is not a string, number or boolean");
    }
    if (!rc) rc = intern(st, b, key, klen, &k, e);
    if (!rc) rc = push_kv(st, k, val, e);
    if (rc) return rc;
    if (klen == 5 && memcmp(key, "error", 5) == 0) {
      s->status_code = TL_STATUS_ERROR;
      if (val.type == TL_V_STRING) s->status_message = val.u.s;
    }
  }
  return TL_OK;
}

static int read_annotations(zk_state *st, const json_t *o, tl_batch *b, tl_span *s,
                            tl_err *e) {
  json_t *arr = member(o, "annotations");
  if (!arr) return TL_OK;
  if (!json_is_array(arr))
    return span_err(st, e, TL_EFORMAT, "annotations is not an array");
  size_t n = json_array_size(arr);
  if (n == 0) return TL_OK;
  if (n > TL_MAX_STRING / sizeof(tl_event))
    return span_err(st, e, TL_ERANGE, "too many annotations");
  s->events = tl_batch_alloc(b, n * sizeof *s->events);
  if (!s->events) return oom(st, e);
  char what[128];
  for (size_t k = 0; k < n; k++) {
    json_t *a = json_array_get(arr, k);
    json_t *ts = member(a, "timestamp"), *val = member(a, "value");
    if (!ts || !val) {
      snprintf(what, sizeof what,
               "annotation %zu is not an object with timestamp and value", k);
      return span_err(st, e, TL_EFORMAT, what);
    }
    if (!json_is_string(val)) {
      snprintf(what, sizeof what, "annotation %zu value is not a string", k);
      return span_err(st, e, TL_EFORMAT, what);
    }
    snprintf(what, sizeof what, "annotation %zu timestamp", k);
    int rc = read_us(st, ts, what, &s->events[k].time_ns, e);
    if (rc) return rc;
    if (json_string_length(val)) {
      rc = intern_json(st, b, val, &s->events[k].name, e);
      if (rc) return rc;
    }
  }
  s->n_events = (uint32_t)n;
  return TL_OK;
}

/* Reads a boolean flag; true becomes the span attribute attr. */
static int read_flag(zk_state *st, const json_t *o, const char *key, const char *attr,
                     tl_batch *b, tl_err *e) {
  json_t *v = member(o, key);
  if (!v) return TL_OK;
  if (!json_is_boolean(v)) {
    char why[64];
    snprintf(why, sizeof why, "%s is not a boolean", key);
    return span_err(st, e, TL_EFORMAT, why);
  }
  return json_is_true(v) ? push_true(st, b, attr, e) : TL_OK;
}

static int fill_span(zk_state *st, const json_t *o, tl_batch *b, tl_span *s,
                     tl_err *e) {
  int rc, any, no_duration = 0;
  zk_endpoint ep;
  if (!json_is_object(o)) return span_err(st, e, TL_EFORMAT, "is not a JSON object");
  if ((rc = read_id(st, o, "traceId", s->trace_id, 16, 1, e)) ||
      (rc = read_id(st, o, "id", s->span_id, 8, 1, e)) ||
      (rc = read_id(st, o, "parentId", s->parent_span_id, 8, 0, e)) ||
      (rc = read_kind(st, o, s, e)) || (rc = read_times(st, o, s, &no_duration, e)))
    return rc;
  json_t *name = member(o, "name");
  if (name && !json_is_string(name))
    return span_err(st, e, TL_EFORMAT, "name is not a string");
  if (name && json_string_length(name)) {
    rc = intern_json(st, b, name, &s->name, e);
    if (rc) return rc;
  }
  rc = read_endpoint(st, o, &local_keys, b, &ep, &any, e);
  if (!rc && any) rc = endpoint_resource(st, b, &ep, &s->resource, e);
  if (!rc) rc = read_tags(st, o, b, s, e);
  if (!rc) rc = read_endpoint(st, o, &remote_keys, b, &ep, &any, e);
  if (!rc && any) rc = push_endpoint(st, b, &ep, &remote_keys, e);
  if (!rc) rc = read_flag(st, o, "shared", "zipkin.shared", b, e);
  if (!rc) rc = read_flag(st, o, "debug", "zipkin.debug", b, e);
  if (!rc && no_duration) rc = push_true(st, b, "zipkin.duration_missing", e);
  if (!rc) rc = read_annotations(st, o, b, s, e);
  if (!rc && tl_kvbuf_take(&st->kv, 0, b, &s->attrs)) rc = oom(st, e);
  return rc;
}

/* ---- walking the top-level values ---------------------------------------- */

/* Line number (1-based) of byte offset pos, for syntax error messages. */
static unsigned long long line_of(const zk_state *st, size_t pos) {
  unsigned long long line = 1;
  for (const char *p = st->data, *end = st->data + pos;
       (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
    line++;
  return line;
}

static int is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parses the next top-level value into st->top; TL_DONE at the end. */
static int load_next(zk_state *st, tl_err *e) {
  while (st->off < st->len && is_json_space(st->data[st->off])) st->off++;
  if (st->off >= st->len) return TL_DONE;
  char c = st->data[st->off];
  if (c != '[' && c != '{')
    return tl_err_set(e, TL_EFORMAT,
                      "%s: line %llu, byte %zu: expected a JSON array of Zipkin "
                      "v2 spans, found '%c'",
                      st->name, line_of(st, st->off), st->off,
                      c >= 0x20 && c < 0x7f ? c : '?');
  json_error_t je;
  st->top = json_loadb(st->data + st->off, st->len - st->off,
                       JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, &je);
  if (!st->top) {
    size_t pos = st->off + (size_t)(je.position > 0 ? je.position : 0);
    return tl_err_set(e, TL_EFORMAT, "%s: line %llu, byte %zu: invalid JSON: %s",
                      st->name, line_of(st, pos), pos, je.text);
  }
  st->top_off = st->off;
  st->off += (size_t)je.position;
  st->i = st->j = 0;
  return TL_OK;
}

/* The next span object in file order, or TL_DONE. */
static int next_object(zk_state *st, json_t **out, tl_err *e) {
  for (;;) {
    if (!st->top) {
      int rc = load_next(st, e);
      if (rc) return rc;
    }
    if (json_is_object(st->top)) {
      /* One span per value (NDJSON of spans). */
      if (st->i++ == 0) {
        *out = st->top;
        return TL_OK;
      }
    } else {
      while (st->i < json_array_size(st->top)) {
        json_t *el = json_array_get(st->top, st->i);
        if (json_is_object(el)) {
          st->i++;
          *out = el;
          return TL_OK;
        }
        if (!json_is_array(el))
          return tl_err_set(e, TL_EFORMAT,
                            "%s: byte %zu: element %zu of the array is neither a "
                            "span object nor an array of spans",
                            st->name, st->top_off, st->i);
        if (st->j < json_array_size(el)) {
          *out = json_array_get(el, st->j++);
          return TL_OK; /* fill_span rejects a non-object */
        }
        st->i++;
        st->j = 0;
      }
    }
    json_decref(st->top);
    st->top = NULL;
  }
}

/* ---- the reader interface ------------------------------------------------ */

static void zk_close(void *state) {
  zk_state *st = state;
  if (!st) return;
  json_decref(st->top);
  tl_kvbuf_free(&st->kv);
  free(st->slots);
  free(st);
}

static int zk_open(tl_input *in, void **state, tl_err *e) {
  *state = NULL;
  zk_state *st = calloc(1, sizeof *st);
  if (!st) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", tl_input_name(in));
  st->name = tl_input_name(in);
  int rc = tl_input_whole(in, &st->data, &st->len, e);
  /* Parse the first value now: text that is not Zipkin JSON fails at open. */
  if (!rc) rc = load_next(st, e);
  if (rc < 0) {
    zk_close(st);
    return rc;
  }
  *state = st;
  return TL_OK;
}

static int zk_next(void *state, tl_batch *b, size_t max, tl_err *e) {
  zk_state *st = state;
  if (st->sticky.rc) return tl_err_set(e, st->sticky.rc, "%s", st->sticky.msg);
  st->gen++; /* the caller may have reset the batch: forget its resources */
  if (st->gen == 0) {
    memset(st->slots, 0, st->cap * sizeof *st->slots);
    st->gen = 1;
  }
  st->used = 0;
  int rc = TL_OK;
  for (size_t added = 0; added < max; added++) {
    json_t *o = NULL;
    rc = next_object(st, &o, e);
    if (rc) break;
    tl_span *s = tl_batch_add_span(b);
    if (!s) {
      rc = oom(st, e);
      break;
    }
    st->kv.n = 0;
    rc = fill_span(st, o, b, s, e);
    if (rc) {
      tl_batch_pop_span(b);
      break;
    }
    st->span_no++;
  }
  if (rc < 0) {
    /* e may hold an earlier caller's error; record what this call set. */
    st->sticky.rc = rc;
    snprintf(st->sticky.msg, sizeof st->sticky.msg, "%s", e->msg);
  }
  return rc;
}

const tl_reader_vt tl_zipkin_reader = {"zipkin", zk_open, zk_next, zk_close};
