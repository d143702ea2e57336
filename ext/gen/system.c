/*
** system.c — loads a system description (JSON, docs/generator.md) into the
** flat, compiled form of gen_internal.h: the built-in default and users'
** files go through this one path, so the tests of one test the other.
**
** The file is hostile input: every member is type- and range-checked, sizes
** are bounded (GEN_MAX_*), unknown keys are refused (a misspelt "chidren"
** would otherwise silently change the traffic), and every error names the
** JSON path of the bad member: "shop.json: $.requests[2].root.retries: must
** be an integer between 0 and 10".
**
** This file holds the entry points and the top level: the global knobs and
** the deployment (protocols, runtimes, services with their instances, and
** operations), in the order a load needs them.  Two files do the rest
** through the loader interface of gen_internal.h: system_values.c has the
** primitives every part uses (JSON paths and errors, the string table,
** typed members), the {name} templates of string values and the variables;
** system_requests.c compiles the request types' call trees.
*/
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "default_system.h"
#include "gen_internal.h"

static const char *const stack_names[STACK_COUNT] = {"java", "go", "python", "node", "dotnet",
                                                     "ruby", "php", "rust", "cpp"};
static const char *const role_keys[ROLE_COUNT] = {"server", "client", "producer", "consumer", NULL};

/* ---- paths of shared pieces ------------------------------------------------ */

/* Errors found while compiling a shared piece (a protocol role, the
** resource) for one service or operation are reported at the shared
** piece's path: the current path is saved and replaced meanwhile. */
typedef struct saved_path {
  char p[1024];
  size_t n;
} saved_path;

static void path_enter(gen_loader *ld, saved_path *sp, const char *k1, const char *k2, const char *k3) {
  memcpy(sp->p, ld->path, ld->plen + 1);
  sp->n = ld->plen;
  ld->plen = 0;
  ld->path[0] = 0;
  const char *ks[3] = {k1, k2, k3};
  for (int i = 0; i < 3; i++)
    if (ks[i]) LD_PUSH_KEY(ld, ks[i]);
}

/* Restores the path; on error, names what the shared piece was compiled for. */
static int path_leave(gen_loader *ld, const saved_path *sp, int rc, const char *what, const char *name) {
  if (rc && ld->e->rc != TL_ENOMEM) {
    size_t el = strlen(ld->e->msg);
    snprintf(ld->e->msg + el, sizeof ld->e->msg - el, " (for %s '%s')", what, name);
  }
  memcpy(ld->path, sp->p, sp->n + 1);
  ld->plen = sp->n;
  return rc;
}

/* ---- distributions ----------------------------------------------------------- */

/* The median and sigma of a log-normal in object v (at the current path):
** {"median_ms": x | "median_us": x, "sigma": s}. */
static int dist_members(gen_loader *ld, json_t *v, double def_sigma, gen_dist *d) {
  double ms, us;
  int rc = ld_get_num(ld, v, "median_ms", 0.0001, 3600e3, -1, &ms);
  if (!rc) rc = ld_get_num(ld, v, "median_us", 0.1, 3600e6, -1, &us);
  if (!rc && (ms < 0) == (us < 0)) rc = ld_fail(ld, "needs exactly one of median_ms and median_us");
  if (!rc) d->median_ns = ms >= 0 ? ms * 1e6 : us * 1e3;
  if (!rc) rc = ld_get_num(ld, v, "sigma", 0, 3, def_sigma, &d->sigma);
  return rc;
}

/* obj.key as a distribution; absent -> the defaults. */
static int parse_dist(gen_loader *ld, json_t *obj, const char *key, double def_median_ns,
                      double def_sigma, gen_dist *d) {
  static const char *const keys[] = {"median_ms", "median_us", "sigma", NULL};
  json_t *v = json_object_get(obj, key);
  d->median_ns = def_median_ns;
  d->sigma = def_sigma;
  if (!v) return TL_OK;
  size_t m = LD_PUSH_KEY(ld, key);
  int rc = ld_want_object(ld, v);
  if (!rc) rc = ld_check_keys(ld, v, keys, 0);
  if (!rc) rc = dist_members(ld, v, def_sigma, d);
  ld_path_pop(ld, m);
  return rc;
}

/* ---- protocols and runtimes ------------------------------------------------ */

/* v as an object of 1 to max members, *n of them. */
static int want_members(gen_loader *ld, json_t *v, size_t max, const char *what, size_t *n) {
  int rc = ld_want_object(ld, v);
  *n = rc ? 0 : json_object_size(v);
  if (!rc && (*n == 0 || *n > max)) rc = ld_fail(ld, "must hold 1 to %zu %s", max, what);
  return rc;
}

static int parse_protocols(gen_loader *ld) {
  static const char *const keys[] = {"instrumented", "messaging", "server", "client",
                                     "producer", "consumer", "errors", NULL};
  tl_gen_system *s = ld->s;
  json_t *ps = ld->protocols_j;
  size_t m = LD_PUSH_KEY(ld, "protocols"), n;
  int rc = want_members(ld, ps, 64, "protocols", &n);
  if (!rc) {
    s->protocols = calloc(n, sizeof *s->protocols);
    ld->role_j = calloc(n * ROLE_COUNT, sizeof *ld->role_j);
    ld->perr_j = calloc(n, sizeof *ld->perr_j);
    if (!s->protocols || !ld->role_j || !ld->perr_j) rc = ld_oom(ld);
  }
  const char *k;
  json_t *p;
  if (!rc) json_object_foreach(ps, k, p) {
    size_t m2 = LD_PUSH_KEY(ld, k);
    gen_protocol *pr = &s->protocols[s->n_protocols];
    int instr, msg;
    rc = ld_want_object(ld, p);
    if (!rc) rc = ld_check_keys(ld, p, keys, 0);
    if (!rc) rc = ld_get_bool(ld, p, "instrumented", 1, &instr);
    if (!rc) rc = ld_get_bool(ld, p, "messaging", 0, &msg);
    if (!rc) {
      pr->name = ld_cstr_id(ld, k);
      pr->instrumented = (uint8_t)instr;
      pr->messaging = (uint8_t)msg;
      if (pr->name == GEN_NONE) rc = ld->e->rc;
    }
    for (int r = 0; !rc && r < ROLE_INTERNAL; r++) {
      json_t *rj = json_object_get(p, role_keys[r]);
      int wanted = msg ? (r == ROLE_PRODUCER || r == ROLE_CONSUMER)
                       : (r == ROLE_CLIENT || (r == ROLE_SERVER && instr));
      size_t m3 = LD_PUSH_KEY(ld, role_keys[r]);
      if (wanted && !rj) rc = ld_fail(ld, "is required");
      else if (!wanted && rj) rc = ld_fail(ld, "does not apply to this protocol");
      else if (rj) rc = ld_want_object(ld, rj);
      ld_path_pop(ld, m3);
      ld->role_j[s->n_protocols * ROLE_COUNT + (uint32_t)r] = rj;
    }
    ld->perr_j[s->n_protocols] = json_object_get(p, "errors");
    ld_path_pop(ld, m2);
    if (rc) break;
    s->n_protocols++;
  }
  ld_path_pop(ld, m);
  return rc;
}

