/*
** buf.c — growable buffer and text encoders (see buf.h).  Every read of a
** JSON column and every export goes through the JSON string escaper and
** the hex encoder, so both work 16 bytes at a time with SSE2 (which every
** x86-64 has), with a portable word-at-a-time fallback elsewhere; the
** output is the same byte for byte (tests/unit/test_buf.c).
*/
#include "buf.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

void tl_buf_init(tl_buf *b) { memset(b, 0, sizeof *b); }

void tl_buf_free(tl_buf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
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

/* Two-character tables: integers and ids are written a byte (two digits)
** at a time, halving the divisions and lookups. */
static const char dec_pairs[201] =
    "0001020304050607080910111213141516171819"
    "2021222324252627282930313233343536373839"
    "4041424344454647484950515253545556575859"
    "6061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";
static const char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

/* The number of decimal digits of v (1 to 20).  A value of b bits has t or
** t + 1 digits, where t = floor(b * log10(2)) (b * 1233 >> 12 for every b
** up to 64); one compare with 10^t tells which. */
static size_t dec_len(uint64_t v) {
  static const uint64_t pow10[20] = {1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull,
                                     1000000ull, 10000000ull, 100000000ull, 1000000000ull,
                                     10000000000ull, 100000000000ull, 1000000000000ull,
                                     10000000000000ull, 100000000000000ull,
                                     1000000000000000ull, 10000000000000000ull,
                                     100000000000000000ull, 1000000000000000000ull,
                                     10000000000000000000ull};
  unsigned bits = 0;
#if defined(__GNUC__)
  bits = 64 - (unsigned)__builtin_clzll(v | 1);
#else
  for (uint64_t x = v | 1; x; x >>= 1) bits++;
#endif
  size_t t = bits * 1233 >> 12;
  return t + (v >= pow10[t]) + (v == 0);
}

void tl_buf_u64(tl_buf *b, uint64_t v) {
  /* The digits are counted first and written from the last, straight into
  ** the buffer: no copy through a temporary of unknown length. */
  size_t len = dec_len(v);
  if (tl_buf_reserve(b, len)) return;
  char *o = b->p + b->n + len;
  b->n += len;
  while (v >= 100) {
    o -= 2;
    memcpy(o, dec_pairs + 2 * (v % 100), 2);
    v /= 100;
  }
  if (v >= 10)
    memcpy(o - 2, dec_pairs + 2 * v, 2);
  else
    o[-1] = (char)('0' + v);
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

static uint64_t load8(const unsigned char *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}

/* 16 bytes tested and copied as one: with SSE2 (every x86-64 has it) three
** compares and a movemask; elsewhere two words of plain_word. */
#if defined(__SSE2__)
typedef __m128i chunk16;
static chunk16 load16(const unsigned char *p) {
  return _mm_loadu_si128((const __m128i *)(const void *)p);
}
static void store16(char *o, chunk16 v) { _mm_storeu_si128((__m128i *)(void *)o, v); }
static chunk16 pair16(uint64_t lo, uint64_t hi) {
  return _mm_set_epi64x((long long)hi, (long long)lo);
}
/* The compare is signed: bytes from 0x80 up are negative, so below 0x20. */
static int plain16(chunk16 v) {
  __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                             _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                          _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
  return _mm_movemask_epi8(bad) == 0;
}
#else
/* json_plain for the 8 bytes of w at once, with the classic bit tricks:
** (x - n) & ~x & 0x80.. is nonzero exactly when some byte of x is below n
** (n <= 0x80). */
static int plain_word(uint64_t w) {
  const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  uint64_t quote = w ^ (ones * '"'), bslash = w ^ (ones * '\\');
  uint64_t below = ((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) |
                   ((bslash - ones) & ~bslash);
  return ((below | w) & highs) == 0;
}

typedef struct chunk16 {
  uint64_t lo, hi;
} chunk16;
static chunk16 load16(const unsigned char *p) { return (chunk16){load8(p), load8(p + 8)}; }
static void store16(char *o, chunk16 v) {
  memcpy(o, &v.lo, 8);
  memcpy(o + 8, &v.hi, 8);
}
static chunk16 pair16(uint64_t lo, uint64_t hi) { return (chunk16){lo, hi}; }
static int plain16(chunk16 v) { return plain_word(v.lo) & plain_word(v.hi); }
#endif

/* Escapes u[*pi..stop) (a UTF-8 sequence may run past stop, up to n) into
** o, which has room for 6 bytes per input byte; returns the new end of o
** and moves *pi.  Most text is plain: chunks of 16 plain bytes are copied
** as they are tested, so the text is read once. */
static char *json_escape_run(const unsigned char *u, size_t n, size_t *pi, size_t stop,
                             char *o) {
  static const char hexd[] = "0123456789abcdef";
  size_t i = *pi;
  while (i < stop) {
    chunk16 v;
    while (i + 16 <= stop && plain16(v = load16(u + i))) {
      store16(o, v);
      o += 16;
      i += 16;
    }
    /* Fewer than 16 bytes left: if the last 16 bytes before stop are plain,
    ** those before i were copied as they are, just before o, so the 16 can
    ** be stored over their own copy. */
    if (i + 16 > stop && stop >= 16 && plain16(v = load16(u + stop - 16))) {
      store16(o + (stop - i) - 16, v);
      o += stop - i;
      i = stop;
      break;
    }
    while (i < stop && json_plain(u[i])) *o++ = (char)u[i++];
    if (i == stop) break;
    unsigned c = u[i];
    if (c >= 0x80) {
      size_t len = tl_utf8_seq(u + i, n - i);
      if (len) {
        for (size_t k = 0; k < len; k++) *o++ = (char)u[i + k];
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
  *pi = i;
  return o;
}

/* Any string: escapes, invalid UTF-8, and chunked reservations for huge
** ones. */
static void json_str_any(tl_buf *b, const char *s, size_t n) {
  enum { CHUNK = 4096 };
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  do {
    /* Worst case, every byte of a chunk (plus a UTF-8 sequence running past
    ** its end) becomes a six-byte \u00XX escape; 2 more for the quotes.
    ** Reserving that once per chunk lets the loop write without a bounds
    ** check per byte, and keeps the reservation small for huge strings. */
    size_t stop = n - i > CHUNK ? i + CHUNK : n;
    if (tl_buf_reserve(b, 6 * (stop - i + 4) + 2)) return;
    char *o = b->p + b->n;
    if (i == 0) *o++ = '"';
    o = json_escape_run(u, n, &i, stop, o);
    if (i >= n) *o++ = '"';
    b->n = (size_t)(o - b->p);
  } while (i < n);
}

char *tl_json_str_plain(char *o, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  if (n > TL_JSON_PLAIN_MAX) return NULL;
  *o++ = '"';
  if (n >= 16) {
    /* Chunks of 16, then the last 16 over their own copy. */
    chunk16 v;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
      if (!plain16(v = load16(u + i))) return NULL;
      store16(o + i, v);
    }
    if (i < n) {
      if (!plain16(v = load16(u + n - 16))) return NULL;
      store16(o + n - 16, v);
    }
  } else if (n >= 8) {
    /* 8 to 15 bytes: the first 8 and the last 8 cover them all. */
    uint64_t head = load8(u), tail = load8(u + n - 8);
    if (!plain16(pair16(head, tail))) return NULL;
    memcpy(o, &head, 8);
    memcpy(o + n - 8, &tail, 8);
  } else if (n >= 4) {
    /* 4 to 7 bytes: the first 4 and the last 4. */
    uint32_t head, tail;
    memcpy(&head, u, 4);
    memcpy(&tail, u + n - 4, 4);
    uint64_t w = (uint64_t)tail << 32 | head;
    if (!plain16(pair16(w, w))) return NULL;
    memcpy(o, &head, 4);
    memcpy(o + n - 4, &tail, 4);
  } else if (n) {
    /* 1 to 3 bytes: the first, middle and last, each tested twice over. */
    uint32_t x = (uint32_t)u[0] | (uint32_t)u[n / 2] << 8 | (uint32_t)u[n - 1] << 16 |
                 (uint32_t)u[n - 1] << 24;
    uint64_t w = (uint64_t)x << 32 | x;
    if (!plain16(pair16(w, w))) return NULL;
    o[0] = (char)u[0], o[n / 2] = (char)u[n / 2], o[n - 1] = (char)u[n - 1];
  }
  o[n] = '"';
  return o + n + 1;
}

/* Most strings written are short and plain (attribute keys and values):
** tl_json_str_plain writes them; json_str_any the others. */
void tl_buf_json_str(tl_buf *b, const char *s, size_t n) {
  if (n <= TL_JSON_PLAIN_MAX && !tl_buf_reserve(b, n + 2)) {
    char *end = tl_json_str_plain(b->p + b->n, s, n);
    if (end) {
      b->n = (size_t)(end - b->p);
      return;
    }
  }
  json_str_any(b, s, n); /* nothing of it was counted in b->n yet */
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

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* The 8 hex digits of the 4 bytes loaded (little-endian) into x, as the
** 8 bytes of a little-endian word: each nibble spread into a byte of its
** own, then '0' added, plus 'a' - '0' - 10 where the nibble is 10 or more
** (n + 6 carries into bit 4 exactly then). */
static uint64_t hex_word(uint32_t x) {
  const uint64_t nib = 0x000F000F000F000Full, ones = 0x0101010101010101ull;
  uint64_t t = x;
  t = (t | t << 16) & 0x0000FFFF0000FFFFull;
  t = (t | t << 8) & 0x00FF00FF00FF00FFull;     /* byte 2k: input byte k */
  uint64_t d = (t >> 4 & nib) | (t & nib) << 8; /* high nibble first */
  uint64_t letter = (d + ones * 6) >> 4 & ones;
  return d + ones * '0' + letter * ('a' - '0' - 10);
}
#endif

#if defined(__SSE2__)
/* The 2k hex digits of the k bytes in the low lanes of v, at out and, when
** k is 16, out + 16: nibbles interleaved high first, then '0' added, plus
** 'a' - '0' - 10 where the nibble is above 9. */
static void hex_lanes(__m128i v, char *out, int k) {
  const __m128i nib = _mm_set1_epi8(0x0F), nine = _mm_set1_epi8(9);
  const __m128i zero = _mm_set1_epi8('0'), letter = _mm_set1_epi8('a' - '0' - 10);
  __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), nib), lo = _mm_and_si128(v, nib);
  __m128i d[2] = {_mm_unpacklo_epi8(hi, lo), _mm_unpackhi_epi8(hi, lo)};
  for (int h = 0; h < k / 8; h++) {
    __m128i c = _mm_add_epi8(_mm_add_epi8(d[h], zero),
                             _mm_and_si128(_mm_cmpgt_epi8(d[h], nine), letter));
    _mm_storeu_si128((__m128i *)(void *)(out + 16 * h), c);
  }
}
#endif

void tl_hex_encode(const uint8_t *p, size_t n, char *out) {
  size_t i = 0;
#if defined(__SSE2__)
  /* Ids (16 and 8 bytes) are hex-encoded for every row read. */
  for (; i + 16 <= n; i += 16)
    hex_lanes(_mm_loadu_si128((const __m128i *)(const void *)(p + i)), out + 2 * i, 16);
  if (i + 8 <= n) {
    hex_lanes(_mm_loadl_epi64((const __m128i *)(const void *)(p + i)), out + 2 * i, 8);
    i += 8;
  }
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  for (; i + 4 <= n; i += 4) {
    uint32_t x;
    memcpy(&x, p + i, 4);
    uint64_t digits = hex_word(x);
    memcpy(out + 2 * i, &digits, 8);
  }
#endif
  for (; i < n; i++) memcpy(out + 2 * i, hex_pairs + 2 * p[i], 2);
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
