/*
** test_buf.c — the text encoders of buf.h against plain references written
** from their contracts: JSON string escaping (the word-at-a-time fast path
** and the general path must give the bytes a byte-at-a-time escaper gives,
** for every placement of every kind of byte, every length around the word,
** short-string and chunk boundaries, and every state of the buffer written
** into), decimal integers against printf, hex against printf.  Every JSON
** column text and every export is built from these, so "identical bytes" is
** what is checked, not "equivalent JSON".
*/
#include "../../ext/common/buf.h"
#include "unit.h"

#include <stdlib.h>

/* ---- references -------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s (RFC 3629, table 3-7 of
** Unicode), or 0: written from the table of byte ranges, independently of
** tl_utf8_seq's arithmetic. */
static size_t ref_utf8(const unsigned char *s, size_t n) {
  static const struct {
    unsigned char lead_lo, lead_hi, lo1, hi1;
    int len;
  } rows[] = {{0xC2, 0xDF, 0x80, 0xBF, 2}, {0xE0, 0xE0, 0xA0, 0xBF, 3},
              {0xE1, 0xEC, 0x80, 0xBF, 3}, {0xED, 0xED, 0x80, 0x9F, 3},
              {0xEE, 0xEF, 0x80, 0xBF, 3}, {0xF0, 0xF0, 0x90, 0xBF, 4},
              {0xF1, 0xF3, 0x80, 0xBF, 4}, {0xF4, 0xF4, 0x80, 0x8F, 4}};
  for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
    if (s[0] < rows[r].lead_lo || s[0] > rows[r].lead_hi) continue;
    size_t len = (size_t)rows[r].len;
    if (n < len || s[1] < rows[r].lo1 || s[1] > rows[r].hi1) return 0;
    for (size_t k = 2; k < len; k++)
      if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return len;
  }
  return 0;
}

/* buf.h's contract, one byte at a time. */
static void ref_json_str(tl_buf *o, const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  tl_buf_putc(o, '"');
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    size_t len = c >= 0x80 ? ref_utf8(s + i, n - i) : 0;
    if (len) {
      tl_buf_append(o, s + i, len);
      i += len;
      continue;
    }
    i++;
    switch (c) {
      case '"': tl_buf_puts(o, "\\\""); break;
      case '\\': tl_buf_puts(o, "\\\\"); break;
      case '\n': tl_buf_puts(o, "\\n"); break;
      case '\r': tl_buf_puts(o, "\\r"); break;
      case '\t': tl_buf_puts(o, "\\t"); break;
      case '\b': tl_buf_puts(o, "\\b"); break;
      case '\f': tl_buf_puts(o, "\\f"); break;
      default:
        if (c < 0x20 || c >= 0x80)
          tl_buf_printf(o, "\\u%04x", c);
        else
          tl_buf_putc(o, (char)c);
    }
  }
  tl_buf_putc(o, '"');
}

/* Escapes s into a buffer that already holds `prefix` bytes (so the writes
** start at every offset and the buffer grows at every point), and checks
** the bytes after the prefix against the reference.  0 when they differ. */
static int same_as_ref(const char *s, size_t n, size_t prefix) {
  tl_buf got, want;
  tl_buf_init(&got);
  tl_buf_init(&want);
  for (size_t k = 0; k < prefix; k++) tl_buf_putc(&got, (char)('A' + k % 26));
  tl_buf_json_str(&got, s, n);
  ref_json_str(&want, s, n);
  int ok = !got.oom && !want.oom && got.n == prefix + want.n &&
           memcmp(got.p + prefix, want.p, want.n) == 0;
  for (size_t k = 0; ok && k < prefix; k++) ok = got.p[k] == (char)('A' + k % 26);
  if (!ok)
    UNIT_FAIL("json_str of %zu bytes after %zu: got %zu bytes \"%.120s\", want %zu \"%.120s\"", n,
              prefix, got.n - prefix, got.p ? got.p + prefix : "", want.n, want.p);
  tl_buf_free(&got);
  tl_buf_free(&want);
  return ok;
}

/* Byte runs that are not plain ASCII, each escaped or kept in its own way. */
static const struct {
  const char *s;
  size_t n;
} kSpecial[] = {
    {"\"", 1}, {"\\", 1}, {"\n", 1}, {"\r", 1}, {"\t", 1}, {"\b", 1}, {"\f", 1},
    {"\0", 1}, {"\x1f", 1}, {"\x7f", 1}, {"/", 1},
    {"\xc3\xa9", 2},                        /* e acute */
    {"\xe2\x80\xa8", 3}, {"\xe2\x80\xa9", 3}, /* U+2028, U+2029: kept raw */
    {"\xef\xbf\xbf", 3}, {"\xf0\x9f\x98\x80", 4}, {"\xf4\x8f\xbf\xbf", 4},
    {"\x80", 1}, {"\xff", 1}, {"\xc0\xaf", 2}, {"\xc2", 1}, {"\xe2\x80", 2},
    {"\xed\xa0\x80", 3}, {"\xf4\x90\x80\x80", 4}, {"\xf0\x9f\x98", 3}, {"\xe0\x9f\xbf", 3},
};
#define N_SPECIAL (sizeof kSpecial / sizeof kSpecial[0])

