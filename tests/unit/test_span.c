/*
** test_span.c — the span model (batches, interning, attribute builder, deep
** copy, enum names) and the text encoders of common/buf.c.
*/
#include <locale.h>
#include <math.h>
#include <stdlib.h>

#include "../../ext/common/buf.h"
#include "../../ext/span/span.h"
#include "unit.h"

TEST(intern_shares_equal_strings) {
  tl_batch *b = tl_batch_new();
  tl_str a = tl_batch_intern(b, "frontend", 8);
  tl_str c = tl_batch_intern_cstr(b, "frontend");
  tl_str d = tl_batch_intern(b, "frontenD", 8);
  CHECK(a.ptr == c.ptr);
  CHECK(a.ptr != d.ptr);
  CHECK_INT(a.len, 8);
  CHECK_INT(a.ptr[8], 0);
  /* Strings with NUL bytes are interned by their full length. */
  tl_str n1 = tl_batch_intern(b, "a\0b", 3), n2 = tl_batch_intern(b, "a\0c", 3);
  CHECK(n1.ptr != n2.ptr);
  tl_str e = tl_batch_intern(b, "", 0);
  CHECK(e.ptr != NULL);
  CHECK_INT(e.len, 0);
  tl_batch_free(b);
}

TEST(intern_survives_growth_and_reset) {
  tl_batch *b = tl_batch_new();
  char key[32];
  const char *first = NULL;
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 20000; i++) {
      snprintf(key, sizeof key, "key-%d", i);
      tl_str s = tl_batch_intern_cstr(b, key);
      if (i == 0) first = s.ptr;
      CHECK(s.ptr != NULL);
    }
    /* After the table grew many times, lookups still find the first copy. */
    CHECK(tl_batch_intern_cstr(b, "key-0").ptr == first);
    CHECK_STR(tl_batch_intern_cstr(b, "key-19999").ptr, "key-19999");
    tl_batch_reset(b);
    CHECK_INT(tl_batch_count(b), 0);
  }
  tl_batch_free(b);
}

TEST(spans_have_stable_pointers_and_defaults) {
  tl_batch *b = tl_batch_new();
  tl_span *first = tl_batch_add_span(b);
  for (int i = 0; i < 5000; i++) CHECK(tl_batch_add_span(b) != NULL);
  CHECK(tl_batch_span(b, 0) == first);
  CHECK_INT(tl_batch_count(b), 5001);
  CHECK(first->resource == tl_batch_empty_resource(b));
  CHECK(first->scope == tl_batch_empty_scope(b));
  CHECK(tl_span_is_root(first));
  first->parent_span_id[7] = 1;
  CHECK(!tl_span_is_root(first));
  tl_batch_pop_span(b);
  CHECK_INT(tl_batch_count(b), 5000);
  CHECK(tl_batch_span(b, 5000) == NULL);
  /* Large allocations get their own chunk and keep the current one usable. */
  char *big = tl_batch_alloc(b, 1 << 20);
  CHECK(big != NULL);
  CHECK_INT(big[(1 << 20) - 1], 0);
  CHECK(tl_batch_alloc(b, (size_t)TL_MAX_STRING * 5) == NULL);
  tl_batch_free(b);
}

