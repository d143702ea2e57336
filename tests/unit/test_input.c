/*
** test_input.c — the byte source of ext/io/input.c: line splitting, BOM,
** peek, whole reads, zstd (several frames) and gzip (several members) from
** memory and from files, and the exact errors for missing files, corrupt
** and truncated compressed data and over-long lines.
*/
#include "../../ext/io/input.h"
#include "unit.h"

#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

/* zstd frame of p[0..n) appended to *out. */
static void add_zstd_frame(unsigned char **out, size_t *out_n, const void *p, size_t n) {
  size_t bound = ZSTD_compressBound(n);
  *out = realloc(*out, *out_n + bound);
  size_t r = ZSTD_compress(*out + *out_n, bound, p, n, 3);
  if (ZSTD_isError(r)) abort();
  *out_n += r;
}

/* gzip member of p[0..n) appended to *out. */
static void add_gzip_member(unsigned char **out, size_t *out_n, const void *p, size_t n) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
  size_t bound = deflateBound(&zs, (uLong)n) + 32;
  *out = realloc(*out, *out_n + bound);
  zs.next_in = (Bytef *)(uintptr_t)p;
  zs.avail_in = (uInt)n;
  zs.next_out = *out + *out_n;
  zs.avail_out = (uInt)bound;
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) abort();
  *out_n += bound - zs.avail_out;
  deflateEnd(&zs);
}

/* All lines of an input joined with '|', into out. */
static int read_lines(tl_input *in, char *out, size_t cap, tl_err *e) {
  const char *line;
  size_t len, n = 0;
  int rc;
  out[0] = 0;
  while ((rc = tl_input_line(in, &line, &len, e)) == TL_OK) {
    if (n + len + 2 > cap) return -100;
    memcpy(out + n, line, len);
    n += len;
    out[n++] = '|';
    out[n] = 0;
  }
  return rc;
}

/* A string literal and its length without the NUL. */
#define LIT(s) s, sizeof(s) - 1

static void check_lines_mem(const void *p, size_t n, const char *expect) {
  tl_input *in;
  tl_err e = {0};
  char got[4096];
  CHECK_INT(tl_input_open_mem(&in, p, n, "mem", &e), TL_OK);
  CHECK_INT(read_lines(in, got, sizeof got, &e), TL_DONE);
  CHECK_STR(got, expect);
  tl_input_close(in);
}

TEST(lines_plain) {
  check_lines_mem(LIT("a\nbb\r\n\nccc"), "a|bb||ccc|");
  check_lines_mem(LIT("a\n"), "a|");
  check_lines_mem(LIT(""), "");
  check_lines_mem(LIT("\xEF\xBB\xBFx,y\nz"), "x,y|z|");
  /* Only a BOM at the start is skipped, and a lone "\r" is data. */
  check_lines_mem(LIT("a\r\xEF\xBB\xBF\n"), "a\r\xEF\xBB\xBF|");
}

TEST(lineno_and_offset) {
  tl_input *in;
  tl_err e = {0};
  const char *line;
  size_t len;
  CHECK_INT(tl_input_open_mem(&in, "ab\ncd\n", 6, "m", &e), TL_OK);
  CHECK_INT(tl_input_lineno(in), 0);
  CHECK_INT(tl_input_line(in, &line, &len, &e), TL_OK);
  CHECK_INT(tl_input_lineno(in), 1);
  CHECK_INT(tl_input_offset(in), 3);
  CHECK_INT(tl_input_line(in, &line, &len, &e), TL_OK);
  CHECK_INT(len, 2);
  CHECK(memcmp(line, "cd", 2) == 0);
  CHECK_INT(tl_input_lineno(in), 2);
  CHECK_INT(tl_input_line(in, &line, &len, &e), TL_DONE);
  CHECK_INT(tl_input_line(in, &line, &len, &e), TL_DONE);
  CHECK_STR(tl_input_name(in), "m");
  CHECK_STR(tl_input_compression(in), "none");
  tl_input_close(in);
}

TEST(peek_then_whole) {
  tl_input *in;
  tl_err e = {0};
  const char *p, *line;
  size_t len;
  CHECK_INT(tl_input_open_mem(&in, "\xEF\xBB\xBFhello\nworld", 14, NULL, &e), TL_OK);
  CHECK_STR(tl_input_name(in), "<memory>");
  CHECK_INT(tl_input_peek(in, 3, &p, &e), 3);
  CHECK(memcmp(p, "hel", 3) == 0);
  CHECK_INT(tl_input_peek(in, 100, &p, &e), 11);
  CHECK_INT(tl_input_line(in, &line, &len, &e), TL_OK);
  CHECK_INT(len, 5);
  CHECK_INT(tl_input_whole(in, &p, &len, &e), TL_OK);
  CHECK_INT(len, 5);
  CHECK_STR(p, "world");
  CHECK_INT(tl_input_offset(in), 14);
  CHECK_INT(tl_input_line(in, &line, &len, &e), TL_DONE);
  tl_input_close(in);
}