static int find_protocol(gen_loader *ld, const char *name) {
  for (uint32_t i = 0; i < ld->s->n_protocols; i++)
    if (strcmp(ld_str_of(ld, ld->s->protocols[i].name), name) == 0) return (int)i;
  return -1;
}

static int parse_runtimes(gen_loader *ld) {
  static const char *const keys[] = {"stack", "resolution_ns", "span_flags", "scopes", NULL};
  tl_gen_system *s = ld->s;
  json_t *rs = ld->runtimes_j;
  size_t m = LD_PUSH_KEY(ld, "runtimes"), n;
  int rc = want_members(ld, rs, 256, "runtimes", &n);
  if (!rc && !(s->runtimes = calloc(n, sizeof *s->runtimes))) rc = ld_oom(ld);
  const char *k;
  json_t *r;
  if (!rc) json_object_foreach(rs, k, r) {
    size_t m2 = LD_PUSH_KEY(ld, k);
    gen_runtime *rt = &s->runtimes[s->n_runtimes];
    const char *stack = NULL, *ua = NULL, *prop = NULL;
    int64_t res;
    int flags;
    rc = ld_want_object(ld, r);
    if (!rc) rc = ld_check_keys(ld, r, keys, 1);
    if (!rc) rc = ld_get_str(ld, r, "stack", 1, &stack);
    if (!rc) rc = ld_get_str(ld, r, "user_agent", 1, &ua);
    if (!rc) rc = ld_get_str(ld, r, "propagated_error", 1, &prop);
    if (!rc) rc = ld_get_int(ld, r, "resolution_ns", 1, 1000000, 1, &res);
    if (!rc) rc = ld_get_bool(ld, r, "span_flags", 0, &flags);
    if (!rc) {
      int64_t p10 = 1;
      while (p10 < res) p10 *= 10;
      if (p10 != res) rc = ld_fail_at(ld, "resolution_ns", "must be a power of 10");
    }
    int style = -1;
    for (int i = 0; !rc && i < STACK_COUNT; i++)
      if (strcmp(stack_names[i], stack) == 0) style = i;
    if (!rc && style < 0)
      rc = ld_fail_at(ld, "stack",
                      "unknown stack style '%s' (java, go, python, node, dotnet, ruby, php, "
                      "rust or cpp)", stack);
    if (!rc) {
      rt->name = ld_cstr_id(ld, k);
      rt->user_agent = ld_cstr_id(ld, ua);
      rt->propagated_type = ld_cstr_id(ld, prop);
      rt->stack_style = (uint8_t)style;
      rt->span_flags = (uint8_t)flags;
      rt->resolution_ns = (uint64_t)res;
      if ((uint64_t)res > s->max_resolution_ns) s->max_resolution_ns = (uint64_t)res;
      rt->scope_name = calloc(s->n_protocols + 1, sizeof *rt->scope_name);
      rt->scope_version = calloc(s->n_protocols + 1, sizeof *rt->scope_version);
      if (!rt->scope_name || !rt->scope_version) rc = ld_oom(ld);
      else if (rt->name == GEN_NONE || rt->user_agent == GEN_NONE || rt->propagated_type == GEN_NONE)
        rc = ld->e->rc;
    }
    /* scopes: {"<protocol>|internal": ["name", "version"]}; a missing one
    ** is the empty scope, except internal, which defaults per service. */
    for (uint32_t i = 0; !rc && i <= s->n_protocols; i++) rt->scope_name[i] = rt->scope_version[i] = GEN_NONE;
    json_t *sc = rc ? NULL : json_object_get(r, "scopes");
    if (sc) {
      size_t m3 = LD_PUSH_KEY(ld, "scopes");
      rc = ld_want_object(ld, sc);
      const char *pk;
      json_t *pv;
      if (!rc) json_object_foreach(sc, pk, pv) {
        size_t m4 = LD_PUSH_KEY(ld, pk);
        int pi = strcmp(pk, "internal") == 0 ? (int)s->n_protocols : find_protocol(ld, pk);
        if (pi < 0) rc = ld_fail(ld, "no such protocol");
        else if (!json_is_array(pv) || json_array_size(pv) != 2 ||
                 !json_is_string(json_array_get(pv, 0)) || !json_is_string(json_array_get(pv, 1)))
          rc = ld_fail(ld, "must be [\"scope name\", \"scope version\"]");
        else {
          rt->scope_name[pi] = ld_cstr_id(ld, json_string_value(json_array_get(pv, 0)));
          rt->scope_version[pi] = ld_cstr_id(ld, json_string_value(json_array_get(pv, 1)));
          if (rt->scope_name[pi] == GEN_NONE || rt->scope_version[pi] == GEN_NONE) rc = ld->e->rc;
        }
        ld_path_pop(ld, m4);
        if (rc) break;
      }
      ld_path_pop(ld, m3);
    }
    ld_path_pop(ld, m2);
    if (rc) { /* not counted yet: free what it holds */
      free(rt->scope_name);
      free(rt->scope_version);
      break;
    }
    s->n_runtimes++;
  }
  ld_path_pop(ld, m);
  return rc;
}

