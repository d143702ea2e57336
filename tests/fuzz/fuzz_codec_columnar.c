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
** writes them again after a format change.
**
** fuzz_codec.h also drives the codec's cheaper entry points, decode_cols
** and decode_traces, on the same bytes.
*/
#include "fuzz_codec.h"
#include "fuzz_codec_columnar_dict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return fuzz_codec(&tl_codec_columnar, (const uint8_t *)FUZZ_DICT, sizeof FUZZ_DICT - 1, data,
                    size);
}
