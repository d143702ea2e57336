/*
** test_codec.c — the storage codecs of phases 1-3 (ndjson, cbor,
** cbor_zstd) and the block envelope (ext/codec).
**
** What is checked: every codec gives back hand-built spans holding every
** value type and edge (NaN, -0.0, INT64_MIN, end before start, non-UTF-8
** text, strings past every CBOR length form, the stringref number limits),
** compared field by field and as canonical NDJSON; every span of every real
** trace file round-trips through every codec; the envelope refuses bad
** magic, another codec's blocks, newer versions and wrong counts with exact
** messages; every truncation of a small block is TL_EFORMAT and leaves the
** batch as it was; flipping any byte never crashes; crafted CBOR and zstd
** payloads are refused with exact messages; dictionaries train, are
** recorded by id and are required to decode.  The cbor payload's version 2
** (hot and cold sections): its exact bytes, version 1 blocks still read,
** every field mask gives what the full decode gives of its fields (on
** hand-built, generated and every real span), damage to the cold section
** refused by full decodes and unseen by hot-only ones, crafted sections
** and frames refused exactly, and the fuzz targets' seeds of both
** versions.
**
** Lines starting with "# " are information (bytes per span and speeds on
** the real files and on generated spans), not assertions.
*/
#include "../../ext/codec/cbor_spans.h"
#include "codec_check.h"

#include <zstd.h>

static const tl_codec_vt *const all_codecs[] = {&tl_codec_ndjson, &tl_codec_cbor,
                                                &tl_codec_cbor_zstd};
#define N_CODECS 3

/* ---- registry and envelope --------------------------------------------------- */

TEST(codecs_are_found_by_name_and_id) {
  CHECK(tl_codec_by_name("ndjson") == &tl_codec_ndjson);
  CHECK(tl_codec_by_name("cbor") == &tl_codec_cbor);
  CHECK(tl_codec_by_name("cbor_zstd") == &tl_codec_cbor_zstd);
  CHECK(tl_codec_by_name("CBOR") == NULL);
  CHECK(tl_codec_by_name("") == NULL);
  CHECK(tl_codec_by_name(NULL) == NULL);
  CHECK(tl_codec_by_id(TL_CODEC_NDJSON) == &tl_codec_ndjson);
  CHECK(tl_codec_by_id(TL_CODEC_CBOR) == &tl_codec_cbor);
  CHECK(tl_codec_by_id(TL_CODEC_CBOR_ZSTD) == &tl_codec_cbor_zstd);
  CHECK(tl_codec_by_id(0) == NULL);
  CHECK(tl_codec_by_id(99) == NULL);
  CHECK(tl_codec_cbor.train == NULL && tl_codec_ndjson.add_dict == NULL);
  CHECK(tl_codec_cbor_zstd.train != NULL && tl_codec_cbor_zstd.add_dict != NULL);
}

TEST(envelope_layout_and_errors) {
  void *st = new_state(&tl_codec_cbor, NULL);
  tl_buf blob;
  tl_buf_init(&blob);
  tl_err e = {0};
  small_block(&tl_codec_cbor, st, 3, &blob);
  const uint8_t *p = (const uint8_t *)blob.p;
  CHECK(memcmp(p, "TLB\x01", 4) == 0);
  CHECK_INT(p[4], TL_CODEC_CBOR);
  CHECK_INT(p[5], 2);
  CHECK_INT(p[6], 3);
  size_t n = 0;
  CHECK_INT(tl_block_span_count(p, blob.n, &n, &e), TL_OK);
  CHECK_INT(n, 3);

  uint8_t *q = malloc(blob.n);
  memcpy(q, p, blob.n);
  q[0] = 'X';
  CHECK_STR(decode_error(&tl_codec_cbor, st, q, blob.n, &e),
            "block: bad magic (not a tracelite block)");
  CHECK_INT(e.rc, TL_EFORMAT);
  tl_err_clear(&e);
  CHECK_INT(tl_block_span_count(q, blob.n, &n, &e), TL_EFORMAT);
  q[0] = 'T';
  void *zst = new_state(&tl_codec_cbor_zstd, NULL);
  CHECK_STR(decode_error(&tl_codec_cbor_zstd, zst, q, blob.n, &e),
            "block: written by codec 2 (cbor), this table reads cbor_zstd");
  q[4] = 77;
  CHECK_STR(decode_error(&tl_codec_cbor, st, q, blob.n, &e),
            "block: written by codec 77 (unknown), this table reads cbor");
  q[4] = TL_CODEC_CBOR;
  q[5] = 3;
  CHECK_STR(decode_error(&tl_codec_cbor, st, q, blob.n, &e),
            "block: cbor payload version 3, this build reads versions 1 to 2 (written by a "
            "newer tracelite?)");
  q[5] = 0;
  CHECK_STR(decode_error(&tl_codec_cbor, st, q, blob.n, &e),
            "block: cbor payload version 0, this build reads versions 1 to 2 (written by a "
            "newer tracelite?)");
  q[5] = 2;
  q[6] = 4; /* one span more than the payload holds */
  CHECK_STR(decode_error(&tl_codec_cbor, st, q, blob.n, &e),
            "cbor payload: 3 hot spans, the block says 4 at byte 243");
  CHECK_INT(e.rc, TL_EFORMAT);
  q[6] = 3;
  CHECK_STR(decode_error(&tl_codec_cbor, st, q, 6, &e), "block: truncated envelope");
  CHECK_STR(decode_error(&tl_codec_cbor, st, q, 2, &e), "block: truncated envelope");
  free(q);

  /* A span count past the limit, in the envelope alone. */
  tl_buf big;
  tl_buf_init(&big);
  tl_buf_append(&big, "TLB\x01\x02\x01", 6);
  tl_buf_varint(&big, (uint64_t)TL_BLOCK_MAX_SPANS + 1);
  tl_err_clear(&e);
  CHECK_INT(tl_block_span_count((const uint8_t *)big.p, big.n, &n, &e), TL_EFORMAT);
  CHECK_STR(e.msg, "block: span count 1048577 is past the limit of 1048576");
  tl_buf_free(&big);

  /* Encoding more spans than a block holds is refused before any work. */
  tl_err_clear(&e);
  tl_buf_reset(&blob);
  tl_buf_append(&blob, "keep", 4);
  CHECK_INT(tl_block_encode(&tl_codec_cbor, st, NULL, (size_t)TL_BLOCK_MAX_SPANS + 1, &blob, &e),
            TL_ERANGE);
  CHECK_STR(e.msg, "block: 1048577 spans, at most 1048576 fit in one block");
  CHECK_INT(blob.n, 4);

  tl_buf_free(&blob);
  tl_codec_cbor.destroy(st);
  tl_codec_cbor_zstd.destroy(zst);
}

/* ---- round trips ------------------------------------------------------------ */

TEST(every_value_type_round_trips) {
  for (int safe = 0; safe < 2; safe++) {
    tl_batch *b = tl_batch_new();
    build_every_kind(b, safe);
    for (int c = 0; c < N_CODECS; c++) {
      /* The NDJSON baseline carries UTF-8 text only, and NaN without its
      ** payload bits: it is compared as canonical NDJSON. */
      if (all_codecs[c] == &tl_codec_ndjson && !safe) continue;
      check_round_trip(all_codecs[c], b, all_codecs[c] != &tl_codec_ndjson);
    }
    tl_batch_free(b);
  }
}

TEST(empty_blocks_round_trip) {
  for (int c = 0; c < N_CODECS; c++) {
    tl_batch *b = tl_batch_new();
    check_round_trip(all_codecs[c], b, 1);
    tl_batch_free(b);
  }
}

TEST(decoded_spans_share_resources_and_scopes) {
  tl_batch *b = tl_batch_new(), *out = tl_batch_new();
  build_every_kind(b, 1);
  void *st = new_state(&tl_codec_cbor, NULL);
  tl_buf blob;
  tl_buf_init(&blob);
  tl_err e = {0};
  CHECK_INT(encode_all(&tl_codec_cbor, st, b, &blob, &e), TL_OK);
  /* Spans already in the batch stay, and come first. */
  tl_span *first = tl_batch_add_span(out);
  first->name = tl_batch_intern_cstr(out, "already here");
  CHECK_INT(decode_blob(&tl_codec_cbor, st, &blob, blob.n, out, &e), TL_OK);
  CHECK_INT(tl_batch_count(out), 6);
  CHECK(tl_batch_span(out, 0) == first);
  tl_span *a = tl_batch_span(out, 1), *c = tl_batch_span(out, 2), *d = tl_batch_span(out, 3),
          *f = tl_batch_span(out, 4), *z = tl_batch_span(out, 5);
  /* A and B had equal resources at two addresses: one resource now. */
  CHECK(a->resource == c->resource);
  CHECK(a->resource == f->resource);
  CHECK(a->resource != d->resource);
  CHECK_TLSTR(a->resource->service, "frontend");
  CHECK(a->scope == d->scope);
  CHECK(c->scope == tl_batch_empty_scope(out));
  CHECK(z->resource == tl_batch_empty_resource(out));
  /* Strings are interned in the batch. */
  CHECK(a->name.ptr == f->name.ptr);
  CHECK(a->name.ptr == tl_batch_intern_cstr(out, "GET /api/cart").ptr);
  tl_buf_free(&blob);
  tl_codec_cbor.destroy(st);
  tl_batch_free(b);
  tl_batch_free(out);
}

/* 100,000 spans with distinct 6-byte names cross stringref's 65,536-string
** limit, after which 6-byte strings are no longer numbered. */
TEST(stringref_limits_round_trip) {
  tl_batch *b = tl_batch_new();
  build_typical(b, 100000, 7);
  for (size_t i = 0; i < tl_batch_count(b); i++) {
    char name[16];
    snprintf(name, sizeof name, "o%05zu", i % 90000);
    tl_batch_span(b, i)->name = tl_batch_intern_cstr(b, name);
  }
  check_round_trip(&tl_codec_cbor, b, 1);
  tl_batch_free(b);
}

