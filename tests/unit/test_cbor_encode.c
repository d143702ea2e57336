/*
** test_cbor_encode.c — the encoder of the cbor payload (cbor_spans.c) on
** the points where it keeps ids apart from the other strings: the exact
** bytes (payload version 2) it writes for trace, span, parent and link
** ids, for byte strings of an id's size and for the strings numbered
** between them (one numbering for all in each section, as the decoder
** counts: the hot section from 0, the cold one from 0 again), ids that
** differ only in length, and round trips that take its id table through
** growth.  The version 1 bytes the encoder wrote before still decode to
** the same spans.
*/
#include "../../ext/codec/cbor_spans.h"
#include "codec_check.h"

static const uint8_t TRACE[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t S1[8] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8};
static const uint8_t S2[8] = {0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8};

/* The payload of the spans of b as lowercase hex (static buffer). */
static const char *payload_hex(tl_batch *b) {
  static char hex[4096];
  tl_cbor *c = tl_cbor_new();
  tl_span **v = spans_of(b);
  tl_buf out;
  tl_buf_init(&out);
  tl_err e = {0};
  int rc = tl_cbor_encode(c, v, tl_batch_count(b), &out, NULL, &e);
  hex[0] = 0;
  if (!rc && out.n * 2 < sizeof hex) {
    tl_hex_encode((const uint8_t *)out.p, out.n, hex);
    hex[out.n * 2] = 0;
  }
  tl_buf_free(&out);
  free(v);
  tl_cbor_free(c);
  return hex;
}

/* The spans of b decoded back from their payload are b's spans, field by
** field. */
static void check_decodes_back(tl_batch *b) {
  tl_cbor *c = tl_cbor_new();
  tl_span **v = spans_of(b);
  tl_batch *out = tl_batch_new();
  tl_buf buf;
  tl_buf_init(&buf);
  tl_err e = {0};
  size_t n = tl_batch_count(b);
  int rc = tl_cbor_encode(c, v, n, &buf, NULL, &e);
  if (!rc) rc = tl_cbor_decode(c, (const uint8_t *)buf.p, buf.n, n, TL_FIELDS_ALL, out, &e);
  if (rc) printf("# %s\n", e.msg);
  CHECK_INT(rc, TL_OK);
  CHECK_INT(tl_batch_count(out), n);
  for (size_t i = 0; i < n && i < tl_batch_count(out); i++) {
    const char *diff = span_diff(v[i], tl_batch_span(out, i));
    if (diff) {
      UNIT_FAIL("span %zu differs in %s", i, diff);
      break;
    }
  }
  tl_batch_free(out);
  tl_buf_free(&buf);
  free(v);
  tl_cbor_free(c);
}

/* The spans of b are what the payload `hex` decodes to (written by an
** earlier encoder: version 1 payloads stay readable), with every field
** mask. */
static void check_hex_decodes(tl_batch *b, const char *hex) {
  tl_cbor *c = tl_cbor_new();
  tl_batch *out = tl_batch_new();
  size_t len = strlen(hex) / 2, n = tl_batch_count(b);
  uint8_t *raw = malloc(len);
  tl_err e = {0};
  CHECK_INT(tl_hex_decode(hex, strlen(hex), raw, len), (long)len);
  CHECK_INT(tl_cbor_decode(c, raw, len, n, TL_FIELDS_ALL, out, &e), TL_OK);
  CHECK_INT(tl_batch_count(out), n);
  for (size_t i = 0; i < n && i < tl_batch_count(out); i++) {
    const char *diff = span_diff(tl_batch_span(b, i), tl_batch_span(out, i));
    if (diff) UNIT_FAIL("span %zu differs in %s", i, diff);
  }
  free(raw);
  tl_batch_free(out);
  tl_cbor_free(c);
}

