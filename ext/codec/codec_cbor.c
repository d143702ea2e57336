/*
** codec_cbor.c — format=cbor (phase 2): the CBOR span payload of
** cbor_spans.c stored as is.  Binary ids, integer times, typed values,
** resources and scopes once per block and repeated strings once per block
** make it several times smaller than the NDJSON baseline while encoding
** and decoding at millions of spans per second.  docs/format.md, section
** "cbor", is the byte layout.
**
** The state is the scratch of cbor_spans.c; the codec has no options and
** no dictionary.  It honours the field mask: a decode that needs only the
** hot fields (ids, times, name, kind, status, links, resource, scope)
** stops after the hot section of a version 2 payload, and fields it does
** not ask for are walked past without being interned.
*/
#include "cbor_spans.h"
#include "codec.h"

static int cbor_create(const tl_codec_opts *opts, void **state, tl_err *e) {
  (void)opts;
  *state = tl_cbor_new();
  return *state ? TL_OK : tl_err_set(e, TL_ENOMEM, "cbor: out of memory");
}

static void cbor_destroy(void *state) { tl_cbor_free(state); }

static int cbor_encode(void *state, tl_span *const *spans, size_t n, tl_buf *out, tl_err *e) {
  return tl_cbor_encode(state, spans, n, out, NULL, e);
}

static int cbor_decode(void *state, const uint8_t *p, size_t len, size_t n, uint32_t fields,
                       tl_batch *b, tl_err *e) {
  return tl_cbor_decode(state, p, len, n, fields, b, e);
}

static int cbor_decode_cols(void *state, const uint8_t *p, size_t len, size_t n, uint32_t fields,
                            tl_cols *out, tl_batch *b, tl_err *e) {
  return tl_cbor_decode_cols(state, p, len, 0, n, fields, out, b, e);
}

const tl_codec_vt tl_codec_cbor = {
    .name = "cbor",
    .id = TL_CODEC_CBOR,
    /* 2: hot and cold sections (cbor_spans.h); version 1 payloads are
    ** still read, told apart by the payload itself. */
    .version = 2,
    .partial = 1,
    .create = cbor_create,
    .destroy = cbor_destroy,
    .encode = cbor_encode,
    .decode = cbor_decode,
    .decode_cols = cbor_decode_cols,
};
