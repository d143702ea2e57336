/*
** fuzz_codec.h — the property the codec fuzz targets (fuzz_codec_ndjson.c,
** fuzz_codec_cbor.c, fuzz_codec_cbor_zstd.c) check on arbitrary bytes given
** to tl_block_decode as a block of their codec:
**   - it never crashes, leaks, hangs or reads out of bounds;
**   - on error it returns a negative code with a message and leaves no span
**     in the batch (one span put there before stays);
**   - on success it appended exactly the span count of the envelope, every
**     span with a resource and a scope, and the spans encode again into a
**     block that decodes to the same canonical NDJSON.
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
