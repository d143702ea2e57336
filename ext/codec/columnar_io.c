/*
** columnar_io.c — the stream directory and integer columns of the columnar
** codec (columnar_internal.h): how a block's columns become one payload of
** separately compressed streams, and how a reader finds and inflates only
** the streams a query needs.
**
** Payload (docs/format.md, section "columnar"):
**   LEB128 dictionary id (0 = none)
**   LEB128 stream count k
**   k entries: LEB128 kind, LEB128 index, u8 coding (0 raw, 1 zstd,
**              2 zstd with the dictionary), LEB128 stored length,
**              LEB128 content length (codings 1 and 2 only)
**   the stored bytes of the k streams, back to back, to the end
** Entries are in strictly increasing (kind, index) order, so each stream is
** there at most once; an absent stream has no content.  Version 3 puts the
** durations (kind 0, index 0) first and the head check (0.1) after them:
** the CRC-32 of every payload byte before the check's own, so that a reader
** of the first few KB (colr_open_part) can trust them without the rest, and
** colr_open checks it too, so that every entry point refuses the same
** damaged payloads.
**
** Why measure instead of guessing: which form of an integer column is
** smaller (LEB128 or byte planes) depends on the data, and zstd decides the
** rest, so the writer compresses each candidate and keeps the smallest.
** Each candidate costs one zstd call over a few kilobytes, at the fast
** trial level of the state's tl_zs; the one kept is compressed again at the
** table's level when the writer's `final` is set.
*/
#include "columnar_internal.h"

#include <libdeflate.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Content that zstd is not tried on (a frame costs more than it saves). */
#define MIN_COMPRESS 24
/* No valid zstd frame holds more than this many bytes per stored byte
** (codec_cbor_zstd.c explains the bound). */
#define MAX_RATIO (128 * 1024 / 4)

