/*
** tracegen — writes synthetic traces (ext/gen) as OTLP JSON, for
** benchmarks, demos and anyone who needs realistic trace data:
**
**   tracegen --traces 100000 --seed 42 --out shop.ndjson
**   tracegen --traces 100 --format json --out shop.json
**   tracegen --system testdata/systems/bookstore.json --traces 10
**   tracegen --traces 1000 --truth truth.csv --out /dev/null
**
** --format ndjson (the default) writes one span per line, each line a
** complete ExportTraceServiceRequest: the canonical form of otlp_write.h,
** exactly what format=ndjson stores and the 1x baseline of every ratio.
** --format json writes one ExportTraceServiceRequest document whose
** resourceSpans group the spans of each chunk by resource and scope, as an
** SDK exporter batches them.  --truth writes the ground truth of every
** trace as CSV (trace_generate_truth's columns).  Output is the same
** bytes for the same arguments on every run and machine.  A progress bar
** goes to stderr when it is a terminal (or with --progress).
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../gen/gen.h"
#include "../io/otlp_write.h"

#define CHUNK 4096

enum { FMT_NDJSON, FMT_JSON, FMT_NONE };

typedef struct opts {
  uint64_t traces, seed;
  const char *system, *out, *truth;
  int format, progress, quiet, summary;
} opts;

static void usage(FILE *f) {
  fputs("usage: tracegen [--traces N] [--seed S] [--system FILE] [--out FILE]\n"
        "                [--format ndjson|json|none] [--truth FILE] [--progress] [--quiet]\n"
        "                [--summary]\n"
        "  --traces N      traces to generate (default 1000)\n"
        "  --seed S        64-bit seed (default 1); the same seed gives the same bytes\n"
        "  --system FILE   system description (JSON, docs/generator.md); default: the\n"
        "                  built-in online shop\n"
        "  --out FILE      output file (default: standard output)\n"
        "  --format F      ndjson: one span per line (default); json: one OTLP document;\n"
        "                  none: generate only (to time the generator)\n"
        "  --truth FILE    also write each trace's ground truth as CSV\n"
        "  --progress      progress bar on stderr even when it is not a terminal\n"
        "  --quiet         no progress bar\n"
        "  --summary       print traces, spans, bytes and CPU time to stderr at the end\n",
        f);
}

static int parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s || *s == '-') return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || *end) return -1;
  *out = v;
  return 0;
}

static int parse_args(int argc, char **argv, opts *o) {
  memset(o, 0, sizeof *o);
  o->traces = 1000;
  o->seed = 1;
  o->progress = isatty(2);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int takes = 1;
    if (strcmp(a, "--traces") == 0) {
      if (parse_u64(v, &o->traces) || o->traces > TL_GEN_MAX_TRACES) {
        fprintf(stderr, "tracegen: --traces needs a number from 0 to %llu\n", TL_GEN_MAX_TRACES);
        return -1;
      }
    } else if (strcmp(a, "--seed") == 0) {
      if (parse_u64(v, &o->seed)) {
        fprintf(stderr, "tracegen: --seed needs a non-negative 64-bit number\n");
        return -1;
      }
    } else if (strcmp(a, "--system") == 0) o->system = v;
    else if (strcmp(a, "--out") == 0) o->out = v;
    else if (strcmp(a, "--truth") == 0) o->truth = v;
    else if (strcmp(a, "--format") == 0) {
      if (v && strcmp(v, "json") == 0) o->format = FMT_JSON;
      else if (v && strcmp(v, "none") == 0) o->format = FMT_NONE;
      else if (!v || strcmp(v, "ndjson") != 0) {
        fprintf(stderr, "tracegen: --format is ndjson, json or none\n");
        return -1;
      }
    } else {
      takes = 0;
      if (strcmp(a, "--progress") == 0) o->progress = 1;
      else if (strcmp(a, "--quiet") == 0) o->quiet = 1;
      else if (strcmp(a, "--summary") == 0) o->summary = 1;
      else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        usage(stdout);
        exit(0);
      } else {
        fprintf(stderr, "tracegen: unknown option '%s'\n", a);
        usage(stderr);
        return -1;
      }
    }
    if (takes && !v) {
      fprintf(stderr, "tracegen: %s needs a value\n", a);
      return -1;
    }
    i += takes;
  }
  if (o->quiet) o->progress = 0;
  return 0;
}

static FILE *open_out(const char *path) {
  if (!path || strcmp(path, "-") == 0) return stdout;
  FILE *f = fopen(path, "wb");
  if (!f) fprintf(stderr, "tracegen: cannot write '%s': %s\n", path, strerror(errno));
  return f;
}

static void progress(const opts *o, uint64_t done, uint64_t spans, double t0, int last) {
  static const char bar[] = "##################################################";
  if (!o->progress || o->traces == 0) return;
  double pct = (double)done / (double)o->traces;
  int w = (int)(pct * 50);
  double secs = (double)clock() / CLOCKS_PER_SEC - t0;
  fprintf(stderr, "\r[%-50.*s] %5.1f%% %llu traces %llu spans %.0f spans/s%s", w, bar, pct * 100,
          (unsigned long long)done, (unsigned long long)spans, secs > 0 ? (double)spans / secs : 0.0,
          last ? "\n" : "");
}

/* ---- OTLP JSON document ------------------------------------------------------ */

