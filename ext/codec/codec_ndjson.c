/*
** codec_ndjson.c — format=ndjson (phase 1), the 1x baseline every ratio is
** measured against: the payload is exactly the canonical OTLP NDJSON lines
** of the block's spans (tl_otlp_write_span: one ExportTraceServiceRequest
** per span, resource and scope repeated on every line), which is also what
** trace_export() writes.  Decoding is the OTLP importer reading those lines
** from memory, so the baseline pays what an NDJSON user pays.
**
** The payload must start with '{' (the input layer would otherwise take a
** zstd or gzip magic number at the start as compressed data, which no
** block this codec writes is) and end with "\n" (a block cut right after
** its last span is still a cut block).  The codec has no state.
*/
#include "codec.h"
#include "../io/otlp_write.h"
#include "../io/reader.h"

static int ndjson_create(const tl_codec_opts *opts, void **state, tl_err *e) {
  (void)opts;
  (void)e;
  *state = NULL;
  return TL_OK;
}

static void ndjson_destroy(void *state) { (void)state; }

static int ndjson_encode(void *state, tl_span *const *spans, size_t n, tl_buf *out,
                         tl_err *e) {
  (void)state;
  for (size_t i = 0; i < n; i++) tl_otlp_write_span(out, spans[i]);
  return out->oom ? tl_err_set(e, TL_ENOMEM, "ndjson: out of memory") : TL_OK;
}

/* Reads every span of the payload into b; the count is checked by the
** caller, which also takes the spans back out on error. */
static int read_lines(const uint8_t *p, size_t len, size_t n, tl_batch *b, size_t before,
                      tl_err *e) {
  tl_input *in;
  tl_reader *r;
  int rc = tl_input_open_mem(&in, p, len, "ndjson block", e);
  if (rc) return rc;
  if ((rc = tl_reader_open(&r, in, TL_FMT_OTLP, e))) return rc;
  /* Asking for one span more than the block holds reveals extra lines. */
  while (rc == TL_OK && tl_batch_count(b) - before <= n)
    rc = tl_reader_next(r, b, n + 1 - (tl_batch_count(b) - before), e);
  tl_reader_close(r);
  return rc < 0 ? rc : TL_OK;
}

static int ndjson_decode(void *state, const uint8_t *p, size_t len, size_t n, uint32_t fields,
                         tl_batch *b, tl_err *e) {
  (void)state;
  (void)fields;
  size_t before = tl_batch_count(b);
  int rc = TL_OK;
  if (len && p[0] != '{')
    return tl_err_set(e, TL_EFORMAT, "ndjson payload: does not start with '{'");
  if (len && p[len - 1] != '\n')
    return tl_err_set(e, TL_EFORMAT, "ndjson payload: does not end with a newline (truncated?)");
  if (len) rc = read_lines(p, len, n, b, before, e);
  size_t got = tl_batch_count(b) - before;
  if (!rc && got > n)
    rc = tl_err_set(e, TL_EFORMAT, "ndjson payload: more spans than the %zu the block says", n);
  else if (!rc && got < n)
    rc = tl_err_set(e, TL_EFORMAT, "ndjson payload: %zu spans, the block says %zu", got, n);
  if (rc)
    while (tl_batch_count(b) > before) tl_batch_pop_span(b);
  return rc;
}

const tl_codec_vt tl_codec_ndjson = {
    .name = "ndjson",
    .id = TL_CODEC_NDJSON,
    .version = 1,
    .partial = 0,
    .create = ndjson_create,
    .destroy = ndjson_destroy,
    .encode = ndjson_encode,
    .decode = ndjson_decode,
};
