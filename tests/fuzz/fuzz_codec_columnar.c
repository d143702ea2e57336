/*
** fuzz_codec_columnar.c — libFuzzer target: arbitrary bytes as a columnar
** block (the stream directory, integer columns, operations, attribute
** columns of ext/codec/codec_columnar.c and its columnar_*.c files), with
** FUZZ_DICT known as dictionary 1 so that blocks naming it reach zstd's
** dictionary code; checked as fuzz_codec.h says.  Replayed by
** build/replay/fuzz_codec_columnar over testdata/fuzz/fuzz_codec_columnar/,
** whose seeds are small valid blocks written by the codec (every value
** type, typical and generated spans, times in their own units, with and
** without the dictionary): `TL_WRITE_SEEDS=1 build/tests/test_codec_columnar`
** writes them again after a format change.  The v2_* seeds are blocks of
** payload version 2 (no durations, end_ns coded in the time order), kept
** so that the fuzzer also mutates what that version's rules read.
**
** fuzz_codec.h also drives the codec's cheaper entry points, decode_cols,
** decode_traces and decode_durations, on the same bytes.
**
** A version 3 payload's head check (a CRC-32 of its directory and
** durations) refuses nearly every mutation of them, so that the fuzzer
** would seldom get past it: each input whose directory starts with the
** durations and the check is also decoded with the check made right.
*/
#include "../../ext/common/varint.h"
#include "fuzz_codec.h"
#include "fuzz_codec_columnar_dict.h"

#include <libdeflate.h>

/* Where the head check of block data[0..size) sits and what it covers
** (from `from` to `at`); 0 when the block has none in its place. */
static int head_check(const uint8_t *data, size_t size, size_t *from, size_t *at) {
  tl_rd r;
  tl_rd_init(&r, data, size);
  if (!tl_rd_bytes(&r, 6)) return 0;
  tl_rd_varint(&r); /* span count */
  *from = size - tl_rd_left(&r);
  tl_rd_varint(&r); /* dictionary */
  uint64_t k = tl_rd_varint(&r), dur = 0;
  int found = 0;
  for (uint64_t i = 0; i < k && !r.err && i < 4096; i++) {
    uint64_t kind = tl_rd_varint(&r), index = tl_rd_varint(&r);
    uint8_t coding = tl_rd_u8(&r);
    uint64_t stored = tl_rd_varint(&r);
    if (coding) tl_rd_varint(&r);
    if (i == 0 && kind == 0 && index == 0) dur = stored;
    if (i == 1 && kind == 0 && index == 1 && coding == 0 && stored == 4 && dur) found = 1;
  }
  if (r.err || !found || dur > tl_rd_left(&r) || tl_rd_left(&r) - dur < 4) return 0;
  *at = size - tl_rd_left(&r) + (size_t)dur;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_codec(&tl_codec_columnar, (const uint8_t *)FUZZ_DICT, sizeof FUZZ_DICT - 1, data, size);
  size_t from, at;
  if (!head_check(data, size, &from, &at)) return 0;
  uint8_t *fixed = malloc(size);
  if (!fixed) abort();
  memcpy(fixed, data, size);
  uint32_t crc = libdeflate_crc32(0, fixed + from, at - from);
  for (int b = 0; b < 4; b++) fixed[at + b] = (uint8_t)(crc >> (8 * b));
  if (memcmp(fixed, data, size) != 0)
    fuzz_codec(&tl_codec_columnar, (const uint8_t *)FUZZ_DICT, sizeof FUZZ_DICT - 1, fixed, size);
  free(fixed);
  return 0;
}
