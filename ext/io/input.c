/*
** input.c — the byte source behind input.h: a file or a memory buffer,
** plain, zstd or gzip (detected from the magic number, never from the name),
** read line by line, peeked at, or read whole.
**
** How it works.  Compressed (raw) bytes come from the file through a fixed
** raw buffer, or straight from the caller's memory.  They are decompressed
** into one window buffer, buf[pos..end), which holds the bytes read but not
** yet consumed.  Every read grows the window only as far as it needs: a line
** reader grows it to the longest line (cap TL_INPUT_MAX_LINE), tl_input_whole
** to the whole rest (cap TL_INPUT_MAX_WHOLE).  Plain memory is never copied
** for line reading or peeking: the window is the caller's buffer.
**
** zstd input may hold several frames (and skippable frames), as `zstd`
** writes when files are concatenated; gzip input may hold several members,
** as `cat a.gz b.gz` gives.  Both are decoded through their streaming APIs,
** so memory stays bounded by the window whatever the compressed size.  zstd
** limits its own window to 2^27 bytes by default, which bounds a hostile
** frame header's demand.
**
** Errors are sticky: after a decompression or read error every later call
** reports the same error, so a reader that retries cannot skip corrupt data.
** Offsets in messages about corrupt compressed data count compressed bytes
** (the position in the file as `cmp` or a hex editor shows it).
**
** A UTF-8 byte order mark at the very start is skipped (it counts in
** tl_input_offset, which counts decompressed bytes, BOM included).
*/
#include "input.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define RAW_CHUNK (128u * 1024u)    /* file reads */
#define WINDOW_CHUNK (64u * 1024u)  /* smallest window growth */

typedef enum { COMP_NONE, COMP_ZSTD, COMP_GZIP } comp_kind;

struct tl_input {
  char *name;
  comp_kind comp;

  /* Raw bytes: from the file through raw[], or from the caller's memory. */
  FILE *f;
  const uint8_t *mem;
  size_t mem_n, mem_pos;
  uint8_t *raw;
  size_t raw_pos, raw_end;
  int raw_eof;             /* the file has no more raw bytes */
  uint64_t raw_consumed;   /* compressed bytes fed to the decoder */

  ZSTD_DCtx *zd;
  size_t zstd_hint;        /* last ZSTD_decompressStream result: 0 at a frame end;
                           ** starts non-zero (a frame is expected) */
  z_stream zs;
  int zs_init;
  int gz_in_member;        /* inside a gzip member (not at a boundary) */

  /* The window: view[pos..end) is read but not consumed.  view is buf,
  ** except for plain memory where it is the caller's bytes. */
  const char *view;
  char *buf;
  size_t cap, pos, end;
  uint64_t base;           /* decompressed offset of view[0] */
  int eof;                 /* no decompressed bytes beyond end */
  int started;             /* the BOM check ran */
  uint64_t lineno;
  size_t scanned;          /* bytes after pos known to hold no '\n' */

  int rc;                  /* sticky error */
  char msg[sizeof(((tl_err *)0)->msg)];
};

/* Records a sticky error and reports it. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int input_fail(tl_input *in, tl_err *e, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(in->msg, sizeof in->msg, fmt, ap);
  va_end(ap);
  in->rc = rc;
  return tl_err_set(e, rc, "%s", in->msg);
}

static int input_sticky(const tl_input *in, tl_err *e) {
  return tl_err_set(e, in->rc, "%s", in->msg);
}

static const char *comp_name(comp_kind c) {
  return c == COMP_ZSTD ? "zstd" : c == COMP_GZIP ? "gzip" : "none";
}

/* ---- raw bytes ------------------------------------------------------------ */

/* Points *p at the unread raw bytes, reading the file when none are
** buffered.  *n == 0 means the raw input is exhausted. */
static int raw_get(tl_input *in, const uint8_t **p, size_t *n, tl_err *e) {
  if (in->mem) {
    *p = in->mem + in->mem_pos;
    *n = in->mem_n - in->mem_pos;
    return TL_OK;
  }
  if (in->raw_pos == in->raw_end && !in->raw_eof) {
    size_t got = fread(in->raw, 1, RAW_CHUNK, in->f);
    if (got == 0) {
      if (ferror(in->f))
        return input_fail(in, e, TL_EIO, "%s: read error: %s", in->name,
                          strerror(errno));
      in->raw_eof = 1;
    }
    in->raw_pos = 0;
    in->raw_end = got;
  }
  *p = in->raw + in->raw_pos;
  *n = in->raw_end - in->raw_pos;
  return TL_OK;
}

static void raw_advance(tl_input *in, size_t n) {
  if (in->mem)
    in->mem_pos += n;
  else
    in->raw_pos += n;
  in->raw_consumed += n;
}