/* ---- services and their instances ------------------------------------------ */

/* Identity of instance i of a service: stable for a system, independent of
** the run's seed (a deployment does not change with the traffic). */
static void render_instance_builtin(tl_buf *b, int builtin, const char *service, uint32_t i) {
  static const char pod_chars[] = "bcdfghjklmnpqrstvwxz2456789";
  uint64_t h = tl_mix64(tl_hash(service, strlen(service)) ^ tl_mix64(i + 1));
  uint64_t h2 = tl_mix64(h), h3 = tl_mix64(h2);
  switch (builtin) {
    case B_INSTANCE_ID: {
      uint8_t u[16];
      for (int k = 0; k < 8; k++) u[k] = (uint8_t)(h >> (8 * k)), u[8 + k] = (uint8_t)(h2 >> (8 * k));
      u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
      u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
      for (int k = 0; k < 16; k++) {
        if (k == 4 || k == 6 || k == 8 || k == 10) tl_buf_putc(b, '-');
        tl_buf_hex(b, &u[k], 1);
      }
      break;
    }
    case B_INSTANCE: tl_buf_u64(b, i); break;
    case B_POD: {
      /* name-<replicaset hash>-<pod suffix>, as a Deployment names pods */
      uint64_t rs = tl_mix64(tl_hash(service, strlen(service)));
      tl_buf_puts(b, service);
      tl_buf_putc(b, '-');
      for (int k = 0; k < 10; k++, rs /= 27) tl_buf_putc(b, pod_chars[rs % 27]);
      tl_buf_putc(b, '-');
      for (int k = 0; k < 5; k++, h3 /= 27) tl_buf_putc(b, pod_chars[h3 % 27]);
      break;
    }
    case B_NODE:
      tl_buf_printf(b, "ip-10-0-%u-%u.ec2.internal", (unsigned)(h2 % 3) * 16 + 1,
                    (unsigned)(h2 >> 8) % 250 + 4);
      break;
    case B_CONTAINER_ID:
      for (int k = 0; k < 4; k++) {
        uint8_t w[8];
        h3 = tl_mix64(h3 + (uint64_t)k);
        for (int q = 0; q < 8; q++) w[q] = (uint8_t)(h3 >> (8 * q));
        tl_buf_hex(b, w, 8);
      }
      break;
    case B_IP:
      tl_buf_printf(b, "10.244.%u.%u", (unsigned)(h2 % 3) + 1, (unsigned)(h >> 16) % 250 + 3);
      break;
    default: /* B_PID */
      tl_buf_u64(b, h3 % 3 == 0 ? 1 : (h3 >> 8) % 90 + 7);
      break;
  }
}

static int render_resource(gen_loader *ld, const gen_tmpl *t, const char *service, uint32_t i, gen_kv *kv) {
  kv->type = t->type;
  kv->i = t->i;
  kv->d = t->d;
  kv->s = t->s;
  if (t->is_const) return TL_OK;
  tl_buf *b = &ld->scratch;
  tl_buf_reset(b);
  for (uint32_t k = 0; k < t->n; k++) {
    const gen_part *p = &ld->s->parts[t->first + k];
    if (p->kind == PART_LIT) tl_buf_append(b, ld_str_of(ld, p->ref), ld->s->str_len[p->ref]);
    else render_instance_builtin(b, (int)p->ref, service, i);
  }
  if (b->oom) return ld_oom(ld);
  if (t->type == TL_V_INT) {
    kv->i = strtoll(tl_buf_cstr(b), NULL, 10);
    return TL_OK;
  }
  kv->s = ld_str_id(ld, b->p, b->n);
  return kv->s == GEN_NONE ? ld->e->rc : TL_OK;
}

int ld_find_service(gen_loader *ld, const char *name, size_t n) {
  for (uint32_t i = 0; i < ld->s->n_services; i++) {
    uint32_t id = ld->s->services[i].name;
    if (ld->s->str_len[id] == n && memcmp(ld_str_of(ld, id), name, n) == 0) return (int)i;
  }
  return -1;
}

