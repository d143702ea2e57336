/*
** trace_tree.c — reading one trace's rows into spans (tl_trace_buf) and
** linking them into a forest (tl_tree).  The rules Tree 1..8 are stated in
** trace_tree.h; each is cited where it is implemented.
**
** Building is O(n log n) (one stable merge sort by start time) with an
** open-addressing index on the id keys; the walks are iterative, so a chain
** of 100,000 spans is as safe as a flat trace.  All per-node arrays live in
** one allocation that is kept between traces.
*/
#include "trace_tree.h"
#include "../common/buf.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading rows --------------------------------------------------------- */

int tl_trace_buf_init(tl_trace_buf *b) {
  memset(b, 0, sizeof *b);
  b->strings = tl_batch_new();
  return b->strings ? TL_OK : TL_ENOMEM;
}

void tl_trace_buf_init_shared(tl_trace_buf *b, tl_batch *strings) {
  memset(b, 0, sizeof *b);
  b->strings = strings;
  b->shared = 1;
}

void tl_trace_buf_free(tl_trace_buf *b) {
  free(b->spans);
  if (!b->shared) tl_batch_free(b->strings);
  memset(b, 0, sizeof *b);
}

void tl_trace_buf_reset(tl_trace_buf *b, const char *trace_id, uint32_t len) {
  b->n = 0;
  if (!b->shared) tl_batch_reset(b->strings);
  if (len >= sizeof b->trace_id_buf) len = 0; /* not a trace id: no link can match */
  if (len) memcpy(b->trace_id_buf, trace_id, len);
  b->trace_id_buf[len] = 0;
  b->trace_id.ptr = b->trace_id_buf;
  b->trace_id.len = len;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Tree 1: ids are opaque keys. */
uint64_t tl_tree_key(const char *p, size_t n, int is_blob) {
  if (!p || !n) return 0;
  uint64_t v = 0;
  if (is_blob) {
    if (n != 8) goto hash;
    for (size_t i = 0; i < 8; i++) v = v << 8 | (unsigned char)p[i];
    return v;
  }
  if (n <= 16) {
    size_t i;
    for (i = 0; i < n; i++) {
      int h = hexval(p[i]);
      if (h < 0) break;
      v = v << 4 | (uint64_t)h;
    }
    if (i == n) return v; /* all-zero ids are "no id" */
  } else {
    size_t i;
    for (i = 0; i < n && p[i] == '0'; i++) {
    }
    if (i == n) return 0;
  }
hash:
  v = tl_hash(p, n);
  return v ? v : 1;
}

static int cell_text(const tl_cell *c) { return c->type == TL_CELL_TEXT || c->type == TL_CELL_BLOB; }

static const char *intern(tl_trace_buf *b, const tl_cell *c, int empty_is_null) {
  if (!cell_text(c) || (!c->n && empty_is_null)) return empty_is_null ? NULL : "";
  tl_str s = tl_batch_intern(b->strings, c->p, c->n);
  return s.ptr;
}

/* The id as text for output: text as read, a blob as lowercase hex. */
static int id_text(tl_trace_buf *b, const tl_cell *c, tl_str *out) {
  out->ptr = NULL;
  out->len = 0;
  if (!cell_text(c) || !c->n || b->shared) return TL_OK;
  if (c->type == TL_CELL_TEXT) {
    *out = tl_batch_copy(b->strings, c->p, c->n);
  } else {
    char *t = tl_batch_alloc(b->strings, (size_t)c->n * 2 + 1);
    if (!t) return TL_ENOMEM;
    tl_hex_encode((const uint8_t *)c->p, c->n, t);
    out->ptr = t;
    out->len = c->n * 2;
  }
  return out->ptr ? TL_OK : TL_ENOMEM;
}

static int cell_time(const tl_cell *c, int64_t dflt, int64_t *out, const char *col, tl_err *e) {
  switch (c->type) {
    case TL_CELL_NULL: *out = dflt; return TL_OK;
    case TL_CELL_INT: *out = c->i; return TL_OK;
    case TL_CELL_FLOAT:
      if (c->d >= -9.2e18 && c->d <= 9.2e18) {
        *out = (int64_t)c->d;
        return TL_OK;
      }
      break;
    default: break;
  }
  return tl_err_set(e, TL_EFORMAT, "%s is not an integer number of nanoseconds", col);
}

static int cell_enum(const tl_cell *c, int (*parse)(const char *, size_t), int max) {
  if (c->type == TL_CELL_INT) return c->i >= 0 && c->i <= max ? (int)c->i : 0;
  if (c->type != TL_CELL_TEXT) return 0;
  int v = parse(c->p, c->n);
  return v < 0 ? 0 : v;
}

/* Tree 3: the first link into this trace, from the links column's JSON
** ([{"traceId":"…","spanId":"…",…},…]).  Unreadable JSON is no link. */
static uint64_t follows_key(const tl_trace_buf *b, const tl_cell *links) {
  if (links->type != TL_CELL_TEXT || !links->n || !b->trace_id.len) return 0;
  json_error_t jerr;
  json_t *arr = json_loadb(links->p, links->n, JSON_ALLOW_NUL, &jerr);
  uint64_t key = 0;
  if (json_is_array(arr)) {
    for (size_t i = 0; i < json_array_size(arr) && !key; i++) {
      json_t *l = json_array_get(arr, i);
      const char *tid = json_string_value(json_object_get(l, "traceId"));
      const char *sid = json_string_value(json_object_get(l, "spanId"));
      if (!tid || !sid || strlen(tid) != b->trace_id.len) continue;
      int same = 1;
      for (uint32_t k = 0; k < b->trace_id.len && same; k++)
        same = hexval(tid[k]) >= 0 && hexval(tid[k]) == hexval(b->trace_id.ptr[k]);
      if (same) key = tl_tree_key(sid, strlen(sid), 0);
    }
  }
  json_decref(arr);
  return key;
}

/* Room for one more span; TL_ERANGE past TL_TREE_MAX_SPANS. */
static int reserve(tl_trace_buf *b, tl_err *e) {
  if (b->n >= TL_TREE_MAX_SPANS)
    return tl_err_set(e, TL_ERANGE, "a trace has more than %u spans", TL_TREE_MAX_SPANS);
  if (b->n == b->cap) {
    uint32_t cap = b->cap ? b->cap * 2 : 64;
    tl_tspan *p = realloc(b->spans, (size_t)cap * sizeof *p);
    if (!p) return tl_err_set(e, TL_ENOMEM, "out of memory");
    b->spans = p;
    b->cap = cap;
  }
  return TL_OK;
}

int tl_trace_buf_add(tl_trace_buf *b, const tl_cell *c, tl_err *e) {
  if (reserve(b, e)) return e->rc;
  const tl_cell *id = &c[TL_TC_SPAN_ID], *par = &c[TL_TC_PARENT];
  if (!cell_text(id) || !id->n) return tl_err_set(e, TL_EFORMAT, "span_id is NULL or empty");
  tl_tspan *s = &b->spans[b->n];
  memset(s, 0, sizeof *s);
  s->id = tl_tree_key(id->p, id->n, id->type == TL_CELL_BLOB);
  s->parent = cell_text(par) ? tl_tree_key(par->p, par->n, par->type == TL_CELL_BLOB) : 0;
  if (id_text(b, id, &s->id_text) || (s->parent && id_text(b, par, &s->parent_text)))
    return tl_err_set(e, TL_ENOMEM, "out of memory");
  int rc = cell_time(&c[TL_TC_START], 0, &s->start_ns, "start_ns", e);
  if (rc == TL_OK) rc = cell_time(&c[TL_TC_END], s->start_ns, &s->end_ns, "end_ns", e);
  if (rc) return rc;
  if (s->end_ns < s->start_ns) s->end_ns = s->start_ns; /* Tree 8 */
  s->service = intern(b, &c[TL_TC_SERVICE], 1);
  s->name = intern(b, &c[TL_TC_NAME], 0);
  s->remote = intern(b, &c[TL_TC_REMOTE], 1);
  if (!s->name) return tl_err_set(e, TL_ENOMEM, "out of memory");
  s->kind = (uint8_t)cell_enum(&c[TL_TC_KIND], tl_kind_parse, TL_KIND_CONSUMER);
  s->error = cell_enum(&c[TL_TC_STATUS], tl_status_parse, TL_STATUS_ERROR) == TL_STATUS_ERROR;
  if (!s->parent) s->follows = follows_key(b, &c[TL_TC_LINKS]);
  b->n++;
  return TL_OK;
}

/* Tree 3 for a span read directly: its first link into its own trace, as
** follows_key finds it in the links column (whose JSON leaves out all-zero
** ids, so such a link names nothing). */
static uint64_t span_follows(const tl_span *sp) {
  static const uint8_t zero[16];
  for (uint32_t i = 0; i < sp->n_links; i++) {
    const tl_link *l = &sp->links[i];
    uint64_t key = tl_tree_key((const char *)l->span_id, sizeof l->span_id, 1);
    if (key && memcmp(l->trace_id, zero, 16) && !memcmp(l->trace_id, sp->trace_id, 16))
      return key;
  }
  return 0;
}

int tl_trace_buf_add_span(tl_trace_buf *b, const tl_span *sp, const char *service,
                          const char *name, const char *remote, tl_err *e) {
  if (reserve(b, e)) return e->rc;
  tl_tspan *s = &b->spans[b->n];
  memset(s, 0, sizeof *s);
  /* The row would show the ids as hex text: as 8-byte blobs they have the
  ** same keys and the same text. */
  tl_cell id = {.type = TL_CELL_BLOB, .p = (const char *)sp->span_id, .n = 8};
  tl_cell par = {.type = TL_CELL_BLOB, .p = (const char *)sp->parent_span_id, .n = 8};
  s->id = tl_tree_key(id.p, id.n, 1);
  s->parent = tl_tree_key(par.p, par.n, 1);
  if (id_text(b, &id, &s->id_text) || (s->parent && id_text(b, &par, &s->parent_text)))
    return tl_err_set(e, TL_ENOMEM, "out of memory");
  s->start_ns = (int64_t)sp->start_ns;
  s->end_ns = (int64_t)sp->end_ns;
  if (s->end_ns < s->start_ns) s->end_ns = s->start_ns; /* Tree 8 */
  s->service = service;
  s->name = name;
  s->remote = remote;
  s->kind = sp->kind <= TL_KIND_CONSUMER ? sp->kind : TL_KIND_UNSPECIFIED;
  s->error = sp->status_code == TL_STATUS_ERROR;
  if (!s->parent) s->follows = span_follows(sp);
  b->n++;
  return TL_OK;
}

/* ---- sorting -------------------------------------------------------------- */

static int before(int64_t a, int64_t b, int desc) { return desc ? a > b : a < b; }

void tl_tree_sort(uint32_t *idx, uint32_t n, const int64_t *key, int desc, uint32_t *tmp) {
  /* Bottom-up merge sort: stable, O(n log n), no recursion. */
  uint32_t *src = idx, *dst = tmp;
  for (uint32_t width = 1; width < n; width *= 2) {
    for (uint32_t lo = 0; lo < n; lo += 2 * width) {
      uint32_t mid = lo + width < n ? lo + width : n;
      uint32_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      uint32_t a = lo, b = mid, k = lo;
      while (a < mid && b < hi) dst[k++] = before(key[src[b]], key[src[a]], desc) ? src[b++] : src[a++];
      while (a < mid) dst[k++] = src[a++];
      while (b < hi) dst[k++] = src[b++];
    }
    uint32_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != idx) memcpy(idx, src, (size_t)n * sizeof *idx);
}

/* ---- building the tree ---------------------------------------------------- */

void tl_tree_init(tl_tree *t) { memset(t, 0, sizeof *t); }

void tl_tree_free(tl_tree *t) {
  free(t->mem);
  memset(t, 0, sizeof *t);
}

/* Per-build working arrays, carved from t->mem with the public ones. */
typedef struct work {
  uint32_t *owner;  /* group head -> the span that owns the id */
  uint32_t *next;   /* next span with the same id, UINT32_MAX at the end */
  uint32_t *slots;  /* id index: head + 1, 0 empty */
  uint32_t mask;
  int64_t *start;   /* sort keys */
  uint32_t *tmp;
} work;

#define NONE UINT32_MAX

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

static int carve(tl_tree *t, uint32_t n, work *w) {
  uint32_t slots = 16;
  while (slots < 2 * (uint64_t)n) slots *= 2;
  size_t u32 = sizeof(uint32_t);
  size_t need = align8(n * sizeof(int32_t)) + align8(n) + align8(n * u32) * 6 +
                align8((n + 1) * u32) + align8(slots * u32) + (size_t)n * sizeof(int64_t) +
                align8(n * u32) * 2;
  if (need > t->mem_cap) {
    void *m = realloc(t->mem, need);
    if (!m) return TL_ENOMEM;
    t->mem = m;
    t->mem_cap = need;
  }
  char *p = t->mem;
#define TAKE(ptr, bytes) (ptr = (void *)p, p += align8(bytes))
  TAKE(t->parent, n * sizeof(int32_t));
  TAKE(t->flags, n);
  TAKE(t->depth, n * u32);
  TAKE(t->child, n * u32);
  TAKE(t->roots, n * u32);
  TAKE(t->order, n * u32);
  TAKE(w->owner, n * u32);
  TAKE(w->next, n * u32);
  TAKE(t->child_at, (n + 1) * u32);
  TAKE(w->slots, slots * u32);
  TAKE(w->start, n * sizeof(int64_t));
  TAKE(w->tmp, n * u32);
  TAKE(t->scratch, n * u32);
#undef TAKE
  w->mask = slots - 1;
  memset(w->slots, 0, slots * u32);
  return TL_OK;
}

static uint32_t slot_of(uint64_t key, uint32_t mask) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdull;
  key ^= key >> 33;
  return (uint32_t)key & mask;
}

