/*
** cbor_spans.h — the CBOR encoding of a run of spans, shared by the cbor
** codec (which stores it as is) and the cbor_zstd codec (which compresses
** it).  docs/format.md, section "cbor", has the byte layout.
**
** The payload is one CBOR item: a stringref namespace (tag 256) around
** [resources, scopes, spans].  Each resource and scope is written once and
** spans refer to it by index; a text or byte string that repeats (a trace
** id, an attribute key, a service name) is written once and then referred
** to by its number (tag 25, http://cbor.schmorp.de/stringref).
**
** A tl_cbor holds the scratch memory of both directions (hash tables, the
** decoder's string table) so that encoding or decoding a block allocates
** nothing once the scratch has grown to the block size.  One per codec
** state; not shared between threads.
*/
#ifndef TL_CBOR_SPANS_H
#define TL_CBOR_SPANS_H

#include "../common/buf.h"
#include "../span/span.h"

typedef struct tl_cbor tl_cbor;

tl_cbor *tl_cbor_new(void);
void tl_cbor_free(tl_cbor *c);

/* Appends the payload of spans[0..n) to out.  TL_ERANGE when a value is
** nested deeper than TL_MAX_DEPTH, TL_ENOMEM; on error out is left as it
** was. */
int tl_cbor_encode(tl_cbor *c, tl_span *const *spans, size_t n, tl_buf *out, tl_err *e);

/* Decodes a payload that must hold exactly n spans, appending them to b.
** fields (TL_FIELD_*, codec.h) says what the caller needs: the name, the
** status message, attributes, events and links it leaves out are walked
** past without being interned or checked beyond what the walk needs; ids,
** times, kind, status code, resource and scope are always decoded.
** Hostile input gives TL_EFORMAT (or TL_ERANGE past a limit) with the byte
** offset in the message, and leaves no span of this payload in b. */
int tl_cbor_decode(tl_cbor *c, const uint8_t *p, size_t len, size_t n, uint32_t fields,
                   tl_batch *b, tl_err *e);

#endif
