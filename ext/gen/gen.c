/*
** gen.c — turns a system into traces, and traces into spans in end-time
** order.
**
** One trace.  Trace i draws everything from its own xoshiro stream, seeded
** from (seed, i): its ids, request type, variables, and a walk of the
** request type's call tree.  A call to another service makes a CLIENT span
** in the caller and a SERVER span in a randomly picked instance of the
** callee, the server starting one network delay after the client and the
** client ending one delay after the server; a call to a database, cache
** or search engine makes only the CLIENT span; a messaging call makes a
** PRODUCER span whose consumers start after a queue delay (CONSUMER spans,
** children of the producer and linked to it) and may outlive the whole
** request.  Each operation draws its own time ("self time", log-normal,
** rarely multiplied by its outlier factor) split around its children:
** sequential children follow each other after small gaps, a parallel group
** starts together and ends with its slowest member.  An operation fails at
** its error rate (before or after its children); a failure marks the
** span ERROR, fails the client span, and fails every caller up the tree
** unless a call says ignore_errors or a retry succeeds.  Every timestamp is
** rounded up to the clock resolution of the runtime that records it, from
** rounded parents, so children stay inside their parents.  Then a share of
** traces gets one host's clock skewed (a server span and its in-process
** descendants moved back, so the server starts before its client), and a
** share loses a span (its children become orphans) or its root.
**
** Many traces.  Trace i+1 arrives an exponential time after trace i
** (Poisson arrivals at arrival_rate), so traces overlap like concurrent
** requests.  Generated spans wait in a min-heap on (end time, sequence);
** the smallest is handed out as soon as no trace yet to be generated can
** end before it: its end is at most the next arrival minus the largest
** clock skew.  Only traces in flight are held (a few hundred at the
** default rate), so memory does not depend on n_traces.  Nothing depends on
** how many spans a caller asks for at a time: the output is a function of
** (system, n_traces, seed).
*/
#include <stdlib.h>
#include <string.h>

#include "gen_internal.h"

typedef struct heap_ent {
  uint64_t end, seq;
  uint32_t slot, span;
} heap_ent;

struct tl_gen {
  const tl_gen_system *sys;
  uint64_t n_traces, next_index, seed_mix;
  tl_rng arrival;
  uint64_t next_arrival;  /* start of trace next_index */
  uint64_t margin;        /* largest backward clock skew */
  gen_trace *slots;
  uint32_t n_slots, cap_slots, free_slot;
  heap_ent *heap;
  size_t n_heap, cap_heap;
  uint64_t seq;
  uint32_t *offset_base;  /* per service: first index in offsets */
  uint64_t *offsets;      /* next offset per (messaging service, partition) */
  uint8_t *mark;          /* scratch for skew */
  uint32_t cap_mark;
  gen_render *render;
  int mode;               /* 0 unused, 1 spans, 2 truth */
};

/* Times of a node as it is and as it would be without injected outlier
** slowness: the second tells which traces the injections made slow. */
typedef struct tt {
  int64_t t, n;
} tt;

static tt tt_add(tt a, int64_t d) {
  a.t += d;
  a.n += d;
  return a;
}
static tt tt_max(tt a, tt b) {
  a.t = a.t > b.t ? a.t : b.t;
  a.n = a.n > b.n ? a.n : b.n;
  return a;
}

typedef struct failure {
  int failed;
  uint32_t op, err; /* root cause */
} failure;

/* State of building one trace. */
typedef struct bctx {
  tl_gen *g;
  const tl_gen_system *s;
  gen_trace *tr;
  tl_rng rng;
  tt last_end;
  int oom;
} bctx;

/* ---- helpers --------------------------------------------------------------- */

static uint64_t res_of(const tl_gen_system *s, uint32_t inst) {
  uint32_t rt = s->services[s->instances[inst].service].runtime;
  return rt == GEN_NONE ? 1 : s->runtimes[rt].resolution_ns;
}

/* Rounds up to the recording clock's resolution. */
static int64_t ceil_res(int64_t t, uint64_t res) {
  if (res <= 1) return t;
  int64_t r = (int64_t)res, m = t % r;
  return m ? t + (r - m) : t;
}

static tt tt_ceil(tt a, uint64_t res) {
  a.t = ceil_res(a.t, res);
  a.n = ceil_res(a.n, res);
  return a;
}

