/*
** system_values.c — the values of a system file, for the loader whose top
** level is system.c (the request types are in system_requests.c).  Holds
** what every part of the loader uses: the JSON path that errors name, the
** string table, typed member access, templates, and the variables that
** templates and call trees refer to.  The interface is the "system loader"
** section of gen_internal.h.
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
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_internal.h"

/* The {$name} of each gen_builtin, in its order. */
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

/* ---- paths and errors ------------------------------------------------------ */

size_t ld_path_push(gen_loader *ld, const char *fmt, const char *key, size_t idx) {
  size_t mark = ld->plen;
  int k = key ? snprintf(ld->path + ld->plen, sizeof ld->path - ld->plen, fmt, key)
              : snprintf(ld->path + ld->plen, sizeof ld->path - ld->plen, fmt, idx);
  if (k > 0) ld->plen += (size_t)k;
  if (ld->plen >= sizeof ld->path) ld->plen = sizeof ld->path - 1;
  return mark;
}

void ld_path_pop(gen_loader *ld, size_t mark) {
  ld->plen = mark;
  ld->path[mark] = 0;
}

static int ld_vfail(gen_loader *ld, const char *fmt, va_list ap) {
  char msg[400];
  vsnprintf(msg, sizeof msg, fmt, ap);
  return tl_err_set(ld->e, TL_EFORMAT, "%s: $%s: %s", ld->origin, ld->path, msg);
}

int ld_fail(gen_loader *ld, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = ld_vfail(ld, fmt, ap);
  va_end(ap);
  return rc;
}

int ld_fail_at(gen_loader *ld, const char *key, const char *fmt, ...) {
  size_t m = LD_PUSH_KEY(ld, key);
  va_list ap;
  va_start(ap, fmt);
  int rc = ld_vfail(ld, fmt, ap);
  va_end(ap);
  ld_path_pop(ld, m);
  return rc;
}

int ld_oom(gen_loader *ld) { return tl_err_set(ld->e, TL_ENOMEM, "%s: out of memory", ld->origin); }

/* ---- flat arrays and the string table ---------------------------------------- */

int ld_grow(gen_loader *ld, void **arr, uint32_t n, uint32_t *cap, size_t size) {
  if (n < *cap) return TL_OK;
  if (n >= GEN_MAX_ITEMS * 8u) return ld_fail(ld, "the system is too large");
  uint32_t c = *cap ? *cap * 2 : 16;
  void *p = realloc(*arr, (size_t)c * size);
  if (!p) return ld_oom(ld);
  *arr = p;
  *cap = c;
  return TL_OK;
}

/* Interns p[0..n) in the system's string table; GEN_NONE on failure. */
uint32_t ld_str_id(gen_loader *ld, const char *p, size_t n) {
  tl_gen_system *s = ld->s;
  if (n > TL_MAX_STRING) {
    ld_fail(ld, "a string is too long");
    return GEN_NONE;
  }
  if ((s->n_str + 1) * 2 > ld->map_cap) {
    uint32_t cap = ld->map_cap ? ld->map_cap * 2 : 1024;
    uint32_t *map = malloc((size_t)cap * sizeof *map);
    if (!map) {
      ld_oom(ld);
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
    ld_fail(ld, "the system's strings are too large");
    return GEN_NONE;
  }
  if (s->n_str == ld->cap_str) {
    uint32_t cap = ld->cap_str ? ld->cap_str * 2 : 256;
    uint32_t *off = realloc(s->str_off, (size_t)cap * sizeof *off);
    if (off) s->str_off = off;
    uint32_t *len = realloc(s->str_len, (size_t)cap * sizeof *len);
    if (len) s->str_len = len;
    if (!off || !len) {
      ld_oom(ld);
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
    ld_oom(ld);
    return GEN_NONE;
  }
  ld->map[j] = id;
  return id;
}

uint32_t ld_cstr_id(gen_loader *ld, const char *s) { return ld_str_id(ld, s, strlen(s)); }

/* ---- typed member access -------------------------------------------------- */

/* Refuses members of obj not named in keys (NULL-terminated).  With
** allow_strings, unknown string members are allowed (they are fields that
** templates may use). */
int ld_check_keys(gen_loader *ld, json_t *obj, const char *const *keys, int allow_strings) {
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    int known = 0;
    for (const char *const *q = keys; *q; q++) known |= strcmp(*q, k) == 0;
    if (!known && !(allow_strings && json_is_string(v))) return ld_fail_at(ld, k, "unknown key");
  }
  return TL_OK;
}

int ld_want_object(gen_loader *ld, json_t *v) {
  return json_is_object(v) ? TL_OK : ld_fail(ld, "must be an object");
}

int ld_want_array(gen_loader *ld, json_t *v, size_t max, const char *what, size_t *n) {
  *n = json_is_array(v) ? json_array_size(v) : 0;
  if (*n > 0 && *n <= max) return TL_OK;
  *n = 0;
  return ld_fail(ld, "must be an array of 1 to %zu %s", max, what);
}

/* Reads obj.key as a number in [lo, hi]; absent -> *out = def. */
int ld_get_num(gen_loader *ld, json_t *obj, const char *key, double lo, double hi, double def,
               double *out) {
  json_t *v = json_object_get(obj, key);
  *out = def;
  if (!v) return TL_OK;
  if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi)
    return ld_fail_at(ld, key, "must be a number between %g and %g", lo, hi);
  *out = json_number_value(v);
  return TL_OK;
}

