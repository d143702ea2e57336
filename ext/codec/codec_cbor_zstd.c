/*
** codec_cbor_zstd.c — format=cbor_zstd (phase 3): the CBOR span payload of
** cbor_spans.c compressed with zstd, with a dictionary trained per table.
** docs/format.md, section "cbor_zstd", is the byte layout (version 2):
**
**   dictionary id (LEB128; 0 = none)  hot frame size (LEB128)
**   hot frame   the payload up to the end of its hot spans
**   cold frame  the rest (every frame: content size set, checksum on, no
**               zstd dictionary id; the same dictionary for both)
**
** Version 1 (still read) is the dictionary id and one frame of the whole
** payload.  Two frames let a decode that needs only hot fields (ids,
** times, names, resources: what aggregates and analyses read) decompress
** the first alone: about a third of the content of a generated block.
**
** Why a dictionary: a block's first occurrence of every attribute key,
** service name and resource is written out in full (later ones are string
** references), and that is most of a small block.  A dictionary trained on
** the table's own spans lets zstd compress those first occurrences too, so
** small transactions make small blocks.  The store trains one (train()),
** keeps it beside the blocks, and makes it known under an id (add_dict());
** encode uses the highest id known, decode the one the payload names.
**
** Level: TL_CODEC_DEFAULT_ZSTD_LEVEL unless the table says otherwise; see
** docs/format.md for the measurements behind the default.
**
** Untrusted frames: the content size each frame header claims is checked
** against TL_BLOCK_MAX_DECODED and against what any valid frame of that
** many bytes can hold before the buffer is allocated; each frame must end
** exactly where the payload says (the hot one at its size, the cold one at
** the end); the checksum catches corruption (and a wrong dictionary)
** before the CBOR decoder sees the bytes, and the CBOR decoder checks
** everything again anyway.  A hot-only decode checks the cold frame's
** header and extent, not its content.
**
** One ZSTD_CCtx and one ZSTD_DCtx per state, reused for every block; one
** ZSTD_DDict per dictionary made when it is added, and one ZSTD_CDict for
** the dictionary encode uses, made on first use.
*/
#include "cbor_spans.h"
#include "codec.h"
#include "../common/varint.h"

#include <stdlib.h>
#include <string.h>
/* ZDICT_trainFromBuffer_fastCover() is in the experimental part of zdict.h
** (exported by the shared library; its parameter struct has been stable
** since zstd 1.4). */
#define ZDICT_STATIC_LINKING_ONLY
#include <zdict.h>
#include <zstd.h>

/* A valid zstd frame spends at least 4 bytes (a block header and one RLE
** byte) per block of at most ZSTD_BLOCKSIZE_MAX bytes of content, so no
** frame of n bytes holds more than n * MAX_RATIO bytes: a claim beyond
** that is a lie, refused before allocating. */
#define MAX_RATIO (ZSTD_BLOCKSIZE_MAX / 4)
/* The largest dictionary a table may ask for. */
#define MAX_DICT_SIZE (4 * 1024 * 1024)
/* Training reads samples worth SAMPLE_RATIO times the dictionary size
** (zstd's advice is about 100x).  With fewer samples the dictionary is
** at most 1/MIN_SAMPLE_RATIO of their bytes, and none at all when that is
** under MIN_DICT_SIZE or there are fewer than MIN_SAMPLES spans. */
#define SAMPLE_RATIO 100
#define MIN_SAMPLE_RATIO 4
#define MIN_DICT_SIZE 1024
#define MIN_SAMPLES 16
/* Spans per sample. */
#define SAMPLE_SPANS 16
/* At level 3, smaller match-finder tables than zstd's for payloads past
** 256 KiB (hash 2^17, chain 2^16 entries there): a block of 4096 spans is
** 600-800 KiB of CBOR, and tables of 2^15 and 2^13 entries stay in cache
** while the default ones miss on most lookups.  Measured on the blocks of
** trace_generate(45000, 42) with the table's 64 KiB dictionary: 29% less
** compression time for 0.2% more bytes.  Smaller payloads keep zstd's own
** tables for their size, with which a dictionary helps them most (with
** these, a 4 KiB dictionary stopped paying for itself on blocks of 1000
** TrainTicket spans). */
#define L3_HASH_LOG 15
#define L3_CHAIN_LOG 13
#define L3_SMALL_TABLES_FROM (256u * 1024u)
/* Training a dictionary of FIXED_K_FROM bytes or more (the default is
** 64 KiB): zstd's fastCover with the segment size (k) and d that
** ZDICT_trainFromBuffer() settles on for it on span payloads after trying
** five k between 50 and 2000 (and training on 3/4 of the samples).
** Trained once, on all the samples, it takes a fifth of the time (23 ms
** against 112 ms on a block of 4096 generated spans, 1.6 MB of samples)
** for a dictionary as good (41.73 against 41.76 bytes/span over the 245
** blocks of trace_generate(45000, 42)).  Smaller dictionaries train on
** fewer samples (SAMPLE_RATIO) and are more sensitive to k: the search
** stays (a fixed k made a 4 KiB one on TrainTicket lose to none). */
#define FIXED_K_FROM (32 * 1024)
#define TRAIN_K 1024
#define TRAIN_D 8

