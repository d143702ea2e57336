/*
** options.h — the key=value options of a tracelite table:
**
**   CREATE VIRTUAL TABLE spans USING tracelite(format=cbor_zstd, block_spans=4096,
**                                              zstd_level=3, dict_size=65536);
**
**   format       ndjson | cbor | cbor_zstd (any name tl_codec_by_name knows);
**                default cbor_zstd
**   block_spans  spans per block, 1 .. TL_BLOCK_MAX_SPANS; default 4096
**   zstd_level   1 .. 22, for formats that compress; default 3 (fast enough
**                for ingest at full speed: use a higher level and
**                'optimize' for archives), 6 for columnar
**   dict_size    bytes of the trained dictionary, 0 (none) .. 1048576, only
**                for formats that train one; default 65536
**
** Parsing is strict, the csv.c way: an argument that is not key=value, an
** unknown or repeated key, and a bad value are refused with a message that
** quotes them.  The same setters read the options back from the table's
** %_config shadow table (schema_sql.c), so a value that could not be written
** cannot be read either.  Pure C: no SQLite here.
*/
#ifndef TL_STORE_OPTIONS_H
#define TL_STORE_OPTIONS_H

#include <stdint.h>

#include "../codec/codec.h"

#define TL_OPT_FORMAT_MAX 32

typedef struct tl_store_opts {
  char format[TL_OPT_FORMAT_MAX];
  const tl_codec_vt *codec; /* the codec of format */
  uint32_t block_spans;
  int zstd_level;
  int dict_size;
} tl_store_opts;

/* The option keys, in the order the config table and messages list them. */
enum { TL_OPT_FORMAT, TL_OPT_BLOCK_SPANS, TL_OPT_ZSTD_LEVEL, TL_OPT_DICT_SIZE, TL_OPT_COUNT };
const char *tl_store_opt_name(int opt);

/* Fills in the defaults; TL_EMISUSE if the default codec is missing. */
int tl_store_opts_default(tl_store_opts *o, tl_err *e);

/* Parses one module argument as written in CREATE VIRTUAL TABLE (spaces
** around key and value allowed, the value may be '...' or "..." quoted).
** *seen collects the options given so far (bit per TL_OPT_*), to refuse
** duplicates.  e->msg never has the "tracelite: " prefix. */
int tl_store_opts_parse(tl_store_opts *o, const char *arg, unsigned *seen, tl_err *e);

/* Sets one option from a key and an unquoted value (TL_EFORMAT with a
** message when the key is unknown or the value bad). */
int tl_store_opts_set(tl_store_opts *o, const char *key, const char *value, tl_err *e);

/* After all options given were set (seen: a bit per TL_OPT_*): checks those
** that depend on each other (dict_size needs a codec that trains
** dictionaries) and fills in the defaults that depend on the format. */
int tl_store_opts_check(tl_store_opts *o, unsigned seen, tl_err *e);

/* The value of an option as text, for the config table. */
void tl_store_opts_value(const tl_store_opts *o, int opt, char *out, size_t cap);

/* The options the codec reads. */
tl_codec_opts tl_store_codec_opts(const tl_store_opts *o);

#endif