TEST(encoder_refuses_what_it_cannot_write) {
  tl_batch *b = tl_batch_new();
  tl_span *s = tl_batch_add_span(b);
  /* An int inside TL_MAX_DEPTH + 1 arrays: one level too deep. */
  tl_value v = v_int(1);
  for (int i = 0; i < TL_MAX_DEPTH + 1; i++) v = v_array(b, &v, 1);
  static const char *const k[] = {"deep"};
  s->attrs = attrs_of(b, 0, k, &v, 1);
  tl_buf blob;
  tl_buf_init(&blob);
  tl_buf_append(&blob, "keep", 4);
  for (int c = 1; c < N_CODECS; c++) {
    void *st = new_state(all_codecs[c], NULL);
    tl_err e = {0};
    CHECK_INT(tl_block_encode(all_codecs[c], st, &s, 1, &blob, &e), TL_ERANGE);
    CHECK_STR(e.msg, "cbor: attribute values nested deeper than 32");
    CHECK_INT(blob.n, 4);
    all_codecs[c]->destroy(st);
  }
  /* One level less is fine. */
  s->attrs.items[0].value = v.u.arr.items[0];
  check_round_trip(&tl_codec_cbor, b, 1);
  s->attrs.items[0].value.type = 9;
  void *st = new_state(&tl_codec_cbor, NULL);
  tl_err e = {0};
  CHECK_INT(tl_block_encode(&tl_codec_cbor, st, &s, 1, &blob, &e), TL_EMISUSE);
  CHECK_STR(e.msg, "cbor: attribute value of unknown type 9");
  tl_codec_cbor.destroy(st);
  tl_buf_free(&blob);
  tl_batch_free(b);
}

/* ---- hostile blocks ------------------------------------------------------------ */

TEST(every_truncation_is_refused) {
  for (int c = 0; c < N_CODECS; c++) {
    void *st = new_state(all_codecs[c], NULL);
    tl_buf blob;
    tl_buf_init(&blob);
    small_block(all_codecs[c], st, 3, &blob);
    tl_err e = {0};
    int bad = 0;
    for (size_t len = 0; len < blob.n; len++) {
      uint8_t *q = malloc(len ? len : 1); /* exact size: ASan sees any over-read */
      memcpy(q, blob.p, len);
      decode_error(all_codecs[c], st, q, len, &e);
      if (e.rc != TL_EFORMAT && !bad++)
        UNIT_FAIL("%s: truncated to %zu bytes: rc %d (%.300s)", all_codecs[c]->name, len, e.rc,
                  e.msg);
      free(q);
    }
    /* The whole block still decodes with the same state. */
    tl_batch *out = tl_batch_new();
    CHECK_INT(decode_blob(all_codecs[c], st, &blob, blob.n, out, &e), TL_OK);
    CHECK_INT(tl_batch_count(out), 3);
    tl_batch_free(out);
    tl_buf_free(&blob);
    all_codecs[c]->destroy(st);
  }
}

TEST(flipped_bytes_never_crash) {
  for (int c = 0; c < N_CODECS; c++) {
    void *st = new_state(all_codecs[c], NULL);
    tl_buf blob;
    tl_buf_init(&blob);
    small_block(all_codecs[c], st, 4, &blob);
    size_t failed = 0, decoded = 0;
    cc_flip_bytes(all_codecs[c], st, (const uint8_t *)blob.p, blob.n, 4, &failed, &decoded);
    CHECK(failed > 0);
    printf("# %s: %zu-byte block, %zu flips refused, %zu decoded\n", all_codecs[c]->name,
           blob.n, failed, decoded);
    tl_buf_free(&blob);
    all_codecs[c]->destroy(st);
  }
}

/* Decodes a hand-made cbor payload (hex, spaces ignored) claiming n spans,
** asking for `fields`. */
static const char *cbor_fields_error(const char *hex, size_t n, uint32_t fields) {
  static tl_err e;
  uint8_t raw[512];
  char digits[1024];
  size_t k = 0;
  for (const char *h = hex; *h && k < sizeof digits; h++)
    if (*h != ' ') digits[k++] = *h; /* spaces only separate items for the reader */
  long len = tl_hex_decode(digits, k, raw, sizeof raw);
  CHECK(len >= 0);
  if (len < 0) return "(bad hex)";
  tl_buf blob;
  tl_buf_init(&blob);
  tl_buf_append(&blob, "TLB\x01\x02\x01", 6);
  tl_buf_varint(&blob, n);
  tl_buf_append(&blob, raw, (size_t)len);
  void *st = new_state(&tl_codec_cbor, NULL);
  decode_fields_error(&tl_codec_cbor, st, (const uint8_t *)blob.p, blob.n, fields, &e);
  tl_codec_cbor.destroy(st);
  tl_buf_free(&blob);
  return e.msg;
}

static const char *cbor_error(const char *hex, size_t n) {
  return cbor_fields_error(hex, n, TL_FIELDS_ALL);
}

TEST(crafted_cbor_is_refused_exactly) {
  /* d90100 = tag 256; 83 = array(3); 80 = []; 81 = array(1); a1 = map(1).
  ** Offsets count from the start of the payload; the first span's map is
  ** at byte 7 in "d9010083808081...". */
  CHECK_STR(cbor_error("", 0), "cbor payload: truncated at byte 0");
  CHECK_STR(cbor_error("83808080", 0), "cbor payload: no stringref namespace tag at byte 0");
  CHECK_STR(cbor_error("d90100 83 8080", 0),
            "cbor payload: payload claims 3 items, more than the bytes left at byte 3");
  CHECK_STR(cbor_error("d90100 82 808080", 0),
            "cbor payload: payload array of 2 items, expected 3 (version 1) or 4 (version 2) at "
            "byte 3");
  CHECK_STR(cbor_error("d90100 83 808080 9f", 0),
            "cbor payload: bytes after the last span: 1 at byte 7");
  CHECK_STR(cbor_error("d90100 83 8080 9f", 0),
            "cbor payload: indefinite length or reserved value 0x9f at byte 6");
  /* Counts are checked against the bytes left before anything is allocated. */
  CHECK_STR(cbor_error("d90100 83 8080 9bffffffffffffffff", 0),
            "cbor payload: span list claims 18446744073709551615 items, more than the bytes "
            "left at byte 6");
  CHECK_STR(cbor_error("d90100 83 8080 9a00100000", TL_BLOCK_MAX_SPANS),
            "cbor payload: span list claims 1048576 items, more than the bytes left at byte 6");
  CHECK_STR(cbor_error("d90100 83 8080 82a0a0", 1),
            "cbor payload: 2 spans, the block says 1 at byte 6");
  CHECK_STR(cbor_error("d90100 83 8080 81 a2 0600", 1),
            "cbor payload: span claims 2 items, more than the bytes left at byte 7");
  CHECK_STR(cbor_error("d90100 83 81a0 80 81 a10ca16178 9bffffffffffffffff", 1),
            "cbor payload: array value claims 18446744073709551615 items, more than the bytes "
            "left at byte 13");
  CHECK_STR(cbor_error("d90100 83 80 9a7fffffff", 0),
            "cbor payload: scope table claims 2147483647 items, more than the bytes left at "
            "byte 5");
  /* Spans: ids, keys, ranges. */
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 01 5bffffffffffffffff", 1),
            "cbor payload: trace id runs past the end (18446744073709551615 bytes) at byte 9");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 01 bbffffffffffffffff", 1),
            "cbor payload: trace id is not a string at byte 9");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 01 41aa", 1),
            "cbor payload: trace id is not a byte string of 16 bytes at byte 9");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 06 61", 1),
            "cbor payload: name runs past the end (1 bytes) at byte 9");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 06 00", 1),
            "cbor payload: name is not a string at byte 9");
  CHECK_STR(cbor_error("d90100 83 8080 81 a2 07 06 07 00", 1),
            "cbor payload: kind 6 is past 5 at byte 9");
  CHECK_STR(cbor_error("d90100 83 8080 81 a2 07 01 07 01", 1),
            "cbor payload: map key 7 out of order at byte 10");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 1818 00", 1),
            "cbor payload: unknown span key 24 at byte 8");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 1800 00", 1),
            "cbor payload: map key 0 out of order at byte 8");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 0a 03", 1),
            "cbor payload: status code 3 is past 2 at byte 9");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 05 1b0000000100000000", 1),
            "cbor payload: flags 4294967296 is past 2^32-1 at byte 9");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 09 1b8000000000000000", 1),
            "cbor payload: duration does not fit in 64 bits at byte 9");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 0c", 1),
            "cbor payload: span claims 1 items, more than the bytes left at byte 7");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 0c a1", 1),
            "cbor payload: attributes claims 1 items, more than the bytes left at byte 9");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 0c a1 6178", 1), "cbor payload: truncated at byte 12");
  /* Every span needs an entry in each table (index 0 when left out). */
  CHECK_STR(cbor_error("d90100 83 8080 81 a0", 1),
            "cbor payload: resource index 0 past the 0 in the table at byte 7");
  CHECK_STR(cbor_error("d90100 83 81a0 80 81 a1 12 01", 1),
            "cbor payload: resource index 1 past the 1 in the table at byte 8");
  CHECK_STR(cbor_error("d90100 83 81a0 81a0 81 a1 13 1a00010000", 1),
            "cbor payload: scope index 65536 past the 1 in the table at byte 9");
  CHECK_STR(cbor_error("d90100 83 81a0 81a0 81 a0", 1), "(decoded)");
  /* Strings and references: "abc" (63616263) is string number 0. */
  CHECK_STR(cbor_error("d90100 83 81a0 81a0 81 a2 06 63616263 0b d81900", 1), "(decoded)");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 06 d81900", 1),
            "cbor payload: string reference 0 past the 0 strings numbered at byte 9");
  /* A 2-byte string is too short to be numbered. */
  CHECK_STR(cbor_error("d90100 83 8080 81 a2 06 626162 0b d81900", 1),
            "cbor payload: string reference 0 past the 0 strings numbered at byte 13");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 06 c000", 1),
            "cbor payload: unexpected tag 0 for name at byte 9");
  CHECK_STR(cbor_error("d90100 83 8080 81 a2 06 63616263 0c d81900", 1),
            "cbor payload: attributes is not a map at byte 14");
  CHECK_STR(cbor_error("d90100 83 8080 81 a2 01 50000102030405060708090a0b0c0d0e0f 06 d81900", 1),
            "cbor payload: name is not a text string at byte 27");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 0c a1 01 01", 1),
            "cbor payload: attribute key is not a string at byte 10");
  /* Values. */
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 0c a16178 f93c00", 1),
            "cbor payload: unsupported value 0xf9 at byte 12");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 0c a16178 f7", 1),
            "cbor payload: unsupported value 0xf7 at byte 12");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 0c a16178 fb0000", 1),
            "cbor payload: truncated at byte 12");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 0c a16178 3b8000000000000000", 1),
            "cbor payload: int value does not fit in 64 bits at byte 12");
  /* An int inside 33 arrays: one deeper than TL_MAX_DEPTH allows. */
  char deep[256] = "d9010083 81a0 81a0 81 a1 0c a16178";
  for (int i = 0; i <= TL_MAX_DEPTH; i++) strcat(deep, "81");
  strcat(deep, "01");
  CHECK_STR(cbor_error(deep, 1), "cbor payload: values nested deeper than 32 at byte 47");
  deep[strlen(deep) - 4] = 0;
  strcat(deep, "01");
  CHECK_STR(cbor_error(deep, 1), "(decoded)");
  /* Tables, events and links. */
  CHECK_STR(cbor_error("d90100 83 81a10400 8080", 0),
            "cbor payload: unknown resource key 4 at byte 6");
  CHECK_STR(cbor_error("d90100 83 81a2036001a0 8080", 0),
            "cbor payload: map key 1 out of order at byte 8");
  CHECK_STR(cbor_error("d90100 83 80 81a10600 80", 0),
            "cbor payload: unknown scope key 6 at byte 7");
  CHECK_STR(cbor_error("d90100 83 80 81a10101 80", 0),
            "cbor payload: scope name is not a string at byte 8");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 0e 81a10500", 1),
            "cbor payload: unknown event key 5 at byte 11");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 10 81a10700", 1),
            "cbor payload: unknown link key 7 at byte 11");
  CHECK_STR(cbor_error("d90100 83 8080 81 a1 10 81a1 01 4101", 1),
            "cbor payload: link trace id is not a byte string of 16 bytes at byte 12");
}

