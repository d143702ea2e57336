/*
** fuzz_codec_columnar.c — libFuzzer target: arbitrary bytes as a columnar
** block (the stream directory, integer columns, operations, attribute
** columns of ext/codec/codec_columnar.c and its columnar_*.c files), with
** FUZZ_DICT known as dictionary 1 so that blocks naming it reach zstd's
** dictionary code; checked as fuzz_codec.h says.  Replayed by
** build/replay/fuzz_codec_columnar over testdata/fuzz/fuzz_codec_columnar/,
** whose seeds are small valid blocks written by the codec (every value
** type, typical and generated spans, with and without the dictionary).
*/
#include "fuzz_codec.h"

/* A raw-content zstd dictionary: strings small blocks are likely to
** repeat (it need not be a trained one to exercise the dictionary path). */
#define FUZZ_DICT                                                              \
  "service.name" "frontend" "host.name" "host-1" "telemetry.sdk.language"     \
  "go" "http.method" "GET" "http.url" "http.status_code" "db.statement"       \
  "net.peer.name" "io.opentelemetry.http" "GET /api/cart" "SELECT products"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return fuzz_codec(&tl_codec_columnar, (const uint8_t *)FUZZ_DICT, sizeof FUZZ_DICT - 1, data,
                    size);
}