/* Builds a text big enough to cross several window and raw chunks. */
static char *big_text(size_t lines, size_t *n) {
  char *t = malloc(lines * 16 + 1);
  size_t k = 0;
  for (size_t i = 0; i < lines; i++) k += (size_t)sprintf(t + k, "line %zu\n", i);
  *n = k;
  return t;
}

static void check_big(tl_input *in, size_t lines, const char *comp) {
  tl_err e = {0};
  const char *line;
  size_t len, i = 0;
  char want[32];
  int rc;
  CHECK_STR(tl_input_compression(in), comp);
  while ((rc = tl_input_line(in, &line, &len, &e)) == TL_OK) {
    int k = sprintf(want, "line %zu", i++);
    if ((size_t)k != len || memcmp(line, want, len)) {
      UNIT_FAIL("line %zu is \"%.*s\"", i, (int)len, line);
      break;
    }
  }
  CHECK_INT(rc, TL_DONE);
  CHECK_INT(i, lines);
}

TEST(zstd_frames_and_gzip_members) {
  size_t n, lines = 100000;
  char *t = big_text(lines, &n);
  size_t half = n / 2;
  while (t[half - 1] != '\n') half++;
  unsigned char *z = NULL, *g = NULL;
  size_t zn = 0, gn = 0;
  add_zstd_frame(&z, &zn, t, half);
  add_zstd_frame(&z, &zn, t + half, n - half);
  add_gzip_member(&g, &gn, t, 1000);  /* a member ends mid-line */
  add_gzip_member(&g, &gn, t + 1000, 0);
  add_gzip_member(&g, &gn, t + 1000, n - 1000);
  tl_input *in;
  tl_err e = {0};
  CHECK_INT(tl_input_open_mem(&in, z, zn, "z", &e), TL_OK);
  check_big(in, lines, "zstd");
  tl_input_close(in);
  CHECK_INT(tl_input_open_mem(&in, g, gn, "g", &e), TL_OK);
  check_big(in, lines, "gzip");
  tl_input_close(in);

  /* The same from files, and read whole. */
  char path[] = "/tmp/tl_test_inputXXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  CHECK_INT(write(fd, z, zn), (long long)zn);
  close(fd);
  CHECK_INT(tl_input_open_file(&in, path, &e), TL_OK);
  check_big(in, lines, "zstd");
  tl_input_close(in);
  CHECK_INT(tl_input_open_file(&in, path, &e), TL_OK);
  const char *w = "";
  size_t wn = 0;
  CHECK_INT(tl_input_whole(in, &w, &wn, &e), TL_OK);
  CHECK_INT(wn, n);
  CHECK(wn == n && memcmp(w, t, n) == 0 && w[n] == 0);
  tl_input_close(in);
  FILE *f = fopen(path, "wb");
  fwrite(t, 1, n, f);
  fclose(f);
  CHECK_INT(tl_input_open_file(&in, path, &e), TL_OK);
  check_big(in, lines, "none");
  tl_input_close(in);
  unlink(path);
  free(t);
  free(z);
  free(g);
}