static int parse_service(gen_loader *ld, json_t *j, gen_service *sv) {
  static const char *const keys[] = {"name", "protocol", "runtime", "version", "instances", "port",
                                     "host", "queue_delay", "partitions", "operations", NULL};
  tl_gen_system *s = ld->s;
  const char *name, *proto, *rt = NULL, *version = NULL, *host = NULL;
  int64_t inst, port, parts;
  int rc = ld_want_object(ld, j);
  if (!rc) rc = ld_check_keys(ld, j, keys, 1);
  if (!rc) rc = ld_get_str(ld, j, "name", 1, &name);
  if (!rc) rc = ld_get_str(ld, j, "protocol", 1, &proto);
  if (!rc) rc = ld_get_str(ld, j, "runtime", 0, &rt);
  if (!rc) rc = ld_get_str(ld, j, "version", 0, &version);
  if (!rc) rc = ld_get_str(ld, j, "host", 0, &host);
  if (!rc) rc = ld_get_int(ld, j, "instances", 1, 1000, 1, &inst);
  if (!rc) rc = ld_get_int(ld, j, "port", 0, 65535, 0, &port);
  if (!rc) rc = ld_get_int(ld, j, "partitions", 1, GEN_MAX_PARTITIONS, 1, &parts);
  if (rc) return rc;
  if (strchr(name, '/')) return ld_fail_at(ld, "name", "must not contain '/'");
  if (ld_find_service(ld, name, strlen(name)) >= 0)
    return ld_fail_at(ld, "name", "duplicate service '%s'", name);
  int pi = find_protocol(ld, proto);
  if (pi < 0) return ld_fail_at(ld, "protocol", "no such protocol '%s'", proto);
  const gen_protocol *pr = &s->protocols[pi];
  sv->protocol = (uint32_t)pi;
  sv->runtime = GEN_NONE;
  if (rt) {
    for (uint32_t i = 0; i < s->n_runtimes; i++)
      if (strcmp(ld_str_of(ld, s->runtimes[i].name), rt) == 0) sv->runtime = i;
    if (sv->runtime == GEN_NONE) return ld_fail_at(ld, "runtime", "no such runtime '%s'", rt);
  } else if (pr->instrumented && !pr->messaging) {
    return ld_fail_at(ld, "runtime", "is required for a service whose protocol records spans");
  }
  /* defaults become fields of the service, so templates can use them */
  if (!version && json_object_set_new(j, "version", json_string(version = "1.0.0"))) return ld_oom(ld);
  if (!host && json_object_set_new(j, "host", json_string(host = name))) return ld_oom(ld);
  sv->name = ld_cstr_id(ld, name);
  sv->host = ld_cstr_id(ld, host);
  sv->version = ld_cstr_id(ld, version);
  if (sv->name == GEN_NONE || sv->host == GEN_NONE || sv->version == GEN_NONE) return ld->e->rc;
  sv->port = port;
  sv->partitions = (uint32_t)parts;
  if ((rc = parse_dist(ld, j, "queue_delay", 2e6, 1.0, &sv->queue))) return rc;

  /* instances, with their resources rendered once */
  if (s->n_instances + inst > GEN_MAX_ITEMS) return ld_fail(ld, "too many instances in the system");
  if ((uint64_t)s->n_kvs + (uint64_t)inst * json_object_size(ld->resource_j) > GEN_MAX_ITEMS * 8u)
    return ld_fail(ld, "too many resource attributes in all (instances times resource attributes)");
  gen_instance *ni = realloc(s->instances, (s->n_instances + (size_t)inst) * sizeof *ni);
  if (!ni) return ld_oom(ld);
  s->instances = ni;
  sv->instances.first = s->n_instances;
  sv->instances.n = (uint32_t)inst;
  gen_range res = {0, 0};
  if (sv->runtime != GEN_NONE) {
    /* resource templates compiled against this service and its runtime */
    gen_fields f = {j, json_object_get(ld->runtimes_j, rt), NULL};
    saved_path sp;
    path_enter(ld, &sp, "resource", NULL, NULL);
    rc = path_leave(ld, &sp, ld_compile_attrs(ld, ld->resource_j, &f, CTX_RESOURCE, &res), "service", name);
    if (rc) return rc;
  }
  for (uint32_t i = 0; i < (uint32_t)inst; i++) {
    gen_instance *in = &s->instances[s->n_instances];
    in->service = s->n_services;
    tl_buf_reset(&ld->scratch);
    render_instance_builtin(&ld->scratch, B_IP, name, i);
    in->ip = ld_str_id(ld, ld->scratch.p, ld->scratch.n);
    if (in->ip == GEN_NONE) return ld->e->rc;
    in->resource.first = s->n_kvs;
    in->resource.n = res.n;
    for (uint32_t k = 0; k < res.n; k++) {
      if ((rc = LD_GROW(ld, s->kvs, s->n_kvs, ld->cap_kvs))) return rc;
      gen_kv *kv = &s->kvs[s->n_kvs];
      kv->key = s->attrs[res.first + k].key;
      if ((rc = render_resource(ld, &s->attrs[res.first + k].v, name, i, kv))) return rc;
      s->n_kvs++;
    }
    s->n_instances++;
  }
  return TL_OK;
}

/* ---- operations ------------------------------------------------------------- */

static int compile_role(gen_loader *ld, gen_role *role, json_t *rj, const gen_fields *f, uint32_t slot) {
  static const char *const keys[] = {"name", "attributes", NULL};
  int rc = ld_check_keys(ld, rj, keys, 0);
  json_t *name = json_object_get(rj, "name");
  role->present = 1;
  role->scope_slot = slot;
  if (!rc && !name) rc = ld_fail(ld, "needs a \"name\"");
  if (!rc) {
    size_t m = LD_PUSH_KEY(ld, "name");
    rc = ld_compile_value(ld, name, f, CTX_SPAN, &role->name);
    if (!rc && role->name.type != TL_V_STRING) rc = ld_fail(ld, "must be a string");
    ld_path_pop(ld, m);
  }
  if (!rc) {
    size_t m = LD_PUSH_KEY(ld, "attributes");
    rc = ld_compile_attrs(ld, json_object_get(rj, "attributes"), f, CTX_SPAN, &role->attrs);
    ld_path_pop(ld, m);
  }
  return rc;
}

/* Compiles a role of a protocol for one operation; an error is reported at
** the protocol's path, naming the operation. */
static int protocol_role(gen_loader *ld, gen_role *role, uint32_t proto, int r, const gen_fields *f,
                         const char *opname) {
  json_t *rj = ld->role_j[proto * ROLE_COUNT + (uint32_t)r];
  if (!rj) return TL_OK;
  saved_path sp;
  path_enter(ld, &sp, "protocols", ld_str_of(ld, ld->s->protocols[proto].name), role_keys[r]);
  return path_leave(ld, &sp, compile_role(ld, role, rj, f, proto), "operation", opname);
}

static int add_stack(gen_loader *ld, int style, const char *service, const char *op, uint32_t *pre,
                     uint32_t *post, uint8_t *with_msg) {
  tl_buf a, b;
  int wm;
  tl_buf_init(&a);
  tl_buf_init(&b);
  gen_stack_build(style, service, op, &a, &b, &wm);
  int rc = (a.oom || b.oom) ? ld_oom(ld) : TL_OK;
  if (!rc) {
    *pre = ld_str_id(ld, a.p ? a.p : "", a.n);
    *post = ld_str_id(ld, b.p ? b.p : "", b.n);
    *with_msg = (uint8_t)wm;
    if (*pre == GEN_NONE || *post == GEN_NONE) rc = ld->e->rc;
  }
  tl_buf_free(&a);
  tl_buf_free(&b);
  return rc;
}

