/*
** render.c — one generated span (gen_span) becomes a tl_span in a batch.
**
** Everything constant about a span was compiled when the system was
** loaded: its name and attribute templates per operation and side of the
** call, the resources of every instance, the scopes.  What is left here is
** filling in templates from the span (variables, builtins) and interning.
** Constant strings, resources and scopes are interned into a batch once
** per epoch (one tl_gen_next() call, after which the caller may reset the
** batch), not once per span: a stamp per string says whether its cached
** tl_str belongs to the current epoch.
**
** Variable values come from 64-bit draws: trace-level draws (gen_trace
** tvals), draws bound by a call node for its subtree (gen_frame), or a
** per-span draw for variables with scope "span".  A pooled variable maps
** its draw to one of `pool` values (Zipf-popular if asked), and the value
** itself is a hash of (variable, index): the same user id comes back in
** many traces, as in real traffic.
*/
#include <stdlib.h>
#include <string.h>

#include "gen_internal.h"

enum { FX_EXCEPTION, FX_TYPE, FX_MESSAGE, FX_STACK, FX_COUNT };
static const char *const fixed_names[FX_COUNT] = {"exception", "exception.type",
                                                  "exception.message", "exception.stacktrace"};

struct gen_render {
  const tl_gen_system *sys;
  uint32_t epoch;
  uint32_t *str_stamp;
  tl_str *str_cache;
  uint32_t *res_stamp;
  const tl_resource **res_cache;
  uint32_t *scope_stamp;
  const tl_scope **scope_cache;
  uint32_t fixed_stamp;
  tl_str fixed[FX_COUNT];
  tl_buf scratch, scratch2;
};

gen_render *gen_render_new(const tl_gen_system *sys) {
  gen_render *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->sys = sys;
  r->str_stamp = calloc(sys->n_str ? sys->n_str : 1, sizeof *r->str_stamp);
  r->str_cache = calloc(sys->n_str ? sys->n_str : 1, sizeof *r->str_cache);
  r->res_stamp = calloc(sys->n_instances ? sys->n_instances : 1, sizeof *r->res_stamp);
  r->res_cache = calloc(sys->n_instances ? sys->n_instances : 1, sizeof *r->res_cache);
  r->scope_stamp = calloc(sys->n_scopes ? sys->n_scopes : 1, sizeof *r->scope_stamp);
  r->scope_cache = calloc(sys->n_scopes ? sys->n_scopes : 1, sizeof *r->scope_cache);
  tl_buf_init(&r->scratch);
  tl_buf_init(&r->scratch2);
  if (!r->str_stamp || !r->str_cache || !r->res_stamp || !r->res_cache || !r->scope_stamp ||
      !r->scope_cache) {
    gen_render_free(r);
    return NULL;
  }
  return r;
}

void gen_render_free(gen_render *r) {
  if (!r) return;
  free(r->str_stamp);
  free(r->str_cache);
  free(r->res_stamp);
  free(r->res_cache);
  free(r->scope_stamp);
  free(r->scope_cache);
  tl_buf_free(&r->scratch);
  tl_buf_free(&r->scratch2);
  free(r);
}

void gen_render_epoch(gen_render *r) {
  if (++r->epoch == 0) { /* wrapped: old stamps could look current */
    memset(r->str_stamp, 0, r->sys->n_str * sizeof *r->str_stamp);
    memset(r->res_stamp, 0, r->sys->n_instances * sizeof *r->res_stamp);
    memset(r->scope_stamp, 0, r->sys->n_scopes * sizeof *r->scope_stamp);
    r->fixed_stamp = 0;
    r->epoch = 1;
  }
}

/* ---- constants in the batch ------------------------------------------------------ */

/* A system string interned in b; {NULL,0} on OOM (and for ""). */
static tl_str str_const(gen_render *r, tl_batch *b, uint32_t id) {
  if (r->str_stamp[id] != r->epoch) {
    uint32_t len;
    const char *p = gen_sys_str(r->sys, id, &len);
    tl_str s = len ? tl_batch_intern(b, p, len) : (tl_str){NULL, 0};
    if (len && !s.ptr) return s;
    r->str_cache[id] = s;
    r->str_stamp[id] = r->epoch;
  }
  return r->str_cache[id];
}

static int fixed_strings(gen_render *r, tl_batch *b) {
  if (r->fixed_stamp == r->epoch) return TL_OK;
  for (int i = 0; i < FX_COUNT; i++) {
    r->fixed[i] = tl_batch_intern_cstr(b, fixed_names[i]);
    if (!r->fixed[i].ptr) return TL_ENOMEM;
  }
  r->fixed_stamp = r->epoch;
  return TL_OK;
}