/* ---- decoding some fields ------------------------------------------------------ */

/* What a scan of the cheap columns asks for, and what one of all but the
** attributes asks for. */
#define CHEAP_FIELDS (TL_FIELD_IDS | TL_FIELD_TIMES | TL_FIELD_KIND | TL_FIELD_RESOURCE | TL_FIELD_SCOPE)
#define NO_ATTRS (TL_FIELDS_ALL & ~TL_FIELD_ATTRS)

/* s as a decode of `fields` must give it: what was not asked for left empty
** (and the dropped counts when the cold section is not read). */
static tl_span without_skipped(const tl_span *s, uint32_t fields) {
  tl_span x = *s;
  static const tl_str none = {"", 0};
  if (tl_cbor_hot_only(fields)) {
    x.attrs.dropped = 0;
    x.dropped_events = 0;
    x.dropped_links = 0;
  }
  if (!(fields & TL_FIELD_NAME)) x.name = none;
  if (!(fields & TL_FIELD_STATUS)) x.status_message = none;
  if (!(fields & TL_FIELD_ATTRS)) {
    x.attrs.items = NULL;
    x.attrs.n = 0;
  }
  if (!(fields & TL_FIELD_EVENTS)) {
    x.events = NULL;
    x.n_events = 0;
  }
  if (!(fields & TL_FIELD_LINKS)) {
    x.links = NULL;
    x.n_links = 0;
  }
  return x;
}

TEST(cbor_decodes_only_the_fields_asked_for) {
  static const uint32_t masks[] = {CHEAP_FIELDS, NO_ATTRS, TL_FIELD_IDS | TL_FIELD_TIMES};
  const tl_codec_vt *vts[] = {&tl_codec_cbor, &tl_codec_cbor_zstd};
  tl_batch *b = tl_batch_new();
  build_every_kind(b, 0);
  build_typical(b, 500, 11);
  size_t n = tl_batch_count(b), hot_len, payload_len;
  /* Where the hot section of the cbor payload of b ends. */
  tl_cbor *cb = tl_cbor_new();
  tl_buf payload;
  tl_buf_init(&payload);
  tl_span **v = spans_of(b);
  tl_err pe = {0};
  CHECK_INT(tl_cbor_encode(cb, v, n, &payload, &hot_len, &pe), TL_OK);
  payload_len = payload.n;
  tl_buf_free(&payload);
  tl_cbor_free(cb);
  free(v);
  for (int c = 0; c < 2; c++) {
    void *st = new_state(vts[c], NULL);
    tl_buf blob;
    tl_buf_init(&blob);
    tl_err e = {0};
    CHECK_INT(encode_all(vts[c], st, b, &blob, &e), TL_OK);
    for (size_t m = 0; m < sizeof masks / sizeof *masks; m++) {
      tl_batch *out = tl_batch_new();
      CHECK_INT(tl_block_decode(vts[c], st, (const uint8_t *)blob.p, blob.n, masks[m], out, &e),
                TL_OK);
      CHECK_INT(tl_batch_count(out), n);
      size_t wrong = 0;
      for (size_t i = 0; i < n && i < tl_batch_count(out); i++) {
        tl_span want = without_skipped(tl_batch_span(b, i), masks[m]);
        const char *diff = span_diff(&want, tl_batch_span(out, i));
        if (diff && !wrong++)
          UNIT_FAIL("%s, fields 0x%x, span %zu: %s", vts[c]->name, masks[m], i, diff);
      }
      tl_batch_free(out);
      /* Every truncation is refused with fields skipped too, but for one
      ** that leaves the hot section whole when the decode reads no more
      ** (the cbor codec does not look at the cold section then). */
      size_t bad = 0, whole = blob.n + 1;
      if (c == 0 && tl_cbor_hot_only(masks[m])) whole = blob.n - payload_len + hot_len;
      for (size_t len = 0; len < blob.n && c == 0; len += 7) {
        uint8_t *q = malloc(len ? len : 1);
        memcpy(q, blob.p, len);
        decode_fields_error(vts[c], st, q, len, masks[m], &e);
        if ((len < whole ? e.rc != TL_EFORMAT : e.rc != TL_OK) && !bad++)
          UNIT_FAIL("fields 0x%x, truncated to %zu bytes: rc %d (%.200s)", masks[m], len, e.rc,
                    e.msg);
        free(q);
      }
    }
    tl_buf_free(&blob);
    vts[c]->destroy(st);
  }
  tl_batch_free(b);
}

TEST(skipped_cbor_is_walked_with_the_same_limits) {
  /* "abc" (63616263) in skipped attributes is still string number 0, so an
  ** event name after them refers to it. */
  CHECK_STR(cbor_fields_error("d90100 83 81a0 81a0 81 a2 0c a1 63616263 01 0e 81a102d81900", 1,
                              NO_ATTRS),
            "(decoded)");
  CHECK_STR(cbor_fields_error("d90100 83 81a0 81a0 81 a2 0c a1 626162 01 0e 81a102d81900", 1,
                              NO_ATTRS),
            "cbor payload: string reference 0 past the 0 strings numbered at byte 20");
  CHECK_STR(cbor_fields_error("d90100 83 81a0 81a0 81 a1 0c a1 6178 d81900", 1, CHEAP_FIELDS),
            "cbor payload: string reference 0 past the 0 strings numbered at byte 14");
  CHECK_STR(cbor_fields_error("d90100 83 81a0 81a0 81 a1 0c a1 6178 bf", 1, CHEAP_FIELDS),
            "cbor payload: indefinite length or reserved value 0xbf at byte 14");
  CHECK_STR(cbor_fields_error("d90100 83 81a0 81a0 81 a1 0c a1 6178 9bffffffffffffffff", 1,
                              CHEAP_FIELDS),
            "cbor payload: skipped value claims 18446744073709551615 items, more than the bytes "
            "left at byte 14");
  CHECK_STR(cbor_fields_error("d90100 83 81a0 81a0 81 a1 0e 81 a1 02 7a00010000", 1, CHEAP_FIELDS),
            "cbor payload: value runs past the end (65536 bytes) at byte 14");
  CHECK_STR(cbor_fields_error("d90100 83 81a0 81a0 81 a1 10 81 a1 01 fb00", 1, CHEAP_FIELDS),
            "cbor payload: truncated at byte 14");
  /* A skipped value's type is not judged (0xf7, undefined, is refused when
  ** attributes are decoded); the walk past it is exact. */
  CHECK_STR(cbor_fields_error("d90100 83 81a0 81a0 81 a1 0c a1 6178 f7", 1, CHEAP_FIELDS),
            "(decoded)");
  CHECK_STR(cbor_fields_error("d90100 83 81a0 81a0 81 a1 0c a1 6178 f7", 1, TL_FIELDS_ALL),
            "cbor payload: unsupported value 0xf7 at byte 14");
  /* Skipped nesting is bounded too: values in 40 arrays. */
  char deep[256] = "d9010083 81a0 81a0 81 a1 0c a16178";
  for (int i = 0; i < 40; i++) strcat(deep, "81");
  strcat(deep, "01");
  CHECK_STR(cbor_fields_error(deep, 1, CHEAP_FIELDS),
            "cbor payload: skipped value nested deeper than 35 at byte 49");
}

/* ---- payload version 2: hot and cold sections -------------------------------- */

/* The example of docs/format.md: two spans of one trace, one resource
** (service.name "cart"), no scope. */
static void build_example(tl_batch *b) {
  tl_resource *r = tl_batch_alloc(b, sizeof *r);
  static const char *const rkeys[] = {"service.name"};
  tl_value service = v_cstr(b, "cart");
  r->attrs = attrs_of(b, 0, rkeys, &service, 1);
  tl_resource_set_service(r);
  tl_span *a = tl_batch_add_span(b), *c = tl_batch_add_span(b);
  for (int i = 0; i < 16; i++) a->trace_id[i] = c->trace_id[i] = (uint8_t)(0x10 + i);
  for (int i = 0; i < 8; i++) {
    a->span_id[i] = c->parent_span_id[i] = (uint8_t)(0xa0 + i);
    c->span_id[i] = (uint8_t)(0xa8 + i);
  }
  a->resource = c->resource = r;
  a->name = tl_batch_intern_cstr(b, "GET /cart");
  a->kind = TL_KIND_SERVER;
  a->start_ns = 1700000000000000000ull;
  a->end_ns = a->start_ns + 2500000;
  static const char *const keys[] = {"http.status_code"};
  tl_value status = v_int(200);
  a->attrs = attrs_of(b, 0, keys, &status, 1);
  c->name = tl_batch_intern_cstr(b, "SELECT");
  c->kind = TL_KIND_CLIENT;
  c->start_ns = a->start_ns + 1000;
  c->end_ns = c->start_ns + 1500000;
  c->status_code = TL_STATUS_ERROR;
}