static int64_t sample_ns(tl_rng *r, const gen_dist *d) {
  int64_t v = (int64_t)tl_rng_lognormal(r, d->median_ns, d->sigma);
  return v > 0 ? v : 1;
}

static uint32_t pick_instance(bctx *b, uint32_t service) {
  const gen_range *in = &b->s->services[service].instances;
  return in->first + (uint32_t)tl_rng_below(&b->rng, in->n);
}

static void random_id(tl_rng *r, uint8_t *out, size_t n) {
  for (;;) {
    int nonzero = 0;
    for (size_t i = 0; i < n; i += 8) {
      uint64_t x = tl_rng_next(r);
      for (size_t k = 0; k < 8 && i + k < n; k++) {
        out[i + k] = (uint8_t)(x >> (8 * k));
        nonzero |= out[i + k];
      }
    }
    if (nonzero) return;
  }
}

static uint32_t new_span(bctx *b, uint8_t role, uint32_t op, uint32_t inst, uint32_t parent,
                         uint32_t frame, uint32_t attempt) {
  gen_trace *tr = b->tr;
  if (tr->n_spans == tr->cap_spans) {
    uint32_t cap = tr->cap_spans ? tr->cap_spans * 2 : 64;
    gen_span *p = realloc(tr->spans, (size_t)cap * sizeof *p);
    if (!p) {
      b->oom = 1;
      return GEN_NONE;
    }
    tr->spans = p;
    tr->cap_spans = cap;
  }
  gen_span *sp = &tr->spans[tr->n_spans];
  memset(sp, 0, sizeof *sp);
  random_id(&b->rng, sp->id, 8);
  sp->seed = tl_rng_next(&b->rng);
  sp->role = role;
  sp->op = op;
  sp->inst = inst;
  sp->peer = GEN_NONE;
  sp->parent = parent;
  sp->frame = frame;
  sp->link = GEN_NONE;
  sp->attempt = (uint8_t)(attempt > 255 ? 255 : attempt);
  sp->cause = sp->cause_err = GEN_NONE;
  return tr->n_spans++;
}

static void set_times(bctx *b, uint32_t x, tt start, tt end) {
  b->tr->spans[x].start = (uint64_t)start.t;
  b->tr->spans[x].end = (uint64_t)end.t;
  b->last_end = tt_max(b->last_end, end);
}

static void set_error(bctx *b, uint32_t x, uint8_t kind, const failure *f) {
  gen_span *sp = &b->tr->spans[x];
  sp->error = kind;
  sp->cause = f->op;
  sp->cause_err = f->err;
}

static uint32_t push_frame(bctx *b, uint32_t parent, uint32_t var, uint64_t value) {
  gen_trace *tr = b->tr;
  if (tr->n_frames == tr->cap_frames) {
    uint32_t cap = tr->cap_frames ? tr->cap_frames * 2 : 32;
    gen_frame *p = realloc(tr->frames, (size_t)cap * sizeof *p);
    if (!p) {
      b->oom = 1;
      return parent;
    }
    tr->frames = p;
    tr->cap_frames = cap;
  }
  tr->frames[tr->n_frames].parent = parent;
  tr->frames[tr->n_frames].var = var;
  tr->frames[tr->n_frames].value = value;
  return tr->n_frames++;
}

/* An operation's own time, with and without its outlier factor. */
static tt self_time(bctx *b, const gen_op *op) {
  double base = tl_rng_lognormal(&b->rng, op->median_ns, op->sigma);
  double f = tl_rng_chance(&b->rng, op->outlier_p)
                 ? op->outlier_lo + (op->outlier_hi - op->outlier_lo) * tl_rng_unit(&b->rng)
                 : 1.0;
  tt d = {(int64_t)(base * f), (int64_t)base};
  if (d.t < 1) d.t = 1;
  if (d.n < 1) d.n = 1;
  return d;
}

/* Decides whether an operation fails by itself, and with which error. */
static int own_failure(bctx *b, uint32_t opi, failure *f) {
  const gen_op *op = &b->s->ops[opi];
  if (!tl_rng_chance(&b->rng, op->error_rate)) return 0;
  f->failed = 1;
  f->op = opi;
  f->err = op->errors.first + tl_pick_cdf(op->error_cdf, op->errors.n, tl_rng_next(&b->rng));
  return 1;
}

/* ---- the call tree ----------------------------------------------------------- */

