/*
** test_codec_relational.c — format=relational (ext/codec/codec_relational.c).
**
** What is checked: hand-built spans with every value type and edge round
** trip exactly (field by field and as canonical NDJSON), and so do empty
** blocks, generated spans (traces interleaved, children before parents),
** parents that form cycles or point at themselves, orphans and duplicate
** ids, and every span of every real trace file in blocks of the store's
** size; the rows are grouped by trace yet come back in block order; every
** truncation and corruption of a block is refused cleanly with no span left
** in the batch, and crafted headers and rows with exact messages; the
** encoder refuses what it cannot write; dictionaries train, are recorded by
** id and are required; a decode of some fields gives exactly those and
** leaves the rest empty, and refuses every truncation all the same.
**
** Lines starting with "# " are information (bytes per span and speeds).
*/
#include "codec_check.h"

#include <zstd.h>

static const tl_codec_vt *const vt = &tl_codec_relational;

TEST(registered_by_name_and_id) {
  CHECK(tl_codec_by_name("relational") == vt);
  CHECK(tl_codec_by_id(TL_CODEC_RELATIONAL) == vt);
  CHECK_INT(vt->id, 4);
  CHECK_INT(vt->version, 1);
  CHECK_INT(vt->partial, 1);
  CHECK(vt->train != NULL && vt->add_dict != NULL);
}

TEST(every_value_type_round_trips) {
  for (int safe = 0; safe < 2; safe++) {
    tl_batch *b = tl_batch_new();
    build_every_kind(b, safe);
    check_round_trip(vt, b, 1);
    tl_batch_free(b);
  }
}

TEST(empty_block_round_trips) {
  tl_batch *b = tl_batch_new();
  check_round_trip(vt, b, 1);
  tl_batch_add_span(b);
  check_round_trip(vt, b, 1);
  tl_batch_free(b);
}

TEST(generated_spans_round_trip) {
  tl_batch *b = tl_batch_new();
  build_generated(b, 300, 7);
  check_round_trip(vt, b, 1);
  tl_batch_reset(b);
  build_typical(b, 5000, 11);
  check_round_trip(vt, b, 1);
  tl_batch_free(b);
}

/* Rows are grouped by trace: three traces interleaved come back in block
** order, and the content groups them (a trace's spans are one run). */
TEST(rows_grouped_by_trace_keep_block_order) {
  tl_batch *b = tl_batch_new();
  for (int i = 0; i < 9; i++) {
    tl_span *s = tl_batch_add_span(b);
    set_id(s->trace_id, 16, (uint64_t)(i % 3));
    set_id(s->span_id, 8, 50 + (uint64_t)i);
    s->start_ns = 1000000 + 10 * (uint64_t)i;
    s->end_ns = s->start_ns + 5;
  }
  check_round_trip(vt, b, 1);
  tl_batch_free(b);
}

TEST(odd_parent_structures_round_trip) {
  tl_batch *b = tl_batch_new();
  tl_span *s[8];
  for (int i = 0; i < 8; i++) {
    s[i] = tl_batch_add_span(b);
    set_id(s[i]->trace_id, 16, i < 6 ? 1 : 2);
    set_id(s[i]->span_id, 8, 100 + (uint64_t)i);
    s[i]->start_ns = 1000 * (uint64_t)i + 7;
    s[i]->end_ns = s[i]->start_ns + 13;
  }
  memcpy(s[0]->parent_span_id, s[0]->span_id, 8); /* itself */
  memcpy(s[1]->parent_span_id, s[2]->span_id, 8); /* a cycle ... */
  memcpy(s[2]->parent_span_id, s[1]->span_id, 8); /* ... of two */
  memcpy(s[3]->span_id, s[4]->span_id, 8);        /* duplicate id */
  memcpy(s[3]->parent_span_id, s[5]->span_id, 8); /* parent written later */
  set_id(s[4]->parent_span_id, 8, 999);           /* orphan */
  memcpy(s[6]->parent_span_id, s[5]->span_id, 8); /* same id, other trace */
  s[7]->start_ns = UINT64_MAX - 3;                /* wraps */
  s[7]->end_ns = 2;
  memcpy(s[7]->parent_span_id, s[6]->span_id, 8);
  check_round_trip(vt, b, 1);
  tl_batch_free(b);
}

/* ---- hostile blocks ------------------------------------------------------------ */