/* The example's block as version 1 wrote it (docs/format.md, before). */
#define EXAMPLE_V1                                                                     \
  "544c4201020102"                                                                     \
  "d9010083" "81a101a16c736572766963652e6e616d656463617274" "81a0" "82"                \
  "a7" "0150101112131415161718191a1b1c1d1e1f" "0248a0a1a2a3a4a5a6a7"                  \
  "0669474554202f63617274" "0702" "081b17979cfe362a0000" "091a002625a0"               \
  "0ca170687474702e7374617475735f636f646518c8"                                         \
  "a8" "01d81902" "0248a8a9aaabacadaeaf" "03d81903" "066653454c454354"                \
  "0703" "081b17979cfe362a03e8" "091a0016e360" "0a02"

/* And as version 2 writes it. */
#define EXAMPLE_V2                                                                     \
  "544c4201020202"                                                                     \
  "d9010084" "81a101a16c736572766963652e6e616d656463617274" "81a0" "82"                \
  "a6" "0150101112131415161718191a1b1c1d1e1f" "0248a0a1a2a3a4a5a6a7"                  \
  "0669474554202f63617274" "0702" "081b17979cfe362a0000" "091a002625a0"               \
  "a8" "01d81902" "0248a8a9aaabacadaeaf" "03d81903" "066653454c454354"                \
  "0703" "081903e8" "091a0016e360" "0a02"                                              \
  "d90100" "82" "a1" "0ca170687474702e7374617475735f636f646518c8" "a0"

/* hex (spaces ignored) as bytes into out (reset first). */
static void hex_to(const char *hex, tl_buf *out) {
  tl_buf_reset(out);
  for (const char *h = hex; *h; h++) {
    if (*h == ' ') continue;
    uint8_t byte = 0;
    CHECK_INT(h[1] ? tl_hex_decode(h, 2, &byte, 1) : -1, 1);
    tl_buf_putc(out, (char)byte);
    if (!*++h) break;
  }
}

/* What a hot-only decode of the example gives: all but the cold fields. */
#define HOT_FIELDS (TL_FIELDS_ALL & ~(TL_FIELD_ATTRS | TL_FIELD_EVENTS | TL_FIELD_DROPPED))
/* What the scans of aggregates ask for (sum, percentiles by service) and
** what trace_topology asks for. */
#define PCT_FIELDS (TL_FIELD_TIMES | TL_FIELD_RESOURCE)
#define TOPO_FIELDS                                                                          \
  (TL_FIELD_IDS | TL_FIELD_TIMES | TL_FIELD_RESOURCE | TL_FIELD_KIND | TL_FIELD_STATUS |      \
   TL_FIELD_LINKS)

/* Decodes blob with `fields` and compares its spans with want[0..n) as
** without_skipped() says they must be. */
static void check_spans_decode(const tl_codec_vt *vt, void *st, const uint8_t *blob, size_t len,
                               uint32_t fields, tl_span *const *want, size_t n,
                               const char *what) {
  tl_batch *out = tl_batch_new();
  tl_err e = {0};
  int rc = tl_block_decode(vt, st, blob, len, fields, out, &e);
  if (rc) UNIT_FAIL("%s: %s, fields 0x%x: %.200s", what, vt->name, fields, e.msg);
  CHECK_INT(tl_batch_count(out), rc ? 0 : n);
  for (size_t i = 0; i < tl_batch_count(out) && i < n; i++) {
    tl_span x = without_skipped(want[i], fields);
    const char *diff = span_diff(&x, tl_batch_span(out, i));
    if (diff) {
      UNIT_FAIL("%s: %s, fields 0x%x, span %zu differs in %s", what, vt->name, fields, i, diff);
      break;
    }
  }
  tl_batch_free(out);
}

/* The same with the spans of a batch. */
static void check_decodes_to(const tl_codec_vt *vt, void *st, const uint8_t *blob, size_t len,
                             uint32_t fields, tl_batch *want, const char *what) {
  tl_span **v = spans_of(want);
  check_spans_decode(vt, st, blob, len, fields, v, tl_batch_count(want), what);
  free(v);
}

/* decode_cols of blob gives the times (and with TL_FIELD_IDS the ids,
** flags and trace states) of want[0..n). */
static void check_cols_decode(const tl_codec_vt *vt, void *st, const uint8_t *blob, size_t len,
                              uint32_t fields, tl_span *const *want, size_t n,
                              const char *what) {
  tl_cols cols;
  memset(&cols, 0, sizeof cols);
  tl_batch *b = tl_batch_new();
  tl_err e = {0};
  int rc = tl_block_decode_cols(vt, st, blob, len, fields, &cols, b, &e);
  if (rc) UNIT_FAIL("%s: %s cols, fields 0x%x: %.200s", what, vt->name, fields, e.msg);
  CHECK_INT(cols.n, rc ? 0 : n);
  for (size_t i = 0; i < cols.n && i < n; i++) {
    const tl_span *s = want[i];
    int same = cols.start[i] == s->start_ns && cols.end[i] == s->end_ns;
    if (fields & TL_FIELD_IDS)
      same = same && !memcmp(cols.trace_id[i], s->trace_id, 16) &&
             !memcmp(cols.span_id[i], s->span_id, 8) &&
             !memcmp(cols.parent_id[i], s->parent_span_id, 8) && cols.flags[i] == s->flags &&
             same_str(cols.trace_state[i], s->trace_state);
    if (!same) {
      UNIT_FAIL("%s: %s cols, fields 0x%x, span %zu differs", what, vt->name, fields, i);
      break;
    }
  }
  tl_cols_free(&cols);
  tl_batch_free(b);
}

static const uint32_t decode_masks[] = {TL_FIELDS_ALL, HOT_FIELDS, NO_ATTRS, CHEAP_FIELDS,
                                        PCT_FIELDS, TOPO_FIELDS, TL_FIELD_TIMES};
#define N_DECODE_MASKS (sizeof decode_masks / sizeof *decode_masks)

TEST(cbor_v2_example_bytes) {
  tl_batch *b = tl_batch_new();
  build_example(b);
  void *st = new_state(&tl_codec_cbor, NULL);
  tl_buf blob, want;
  tl_buf_init(&blob);
  tl_buf_init(&want);
  tl_err e = {0};
  CHECK_INT(encode_all(&tl_codec_cbor, st, b, &blob, &e), TL_OK);
  hex_to(EXAMPLE_V2, &want);
  CHECK_INT(blob.n, want.n);
  CHECK(blob.n == want.n && memcmp(blob.p, want.p, blob.n) == 0);
  printf("# example: %zu bytes in version 2\n", blob.n);
  for (size_t m = 0; m < N_DECODE_MASKS; m++)
    check_decodes_to(&tl_codec_cbor, st, (const uint8_t *)want.p, want.n, decode_masks[m], b,
                     "example v2");
  hex_to(EXAMPLE_V1, &want);
  for (size_t m = 0; m < N_DECODE_MASKS; m++)
    check_decodes_to(&tl_codec_cbor, st, (const uint8_t *)want.p, want.n, decode_masks[m], b,
                     "example v1");
  tl_codec_cbor.destroy(st);
  tl_buf_free(&blob);
  tl_buf_free(&want);
  tl_batch_free(b);
}

/* One zstd frame of src[0..n) as cbor_zstd writes them (content size,
** checksum, no dictionary id), appended to out. */
static void zstd_frame(const void *src, size_t n, tl_buf *out) {
  ZSTD_CCtx *cc = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
  size_t bound = ZSTD_compressBound(n);
  CHECK_INT(tl_buf_reserve(out, bound), TL_OK);
  size_t got = ZSTD_compress2(cc, out->p + out->n, bound, src, n);
  CHECK(!ZSTD_isError(got));
  out->n += got;
  ZSTD_freeCCtx(cc);
}

TEST(version_1_blocks_still_decode) {
  tl_batch *b = tl_batch_new();
  build_example(b);
  tl_buf v1, z;
  tl_buf_init(&v1);
  tl_buf_init(&z);
  hex_to(EXAMPLE_V1, &v1);
  /* The same payload in a version 1 cbor_zstd block: dictionary 0, one frame. */
  tl_buf_append(&z, "TLB\x01\x03\x01\x02\x00", 8);
  zstd_frame(v1.p + 7, v1.n - 7, &z);
  void *st = new_state(&tl_codec_cbor_zstd, NULL);
  /* Read with every field mask, and into arrays. */
  for (size_t m = 0; m < N_DECODE_MASKS; m++)
    check_decodes_to(&tl_codec_cbor_zstd, st, (const uint8_t *)z.p, z.n, decode_masks[m], b,
                     "cbor_zstd v1");
  tl_span **v = spans_of(b);
  check_cols_decode(&tl_codec_cbor_zstd, st, (const uint8_t *)z.p, z.n,
                    TL_FIELD_IDS | TL_FIELD_TIMES, v, 2, "cbor_zstd v1");
  free(v);
  tl_err e = {0};
  CHECK_INT(encode_all(&tl_codec_cbor_zstd, st, b, &z, &e), TL_OK);
  CHECK_INT((uint8_t)z.p[5], 2);
  tl_codec_cbor_zstd.destroy(st);
  tl_buf_free(&v1);
  tl_buf_free(&z);
  tl_batch_free(b);
}

