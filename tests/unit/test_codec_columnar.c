/*
** test_codec_columnar.c — format=columnar (ext/codec/codec_columnar.c and
** its columnar_*.c files).
**
** What is checked: hand-built spans with every value type and edge round
** trip exactly (field by field and as canonical NDJSON), and so do empty
** blocks, generated spans (children written before parents, traces
** interleaved), spans whose parents form cycles or point at themselves,
** orphans and duplicate ids, and every span of every real trace file in
** blocks of the store's size; a field mask decodes only its streams (a
** corrupted stream that is not needed does not matter, one that is needed
** is named in the error); the stream listing names every stream; every
** truncation and corruption of a block is refused cleanly with no span
** left in the batch, and crafted directories and streams with exact
** messages; the encoder refuses what it cannot write; dictionaries train,
** are recorded by id and are required.  Payload version 3: decode_durations
** gives the full decode's end - start of every span of every block above,
** fed in prefixes as the store reads a blob and all at once, and reads a
** large block only in part; crafted durations and head checks are
** refused with exact messages by every entry point; the blocks version 2
** wrote (testdata/columnar/v2/) decode to the NDJSON they did.
**
** Lines starting with "# " are information (bytes per span per stream and
** speeds), not assertions.
*/
#include "../../ext/codec/codec_internal.h"
#include "../../ext/codec/columnar.h"
#include "../fuzz/fuzz_codec_columnar_dict.h"
#include "codec_check.h"

#include <libdeflate.h>
#include <zstd.h>

static const tl_codec_vt *const vt = &tl_codec_columnar;

/* Below, with the other paths than decode(). */
static void check_fast_paths(tl_batch *b, const char *what);
static int durations_of(void *st, const uint8_t *blob, size_t len, size_t first, uint64_t **out,
                        size_t *n, size_t *read, tl_err *e);

/* Encodes all spans of b, decodes them with fields, and compares ids and
** times, and flags (0 without TL_FIELD_IDS, which they need). */
static void round_trip_fields(tl_batch *b, uint32_t fields) {
  void *st = new_state(vt, NULL);
  tl_buf blob;
  tl_buf_init(&blob);
  tl_err e = {0};
  tl_batch *out = tl_batch_new();
  CHECK_INT(encode_all(vt, st, b, &blob, &e), TL_OK);
  int rc = tl_block_decode(vt, st, (const uint8_t *)blob.p, blob.n, fields, out, &e);
  if (rc) printf("# %s\n", e.msg);
  CHECK_INT(rc, TL_OK);
  CHECK_INT(tl_batch_count(out), tl_batch_count(b));
  for (size_t i = 0; i < tl_batch_count(out) && i < tl_batch_count(b); i++) {
    const tl_span *x = tl_batch_span(b, i), *y = tl_batch_span(out, i);
    if (memcmp(x->trace_id, y->trace_id, 16) || memcmp(x->span_id, y->span_id, 8) ||
        memcmp(x->parent_span_id, y->parent_span_id, 8) || x->start_ns != y->start_ns ||
        x->end_ns != y->end_ns || y->flags != (fields & TL_FIELD_IDS ? x->flags : 0))
      UNIT_FAIL("span %zu: ids or times differ", i);
  }
  tl_batch_free(out);
  tl_buf_free(&blob);
  vt->destroy(st);
}

/* ---- round trips ------------------------------------------------------------- */

TEST(registered_by_name_and_id) {
  CHECK(tl_codec_by_name("columnar") == vt);
  CHECK(tl_codec_by_id(TL_CODEC_COLUMNAR) == vt);
  CHECK_INT(vt->id, 5);
  CHECK_INT(vt->version, 3);
  CHECK_INT(vt->partial, 1);
  CHECK(vt->train != NULL && vt->add_dict != NULL);
  CHECK(vt->decode_cols != NULL && vt->decode_traces != NULL && vt->decode_durations != NULL);
}

TEST(every_value_type_round_trips) {
  for (int safe = 0; safe < 2; safe++) {
    tl_batch *b = tl_batch_new();
    build_every_kind(b, safe);
    check_round_trip(vt, b, 1);
    round_trip_fields(b, 0);
    tl_batch_free(b);
  }
}

TEST(empty_block_round_trips) {
  tl_batch *b = tl_batch_new();
  check_round_trip(vt, b, 1);
  tl_batch_free(b);
  /* A block of one span with nothing set: no stream but the ids. */
  b = tl_batch_new();
  tl_batch_add_span(b);
  check_round_trip(vt, b, 1);
  tl_batch_free(b);
}

TEST(generated_spans_round_trip) {
  tl_batch *b = tl_batch_new();
  build_generated(b, 300, 7);
  printf("# %zu generated spans\n", tl_batch_count(b));
  check_round_trip(vt, b, 1);
  round_trip_fields(b, TL_FIELD_IDS);
  tl_batch_reset(b);
  build_typical(b, 5000, 11);
  check_round_trip(vt, b, 1);
  tl_batch_free(b);
}

/* Parents that are no tree: a span that is its own parent, two spans that
** are each other's parent (duplicate ids make that possible), a parent in
** another trace with the same span id, duplicate span ids, an orphan, a
** child before its parent, times that wrap. */
TEST(odd_parent_structures_round_trip) {
  tl_batch *b = tl_batch_new();
  tl_span *s[8];
  for (int i = 0; i < 8; i++) {
    s[i] = tl_batch_add_span(b);
    set_id(s[i]->trace_id, 16, i < 6 ? 1 : 2);
    set_id(s[i]->span_id, 8, 100 + (uint64_t)i);
    s[i]->start_ns = 1000 * (uint64_t)i + 7;
    s[i]->end_ns = s[i]->start_ns + 13;
    s[i]->name = tl_batch_intern_cstr(b, i % 2 ? "odd" : "even");
  }
  memcpy(s[0]->parent_span_id, s[0]->span_id, 8);     /* itself */
  memcpy(s[1]->parent_span_id, s[2]->span_id, 8);     /* a cycle ... */
  memcpy(s[2]->parent_span_id, s[1]->span_id, 8);     /* ... of two */
  memcpy(s[3]->span_id, s[4]->span_id, 8);            /* duplicate id */
  memcpy(s[3]->parent_span_id, s[5]->span_id, 8);     /* parent written later */
  set_id(s[4]->parent_span_id, 8, 999);               /* orphan */
  memcpy(s[6]->parent_span_id, s[5]->span_id, 8);     /* same id, other trace */
  s[7]->start_ns = UINT64_MAX - 3;                    /* wraps */
  s[7]->end_ns = 2;
  memcpy(s[7]->parent_span_id, s[6]->span_id, 8);
  check_round_trip(vt, b, 1);
  check_fast_paths(b, "odd parents");
  tl_batch_free(b);
}

/* ---- field masks --------------------------------------------------------------- */

/* A blob's stream directory, as the tests below take blobs apart. */
typedef struct blob_dir {
  size_t payload; /* where the payload starts: after the envelope and span count */
  size_t end;     /* where the directory ends and the first stream's bytes start */
  size_t n;
  struct {
    uint64_t kind, index, stored, raw; /* raw: the content length (stored when coding 0) */
    uint8_t coding;
    size_t at;     /* where the stream's bytes are in the blob */
    size_t raw_at; /* where its content length is in the directory (0: none) */
  } s[256];
} blob_dir;

static void read_dir(const tl_buf *blob, blob_dir *d) {
  tl_rd r;
  tl_rd_init(&r, blob->p, blob->n);
  tl_rd_bytes(&r, 6);
  tl_rd_varint(&r); /* span count */
  d->payload = blob->n - tl_rd_left(&r);
  tl_rd_varint(&r); /* dictionary */
  uint64_t k = tl_rd_varint(&r);
  d->n = 0;
  for (uint64_t i = 0; i < k && d->n < 256; i++, d->n++) {
    d->s[i].kind = tl_rd_varint(&r);
    d->s[i].index = tl_rd_varint(&r);
    d->s[i].coding = tl_rd_u8(&r);
    d->s[i].stored = tl_rd_varint(&r);
    d->s[i].raw_at = d->s[i].coding ? blob->n - tl_rd_left(&r) : 0;
    d->s[i].raw = d->s[i].coding ? tl_rd_varint(&r) : d->s[i].stored;
  }
  d->end = blob->n - tl_rd_left(&r);
  for (size_t i = 0, at = d->end; i < d->n; at += d->s[i++].stored) d->s[i].at = at;
}

/* The bytes of the (last) stream of kind `want`, NULL when there is none. */
static const uint8_t *find_stream(const tl_buf *blob, unsigned want, size_t *len) {
  blob_dir d;
  read_dir(blob, &d);
  const uint8_t *found = NULL;
  for (size_t i = 0; i < d.n; i++)
    if (d.s[i].kind == want) found = (const uint8_t *)blob->p + d.s[i].at, *len = d.s[i].stored;
  return found;
}

