/*
** fuzz_codec_ndjson.c — libFuzzer target: arbitrary bytes as an ndjson
** block (tl_codec_ndjson, so the OTLP importer reads the payload from
** memory), checked as fuzz_codec.h says.  Replayed by
** build/replay/fuzz_codec_ndjson over testdata/fuzz/fuzz_codec_ndjson/,
** whose seeds are small valid blocks written by the codec.
*/
#include "fuzz_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return fuzz_codec(&tl_codec_ndjson, NULL, 0, data, size);
}