static int parse_errors(gen_loader *ld, json_t *list, const gen_fields *f, gen_op *op, int style,
                        const char *svc, const char *opkey) {
  static const char *const keys[] = {"type", "message", "http_status", "grpc_code",
                                     "grpc_status", "weight", NULL};
  tl_gen_system *s = ld->s;
  size_t n;
  int rc = ld_want_array(ld, list, 256, "errors", &n);
  if (rc) return rc;
  op->error_cdf = malloc(n * sizeof *op->error_cdf);
  if (!op->error_cdf) return ld_oom(ld);
  op->errors.first = s->n_errors;
  double total = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *ej = json_array_get(list, i);
    size_t m = LD_PUSH_IDX(ld, i);
    gen_error er;
    memset(&er, 0, sizeof er);
    const char *type, *gname = NULL;
    rc = ld_want_object(ld, ej);
    if (!rc) rc = ld_check_keys(ld, ej, keys, 0);
    if (!rc) rc = ld_get_str(ld, ej, "type", 1, &type);
    if (!rc) rc = ld_get_str(ld, ej, "grpc_status", 0, &gname);
    if (!rc) rc = ld_get_int(ld, ej, "http_status", 100, 599, 500, &er.http_status);
    if (!rc) rc = ld_get_int(ld, ej, "grpc_code", 0, 16, 2, &er.grpc_code);
    if (!rc) rc = ld_get_num(ld, ej, "weight", 0, 1e9, 1, &er.weight);
    if (!rc) {
      json_t *msg = json_object_get(ej, "message");
      size_t m2 = LD_PUSH_KEY(ld, "message");
      if (!msg) rc = ld_fail(ld, "is required");
      else rc = ld_compile_value(ld, msg, f, CTX_ERROR_MSG, &er.message);
      if (!rc && er.message.type != TL_V_STRING) rc = ld_fail(ld, "must be a string");
      ld_path_pop(ld, m2);
    }
    if (!rc) {
      er.type = ld_cstr_id(ld, type);
      er.grpc_name = ld_cstr_id(ld, gname ? gname : "UNKNOWN");
      if (er.type == GEN_NONE || er.grpc_name == GEN_NONE) rc = ld->e->rc;
    }
    er.stack_pre = er.stack_post = GEN_NONE;
    if (!rc && style >= 0) rc = add_stack(ld, style, svc, opkey, &er.stack_pre, &er.stack_post, &er.stack_msg);
    if (!rc) rc = LD_GROW(ld, s->errors, s->n_errors, ld->cap_errors);
    ld_path_pop(ld, m);
    if (rc) return rc;
    s->errors[s->n_errors++] = er;
    total += er.weight;
    op->error_cdf[i] = total;
  }
  op->errors.n = (uint32_t)n;
  return total > 0 ? TL_OK : ld_fail(ld, "the error weights are all zero");
}