/* The canonical line of a span is
**   {"resourceSpans":[ <ResourceSpans with "spans":[ SPAN ]> ]}\n
** and, without schema URLs, ends in ]}]}]}\n: the document below splices
** the SPAN objects of spans sharing a resource and scope into one
** ResourceSpans.  A line of another shape is written as its own entry. */
static const char LINE_HEAD[] = "{\"resourceSpans\":[";
static const char LINE_TAIL[] = "]}]}]}\n";
static const char SPANS_KEY[] = "\"spans\":[";

typedef struct doc {
  FILE *f;
  int entries;          /* ResourceSpans written so far */
  tl_buf line;
  const tl_resource *res;
  const tl_scope *scope;
  int open;             /* a ResourceSpans is open for res/scope */
} doc;

static void doc_close_group(doc *d) {
  if (d->open) fputs("]}]}", d->f);
  d->open = 0;
}

static void doc_span(doc *d, const tl_span *s) {
  tl_buf *l = &d->line;
  tl_buf_reset(l);
  tl_otlp_write_span(l, s);
  const size_t head = sizeof LINE_HEAD - 1, tail = sizeof LINE_TAIL - 1;
  const char *key = l->n > head + tail ? strstr(tl_buf_cstr(l), SPANS_KEY) : NULL;
  int spliceable = key && memcmp(l->p + l->n - tail, LINE_TAIL, tail) == 0;
  if (d->open && (!spliceable || s->resource != d->res || s->scope != d->scope)) doc_close_group(d);
  size_t body = key ? (size_t)(key - l->p) + sizeof SPANS_KEY - 1 : 0;
  if (spliceable && d->open) {
    fputc(',', d->f);
    fwrite(l->p + body, 1, l->n - tail - body, d->f);
    return;
  }
  if (d->entries++) fputs(",\n", d->f);
  if (spliceable) {
    fwrite(l->p + head, 1, l->n - tail - head, d->f);
    d->open = 1;
    d->res = s->resource;
    d->scope = s->scope;
  } else {
    fwrite(l->p + head, 1, l->n - head - 3, d->f); /* drop ]}\n */
  }
}

/* Writes a chunk grouped by (resource, scope), groups in order of first
** appearance and spans in their end-time order within a group. */
static int doc_chunk(doc *d, tl_batch *b, uint32_t *group, uint32_t *order) {
  size_t n = tl_batch_count(b);
  const tl_resource *gres[256];
  const tl_scope *gscope[256];
  uint32_t ng = 0, count[257];
  memset(count, 0, sizeof count);
  for (size_t i = 0; i < n; i++) {
    const tl_span *s = tl_batch_span(b, i);
    uint32_t g = 0;
    while (g < ng && (gres[g] != s->resource || gscope[g] != s->scope)) g++;
    if (g == ng && ng < 256) {
      gres[ng] = s->resource;
      gscope[ng++] = s->scope;
    } else if (g == ng) {
      g = 255; /* past 256 groups the rest share one slot: doc_span still
               ** starts a new ResourceSpans whenever resource or scope change */
    }
    group[i] = g;
    count[g + 1]++;
  }
  for (uint32_t g = 0; g < ng; g++) count[g + 1] += count[g];
  for (size_t i = 0; i < n; i++) order[count[group[i]]++] = (uint32_t)i;
  for (size_t i = 0; i < n; i++) doc_span(d, tl_batch_span(b, order[i]));
  doc_close_group(d);
  return d->line.oom ? -1 : 0;
}

/* ---- main ------------------------------------------------------------------- */

