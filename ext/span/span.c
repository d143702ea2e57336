/*
** span.c — batches: the arena, the string intern table and the span list
** behind span.h, plus small helpers on spans (kind/status names, copying).
**
** The arena is a list of chunks; allocations are 8-byte aligned and zeroed
** (tl_batch_alloc_raw: not zeroed, for arrays the caller fills whole).
** Large allocations get a chunk of their own so the common chunk size stays
** small.  A reset keeps every chunk for the next use of the batch, the large
** ones too: a reader decodes block after block into one batch, and memory
** given back to malloc comes back as fresh pages the kernel must fault in
** and zero (a columnar block's attribute array is over a megabyte).  The
** intern table is open addressing on tl_hash(), storing pointers to arena
** copies that carry their length in front.
*/
#include "span.h"
#include "../common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHUNK_SIZE (64u * 1024u)

typedef struct chunk {
  struct chunk *next;
  size_t used, cap;
  /* data follows, 8-aligned */
} chunk;

typedef struct intern_slot {
  uint64_t hash;
  tl_str s;
} intern_slot;

/* The memo holds up to MEMO_MAX texts in MEMO_SLOTS (at most 3/4 full). */
#define MEMO_SLOTS 512
#define MEMO_MAX 384

struct tl_batch {
  chunk *chunks;       /* current chunk first */
  chunk *spare;        /* standard-size chunks kept across resets */
  chunk *spare_big;    /* large chunks kept across resets, smallest first */
  size_t arena_bytes;
  tl_span **spans;
  size_t n_spans, cap_spans;
  intern_slot *slots;
  size_t n_slots, cap_slots; /* cap is a power of two */
  tl_resource empty_resource;
  tl_scope empty_scope;
  /* tl_batch_memo_*: open addressing on the key's address, emptied on
  ** reset.  A block holds a few dozen distinct resources and scopes, read
  ** in turn by its spans: a direct-mapped table of 64 slots evicted them
  ** from each other on one span in eight. */
  const void *memo_key[MEMO_SLOTS];
  tl_str memo_text[MEMO_SLOTS];
  size_t memo_n;
};

int tl_err_set(tl_err *e, int rc, const char *fmt, ...) {
  if (e && e->rc == TL_OK) {
    va_list ap;
    e->rc = rc;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
  }
  return rc;
}

void tl_err_clear(tl_err *e) {
  e->rc = TL_OK;
  e->msg[0] = 0;
}

static void *chunk_data(chunk *c) { return (char *)c + sizeof(chunk); }

tl_batch *tl_batch_new(void) {
  tl_batch *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  b->empty_resource.attrs.n = 0;
  return b;
}

static void free_chunks(chunk *c) {
  while (c) {
    chunk *n = c->next;
    free(c);
    c = n;
  }
}

void tl_batch_free(tl_batch *b) {
  if (!b) return;
  free_chunks(b->chunks);
  free_chunks(b->spare);
  free_chunks(b->spare_big);
  free(b->spans);
  free(b->slots);
  free(b);
}

/* Keeps large chunk c among the spares, which stay sorted by size. */
static void keep_big(tl_batch *b, chunk *c) {
  chunk **at = &b->spare_big;
  while (*at && (*at)->cap < c->cap) at = &(*at)->next;
  c->next = *at;
  *at = c;
}

/* A large chunk of at least n bytes: the smallest spare that fits, else a
** new one in place of the largest spare (too small for this use, it would
** likely stay so): the spares never outnumber the large chunks one use of
** the batch held.  A new one has a quarter more room, for the next use's
** array of the same kind, a little larger. */
static chunk *take_big(tl_batch *b, size_t n) {
  chunk **at = &b->spare_big, **last = NULL;
  for (; *at; at = &(*at)->next) {
    if ((*at)->cap >= n) {
      chunk *c = *at;
      *at = c->next;
      return c;
    }
    last = at;
  }
  if (last) {
    chunk *c = *last;
    *last = NULL;
    free(c);
  }
  size_t cap = n + n / 4;
  chunk *c = malloc(sizeof(chunk) + cap);
  if (c) c->cap = cap;
  return c;
}

