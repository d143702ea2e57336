/*
** codec_internal.h — building blocks shared by the relational and columnar
** codecs (codec_relational.c, codec_columnar.c): one implementation each,
** so both formats write the same bytes for the same thing.
**
**   strdict.c      string dictionaries: an encoder-side map from string to
**                  code in order of first use, and the decoder-side table
**                  that reads them back and interns each string once
**   zstd_stream.c  zstd frames for one stream: a compressor with the
**                  table's dictionaries, a bounded decompressor, training
**   valenc.c       a compact self-describing encoding of typed values and
**                  attribute lists (resources, scopes, nested values)
**   span_order.c   the order in which times are coded: parents first
**   objtab.c       resources and scopes, each distinct one once by content
**
** docs/format.md, sections "relational" and "columnar", has the bytes.
*/
#ifndef TL_CODEC_INTERNAL_H
#define TL_CODEC_INTERNAL_H

#include "../common/buf.h"
#include "../common/varint.h"
#include "../span/span.h"

#include <stdlib.h>

/* Scratch memory of a codec state, kept from block to block and grown as
** needed: get returns at least `bytes` bytes (contents kept), NULL when out
** of memory. */
typedef struct tl_vec {
  void *p;
  size_t cap; /* bytes */
} tl_vec;

static inline void *tl_vec_get(tl_vec *v, size_t bytes) {
  if (bytes > v->cap || !v->p) {
    size_t cap = v->cap ? v->cap : 4096;
    while (cap < bytes) cap *= 2;
    void *p = realloc(v->p, cap);
    if (!p) return NULL;
    v->p = p;
    v->cap = cap;
  }
  return v->p;
}

static inline void tl_vec_free(tl_vec *v) {
  free(v->p);
  v->p = NULL;
  v->cap = 0;
}

/* Decimal scaling of times: v = m * 10^e with e as large as it goes (0 for
** 0), at most TL_MAX_EXP (10^19 is the last power of ten in 64 bits).
** Exporters write microseconds (or milliseconds) as nanoseconds: e takes
** four bits where the zeros took ten. */
#define TL_MAX_EXP 19
static const uint64_t tl_pow10[TL_MAX_EXP + 1] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
    10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull};

static inline int tl_decimal_exp(uint64_t v) {
  int e = 0;
  while (v && e < TL_MAX_EXP && v % 10 == 0) v /= 10, e++;
  return e;
}

/* ---- strdict.c ------------------------------------------------------------ */

/* Encoder side: distinct byte strings in order of first use, by content
** (two equal strings from different batches get one code). */
typedef struct tl_strdict {
  tl_str *items;   /* code -> string (not copied: valid while the spans are) */
  uint32_t n, cap;
  uint32_t *slots; /* open addressing: code + 1, 0 = free */
  uint64_t *hashes;
  uint32_t *uses;  /* code -> times tl_strdict_code returned it */
  uint32_t mask;
} tl_strdict;

void tl_strdict_init(tl_strdict *d);
void tl_strdict_free(tl_strdict *d);
void tl_strdict_reset(tl_strdict *d);
/* The code of s, adding it when new; -1 when out of memory.  s.ptr must
** stay valid as long as the dictionary is used. */
int64_t tl_strdict_code(tl_strdict *d, tl_str s);
/* The code of s, or -1 when it is not in the dictionary. */
int64_t tl_strdict_find(const tl_strdict *d, tl_str s);
/* Renumbers the strings by falling use (ties in code order), codes below
** `keep` staying where they are, and clears the use counts: a second pass
** over the same strings then gets the shortest codes for the most used. */
int tl_strdict_sort_by_use(tl_strdict *d, uint32_t keep);
/* Appends the table: LEB128 count, count LEB128 lengths, then the bytes of
** every string one after the other. */
void tl_strdict_write(const tl_strdict *d, tl_buf *out);

/* Decoder side: a table read from untrusted bytes.  Strings point into the
** bytes read (which must outlive the table's use) and are interned in the
** batch on first use. */
typedef struct tl_strtab {
  tl_str *raw, *interned;
  uint32_t n, cap;
} tl_strtab;

void tl_strtab_free(tl_strtab *t);
/* Reads a table written by tl_strdict_write; at most max_n strings.
** TL_EFORMAT (message naming `what`) when it does not fit the bytes. */
int tl_strtab_read(tl_strtab *t, tl_rd *r, uint32_t max_n, const char *what, tl_err *e);
/* String i interned in b; {NULL,0} when out of memory (callers check
** with i already bounded by t->n).  Inline: a block's decode asks for a
** string per value, and all but the first ask of each find it interned. */
tl_str tl_strtab_intern(tl_strtab *t, tl_batch *b, uint32_t i);
static inline tl_str tl_strtab_get(tl_strtab *t, tl_batch *b, uint32_t i) {
  return t->interned[i].ptr ? t->interned[i] : tl_strtab_intern(t, b, i);
}