static void run_node(bctx *b, uint32_t ni, uint32_t parent, uint32_t caller, uint32_t frame,
                     tt start, tt *end, failure *f);

/* The body of an operation recorded by span x: self time around children. */
static void exec_body(bctx *b, const gen_node *nd, uint32_t x, tt start, tt *end, failure *f) {
  const tl_gen_system *s = b->s;
  uint32_t opi = b->tr->spans[x].op, inst = b->tr->spans[x].inst, frame = b->tr->spans[x].frame;
  tt self = self_time(b, &s->ops[opi]);
  double frac = 0.1 + 0.5 * tl_rng_unit(&b->rng);
  tt pre = {(int64_t)((double)self.t * frac), (int64_t)((double)self.n * frac)};
  failure own = {0, 0, 0}, down = {0, 0, 0};
  int failed_self = own_failure(b, opi, &own);
  int skip_children = failed_self && tl_rng_chance(&b->rng, 0.5);
  tt cur = {start.t + pre.t, start.n + pre.n};
  for (uint32_t gi = 0; !skip_children && gi < nd->groups.n && !b->oom; gi++) {
    const gen_group *grp = &s->groups[nd->groups.first + gi];
    tt gstart = cur, gend = cur;
    for (uint32_t k = 0; k < grp->nodes.n; k++) {
      tt cs = tt_add(grp->parallel ? gstart : cur, sample_ns(&b->rng, &s->gap)), ce;
      failure cf = {0, 0, 0};
      run_node(b, s->refs[grp->nodes.first + k], x, inst, frame, cs, &ce, &cf);
      gend = tt_max(gend, ce);
      if (!grp->parallel) cur = ce;
      if (cf.failed && !down.failed) down = cf;
      if (cf.failed && !grp->parallel) break;
    }
    cur = gend;
    if (down.failed) break;
  }
  tt stop = tt_ceil((tt){cur.t + (self.t - pre.t), cur.n + (self.n - pre.n)}, res_of(s, inst));
  set_times(b, x, start, stop);
  if (failed_self) set_error(b, x, ERR_OWN, &own), *f = own;
  else if (down.failed) set_error(b, x, ERR_PROPAGATED, &down), *f = down;
  *end = stop;
}

/* One attempt of a call from span `parent` recorded by instance `caller`. */
static void do_call(bctx *b, const gen_node *nd, uint32_t attempt, uint32_t parent, uint32_t caller,
                    uint32_t frame, tt start, tt *end, failure *f) {
  const tl_gen_system *s = b->s;
  const gen_op *op = &s->ops[nd->op];
  uint32_t x;
  switch (op->type) {
    case OP_INTERNAL:
      x = new_span(b, ROLE_INTERNAL, nd->op, caller, parent, frame, attempt);
      if (x == GEN_NONE) return;
      exec_body(b, nd, x, tt_ceil(start, res_of(s, caller)), end, f);
      return;
    case OP_CONSUMER: {
      uint32_t inst = pick_instance(b, op->service);
      x = new_span(b, ROLE_CONSUMER, nd->op, inst, parent, frame, attempt);
      if (x == GEN_NONE) return;
      gen_span *sp = &b->tr->spans[x];
      sp->link = parent;
      sp->peer = b->tr->spans[parent].peer; /* the broker instance */
      sp->aux = b->tr->spans[parent].aux;
      sp->offset = b->tr->spans[parent].offset;
      exec_body(b, nd, x, tt_ceil(start, res_of(s, inst)), end, f);
      return;
    }
    case OP_SERVER: {
      uint32_t inst = pick_instance(b, op->service);
      if (parent == GEN_NONE) { /* the root: called from outside */
        x = new_span(b, ROLE_SERVER, nd->op, inst, GEN_NONE, frame, attempt);
        if (x != GEN_NONE) exec_body(b, nd, x, tt_ceil(start, res_of(s, inst)), end, f);
        return;
      }
      uint64_t cres = res_of(s, caller);
      uint32_t c = new_span(b, ROLE_CLIENT, nd->op, caller, parent, frame, attempt);
      if (c == GEN_NONE) return;
      b->tr->spans[c].peer = inst;
      tt cstart = tt_ceil(start, cres);
      tt sstart = tt_ceil(tt_add(cstart, sample_ns(&b->rng, &s->network)), res_of(s, inst));
      x = new_span(b, ROLE_SERVER, nd->op, inst, c, frame, attempt);
      if (x == GEN_NONE) return;
      b->tr->spans[x].peer = caller;
      tt send;
      exec_body(b, nd, x, sstart, &send, f);
      *end = tt_ceil(tt_add(send, sample_ns(&b->rng, &s->network)), cres);
      set_times(b, c, cstart, *end);
      if (f->failed) set_error(b, c, ERR_CALL, f);
      return;
    }
    default: { /* OP_CLIENT_ONLY, OP_PRODUCE: only the caller records */
      uint64_t cres = res_of(s, caller);
      int produce = op->type == OP_PRODUCE;
      uint32_t c = new_span(b, produce ? ROLE_PRODUCER : ROLE_CLIENT, nd->op, caller, parent, frame, attempt);
      if (c == GEN_NONE) return;
      gen_span *sp = &b->tr->spans[c];
      sp->peer = pick_instance(b, op->service);
      tt cstart = tt_ceil(start, cres);
      tt d = self_time(b, op);
      int64_t net = sample_ns(&b->rng, &s->network) + sample_ns(&b->rng, &s->network);
      *end = tt_ceil((tt){cstart.t + d.t + net, cstart.n + d.n + net}, cres);
      set_times(b, c, cstart, *end);
      if (own_failure(b, nd->op, f)) set_error(b, c, ERR_CALL, f);
      if (!produce || f->failed) return;
      const gen_service *broker = &s->services[op->service];
      uint32_t part = (uint32_t)tl_rng_below(&b->rng, broker->partitions);
      uint64_t *off = &b->g->offsets[b->g->offset_base[op->service] + part];
      sp = &b->tr->spans[c];
      sp->aux = part;
      sp->offset = (uint32_t)(*off)++;
      for (uint32_t k = 0; k < nd->consumers.n && !b->oom; k++) {
        tt cs = tt_add(cstart, sample_ns(&b->rng, &broker->queue)), ce;
        failure cf = {0, 0, 0};
        run_node(b, s->refs[nd->consumers.first + k], c, caller, frame, cs, &ce, &cf);
      }
      return;
    }
  }
}