/* A block's spans at once, and the large chunks a reset keeps: the next
** use of the batch gets the same memory back, zeroed again by
** tl_batch_alloc, left as it was by tl_batch_alloc_raw. */
TEST(bulk_spans_and_large_chunks_kept_across_resets) {
  tl_batch *b = tl_batch_new();
  tl_span **sp = malloc(3000 * sizeof *sp);
  tl_batch_add_span(b);
  CHECK_INT(tl_batch_add_spans(b, 3000, sp), 0);
  CHECK_INT(tl_batch_count(b), 3001);
  int bad = 0;
  for (size_t i = 0; i < 3000; i++)
    bad += sp[i] != tl_batch_span(b, i + 1) || sp[i]->resource != tl_batch_empty_resource(b) ||
           sp[i]->scope != tl_batch_empty_scope(b) || !tl_span_is_root(sp[i]) ||
           sp[i]->start_ns || sp[i]->name.ptr || (i && sp[i] == sp[i - 1]);
  CHECK_INT(bad, 0);
  CHECK_INT(tl_batch_add_spans(b, 0, sp), 0);
  CHECK_INT(tl_batch_count(b), 3001);
  char *big = tl_batch_alloc_raw(b, 1 << 20), *small = tl_batch_alloc(b, 100);
  CHECK(big != NULL && small != NULL);
  memset(big, 0x5a, 1 << 20);
  tl_batch_reset(b);
  CHECK_INT(tl_batch_count(b), 0);
  CHECK(tl_batch_alloc_raw(b, 1 << 20) == big);
  CHECK_INT(big[12345], 0x5a);
  tl_batch_reset(b);
  /* A smaller one fits in the kept chunk; a larger one replaces it. */
  char *again = tl_batch_alloc(b, (1 << 20) - 4096);
  CHECK(again == big);
  CHECK_INT(again[12345], 0);
  CHECK(tl_batch_alloc(b, 1 << 20) != big);
  tl_batch_reset(b);
  char *larger = tl_batch_alloc(b, 3 << 20);
  CHECK(larger != NULL);
  CHECK_INT(larger[(3 << 20) - 1], 0);
  free(sp);
  tl_batch_free(b);
}

static tl_value str_value(tl_batch *b, const char *s) {
  tl_value v;
  memset(&v, 0, sizeof v);
  v.type = TL_V_STRING;
  v.u.s = tl_batch_intern_cstr(b, s);
  return v;
}

TEST(kvbuf_builds_nested_lists) {
  tl_batch *b = tl_batch_new();
  tl_kvbuf kb = {0};
  CHECK_INT(tl_kvbuf_push(&kb, tl_batch_intern_cstr(b, "outer"), str_value(b, "x")), TL_OK);
  uint32_t mark = kb.n;
  CHECK_INT(tl_kvbuf_push(&kb, tl_batch_intern_cstr(b, "inner"), str_value(b, "y")), TL_OK);
  tl_attrs inner;
  CHECK_INT(tl_kvbuf_take(&kb, mark, b, &inner), TL_OK);
  CHECK_INT(inner.n, 1);
  CHECK_INT(kb.n, 1);
  tl_attrs outer;
  CHECK_INT(tl_kvbuf_take(&kb, 0, b, &outer), TL_OK);
  CHECK_INT(outer.n, 1);
  CHECK_TLSTR(outer.items[0].key, "outer");
  CHECK_TLSTR(inner.items[0].value.u.s, "y");
  const tl_value *v = tl_attrs_get(&outer, "outer");
  CHECK(v && v->type == TL_V_STRING);
  CHECK(tl_attrs_get(&outer, "inner") == NULL);
  tl_kvbuf_free(&kb);
  tl_batch_free(b);
}

