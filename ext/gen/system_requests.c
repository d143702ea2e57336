/*
** system_requests.c — compiles the "requests" member of a system file: the
** request types and their call trees, into the flat nodes, groups and refs
** of gen_internal.h that gen.c walks to make a trace.  Part of the system
** loader: system.c calls it once the services and their operations are
** loaded (a call names "service/operation"), and it reads members through
** the primitives of system_values.c.
**
** A call tree is checked where it is written: who may call what (a request
** starts at a server operation, an internal operation is called only from
** its own service, a consumer only from the consumers of a messaging call
** to its broker), nesting is bounded (GEN_MAX_CALL_DEPTH, which also bounds
** the recursion here), and the worst case of spans one call can make, with
** its repeats and retries, is bounded (GEN_MAX_TRACE_SPANS), so that no
** system file can make a trace that exhausts memory.
*/
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "gen_internal.h"

/* Where a call stands: which operations it may call. */
enum { AT_ROOT, AT_CHILD, AT_CONSUMER };

static int find_op(gen_loader *ld, const char *call, uint32_t *out) {
  const char *slash = strchr(call, '/');
  if (!slash) return ld_fail(ld, "must be \"service/operation\"");
  int si = ld_find_service(ld, call, (size_t)(slash - call));
  if (si < 0) return ld_fail(ld, "no service '%.*s'", (int)(slash - call), call);
  const gen_service *sv = &ld->s->services[si];
  for (uint32_t i = 0; i < sv->ops.n; i++) {
    if (strcmp(ld_str_of(ld, ld->s->ops[sv->ops.first + i].name), call) == 0) {
      *out = sv->ops.first + i;
      return TL_OK;
    }
  }
  return ld_fail(ld, "service '%.*s' has no operation '%s'", (int)(slash - call), call, slash + 1);
}

static int parse_node(gen_loader *ld, json_t *j, int at, uint32_t ctx_service, int depth,
                      uint32_t *out, double *worst);

/* Appends node ids as one contiguous run of sys->refs (children are
** parsed first, since their own lists are appended meanwhile). */
static int push_refs(gen_loader *ld, const uint32_t *ids, size_t n, gen_range *r) {
  tl_gen_system *s = ld->s;
  r->first = s->n_refs;
  r->n = 0;
  for (size_t i = 0; i < n; i++) {
    int rc = LD_GROW(ld, s->refs, s->n_refs, ld->cap_refs);
    if (rc) return rc;
    s->refs[s->n_refs++] = ids[i];
    r->n++;
  }
  return TL_OK;
}

/* Parses an array of nodes into a contiguous run of sys->refs. */
static int parse_node_list(gen_loader *ld, json_t *arr, int at, uint32_t ctx_service, int depth,
                           gen_range *r, double *worst) {
  size_t n = json_array_size(arr);
  uint32_t *ids = malloc((n ? n : 1) * sizeof *ids);
  if (!ids) return ld_oom(ld);
  int rc = TL_OK;
  for (size_t i = 0; !rc && i < n; i++) {
    size_t m = LD_PUSH_IDX(ld, i);
    double w = 0;
    rc = parse_node(ld, json_array_get(arr, i), at, ctx_service, depth, &ids[i], &w);
    *worst += w;
    ld_path_pop(ld, m);
  }
  if (!rc) rc = push_refs(ld, ids, n, r);
  free(ids);
  return rc;
}

