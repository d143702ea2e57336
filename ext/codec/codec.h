/*
** codec.h — the one small interface behind every storage format.
**
** A codec turns a run of spans into one payload and back.  The block store
** (ext/store) never looks inside a payload: it wraps it in the block
** envelope below, stores it as one blob with metadata beside it, and hands
** it back to the codec on scan.  One file per codec: codec_ndjson.c,
** codec_cbor.c, codec_cbor_zstd.c, and later relational and columnar.
**
** Block envelope (docs/format.md has the byte layout of every payload):
**   offset 0  4 bytes  magic "TLB\x01"
**   offset 4  1 byte   codec id (tl_codec_id)
**   offset 5  1 byte   codec payload version
**   offset 6  varint   span count (LEB128, at most TL_BLOCK_MAX_SPANS)
**   then      payload  codec-specific, to the end of the blob
** tl_block_decode checks all of it before the codec sees the payload, and a
** codec checks that its payload yields exactly the span count.
**
** Codec state (dictionaries, zstd contexts, options) hangs off the table
** that owns it: create() per table, destroy() on disconnect.  No globals.
*/
#ifndef TL_CODEC_H
#define TL_CODEC_H

#include "../common/buf.h"
#include "../span/span.h"

#define TL_BLOCK_MAGIC "TLB\x01"
#define TL_BLOCK_MAX_SPANS (1u << 20)
/* A decoded block may not claim more than this many bytes of content. */
#define TL_BLOCK_MAX_DECODED (512u * 1024u * 1024u)

typedef enum tl_codec_id {
  TL_CODEC_NDJSON = 1,
  TL_CODEC_CBOR = 2,
  TL_CODEC_CBOR_ZSTD = 3,
  TL_CODEC_RELATIONAL = 4,
  TL_CODEC_COLUMNAR = 5
} tl_codec_id;

/* Which parts of a span a reader needs.  A codec may decode more than asked
** (row formats decode everything) but never less; trace, span and parent
** ids and times are always decoded, trace_state and flags with
** TL_FIELD_IDS. */
enum {
  TL_FIELD_IDS = 1u << 0,      /* trace_state, flags (and the ids, always there) */
  TL_FIELD_TIMES = 1u << 1,
  TL_FIELD_NAME = 1u << 2,
  TL_FIELD_KIND = 1u << 3,
  TL_FIELD_STATUS = 1u << 4,
  TL_FIELD_ATTRS = 1u << 5,
  TL_FIELD_EVENTS = 1u << 6,
  TL_FIELD_LINKS = 1u << 7,
  TL_FIELD_RESOURCE = 1u << 8, /* includes the service */
  TL_FIELD_SCOPE = 1u << 9,
  TL_FIELD_DROPPED = 1u << 10,
  /* duration_ns and nothing else of the times: the store serves a scan
  ** that reads it alone from decode_durations when the codec has one;
  ** to every other entry it means TL_FIELD_TIMES. */
  TL_FIELD_DURATION = 1u << 11,
  TL_FIELDS_ALL = (1u << 12) - 1
};

/* Options from the table's key=value arguments that codecs read. */
typedef struct tl_codec_opts {
  int zstd_level;      /* 1..22; 0 = TL_CODEC_DEFAULT_ZSTD_LEVEL */
  int dict_size;       /* bytes of a trained dictionary; 0 = no dictionary */
} tl_codec_opts;

/* What a table gets when it does not set the options (docs/format.md,
** section cbor_zstd, has the measurements behind them).  A NULL opts to
** create() means these. */
#define TL_CODEC_DEFAULT_ZSTD_LEVEL 3
#define TL_CODEC_DEFAULT_DICT_SIZE (64 * 1024)

/* The ids and times of a block's spans as arrays, span i at index i (ids,
** flags and trace states only when TL_FIELD_IDS is asked for): what a
** scan that reads nothing else (`SELECT sum(duration_ns)`) serves its rows
** from, without building a tl_span for each (decode_cols).  Owned by the
** reader and kept from block to block for its memory. */
typedef struct tl_cols {
  size_t n, cap;
  uint8_t (*trace_id)[16];
  uint8_t (*span_id)[8];
  uint8_t (*parent_id)[8]; /* all zero for a root */
  uint64_t *start, *end;
  uint64_t *duration;      /* decode_durations: end - start, modulo 2^64 */
  uint32_t *flags;
  tl_str *trace_state;     /* interned in the batch given */
} tl_cols;

/* Room for n spans (contents not kept); TL_ENOMEM. */
int tl_cols_reserve(tl_cols *c, size_t n);
void tl_cols_free(tl_cols *c);