TEST(every_truncation_is_refused) {
  void *st = new_state(vt, NULL);
  tl_buf blob;
  tl_buf_init(&blob);
  small_block(vt, st, 5, &blob);
  tl_err e = {0};
  int bad = 0;
  for (size_t len = 0; len < blob.n; len++) {
    uint8_t *q = malloc(len ? len : 1);
    memcpy(q, blob.p, len);
    decode_error(vt, st, q, len, &e);
    if (e.rc != TL_EFORMAT && !bad++)
      UNIT_FAIL("truncated to %zu bytes: rc %d (%.300s)", len, e.rc, e.msg);
    free(q);
  }
  tl_buf_free(&blob);
  vt->destroy(st);
}

/* ---- decoding some fields ---------------------------------------------------- */

/* s as a decode of `fields` gives it: the fields not asked for that the
** rows hold as texts, lists or tables read past and left empty (b's empty
** resource and scope); ids, times, kind, status code, flags and the
** dropped counts always there. */
static tl_span as_decoded(const tl_span *s, uint32_t fields, tl_batch *b) {
  tl_span x = *s;
  static const tl_str none = {NULL, 0};
  if (!(fields & TL_FIELD_IDS)) x.trace_state = none;
  if (!(fields & TL_FIELD_NAME)) x.name = none;
  if (!(fields & TL_FIELD_STATUS)) x.status_message = none;
  if (!(fields & TL_FIELD_ATTRS)) {
    x.attrs.items = NULL;
    x.attrs.n = 0;
  }
  if (!(fields & TL_FIELD_EVENTS)) x.n_events = 0;
  if (!(fields & TL_FIELD_LINKS)) x.n_links = 0;
  if (!(fields & TL_FIELD_RESOURCE)) x.resource = tl_batch_empty_resource(b);
  if (!(fields & TL_FIELD_SCOPE)) x.scope = tl_batch_empty_scope(b);
  return x;
}

TEST(fields_not_asked_for_are_read_past) {
  static const uint32_t masks[] = {
      0, TL_FIELD_TIMES, TL_FIELD_IDS | TL_FIELD_TIMES,
      TL_FIELD_TIMES | TL_FIELD_KIND | TL_FIELD_STATUS | TL_FIELD_RESOURCE,
      TL_FIELDS_ALL & ~TL_FIELD_ATTRS, TL_FIELDS_ALL & ~(TL_FIELD_EVENTS | TL_FIELD_LINKS),
      TL_FIELD_EVENTS, TL_FIELD_LINKS | TL_FIELD_SCOPE};
  tl_batch *b = tl_batch_new();
  build_every_kind(b, 0);
  build_typical(b, 500, 11);
  size_t n = tl_batch_count(b);
  void *st = new_state(vt, NULL);
  tl_buf blob;
  tl_buf_init(&blob);
  tl_err e = {0};
  CHECK_INT(encode_all(vt, st, b, &blob, &e), TL_OK);
  for (size_t m = 0; m < sizeof masks / sizeof *masks; m++) {
    tl_batch *out = tl_batch_new();
    CHECK_INT(tl_block_decode(vt, st, (const uint8_t *)blob.p, blob.n, masks[m], out, &e), TL_OK);
    CHECK_INT(tl_batch_count(out), n);
    size_t wrong = 0;
    for (size_t i = 0; i < n && i < tl_batch_count(out); i++) {
      tl_span want = as_decoded(tl_batch_span(b, i), masks[m], out);
      const char *diff = span_diff(&want, tl_batch_span(out, i));
      if (diff && !wrong++) UNIT_FAIL("fields 0x%x, span %zu: %s", masks[m], i, diff);
    }
    tl_batch_free(out);
  }
  /* What is read past is checked as much: every truncation of a small
  ** block is refused whatever the fields. */
  tl_buf_reset(&blob);
  small_block(vt, st, 5, &blob);
  for (size_t m = 0; m < sizeof masks / sizeof *masks; m++) {
    size_t bad = 0;
    for (size_t len = 0; len < blob.n; len++) {
      uint8_t *q = malloc(len ? len : 1);
      memcpy(q, blob.p, len);
      decode_fields_error(vt, st, q, len, masks[m], &e);
      if (e.rc != TL_EFORMAT && !bad++)
        UNIT_FAIL("fields 0x%x, truncated to %zu bytes: rc %d (%.200s)", masks[m], len, e.rc,
                  e.msg);
      free(q);
    }
  }
  tl_buf_free(&blob);
  vt->destroy(st);
  tl_batch_free(b);
}

