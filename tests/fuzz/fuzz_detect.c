/*
** fuzz_detect.c — arbitrary bytes through format detection and whichever
** reader it picks (OTLP, Jaeger, Zipkin or CSV), every span read.  Being
** the one target that reaches every importer from raw bytes, it also
** checks what all of them promise: no crash, hang or leak, an error always
** carries a message, and every span has a resource and a scope.
*/
#include <stdint.h>
#include <stdlib.h>

#include "../../ext/io/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tl_err e = {0};
  tl_input *in;
  tl_reader *r;
  if (tl_input_open_mem(&in, data, size, "fuzz", &e)) return 0;
  if (tl_reader_open(&r, in, TL_FMT_AUTO, &e)) {
    if (!e.msg[0]) abort();
    return 0;
  }
  tl_batch *b = tl_batch_new();
  int rc;
  do {
    rc = tl_reader_next(r, b, 64, &e);
    for (size_t i = 0; i < tl_batch_count(b); i++) {
      const tl_span *s = tl_batch_span(b, i);
      if (!s->resource || !s->scope) abort();
    }
    tl_batch_reset(b);
  } while (rc == TL_OK);
  if (rc < 0 && !e.msg[0]) abort();
  tl_batch_free(b);
  tl_reader_close(r);
  return 0;
}
