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
** Templates.  String values of attributes, span names and error messages
** may contain {name} references, resolved when the system is loaded:
**   {field}   a string member of the operation, else of its service (for
**             resource attributes: of the service, else of its runtime);
**             its own text may hold {variable} and {$builtin} references
**   {var}     a variable of "variables" (drawn per trace, per bound subtree
**             or per span)
**   {$name}   a builtin filled in per span or per service instance
** "{{" and "}}" are literal braces.  Protocols are written once with
** references to operation fields ("{method} {route}"), and every operation
** gets its own flattened copy; constant results are folded to one string.
*/
#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "default_system.h"
#include "gen_internal.h"

enum { CTX_SPAN, CTX_ERROR_MSG, CTX_RESOURCE, CTX_GLOBAL };

static const char *const builtin_names[B_COUNT] = {
    "$service",   "$callee",     "$callee_port", "$callee_ip",  "$caller_ip",
    "$caller_port", "$caller_agent", "$http_status", "$grpc_code", "$grpc_status",
    "$error_type", "$error_message", "$message_id", "$partition", "$offset",
    "$attempt",   "$body_size",  "$rows",      "$trace_id",    "$span_id",    "$instance_id",
    "$instance",  "$pod",        "$node",        "$container_id", "$ip",
    "$pid"};

static int builtin_is_int(int b) {
  return b == B_CALLEE_PORT || b == B_CALLER_PORT || b == B_HTTP_STATUS || b == B_GRPC_CODE ||
         b == B_PARTITION || b == B_OFFSET || b == B_ATTEMPT || b == B_BODY_SIZE || b == B_ROWS ||
         b == B_INSTANCE || b == B_PID;
}

static const char *const stack_names[STACK_COUNT] = {"java", "go", "python", "node", "dotnet",
                                                     "ruby", "php", "rust", "cpp"};
static const char *const role_keys[ROLE_COUNT] = {"server", "client", "producer", "consumer", NULL};

/* ---- the loader --------------------------------------------------------- */

typedef struct loader {
  tl_gen_system *s;
  tl_err *e;
  const char *origin;
  char path[1024];
  size_t plen;
  tl_buf text;
  uint32_t *map; /* string dedupe: open addressing over string ids */
  uint32_t map_cap;
  uint32_t cap_str, cap_parts, cap_attrs, cap_kvs, cap_ids, cap_refs, cap_errors,
      cap_ops, cap_groups, cap_nodes;
  uint64_t zipf_values; /* Zipf tables' entries, all variables together */
  json_t *runtimes_j, *protocols_j, *resource_j;
  json_t **role_j;    /* n_protocols * ROLE_COUNT role objects (or NULL) */
  json_t **perr_j;    /* n_protocols default error lists (or NULL) */
  json_t **service_j; /* per service */
  tl_buf scratch;
} loader;

/* Path helpers: push returns the mark to pop back to. */
static size_t path_push(loader *ld, const char *fmt, const char *key, size_t idx) {
  size_t mark = ld->plen;
  int k = key ? snprintf(ld->path + ld->plen, sizeof ld->path - ld->plen, fmt, key)
              : snprintf(ld->path + ld->plen, sizeof ld->path - ld->plen, fmt, idx);
  if (k > 0) ld->plen += (size_t)k;
  if (ld->plen >= sizeof ld->path) ld->plen = sizeof ld->path - 1;
  return mark;
}
#define PUSH_KEY(ld, k) path_push(ld, ".%s", k, 0)
#define PUSH_IDX(ld, i) path_push(ld, "[%zu]", NULL, i)
static void path_pop(loader *ld, size_t mark) {
  ld->plen = mark;
  ld->path[mark] = 0;
}

/* Errors found while compiling a shared piece (a protocol role, the
** resource) for one service or operation are reported at the shared
** piece's path: the current path is saved and replaced meanwhile. */
typedef struct saved_path {
  char p[1024];
  size_t n;
} saved_path;

static void path_enter(loader *ld, saved_path *sp, const char *k1, const char *k2, const char *k3) {
  memcpy(sp->p, ld->path, ld->plen + 1);
  sp->n = ld->plen;
  ld->plen = 0;
  ld->path[0] = 0;
  const char *ks[3] = {k1, k2, k3};
  for (int i = 0; i < 3; i++)
    if (ks[i]) PUSH_KEY(ld, ks[i]);
}

/* Restores the path; on error, names what the shared piece was compiled for. */
static int path_leave(loader *ld, const saved_path *sp, int rc, const char *what, const char *name) {
  if (rc && ld->e->rc != TL_ENOMEM) {
    size_t el = strlen(ld->e->msg);
    snprintf(ld->e->msg + el, sizeof ld->e->msg - el, " (for %s '%s')", what, name);
  }
  memcpy(ld->path, sp->p, sp->n + 1);
  ld->plen = sp->n;
  return rc;
}

static int fail(loader *ld, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static int fail(loader *ld, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return tl_err_set(ld->e, TL_EFORMAT, "%s: $%s: %s", ld->origin, ld->path, msg);
}

static int oom(loader *ld) { return tl_err_set(ld->e, TL_ENOMEM, "%s: out of memory", ld->origin); }

/* Makes room for one more element of a flat array. */
static int grow(loader *ld, void **arr, uint32_t n, uint32_t *cap, size_t size) {
  if (n < *cap) return TL_OK;
  if (n >= GEN_MAX_ITEMS * 8u) return fail(ld, "the system is too large");
  uint32_t c = *cap ? *cap * 2 : 16;
  void *p = realloc(*arr, (size_t)c * size);
  if (!p) return oom(ld);
  *arr = p;
  *cap = c;
  return TL_OK;
}
#define GROW(ld, arr, n, cap) grow(ld, (void **)&(arr), n, &(cap), sizeof *(arr))

/* Interns p[0..n) in the system's string table; GEN_NONE on failure. */
static uint32_t str_id(loader *ld, const char *p, size_t n) {
  tl_gen_system *s = ld->s;
  if (n > TL_MAX_STRING) {
    fail(ld, "a string is too long");
    return GEN_NONE;
  }
  if ((s->n_str + 1) * 2 > ld->map_cap) {
    uint32_t cap = ld->map_cap ? ld->map_cap * 2 : 1024;
    uint32_t *map = malloc((size_t)cap * sizeof *map);
    if (!map) {
      oom(ld);
      return GEN_NONE;
    }
    memset(map, 0xff, (size_t)cap * sizeof *map);
    for (uint32_t i = 0; i < s->n_str; i++) {
      uint64_t h = tl_hash(ld->text.p + s->str_off[i], s->str_len[i]);
      uint32_t j = (uint32_t)h & (cap - 1);
      while (map[j] != GEN_NONE) j = (j + 1) & (cap - 1);
      map[j] = i;
    }
    free(ld->map);
    ld->map = map;
    ld->map_cap = cap;
  }
  uint64_t h = tl_hash(p, n);
  uint32_t j = (uint32_t)h & (ld->map_cap - 1);
  for (; ld->map[j] != GEN_NONE; j = (j + 1) & (ld->map_cap - 1)) {
    uint32_t id = ld->map[j];
    if (s->str_len[id] == n && memcmp(ld->text.p + s->str_off[id], p, n) == 0) return id;
  }
  if (ld->text.n + n + 1 > UINT32_MAX) {
    fail(ld, "the system's strings are too large");
    return GEN_NONE;
  }
  if (s->n_str == ld->cap_str) {
    uint32_t cap = ld->cap_str ? ld->cap_str * 2 : 256;
    uint32_t *off = realloc(s->str_off, (size_t)cap * sizeof *off);
    if (off) s->str_off = off;
    uint32_t *len = realloc(s->str_len, (size_t)cap * sizeof *len);
    if (len) s->str_len = len;
    if (!off || !len) {
      oom(ld);
      return GEN_NONE;
    }
    ld->cap_str = cap;
  }
  uint32_t id = s->n_str++;
  s->str_off[id] = (uint32_t)ld->text.n;
  s->str_len[id] = (uint32_t)n;
  tl_buf_append(&ld->text, p, n);
  tl_buf_putc(&ld->text, 0);
  if (ld->text.oom) {
    oom(ld);
    return GEN_NONE;
  }
  ld->map[j] = id;
  return id;
}

static uint32_t cstr_id(loader *ld, const char *s) { return str_id(ld, s, strlen(s)); }

static const char *str_of(loader *ld, uint32_t id) { return ld->text.p + ld->s->str_off[id]; }

/* ---- typed member access -------------------------------------------------- */

/* Refuses members of obj not named in keys (NULL-terminated).  With
** allow_strings, unknown string members are allowed (they are fields that
** templates may use). */
static int check_keys(loader *ld, json_t *obj, const char *const *keys, int allow_strings) {
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    int known = 0;
    for (const char *const *q = keys; *q; q++) known |= strcmp(*q, k) == 0;
    if (!known && !(allow_strings && json_is_string(v))) {
      size_t m = PUSH_KEY(ld, k);
      int rc = fail(ld, "unknown key");
      path_pop(ld, m);
      return rc;
    }
  }
  return TL_OK;
}