/* The first content byte of stream kind (decompressed when it is a zstd
** frame without dictionary); 0 when there is no such stream. */
static int stream_head(const tl_buf *blob, unsigned want, uint8_t *head) {
  blob_dir d;
  read_dir(blob, &d);
  size_t i = 0;
  while (i < d.n && d.s[i].kind != want) i++;
  if (i == d.n || d.s[i].coding == 2) return 0;
  const uint8_t *p = (const uint8_t *)blob->p + d.s[i].at;
  if (d.s[i].coding == 0) {
    *head = p[0];
    return 1;
  }
  uint8_t *out = malloc(d.s[i].raw);
  size_t got = ZSTD_decompress(out, d.s[i].raw, p, d.s[i].stored);
  int ok = !ZSTD_isError(got) && got == d.s[i].raw;
  if (ok) *head = out[0];
  free(out);
  return ok;
}

TEST(field_masks_decode_only_their_streams) {
  tl_batch *b = tl_batch_new(), *out = tl_batch_new();
  build_typical(b, 300, 5);
  void *st = new_state(vt, NULL);
  tl_buf blob;
  tl_buf_init(&blob);
  tl_err e = {0};
  CHECK_INT(encode_all(vt, st, b, &blob, &e), TL_OK);
  /* Ids and times only: names, attributes, resources stay empty. */
  CHECK_INT(tl_block_decode(vt, st, (const uint8_t *)blob.p, blob.n, 0, out, &e), TL_OK);
  const tl_span *x = tl_batch_span(out, 7), *y = tl_batch_span(b, 7);
  CHECK_INT(x->name.len, 0);
  CHECK_INT(x->attrs.n, 0);
  CHECK(x->resource == tl_batch_empty_resource(out));
  CHECK(x->start_ns == y->start_ns && x->end_ns == y->end_ns);
  tl_batch_reset(out);
  CHECK_INT(tl_block_decode(vt, st, (const uint8_t *)blob.p, blob.n, TL_FIELD_NAME, out, &e),
            TL_OK);
  CHECK(same_str(tl_batch_span(out, 7)->name, y->name));
  CHECK_INT(tl_batch_span(out, 7)->attrs.n, 0);
  tl_batch_reset(out);
  /* Ruin the names table: a query without names does not notice. */
  size_t len = 0;
  uint8_t *names = (uint8_t *)find_stream(&blob, 10, &len);
  CHECK(names != NULL && len > 4);
  if (names) memset(names, 0xee, len);
  CHECK_INT(tl_block_decode(vt, st, (const uint8_t *)blob.p, blob.n, TL_FIELD_RESOURCE, out, &e),
            TL_OK);
  CHECK(same_str(tl_batch_span(out, 0)->resource->service, tl_batch_span(b, 0)->resource->service));
  CHECK(tl_batch_span(out, 0)->resource->service.len > 0);
  tl_batch_reset(out);
  tl_err_clear(&e);
  CHECK_INT(tl_block_decode(vt, st, (const uint8_t *)blob.p, blob.n, TL_FIELD_NAME, out, &e),
            TL_EFORMAT);
  CHECK(strncmp(e.msg, "columnar payload: stream names: ", 32) == 0);
  CHECK_INT(tl_batch_count(out), 0);
  tl_buf_free(&blob);
  vt->destroy(st);
  tl_batch_free(b);
  tl_batch_free(out);
}

typedef struct listing {
  char names[4096];
  size_t stored, count;
} listing;

static void on_stream(void *ctx, const char *name, size_t stored, size_t raw) {
  listing *l = ctx;
  size_t used = strlen(l->names);
  snprintf(l->names + used, sizeof l->names - used, "%s%s", used ? " " : "", name);
  l->stored += stored;
  l->count++;
  CHECK(raw >= 1 && stored >= 1);
}

TEST(streams_are_listed_by_name) {
  tl_batch *b = tl_batch_new();
  build_typical(b, 200, 3);
  void *st = new_state(vt, NULL);
  tl_buf blob;
  tl_buf_init(&blob);
  tl_err e = {0};
  CHECK_INT(encode_all(vt, st, b, &blob, &e), TL_OK);
  listing l;
  memset(&l, 0, sizeof l);
  CHECK_INT(tl_columnar_streams(st, (const uint8_t *)blob.p, blob.n, on_stream, &l, &e), TL_OK);
  CHECK_STR(l.names,
            "durations (head check) trace_ids trace_refs span_ids parents start_ns ops op_refs "
            "names status_codes resources scopes attributes.columns attributes.shapes "
            "attributes.http.method attributes.http.url attributes.http.status_code "
            "attributes.db.statement attributes.net.peer.name");
  CHECK_INT(l.count, 20);
  CHECK(l.stored + 9 + 4 * l.count <= blob.n);
  tl_err_clear(&e);
  CHECK_INT(tl_columnar_streams(st, (const uint8_t *)blob.p, 5, on_stream, &l, &e), TL_EFORMAT);
  tl_buf_free(&blob);
  vt->destroy(st);
  tl_batch_free(b);
}

/* ---- hostile blocks ------------------------------------------------------------- */

TEST(every_truncation_is_refused) {
  void *st = new_state(vt, NULL);
  tl_buf blob;
  tl_buf_init(&blob);
  small_block(vt, st, 5, &blob);
  tl_err e = {0};
  int bad = 0;
  for (size_t len = 0; len < blob.n; len++) {
    uint8_t *q = malloc(len ? len : 1); /* exact size: ASan sees any over-read */
    memcpy(q, blob.p, len);
    decode_error(vt, st, q, len, &e);
    if (e.rc != TL_EFORMAT && !bad++)
      UNIT_FAIL("truncated to %zu bytes: rc %d (%.300s)", len, e.rc, e.msg);
    /* decode_durations of the cut blob as a whole one, and of its first
    ** bytes as the part of a whole one that they are. */
    uint64_t *d;
    size_t n, read;
    int rc = durations_of(st, q, len, SIZE_MAX, &d, &n, &read, &e);
    free(d);
    if ((rc != TL_EFORMAT || n) && !bad++)
      UNIT_FAIL("truncated to %zu bytes: decode_durations rc %d (%.300s)", len, rc, e.msg);
    if (len >= TL_BLOCK_ENVELOPE_MAX) {
      size_t need = 0;
      d = malloc(16 * sizeof *d);
      rc = tl_block_decode_durations(vt, st, q, len, blob.n, d, &n, &need, &e);
      if ((rc || (need && (need <= len || need > blob.n))) && !bad++)
        UNIT_FAIL("%zu bytes of %zu: decode_durations rc %d, need %zu (%.300s)", len, blob.n, rc,
                  need, e.msg);
      free(d);
    }
    free(q);
  }
  tl_buf_free(&blob);
  vt->destroy(st);
}

TEST(flipped_bytes_never_crash) {
  tl_batch *b = tl_batch_new();
  build_every_kind(b, 0);
  build_typical(b, 12, 9);
  void *st = new_state(vt, NULL);
  tl_buf blob;
  tl_buf_init(&blob);
  tl_err e = {0};
  CHECK_INT(encode_all(vt, st, b, &blob, &e), TL_OK);
  size_t failed = 0, decoded = 0;
  cc_flip_bytes(vt, st, (const uint8_t *)blob.p, blob.n, tl_batch_count(b), &failed, &decoded);
  CHECK(failed > decoded);
  printf("# %zu-byte block, %zu flips refused, %zu decoded\n", blob.n, failed, decoded);
  tl_buf_free(&blob);
  vt->destroy(st);
  tl_batch_free(b);
}

/* Decodes a hand-made payload (hex, spaces ignored) claiming n spans, in
** an envelope of payload version `version`; the first span's start and end
** into *start, *end when it decodes. */
/* Appends the bytes of hex (spaces ignored) to out. */
static void hex_bytes(const char *hex, tl_buf *out) {
  uint8_t raw[512];
  char digits[1024];
  size_t k = 0;
  for (const char *h = hex; *h && k < sizeof digits; h++)
    if (*h != ' ') digits[k++] = *h;
  long len = tl_hex_decode(digits, k, raw, sizeof raw);
  CHECK(len >= 0);
  if (len > 0) tl_buf_append(out, raw, (size_t)len);
}

/* The envelope of a block of n spans in payload version `version`. */
static void envelope(tl_buf *blob, size_t n, int version) {
  tl_buf_append(blob, "TLB\x01\x05", 5);
  tl_buf_putc(blob, (char)version);
  tl_buf_varint(blob, n);
}