int ld_get_int(gen_loader *ld, json_t *obj, const char *key, int64_t lo, int64_t hi, int64_t def,
               int64_t *out) {
  json_t *v = json_object_get(obj, key);
  *out = def;
  if (!v) return TL_OK;
  if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
    return ld_fail_at(ld, key, "must be an integer between %lld and %lld", (long long)lo,
                      (long long)hi);
  *out = json_integer_value(v);
  return TL_OK;
}

int ld_get_bool(gen_loader *ld, json_t *obj, const char *key, int def, int *out) {
  json_t *v = json_object_get(obj, key);
  *out = def;
  if (!v) return TL_OK;
  if (!json_is_boolean(v)) return ld_fail_at(ld, key, "must be true or false");
  *out = json_is_true(v);
  return TL_OK;
}

/* obj.key as a string; required -> error when absent; else NULL. */
int ld_get_str(gen_loader *ld, json_t *obj, const char *key, int required, const char **out) {
  json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (!v && !required) return TL_OK;
  if (!v) return ld_fail_at(ld, key, "is required");
  if (!json_is_string(v) || json_string_length(v) == 0 ||
      strlen(json_string_value(v)) != json_string_length(v))
    return ld_fail_at(ld, key, "must be a non-empty string without NUL characters");
  *out = json_string_value(v);
  return TL_OK;
}

/* obj.key as [lo, hi] (or one number for both), each in [min, max]. */
int ld_get_pair(gen_loader *ld, json_t *obj, const char *key, double min, double max,
                double def_lo, double def_hi, int integral, double *lo, double *hi) {
  json_t *v = json_object_get(obj, key);
  *lo = def_lo;
  *hi = def_hi;
  if (!v) return TL_OK;
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
  return ok ? TL_OK
            : ld_fail_at(ld, key, "must be %s or [low, high] with %g <= low <= high <= %g",
                         integral ? "an integer" : "a number", min, max);
}

/* ---- templates -------------------------------------------------------------- */

static json_t *field_get(const gen_fields *f, const char *name) {
  json_t *v = NULL;
  if (f && f->a) v = json_object_get(f->a, name);
  if ((!v || !json_is_string(v)) && f && f->b) v = json_object_get(f->b, name);
  return v && json_is_string(v) ? v : NULL;
}