/* A call node: whether it is made, its repeats, variables and retries. */
static void run_node(bctx *b, uint32_t ni, uint32_t parent, uint32_t caller, uint32_t frame,
                     tt start, tt *end, failure *f) {
  const tl_gen_system *s = b->s;
  const gen_node *nd = &s->nodes[ni];
  *end = start;
  f->failed = 0;
  if (nd->p < 1 && !tl_rng_chance(&b->rng, nd->p)) return;
  uint32_t reps = nd->rep_min + (uint32_t)tl_rng_below(&b->rng, nd->rep_max - nd->rep_min + 1);
  tt cur = start, last = start;
  for (uint32_t r = 0; r < reps && !b->oom; r++) {
    uint32_t fr = frame;
    for (uint32_t k = 0; k < nd->binds.n; k++) fr = push_frame(b, fr, s->ids[nd->binds.first + k], tl_rng_next(&b->rng));
    tt t = nd->rep_parallel && r ? tt_add(start, sample_ns(&b->rng, &s->gap)) : cur, e = t;
    failure cf = {0, 0, 0};
    for (uint32_t a = 0; a <= nd->retries && !b->oom; a++) {
      cf.failed = 0;
      do_call(b, nd, a, parent, caller, fr, t, &e, &cf);
      if (!cf.failed || a == nd->retries) break;
      int64_t backoff = sample_ns(&b->rng, &s->backoff) << (a < 6 ? a : 6);
      t = tt_add(e, backoff);
    }
    last = tt_max(last, e);
    if (!nd->rep_parallel) cur = tt_add(e, sample_ns(&b->rng, &s->gap));
    if (cf.failed && !nd->ignore_errors && !f->failed) *f = cf;
    if (f->failed && !nd->rep_parallel) break;
  }
  *end = last;
}

/* ---- one trace ---------------------------------------------------------------- */

static int grow_mark(tl_gen *g, uint32_t n) {
  if (n <= g->cap_mark) return TL_OK;
  uint8_t *m = realloc(g->mark, n);
  if (!m) return TL_ENOMEM;
  g->mark = m;
  g->cap_mark = n;
  return TL_OK;
}