static const char *payload_error_v(const char *hex, size_t n, int version, uint64_t *start,
                                   uint64_t *end) {
  static tl_err e;
  tl_buf blob;
  tl_buf_init(&blob);
  envelope(&blob, n, version);
  hex_bytes(hex, &blob);
  void *st = new_state(vt, NULL);
  tl_batch *out = tl_batch_new();
  tl_err_clear(&e);
  if (tl_block_decode(vt, st, (const uint8_t *)blob.p, blob.n, TL_FIELDS_ALL, out, &e) == TL_OK) {
    snprintf(e.msg, sizeof e.msg, "(decoded)");
    if (start && tl_batch_count(out)) *start = tl_batch_span(out, 0)->start_ns;
    if (end && tl_batch_count(out)) *end = tl_batch_span(out, 0)->end_ns;
  }
  tl_batch_free(out);
  vt->destroy(st);
  tl_buf_free(&blob);
  return e.msg;
}

/* The same in a version 1 envelope: what the codec wrote before times in
** their own units, which this version reads as it did. */
static const char *payload_error(const char *hex, size_t n) {
  return payload_error_v(hex, n, 1, NULL, NULL);
}

TEST(crafted_payloads_are_refused_exactly) {
  CHECK_STR(payload_error("", 0), "columnar payload: truncated directory");
  CHECK_STR(payload_error("00 00", 0), "(decoded)");
  CHECK_STR(payload_error("07 00", 0), "columnar payload: dictionary 7 is not known");
  CHECK_STR(payload_error("00 ff01", 0),
            "columnar payload: directory claims 255 streams, more than fit");
  CHECK_STR(payload_error("00 01 1300 00 01 aa", 0), "columnar payload: unknown stream 19.0");
  CHECK_STR(payload_error("00 01 0101 00 01 aa", 0), "columnar payload: unknown stream 1.1");
  CHECK_STR(payload_error("00 02 0300 00 01 0100 00 01 aaaa", 0),
            "columnar payload: stream 1.0 out of order in the directory");
  CHECK_STR(payload_error("00 01 0100 03 01 01 aa", 0),
            "columnar payload: stream 1.0: bad coding 3");
  CHECK_STR(payload_error("00 01 0100 02 01 01 aa", 0),
            "columnar payload: stream 1.0: bad coding 2");
  CHECK_STR(payload_error("00 01 0100 00 7f aa", 0),
            "columnar payload: stream 1.0: bad size (127 bytes stored, 127 of content)");
  CHECK_STR(payload_error("00 01 0100 00 05 aa", 0),
            "columnar payload: the directory accounts for 5 bytes of streams, 1 follow");
  CHECK_STR(payload_error("00 01 0100 01 01 ffff7f aa", 0),
            "columnar payload: stream 1.0: bad size (1 bytes stored, 2097151 of content)");
  CHECK_STR(payload_error("00 01 0100 00 01 aa bb", 0),
            "columnar payload: the directory accounts for 1 bytes of streams, 2 follow");
  /* One span: 16 bytes of trace id, its code, 8 bytes of span id, the
  ** start and end, one operation (all six fields 0). */
  const char *dir = "00 06 0100 00 10 0200 00 03 0300 00 08 0600 00 04 0700 00 04 0800 00 13 "
                    "000102030405060708090a0b0c0d0e0f 000101 1011121314151617 ";
  const char *op = " 01 000100 000100 000100 000100 000100 000100";
  char hex[512];
  snprintf(hex, sizeof hex, "%s 00000100 00000100 %s", dir, op);
  CHECK_STR(payload_error(hex, 1), "(decoded)");
  snprintf(hex, sizeof hex, "%s 05000100 00000100 %s", dir, op);
  CHECK_STR(payload_error(hex, 1), "columnar payload: stream start_ns: unknown mode 5");
  /* The trace codes marked as a zstd frame (coding 1, 3 bytes of content)
  ** that is not one: zstd's message under the stream's name. */
  snprintf(hex, sizeof hex,
           "00 06 0100 00 10 0200 01 03 03 0300 00 08 0600 00 04 0700 00 04 0800 00 13 "
           "000102030405060708090a0b0c0d0e0f 000101 1011121314151617 00000100 00000100 %s", op);
  CHECK_STR(payload_error(hex, 1),
            "columnar payload: stream trace_refs: bad zstd frame: Unknown frame descriptor");
  snprintf(hex, sizeof hex, "%s 00000100 00000100 %s", dir, op);
  CHECK_STR(payload_error(hex, 2), "columnar payload: stream trace_refs: integer column holds "
                                   "fewer than 2 values");
  snprintf(hex, sizeof hex, "%s 00000100 00000100 02 000100 000100 000100 000100 000100 000100", dir);
  CHECK_STR(payload_error(hex, 1), "columnar payload: stream ops: bad operation count");
  snprintf(hex, sizeof hex, "%s 00000100 00000100 01 000100 000106 000100 000100 000100 000100", dir);
  CHECK_STR(payload_error(hex, 1), "columnar payload: stream ops: span 0: kind 6 is past 5");
  snprintf(hex, sizeof hex, "%s 00000100 00000100 01 000101 000100 000100 000100 000100 000100", dir);
  CHECK_STR(payload_error(hex, 1), "columnar payload: stream ops: span 0: name 1 is past 0");
  CHECK_STR(payload_error("00 04 0100 00 10 0200 00 03 0300 00 08 0600 00 04 "
                          "000102030405060708090a0b0c0d0e0f 000102 1011121314151617 00000100",
                          1),
            "columnar payload: stream trace_refs: span 0: bad trace code 2");
  CHECK_STR(payload_error("00 03 0100 00 10 0200 00 03 0300 00 08 "
                          "000102030405060708090a0b0c0d0e0f 000101 1011121314151617",
                          1),
            "columnar payload: stream ops: missing");
  CHECK_STR(payload_error("00 05 0100 00 10 0200 00 03 0300 00 08 0400 00 03 0600 00 04 "
                          "000102030405060708090a0b0c0d0e0f 000101 1011121314151617 000104 "
                          "00000100",
                          1),
            "columnar payload: stream parents: span 0: parent reference 1 is not a span of "
            "its trace");
  CHECK_STR(payload_error("00 05 0100 00 10 0200 00 03 0300 00 08 0400 00 03 0600 00 04 "
                          "000102030405060708090a0b0c0d0e0f 000101 1011121314151617 000101 "
                          "00000100",
                          1),
            "columnar payload: stream parent_ids: fewer ids than the parents need");
  /* Version 2: a time in its own unit.  The start, in units of 10^6 from
  ** the previous span's (none: 0), is 3 (zigzag 6): 3000000; the end, a
  ** duration in units of 10^3 from the start rounded down, 7 (zigzag 14). */
  const char *dir2 = "00 06 0100 00 10 0200 00 03 0300 00 08 0600 00 05 0700 00 05 0800 00 13 "
                     "000102030405060708090a0b0c0d0e0f 000101 1011121314151617 ";
  uint64_t start = 0, end = 0;
  snprintf(hex, sizeof hex, "%s 1006000106 1003000100 %s", dir2, op);
  CHECK_STR(payload_error_v(hex, 1, 2, &start, &end), "(decoded)");
  CHECK(start == 3000000 && end == 3000000);
  snprintf(hex, sizeof hex, "%s 1006000106 100300010e %s", dir2, op);
  CHECK_STR(payload_error_v(hex, 1, 2, &start, &end), "(decoded)");
  CHECK(start == 3000000 && end == 3007000);
  snprintf(hex, sizeof hex, "%s 1014000106 100300010e %s", dir2, op);
  CHECK_STR(payload_error_v(hex, 1, 2, NULL, NULL),
            "columnar payload: stream start_ns: unit 10^20 past 10^19");
  snprintf(hex, sizeof hex, "%s 15 00000106 100300010e %s", dir2, op);
  CHECK_STR(payload_error_v(hex, 1, 2, NULL, NULL),
            "columnar payload: stream start_ns: unknown mode 21");
  snprintf(hex, sizeof hex,
           "00 06 0100 00 10 0200 00 03 0300 00 08 0600 00 01 0700 00 04 0800 00 13 "
           "000102030405060708090a0b0c0d0e0f 000101 1011121314151617 10 00000100 %s", op);
  CHECK_STR(payload_error_v(hex, 1, 2, NULL, NULL), "columnar payload: stream start_ns: truncated");
  /* A newer payload version is refused before the codec sees it. */
  snprintf(hex, sizeof hex, "%s 00000100 00000100 %s", dir, op);
  CHECK_STR(payload_error_v(hex, 1, 2, NULL, NULL), "(decoded)");
  CHECK_STR(payload_error_v(hex, 1, 3, NULL, NULL), "(decoded)");
  CHECK_STR(payload_error_v(hex, 1, 4, NULL, NULL),
            "block: columnar payload version 4, this build reads versions 1 to 3 (written by a "
            "newer tracelite?)");
  /* A per-span reference past the modes (START_BEST, then a reference
  ** byte). */
  snprintf(hex, sizeof hex, "%s 0405000100 1003000100 %s", dir2, op);
  CHECK_STR(payload_error_v(hex, 1, 2, NULL, NULL),
            "columnar payload: stream start_ns: span 0: bad reference 5");
}

