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

int tl_buf_reserve_slow(tl_buf *b, size_t extra) {
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

size_t tl_utf8_seq(const unsigned char *s, size_t n) {
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

/* Bytes that JSON strings hold as they are: printable ASCII but '"' and '\\'. */
static int json_plain(unsigned c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

/* json_plain for 8 bytes at once, with the classic bit tricks: (x - n) & ~x
** & 0x80.. is nonzero exactly when some byte of x is below n (n <= 0x80). */
static int plain8(const unsigned char *p) {
  const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  uint64_t w;
  memcpy(&w, p, 8);
  uint64_t quote = w ^ (ones * '"'), bslash = w ^ (ones * '\\');
  uint64_t below = ((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) |
                   ((bslash - ones) & ~bslash);
  return ((below | w) & highs) == 0;
}

void tl_buf_json_str(tl_buf *b, const char *s, size_t n) {
  static const char hexd[] = "0123456789abcdef";
  enum { CHUNK = 4096 };
  const unsigned char *u = (const unsigned char *)s;
  if (tl_buf_reserve(b, 2)) return;
  b->p[b->n++] = '"';
  size_t i = 0;
  while (i < n) {
    /* Worst case, every byte of a chunk (plus a UTF-8 sequence running past
    ** its end) becomes a six-byte \u00XX escape: reserving that once per
    ** chunk lets the loop write without a bounds check per byte, and keeps
    ** the reservation small for huge strings. */
    size_t stop = n - i > CHUNK ? i + CHUNK : n;
    if (tl_buf_reserve(b, 6 * (stop - i + 4) + 1)) return;
    char *o = b->p + b->n;
    while (i < stop) {
      /* Most text is plain: find the run and copy it in one piece. */
      size_t run = i;
      while (run + 8 <= stop && plain8(u + run)) run += 8;
      while (run < stop && json_plain(u[run])) run++;
      if (run > i) {
        memcpy(o, s + i, run - i);
        o += run - i;
        i = run;
        if (i == stop) break;
      }
      unsigned c = u[i];
      if (c >= 0x80) {
        size_t len = tl_utf8_seq(u + i, n - i);
        if (len) {
          memcpy(o, s + i, len);
          o += len;
          i += len;
          continue;
        }
      }
      *o++ = '\\';
      switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        default:
          *o++ = 'u', *o++ = '0', *o++ = '0';
          *o++ = hexd[c >> 4], *o++ = hexd[c & 15];
      }
      i++;
    }
    b->n = (size_t)(o - b->p);
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

void tl_hex_encode(const uint8_t *p, size_t n, char *out) {
  static const char hexd[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hexd[p[i] >> 4];
    out[2 * i + 1] = hexd[p[i] & 15];
  }
}

void tl_buf_hex(tl_buf *b, const uint8_t *p, size_t n) {
  if (tl_buf_reserve(b, n * 2)) return;
  tl_hex_encode(p, n, b->p + b->n);
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
    uint64_t w;
    memcpy(&w, s, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w); /* the hash is defined on little-endian words */
#endif
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
