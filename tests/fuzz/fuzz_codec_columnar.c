/*
** fuzz_codec_columnar.c — libFuzzer target: arbitrary bytes as a columnar
** block (the stream directory, integer columns, operations, attribute
** columns of ext/codec/codec_columnar.c and its columnar_*.c files), with
** FUZZ_DICT known as dictionary 1 so that blocks naming it reach zstd's
** dictionary code; checked as fuzz_codec.h says.  Replayed by
** build/replay/fuzz_codec_columnar over testdata/fuzz/fuzz_codec_columnar/,
** whose seeds are small valid blocks written by the codec (every value
** type, typical and generated spans, times in their own units, with and
** without the dictionary): `TL_WRITE_SEEDS=1 build/tests/test_codec_columnar`
** writes them again after a format change.
**
** decode_traces (the spans of one trace filled in) gets the same bytes
** (decode_cols does in fuzz_codec.h): it obeys the hostile-input rules,
** succeeds whenever the full decode does, and then gives exactly what the
** full decode gives: the spans of the trace asked for field by field (as
** canonical NDJSON), the ids and times of the others.
*/
#include "fuzz_codec.h"
#include "fuzz_codec_columnar_dict.h"

static void new_columnar(void **st) {
  tl_err e = {0};
  if (tl_codec_columnar.create(NULL, st, &e) ||
      tl_codec_columnar.add_dict(*st, 1, (const uint8_t *)FUZZ_DICT, sizeof FUZZ_DICT - 1, &e))
    abort();
}

static int same_span_ids_times(const tl_span *x, const tl_span *y) {
  return !memcmp(x->trace_id, y->trace_id, 16) && !memcmp(x->span_id, y->span_id, 8) &&
         !memcmp(x->parent_span_id, y->parent_span_id, 8) && x->start_ns == y->start_ns &&
         x->end_ns == y->end_ns;
}

static void fuzz_traces(void *st, const uint8_t *data, size_t size, tl_batch *full) {
  uint8_t trace[1][16] = {{0}};
  if (full && tl_batch_count(full)) memcpy(trace[0], tl_batch_span(full, 0)->trace_id, 16);
  tl_batch *b = tl_batch_new();
  tl_batch_add_span(b); /* someone else's, which must stay */
  tl_err e = {0};
  int rc = tl_block_decode_traces(&tl_codec_columnar, st, data, size, TL_FIELDS_ALL,
                                  (const uint8_t(*)[16])trace, 1, b, &e);
  if (rc != TL_OK) {
    if (rc > 0 || !e.msg[0] || tl_batch_count(b) != 1 || full) abort();
  } else if (full) {
    if (tl_batch_count(b) != tl_batch_count(full) + 1) abort();
    tl_buf x, y;
    tl_buf_init(&x);
    tl_buf_init(&y);
    for (size_t i = 0; i < tl_batch_count(full); i++) {
      const tl_span *p = tl_batch_span(b, i + 1), *q = tl_batch_span(full, i);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_codec(&tl_codec_columnar, (const uint8_t *)FUZZ_DICT, sizeof FUZZ_DICT - 1, data, size);
  void *st;
  new_columnar(&st);
  tl_err e = {0};
  tl_batch *full = tl_batch_new();
  int ok = tl_block_decode(&tl_codec_columnar, st, data, size, TL_FIELDS_ALL, full, &e) == TL_OK;
  fuzz_traces(st, data, size, ok ? full : NULL);
  tl_batch_free(full);
  tl_codec_columnar.destroy(st);
  return 0;
}