static int parse_op(gen_loader *ld, uint32_t si, const char *key, json_t *j, gen_op *op) {
  static const char *const keys[] = {"type", "latency", "error_rate", "errors", "attributes",
                                     "client_attributes", "events", NULL};
  static const char *const lat_keys[] = {"median_ms", "median_us", "sigma", "outlier_p",
                                         "outlier_factor", NULL};
  tl_gen_system *s = ld->s;
  const gen_service *sv = &s->services[si];
  const gen_protocol *pr = &s->protocols[sv->protocol];
  /* names from the JSON tree: pointers into the string table move as it grows */
  const char *type = NULL, *broker = NULL;
  const char *svname = json_string_value(json_object_get(ld->service_j[si], "name"));
  char opname[256];
  snprintf(opname, sizeof opname, "%s/%s", svname, key);
  memset(op, 0, sizeof *op);
  int rc = ld_want_object(ld, j);
  if (!rc) rc = ld_check_keys(ld, j, keys, 1);
  if (!rc) rc = ld_get_str(ld, j, "type", 0, &type);
  if (rc) return rc;
  op->service = si;
  op->broker = GEN_NONE;
  tl_buf_reset(&ld->scratch);
  tl_buf_printf(&ld->scratch, "%s/%s", svname, key);
  op->name = ld_str_id(ld, ld->scratch.p, ld->scratch.n); /* full, where opname may be cut */
  if (op->name == GEN_NONE) return ld->e->rc;
  if (pr->messaging) op->type = OP_PRODUCE;
  else if (!pr->instrumented) op->type = OP_CLIENT_ONLY;
  else op->type = OP_SERVER;
  if (type) {
    int ok = 0;
    if (pr->instrumented && !pr->messaging) {
      if (strcmp(type, "server") == 0) ok = 1, op->type = OP_SERVER;
      if (strcmp(type, "internal") == 0) ok = 1, op->type = OP_INTERNAL;
      if (strcmp(type, "consumer") == 0) ok = 1, op->type = OP_CONSUMER;
    }
    if (!ok)
      return ld_fail_at(ld, "type",
                        pr->instrumented && !pr->messaging
                            ? "must be server, internal or consumer"
                            : "operations of a %s service take no type",
                        ld_str_of(ld, pr->name));
  }
  if (op->type == OP_CONSUMER) {
    if ((rc = ld_get_str(ld, j, "broker", 1, &broker))) return rc;
    int b = ld_find_service(ld, broker, strlen(broker));
    if (b < 0 || !s->protocols[s->services[b].protocol].messaging)
      return ld_fail_at(ld, "broker", "'%s' is not a messaging service defined above", broker);
    op->broker = (uint32_t)b;
  }

  /* latency */
  json_t *lat = json_object_get(j, "latency");
  gen_dist d;
  size_t m = LD_PUSH_KEY(ld, "latency");
  if (!lat) rc = ld_fail(ld, "is required");
  if (!rc) rc = ld_want_object(ld, lat);
  if (!rc) rc = ld_check_keys(ld, lat, lat_keys, 0);
  if (!rc) rc = dist_members(ld, lat, 0.5, &d);
  if (!rc) rc = ld_get_num(ld, lat, "outlier_p", 0, 1, 0.001, &op->outlier_p);
  if (!rc) rc = ld_get_pair(ld, lat, "outlier_factor", 2, 1000, 20, 50, 0, &op->outlier_lo, &op->outlier_hi);
  ld_path_pop(ld, m);
  op->median_ns = d.median_ns;
  op->sigma = d.sigma;
  if (!rc) rc = ld_get_num(ld, j, "error_rate", 0, 1, 0, &op->error_rate);
  if (rc) return rc;

  /* roles: the span the operation's own service records, then the
  ** caller's; each role's attributes are its protocol's, then the
  ** operation's own ("attributes" for its primary span, and
  ** "client_attributes" for the client side of a server operation) */
  gen_fields f = {j, ld->service_j[si], key};
  json_t *own_attrs = json_object_get(j, "attributes"), *ca = json_object_get(j, "client_attributes");
  if (ca && op->type != OP_SERVER)
    return ld_fail_at(ld, "client_attributes",
                      "only operations with both a client and a server span take client_attributes");
  if (op->type == OP_SERVER) {
    rc = protocol_role(ld, &op->self, sv->protocol, ROLE_SERVER, &f, opname);
  } else if (op->type == OP_CONSUMER) {
    gen_fields fb = {j, ld->service_j[op->broker], key};
    rc = protocol_role(ld, &op->self, s->services[op->broker].protocol, ROLE_CONSUMER, &fb, opname);
  } else if (op->type == OP_INTERNAL) {
    const char *nm = NULL;
    if (!(rc = ld_get_str(ld, j, "name", 0, &nm))) {
      json_t *nj = json_string(nm ? nm : key);
      if (!nj) return ld_oom(ld);
      rc = ld_compile_value(ld, nj, &f, CTX_SPAN, &op->self.name);
      json_decref(nj);
      op->self.present = 1;
      op->self.scope_slot = s->n_protocols;
    }
  }
  if (!rc && op->self.present) {
    m = LD_PUSH_KEY(ld, "attributes");
    rc = ld_compile_attrs(ld, own_attrs, &f, CTX_SPAN, &op->self.attrs);
    ld_path_pop(ld, m);
  }
  if (!rc && (op->type == OP_SERVER || op->type == OP_CLIENT_ONLY || op->type == OP_PRODUCE)) {
    int r = op->type == OP_PRODUCE ? ROLE_PRODUCER : ROLE_CLIENT;
    json_t *extra = op->type == OP_SERVER ? ca : own_attrs;
    rc = protocol_role(ld, &op->client, sv->protocol, r, &f, opname);
    m = LD_PUSH_KEY(ld, op->type == OP_SERVER ? "client_attributes" : "attributes");
    if (!rc) rc = ld_compile_attrs(ld, extra, &f, CTX_SPAN, &op->client.attrs);
    ld_path_pop(ld, m);
  }
  if (rc) return rc;
  int self_style = op->self.present ? s->runtimes[sv->runtime].stack_style : -1;

  /* events: names, spread over the span */
  json_t *ev = json_object_get(j, "events");
  if (ev) {
    m = LD_PUSH_KEY(ld, "events");
    if (!json_is_array(ev) || json_array_size(ev) > 32) rc = ld_fail(ld, "must be an array of at most 32 names");
    op->events.first = s->n_ids;
    for (size_t i = 0; !rc && i < json_array_size(ev); i++) {
      json_t *x = json_array_get(ev, i);
      if (!json_is_string(x)) {
        LD_PUSH_IDX(ld, i);
        rc = ld_fail(ld, "must be a string");
        break;
      }
      if ((rc = LD_GROW(ld, s->ids, s->n_ids, ld->cap_ids))) break;
      uint32_t id = ld_str_id(ld, json_string_value(x), json_string_length(x));
      if (id == GEN_NONE) rc = ld->e->rc;
      else s->ids[s->n_ids++] = id, op->events.n++;
    }
    ld_path_pop(ld, m);
    if (rc) return rc;
  }

  /* errors: the operation's own list, else its protocol's, else a generic one */
  op->prop_stack_pre = op->prop_stack_post = GEN_NONE;
  if (self_style >= 0 &&
      (rc = add_stack(ld, self_style, svname, key, &op->prop_stack_pre, &op->prop_stack_post,
                      &op->prop_stack_msg)))
    return rc;
  if (op->error_rate > 0 || json_object_get(j, "errors")) {
    json_t *list = json_object_get(j, "errors");
    uint32_t proto = op->type == OP_CONSUMER ? s->services[op->broker].protocol : sv->protocol;
    if (list) {
      m = LD_PUSH_KEY(ld, "errors");
      rc = parse_errors(ld, list, &f, op, self_style, svname, key);
      ld_path_pop(ld, m);
    } else if (ld->perr_j[proto]) {
      saved_path sp;
      path_enter(ld, &sp, "protocols", ld_str_of(ld, s->protocols[proto].name), "errors");
      rc = parse_errors(ld, ld->perr_j[proto], &f, op, self_style, svname, key);
      rc = path_leave(ld, &sp, rc, "operation", opname);
    } else {
      json_t *def = json_pack("[{ss ss}]", "type", "Error", "message", "internal error");
      if (!def) return ld_oom(ld);
      rc = parse_errors(ld, def, &f, op, self_style, svname, key);
      json_decref(def);
    }
  }
  return rc;
}