/* ---- zstd_stream.c -------------------------------------------------------- */

/* One compressor and decompressor with the table's dictionaries.  Frames
** are written without checksum, content size or dictionary id: the caller
** records the content size and the dictionary beside them. */
typedef struct tl_zs tl_zs;

/* who names the codec in messages ("columnar"). */
int tl_zs_new(int level, const char *who, tl_zs **out, tl_err *e);
void tl_zs_free(tl_zs *z);
/* The codec's add_dict(): id > 0, the same bytes again are harmless. */
int tl_zs_add_dict(tl_zs *z, uint32_t id, const uint8_t *p, size_t n, tl_err *e);
/* The highest dictionary id known (what encode uses), 0 when none. */
uint32_t tl_zs_top_dict(const tl_zs *z);
/* Whether dictionary id is known (0 always is: no dictionary). */
int tl_zs_has_dict(const tl_zs *z, uint32_t id);
/* Appends one frame of src[0..n) to out, with dictionary dict (0 = none;
** must be known). */
int tl_zs_compress(tl_zs *z, const void *src, size_t n, uint32_t dict, tl_buf *out, tl_err *e);
/* A codec that compresses several candidate encodings of a stream to keep
** the smallest can try them at the level of tl_zs_new and compress the one
** it keeps again at a higher final level (by default the same level). */
int tl_zs_set_final_level(tl_zs *z, int level, tl_err *e);
int tl_zs_compress_final(tl_zs *z, const void *src, size_t n, uint32_t dict, tl_buf *out,
                         tl_err *e);
/* Decompresses the frame src[0..n) that must hold exactly size bytes into
** dst (size bytes).  TL_EFORMAT naming prefix and `what` (one after the
** other: a caller with many streams names each without formatting a name
** it would only need for an error) otherwise. */
int tl_zs_decompress(tl_zs *z, const uint8_t *src, size_t n, uint32_t dict, uint8_t *dst,
                     size_t size, const char *prefix, const char *what, tl_err *e);
/* The first bytes of a formatted zstd dictionary: raw content that starts
** with them would be read as one. */
#define TL_ZS_DICT_MAGIC "\x37\xA4\x30\xEC"
/* The compressed size of src[0..n) with raw content dict[0..dn) as the
** dictionary (none when dn is 0), at the level of tl_zs_new: how a codec
** measures what content would be worth in a dictionary. */
int tl_zs_size_with(tl_zs *z, const void *src, size_t n, const void *dict, size_t dn,
                    size_t *size, tl_err *e);
/* Dictionary training, shared by the codecs that use tl_zs: samples are
** gathered up to TL_ZS_SAMPLE_RATIO times the dictionary size; a dictionary
** is trained only from at least TL_ZS_MIN_SAMPLES samples, is at most
** 1/TL_ZS_MIN_SAMPLE_RATIO of their bytes, and at least TL_ZS_MIN_DICT. */
#define TL_ZS_SAMPLE_RATIO 100
#define TL_ZS_MIN_SAMPLE_RATIO 4
#define TL_ZS_MIN_DICT 1024
#define TL_ZS_MIN_SAMPLES 16
/* Trains a dictionary of at most dict_size bytes (and the limits above)
** from count samples laid end to end in samples (sizes[i] bytes each) and
** appends it to dict; nothing when there is too little data or zstd finds
** nothing worth keeping. */
int tl_zs_train(const tl_buf *samples, const size_t *sizes, unsigned count, size_t dict_size,
                tl_buf *dict, tl_err *e);

/* ---- valenc.c --------------------------------------------------------------- */

/* Value encoding (docs/format.md, "Typed values"):
**   value = type byte (tl_vtype, bool as 8 + b), then
**           string: text;  bytes: LEB128 length, bytes;  int: zigzag LEB128;
**           double: 8 bytes little-endian;  array: LEB128 n, n values;
**           kvlist: LEB128 n, n (key, value);  empty, bool: nothing
**   key   = text
**   text  = LEB128 length, bytes; or, with a string dictionary, the LEB128
**           code of the string in it
**   attrs = LEB128 n, n (key, value), LEB128 dropped
** strs NULL writes (reads) text inline.  TL_ERANGE when values nest deeper
** than TL_MAX_DEPTH. */
int tl_val_write(tl_buf *out, tl_strdict *strs, const tl_value *v, const char *who, tl_err *e);
int tl_attrs_write(tl_buf *out, tl_strdict *strs, const tl_attrs *a, const char *who, tl_err *e);
/* A text alone (inline, or a code of strs). */
int tl_text_write(tl_buf *out, tl_strdict *strs, tl_str s, const char *who, tl_err *e);
int tl_text_read(tl_rd *r, tl_batch *b, tl_strtab *strs, tl_str *out, const char *what,
                 tl_err *e);