/* ---- JSON strings ------------------------------------------------------------------ */

/* Every special run at every position of plain strings of every length up
** to past the short-string path (256). */
TEST(json_str_every_special_at_every_position) {
  char s[320];
  int bad = 0;
  for (size_t len = 0; len <= 300 && bad < 5; len++) {
    memset(s, 'a', sizeof s);
    bad += !same_as_ref(s, len, 0);
    for (size_t k = 0; k < N_SPECIAL; k++) {
      for (size_t at = 0; at + kSpecial[k].n <= len && bad < 5; at++) {
        memset(s, 'a', len);
        memcpy(s + at, kSpecial[k].s, kSpecial[k].n);
        bad += !same_as_ref(s, len, 0);
      }
    }
  }
  CHECK_INT(bad, 0);
}

/* The same text written after every length of earlier content, so that
** the buffer grows before, inside and after the string. */
TEST(json_str_at_every_buffer_offset) {
  static const char *const texts[] = {"", "GET", "http.request.method", "a\"b",
                                      "0123456789abcdef0123456789abcde\n",
                                      "caf\xc3\xa9 \xe2\x80\xa8 na\xefve"};
  int bad = 0;
  for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++)
    for (size_t prefix = 0; prefix < 600 && bad < 5; prefix++)
      bad += !same_as_ref(texts[t], strlen(texts[t]), prefix);
  CHECK_INT(bad, 0);
}

/* Long strings: runs straddling the 4096-byte chunks of the general path,
** strings escaping every byte, and random text. */
TEST(json_str_long_and_random) {
  static char s[20000];
  int bad = 0;
  for (size_t k = 0; k < N_SPECIAL; k++) {
    for (size_t at = 4084; at < 4100 && bad < 5; at++) {
      memset(s, 'x', sizeof s);
      memcpy(s + at, kSpecial[k].s, kSpecial[k].n);
      bad += !same_as_ref(s, 8200, at % 3);
    }
  }
  memset(s, '\n', sizeof s);
  bad += !same_as_ref(s, sizeof s, 0);
  memset(s, 0x80, sizeof s);
  bad += !same_as_ref(s, sizeof s, 5);
  uint64_t st = 0x2545F4914F6CDD1Dull;
  for (int round = 0; round < 3000 && bad < 5; round++) {
    st ^= st << 13, st ^= st >> 7, st ^= st << 17;
    size_t len = round < 2000 ? st % 40 : st % 9000;
    int mix = (int)(st >> 40) % 4; /* 0 plain, 1 mostly plain, 2 runs, 3 bytes */
    for (size_t i = 0; i < len;) {
      st ^= st << 13, st ^= st >> 7, st ^= st << 17;
      if (mix == 3) {
        s[i++] = (char)(st >> 24);
      } else if (mix && st % (mix == 1 ? 50 : 5) == 0) {
        size_t k = (st >> 8) % N_SPECIAL, m = kSpecial[k].n;
        if (i + m > len) m = len - i;
        memcpy(s + i, kSpecial[k].s, m);
        i += m;
      } else {
        s[i++] = (char)(' ' + (st >> 20) % 95);
      }
    }
    bad += !same_as_ref(s, len, round % 17);
  }
  CHECK_INT(bad, 0);
}

/* Whether a string needs no escape, from the contract of
** tl_json_str_plain: bytes 0x20..0x7F but '"' and '\\'. */
static int ref_plain(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < 0x20 || s[i] > 0x7F || s[i] == '"' || s[i] == '\\') return 0;
  return 1;
}

/* tl_json_str_plain on s (a heap block of exactly n bytes, so that a read
** past its end is an error under ASan): the quoted bytes when s is plain
** and short enough, NULL otherwise, and never a byte written past its
** room; and tl_buf_json_str on the same block gives the reference bytes. */
static int plain_as_contract(const char *src, size_t n) {
  char *s = malloc(n ? n : 1), out[TL_JSON_PLAIN_MAX + 64];
  if (!s || n + 2 > sizeof out) {
    free(s);
    return 0;
  }
  s[0] = 0;
  memcpy(s, src, n);
  memset(out, 0x5A, sizeof out);
  const char *end = tl_json_str_plain(out, s, n);
  int want_plain = n <= TL_JSON_PLAIN_MAX && ref_plain((const unsigned char *)s, n);
  int ok = want_plain ? end == out + n + 2 && out[0] == '"' && memcmp(out + 1, s, n) == 0 &&
                            out[n + 1] == '"'
                      : end == NULL;
  for (size_t k = n + 2; ok && k < sizeof out; k++) ok = out[k] == 0x5A;
  if (!ok)
    UNIT_FAIL("json_str_plain of %zu bytes \"%.*s\": want plain %d", n, (int)(n < 60 ? n : 60),
              src, want_plain);
  ok = ok && same_as_ref(s, n, 0);
  free(s);
  return ok;
}