static const tl_resource *resource_of(gen_render *r, tl_batch *b, uint32_t inst) {
  if (r->res_stamp[inst] == r->epoch) return r->res_cache[inst];
  const tl_gen_system *s = r->sys;
  const gen_instance *in = &s->instances[inst];
  tl_resource *res = tl_batch_alloc(b, sizeof *res);
  tl_kv *items = in->resource.n ? tl_batch_alloc(b, in->resource.n * sizeof *items) : NULL;
  if (!res || (in->resource.n && !items)) return NULL;
  for (uint32_t i = 0; i < in->resource.n; i++) {
    const gen_kv *kv = &s->kvs[in->resource.first + i];
    items[i].key = str_const(r, b, kv->key);
    items[i].value.type = kv->type;
    if (!items[i].key.ptr) return NULL;
    if (kv->type == TL_V_STRING) {
      items[i].value.u.s = str_const(r, b, kv->s);
      if (!items[i].value.u.s.ptr && s->str_len[kv->s]) return NULL;
    } else if (kv->type == TL_V_INT) {
      items[i].value.u.i = kv->i;
    } else if (kv->type == TL_V_DOUBLE) {
      items[i].value.u.d = kv->d;
    } else {
      items[i].value.u.b = kv->i != 0;
    }
  }
  res->attrs.items = items;
  res->attrs.n = in->resource.n;
  tl_resource_set_service(res);
  r->res_cache[inst] = res;
  r->res_stamp[inst] = r->epoch;
  return res;
}

/* The scope of spans recorded by `inst` for a protocol slot; internal
** spans default to a scope named after the service. */
static const tl_scope *scope_of(gen_render *r, tl_batch *b, uint32_t inst, uint32_t slot) {
  const tl_gen_system *s = r->sys;
  uint32_t svc = s->instances[inst].service;
  uint32_t key = svc * (s->n_protocols + 1) + slot;
  if (r->scope_stamp[key] == r->epoch) return r->scope_cache[key];
  const gen_service *sv = &s->services[svc];
  const gen_runtime *rt = &s->runtimes[sv->runtime];
  uint32_t name = rt->scope_name[slot], version = rt->scope_version[slot];
  if (name == GEN_NONE && slot == s->n_protocols) name = sv->name, version = sv->version;
  const tl_scope *sc = tl_batch_empty_scope(b);
  if (name != GEN_NONE) {
    tl_scope *n = tl_batch_alloc(b, sizeof *n);
    if (!n) return NULL;
    n->name = str_const(r, b, name);
    n->version = str_const(r, b, version);
    sc = n;
  }
  r->scope_cache[key] = sc;
  r->scope_stamp[key] = r->epoch;
  return sc;
}

/* ---- values of variables and builtins ------------------------------------------- */

/* What a span knows while its templates are filled in. */
typedef struct rctx {
  gen_render *r;
  const tl_gen_system *s;
  const gen_trace *tr;
  const gen_span *sp;
  uint32_t idx;          /* of sp in the trace */
  const gen_error *err;  /* the root cause when the span failed */
  tl_batch *b;
} rctx;

static uint64_t var_draw(const rctx *c, uint32_t v) {
  const gen_var *var = &c->s->vars[v];
  if (var->per_span) return tl_mix64(c->sp->seed ^ var->salt);
  for (uint32_t f = c->sp->frame; f != GEN_NONE; f = c->tr->frames[f].parent)
    if (c->tr->frames[f].var == v) return c->tr->frames[f].value;
  return c->tr->tvals[v];
}

/* The hash that decides a variable's value: per pool entry, or per draw. */
static uint64_t var_hash(const gen_var *v, uint64_t draw) {
  uint64_t idx = draw;
  if (v->pool) idx = v->cdf ? tl_pick_cdf(v->cdf, (uint32_t)v->pool, draw) : draw % v->pool;
  return tl_mix64(v->salt ^ tl_mix64(idx));
}

static void put_uuid(tl_buf *b, uint64_t h) {
  uint8_t u[16];
  uint64_t h2 = tl_mix64(h);
  for (int k = 0; k < 8; k++) u[k] = (uint8_t)(h >> (8 * k)), u[8 + k] = (uint8_t)(h2 >> (8 * k));
  u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
  u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
  char out[36];
  static const char hx[] = "0123456789abcdef";
  int o = 0;
  for (int k = 0; k < 16; k++) {
    if (k == 4 || k == 6 || k == 8 || k == 10) out[o++] = '-';
    out[o++] = hx[u[k] >> 4];
    out[o++] = hx[u[k] & 15];
  }
  tl_buf_append(b, out, 36);
}