TEST(span_copy_is_deep_and_shares_resources) {
  tl_batch *src = tl_batch_new(), *dst = tl_batch_new();
  tl_copy_cache *cache = tl_copy_cache_new();
  tl_resource *r = tl_batch_alloc(src, sizeof *r);
  tl_kvbuf kb = {0};
  tl_kvbuf_push(&kb, tl_batch_intern_cstr(src, "service.name"), str_value(src, "cart"));
  tl_kvbuf_take(&kb, 0, src, &r->attrs);
  tl_resource_set_service(r);
  CHECK_TLSTR(r->service, "cart");
  tl_value arr[2] = {str_value(src, "a"), str_value(src, "b")};
  tl_value list;
  memset(&list, 0, sizeof list);
  list.type = TL_V_ARRAY;
  list.u.arr.items = arr;
  list.u.arr.n = 2;
  for (int i = 0; i < 2; i++) {
    tl_span *s = tl_batch_add_span(src);
    s->resource = r;
    s->name = tl_batch_intern_cstr(src, "GET /cart");
    tl_kvbuf_push(&kb, tl_batch_intern_cstr(src, "tags"), list);
    tl_kvbuf_take(&kb, 0, src, &s->attrs);
  }
  tl_span *c0, *c1;
  CHECK_INT(tl_span_copy(dst, tl_batch_span(src, 0), cache, &c0), TL_OK);
  CHECK_INT(tl_span_copy(dst, tl_batch_span(src, 1), cache, &c1), TL_OK);
  tl_batch_free(src); /* the copies must not point into the source */
  CHECK(c0->resource == c1->resource);
  CHECK_TLSTR(c0->resource->service, "cart");
  CHECK_TLSTR(c1->name, "GET /cart");
  CHECK(c0->name.ptr == c1->name.ptr);
  CHECK_INT(c1->attrs.items[0].value.u.arr.n, 2);
  CHECK_TLSTR(c1->attrs.items[0].value.u.arr.items[1].u.s, "b");
  tl_kvbuf_free(&kb);
  tl_copy_cache_free(cache);
  tl_batch_free(dst);
}

/* A resource of its own batch with service.name = service. */
static tl_resource *resource_in(tl_batch *b, const char *service) {
  tl_resource *r = tl_batch_alloc(b, sizeof *r);
  tl_kvbuf kb = {0};
  tl_kvbuf_push(&kb, tl_batch_intern_cstr(b, "service.name"), str_value(b, service));
  tl_kvbuf_take(&kb, 0, b, &r->attrs);
  tl_kvbuf_free(&kb);
  tl_resource_set_service(r);
  return r;
}

TEST(copy_cache_links_objects_of_a_new_source) {
  tl_batch *src = tl_batch_new(), *dst = tl_batch_new();
  tl_copy_cache *cache = tl_copy_cache_new();
  tl_span *s = tl_batch_add_span(src);
  s->resource = resource_in(src, "cart");
  tl_span *c0, *c1, *c2;
  CHECK(tl_copy_cache_get(cache, s->resource) == NULL);
  CHECK_INT(tl_span_copy(dst, s, cache, &c0), TL_OK);
  CHECK(c0->resource != s->resource);
  CHECK(tl_copy_cache_get(cache, s->resource) == c0->resource);
  /* The source batch is refilled: its objects are new, the cache forgets
  ** them, and a caller that knows an object equals one copied before links
  ** it to that copy. */
  tl_batch_reset(src);
  tl_copy_cache_reset(cache);
  s = tl_batch_add_span(src);
  s->resource = resource_in(src, "cart");
  tl_span *t = tl_batch_add_span(src);
  t->resource = resource_in(src, "shop");
  CHECK(tl_copy_cache_get(cache, s->resource) == NULL);
  tl_copy_cache_link(cache, s->resource, c0->resource);
  CHECK(tl_copy_cache_get(cache, s->resource) == c0->resource);
  CHECK_INT(tl_span_copy(dst, s, cache, &c1), TL_OK);
  CHECK_INT(tl_span_copy(dst, t, cache, &c2), TL_OK);
  CHECK(c1->resource == c0->resource);
  CHECK(c2->resource != c0->resource);
  CHECK_TLSTR(c2->resource->service, "shop");
  CHECK_INT(tl_batch_count(dst), 3);
  tl_copy_cache_free(cache);
  tl_batch_free(src);
  tl_batch_free(dst);
}

