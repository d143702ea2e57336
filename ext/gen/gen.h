/*
** gen.h — the synthetic trace generator (phase 0): realistic microservice
** traffic for measuring every format of tracelite beside real traces.
**
** A *system* (the services of an application, their operations, latency
** and error models, and the request types that call them) is described in
** a JSON file (docs/generator.md gives every key); a built-in online shop
** is the default.  A *generator* draws n_traces requests from a system for
** a seed and hands out their spans in end-time order, as an exporter would:
**
**     tl_gen_system *sys;  tl_gen *g;
**     tl_gen_system_default(&sys, &e);
**     tl_gen_new(&g, sys, 10000, 42, &e);
**     while ((rc = tl_gen_next(g, batch, 1024, &e)) == TL_OK) { ...; reset }
**
** Traces overlap in time: only a bounded window of traces is in flight, so
** memory does not grow with n_traces.  The output depends only on (system,
** n_traces, seed): not on the chunk size, the machine or the run.  The
** ground truth of each trace (request type, error, latency outlier, ...)
** is available separately through tl_gen_next_truth() and is never written
** into the spans.
**
** Plain C, no sqlite3.h.  A system is immutable once loaded and may be
** shared by several generators.
*/
#ifndef TL_GEN_H
#define TL_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "../span/span.h"

typedef struct tl_gen_system tl_gen_system;
typedef struct tl_gen tl_gen;

/* The largest system file accepted, and the most traces one generator
** makes (both to bound what hostile arguments can ask for). */
#define TL_GEN_MAX_SYSTEM_BYTES (16u * 1024u * 1024u)
#define TL_GEN_MAX_TRACES 1000000000ull

/* The text of the built-in system (JSON), as documented. */
const char *tl_gen_default_system_json(void);

/* Loads a system from JSON text.  origin names it in error messages
** ("system.json"); errors are TL_EFORMAT with the JSON path of the problem,
** e.g. "system.json: $.services[3].operations.GetCart.latency.sigma: must
** be a number between 0 and 3". */
int tl_gen_system_load(tl_gen_system **out, const char *json, size_t n,
                       const char *origin, tl_err *e);
/* Reads and loads a file (TL_EIO when it cannot be read). */
int tl_gen_system_load_file(tl_gen_system **out, const char *path, tl_err *e);
/* The built-in online shop. */
int tl_gen_system_default(tl_gen_system **out, tl_err *e);
void tl_gen_system_free(tl_gen_system *sys);

/* Request types, in the order of the system file. */
uint32_t tl_gen_request_count(const tl_gen_system *sys);
const char *tl_gen_request_name(const tl_gen_system *sys, uint32_t i);

/* A generator of n_traces traces (at most TL_GEN_MAX_TRACES) for a seed.
** The system must outlive the generator. */
int tl_gen_new(tl_gen **out, const tl_gen_system *sys, uint64_t n_traces,
               uint64_t seed, tl_err *e);
void tl_gen_free(tl_gen *g);

/* Appends up to max spans to b, in non-decreasing end time.  TL_OK when
** more may follow, TL_DONE when every span has been handed out (with or
** without spans added by this call), TL_ENOMEM.  Keeps no pointer into b
** between calls: the caller may reset b after each call. */
int tl_gen_next(tl_gen *g, tl_batch *b, size_t max, tl_err *e);

/* How many traces have been generated so far (for progress reports). */
uint64_t tl_gen_progress(const tl_gen *g);
/* Bytes the generator holds (traces in flight, heap, caches): bounded by
** the traffic's concurrency, not by n_traces. */
size_t tl_gen_memory(const tl_gen *g);

/* What was generated for one trace: the scoring truth. */
typedef struct tl_gen_truth {
  uint64_t index;          /* 0-based, in arrival order */
  uint8_t trace_id[16];
  uint32_t request;        /* index of the request type */
  const char *request_name;
  int has_error;           /* some span has status ERROR */
  int is_outlier;          /* injected slowness made the trace >= 2x as long */
  int is_skewed;           /* one host's clock is off: a child starts before its parent */
  int is_incomplete;       /* spans were dropped: orphans or no root */
  uint32_t n_spans;        /* spans handed out for the trace */
  uint64_t start_ns;       /* arrival: start of the root span */
  uint64_t duration_ns;    /* first start to last end, async consumers included */
} tl_gen_truth;

/* Generates the next trace in arrival order and reports its truth without
** producing spans (a generator is used either for spans or for truth).
** TL_OK, TL_DONE after the last trace, TL_ENOMEM. */
int tl_gen_next_truth(tl_gen *g, tl_gen_truth *t, tl_err *e);

#endif