/* A typed variable value (int, double, bool). */
static tl_value var_typed(const rctx *c, uint32_t v) {
  const gen_var *var = &c->s->vars[v];
  uint64_t h = var_hash(var, var_draw(c, v));
  tl_value out;
  memset(&out, 0, sizeof out);
  if (var->type == VT_BOOL) {
    out.type = TL_V_BOOL;
    out.u.b = (double)(h >> 11) * 0x1.0p-53 < var->p;
  } else {
    int64_t span = var->max - var->min;
    int64_t x = var->min + (int64_t)(h % ((uint64_t)span + 1));
    if (var->type == VT_INT) {
      out.type = TL_V_INT;
      out.u.i = x;
    } else {
      out.type = TL_V_DOUBLE;
      out.u.d = (double)x / 100.0;
    }
  }
  return out;
}

static void put_var(rctx *c, tl_buf *b, uint32_t v) {
  static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static const char hx[] = "0123456789abcdef";
  const gen_var *var = &c->s->vars[v];
  uint64_t h = var_hash(var, var_draw(c, v)), w = h;
  uint32_t len;
  const char *p;
  switch (var->type) {
    case VT_UUID: put_uuid(b, h); return;
    case VT_HEX:
    case VT_ALNUM:
      for (uint32_t i = 0; i < var->len; i++) {
        if (i % 8 == 0) w = tl_mix64(h + i);
        tl_buf_putc(b, var->type == VT_HEX ? hx[w & 15] : alnum[(w & 0xff) % 36]);
        w >>= 8;
      }
      return;
    case VT_CHOICE: {
      uint32_t k = tl_pick_cdf(var->choice_cdf, var->choices.n, h);
      p = gen_sys_str(c->s, c->s->ids[var->choices.first + k], &len);
      tl_buf_append(b, p, len);
      return;
    }
    case VT_IPV4:
      p = gen_sys_str(c->s, var->prefix, &len);
      tl_buf_append(b, p, len);
      tl_buf_putc(b, '.');
      tl_buf_u64(b, (h >> 8) & 0xff);
      tl_buf_putc(b, '.');
      tl_buf_u64(b, (h & 0xff) % 254 + 1);
      return;
    default: {
      tl_value t = var_typed(c, v);
      if (t.type == TL_V_INT) {
        tl_buf_i64(b, t.u.i);
      } else if (t.type == TL_V_DOUBLE) { /* exact cents, not printf's rounding */
        int64_t cents = var->min + (int64_t)(h % ((uint64_t)(var->max - var->min) + 1));
        uint64_t mag = cents < 0 ? 0 - (uint64_t)cents : (uint64_t)cents;
        if (cents < 0) tl_buf_putc(b, '-');
        tl_buf_printf(b, "%llu.%02u", (unsigned long long)(mag / 100), (unsigned)(mag % 100));
      } else {
        tl_buf_puts(b, t.u.b ? "true" : "false");
      }
      return;
    }
  }
}

static void put_str(const tl_gen_system *s, tl_buf *b, uint32_t id) {
  uint32_t len;
  const char *p = gen_sys_str(s, id, &len);
  tl_buf_append(b, p, len);
}

/* The service a span's call goes to (its server, database, broker). */
static const gen_service *callee_of(const rctx *c) {
  const gen_op *op = &c->s->ops[c->sp->op];
  if (c->sp->role == ROLE_CONSUMER) return &c->s->services[op->broker];
  if (c->sp->role == ROLE_INTERNAL) return &c->s->services[c->s->instances[c->sp->inst].service];
  return &c->s->services[op->service];
}

/* Instances on either side of the call. */
static uint32_t caller_inst(const rctx *c) {
  return c->sp->role == ROLE_SERVER ? c->sp->peer : c->sp->inst;
}
static uint32_t callee_inst(const rctx *c) {
  return c->sp->role == ROLE_SERVER || c->sp->role == ROLE_INTERNAL ? c->sp->inst : c->sp->peer;
}