/* Every span of b, in blocks of CC_BLOCK_SPANS, through both cbor codecs:
** each field mask gives exactly what the full decode gives of the fields
** it asks for, and so do decodes into arrays. */
static void check_masks(tl_batch *b, const char *what) {
  const tl_codec_vt *vts[] = {&tl_codec_cbor, &tl_codec_cbor_zstd};
  size_t n = tl_batch_count(b);
  tl_span **v = spans_of(b);
  tl_buf blob;
  tl_buf_init(&blob);
  for (int c = 0; c < 2; c++) {
    void *st = new_state(vts[c], NULL);
    size_t at = 0;
    do { /* one empty block when b has no span */
      size_t k = n - at < CC_BLOCK_SPANS ? n - at : CC_BLOCK_SPANS;
      tl_err e = {0};
      tl_buf_reset(&blob);
      CHECK_INT(tl_block_encode(vts[c], st, v + at, k, &blob, &e), TL_OK);
      for (size_t m = 0; m < N_DECODE_MASKS; m++)
        check_spans_decode(vts[c], st, (const uint8_t *)blob.p, blob.n, decode_masks[m], v + at,
                           k, what);
      check_cols_decode(vts[c], st, (const uint8_t *)blob.p, blob.n, TL_FIELD_TIMES, v + at, k,
                        what);
      check_cols_decode(vts[c], st, (const uint8_t *)blob.p, blob.n,
                        TL_FIELD_IDS | TL_FIELD_TIMES, v + at, k, what);
      at += k;
    } while (at < n);
    vts[c]->destroy(st);
  }
  tl_buf_free(&blob);
  free(v);
}

TEST(hot_only_decodes_match_full_decodes) {
  tl_batch *b = tl_batch_new();
  check_masks(b, "empty");
  build_every_kind(b, 0);
  build_typical(b, 700, 5);
  check_masks(b, "typical");
  tl_batch_reset(b);
  build_generated(b, 300, 42);
  printf("# %zu generated spans\n", tl_batch_count(b));
  check_masks(b, "generated");
  tl_batch_free(b);
}

/* The offset of the cold frame in a cbor_zstd block of version 2. */
static size_t cold_frame_at(const tl_buf *blob) {
  tl_rd r;
  tl_rd_init(&r, (const uint8_t *)blob->p, blob->n);
  tl_rd_bytes(&r, 6);
  tl_rd_varint(&r); /* span count */
  tl_rd_varint(&r); /* dictionary id */
  uint64_t hot = tl_rd_varint(&r);
  return blob->n - tl_rd_left(&r) + (size_t)hot;
}

TEST(damaged_cold_sections) {
  tl_batch *b = tl_batch_new();
  build_typical(b, 50, 9);
  tl_err e = {0};
  tl_buf blob;
  tl_buf_init(&blob);
  void *st = new_state(&tl_codec_cbor_zstd, NULL);
  CHECK_INT(encode_all(&tl_codec_cbor_zstd, st, b, &blob, &e), TL_OK);
  size_t cold = cold_frame_at(&blob);
  CHECK(cold > 20 && cold + 20 < blob.n);
  /* A byte of the cold frame's content: a full decode refuses the block, a
  ** hot-only one reads the hot frame and the cold frame's header alone. */
  uint8_t *q = malloc(blob.n + 1);
  memcpy(q, blob.p, blob.n);
  q[blob.n - 8] ^= 0x40;
  const char *msg = decode_error(&tl_codec_cbor_zstd, st, q, blob.n, &e);
  CHECK(strncmp(msg, "cbor_zstd payload: cold zstd frame: ", 36) == 0);
  CHECK_INT(e.rc, TL_EFORMAT);
  check_decodes_to(&tl_codec_cbor_zstd, st, q, blob.n, HOT_FIELDS, b, "cold content damaged");
  check_decodes_to(&tl_codec_cbor_zstd, st, q, blob.n, PCT_FIELDS, b, "cold content damaged");
  /* Its header or its end: every decode refuses. */
  memcpy(q, blob.p, blob.n);
  q[cold] ^= 0x01;
  CHECK_STR(decode_fields_error(&tl_codec_cbor_zstd, st, q, blob.n, PCT_FIELDS, &e),
            "cbor_zstd payload: bad cold zstd frame: Unknown frame descriptor");
  memcpy(q, blob.p, blob.n);
  q[blob.n] = 0;
  CHECK_STR(decode_fields_error(&tl_codec_cbor_zstd, st, q, blob.n + 1, PCT_FIELDS, &e),
            "cbor_zstd payload: 1 bytes after the cold zstd frame");
  CHECK_STR(decode_fields_error(&tl_codec_cbor_zstd, st, q, blob.n - 1, PCT_FIELDS, &e),
            "cbor_zstd payload: bad cold zstd frame: Src size is incorrect");
  /* The hot frame damaged: every decode refuses. */
  memcpy(q, blob.p, blob.n);
  q[cold - 8] ^= 0x40;
  msg = decode_fields_error(&tl_codec_cbor_zstd, st, q, blob.n, PCT_FIELDS, &e);
  CHECK(strncmp(msg, "cbor_zstd payload: hot zstd frame: ", 35) == 0);
  tl_codec_cbor_zstd.destroy(st);

  /* The cbor codec: a hot-only decode does not look past the hot spans. */
  st = new_state(&tl_codec_cbor, NULL);
  CHECK_INT(encode_all(&tl_codec_cbor, st, b, &blob, &e), TL_OK);
  free(q);
  q = malloc(blob.n);
  memcpy(q, blob.p, blob.n);
  q[blob.n - 1] = 0xff; /* the last cold span's last byte: a break code */
  CHECK(strncmp(decode_error(&tl_codec_cbor, st, q, blob.n, &e), "cbor payload: ", 14) == 0);
  CHECK_INT(e.rc, TL_EFORMAT);
  check_decodes_to(&tl_codec_cbor, st, q, blob.n, HOT_FIELDS, b, "cbor cold damaged");
  tl_codec_cbor.destroy(st);
  free(q);
  tl_buf_free(&blob);
  tl_batch_free(b);
}

/* Decodes into arrays of every truncation and every flipped byte of a
** small cbor_zstd block: each one gives n spans or an error with a message;
** truncations are all refused (the cold frame's header and end are read). */
TEST(cols_decodes_of_damaged_blocks) {
  void *st = new_state(&tl_codec_cbor_zstd, NULL);
  tl_buf blob;
  tl_buf_init(&blob);
  small_block(&tl_codec_cbor_zstd, st, 5, &blob);
  tl_cols cols;
  memset(&cols, 0, sizeof cols);
  tl_batch *b = tl_batch_new();
  size_t refused = 0, decoded = 0;
  for (size_t len = 0; len <= blob.n; len++) {
    uint8_t *q = malloc(len ? len : 1);
    memcpy(q, blob.p, len);
    for (size_t flip = len < blob.n ? len : 0; flip <= len; flip++) { /* flip == len: none */
      if (flip < len) q[flip] ^= 0x21;
      tl_err e = {0};
      int rc = tl_block_decode_cols(&tl_codec_cbor_zstd, st, q, len, TL_FIELD_IDS | TL_FIELD_TIMES,
                                    &cols, b, &e);
      if (rc) {
        refused++;
        CHECK(e.msg[0] != 0 && rc < 0 && cols.n == 0);
      } else {
        decoded++;
        CHECK_INT(cols.n, 5);
        CHECK(len == blob.n);
      }
      if (flip < len) q[flip] ^= 0x21;
    }
    free(q);
  }
  printf("# %zu-byte block: %zu damaged copies refused, %zu decoded into arrays\n", blob.n,
         refused, decoded);
  CHECK(decoded >= 1 && refused > blob.n);
  tl_cols_free(&cols);
  tl_batch_free(b);
  tl_buf_free(&blob);
  tl_codec_cbor_zstd.destroy(st);
}

TEST(crafted_v2_cbor_is_refused_exactly) {
  /* d90100 84 = tag 256, array(4): tables, hot spans, then the cold spans
  ** in a namespace of their own (d90100 again). */
  CHECK_STR(cbor_error("d90100 84 81a0 81a0 81 a0 d90100 81 a0", 1), "(decoded)");
  CHECK_STR(cbor_error("d90100 84 8080 81 a1 0c a0 d90100 81 a0", 1),
            "cbor payload: unknown hot span key 12 at byte 8");
  CHECK_STR(cbor_error("d90100 84 81a0 81a0 81 a0 d90100 81 a1 01 00", 1),
            "cbor payload: unknown cold span key 1 at byte 15");
  CHECK_STR(cbor_error("d90100 84 81a0 81a0 81 a0 81 a0", 1),
            "cbor payload: no stringref namespace tag before the cold spans at byte 10");
  CHECK_STR(cbor_fields_error("d90100 84 81a0 81a0 81 a0 81 a0", 1, CHEAP_FIELDS), "(decoded)");
  CHECK_STR(cbor_error("d90100 84 81a0 81a0 81 a0 d90100 82 a0 a0", 1),
            "cbor payload: 2 cold spans, the block says 1 at byte 13");
  CHECK_STR(cbor_error("d90100 84 81a0 81a0 80 d90100 80", 1),
            "cbor payload: 0 hot spans, the block says 1 at byte 8");
  CHECK_STR(cbor_error("d90100 84 81a0 81a0 81 a0 d90100 81 a0 00", 1),
            "cbor payload: bytes after the last span: 1 at byte 15");
  CHECK_STR(cbor_error("d90100 84 81a0 81a0 81 a1 12 01 d90100 81 a0", 1),
            "cbor payload: resource index 1 past the 1 in the table at byte 9");
  /* The cold section numbers its strings from 0: "abc" of the hot section
  ** is not its string 0. */
  CHECK_STR(cbor_error("d90100 84 81a0 81a0 81 a1 06 63616263 d90100 81 a1 0c a1 d81900 01", 1),
            "cbor payload: string reference 0 past the 0 strings numbered at byte 22");
  CHECK_STR(cbor_error("d90100 84 81a0 81a0 81 a1 06 63616263 d90100 81 a1 0c a1 63616263 "
                       "d81900", 1),
            "(decoded)");
  /* Start times are differences, modulo 2^64: -1 from 0, then +2. */
  CHECK_STR(cbor_error("d90100 84 81a0 81a0 82 a1 08 20 a1 08 02 d90100 82 a0 a0", 2),
            "(decoded)");
  CHECK_STR(cbor_error("d90100 84 81a0 81a0 81 a1 08 3b8000000000000000 d90100 81 a0", 1),
            "cbor payload: start time does not fit in 64 bits at byte 11");
}

