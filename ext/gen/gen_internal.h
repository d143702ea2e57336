/*
** gen_internal.h — the compiled form of a system, shared by the files of
** the generator (and read by its unit test):
**
**   system.c   JSON system file -> tl_gen_system: the top level, protocols,
**              runtimes, services, instances and operations; with
**   system_values.c    the loader's primitives, templates and variables
**   system_requests.c  request types and their call trees
**   gen.c      tl_gen_system -> traces: call trees, timing, errors, skew,
**              incompleteness, the in-flight window and end-time order
**   render.c   one generated span -> a tl_span in a batch: names,
**              attributes, events, links, resources, scopes
**
** The loader's own interface, used by the three system*.c files only, is
** the last section.
**
** Everything of a system lives in flat arrays indexed by uint32_t, with
** strings as ids into one constant table (gen_sys_str), so that render.c
** interns each constant once per batch and not once per span.
*/
#ifndef TL_GEN_INTERNAL_H
#define TL_GEN_INTERNAL_H

#include "../common/buf.h"
#include "gen.h"
#include "rng.h"

#define GEN_NONE UINT32_MAX
/* Limits that keep a hostile system file from exhausting memory or time. */
#define GEN_MAX_CALL_DEPTH 24      /* nesting of call nodes in a request type */
#define GEN_MAX_TRACE_SPANS 20000  /* worst-case spans of one request type */
#define GEN_MAX_ITEMS 100000       /* services, operations, nodes, ... each */
#define GEN_MAX_POOL 10000000      /* values in a variable's pool */
#define GEN_MAX_PARTITIONS 256

/* ---- templates ---------------------------------------------------------- */

/* Variables a template may use besides the system's own: filled from the
** span being rendered ($callee, $http_status, ...) or, in resource
** templates, from the service instance ($pod, $ip, ...). */
typedef enum gen_builtin {
  B_SERVICE, B_CALLEE, B_CALLEE_PORT, B_CALLEE_IP, B_CALLER_IP, B_CALLER_PORT,
  B_CALLER_AGENT, B_HTTP_STATUS, B_GRPC_CODE, B_GRPC_STATUS, B_ERROR_TYPE,
  B_ERROR_MESSAGE, B_MESSAGE_ID, B_PARTITION, B_OFFSET, B_ATTEMPT, B_BODY_SIZE,
  B_ROWS, B_TRACE_ID, B_SPAN_ID,
  B_SPAN_LAST = B_SPAN_ID,
  /* instance builtins (resource templates only) */
  B_INSTANCE_ID, B_INSTANCE, B_POD, B_NODE, B_CONTAINER_ID, B_IP, B_PID,
  B_COUNT
} gen_builtin;

enum { PART_LIT, PART_VAR, PART_BUILTIN };

typedef struct gen_part {
  uint8_t kind;   /* PART_* */
  uint32_t ref;   /* PART_LIT: string id; PART_VAR: variable; PART_BUILTIN: gen_builtin */
} gen_part;

/* A value template.  Constant ones are folded at load time: type says the
** value's type, and s/i/d hold it.  Otherwise the parts are rendered; a
** template that is one variable or builtin of integer type gives an int. */
typedef struct gen_tmpl {
  uint8_t type;       /* TL_V_STRING, TL_V_INT, TL_V_DOUBLE, TL_V_BOOL */
  uint8_t is_const;
  uint32_t s;         /* constant string id */
  int64_t i;
  double d;
  uint32_t first, n;  /* parts */
} gen_tmpl;

/* When an attribute is present. */
enum { WHEN_ALWAYS, WHEN_OK, WHEN_ERROR, WHEN_RETRY };

typedef struct gen_attr {
  uint32_t key;  /* string id */
  uint8_t when;
  gen_tmpl v;
} gen_attr;

typedef struct gen_range {
  uint32_t first, n;
} gen_range;

/* ---- variables ------------------------------------------------------------ */

enum { VT_UUID, VT_HEX, VT_ALNUM, VT_INT, VT_DOUBLE, VT_BOOL, VT_CHOICE, VT_IPV4 };

typedef struct gen_var {
  uint32_t name;       /* string id */
  uint8_t type;        /* VT_* */
  uint8_t per_span;    /* drawn anew for every span that uses it */
  uint32_t len;        /* VT_HEX, VT_ALNUM: characters */
  uint64_t pool;       /* distinct values (0: unbounded) */
  double *cdf;         /* Zipf popularity over the pool, or NULL (uniform) */
  int64_t min, max;    /* VT_INT; VT_DOUBLE in hundredths */
  double p;            /* VT_BOOL: probability of true */
  gen_range choices;   /* VT_CHOICE: string ids in sys->ids */
  double *choice_cdf;
  uint32_t prefix;     /* VT_IPV4: "10.1" style prefix (string id) */
  uint64_t salt;       /* hash of the name: values differ between variables */
} gen_var;