TEST(flipped_bytes_never_crash) {
  tl_batch *b = tl_batch_new();
  build_every_kind(b, 0);
  build_typical(b, 12, 9);
  void *st = new_state(vt, NULL);
  tl_buf zblob, blob;
  tl_buf_init(&zblob);
  tl_buf_init(&blob);
  tl_err e = {0};
  CHECK_INT(encode_all(vt, st, b, &zblob, &e), TL_OK);
  /* The same block with its content stored, so that flips reach the rows:
  ** envelope (7 bytes for 17 spans), dictionary 0, content length, coding. */
  tl_rd r;
  tl_rd_init(&r, zblob.p + 7, zblob.n - 7);
  tl_rd_varint(&r);
  uint64_t size = tl_rd_varint(&r);
  CHECK_INT(tl_rd_u8(&r), 1);
  tl_buf_append(&blob, zblob.p, 7);
  tl_buf_varint(&blob, 0);
  tl_buf_varint(&blob, size);
  tl_buf_putc(&blob, 0);
  CHECK(tl_buf_reserve(&blob, (size_t)size) == 0);
  CHECK_INT(ZSTD_decompress(blob.p + blob.n, (size_t)size, r.p, tl_rd_left(&r)), size);
  blob.n += (size_t)size;
  tl_batch *check = tl_batch_new();
  CHECK_INT(decode_blob(vt, st, &blob, blob.n, check, &e), TL_OK);
  CHECK_INT(tl_batch_count(check), tl_batch_count(b));
  tl_batch_free(check);
  size_t failed = 0, decoded = 0;
  cc_flip_bytes(vt, st, (const uint8_t *)blob.p, blob.n, tl_batch_count(b), &failed, &decoded);
  CHECK(failed > 0);
  printf("# %zu-byte block, %zu flips refused, %zu decoded\n", blob.n, failed, decoded);
  tl_buf_free(&blob);
  tl_buf_free(&zblob);
  vt->destroy(st);
  tl_batch_free(b);
}

/* Decodes a stored payload of content hex (spaces ignored) claiming n spans. */
static const char *content_error(const char *hex, size_t n) {
  static tl_err e;
  uint8_t raw[512];
  char digits[1024];
  size_t k = 0;
  for (const char *h = hex; *h && k < sizeof digits; h++)
    if (*h != ' ') digits[k++] = *h;
  long len = tl_hex_decode(digits, k, raw, sizeof raw);
  CHECK(len >= 0);
  tl_buf blob;
  tl_buf_init(&blob);
  tl_buf_append(&blob, "TLB\x01\x04\x01", 6);
  tl_buf_varint(&blob, n);
  tl_buf_varint(&blob, 0);            /* no dictionary */
  tl_buf_varint(&blob, (uint64_t)len); /* content length */
  tl_buf_putc(&blob, 0);              /* stored */
  tl_buf_append(&blob, raw, (size_t)len);
  void *st = new_state(vt, NULL);
  decode_error(vt, st, (const uint8_t *)blob.p, blob.n, &e);
  vt->destroy(st);
  tl_buf_free(&blob);
  return e.msg;
}