/* Payload heads for spans without resource and scope: the stringref
** namespace tag, [ [{}], [{}], ... ]: version 1 (3 items: one list of
** spans) and version 2 (4: hot spans, then cold spans in a namespace of
** their own, COLD). */
#define HEAD_V1 "d9010083" "81a0" "81a0"
#define HEAD "d9010084" "81a0" "81a0"
#define COLD "d90100"

TEST(ids_and_id_sized_bytes_share_one_numbering) {
  tl_batch *b = tl_batch_new();
  tl_span *a = tl_batch_add_span(b), *c = tl_batch_add_span(b);
  memcpy(a->trace_id, TRACE, 16);
  memcpy(a->span_id, S1, 8);
  a->name = tl_batch_intern_cstr(b, "abc");
  a->start_ns = a->end_ns = 1000;
  static const char *const keys[] = {"peer.id", "k"};
  tl_value vals[2] = {v_bytes(b, (const char *)S1, 8), v_bytes(b, (const char *)TRACE, 16)};
  a->attrs = attrs_of(b, 0, keys, vals, 2);
  memcpy(c->trace_id, TRACE, 16);
  memcpy(c->span_id, S2, 8);
  memcpy(c->parent_span_id, S1, 8);
  c->name = a->name;
  c->start_ns = c->end_ns = 1000;
  /* Version 1 numbers: trace id 0, S1 1, "abc" 2, "peer.id" 3 ("k" is too
  ** short to be numbered), S2 4.  The bytes values equal to S1 and to the
  ** trace id and the second span's trace id, parent and name are
  ** references. */
  check_hex_decodes(b, HEAD_V1 "82"
                       "a5" "0150" "0102030405060708090a0b0c0d0e0f10" "0248" "a1a2a3a4a5a6a7a8"
                       "0663616263" "081903e8"
                       "0ca2" "67706565722e6964" "d81901" "616b" "d81900"
                       "a5" "01d81900" "0248" "b1b2b3b4b5b6b7b8" "03d81901" "06d81902" "081903e8");
  /* Version 2: the hot section numbers trace id 0, S1 1, "abc" 2, S2 3;
  ** start times are differences from the span before (1000, then 0); the
  ** cold section starts again from 0: "peer.id" 0, S1 1, the trace id 2.
  ** The second span's link ids refer to the hot numbers, the bytes value
  ** of its attribute to the cold ones. */
  c->links = tl_batch_alloc(b, sizeof *c->links);
  memset(c->links, 0, sizeof *c->links);
  memcpy(c->links->trace_id, TRACE, 16);
  memcpy(c->links->span_id, S1, 8);
  c->n_links = 1;
  c->attrs = attrs_of(b, 0, keys, vals, 1);
  CHECK_STR(payload_hex(b),
            HEAD "82"
            "a4" "0150" "0102030405060708090a0b0c0d0e0f10" "0248" "a1a2a3a4a5a6a7a8"
            "0663616263" "081903e8"
            "a6" "01d81900" "0248" "b1b2b3b4b5b6b7b8" "03d81901" "06d81902" "0800"
            "1081a2" "01d81900" "02d81901"
            COLD "82"
            "a1" "0ca2" "67706565722e6964" "48a1a2a3a4a5a6a7a8" "616b"
            "500102030405060708090a0b0c0d0e0f10"
            "a1" "0ca1" "d81900" "d81901");
  check_decodes_back(b);
  tl_batch_free(b);
}