typedef struct zdict {
  uint32_t id;
  uint8_t *bytes;
  size_t len;
  ZSTD_DDict *ddict;
} zdict;

typedef struct zstate {
  tl_cbor *cbor;
  ZSTD_CCtx *cctx;
  ZSTD_DCtx *dctx;
  int level, dict_size;
  tl_buf raw;          /* the CBOR payload on its way in or out */
  tl_buf hot;          /* the hot frame, until its size is written */
  zdict *dicts;
  size_t n_dicts;
  size_t top;          /* index of the dictionary with the highest id */
  ZSTD_CDict *cdict;   /* for dicts[top], made on first use */
  uint32_t cdict_id;
  int small_tables;    /* L3_HASH_LOG and L3_CHAIN_LOG are set on cctx */
} zstate;

static void zstd_destroy(void *state) {
  zstate *z = state;
  if (!z) return;
  tl_cbor_free(z->cbor);
  ZSTD_freeCCtx(z->cctx);
  ZSTD_freeDCtx(z->dctx);
  tl_buf_free(&z->raw);
  tl_buf_free(&z->hot);
  for (size_t i = 0; i < z->n_dicts; i++) {
    free(z->dicts[i].bytes);
    ZSTD_freeDDict(z->dicts[i].ddict);
  }
  free(z->dicts);
  ZSTD_freeCDict(z->cdict);
  free(z);
}

static int zstd_create(const tl_codec_opts *opts, void **state, tl_err *e) {
  *state = NULL;
  int level = opts && opts->zstd_level ? opts->zstd_level : TL_CODEC_DEFAULT_ZSTD_LEVEL;
  int dict_size = opts ? opts->dict_size : TL_CODEC_DEFAULT_DICT_SIZE;
  if (level < 1 || level > ZSTD_maxCLevel())
    return tl_err_set(e, TL_ERANGE, "cbor_zstd: zstd_level %d is not between 1 and %d", level,
                      ZSTD_maxCLevel());
  if (dict_size < 0 || dict_size > MAX_DICT_SIZE)
    return tl_err_set(e, TL_ERANGE, "cbor_zstd: dict_size %d is not between 0 and %d", dict_size,
                      MAX_DICT_SIZE);
  zstate *z = calloc(1, sizeof *z);
  if (!z) return tl_err_set(e, TL_ENOMEM, "cbor_zstd: out of memory");
  z->level = level;
  z->dict_size = dict_size;
  tl_buf_init(&z->raw);
  z->cbor = tl_cbor_new();
  z->cctx = ZSTD_createCCtx();
  z->dctx = ZSTD_createDCtx();
  if (!z->cbor || !z->cctx || !z->dctx ||
      ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, level)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 1)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_dictIDFlag, 0))) {
    zstd_destroy(z);
    return tl_err_set(e, TL_ENOMEM, "cbor_zstd: out of memory");
  }
  *state = z;
  return TL_OK;
}

