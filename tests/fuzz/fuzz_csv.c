/*
** fuzz_csv.c — arbitrary bytes through the input layer (plain, zstd or
** gzip by magic) and the CSV span-table reader, read to the end in small
** batches.  Property: no crash, hang, leak or out-of-bounds access; every
** failure is a TL_ code with a message.
*/
#include <stdint.h>
#include <stdlib.h>

#include "../../ext/io/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tl_err e = {0};
  tl_input *in;
  tl_reader *r;
  if (tl_input_open_mem(&in, data, size, "fuzz.csv", &e)) return 0;
  if (tl_reader_open(&r, in, TL_FMT_CSV, &e)) {
    if (!e.msg[0]) abort(); /* an error always says why */
    return 0;
  }
  tl_batch *b = tl_batch_new();
  int rc;
  /* Batches of 7 so records straddle calls and resources are re-interned. */
  while ((rc = tl_reader_next(r, b, 7, &e)) == TL_OK) {
    for (size_t i = 0; i < tl_batch_count(b); i++)
      if (!tl_batch_span(b, i)->resource) abort();
    tl_batch_reset(b);
  }
  if (rc < 0 && !e.msg[0]) abort();
  tl_batch_free(b);
  tl_reader_close(r);
  return 0;
}