int col_bad(tl_err *e, const char *name, const char *fmt, ...) {
  char why[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return tl_err_set(e, TL_EFORMAT, "columnar payload: stream %s: %s", name, why);
}

/* ---- writing ----------------------------------------------------------- */

static int put_entry(col_writer *w, unsigned kind, unsigned index, int coding, const void *p,
                     size_t stored, size_t raw) {
  if (w->count && (kind < w->last_kind || (kind == w->last_kind && index <= w->last_index)))
    return tl_err_set(w->e, TL_EMISUSE, "columnar: stream %u.%u written out of order", kind,
                      index);
  w->last_kind = kind;
  w->last_index = index;
  w->count++;
  tl_buf_varint(&w->dir, kind);
  tl_buf_varint(&w->dir, index);
  tl_buf_putc(&w->dir, (char)coding);
  tl_buf_varint(&w->dir, stored);
  if (coding) tl_buf_varint(&w->dir, raw);
  tl_buf_append(&w->data, p, stored);
  return TL_OK;
}

/* Whether a stream holds text and tables that blocks repeat, which is what
** a trained dictionary holds; numbers (ids, times, codes) are compressed
** without it: its entropy tables only get in their way. */
static int wants_dict(unsigned kind) {
  switch (kind) {
    case COL_OPS:
    case COL_NAMES:
    case COL_STATUS_MSGS:
    case COL_TRACE_STATES:
    case COL_RESOURCES:
    case COL_SCOPES:
    case COL_EVENT_NAMES:
    case COL_LINK_STATES: return 1;
    default: return kind >= COL_ATTRS && (kind - COL_ATTRS) % 8 != AP_REFS &&
                    (kind - COL_ATTRS) % 8 != AP_DROPPED;
  }
}

/* Compresses cand into packed; 1 when that is smaller than cand. */
static int pack(col_writer *w, const tl_buf *cand, tl_buf *packed, int *smaller) {
  tl_buf_reset(packed);
  *smaller = 0;
  if (cand->n < MIN_COMPRESS) return TL_OK;
  int rc = tl_zs_compress(w->zs, cand->p, cand->n, w->kind_dict, packed, w->e);
  if (!rc) *smaller = packed->n < cand->n;
  return rc;
}

int colw_put(col_writer *w, unsigned kind, unsigned index, const void *raw, size_t n) {
  if (!n) return TL_OK;
  tl_buf *c = colw_cand(w, 0);
  tl_buf_append(c, raw, n);
  return colw_put_best(w, kind, index, 1);
}

int colw_put_head_check(col_writer *w) {
  static const uint8_t zero[COL_CHECK_SIZE];
  int rc = put_entry(w, COL_DURATIONS, COL_CHECK_INDEX, 0, zero, sizeof zero, sizeof zero);
  if (!rc) w->check_at = w->data.n - sizeof zero;
  return rc;
}

void colw_finish(col_writer *w, tl_buf *out) {
  size_t start = out->n;
  tl_buf_varint(out, w->dict);
  tl_buf_varint(out, w->count);
  tl_buf_append(out, w->dir.p, w->dir.n);
  if (w->check_at == SIZE_MAX) {
    tl_buf_append(out, w->data.p, w->data.n);
    return;
  }
  /* The streams up to the check, the check of all before it, the rest. */
  size_t rest = w->check_at + COL_CHECK_SIZE;
  tl_buf_append(out, w->data.p, w->check_at);
  tl_buf_le32(out, out->oom ? 0 : libdeflate_crc32(0, out->p + start, out->n - start));
  tl_buf_append(out, w->data.p + rest, w->data.n - rest);
}

tl_buf *colw_cand(col_writer *w, int i) {
  tl_buf_reset(&w->cand[i]);
  return &w->cand[i];
}

static int add_sample(col_writer *w, unsigned kind, unsigned index, const tl_buf *c) {
  if (!c->n) return TL_OK;
  if (w->n_samples == w->cap_samples) {
    unsigned cap = w->cap_samples ? 2 * w->cap_samples : 256;
    struct col_sample *sample = realloc(w->sample, cap * sizeof *sample);
    if (!sample) return tl_err_set(w->e, TL_ENOMEM, "columnar: out of memory");
    w->sample = sample;
    w->cap_samples = cap;
  }
  int values = kind >= COL_ATTRS && (kind - COL_ATTRS) % 8 == AP_VALUES;
  uint64_t tag = values ? w->value_tag : (uint64_t)kind << 32 | index;
  w->sample[w->n_samples++] = (struct col_sample){w->samples->n, c->n, tag};
  tl_buf_append(w->samples, c->p, c->n);
  return TL_OK;
}

int colw_pick(col_writer *w, unsigned kind, int ncand, int *best) {
  size_t best_size = 0;
  w->kind_dict = wants_dict(kind) ? w->dict : 0;
  *best = 0;
  for (int i = 0; i < ncand && !w->samples; i++) {
    int smaller, rc = pack(w, &w->cand[i], &w->packed[i], &smaller);
    if (rc) return rc;
    size_t size = smaller ? w->packed[i].n : w->cand[i].n;
    if (i == 0 || size < best_size) *best = i, best_size = size;
  }
  return TL_OK;
}

int colw_put_best(col_writer *w, unsigned kind, unsigned index, int ncand) {
  return colw_put_best_text(w, kind, index, ncand, wants_dict(kind));
}

int colw_put_best_text(col_writer *w, unsigned kind, unsigned index, int ncand, int text) {
  if (w->samples) return text ? add_sample(w, kind, index, &w->cand[0]) : TL_OK;
  w->kind_dict = text ? w->dict : 0;
  int best = -1, best_packed = 0;
  size_t best_size = 0;
  for (int i = 0; i < ncand; i++) {
    const tl_buf *c = &w->cand[i];
    if (c->oom) return tl_err_set(w->e, TL_ENOMEM, "columnar: out of memory");
    int smaller, rc = pack(w, c, &w->packed[i], &smaller);
    if (rc) return rc;
    size_t size = smaller ? w->packed[i].n : c->n;
    if (best < 0 || size < best_size) best = i, best_size = size, best_packed = smaller;
  }
  const tl_buf *c = &w->cand[best];
  if (!c->n) return TL_OK;
  if (w->final && c->n >= MIN_COMPRESS) {
    /* The candidates were measured at the fast level; the one kept is
    ** compressed at the final one. */
    tl_buf *f = &w->packed[best];
    tl_buf_reset(f);
    int rc = tl_zs_compress_final(w->zs, c->p, c->n, w->kind_dict, f, w->e);
    if (rc) return rc;
    best_packed = f->n < c->n;
  }
  if (best_packed)
    return put_entry(w, kind, index, w->kind_dict ? 2 : 1, w->packed[best].p, w->packed[best].n,
                     c->n);
  return put_entry(w, kind, index, 0, c->p, c->n, c->n);
}

static uint64_t gcd64(uint64_t a, uint64_t b) {
  while (b) {
    uint64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

static uint64_t magnitude(uint64_t v, int is_signed) {
  return is_signed && (int64_t)v < 0 ? 0 - v : v;
}

/* The scale of a column: the gcd of its magnitudes (1 for all zeros). */
static uint64_t column_scale(const uint64_t *v, size_t n, int is_signed) {
  uint64_t g = 0;
  for (size_t i = 0; i < n && g != 1; i++) g = gcd64(magnitude(v[i], is_signed), g);
  return g ? g : 1;
}

/* What every form of a column writes for value i: its magnitude divided by
** g and, with exps, by 10^exps[i], the sign kept; signed values zigzagged.
** Into x[0..n); exps[i] (when exps is not NULL) the decimal exponents. */
static void prepare(const uint64_t *v, size_t n, int is_signed, uint64_t g, uint8_t *exps,
                    uint64_t *x) {
  for (size_t i = 0; i < n; i++) {
    uint64_t m = magnitude(v[i], is_signed);
    if (g != 1) m /= g;
    if (exps) {
      int e = tl_decimal_exp(m);
      exps[i] = (uint8_t)e;
      if (e) m /= tl_pow10[e];
    }
    x[i] = !is_signed ? m : tl_zigzag((int64_t)v[i] < 0 ? (int64_t)(0 - m) : (int64_t)m);
  }
}

/* The body of a column of prepared values x (see prepare) in form `form`. */
static void write_prepared(tl_buf *out, const uint64_t *x, const uint8_t *exps, size_t n,
                           int is_signed, int form, uint64_t g) {
  tl_buf_putc(out, (char)form);
  tl_buf_varint(out, g);
  /* Room for everything at once: exponents (n), planes (1 + 8n), bit
  ** lengths and bits (9n) or LEB128s (10n); out->p then stays where it
  ** is. */
  if (tl_buf_reserve(out, 11 * n + 16)) return;
  if (form & INT_DECIMAL) {
    memcpy(out->p + out->n, exps, n);
    out->n += n;
  }
  uint8_t *p = (uint8_t *)out->p + out->n;
  if (form & INT_BITS) {
    /* Bit lengths first, one byte each (for signed columns twice the length
    ** of the magnitude plus the sign: a sign that hardly changes then costs
    ** next to nothing), then the bits below each magnitude's top bit,
    ** packed least significant first. */
    for (size_t i = 0; i < n; i++) {
      uint64_t m = is_signed ? x[i] >> 1 : x[i];
      /* A zigzagged negative is the magnitude - 1, odd. */
      if (is_signed && (x[i] & 1)) m++;
      int len = m ? 64 - __builtin_clzll(m) : 0;
      p[i] = (uint8_t)(is_signed ? 2 * len + (int)(x[i] & 1) : len);
    }
    uint8_t *q = p + n;
    uint64_t acc = 0;
    int have = 0;
    for (size_t i = 0; i < n; i++) {
      int len = is_signed ? p[i] >> 1 : p[i];
      if (len <= 1) continue;
      uint64_t m = is_signed ? (x[i] >> 1) + (x[i] & 1) : x[i];
      int nb = len - 1;
      m &= (1ull << nb) - 1;
      acc |= m << have;
      if (have + nb >= 64) {
        for (int b = 0; b < 8; b++) *q++ = (uint8_t)(acc >> (8 * b));
        acc = have ? m >> (64 - have) : 0;
        have = have + nb - 64;
      } else {
        have += nb;
      }
    }
    for (; have > 0; have -= 8, acc >>= 8) *q++ = (uint8_t)acc;
    out->n = (size_t)(q - (uint8_t *)out->p);
    return;
  }
  if (!(form & INT_PLANES)) {
    for (size_t i = 0; i < n; i++) {
      uint64_t v = x[i];
      while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
      }
      *p++ = (uint8_t)v;
    }
    out->n = (size_t)(p - (uint8_t *)out->p);
    return;
  }
  uint64_t max = 0;
  for (size_t i = 0; i < n; i++) max |= x[i];
  int width = 0;
  while (width < 8 && (max >> (8 * width))) width++;
  *p++ = (uint8_t)width;
  for (int b = 0; b < width; b++, p += n)
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(x[i] >> (8 * b));
  out->n = (size_t)(p - (uint8_t *)out->p);
}

/* Scratch for prepared values: x, x with decimal exponents, exponents. */
static int scratch(col_writer *w, size_t n, uint64_t **x, uint64_t **xd, uint8_t **exps) {
  uint64_t *p = tl_vec_get(&w->prep, (n ? n : 1) * (2 * sizeof *p + 1));
  if (!p) return tl_err_set(w->e, TL_ENOMEM, "columnar: out of memory");
  *x = p;
  *xd = p + n;
  *exps = (uint8_t *)(p + 2 * n);
  return TL_OK;
}

void intcol_write(col_writer *w, tl_buf *out, const uint64_t *v, size_t n, int is_signed,
                  int form) {
  uint64_t *x, *xd, g = column_scale(v, n, is_signed);
  uint8_t *exps;
  if (scratch(w, n, &x, &xd, &exps)) {
    out->oom = 1;
    return;
  }
  prepare(v, n, is_signed, g, (form & INT_DECIMAL) ? exps : NULL, x);
  write_prepared(out, x, exps, n, is_signed, form, g);
}

int intcol_cands(col_writer *w, int first, const void *prefix, size_t np, const uint64_t *v,
                 size_t n, int is_signed, int forms) {
  uint64_t *x, *xd, g = column_scale(v, n, is_signed);
  uint8_t *exps;
  if (scratch(w, n, &x, &xd, &exps)) {
    colw_cand(w, first)->oom = 1; /* colw_put_best says so */
    return 1;
  }
  int plain = forms & 0x33, decimal = forms & 0xcc; /* forms without, with INT_DECIMAL */
  if (plain) prepare(v, n, is_signed, g, NULL, x);
  if (decimal) prepare(v, n, is_signed, g, exps, xd);
  int k = 0;
  for (int form = 0; form < 8; form++) {
    if (!(forms & (1 << form)) || ((form & INT_PLANES) && (form & INT_BITS))) continue;
    tl_buf *c = colw_cand(w, first + k++);
    tl_buf_append(c, prefix, np);
    write_prepared(c, (form & INT_DECIMAL) ? xd : x, exps, n, is_signed, form, g);
  }
  return k;
}

int colw_put_ints(col_writer *w, unsigned kind, unsigned index, const uint64_t *v, size_t n,
                  int is_signed) {
  if (!n) return TL_OK;
  return colw_put_best(w, kind, index, intcol_cands(w, 0, NULL, 0, v, n, is_signed, FORMS_PLAIN));
}

/* Little-endian 64-bit load of 8 bytes that are there. */
static inline uint64_t load_le64(const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  w = __builtin_bswap64(w);
#endif
  return w;
}

/* nb (< 64) bits of p[0..size) from bit `at` on, least significant first;
** the caller has checked that they are there. */
static inline uint64_t get_bits(const uint8_t *p, size_t size, uint64_t at, unsigned nb) {
  size_t byte = (size_t)(at >> 3);
  unsigned sh = (unsigned)(at & 7);
  uint64_t w = 0;
  if (byte + 8 <= size) {
    w = load_le64(p + byte) >> sh;
    if (sh + nb > 64) w |= (uint64_t)p[byte + 8] << (64 - sh);
  } else {
    for (size_t k = 0; byte + k < size; k++) w |= (uint64_t)p[byte + k] << (8 * k);
    w >>= sh;
  }
  return w & ((1ull << nb) - 1);
}

/* The bit-length form (INT_BITS): n length bytes, then the packed bits.
** Signed values come out as they are (two's complement), not zigzagged.
** Each value is scaled as it is read, by scale[exps[i]] (scale[0] without
** exps): one pass over the values instead of two. */
static int read_bits_form(tl_rd *r, uint64_t *v, size_t n, int is_signed, const uint8_t *exps,
                          const uint64_t *scale, const char *what, tl_err *e) {
  const uint8_t *lens = tl_rd_bytes(r, n);
  if (!lens) return col_bad(e, what, "integer column holds fewer than %zu values", n);
  uint64_t bits = 0;
  unsigned bad = 0, shift = is_signed ? 1 : 0;
  for (size_t i = 0; i < n; i++) {
    unsigned len = lens[i] >> shift;
    bad |= len > 64;
    bits += len ? len - 1u : 0;
  }
  if (bad) return col_bad(e, what, "bit length past 64");
  size_t size = (size_t)((bits + 7) / 8);
  const uint8_t *p = tl_rd_bytes(r, size);
  if (!p) return col_bad(e, what, "integer column holds fewer than %zu values", n);
  uint64_t at = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned len = lens[i] >> shift, nb = len ? len - 1 : 0;
    size_t byte = (size_t)(at >> 3);
    unsigned sh = (unsigned)(at & 7);
    uint64_t w;
    if (byte + 16 <= size) { /* 64 bits from `at`, without a bounds check */
      w = load_le64(p + byte) >> sh;
      if (nb > 56) w |= (load_le64(p + byte + 8) << 1) << (63 - sh);
    } else {
      w = nb ? get_bits(p, size, at, nb) : 0;
    }
    uint64_t x = (len ? 1ull << nb : 0) | (w & ((1ull << nb) - 1));
    at += nb;
    v[i] = (is_signed && (lens[i] & 1) ? 0 - x : x) * scale[exps ? exps[i] : 0];
  }
  return TL_OK;
}

/* The value of the bytes of a LEB128 value of at most eight bytes, the
** bytes past it zeroed (little-endian): the 7-bit groups packed in three
** steps (pairs, fours, eights) rather than one shift per byte. */
static inline uint64_t leb_pack(uint64_t x) {
  x &= 0x7f7f7f7f7f7f7f7full;
  x = (x & 0x007f007f007f007full) | (x >> 1 & 0x3f803f803f803f80ull);
  x = (x & 0x00003fff00003fffull) | (x >> 2 & 0x0fffc0000fffc000ull);
  return (x & 0x000000000fffffffull) | (x >> 4 & 0x00fffffff0000000ull);
}

/* Bit k set when byte k of w ends a LEB128 value (its top bit clear). */
static inline uint64_t leb_ends(uint64_t w) {
  return ((~w & 0x8080808080808080ull) >> 7) * 0x0102040810204080ull >> 56;
}

/* A value of nine or ten bytes at p (ten are there) into *x, its length
** into *len; 0 when it is past 2^64. */
static inline int leb_long(const uint8_t *p, uint64_t *x, unsigned *len) {
  *x = 0;
  for (int b = 0; b < 9; b++) *x |= (uint64_t)(p[b] & 0x7f) << (7 * b);
  if (p[8] < 0x80) {
    *len = 9;
    return 1;
  }
  *x |= (uint64_t)p[9] << 63;
  *len = 10;
  return p[9] <= 1;
}

/* One LEB128 per value (tl_rd_varint's rules: at most ten bytes, none past
** 2^64).  While 72 bytes are left, without a bounds check per byte: eight
** one-byte values at once (codes, counts, small deltas), else the values
** of a 64-byte window found from a mask of the bytes that end one, so that
** finding a value does not wait on the length of the one before it; then
** one at a time while ten are left, and the last ones with bounds checks. */
static int read_leb_form(tl_rd *r, uint64_t *v, size_t n, const char *what, tl_err *e) {
  const uint8_t *p = r->p, *end = r->end;
  size_t i = 0;
  unsigned len;
  while (i < n && end - p >= 72) {
    uint64_t w = load_le64(p);
    if (n - i >= 8 && !(w & 0x8080808080808080ull)) {
      for (int k = 0; k < 8; k++) v[i + k] = p[k];
      p += 8;
      i += 8;
      continue;
    }
    uint64_t ends = 0;
    for (int g = 0; g < 8; g++) ends |= leb_ends(load_le64(p + 8 * g)) << (8 * g);
    unsigned q = 0; /* where the next value starts */
    while (ends && i < n) {
      unsigned last = (unsigned)__builtin_ctzll(ends);
      len = last + 1 - q;
      if (len > 8) break;
      v[i++] = leb_pack(load_le64(p + q) & (~0ull >> (64 - 8 * len)));
      q = last + 1;
      ends &= ends - 1;
    }
    p += q;
    if (q) continue;
    /* Nine or ten bytes (a value of eight or fewer ended in the window). */
    if (!leb_long(p, &v[i], &len)) return col_bad(e, what, "value %zu past 64 bits", i);
    p += len;
    i++;
  }
  for (; i < n && end - p >= 10; i++) {
    uint64_t w = load_le64(p), stops = ~w & 0x8080808080808080ull;
    if (stops) {
      len = (unsigned)(__builtin_ctzll(stops) >> 3) + 1;
      v[i] = leb_pack(w & (stops ^ (stops - 1)));
    } else if (!leb_long(p, &v[i], &len)) {
      return col_bad(e, what, "value %zu past 64 bits", i);
    }
    p += len;
  }
  r->p = p;
  for (; i < n; i++) {
    v[i] = tl_rd_varint(r);
    if (r->err) return col_bad(e, what, "integer column holds fewer than %zu values", n);
  }
  return TL_OK;
}

int intcol_read(tl_rd *r, uint64_t *v, size_t n, int is_signed, const char *what, tl_err *e) {
  uint8_t form = tl_rd_u8(r);
  uint64_t g = tl_rd_varint(r);
  if (r->err) return col_bad(e, what, "truncated integer column");
  if (form > (INT_BITS | INT_DECIMAL | INT_PLANES) || ((form & INT_PLANES) && (form & INT_BITS)) ||
      g == 0)
    return col_bad(e, what, "bad integer column header");
  const uint8_t *exps = NULL;
  if ((form & INT_DECIMAL) && !(exps = tl_rd_bytes(r, n)))
    return col_bad(e, what, "integer column holds fewer than %zu values", n);
  /* Scaling back wraps modulo 2^64: only a crafted column overflows, and it
  ** then decodes to some value without undefined behaviour. */
  uint64_t scale[TL_MAX_EXP + 1] = {g};
  if (exps) {
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) bad |= exps[i] > TL_MAX_EXP;
    if (bad) return col_bad(e, what, "decimal exponent past %d", TL_MAX_EXP);
    for (int k = 0; k <= TL_MAX_EXP; k++) scale[k] = tl_pow10[k] * g;
  }
  if (form & INT_BITS) return read_bits_form(r, v, n, is_signed, exps, scale, what, e);
  int rc = TL_OK;
  if (!(form & INT_PLANES)) {
    rc = read_leb_form(r, v, n, what, e);
  } else {
    uint8_t width = tl_rd_u8(r);
    if (r->err || width > 8) return col_bad(e, what, "bad integer column width");
    if (width && tl_rd_left(r) / width < n)
      return col_bad(e, what, "integer column holds fewer than %zu values", n);
    const uint8_t *p = tl_rd_bytes(r, (size_t)width * n);
    /* Plane by plane: each pass a straight run over bytes and values. */
    if (!width) memset(v, 0, n * sizeof *v);
    else
      for (size_t i = 0; i < n; i++) v[i] = p[i];
    for (int b = 1; b < width; b++)
      for (size_t i = 0; i < n; i++) v[i] |= (uint64_t)p[(size_t)b * n + i] << (8 * b);
  }
  if (rc) return rc;
  if (exps && is_signed)
    for (size_t i = 0; i < n; i++) v[i] = (uint64_t)tl_unzigzag(v[i]) * scale[exps[i]];
  else if (exps)
    for (size_t i = 0; i < n; i++) v[i] *= scale[exps[i]];
  else if (is_signed || g != 1)
    for (size_t i = 0; i < n; i++) v[i] = (is_signed ? (uint64_t)tl_unzigzag(v[i]) : v[i]) * g;
  return TL_OK;
}