/* A string alone, always inline: LEB128 length, bytes; read back interned
** ({NULL, 0} when empty). */
void tl_str_write(tl_buf *out, tl_str s);
int tl_str_read(tl_rd *r, tl_batch *b, tl_str *out, const char *what, tl_err *e);
/* The same left in place: out points into the stream. */
int tl_str_peek(tl_rd *r, tl_str *out, const char *what, tl_err *e);
/* Readers: strings are interned in b, bytes copied; kb is scratch.  what
** names the stream in messages.  b NULL: read past and checked the same
** way, nothing built (out gets empty strings and values). */
int tl_val_read(tl_rd *r, tl_batch *b, tl_kvbuf *kb, tl_strtab *strs, tl_value *v,
                const char *what, tl_err *e);
int tl_attrs_read(tl_rd *r, tl_batch *b, tl_kvbuf *kb, tl_strtab *strs, tl_attrs *out,
                  const char *what, tl_err *e);

/* ---- objtab.c --------------------------------------------------------------- */

enum { TL_OBJ_RESOURCE, TL_OBJ_SCOPE };

/* Object table layout: LEB128 count, then each object:
**   resource = attrs, schema_url text
**   scope    = name text, version text, attrs, schema_url text */
typedef struct tl_objtab {
  tl_strdict ptrs, contents;
  tl_buf ser;
  size_t *offs;
  uint64_t *map;
  size_t cap;
} tl_objtab;

void tl_objtab_free(tl_objtab *t);
/* objs[0..n) are resources (tl_resource *) or scopes: codes[i] gets the
** code of objs[i] in the table appended to table, each distinct object
** (by content, texts through strs when not NULL) once.  When every object
** is empty nothing is appended and every code is 0. */
int tl_objtab_build(tl_objtab *t, int kind, const void *const *objs, size_t n, tl_strdict *strs,
                    uint64_t *codes, tl_buf *table, const char *who, tl_err *e);
/* Reads one object; an empty one is the batch's shared empty object.  b
** NULL: reads past it (checked the same way), *out NULL. */
int tl_obj_read(int kind, tl_rd *rd, tl_batch *b, tl_kvbuf *kb, tl_strtab *strs,
                const void **out, const char *what, tl_err *e);

/* ---- span_order.c ---------------------------------------------------------- */

typedef struct tl_span_order {
  size_t n, cap;
  uint32_t *order; /* the spans, parents before children */
  int64_t *pref;   /* by span: its parent, -1 for a span that starts a tree */
  int64_t *same;   /* by span: the previous span of its trace in the order, else -1 */
  int64_t *sib;    /* by span: the previous child of its parent in the order, else -1 */
  uint32_t *first, *kids, *last; /* scratch */
} tl_span_order;

void tl_span_order_free(tl_span_order *o);
/* par[i]: the block index of span i's parent, -1 when none is in the
** block; tix[i]: its trace, below n.  TL_OK or TL_ENOMEM. */
int tl_span_order_plan(tl_span_order *o, const int64_t *par, const uint32_t *tix, size_t n);

/* Trace codes: which trace each span of a block is in, traces numbered in
** order of first use.  A span of trace t that follows a span of trace prev
** (-1 for the first span), when `seen` traces came before: 0 for the same
** trace as the previous span, 1 for a new trace (t == seen), 2 + k for the
** trace k places before the newest.  Mostly 0 and 1 when spans are grouped
** by trace, small numbers when traces interleave. */
static inline uint64_t tl_trace_code(uint32_t t, int64_t prev, uint32_t seen) {
  if ((int64_t)t == prev) return 0;
  return t == seen ? 1 : 2 + (uint64_t)(seen - 1 - t);
}
/* The trace of a code (seen counts new traces, at most traces); TL_EFORMAT
** for a code that names none. */
static inline int tl_trace_decode(uint64_t code, int64_t prev, uint32_t *seen, uint32_t traces,
                                  uint32_t *t) {
  if (code == 0 && prev >= 0) *t = (uint32_t)prev;
  else if (code == 1 && *seen < traces) *t = (*seen)++;
  else if (code >= 2 && code - 2 < *seen) *t = (uint32_t)(*seen - 1 - (code - 2));
  else return TL_EFORMAT;
  return TL_OK;
}
/* The spans of each trace in block order, members[tstart[t] ..
** tstart[t + 1]), and each span's rank among them; tstart has traces + 1
** entries.  A parent coded as a distance in rank stays short even when
** traces interleave. */
void tl_trace_members(const uint32_t *tix, size_t n, uint32_t traces, uint32_t *rank,
                      uint32_t *members, uint32_t *tstart);

#endif
