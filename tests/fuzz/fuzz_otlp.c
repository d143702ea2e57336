/*
** fuzz_otlp.c — libFuzzer target for the OTLP JSON reader and the canonical
** writer.  Two properties:
**   1. any bytes (plain, or zstd/gzip as tl_input detects them) are read to
**      the end or to an error without a crash, leak or sanitizer report;
**   2. when they read without error, the canonical text written for every
**      span reads back, and writing it again gives the same bytes: the
**      canonical form is a fixed point (abort() otherwise).
** The first byte also picks the number of spans per next() call (1..7), so
** the reader's resumption inside a request is exercised.  The seed corpus
** is testdata/fuzz/fuzz_otlp/; tests/fuzz/replay.c replays it in make test.
*/
#include "../../ext/io/otlp_write.h"
#include "../../ext/io/reader.h"

#include <stdlib.h>
#include <string.h>

/* Reads p[0..n) to the end, appending the canonical line of every span to
** out; returns the last result of next() (TL_DONE when all went well). */
static int canonical(const void *p, size_t n, size_t max, tl_buf *out) {
  tl_err e = {0};
  tl_input *in = NULL;
  void *st = NULL;
  int rc = tl_input_open_mem(&in, p, n, "fuzz", &e);
  if (rc) return rc;
  rc = tl_otlp_reader.open(in, &st, &e);
  if (rc == TL_OK) {
    tl_batch *b = tl_batch_new();
    if (!b) abort();
    do {
      tl_batch_reset(b);
      rc = tl_otlp_reader.next(st, b, max, &e);
      for (size_t i = 0; i < tl_batch_count(b); i++) tl_otlp_write_span(out, tl_batch_span(b, i));
    } while (rc == TL_OK);
    tl_batch_free(b);
    tl_otlp_reader.close(st);
  }
  tl_input_close(in);
  if (out->oom) abort();
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tl_buf first, second;
  tl_buf_init(&first);
  tl_buf_init(&second);
  size_t max = size ? (size_t)(data[0] % 7) + 1 : 1;
  if (canonical(data, size, max, &first) == TL_DONE) {
    if (canonical(first.p ? first.p : "", first.n, 3, &second) != TL_DONE) abort();
    if (first.n != second.n || (first.n && memcmp(first.p, second.p, first.n) != 0)) abort();
  }
  tl_buf_free(&first);
  tl_buf_free(&second);
  return 0;
}