/* ---- version 3: durations and the head check ---------------------------------- */

/* The durations of blob through decode_durations, fed the way the store
** reads a blob: its first min(len, first) bytes, then as many as it asks
** for, each time in a buffer of exactly that size (ASan sees any read
** past it).  *read: the bytes it took.  The message into e. */
static int durations_of(void *st, const uint8_t *blob, size_t len, size_t first, uint64_t **out,
                        size_t *n, size_t *read, tl_err *e) {
  size_t count = 0, need = 0, avail = len < first ? len : first;
  tl_err_clear(e);
  int rc = tl_block_span_count(blob, len, &count, e);
  *out = malloc((count ? count : 1) * sizeof **out);
  *n = 0;
  for (int steps = 0; !rc && steps < 64; steps++) {
    uint8_t *q = malloc(avail ? avail : 1);
    memcpy(q, blob, avail);
    rc = tl_block_decode_durations(vt, st, q, avail, len, *out, n, &need, e);
    free(q);
    if (rc == TL_EMISUSE) UNIT_FAIL("decode_durations misused: %.200s", e->msg);
    if (rc || !need) break;
    if (need <= avail || need > len) UNIT_FAIL("need %zu of %zu, having %zu", need, len, avail);
    avail = need;
  }
  *read = avail;
  return rc;
}

/* decode_durations of blob against full, the block's full decode: in
** prefixes from 4096 bytes (and from the envelope's 16) and all at once,
** end - start of every span, exactly. */
static void check_durations(void *st, const tl_buf *blob, tl_batch *full, const char *what) {
  static const size_t firsts[] = {4096, TL_BLOCK_ENVELOPE_MAX, SIZE_MAX};
  for (size_t f = 0; f < 3; f++) {
    uint64_t *d;
    size_t n, read;
    tl_err e = {0};
    int rc = durations_of(st, (const uint8_t *)blob->p, blob->n, firsts[f], &d, &n, &read, &e);
    if (rc) UNIT_FAIL("%.100s: decode_durations from %zu: %.300s", what, firsts[f], e.msg);
    CHECK_INT(n, tl_batch_count(full));
    for (size_t i = 0; i < n && i < tl_batch_count(full); i++) {
      const tl_span *y = tl_batch_span(full, i);
      if (d[i] != y->end_ns - y->start_ns) {
        UNIT_FAIL("%.100s: span %zu: duration %llu, the full decode %llu", what, i,
                  (unsigned long long)d[i], (unsigned long long)(y->end_ns - y->start_ns));
        break;
      }
    }
    /* Version 3 holds its durations right after the directory: a block
    ** larger than what was read first is not read whole. */
    if (!rc && firsts[f] == 4096 && blob->n > 3 * 4096 && (uint8_t)blob->p[5] == 3 &&
        read == blob->n)
      UNIT_FAIL("%.100s: decode_durations read all %zu bytes", what, blob->n);
    free(d);
  }
}

/* A version 3 payload of one span: the directory entries of the durations
** (content dur) and the head check, then `count` more (rest_dir), the
** durations, their check (xor flip), then rest_data; dur_flip is xored
** into the durations' last byte after the check was computed.  Decoded
** whole and through decode_durations: the messages (or "(decoded)") into
** v3_msg[0] and v3_msg[1]; the first span's times, its duration. */
static char v3_msg[2][sizeof ((tl_err *)0)->msg];
static uint64_t v3_start, v3_end, v3_duration;
static uint32_t v3_stored, v3_actual; /* the check in the payload, the CRC of what it covers */

/* The message of a head check that does not match. */
static void head_check_message(char *out, size_t n, uint32_t stored, uint32_t actual) {
  snprintf(out, n, "columnar payload: head check %08x, the directory and durations give %08x",
           stored, actual);
}

static void v3_payload(const char *dur, const char *rest_dir, unsigned count,
                       const char *rest_data, uint32_t flip, uint8_t dur_flip) {
  tl_buf blob, d;
  tl_buf_init(&blob);
  tl_buf_init(&d);
  hex_bytes(dur, &d);
  envelope(&blob, 1, 3);
  size_t payload = blob.n;
  tl_buf_putc(&blob, 0);
  tl_buf_varint(&blob, 2 + count);
  tl_buf_append(&blob, "\x00\x00\x00", 3);
  tl_buf_varint(&blob, d.n);
  tl_buf_append(&blob, "\x00\x01\x00\x04", 4);
  hex_bytes(rest_dir, &blob);
  tl_buf_append(&blob, d.p, d.n);
  uint32_t crc = libdeflate_crc32(0, blob.p + payload, blob.n - payload) ^ flip;
  for (int b = 0; b < 4; b++) tl_buf_putc(&blob, (char)(crc >> (8 * b)));
  blob.p[blob.n - 5] ^= (char)dur_flip;
  v3_stored = crc;
  v3_actual = libdeflate_crc32(0, blob.p + payload, blob.n - 4 - payload);
  hex_bytes(rest_data, &blob);
  void *st = new_state(vt, NULL);
  tl_batch *out = tl_batch_new();
  tl_err e = {0};
  if (tl_block_decode(vt, st, (const uint8_t *)blob.p, blob.n, TL_FIELDS_ALL, out, &e) == TL_OK) {
    snprintf(e.msg, sizeof e.msg, "(decoded)");
    v3_start = tl_batch_span(out, 0)->start_ns;
    v3_end = tl_batch_span(out, 0)->end_ns;
  }
  snprintf(v3_msg[0], sizeof v3_msg[0], "%s", e.msg);
  uint64_t *du;
  size_t n, read;
  if (durations_of(st, (const uint8_t *)blob.p, blob.n, SIZE_MAX, &du, &n, &read, &e) == TL_OK) {
    snprintf(e.msg, sizeof e.msg, "(decoded)");
    v3_duration = n ? du[0] : 0;
  }
  snprintf(v3_msg[1], sizeof v3_msg[1], "%s", e.msg);
  free(du);
  tl_batch_free(out);
  vt->destroy(st);
  tl_buf_free(&d);
  tl_buf_free(&blob);
}

/* Both messages are msg. */
#define CHECK_V3(msg)            \
  do {                           \
    CHECK_STR(v3_msg[0], msg);   \
    CHECK_STR(v3_msg[1], msg);   \
  } while (0)

TEST(version3_payloads_are_refused_exactly) {
  /* The one span of crafted_payloads without its end_ns stream: a
  ** duration of 10 (zigzag 0x14) instead. */
  const char *dir = "0100 00 10 0200 00 03 0300 00 08 0600 00 04 0800 00 13";
  const char *ids = "000102030405060708090a0b0c0d0e0f 000101 1011121314151617";
  const char *op = "01 000100 000100 000100 000100 000100 000100";
  char data[512];
  snprintf(data, sizeof data, "%s 00000100 %s", ids, op);
  v3_payload("000114", dir, 5, data, 0, 0);
  CHECK_V3("(decoded)");
  CHECK(v3_start == 0 && v3_end == 10 && v3_duration == 10);
  /* The start modes are version 2's: a mode past them, or a per-span
  ** reference past them, is refused by what reads the starts. */
  snprintf(data, sizeof data, "%s 05000106 %s", ids, op);
  v3_payload("000114", dir, 5, data, 0, 0);
  CHECK_STR(v3_msg[0], "columnar payload: stream start_ns: unknown mode 5");
  CHECK_STR(v3_msg[1], "(decoded)"); /* it does not read the starts */
  const char *dir5 = "0100 00 10 0200 00 03 0300 00 08 0600 00 05 0800 00 13";
  snprintf(data, sizeof data, "%s 0405000100 %s", ids, op);
  v3_payload("000114", dir5, 5, data, 0, 0);
  CHECK_STR(v3_msg[0], "columnar payload: stream start_ns: span 0: bad reference 5");
  CHECK_STR(v3_msg[1], "(decoded)");
  /* The durations stream: exactly n values. */
  snprintf(data, sizeof data, "%s 00000100 %s", ids, op);
  v3_payload("0001", dir, 5, data, 0, 0);
  CHECK_V3("columnar payload: stream durations: integer column holds fewer than 1 values");
  v3_payload("00011414", dir, 5, data, 0, 0);
  CHECK_V3("columnar payload: stream durations: 1 bytes after its content");
  v3_payload("0701", dir, 5, data, 0, 0);
  CHECK_V3("columnar payload: stream durations: bad integer column header");
  /* end_ns beside durations. */
  snprintf(data, sizeof data, "%s 00000100 00000100 %s", ids, op);
  v3_payload("000114", "0100 00 10 0200 00 03 0300 00 08 0600 00 04 0700 00 04 0800 00 13", 6,
             data, 0, 0);
  CHECK_V3("columnar payload: stream end_ns beside durations");
  /* The head check: of the bytes before it, there, after the durations. */
  char want[300];
  snprintf(data, sizeof data, "%s 00000100 %s", ids, op);
  for (int after = 0; after < 2; after++) { /* the check flipped, or a duration after it */
    v3_payload("000114", dir, 5, data, after ? 0 : 1, after ? 0x01 : 0);
    head_check_message(want, sizeof want, v3_stored, v3_actual);
    CHECK(v3_stored != v3_actual);
    CHECK_V3(want);
  }
  CHECK_STR(payload_error("00 02 0000 00 01 0100 00 10 aa 000102030405060708090a0b0c0d0e0f", 0),
            "columnar payload: durations without a head check of 4 raw bytes after them");
  CHECK_STR(payload_error("00 02 0000 00 01 0001 00 03 aa 000000", 0),
            "columnar payload: durations without a head check of 4 raw bytes after them");
  CHECK_STR(payload_error("00 01 0001 00 04 00000000", 0),
            "columnar payload: a head check without durations");
  CHECK_STR(payload_error("00 01 0002 00 04 00000000", 0), "columnar payload: unknown stream 0.2");
}