/* The CDict of the highest dictionary, NULL when there is none. */
static int current_cdict(zstate *z, ZSTD_CDict **out, uint32_t *id, tl_err *e) {
  *out = NULL;
  *id = 0;
  if (!z->n_dicts) return TL_OK;
  const zdict *d = &z->dicts[z->top];
  if (!z->cdict || z->cdict_id != d->id) {
    ZSTD_CCtx_refCDict(z->cctx, NULL); /* the context must not keep the old one */
    ZSTD_freeCDict(z->cdict);
    z->cdict = ZSTD_createCDict(d->bytes, d->len, z->level);
    z->cdict_id = d->id;
    if (!z->cdict)
      return tl_err_set(e, TL_ENOMEM, "cbor_zstd: out of memory loading dictionary %u", d->id);
  }
  *out = z->cdict;
  *id = d->id;
  return TL_OK;
}

/* Appends one frame of src[0..n) to out: the table's level, the
** dictionary (or none), small match-finder tables for a large frame. */
static int compress_frame(zstate *z, ZSTD_CDict *cdict, const char *src, size_t n, tl_buf *out,
                          tl_err *e) {
  size_t bound = ZSTD_compressBound(n);
  if (tl_buf_reserve(out, bound)) return tl_err_set(e, TL_ENOMEM, "cbor_zstd: out of memory");
  size_t got = ZSTD_CCtx_refCDict(z->cctx, cdict);
  int small_tables = z->level == 3 && n >= L3_SMALL_TABLES_FROM;
  if (!ZSTD_isError(got) && small_tables != z->small_tables) {
    /* 0 is zstd's own choice for the level and size. */
    got = ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_hashLog, small_tables ? L3_HASH_LOG : 0);
    if (!ZSTD_isError(got))
      got = ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_chainLog, small_tables ? L3_CHAIN_LOG : 0);
    if (!ZSTD_isError(got)) z->small_tables = small_tables;
  }
  if (!ZSTD_isError(got)) got = ZSTD_compress2(z->cctx, out->p + out->n, bound, src, n);
  if (ZSTD_isError(got))
    return tl_err_set(e, TL_ENOMEM, "cbor_zstd: compression failed: %s", ZSTD_getErrorName(got));
  out->n += got;
  return TL_OK;
}

static int zstd_encode(void *state, tl_span *const *spans, size_t n, tl_buf *out, tl_err *e) {
  zstate *z = state;
  ZSTD_CDict *cdict;
  uint32_t id;
  size_t start = out->n, hot_len;
  tl_buf_reset(&z->raw);
  tl_buf_reset(&z->hot);
  int rc = tl_cbor_encode(z->cbor, spans, n, &z->raw, &hot_len, e);
  if (!rc) rc = current_cdict(z, &cdict, &id, e);
  /* The hot frame's size goes before it: the frame is made apart first. */
  if (!rc) rc = compress_frame(z, cdict, z->raw.p, hot_len, &z->hot, e);
  if (rc) return rc;
  tl_buf_varint(out, id);
  tl_buf_varint(out, z->hot.n);
  tl_buf_append(out, z->hot.p, z->hot.n);
  if (out->oom) rc = tl_err_set(e, TL_ENOMEM, "cbor_zstd: out of memory");
  if (!rc) rc = compress_frame(z, cdict, z->raw.p + hot_len, z->raw.n - hot_len, out, e);
  if (rc) out->n = start;
  return rc;
}

static const zdict *find_dict(const zstate *z, uint64_t id) {
  for (size_t i = 0; i < z->n_dicts; i++)
    if (z->dicts[i].id == id) return &z->dicts[i];
  return NULL;
}

