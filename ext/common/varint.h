/*
** varint.h — LEB128 varints and zigzag, with a bounds-checked reader: the
** byte-level primitives every binary codec and the block envelope share.
** All multi-byte integers in tracelite's formats are little-endian or
** LEB128; nothing is copied to or from bytes as a struct.
*/
#ifndef TL_VARINT_H
#define TL_VARINT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

static inline uint64_t tl_zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t tl_unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

void tl_buf_varint(tl_buf *b, uint64_t v);
void tl_buf_le32(tl_buf *b, uint32_t v);
void tl_buf_le64(tl_buf *b, uint64_t v);

/* A cursor over untrusted bytes: every read checks the end and sets err
** instead of reading past it; after an error all reads return 0. */
typedef struct tl_rd {
  const uint8_t *p, *end;
  int err;
} tl_rd;

static inline void tl_rd_init(tl_rd *r, const void *p, size_t n) {
  r->p = p;
  r->end = r->p + n;
  r->err = 0;
}
static inline size_t tl_rd_left(const tl_rd *r) { return (size_t)(r->end - r->p); }

/* A LEB128 varint of at most 10 bytes, no overflow.  Inline for the
** one-byte values that most codes and counts are: every decoder reads
** several per span. */
uint64_t tl_rd_varint_long(tl_rd *r);
static inline uint64_t tl_rd_varint(tl_rd *r) {
  if (!r->err && r->p < r->end && *r->p < 0x80) return *r->p++;
  return tl_rd_varint_long(r);
}
static inline uint8_t tl_rd_u8(tl_rd *r) {
  if (r->err || r->p >= r->end) {
    r->err = 1;
    return 0;
  }
  return *r->p++;
}
uint32_t tl_rd_le32(tl_rd *r);
uint64_t tl_rd_le64(tl_rd *r);
/* n bytes in place (no copy); NULL and err when fewer remain. */
const uint8_t *tl_rd_bytes(tl_rd *r, size_t n);

#endif