static int want_object(loader *ld, json_t *v) {
  return json_is_object(v) ? TL_OK : fail(ld, "must be an object");
}

/* Reads obj.key as a number in [lo, hi]; absent -> *out = def. */
static int get_num(loader *ld, json_t *obj, const char *key, double lo, double hi, double def,
                   double *out) {
  json_t *v = json_object_get(obj, key);
  *out = def;
  if (!v) return TL_OK;
  size_t m = PUSH_KEY(ld, key);
  int rc = TL_OK;
  if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi)
    rc = fail(ld, "must be a number between %g and %g", lo, hi);
  else *out = json_number_value(v);
  path_pop(ld, m);
  return rc;
}

static int get_int(loader *ld, json_t *obj, const char *key, int64_t lo, int64_t hi, int64_t def,
                   int64_t *out) {
  json_t *v = json_object_get(obj, key);
  *out = def;
  if (!v) return TL_OK;
  size_t m = PUSH_KEY(ld, key);
  int rc = TL_OK;
  if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
    rc = fail(ld, "must be an integer between %lld and %lld", (long long)lo, (long long)hi);
  else *out = json_integer_value(v);
  path_pop(ld, m);
  return rc;
}

static int get_bool(loader *ld, json_t *obj, const char *key, int def, int *out) {
  json_t *v = json_object_get(obj, key);
  *out = def;
  if (!v) return TL_OK;
  if (!json_is_boolean(v)) {
    size_t m = PUSH_KEY(ld, key);
    int rc = fail(ld, "must be true or false");
    path_pop(ld, m);
    return rc;
  }
  *out = json_is_true(v);
  return TL_OK;
}

/* obj.key as a string; required -> error when absent; else NULL. */
static int get_str(loader *ld, json_t *obj, const char *key, int required, const char **out) {
  json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (!v && !required) return TL_OK;
  size_t m = PUSH_KEY(ld, key);
  int rc = TL_OK;
  if (!v) rc = fail(ld, "is required");
  else if (!json_is_string(v) || json_string_length(v) == 0 ||
           strlen(json_string_value(v)) != json_string_length(v))
    rc = fail(ld, "must be a non-empty string without NUL characters");
  else *out = json_string_value(v);
  path_pop(ld, m);
  return rc;
}

/* obj.key as [lo, hi] (or one number for both), each in [min, max]. */
static int get_pair(loader *ld, json_t *obj, const char *key, double min, double max, double def_lo,
                    double def_hi, int integral, double *lo, double *hi) {
  json_t *v = json_object_get(obj, key);
  *lo = def_lo;
  *hi = def_hi;
  if (!v) return TL_OK;
  size_t m = PUSH_KEY(ld, key);
  json_t *a = v, *b = v;
  if (json_is_array(v)) {
    a = json_array_size(v) == 2 ? json_array_get(v, 0) : NULL;
    b = json_array_size(v) == 2 ? json_array_get(v, 1) : NULL;
  }
  int ok = a && b && (integral ? json_is_integer(a) && json_is_integer(b)
                               : json_is_number(a) && json_is_number(b));
  if (ok) {
    *lo = json_number_value(a);
    *hi = json_number_value(b);
    ok = *lo >= min && *hi <= max && *lo <= *hi;
  }
  int rc = ok ? TL_OK
              : fail(ld, "must be %s or [low, high] with %g <= low <= high <= %g",
                     integral ? "an integer" : "a number", min, max);
  path_pop(ld, m);
  return rc;
}

/* The median and sigma of a log-normal in object v (at the current path):
** {"median_ms": x | "median_us": x, "sigma": s}. */
static int dist_members(loader *ld, json_t *v, double def_sigma, gen_dist *d) {
  double ms, us;
  int rc = get_num(ld, v, "median_ms", 0.0001, 3600e3, -1, &ms);
  if (!rc) rc = get_num(ld, v, "median_us", 0.1, 3600e6, -1, &us);
  if (!rc && (ms < 0) == (us < 0)) rc = fail(ld, "needs exactly one of median_ms and median_us");
  if (!rc) d->median_ns = ms >= 0 ? ms * 1e6 : us * 1e3;
  if (!rc) rc = get_num(ld, v, "sigma", 0, 3, def_sigma, &d->sigma);
  return rc;
}

/* obj.key as a distribution; absent -> the defaults. */
static int parse_dist(loader *ld, json_t *obj, const char *key, double def_median_ns,
                      double def_sigma, gen_dist *d) {
  static const char *const keys[] = {"median_ms", "median_us", "sigma", NULL};
  json_t *v = json_object_get(obj, key);
  d->median_ns = def_median_ns;
  d->sigma = def_sigma;
  if (!v) return TL_OK;
  size_t m = PUSH_KEY(ld, key);
  int rc = want_object(ld, v);
  if (!rc) rc = check_keys(ld, v, keys, 0);
  if (!rc) rc = dist_members(ld, v, def_sigma, d);
  path_pop(ld, m);
  return rc;
}

/* ---- templates -------------------------------------------------------------- */

/* Where {field} references are looked up: up to two objects, then the
** implicit {op} (the operation's name in its service). */
typedef struct fields {
  json_t *a, *b;
  const char *op;
} fields;

static json_t *field_get(const fields *f, const char *name) {
  json_t *v = NULL;
  if (f && f->a) v = json_object_get(f->a, name);
  if ((!v || !json_is_string(v)) && f && f->b) v = json_object_get(f->b, name);
  return v && json_is_string(v) ? v : NULL;
}

static int var_find(const loader *ld, const char *name, size_t n) {
  for (uint32_t i = 0; i < ld->s->n_vars; i++) {
    uint32_t id = ld->s->vars[i].name;
    if (ld->s->str_len[id] == n && memcmp(ld->text.p + ld->s->str_off[id], name, n) == 0)
      return (int)i;
  }
  return -1;
}

typedef struct tmpl_build {
  gen_part parts[64];
  uint32_t n;
  tl_buf lit;
} tmpl_build;

static int flush_lit(loader *ld, tmpl_build *tb) {
  if (!tb->lit.n) return TL_OK;
  if (tb->n == 64) return fail(ld, "too many references in one template");
  uint32_t id = str_id(ld, tb->lit.p, tb->lit.n);
  if (id == GEN_NONE) return ld->e->rc;
  tb->parts[tb->n].kind = PART_LIT;
  tb->parts[tb->n++].ref = id;
  tl_buf_reset(&tb->lit);
  return TL_OK;
}

static int add_ref(loader *ld, tmpl_build *tb, uint8_t kind, uint32_t ref) {
  int rc = flush_lit(ld, tb);
  if (rc) return rc;
  if (tb->n == 64) return fail(ld, "too many references in one template");
  tb->parts[tb->n].kind = kind;
  tb->parts[tb->n++].ref = ref;
  return TL_OK;
}

static int scan_text(loader *ld, tmpl_build *tb, const char *t, size_t n, const fields *f,
                     int ctx, int depth) {
  for (size_t i = 0; i < n; i++) {
    char c = t[i];
    if ((c == '{' || c == '}') && i + 1 < n && t[i + 1] == c) {
      tl_buf_putc(&tb->lit, c);
      i++;
      continue;
    }
    if (c == '}') return fail(ld, "unmatched '}' in template (write '}}' for a brace)");
    if (c != '{') {
      tl_buf_putc(&tb->lit, c);
      continue;
    }
    size_t j = i + 1;
    while (j < n && t[j] != '}' && t[j] != '{') j++;
    if (j >= n || t[j] != '}') return fail(ld, "unterminated '{' in template (write '{{' for a brace)");
    const char *name = t + i + 1;
    size_t len = j - i - 1;
    char nm[128];
    if (len == 0 || len >= sizeof nm) return fail(ld, "bad reference '{%.*s}'", (int)(len < 60 ? len : 60), name);
    memcpy(nm, name, len);
    nm[len] = 0;
    i = j;
    int rc;
    if (nm[0] == '$') {
      int b = -1;
      for (int k = 0; k < B_COUNT; k++)
        if (strcmp(builtin_names[k], nm) == 0) b = k;
      if (b < 0) return fail(ld, "unknown builtin '{%s}'", nm);
      int span_b = b <= B_SPAN_LAST;
      if (ctx == CTX_RESOURCE ? span_b : !span_b)
        return fail(ld, "'{%s}' cannot be used here (%s)", nm,
                    ctx == CTX_RESOURCE ? "resource attributes take instance builtins only"
                                        : "it is a resource builtin");
      if (ctx == CTX_ERROR_MSG && (b == B_ERROR_MESSAGE || b == B_ERROR_TYPE))
        return fail(ld, "an error message cannot refer to '{%s}'", nm);
      rc = add_ref(ld, tb, PART_BUILTIN, (uint32_t)b);
    } else if (depth == 0 && field_get(f, nm)) {
      json_t *fv = field_get(f, nm);
      rc = scan_text(ld, tb, json_string_value(fv), json_string_length(fv), f, ctx, 1);
    } else if (depth == 0 && f && f->op && strcmp(nm, "op") == 0) {
      tl_buf_puts(&tb->lit, f->op);
    } else {
      int v = ctx == CTX_RESOURCE ? -1 : var_find(ld, nm, len);
      if (v < 0)
        return fail(ld, "unknown name '{%s}': not %sa variable", nm,
                    depth == 0 && f ? "a field of the operation or service, nor " : "");
      rc = add_ref(ld, tb, PART_VAR, (uint32_t)v);
    }
    if (rc) return rc;
  }
  return TL_OK;
}