static int parse_node(gen_loader *ld, json_t *j, int at, uint32_t ctx_service, int depth,
                      uint32_t *out, double *worst) {
  static const char *const keys[] = {"call", "p", "repeat", "repeat_parallel", "retries",
                                     "ignore_errors", "bind", "children", "consumers", NULL};
  tl_gen_system *s = ld->s;
  if (depth > GEN_MAX_CALL_DEPTH) return ld_fail(ld, "calls are nested deeper than %d", GEN_MAX_CALL_DEPTH);
  const char *call;
  gen_node nd;
  memset(&nd, 0, sizeof nd);
  int rc = ld_want_object(ld, j);
  if (!rc) rc = ld_check_keys(ld, j, keys, 0);
  if (!rc) rc = ld_get_str(ld, j, "call", 1, &call);
  if (!rc) {
    size_t m = LD_PUSH_KEY(ld, "call");
    rc = find_op(ld, call, &nd.op);
    ld_path_pop(ld, m);
  }
  double lo, hi, retries;
  int rp, ign;
  if (!rc) rc = ld_get_num(ld, j, "p", 0, 1, 1, &nd.p);
  if (!rc) rc = ld_get_pair(ld, j, "repeat", 0, 1000, 1, 1, 1, &lo, &hi);
  if (!rc) rc = ld_get_bool(ld, j, "repeat_parallel", 0, &rp);
  if (!rc) rc = ld_get_num(ld, j, "retries", 0, 10, 0, &retries);
  if (!rc && retries != (double)(int)retries)
    rc = ld_fail_at(ld, "retries", "must be an integer between 0 and 10");
  if (!rc) rc = ld_get_bool(ld, j, "ignore_errors", 0, &ign);
  if (rc) return rc;
  nd.rep_min = (uint32_t)lo;
  nd.rep_max = (uint32_t)hi;
  nd.rep_parallel = (uint8_t)rp;
  nd.retries = (uint32_t)retries;
  nd.ignore_errors = (uint8_t)ign;
  const gen_op *op = &s->ops[nd.op];
  const char *why = NULL;
  if (at == AT_ROOT && op->type != OP_SERVER) why = "a request must start at a server operation";
  if (at == AT_ROOT && (nd.p < 1 || nd.rep_min != 1 || nd.rep_max != 1 || nd.retries))
    why = "the root call is made exactly once (no p, repeat or retries)";
  if (at == AT_CHILD && op->type == OP_CONSUMER) why = "a consumer operation is called only from the consumers of a messaging call";
  if (at == AT_CHILD && op->type == OP_INTERNAL && op->service != ctx_service)
    why = "an internal operation can only be called from its own service";
  if (at == AT_CONSUMER && (op->type != OP_CONSUMER || op->broker != ctx_service))
    why = "the consumers of a messaging call must be consumer operations of that broker";
  if (why) return ld_fail_at(ld, "call", "%s ('%s')", why, call);

  /* bind */
  json_t *bind = json_object_get(j, "bind");
  if (bind) {
    size_t m = LD_PUSH_KEY(ld, "bind");
    if (!json_is_array(bind) || json_array_size(bind) > 64) rc = ld_fail(ld, "must be an array of variable names");
    nd.binds.first = s->n_ids;
    for (size_t i = 0; !rc && i < json_array_size(bind); i++) {
      json_t *x = json_array_get(bind, i);
      int v = json_is_string(x) ? ld_var_find(ld, json_string_value(x), json_string_length(x)) : -1;
      if (v < 0) {
        LD_PUSH_IDX(ld, i);
        rc = ld_fail(ld, "not a variable");
      } else if (!(rc = LD_GROW(ld, s->ids, s->n_ids, ld->cap_ids))) {
        s->ids[s->n_ids++] = (uint32_t)v;
        nd.binds.n++;
      }
    }
    ld_path_pop(ld, m);
    if (rc) return rc;
  }

  /* children: nodes, or {"parallel": [nodes]} groups */
  double inner = 0;
  json_t *ch = json_object_get(j, "children");
  if (ch) {
    size_t m = LD_PUSH_KEY(ld, "children");
    int has_body = op->type == OP_SERVER || op->type == OP_INTERNAL || op->type == OP_CONSUMER;
    if (!has_body) rc = ld_fail(ld, "a call to a %s has no children", op->type == OP_PRODUCE ? "messaging service (use consumers)" : "service that records no spans");
    else if (!json_is_array(ch) || json_array_size(ch) > 1000) rc = ld_fail(ld, "must be an array of at most 1000 calls");
    size_t ng = rc ? 0 : json_array_size(ch);
    gen_group *gs = malloc((ng ? ng : 1) * sizeof *gs);
    if (!gs && !rc) rc = ld_oom(ld);
    for (size_t i = 0; !rc && i < ng; i++) {
      json_t *c = json_array_get(ch, i);
      size_t m2 = LD_PUSH_IDX(ld, i);
      json_t *par = json_is_object(c) ? json_object_get(c, "parallel") : NULL;
      gs[i].parallel = par != NULL;
      if (par) {
        size_t m3 = LD_PUSH_KEY(ld, "parallel");
        if (json_object_size(c) != 1) rc = ld_fail(ld, "a parallel group holds nothing but \"parallel\"");
        else if (!json_is_array(par) || json_array_size(par) == 0 || json_array_size(par) > 1000)
          rc = ld_fail(ld, "must be an array of 1 to 1000 calls");
        if (!rc) rc = parse_node_list(ld, par, AT_CHILD, op->service, depth + 1, &gs[i].nodes, &inner);
        ld_path_pop(ld, m3);
      } else {
        uint32_t id;
        double w = 0;
        rc = parse_node(ld, c, AT_CHILD, op->service, depth + 1, &id, &w);
        inner += w;
        if (!rc) rc = push_refs(ld, &id, 1, &gs[i].nodes);
      }
      ld_path_pop(ld, m2);
    }
    nd.groups.first = s->n_groups;
    for (size_t i = 0; !rc && i < ng; i++) {
      if (!(rc = LD_GROW(ld, s->groups, s->n_groups, ld->cap_groups))) s->groups[s->n_groups++] = gs[i], nd.groups.n++;
    }
    free(gs);
    ld_path_pop(ld, m);
    if (rc) return rc;
  }
  json_t *cons = json_object_get(j, "consumers");
  if (cons) {
    size_t m = LD_PUSH_KEY(ld, "consumers");
    if (op->type != OP_PRODUCE) rc = ld_fail(ld, "only a call to a messaging service has consumers");
    else if (!json_is_array(cons) || json_array_size(cons) > 100) rc = ld_fail(ld, "must be an array of at most 100 calls");
    if (!rc) rc = parse_node_list(ld, cons, AT_CONSUMER, op->service, depth + 1, &nd.consumers, &inner);
    ld_path_pop(ld, m);
    if (rc) return rc;
  }
  double own = (op->type == OP_SERVER && at != AT_ROOT) ? 2 : 1;
  *worst = (own + inner) * nd.rep_max * (nd.retries + 1);
  if (*worst > GEN_MAX_TRACE_SPANS)
    return ld_fail(ld, "this call can make up to %.0f spans in one trace (the limit is %d)", *worst, GEN_MAX_TRACE_SPANS);
  if ((rc = LD_GROW(ld, s->nodes, s->n_nodes, ld->cap_nodes))) return rc;
  *out = s->n_nodes;
  s->nodes[s->n_nodes++] = nd;
  return TL_OK;
}