/* ---- deployment ----------------------------------------------------------- */

typedef struct gen_runtime {
  uint32_t name;
  uint32_t user_agent;         /* string id: its HTTP client's User-Agent */
  uint32_t propagated_type;    /* exception type of a failed downstream call */
  uint8_t stack_style;         /* STACK_* */
  uint8_t span_flags;          /* SDK sets the OTLP flags word (0x100 / 0x200) */
  uint64_t resolution_ns;      /* clock resolution: 1, 10, ..., 1000000 */
  uint32_t *scope_name;        /* per protocol (n_protocols + 1: internal last) */
  uint32_t *scope_version;
} gen_runtime;

enum { STACK_JAVA, STACK_GO, STACK_PYTHON, STACK_NODE, STACK_DOTNET, STACK_RUBY,
       STACK_PHP, STACK_RUST, STACK_CPP, STACK_COUNT };

/* Span roles: which side of a call a span records. */
enum { ROLE_SERVER, ROLE_CLIENT, ROLE_PRODUCER, ROLE_CONSUMER, ROLE_INTERNAL, ROLE_COUNT };

typedef struct gen_protocol {
  uint32_t name;
  uint8_t instrumented;  /* the callee records server spans */
  uint8_t messaging;     /* calls are producer -> broker -> consumers */
} gen_protocol;

typedef struct gen_dist {
  double median_ns, sigma;
} gen_dist;

typedef struct gen_service {
  uint32_t name, host, version;  /* string ids */
  uint32_t protocol, runtime;
  int64_t port;
  gen_range instances;
  gen_range ops;
  gen_dist queue;                /* messaging: delay before a consumer starts */
  uint32_t partitions;           /* messaging */
  uint32_t scope_first;          /* tl_scope slots: n_protocols + 1 per service */
} gen_service;

/* A constant attribute of a resource, rendered at load time. */
typedef struct gen_kv {
  uint32_t key;
  uint8_t type;  /* TL_V_STRING, TL_V_INT, TL_V_DOUBLE, TL_V_BOOL */
  uint32_t s;
  int64_t i;
  double d;
} gen_kv;

typedef struct gen_instance {
  uint32_t service;
  uint32_t ip;           /* string id */
  gen_range resource;    /* gen_kv */
} gen_instance;

/* ---- operations and request types ----------------------------------------- */

typedef struct gen_error {
  uint32_t type;         /* string id */
  gen_tmpl message;
  int64_t http_status, grpc_code;
  uint32_t grpc_name;    /* string id */
  uint32_t stack_pre, stack_post; /* stack trace around "type: message" */
  uint8_t stack_msg;               /* whether "type: message" is part of it */
  double weight;
} gen_error;

/* How a span of one role of an operation looks. */
typedef struct gen_role {
  uint8_t present;
  gen_tmpl name;
  gen_range attrs;      /* gen_attr */
  uint32_t scope_slot;  /* protocol index, or n_protocols for internal */
} gen_role;

enum { OP_SERVER, OP_INTERNAL, OP_CONSUMER, OP_CLIENT_ONLY, OP_PRODUCE };

typedef struct gen_op {
  uint32_t name;          /* "service/op" string id */
  uint32_t service;
  uint32_t broker;        /* OP_CONSUMER: the broker service */
  uint8_t type;           /* OP_* */
  double median_ns, sigma, outlier_p, outlier_lo, outlier_hi;
  double error_rate;
  gen_range errors;       /* gen_error */
  double *error_cdf;
  gen_role self;          /* span of the op's own service */
  gen_role client;        /* span of the caller (client or producer) */
  gen_range events;       /* string ids of event names */
  uint32_t prop_stack_pre, prop_stack_post; /* stack of a propagated failure */
  uint8_t prop_stack_msg;
} gen_op;

/* A group of children: one node, or several run in parallel. */
typedef struct gen_group {
  uint8_t parallel;
  gen_range nodes;        /* indices in sys->refs */
} gen_group;

typedef struct gen_node {
  uint32_t op;
  double p;               /* probability the call is made */
  uint32_t rep_min, rep_max;
  uint8_t rep_parallel;
  uint32_t retries;
  uint8_t ignore_errors;  /* a failure does not fail the caller */
  gen_range binds;        /* variables drawn anew for the subtree (sys->ids) */
  gen_range groups;       /* gen_group */
  gen_range consumers;    /* messaging: consumer nodes (sys->refs) */
} gen_node;