static int64_t builtin_int(const rctx *c, int bi) {
  switch (bi) {
    case B_CALLEE_PORT: return callee_of(c)->port;
    case B_CALLER_PORT: {
      /* the client side's ephemeral port, the same seen from both sides */
      uint32_t client = c->sp->role == ROLE_SERVER ? c->sp->parent : c->idx;
      return 32768 + (int64_t)(tl_mix64(c->tr->seed ^ (client * 0x9e37ull + 1)) % 28232);
    }
    case B_HTTP_STATUS: return c->err ? c->err->http_status : 200;
    case B_GRPC_CODE: return c->err ? c->err->grpc_code : 0;
    case B_PARTITION: return c->sp->aux;
    case B_OFFSET: return c->sp->offset;
    case B_ATTEMPT: return c->sp->attempt;
    case B_ROWS: { /* rows a query returned: mostly few, sometimes dozens */
      uint64_t h = tl_mix64(c->sp->seed + 5);
      return (int64_t)((h % 8) * ((h >> 8) % 8));
    }
    default: { /* B_BODY_SIZE: log-uniform between 200 B and 50 kB */
      double u = (double)(tl_mix64(c->sp->seed + 3) >> 11) * 0x1.0p-53;
      return (int64_t)tl_gen_exp(5.298317366548036 + u * 5.521460917862246);
    }
  }
}

static void put_tmpl(rctx *c, tl_buf *b, const gen_tmpl *t);

static void put_builtin(rctx *c, tl_buf *b, int bi) {
  const tl_gen_system *s = c->s;
  uint32_t inst;
  switch (bi) {
    case B_SERVICE: put_str(s, b, s->services[s->instances[c->sp->inst].service].name); return;
    case B_CALLEE: put_str(s, b, callee_of(c)->host); return;
    case B_CALLEE_IP:
      inst = callee_inst(c);
      if (inst != GEN_NONE) put_str(s, b, s->instances[inst].ip);
      return;
    case B_CALLER_IP:
      inst = caller_inst(c);
      if (inst != GEN_NONE) put_str(s, b, s->instances[inst].ip);
      else put_tmpl(c, b, &s->client_ip);
      return;
    case B_CALLER_AGENT:
      inst = caller_inst(c);
      if (inst != GEN_NONE) put_str(s, b, s->runtimes[s->services[s->instances[inst].service].runtime].user_agent);
      else put_tmpl(c, b, &s->client_agent);
      return;
    case B_GRPC_STATUS:
      if (c->err) put_str(s, b, c->err->grpc_name);
      else tl_buf_puts(b, "OK");
      return;
    case B_ERROR_TYPE:
      if (c->err) put_str(s, b, c->err->type);
      return;
    case B_ERROR_MESSAGE:
      if (c->err) put_tmpl(c, b, &c->err->message);
      return;
    case B_MESSAGE_ID: {
      const gen_span *p = c->sp->role == ROLE_CONSUMER ? &c->tr->spans[c->sp->link] : c->sp;
      uint64_t h = 0;
      memcpy(&h, p->id, 8);
      put_uuid(b, tl_mix64(h));
      return;
    }
    case B_TRACE_ID: tl_buf_hex(b, c->tr->id, 16); return;
    case B_SPAN_ID: tl_buf_hex(b, c->sp->id, 8); return;
    default: tl_buf_i64(b, builtin_int(c, bi)); return;
  }
}

static void put_tmpl(rctx *c, tl_buf *b, const gen_tmpl *t) {
  const tl_gen_system *s = c->s;
  if (t->is_const) {
    if (t->type == TL_V_STRING) put_str(s, b, t->s);
    else if (t->type == TL_V_INT) tl_buf_i64(b, t->i);
    else if (t->type == TL_V_BOOL) tl_buf_puts(b, t->i ? "true" : "false");
    else tl_buf_json_double(b, t->d);
    return;
  }
  for (uint32_t k = 0; k < t->n; k++) {
    const gen_part *p = &s->parts[t->first + k];
    if (p->kind == PART_LIT) put_str(s, b, p->ref);
    else if (p->kind == PART_VAR) put_var(c, b, p->ref);
    else put_builtin(c, b, (int)p->ref);
  }
}