TEST(crafted_payloads_are_refused_exactly) {
  void *st = new_state(vt, NULL);
  tl_err e = {0};
  CHECK_STR(decode_error(vt, st, (const uint8_t *)"TLB\x01\x04\x01\x00", 7, &e),
            "relational payload: header: truncated");
  CHECK_STR(decode_error(vt, st, (const uint8_t *)"TLB\x01\x04\x01\x00\x05\x00\x00", 10, &e),
            "relational payload: header: dictionary 5 is not known");
  CHECK_STR(decode_error(vt, st, (const uint8_t *)"TLB\x01\x04\x01\x00\x00\x04\x00\x01", 11, &e),
            "relational payload: header: coding 0 with 4 bytes of content in 1");
  CHECK_STR(decode_error(vt, st, (const uint8_t *)"TLB\x01\x04\x01\x00\x00\xc0\xb8\x02\x01\x01", 13,
                         &e),
            "relational payload: header: coding 1 with 40000 bytes of content in 1");
  CHECK_STR(decode_error(vt, st, (const uint8_t *)"TLB\x01\x04\x01\x00\x00\x7f\x01\x01", 11, &e),
            "relational payload: bad zstd frame: Unknown frame descriptor");
  vt->destroy(st);
  /* strings [""], no resources, no scopes, plain times from 0, no traces:
  ** zero spans. */
  CHECK_STR(content_error("01 00 00 00 00 00 00", 0), "(decoded)");
  CHECK_STR(content_error("01 00 00 00 00 00 00 00", 0),
            "relational payload: rows: 1 bytes after the last span");
  CHECK_STR(content_error("01 00 00 00 00 00 00", 1), "relational payload: traces: bad trace count");
  CHECK_STR(content_error("01 00 00 00 02 00 00", 0), "relational payload: traces: bad time mode");
  CHECK_STR(content_error("05 00", 0), "relational payload: strings: string table claims 5 "
                                      "strings, more than fit");
  /* One trace, one span: trace code 1, then its row. */
  const char *head = "01 00 00 00 00 00 01 000102030405060708090a0b0c0d0e0f 01 1011121314151617";
  char hex[512];
  /* A row: parent, start, duration, name, kind*3+status, resource, scope,
  ** flags, trace_state, status message, attributes (count, dropped), event
  ** count, dropped events, link count, dropped links. */
  snprintf(hex, sizeof hex, "%s 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", head);
  CHECK_STR(content_error(hex, 1), "(decoded)");
  snprintf(hex, sizeof hex, "%s 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", head);
  CHECK_STR(content_error(hex, 1), "(decoded)"); /* its own parent */
  snprintf(hex, sizeof hex, "%s 03 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", head);
  CHECK_STR(content_error(hex, 1),
            "relational payload: rows: span 0: parent -1 is not a span of its trace");
  snprintf(hex, sizeof hex, "%s 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", head);
  CHECK_STR(content_error(hex, 1),
            "relational payload: rows: span 0: parent 1 is not a span of its trace");
  snprintf(hex, sizeof hex, "%s 00 00 00 00 12 00 00 00 00 00 00 00 00 00 00 00", head);
  CHECK_STR(content_error(hex, 1),
            "relational payload: rows: span 0: kind and status 18 out of range");
  snprintf(hex, sizeof hex, "%s 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00", head);
  CHECK_STR(content_error(hex, 1), "relational payload: rows: string 1 past the 1 strings");
  snprintf(hex, sizeof hex, "%s 00 00 00 00 00 01 00 00 00 00 00 00 00 00 00 00", head);
  CHECK_STR(content_error(hex, 1),
            "relational payload: rows: span 0: resource 1 or scope 0 past the tables");
  snprintf(hex, sizeof hex, "%s 00 00 00 00 00 00 00 00 00 00 00 00 7f 00 00 00", head);
  CHECK_STR(content_error(hex, 1), "relational payload: rows: span 0: bad event count");
  snprintf(hex, sizeof hex, "%s 00 00 00 00 00 00 00 00 00 00 00 00 00", head);
  CHECK_STR(content_error(hex, 1), "relational payload: rows: bad dropped events");
}

TEST(encoder_refuses_what_it_cannot_write) {
  tl_batch *b = tl_batch_new();
  tl_span *s = tl_batch_add_span(b);
  tl_value v = v_int(1);
  for (int i = 0; i < TL_MAX_DEPTH + 1; i++) v = v_array(b, &v, 1);
  static const char *const k[] = {"deep"};
  s->attrs = attrs_of(b, 0, k, &v, 1);
  void *st = new_state(vt, NULL);
  tl_buf blob;
  tl_buf_init(&blob);
  tl_buf_append(&blob, "keep", 4);
  tl_err e = {0};
  CHECK_INT(tl_block_encode(vt, st, &s, 1, &blob, &e), TL_ERANGE);
  CHECK_STR(e.msg, "relational: attribute values nested deeper than 32");
  CHECK_INT(blob.n, 4);
  s->attrs.items[0].value = v.u.arr.items[0];
  s->kind = 6;
  tl_err_clear(&e);
  CHECK_INT(tl_block_encode(vt, st, &s, 1, &blob, &e), TL_EMISUSE);
  CHECK_STR(e.msg, "relational: kind 6 or status 0 out of range");
  CHECK_INT(blob.n, 4);
  tl_buf_free(&blob);
  vt->destroy(st);
  tl_batch_free(b);
}

TEST(options_are_checked) { cc_options_are_checked(vt); }

TEST(dictionaries_train_and_are_required) {
  cc_dictionaries_train_and_are_required(vt, "relational payload: header: dictionary 1 is not known");
}

TEST(real_files_round_trip) { cc_real_files(vt); }

TEST(generated_sizes_and_speeds) { cc_generated_sizes(vt); }

int main(void) {
  RUN(registered_by_name_and_id);
  RUN(every_value_type_round_trips);
  RUN(empty_block_round_trips);
  RUN(generated_spans_round_trip);
  RUN(rows_grouped_by_trace_keep_block_order);
  RUN(odd_parent_structures_round_trip);
  RUN(every_truncation_is_refused);
  RUN(fields_not_asked_for_are_read_past);
  RUN(flipped_bytes_never_crash);
  RUN(crafted_payloads_are_refused_exactly);
  RUN(encoder_refuses_what_it_cannot_write);
  RUN(options_are_checked);
  RUN(dictionaries_train_and_are_required);
  RUN(real_files_round_trip);
  RUN(generated_sizes_and_speeds);
  return UNIT_DONE();
}