/* ---- reading ------------------------------------------------------------- */

static col_stream *find_stream(col_reader *r, unsigned kind, unsigned index) {
  size_t lo = 0, hi = r->ns;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    col_stream *s = &r->s[mid];
    if (s->kind == kind && s->index == index) return s;
    if (s->kind < kind || (s->kind == kind && s->index < index)) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

int colr_get(col_reader *r, unsigned kind, unsigned index, const char *name, tl_rd *out) {
  col_stream *s = find_stream(r, kind, index);
  tl_rd_init(out, "", 0); /* an absent stream: empty (not NULL: no offset on NULL) */
  if (!s) return TL_OK;
  if (!s->p) /* past what colr_open_part was given */
    return tl_err_set(r->e, TL_EMISUSE, "columnar: stream %s read from a part of its payload",
                      name);
  if (s->coding == 0) {
    tl_rd_init(out, s->p, s->stored);
    return TL_OK;
  }
  if (!s->ready) {
    tl_buf_reset(&s->content);
    if (tl_buf_reserve(&s->content, s->raw ? s->raw : 1))
      return tl_err_set(r->e, TL_ENOMEM, "columnar: out of memory");
    /* The prefix apart: formatting "columnar payload: stream <name>" for
    ** each of a block's hundred streams cost as much as decompressing the
    ** small ones. */
    int rc = tl_zs_decompress(r->zs, s->p, s->stored, s->coding == 2 ? r->dict : 0,
                              (uint8_t *)s->content.p, s->raw, "columnar payload: stream ", name,
                              r->e);
    if (rc) return rc;
    s->content.n = s->raw;
    s->ready = 1;
  }
  tl_rd_init(out, s->content.p, s->content.n);
  return TL_OK;
}

int colr_done(col_reader *r, const tl_rd *rd, const char *name) {
  if (rd->err) return col_bad(r->e, name, "truncated");
  if (tl_rd_left(rd)) return col_bad(r->e, name, "%zu bytes after its content", tl_rd_left(rd));
  return TL_OK;
}

/* Whether a directory entry names a stream this version writes. */
static int known_stream(uint64_t kind, uint64_t index) {
  if (kind >= COL_ATTRS && kind < COL_KIND_MAX) {
    uint64_t part = (kind - COL_ATTRS) % 8;
    return part == AP_VALUES ? index < COL_MAX_ITEMS : part < AP_VALUES && index == 0;
  }
  if (kind == COL_DURATIONS) return index <= COL_CHECK_INDEX;
  return index == 0 && ((kind >= COL_TRACE_IDS && kind <= COL_DROPPED) ||
                        (kind >= COL_EVENT_COUNTS && kind <= COL_EVENT_NAMES) ||
                        (kind >= COL_LINK_COUNTS && kind <= COL_LINK_FLAGS));
}

/* Version 3 rules, once the directory is read: durations come with the
** head check right after them and without the end_ns stream; the check
** holds the CRC-32 of every payload byte before it.  *need: the bytes up
** to the check's end when they are not all in p[0..avail) yet. */
static int check_head(col_reader *r, const uint8_t *p, size_t avail, size_t dir_end,
                      size_t *need) {
  const col_stream *s = r->s;
  size_t ns = r->ns;
  int has_check = (ns > 0 && s[0].kind == COL_DURATIONS && s[0].index == COL_CHECK_INDEX) ||
                  (ns > 1 && s[1].kind == COL_DURATIONS && s[1].index == COL_CHECK_INDEX);
  r->durations = ns > 0 && s[0].kind == COL_DURATIONS && s[0].index == 0;
  if (!r->durations)
    return has_check ? tl_err_set(r->e, TL_EFORMAT,
                                  "columnar payload: a head check without durations")
                     : TL_OK;
  if (!has_check || s[1].coding != 0 || s[1].stored != COL_CHECK_SIZE)
    return tl_err_set(r->e, TL_EFORMAT,
                      "columnar payload: durations without a head check of %d raw bytes after "
                      "them", COL_CHECK_SIZE);
  if (find_stream(r, COL_ENDS, 0))
    return tl_err_set(r->e, TL_EFORMAT, "columnar payload: stream end_ns beside durations");
  size_t at = dir_end + s[0].stored;
  if (at + COL_CHECK_SIZE > avail) {
    *need = at + COL_CHECK_SIZE;
    return TL_OK;
  }
  tl_rd check;
  tl_rd_init(&check, p + at, COL_CHECK_SIZE);
  uint32_t want = tl_rd_le32(&check), got = libdeflate_crc32(0, p, at);
  if (want != got)
    return tl_err_set(r->e, TL_EFORMAT,
                      "columnar payload: head check %08x, the directory and durations give "
                      "%08x", want, got);
  return TL_OK;
}

/* The directory of p[0..len), read from p[0..avail): a truncation before
** avail == len asks for more (*need) instead of failing. */
int colr_open_part(col_reader *r, const uint8_t *p, size_t avail, size_t len, size_t *need) {
  tl_rd rd;
  tl_rd_init(&rd, p, avail);
  r->ns = 0;
  r->durations = 0;
  *need = 0;
  /* More bytes for a directory cut short by avail: twice as many, which
  ** reads a directory of any size in a few steps. */
  size_t more = avail < len ? (len - avail > avail + 64 ? 2 * avail + 64 : len) : 0;
  uint64_t dict = tl_rd_varint(&rd), k = tl_rd_varint(&rd);
  if (rd.err) {
    if (more) *need = more;
    return more ? TL_OK : tl_err_set(r->e, TL_EFORMAT, "columnar payload: truncated directory");
  }
  if (dict > UINT32_MAX || !tl_zs_has_dict(r->zs, (uint32_t)dict))
    return tl_err_set(r->e, TL_EFORMAT, "columnar payload: dictionary %llu is not known",
                      (unsigned long long)dict);
  r->dict = (uint32_t)dict;
  /* An entry takes at least four bytes. */
  size_t left = len - (avail - tl_rd_left(&rd));
  if (k > left / 4)
    return tl_err_set(r->e, TL_EFORMAT,
                      "columnar payload: directory claims %llu streams, more than fit",
                      (unsigned long long)k);
  if (k > r->cap) {
    col_stream *s = realloc(r->s, (size_t)k * sizeof *s);
    if (!s) return tl_err_set(r->e, TL_ENOMEM, "columnar: out of memory");
    memset(s + r->cap, 0, ((size_t)k - r->cap) * sizeof *s);
    r->s = s;
    r->cap = (size_t)k;
  }
  uint64_t total_raw = 0, total_stored = 0;
  for (uint64_t i = 0; i < k; i++) {
    col_stream *s = &r->s[i];
    uint64_t kind = tl_rd_varint(&rd), index = tl_rd_varint(&rd);
    uint8_t coding = tl_rd_u8(&rd);
    uint64_t stored = tl_rd_varint(&rd), raw = coding ? tl_rd_varint(&rd) : stored;
    if (rd.err) {
      if (more) *need = more;
      return more ? TL_OK : tl_err_set(r->e, TL_EFORMAT, "columnar payload: truncated directory");
    }
    if (!known_stream(kind, index))
      return tl_err_set(r->e, TL_EFORMAT, "columnar payload: unknown stream %llu.%llu",
                        (unsigned long long)kind, (unsigned long long)index);
    if (i && (kind < s[-1].kind || (kind == s[-1].kind && index <= s[-1].index)))
      return tl_err_set(r->e, TL_EFORMAT,
                        "columnar payload: stream %llu.%llu out of order in the directory",
                        (unsigned long long)kind, (unsigned long long)index);
    if (coding > 2 || (coding == 2 && !dict))
      return tl_err_set(r->e, TL_EFORMAT, "columnar payload: stream %llu.%llu: bad coding %u",
                        (unsigned long long)kind, (unsigned long long)index, coding);
    total_stored += stored;
    total_raw += raw;
    if (stored == 0 || stored > len || total_stored > len ||
        (coding && raw > stored * MAX_RATIO) || total_raw > TL_BLOCK_MAX_DECODED)
      return tl_err_set(r->e, TL_EFORMAT,
                        "columnar payload: stream %llu.%llu: bad size (%llu bytes stored, "
                        "%llu of content)",
                        (unsigned long long)kind, (unsigned long long)index,
                        (unsigned long long)stored, (unsigned long long)raw);
    s->kind = (unsigned)kind;
    s->index = (unsigned)index;
    s->coding = coding;
    s->stored = (size_t)stored;
    s->raw = (size_t)raw;
    s->ready = 0;
  }
  size_t dir_end = avail - tl_rd_left(&rd);
  if (total_stored != len - dir_end)
    return tl_err_set(r->e, TL_EFORMAT,
                      "columnar payload: the directory accounts for %llu bytes of streams, "
                      "%zu follow",
                      (unsigned long long)total_stored, len - dir_end);
  /* Streams past avail have no bytes yet (and no pointer past them). */
  size_t at = dir_end;
  for (uint64_t i = 0; i < k; i++) {
    r->s[i].p = at + r->s[i].stored <= avail ? p + at : NULL;
    at += r->s[i].stored;
  }
  r->ns = (size_t)k;
  int rc = check_head(r, p, avail, dir_end, need);
  if (rc || *need) r->ns = 0;
  return rc;
}

int colr_open(col_reader *r, const uint8_t *p, size_t len) {
  size_t need;
  return colr_open_part(r, p, len, len, &need);
}

void colr_free(col_reader *r) {
  for (size_t i = 0; i < r->cap; i++) tl_buf_free(&r->s[i].content);
  free(r->s);
  r->s = NULL;
  r->ns = r->cap = 0;
}