/* A flipped bit in a real block's directory (a content length: the
** directory still reads) or in its durations: the head check says so,
** through every entry point. */
TEST(head_check_covers_directory_and_durations) {
  tl_batch *b = tl_batch_new();
  build_typical(b, 400, 21);
  void *st = new_state(vt, NULL);
  tl_buf blob;
  tl_buf_init(&blob);
  tl_err e = {0};
  CHECK_INT(encode_all(vt, st, b, &blob, &e), TL_OK);
  /* Where the first content length of a compressed stream is, where the
  ** durations and the check are. */
  blob_dir dir;
  read_dir(&blob, &dir);
  size_t payload = dir.payload, dir_end = dir.end, raw_at = 0, dur_stored = 0;
  for (size_t i = 0; i < dir.n; i++) {
    if (dir.s[i].kind == 0 && dir.s[i].index == 0) dur_stored = (size_t)dir.s[i].stored;
    if (!raw_at) raw_at = dir.s[i].raw_at;
  }
  size_t check_at = dir_end + dur_stored;
  CHECK(raw_at > 0 && dur_stored > 0 && check_at + 4 <= blob.n);
  const size_t flips[3] = {raw_at, dir_end + dur_stored / 2, check_at + 2};
  for (int f = 0; f < 3; f++) {
    tl_buf bad;
    tl_buf_init(&bad);
    tl_buf_append(&bad, blob.p, blob.n);
    bad.p[flips[f]] ^= 1;
    const uint8_t *q = (const uint8_t *)bad.p;
    tl_rd check;
    tl_rd_init(&check, q + check_at, 4);
    uint32_t stored = tl_rd_le32(&check);
    char want[300];
    head_check_message(want, sizeof want, stored,
                       (uint32_t)libdeflate_crc32(0, q + payload, check_at - payload));
    tl_batch *out = tl_batch_new();
    tl_cols cols;
    memset(&cols, 0, sizeof cols);
    tl_err_clear(&e);
    CHECK_INT(tl_block_decode(vt, st, q, bad.n, TL_FIELDS_ALL, out, &e), TL_EFORMAT);
    CHECK_STR(e.msg, want);
    tl_err_clear(&e);
    CHECK_INT(tl_block_decode_traces(vt, st, q, bad.n, TL_FIELDS_ALL,
                                     (const uint8_t(*)[16])tl_batch_span(b, 0)->trace_id, 1, out,
                                     &e),
              TL_EFORMAT);
    CHECK_STR(e.msg, want);
    tl_err_clear(&e);
    CHECK_INT(tl_block_decode_cols(vt, st, q, bad.n, TL_FIELD_TIMES, &cols, out, &e), TL_EFORMAT);
    CHECK_STR(e.msg, want);
    for (int first = 0; first < 2; first++) {
      uint64_t *d;
      size_t n, read;
      CHECK_INT(durations_of(st, q, bad.n, first ? 64 : SIZE_MAX, &d, &n, &read, &e), TL_EFORMAT);
      CHECK_STR(e.msg, want);
      CHECK_INT(n, 0);
      free(d);
    }
    tl_cols_free(&cols);
    tl_batch_free(out);
    tl_buf_free(&bad);
  }
  tl_buf_free(&blob);
  vt->destroy(st);
  tl_batch_free(b);
}

/* Whole milliseconds among nanosecond times (a real mix: Nezha's Java
** services start server spans on the millisecond): the writer codes the
** starts in their own units, and they come back exactly. */
TEST(times_in_their_own_units) {
  tl_batch *b = tl_batch_new();
  build_typical(b, 3000, 17);
  size_t n = tl_batch_count(b);
  for (size_t i = 0; i < n; i += 3) {
    tl_span *s = tl_batch_span(b, i);
    uint64_t d = s->end_ns - s->start_ns;
    s->start_ns -= s->start_ns % 1000000;
    s->end_ns = s->start_ns + d;
  }
  void *st = new_state(vt, NULL);
  tl_buf blob;
  tl_buf_init(&blob);
  tl_err e = {0};
  CHECK_INT(encode_all(vt, st, b, &blob, &e), TL_OK);
  size_t len = 0;
  const uint8_t *start = find_stream(&blob, 6, &len);
  CHECK(start != NULL && len > 0);
  tl_batch *out = tl_batch_new();
  CHECK_INT(decode_blob(vt, st, &blob, blob.n, out, &e), TL_OK);
  CHECK_INT(tl_batch_count(out), n);
  for (size_t i = 0; i < n && i < tl_batch_count(out); i++)
    if (tl_batch_span(out, i)->start_ns != tl_batch_span(b, i)->start_ns ||
        tl_batch_span(out, i)->end_ns != tl_batch_span(b, i)->end_ns) {
      UNIT_FAIL("span %zu: times differ", i);
      break;
    }
  /* The first byte of the start stream: the mode, with TIME_UNITS (0x10). */
  uint8_t mode = 0;
  CHECK(stream_head(&blob, 6, &mode));
  CHECK_INT(mode & 0x10, 0x10);
  /* Without whole milliseconds, the writer does not try units. */
  for (size_t i = 0; i < n; i += 3) tl_batch_span(b, i)->start_ns += 1;
  CHECK_INT(encode_all(vt, st, b, &blob, &e), TL_OK);
  CHECK(stream_head(&blob, 6, &mode));
  CHECK_INT(mode & 0x10, 0);
  check_round_trip(vt, b, 1);
  tl_batch_free(out);
  tl_buf_free(&blob);
  vt->destroy(st);
  tl_batch_free(b);
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
  CHECK_STR(e.msg, "columnar: attribute values nested deeper than 32");
  CHECK_INT(blob.n, 4);
  s->attrs.items[0].value = v.u.arr.items[0];
  check_round_trip(vt, b, 1);
  s->kind = 6;
  tl_err_clear(&e);
  CHECK_INT(tl_block_encode(vt, st, &s, 1, &blob, &e), TL_EMISUSE);
  CHECK_STR(e.msg, "columnar: kind 6 is past 5");
  s->kind = 0;
  s->attrs.items[0].value.type = 9;
  tl_err_clear(&e);
  CHECK_INT(tl_block_encode(vt, st, &s, 1, &blob, &e), TL_EMISUSE);
  CHECK_STR(e.msg, "columnar: attribute value of unknown type 9");
  CHECK_INT(blob.n, 4);
  tl_buf_free(&blob);
  vt->destroy(st);
  tl_batch_free(b);
}

TEST(options_are_checked) { cc_options_are_checked(vt); }

/* ---- dictionaries ---------------------------------------------------------------- */

TEST(dictionaries_train_and_are_required) {
  cc_dictionaries_train_and_are_required(vt, "columnar payload: dictionary 1 is not known");
}

static int contains(const tl_buf *b, const char *s) {
  size_t n = strlen(s);
  for (size_t i = 0; i + n <= b->n; i++)
    if (memcmp(b->p + i, s, n) == 0) return 1;
  return 0;
}

