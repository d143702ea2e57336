/*
** reader.c — format names, format detection, and the tl_reader that
** dispatches to one of the four importers (reader.h).
**
** Detection reads a peek of the first bytes, never the whole file, so it
** costs the same for 1 KB and 1 GB inputs, compressed or not:
**
**   1. The first byte that is not whitespace is not '{' or '[': CSV.
**   2. Otherwise the peek is scanned as JSON tokens (no tree is built, and a
**      peek cut in the middle of a document is fine).  Object keys are
**      looked at in document order and the first key that only one format
**      uses decides:
**        OTLP    resourceSpans resource_spans scopeSpans scope_spans
**                instrumentationLibrarySpans instrumentation_library_spans
**                (which also covers {"result":{"resourceSpans":...}} and
**                Tempo's {"batches":[...]})
**        Jaeger  traceID spanID operationName operation_name processes
**                process references refType ref_type
**        Zipkin  localEndpoint remoteEndpoint
**      An object that closes with keys "traceId" and "id" and no "spanId"
**      is a Zipkin v2 span even without endpoints.  Keys inside a "tags"
**      object are ignored: Zipkin tags are free-form keys and a tag named
**      "process" says nothing about the format.
**   3. Nothing decided in the first 64 KiB: look again at up to 1 MiB (a
**      document may open with a large resource), then give up with
**      "cannot detect the trace format of <name>".  Generic keys such as
**      "trace_id", "spans" or "data" decide nothing, which is why metadata
**      files that talk about traces (fixture manifests, fault lists) are
**      refused rather than misread.
**
** A caller that knows the format passes it to tl_reader_open and no
** detection happens.
*/
#include "reader.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DETECT_FIRST (64u * 1024u)
#define DETECT_MAX (1024u * 1024u)
#define DETECT_DEPTH 64

struct tl_reader {
  const tl_reader_vt *vt;
  void *state;
  tl_input *in;
  tl_format fmt;
  int done;
};

static const char *const format_names[] = {"auto", "otlp", "jaeger", "zipkin", "csv"};
#define N_FORMATS (int)(sizeof format_names / sizeof format_names[0])

const char *tl_format_name(tl_format f) {
  return (int)f >= 0 && (int)f < N_FORMATS ? format_names[f] : NULL;
}

int tl_format_parse(const char *s) {
  for (int i = 0; i < N_FORMATS; i++)
    if (strcasecmp(s, format_names[i]) == 0) return i;
  return -1;
}

/* ---- detection ------------------------------------------------------------ */

typedef struct key_rule {
  const char *key;
  tl_format fmt;
} key_rule;

static const key_rule key_rules[] = {
    {"resourceSpans", TL_FMT_OTLP},
    {"resource_spans", TL_FMT_OTLP},
    {"scopeSpans", TL_FMT_OTLP},
    {"scope_spans", TL_FMT_OTLP},
    {"instrumentationLibrarySpans", TL_FMT_OTLP},
    {"instrumentation_library_spans", TL_FMT_OTLP},
    {"traceID", TL_FMT_JAEGER},
    {"spanID", TL_FMT_JAEGER},
    {"operationName", TL_FMT_JAEGER},
    {"operation_name", TL_FMT_JAEGER},
    {"processes", TL_FMT_JAEGER},
    {"process", TL_FMT_JAEGER},
    {"references", TL_FMT_JAEGER},
    {"refType", TL_FMT_JAEGER},
    {"ref_type", TL_FMT_JAEGER},
    {"localEndpoint", TL_FMT_ZIPKIN},
    {"remoteEndpoint", TL_FMT_ZIPKIN},
};

/* Keys an object collects for the Zipkin "traceId + id, no spanId" rule. */
enum { K_TRACEID = 1, K_ID = 2, K_SPANID = 4 };

static int key_is(const char *k, size_t n, const char *lit) {
  return strlen(lit) == n && memcmp(k, lit, n) == 0;
}