void tl_batch_reset(tl_batch *b) {
  /* Large spares are kept from one use to the next only: a batch that
  ** once held a huge value does not keep its memory for ever. */
  free_chunks(b->spare_big);
  b->spare_big = NULL;
  chunk *c = b->chunks;
  while (c) {
    chunk *n = c->next;
    if (c->cap == CHUNK_SIZE) {
      c->next = b->spare;
      b->spare = c;
    } else {
      keep_big(b, c);
    }
    c = n;
  }
  b->chunks = NULL;
  b->arena_bytes = 0;
  b->n_spans = 0;
  if (b->n_slots) memset(b->slots, 0, b->cap_slots * sizeof *b->slots);
  b->n_slots = 0;
  if (b->memo_n) memset(b->memo_key, 0, sizeof b->memo_key);
  b->memo_n = 0;
}

/* The slot holding key, or the empty slot ending its probe sequence.
** Objects are allocated some bytes apart: the address is multiplied so
** that its low bits all count. */
static size_t memo_find(const tl_batch *b, const void *key) {
  size_t i = (size_t)(((uint64_t)(uintptr_t)key * 0x9E3779B97F4A7C15ull) >> 40) % MEMO_SLOTS;
  while (b->memo_key[i] && b->memo_key[i] != key) i = (i + 1) % MEMO_SLOTS;
  return i;
}

tl_str tl_batch_memo_get(const tl_batch *b, const void *key) {
  size_t i = memo_find(b, key);
  tl_str none = {NULL, 0};
  return b->memo_key[i] ? b->memo_text[i] : none;
}

tl_str tl_batch_memo_put(tl_batch *b, const void *key, const char *text, size_t n) {
  tl_str t = tl_batch_copy(b, text, n);
  size_t i = memo_find(b, key);
  if (t.ptr && (b->memo_key[i] || b->memo_n < MEMO_MAX)) {
    b->memo_n += !b->memo_key[i];
    b->memo_key[i] = key;
    b->memo_text[i] = t;
  }
  return t;
}

void *tl_batch_alloc_raw(tl_batch *b, size_t n) {
  if (n > (size_t)TL_MAX_STRING * 4) return NULL;
  n = (n + 7) & ~(size_t)7;
  if (n == 0) n = 8;
  chunk *c = b->chunks;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > CHUNK_SIZE / 4 ? n : CHUNK_SIZE;
    if (cap == CHUNK_SIZE && b->spare) {
      c = b->spare;
      b->spare = c->next;
    } else if (cap == CHUNK_SIZE) {
      c = malloc(sizeof(chunk) + cap);
      if (!c) return NULL;
      c->cap = cap;
    } else if (!(c = take_big(b, n))) {
      return NULL;
    }
    c->used = 0;
    if (cap == CHUNK_SIZE || !b->chunks) {
      c->next = b->chunks;
      b->chunks = c;
    } else {
      /* An oversized chunk goes behind the current one so the current
      ** chunk's free space is not abandoned. */
      c->next = b->chunks->next;
      b->chunks->next = c;
    }
    b->arena_bytes += sizeof(chunk) + c->cap;
  }
  void *p = (char *)chunk_data(c) + c->used;
  c->used += n;
  return p;
}

void *tl_batch_alloc(tl_batch *b, size_t n) {
  void *p = tl_batch_alloc_raw(b, n);
  if (p) memset(p, 0, n);
  return p;
}