/* Compiles a JSON scalar into a template. */
static int compile_value(loader *ld, json_t *v, const fields *f, int ctx, gen_tmpl *out) {
  tl_gen_system *s = ld->s;
  memset(out, 0, sizeof *out);
  out->is_const = 1;
  if (json_is_integer(v)) {
    out->type = TL_V_INT;
    out->i = json_integer_value(v);
    return TL_OK;
  }
  if (json_is_real(v)) {
    out->type = TL_V_DOUBLE;
    out->d = json_real_value(v);
    return TL_OK;
  }
  if (json_is_boolean(v)) {
    out->type = TL_V_BOOL;
    out->i = json_is_true(v);
    return TL_OK;
  }
  if (!json_is_string(v)) return fail(ld, "must be a string, number or boolean");
  tmpl_build tb;
  tb.n = 0;
  tl_buf_init(&tb.lit);
  int rc = scan_text(ld, &tb, json_string_value(v), json_string_length(v), f, ctx, 0);
  if (!rc) rc = flush_lit(ld, &tb);
  tl_buf_free(&tb.lit);
  if (rc) return rc;
  out->type = TL_V_STRING;
  if (tb.n == 0) {
    out->s = str_id(ld, "", 0);
    return out->s == GEN_NONE ? ld->e->rc : TL_OK;
  }
  if (tb.n == 1 && tb.parts[0].kind == PART_LIT) {
    out->s = tb.parts[0].ref;
    return TL_OK;
  }
  out->is_const = 0;
  if (tb.n == 1) {
    const gen_part *p = &tb.parts[0];
    if (p->kind == PART_BUILTIN && builtin_is_int((int)p->ref)) out->type = TL_V_INT;
    if (p->kind == PART_VAR) {
      int t = s->vars[p->ref].type;
      out->type = t == VT_INT ? TL_V_INT : t == VT_DOUBLE ? TL_V_DOUBLE : t == VT_BOOL ? TL_V_BOOL
                                                                                    : TL_V_STRING;
    }
  }
  for (uint32_t i = 0; i < tb.n; i++) {
    if ((rc = GROW(ld, s->parts, s->n_parts, ld->cap_parts))) return rc;
    if (i == 0) out->first = s->n_parts;
    s->parts[s->n_parts++] = tb.parts[i];
  }
  out->n = tb.n;
  return TL_OK;
}

/* Compiles an attribute object {"key": value | {"value": v, "when": w}}
** and appends it to sys->attrs; *r grows to cover it (r->first set by the
** first list appended to an empty range). */
static int compile_attrs(loader *ld, json_t *obj, const fields *f, int ctx, gen_range *r) {
  static const char *const when_names[] = {"always", "ok", "error", "retry"};
  static const char *const keys[] = {"value", "when", NULL};
  tl_gen_system *s = ld->s;
  if (!obj) return TL_OK;
  int rc = want_object(ld, obj);
  if (rc) return rc;
  if (r->n == 0) r->first = s->n_attrs;
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    size_t m = PUSH_KEY(ld, k);
    gen_attr a;
    memset(&a, 0, sizeof a);
    a.when = WHEN_ALWAYS;
    json_t *val = v;
    if (json_is_object(v)) {
      rc = check_keys(ld, v, keys, 0);
      val = json_object_get(v, "value");
      const char *w = NULL;
      if (!rc && !val) rc = fail(ld, "needs a \"value\"");
      if (!rc) rc = get_str(ld, v, "when", 0, &w);
      if (!rc && w) {
        int found = -1;
        for (int i = 0; i < 4; i++)
          if (strcmp(w, when_names[i]) == 0) found = i;
        if (found < 0) rc = fail(ld, "\"when\" must be always, ok, error or retry");
        a.when = (uint8_t)found;
      }
    }
    if (!rc) rc = compile_value(ld, val, f, ctx, &a.v);
    if (!rc) {
      a.key = cstr_id(ld, k);
      if (a.key == GEN_NONE) rc = ld->e->rc;
    }
    if (!rc && !*k) rc = fail(ld, "attribute keys must not be empty");
    if (!rc) rc = GROW(ld, s->attrs, s->n_attrs, ld->cap_attrs);
    path_pop(ld, m);
    if (rc) return rc;
    if (r->first + r->n != s->n_attrs) return fail(ld, "internal: attribute lists interleaved");
    s->attrs[s->n_attrs++] = a;
    r->n++;
  }
  return TL_OK;
}

/* ---- variables ------------------------------------------------------------ */

static int zipf_cdf(loader *ld, uint64_t n, double skew, double **out) {
  double *cdf = malloc((size_t)n * sizeof *cdf);
  if (!cdf) return oom(ld);
  double total = 0;
  for (uint64_t i = 0; i < n; i++) {
    total += tl_gen_exp(-skew * tl_gen_log((double)(i + 1)));
    cdf[i] = total;
  }
  *out = cdf;
  return TL_OK;
}

static int parse_variable(loader *ld, const char *name, json_t *j, gen_var *v) {
  static const char *const keys[] = {"type", "pool", "zipf", "len", "min", "max", "p",
                                     "values", "weights", "prefix", "scope", NULL};
  static const char *const types[] = {"uuid", "hex", "alnum", "int", "double", "bool", "choice", "ipv4"};
  memset(v, 0, sizeof *v);
  int rc = want_object(ld, j);
  if (!rc) rc = check_keys(ld, j, keys, 0);
  const char *t = NULL, *scope = NULL, *prefix = NULL;
  if (!rc) rc = get_str(ld, j, "type", 1, &t);
  if (rc) return rc;
  int type = -1;
  for (int i = 0; i < 8; i++)
    if (strcmp(types[i], t) == 0) type = i;
  if (type < 0) {
    size_t m = PUSH_KEY(ld, "type");
    rc = fail(ld, "unknown type '%s' (uuid, hex, alnum, int, double, bool, choice or ipv4)", t);
    path_pop(ld, m);
    return rc;
  }
  v->type = (uint8_t)type;
  v->name = cstr_id(ld, name);
  if (v->name == GEN_NONE) return ld->e->rc;
  v->salt = tl_mix64(tl_hash(name, strlen(name)));
  rc = get_str(ld, j, "scope", 0, &scope);
  if (!rc && scope && strcmp(scope, "trace") && strcmp(scope, "span")) {
    size_t m = PUSH_KEY(ld, "scope");
    rc = fail(ld, "must be \"trace\" or \"span\"");
    path_pop(ld, m);
  }
  if (rc) return rc;
  v->per_span = scope && strcmp(scope, "span") == 0;
  int64_t pool, len;
  double skew;
  rc = get_int(ld, j, "pool", 0, GEN_MAX_POOL, 0, &pool);
  if (!rc) rc = get_num(ld, j, "zipf", 0, 4, 0, &skew);
  if (!rc) rc = get_int(ld, j, "len", 1, 64, 16, &len);
  if (rc) return rc;
  v->pool = (uint64_t)pool;
  v->len = (uint32_t)len;
  if (skew > 0 && pool == 0) return fail(ld, "\"zipf\" needs a \"pool\"");
  if (skew > 0 && (ld->zipf_values += (uint64_t)pool) > GEN_MAX_POOL)
    return fail(ld, "Zipf pools may hold %d values in all", GEN_MAX_POOL);
  if (skew > 0 && (rc = zipf_cdf(ld, v->pool, skew, &v->cdf))) return rc;
  if (type == VT_INT || type == VT_DOUBLE) {
    double lo, hi;
    rc = get_num(ld, j, "min", -1e15, 1e15, 0, &lo);
    if (!rc) rc = get_num(ld, j, "max", -1e15, 1e15, 100, &hi);
    if (!rc && lo > hi) rc = fail(ld, "\"min\" is greater than \"max\"");
    if (rc) return rc;
    if (type == VT_INT && (lo != (double)(int64_t)lo || hi != (double)(int64_t)hi))
      return fail(ld, "\"min\" and \"max\" of an int variable must be integers");
    v->min = type == VT_INT ? (int64_t)lo : (int64_t)(lo * 100);
    v->max = type == VT_INT ? (int64_t)hi : (int64_t)(hi * 100);
  }
  if (type == VT_BOOL && (rc = get_num(ld, j, "p", 0, 1, 0.5, &v->p))) return rc;
  if (type == VT_IPV4) {
    if ((rc = get_str(ld, j, "prefix", 0, &prefix))) return rc;
    v->prefix = cstr_id(ld, prefix ? prefix : "10.0");
    if (v->prefix == GEN_NONE) return ld->e->rc;
  }
  if (type == VT_CHOICE) {
    json_t *vals = json_object_get(j, "values"), *w = json_object_get(j, "weights");
    size_t m = PUSH_KEY(ld, "values");
    size_t nv = json_is_array(vals) ? json_array_size(vals) : 0;
    if (nv == 0 || nv > GEN_MAX_ITEMS) rc = fail(ld, "must be a non-empty array of strings");
    path_pop(ld, m);
    if (rc) return rc;
    if (w && (!json_is_array(w) || json_array_size(w) != nv)) {
      m = PUSH_KEY(ld, "weights");
      rc = fail(ld, "must be an array of %zu numbers, one per value", nv);
      path_pop(ld, m);
      return rc;
    }
    v->choice_cdf = malloc(nv * sizeof *v->choice_cdf);
    if (!v->choice_cdf) return oom(ld);
    double total = 0;
    for (size_t i = 0; i < nv; i++) {
      json_t *x = json_array_get(vals, i), *wx = w ? json_array_get(w, i) : NULL;
      m = PUSH_KEY(ld, "values");
      PUSH_IDX(ld, i);
      if (!json_is_string(x)) rc = fail(ld, "must be a string");
      path_pop(ld, m);
      if (!rc && wx && (!json_is_number(wx) || json_number_value(wx) < 0 || json_number_value(wx) > 1e9)) {
        m = PUSH_KEY(ld, "weights");
        PUSH_IDX(ld, i);
        rc = fail(ld, "must be a number between 0 and 1e9");
        path_pop(ld, m);
      }
      if (!rc) rc = GROW(ld, ld->s->ids, ld->s->n_ids, ld->cap_ids);
      if (rc) return rc;
      uint32_t id = str_id(ld, json_string_value(x), json_string_length(x));
      if (id == GEN_NONE) return ld->e->rc;
      if (i == 0) v->choices.first = ld->s->n_ids;
      ld->s->ids[ld->s->n_ids++] = id;
      total += wx ? json_number_value(wx) : 1.0;
      v->choice_cdf[i] = total;
    }
    if (total <= 0) return fail(ld, "the weights are all zero");
    v->choices.n = (uint32_t)nv;
  }
  return TL_OK;
}