TEST(corrupt_compressed) {
  const char *text = "some text that compresses\nsome text that compresses\n";
  unsigned char *z = NULL, *g = NULL;
  size_t zn = 0, gn = 0;
  add_zstd_frame(&z, &zn, text, strlen(text));
  add_gzip_member(&g, &gn, text, strlen(text));
  tl_input *in;
  tl_err e = {0};
  char got[4096];

  /* Truncated zstd frame: the end of data is the offset. */
  CHECK_INT(tl_input_open_mem(&in, z, zn - 3, "t.zst", &e), TL_OK);
  CHECK_INT(read_lines(in, got, sizeof got, &e), TL_EFORMAT);
  char want[128];
  snprintf(want, sizeof want, "t.zst: corrupt zstd data at byte %zu (truncated frame)",
           zn - 3);
  CHECK_STR(e.msg, want);
  /* Sticky: the next call gives the same error. */
  tl_err e2 = {0};
  CHECK_INT(read_lines(in, got, sizeof got, &e2), TL_EFORMAT);
  CHECK_STR(e2.msg, want);
  tl_input_close(in);

  /* Garbage after a frame. */
  unsigned char *z2 = malloc(zn + 8);
  memcpy(z2, z, zn);
  memcpy(z2 + zn, "garbage!", 8);
  tl_err_clear(&e);
  CHECK_INT(tl_input_open_mem(&in, z2, zn + 8, "g.zst", &e), TL_OK);
  CHECK_INT(read_lines(in, got, sizeof got, &e), TL_EFORMAT);
  snprintf(want, sizeof want, "g.zst: corrupt zstd data at byte %zu", zn);
  CHECK(strncmp(e.msg, want, strlen(want)) == 0);
  tl_input_close(in);

  /* Truncated gzip. */
  tl_err_clear(&e);
  CHECK_INT(tl_input_open_mem(&in, g, gn - 4, "t.gz", &e), TL_OK);
  CHECK_INT(read_lines(in, got, sizeof got, &e), TL_EFORMAT);
  snprintf(want, sizeof want, "t.gz: corrupt gzip data at byte %zu (truncated stream)",
           gn - 4);
  CHECK_STR(e.msg, want);
  tl_input_close(in);

  /* A flipped bit in the deflate data (gzip header is 10 bytes). */
  g[12] ^= 0xFF;
  g[13] ^= 0xFF;
  tl_err_clear(&e);
  CHECK_INT(tl_input_open_mem(&in, g, gn, "c.gz", &e), TL_OK);
  CHECK_INT(read_lines(in, got, sizeof got, &e), TL_EFORMAT);
  CHECK(strncmp(e.msg, "c.gz: corrupt gzip data at byte ", 32) == 0);
  tl_input_close(in);

  /* The magic alone. */
  tl_err_clear(&e);
  CHECK_INT(tl_input_open_mem(&in, "\x28\xB5\x2F\xFD", 4, "m.zst", &e), TL_OK);
  CHECK_INT(read_lines(in, got, sizeof got, &e), TL_EFORMAT);
  CHECK_STR(e.msg, "m.zst: corrupt zstd data at byte 4 (truncated frame)");
  tl_input_close(in);
  free(z);
  free(z2);
  free(g);
}

TEST(missing_file) {
  tl_input *in = (tl_input *)1;
  tl_err e = {0};
  CHECK_INT(tl_input_open_file(&in, "/nonexistent/x.json", &e), TL_EIO);
  CHECK(in == NULL);
  CHECK_STR(e.msg, "/nonexistent/x.json: No such file or directory");
  /* A directory opens but cannot be read. */
  tl_err_clear(&e);
  CHECK_INT(tl_input_open_file(&in, "/tmp", &e), TL_EIO);
  CHECK_STR(e.msg, "/tmp: read error: Is a directory");
}

/* A line one byte over TL_INPUT_MAX_LINE, from a small zstd stream. */
TEST(line_too_long) {
  ZSTD_CCtx *cc = ZSTD_createCCtx();
  size_t chunk = 1 << 20, total = (size_t)TL_INPUT_MAX_LINE + 1;
  char *as = malloc(chunk);
  memset(as, 'a', chunk);
  size_t cap = 1 << 20, zn = 0;
  unsigned char *z = malloc(cap);
  for (size_t done = 0; done <= total; done += chunk) {
    size_t n = total - done < chunk ? total - done : chunk;
    ZSTD_inBuffer ib = {as, n, 0};
    ZSTD_EndDirective end = done + chunk > total ? ZSTD_e_end : ZSTD_e_continue;
    size_t r;
    do {
      if (cap - zn < 65536) z = realloc(z, cap *= 2);
      ZSTD_outBuffer ob = {z + zn, cap - zn, 0};
      r = ZSTD_compressStream2(cc, &ob, &ib, end);
      zn += ob.pos;
    } while (end == ZSTD_e_end ? r != 0 : ib.pos < ib.size);
  }
  ZSTD_freeCCtx(cc);
  tl_input *in;
  tl_err e = {0};
  const char *line;
  size_t len;
  CHECK_INT(tl_input_open_mem(&in, z, zn, "long.zst", &e), TL_OK);
  CHECK_INT(tl_input_line(in, &line, &len, &e), TL_ERANGE);
  CHECK_STR(e.msg, "long.zst: line 1 is longer than 268435456 bytes");
  tl_input_close(in);
  free(z);
  free(as);
}

int main(void) {
  RUN(lines_plain);
  RUN(lineno_and_offset);
  RUN(peek_then_whole);
  RUN(zstd_frames_and_gzip_members);
  RUN(corrupt_compressed);
  RUN(missing_file);
  RUN(line_too_long);
  return UNIT_DONE();
}
