/*
** fuzz_codec.h — the property the codec fuzz targets (fuzz_codec_ndjson.c,
** fuzz_codec_cbor.c, fuzz_codec_cbor_zstd.c, fuzz_codec_relational.c,
** fuzz_codec_columnar.c) check on arbitrary bytes given
** to tl_block_decode as a block of their codec:
**   - it never crashes, leaks, hangs or reads out of bounds;
**   - on error it returns a negative code with a message and leaves no span
**     in the batch (one span put there before stays);
**   - on success it appended exactly the span count of the envelope, every
**     span with a resource and a scope, and the spans encode again into a
**     block that decodes to the same canonical NDJSON;
**   - decoding only some fields (a scan that reads a few columns) obeys the
**     same rules, succeeds whenever the full decode does, and gives the
**     fields it was asked for exactly as the full decode does;
**   - so do the codec's cheaper entry points where it has them: decode_cols
**     (ids and times into arrays) gives every id, time, flag and trace
**     state, decode_traces (the spans of one trace filled in) the spans of
**     that trace field by field (as canonical NDJSON) and the ids and times
**     of the others, as the full decode gives them; decode_durations (end -
**     start of each span, from as few bytes as it needs), whole and fed in
**     growing prefixes the way the store reads a blob, gives the same
**     result both ways, never asks for bytes it has or past the blob, and
**     succeeds with the full decode's durations whenever that succeeds.
** Any violation aborts, which libFuzzer and the replay driver report.
*/
#ifndef TL_FUZZ_CODEC_H
#define TL_FUZZ_CODEC_H

#include "../../ext/codec/codec.h"
#include "../../ext/io/otlp_write.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The canonical NDJSON of spans [from, count) of b. */
static void fuzz_ndjson(tl_batch *b, size_t from, tl_buf *out) {
  tl_buf_reset(out);
  for (size_t i = from; i < tl_batch_count(b); i++) {
    const tl_span *s = tl_batch_span(b, i);
    if (!s->resource || !s->scope) abort();
    tl_otlp_write_span(out, s);
  }
}

