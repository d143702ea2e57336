/*
** columnar_internal.h — what the files of the columnar codec share:
**   codec_columnar.c  the per-span columns, the codec's vtable
**   columnar_io.c     the payload's stream directory, integer columns
**   columnar_ops.c    operations, coded in their parent's context
**   columnar_attrs.c  attribute lists split into one column per key and type
** docs/format.md, section "columnar", is the byte layout.
*/
#ifndef TL_COLUMNAR_INTERNAL_H
#define TL_COLUMNAR_INTERNAL_H

#include "codec.h"
#include "codec_internal.h"

/* Stream kinds (directory order is kind, then index).  Attribute sets
** (span, event, link attributes) take kinds COL_ATTRS + 8 * set + part.
** Kind 0 (payload version 3) sorts first, so that its streams' stored
** bytes follow the directory: index 0 the durations, index 1 the head
** check (COL_CHECK_INDEX), a CRC-32 of every byte before its own. */
enum {
  COL_DURATIONS = 0,
  COL_TRACE_IDS = 1, COL_TRACE_REFS, COL_SPAN_IDS, COL_PARENTS, COL_PARENT_IDS, COL_STARTS,
  COL_ENDS, COL_OPS, COL_OP_REFS, COL_NAMES, COL_STATUS, COL_STATUS_MSGS, COL_TRACE_STATES,
  COL_RESOURCES, COL_SCOPES, COL_DROPPED,
  COL_EVENT_COUNTS = 20, COL_EVENT_TIMES, COL_EVENT_NAMES,
  COL_LINK_COUNTS = 24, COL_LINK_TRACE_IDS, COL_LINK_SPAN_IDS, COL_LINK_STATES, COL_LINK_FLAGS,
  COL_ATTRS = 32
};
enum { ATTR_SPAN, ATTR_EVENT, ATTR_LINK, ATTR_SETS };
enum { AP_COLUMNS, AP_SHAPES, AP_REFS, AP_DROPPED, AP_VALUES };
#define COL_KIND_MAX (COL_ATTRS + 8 * ATTR_SETS)

/* Most attribute items (and most events, most links) one block may hold:
** what bounds the memory a crafted block can make the decoder allocate. */
#define COL_MAX_ITEMS (1u << 22)

#define COL_CHECK_INDEX 1
#define COL_CHECK_SIZE 4

/* Candidate encodings of one stream that the writer compares. */
#define COL_MAX_CAND 16
/* Whether item i of a decode is to be filled in (want: NULL for all). */
#define WANTED(want, i) (!(want) || (want)[i])

/* ---- writing (columnar_io.c) ----------------------------------------- */

typedef struct col_writer {
  tl_zs *zs;
  int final; /* the stream kept is compressed again at the final level */
  uint32_t dict, kind_dict; /* the table's dictionary; the one the stream uses */
  tl_buf dir, data;
  unsigned count, last_kind, last_index;
  size_t check_at; /* where the head check sits in data; SIZE_MAX: none */
  tl_buf cand[COL_MAX_CAND], packed[COL_MAX_CAND];
  tl_vec prep; /* integer columns' values as written */
  tl_err *e;
  /* Training: when samples is set, the text streams are collected there
  ** one after another (sample[i] says where each is) instead of written.
  ** A sample's tag names its content the same way in every block: the
  ** stream kind and index, or for attribute values the set, key and type
  ** of the column (value_tag, set by the attribute writer), whose index
  ** depends on the order keys come in. */
  tl_buf *samples;
  struct col_sample {
    size_t at, len;
    uint64_t tag;
  } *sample;
  unsigned n_samples, cap_samples;
  uint64_t value_tag;
} col_writer;

