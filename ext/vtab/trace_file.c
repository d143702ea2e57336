/*
** trace_file.c — reading traces in SQL:
**
**   SELECT * FROM trace_file('dump.json');              -- format detected
**   SELECT * FROM trace_file('spans.csv.zst', 'csv');   -- format forced
**   SELECT * FROM trace_json('{"resourceSpans":[...]}');
**   INSERT INTO spans SELECT * FROM trace_file('dump.json');
**
** Both are span sources (row.h): one row per span, with the columns of a
** tracelite table.  The format argument is one of 'otlp', 'jaeger',
** 'zipkin', 'csv' or 'auto' (the default); zstd and gzip compression is
** detected in both (trace_json also takes a blob).  trace_file reads files,
** so it is SQLITE_DIRECTONLY: it cannot be used from views, triggers or
** schema, where an attacker-controlled database could make it read files.
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <string.h>

#include "../io/reader.h"
#include "register.h"
#include "row.h"

typedef struct file_source {
  tl_reader *reader;
  void *copy; /* trace_json: the text, owned here because the value is not */
} file_source;

static int parse_format_arg(sqlite3_value **args, int nargs, tl_format *fmt, tl_err *e) {
  *fmt = TL_FMT_AUTO;
  if (nargs < 2 || !args[1] || sqlite3_value_type(args[1]) == SQLITE_NULL) return TL_OK;
  const char *s = (const char *)sqlite3_value_text(args[1]);
  int f = s ? tl_format_parse(s) : -1;
  if (f < 0)
    return tl_err_set(e, TL_EMISUSE,
                      "unknown format '%s': expected auto, otlp, jaeger, zipkin or csv",
                      s ? s : "");
  *fmt = (tl_format)f;
  return TL_OK;
}

static int open_reader(file_source *src, tl_input *in, tl_format fmt, tl_err *e) {
  int rc = tl_reader_open(&src->reader, in, fmt, e);
  if (rc < 0) {
    sqlite3_free(src->copy);
    sqlite3_free(src);
  }
  return rc;
}

static int file_open(void *aux, sqlite3_value **args, int nargs, void **state, tl_err *e) {
  (void)aux;
  tl_format fmt;
  int rc = parse_format_arg(args, nargs, &fmt, e);
  if (rc) return rc;
  const char *path = (const char *)sqlite3_value_text(args[0]);
  if (!path || !*path) return tl_err_set(e, TL_EMISUSE, "the path is NULL or empty");
  file_source *src = sqlite3_malloc(sizeof *src);
  if (!src) return TL_ENOMEM;
  memset(src, 0, sizeof *src);
  tl_input *in;
  rc = tl_input_open_file(&in, path, e);
  if (rc < 0) {
    sqlite3_free(src);
    return rc;
  }
  rc = open_reader(src, in, fmt, e);
  if (rc >= 0) *state = src;
  return rc;
}

static int json_open(void *aux, sqlite3_value **args, int nargs, void **state, tl_err *e) {
  (void)aux;
  tl_format fmt;
  int rc = parse_format_arg(args, nargs, &fmt, e);
  if (rc) return rc;
  if (sqlite3_value_type(args[0]) == SQLITE_NULL)
    return tl_err_set(e, TL_EMISUSE, "the text is NULL");
  int blob = sqlite3_value_type(args[0]) == SQLITE_BLOB;
  const void *p = blob ? sqlite3_value_blob(args[0]) : (const void *)sqlite3_value_text(args[0]);
  size_t n = (size_t)sqlite3_value_bytes(args[0]);
  file_source *src = sqlite3_malloc(sizeof *src);
  if (!src) return TL_ENOMEM;
  memset(src, 0, sizeof *src);
  src->copy = sqlite3_malloc64(n + 1);
  if (!src->copy) {
    sqlite3_free(src);
    return TL_ENOMEM;
  }
  if (n) memcpy(src->copy, p, n);
  ((char *)src->copy)[n] = 0;
  tl_input *in;
  rc = tl_input_open_mem(&in, src->copy, n, "trace_json", e);
  if (rc < 0) {
    sqlite3_free(src->copy);
    sqlite3_free(src);
    return rc;
  }
  rc = open_reader(src, in, fmt, e);
  if (rc >= 0) *state = src;
  return rc;
}

static int source_next(void *state, tl_batch *b, size_t max, tl_err *e) {
  return tl_reader_next(((file_source *)state)->reader, b, max, e);
}

static void source_close(void *state) {
  file_source *src = state;
  tl_reader_close(src->reader);
  sqlite3_free(src->copy);
  sqlite3_free(src);
}

static const tl_source_vt trace_file_vt = {
    .name = "trace_file",
    .args = "path HIDDEN, format HIDDEN",
    .usage = "trace_file(path [, format])",
    .min_args = 1,
    .max_args = 2,
    .direct_only = 1,
    .open = file_open,
    .next = source_next,
    .close = source_close,
};

static const tl_source_vt trace_json_vt = {
    .name = "trace_json",
    .args = "json HIDDEN, format HIDDEN",
    .usage = "trace_json(text [, format])",
    .min_args = 1,
    .max_args = 2,
    .direct_only = 0,
    .open = json_open,
    .next = source_next,
    .close = source_close,
};

int tl_register_trace_file(sqlite3 *db, tl_conn *conn) {
  int rc = tl_source_register(db, &trace_file_vt, NULL, conn);
  if (rc == SQLITE_OK) rc = tl_source_register(db, &trace_json_vt, NULL, conn);
  return rc;
}