static int same_str(tl_str a, tl_str b) {
  return a.len == b.len && (!a.len || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static int same_span_ids_times(const tl_span *x, const tl_span *y) {
  return !memcmp(x->trace_id, y->trace_id, 16) && !memcmp(x->span_id, y->span_id, 8) &&
         !memcmp(x->parent_span_id, y->parent_span_id, 8) && x->start_ns == y->start_ns &&
         x->end_ns == y->end_ns;
}

/* Decodes data with each partial fields mask; full is the batch of the full
** decode (its span 0 someone else's), NULL when that failed. */
static void fuzz_partial(const tl_codec_vt *vt, void *st, const uint8_t *data, size_t size,
                         tl_batch *full) {
  static const uint32_t masks[] = {
      TL_FIELD_IDS | TL_FIELD_TIMES,
      TL_FIELD_IDS | TL_FIELD_TIMES | TL_FIELD_NAME | TL_FIELD_KIND | TL_FIELD_STATUS |
          TL_FIELD_RESOURCE};
  for (size_t m = 0; m < sizeof masks / sizeof *masks; m++) {
    tl_err e = {0};
    tl_batch *b = tl_batch_new();
    tl_batch_add_span(b);
    int rc = tl_block_decode(vt, st, data, size, masks[m], b, &e);
    if (rc != TL_OK) {
      if (rc > 0 || !e.msg[0] || tl_batch_count(b) != 1 || full) abort();
    } else if (full) {
      if (tl_batch_count(b) != tl_batch_count(full)) abort();
      for (size_t i = 1; i < tl_batch_count(b); i++) {
        const tl_span *x = tl_batch_span(b, i), *y = tl_batch_span(full, i);
        if (!x->resource || !x->scope || !same_span_ids_times(x, y)) abort();
        if (!(masks[m] & TL_FIELD_RESOURCE)) continue;
        if (!same_str(x->name, y->name) || x->kind != y->kind ||
            x->status_code != y->status_code || !same_str(x->status_message, y->status_message) ||
            !same_str(x->resource->service, y->resource->service))
          abort();
      }
    }
    tl_batch_free(b);
  }
}

/* decode_cols of data; full: the batch of the full decode (its span 0
** someone else's), NULL when that failed. */
static void fuzz_cols(const tl_codec_vt *vt, void *st, const uint8_t *data, size_t size,
                      tl_batch *full) {
  tl_cols cols;
  memset(&cols, 0, sizeof cols);
  tl_batch *strs = tl_batch_new();
  tl_err e = {0};
  int rc = tl_block_decode_cols(vt, st, data, size, TL_FIELD_IDS | TL_FIELD_TIMES, &cols, strs, &e);
  if (rc != TL_OK) {
    if (rc > 0 || !e.msg[0] || cols.n || full) abort();
  } else if (full) {
    if (cols.n + 1 != tl_batch_count(full)) abort();
    for (size_t i = 0; i < cols.n; i++) {
      const tl_span *y = tl_batch_span(full, i + 1);
      if (memcmp(cols.trace_id[i], y->trace_id, 16) || memcmp(cols.span_id[i], y->span_id, 8) ||
          memcmp(cols.parent_id[i], y->parent_span_id, 8) || cols.start[i] != y->start_ns ||
          cols.end[i] != y->end_ns || cols.flags[i] != y->flags ||
          !same_str(cols.trace_state[i], y->trace_state))
        abort();
    }
  }
  tl_cols_free(&cols);
  tl_batch_free(strs);
}

/* decode_traces of data for the trace of its first span; full as for
** fuzz_cols. */
static void fuzz_traces(const tl_codec_vt *vt, void *st, const uint8_t *data, size_t size,
                        tl_batch *full) {
  uint8_t trace[1][16] = {{0}};
  if (full && tl_batch_count(full) > 1) memcpy(trace[0], tl_batch_span(full, 1)->trace_id, 16);
  tl_batch *b = tl_batch_new();
  tl_batch_add_span(b); /* someone else's, which must stay */
  tl_err e = {0};
  int rc = tl_block_decode_traces(vt, st, data, size, TL_FIELDS_ALL,
                                  (const uint8_t(*)[16])trace, 1, b, &e);
  if (rc != TL_OK) {
    if (rc > 0 || !e.msg[0] || tl_batch_count(b) != 1 || full) abort();
  } else if (full) {
    if (tl_batch_count(b) != tl_batch_count(full)) abort();
    tl_buf x, y;
    tl_buf_init(&x);
    tl_buf_init(&y);
    for (size_t i = 1; i < tl_batch_count(full); i++) {
      const tl_span *p = tl_batch_span(b, i), *q = tl_batch_span(full, i);
      if (!p->resource || !p->scope || !same_span_ids_times(p, q)) abort();
      if (memcmp(q->trace_id, trace[0], 16)) continue;
      tl_buf_reset(&x);
      tl_buf_reset(&y);
      tl_otlp_write_span(&x, p);
      tl_otlp_write_span(&y, q);
      if (x.n != y.n || (x.n && memcmp(x.p, y.p, x.n))) abort();
    }
    tl_buf_free(&x);
    tl_buf_free(&y);
  }
  tl_batch_free(b);
}

/* decode_durations of data[0..size) from its first `first` bytes (or
** all), growing to what it asks for, each time in a buffer of exactly that
** size; the message into e. */
static int fuzz_durations_from(const tl_codec_vt *vt, void *st, const uint8_t *data, size_t size,
                               size_t first, uint64_t *out, size_t *n, tl_err *e) {
  size_t avail = size < first ? size : first, need = 0;
  int rc;
  for (;;) {
    uint8_t *q = malloc(avail ? avail : 1);
    if (!q) abort();
    if (avail) memcpy(q, data, avail);
    rc = tl_block_decode_durations(vt, st, q, avail, size, out, n, &need, e);
    free(q);
    if (rc == TL_EMISUSE) abort(); /* it asked for bytes it had, or past the blob */
    if (rc || !need) return rc;
    if (need <= avail || need > size) abort();
    avail = need;
  }
}

/* decode_durations of data, whole and in prefixes; full as for fuzz_cols. */
static void fuzz_durations(const tl_codec_vt *vt, void *st, const uint8_t *data, size_t size,
                           tl_batch *full) {
  size_t count = 0;
  tl_err e = {0};
  if (tl_block_span_count(data, size, &count, &e)) count = 0;
  uint64_t *whole = malloc((count ? count : 1) * sizeof *whole);
  uint64_t *part = malloc((count ? count : 1) * sizeof *part);
  if (!whole || !part) abort();
  size_t nw = 0, np = 0;
  tl_err_clear(&e);
  int rc = fuzz_durations_from(vt, st, data, size, SIZE_MAX, whole, &nw, &e);
  if (rc > 0 || (rc && (!e.msg[0] || nw))) abort();
  if (full && (rc || nw + 1 != tl_batch_count(full))) abort();
  for (size_t i = 0; full && i < nw; i++) {
    const tl_span *y = tl_batch_span(full, i + 1);
    if (whole[i] != y->end_ns - y->start_ns) abort();
  }
  tl_err ep = {0};
  int rcp = fuzz_durations_from(vt, st, data, size, TL_BLOCK_ENVELOPE_MAX, part, &np, &ep);
  if (rcp != rc || np != nw || (rc && strcmp(e.msg, ep.msg)) ||
      (nw && memcmp(whole, part, nw * sizeof *whole)))
    abort();
  free(whole);
  free(part);
}

/* Decodes data as a block of vt, with dictionary 1 = dict when dict_len. */
static int fuzz_codec(const tl_codec_vt *vt, const uint8_t *dict, size_t dict_len,
                      const uint8_t *data, size_t size) {
  tl_err e = {0};
  void *st = NULL;
  if (vt->create(NULL, &st, &e)) abort();
  if (dict_len && vt->add_dict(st, 1, dict, dict_len, &e)) abort();
  tl_batch *b = tl_batch_new(), *again = tl_batch_new();
  tl_batch_add_span(b); /* a span of someone else's, which must stay */
  tl_buf first, second, blob;
  tl_buf_init(&first);
  tl_buf_init(&second);
  tl_buf_init(&blob);
  int rc = tl_block_decode(vt, st, data, size, TL_FIELDS_ALL, b, &e);
  fuzz_partial(vt, st, data, size, rc == TL_OK ? b : NULL);
  if (vt->decode_cols) fuzz_cols(vt, st, data, size, rc == TL_OK ? b : NULL);
  if (vt->decode_traces) fuzz_traces(vt, st, data, size, rc == TL_OK ? b : NULL);
  if (vt->decode_durations) fuzz_durations(vt, st, data, size, rc == TL_OK ? b : NULL);
  size_t n;
  if (rc != TL_OK) {
    if (rc > 0 || !e.msg[0] || tl_batch_count(b) != 1) abort();
  } else {
    tl_err_clear(&e);
    if (tl_block_span_count(data, size, &n, &e) || tl_batch_count(b) != n + 1) abort();
    tl_span **spans = malloc((n ? n : 1) * sizeof *spans);
    if (!spans) abort();
    for (size_t i = 0; i < n; i++) spans[i] = tl_batch_span(b, i + 1);
    if (tl_block_encode(vt, st, spans, n, &blob, &e) ||
        tl_block_decode(vt, st, (const uint8_t *)blob.p, blob.n, TL_FIELDS_ALL, again, &e) ||
        tl_batch_count(again) != n)
      abort();
    fuzz_ndjson(b, 1, &first);
    fuzz_ndjson(again, 0, &second);
    if (first.n != second.n || (first.n && memcmp(first.p, second.p, first.n) != 0)) abort();
    free(spans);
  }
  tl_buf_free(&first);
  tl_buf_free(&second);
  tl_buf_free(&blob);
  tl_batch_free(b);
  tl_batch_free(again);
  vt->destroy(st);
  return 0;
}

#endif