/* ---- decoders: each appends to out[0..cap) and sets *made ---------------- */

static int decode_none(tl_input *in, char *out, size_t cap, size_t *made,
                       tl_err *e) {
  const uint8_t *p;
  size_t n;
  int rc = raw_get(in, &p, &n, e);
  if (rc) return rc;
  if (n == 0) {
    in->eof = 1;
    return TL_OK;
  }
  if (n > cap) n = cap;
  memcpy(out, p, n);
  raw_advance(in, n);
  *made = n;
  return TL_OK;
}

static int decode_zstd(tl_input *in, char *out, size_t cap, size_t *made,
                       tl_err *e) {
  ZSTD_outBuffer ob = {out, cap, 0};
  while (ob.pos == 0) {
    const uint8_t *p;
    size_t n;
    int rc = raw_get(in, &p, &n, e);
    if (rc) return rc;
    if (n == 0 && in->zstd_hint == 0) {
      /* The last frame ended and was flushed, and no bytes follow. */
      in->eof = 1;
      break;
    }
    ZSTD_inBuffer ib = {p, n, 0};
    size_t r = ZSTD_decompressStream(in->zd, &ob, &ib);
    if (ZSTD_isError(r))
      return input_fail(in, e, TL_EFORMAT, "%s: corrupt zstd data at byte %llu (%s)",
                        in->name, (unsigned long long)(in->raw_consumed + ib.pos),
                        ZSTD_getErrorName(r));
    raw_advance(in, ib.pos);
    in->zstd_hint = r;
    if (n == 0 && ob.pos == 0)
      /* Inside a frame, with no raw bytes left and nothing to flush. */
      return input_fail(in, e, TL_EFORMAT,
                        "%s: corrupt zstd data at byte %llu (truncated frame)",
                        in->name, (unsigned long long)in->raw_consumed);
  }
  *made = ob.pos;
  return TL_OK;
}

static int decode_gzip(tl_input *in, char *out, size_t cap, size_t *made,
                       tl_err *e) {
  z_stream *zs = &in->zs;
  if (cap > UINT_MAX) cap = UINT_MAX;
  zs->next_out = (Bytef *)out;
  zs->avail_out = (uInt)cap;
  while (zs->avail_out == cap) {
    const uint8_t *p;
    size_t n;
    int rc = raw_get(in, &p, &n, e);
    if (rc) return rc;
    if (n == 0) {
      if (in->gz_in_member)
        return input_fail(in, e, TL_EFORMAT,
                          "%s: corrupt gzip data at byte %llu (truncated stream)",
                          in->name, (unsigned long long)in->raw_consumed);
      in->eof = 1;
      break;
    }
    if (!in->gz_in_member) {
      /* The start of a member, the first or one concatenated after
      ** another. */
      if (inflateReset(zs) != Z_OK)
        return input_fail(in, e, TL_ENOMEM, "%s: out of memory", in->name);
      in->gz_in_member = 1;
    }
    uInt avail = n > UINT_MAX ? UINT_MAX : (uInt)n;
    zs->next_in = (Bytef *)(uintptr_t)p;
    zs->avail_in = avail;
    int zr = inflate(zs, Z_NO_FLUSH);
    size_t used = avail - zs->avail_in;
    if (zr == Z_STREAM_END) {
      in->gz_in_member = 0;
    } else if (zr == Z_MEM_ERROR) {
      return input_fail(in, e, TL_ENOMEM, "%s: out of memory", in->name);
    } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
      return input_fail(in, e, TL_EFORMAT, "%s: corrupt gzip data at byte %llu (%s)",
                        in->name, (unsigned long long)(in->raw_consumed + used),
                        zs->msg ? zs->msg : "invalid stream");
    }
    raw_advance(in, used);
  }
  *made = cap - zs->avail_out;
  return TL_OK;
}

/* ---- the window ------------------------------------------------------------ */

/* Reads more decompressed bytes into the window, growing it up to
** max_window bytes of content.  On return either bytes were added or
** in->eof is set.  TL_ERANGE (without a message) when the window is full
** at max_window: the caller words the error. */
static int fill_more(tl_input *in, size_t max_window, tl_err *e) {
  if (in->rc) return input_sticky(in, e);
  if (in->eof) return TL_OK;
  if (in->pos > 0) {
    memmove(in->buf, in->buf + in->pos, in->end - in->pos);
    in->base += in->pos;
    in->end -= in->pos;
    in->pos = 0;
  }
  if (in->end == in->cap) {
    if (in->cap >= max_window) return TL_ERANGE;
    size_t cap = in->cap < WINDOW_CHUNK ? WINDOW_CHUNK : in->cap * 2;
    if (cap > max_window) cap = max_window;
    char *nb = realloc(in->buf, cap);
    if (!nb) return input_fail(in, e, TL_ENOMEM, "%s: out of memory", in->name);
    in->buf = nb;
    in->view = nb;
    in->cap = cap;
  }
  size_t made = 0;
  char *out = in->buf + in->end;
  size_t room = in->cap - in->end;
  int rc;
  do {
    switch (in->comp) {
      case COMP_ZSTD: rc = decode_zstd(in, out, room, &made, e); break;
      case COMP_GZIP: rc = decode_gzip(in, out, room, &made, e); break;
      default: rc = decode_none(in, out, room, &made, e); break;
    }
  } while (rc == TL_OK && made == 0 && !in->eof);
  in->end += made;
  return rc;
}

