/*
** fuzz_sketch.c — arbitrary bytes to the sketch blob decoder of
** ext/analysis/sketch.h (what sketch_merge(), sketch_quantile() and
** sketch_count() read from any blob a user hands them).
**
** Besides "never crash, hang or read out of bounds": a refused blob says
** why (TL_EFORMAT with a message); an accepted one re-encodes to exactly
** the input bytes (the format is canonical), answers quantiles that are
** finite, not negative and non-decreasing in q, and survives a merge with
** itself and the unmerge back to the same bytes.  Any broken property is
** an abort().
*/
#include "../../ext/analysis/sketch.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same_bytes(const tl_sketch *s, const uint8_t *data, size_t size) {
  tl_buf b;
  tl_buf_init(&b);
  tl_sketch_encode(s, &b);
  if (b.oom) abort();
  if (b.n != size || (size && memcmp(b.p, data, size) != 0)) abort();
  tl_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tl_sketch s;
  tl_err e = {0};
  int rc = tl_sketch_decode(&s, data, size, &e);
  if (rc != TL_OK) {
    if ((rc != TL_EFORMAT && rc != TL_ENOMEM) || e.rc != rc || !e.msg[0]) abort();
    tl_sketch_free(&s);
    return 0;
  }
  check_same_bytes(&s, data, size);

  static const double qs[] = {0, 0.001, 0.25, 0.5, 0.9, 0.99, 1};
  double prev = 0;
  for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
    double v;
    rc = tl_sketch_quantile(&s, qs[k], &v);
    if (rc == TL_DONE && s.total == 0) continue;
    if (rc != TL_OK || !isfinite(v) || v < prev) abort();
    prev = v;
  }

  tl_sketch twin;
  tl_err me = {0};
  if (tl_sketch_decode(&twin, data, size, &me) != TL_OK) abort();
  rc = tl_sketch_merge(&s, &twin, &me);
  if (rc == TL_OK) {
    if (tl_sketch_unmerge(&s, &twin) != TL_OK) abort();
    check_same_bytes(&s, data, size);
  } else if (rc != TL_ERANGE || !me.msg[0]) { /* only the count may overflow */
    abort();
  }
  tl_sketch_free(&twin);
  tl_sketch_free(&s);
  return 0;
}
