/*
** buf.h — a growable byte buffer, and the small text encoders every writer
** shares: JSON string escaping, shortest round-trip doubles, hex and base64.
**
** Errors are sticky: once an append fails for lack of memory, b->oom is set,
** every later append is a no-op, and the writer checks once at the end.
*/
#ifndef TL_BUF_H
#define TL_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct tl_buf {
  char *p;
  size_t n, cap;
  int oom;
} tl_buf;

void tl_buf_init(tl_buf *b);
void tl_buf_free(tl_buf *b);
/* n = 0, oom = 0, memory kept.  Inline: every column of every row read
** starts with it. */
static inline void tl_buf_reset(tl_buf *b) {
  b->n = 0;
  b->oom = 0;
}
/* Room for extra more bytes (and a NUL): 0 ok, -1 out of memory. */
int tl_buf_reserve_slow(tl_buf *b, size_t extra);
static inline int tl_buf_reserve(tl_buf *b, size_t extra) {
  /* Inline fast path: every writer appends byte runs on its hot path. */
  if (!b->oom && extra < b->cap - b->n) return 0;
  return tl_buf_reserve_slow(b, extra);
}
static inline void tl_buf_append(tl_buf *b, const void *p, size_t n) {
  if (tl_buf_reserve(b, n)) return;
  if (n) memcpy(b->p + b->n, p, n);
  b->n += n;
}
static inline void tl_buf_putc(tl_buf *b, char c) {
  if (tl_buf_reserve(b, 1)) return;
  b->p[b->n++] = c;
}
/* Inline so that the length of a literal is known at compile time. */
static inline void tl_buf_puts(tl_buf *b, const char *s) { tl_buf_append(b, s, strlen(s)); }
void tl_buf_printf(tl_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void tl_buf_u64(tl_buf *b, uint64_t v);
void tl_buf_i64(tl_buf *b, int64_t v);
/* NUL-terminates without counting the NUL in n; returns b->p or NULL on oom. */
const char *tl_buf_cstr(tl_buf *b);

/* Length of the valid UTF-8 sequence at s[0..n) (1 to 4 bytes), or 0 when
** it is not one: overlong forms, surrogates and code points past U+10FFFF
** are not valid.  n must be at least 1. */
size_t tl_utf8_seq(const unsigned char *s, size_t n);

/* A JSON string literal with quotes.  Bytes that are not valid UTF-8 are
** written as \u00XX of the byte (so the output is always valid JSON);
** control characters as \n, \t, ... or \u00XX; '/' is not escaped. */
void tl_buf_json_str(tl_buf *b, const char *s, size_t n);
/* tl_buf_json_str's fast path, for a writer that reserved the room itself
** (n + 2 bytes at o): when s is at most TL_JSON_PLAIN_MAX bytes, each in
** 0x20..0x7F but '"' and '\\' (no escape needed, plain ASCII), writes it
** quoted at o and returns the end, as tl_buf_json_str would have; else
** returns NULL, having written nothing past o + n + 2 that the writer must
** keep.  Writers of many short strings reserve once and save a call. */
#define TL_JSON_PLAIN_MAX 256
char *tl_json_str_plain(char *o, const char *s, size_t n);
/* A decimal that strtod() reads back to exactly d, always with a
** '.' or exponent so it reads back as a double ("1.0", "1e+300").
** NaN and infinities are written as the JSON strings "NaN", "Infinity" and
** "-Infinity" (proto3 JSON mapping).  The decimal point is '.' whatever
** LC_NUMERIC the host process set.  Tries 15, 16 then 17 significant digits,
** so the text is short but not always the shortest possible (subnormals). */
void tl_buf_json_double(tl_buf *b, double d);

/* Parses s[0..n) as a whole as a double with strtod's syntax but always
** with '.' as the decimal point, whatever LC_NUMERIC the host process set
** (JSON and our formats never use a comma).  0 on success, -1 when the text
** is not entirely a number or is 512 bytes or longer. */
int tl_parse_double(const char *s, size_t n, double *out);

void tl_buf_hex(tl_buf *b, const uint8_t *p, size_t n);     /* lowercase */
/* The 2n lowercase hex digits of p[0..n) into out (not NUL-terminated). */
void tl_hex_encode(const uint8_t *p, size_t n, char *out);
void tl_buf_base64(tl_buf *b, const uint8_t *p, size_t n);  /* standard, padded */

/* Decoders: return the decoded length, or -1 if the text is not valid.
** hex: even length, [0-9a-fA-F]; out holds n/2 bytes.
** base64: standard or URL-safe alphabet, padding optional; out must hold
** tl_base64_max(n) bytes. */
long tl_hex_decode(const char *s, size_t n, uint8_t *out, size_t out_cap);
size_t tl_base64_max(size_t n);
long tl_base64_decode(const char *s, size_t n, uint8_t *out, size_t out_cap);

/* Fast hash of bytes (64-bit, not cryptographic, stable across runs). */
uint64_t tl_hash(const void *p, size_t n);

#endif
