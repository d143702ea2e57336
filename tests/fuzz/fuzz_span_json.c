/*
** fuzz_span_json.c — arbitrary bytes to the parsers of span_json.h.
**
** The first byte picks the column (attributes, resource, scope, events,
** links, dropped); the rest is its text.  Besides "never crash, hang or
** read out of bounds", a text that parses must be at a fixed point after one
** trip through the writer: parse(t) written is w1, parse(w1) must succeed
** and be written as w1 again (abort() otherwise).
*/
#include "../../ext/span/span_json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses text as column col into a fresh span of b and writes it to out. */
static int parse_write(tl_batch *b, int col, const char *text, size_t n, tl_buf *out) {
  tl_span *s = tl_batch_add_span(b);
  tl_err e;
  int rc;
  if (!s) return TL_ENOMEM;
  tl_err_clear(&e);
  switch (col) {
    case 0:
      if (!(rc = tl_parse_attrs(b, text, n, &s->attrs, &e))) tl_json_attrs(out, &s->attrs);
      break;
    case 1: {
      tl_resource *r;
      if (!(rc = tl_parse_resource(b, text, n, &r, &e))) tl_json_resource(out, r);
      break;
    }
    case 2: {
      tl_scope *sc;
      if (!(rc = tl_parse_scope(b, text, n, &sc, &e))) tl_json_scope(out, sc);
      break;
    }
    case 3:
      if (!(rc = tl_parse_events(b, text, n, s, &e))) tl_json_events(out, s);
      break;
    case 4:
      if (!(rc = tl_parse_links(b, text, n, s, &e))) tl_json_links(out, s);
      break;
    default:
      if (!(rc = tl_parse_dropped(text, n, s, &e))) tl_json_dropped(out, s);
      break;
  }
  /* A failure must say why, and only a format error is expected here. */
  if (rc && (e.rc != rc || !e.msg[0] || (rc != TL_EFORMAT && rc != TL_ENOMEM))) abort();
  return rc ? rc : out->oom ? TL_ENOMEM : TL_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int col = data[0] % 6;
  tl_batch *b = tl_batch_new();
  tl_buf w1, w2;
  tl_buf_init(&w1);
  tl_buf_init(&w2);
  if (b && parse_write(b, col, (const char *)data + 1, size - 1, &w1) == TL_OK) {
    int rc = parse_write(b, col, w1.p, w1.n, &w2);
    if (rc == TL_EFORMAT) abort();
    if (rc == TL_OK && (w1.n != w2.n || (w1.n && memcmp(w1.p, w2.p, w1.n) != 0))) abort();
  }
  tl_buf_free(&w1);
  tl_buf_free(&w2);
  tl_batch_free(b);
  return 0;
}