static int intern_grow(tl_batch *b) {
  size_t cap = b->cap_slots ? b->cap_slots * 2 : 1024;
  intern_slot *slots = calloc(cap, sizeof *slots);
  if (!slots) return -1;
  for (size_t i = 0; i < b->cap_slots; i++) {
    intern_slot *s = &b->slots[i];
    if (!s->s.ptr) continue;
    size_t j = s->hash & (cap - 1);
    while (slots[j].s.ptr) j = (j + 1) & (cap - 1);
    slots[j] = *s;
  }
  free(b->slots);
  b->slots = slots;
  b->cap_slots = cap;
  return 0;
}

tl_str tl_batch_intern(tl_batch *b, const char *p, size_t n) {
  tl_str none = {NULL, 0};
  if (n > TL_MAX_STRING) return none;
  if ((b->n_slots + 1) * 2 > b->cap_slots && intern_grow(b)) return none;
  uint64_t h = tl_hash(p, n);
  size_t mask = b->cap_slots - 1, j = h & mask;
  for (;;) {
    intern_slot *s = &b->slots[j];
    if (!s->s.ptr) break;
    if (s->hash == h && s->s.len == n && memcmp(s->s.ptr, p, n) == 0) return s->s;
    j = (j + 1) & mask;
  }
  char *copy = tl_batch_alloc(b, n + 1);
  if (!copy) return none;
  if (n) memcpy(copy, p, n);
  b->slots[j].hash = h;
  b->slots[j].s.ptr = copy;
  b->slots[j].s.len = (uint32_t)n;
  b->n_slots++;
  return b->slots[j].s;
}

tl_str tl_batch_intern_cstr(tl_batch *b, const char *s) {
  return tl_batch_intern(b, s, strlen(s));
}

tl_str tl_batch_copy(tl_batch *b, const void *p, size_t n) {
  tl_str out = {NULL, 0};
  if (n > TL_MAX_STRING) return out;
  char *copy = tl_batch_alloc(b, n + 1);
  if (!copy) return out;
  if (n) memcpy(copy, p, n);
  out.ptr = copy;
  out.len = (uint32_t)n;
  return out;
}

size_t tl_batch_count(const tl_batch *b) { return b->n_spans; }

tl_span *tl_batch_span(const tl_batch *b, size_t i) {
  return i < b->n_spans ? b->spans[i] : NULL;
}

tl_span *tl_batch_add_span(tl_batch *b) {
  tl_span *s;
  return tl_batch_add_spans(b, 1, &s) ? NULL : s;
}

int tl_batch_add_spans(tl_batch *b, size_t n, tl_span **out) {
  /* Runs of spans in one allocation each, small enough for any n. */
  enum { RUN = 1024 };
  if (n > SIZE_MAX / 2 / sizeof *b->spans - b->n_spans) return -1;
  if (b->n_spans + n > b->cap_spans) {
    size_t cap = b->cap_spans ? b->cap_spans * 2 : 256;
    if (cap < b->n_spans + n) cap = b->n_spans + n;
    tl_span **spans = realloc(b->spans, cap * sizeof *spans);
    if (!spans) return -1;
    b->spans = spans;
    b->cap_spans = cap;
  }
  for (size_t i = 0; i < n; i += RUN) {
    size_t m = n - i < RUN ? n - i : RUN;
    tl_span *s = tl_batch_alloc(b, m * sizeof *s);
    if (!s) {
      b->n_spans -= i;
      return -1;
    }
    for (size_t k = 0; k < m; k++) {
      s[k].resource = &b->empty_resource;
      s[k].scope = &b->empty_scope;
      out[i + k] = b->spans[b->n_spans++] = &s[k];
    }
  }
  return 0;
}

void tl_batch_pop_span(tl_batch *b) {
  if (b->n_spans) b->n_spans--;
}

const tl_resource *tl_batch_empty_resource(tl_batch *b) { return &b->empty_resource; }
const tl_scope *tl_batch_empty_scope(tl_batch *b) { return &b->empty_scope; }

size_t tl_batch_memory(const tl_batch *b) {
  return b->arena_bytes + b->cap_spans * sizeof(tl_span *) +
         b->cap_slots * sizeof(intern_slot);
}

