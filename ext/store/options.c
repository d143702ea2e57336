/*
** options.c — strict parsing of a tracelite table's key=value options
** (options.h has the list).  One table of option descriptions drives the
** parser, the messages and the config table, so adding an option is adding
** one row.
*/
#include "options.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_FORMAT "cbor_zstd"
#define DEFAULT_BLOCK_SPANS 4096
#define DEFAULT_ZSTD_LEVEL 3
#define DEFAULT_DICT_SIZE 65536
#define MAX_DICT_SIZE (1 << 20)
/* Quoted text in messages is cut to this many bytes. */
#define QUOTE_MAX 60

typedef struct opt_desc {
  const char *name;
  long long min, max; /* integer options; min > max marks a text option */
} opt_desc;

static const opt_desc opts[TL_OPT_COUNT] = {
    [TL_OPT_FORMAT] = {"format", 1, 0},
    [TL_OPT_BLOCK_SPANS] = {"block_spans", 1, TL_BLOCK_MAX_SPANS},
    [TL_OPT_ZSTD_LEVEL] = {"zstd_level", 1, 22},
    [TL_OPT_DICT_SIZE] = {"dict_size", 0, MAX_DICT_SIZE},
};

const char *tl_store_opt_name(int opt) {
  return opt >= 0 && opt < TL_OPT_COUNT ? opts[opt].name : NULL;
}

int tl_store_opts_default(tl_store_opts *o, tl_err *e) {
  memset(o, 0, sizeof *o);
  o->block_spans = DEFAULT_BLOCK_SPANS;
  o->zstd_level = DEFAULT_ZSTD_LEVEL;
  o->dict_size = DEFAULT_DICT_SIZE;
  return tl_store_opts_set(o, "format", DEFAULT_FORMAT, e);
}

static int find_opt(const char *key, size_t n) {
  for (int i = 0; i < TL_OPT_COUNT; i++)
    if (strlen(opts[i].name) == n && memcmp(opts[i].name, key, n) == 0) return i;
  return -1;
}

/* "ndjson, cbor or cbor_zstd": every format this build has, for messages. */
static void format_list(char *out, size_t cap) {
  const char *names[16];
  int n = 0;
  for (int id = 1; id < 256 && n < 16; id++) {
    const tl_codec_vt *vt = tl_codec_by_id(id);
    if (vt) names[n++] = vt->name;
  }
  size_t used = 0;
  out[0] = 0;
  for (int i = 0; i < n && used < cap; i++) {
    const char *sep = i == 0 ? "" : i == n - 1 ? " or " : ", ";
    int w = snprintf(out + used, cap - used, "%s%s", sep, names[i]);
    if (w < 0) break;
    used += (size_t)w;
  }
}

static int set_format(tl_store_opts *o, const char *value, tl_err *e) {
  const tl_codec_vt *vt = tl_codec_by_name(value);
  if (!vt || strlen(value) >= sizeof o->format) {
    char list[200];
    format_list(list, sizeof list);
    return tl_err_set(e, TL_EFORMAT, "format: unknown format '%.*s' (expected %s)", QUOTE_MAX,
                      value, list);
  }
  strcpy(o->format, value);
  o->codec = vt;
  return TL_OK;
}

/* A decimal integer in [min, max], nothing else (no sign, no spaces). */
static int parse_int(const opt_desc *d, const char *value, long long *out, tl_err *e) {
  long long v = 0;
  size_t i = 0;
  for (; isdigit((unsigned char)value[i]); i++) {
    if (v > d->max) break; /* keeps v from overflowing; reported below */
    v = v * 10 + (value[i] - '0');
  }
  if (i == 0 || value[i] || v < d->min || v > d->max)
    return tl_err_set(e, TL_EFORMAT, "%s: expected an integer from %lld to %lld, got '%.*s'",
                      d->name, d->min, d->max, QUOTE_MAX, value);
  *out = v;
  return TL_OK;
}