int ld_parse_requests(gen_loader *ld, json_t *root) {
  static const char *const keys[] = {"name", "weight", "root", NULL};
  tl_gen_system *s = ld->s;
  json_t *rq = json_object_get(root, "requests");
  size_t m = LD_PUSH_KEY(ld, "requests"), n;
  int rc = ld_want_array(ld, rq, 4096, "request types", &n);
  if (!rc) {
    s->requests = calloc(n, sizeof *s->requests);
    s->request_cdf = calloc(n, sizeof *s->request_cdf);
    if (!s->requests || !s->request_cdf) rc = ld_oom(ld);
  }
  double total = 0;
  for (size_t i = 0; !rc && i < n; i++) {
    json_t *j = json_array_get(rq, i);
    size_t m2 = LD_PUSH_IDX(ld, i);
    gen_request *r = &s->requests[i];
    const char *name;
    rc = ld_want_object(ld, j);
    if (!rc) rc = ld_check_keys(ld, j, keys, 0);
    if (!rc) rc = ld_get_str(ld, j, "name", 1, &name);
    if (!rc) rc = ld_get_num(ld, j, "weight", 0, 1e9, 1, &r->weight);
    for (size_t k = 0; !rc && k < i; k++) {
      if (strcmp(ld_str_of(ld, s->requests[k].name), name) == 0)
        rc = ld_fail_at(ld, "name", "duplicate request type '%s'", name);
    }
    if (!rc && (r->name = ld_cstr_id(ld, name)) == GEN_NONE) rc = ld->e->rc;
    if (!rc) {
      json_t *root_j = json_object_get(j, "root");
      size_t m3 = LD_PUSH_KEY(ld, "root");
      double worst = 0;
      rc = root_j ? parse_node(ld, root_j, AT_ROOT, GEN_NONE, 0, &r->root, &worst)
                  : ld_fail(ld, "is required");
      ld_path_pop(ld, m3);
    }
    ld_path_pop(ld, m2);
    if (!rc) {
      total += r->weight;
      s->request_cdf[i] = total;
      s->n_requests++;
    }
  }
  if (!rc && total <= 0) rc = ld_fail(ld, "the weights are all zero");
  ld_path_pop(ld, m);
  return rc;
}