/* The dictionary is raw content: the tables blocks repeat (operation
** names, services), not the values that never come back. */
TEST(dictionaries_hold_what_blocks_repeat) {
  tl_batch *b = tl_batch_new();
  build_typical(b, 4000, 21);
  size_t n = tl_batch_count(b);
  uint64_t x = 77;
  char first_id[32] = "";
  for (size_t i = 0; i < n; i++) {
    char id[32];
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    snprintf(id, sizeof id, "%016llx", (unsigned long long)x);
    if (i == 0) snprintf(first_id, sizeof first_id, "%s", id);
    tl_span *s = tl_batch_span(b, i);
    s->attrs.items[1].value = v_cstr(b, id); /* http.url: an id of its own */
  }
  tl_span **v = spans_of(b);
  tl_err e = {0};
  tl_buf dict;
  tl_buf_init(&dict);
  void *st = new_state(vt, NULL);
  CHECK_INT(vt->train(st, v, n, &dict, &e), TL_OK);
  printf("# %zu spans train a %zu-byte dictionary\n", n, dict.n);
  CHECK(dict.n > 1024 && dict.n <= TL_CODEC_DEFAULT_DICT_SIZE);
  CHECK(contains(&dict, "GET /api/cart"));
  CHECK(contains(&dict, "checkout"));
  CHECK(!contains(&dict, first_id));
  static const uint8_t magic[4] = {0x37, 0xA4, 0x30, 0xEC};
  CHECK(dict.n < 4 || memcmp(dict.p, magic, 4) != 0);
  tl_codec_opts small = {0, 4096};
  void *sm = new_state(vt, &small);
  tl_buf_reset(&dict);
  CHECK_INT(vt->train(sm, v, n, &dict, &e), TL_OK);
  CHECK(dict.n > 1024 && dict.n <= 4096);
  vt->destroy(sm);
  /* A names table that starts like a formatted zstd dictionary (37 a4 30
  ** ec: 55 names, the first 6180 bytes long, the second 236): trained on
  ** as raw content all the same, and the dictionary does not start so. */
  static char name[6180];
  memset(name, 'n', sizeof name);
  for (size_t i = 0; i < n; i++) {
    size_t k = i % 55, len = k == 0 ? 6180 : k == 1 ? 236 : 8;
    if (k > 1) snprintf(name, sizeof name, "op-%04zu", k);
    tl_batch_span(b, i)->name = tl_batch_intern(b, name, len);
    memset(name, 'n', sizeof name);
  }
  tl_buf_reset(&dict);
  CHECK_INT(vt->train(st, v, n, &dict, &e), TL_OK);
  CHECK(dict.n > 1024);
  CHECK(memcmp(dict.p, magic, 4) != 0);
  CHECK_INT(vt->add_dict(st, 1, (const uint8_t *)dict.p, dict.n, &e), TL_OK);
  check_round_trip(vt, b, 0);
  vt->destroy(st);
  tl_buf_free(&dict);
  free(v);
  tl_batch_free(b);
}

/* ---- the fuzz target's seeds ----------------------------------------------------- */

#define SEED_DIR "testdata/fuzz/fuzz_codec_columnar"

static void seed_empty(tl_batch *b) { (void)b; }
static void seed_every_kind(tl_batch *b) { build_every_kind(b, 0); }
static void seed_every_kind_utf8(tl_batch *b) { build_every_kind(b, 1); }
static void seed_typical_3(tl_batch *b) { build_typical(b, 3, 42); }
static void seed_typical_20(tl_batch *b) { build_typical(b, 20, 42); }
static void seed_generated(tl_batch *b) { build_generated(b, 2, 42); }
/* Every other start a whole millisecond: times in their own units. */
static void seed_units(tl_batch *b) {
  build_typical(b, 40, 42);
  for (size_t i = 0; i < tl_batch_count(b); i += 2) {
    tl_span *s = tl_batch_span(b, i);
    s->start_ns -= s->start_ns % 1000000;
  }
}

/* The seeds of testdata/fuzz/fuzz_codec_columnar/ (tests/fuzz/
** fuzz_codec_columnar.c): small blocks of the current payload version, each
** of spans built here, without and with the target's dictionary (_dict).
** They decode to those spans; TL_WRITE_SEEDS=1 writes them first. */
TEST(fuzz_seeds_are_current) {
  static const struct {
    const char *name;
    void (*build)(tl_batch *);
  } seeds[] = {{"empty", seed_empty},         {"every_kind", seed_every_kind},
               {"every_kind_utf8", seed_every_kind_utf8}, {"typical_3", seed_typical_3},
               {"typical_20", seed_typical_20}, {"generated", seed_generated},
               {"units", seed_units}};
  int write = getenv("TL_WRITE_SEEDS") != NULL;
  for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++)
    for (int with_dict = 0; with_dict < 2; with_dict++) {
      char path[256];
      snprintf(path, sizeof path, SEED_DIR "/%s%s", seeds[k].name, with_dict ? "_dict" : "");
      tl_batch *b = tl_batch_new(), *out = tl_batch_new();
      seeds[k].build(b);
      void *st;
      tl_err e = {0};
      tl_buf blob;
      tl_buf_init(&blob);
      int ok = cc_seed(vt, FUZZ_DICT, with_dict ? sizeof FUZZ_DICT - 1 : 0, b, path, write,
                       vt->version, &st, &blob);
      if (ok && decode_blob(vt, st, &blob, blob.n, out, &e) != TL_OK) {
        UNIT_FAIL("%s: %.200s", path, e.msg);
      } else if (ok) {
        CHECK_INT(tl_batch_count(out), tl_batch_count(b));
        for (size_t i = 0; i < tl_batch_count(b) && i < tl_batch_count(out); i++)
          if (!same_ndjson(tl_batch_span(b, i), tl_batch_span(out, i))) {
            UNIT_FAIL("%s: span %zu differs", path, i);
            break;
          }
      }
      tl_buf_free(&blob);
      vt->destroy(st);
      tl_batch_free(out);
      tl_batch_free(b);
    }
}

/* ---- decoding fewer spans or into arrays ------------------------------------ */

/* The distinct trace ids of b, sorted, every `step`-th of them into
** *picked (malloc'd, *np of them). */
static int cmp16(const void *a, const void *b) { return memcmp(a, b, 16); }

static void pick_traces(const tl_batch *b, size_t step, uint8_t (**picked)[16], size_t *np) {
  size_t n = tl_batch_count(b), k = 0;
  uint8_t(*all)[16] = malloc((n ? n : 1) * 16);
  for (size_t i = 0; i < n; i++) memcpy(all[i], tl_batch_span(b, i)->trace_id, 16);
  qsort(all, n, 16, cmp16);
  size_t distinct = 0;
  for (size_t i = 0; i < n; i++)
    if (!distinct || memcmp(all[i], all[distinct - 1], 16)) memcpy(all[distinct++], all[i], 16);
  for (size_t i = 0; i < distinct; i += step) memcpy(all[k++], all[i], 16);
  *picked = all;
  *np = k;
}

static int same_ids_times(const tl_span *x, const tl_span *y) {
  return !memcmp(x->trace_id, y->trace_id, 16) && !memcmp(x->span_id, y->span_id, 8) &&
         !memcmp(x->parent_span_id, y->parent_span_id, 8) && x->start_ns == y->start_ns &&
         x->end_ns == y->end_ns;
}

/* decode_cols of blob against full (the block's full decode): with
** TL_FIELD_IDS every id, time, flag and trace state; with times alone
** the times. */
static void check_cols(void *st, const tl_buf *blob, tl_batch *full, const char *what) {
  static const uint32_t masks[] = {TL_FIELD_IDS | TL_FIELD_TIMES, TL_FIELD_TIMES};
  for (size_t m = 0; m < 2; m++) {
    tl_cols cols;
    memset(&cols, 0, sizeof cols);
    tl_batch *strs = tl_batch_new();
    tl_err e = {0};
    int rc = tl_block_decode_cols(vt, st, (const uint8_t *)blob->p, blob->n, masks[m], &cols,
                                  strs, &e);
    if (rc) UNIT_FAIL("%.100s: decode_cols: %.300s", what, e.msg);
    CHECK_INT(cols.n, tl_batch_count(full));
    int ids = masks[m] & TL_FIELD_IDS, bad = 0;
    for (size_t i = 0; i < cols.n && i < tl_batch_count(full) && !bad; i++) {
      const tl_span *y = tl_batch_span(full, i);
      if (cols.start[i] != y->start_ns || cols.end[i] != y->end_ns ||
          (ids && (memcmp(cols.trace_id[i], y->trace_id, 16) ||
                   memcmp(cols.span_id[i], y->span_id, 8) ||
                   memcmp(cols.parent_id[i], y->parent_span_id, 8) || cols.flags[i] != y->flags ||
                   !same_str(cols.trace_state[i], y->trace_state))))
        {
          bad = 1;
          UNIT_FAIL("%s: mask %u: span %zu differs from the full decode", what,
                           masks[m], i);
        }
    }
    tl_cols_free(&cols);
    tl_batch_free(strs);
  }
}