/* Moves one host's clock back: a server span and its in-process descendants. */
static int apply_skew(bctx *b) {
  gen_trace *tr = b->tr;
  uint32_t n = tr->n_spans, cand = 0;
  for (uint32_t i = 1; i < n; i++) cand += tr->spans[i].role == ROLE_SERVER;
  if (!cand) return 0;
  uint32_t pick = (uint32_t)tl_rng_below(&b->rng, cand), k = 0;
  for (uint32_t i = 1; i < n; i++) {
    if (tr->spans[i].role != ROLE_SERVER) continue;
    if (pick-- == 0) {
      k = i;
      break;
    }
  }
  const tl_gen_system *s = b->s;
  uint64_t step = s->max_resolution_ns;
  int64_t off = tl_rng_range(&b->rng, s->skew_lo_ns, s->skew_hi_ns);
  off -= off % (int64_t)step;
  if (grow_mark(b->g, n)) return -1;
  uint8_t *mark = b->g->mark;
  memset(mark, 0, n);
  mark[k] = 1;
  for (uint32_t i = k + 1; i < n; i++) {
    const gen_span *sp = &tr->spans[i];
    mark[i] = sp->parent != GEN_NONE && mark[sp->parent] && sp->inst == tr->spans[k].inst &&
              (sp->role == ROLE_INTERNAL || sp->role == ROLE_CLIENT || sp->role == ROLE_PRODUCER);
  }
  for (uint32_t i = k; i < n; i++) {
    if (!mark[i]) continue;
    tr->spans[i].start -= (uint64_t)off;
    tr->spans[i].end -= (uint64_t)off;
  }
  return off > 0;
}

/* Drops the root (a quarter of the time) or another span that no link
** points at: its children become orphans. */
static int apply_incomplete(bctx *b) {
  gen_trace *tr = b->tr;
  if (tr->n_spans < 2) return 0;
  if (tl_rng_chance(&b->rng, 0.25)) {
    tr->spans[0].dropped = 1;
    return 1;
  }
  for (int tries = 0; tries < 8; tries++) {
    uint32_t i = 1 + (uint32_t)tl_rng_below(&b->rng, tr->n_spans - 1);
    if (tr->spans[i].role == ROLE_PRODUCER) continue;
    tr->spans[i].dropped = 1;
    return 1;
  }
  return 0;
}

/* Builds trace g->next_index into slot tr. */
static int build_trace(tl_gen *g, gen_trace *tr) {
  const tl_gen_system *s = g->sys;
  bctx b;
  memset(&b, 0, sizeof b);
  b.g = g;
  b.s = s;
  b.tr = tr;
  tr->index = g->next_index;
  tr->seed = tl_mix64(g->seed_mix + tr->index * 0x9e3779b97f4a7c15ull);
  tl_rng_seed(&b.rng, tr->seed);
  tr->n_spans = tr->n_frames = 0;
  tr->has_error = tr->is_outlier = tr->is_skewed = tr->is_incomplete = 0;
  random_id(&b.rng, tr->id, 16);
  tr->request = tl_pick_cdf(s->request_cdf, s->n_requests, tl_rng_next(&b.rng));
  for (uint32_t v = 0; v < s->n_vars; v++) tr->tvals[v] = tl_rng_next(&b.rng);
  tr->start = g->next_arrival;
  tt start = {(int64_t)tr->start, (int64_t)tr->start}, end;
  b.last_end = start;
  failure f = {0, 0, 0};
  run_node(&b, s->requests[tr->request].root, GEN_NONE, GEN_NONE, GEN_NONE, start, &end, &f);
  if (b.oom) return TL_ENOMEM;
  tr->start = tr->spans[0].start;
  int64_t real = b.last_end.t - start.t, nominal = b.last_end.n - start.n;
  tr->is_outlier = real >= 2 * nominal && real > nominal;
  if (s->skew_share > 0 && tl_rng_chance(&b.rng, s->skew_share)) {
    int rc = apply_skew(&b);
    if (rc < 0) return TL_ENOMEM;
    tr->is_skewed = (uint8_t)rc;
  }
  if (s->incomplete_share > 0 && tl_rng_chance(&b.rng, s->incomplete_share))
    tr->is_incomplete = (uint8_t)apply_incomplete(&b);
  tr->pending = 0;
  tr->end = tr->start;
  for (uint32_t i = 0; i < tr->n_spans; i++) {
    if (tr->spans[i].end > tr->end) tr->end = tr->spans[i].end;
    if (tr->spans[i].dropped) continue;
    tr->pending++;
    if (tr->spans[i].error) tr->has_error = 1;
  }
  return TL_OK;
}