/* Adds a stream (nothing when n is 0: an absent stream reads as empty),
** compressed when that makes it smaller. */
int colw_put(col_writer *w, unsigned kind, unsigned index, const void *raw, size_t n);
/* Adds the head check stream (kind 0, index COL_CHECK_INDEX), filled in
** by colw_finish once the directory is final. */
int colw_put_head_check(col_writer *w);
/* Appends the payload (dictionary id, stream count, directory, streams) to
** out, with the head check when there is one. */
void colw_finish(col_writer *w, tl_buf *out);
/* Scratch candidate i, emptied. */
tl_buf *colw_cand(col_writer *w, int i);
/* Which of candidates 0..ncand-1 is the smallest after compression. */
int colw_pick(col_writer *w, unsigned kind, int ncand, int *best);
/* Adds the smallest of candidates 0..ncand-1 (after compression), with the
** table's dictionary for the kinds of stream that hold text. */
int colw_put_best(col_writer *w, unsigned kind, unsigned index, int ncand);
/* The same, saying whether the stream holds text. */
int colw_put_best_text(col_writer *w, unsigned kind, unsigned index, int ncand, int text);

/* Integer columns: "u8 form, LEB128 scale g, [n exponent bytes], values"
** where every value is divided by g; form bit INT_DECIMAL splits each
** value into m * 10^e (the n exponents first, then the mantissas m), and
** form bit INT_PLANES writes the values as byte planes (u8 width w, then w
** planes of n bytes, least significant first) instead of one LEB128 each.
** Signed values keep their sign through the scaling and are zigzagged.
** Form bit INT_BITS (not with INT_PLANES) writes a bit length per value
** (one byte each) and then the bits below each value's top bit, packed
** least significant first: close to the entropy of wide random numbers. */
enum { INT_PLANES = 1, INT_DECIMAL = 2, INT_BITS = 4 };
/* Which forms intcol_cands tries: bit f for form f. */
#define FORMS_PLAIN 0x3   /* LEB128, planes */
#define FORMS_ALL 0x5f    /* forms 0, 1, 2, 3, 4, 6 */
void intcol_write(col_writer *w, tl_buf *out, const uint64_t *v, size_t n, int is_signed,
                  int form);
/* The forms given as candidates first, first+1, ..., each after
** prefix[0..np); returns how many. */
int intcol_cands(col_writer *w, int first, const void *prefix, size_t np, const uint64_t *v,
                 size_t n, int is_signed, int forms);
/* Adds the column as a stream in its smallest plain form. */
int colw_put_ints(col_writer *w, unsigned kind, unsigned index, const uint64_t *v, size_t n,
                  int is_signed);
int intcol_read(tl_rd *r, uint64_t *v, size_t n, int is_signed, const char *what, tl_err *e);

/* ---- reading (columnar_io.c) ----------------------------------------- */

typedef struct col_stream {
  unsigned kind, index;
  uint8_t coding;    /* 0 raw, 1 zstd, 2 zstd with the payload's dictionary */
  const uint8_t *p;  /* stored bytes */
  size_t stored, raw;
  int ready;         /* content holds the decompressed bytes */
  tl_buf content;    /* kept from block to block for its memory */
} col_stream;

typedef struct col_reader {
  tl_zs *zs;
  uint32_t dict;
  int durations; /* the payload has them (version 3 rules) */
  col_stream *s;
  size_t ns, cap;
  tl_err *e;
} col_reader;

/* Reads the directory of payload p[0..len) (zs and e set by the caller)
** and checks the head check when there is one; the payload must outlive
** the reader's use. */
int colr_open(col_reader *r, const uint8_t *p, size_t len);
/* The same from the first avail bytes of a payload of len: TL_OK with
** *need 0 when the directory (and the head check, which covers it and the
** durations) could be read and checked, else with avail < *need <= len,
** the bytes to go on.  Only the streams within avail may be read. */
int colr_open_part(col_reader *r, const uint8_t *p, size_t avail, size_t len, size_t *need);
void colr_free(col_reader *r);

/* The content of a stream (empty when absent), decompressed on first use;
** name is for messages. */
int colr_get(col_reader *r, unsigned kind, unsigned index, const char *name, tl_rd *out);
/* TL_EFORMAT unless the stream was read to its end. */
int colr_done(col_reader *r, const tl_rd *rd, const char *name);