typedef struct gen_request {
  uint32_t name;
  double weight;
  uint32_t root;          /* node */
} gen_request;

struct tl_gen_system {
  /* constant strings: offsets into text, lengths */
  char *text;
  size_t text_n;
  uint32_t *str_off, *str_len;
  uint32_t n_str;

  gen_part *parts;       uint32_t n_parts;
  gen_attr *attrs;       uint32_t n_attrs;
  gen_kv *kvs;           uint32_t n_kvs;
  uint32_t *ids;         uint32_t n_ids;   /* lists of string/var ids */
  uint32_t *refs;        uint32_t n_refs;  /* lists of node ids */
  gen_var *vars;         uint32_t n_vars;
  gen_runtime *runtimes; uint32_t n_runtimes;
  gen_protocol *protocols; uint32_t n_protocols;
  gen_service *services; uint32_t n_services;
  gen_instance *instances; uint32_t n_instances;
  gen_error *errors;     uint32_t n_errors;
  gen_op *ops;           uint32_t n_ops;
  gen_group *groups;     uint32_t n_groups;
  gen_node *nodes;       uint32_t n_nodes;
  gen_request *requests; uint32_t n_requests;
  double *request_cdf;
  uint32_t n_scopes;     /* n_services * (n_protocols + 1) */

  /* global knobs */
  uint64_t start_ns;     /* epoch of seed 0; seeds add up to 7 days */
  double arrival_rate;   /* traces per second */
  double skew_share, incomplete_share;
  int64_t skew_lo_ns, skew_hi_ns;
  gen_dist network, gap, backoff;
  gen_range baggage;     /* gen_attr, on every span */
  gen_tmpl client_ip, client_agent; /* the outside caller of root spans */
  uint64_t max_resolution_ns;
};

/* String id -> text. */
static inline const char *gen_sys_str(const tl_gen_system *s, uint32_t id, uint32_t *len) {
  *len = s->str_len[id];
  return s->text + s->str_off[id];
}

/* ---- generated spans (gen.c -> render.c) ---------------------------------- */

/* One span of a trace in flight, before rendering: 80 bytes instead of a
** full tl_span, so the window of traces in flight stays small. */
typedef struct gen_span {
  uint64_t start, end;
  uint64_t seed;          /* draws of per-span variables */
  uint8_t id[8];
  uint32_t parent;        /* index in the trace, GEN_NONE for the root */
  uint32_t frame;         /* variable bindings (gen_frame), GEN_NONE: trace level */
  uint32_t op;
  uint32_t inst;          /* instance that records the span */
  uint32_t peer;          /* instance on the other side, GEN_NONE if none */
  uint32_t link;          /* consumer: the producer span's index */
  uint32_t aux;           /* messaging: partition */
  uint32_t offset;        /* messaging: offset in the partition */
  uint8_t role;           /* ROLE_* */
  uint8_t error;          /* ERR_* */
  uint8_t attempt;
  uint8_t dropped;
  uint32_t cause;         /* failed op (own or downstream) */
  uint32_t cause_err;     /* its error (index in sys->errors) */
} gen_span;

enum { ERR_NONE, ERR_OWN, ERR_PROPAGATED, ERR_CALL };

typedef struct gen_frame {
  uint32_t parent;
  uint32_t var;
  uint64_t value;
} gen_frame;

typedef struct gen_trace {
  uint64_t index, seed;
  uint8_t id[16];
  uint32_t request;
  gen_span *spans;   uint32_t n_spans, cap_spans;
  gen_frame *frames; uint32_t n_frames, cap_frames;
  uint64_t *tvals;   /* trace-level draw of every variable */
  uint32_t pending;  /* spans not yet handed out */
  uint32_t next_free;
  uint8_t has_error, is_outlier, is_skewed, is_incomplete;
  uint64_t start, end;
} gen_trace;

/* render.c: per-batch caches live in this state, owned by the generator. */
typedef struct gen_render gen_render;
gen_render *gen_render_new(const tl_gen_system *sys);
void gen_render_free(gen_render *r);
/* Starts a new batch epoch: cached interned strings, resources and scopes
** are forgotten (the caller may have reset the batch). */
void gen_render_epoch(gen_render *r);
int gen_render_span(gen_render *r, const gen_trace *tr, const gen_span *sp,
                    tl_batch *b, tl_err *e);

/* stack.c: the stack trace of a failure in `op` of `service`, in a
** runtime's style (STACK_*), as pre + "type: message" (if *with_msg) + post. */
void gen_stack_build(int style, const char *service, const char *op, tl_buf *pre,
                     tl_buf *post, int *with_msg);

/* ---- the system loader (system.c, system_values.c, system_requests.c) ---- */