/* Renders a template into a value interned in the batch. */
static int tmpl_value(rctx *c, const gen_tmpl *t, tl_value *out) {
  memset(out, 0, sizeof *out);
  out->type = t->type;
  if (t->is_const) {
    switch (t->type) {
      case TL_V_STRING:
        out->u.s = str_const(c->r, c->b, t->s);
        return out->u.s.ptr || !c->s->str_len[t->s] ? TL_OK : TL_ENOMEM;
      case TL_V_INT: out->u.i = t->i; return TL_OK;
      case TL_V_BOOL: out->u.b = t->i != 0; return TL_OK;
      default: out->u.d = t->d; return TL_OK;
    }
  }
  if (t->type != TL_V_STRING) { /* one typed variable or builtin */
    const gen_part *p = &c->s->parts[t->first];
    if (p->kind == PART_VAR) *out = var_typed(c, p->ref);
    else out->u.i = builtin_int(c, (int)p->ref);
    return TL_OK;
  }
  tl_buf *b = &c->r->scratch;
  tl_buf_reset(b);
  put_tmpl(c, b, t);
  if (b->oom) return TL_ENOMEM;
  out->u.s = b->n ? tl_batch_intern(c->b, b->p, b->n) : (tl_str){NULL, 0};
  return out->u.s.ptr || !b->n ? TL_OK : TL_ENOMEM;
}

static int str_value(rctx *c, const gen_tmpl *t, tl_str *out) {
  tl_value v;
  int rc = tmpl_value(c, t, &v);
  *out = v.u.s;
  return rc;
}

/* ---- the span ------------------------------------------------------------------ */

static int when_holds(const rctx *c, uint8_t when) {
  switch (when) {
    case WHEN_OK: return c->sp->error == ERR_NONE;
    case WHEN_ERROR: return c->sp->error != ERR_NONE;
    case WHEN_RETRY: return c->sp->attempt > 0;
    default: return 1;
  }
}

static int render_attrs(rctx *c, const gen_role *role, tl_attrs *out) {
  const tl_gen_system *s = c->s;
  uint32_t n = 0;
  for (uint32_t i = 0; i < role->attrs.n; i++) n += when_holds(c, s->attrs[role->attrs.first + i].when);
  for (uint32_t i = 0; i < s->baggage.n; i++) n += when_holds(c, s->attrs[s->baggage.first + i].when);
  out->n = 0;
  out->items = n ? tl_batch_alloc(c->b, n * sizeof(tl_kv)) : NULL;
  if (n && !out->items) return TL_ENOMEM;
  const gen_range lists[2] = {role->attrs, s->baggage};
  for (int l = 0; l < 2; l++) {
    for (uint32_t i = 0; i < lists[l].n; i++) {
      const gen_attr *a = &s->attrs[lists[l].first + i];
      if (!when_holds(c, a->when)) continue;
      tl_kv *kv = &out->items[out->n++];
      kv->key = str_const(c->r, c->b, a->key);
      if (!kv->key.ptr) return TL_ENOMEM;
      int rc = tmpl_value(c, &a->v, &kv->value);
      if (rc) return rc;
    }
  }
  return TL_OK;
}

/* The exception event of a failed span: its own error, or the downstream
** failure it passes on (typed as its runtime's client error). */
static int exception_event(rctx *c, tl_event *ev) {
  const tl_gen_system *s = c->s;
  const gen_op *op = &s->ops[c->sp->op];
  const gen_runtime *rt = &s->runtimes[s->services[s->instances[c->sp->inst].service].runtime];
  int own = c->sp->error == ERR_OWN;
  uint32_t type = own ? c->err->type : rt->propagated_type;
  uint32_t pre = own ? c->err->stack_pre : op->prop_stack_pre;
  uint32_t post = own ? c->err->stack_post : op->prop_stack_post;
  uint8_t with_msg = own ? c->err->stack_msg : op->prop_stack_msg;
  int rc = fixed_strings(c->r, c->b);
  if (rc) return rc;
  ev->time_ns = c->sp->start + (c->sp->end - c->sp->start) * 9 / 10;
  ev->name = c->r->fixed[FX_EXCEPTION];
  tl_kv *kv = tl_batch_alloc(c->b, 3 * sizeof *kv);
  if (!kv) return TL_ENOMEM;
  ev->attrs.items = kv;
  ev->attrs.n = pre != GEN_NONE ? 3 : 2;
  kv[0].key = c->r->fixed[FX_TYPE];
  kv[0].value.type = TL_V_STRING;
  kv[0].value.u.s = str_const(c->r, c->b, type);
  kv[1].key = c->r->fixed[FX_MESSAGE];
  kv[1].value.type = TL_V_STRING;
  if ((rc = str_value(c, &c->err->message, &kv[1].value.u.s))) return rc;
  if (pre == GEN_NONE) return kv[0].value.u.s.ptr ? TL_OK : TL_ENOMEM;
  tl_buf *b = &c->r->scratch2;
  tl_buf_reset(b);
  put_str(s, b, pre);
  if (with_msg) {
    put_str(s, b, type);
    tl_buf_puts(b, ": ");
    put_tmpl(c, b, &c->err->message);
  }
  put_str(s, b, post);
  if (b->oom) return TL_ENOMEM;
  kv[2].key = c->r->fixed[FX_STACK];
  kv[2].value.type = TL_V_STRING;
  kv[2].value.u.s = tl_batch_intern(c->b, b->p, b->n);
  return kv[0].value.u.s.ptr && kv[2].value.u.s.ptr ? TL_OK : TL_ENOMEM;
}