/* Messages: "columnar payload: stream <name>: <why>". */
int col_bad(tl_err *e, const char *name, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;


/* ---- operations (columnar_ops.c) ------------------------------------------- */

/* The fields of an operation, in the order of the ops stream. */
enum { OP_NAME, OP_KIND, OP_RESOURCE, OP_SCOPE, OP_FLAGS, OP_SHAPE, OP_FIELDS };

typedef struct col_ops col_ops;
col_ops *col_ops_new(void);
void col_ops_free(col_ops *o);
/* fields[f][i]: field f of span i.  Writes the ops and op_refs streams;
** order and pref as plan() (codec_columnar.c) leaves them. */
int col_ops_write(col_ops *o, col_writer *w, const uint64_t *const *fields, size_t n,
                  const uint32_t *order, const int64_t *pref);
/* Reads the operations back: then col_ops_table(f) is field f of each
** operation (col_ops_count() of them), unchecked against the tables they
** index, and col_ops_of_spans() each span's operation.  order and pref
** must stay valid until the last col_ops_of_spans() of the block. */
int col_ops_read(col_ops *o, col_reader *r, size_t n, const uint32_t *order,
                 const int64_t *pref);
uint32_t col_ops_count(const col_ops *o);
const uint64_t *col_ops_table(const col_ops *o, int field);
/* 1 with *value when every operation has the same field f (then no span
** needs its own operation to know it), else 0. */
int col_ops_uniform(const col_ops *o, int field, uint64_t *value);
/* The operation of each span; the decoder reads the op_refs stream on the
** first call of a block.  NULL with the reader's error set when it fails. */
const uint32_t *col_ops_of_spans(col_ops *o);

/* ---- attribute sets (columnar_attrs.c) ----------------------------------- */

typedef struct col_attrs col_attrs; /* scratch of one state */
col_attrs *col_attrs_new(void);
void col_attrs_free(col_attrs *a);

/* Assigns columns and shapes to lists[0..n) of set `set`: then
** col_attrs_shapes() is the shape code of each list. */
int col_attrs_prepare(col_attrs *a, int set, const tl_attrs *const *lists, size_t n, tl_err *e);
const uint64_t *col_attrs_shapes(const col_attrs *a);
/* For span attributes: the trace and the operation of each span (below
** n[CTX_TRACE], n[CTX_OP]) and the operation of its parent (n[CTX_OP] for
** none: n[CTX_PARENT] = n[CTX_OP] + 1), so that a value can be coded as
** "the one this column last had in the same trace (operation, parent
** operation)": a server's port, a caller's address. */
enum { CTX_TRACE, CTX_OP, CTX_PARENT, CTX_COUNT };
typedef struct col_ctx {
  const uint32_t *of[CTX_COUNT];
  uint32_t n[CTX_COUNT];
} col_ctx;
/* Writes the set prepared last; with_refs 0 leaves out the refs stream
** (the spans' shapes are in the ops stream); ctx NULL but for spans. */
int col_attrs_write(col_attrs *a, col_writer *w, int set, const tl_attrs *const *lists, size_t n,
                    int with_refs, const col_ctx *ctx);
/* Reads set `set` into lists[0..n) (strings interned in b), the shape of
** each list from refs when not NULL, else from the refs stream.  With
** want_items 0, only the dropped counts.  want (NULL: every list): 1 for
** the lists to build; the others are read past and left empty.  With ctx,
** want must take whole traces (codes relative to a trace's last value are
** undone among its own values only). */
int col_attrs_read(col_attrs *a, col_reader *r, int set, tl_attrs *const *lists, size_t n,
                   int want_items, const uint64_t *refs, const col_ctx *ctx, const uint8_t *want,
                   tl_batch *b);
/* The name of attribute value stream index of set (its key, for
** tracelite_columns), "" when the columns table does not say. */
int col_attrs_column_name(col_reader *r, int set, unsigned index, tl_buf *out);

#endif
