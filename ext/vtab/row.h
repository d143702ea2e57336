/*
** row.h — the SQL face of a span: the columns every span-producing table
** shares (tracelite tables, trace_file, trace_json, trace_generate), how a
** span becomes a row, how a row becomes a span, and one generic eponymous
** table-valued module that turns any span source into such a table.
**
** Columns (BRIEF.md, plus trace_state, flags and dropped so that nothing of
** an OTLP span is lost):
**   trace_id, span_id, parent_span_id  lowercase hex text; parent NULL for a root
**   service      resource attribute service.name (NULL if absent)
**   name, kind   kind as 'UNSPECIFIED','INTERNAL','SERVER','CLIENT','PRODUCER','CONSUMER'
**   start_ns, end_ns, duration_ns      integers, unix epoch nanoseconds
**   status_code  'UNSET','OK','ERROR';  status_message (NULL if empty)
**   attributes, resource, events, links, scope   JSON text (span_json.h), NULL if empty
**   trace_state  NULL if empty;  flags  integer;  dropped  JSON or NULL
*/
#ifndef TL_ROW_H
#define TL_ROW_H

#include "../common/buf.h"
#include "../span/span.h"
#include "sqlite3ext.h"

enum tl_col {
  TL_COL_TRACE_ID, TL_COL_SPAN_ID, TL_COL_PARENT_SPAN_ID, TL_COL_SERVICE,
  TL_COL_NAME, TL_COL_KIND, TL_COL_START_NS, TL_COL_END_NS, TL_COL_DURATION_NS,
  TL_COL_STATUS_CODE, TL_COL_STATUS_MESSAGE, TL_COL_ATTRIBUTES, TL_COL_RESOURCE,
  TL_COL_EVENTS, TL_COL_LINKS, TL_COL_SCOPE, TL_COL_TRACE_STATE, TL_COL_FLAGS,
  TL_COL_DROPPED,
  TL_NCOL
};

/* The column list for CREATE TABLE in sqlite3_declare_vtab(). */
#define TL_SPAN_COLUMNS                                                        \
  "trace_id TEXT, span_id TEXT, parent_span_id TEXT, service TEXT, name TEXT, " \
  "kind TEXT, start_ns INTEGER, end_ns INTEGER, duration_ns INTEGER, "          \
  "status_code TEXT, status_message TEXT, attributes TEXT, resource TEXT, "     \
  "events TEXT, links TEXT, scope TEXT, trace_state TEXT, flags INTEGER, "      \
  "dropped TEXT"

/* The JSON columns (attributes, resource, events, links, scope, dropped)
** numbered 0..TL_NJSON-1; -1 for the other columns. */
#define TL_NJSON 6
int tl_row_json_index(int col);

/* Sets the result of column col of span s, which lives in batch b.  JSON
** text is written into out, except a resource's or scope's, which is
** derived once per batch (tl_batch_memo_*); b may be NULL to write it every
** time.  Returns the text the result holds ({NULL,0} for SQL NULL) when
** the column is a JSON column, and {NULL,0} otherwise. */
tl_str tl_row_result(sqlite3_context *ctx, tl_batch *b, const tl_span *s, int col, tl_buf *out);

/* The row a span source shows, offered to whoever inserts it.
**
** INSERT INTO spans SELECT * FROM trace_file(...) turns every span into
** SQL values and every row back into a span; the JSON columns cost most of
** that.  A source cursor keeps here the span of its current row and the
** JSON texts it showed, and the connection (tl_conn.offer) points at the
** offer shown last.  tl_row_to_span copies the offered span instead of
** parsing the row when every one of the row's values equals what the source
** showed for that span: the texts compared byte for byte, the other columns
** against the span's fields.  Equal values parse to the span itself (the
** round trip of span_json.h), so the result is the same either way; a row
** changed on its way (a function applied, a column swapped) or read back
** from a sorter simply fails the comparison and is parsed. */
typedef struct tl_row_offer {
  const tl_span *span;   /* the current row's span, or NULL */
  uint64_t serial;       /* names the contents of span's batch (tl_conn.serial) */
  uint32_t shown;        /* bit j: JSON column j was shown for span */
  tl_str json[TL_NJSON]; /* the texts shown ({NULL,0}: SQL NULL) */
  tl_buf buf[TL_NJSON];  /* where they live unless memoised in the batch */
  sqlite3_int64 *copied; /* counts the rows taken from offers (tl_conn) */
} tl_row_offer;

void tl_row_offer_free(tl_row_offer *o);

/* Rows of one batch mostly repeat a few resources and scopes: the cache
** parses each distinct JSON text once per batch, and remembers what was
** copied from offers (tl_row_offer).  Reset it whenever the batch is
** reset. */
typedef struct tl_row_cache tl_row_cache;
tl_row_cache *tl_row_cache_new(void);
void tl_row_cache_reset(tl_row_cache *c);
void tl_row_cache_free(tl_row_cache *c);

/* Builds a span in b from TL_NCOL values in column order (an INSERT's row);
** a NULL entry in values stands for SQL NULL.  Accepts ids as hex text or
** blobs, kind/status as names or integers, and fills in what can be
** derived (end_ns from duration_ns; service.name from the service column
** when the resource lacks it).  When offer (may be NULL) holds this very
** row, its span is copied instead.  TL_EFORMAT with a message naming the
** column on bad input, and nothing is left in b. */
int tl_row_to_span(tl_batch *b, tl_row_cache *cache, sqlite3_value **values,
                   const tl_row_offer *offer, tl_span **out, tl_err *e);

/* Maps a TL_ return code to a SQLite result code. */
int tl_sqlite_rc(int rc);

/* ---- span sources as eponymous table-valued functions ----------------- */

/* A source of spans behind a table-valued function such as
** trace_file(path [, format]).  The module exposes TL_SPAN_COLUMNS followed
** by the hidden argument columns. */
typedef struct tl_source_vt {
  const char *name;       /* SQL name, e.g. "trace_file" */
  const char *args;       /* hidden argument columns, e.g. "path HIDDEN, format HIDDEN" */
  const char *usage;      /* for error messages, e.g. "trace_file(path [, format])" */
  int min_args, max_args; /* how many of them must / may be given */
  int direct_only;        /* reads files: SQLITE_VTAB_DIRECTONLY */
  /* Opens the source on the given arguments (values, or NULL for missing). */
  int (*open)(void *aux, sqlite3_value **args, int nargs, void **state, tl_err *e);
  /* Appends up to max spans to b; TL_OK, TL_DONE at the end, or an error. */
  int (*next)(void *state, tl_batch *b, size_t max, tl_err *e);
  void (*close)(void *state);
} tl_source_vt;

typedef struct tl_conn tl_conn; /* register.h */

/* Registers vt as an eponymous-only virtual table; aux is passed to open.
** Its rows are offered (tl_row_offer) through conn. */
int tl_source_register(sqlite3 *db, const tl_source_vt *vt, void *aux, tl_conn *conn);

#endif
