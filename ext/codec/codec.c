/*
** codec.c — the codec registry and the block envelope (codec.h).
**
** Every block blob starts with the same few bytes whatever the codec, so
** that a blob is recognised, refused with a clear message when it belongs
** to another codec or to a newer version of tracelite, and counted without
** decoding (tl_block_span_count).  docs/format.md, section "Block
** envelope", is the byte layout:
**
**   "TLB\x01"  codec id (1 byte)  payload version (1 byte)
**   span count (LEB128, <= TL_BLOCK_MAX_SPANS)  payload...
**
** The envelope also holds each codec to its contract: after a successful
** decode exactly the span count was appended to the batch.
*/
#include "codec.h"
#include "../common/varint.h"

#include <stdlib.h>
#include <string.h>

static const tl_codec_vt *const codecs[] = {&tl_codec_ndjson, &tl_codec_cbor,
                                            &tl_codec_cbor_zstd, &tl_codec_relational,
                                            &tl_codec_columnar};
#define N_CODECS (sizeof codecs / sizeof codecs[0])

const tl_codec_vt *tl_codec_by_name(const char *name) {
  for (size_t i = 0; name && i < N_CODECS; i++)
    if (strcmp(codecs[i]->name, name) == 0) return codecs[i];
  return NULL;
}

const tl_codec_vt *tl_codec_by_id(int id) {
  for (size_t i = 0; i < N_CODECS; i++)
    if (codecs[i]->id == id) return codecs[i];
  return NULL;
}

static const char *codec_name(int id) {
  const tl_codec_vt *vt = tl_codec_by_id(id);
  return vt ? vt->name : "unknown";
}

int tl_block_encode(const tl_codec_vt *vt, void *state, tl_span *const *spans, size_t n,
                    tl_buf *out, tl_err *e) {
  if (n > TL_BLOCK_MAX_SPANS)
    return tl_err_set(e, TL_ERANGE, "block: %zu spans, at most %u fit in one block", n,
                      TL_BLOCK_MAX_SPANS);
  size_t start = out->n;
  tl_buf_append(out, TL_BLOCK_MAGIC, 4);
  tl_buf_putc(out, (char)vt->id);
  tl_buf_putc(out, (char)vt->version);
  tl_buf_varint(out, n);
  int rc = out->oom ? tl_err_set(e, TL_ENOMEM, "block: out of memory")
                    : vt->encode(state, spans, n, out, e);
  if (!rc && out->oom) rc = tl_err_set(e, TL_ENOMEM, "%s: out of memory", vt->name);
  if (rc) out->n = start;
  return rc;
}

/* Reads the envelope; *payload is where the codec's bytes start. */
static int read_envelope(const uint8_t *blob, size_t len, uint8_t *id, uint8_t *version,
                         size_t *n, size_t *payload, tl_err *e) {
  tl_rd r;
  tl_rd_init(&r, blob, len);
  const uint8_t *magic = tl_rd_bytes(&r, 4);
  if (!magic || memcmp(magic, TL_BLOCK_MAGIC, 4) != 0)
    return tl_err_set(e, TL_EFORMAT, "block: %s", magic ? "bad magic (not a tracelite block)"
                                                        : "truncated envelope");
  *id = tl_rd_u8(&r);
  *version = tl_rd_u8(&r);
  uint64_t count = tl_rd_varint(&r);
  if (r.err) return tl_err_set(e, TL_EFORMAT, "block: truncated envelope");
  if (count > TL_BLOCK_MAX_SPANS)
    return tl_err_set(e, TL_EFORMAT, "block: span count %llu is past the limit of %u",
                      (unsigned long long)count, TL_BLOCK_MAX_SPANS);
  *n = (size_t)count;
  *payload = len - tl_rd_left(&r);
  return TL_OK;
}

int tl_block_span_count(const uint8_t *blob, size_t len, size_t *n, tl_err *e) {
  uint8_t id, version;
  size_t payload;
  return read_envelope(blob, len, &id, &version, n, &payload, e);
}

/* The envelope of blob checked for vt: the span count and where the
** payload starts. */
static int check_envelope(const tl_codec_vt *vt, const uint8_t *blob, size_t len, size_t *n,
                          size_t *payload, tl_err *e) {
  uint8_t id, version;
  int rc = read_envelope(blob, len, &id, &version, n, payload, e);
  if (rc) return rc;
  if (id != vt->id)
    return tl_err_set(e, TL_EFORMAT, "block: written by codec %u (%s), this table reads %s", id,
                      codec_name(id), vt->name);
  if (version == 0 || version > vt->version)
    return tl_err_set(e, TL_EFORMAT,
                      "block: %s payload version %u, this build reads versions 1 to %u "
                      "(written by a newer tracelite?)",
                      vt->name, version, vt->version);
  return TL_OK;
}