int tl_store_opts_set(tl_store_opts *o, const char *key, const char *value, tl_err *e) {
  int opt = find_opt(key, strlen(key));
  if (opt < 0)
    return tl_err_set(e, TL_EFORMAT,
                      "unknown option '%.*s' (the options are format, block_spans, zstd_level "
                      "and dict_size)",
                      QUOTE_MAX, key);
  if (opt == TL_OPT_FORMAT) return set_format(o, value, e);
  long long v = 0;
  int rc = parse_int(&opts[opt], value, &v, e);
  if (rc) return rc;
  switch (opt) {
    case TL_OPT_BLOCK_SPANS: o->block_spans = (uint32_t)v; break;
    case TL_OPT_ZSTD_LEVEL: o->zstd_level = (int)v; break;
    default: o->dict_size = (int)v; break;
  }
  return TL_OK;
}

static void trim(const char **p, const char **end) {
  while (*p < *end && isspace((unsigned char)**p)) (*p)++;
  while (*end > *p && isspace((unsigned char)(*end)[-1])) (*end)--;
}

int tl_store_opts_parse(tl_store_opts *o, const char *arg, unsigned *seen, tl_err *e) {
  const char *eq = strchr(arg, '=');
  if (!eq)
    return tl_err_set(e, TL_EFORMAT, "option '%.*s' is not of the form key=value", QUOTE_MAX,
                      arg);
  const char *k = arg, *kend = eq, *v = eq + 1, *vend = eq + strlen(eq);
  trim(&k, &kend);
  trim(&v, &vend);
  char key[64], value[256];
  if ((size_t)(kend - k) >= sizeof key || kend == k)
    return tl_err_set(e, TL_EFORMAT, "unknown option '%.*s' (the options are format, "
                      "block_spans, zstd_level and dict_size)",
                      (int)(kend - k > QUOTE_MAX ? QUOTE_MAX : kend - k), k);
  memcpy(key, k, (size_t)(kend - k));
  key[kend - k] = 0;
  int opt = find_opt(key, strlen(key));
  if (opt >= 0 && (*seen & (1u << opt)))
    return tl_err_set(e, TL_EFORMAT, "option '%s' is given twice", key);
  /* One level of '...' or "..." quoting, with doubled quotes inside. */
  size_t n = 0;
  if (vend - v >= 2 && (*v == '\'' || *v == '"') && vend[-1] == *v) {
    char q = *v;
    for (const char *p = v + 1; p < vend - 1 && n + 1 < sizeof value; p++) {
      if (*p == q && p + 1 < vend - 1 && p[1] == q) p++;
      value[n++] = *p;
    }
  } else {
    for (const char *p = v; p < vend && n + 1 < sizeof value; p++) value[n++] = *p;
  }
  value[n] = 0;
  if (n == 0)
    return tl_err_set(e, TL_EFORMAT, "option '%s' has an empty value", key);
  int rc = tl_store_opts_set(o, key, value, e);
  if (!rc) *seen |= 1u << opt;
  return rc;
}

/* The zstd level of a format whose table sets none.  columnar compresses
** the candidate encodings of each stream at level 1 to pick one and only
** the one it keeps at the table's level, so a higher level costs it less
** than the other formats (docs/format.md, "columnar": 4-5% smaller than
** level 3 at a fifth of the encoding speed). */
static int default_level(const tl_codec_vt *vt) {
  return vt->id == TL_CODEC_COLUMNAR ? 6 : DEFAULT_ZSTD_LEVEL;
}

int tl_store_opts_check(tl_store_opts *o, unsigned seen, tl_err *e) {
  if ((seen & (1u << TL_OPT_DICT_SIZE)) && o->dict_size > 0 && !o->codec->train)
    return tl_err_set(e, TL_EFORMAT, "dict_size: format %s does not use a dictionary",
                      o->format);
  if (!(seen & (1u << TL_OPT_ZSTD_LEVEL))) o->zstd_level = default_level(o->codec);
  return TL_OK;
}

void tl_store_opts_value(const tl_store_opts *o, int opt, char *out, size_t cap) {
  switch (opt) {
    case TL_OPT_FORMAT: snprintf(out, cap, "%s", o->format); break;
    case TL_OPT_BLOCK_SPANS: snprintf(out, cap, "%u", o->block_spans); break;
    case TL_OPT_ZSTD_LEVEL: snprintf(out, cap, "%d", o->zstd_level); break;
    default: snprintf(out, cap, "%d", o->dict_size); break;
  }
}

tl_codec_opts tl_store_codec_opts(const tl_store_opts *o) {
  tl_codec_opts c;
  c.zstd_level = o->zstd_level;
  c.dict_size = o->codec && o->codec->train ? o->dict_size : 0;
  return c;
}
