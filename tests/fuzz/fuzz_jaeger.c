/*
** fuzz_jaeger.c — libFuzzer target for the Jaeger JSON reader: arbitrary
** bytes (plain, or zstd/gzip: tl_input_open_mem detects them) are read with
** tl_jaeger_reader until it is done or fails.  Every span produced is walked
** so that ASan sees any dangling or out-of-bounds pointer the reader left
** in a batch; the batch is reset between calls, as trace_file() does.
** Seeds: testdata/fuzz/fuzz_jaeger/ (one small document per Jaeger shape).
*/
#include <stddef.h>
#include <stdint.h>

#include "../../ext/io/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t touch_str(tl_str s) {
  size_t h = s.len;
  for (uint32_t i = 0; i < s.len; i++) h = h * 31 + (unsigned char)s.ptr[i];
  return h;
}

static size_t touch_value(const tl_value *v) {
  switch (v->type) {
    case TL_V_STRING:
    case TL_V_BYTES: return touch_str(v->u.s);
    case TL_V_ARRAY: {
      size_t h = 0;
      for (uint32_t i = 0; i < v->u.arr.n; i++) h += touch_value(&v->u.arr.items[i]);
      return h;
    }
    default: return v->type;
  }
}

static size_t touch_attrs(const tl_attrs *a) {
  size_t h = 0;
  for (uint32_t i = 0; i < a->n; i++)
    h += touch_str(a->items[i].key) + touch_value(&a->items[i].value);
  return h;
}

static size_t touch_span(const tl_span *s) {
  size_t h = touch_str(s->name) + touch_str(s->status_message) + touch_attrs(&s->attrs) +
             touch_attrs(&s->resource->attrs) + touch_str(s->resource->service) +
             touch_str(s->scope->name) + touch_str(s->scope->version);
  for (uint32_t i = 0; i < s->n_events; i++)
    h += touch_str(s->events[i].name) + touch_attrs(&s->events[i].attrs);
  for (uint32_t i = 0; i < s->n_links; i++) h += touch_attrs(&s->links[i].attrs);
  return h + s->end_ns - s->start_ns;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tl_err e = {0};
  tl_input *in;
  if (tl_input_open_mem(&in, data, size, "fuzz.json", &e)) return 0;
  void *st;
  if (tl_jaeger_reader.open(in, &st, &e) == TL_OK) {
    tl_batch *b = tl_batch_new();
    volatile size_t sink = 0;
    int rc = b ? TL_OK : TL_ENOMEM;
    while (rc == TL_OK) {
      rc = tl_jaeger_reader.next(st, b, 3, &e);
      for (size_t i = 0; i < tl_batch_count(b); i++) sink += touch_span(tl_batch_span(b, i));
      tl_batch_reset(b);
    }
    (void)sink;
    tl_batch_free(b);
    tl_jaeger_reader.close(st);
  }
  tl_input_close(in);
  return 0;
}