/* Scans p[0..n) as JSON tokens.  Returns the format, or TL_FMT_AUTO when
** nothing in these bytes decides. */
static tl_format detect_json(const char *p, size_t n) {
  /* Per open container: is it an object, and the keys it has shown. */
  unsigned char is_obj[DETECT_DEPTH], keys[DETECT_DEPTH];
  size_t depth = 0, skip_until = 0; /* skip_until > 0: inside a "tags" object */
  int expect_key = 0, last_key_tags = 0;
  size_t i = 0;
  while (i < n) {
    char c = p[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':') {
      i++;
      continue;
    }
    /* Only the value right after a "tags" key is a tags value. */
    int after_tags = last_key_tags;
    last_key_tags = 0;
    if (c == '{' || c == '[') {
      if (depth == DETECT_DEPTH) return TL_FMT_AUTO;
      is_obj[depth] = c == '{';
      keys[depth] = 0;
      depth++;
      if (c == '{' && after_tags && !skip_until) skip_until = depth;
      expect_key = c == '{';
      i++;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return TL_FMT_AUTO;
      depth--;
      if (c == '}' && !skip_until &&
          (keys[depth] & (K_TRACEID | K_ID | K_SPANID)) == (K_TRACEID | K_ID))
        return TL_FMT_ZIPKIN;
      if (skip_until > depth) skip_until = 0;
      expect_key = 0;
      i++;
    } else if (c == '"') {
      size_t start = ++i;
      while (i < n && p[i] != '"') i += p[i] == '\\' ? 2 : 1;
      if (i >= n) return TL_FMT_AUTO; /* cut off by the peek */
      size_t len = i - start;
      i++;
      if (!expect_key || depth == 0 || !is_obj[depth - 1]) continue;
      expect_key = 0;
      const char *k = p + start;
      last_key_tags = key_is(k, len, "tags");
      if (skip_until) continue;
      for (size_t r = 0; r < sizeof key_rules / sizeof key_rules[0]; r++)
        if (key_is(k, len, key_rules[r].key)) return key_rules[r].fmt;
      keys[depth - 1] |= key_is(k, len, "traceId")  ? K_TRACEID
                         : key_is(k, len, "id")     ? K_ID
                         : key_is(k, len, "spanId") ? K_SPANID
                                                    : 0;
    } else {
      /* A comma, or a number or literal character. */
      if (c == ',') expect_key = depth > 0 && is_obj[depth - 1];
      i++;
    }
  }
  return TL_FMT_AUTO;
}

int tl_detect_format(tl_input *in, tl_format *out, tl_err *e) {
  const char *p;
  size_t want = DETECT_FIRST;
  for (;;) {
    long got = tl_input_peek(in, want, &p, e);
    if (got < 0) return (int)got;
    size_t n = (size_t)got, i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) i++;
    if (i == n && n < want)
      return tl_err_set(e, TL_EFORMAT,
                        "cannot detect the trace format of %s: the input is empty",
                        tl_input_name(in));
    if (i < n && p[i] != '{' && p[i] != '[') {
      *out = TL_FMT_CSV;
      return TL_OK;
    }
    tl_format f = detect_json(p + i, n - i);
    if (f != TL_FMT_AUTO) {
      *out = f;
      return TL_OK;
    }
    if (n < want || want >= DETECT_MAX)
      return tl_err_set(e, TL_EFORMAT,
                        "cannot detect the trace format of %s: no OTLP, Jaeger or "
                        "Zipkin span keys in the first %zu bytes (name the format: "
                        "otlp, jaeger, zipkin or csv)",
                        tl_input_name(in), n);
    want *= 4;
  }
}

/* ---- dispatch --------------------------------------------------------------- */

static const tl_reader_vt *format_vt(tl_format f) {
  switch (f) {
    case TL_FMT_OTLP: return &tl_otlp_reader;
    case TL_FMT_JAEGER: return &tl_jaeger_reader;
    case TL_FMT_ZIPKIN: return &tl_zipkin_reader;
    case TL_FMT_CSV: return &tl_csv_reader;
    default: return NULL;
  }
}

int tl_reader_open(tl_reader **out, tl_input *in, tl_format fmt, tl_err *e) {
  *out = NULL;
  int rc = TL_OK;
  if (fmt == TL_FMT_AUTO) rc = tl_detect_format(in, &fmt, e);
  const tl_reader_vt *vt = rc ? NULL : format_vt(fmt);
  if (!rc && !vt) rc = tl_err_set(e, TL_EMISUSE, "unknown trace format %d", (int)fmt);
  tl_reader *r = rc ? NULL : calloc(1, sizeof *r);
  if (!rc && !r) rc = tl_err_set(e, TL_ENOMEM, "%s: out of memory", tl_input_name(in));
  if (!rc) rc = vt->open(in, &r->state, e);
  if (rc < 0) {
    free(r);
    tl_input_close(in);
    return rc;
  }
  r->vt = vt;
  r->in = in;
  r->fmt = fmt;
  *out = r;
  return TL_OK;
}

int tl_reader_next(tl_reader *r, tl_batch *b, size_t max, tl_err *e) {
  if (r->done) return TL_DONE;
  int rc = r->vt->next(r->state, b, max, e);
  if (rc == TL_DONE) r->done = 1;
  return rc;
}

tl_format tl_reader_format(const tl_reader *r) { return r->fmt; }

void tl_reader_close(tl_reader *r) {
  if (!r) return;
  r->vt->close(r->state);
  tl_input_close(r->in);
  free(r);
}