void tl_resource_set_service(tl_resource *r) {
  const tl_value *v = tl_attrs_get(&r->attrs, "service.name");
  if (v && v->type == TL_V_STRING) {
    r->service = v->u.s;
  } else {
    r->service.ptr = NULL;
    r->service.len = 0;
  }
}

/* ---- attribute builder ------------------------------------------------- */

int tl_kvbuf_push(tl_kvbuf *kb, tl_str key, tl_value value) {
  if (kb->n == kb->cap) {
    uint32_t cap = kb->cap ? kb->cap * 2 : 32;
    if (cap > TL_MAX_STRING / sizeof(tl_kv)) return TL_ERANGE;
    tl_kv *items = realloc(kb->items, cap * sizeof *items);
    if (!items) return TL_ENOMEM;
    kb->items = items;
    kb->cap = cap;
  }
  kb->items[kb->n].key = key;
  kb->items[kb->n].value = value;
  kb->n++;
  return TL_OK;
}

int tl_kvbuf_take(tl_kvbuf *kb, uint32_t from, tl_batch *b, tl_attrs *out) {
  uint32_t n = kb->n - from;
  out->n = n;
  out->items = NULL;
  if (n) {
    out->items = tl_batch_alloc(b, (size_t)n * sizeof(tl_kv));
    if (!out->items) return TL_ENOMEM;
    memcpy(out->items, kb->items + from, (size_t)n * sizeof(tl_kv));
  }
  kb->n = from;
  return TL_OK;
}

void tl_kvbuf_free(tl_kvbuf *kb) {
  free(kb->items);
  kb->items = NULL;
  kb->n = kb->cap = 0;
}

const tl_value *tl_attrs_get(const tl_attrs *a, const char *key) {
  size_t n = strlen(key);
  for (uint32_t i = 0; i < a->n; i++) {
    const tl_str *k = &a->items[i].key;
    if (k->len == n && memcmp(k->ptr, key, n) == 0) return &a->items[i].value;
  }
  return NULL;
}

/* ---- span helpers -------------------------------------------------------- */

int tl_span_is_root(const tl_span *s) {
  static const uint8_t zero[8];
  return memcmp(s->parent_span_id, zero, 8) == 0;
}

static const char *const kind_names[] = {"UNSPECIFIED", "INTERNAL", "SERVER",
                                         "CLIENT", "PRODUCER", "CONSUMER"};
static const char *const status_names[] = {"UNSET", "OK", "ERROR"};

const char *tl_kind_name(int kind) {
  return kind >= 0 && kind <= 5 ? kind_names[kind] : NULL;
}

const char *tl_status_name(int code) {
  return code >= 0 && code <= 2 ? status_names[code] : NULL;
}

/* Matches s against names[i], optionally behind an OTLP enum prefix. */
static int parse_enum(const char *s, size_t n, const char *prefix,
                      const char *const *names, int count) {
  size_t pl = strlen(prefix);
  if (n > pl && strncasecmp(s, prefix, pl) == 0) {
    s += pl;
    n -= pl;
  }
  for (int i = 0; i < count; i++) {
    if (strlen(names[i]) == n && strncasecmp(s, names[i], n) == 0) return i;
  }
  return -1;
}

int tl_kind_parse(const char *s, size_t n) {
  return parse_enum(s, n, "SPAN_KIND_", kind_names, 6);
}

int tl_status_parse(const char *s, size_t n) {
  return parse_enum(s, n, "STATUS_CODE_", status_names, 3);
}

/* ---- deep copy ------------------------------------------------------------ */

#define COPY_CACHE_SLOTS 64
#define COPY_CACHE_STRS 1024

/* Direct-mapped: a source pointer to the copy made in the destination.
** Interned strings are unique in their batch, so a source string's address
** names its content, and a hit skips hashing it again into the destination:
** spans from one source repeat the same keys and values over and over. */
struct tl_copy_cache {
  const void *src[COPY_CACHE_SLOTS];
  const void *dst[COPY_CACHE_SLOTS];
  const char *str_src[COPY_CACHE_STRS];
  tl_str str_dst[COPY_CACHE_STRS];
};