/* Checks that f[0..flen) is exactly one zstd frame (what names it in
** messages) and gives the content size its header claims, bounded by
** TL_BLOCK_MAX_DECODED less `have` and by what any frame of flen bytes can
** hold. */
static int frame_size(const uint8_t *f, size_t flen, size_t have, const char *what,
                      size_t *size, tl_err *e) {
  size_t fsize = ZSTD_findFrameCompressedSize(f, flen);
  if (ZSTD_isError(fsize))
    return tl_err_set(e, TL_EFORMAT, "cbor_zstd payload: bad %s: %s", what,
                      ZSTD_getErrorName(fsize));
  if (fsize != flen)
    return tl_err_set(e, TL_EFORMAT, "cbor_zstd payload: %zu bytes after the %s", flen - fsize,
                      what);
  unsigned long long claim = ZSTD_getFrameContentSize(f, flen);
  if (claim == ZSTD_CONTENTSIZE_UNKNOWN || claim == ZSTD_CONTENTSIZE_ERROR)
    return tl_err_set(e, TL_EFORMAT, "cbor_zstd payload: %s without a content size", what);
  if (claim > TL_BLOCK_MAX_DECODED - have || claim > (unsigned long long)flen * MAX_RATIO)
    return tl_err_set(e, TL_EFORMAT,
                      "cbor_zstd payload: %s of %zu bytes claims %llu bytes of content", what,
                      flen, claim);
  *size = (size_t)claim;
  return TL_OK;
}

/* Decompresses the zstd frame f[0..flen) to the end of z->raw, after the
** checks of frame_size; the checksum refuses corrupt frames (and a wrong
** dictionary). */
static int unframe(zstate *z, const zdict *dict, const uint8_t *f, size_t flen, const char *what,
                   tl_err *e) {
  size_t size;
  int rc = frame_size(f, flen, z->raw.n, what, &size, e);
  if (rc) return rc;
  if (tl_buf_reserve(&z->raw, size)) return tl_err_set(e, TL_ENOMEM, "cbor_zstd: out of memory");
  char *dst = z->raw.p + z->raw.n;
  size_t got = dict ? ZSTD_decompress_usingDDict(z->dctx, dst, size, f, flen, dict->ddict)
                    : ZSTD_decompressDCtx(z->dctx, dst, size, f, flen);
  if (ZSTD_isError(got))
    return tl_err_set(e, TL_EFORMAT, "cbor_zstd payload: %s: %s", what, ZSTD_getErrorName(got));
  if (got != size)
    return tl_err_set(e, TL_EFORMAT,
                      "cbor_zstd payload: %s: %zu bytes of content, the frame says %zu", what, got,
                      size);
  z->raw.n += got;
  return TL_OK;
}

/* The CBOR payload of the cbor_zstd payload p[0..len), decompressed into
** z->raw: all of it, or with hot_only the hot section of a version 2 one
** (the cold frame's header is checked, its content not read).  *hot_len
** is where the hot section ends in z->raw, 0 for a version 1 payload. */
static int unpack(zstate *z, const uint8_t *p, size_t len, int hot_only, size_t *hot_len,
                  tl_err *e) {
  static const uint8_t magic[4] = {0x28, 0xb5, 0x2f, 0xfd}; /* ZSTD_MAGICNUMBER */
  tl_rd r;
  tl_rd_init(&r, p, len);
  uint64_t id = tl_rd_varint(&r);
  if (r.err) return tl_err_set(e, TL_EFORMAT, "cbor_zstd payload: truncated dictionary id");
  const zdict *dict = NULL;
  if (id && !(dict = find_dict(z, id)))
    return tl_err_set(e, TL_EFORMAT, "cbor_zstd payload: dictionary %llu is not known",
                      (unsigned long long)id);
  tl_buf_reset(&z->raw);
  *hot_len = 0;
  /* Version 1: one frame.  It starts with the magic number, which no
  ** LEB128 size followed by a frame does (a size that starts 0x28 is one
  ** byte, and a frame follows); what is left of a truncated one too. */
  size_t k = tl_rd_left(&r) < 4 ? tl_rd_left(&r) : 4;
  if (k && memcmp(r.p, magic, k) == 0)
    return unframe(z, dict, r.p, tl_rd_left(&r), "zstd frame", e);
  uint64_t hot = tl_rd_varint(&r);
  if (r.err) return tl_err_set(e, TL_EFORMAT, "cbor_zstd payload: truncated hot frame size");
  if (hot > tl_rd_left(&r))
    return tl_err_set(e, TL_EFORMAT,
                      "cbor_zstd payload: hot zstd frame of %llu bytes runs past the %zu left",
                      (unsigned long long)hot, tl_rd_left(&r));
  const uint8_t *cold = r.p + hot;
  size_t cold_len = tl_rd_left(&r) - (size_t)hot, cold_size;
  /* A hot-only decode checks the cold frame's header alone; a full one
  ** checks the whole frame as it decompresses it. */
  int rc = hot_only ? frame_size(cold, cold_len, 0, "cold zstd frame", &cold_size, e) : TL_OK;
  if (!rc) rc = unframe(z, dict, r.p, (size_t)hot, "hot zstd frame", e);
  if (rc) return rc;
  /* (A hot section is never empty: 0 means version 1 to the callers.) */
  if (!z->raw.n) return tl_err_set(e, TL_EFORMAT, "cbor_zstd payload: empty hot zstd frame");
  *hot_len = z->raw.n;
  if (hot_only) return TL_OK;
  if ((rc = unframe(z, dict, cold, cold_len, "cold zstd frame", e))) return rc;
  /* Nor is a cold section (its namespace tag at least). */
  if (z->raw.n == *hot_len)
    return tl_err_set(e, TL_EFORMAT, "cbor_zstd payload: empty cold zstd frame");
  return TL_OK;
}