static int parse_variables(loader *ld, json_t *root) {
  json_t *vars = json_object_get(root, "variables");
  if (!vars) return TL_OK;
  size_t m = PUSH_KEY(ld, "variables");
  int rc = want_object(ld, vars);
  size_t n = rc ? 0 : json_object_size(vars);
  if (!rc && n > 4096) rc = fail(ld, "too many variables");
  if (!rc && n) {
    ld->s->vars = calloc(n, sizeof *ld->s->vars);
    if (!ld->s->vars) rc = oom(ld);
  }
  const char *k;
  json_t *v;
  if (!rc) json_object_foreach(vars, k, v) {
    size_t m2 = PUSH_KEY(ld, k);
    if (!*k || strchr(k, '{') || strchr(k, '}') || k[0] == '$')
      rc = fail(ld, "a variable name must be non-empty, not start with '$' and hold no braces");
    if (!rc) rc = parse_variable(ld, k, v, &ld->s->vars[ld->s->n_vars]);
    path_pop(ld, m2);
    if (rc) { /* the half-parsed variable is not counted: free it here */
      free(ld->s->vars[ld->s->n_vars].cdf);
      free(ld->s->vars[ld->s->n_vars].choice_cdf);
      break;
    }
    ld->s->n_vars++;
  }
  path_pop(ld, m);
  return rc;
}

/* ---- protocols and runtimes ------------------------------------------------ */

static int parse_protocols(loader *ld) {
  static const char *const keys[] = {"instrumented", "messaging", "server", "client",
                                     "producer", "consumer", "errors", NULL};
  tl_gen_system *s = ld->s;
  json_t *ps = ld->protocols_j;
  size_t m = PUSH_KEY(ld, "protocols");
  int rc = want_object(ld, ps);
  size_t n = rc ? 0 : json_object_size(ps);
  if (!rc && (n == 0 || n > 64)) rc = fail(ld, "must hold 1 to 64 protocols");
  if (!rc) {
    s->protocols = calloc(n, sizeof *s->protocols);
    ld->role_j = calloc(n * ROLE_COUNT, sizeof *ld->role_j);
    ld->perr_j = calloc(n, sizeof *ld->perr_j);
    if (!s->protocols || !ld->role_j || !ld->perr_j) rc = oom(ld);
  }
  const char *k;
  json_t *p;
  if (!rc) json_object_foreach(ps, k, p) {
    size_t m2 = PUSH_KEY(ld, k);
    gen_protocol *pr = &s->protocols[s->n_protocols];
    int instr, msg;
    rc = want_object(ld, p);
    if (!rc) rc = check_keys(ld, p, keys, 0);
    if (!rc) rc = get_bool(ld, p, "instrumented", 1, &instr);
    if (!rc) rc = get_bool(ld, p, "messaging", 0, &msg);
    if (!rc) {
      pr->name = cstr_id(ld, k);
      pr->instrumented = (uint8_t)instr;
      pr->messaging = (uint8_t)msg;
      if (pr->name == GEN_NONE) rc = ld->e->rc;
    }
    for (int r = 0; !rc && r < ROLE_INTERNAL; r++) {
      json_t *rj = json_object_get(p, role_keys[r]);
      int wanted = msg ? (r == ROLE_PRODUCER || r == ROLE_CONSUMER)
                       : (r == ROLE_CLIENT || (r == ROLE_SERVER && instr));
      size_t m3 = PUSH_KEY(ld, role_keys[r]);
      if (wanted && !rj) rc = fail(ld, "is required");
      else if (!wanted && rj) rc = fail(ld, "does not apply to this protocol");
      else if (rj) rc = want_object(ld, rj);
      path_pop(ld, m3);
      ld->role_j[s->n_protocols * ROLE_COUNT + (uint32_t)r] = rj;
    }
    ld->perr_j[s->n_protocols] = json_object_get(p, "errors");
    path_pop(ld, m2);
    if (rc) break;
    s->n_protocols++;
  }
  path_pop(ld, m);
  return rc;
}

static int find_protocol(loader *ld, const char *name) {
  for (uint32_t i = 0; i < ld->s->n_protocols; i++)
    if (strcmp(str_of(ld, ld->s->protocols[i].name), name) == 0) return (int)i;
  return -1;
}