/* decode_traces of blob for traces[0..nt) against full: the spans of
** those traces exactly as the full decode has them, the others with the
** same ids and times. */
static void check_traces_of(void *st, const tl_buf *blob, tl_batch *full,
                            const uint8_t (*traces)[16], size_t nt, const char *what) {
  tl_batch *out = tl_batch_new();
  tl_batch_add_span(out); /* someone else's, which stays */
  tl_err e = {0};
  int rc = tl_block_decode_traces(vt, st, (const uint8_t *)blob->p, blob->n, TL_FIELDS_ALL,
                                  (const uint8_t(*)[16])traces, nt, out, &e);
  if (rc) UNIT_FAIL("%.100s: decode_traces: %.300s", what, e.msg);
  CHECK_INT(tl_batch_count(out), tl_batch_count(full) + 1);
  size_t whole = 0, bad = 0;
  for (size_t i = 0; i + 1 < tl_batch_count(out) && i < tl_batch_count(full) && !bad; i++) {
    const tl_span *x = tl_batch_span(out, i + 1), *y = tl_batch_span(full, i);
    if (bsearch(y->trace_id, traces, nt, 16, cmp16)) {
      const char *d = span_diff(x, y);
      whole++;
      if (d || !same_ndjson(x, y)) {
          bad = 1;
          UNIT_FAIL("%s: span %zu: %s differs", what, i, d);
        }
    } else if (!same_ids_times(x, y) || !x->resource || !x->scope) {
      {
          bad = 1;
          UNIT_FAIL("%s: span %zu (another trace): ids or times differ", what, i);
        }
    }
  }
  if (tl_batch_count(full) && nt && !whole)
    UNIT_FAIL("%s: no span of the traces asked for", what);
  tl_batch_free(out);
}

/* The same for every step-th trace. */
static void check_traces(void *st, const tl_buf *blob, tl_batch *full, size_t step,
                         const char *what) {
  uint8_t(*traces)[16];
  size_t nt;
  pick_traces(full, step, &traces, &nt);
  check_traces_of(st, blob, full, (const uint8_t(*)[16])traces, nt, what);
  free(traces);
}

/* The same for a dozen traces spread over the block, each alone: a
** lookup skips the lists after its trace's last span too. */
static void check_each_trace(void *st, const tl_buf *blob, tl_batch *full, const char *what) {
  uint8_t(*traces)[16];
  size_t nt;
  pick_traces(full, 1, &traces, &nt);
  for (size_t i = 0; i < nt; i += nt / 12 + 1)
    check_traces_of(st, blob, full, (const uint8_t(*)[16])traces + i, 1, what);
  free(traces);
}

/* Both paths over the spans of b encoded as one block; step 1 (every
** trace: nothing skipped), 3 and a trace no span has. */
static void check_fast_paths(tl_batch *b, const char *what) {
  void *st = new_state(vt, NULL);
  tl_buf blob;
  tl_buf_init(&blob);
  tl_err e = {0};
  tl_batch *full = tl_batch_new();
  CHECK_INT(encode_all(vt, st, b, &blob, &e), TL_OK);
  CHECK_INT(tl_block_decode(vt, st, (const uint8_t *)blob.p, blob.n, TL_FIELDS_ALL, full, &e),
            TL_OK);
  check_cols(st, &blob, full, what);
  check_durations(st, &blob, full, what);
  check_traces(st, &blob, full, 1, what);
  check_traces(st, &blob, full, 3, what);
  check_each_trace(st, &blob, full, what);
  /* A trace of no span: every span keeps ids and times only. */
  static const uint8_t none[1][16] = {{0xfe, 0xed}};
  tl_batch *out = tl_batch_new();
  CHECK_INT(tl_block_decode_traces(vt, st, (const uint8_t *)blob.p, blob.n, TL_FIELDS_ALL, none,
                                   1, out, &e),
            TL_OK);
  CHECK_INT(tl_batch_count(out), tl_batch_count(full));
  for (size_t i = 0; i < tl_batch_count(out); i++) {
    const tl_span *x = tl_batch_span(out, i);
    if (!same_ids_times(x, tl_batch_span(full, i)) || x->attrs.n || x->name.len) {
      UNIT_FAIL("%s: span %zu of no trace asked for is not bare", what, i);
      break;
    }
  }
  tl_batch_free(out);
  tl_batch_free(full);
  tl_buf_free(&blob);
  vt->destroy(st);
}

TEST(cols_and_traces_equal_the_full_decode) {
  tl_batch *b = tl_batch_new();
  for (int safe = 0; safe < 2; safe++) {
    build_every_kind(b, safe);
    check_fast_paths(b, "every kind");
    tl_batch_reset(b);
  }
  build_generated(b, 300, 7);
  check_fast_paths(b, "generated");
  tl_batch_reset(b);
  build_typical(b, 5000, 11);
  check_fast_paths(b, "typical");
  tl_batch_reset(b);
  tl_batch_add_span(b);
  check_fast_paths(b, "one bare span");
  tl_batch_reset(b);
  check_fast_paths(b, "empty block");
  tl_batch_free(b);
}

/* Every span of every real file, in blocks of the store's size. */
static void fast_paths_file(void *ctx, const char *path, const char *group, tl_batch *b) {
  (void)ctx;
  (void)group;
  tl_batch *part = tl_batch_new();
  tl_copy_cache *cache = tl_copy_cache_new();
  size_t n = tl_batch_count(b);
  for (size_t at = 0; at < n; at += CC_BLOCK_SPANS) {
    tl_batch_reset(part);
    tl_copy_cache_reset(cache);
    for (size_t i = at; i < n && i < at + CC_BLOCK_SPANS; i++)
      tl_span_copy(part, tl_batch_span(b, i), cache, NULL);
    check_fast_paths(part, path);
  }
  tl_copy_cache_free(cache);
  tl_batch_free(part);
}

TEST(real_files_through_the_fast_paths) {
  cc_walk w = {fast_paths_file, NULL, 0, 0};
  cc_walk_dir(&w, UNIT_TRACES_DIR);
  CHECK_INT(w.files, CC_TRACE_FILES);
}

/* Every truncation and many corruptions of a block: TL_EFORMAT with a
** message from both paths, nothing left behind. */
TEST(fast_paths_refuse_bad_blocks) {
  void *st = new_state(vt, NULL);
  tl_buf blob;
  tl_buf_init(&blob);
  small_block(vt, st, 12, &blob);
  tl_batch *full = tl_batch_new();
  tl_err e = {0};
  CHECK_INT(tl_block_decode(vt, st, (const uint8_t *)blob.p, blob.n, TL_FIELDS_ALL, full, &e),
            TL_OK);
  uint8_t(*traces)[16];
  size_t nt;
  pick_traces(full, 2, &traces, &nt);
  tl_cols cols;
  memset(&cols, 0, sizeof cols);
  size_t bad = 0, refused = 0, decoded = 0;
  for (size_t len = 0; len <= blob.n && bad < 3; len++) {
    for (int flip = 0; flip < (len == blob.n ? 256 : 1) && bad < 3; flip++) {
      uint8_t *q = malloc(blob.n + 1); /* exact size: ASan sees any over-read */
      memcpy(q, blob.p, len);
      size_t n = len;
      if (len == blob.n) q[flip % blob.n] ^= (uint8_t)(0x55 + flip);
      /* decode_durations agrees with the full decode wherever that
      ** succeeds (it reads less, so it may succeed where that fails). */
      tl_batch *whole = tl_batch_new();
      int full_rc = tl_block_decode(vt, st, q, n, TL_FIELDS_ALL, whole, &e);
      uint64_t *d;
      size_t nd, read;
      int drc = durations_of(st, q, n, 64, &d, &nd, &read, &e);
      if (drc ? drc != TL_EFORMAT || !e.msg[0] || nd
              : full_rc == TL_OK && nd != tl_batch_count(whole)) {
        bad++;
        UNIT_FAIL("%zu bytes, flip %d: decode_durations rc %d (%.200s)", len, flip, drc, e.msg);
      }
      if (full_rc == TL_OK && drc != TL_OK) {
        bad++;
        UNIT_FAIL("%zu bytes, flip %d: decode_durations refused a block that decodes: %.200s",
                  len, flip, e.msg);
      }
      for (size_t i = 0; full_rc == TL_OK && !drc && i < nd && i < tl_batch_count(whole); i++)
        if (d[i] != tl_batch_span(whole, i)->end_ns - tl_batch_span(whole, i)->start_ns) {
          bad++;
          UNIT_FAIL("%zu bytes, flip %d: span %zu: durations differ", len, flip, i);
          break;
        }
      free(d);
      tl_batch_free(whole);
      for (int path = 0; path < 2; path++) {
        tl_batch *out = tl_batch_new();
        tl_err_clear(&e);
        int rc = path ? tl_block_decode_cols(vt, st, q, n, TL_FIELD_IDS | TL_FIELD_TIMES, &cols,
                                             out, &e)
                      : tl_block_decode_traces(vt, st, q, n, TL_FIELDS_ALL,
                                               (const uint8_t(*)[16])traces, nt, out, &e);
        if (rc == TL_OK) {
          decoded++;
          if (len < blob.n) {
          bad++;
          UNIT_FAIL("truncated to %zu bytes: decoded", len);
        }
        } else {
          refused++;
          if (rc != TL_EFORMAT || !e.msg[0] || (path ? cols.n : tl_batch_count(out)) != 0)
            {
          bad++;
          UNIT_FAIL("%zu bytes, flip %d, path %d: rc %d (%.200s)", len, flip, path, rc,
                             e.msg);
        }
        }
        tl_batch_free(out);
      }
      free(q);
    }
  }
  printf("# bad blocks: %zu refused, %zu decoded (flips that still make sense)\n", refused,
         decoded);
  CHECK(refused > decoded);
  tl_cols_free(&cols);
  free(traces);
  tl_batch_free(full);
  tl_buf_free(&blob);
  vt->destroy(st);
}