static int zstd_decode(void *state, const uint8_t *p, size_t len, size_t n, uint32_t fields,
                       tl_batch *b, tl_err *e) {
  zstate *z = state;
  size_t hot_len;
  int rc = unpack(z, p, len, tl_cbor_hot_only(fields), &hot_len, e);
  if (rc) return rc;
  return tl_cbor_decode_split(z->cbor, (const uint8_t *)z->raw.p, z->raw.n, hot_len, n, fields,
                              b, e);
}

static int zstd_decode_cols(void *state, const uint8_t *p, size_t len, size_t n, uint32_t fields,
                            tl_cols *out, tl_batch *b, tl_err *e) {
  zstate *z = state;
  size_t hot_len;
  int rc = unpack(z, p, len, 1, &hot_len, e);
  return rc ? rc
            : tl_cbor_decode_cols(z->cbor, (const uint8_t *)z->raw.p, z->raw.n, hot_len, n,
                                  fields, out, b, e);
}

/* Appends the payload of spans[0..k) to samples as two more samples, its
** hot and its cold section: what zstd compresses. */
static int add_sample(zstate *z, tl_span *const *spans, size_t k, tl_buf *samples, size_t *sizes,
                      unsigned *n, tl_err *e) {
  size_t before = samples->n, hot;
  int rc = tl_cbor_encode(z->cbor, spans, k, samples, &hot, e);
  if (!rc) {
    sizes[(*n)++] = hot;
    sizes[(*n)++] = samples->n - before - hot;
  }
  return rc;
}