static int parse_runtimes(loader *ld) {
  static const char *const keys[] = {"stack", "resolution_ns", "span_flags", "scopes", NULL};
  tl_gen_system *s = ld->s;
  json_t *rs = ld->runtimes_j;
  size_t m = PUSH_KEY(ld, "runtimes");
  int rc = want_object(ld, rs);
  size_t n = rc ? 0 : json_object_size(rs);
  if (!rc && (n == 0 || n > 256)) rc = fail(ld, "must hold 1 to 256 runtimes");
  if (!rc && !(s->runtimes = calloc(n, sizeof *s->runtimes))) rc = oom(ld);
  const char *k;
  json_t *r;
  if (!rc) json_object_foreach(rs, k, r) {
    size_t m2 = PUSH_KEY(ld, k);
    gen_runtime *rt = &s->runtimes[s->n_runtimes];
    const char *stack = NULL, *ua = NULL, *prop = NULL;
    int64_t res;
    int flags;
    rc = want_object(ld, r);
    if (!rc) rc = check_keys(ld, r, keys, 1);
    if (!rc) rc = get_str(ld, r, "stack", 1, &stack);
    if (!rc) rc = get_str(ld, r, "user_agent", 1, &ua);
    if (!rc) rc = get_str(ld, r, "propagated_error", 1, &prop);
    if (!rc) rc = get_int(ld, r, "resolution_ns", 1, 1000000, 1, &res);
    if (!rc) rc = get_bool(ld, r, "span_flags", 0, &flags);
    if (!rc) {
      int64_t p10 = 1;
      while (p10 < res) p10 *= 10;
      if (p10 != res) {
        size_t m3 = PUSH_KEY(ld, "resolution_ns");
        rc = fail(ld, "must be a power of 10");
        path_pop(ld, m3);
      }
    }
    int style = -1;
    for (int i = 0; !rc && i < STACK_COUNT; i++)
      if (strcmp(stack_names[i], stack) == 0) style = i;
    if (!rc && style < 0) {
      size_t m3 = PUSH_KEY(ld, "stack");
      rc = fail(ld, "unknown stack style '%s' (java, go, python, node, dotnet, ruby, php, rust or cpp)", stack);
      path_pop(ld, m3);
    }
    if (!rc) {
      rt->name = cstr_id(ld, k);
      rt->user_agent = cstr_id(ld, ua);
      rt->propagated_type = cstr_id(ld, prop);
      rt->stack_style = (uint8_t)style;
      rt->span_flags = (uint8_t)flags;
      rt->resolution_ns = (uint64_t)res;
      if ((uint64_t)res > s->max_resolution_ns) s->max_resolution_ns = (uint64_t)res;
      rt->scope_name = calloc(s->n_protocols + 1, sizeof *rt->scope_name);
      rt->scope_version = calloc(s->n_protocols + 1, sizeof *rt->scope_version);
      if (!rt->scope_name || !rt->scope_version) rc = oom(ld);
      else if (rt->name == GEN_NONE || rt->user_agent == GEN_NONE || rt->propagated_type == GEN_NONE)
        rc = ld->e->rc;
    }
    /* scopes: {"<protocol>|internal": ["name", "version"]}; a missing one
    ** is the empty scope, except internal, which defaults per service. */
    for (uint32_t i = 0; !rc && i <= s->n_protocols; i++) rt->scope_name[i] = rt->scope_version[i] = GEN_NONE;
    json_t *sc = rc ? NULL : json_object_get(r, "scopes");
    if (sc) {
      size_t m3 = PUSH_KEY(ld, "scopes");
      rc = want_object(ld, sc);
      const char *pk;
      json_t *pv;
      if (!rc) json_object_foreach(sc, pk, pv) {
        size_t m4 = PUSH_KEY(ld, pk);
        int pi = strcmp(pk, "internal") == 0 ? (int)s->n_protocols : find_protocol(ld, pk);
        if (pi < 0) rc = fail(ld, "no such protocol");
        else if (!json_is_array(pv) || json_array_size(pv) != 2 ||
                 !json_is_string(json_array_get(pv, 0)) || !json_is_string(json_array_get(pv, 1)))
          rc = fail(ld, "must be [\"scope name\", \"scope version\"]");
        else {
          rt->scope_name[pi] = cstr_id(ld, json_string_value(json_array_get(pv, 0)));
          rt->scope_version[pi] = cstr_id(ld, json_string_value(json_array_get(pv, 1)));
          if (rt->scope_name[pi] == GEN_NONE || rt->scope_version[pi] == GEN_NONE) rc = ld->e->rc;
        }
        path_pop(ld, m4);
        if (rc) break;
      }
      path_pop(ld, m3);
    }
    path_pop(ld, m2);
    if (rc) { /* not counted yet: free what it holds */
      free(rt->scope_name);
      free(rt->scope_version);
      break;
    }
    s->n_runtimes++;
  }
  path_pop(ld, m);
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

static int render_resource(loader *ld, const gen_tmpl *t, const char *service, uint32_t i, gen_kv *kv) {
  kv->type = t->type;
  kv->i = t->i;
  kv->d = t->d;
  kv->s = t->s;
  if (t->is_const) return TL_OK;
  tl_buf *b = &ld->scratch;
  tl_buf_reset(b);
  for (uint32_t k = 0; k < t->n; k++) {
    const gen_part *p = &ld->s->parts[t->first + k];
    if (p->kind == PART_LIT) tl_buf_append(b, str_of(ld, p->ref), ld->s->str_len[p->ref]);
    else render_instance_builtin(b, (int)p->ref, service, i);
  }
  if (b->oom) return oom(ld);
  if (t->type == TL_V_INT) {
    kv->i = strtoll(tl_buf_cstr(b), NULL, 10);
    return TL_OK;
  }
  kv->s = str_id(ld, b->p, b->n);
  return kv->s == GEN_NONE ? ld->e->rc : TL_OK;
}

static int find_service(loader *ld, const char *name, size_t n) {
  for (uint32_t i = 0; i < ld->s->n_services; i++) {
    uint32_t id = ld->s->services[i].name;
    if (ld->s->str_len[id] == n && memcmp(str_of(ld, id), name, n) == 0) return (int)i;
  }
  return -1;
}

static int parse_service(loader *ld, json_t *j, gen_service *sv) {
  static const char *const keys[] = {"name", "protocol", "runtime", "version", "instances", "port",
                                     "host", "queue_delay", "partitions", "operations", NULL};
  tl_gen_system *s = ld->s;
  const char *name, *proto, *rt = NULL, *version = NULL, *host = NULL;
  int64_t inst, port, parts;
  int rc = want_object(ld, j);
  if (!rc) rc = check_keys(ld, j, keys, 1);
  if (!rc) rc = get_str(ld, j, "name", 1, &name);
  if (!rc) rc = get_str(ld, j, "protocol", 1, &proto);
  if (!rc) rc = get_str(ld, j, "runtime", 0, &rt);
  if (!rc) rc = get_str(ld, j, "version", 0, &version);
  if (!rc) rc = get_str(ld, j, "host", 0, &host);
  if (!rc) rc = get_int(ld, j, "instances", 1, 1000, 1, &inst);
  if (!rc) rc = get_int(ld, j, "port", 0, 65535, 0, &port);
  if (!rc) rc = get_int(ld, j, "partitions", 1, GEN_MAX_PARTITIONS, 1, &parts);
  if (rc) return rc;
  if (strchr(name, '/')) {
    size_t m = PUSH_KEY(ld, "name");
    rc = fail(ld, "must not contain '/'");
    path_pop(ld, m);
    return rc;
  }
  if (find_service(ld, name, strlen(name)) >= 0) {
    size_t m = PUSH_KEY(ld, "name");
    rc = fail(ld, "duplicate service '%s'", name);
    path_pop(ld, m);
    return rc;
  }
  int pi = find_protocol(ld, proto);
  if (pi < 0) {
    size_t m = PUSH_KEY(ld, "protocol");
    rc = fail(ld, "no such protocol '%s'", proto);
    path_pop(ld, m);
    return rc;
  }
  const gen_protocol *pr = &s->protocols[pi];
  sv->protocol = (uint32_t)pi;
  sv->runtime = GEN_NONE;
  if (rt) {
    for (uint32_t i = 0; i < s->n_runtimes; i++)
      if (strcmp(str_of(ld, s->runtimes[i].name), rt) == 0) sv->runtime = i;
    if (sv->runtime == GEN_NONE) {
      size_t m = PUSH_KEY(ld, "runtime");
      rc = fail(ld, "no such runtime '%s'", rt);
      path_pop(ld, m);
      return rc;
    }
  } else if (pr->instrumented && !pr->messaging) {
    size_t m = PUSH_KEY(ld, "runtime");
    rc = fail(ld, "is required for a service whose protocol records spans");
    path_pop(ld, m);
    return rc;
  }
  /* defaults become fields of the service, so templates can use them */
  if (!version && json_object_set_new(j, "version", json_string(version = "1.0.0"))) return oom(ld);
  if (!host && json_object_set_new(j, "host", json_string(host = name))) return oom(ld);
  sv->name = cstr_id(ld, name);
  sv->host = cstr_id(ld, host);
  sv->version = cstr_id(ld, version);
  if (sv->name == GEN_NONE || sv->host == GEN_NONE || sv->version == GEN_NONE) return ld->e->rc;
  sv->port = port;
  sv->partitions = (uint32_t)parts;
  if ((rc = parse_dist(ld, j, "queue_delay", 2e6, 1.0, &sv->queue))) return rc;

  /* instances, with their resources rendered once */
  if (s->n_instances + inst > GEN_MAX_ITEMS) return fail(ld, "too many instances in the system");
  if ((uint64_t)s->n_kvs + (uint64_t)inst * json_object_size(ld->resource_j) > GEN_MAX_ITEMS * 8u)
    return fail(ld, "too many resource attributes in all (instances times resource attributes)");
  gen_instance *ni = realloc(s->instances, (s->n_instances + (size_t)inst) * sizeof *ni);
  if (!ni) return oom(ld);
  s->instances = ni;
  sv->instances.first = s->n_instances;
  sv->instances.n = (uint32_t)inst;
  gen_range res = {0, 0};
  if (sv->runtime != GEN_NONE) {
    /* resource templates compiled against this service and its runtime */
    fields f = {j, json_object_get(ld->runtimes_j, rt), NULL};
    saved_path sp;
    path_enter(ld, &sp, "resource", NULL, NULL);
    rc = path_leave(ld, &sp, compile_attrs(ld, ld->resource_j, &f, CTX_RESOURCE, &res), "service", name);
    if (rc) return rc;
  }
  for (uint32_t i = 0; i < (uint32_t)inst; i++) {
    gen_instance *in = &s->instances[s->n_instances];
    in->service = s->n_services;
    tl_buf_reset(&ld->scratch);
    render_instance_builtin(&ld->scratch, B_IP, name, i);
    in->ip = str_id(ld, ld->scratch.p, ld->scratch.n);
    if (in->ip == GEN_NONE) return ld->e->rc;
    in->resource.first = s->n_kvs;
    in->resource.n = res.n;
    for (uint32_t k = 0; k < res.n; k++) {
      if ((rc = GROW(ld, s->kvs, s->n_kvs, ld->cap_kvs))) return rc;
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

static int compile_role(loader *ld, gen_role *role, json_t *rj, const fields *f, uint32_t slot) {
  static const char *const keys[] = {"name", "attributes", NULL};
  int rc = check_keys(ld, rj, keys, 0);
  json_t *name = json_object_get(rj, "name");
  role->present = 1;
  role->scope_slot = slot;
  if (!rc && !name) rc = fail(ld, "needs a \"name\"");
  if (!rc) {
    size_t m = PUSH_KEY(ld, "name");
    rc = compile_value(ld, name, f, CTX_SPAN, &role->name);
    if (!rc && role->name.type != TL_V_STRING) rc = fail(ld, "must be a string");
    path_pop(ld, m);
  }
  if (!rc) {
    size_t m = PUSH_KEY(ld, "attributes");
    rc = compile_attrs(ld, json_object_get(rj, "attributes"), f, CTX_SPAN, &role->attrs);
    path_pop(ld, m);
  }
  return rc;
}

/* Compiles a role of a protocol for one operation; an error is reported at
** the protocol's path, naming the operation. */
static int protocol_role(loader *ld, gen_role *role, uint32_t proto, int r, const fields *f,
                         const char *opname) {
  json_t *rj = ld->role_j[proto * ROLE_COUNT + (uint32_t)r];
  if (!rj) return TL_OK;
  saved_path sp;
  path_enter(ld, &sp, "protocols", str_of(ld, ld->s->protocols[proto].name), role_keys[r]);
  return path_leave(ld, &sp, compile_role(ld, role, rj, f, proto), "operation", opname);
}

static int add_stack(loader *ld, int style, const char *service, const char *op, uint32_t *pre,
                     uint32_t *post, uint8_t *with_msg) {
  tl_buf a, b;
  int wm;
  tl_buf_init(&a);
  tl_buf_init(&b);
  gen_stack_build(style, service, op, &a, &b, &wm);
  int rc = (a.oom || b.oom) ? oom(ld) : TL_OK;
  if (!rc) {
    *pre = str_id(ld, a.p ? a.p : "", a.n);
    *post = str_id(ld, b.p ? b.p : "", b.n);
    *with_msg = (uint8_t)wm;
    if (*pre == GEN_NONE || *post == GEN_NONE) rc = ld->e->rc;
  }
  tl_buf_free(&a);
  tl_buf_free(&b);
  return rc;
}

static int parse_errors(loader *ld, json_t *list, const fields *f, gen_op *op, int style,
                        const char *svc, const char *opkey) {
  static const char *const keys[] = {"type", "message", "http_status", "grpc_code",
                                     "grpc_status", "weight", NULL};
  tl_gen_system *s = ld->s;
  int rc = json_is_array(list) && json_array_size(list) > 0 && json_array_size(list) <= 256
               ? TL_OK
               : fail(ld, "must be an array of 1 to 256 errors");
  if (rc) return rc;
  size_t n = json_array_size(list);
  op->error_cdf = malloc(n * sizeof *op->error_cdf);
  if (!op->error_cdf) return oom(ld);
  op->errors.first = s->n_errors;
  double total = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *ej = json_array_get(list, i);
    size_t m = PUSH_IDX(ld, i);
    gen_error er;
    memset(&er, 0, sizeof er);
    const char *type, *gname = NULL;
    rc = want_object(ld, ej);
    if (!rc) rc = check_keys(ld, ej, keys, 0);
    if (!rc) rc = get_str(ld, ej, "type", 1, &type);
    if (!rc) rc = get_str(ld, ej, "grpc_status", 0, &gname);
    if (!rc) rc = get_int(ld, ej, "http_status", 100, 599, 500, &er.http_status);
    if (!rc) rc = get_int(ld, ej, "grpc_code", 0, 16, 2, &er.grpc_code);
    if (!rc) rc = get_num(ld, ej, "weight", 0, 1e9, 1, &er.weight);
    if (!rc) {
      json_t *msg = json_object_get(ej, "message");
      size_t m2 = PUSH_KEY(ld, "message");
      if (!msg) rc = fail(ld, "is required");
      else rc = compile_value(ld, msg, f, CTX_ERROR_MSG, &er.message);
      if (!rc && er.message.type != TL_V_STRING) rc = fail(ld, "must be a string");
      path_pop(ld, m2);
    }
    if (!rc) {
      er.type = cstr_id(ld, type);
      er.grpc_name = cstr_id(ld, gname ? gname : "UNKNOWN");
      if (er.type == GEN_NONE || er.grpc_name == GEN_NONE) rc = ld->e->rc;
    }
    er.stack_pre = er.stack_post = GEN_NONE;
    if (!rc && style >= 0) rc = add_stack(ld, style, svc, opkey, &er.stack_pre, &er.stack_post, &er.stack_msg);
    if (!rc) rc = GROW(ld, s->errors, s->n_errors, ld->cap_errors);
    path_pop(ld, m);
    if (rc) return rc;
    s->errors[s->n_errors++] = er;
    total += er.weight;
    op->error_cdf[i] = total;
  }
  op->errors.n = (uint32_t)n;
  return total > 0 ? TL_OK : fail(ld, "the error weights are all zero");
}

static int parse_op(loader *ld, uint32_t si, const char *key, json_t *j, gen_op *op) {
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
  int rc = want_object(ld, j);
  if (!rc) rc = check_keys(ld, j, keys, 1);
  if (!rc) rc = get_str(ld, j, "type", 0, &type);
  if (rc) return rc;
  op->service = si;
  op->broker = GEN_NONE;
  tl_buf_reset(&ld->scratch);
  tl_buf_printf(&ld->scratch, "%s/%s", svname, key);
  op->name = str_id(ld, ld->scratch.p, ld->scratch.n); /* full, where opname may be cut */
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
    if (!ok) {
      size_t m = PUSH_KEY(ld, "type");
      rc = fail(ld, pr->instrumented && !pr->messaging
                        ? "must be server, internal or consumer"
                        : "operations of a %s service take no type", str_of(ld, pr->name));
      path_pop(ld, m);
      return rc;
    }
  }
  if (op->type == OP_CONSUMER) {
    if ((rc = get_str(ld, j, "broker", 1, &broker))) return rc;
    int b = find_service(ld, broker, strlen(broker));
    if (b < 0 || !s->protocols[s->services[b].protocol].messaging) {
      size_t m = PUSH_KEY(ld, "broker");
      rc = fail(ld, "'%s' is not a messaging service defined above", broker);
      path_pop(ld, m);
      return rc;
    }
    op->broker = (uint32_t)b;
  }

  /* latency */
  json_t *lat = json_object_get(j, "latency");
  gen_dist d;
  size_t m = PUSH_KEY(ld, "latency");
  if (!lat) rc = fail(ld, "is required");
  if (!rc) rc = want_object(ld, lat);
  if (!rc) rc = check_keys(ld, lat, lat_keys, 0);
  if (!rc) rc = dist_members(ld, lat, 0.5, &d);
  if (!rc) rc = get_num(ld, lat, "outlier_p", 0, 1, 0.001, &op->outlier_p);
  if (!rc) rc = get_pair(ld, lat, "outlier_factor", 2, 1000, 20, 50, 0, &op->outlier_lo, &op->outlier_hi);
  path_pop(ld, m);
  op->median_ns = d.median_ns;
  op->sigma = d.sigma;
  if (!rc) rc = get_num(ld, j, "error_rate", 0, 1, 0, &op->error_rate);
  if (rc) return rc;

  /* roles: the span the operation's own service records, then the
  ** caller's; each role's attributes are its protocol's, then the
  ** operation's own ("attributes" for its primary span, and
  ** "client_attributes" for the client side of a server operation) */
  fields f = {j, ld->service_j[si], key};
  json_t *own_attrs = json_object_get(j, "attributes"), *ca = json_object_get(j, "client_attributes");
  if (ca && op->type != OP_SERVER) {
    m = PUSH_KEY(ld, "client_attributes");
    rc = fail(ld, "only operations with both a client and a server span take client_attributes");
    path_pop(ld, m);
    return rc;
  }
  if (op->type == OP_SERVER) {
    rc = protocol_role(ld, &op->self, sv->protocol, ROLE_SERVER, &f, opname);
  } else if (op->type == OP_CONSUMER) {
    fields fb = {j, ld->service_j[op->broker], key};
    rc = protocol_role(ld, &op->self, s->services[op->broker].protocol, ROLE_CONSUMER, &fb, opname);
  } else if (op->type == OP_INTERNAL) {
    const char *nm = NULL;
    if (!(rc = get_str(ld, j, "name", 0, &nm))) {
      json_t *nj = json_string(nm ? nm : key);
      if (!nj) return oom(ld);
      rc = compile_value(ld, nj, &f, CTX_SPAN, &op->self.name);
      json_decref(nj);
      op->self.present = 1;
      op->self.scope_slot = s->n_protocols;
    }
  }
  if (!rc && op->self.present) {
    m = PUSH_KEY(ld, "attributes");
    rc = compile_attrs(ld, own_attrs, &f, CTX_SPAN, &op->self.attrs);
    path_pop(ld, m);
  }
  if (!rc && (op->type == OP_SERVER || op->type == OP_CLIENT_ONLY || op->type == OP_PRODUCE)) {
    int r = op->type == OP_PRODUCE ? ROLE_PRODUCER : ROLE_CLIENT;
    json_t *extra = op->type == OP_SERVER ? ca : own_attrs;
    rc = protocol_role(ld, &op->client, sv->protocol, r, &f, opname);
    m = PUSH_KEY(ld, op->type == OP_SERVER ? "client_attributes" : "attributes");
    if (!rc) rc = compile_attrs(ld, extra, &f, CTX_SPAN, &op->client.attrs);
    path_pop(ld, m);
  }
  if (rc) return rc;
  int self_style = op->self.present ? s->runtimes[sv->runtime].stack_style : -1;

  /* events: names, spread over the span */
  json_t *ev = json_object_get(j, "events");
  if (ev) {
    m = PUSH_KEY(ld, "events");
    if (!json_is_array(ev) || json_array_size(ev) > 32) rc = fail(ld, "must be an array of at most 32 names");
    op->events.first = s->n_ids;
    for (size_t i = 0; !rc && i < json_array_size(ev); i++) {
      json_t *x = json_array_get(ev, i);
      if (!json_is_string(x)) {
        PUSH_IDX(ld, i);
        rc = fail(ld, "must be a string");
        break;
      }
      if ((rc = GROW(ld, s->ids, s->n_ids, ld->cap_ids))) break;
      uint32_t id = str_id(ld, json_string_value(x), json_string_length(x));
      if (id == GEN_NONE) rc = ld->e->rc;
      else s->ids[s->n_ids++] = id, op->events.n++;
    }
    path_pop(ld, m);
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
      m = PUSH_KEY(ld, "errors");
      rc = parse_errors(ld, list, &f, op, self_style, svname, key);
      path_pop(ld, m);
    } else if (ld->perr_j[proto]) {
      saved_path sp;
      path_enter(ld, &sp, "protocols", str_of(ld, s->protocols[proto].name), "errors");
      rc = parse_errors(ld, ld->perr_j[proto], &f, op, self_style, svname, key);
      rc = path_leave(ld, &sp, rc, "operation", opname);
    } else {
      json_t *def = json_pack("[{ss ss}]", "type", "Error", "message", "internal error");
      if (!def) return oom(ld);
      rc = parse_errors(ld, def, &f, op, self_style, svname, key);
      json_decref(def);
    }
  }
  return rc;
}

static int parse_services(loader *ld, json_t *root) {
  tl_gen_system *s = ld->s;
  json_t *svs = json_object_get(root, "services");
  size_t m = PUSH_KEY(ld, "services");
  int rc = json_is_array(svs) && json_array_size(svs) > 0 && json_array_size(svs) <= 4096
               ? TL_OK
               : fail(ld, "must be an array of 1 to 4096 services");
  size_t n = rc ? 0 : json_array_size(svs);
  if (!rc) {
    s->services = calloc(n, sizeof *s->services);
    ld->service_j = calloc(n, sizeof *ld->service_j);
    if (!s->services || !ld->service_j) rc = oom(ld);
  }
  /* all services first, so that consumers may name any broker */
  for (size_t i = 0; !rc && i < n; i++) {
    size_t m2 = PUSH_IDX(ld, i);
    ld->service_j[i] = json_array_get(svs, i);
    rc = parse_service(ld, ld->service_j[i], &s->services[i]);
    path_pop(ld, m2);
    if (!rc) s->n_services++;
  }
  for (size_t i = 0; !rc && i < n; i++) {
    gen_service *sv = &s->services[i];
    size_t m2 = PUSH_IDX(ld, i);
    json_t *ops = json_object_get(ld->service_j[i], "operations");
    size_t m3 = PUSH_KEY(ld, "operations");
    if (!json_is_object(ops) || json_object_size(ops) == 0) rc = fail(ld, "must be a non-empty object");
    sv->ops.first = s->n_ops;
    const char *k;
    json_t *oj;
    if (!rc) json_object_foreach(ops, k, oj) {
      size_t m4 = PUSH_KEY(ld, k);
      if (!*k || strchr(k, '/')) rc = fail(ld, "an operation name must be non-empty and hold no '/'");
      if (!rc) rc = GROW(ld, s->ops, s->n_ops, ld->cap_ops);
      if (!rc) {
        gen_op op;
        rc = parse_op(ld, (uint32_t)i, k, oj, &op);
        if (!rc) s->ops[s->n_ops++] = op;
        else {
          free(op.error_cdf);
        }
      }
      path_pop(ld, m4);
      if (rc) break;
      sv->ops.n++;
    }
    path_pop(ld, m3);
    path_pop(ld, m2);
  }
  path_pop(ld, m);
  return rc;
}

/* ---- request types ----------------------------------------------------------- */

enum { AT_ROOT, AT_CHILD, AT_CONSUMER };

static int find_op(loader *ld, const char *call, uint32_t *out) {
  const char *slash = strchr(call, '/');
  if (!slash) return fail(ld, "must be \"service/operation\"");
  int si = find_service(ld, call, (size_t)(slash - call));
  if (si < 0) return fail(ld, "no service '%.*s'", (int)(slash - call), call);
  const gen_service *sv = &ld->s->services[si];
  for (uint32_t i = 0; i < sv->ops.n; i++) {
    if (strcmp(str_of(ld, ld->s->ops[sv->ops.first + i].name), call) == 0) {
      *out = sv->ops.first + i;
      return TL_OK;
    }
  }
  return fail(ld, "service '%.*s' has no operation '%s'", (int)(slash - call), call, slash + 1);
}

static int parse_node(loader *ld, json_t *j, int at, uint32_t ctx_service, int depth,
                      uint32_t *out, double *worst);

/* Appends node ids as one contiguous run of sys->refs (children are
** parsed first, since their own lists are appended meanwhile). */
static int push_refs(loader *ld, const uint32_t *ids, size_t n, gen_range *r) {
  tl_gen_system *s = ld->s;
  r->first = s->n_refs;
  r->n = 0;
  for (size_t i = 0; i < n; i++) {
    int rc = GROW(ld, s->refs, s->n_refs, ld->cap_refs);
    if (rc) return rc;
    s->refs[s->n_refs++] = ids[i];
    r->n++;
  }
  return TL_OK;
}

/* Parses an array of nodes into a contiguous run of sys->refs. */
static int parse_node_list(loader *ld, json_t *arr, int at, uint32_t ctx_service, int depth,
                           gen_range *r, double *worst) {
  size_t n = json_array_size(arr);
  uint32_t *ids = malloc((n ? n : 1) * sizeof *ids);
  if (!ids) return oom(ld);
  int rc = TL_OK;
  for (size_t i = 0; !rc && i < n; i++) {
    size_t m = PUSH_IDX(ld, i);
    double w = 0;
    rc = parse_node(ld, json_array_get(arr, i), at, ctx_service, depth, &ids[i], &w);
    *worst += w;
    path_pop(ld, m);
  }
  if (!rc) rc = push_refs(ld, ids, n, r);
  free(ids);
  return rc;
}

static int parse_node(loader *ld, json_t *j, int at, uint32_t ctx_service, int depth,
                      uint32_t *out, double *worst) {
  static const char *const keys[] = {"call", "p", "repeat", "repeat_parallel", "retries",
                                     "ignore_errors", "bind", "children", "consumers", NULL};
  tl_gen_system *s = ld->s;
  if (depth > GEN_MAX_CALL_DEPTH) return fail(ld, "calls are nested deeper than %d", GEN_MAX_CALL_DEPTH);
  const char *call;
  gen_node nd;
  memset(&nd, 0, sizeof nd);
  int rc = want_object(ld, j);
  if (!rc) rc = check_keys(ld, j, keys, 0);
  if (!rc) rc = get_str(ld, j, "call", 1, &call);
  if (!rc) {
    size_t m = PUSH_KEY(ld, "call");
    rc = find_op(ld, call, &nd.op);
    path_pop(ld, m);
  }
  double lo, hi, retries;
  int rp, ign;
  if (!rc) rc = get_num(ld, j, "p", 0, 1, 1, &nd.p);
  if (!rc) rc = get_pair(ld, j, "repeat", 0, 1000, 1, 1, 1, &lo, &hi);
  if (!rc) rc = get_bool(ld, j, "repeat_parallel", 0, &rp);
  if (!rc) rc = get_num(ld, j, "retries", 0, 10, 0, &retries);
  if (!rc && retries != (double)(int)retries) {
    size_t m = PUSH_KEY(ld, "retries");
    rc = fail(ld, "must be an integer between 0 and 10");
    path_pop(ld, m);
  }
  if (!rc) rc = get_bool(ld, j, "ignore_errors", 0, &ign);
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
  if (why) {
    size_t m = PUSH_KEY(ld, "call");
    rc = fail(ld, "%s ('%s')", why, call);
    path_pop(ld, m);
    return rc;
  }

  /* bind */
  json_t *bind = json_object_get(j, "bind");
  if (bind) {
    size_t m = PUSH_KEY(ld, "bind");
    if (!json_is_array(bind) || json_array_size(bind) > 64) rc = fail(ld, "must be an array of variable names");
    nd.binds.first = s->n_ids;
    for (size_t i = 0; !rc && i < json_array_size(bind); i++) {
      json_t *x = json_array_get(bind, i);
      int v = json_is_string(x) ? var_find(ld, json_string_value(x), json_string_length(x)) : -1;
      if (v < 0) {
        PUSH_IDX(ld, i);
        rc = fail(ld, "not a variable");
      } else if (!(rc = GROW(ld, s->ids, s->n_ids, ld->cap_ids))) {
        s->ids[s->n_ids++] = (uint32_t)v;
        nd.binds.n++;
      }
    }
    path_pop(ld, m);
    if (rc) return rc;
  }

  /* children: nodes, or {"parallel": [nodes]} groups */
  double inner = 0;
  json_t *ch = json_object_get(j, "children");
  if (ch) {
    size_t m = PUSH_KEY(ld, "children");
    int has_body = op->type == OP_SERVER || op->type == OP_INTERNAL || op->type == OP_CONSUMER;
    if (!has_body) rc = fail(ld, "a call to a %s has no children", op->type == OP_PRODUCE ? "messaging service (use consumers)" : "service that records no spans");
    else if (!json_is_array(ch) || json_array_size(ch) > 1000) rc = fail(ld, "must be an array of at most 1000 calls");
    size_t ng = rc ? 0 : json_array_size(ch);
    gen_group *gs = malloc((ng ? ng : 1) * sizeof *gs);
    if (!gs && !rc) rc = oom(ld);
    for (size_t i = 0; !rc && i < ng; i++) {
      json_t *c = json_array_get(ch, i);
      size_t m2 = PUSH_IDX(ld, i);
      json_t *par = json_is_object(c) ? json_object_get(c, "parallel") : NULL;
      gs[i].parallel = par != NULL;
      if (par) {
        size_t m3 = PUSH_KEY(ld, "parallel");
        if (json_object_size(c) != 1) rc = fail(ld, "a parallel group holds nothing but \"parallel\"");
        else if (!json_is_array(par) || json_array_size(par) == 0 || json_array_size(par) > 1000)
          rc = fail(ld, "must be an array of 1 to 1000 calls");
        if (!rc) rc = parse_node_list(ld, par, AT_CHILD, op->service, depth + 1, &gs[i].nodes, &inner);
        path_pop(ld, m3);
      } else {
        uint32_t id;
        double w = 0;
        rc = parse_node(ld, c, AT_CHILD, op->service, depth + 1, &id, &w);
        inner += w;
        if (!rc) rc = push_refs(ld, &id, 1, &gs[i].nodes);
      }
      path_pop(ld, m2);
    }
    nd.groups.first = s->n_groups;
    for (size_t i = 0; !rc && i < ng; i++) {
      if (!(rc = GROW(ld, s->groups, s->n_groups, ld->cap_groups))) s->groups[s->n_groups++] = gs[i], nd.groups.n++;
    }
    free(gs);
    path_pop(ld, m);
    if (rc) return rc;
  }
  json_t *cons = json_object_get(j, "consumers");
  if (cons) {
    size_t m = PUSH_KEY(ld, "consumers");
    if (op->type != OP_PRODUCE) rc = fail(ld, "only a call to a messaging service has consumers");
    else if (!json_is_array(cons) || json_array_size(cons) > 100) rc = fail(ld, "must be an array of at most 100 calls");
    if (!rc) rc = parse_node_list(ld, cons, AT_CONSUMER, op->service, depth + 1, &nd.consumers, &inner);
    path_pop(ld, m);
    if (rc) return rc;
  }
  double own = (op->type == OP_SERVER && at != AT_ROOT) ? 2 : 1;
  *worst = (own + inner) * nd.rep_max * (nd.retries + 1);
  if (*worst > GEN_MAX_TRACE_SPANS)
    return fail(ld, "this call can make up to %.0f spans in one trace (the limit is %d)", *worst, GEN_MAX_TRACE_SPANS);
  if ((rc = GROW(ld, s->nodes, s->n_nodes, ld->cap_nodes))) return rc;
  *out = s->n_nodes;
  s->nodes[s->n_nodes++] = nd;
  return TL_OK;
}

static int parse_requests(loader *ld, json_t *root) {
  static const char *const keys[] = {"name", "weight", "root", NULL};
  tl_gen_system *s = ld->s;
  json_t *rq = json_object_get(root, "requests");
  size_t m = PUSH_KEY(ld, "requests");
  int rc = json_is_array(rq) && json_array_size(rq) > 0 && json_array_size(rq) <= 4096
               ? TL_OK
               : fail(ld, "must be an array of 1 to 4096 request types");
  size_t n = rc ? 0 : json_array_size(rq);
  if (!rc) {
    s->requests = calloc(n, sizeof *s->requests);
    s->request_cdf = calloc(n, sizeof *s->request_cdf);
    if (!s->requests || !s->request_cdf) rc = oom(ld);
  }
  double total = 0;
  for (size_t i = 0; !rc && i < n; i++) {
    json_t *j = json_array_get(rq, i);
    size_t m2 = PUSH_IDX(ld, i);
    gen_request *r = &s->requests[i];
    const char *name;
    rc = want_object(ld, j);
    if (!rc) rc = check_keys(ld, j, keys, 0);
    if (!rc) rc = get_str(ld, j, "name", 1, &name);
    if (!rc) rc = get_num(ld, j, "weight", 0, 1e9, 1, &r->weight);
    for (size_t k = 0; !rc && k < i; k++) {
      if (strcmp(str_of(ld, s->requests[k].name), name) == 0) {
        size_t m3 = PUSH_KEY(ld, "name");
        rc = fail(ld, "duplicate request type '%s'", name);
        path_pop(ld, m3);
      }
    }
    if (!rc && (r->name = cstr_id(ld, name)) == GEN_NONE) rc = ld->e->rc;
    if (!rc) {
      json_t *root_j = json_object_get(j, "root");
      size_t m3 = PUSH_KEY(ld, "root");
      double worst = 0;
      rc = root_j ? parse_node(ld, root_j, AT_ROOT, GEN_NONE, 0, &r->root, &worst)
                  : fail(ld, "is required");
      path_pop(ld, m3);
    }
    path_pop(ld, m2);
    if (!rc) {
      total += r->weight;
      s->request_cdf[i] = total;
      s->n_requests++;
    }
  }
  if (!rc && total <= 0) rc = fail(ld, "the weights are all zero");
  path_pop(ld, m);
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

static int parse_globals(loader *ld, json_t *root) {
  static const char *const client_keys[] = {"ip", "user_agent", NULL};
  tl_gen_system *s = ld->s;
  const char *start = NULL;
  int rc = get_str(ld, root, "start", 0, &start);
  if (rc) return rc;
  if (parse_time(start ? start : "2026-01-01T00:00:00Z", &s->start_ns)) {
    size_t m = PUSH_KEY(ld, "start");
    rc = fail(ld, "must be a UTC time as \"2026-01-01T00:00:00Z\" (years 1970 to 2200)");
    path_pop(ld, m);
    return rc;
  }
  double lo, hi;
  if (!rc) rc = get_num(ld, root, "arrival_rate", 0.001, 1e6, 50, &s->arrival_rate);
  if (!rc) rc = get_num(ld, root, "skew_share", 0, 1, 0.02, &s->skew_share);
  if (!rc) rc = get_num(ld, root, "incomplete_share", 0, 1, 0.01, &s->incomplete_share);
  if (!rc) rc = get_pair(ld, root, "skew_ms", 0.001, 60000, 2, 50, 0, &lo, &hi);
  if (rc) return rc;
  s->skew_lo_ns = (int64_t)(lo * 1e6);
  s->skew_hi_ns = (int64_t)(hi * 1e6);
  if ((rc = parse_dist(ld, root, "network", 250e3, 0.5, &s->network))) return rc;
  if ((rc = parse_dist(ld, root, "gap", 30e3, 0.8, &s->gap))) return rc;
  if ((rc = parse_dist(ld, root, "retry_backoff", 10e6, 0.5, &s->backoff))) return rc;
  size_t m = PUSH_KEY(ld, "baggage");
  rc = compile_attrs(ld, json_object_get(root, "baggage"), NULL, CTX_GLOBAL, &s->baggage);
  path_pop(ld, m);
  if (rc) return rc;
  json_t *cl = json_object_get(root, "client");
  json_t *def = json_string("");
  if (!def) return oom(ld);
  m = PUSH_KEY(ld, "client");
  if (cl) rc = want_object(ld, cl);
  if (!rc && cl) rc = check_keys(ld, cl, client_keys, 0);
  json_t *ip = cl ? json_object_get(cl, "ip") : NULL, *ua = cl ? json_object_get(cl, "user_agent") : NULL;
  if (!rc) {
    size_t m2 = PUSH_KEY(ld, "ip");
    rc = compile_value(ld, ip ? ip : def, NULL, CTX_GLOBAL, &s->client_ip);
    path_pop(ld, m2);
  }
  if (!rc) {
    size_t m2 = PUSH_KEY(ld, "user_agent");
    rc = compile_value(ld, ua ? ua : def, NULL, CTX_GLOBAL, &s->client_agent);
    path_pop(ld, m2);
  }
  path_pop(ld, m);
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
  loader ld;
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
  int rc = ld.s ? want_object(&ld, root) : oom(&ld);
  if (!rc) rc = check_keys(&ld, root, top_keys, 0);
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
  if (!rc) rc = parse_variables(&ld, root);
  if (!rc) rc = parse_protocols(&ld);
  if (!rc) rc = parse_runtimes(&ld);
  if (!rc) rc = parse_services(&ld, root);
  if (!rc) rc = parse_requests(&ld, root);
  if (!rc) rc = parse_globals(&ld, root);
  if (!rc && ld.text.oom) rc = oom(&ld);
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