/* Skips a UTF-8 BOM once, before the first read of any kind. */
static int input_start(tl_input *in, tl_err *e) {
  if (in->rc) return input_sticky(in, e);
  if (in->started) return TL_OK;
  while (in->end - in->pos < 3 && !in->eof) {
    int rc = fill_more(in, WINDOW_CHUNK, e);
    if (rc) return rc;
  }
  in->started = 1;
  if (in->end - in->pos >= 3 && memcmp(in->view + in->pos, "\xEF\xBB\xBF", 3) == 0)
    in->pos += 3;
  return TL_OK;
}

/* ---- opening ------------------------------------------------------------------ */

static comp_kind sniff(const uint8_t *p, size_t n) {
  if (n >= 4 && p[0] == 0x28 && p[1] == 0xB5 && p[2] == 0x2F && p[3] == 0xFD)
    return COMP_ZSTD;
  if (n >= 2 && p[0] == 0x1F && p[1] == 0x8B) return COMP_GZIP;
  return COMP_NONE;
}

static tl_input *input_new(const char *name, tl_err *e) {
  tl_input *in = calloc(1, sizeof *in);
  if (in) in->name = strdup(name);
  if (!in || !in->name) {
    free(in);
    tl_err_set(e, TL_ENOMEM, "%s: out of memory", name);
    return NULL;
  }
  return in;
}

static int input_set_comp(tl_input *in, comp_kind c, tl_err *e) {
  in->comp = c;
  if (c == COMP_ZSTD) {
    in->zd = ZSTD_createDCtx();
    in->zstd_hint = 1;
    if (!in->zd) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", in->name);
  } else if (c == COMP_GZIP) {
    /* 15 + 32: the largest window, and accept a gzip (or zlib) header. */
    if (inflateInit2(&in->zs, 15 + 32) != Z_OK)
      return tl_err_set(e, TL_ENOMEM, "%s: out of memory", in->name);
    in->zs_init = 1;
  }
  return TL_OK;
}

int tl_input_open_file(tl_input **out, const char *path, tl_err *e) {
  *out = NULL;
  tl_input *in = input_new(path, e);
  if (!in) return TL_ENOMEM;
  in->f = fopen(path, "rb");
  if (!in->f) {
    int rc = tl_err_set(e, TL_EIO, "%s: %s", path, strerror(errno));
    tl_input_close(in);
    return rc;
  }
  in->raw = malloc(RAW_CHUNK);
  if (!in->raw) {
    tl_input_close(in);
    return tl_err_set(e, TL_ENOMEM, "%s: out of memory", path);
  }
  /* Enough raw bytes for the magic number (a short read is not EOF). */
  while (in->raw_end < 4 && !in->raw_eof) {
    size_t got = fread(in->raw + in->raw_end, 1, RAW_CHUNK - in->raw_end, in->f);
    if (got == 0) {
      if (ferror(in->f)) {
        int rc = tl_err_set(e, TL_EIO, "%s: read error: %s", path, strerror(errno));
        tl_input_close(in);
        return rc;
      }
      in->raw_eof = 1;
    }
    in->raw_end += got;
  }
  int rc = input_set_comp(in, sniff(in->raw, in->raw_end), e);
  if (rc) {
    tl_input_close(in);
    return rc;
  }
  *out = in;
  return TL_OK;
}

int tl_input_open_mem(tl_input **out, const void *p, size_t n, const char *name,
                      tl_err *e) {
  *out = NULL;
  if (!p && n) return tl_err_set(e, TL_EMISUSE, "tl_input_open_mem: NULL buffer");
  tl_input *in = input_new(name ? name : "<memory>", e);
  if (!in) return TL_ENOMEM;
  /* An empty buffer is a valid empty input; give it a non-NULL address. */
  in->mem = n ? p : (const uint8_t *)"";
  in->mem_n = n;
  comp_kind c = sniff(in->mem, n);
  int rc = input_set_comp(in, c, e);
  if (rc) {
    tl_input_close(in);
    return rc;
  }
  if (c == COMP_NONE) {
    /* The caller's bytes are the window: nothing to decode or copy. */
    in->view = (const char *)in->mem;
    in->end = n;
    in->mem_pos = n;
    in->raw_consumed = n;
    in->eof = 1;
  }
  *out = in;
  return TL_OK;
}

