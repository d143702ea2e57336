/*
** fuzz_codec_cbor_zstd.c — libFuzzer target: arbitrary bytes as a
** cbor_zstd block, with FUZZ_DICT known as dictionary 1 so that blocks
** naming it reach zstd's dictionary code; checked as fuzz_codec.h says.
** Replayed by build/replay/fuzz_codec_cbor_zstd over
** testdata/fuzz/fuzz_codec_cbor_zstd/, whose seeds are small valid blocks
** written by the codec with and without that dictionary (_dict), in both
** payload versions: NAME in version 1 (one frame), NAME_v2 in version 2
** (a hot and a cold frame; a hot-only decode of fuzz_partial reads only
** the first).  tests/unit/test_codec.c checks them.
*/
#include "fuzz_codec.h"

/* A raw-content zstd dictionary: bytes that small blocks are likely to
** repeat (it need not be a trained one to exercise the dictionary path). */
#define FUZZ_DICT                                                              \
  "\xd9\x01\x00\x83\x81\xa1\x01\xa3\x6cservice.name\x68" "frontend"           \
  "\x69host.name\x66host-1\x76telemetry.sdk.language\x62go"                  \
  "\x6bhttp.method\x63GET\x68http.url\x70http.status_code\x18\xc8"            \
  "\x6c" "db.statement\x6dnet.peer.name\x65io.opentelemetry.http"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return fuzz_codec(&tl_codec_cbor_zstd, (const uint8_t *)FUZZ_DICT, sizeof FUZZ_DICT - 1, data,
                    size);
}
