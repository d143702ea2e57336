/*
** fuzz_codec_cbor.c — libFuzzer target: arbitrary bytes as a cbor block
** (the hand-written CBOR decoder of ext/codec/cbor_spans.c), checked as
** fuzz_codec.h says.  Replayed by build/replay/fuzz_codec_cbor over
** testdata/fuzz/fuzz_codec_cbor/, whose seeds are small valid blocks
** written by the codec (every value type, string references, tables) in
** both payload versions: NAME in version 1 (one map per span), NAME_v2 in
** version 2 (hot and cold sections, which a hot-only decode of
** fuzz_partial stops between).  tests/unit/test_codec.c checks them.
*/
#include "fuzz_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return fuzz_codec(&tl_codec_cbor, NULL, 0, data, size);
}
