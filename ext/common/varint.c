/*
** varint.c — LEB128 writer and bounds-checked reader (see varint.h).
*/
#include "varint.h"

void tl_buf_varint(tl_buf *b, uint64_t v) {
  uint8_t tmp[10];
  size_t n = 0;
  while (v >= 0x80) {
    tmp[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  tmp[n++] = (uint8_t)v;
  tl_buf_append(b, tmp, n);
}

void tl_buf_le32(tl_buf *b, uint32_t v) {
  uint8_t tmp[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  tl_buf_append(b, tmp, 4);
}

void tl_buf_le64(tl_buf *b, uint64_t v) {
  tl_buf_le32(b, (uint32_t)v);
  tl_buf_le32(b, (uint32_t)(v >> 32));
}

uint64_t tl_rd_varint_long(tl_rd *r) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (r->err || r->p >= r->end) {
      r->err = 1;
      return 0;
    }
    uint8_t byte = *r->p++;
    /* The tenth byte may only carry the top bit of a 64-bit value. */
    if (shift == 63 && byte > 1) {
      r->err = 1;
      return 0;
    }
    v |= (uint64_t)(byte & 0x7F) << shift;
    if (!(byte & 0x80)) return v;
  }
  r->err = 1;
  return 0;
}

uint32_t tl_rd_le32(tl_rd *r) {
  const uint8_t *p = tl_rd_bytes(r, 4);
  return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
           : 0;
}

uint64_t tl_rd_le64(tl_rd *r) {
  uint64_t lo = tl_rd_le32(r);
  return lo | (uint64_t)tl_rd_le32(r) << 32;
}

const uint8_t *tl_rd_bytes(tl_rd *r, size_t n) {
  if (r->err || tl_rd_left(r) < n) {
    r->err = 1;
    return NULL;
  }
  const uint8_t *p = r->p;
  r->p += n;
  return p;
}