tl_copy_cache *tl_copy_cache_new(void) { return calloc(1, sizeof(tl_copy_cache)); }
void tl_copy_cache_free(tl_copy_cache *c) { free(c); }
void tl_copy_cache_reset(tl_copy_cache *c) { memset(c, 0, sizeof *c); }

static int copy_str(tl_batch *dst, tl_copy_cache *cache, tl_str *s) {
  if (!s->len) {
    s->ptr = NULL;
    return TL_OK;
  }
  size_t i = ((uintptr_t)s->ptr >> 3) % COPY_CACHE_STRS;
  if (cache && cache->str_src[i] == s->ptr && cache->str_dst[i].len == s->len) {
    *s = cache->str_dst[i];
    return TL_OK;
  }
  tl_str c = tl_batch_intern(dst, s->ptr, s->len);
  if (!c.ptr) return TL_ENOMEM;
  if (cache) {
    cache->str_src[i] = s->ptr;
    cache->str_dst[i] = c;
  }
  *s = c;
  return TL_OK;
}

static int copy_attrs(tl_batch *dst, tl_copy_cache *cache, tl_attrs *a, int depth);

static int copy_value(tl_batch *dst, tl_copy_cache *cache, tl_value *v, int depth) {
  if (depth > TL_MAX_DEPTH) return TL_ERANGE;
  switch (v->type) {
    case TL_V_STRING: return copy_str(dst, cache, &v->u.s);
    case TL_V_BYTES: {
      tl_str c = tl_batch_copy(dst, v->u.s.ptr, v->u.s.len);
      if (!c.ptr) return TL_ENOMEM;
      v->u.s = c;
      return TL_OK;
    }
    case TL_V_ARRAY: {
      uint32_t n = v->u.arr.n;
      if (!n) return TL_OK;
      tl_value *items = tl_batch_alloc(dst, (size_t)n * sizeof *items);
      if (!items) return TL_ENOMEM;
      memcpy(items, v->u.arr.items, (size_t)n * sizeof *items);
      v->u.arr.items = items;
      for (uint32_t i = 0; i < n; i++) {
        int rc = copy_value(dst, cache, &items[i], depth + 1);
        if (rc) return rc;
      }
      return TL_OK;
    }
    case TL_V_KVLIST: {
      tl_attrs a = {v->u.kv.items, v->u.kv.n, 0};
      int rc = copy_attrs(dst, cache, &a, depth + 1);
      v->u.kv.items = a.items;
      return rc;
    }
    default: return TL_OK;
  }
}

static int copy_attrs(tl_batch *dst, tl_copy_cache *cache, tl_attrs *a, int depth) {
  if (!a->n) return TL_OK;
  tl_kv *items = tl_batch_alloc(dst, (size_t)a->n * sizeof *items);
  if (!items) return TL_ENOMEM;
  memcpy(items, a->items, (size_t)a->n * sizeof *items);
  a->items = items;
  for (uint32_t i = 0; i < a->n; i++) {
    int rc = copy_str(dst, cache, &items[i].key);
    if (!rc) rc = copy_value(dst, cache, &items[i].value, depth);
    if (rc) return rc;
  }
  return TL_OK;
}

static const void *cache_get(const tl_copy_cache *c, const void *src) {
  if (!c) return NULL;
  size_t i = ((uintptr_t)src >> 4) % COPY_CACHE_SLOTS;
  return c->src[i] == src ? c->dst[i] : NULL;
}

static void cache_put(tl_copy_cache *c, const void *src, const void *dst) {
  if (!c) return;
  size_t i = ((uintptr_t)src >> 4) % COPY_CACHE_SLOTS;
  c->src[i] = src;
  c->dst[i] = dst;
}