/* The head of the group with this id, or NONE. */
static uint32_t find(const work *w, const tl_tspan *s, uint64_t key) {
  for (uint32_t h = slot_of(key, w->mask);; h = (h + 1) & w->mask) {
    uint32_t v = w->slots[h];
    if (!v) return NONE;
    if (s[v - 1].id == key) return v - 1;
  }
}

static int fragment(const tl_tspan *s) {
  return s->start_ns == 0 && s->end_ns == 0 && s->kind == TL_KIND_UNSPECIFIED;
}

/* Tree 5: decides, for one group of spans sharing an id, who owns the id
** and what the others are. */
static void settle_group(tl_tree *t, work *w, const tl_tspan *s, uint32_t head) {
  uint32_t i, whole = 0, server = 0, other = 0, client = NONE, first_other = NONE;
  for (i = head; i != NONE; i = w->next[i]) whole += !fragment(&s[i]);
  for (i = head; i != NONE; i = w->next[i]) {
    if (whole && fragment(&s[i])) {
      t->flags[i] = TL_TREE_MERGED;
      continue;
    }
    if (s[i].kind == TL_KIND_SERVER) {
      server++;
    } else {
      other++;
      if (first_other == NONE) first_other = i;
      if (client == NONE && s[i].kind == TL_KIND_CLIENT) client = i;
    }
  }
  uint32_t owner = NONE;
  int shared = server && other;
  if (shared) owner = client != NONE ? client : first_other;
  for (i = head; i != NONE; i = w->next[i]) {
    if (t->flags[i] & TL_TREE_MERGED) continue;
    if (owner == NONE) {
      owner = i;
    } else if (i != owner) {
      t->flags[i] = shared && s[i].kind == TL_KIND_SERVER ? TL_TREE_SHARED : TL_TREE_DUPLICATE;
      if (t->flags[i] == TL_TREE_SHARED) t->parent[i] = (int32_t)owner;
    }
  }
  w->owner[head] = owner;
}