int ld_var_find(const gen_loader *ld, const char *name, size_t n) {
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

static int flush_lit(gen_loader *ld, tmpl_build *tb) {
  if (!tb->lit.n) return TL_OK;
  if (tb->n == 64) return ld_fail(ld, "too many references in one template");
  uint32_t id = ld_str_id(ld, tb->lit.p, tb->lit.n);
  if (id == GEN_NONE) return ld->e->rc;
  tb->parts[tb->n].kind = PART_LIT;
  tb->parts[tb->n++].ref = id;
  tl_buf_reset(&tb->lit);
  return TL_OK;
}

static int add_ref(gen_loader *ld, tmpl_build *tb, uint8_t kind, uint32_t ref) {
  int rc = flush_lit(ld, tb);
  if (rc) return rc;
  if (tb->n == 64) return ld_fail(ld, "too many references in one template");
  tb->parts[tb->n].kind = kind;
  tb->parts[tb->n++].ref = ref;
  return TL_OK;
}

static int scan_text(gen_loader *ld, tmpl_build *tb, const char *t, size_t n, const gen_fields *f,
                     int ctx, int depth) {
  for (size_t i = 0; i < n; i++) {
    char c = t[i];
    if ((c == '{' || c == '}') && i + 1 < n && t[i + 1] == c) {
      tl_buf_putc(&tb->lit, c);
      i++;
      continue;
    }
    if (c == '}') return ld_fail(ld, "unmatched '}' in template (write '}}' for a brace)");
    if (c != '{') {
      tl_buf_putc(&tb->lit, c);
      continue;
    }
    size_t j = i + 1;
    while (j < n && t[j] != '}' && t[j] != '{') j++;
    if (j >= n || t[j] != '}') return ld_fail(ld, "unterminated '{' in template (write '{{' for a brace)");
    const char *name = t + i + 1;
    size_t len = j - i - 1;
    char nm[128];
    if (len == 0 || len >= sizeof nm) return ld_fail(ld, "bad reference '{%.*s}'", (int)(len < 60 ? len : 60), name);
    memcpy(nm, name, len);
    nm[len] = 0;
    i = j;
    int rc = TL_OK;
    if (nm[0] == '$') {
      int b = -1;
      for (int k = 0; k < B_COUNT; k++)
        if (strcmp(builtin_names[k], nm) == 0) b = k;
      if (b < 0) return ld_fail(ld, "unknown builtin '{%s}'", nm);
      int span_b = b <= B_SPAN_LAST;
      if (ctx == CTX_RESOURCE ? span_b : !span_b)
        return ld_fail(ld, "'{%s}' cannot be used here (%s)", nm,
                       ctx == CTX_RESOURCE ? "resource attributes take instance builtins only"
                                           : "it is a resource builtin");
      if (ctx == CTX_ERROR_MSG && (b == B_ERROR_MESSAGE || b == B_ERROR_TYPE))
        return ld_fail(ld, "an error message cannot refer to '{%s}'", nm);
      rc = add_ref(ld, tb, PART_BUILTIN, (uint32_t)b);
    } else if (depth == 0 && field_get(f, nm)) {
      json_t *fv = field_get(f, nm);
      rc = scan_text(ld, tb, json_string_value(fv), json_string_length(fv), f, ctx, 1);
    } else if (depth == 0 && f && f->op && strcmp(nm, "op") == 0) {
      tl_buf_puts(&tb->lit, f->op);
    } else {
      int v = ctx == CTX_RESOURCE ? -1 : ld_var_find(ld, nm, len);
      if (v < 0)
        return ld_fail(ld, "unknown name '{%s}': not %sa variable", nm,
                       depth == 0 && f ? "a field of the operation or service, nor " : "");
      rc = add_ref(ld, tb, PART_VAR, (uint32_t)v);
    }
    if (rc) return rc;
  }
  return TL_OK;
}

/* Compiles a JSON scalar into a template. */
int ld_compile_value(gen_loader *ld, json_t *v, const gen_fields *f, int ctx, gen_tmpl *out) {
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
  if (!json_is_string(v)) return ld_fail(ld, "must be a string, number or boolean");
  tmpl_build tb;
  tb.n = 0;
  tl_buf_init(&tb.lit);
  int rc = scan_text(ld, &tb, json_string_value(v), json_string_length(v), f, ctx, 0);
  if (!rc) rc = flush_lit(ld, &tb);
  tl_buf_free(&tb.lit);
  if (rc) return rc;
  out->type = TL_V_STRING;
  if (tb.n == 0) {
    out->s = ld_str_id(ld, "", 0);
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
    if ((rc = LD_GROW(ld, s->parts, s->n_parts, ld->cap_parts))) return rc;
    if (i == 0) out->first = s->n_parts;
    s->parts[s->n_parts++] = tb.parts[i];
  }
  out->n = tb.n;
  return TL_OK;
}

/* Compiles an attribute object {"key": value | {"value": v, "when": w}}
** and appends it to sys->attrs; *r grows to cover it (r->first set by the
** first list appended to an empty range). */
int ld_compile_attrs(gen_loader *ld, json_t *obj, const gen_fields *f, int ctx, gen_range *r) {
  static const char *const when_names[] = {"always", "ok", "error", "retry"};
  static const char *const keys[] = {"value", "when", NULL};
  tl_gen_system *s = ld->s;
  if (!obj) return TL_OK;
  int rc = ld_want_object(ld, obj);
  if (rc) return rc;
  if (r->n == 0) r->first = s->n_attrs;
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    size_t m = LD_PUSH_KEY(ld, k);
    gen_attr a;
    memset(&a, 0, sizeof a);
    a.when = WHEN_ALWAYS;
    json_t *val = v;
    if (json_is_object(v)) {
      rc = ld_check_keys(ld, v, keys, 0);
      val = json_object_get(v, "value");
      const char *w = NULL;
      if (!rc && !val) rc = ld_fail(ld, "needs a \"value\"");
      if (!rc) rc = ld_get_str(ld, v, "when", 0, &w);
      if (!rc && w) {
        int found = -1;
        for (int i = 0; i < 4; i++)
          if (strcmp(w, when_names[i]) == 0) found = i;
        if (found < 0) rc = ld_fail(ld, "\"when\" must be always, ok, error or retry");
        a.when = (uint8_t)found;
      }
    }
    if (!rc) rc = ld_compile_value(ld, val, f, ctx, &a.v);
    if (!rc) {
      a.key = ld_cstr_id(ld, k);
      if (a.key == GEN_NONE) rc = ld->e->rc;
    }
    if (!rc && !*k) rc = ld_fail(ld, "attribute keys must not be empty");
    if (!rc) rc = LD_GROW(ld, s->attrs, s->n_attrs, ld->cap_attrs);
    ld_path_pop(ld, m);
    if (rc) return rc;
    if (r->first + r->n != s->n_attrs) return ld_fail(ld, "internal: attribute lists interleaved");
    s->attrs[s->n_attrs++] = a;
    r->n++;
  }
  return TL_OK;
}