/* A version 2 cbor_zstd block of 1 span: dictionary 0, the hot frame's
** size, the frames of hot and cold (hex CBOR, compressed here), then
** `tail` bytes of extra. */
static const char *zstd_v2_error(const char *hot, const char *cold, const char *tail,
                                 uint32_t fields) {
  static tl_err e;
  tl_buf h, c, blob;
  tl_buf_init(&h);
  tl_buf_init(&c);
  tl_buf_init(&blob);
  hex_to(hot, &h);
  hex_to(cold, &c);
  tl_buf_append(&blob, "TLB\x01\x03\x02\x01\x00", 8);
  tl_buf hf;
  tl_buf_init(&hf);
  zstd_frame(h.p, h.n, &hf);
  tl_buf_varint(&blob, hf.n);
  tl_buf_append(&blob, hf.p, hf.n);
  zstd_frame(c.p, c.n, &blob);
  hex_to(tail, &h);
  tl_buf_append(&blob, h.p, h.n);
  void *st = new_state(&tl_codec_cbor_zstd, NULL);
  decode_fields_error(&tl_codec_cbor_zstd, st, (const uint8_t *)blob.p, blob.n, fields, &e);
  tl_codec_cbor_zstd.destroy(st);
  tl_buf_free(&h);
  tl_buf_free(&c);
  tl_buf_free(&hf);
  tl_buf_free(&blob);
  return e.msg;
}

TEST(crafted_v2_zstd_frames_are_refused) {
  const char *hot = "d90100 84 81a0 81a0 81 a0", *cold = "d90100 81 a0";
  CHECK_STR(zstd_v2_error(hot, cold, "", TL_FIELDS_ALL), "(decoded)");
  CHECK_STR(zstd_v2_error(hot, cold, "", PCT_FIELDS), "(decoded)");
  CHECK_STR(zstd_v2_error(hot, cold, "0000", PCT_FIELDS),
            "cbor_zstd payload: 2 bytes after the cold zstd frame");
  /* The hot frame must hold the hot section exactly. */
  CHECK_STR(zstd_v2_error("d90100 84 81a0 81a0 81 a0 d9", "0100 81 a0", "", TL_FIELDS_ALL),
            "cbor payload: the hot spans end here, their frame holds 11 bytes at byte 10");
  CHECK_STR(zstd_v2_error("d90100 84 81a0 81a0 81", "a0 d90100 81 a0", "", PCT_FIELDS),
            "cbor payload: hot span list claims 1 items, more than the bytes left at byte 8");
  CHECK_STR(zstd_v2_error("d90100 83 81a0 81a0 81 a0", cold, "", PCT_FIELDS),
            "cbor payload: payload array of 3 items, expected 4 (version 2) at byte 3");
  /* An empty hot frame, and a whole payload in the cold one: refused. */
  CHECK_STR(zstd_v2_error("", "d90100 84 81a0 81a0 81 a0 d90100 81 a0", "", TL_FIELDS_ALL),
            "cbor_zstd payload: empty hot zstd frame");
  /* An empty cold frame: refused by what reads it, a data error. */
  CHECK_STR(zstd_v2_error(hot, "", "", TL_FIELDS_ALL), "cbor_zstd payload: empty cold zstd frame");
  CHECK_STR(zstd_v2_error(hot, "", "", PCT_FIELDS), "(decoded)");
  /* The hot frame's size. */
  tl_buf blob;
  tl_buf_init(&blob);
  tl_buf_append(&blob, "TLB\x01\x03\x02\x01\x00\x80", 9);
  void *st = new_state(&tl_codec_cbor_zstd, NULL);
  tl_err e = {0};
  CHECK_STR(decode_error(&tl_codec_cbor_zstd, st, (const uint8_t *)blob.p, blob.n, &e),
            "cbor_zstd payload: truncated hot frame size");
  blob.p[8] = 0x7f;
  tl_buf_append(&blob, "\x28\xb5\x2f\xfd\x00\x00", 6);
  CHECK_STR(decode_error(&tl_codec_cbor_zstd, st, (const uint8_t *)blob.p, blob.n, &e),
            "cbor_zstd payload: hot zstd frame of 127 bytes runs past the 6 left");
  /* A cold frame that claims more than it can hold is refused before
  ** anything is allocated, by hot-only decodes too. */
  tl_buf_reset(&blob);
  tl_buf_append(&blob, "TLB\x01\x03\x02\x01\x00", 8);
  tl_buf h;
  tl_buf_init(&h);
  hex_to(hot, &h);
  tl_buf hf;
  tl_buf_init(&hf);
  zstd_frame(h.p, h.n, &hf);
  tl_buf_varint(&blob, hf.n);
  tl_buf_append(&blob, hf.p, hf.n);
  static const uint8_t lie[] = {0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0x00, 0x00, 0x10, 0x00,
                                0x19, 0x00, 0x00, 'a', 'b', 'c'};
  tl_buf_append(&blob, lie, sizeof lie);
  CHECK_STR(decode_fields_error(&tl_codec_cbor_zstd, st, (const uint8_t *)blob.p, blob.n,
                                PCT_FIELDS, &e),
            "cbor_zstd payload: cold zstd frame of 15 bytes claims 1048576 bytes of content");
  tl_codec_cbor_zstd.destroy(st);
  tl_buf_free(&h);
  tl_buf_free(&hf);
  tl_buf_free(&blob);
}

/* decode_cols sizes its arrays only once the span list's count has been
** checked against the bytes left: a 12-byte block that claims 2^20 spans
** is refused without reserving room for them. */
TEST(cols_are_not_sized_by_an_unchecked_count) {
  static const uint8_t blob[] = {'T', 'L', 'B', 1, 2, 2, 0x80, 0x80, 0x40, 0xd9, 0x01, 0x00};
  void *st = new_state(&tl_codec_cbor, NULL);
  tl_cols cols;
  memset(&cols, 0, sizeof cols);
  tl_batch *b = tl_batch_new();
  tl_err e = {0};
  CHECK_INT(tl_block_decode_cols(&tl_codec_cbor, st, blob, sizeof blob, TL_FIELD_TIMES, &cols, b, &e),
            TL_EFORMAT);
  CHECK_INT(cols.n, 0);
  CHECK_INT(cols.cap, 0);
  tl_cols_free(&cols);
  tl_batch_free(b);
  tl_codec_cbor.destroy(st);
}

/* ---- the fuzz targets' seeds --------------------------------------------------- */

/* The raw-content dictionary of tests/fuzz/fuzz_codec_cbor_zstd.c. */
#define FUZZ_DICT                                                              \
  "\xd9\x01\x00\x83\x81\xa1\x01\xa3\x6cservice.name\x68" "frontend"           \
  "\x69host.name\x66host-1\x76telemetry.sdk.language\x62go"                  \
  "\x6bhttp.method\x63GET\x68http.url\x70http.status_code\x18\xc8"            \
  "\x6c" "db.statement\x6dnet.peer.name\x65io.opentelemetry.http"

static void seed_empty(tl_batch *b) { (void)b; }
static void seed_every_kind(tl_batch *b) { build_every_kind(b, 0); }
static void seed_every_kind_utf8(tl_batch *b) { build_every_kind(b, 1); }
static void seed_typical_3(tl_batch *b) { build_typical(b, 3, 42); }
static void seed_typical_20(tl_batch *b) { build_typical(b, 20, 42); }

/* The seeds of testdata/fuzz/fuzz_codec_cbor/ and fuzz_codec_cbor_zstd/
** (tests/fuzz/fuzz_codec_cbor*.c): small blocks without and (cbor_zstd)
** with the target's dictionary (_dict).  NAME_v2 is a version 2 block of
** the spans built here, which TL_WRITE_SEEDS=1 writes first.  NAME is a
** version 1 block, written before version 2 and kept (it is what the
** fuzzers know of version 1) from spans the builders of its day made: it
** decodes to spans that round-trip through version 2. */
TEST(fuzz_seeds_are_current) {
  static const struct {
    const char *name;
    void (*build)(tl_batch *);
  } seeds[] = {{"empty", seed_empty},
               {"every_kind", seed_every_kind},
               {"every_kind_utf8", seed_every_kind_utf8},
               {"typical_3", seed_typical_3},
               {"typical_20", seed_typical_20}};
  const tl_codec_vt *vts[] = {&tl_codec_cbor, &tl_codec_cbor_zstd};
  int write = getenv("TL_WRITE_SEEDS") != NULL;
  for (int c = 0; c < 2; c++)
    for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++)
      for (int version = 1; version <= 2; version++)
        for (int with_dict = 0; with_dict <= (c == 1); with_dict++) {
          char path[256];
          snprintf(path, sizeof path, "testdata/fuzz/fuzz_codec_%s/%s%s%s", vts[c]->name,
                   seeds[k].name, version == 2 ? "_v2" : "", with_dict ? "_dict" : "");
          if (version == 1 && with_dict && k == 0) continue; /* "empty_dict" is the name */
          tl_batch *b = tl_batch_new();
          seeds[k].build(b);
          void *st;
          tl_err e = {0};
          tl_buf blob;
          tl_buf_init(&blob);
          int ok = cc_seed(vts[c], FUZZ_DICT, with_dict ? sizeof FUZZ_DICT - 1 : 0, b, path,
                           write && version == 2, version, &st, &blob);
          if (ok && version == 2) {
            check_decodes_to(vts[c], st, (const uint8_t *)blob.p, blob.n, TL_FIELDS_ALL, b, path);
          } else if (ok) {
            /* Built by the builders of their day: they decode to spans that
            ** round-trip through version 2. */
            tl_batch_reset(b);
            CHECK_INT(decode_blob(vts[c], st, &blob, blob.n, b, &e), TL_OK);
            CHECK_INT(encode_all(vts[c], st, b, &blob, &e), TL_OK);
            check_decodes_to(vts[c], st, (const uint8_t *)blob.p, blob.n, TL_FIELDS_ALL, b, path);
          }
          tl_buf_free(&blob);
          vts[c]->destroy(st);
          tl_batch_free(b);
        }
}

/* ---- dictionaries ---------------------------------------------------------------- */

