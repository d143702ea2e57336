/*
** buf.c — growable buffer and text encoders (see buf.h).
*/
#include "buf.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tl_buf_init(tl_buf *b) { memset(b, 0, sizeof *b); }

void tl_buf_free(tl_buf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

void tl_buf_reset(tl_buf *b) {
  b->n = 0;
  b->oom = 0;
}

int tl_buf_reserve(tl_buf *b, size_t extra) {
  if (b->oom) return -1;
  if (extra > SIZE_MAX / 2 - b->n) {
    b->oom = 1;
    return -1;
  }
  size_t need = b->n + extra + 1; /* room for a NUL */
  if (need <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->oom = 1;
    return -1;
  }
  b->p = p;
  b->cap = cap;
  return 0;
}

void tl_buf_append(tl_buf *b, const void *p, size_t n) {
  if (tl_buf_reserve(b, n)) return;
  if (n) memcpy(b->p + b->n, p, n);
  b->n += n;
}

void tl_buf_putc(tl_buf *b, char c) {
  if (tl_buf_reserve(b, 1)) return;
  b->p[b->n++] = c;
}

void tl_buf_puts(tl_buf *b, const char *s) { tl_buf_append(b, s, strlen(s)); }

void tl_buf_printf(tl_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || tl_buf_reserve(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->n += (size_t)n;
}

void tl_buf_u64(tl_buf *b, uint64_t v) {
  char tmp[24];
  int i = 24;
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  tl_buf_append(b, tmp + i, (size_t)(24 - i));
}

void tl_buf_i64(tl_buf *b, int64_t v) {
  if (v < 0) {
    tl_buf_putc(b, '-');
    tl_buf_u64(b, (uint64_t)0 - (uint64_t)v);
  } else {
    tl_buf_u64(b, (uint64_t)v);
  }
}

const char *tl_buf_cstr(tl_buf *b) {
  if (tl_buf_reserve(b, 0)) return NULL;
  b->p[b->n] = 0;
  return b->p;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one.
** Rejects overlong forms, surrogates and code points past U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t len;
  unsigned min;
  if ((c & 0xE0) == 0xC0) len = 2, min = 0x80, c &= 0x1F;
  else if ((c & 0xF0) == 0xE0) len = 3, min = 0x800, c &= 0x0F;
  else if ((c & 0xF8) == 0xF0) len = 4, min = 0x10000, c &= 0x07;
  else return 0;
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (s[i] & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  return len;
}

void tl_buf_json_str(tl_buf *b, const char *s, size_t n) {
  static const char hexd[] = "0123456789abcdef";
  const unsigned char *u = (const unsigned char *)s;
  if (tl_buf_reserve(b, n + 2)) return;
  tl_buf_putc(b, '"');
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    /* Copy the longest run of bytes that need no escaping in one go. */
    while (run < n && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '"' && u[run] != '\\')
      run++;
    if (run > i) {
      tl_buf_append(b, s + i, run - i);
      i = run;
      continue;
    }
    unsigned c = u[i];
    if (c >= 0x80) {
      size_t len = utf8_seq(u + i, n - i);
      if (len) {
        tl_buf_append(b, s + i, len);
        i += len;
        continue;
      }
    }
    char esc[7];
    switch (c) {
      case '"': tl_buf_append(b, "\\\"", 2); break;
      case '\\': tl_buf_append(b, "\\\\", 2); break;
      case '\n': tl_buf_append(b, "\\n", 2); break;
      case '\r': tl_buf_append(b, "\\r", 2); break;
      case '\t': tl_buf_append(b, "\\t", 2); break;
      case '\b': tl_buf_append(b, "\\b", 2); break;
      case '\f': tl_buf_append(b, "\\f", 2); break;
      default:
        esc[0] = '\\', esc[1] = 'u', esc[2] = '0', esc[3] = '0';
        esc[4] = hexd[c >> 4], esc[5] = hexd[c & 15];
        tl_buf_append(b, esc, 6);
    }
    i++;
  }
  tl_buf_putc(b, '"');
}

/* The decimal point of the current locale when it is one byte other than
** '.', else 0: a host application may have called setlocale(LC_ALL, ""). */
static char locale_point(void) {
  const char *dp = localeconv()->decimal_point;
  return dp && dp[0] && !dp[1] && dp[0] != '.' ? dp[0] : 0;
}

int tl_parse_double(const char *s, size_t n, double *out) {
  char tmp[512], *end;
  if (n == 0 || n >= sizeof tmp) return -1;
  memcpy(tmp, s, n);
  tmp[n] = 0;
  char point = locale_point();
  if (point) {
    for (size_t i = 0; i < n; i++) {
      if (tmp[i] == point) return -1; /* not our syntax */
      if (tmp[i] == '.') tmp[i] = point;
    }
  }
  *out = strtod(tmp, &end);
  return end == tmp + n ? 0 : -1;
}

void tl_buf_json_double(tl_buf *b, double d) {
  if (isnan(d)) {
    tl_buf_puts(b, "\"NaN\"");
    return;
  }
  if (isinf(d)) {
    tl_buf_puts(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    return;
  }
  char tmp[40];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, d);
    if (strtod(tmp, NULL) == d) break;
  }
  char point = locale_point();
  if (point) {
    char *p = strchr(tmp, point);
    if (p) *p = '.';
  }
  tl_buf_puts(b, tmp);
  if (!strpbrk(tmp, ".eEn")) tl_buf_puts(b, ".0");
}

void tl_buf_hex(tl_buf *b, const uint8_t *p, size_t n) {
  static const char hexd[] = "0123456789abcdef";
  if (tl_buf_reserve(b, n * 2)) return;
  char *o = b->p + b->n;
  for (size_t i = 0; i < n; i++) {
    o[2 * i] = hexd[p[i] >> 4];
    o[2 * i + 1] = hexd[p[i] & 15];
  }
  b->n += n * 2;
}

void tl_buf_base64(tl_buf *b, const uint8_t *p, size_t n) {
  static const char al[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (tl_buf_reserve(b, (n + 2) / 3 * 4)) return;
  char *o = b->p + b->n;
  size_t i = 0, j = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    o[j++] = al[v >> 18], o[j++] = al[(v >> 12) & 63];
    o[j++] = al[(v >> 6) & 63], o[j++] = al[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)p[i] << 16;
    o[j++] = al[v >> 18], o[j++] = al[(v >> 12) & 63], o[j++] = '=', o[j++] = '=';
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
    o[j++] = al[v >> 18], o[j++] = al[(v >> 12) & 63];
    o[j++] = al[(v >> 6) & 63], o[j++] = '=';
  }
  b->n += j;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

long tl_hex_decode(const char *s, size_t n, uint8_t *out, size_t out_cap) {
  if (n % 2 || n / 2 > out_cap) return -1;
  for (size_t i = 0; i < n; i += 2) {
    int hi = hexval((unsigned char)s[i]), lo = hexval((unsigned char)s[i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[i / 2] = (uint8_t)(hi << 4 | lo);
  }
  return (long)(n / 2);
}

size_t tl_base64_max(size_t n) { return (n + 3) / 4 * 3; }

static int b64val(int c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

long tl_base64_decode(const char *s, size_t n, uint8_t *out, size_t out_cap) {
  while (n && s[n - 1] == '=') n--;
  if (n % 4 == 1) return -1;
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64val((unsigned char)s[i]);
    if (v < 0) return -1;
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o >= out_cap) return -1;
      out[o++] = (uint8_t)(acc >> bits);
    }
  }
  /* Leftover bits must be zero, or the text was not produced by an encoder. */
  if (bits && (acc & ((1u << bits) - 1))) return -1;
  return (long)o;
}

/* 64-bit FNV-1a over 8-byte words with a final mix: fast enough for
** interning, stable across runs and machines (no seed). */
uint64_t tl_hash(const void *p, size_t n) {
  const unsigned char *s = p;
  uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)n;
  while (n >= 8) {
    uint64_t w = 0;
    for (int i = 7; i >= 0; i--) w = w << 8 | s[i]; /* little-endian always */
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
    s += 8;
    n -= 8;
  }
  while (n--) h = (h ^ *s++) * 0x100000001b3ull;
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  h ^= h >> 32;
  return h;
}