/* jansson's json_t: only the loader's files include jansson.h, so the rest
** of the generator never sees JSON. */
struct json_t;

/* Where a template is compiled: it decides which builtins it may use. */
enum { CTX_SPAN, CTX_ERROR_MSG, CTX_RESOURCE, CTX_GLOBAL };

/* The state of one load: the system being filled, its string table while
** it grows, the JSON path that errors name, and the JSON pieces that
** several parts of the system refer to. */
typedef struct gen_loader {
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
  struct json_t *runtimes_j, *protocols_j, *resource_j;
  struct json_t **role_j;    /* n_protocols * ROLE_COUNT role objects (or NULL) */
  struct json_t **perr_j;    /* n_protocols default error lists (or NULL) */
  struct json_t **service_j; /* per service */
  tl_buf scratch;
} gen_loader;

/* Where {field} references are looked up: up to two objects, then the
** implicit {op} (the operation's name in its service). */
typedef struct gen_fields {
  struct json_t *a, *b;
  const char *op;
} gen_fields;

/* Interface to code in system_values.c.  Every function that can fail
** returns TL_OK or the error it has recorded in ld->e. */

/* The JSON path of the member being read: push returns the mark to pop
** back to. */
size_t ld_path_push(gen_loader *ld, const char *fmt, const char *key, size_t idx);
#define LD_PUSH_KEY(ld, k) ld_path_push(ld, ".%s", k, 0)
#define LD_PUSH_IDX(ld, i) ld_path_push(ld, "[%zu]", NULL, i)
void ld_path_pop(gen_loader *ld, size_t mark);

/* TL_EFORMAT "origin: $path: message", at the current path, or for
** ld_fail_at at its member key. */
#if defined(__GNUC__)
#define LD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define LD_PRINTF(f, a)
#endif
int ld_fail(gen_loader *ld, const char *fmt, ...) LD_PRINTF(2, 3);
int ld_fail_at(gen_loader *ld, const char *key, const char *fmt, ...) LD_PRINTF(3, 4);
int ld_oom(gen_loader *ld);

/* Makes room for one more element of a flat array of the system. */
int ld_grow(gen_loader *ld, void **arr, uint32_t n, uint32_t *cap, size_t size);
#define LD_GROW(ld, arr, n, cap) ld_grow(ld, (void **)&(arr), n, &(cap), sizeof *(arr))

/* Interns p[0..n) in the system's string table; GEN_NONE on failure. */
uint32_t ld_str_id(gen_loader *ld, const char *p, size_t n);
uint32_t ld_cstr_id(gen_loader *ld, const char *s);
static inline const char *ld_str_of(const gen_loader *ld, uint32_t id) {
  return ld->text.p + ld->s->str_off[id];
}

/* Typed members: each checks obj.key (absent -> the default; ld_get_str:
** NULL, or an error if required) and names it in its error. */
int ld_check_keys(gen_loader *ld, struct json_t *obj, const char *const *keys, int allow_strings);
int ld_want_object(gen_loader *ld, struct json_t *v);
/* v as an array of 1 to max items, *n of them ("must be an array of 1 to
** <max> <what>"). */
int ld_want_array(gen_loader *ld, struct json_t *v, size_t max, const char *what, size_t *n);
int ld_get_num(gen_loader *ld, struct json_t *obj, const char *key, double lo, double hi,
               double def, double *out);
int ld_get_int(gen_loader *ld, struct json_t *obj, const char *key, int64_t lo, int64_t hi,
               int64_t def, int64_t *out);
int ld_get_bool(gen_loader *ld, struct json_t *obj, const char *key, int def, int *out);
int ld_get_str(gen_loader *ld, struct json_t *obj, const char *key, int required,
               const char **out);
int ld_get_pair(gen_loader *ld, struct json_t *obj, const char *key, double min, double max,
                double def_lo, double def_hi, int integral, double *lo, double *hi);

/* Templates (f may be NULL: no fields) and variables. */
int ld_compile_value(gen_loader *ld, struct json_t *v, const gen_fields *f, int ctx,
                     gen_tmpl *out);
int ld_compile_attrs(gen_loader *ld, struct json_t *obj, const gen_fields *f, int ctx,
                     gen_range *r);
int ld_var_find(const gen_loader *ld, const char *name, size_t n); /* -1: none */
int ld_parse_variables(gen_loader *ld, struct json_t *root);

/* Interface to code in system_requests.c: the "requests" member. */
int ld_parse_requests(gen_loader *ld, struct json_t *root);

/* Interface to code in system.c: a service by name, -1 if none. */
int ld_find_service(gen_loader *ld, const char *name, size_t n);

#endif