TEST(dictionaries_train_and_are_required) {
  tl_batch *b = tl_batch_new();
  build_typical(b, 20000, 11);
  tl_span **v = spans_of(b);
  void *st = new_state(&tl_codec_cbor_zstd, NULL);
  tl_err e = {0};
  tl_buf dict, blob, plain;
  tl_buf_init(&dict);
  tl_buf_init(&blob);
  tl_buf_init(&plain);
  double t0 = now_s();
  CHECK_INT(tl_codec_cbor_zstd.train(st, v, 20000, &dict, &e), TL_OK);
  printf("# trained a %zu-byte dictionary from 20000 spans in %.0f ms\n", dict.n,
         (now_s() - t0) * 1e3);
  CHECK(dict.n > 1024 && dict.n <= TL_CODEC_DEFAULT_DICT_SIZE);

  /* A small block without, then with the dictionary. */
  CHECK_INT(tl_block_encode(&tl_codec_cbor_zstd, st, v + 100, 8, &plain, &e), TL_OK);
  CHECK_INT((uint8_t)plain.p[7], 0); /* dictionary id 0: none */
  CHECK_INT(tl_codec_cbor_zstd.add_dict(st, 1, (const uint8_t *)dict.p, dict.n, &e), TL_OK);
  CHECK_INT(tl_block_encode(&tl_codec_cbor_zstd, st, v + 100, 8, &blob, &e), TL_OK);
  CHECK_INT((uint8_t)blob.p[7], 1);
  printf("# 8-span cbor_zstd block: %zu bytes without dictionary, %zu with\n", plain.n, blob.n);
  CHECK(blob.n < plain.n);
  tl_batch *out = tl_batch_new();
  CHECK_INT(decode_blob(&tl_codec_cbor_zstd, st, &blob, blob.n, out, &e), TL_OK);
  CHECK_INT(tl_batch_count(out), 8);
  CHECK(span_diff(v[100], tl_batch_span(out, 0)) == NULL);
  CHECK(span_diff(v[107], tl_batch_span(out, 7)) == NULL);
  tl_batch_reset(out);

  /* Another table state that does not know dictionary 1. */
  void *other = new_state(&tl_codec_cbor_zstd, NULL);
  CHECK_STR(decode_error(&tl_codec_cbor_zstd, other, (const uint8_t *)blob.p, blob.n, &e),
            "cbor_zstd payload: dictionary 1 is not known");
  /* Blocks without a dictionary decode anywhere. */
  CHECK_INT(decode_blob(&tl_codec_cbor_zstd, other, &plain, plain.n, out, &e), TL_OK);
  tl_batch_reset(out);
  CHECK_INT(tl_codec_cbor_zstd.add_dict(other, 1, (const uint8_t *)dict.p, dict.n, &e), TL_OK);
  CHECK_INT(decode_blob(&tl_codec_cbor_zstd, other, &blob, blob.n, out, &e), TL_OK);
  CHECK_INT(tl_batch_count(out), 8);
  tl_batch_reset(out);

  /* Adding the same dictionary again is harmless; other bytes under a
  ** known id, id 0 and empty dictionaries are misuse. */
  CHECK_INT(tl_codec_cbor_zstd.add_dict(st, 1, (const uint8_t *)dict.p, dict.n, &e), TL_OK);
  tl_err_clear(&e);
  CHECK_INT(tl_codec_cbor_zstd.add_dict(st, 1, (const uint8_t *)dict.p, dict.n - 1, &e),
            TL_EMISUSE);
  CHECK_STR(e.msg, "cbor_zstd: dictionary 1 is already known with other bytes");
  tl_err_clear(&e);
  CHECK_INT(tl_codec_cbor_zstd.add_dict(st, 0, (const uint8_t *)dict.p, dict.n, &e), TL_EMISUSE);
  CHECK_STR(e.msg, "cbor_zstd: dictionary 0: id 0 means no dictionary");
  tl_err_clear(&e);
  CHECK_INT(tl_codec_cbor_zstd.add_dict(st, 3, (const uint8_t *)dict.p, 0, &e), TL_EMISUSE);
  CHECK_STR(e.msg, "cbor_zstd: dictionary 3: empty dictionary");
  /* A dictionary header with broken tables. */
  tl_buf junk;
  tl_buf_init(&junk);
  tl_buf_append(&junk, dict.p, 8);
  for (int i = 0; i < 300; i++) tl_buf_putc(&junk, (char)0xff);
  tl_err_clear(&e);
  CHECK_INT(tl_codec_cbor_zstd.add_dict(st, 5, (const uint8_t *)junk.p, junk.n, &e), TL_EFORMAT);
  CHECK_STR(e.msg, "cbor_zstd: dictionary 5 is not a valid zstd dictionary");
  tl_buf_free(&junk);

  /* Encode uses the highest id known; older ids still decode. */
  CHECK_INT(tl_codec_cbor_zstd.add_dict(st, 2, (const uint8_t *)dict.p, dict.n, &e), TL_OK);
  tl_buf_reset(&plain);
  CHECK_INT(tl_block_encode(&tl_codec_cbor_zstd, st, v, 8, &plain, &e), TL_OK);
  CHECK_INT((uint8_t)plain.p[7], 2);
  CHECK_INT(decode_blob(&tl_codec_cbor_zstd, st, &plain, plain.n, out, &e), TL_OK);
  CHECK_INT(decode_blob(&tl_codec_cbor_zstd, st, &blob, blob.n, out, &e), TL_OK);
  CHECK_INT(tl_batch_count(out), 16);
  tl_batch_reset(out);

  /* A frame compressed with a dictionary, read without it: the checksum
  ** (or the frame itself) refuses it. */
  uint8_t *q = malloc(blob.n);
  memcpy(q, blob.p, blob.n);
  q[7] = 0;
  const char *msg = decode_error(&tl_codec_cbor_zstd, st, q, blob.n, &e);
  CHECK_INT(e.rc, TL_EFORMAT);
  CHECK(strncmp(msg, "cbor_zstd payload: ", 19) == 0);
  free(q);

  /* Too little to train on: no dictionary, no error. */
  tl_buf_reset(&dict);
  CHECK_INT(tl_codec_cbor_zstd.train(st, v, 15, &dict, &e), TL_OK);
  CHECK_INT(dict.n, 0);
  tl_codec_opts no_dict = {0, 0};
  void *nd = new_state(&tl_codec_cbor_zstd, &no_dict);
  CHECK_INT(tl_codec_cbor_zstd.train(nd, v, 20000, &dict, &e), TL_OK);
  CHECK_INT(dict.n, 0);
  /* A handful of spans trains a smaller dictionary. */
  CHECK_INT(tl_codec_cbor_zstd.train(st, v, 200, &dict, &e), TL_OK);
  printf("# 200 spans train a %zu-byte dictionary\n", dict.n);
  CHECK(dict.n < TL_CODEC_DEFAULT_DICT_SIZE);

  tl_codec_cbor_zstd.destroy(nd);
  tl_codec_cbor_zstd.destroy(other);
  tl_codec_cbor_zstd.destroy(st);
  tl_batch_free(out);
  tl_buf_free(&dict);
  tl_buf_free(&blob);
  tl_buf_free(&plain);
  free(v);
  tl_batch_free(b);
}

TEST(zstd_options_are_checked) {
  tl_err e = {0};
  void *st = NULL;
  tl_codec_opts bad_level = {23, 0};
  CHECK_INT(tl_codec_cbor_zstd.create(&bad_level, &st, &e), TL_ERANGE);
  CHECK_STR(e.msg, "cbor_zstd: zstd_level 23 is not between 1 and 22");
  tl_err_clear(&e);
  tl_codec_opts neg = {-1, 0};
  CHECK_INT(tl_codec_cbor_zstd.create(&neg, &st, &e), TL_ERANGE);
  tl_err_clear(&e);
  tl_codec_opts big_dict = {3, 5 * 1024 * 1024};
  CHECK_INT(tl_codec_cbor_zstd.create(&big_dict, &st, &e), TL_ERANGE);
  CHECK_STR(e.msg, "cbor_zstd: dict_size 5242880 is not between 0 and 4194304");
  CHECK(st == NULL);
  /* Level 0 is the default; every level reads every other's blocks. */
  tl_codec_opts l0 = {0, 0}, l19 = {19, 0};
  void *a = new_state(&tl_codec_cbor_zstd, &l0), *z = new_state(&tl_codec_cbor_zstd, &l19);
  tl_buf blob;
  tl_buf_init(&blob);
  small_block(&tl_codec_cbor_zstd, z, 50, &blob);
  tl_batch *out = tl_batch_new();
  CHECK_INT(decode_blob(&tl_codec_cbor_zstd, a, &blob, blob.n, out, &e), TL_OK);
  CHECK_INT(tl_batch_count(out), 50);
  tl_batch_free(out);
  tl_buf_free(&blob);
  tl_codec_cbor_zstd.destroy(a);
  tl_codec_cbor_zstd.destroy(z);
}

/* A cbor_zstd payload: dictionary id, then the given frame bytes. */
static const char *zstd_error(const uint8_t *frame, size_t len) {
  static tl_err e;
  tl_buf blob;
  tl_buf_init(&blob);
  tl_buf_append(&blob, "TLB\x01\x03\x01\x01\x00", 8);
  tl_buf_append(&blob, frame, len);
  void *st = new_state(&tl_codec_cbor_zstd, NULL);
  decode_error(&tl_codec_cbor_zstd, st, (const uint8_t *)blob.p, blob.n, &e);
  tl_codec_cbor_zstd.destroy(st);
  tl_buf_free(&blob);
  return e.msg;
}

TEST(crafted_zstd_frames_are_refused) {
  /* Frame header: magic, descriptor 0xa0 (single segment, 4-byte content
  ** size), the claimed size, then one raw last block of 3 bytes. */
  uint8_t f[] = {0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0x00, 0x00, 0x00, 0x40,
                 0x19, 0x00, 0x00, 'a', 'b', 'c'};
  CHECK_STR(zstd_error(f, sizeof f),
            "cbor_zstd payload: zstd frame of 15 bytes claims 1073741824 bytes of content");
  f[8] = 0x00;
  f[7] = 0x10; /* 1 MiB from 15 bytes: more than any valid frame holds */
  CHECK_STR(zstd_error(f, sizeof f),
            "cbor_zstd payload: zstd frame of 15 bytes claims 1048576 bytes of content");
  f[7] = 0x00;
  f[5] = 0x03; /* 3 bytes claimed, 3 in the raw block: "abc" is not CBOR */
  CHECK_STR(zstd_error(f, sizeof f), "cbor payload: no stringref namespace tag at byte 0");
  f[5] = 0x04;
  CHECK(strncmp(zstd_error(f, sizeof f), "cbor_zstd payload: ", 19) == 0);
  f[5] = 0x03;
  uint8_t g[sizeof f + 2];
  memcpy(g, f, sizeof f);
  g[sizeof f] = 0;
  g[sizeof f + 1] = 0;
  CHECK_STR(zstd_error(g, sizeof g), "cbor_zstd payload: 2 bytes after the zstd frame");
  f[4] = 0x00; /* no content size in the header */
  CHECK(strncmp(zstd_error(f, sizeof f), "cbor_zstd payload: ", 19) == 0);
  CHECK_STR(zstd_error(f, 3), "cbor_zstd payload: bad zstd frame: Src size is incorrect");
}