typedef struct tl_codec_vt {
  const char *name;    /* the format= value: "ndjson", "cbor", "cbor_zstd" */
  uint8_t id;          /* tl_codec_id */
  uint8_t version;     /* payload version this code writes (and reads) */
  uint8_t partial;     /* 1: decode honours the fields mask; 0: it decodes everything */
  int (*create)(const tl_codec_opts *opts, void **state, tl_err *e);
  void (*destroy)(void *state);
  /* Appends the payload for spans[0..n) to out. */
  int (*encode)(void *state, tl_span *const *spans, size_t n, tl_buf *out, tl_err *e);
  /* Decodes a payload of exactly n spans, appending them to b.  fields is a
  ** TL_FIELD_* mask of what the caller needs.  Hostile input: TL_EFORMAT
  ** with a message, and no spans of this payload left in b. */
  int (*decode)(void *state, const uint8_t *p, size_t len, size_t n, uint32_t fields,
                tl_batch *b, tl_err *e);
  /* Optional (NULL when the codec has no dictionary).  train() builds a
  ** dictionary from sample spans into dict (empty when there is too little
  ** data to be worth it); add_dict() makes dictionary `id` (> 0) known to the
  ** state: encode uses the highest id it knows and records it inside the
  ** payload, decode finds the one a payload names (TL_EFORMAT if unknown). */
  int (*train)(void *state, tl_span *const *spans, size_t n, tl_buf *dict, tl_err *e);
  int (*add_dict)(void *state, uint32_t id, const uint8_t *p, size_t n, tl_err *e);
  /* Optional (NULL: the codec has no cheaper way than decode()).  decode()
  ** for a reader that only wants the spans of traces[0..ntraces) (sorted,
  ** 16 bytes each): every span is appended with its ids and times, but
  ** the other fields asked for are filled in only for the spans of those
  ** traces; the others keep their defaults (empty name, no attributes...)
  ** and must not be shown.  A trace lookup then skips most of the work of
  ** a block (interning its strings, building its attribute lists).  Same
  ** hostile-input promise as decode(). */
  int (*decode_traces)(void *state, const uint8_t *p, size_t len, size_t n, uint32_t fields,
                       const uint8_t (*traces)[16], size_t ntraces, tl_batch *b, tl_err *e);
  /* Optional (NULL: the codec has no cheaper way than decode()).  The times
  ** of a payload of exactly n spans into out (out->n = n), and with
  ** TL_FIELD_IDS in fields the ids, flags and trace states (interned in b);
  ** without it those arrays are left as they were.  Exactly the values
  ** decode() gives.  Same hostile-input promise as decode(). */
  int (*decode_cols)(void *state, const uint8_t *p, size_t len, size_t n, uint32_t fields,
                     tl_cols *out, tl_batch *b, tl_err *e);
  /* Optional (NULL: the codec has no cheaper way than decode_cols()).  The
  ** durations (end_ns - start_ns, modulo 2^64) of a payload of len bytes
  ** and exactly n spans into out[0..n), in block order, from its first
  ** avail bytes p[0..avail) alone: a scan of duration_ns reads only the
  ** part of the blob that holds them.  Returns TL_OK with *need 0 when
  ** done, or with avail < *need <= len when it needs the first *need bytes
  ** to go on (the caller reads them and calls again with the same p
  ** grown; the bytes before avail are unchanged).  Exactly the values
  ** decode() gives.  Same hostile-input promise as decode(), with one more
  ** duty: what it reads of a part of the payload (avail < len) it checks
  ** itself (a checksum the payload holds), since the store's CRC covers
  ** the whole blob. */
  int (*decode_durations)(void *state, const uint8_t *p, size_t avail, size_t len, size_t n,
                          uint64_t *out, size_t *need, tl_err *e);
} tl_codec_vt;

extern const tl_codec_vt tl_codec_ndjson;
extern const tl_codec_vt tl_codec_cbor;
extern const tl_codec_vt tl_codec_cbor_zstd;
extern const tl_codec_vt tl_codec_relational;
extern const tl_codec_vt tl_codec_columnar;

/* The codec for a format name or id; NULL when there is none. */
const tl_codec_vt *tl_codec_by_name(const char *name);
const tl_codec_vt *tl_codec_by_id(int id);

/* Envelope + payload: appends a whole block blob to out. */
int tl_block_encode(const tl_codec_vt *vt, void *state, tl_span *const *spans, size_t n,
                    tl_buf *out, tl_err *e);
/* Reads the envelope of blob[0..len): checks magic, codec id (must be
** vt->id), version (<= vt->version) and span count, then decodes. */
int tl_block_decode(const tl_codec_vt *vt, void *state, const uint8_t *blob, size_t len,
                    uint32_t fields, tl_batch *b, tl_err *e);
/* The same through the codec's decode_traces() (plain decode when it has
** none, or traces is NULL): only the spans of traces[0..ntraces) are
** complete, the others have their ids and times. */
int tl_block_decode_traces(const tl_codec_vt *vt, void *state, const uint8_t *blob, size_t len,
                           uint32_t fields, const uint8_t (*traces)[16], size_t ntraces,
                           tl_batch *b, tl_err *e);
/* The same into arrays through the codec's decode_cols() (which it must
** have). */
int tl_block_decode_cols(const tl_codec_vt *vt, void *state, const uint8_t *blob, size_t len,
                         uint32_t fields, tl_cols *out, tl_batch *b, tl_err *e);
/* The durations of blob[0..len) through the codec's decode_durations()
** (which it must have), from its first avail bytes (at least
** TL_BLOCK_ENVELOPE_MAX of them, or all): *n spans into out[0..*n), which
** has room for the count the envelope says (tl_block_span_count), and
** *need 0; or *need > avail, the bytes it needs to go on. */
int tl_block_decode_durations(const tl_codec_vt *vt, void *state, const uint8_t *blob,
                              size_t avail, size_t len, uint64_t *out, size_t *n, size_t *need,
                              tl_err *e);
/* The most bytes an envelope takes: magic, codec, version, a LEB128 count. */
#define TL_BLOCK_ENVELOPE_MAX 16
/* The span count of a block from its envelope alone; TL_EFORMAT if the
** envelope is bad. */
int tl_block_span_count(const uint8_t *blob, size_t len, size_t *n, tl_err *e);

#endif