static const uint8_t role_kind[ROLE_COUNT] = {TL_KIND_SERVER, TL_KIND_CLIENT, TL_KIND_PRODUCER,
                                              TL_KIND_CONSUMER, TL_KIND_INTERNAL};

int gen_render_span(gen_render *r, const gen_trace *tr, const gen_span *sp, tl_batch *b, tl_err *e) {
  const tl_gen_system *s = r->sys;
  const gen_op *op = &s->ops[sp->op];
  int client_side = sp->role == ROLE_CLIENT || sp->role == ROLE_PRODUCER;
  const gen_role *role = client_side ? &op->client : &op->self;
  rctx c = {r, s, tr, sp, (uint32_t)(sp - tr->spans),
            sp->error && sp->cause_err != GEN_NONE ? &s->errors[sp->cause_err] : NULL, b};
  tl_span *out = tl_batch_add_span(b);
  if (!out) return tl_err_set(e, TL_ENOMEM, "out of memory");
  int rc = TL_OK;
  memcpy(out->trace_id, tr->id, 16);
  memcpy(out->span_id, sp->id, 8);
  if (sp->parent != GEN_NONE) memcpy(out->parent_span_id, tr->spans[sp->parent].id, 8);
  const gen_service *sv = &s->services[s->instances[sp->inst].service];
  const gen_runtime *rt = &s->runtimes[sv->runtime];
  int remote_parent = sp->parent != GEN_NONE && (sp->role == ROLE_SERVER || sp->role == ROLE_CONSUMER);
  out->flags = rt->span_flags ? 0x101u | (remote_parent ? 0x200u : 0) : 0;
  out->kind = role_kind[sp->role];
  out->start_ns = sp->start;
  out->end_ns = sp->end;
  out->resource = resource_of(r, b, sp->inst);
  out->scope = scope_of(r, b, sp->inst, role->scope_slot);
  if (!out->resource || !out->scope) rc = TL_ENOMEM;
  if (!rc) rc = str_value(&c, &role->name, &out->name);
  if (!rc && sp->error) {
    out->status_code = TL_STATUS_ERROR;
    if (!client_side && c.err) rc = str_value(&c, &c.err->message, &out->status_message);
  }
  if (!rc) rc = render_attrs(&c, role, &out->attrs);
  /* events: the operation's (on the span that records it), then the exception */
  int primary = op->self.present ? !client_side : client_side;
  uint32_t n_ev = (primary ? op->events.n : 0) + (sp->error && !client_side && c.err ? 1 : 0);
  if (!rc && n_ev) {
    out->events = tl_batch_alloc(b, n_ev * sizeof *out->events);
    if (!out->events) rc = TL_ENOMEM;
    uint64_t dur = sp->end - sp->start;
    for (uint32_t i = 0; !rc && primary && i < op->events.n; i++) {
      tl_event *ev = &out->events[out->n_events++];
      ev->time_ns = sp->start + dur * (i + 1) / (op->events.n + 1);
      ev->name = str_const(r, b, s->ids[op->events.first + i]);
      if (!ev->name.ptr) rc = TL_ENOMEM;
    }
    if (!rc && out->n_events < n_ev) rc = exception_event(&c, &out->events[out->n_events++]);
  }
  if (!rc && sp->role == ROLE_CONSUMER) {
    out->links = tl_batch_alloc(b, sizeof *out->links);
    if (!out->links) rc = TL_ENOMEM;
    else {
      memcpy(out->links->trace_id, tr->id, 16);
      memcpy(out->links->span_id, tr->spans[sp->link].id, 8);
      out->links->flags = out->flags & 0x1u ? 0x101u : 0;
      out->n_links = 1;
    }
  }
  if (rc) {
    tl_batch_pop_span(b);
    return tl_err_set(e, TL_ENOMEM, "out of memory");
  }
  return TL_OK;
}