static int write_truth(const opts *o, const tl_gen_system *sys) {
  FILE *f = open_out(o->truth);
  if (!f) return -1;
  tl_err e;
  tl_err_clear(&e);
  tl_gen *g;
  if (tl_gen_new(&g, sys, o->traces, o->seed, &e)) {
    fprintf(stderr, "tracegen: %s\n", e.msg);
    return -1;
  }
  fputs("index,trace_id,request_type,has_error,is_outlier,is_skewed,is_incomplete,n_spans,start_ns,duration_ns\n", f);
  tl_gen_truth t;
  int rc;
  while ((rc = tl_gen_next_truth(g, &t, &e)) == TL_OK) {
    fprintf(f, "%llu,", (unsigned long long)t.index);
    for (int i = 0; i < 16; i++) fprintf(f, "%02x", t.trace_id[i]);
    fprintf(f, ",%s,%d,%d,%d,%d,%u,%llu,%llu\n", t.request_name, t.has_error, t.is_outlier, t.is_skewed,
            t.is_incomplete, t.n_spans, (unsigned long long)t.start_ns, (unsigned long long)t.duration_ns);
  }
  tl_gen_free(g);
  if (rc < 0) fprintf(stderr, "tracegen: %s\n", e.msg);
  if (fclose(f) != 0 || rc < 0) {
    if (rc >= 0) fprintf(stderr, "tracegen: cannot write '%s'\n", o->truth);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  opts o;
  if (parse_args(argc, argv, &o)) return 2;
  tl_err e;
  tl_err_clear(&e);
  tl_gen_system *sys;
  int rc = o.system ? tl_gen_system_load_file(&sys, o.system, &e) : tl_gen_system_default(&sys, &e);
  if (rc) {
    fprintf(stderr, "tracegen: %s\n", e.msg);
    return 1;
  }
  if (o.truth && write_truth(&o, sys)) {
    tl_gen_system_free(sys);
    return 1;
  }
  FILE *f = open_out(o.out);
  tl_gen *g = NULL;
  tl_batch *b = tl_batch_new();
  uint32_t *group = malloc(CHUNK * sizeof *group), *order = malloc(CHUNK * sizeof *order);
  tl_buf out;
  tl_buf_init(&out);
  doc d;
  memset(&d, 0, sizeof d);
  d.f = f;
  tl_buf_init(&d.line);
  int status = 1;
  if (!f || !b || !group || !order) goto done;
  if (tl_gen_new(&g, sys, o.traces, o.seed, &e)) {
    fprintf(stderr, "tracegen: %s\n", e.msg);
    goto done;
  }
  if (o.format == FMT_JSON) fputs("{\"resourceSpans\":[", f);
  double t0 = (double)clock() / CLOCKS_PER_SEC;
  uint64_t spans = 0, next_report = 0, bytes = 0;
  do {
    rc = tl_gen_next(g, b, CHUNK, &e);
    if (rc < 0) {
      fprintf(stderr, "tracegen: %s\n", e.msg);
      goto done;
    }
    size_t n = tl_batch_count(b);
    if (o.format == FMT_JSON) {
      if (doc_chunk(&d, b, group, order)) goto oom;
    } else if (o.format == FMT_NDJSON) {
      tl_buf_reset(&out);
      for (size_t i = 0; i < n; i++) tl_otlp_write_span(&out, tl_batch_span(b, i));
      if (out.oom) goto oom;
      fwrite(out.p, 1, out.n, f);
      bytes += out.n;
    }
    spans += n;
    tl_batch_reset(b);
    if (spans >= next_report) {
      progress(&o, tl_gen_progress(g), spans, t0, 0);
      next_report = spans + 50000;
    }
  } while (rc == TL_OK);
  if (o.format == FMT_JSON) fputs("]}\n", f);
  progress(&o, tl_gen_progress(g), spans, t0, 1);
  if (o.summary) {
    double secs = (double)clock() / CLOCKS_PER_SEC - t0;
    fprintf(stderr, "tracegen: %llu traces, %llu spans, %llu NDJSON bytes, %.3f s CPU, %.0f spans/s\n",
            (unsigned long long)o.traces, (unsigned long long)spans, (unsigned long long)bytes, secs,
            secs > 0 ? (double)spans / secs : 0.0);
  }
  status = 0;
  goto done;
oom:
  fprintf(stderr, "tracegen: out of memory\n");
done:
  if (f && f != stdout && fclose(f) != 0 && status == 0) {
    fprintf(stderr, "tracegen: cannot write '%s'\n", o.out);
    status = 1;
  } else if (f == stdout && fflush(stdout) != 0 && status == 0) {
    fprintf(stderr, "tracegen: cannot write to standard output\n");
    status = 1;
  }
  tl_gen_free(g);
  tl_gen_system_free(sys);
  tl_batch_free(b);
  tl_buf_free(&out);
  tl_buf_free(&d.line);
  free(group);
  free(order);
  return status;
}
