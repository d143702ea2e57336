/*
** zstd_stream.c — zstd for the many small streams of the relational and
** columnar codecs (codec_internal.h): one ZSTD_CCtx and one ZSTD_DCtx per
** table, reused for every stream of every block; two levels (a codec may
** try candidates at a fast one and compress what it keeps at a final one);
** the table's dictionaries by id, each with its ZSTD_DDict made when added
** and a ZSTD_CDict per level made on first use.  Dictionaries are trained
** zstd dictionaries (tl_zs_train) or raw content (columnar's).
**
** Frames carry no checksum, no content size and no dictionary id: a block
** has dozens of streams, and those fields would cost up to 12 bytes each.
** The codec's stream directory records the content size and the dictionary
** instead, and the decompressor insists on exactly that size: a frame that
** would produce more (or less) is refused before anything past the buffer
** is written.  Corruption is caught by the codec's own checks of every
** stream (and the store's CRC of the blob).
*/
#include "codec_internal.h"

#include <stdlib.h>
#include <string.h>
#include <zdict.h>
#include <zstd.h>

typedef struct zdict {
  uint32_t id;
  uint8_t *bytes;
  size_t len;
  ZSTD_DDict *ddict;
  ZSTD_CDict *cdict[2]; /* at the level, the final level: made on first use */
} zdict;

struct tl_zs {
  const char *who;
  int level, final_level;
  ZSTD_CCtx *cctx;
  ZSTD_DCtx *dctx;
  zdict *dicts;
  size_t n_dicts;
  uint32_t top;
};

void tl_zs_free(tl_zs *z) {
  if (!z) return;
  ZSTD_freeCCtx(z->cctx);
  ZSTD_freeDCtx(z->dctx);
  for (size_t i = 0; i < z->n_dicts; i++) {
    free(z->dicts[i].bytes);
    ZSTD_freeDDict(z->dicts[i].ddict);
    ZSTD_freeCDict(z->dicts[i].cdict[0]);
    ZSTD_freeCDict(z->dicts[i].cdict[1]);
  }
  free(z->dicts);
  free(z);
}

int tl_zs_new(int level, const char *who, tl_zs **out, tl_err *e) {
  *out = NULL;
  if (level < 1 || level > ZSTD_maxCLevel())
    return tl_err_set(e, TL_ERANGE, "%s: zstd_level %d is not between 1 and %d", who, level,
                      ZSTD_maxCLevel());
  tl_zs *z = calloc(1, sizeof *z);
  if (!z) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", who);
  z->who = who;
  z->level = z->final_level = level;
  z->cctx = ZSTD_createCCtx();
  z->dctx = ZSTD_createDCtx();
  if (!z->cctx || !z->dctx ||
      ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, level)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 0)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_contentSizeFlag, 0)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_dictIDFlag, 0))) {
    tl_zs_free(z);
    return tl_err_set(e, TL_ENOMEM, "%s: out of memory", who);
  }
  *out = z;
  return TL_OK;
}

static zdict *find(const tl_zs *z, uint32_t id) {
  for (size_t i = 0; i < z->n_dicts; i++)
    if (z->dicts[i].id == id) return &z->dicts[i];
  return NULL;
}

uint32_t tl_zs_top_dict(const tl_zs *z) { return z->top; }

int tl_zs_has_dict(const tl_zs *z, uint32_t id) { return id == 0 || find(z, id) != NULL; }

int tl_zs_add_dict(tl_zs *z, uint32_t id, const uint8_t *p, size_t n, tl_err *e) {
  if (id == 0 || n == 0)
    return tl_err_set(e, TL_EMISUSE, "%s: dictionary %u: %s", z->who, id,
                      id ? "empty dictionary" : "id 0 means no dictionary");
  const zdict *known = find(z, id);
  if (known) {
    if (known->len == n && memcmp(known->bytes, p, n) == 0) return TL_OK;
    return tl_err_set(e, TL_EMISUSE, "%s: dictionary %u is already known with other bytes",
                      z->who, id);
  }
  zdict *dicts = realloc(z->dicts, (z->n_dicts + 1) * sizeof *dicts);
  if (!dicts) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", z->who);
  z->dicts = dicts;
  zdict *d = &dicts[z->n_dicts];
  memset(d, 0, sizeof *d);
  d->id = id;
  d->len = n;
  d->bytes = malloc(n);
  d->ddict = d->bytes ? ZSTD_createDDict(p, n) : NULL;
  if (!d->ddict) {
    int rc = d->bytes ? tl_err_set(e, TL_EFORMAT, "%s: dictionary %u is not a valid zstd "
                                                  "dictionary", z->who, id)
                      : tl_err_set(e, TL_ENOMEM, "%s: out of memory", z->who);
    free(d->bytes);
    return rc;
  }
  memcpy(d->bytes, p, n);
  z->n_dicts++;
  if (id > z->top) z->top = id;
  return TL_OK;
}

int tl_zs_set_final_level(tl_zs *z, int level, tl_err *e) {
  if (level < 1 || level > ZSTD_maxCLevel())
    return tl_err_set(e, TL_ERANGE, "%s: zstd_level %d is not between 1 and %d", z->who, level,
                      ZSTD_maxCLevel());
  z->final_level = level;
  return TL_OK;
}

