/*
** otlp_write.h — canonical OTLP JSON out: the NDJSON baseline.
**
** One line per span, each line a complete ExportTraceServiceRequest holding
** that one span with its resource and scope repeated, in a fixed canonical
** form: keys in proto field order, ids as lowercase hex, 64-bit integers as
** decimal strings (proto3 JSON mapping), default and empty values omitted.
** This is exactly what trace_export() writes and what format=ndjson stores;
** every compression ratio of tracelite is measured against it.  Reading a
** line back with the OTLP reader gives the same span.
*/
#ifndef TL_OTLP_WRITE_H
#define TL_OTLP_WRITE_H

#include "../common/buf.h"
#include "../span/span.h"

/* Appends the canonical line for s, with a trailing "\n". */
void tl_otlp_write_span(tl_buf *out, const tl_span *s);

/* Pieces of the canonical form, shared with the SQL column encoders. */
void tl_otlp_write_value(tl_buf *out, const tl_value *v);      /* AnyValue object */
void tl_otlp_write_attrs(tl_buf *out, const tl_attrs *a);      /* [KeyValue...] */

#endif