static int parse_services(gen_loader *ld, json_t *root) {
  tl_gen_system *s = ld->s;
  json_t *svs = json_object_get(root, "services");
  size_t m = LD_PUSH_KEY(ld, "services"), n;
  int rc = ld_want_array(ld, svs, 4096, "services", &n);
  if (!rc) {
    s->services = calloc(n, sizeof *s->services);
    ld->service_j = calloc(n, sizeof *ld->service_j);
    if (!s->services || !ld->service_j) rc = ld_oom(ld);
  }
  /* all services first, so that consumers may name any broker */
  for (size_t i = 0; !rc && i < n; i++) {
    size_t m2 = LD_PUSH_IDX(ld, i);
    ld->service_j[i] = json_array_get(svs, i);
    rc = parse_service(ld, ld->service_j[i], &s->services[i]);
    ld_path_pop(ld, m2);
    if (!rc) s->n_services++;
  }
  for (size_t i = 0; !rc && i < n; i++) {
    gen_service *sv = &s->services[i];
    size_t m2 = LD_PUSH_IDX(ld, i);
    json_t *ops = json_object_get(ld->service_j[i], "operations");
    size_t m3 = LD_PUSH_KEY(ld, "operations");
    if (!json_is_object(ops) || json_object_size(ops) == 0) rc = ld_fail(ld, "must be a non-empty object");
    sv->ops.first = s->n_ops;
    const char *k;
    json_t *oj;
    if (!rc) json_object_foreach(ops, k, oj) {
      size_t m4 = LD_PUSH_KEY(ld, k);
      if (!*k || strchr(k, '/')) rc = ld_fail(ld, "an operation name must be non-empty and hold no '/'");
      if (!rc) rc = LD_GROW(ld, s->ops, s->n_ops, ld->cap_ops);
      if (!rc) {
        gen_op op;
        rc = parse_op(ld, (uint32_t)i, k, oj, &op);
        if (!rc) s->ops[s->n_ops++] = op;
        else {
          free(op.error_cdf);
        }
      }
      ld_path_pop(ld, m4);
      if (rc) break;
      sv->ops.n++;
    }
    ld_path_pop(ld, m3);
    ld_path_pop(ld, m2);
  }
  ld_path_pop(ld, m);
  return rc;
}

/* ---- globals ---------------------------------------------------------------- */