static int compress_at(tl_zs *z, int final, const void *src, size_t n, uint32_t dict,
                       tl_buf *out, tl_err *e) {
  int level = final ? z->final_level : z->level;
  zdict *d = dict ? find(z, dict) : NULL;
  if (dict && !d) return tl_err_set(e, TL_EMISUSE, "%s: dictionary %u is not known", z->who, dict);
  if (d && !d->cdict[final] && !(d->cdict[final] = ZSTD_createCDict(d->bytes, d->len, level)))
    return tl_err_set(e, TL_ENOMEM, "%s: out of memory loading dictionary %u", z->who, dict);
  size_t bound = ZSTD_compressBound(n);
  if (tl_buf_reserve(out, bound)) return tl_err_set(e, TL_ENOMEM, "%s: out of memory", z->who);
  size_t got = ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, level);
  if (!ZSTD_isError(got)) got = ZSTD_CCtx_refCDict(z->cctx, d ? d->cdict[final] : NULL);
  if (!ZSTD_isError(got)) got = ZSTD_compress2(z->cctx, out->p + out->n, bound, src, n);
  if (ZSTD_isError(got))
    return tl_err_set(e, TL_ENOMEM, "%s: compression failed: %s", z->who, ZSTD_getErrorName(got));
  out->n += got;
  return TL_OK;
}

int tl_zs_compress(tl_zs *z, const void *src, size_t n, uint32_t dict, tl_buf *out, tl_err *e) {
  return compress_at(z, 0, src, n, dict, out, e);
}

int tl_zs_compress_final(tl_zs *z, const void *src, size_t n, uint32_t dict, tl_buf *out,
                         tl_err *e) {
  return compress_at(z, 1, src, n, dict, out, e);
}

int tl_zs_decompress(tl_zs *z, const uint8_t *src, size_t n, uint32_t dict, uint8_t *dst,
                     size_t size, const char *prefix, const char *what, tl_err *e) {
  const zdict *d = dict ? find(z, dict) : NULL;
  if (dict && !d)
    return tl_err_set(e, TL_EFORMAT, "%s%s: dictionary %u is not known", prefix, what, dict);
  size_t fsize = ZSTD_findFrameCompressedSize(src, n);
  if (ZSTD_isError(fsize) || fsize != n)
    return tl_err_set(e, TL_EFORMAT, "%s%s: bad zstd frame%s%s", prefix, what,
                      ZSTD_isError(fsize) ? ": " : " (bytes after it)",
                      ZSTD_isError(fsize) ? ZSTD_getErrorName(fsize) : "");
  size_t got = d ? ZSTD_decompress_usingDDict(z->dctx, dst, size, src, n, d->ddict)
                 : ZSTD_decompressDCtx(z->dctx, dst, size, src, n);
  if (ZSTD_isError(got))
    return tl_err_set(e, TL_EFORMAT, "%s%s: zstd: %s", prefix, what, ZSTD_getErrorName(got));
  if (got != size)
    return tl_err_set(e, TL_EFORMAT, "%s%s: %zu bytes of content, the directory says %zu",
                      prefix, what, got, size);
  return TL_OK;
}

int tl_zs_size_with(tl_zs *z, const void *src, size_t n, const void *dict, size_t dn,
                    size_t *size, tl_err *e) {
  /* Raw content that starts like a formatted dictionary would be read as
  ** one: without its first byte it is not. */
  if (dn >= 4 && memcmp(dict, TL_ZS_DICT_MAGIC, 4) == 0) {
    dict = (const uint8_t *)dict + 1;
    dn--;
  }
  tl_buf out;
  tl_buf_init(&out);
  size_t bound = ZSTD_compressBound(n);
  ZSTD_CCtx *cctx = ZSTD_createCCtx();
  size_t got = !cctx || tl_buf_reserve(&out, bound)
                   ? 0
                   : ZSTD_compress_usingDict(cctx, out.p, bound, src, n, dict, dn, z->level);
  ZSTD_freeCCtx(cctx);
  tl_buf_free(&out);
  if (!cctx || out.oom || ZSTD_isError(got))
    return tl_err_set(e, TL_ENOMEM, "%s: compression failed", z->who);
  *size = got;
  return TL_OK;
}

int tl_zs_train(const tl_buf *samples, const size_t *sizes, unsigned count, size_t dict_size,
                tl_buf *dict, tl_err *e) {
  size_t cap = samples->n / TL_ZS_MIN_SAMPLE_RATIO;
  if (cap > dict_size) cap = dict_size;
  if (count < TL_ZS_MIN_SAMPLES || cap < TL_ZS_MIN_DICT) return TL_OK;
  if (tl_buf_reserve(dict, cap)) return tl_err_set(e, TL_ENOMEM, "dictionary: out of memory");
  /* A failed training means the samples hold nothing a dictionary would
  ** help with (zdict.h): the answer is then no dictionary. */
  size_t got = ZDICT_trainFromBuffer(dict->p + dict->n, cap, samples->p, sizes, count);
  if (!ZDICT_isError(got)) dict->n += got;
  return TL_OK;
}