int tl_block_decode(const tl_codec_vt *vt, void *state, const uint8_t *blob, size_t len,
                    uint32_t fields, tl_batch *b, tl_err *e) {
  return tl_block_decode_traces(vt, state, blob, len, fields, NULL, 0, b, e);
}

int tl_block_decode_traces(const tl_codec_vt *vt, void *state, const uint8_t *blob, size_t len,
                           uint32_t fields, const uint8_t (*traces)[16], size_t ntraces,
                           tl_batch *b, tl_err *e) {
  size_t n, payload;
  int rc = check_envelope(vt, blob, len, &n, &payload, e);
  if (rc) return rc;
  size_t before = tl_batch_count(b);
  if (traces && vt->decode_traces)
    rc = vt->decode_traces(state, blob + payload, len - payload, n, fields, traces, ntraces, b, e);
  else
    rc = vt->decode(state, blob + payload, len - payload, n, fields, b, e);
  if (!rc && tl_batch_count(b) - before != n)
    rc = tl_err_set(e, TL_EFORMAT, "block: %s decoded %zu spans, the envelope says %zu",
                    vt->name, tl_batch_count(b) - before, n);
  if (rc)
    while (tl_batch_count(b) > before) tl_batch_pop_span(b);
  return rc;
}

int tl_block_decode_cols(const tl_codec_vt *vt, void *state, const uint8_t *blob, size_t len,
                         uint32_t fields, tl_cols *out, tl_batch *b, tl_err *e) {
  size_t n, payload;
  int rc = check_envelope(vt, blob, len, &n, &payload, e);
  out->n = 0;
  if (!rc) rc = vt->decode_cols(state, blob + payload, len - payload, n, fields, out, b, e);
  if (!rc && out->n != n)
    rc = tl_err_set(e, TL_EFORMAT, "block: %s decoded %zu spans, the envelope says %zu",
                    vt->name, out->n, n);
  if (rc) out->n = 0;
  return rc;
}

int tl_block_decode_durations(const tl_codec_vt *vt, void *state, const uint8_t *blob,
                              size_t avail, size_t len, uint64_t *out, size_t *n, size_t *need,
                              tl_err *e) {
  size_t payload;
  *need = 0;
  *n = 0;
  int rc = check_envelope(vt, blob, avail, n, &payload, e);
  if (rc && avail < len && avail < TL_BLOCK_ENVELOPE_MAX)
    return tl_err_set(e, TL_EMISUSE, "block: %zu bytes read of %zu, too few for the envelope",
                      avail, len);
  if (!rc)
    rc = vt->decode_durations(state, blob + payload, avail - payload, len - payload, *n, out,
                              need, e);
  if (!rc && *need) {
    if (*need <= avail - payload || *need > len - payload)
      rc = tl_err_set(e, TL_EMISUSE, "block: %s asked for %zu payload bytes of %zu, having %zu",
                      vt->name, *need, len - payload, avail - payload);
    else
      *need += payload;
  }
  if (rc) *n = *need = 0;
  return rc;
}

int tl_cols_reserve(tl_cols *c, size_t n) {
  if (n <= c->cap && c->trace_id) return TL_OK;
  size_t cap = c->cap ? c->cap : 1024;
  while (cap < n) cap *= 2;
  /* Each array on its own: a failed realloc leaves the old one valid. */
  void *p;
#define GROW(field)                                        \
  if (!(p = realloc(c->field, cap * sizeof *c->field))) return TL_ENOMEM; \
  c->field = p;
  GROW(trace_id) GROW(span_id) GROW(parent_id) GROW(start) GROW(end) GROW(duration) GROW(flags)
  GROW(trace_state)
#undef GROW
  c->cap = cap;
  return TL_OK;
}

void tl_cols_free(tl_cols *c) {
  free(c->trace_id);
  free(c->span_id);
  free(c->parent_id);
  free(c->start);
  free(c->end);
  free(c->duration);
  free(c->flags);
  free(c->trace_state);
  memset(c, 0, sizeof *c);
}
