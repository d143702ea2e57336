/*
** fuzz_zipkin.c — libFuzzer target for the Zipkin v2 JSON reader: any bytes
** (plain, or gzip/zstd that tl_input unpacks) go through tl_zipkin_reader
** in small batches until it is done or fails.  It must never crash, leak or
** read out of bounds, every span it yields must have a resource and scope,
** and an error must come with a message.  Replayed by build/replay/fuzz_zipkin
** over testdata/fuzz/fuzz_zipkin/.
*/
#include "../../ext/io/reader.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tl_err e = {0};
  tl_input *in;
  void *st;
  if (tl_input_open_mem(&in, data, size, "fuzz.json", &e)) return 0;
  if (tl_zipkin_reader.open(in, &st, &e) == TL_OK) {
    tl_batch *b = tl_batch_new();
    int rc = TL_OK;
    /* Batches of 3 exercise the resume position and re-made resources. */
    while (b && rc == TL_OK) {
      rc = tl_zipkin_reader.next(st, b, 3, &e);
      for (size_t i = 0; i < tl_batch_count(b); i++) {
        const tl_span *s = tl_batch_span(b, i);
        if (!s->resource || !s->scope) abort();
      }
      tl_batch_reset(b);
    }
    if (rc < 0 && !e.msg[0]) abort();
    tl_batch_free(b);
    tl_zipkin_reader.close(st);
  } else if (!e.msg[0]) {
    abort();
  }
  tl_input_close(in);
  return 0;
}