void tl_input_close(tl_input *in) {
  if (!in) return;
  if (in->f) fclose(in->f);
  if (in->zd) ZSTD_freeDCtx(in->zd);
  if (in->zs_init) inflateEnd(&in->zs);
  free(in->raw);
  free(in->buf);
  free(in->name);
  free(in);
}

const char *tl_input_name(const tl_input *in) { return in->name; }
const char *tl_input_compression(const tl_input *in) { return comp_name(in->comp); }
uint64_t tl_input_lineno(const tl_input *in) { return in->lineno; }
uint64_t tl_input_offset(const tl_input *in) { return in->base + in->pos; }

/* ---- reading ------------------------------------------------------------------- */

long tl_input_peek(tl_input *in, size_t n, const char **out, tl_err *e) {
  int rc = input_start(in, e);
  if (rc) return rc;
  if (n > TL_INPUT_MAX_LINE) n = TL_INPUT_MAX_LINE;
  while (in->end - in->pos < n && !in->eof) {
    size_t want = in->end - in->pos + n;
    rc = fill_more(in, want < WINDOW_CHUNK ? WINDOW_CHUNK : want, e);
    if (rc) return rc;
  }
  size_t have = in->end - in->pos;
  *out = in->view + in->pos;
  return (long)(have < n ? have : n);
}

int tl_input_line(tl_input *in, const char **line, size_t *len, tl_err *e) {
  int rc = input_start(in, e);
  if (rc) return rc;
  for (;;) {
    const char *p = in->view + in->pos;
    size_t avail = in->end - in->pos;
    const char *nl = memchr(p + in->scanned, '\n', avail - in->scanned);
    if (nl) {
      size_t n = (size_t)(nl - p);
      in->pos += n + 1;
      in->scanned = 0;
      in->lineno++;
      if (n && p[n - 1] == '\r') n--;
      if (n > TL_INPUT_MAX_LINE) break;
      *line = p;
      *len = n;
      return TL_OK;
    }
    in->scanned = avail;
    if (in->eof) {
      if (!avail) return TL_DONE;
      in->pos += avail;
      in->scanned = 0;
      in->lineno++;
      if (avail > TL_INPUT_MAX_LINE) break;
      *line = p;
      *len = avail;
      return TL_OK;
    }
    /* Room for the longest line plus its "\r\n". */
    rc = fill_more(in, (size_t)TL_INPUT_MAX_LINE + 2, e);
    if (rc == TL_ERANGE) {
      in->lineno++;
      break;
    }
    if (rc) return rc;
  }
  return input_fail(in, e, TL_ERANGE, "%s: line %llu is longer than %u bytes",
                    in->name, (unsigned long long)in->lineno, TL_INPUT_MAX_LINE);
}

int tl_input_whole(tl_input *in, const char **data, size_t *len, tl_err *e) {
  int rc = input_start(in, e);
  if (rc) return rc;
  if (in->view != in->buf) {
    /* Plain memory: copy once, for the NUL the caller is promised. */
    size_t n = in->end - in->pos;
    if (n > TL_INPUT_MAX_WHOLE) goto too_big;
    char *nb = malloc(n + 1);
    if (!nb) return input_fail(in, e, TL_ENOMEM, "%s: out of memory", in->name);
    memcpy(nb, in->view + in->pos, n);
    in->base += in->pos;
    in->buf = nb;
    in->view = nb;
    in->cap = n + 1;
    in->pos = 0;
    in->end = n;
  } else {
    while (!in->eof) {
      /* One byte past the cap tells "exactly the cap" from "more". */
      rc = fill_more(in, (size_t)TL_INPUT_MAX_WHOLE + 2, e);
      if (rc == TL_ERANGE || in->end - in->pos > TL_INPUT_MAX_WHOLE) goto too_big;
      if (rc) return rc;
    }
    if (in->end == in->cap) {
      char *nb = realloc(in->buf, in->cap + 1);
      if (!nb) return input_fail(in, e, TL_ENOMEM, "%s: out of memory", in->name);
      in->buf = nb;
      in->view = nb;
      in->cap++;
    }
  }
  in->buf[in->end] = 0;
  *data = in->buf + in->pos;
  *len = in->end - in->pos;
  /* Consumed.  The window is at EOF, so nothing moves the bytes again
  ** and *data stays valid until close. */
  in->pos = in->end;
  in->scanned = 0;
  return TL_OK;
too_big:
  return input_fail(in, e, TL_ERANGE, "%s: more than %u bytes to read whole",
                    in->name, TL_INPUT_MAX_WHOLE);
}