TEST(kind_and_status_names) {
  CHECK_STR(tl_kind_name(TL_KIND_CONSUMER), "CONSUMER");
  CHECK(tl_kind_name(6) == NULL);
  CHECK(tl_kind_name(-1) == NULL);
  CHECK_STR(tl_status_name(TL_STATUS_ERROR), "ERROR");
  CHECK_INT(tl_kind_parse("SPAN_KIND_SERVER", 16), TL_KIND_SERVER);
  CHECK_INT(tl_kind_parse("client", 6), TL_KIND_CLIENT);
  CHECK_INT(tl_kind_parse("SPAN_KIND_", 10), -1);
  CHECK_INT(tl_kind_parse("serverx", 7), -1);
  CHECK_INT(tl_status_parse("STATUS_CODE_ERROR", 17), TL_STATUS_ERROR);
  CHECK_INT(tl_status_parse("ok", 2), TL_STATUS_OK);
  CHECK_INT(tl_status_parse("", 0), -1);
}

TEST(errors_keep_the_first_message) {
  tl_err e;
  tl_err_clear(&e);
  CHECK_INT(tl_err_set(&e, TL_EFORMAT, "line %d: bad", 3), TL_EFORMAT);
  tl_err_set(&e, TL_EIO, "later");
  CHECK_INT(e.rc, TL_EFORMAT);
  CHECK_STR(e.msg, "line 3: bad");
}

static const char *json_str(tl_buf *b, const char *s, size_t n) {
  tl_buf_reset(b);
  tl_buf_json_str(b, s, n);
  return tl_buf_cstr(b);
}

static const char *json_double(tl_buf *b, double d) {
  tl_buf_reset(b);
  tl_buf_json_double(b, d);
  return tl_buf_cstr(b);
}

