/*
** reader.h — the interface of every trace importer (OTLP JSON, Jaeger JSON,
** Zipkin v2 JSON, CSV span tables) and the format detection that picks one.
**
** A reader pulls from a tl_input and appends spans to a caller's batch, at
** most `max` spans per call.  It never keeps pointers into the batch between
** calls: the caller resets the batch after consuming the spans, which is how
** trace_file() streams a file of any size in bounded memory.  Resources and
** scopes are interned again in each batch they are needed in.
**
** Input is hostile: every reader checks every length, type and range, and
** reports the file and the line (or byte offset) of the first problem in
** the tl_err.  On error, spans of the failed record are not left in the batch.
*/
#ifndef TL_READER_H
#define TL_READER_H

#include "input.h"

typedef enum tl_format {
  TL_FMT_AUTO = 0,
  TL_FMT_OTLP,     /* OTLP JSON: document, NDJSON, {"result":...}, {"batches":...} */
  TL_FMT_JAEGER,   /* Jaeger JSON: UI/query API, bare trace, span array, api_v2 */
  TL_FMT_ZIPKIN,   /* Zipkin v2 JSON span array */
  TL_FMT_CSV       /* CSV span table with a header row */
} tl_format;

/* "otlp", "jaeger", "zipkin", "csv" <-> tl_format; -1 when unknown. */
const char *tl_format_name(tl_format f);
int tl_format_parse(const char *s);

typedef struct tl_reader tl_reader;

/* One implementation per input format (otlp_read.c, jaeger_read.c, ...). */
typedef struct tl_reader_vt {
  const char *name;
  /* Allocates the reader state; may read from `in`. */
  int (*open)(tl_input *in, void **state, tl_err *e);
  /* Appends up to max spans to b.  TL_OK when at least one span was added
  ** or more may follow, TL_DONE when the input is exhausted (with or
  ** without spans added this call), negative on error. */
  int (*next)(void *state, tl_batch *b, size_t max, tl_err *e);
  void (*close)(void *state);
} tl_reader_vt;

extern const tl_reader_vt tl_otlp_reader;
extern const tl_reader_vt tl_jaeger_reader;
extern const tl_reader_vt tl_zipkin_reader;
extern const tl_reader_vt tl_csv_reader;

/* Detects the format of `in` (when fmt is TL_FMT_AUTO) and opens the reader.
** Takes ownership of `in` (closed by tl_reader_close, also on failure). */
int tl_reader_open(tl_reader **out, tl_input *in, tl_format fmt, tl_err *e);
int tl_reader_next(tl_reader *r, tl_batch *b, size_t max, tl_err *e);
tl_format tl_reader_format(const tl_reader *r);
void tl_reader_close(tl_reader *r);

/* Detection only: decides from the first bytes of the input. */
int tl_detect_format(tl_input *in, tl_format *out, tl_err *e);

#endif