/* Tree 2, 3, 4, 6: the parent of a span that is not a shared half. */
static void link_parent(tl_tree *t, const work *w, const tl_tspan *s, uint32_t i) {
  uint32_t head;
  if (s[i].parent) {
    head = find(w, s, s[i].parent);
    if (head == NONE) {
      t->flags[i] |= TL_TREE_ORPHAN;
      return;
    }
    uint32_t target = w->owner[head];
    for (uint32_t m = head; m != NONE; m = w->next[m]) { /* Tree 6 */
      if ((t->flags[m] & TL_TREE_SHARED) && s[m].service == s[i].service) {
        target = m;
        break;
      }
    }
    t->parent[i] = (int32_t)target; /* target == i: a cycle, cut below */
  } else if (s[i].follows && (head = find(w, s, s[i].follows)) != NONE &&
             w->owner[head] != i) {
    t->parent[i] = (int32_t)w->owner[head];
    t->flags[i] |= TL_TREE_FOLLOWS | TL_TREE_ASYNC;
  }
  if (t->parent[i] >= 0 && s[i].kind == TL_KIND_CONSUMER &&
      s[t->parent[i]].kind == TL_KIND_PRODUCER) /* Tree 4 */
    t->flags[i] |= TL_TREE_ASYNC;
}