/* Advances to the next trace's arrival. */
static void next_arrival(tl_gen *g) {
  double gap = tl_rng_exponential(&g->arrival, 1e9 / g->sys->arrival_rate);
  g->next_arrival += (uint64_t)gap;
  g->next_index++;
}

/* ---- slots and the heap ----------------------------------------------------------- */

static int slot_get(tl_gen *g, uint32_t *out) {
  if (g->free_slot != GEN_NONE) {
    *out = g->free_slot;
    g->free_slot = g->slots[*out].next_free;
    return TL_OK;
  }
  if (g->n_slots == g->cap_slots) {
    uint32_t cap = g->cap_slots ? g->cap_slots * 2 : 16;
    gen_trace *p = realloc(g->slots, (size_t)cap * sizeof *p);
    if (!p) return TL_ENOMEM;
    g->slots = p;
    g->cap_slots = cap;
  }
  gen_trace *tr = &g->slots[g->n_slots];
  memset(tr, 0, sizeof *tr);
  tr->tvals = malloc((g->sys->n_vars ? g->sys->n_vars : 1) * sizeof *tr->tvals);
  if (!tr->tvals) return TL_ENOMEM;
  *out = g->n_slots++;
  return TL_OK;
}

static void slot_put(tl_gen *g, uint32_t i) {
  g->slots[i].next_free = g->free_slot;
  g->free_slot = i;
}

static int heap_less(const heap_ent *a, const heap_ent *b) {
  return a->end < b->end || (a->end == b->end && a->seq < b->seq);
}

static int heap_push(tl_gen *g, heap_ent e) {
  if (g->n_heap == g->cap_heap) {
    size_t cap = g->cap_heap ? g->cap_heap * 2 : 1024;
    heap_ent *p = realloc(g->heap, cap * sizeof *p);
    if (!p) return TL_ENOMEM;
    g->heap = p;
    g->cap_heap = cap;
  }
  size_t i = g->n_heap++;
  while (i > 0) {
    size_t up = (i - 1) / 2;
    if (!heap_less(&e, &g->heap[up])) break;
    g->heap[i] = g->heap[up];
    i = up;
  }
  g->heap[i] = e;
  return TL_OK;
}

static heap_ent heap_pop(tl_gen *g) {
  heap_ent top = g->heap[0], last = g->heap[--g->n_heap];
  size_t i = 0, n = g->n_heap;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && heap_less(&g->heap[c + 1], &g->heap[c])) c++;
    if (!heap_less(&g->heap[c], &last)) break;
    g->heap[i] = g->heap[c];
    i = c;
  }
  if (n) g->heap[i] = last;
  return top;
}

/* ---- public API ---------------------------------------------------------------- */

int tl_gen_new(tl_gen **out, const tl_gen_system *sys, uint64_t n_traces, uint64_t seed, tl_err *e) {
  *out = NULL;
  if (n_traces > TL_GEN_MAX_TRACES)
    return tl_err_set(e, TL_ERANGE, "n_traces must be between 0 and %llu", TL_GEN_MAX_TRACES);
  tl_gen *g = calloc(1, sizeof *g);
  if (!g) return tl_err_set(e, TL_ENOMEM, "out of memory");
  g->sys = sys;
  g->n_traces = n_traces;
  g->seed_mix = tl_mix64(seed ^ 0x5452414345u);
  tl_rng_seed(&g->arrival, tl_mix64(seed) ^ 0xa5a5a5a5a5a5a5a5ull);
  /* a seed-dependent start within 7 days, on a whole millisecond */
  g->next_arrival = sys->start_ns + (tl_mix64(seed + 7) % (7ull * 86400 * 1000)) * 1000000ull;
  g->margin = sys->skew_share > 0 ? (uint64_t)sys->skew_hi_ns : 0;
  g->free_slot = GEN_NONE;
  g->render = gen_render_new(sys);
  g->offset_base = calloc(sys->n_services, sizeof *g->offset_base);
  uint32_t total = 0;
  for (uint32_t i = 0; g->offset_base && i < sys->n_services; i++) {
    g->offset_base[i] = total;
    total += sys->protocols[sys->services[i].protocol].messaging ? sys->services[i].partitions : 0;
  }
  g->offsets = calloc(total ? total : 1, sizeof *g->offsets);
  if (!g->render || !g->offset_base || !g->offsets) {
    tl_gen_free(g);
    return tl_err_set(e, TL_ENOMEM, "out of memory");
  }
  for (uint32_t i = 0; i < total; i++) g->offsets[i] = tl_mix64(seed ^ (0x0ff5e7ull + i)) % 5000000;
  *out = g;
  return TL_OK;
}