/* ---- real files and sizes ------------------------------------------------------ */

/* The value and object readers without a batch (what decode_traces reads
** past): the same bytes taken and, cut anywhere, the same refusal with the
** same message as with one. */
TEST(readers_without_a_batch_read_past_the_same_way) {
  tl_batch *b = tl_batch_new(), *into = tl_batch_new();
  build_every_kind(b, 0);
  tl_buf buf;
  tl_buf_init(&buf);
  tl_err e = {0};
  tl_objtab tab = {0};
  size_t vals = 0;
  /* Per span: its resource and scope each as a table of one (a count,
  ** the object), then its attribute values. */
  for (size_t i = 0; i < tl_batch_count(b); i++) {
    const tl_span *sp = tl_batch_span(b, i);
    const void *obj[2] = {sp->resource, sp->scope};
    uint64_t code;
    for (int k = 0; k < 2; k++) {
      size_t before = buf.n;
      CHECK_INT(tl_objtab_build(&tab, k ? TL_OBJ_SCOPE : TL_OBJ_RESOURCE, &obj[k], 1, NULL, &code,
                                &buf, "test", &e), TL_OK);
      if (buf.n == before) tl_buf_putc(&buf, 0); /* an empty object: no table */
    }
    for (uint32_t j = 0; j < sp->attrs.n; j++, vals++)
      CHECK_INT(tl_val_write(&buf, NULL, &sp->attrs.items[j].value, "test", &e), TL_OK);
  }
  CHECK(vals > 10);
  tl_objtab_free(&tab);
  size_t bad = 0;
  for (size_t len = 0; len <= buf.n && bad < 3; len++) {
    tl_rd r[2];
    tl_err err[2];
    int rc[2];
    for (int with = 0; with < 2; with++) {
      tl_kvbuf kb = {0};
      tl_rd_init(&r[with], buf.p, len);
      tl_err_clear(&err[with]);
      rc[with] = TL_OK;
      size_t done = 0;
      for (size_t i = 0; i < tl_batch_count(b) && !rc[with]; i++) {
        const tl_span *sp = tl_batch_span(b, i);
        for (int k = 0; k < 2 && !rc[with]; k++) {
          const void *out;
          uint64_t count = tl_rd_varint(&r[with]);
          if (r[with].err) rc[with] = tl_err_set(&err[with], TL_EFORMAT, "no table count");
          if (!count) continue; /* an empty object: no table */
          rc[with] = tl_obj_read(k ? TL_OBJ_SCOPE : TL_OBJ_RESOURCE, &r[with], with ? into : NULL,
                                 &kb, NULL, &out, "objects", &err[with]);
          if (!rc[with] && !with && out) {
            bad++;
            UNIT_FAIL("an object built without a batch");
          }
        }
        for (uint32_t j = 0; j < sp->attrs.n && !rc[with]; j++, done++) {
          tl_value v;
          rc[with] = tl_val_read(&r[with], with ? into : NULL, &kb, NULL, &v, "values",
                                 &err[with]);
          if (!rc[with] && v.type != sp->attrs.items[j].value.type) {
            bad++;
            UNIT_FAIL("value %zu: type %u, wrote %u", done, v.type, sp->attrs.items[j].value.type);
          }
        }
      }
      tl_kvbuf_free(&kb);
    }
    if (rc[0] != rc[1] || strcmp(err[0].msg, err[1].msg) || r[0].p != r[1].p ||
        (len == buf.n) != (rc[0] == TL_OK)) {
      bad++;
      UNIT_FAIL("%zu of %zu bytes: rc %d / %d, \"%.150s\" / \"%.150s\"", len, buf.n, rc[0], rc[1],
                err[0].msg, err[1].msg);
    }
  }
  CHECK_INT(bad, 0);
  tl_buf_free(&buf);
  tl_batch_free(into);
  tl_batch_free(b);
}

/* ---- version 2 blocks ---------------------------------------------------------- */

/* Reads a whole file into out; 0 when it cannot. */
static int slurp(const char *path, tl_buf *out) {
  FILE *f = fopen(path, "rb");
  char chunk[4096];
  size_t got;
  if (!f) return 0;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) tl_buf_append(out, chunk, got);
  fclose(f);
  return 1;
}

/* testdata/columnar/v2/NAME.blk: blocks written by payload version 2 (the
** code before the durations), which this version must read exactly as
** that one did: NAME.ndjson is what it decoded them to (canonical NDJSON,
** one span a line).  Generated spans, times in their own units, every
** value type (testdata/otlp/all-types.ndjson), 400 Nezha spans.  Through
** every entry point. */
TEST(version2_blocks_decode_exactly) {
  static const char *const names[] = {"generated", "units", "all_types", "nezha"};
  for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
    char path[256];
    tl_buf blob, want, got;
    tl_buf_init(&blob);
    tl_buf_init(&want);
    tl_buf_init(&got);
    snprintf(path, sizeof path, "testdata/columnar/v2/%s.blk", names[k]);
    CHECK(slurp(path, &blob));
    snprintf(path, sizeof path, "testdata/columnar/v2/%s.ndjson", names[k]);
    CHECK(slurp(path, &want));
    CHECK(blob.n > 6 && blob.p[5] == 2);
    void *st = new_state(vt, NULL);
    tl_batch *full = tl_batch_new();
    tl_err e = {0};
    int rc = tl_block_decode(vt, st, (const uint8_t *)blob.p, blob.n, TL_FIELDS_ALL, full, &e);
    if (rc) UNIT_FAIL("%s: %.200s", names[k], e.msg);
    for (size_t i = 0; i < tl_batch_count(full); i++)
      tl_otlp_write_span(&got, tl_batch_span(full, i));
    if (got.n != want.n || memcmp(got.p, want.p, got.n))
      UNIT_FAIL("%s: %zu spans decode to other NDJSON (%zu bytes, %zu)", names[k],
                tl_batch_count(full), got.n, want.n);
    CHECK(tl_batch_count(full) > 0);
    check_cols(st, &blob, full, names[k]);
    check_durations(st, &blob, full, names[k]);
    check_traces(st, &blob, full, 1, names[k]);
    check_traces(st, &blob, full, 3, names[k]);
    /* It still reads as version 2: no durations, end_ns there. */
    listing l;
    memset(&l, 0, sizeof l);
    CHECK_INT(tl_columnar_streams(st, (const uint8_t *)blob.p, blob.n, on_stream, &l, &e), TL_OK);
    CHECK(strstr(l.names, "durations") == NULL && strstr(l.names, "end_ns") != NULL);
    tl_batch_free(full);
    vt->destroy(st);
    tl_buf_free(&blob);
    tl_buf_free(&want);
    tl_buf_free(&got);
  }
}

TEST(real_files_round_trip) { cc_real_files(vt); }

TEST(generated_sizes_and_speeds) { cc_generated_sizes(vt); }

int main(void) {
  RUN(registered_by_name_and_id);
  RUN(every_value_type_round_trips);
  RUN(empty_block_round_trips);
  RUN(generated_spans_round_trip);
  RUN(odd_parent_structures_round_trip);
  RUN(field_masks_decode_only_their_streams);
  RUN(streams_are_listed_by_name);
  RUN(every_truncation_is_refused);
  RUN(flipped_bytes_never_crash);
  RUN(crafted_payloads_are_refused_exactly);
  RUN(version3_payloads_are_refused_exactly);
  RUN(head_check_covers_directory_and_durations);
  RUN(times_in_their_own_units);
  RUN(encoder_refuses_what_it_cannot_write);
  RUN(options_are_checked);
  RUN(dictionaries_train_and_are_required);
  RUN(dictionaries_hold_what_blocks_repeat);
  RUN(fuzz_seeds_are_current);
  RUN(cols_and_traces_equal_the_full_decode);
  RUN(real_files_through_the_fast_paths);
  RUN(fast_paths_refuse_bad_blocks);
  RUN(readers_without_a_batch_read_past_the_same_way);
  RUN(version2_blocks_decode_exactly);
  RUN(real_files_round_trip);
  RUN(generated_sizes_and_speeds);
  return UNIT_DONE();
}