/* Every special run at the positions around the 8- and 16-byte pieces the
** fast path tests, in strings of every length up to past its limit. */
TEST(json_str_plain_exact_bytes_or_nothing) {
  static const size_t at[] = {0, 1, 3, 4, 7, 8, 9, 14, 15, 16, 17, 31, 32, 33, 47, 48, 255, 256};
  char s[300];
  int bad = 0;
  for (size_t len = 0; len <= 260 && bad < 5; len++) {
    memset(s, 'a', sizeof s);
    for (size_t i = 0; i < len; i++) s[i] = (char)(' ' + (i * 7 + len) % 95); /* any plain byte */
    for (size_t i = 0; i < len; i++)
      if (s[i] == '"' || s[i] == '\\') s[i] = '~';
    bad += !plain_as_contract(s, len);
    for (size_t k = 0; k < N_SPECIAL; k++) {
      for (size_t j = 0; j < sizeof at / sizeof at[0] + 1 && bad < 5; j++) {
        /* the listed positions, then the last one */
        size_t pos = j < sizeof at / sizeof at[0] ? at[j] : len - kSpecial[k].n;
        if (kSpecial[k].n > len || pos + kSpecial[k].n > len) continue;
        char t[300];
        memcpy(t, s, len);
        memcpy(t + pos, kSpecial[k].s, kSpecial[k].n);
        bad += !plain_as_contract(t, len);
      }
    }
  }
  CHECK_INT(bad, 0);
}

/* ---- integers and hex --------------------------------------------------------------------- */

TEST(decimal_integers_match_printf) {
  tl_buf b;
  tl_buf_init(&b);
  char want[32];
  int bad = 0;
  uint64_t st = 88172645463325252ull, p = 1;
  for (int i = 0; i < 20000 && bad < 5; i++) {
    uint64_t v;
    if (i < 64) {
      v = i < 20 ? p - 1 : i < 40 ? p : p + 1; /* 10^k - 1, 10^k, 10^k + 1 */
      p = i % 20 == 19 ? 1 : p * 10;
    } else {
      st ^= st << 13, st ^= st >> 7, st ^= st << 17;
      v = st >> (st % 64);
    }
    if (i == 64) v = UINT64_MAX;
    tl_buf_reset(&b);
    tl_buf_u64(&b, v);
    snprintf(want, sizeof want, "%" PRIu64, v);
    if (strcmp(tl_buf_cstr(&b), want)) {
      bad++;
      UNIT_FAIL("u64 %s: got %s", want, b.p);
    }
    int64_t sv = (int64_t)v;
    tl_buf_reset(&b);
    tl_buf_i64(&b, sv);
    snprintf(want, sizeof want, "%" PRId64, sv);
    if (strcmp(tl_buf_cstr(&b), want)) {
      bad++;
      UNIT_FAIL("i64 %s: got %s", want, b.p);
    }
  }
  tl_buf_reset(&b);
  tl_buf_i64(&b, INT64_MIN);
  CHECK_STR(tl_buf_cstr(&b), "-9223372036854775808");
  CHECK_INT(bad, 0);
  tl_buf_free(&b);
}

TEST(hex_matches_printf) {
  uint8_t bytes[256];
  char got[513], want[513];
  for (int i = 0; i < 256; i++) bytes[i] = (uint8_t)(i * 167 + 13);
  /* Every length from every offset: the 16-, 8- and 4-byte pieces and the
  ** bytes left over. */
  for (size_t off = 0; off < 16; off++) {
    for (size_t n = 0; off + n <= 256; n++) {
      memset(got, '?', sizeof got);
      tl_hex_encode(bytes + off, n, got);
      for (size_t i = 0; i < n; i++) snprintf(want + 2 * i, 3, "%02x", bytes[off + i]);
      if (memcmp(got, want, 2 * n) || got[2 * n] != '?')
        UNIT_FAIL("hex of %zu bytes at %zu: %.64s", n, off, got);
    }
  }
  tl_buf b;
  tl_buf_init(&b);
  tl_buf_puts(&b, "id=");
  tl_buf_hex(&b, (const uint8_t *)"\x00\x0f\xf0\xff\x7a", 5);
  CHECK_STR(tl_buf_cstr(&b), "id=000ff0ff7a");
  tl_buf_free(&b);
}

int main(void) {
  RUN(json_str_every_special_at_every_position);
  RUN(json_str_at_every_buffer_offset);
  RUN(json_str_long_and_random);
  RUN(json_str_plain_exact_bytes_or_nothing);
  RUN(decimal_integers_match_printf);
  RUN(hex_matches_printf);
  return UNIT_DONE();
}