const void *tl_copy_cache_get(const tl_copy_cache *c, const void *src) {
  return cache_get(c, src);
}

void tl_copy_cache_link(tl_copy_cache *c, const void *src, const void *dst) {
  cache_put(c, src, dst);
}

static int copy_resource(tl_batch *dst, const tl_resource *src,
                         tl_copy_cache *cache, const tl_resource **out) {
  if (!src->attrs.n && !src->attrs.dropped && !src->schema_url.len) {
    *out = tl_batch_empty_resource(dst);
    return TL_OK;
  }
  if ((*out = cache_get(cache, src))) return TL_OK;
  tl_resource *r = tl_batch_alloc(dst, sizeof *r);
  if (!r) return TL_ENOMEM;
  *r = *src;
  int rc = copy_attrs(dst, cache, &r->attrs, 0);
  if (!rc) rc = copy_str(dst, cache, &r->schema_url);
  if (rc) return rc;
  tl_resource_set_service(r);
  cache_put(cache, src, r);
  *out = r;
  return TL_OK;
}

static int copy_scope(tl_batch *dst, const tl_scope *src, tl_copy_cache *cache,
                      const tl_scope **out) {
  if (!src->name.len && !src->version.len && !src->attrs.n && !src->schema_url.len &&
      !src->attrs.dropped) {
    *out = tl_batch_empty_scope(dst);
    return TL_OK;
  }
  if ((*out = cache_get(cache, src))) return TL_OK;
  tl_scope *s = tl_batch_alloc(dst, sizeof *s);
  if (!s) return TL_ENOMEM;
  *s = *src;
  int rc = copy_str(dst, cache, &s->name);
  if (!rc) rc = copy_str(dst, cache, &s->version);
  if (!rc) rc = copy_attrs(dst, cache, &s->attrs, 0);
  if (!rc) rc = copy_str(dst, cache, &s->schema_url);
  if (rc) return rc;
  cache_put(cache, src, s);
  *out = s;
  return TL_OK;
}

int tl_span_copy(tl_batch *dst, const tl_span *src, tl_copy_cache *cache,
                 tl_span **out) {
  tl_span *s = tl_batch_add_span(dst);
  if (!s) return TL_ENOMEM;
  *s = *src;
  int rc = copy_str(dst, cache, &s->trace_state);
  if (!rc) rc = copy_str(dst, cache, &s->name);
  if (!rc) rc = copy_str(dst, cache, &s->status_message);
  if (!rc) rc = copy_attrs(dst, cache, &s->attrs, 0);
  if (!rc && s->n_events) {
    tl_event *ev = tl_batch_alloc(dst, (size_t)s->n_events * sizeof *ev);
    if (!ev) rc = TL_ENOMEM;
    else {
      memcpy(ev, src->events, (size_t)s->n_events * sizeof *ev);
      s->events = ev;
      for (uint32_t i = 0; !rc && i < s->n_events; i++) {
        rc = copy_str(dst, cache, &ev[i].name);
        if (!rc) rc = copy_attrs(dst, cache, &ev[i].attrs, 0);
      }
    }
  }
  if (!rc && s->n_links) {
    tl_link *ln = tl_batch_alloc(dst, (size_t)s->n_links * sizeof *ln);
    if (!ln) rc = TL_ENOMEM;
    else {
      memcpy(ln, src->links, (size_t)s->n_links * sizeof *ln);
      s->links = ln;
      for (uint32_t i = 0; !rc && i < s->n_links; i++) {
        rc = copy_str(dst, cache, &ln[i].trace_state);
        if (!rc) rc = copy_attrs(dst, cache, &ln[i].attrs, 0);
      }
    }
  }
  if (!rc) rc = copy_resource(dst, src->resource, cache, &s->resource);
  if (!rc) rc = copy_scope(dst, src->scope, cache, &s->scope);
  if (rc) {
    tl_batch_pop_span(dst);
    return rc;
  }
  if (out) *out = s;
  return TL_OK;
}