/* Tree 7: every walk up the parents must end at a root. */
static void cut_cycles(tl_tree *t, uint32_t *state, uint32_t *stack) {
  memset(state, 0, t->n * sizeof *state); /* 0 unseen, 1 on this walk, 2 done */
  for (uint32_t i = 0; i < t->n; i++) {
    uint32_t top = 0;
    int32_t j = (int32_t)i;
    while (j >= 0 && state[j] == 0) {
      state[j] = 1;
      stack[top++] = (uint32_t)j;
      j = t->parent[j];
    }
    if (j >= 0 && state[j] == 1) {
      t->parent[j] = -1;
      t->flags[j] = (uint8_t)((t->flags[j] & ~(TL_TREE_FOLLOWS | TL_TREE_ASYNC)) | TL_TREE_CYCLE);
    }
    while (top) state[stack[--top]] = 2;
  }
}

int tl_tree_build(tl_tree *t, const tl_tspan *s, uint32_t n, tl_err *e) {
  work w;
  if (carve(t, n, &w)) return tl_err_set(e, TL_ENOMEM, "out of memory building a trace of %u spans", n);
  t->n = n;
  for (uint32_t i = 0; i < n; i++) {
    t->parent[i] = -1;
    t->flags[i] = 0;
    w.next[i] = NONE;
    w.owner[i] = NONE;
  }
  /* Index ids; t->scratch remembers the last member of each group. */
  for (uint32_t i = 0; i < n; i++) {
    if (!s[i].id) continue;
    uint32_t h = slot_of(s[i].id, w.mask);
    while (w.slots[h] && s[w.slots[h] - 1].id != s[i].id) h = (h + 1) & w.mask;
    if (!w.slots[h]) {
      w.slots[h] = i + 1;
      t->scratch[i] = i;
    } else {
      uint32_t head = w.slots[h] - 1;
      w.next[t->scratch[head]] = i;
      t->scratch[head] = i;
    }
  }
  for (uint32_t i = 0; i < n; i++)
    if (s[i].id && find(&w, s, s[i].id) == i) settle_group(t, &w, s, i);
  for (uint32_t i = 0; i < n; i++)
    if (!(t->flags[i] & (TL_TREE_MERGED | TL_TREE_SHARED))) link_parent(t, &w, s, i);
  cut_cycles(t, t->scratch, w.tmp);

  /* Tree 8: one stable sort by start orders roots and every child list. */
  uint32_t m = 0;
  for (uint32_t i = 0; i < n; i++) {
    w.start[i] = s[i].start_ns;
    if (!(t->flags[i] & TL_TREE_MERGED)) t->scratch[m++] = i;
  }
  tl_tree_sort(t->scratch, m, w.start, 0, w.tmp);
  memset(t->child_at, 0, (size_t)(n + 1) * sizeof *t->child_at);
  for (uint32_t i = 0; i < n; i++)
    if (t->parent[i] >= 0) t->child_at[t->parent[i] + 1]++;
  for (uint32_t i = 0; i < n; i++) t->child_at[i + 1] += t->child_at[i];
  memcpy(w.owner, t->child_at, (size_t)n * sizeof *w.owner); /* fill positions */
  t->n_roots = 0;
  for (uint32_t k = 0; k < m; k++) {
    uint32_t i = t->scratch[k];
    if (t->parent[i] < 0) t->roots[t->n_roots++] = i;
    else t->child[w.owner[t->parent[i]]++] = i;
  }
  /* Depth-first order and depths, with an explicit stack (w.tmp). */
  t->n_order = 0;
  for (uint32_t r = 0; r < t->n_roots; r++) {
    uint32_t top = 0;
    w.tmp[top++] = t->roots[r];
    t->depth[t->roots[r]] = 0;
    while (top) {
      uint32_t u = w.tmp[--top];
      t->order[t->n_order++] = u;
      for (uint32_t k = t->child_at[u + 1]; k > t->child_at[u]; k--) {
        uint32_t c = t->child[k - 1];
        t->depth[c] = t->depth[u] + 1;
        w.tmp[top++] = c;
      }
    }
  }
  return TL_OK;
}