static int zstd_train(void *state, tl_span *const *spans, size_t n, tl_buf *dict, tl_err *e) {
  zstate *z = state;
  if (!z->dict_size || n < MIN_SAMPLES) return TL_OK;
  /* A sample is a small block: SAMPLE_SPANS consecutive spans (fewer when
  ** there are not MIN_SAMPLES samples of that many), which is what the
  ** dictionary helps most and holds the string references, ids and tables
  ** of real blocks in their real proportions.  Samples are spread over the
  ** whole run at a stride that fits the budget, estimated from the first. */
  size_t k = n / MIN_SAMPLES < SAMPLE_SPANS ? n / MIN_SAMPLES : SAMPLE_SPANS;
  size_t groups = n / k, budget = (size_t)z->dict_size * SAMPLE_RATIO;
  size_t *sizes = malloc(2 * groups * sizeof *sizes);
  if (!sizes) return tl_err_set(e, TL_ENOMEM, "cbor_zstd: out of memory");
  tl_buf samples;
  tl_buf_init(&samples);
  unsigned count = 0;
  int rc = add_sample(z, spans, k, &samples, sizes, &count, e);
  size_t stride = rc ? 1 : samples.n * groups / budget + 1;
  for (size_t g = stride; !rc && g < groups && samples.n < budget; g += stride)
    rc = add_sample(z, spans + g * k, k, &samples, sizes, &count, e);
  if (!rc && samples.oom) rc = tl_err_set(e, TL_ENOMEM, "cbor_zstd: out of memory");
  /* Too few samples for the size asked: a smaller dictionary, or none. */
  size_t cap = samples.n / MIN_SAMPLE_RATIO;
  if (cap > (size_t)z->dict_size) cap = (size_t)z->dict_size;
  if (!rc && count >= MIN_SAMPLES && cap >= MIN_DICT_SIZE) {
    if (tl_buf_reserve(dict, cap)) {
      rc = tl_err_set(e, TL_ENOMEM, "cbor_zstd: out of memory");
    } else {
      /* A failed training means the samples hold nothing a dictionary
      ** would help with (zdict.h): the answer is then no dictionary. */
      size_t got;
      if (cap >= FIXED_K_FROM) {
        ZDICT_fastCover_params_t params;
        memset(&params, 0, sizeof params);
        params.k = TRAIN_K;
        params.d = TRAIN_D;
        params.zParams.compressionLevel = z->level;
        got = ZDICT_trainFromBuffer_fastCover(dict->p + dict->n, cap, samples.p, sizes, count,
                                              params);
      } else {
        got = ZDICT_trainFromBuffer(dict->p + dict->n, cap, samples.p, sizes, count);
      }
      if (!ZDICT_isError(got)) dict->n += got;
    }
  }
  free(sizes);
  tl_buf_free(&samples);
  return rc;
}

static int zstd_add_dict(void *state, uint32_t id, const uint8_t *p, size_t n, tl_err *e) {
  zstate *z = state;
  if (id == 0 || n == 0)
    return tl_err_set(e, TL_EMISUSE, "cbor_zstd: dictionary %u: %s", id,
                      id ? "empty dictionary" : "id 0 means no dictionary");
  const zdict *known = find_dict(z, id);
  if (known) {
    if (known->len == n && memcmp(known->bytes, p, n) == 0) return TL_OK;
    return tl_err_set(e, TL_EMISUSE, "cbor_zstd: dictionary %u is already known with other bytes",
                      id);
  }
  zdict *dicts = realloc(z->dicts, (z->n_dicts + 1) * sizeof *dicts);
  if (!dicts) return tl_err_set(e, TL_ENOMEM, "cbor_zstd: out of memory");
  z->dicts = dicts;
  zdict *d = &dicts[z->n_dicts];
  d->id = id;
  d->len = n;
  d->bytes = malloc(n);
  d->ddict = d->bytes ? ZSTD_createDDict(p, n) : NULL;
  if (!d->ddict) {
    int rc = d->bytes ? tl_err_set(e, TL_EFORMAT,
                                   "cbor_zstd: dictionary %u is not a valid zstd dictionary", id)
                      : tl_err_set(e, TL_ENOMEM, "cbor_zstd: out of memory");
    free(d->bytes);
    return rc;
  }
  memcpy(d->bytes, p, n);
  if (!z->n_dicts || id > z->dicts[z->top].id) z->top = z->n_dicts;
  z->n_dicts++;
  return TL_OK;
}

const tl_codec_vt tl_codec_cbor_zstd = {
    .name = "cbor_zstd",
    .id = TL_CODEC_CBOR_ZSTD,
    /* 2: the hot and cold sections in two frames; version 1 payloads (one
    ** frame, told apart by its magic number) are still read. */
    .version = 2,
    .partial = 1,
    .create = zstd_create,
    .destroy = zstd_destroy,
    .encode = zstd_encode,
    .decode = zstd_decode,
    .train = zstd_train,
    .add_dict = zstd_add_dict,
    .decode_cols = zstd_decode_cols,
};
