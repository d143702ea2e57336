/*
** span_json.h — the JSON texts of a span's structured SQL columns, and
** their parsers: how attributes, resource, events, links, scope and dropped
** counts look in a row of a tracelite table or of trace_file().
**
** Attribute lists are JSON objects in stored order ({"http.method":"GET",
** "http.status_code":200}), so json_extract(attributes, '$."http.method"')
** works.  Values keep their OTLP type:
**   string -> "text"        int  -> 200          double -> 200.0 / 1.5e-07
**   bool   -> true/false     array -> [v, ...]    empty AnyValue -> null
** and the three types JSON has no literal for are single-key wrapper objects
** named as in OTLP JSON, the only objects that appear as values:
**   bytes -> {"bytesValue":"<base64>"}   kvlist -> {"kvlistValue":{...}}
**   NaN / +-Infinity -> {"doubleValue":"NaN"|"Infinity"|"-Infinity"}
** Duplicate keys are kept (in order), as OTLP data sometimes has them.
**
**   resource: {"attributes":{...},"droppedAttributesCount":n,"schemaUrl":"..."}
**   scope:    {"name":"..","version":"..","attributes":{..},
**              "droppedAttributesCount":n,"schemaUrl":".."}
**   events:   [{"timeUnixNano":n,"name":"..","attributes":{..},
**              "droppedAttributesCount":n}, ...]
**   links:    [{"traceId":"hex","spanId":"hex","traceState":"..","flags":n,
**              "attributes":{..},"droppedAttributesCount":n}, ...]
**   dropped:  {"attributes":n,"events":n,"links":n}  (span-level counts)
** Members with default values (empty, zero) are omitted; a column whose
** whole value is empty is SQL NULL (the writer appends nothing and returns 0).
**
** The parsers accept exactly this grammar (any member order, whitespace)
** and treat the text as hostile: depth, sizes and types are checked and
** every failure is a TL_EFORMAT with a message naming the column.
*/
#ifndef TL_SPAN_JSON_H
#define TL_SPAN_JSON_H

#include "../common/buf.h"
#include "span.h"

/* Each returns 1 when it wrote a value, 0 when the column is NULL. */
int tl_json_attrs(tl_buf *out, const tl_attrs *a);
int tl_json_resource(tl_buf *out, const tl_resource *r);
int tl_json_scope(tl_buf *out, const tl_scope *s);
int tl_json_events(tl_buf *out, const tl_span *s);
int tl_json_links(tl_buf *out, const tl_span *s);
int tl_json_dropped(tl_buf *out, const tl_span *s);

/* Parsers: text may be NULL (n == 0) meaning the column was NULL.  Results
** are allocated in b. */
int tl_parse_attrs(tl_batch *b, const char *text, size_t n, tl_attrs *out, tl_err *e);
int tl_parse_resource(tl_batch *b, const char *text, size_t n, tl_resource **out, tl_err *e);
int tl_parse_scope(tl_batch *b, const char *text, size_t n, tl_scope **out, tl_err *e);
int tl_parse_events(tl_batch *b, const char *text, size_t n, tl_span *s, tl_err *e);
int tl_parse_links(tl_batch *b, const char *text, size_t n, tl_span *s, tl_err *e);
int tl_parse_dropped(const char *text, size_t n, tl_span *s, tl_err *e);

#endif
