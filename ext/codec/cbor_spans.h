/*
** cbor_spans.h — the CBOR encoding of a run of spans, shared by the cbor
** codec (which stores it as is) and the cbor_zstd codec (which compresses
** it).  docs/format.md, section "cbor", has the byte layout.
**
** The payload is one CBOR item: a stringref namespace (tag 256) around
** [resources, scopes, hot spans, cold spans] (version 2; version 1, still
** read, has one list of whole spans instead of the two).  Each resource
** and scope is written once and spans refer to it by index; a text or
** byte string that repeats (a trace id, an attribute key, a service name)
** is written once and then referred to by its number (tag 25,
** http://cbor.schmorp.de/stringref).  The hot part of a span is what
** aggregates and analyses read (ids, times, name, kind, status, links,
** resource, scope); the cold part is the rest (attributes, events,
** dropped counts).  All hot parts come first, so a decode that needs only
** them stops there, and cbor_zstd compresses the two sections apart.
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
#include "codec.h"

typedef struct tl_cbor tl_cbor;

tl_cbor *tl_cbor_new(void);
void tl_cbor_free(tl_cbor *c);

/* Appends the (version 2) payload of spans[0..n) to out, and when hot_len
** is not NULL the length of its hot section (from the payload's first byte
** to the end of the hot spans; the cold spans are the rest).  TL_ERANGE
** when a value is nested deeper than TL_MAX_DEPTH, TL_ENOMEM; on error out
** is left as it was. */
int tl_cbor_encode(tl_cbor *c, tl_span *const *spans, size_t n, tl_buf *out, size_t *hot_len,
                   tl_err *e);

/* Whether a decode of these TL_FIELD_* (codec.h) reads only the hot
** section of a version 2 payload: none of attributes, events, dropped
** counts. */
int tl_cbor_hot_only(uint32_t fields);

/* Decodes a whole payload (version 1 or 2; the payload tells which) that
** must hold exactly n spans, appending them to b.  fields (TL_FIELD_*)
** says what the caller needs: the name, the status message, attributes,
** events and links it leaves out are walked past without being interned
** or checked beyond what the walk needs, and a version 2 decode that
** needs only hot fields stops after the hot spans (the cold section is
** not looked at).  Ids, times, kind, status code, resource and scope are
** always decoded.  Hostile input gives TL_EFORMAT (or TL_ERANGE past a
** limit) with the byte offset in the message, and leaves no span of this
** payload in b. */
int tl_cbor_decode(tl_cbor *c, const uint8_t *p, size_t len, size_t n, uint32_t fields,
                   tl_batch *b, tl_err *e);

/* The same for a version 2 payload whose hot section must be exactly
** p[0..hot_len): p[0..len) is the hot section alone when
** tl_cbor_hot_only(fields) (len == hot_len), the whole payload otherwise
** (TL_EMISUSE when that does not hold).  hot_len 0: tl_cbor_decode (a
** payload whose sections are not known apart, either version). */
int tl_cbor_decode_split(tl_cbor *c, const uint8_t *p, size_t len, size_t hot_len, size_t n,
                         uint32_t fields, tl_batch *b, tl_err *e);

/* What tl_cbor_decode gives of the ids and times (those of TL_FIELD_IDS
** only when asked) into the arrays of out (codec.h, decode_cols), span i
** at index i; out->n = n.  p[0..len) is a whole payload of either version
** (hot_len 0) or the hot section alone of a version 2 one (hot_len ==
** len).  Only the hot spans are read; strings (trace states) are interned
** in b.  Same hostile-input promise as tl_cbor_decode. */
int tl_cbor_decode_cols(tl_cbor *c, const uint8_t *p, size_t len, size_t hot_len, size_t n,
                        uint32_t fields, tl_cols *out, tl_batch *b, tl_err *e);

#endif
