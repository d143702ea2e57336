/*
** fuzz_codec_columnar_dict.h — the dictionary fuzz_codec_columnar.c knows as
** dictionary 1, shared with the unit test that writes its seed corpus
** (tests/unit/test_codec_columnar.c, test fuzz_seeds_are_current): a
** raw-content zstd dictionary of strings small blocks are likely to repeat
** (it need not be a trained one to exercise the dictionary path).
*/
#ifndef TL_FUZZ_CODEC_COLUMNAR_DICT_H
#define TL_FUZZ_CODEC_COLUMNAR_DICT_H

#define FUZZ_DICT                                                              \
  "service.name" "frontend" "host.name" "host-1" "telemetry.sdk.language"     \
  "go" "http.method" "GET" "http.url" "http.status_code" "db.statement"       \
  "net.peer.name" "io.opentelemetry.http" "GET /api/cart" "SELECT products"

#endif