/* ---- real files and speeds ----------------------------------------------------------- */

typedef struct stats {
  char group[32];
  size_t spans, files;
  size_t bytes[N_CODECS];
  double enc_s[N_CODECS], dec_s[N_CODECS];
  double hot_s[N_CODECS]; /* decodes of the hot fields (PCT_FIELDS) */
} stats;

#define MAX_GROUPS 8
#define BLOCK_SPANS 1024

typedef struct real_run {
  stats groups[MAX_GROUPS];
  int n_groups;
  void *states[MAX_GROUPS][N_CODECS];
  tl_batch *out;
  tl_buf blob, text;
  size_t *offs;
} real_run;

static stats *group_of(real_run *run, const char *name, tl_batch *b) {
  for (int i = 0; i < run->n_groups; i++)
    if (strcmp(run->groups[i].group, name) == 0) return &run->groups[i];
  if (run->n_groups == MAX_GROUPS) return NULL;
  int g = run->n_groups++;
  snprintf(run->groups[g].group, sizeof run->groups[g].group, "%s", name);
  for (int c = 0; c < N_CODECS; c++) run->states[g][c] = new_state(all_codecs[c], NULL);
  /* The table's dictionary: trained on the first file of the group, as a
  ** table trains on the first spans it gets. */
  tl_span **v = spans_of(b);
  tl_buf dict;
  tl_buf_init(&dict);
  tl_err e = {0};
  void *z = run->states[g][2];
  CHECK_INT(tl_codec_cbor_zstd.train(z, v, tl_batch_count(b), &dict, &e), TL_OK);
  if (dict.n)
    CHECK_INT(tl_codec_cbor_zstd.add_dict(z, 1, (const uint8_t *)dict.p, dict.n, &e), TL_OK);
  printf("# group %s: dictionary of %zu bytes from %zu spans\n", name, dict.n, tl_batch_count(b));
  tl_buf_free(&dict);
  free(v);
  return &run->groups[g];
}

/* Every span of b through every codec in blocks of BLOCK_SPANS, compared
** as canonical NDJSON with the span read from the file. */
static void round_trip_file(real_run *run, const char *path, tl_batch *b, stats *st, int g) {
  size_t n = tl_batch_count(b);
  tl_span **v = spans_of(b);
  run->offs = realloc(run->offs, (n + 1) * sizeof *run->offs);
  tl_buf_reset(&run->text);
  for (size_t i = 0; i < n; i++) {
    run->offs[i] = run->text.n;
    tl_otlp_write_span(&run->text, v[i]);
  }
  run->offs[n] = run->text.n;
  st->spans += n;
  st->files++;
  tl_buf line;
  tl_buf_init(&line);
  for (int c = 0; c < N_CODECS; c++) {
    const tl_codec_vt *vt = all_codecs[c];
    void *state = run->states[g][c];
    int reported = 0;
    for (size_t at = 0; at < n; at += BLOCK_SPANS) {
      size_t k = n - at < BLOCK_SPANS ? n - at : BLOCK_SPANS;
      tl_err e = {0};
      tl_buf_reset(&run->blob);
      double t0 = now_s();
      int rc = tl_block_encode(vt, state, v + at, k, &run->blob, &e);
      double t1 = now_s();
      tl_batch_reset(run->out);
      if (!rc) rc = tl_block_decode(vt, state, (const uint8_t *)run->blob.p, run->blob.n,
                                    TL_FIELDS_ALL, run->out, &e);
      st->enc_s[c] += t1 - t0;
      st->dec_s[c] += now_s() - t1;
      st->bytes[c] += run->blob.n;
      if (rc) {
        if (!reported++) UNIT_FAIL("%.100s: %s: %.300s", path, vt->name, e.msg);
        continue;
      }
      /* A decode of the fields an aggregate reads gives them as the full
      ** one does, and so does one of every hot field. */
      if (vt != &tl_codec_ndjson) {
        double t2 = now_s();
        tl_batch_reset(run->out);
        if (tl_block_decode(vt, state, (const uint8_t *)run->blob.p, run->blob.n, PCT_FIELDS,
                            run->out, &e) && !reported++)
          UNIT_FAIL("%.100s: %s: %.300s", path, vt->name, e.msg);
        st->hot_s[c] += now_s() - t2;
        check_spans_decode(vt, state, (const uint8_t *)run->blob.p, run->blob.n, HOT_FIELDS,
                           v + at, k, path);
        tl_batch_reset(run->out);
        tl_block_decode(vt, state, (const uint8_t *)run->blob.p, run->blob.n, TL_FIELDS_ALL,
                        run->out, &e);
      }
      for (size_t i = 0; i < k; i++) {
        tl_buf_reset(&line);
        tl_otlp_write_span(&line, tl_batch_span(run->out, i));
        size_t o = run->offs[at + i], len = run->offs[at + i + 1] - o;
        if ((line.n != len || memcmp(line.p, run->text.p + o, len)) && !reported++)
          UNIT_FAIL("%s: %s: span %zu differs:\n%.*s%s", path, vt->name, at + i, (int)len,
                    run->text.p + o, tl_buf_cstr(&line));
      }
    }
  }
  tl_buf_free(&line);
  free(v);
}

/* cc_walk callback: the file through every codec, in its group's states. */
static void real_file(void *ctx, const char *path, const char *group, tl_batch *b) {
  real_run *run = ctx;
  stats *st = group_of(run, group, b);
  if (st) round_trip_file(run, path, b, st, (int)(st - run->groups));
}

static void print_stats(const stats *st) {
  double nd = (double)st->bytes[0];
  for (int c = 0; c < N_CODECS; c++) {
    printf("# %-17s %-9s %7zu spans %7.1f bytes/span  %5.2fx ndjson  encode %6.0fk spans/s  "
           "decode %6.0fk spans/s",
           st->group, all_codecs[c]->name, st->spans, (double)st->bytes[c] / (double)st->spans,
           nd / (double)st->bytes[c], (double)st->spans / st->enc_s[c] / 1e3,
           (double)st->spans / st->dec_s[c] / 1e3);
    if (st->hot_s[c] > 0)
      printf("  times+service %6.0fk spans/s", (double)st->spans / st->hot_s[c] / 1e3);
    printf("\n");
  }
}

TEST(real_files_round_trip_through_every_codec) {
  real_run run;
  memset(&run, 0, sizeof run);
  run.out = tl_batch_new();
  tl_buf_init(&run.blob);
  tl_buf_init(&run.text);
  cc_walk w = {real_file, &run, 0, 0};
  cc_walk_dir(&w, UNIT_TRACES_DIR);
  printf("# %zu trace files, %zu metadata files refused by detection\n", w.files, w.metadata);
  CHECK_INT(w.files, CC_TRACE_FILES);
  CHECK_INT(w.metadata, CC_METADATA_FILES);
  stats total;
  memset(&total, 0, sizeof total);
  snprintf(total.group, sizeof total.group, "all");
  for (int g = 0; g < run.n_groups; g++) {
    print_stats(&run.groups[g]);
    total.spans += run.groups[g].spans;
    for (int c = 0; c < N_CODECS; c++) {
      total.bytes[c] += run.groups[g].bytes[c];
      total.enc_s[c] += run.groups[g].enc_s[c];
      total.dec_s[c] += run.groups[g].dec_s[c];
      total.hot_s[c] += run.groups[g].hot_s[c];
      all_codecs[c]->destroy(run.states[g][c]);
    }
  }
  print_stats(&total);
  free(run.offs);
  tl_buf_free(&run.blob);
  tl_buf_free(&run.text);
  tl_batch_free(run.out);
}

TEST(generated_spans_speed) {
  tl_batch *b = tl_batch_new();
  build_typical(b, 200000, 3);
  real_run run;
  memset(&run, 0, sizeof run);
  run.out = tl_batch_new();
  tl_buf_init(&run.blob);
  tl_buf_init(&run.text);
  stats *st = group_of(&run, "generated", b);
  round_trip_file(&run, "generated", b, st, 0);
  print_stats(st);
  for (int c = 0; c < N_CODECS; c++) all_codecs[c]->destroy(run.states[0][c]);
  free(run.offs);
  tl_buf_free(&run.blob);
  tl_buf_free(&run.text);
  tl_batch_free(run.out);
  tl_batch_free(b);
}

int main(void) {
  RUN(codecs_are_found_by_name_and_id);
  RUN(envelope_layout_and_errors);
  RUN(every_value_type_round_trips);
  RUN(empty_blocks_round_trip);
  RUN(decoded_spans_share_resources_and_scopes);
  RUN(stringref_limits_round_trip);
  RUN(encoder_refuses_what_it_cannot_write);
  RUN(every_truncation_is_refused);
  RUN(flipped_bytes_never_crash);
  RUN(crafted_cbor_is_refused_exactly);
  RUN(cbor_decodes_only_the_fields_asked_for);
  RUN(skipped_cbor_is_walked_with_the_same_limits);
  RUN(cbor_v2_example_bytes);
  RUN(version_1_blocks_still_decode);
  RUN(hot_only_decodes_match_full_decodes);
  RUN(damaged_cold_sections);
  RUN(cols_decodes_of_damaged_blocks);
  RUN(crafted_v2_cbor_is_refused_exactly);
  RUN(crafted_v2_zstd_frames_are_refused);
  RUN(cols_are_not_sized_by_an_unchecked_count);
  RUN(fuzz_seeds_are_current);
  RUN(dictionaries_train_and_are_required);
  RUN(zstd_options_are_checked);
  RUN(crafted_zstd_frames_are_refused);
  RUN(real_files_round_trip_through_every_codec);
  RUN(generated_spans_speed);
  return UNIT_DONE();
}