/* "YYYY-MM-DDTHH:MM:SSZ" -> unix ns (proleptic Gregorian, no leap seconds). */
static int parse_time(const char *t, uint64_t *out) {
  unsigned y, mo, d, h, mi, sec;
  char z;
  if (strlen(t) != 20 || sscanf(t, "%4u-%2u-%2uT%2u:%2u:%2u%c", &y, &mo, &d, &h, &mi, &sec, &z) != 7 ||
      z != 'Z' || y < 1970 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
      sec > 59)
    return -1;
  /* days from civil (H. Hinnant) */
  int yy = (int)y - (mo <= 2);
  int era = yy / 400;
  unsigned yoe = (unsigned)(yy - era * 400);
  unsigned doy = (153 * (mo + (mo > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = (int64_t)era * 146097 + (int64_t)doe - 719468;
  *out = ((uint64_t)days * 86400 + h * 3600u + mi * 60u + sec) * 1000000000ull;
  return 0;
}

static int parse_globals(gen_loader *ld, json_t *root) {
  static const char *const client_keys[] = {"ip", "user_agent", NULL};
  tl_gen_system *s = ld->s;
  const char *start = NULL;
  int rc = ld_get_str(ld, root, "start", 0, &start);
  if (rc) return rc;
  if (parse_time(start ? start : "2026-01-01T00:00:00Z", &s->start_ns))
    return ld_fail_at(ld, "start",
                      "must be a UTC time as \"2026-01-01T00:00:00Z\" (years 1970 to 2200)");
  double lo, hi;
  if (!rc) rc = ld_get_num(ld, root, "arrival_rate", 0.001, 1e6, 50, &s->arrival_rate);
  if (!rc) rc = ld_get_num(ld, root, "skew_share", 0, 1, 0.02, &s->skew_share);
  if (!rc) rc = ld_get_num(ld, root, "incomplete_share", 0, 1, 0.01, &s->incomplete_share);
  if (!rc) rc = ld_get_pair(ld, root, "skew_ms", 0.001, 60000, 2, 50, 0, &lo, &hi);
  if (rc) return rc;
  s->skew_lo_ns = (int64_t)(lo * 1e6);
  s->skew_hi_ns = (int64_t)(hi * 1e6);
  if ((rc = parse_dist(ld, root, "network", 250e3, 0.5, &s->network))) return rc;
  if ((rc = parse_dist(ld, root, "gap", 30e3, 0.8, &s->gap))) return rc;
  if ((rc = parse_dist(ld, root, "retry_backoff", 10e6, 0.5, &s->backoff))) return rc;
  size_t m = LD_PUSH_KEY(ld, "baggage");
  rc = ld_compile_attrs(ld, json_object_get(root, "baggage"), NULL, CTX_GLOBAL, &s->baggage);
  ld_path_pop(ld, m);
  if (rc) return rc;
  json_t *cl = json_object_get(root, "client");
  json_t *def = json_string("");
  if (!def) return ld_oom(ld);
  m = LD_PUSH_KEY(ld, "client");
  if (cl) rc = ld_want_object(ld, cl);
  if (!rc && cl) rc = ld_check_keys(ld, cl, client_keys, 0);
  json_t *ip = cl ? json_object_get(cl, "ip") : NULL, *ua = cl ? json_object_get(cl, "user_agent") : NULL;
  if (!rc) {
    size_t m2 = LD_PUSH_KEY(ld, "ip");
    rc = ld_compile_value(ld, ip ? ip : def, NULL, CTX_GLOBAL, &s->client_ip);
    ld_path_pop(ld, m2);
  }
  if (!rc) {
    size_t m2 = LD_PUSH_KEY(ld, "user_agent");
    rc = ld_compile_value(ld, ua ? ua : def, NULL, CTX_GLOBAL, &s->client_agent);
    ld_path_pop(ld, m2);
  }
  ld_path_pop(ld, m);
  json_decref(def);
  return rc;
}

/* ---- entry points ---------------------------------------------------------- */

void tl_gen_system_free(tl_gen_system *s) {
  if (!s) return;
  for (uint32_t i = 0; i < s->n_vars; i++) {
    free(s->vars[i].cdf);
    free(s->vars[i].choice_cdf);
  }
  for (uint32_t i = 0; i < s->n_runtimes; i++) {
    free(s->runtimes[i].scope_name);
    free(s->runtimes[i].scope_version);
  }
  for (uint32_t i = 0; i < s->n_ops; i++) free(s->ops[i].error_cdf);
  free(s->text);
  free(s->str_off);
  free(s->str_len);
  free(s->parts);
  free(s->attrs);
  free(s->kvs);
  free(s->ids);
  free(s->refs);
  free(s->vars);
  free(s->runtimes);
  free(s->protocols);
  free(s->services);
  free(s->instances);
  free(s->errors);
  free(s->ops);
  free(s->groups);
  free(s->nodes);
  free(s->requests);
  free(s->request_cdf);
  free(s);
}

const char *tl_gen_default_system_json(void) { return tl_gen_default_json; }

static const char *const top_keys[] = {"name", "description", "start", "arrival_rate", "skew_share",
                                       "skew_ms", "incomplete_share", "network", "gap",
                                       "retry_backoff", "client", "baggage", "variables",
                                       "runtimes", "protocols", "resource", "services",
                                       "requests", NULL};

int tl_gen_system_load(tl_gen_system **out, const char *json, size_t n, const char *origin,
                       tl_err *e) {
  *out = NULL;
  gen_loader ld;
  memset(&ld, 0, sizeof ld);
  ld.e = e;
  ld.origin = origin ? origin : "system";
  tl_buf_init(&ld.text);
  tl_buf_init(&ld.scratch);
  if (n > TL_GEN_MAX_SYSTEM_BYTES)
    return tl_err_set(e, TL_ERANGE, "%s: the system file is larger than %u bytes", ld.origin,
                      TL_GEN_MAX_SYSTEM_BYTES);
  json_error_t je;
  json_t *root = json_loadb(json, n, JSON_REJECT_DUPLICATES, &je), *droot = NULL;
  if (!root)
    return tl_err_set(e, TL_EFORMAT, "%s: line %d, column %d: %s", ld.origin, je.line, je.column,
                      je.text);
  ld.s = calloc(1, sizeof *ld.s);
  int rc = ld.s ? ld_want_object(&ld, root) : ld_oom(&ld);
  if (!rc) rc = ld_check_keys(&ld, root, top_keys, 0);
  /* runtimes, protocols and resource default to the built-in system's */
  ld.runtimes_j = json_object_get(root, "runtimes");
  ld.protocols_j = json_object_get(root, "protocols");
  ld.resource_j = json_object_get(root, "resource");
  if (!rc && (!ld.runtimes_j || !ld.protocols_j || !ld.resource_j)) {
    droot = json_loads(tl_gen_default_json, 0, &je);
    if (!droot) rc = tl_err_set(e, TL_EFORMAT, "built-in system: line %d: %s", je.line, je.text);
    if (!ld.runtimes_j && droot) ld.runtimes_j = json_object_get(droot, "runtimes");
    if (!ld.protocols_j && droot) ld.protocols_j = json_object_get(droot, "protocols");
    if (!ld.resource_j && droot) ld.resource_j = json_object_get(droot, "resource");
  }
  if (!rc) rc = ld_parse_variables(&ld, root);
  if (!rc) rc = parse_protocols(&ld);
  if (!rc) rc = parse_runtimes(&ld);
  if (!rc) rc = parse_services(&ld, root);
  if (!rc) rc = ld_parse_requests(&ld, root);
  if (!rc) rc = parse_globals(&ld, root);
  if (!rc && ld.text.oom) rc = ld_oom(&ld);
  json_decref(root);
  json_decref(droot);
  free(ld.map);
  free(ld.role_j);
  free(ld.perr_j);
  free(ld.service_j);
  tl_buf_free(&ld.scratch);
  if (ld.s) {
    ld.s->text = ld.text.p;
    ld.s->text_n = ld.text.n;
    ld.s->n_scopes = ld.s->n_services * (ld.s->n_protocols + 1);
    if (ld.s->max_resolution_ns == 0) ld.s->max_resolution_ns = 1;
  } else {
    tl_buf_free(&ld.text);
  }
  if (rc) {
    tl_gen_system_free(ld.s);
    return rc;
  }
  *out = ld.s;
  return TL_OK;
}

int tl_gen_system_default(tl_gen_system **out, tl_err *e) {
  return tl_gen_system_load(out, tl_gen_default_json, strlen(tl_gen_default_json), "built-in system", e);
}

int tl_gen_system_load_file(tl_gen_system **out, const char *path, tl_err *e) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return tl_err_set(e, TL_EIO, "cannot open system file '%s': %s", path, strerror(errno));
  tl_buf b;
  tl_buf_init(&b);
  char chunk[65536];
  size_t k;
  while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (b.n + k > TL_GEN_MAX_SYSTEM_BYTES) break;
    tl_buf_append(&b, chunk, k);
  }
  int err = ferror(f), big = b.n + k > TL_GEN_MAX_SYSTEM_BYTES;
  fclose(f);
  int rc;
  if (err) rc = tl_err_set(e, TL_EIO, "cannot read system file '%s'", path);
  else if (big)
    rc = tl_err_set(e, TL_ERANGE, "%s: the system file is larger than %u bytes", path,
                    TL_GEN_MAX_SYSTEM_BYTES);
  else if (b.oom) rc = tl_err_set(e, TL_ENOMEM, "out of memory reading '%s'", path);
  else rc = tl_gen_system_load(out, b.p ? b.p : "", b.n, path, e);
  tl_buf_free(&b);
  return rc;
}

uint32_t tl_gen_request_count(const tl_gen_system *sys) { return sys->n_requests; }

const char *tl_gen_request_name(const tl_gen_system *sys, uint32_t i) {
  if (i >= sys->n_requests) return NULL;
  uint32_t len;
  return gen_sys_str(sys, sys->requests[i].name, &len);
}