/* ---- variables ------------------------------------------------------------ */

static int zipf_cdf(gen_loader *ld, uint64_t n, double skew, double **out) {
  double *cdf = malloc((size_t)n * sizeof *cdf);
  if (!cdf) return ld_oom(ld);
  double total = 0;
  for (uint64_t i = 0; i < n; i++) {
    total += tl_gen_exp(-skew * tl_gen_log((double)(i + 1)));
    cdf[i] = total;
  }
  *out = cdf;
  return TL_OK;
}

static int parse_variable(gen_loader *ld, const char *name, json_t *j, gen_var *v) {
  static const char *const keys[] = {"type", "pool", "zipf", "len", "min", "max", "p",
                                     "values", "weights", "prefix", "scope", NULL};
  static const char *const types[] = {"uuid", "hex", "alnum", "int", "double", "bool", "choice", "ipv4"};
  memset(v, 0, sizeof *v);
  int rc = ld_want_object(ld, j);
  if (!rc) rc = ld_check_keys(ld, j, keys, 0);
  const char *t = NULL, *scope = NULL, *prefix = NULL;
  if (!rc) rc = ld_get_str(ld, j, "type", 1, &t);
  if (rc) return rc;
  int type = -1;
  for (int i = 0; i < 8; i++)
    if (strcmp(types[i], t) == 0) type = i;
  if (type < 0)
    return ld_fail_at(ld, "type",
                      "unknown type '%s' (uuid, hex, alnum, int, double, bool, choice or ipv4)", t);
  v->type = (uint8_t)type;
  v->name = ld_cstr_id(ld, name);
  if (v->name == GEN_NONE) return ld->e->rc;
  v->salt = tl_mix64(tl_hash(name, strlen(name)));
  rc = ld_get_str(ld, j, "scope", 0, &scope);
  if (!rc && scope && strcmp(scope, "trace") && strcmp(scope, "span"))
    rc = ld_fail_at(ld, "scope", "must be \"trace\" or \"span\"");
  if (rc) return rc;
  v->per_span = scope && strcmp(scope, "span") == 0;
  int64_t pool, len;
  double skew;
  rc = ld_get_int(ld, j, "pool", 0, GEN_MAX_POOL, 0, &pool);
  if (!rc) rc = ld_get_num(ld, j, "zipf", 0, 4, 0, &skew);
  if (!rc) rc = ld_get_int(ld, j, "len", 1, 64, 16, &len);
  if (rc) return rc;
  v->pool = (uint64_t)pool;
  v->len = (uint32_t)len;
  if (skew > 0 && pool == 0) return ld_fail(ld, "\"zipf\" needs a \"pool\"");
  if (skew > 0 && (ld->zipf_values += (uint64_t)pool) > GEN_MAX_POOL)
    return ld_fail(ld, "Zipf pools may hold %d values in all", GEN_MAX_POOL);
  if (skew > 0 && (rc = zipf_cdf(ld, v->pool, skew, &v->cdf))) return rc;
  if (type == VT_INT || type == VT_DOUBLE) {
    double lo, hi;
    rc = ld_get_num(ld, j, "min", -1e15, 1e15, 0, &lo);
    if (!rc) rc = ld_get_num(ld, j, "max", -1e15, 1e15, 100, &hi);
    if (!rc && lo > hi) rc = ld_fail(ld, "\"min\" is greater than \"max\"");
    if (rc) return rc;
    if (type == VT_INT && (lo != (double)(int64_t)lo || hi != (double)(int64_t)hi))
      return ld_fail(ld, "\"min\" and \"max\" of an int variable must be integers");
    v->min = type == VT_INT ? (int64_t)lo : (int64_t)(lo * 100);
    v->max = type == VT_INT ? (int64_t)hi : (int64_t)(hi * 100);
  }
  if (type == VT_BOOL && (rc = ld_get_num(ld, j, "p", 0, 1, 0.5, &v->p))) return rc;
  if (type == VT_IPV4) {
    if ((rc = ld_get_str(ld, j, "prefix", 0, &prefix))) return rc;
    v->prefix = ld_cstr_id(ld, prefix ? prefix : "10.0");
    if (v->prefix == GEN_NONE) return ld->e->rc;
  }
  if (type == VT_CHOICE) {
    json_t *vals = json_object_get(j, "values"), *w = json_object_get(j, "weights");
    size_t nv = json_is_array(vals) ? json_array_size(vals) : 0;
    if (nv == 0 || nv > GEN_MAX_ITEMS)
      return ld_fail_at(ld, "values", "must be a non-empty array of strings");
    if (w && (!json_is_array(w) || json_array_size(w) != nv))
      return ld_fail_at(ld, "weights", "must be an array of %zu numbers, one per value", nv);
    v->choice_cdf = malloc(nv * sizeof *v->choice_cdf);
    if (!v->choice_cdf) return ld_oom(ld);
    double total = 0;
    for (size_t i = 0; i < nv; i++) {
      json_t *x = json_array_get(vals, i), *wx = w ? json_array_get(w, i) : NULL;
      size_t m = LD_PUSH_KEY(ld, "values");
      LD_PUSH_IDX(ld, i);
      if (!json_is_string(x)) rc = ld_fail(ld, "must be a string");
      ld_path_pop(ld, m);
      if (!rc && wx && (!json_is_number(wx) || json_number_value(wx) < 0 || json_number_value(wx) > 1e9)) {
        m = LD_PUSH_KEY(ld, "weights");
        LD_PUSH_IDX(ld, i);
        rc = ld_fail(ld, "must be a number between 0 and 1e9");
        ld_path_pop(ld, m);
      }
      if (!rc) rc = LD_GROW(ld, ld->s->ids, ld->s->n_ids, ld->cap_ids);
      if (rc) return rc;
      uint32_t id = ld_str_id(ld, json_string_value(x), json_string_length(x));
      if (id == GEN_NONE) return ld->e->rc;
      if (i == 0) v->choices.first = ld->s->n_ids;
      ld->s->ids[ld->s->n_ids++] = id;
      total += wx ? json_number_value(wx) : 1.0;
      v->choice_cdf[i] = total;
    }
    if (total <= 0) return ld_fail(ld, "the weights are all zero");
    v->choices.n = (uint32_t)nv;
  }
  return TL_OK;
}