TEST(json_strings_are_escaped_and_valid) {
  tl_buf b;
  tl_buf_init(&b);
  CHECK_STR(json_str(&b, "a\"b\\c/d", 7), "\"a\\\"b\\\\c/d\"");
  CHECK_STR(json_str(&b, "\n\t\r\b\f\x01", 6), "\"\\n\\t\\r\\b\\f\\u0001\"");
  CHECK_STR(json_str(&b, "x\0y", 3), "\"x\\u0000y\"");
  CHECK_STR(json_str(&b, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  /* Invalid UTF-8 (a lone continuation byte, an overlong form, a surrogate)
  ** is escaped byte by byte so the output stays valid JSON. */
  CHECK_STR(json_str(&b, "\x80", 1), "\"\\u0080\"");
  CHECK_STR(json_str(&b, "\xc0\xaf", 2), "\"\\u00c0\\u00af\"");
  CHECK_STR(json_str(&b, "\xed\xa0\x80", 3), "\"\\u00ed\\u00a0\\u0080\"");
  CHECK_STR(json_str(&b, "\xe2\x82", 2), "\"\\u00e2\\u0082\"");
  tl_buf_free(&b);
}

/* Long strings are escaped in chunks: sequences that straddle a chunk
** boundary and strings that escape every byte must come out whole. */
TEST(json_strings_longer_than_a_chunk) {
  tl_buf b, want;
  tl_buf_init(&b);
  tl_buf_init(&want);
  static char in[20000];
  memset(in, 'x', sizeof in);
  for (size_t at = 4090; at < 4100; at++) {
    memset(in, 'x', sizeof in);
    memcpy(in + at, "\xe2\x82\xac", 3); /* a euro sign across the 4096 boundary */
    tl_buf_reset(&want);
    tl_buf_putc(&want, '"');
    tl_buf_append(&want, in, sizeof in);
    tl_buf_putc(&want, '"');
    CHECK_STR(json_str(&b, in, sizeof in), tl_buf_cstr(&want));
  }
  memset(in, 1, sizeof in);
  json_str(&b, in, sizeof in);
  CHECK_INT(b.n, 2 + 6 * sizeof in);
  CHECK(memcmp(b.p + 1 + 6 * 9999, "\\u0001", 6) == 0);
  tl_buf_free(&b);
  tl_buf_free(&want);
}

TEST(json_doubles_round_trip) {
  tl_buf b;
  tl_buf_init(&b);
  CHECK_STR(json_double(&b, 1.0), "1.0");
  CHECK_STR(json_double(&b, 0.1), "0.1");
  CHECK_STR(json_double(&b, 1e300), "1e+300");
  CHECK_STR(json_double(&b, -2.5), "-2.5");
  CHECK_STR(json_double(&b, NAN), "\"NaN\"");
  CHECK_STR(json_double(&b, -INFINITY), "\"-Infinity\"");
  CHECK_STR(json_double(&b, 123456789012345678.0), "1.2345678901234568e+17");
  double samples[] = {0.30000000000000004, 5e-324, 1.7976931348623157e308, 1.0 / 3, -1e-7};
  for (size_t i = 0; i < sizeof samples / sizeof *samples; i++)
    CHECK(strtod(json_double(&b, samples[i]), NULL) == samples[i]);
  tl_buf_free(&b);
}

/* A host application may call setlocale(LC_ALL, ""): doubles must still be
** written and read with '.' (tests/run.sh builds de_DE.UTF-8 into LOCPATH). */
TEST(doubles_ignore_a_comma_locale) {
  CHECK(setlocale(LC_NUMERIC, "de_DE.UTF-8") != NULL);
  tl_buf b;
  tl_buf_init(&b);
  CHECK_STR(json_double(&b, 1.5), "1.5");
  CHECK_STR(json_double(&b, -2.25e-7), "-2.25e-07");
  double d = 0;
  CHECK_INT(tl_parse_double("1.5", 3, &d), 0);
  CHECK(d == 1.5);
  CHECK_INT(tl_parse_double("1,5", 3, &d), -1);
  CHECK_INT(tl_parse_double("1.5x", 4, &d), -1);
  setlocale(LC_NUMERIC, "C");
  CHECK_INT(tl_parse_double("-0.125e2", 8, &d), 0);
  CHECK(d == -12.5);
  CHECK_INT(tl_parse_double("", 0, &d), -1);
  tl_buf_free(&b);
}

TEST(hex_and_base64) {
  tl_buf b;
  tl_buf_init(&b);
  const uint8_t id[4] = {0x4b, 0xf9, 0x00, 0xff};
  tl_buf_hex(&b, id, 4);
  CHECK_STR(tl_buf_cstr(&b), "4bf900ff");
  uint8_t out[16];
  CHECK_INT(tl_hex_decode("4BF900ff", 8, out, sizeof out), 4);
  CHECK(memcmp(out, id, 4) == 0);
  CHECK_INT(tl_hex_decode("4bf", 3, out, sizeof out), -1);
  CHECK_INT(tl_hex_decode("4g", 2, out, sizeof out), -1);
  CHECK_INT(tl_hex_decode("00112233", 8, out, 3), -1);
  const char *cases[][2] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
                            {"foob", "Zm9vYg=="}};
  for (size_t i = 0; i < 5; i++) {
    tl_buf_reset(&b);
    tl_buf_base64(&b, (const uint8_t *)cases[i][0], strlen(cases[i][0]));
    CHECK_STR(tl_buf_cstr(&b), cases[i][1]);
    long n = tl_base64_decode(cases[i][1], strlen(cases[i][1]), out, sizeof out);
    CHECK_INT(n, (long)strlen(cases[i][0]));
    CHECK(memcmp(out, cases[i][0], (size_t)n) == 0);
  }
  /* URL-safe alphabet and missing padding are accepted; junk is not. */
  CHECK_INT(tl_base64_decode("-_8", 3, out, sizeof out), 2);
  CHECK_INT(out[0], 0xfb);
  CHECK_INT(out[1], 0xff);
  CHECK_INT(tl_base64_decode("Zm9v!", 5, out, sizeof out), -1);
  CHECK_INT(tl_base64_decode("Z", 1, out, sizeof out), -1);
  CHECK_INT(tl_base64_decode("Zh==", 4, out, sizeof out), -1); /* non-zero pad bits */
  CHECK_INT(tl_base64_decode("Zm9vYmFy", 8, out, 5), -1);      /* output too small */
  tl_buf_free(&b);
}

TEST(buffer_numbers_and_printf) {
  tl_buf b;
  tl_buf_init(&b);
  tl_buf_u64(&b, UINT64_MAX);
  tl_buf_putc(&b, ' ');
  tl_buf_i64(&b, INT64_MIN);
  tl_buf_putc(&b, ' ');
  tl_buf_i64(&b, 0);
  tl_buf_printf(&b, " %s=%d", "x", 42);
  CHECK_STR(tl_buf_cstr(&b), "18446744073709551615 -9223372036854775808 0 x=42");
  CHECK_INT(b.oom, 0);
  tl_buf_free(&b);
}

TEST(hash_is_stable) {
  /* Stored data may depend on the hash (dictionaries, dedup keys), so it
  ** must not change between runs, builds or machines: two values pinned
  ** from the first build, computed byte-wise little-endian. */
  CHECK(tl_hash("tracelite", 9) == 0x8ab7cbcbbd50cdb0ull);
  CHECK(tl_hash("", 0) == 0xfdbdf6ac4fc52e7full);
  CHECK(tl_hash("abcdefgh", 8) != tl_hash("abcdefgi", 8));
  CHECK(tl_hash("a", 1) != tl_hash("a\0", 2));
}

/* The memo keeps every text put for up to 384 keys (a block's resources
** and scopes, however their addresses fall), and forgets them all on
** reset. */
TEST(batch_memo_keeps_every_key) {
  tl_batch *b = tl_batch_new();
  static char keys[400 * 48]; /* objects 48 bytes apart, as in an arena */
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 400; i++) {
      char text[16];
      int n = snprintf(text, sizeof text, "t%d", i);
      tl_str kept = tl_batch_memo_put(b, keys + 48 * i, text, (size_t)n);
      CHECK(kept.ptr && kept.len == (uint32_t)n && !memcmp(kept.ptr, text, (size_t)n));
    }
    int found = 0, right = 0;
    for (int i = 0; i < 400; i++) {
      tl_str t = tl_batch_memo_get(b, keys + 48 * i);
      char text[16];
      int n = snprintf(text, sizeof text, "t%d", i);
      found += t.ptr != NULL;
      right += t.ptr && t.len == (uint32_t)n && !memcmp(t.ptr, text, (size_t)n);
    }
    CHECK_INT(found, 384); /* MEMO_MAX: the first 384 keys */
    CHECK_INT(right, 384);
    CHECK(tl_batch_memo_get(b, keys + 48 * 383).ptr && !tl_batch_memo_get(b, keys + 48 * 384).ptr);
    tl_batch_reset(b);
    CHECK(!tl_batch_memo_get(b, keys).ptr);
  }
  tl_batch_free(b);
}

int main(void) {
  RUN(intern_shares_equal_strings);
  RUN(intern_survives_growth_and_reset);
  RUN(spans_have_stable_pointers_and_defaults);
  RUN(bulk_spans_and_large_chunks_kept_across_resets);
  RUN(kvbuf_builds_nested_lists);
  RUN(span_copy_is_deep_and_shares_resources);
  RUN(copy_cache_links_objects_of_a_new_source);
  RUN(kind_and_status_names);
  RUN(errors_keep_the_first_message);
  RUN(json_strings_are_escaped_and_valid);
  RUN(json_strings_longer_than_a_chunk);
  RUN(json_doubles_round_trip);
  RUN(doubles_ignore_a_comma_locale);
  RUN(hex_and_base64);
  RUN(buffer_numbers_and_printf);
  RUN(hash_is_stable);
  RUN(batch_memo_keeps_every_key);
  return UNIT_DONE();
}