TEST(ids_that_differ_only_in_length_stay_apart) {
  /* A trace id whose first half is the span id and second half zeros: an
  ** 8-byte string is not the 16-byte one, however the table keys them
  ** (in the hot section, and again in the cold one). */
  tl_batch *b = tl_batch_new();
  tl_span *s = tl_batch_add_span(b);
  memcpy(s->trace_id, S1, 8);
  memcpy(s->span_id, S1, 8);
  s->start_ns = s->end_ns = 5;
  static const char *const keys[] = {"wide", "narrow"};
  uint8_t wide[16] = {0};
  memcpy(wide, S1, 8);
  tl_value vals[2] = {v_bytes(b, (const char *)wide, 16), v_bytes(b, (const char *)S1, 8)};
  s->attrs = attrs_of(b, 0, keys, vals, 2);
  check_hex_decodes(b, HEAD_V1 "81"
                       "a4" "0150" "a1a2a3a4a5a6a7a80000000000000000" "0248" "a1a2a3a4a5a6a7a8"
                       "0805" "0ca2" "6477696465" "d81900" "666e6172726f77" "d81901");
  CHECK_STR(payload_hex(b), HEAD "81"
                            "a3" "0150" "a1a2a3a4a5a6a7a80000000000000000" "0248" "a1a2a3a4a5a6a7a8"
                            "0805" COLD "81"
                            "a1" "0ca2" "6477696465" "50a1a2a3a4a5a6a7a80000000000000000"
                            "666e6172726f77" "48a1a2a3a4a5a6a7a8");
  check_decodes_back(b);
  tl_batch_free(b);
}

/* 30,000 spans: the id table grows many times while it holds references to
** come (every span's parent is an earlier span, every tenth span carries a
** bytes value equal to an older span id), and past 24 and 256 numbered
** strings the references get longer. */
TEST(id_table_growth_round_trips) {
  tl_batch *b = tl_batch_new();
  build_typical(b, 30000, 11);
  for (size_t i = 1; i < tl_batch_count(b); i++) {
    tl_span *s = tl_batch_span(b, i);
    memcpy(s->parent_span_id, tl_batch_span(b, i - 1)->span_id, 8);
    if (i % 10 == 0) {
      static const char *const keys[] = {"link.span"};
      tl_value v = v_bytes(b, (const char *)tl_batch_span(b, i / 2)->span_id, 8);
      s->attrs = attrs_of(b, 0, keys, &v, 1);
    }
  }
  CHECK_INT(tl_batch_count(b), 30000);
  check_decodes_back(b);
  check_round_trip(&tl_codec_cbor_zstd, b, 1);
  tl_batch_free(b);
}

/* One state encodes block after block: what the id table holds for one
** block never leaks into the next (each starts numbering from 0). */
TEST(each_block_numbers_its_own_ids) {
  tl_batch *b = tl_batch_new();
  tl_span *s = tl_batch_add_span(b);
  memcpy(s->trace_id, TRACE, 16);
  memcpy(s->span_id, S1, 8);
  tl_cbor *c = tl_cbor_new();
  tl_span *v[1] = {s};
  tl_buf first, second;
  tl_buf_init(&first);
  tl_buf_init(&second);
  tl_err e = {0};
  size_t hot = 0;
  CHECK_INT(tl_cbor_encode(c, v, 1, &first, NULL, &e), TL_OK);
  CHECK_INT(tl_cbor_encode(c, v, 1, &second, &hot, &e), TL_OK);
  CHECK_INT(first.n, second.n);
  CHECK(first.n == second.n && memcmp(first.p, second.p, first.n) == 0);
  CHECK_STR(payload_hex(b), HEAD "81"
                            "a3" "0150" "0102030405060708090a0b0c0d0e0f10" "0248" "a1a2a3a4a5a6a7a8"
                            "0800" COLD "81a0");
  CHECK_INT(hot, second.n - 5); /* the cold section: d9 01 00 81 a0 */
  check_hex_decodes(b, HEAD_V1 "81"
                       "a3" "0150" "0102030405060708090a0b0c0d0e0f10" "0248" "a1a2a3a4a5a6a7a8"
                       "0800");
  tl_buf_free(&first);
  tl_buf_free(&second);
  tl_cbor_free(c);
  tl_batch_free(b);
}

int main(void) {
  RUN(ids_and_id_sized_bytes_share_one_numbering);
  RUN(ids_that_differ_only_in_length_stay_apart);
  RUN(id_table_growth_round_trips);
  RUN(each_block_numbers_its_own_ids);
  return UNIT_DONE();
}
