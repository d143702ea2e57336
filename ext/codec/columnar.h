/*
** columnar.h — the columnar codec's one entry point beyond its tl_codec_vt
** (codec.h): the streams of a block, for tracelite_columns()
** (columns_sql.c), which shows where a table's bytes go.
*/
#ifndef TL_COLUMNAR_H
#define TL_COLUMNAR_H

#include "codec.h"

/* name: "span_ids", "start_ns", "attributes.http.route", ...; stored: bytes
** in the block; raw: bytes once decompressed. */
typedef void (*tl_columnar_stream_fn)(void *ctx, const char *name, size_t stored, size_t raw);

/* Calls fn for every stream of a columnar block blob (envelope included)
** in directory order.  state is a columnar codec state that knows the
** table's dictionaries (add_dict).  TL_EFORMAT for a blob that is not a
** well-formed columnar block. */
int tl_columnar_streams(void *state, const uint8_t *blob, size_t len, tl_columnar_stream_fn fn,
                        void *ctx, tl_err *e);

#endif