int ld_parse_variables(gen_loader *ld, json_t *root) {
  json_t *vars = json_object_get(root, "variables");
  if (!vars) return TL_OK;
  size_t m = LD_PUSH_KEY(ld, "variables");
  int rc = ld_want_object(ld, vars);
  size_t n = rc ? 0 : json_object_size(vars);
  if (!rc && n > 4096) rc = ld_fail(ld, "too many variables");
  if (!rc && n) {
    ld->s->vars = calloc(n, sizeof *ld->s->vars);
    if (!ld->s->vars) rc = ld_oom(ld);
  }
  const char *k;
  json_t *v;
  if (!rc) json_object_foreach(vars, k, v) {
    size_t m2 = LD_PUSH_KEY(ld, k);
    if (!*k || strchr(k, '{') || strchr(k, '}') || k[0] == '$')
      rc = ld_fail(ld, "a variable name must be non-empty, not start with '$' and hold no braces");
    if (!rc) rc = parse_variable(ld, k, v, &ld->s->vars[ld->s->n_vars]);
    ld_path_pop(ld, m2);
    if (rc) { /* the half-parsed variable is not counted: free it here */
      free(ld->s->vars[ld->s->n_vars].cdf);
      free(ld->s->vars[ld->s->n_vars].choice_cdf);
      break;
    }
    ld->s->n_vars++;
  }
  ld_path_pop(ld, m);
  return rc;
}