void tl_gen_free(tl_gen *g) {
  if (!g) return;
  for (uint32_t i = 0; i < g->n_slots; i++) {
    free(g->slots[i].spans);
    free(g->slots[i].frames);
    free(g->slots[i].tvals);
  }
  free(g->slots);
  free(g->heap);
  free(g->offset_base);
  free(g->offsets);
  free(g->mark);
  gen_render_free(g->render);
  free(g);
}

/* Generates the next trace into a slot; with spans, queues them. */
static int generate_one(tl_gen *g, uint32_t *slot_out, tl_err *e) {
  uint32_t slot;
  int rc = slot_get(g, &slot);
  if (!rc) rc = build_trace(g, &g->slots[slot]);
  if (rc) return tl_err_set(e, TL_ENOMEM, "out of memory");
  next_arrival(g);
  *slot_out = slot;
  return TL_OK;
}

int tl_gen_next(tl_gen *g, tl_batch *b, size_t max, tl_err *e) {
  if (g->mode == 2) return tl_err_set(e, TL_EMISUSE, "this generator is used for truth");
  g->mode = 1;
  gen_render_epoch(g->render);
  size_t added = 0;
  while (added < max) {
    if (g->n_heap && (g->next_index >= g->n_traces || g->heap[0].end + g->margin <= g->next_arrival)) {
      heap_ent h = heap_pop(g);
      gen_trace *tr = &g->slots[h.slot];
      int rc = gen_render_span(g->render, tr, &tr->spans[h.span], b, e);
      if (rc) return rc;
      added++;
      if (--tr->pending == 0) slot_put(g, h.slot);
      continue;
    }
    if (g->next_index >= g->n_traces) return TL_DONE;
    uint32_t slot;
    int rc = generate_one(g, &slot, e);
    if (rc) return rc;
    gen_trace *tr = &g->slots[slot];
    for (uint32_t i = 0; i < tr->n_spans; i++) {
      if (tr->spans[i].dropped) continue;
      heap_ent h = {tr->spans[i].end, g->seq++, slot, i};
      if (heap_push(g, h)) return tl_err_set(e, TL_ENOMEM, "out of memory");
    }
  }
  return g->n_heap == 0 && g->next_index >= g->n_traces ? TL_DONE : TL_OK;
}

uint64_t tl_gen_progress(const tl_gen *g) { return g->next_index; }

size_t tl_gen_memory(const tl_gen *g) {
  size_t n = sizeof *g + g->cap_slots * sizeof *g->slots + g->cap_heap * sizeof *g->heap + g->cap_mark;
  for (uint32_t i = 0; i < g->n_slots; i++) {
    n += g->slots[i].cap_spans * sizeof(gen_span) + g->slots[i].cap_frames * sizeof(gen_frame) +
         g->sys->n_vars * sizeof(uint64_t);
  }
  return n;
}

int tl_gen_next_truth(tl_gen *g, tl_gen_truth *t, tl_err *e) {
  if (g->mode == 1) return tl_err_set(e, TL_EMISUSE, "this generator is used for spans");
  g->mode = 2;
  if (g->next_index >= g->n_traces) return TL_DONE;
  uint32_t slot;
  int rc = generate_one(g, &slot, e);
  if (rc) return rc;
  const gen_trace *tr = &g->slots[slot];
  memset(t, 0, sizeof *t);
  t->index = tr->index;
  memcpy(t->trace_id, tr->id, 16);
  t->request = tr->request;
  t->request_name = tl_gen_request_name(g->sys, tr->request);
  t->has_error = tr->has_error;
  t->is_outlier = tr->is_outlier;
  t->is_skewed = tr->is_skewed;
  t->is_incomplete = tr->is_incomplete;
  t->n_spans = tr->pending;
  t->start_ns = tr->start;
  t->duration_ns = tr->end - tr->start;
  slot_put(g, slot);
  return TL_OK;
}
