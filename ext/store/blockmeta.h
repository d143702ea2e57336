/*
** blockmeta.h — the pure-C pieces of the block store: what is computed
** about a run of spans before it is written as a block (time ranges, status
** mask, trace keys), the trace key function that is part of the on-disk
** format, the packed list of service ids, and the small hash tables the
** store keeps in memory (pending deletes, the services dictionary).
** docs/storage.md describes the columns these values go into.
*/
#ifndef TL_STORE_BLOCKMETA_H
#define TL_STORE_BLOCKMETA_H

#include <stddef.h>
#include <stdint.h>

#include "../common/buf.h"
#include "../span/span.h"

/* ---- trace keys ------------------------------------------------------------
** The trace index stores a 48-bit hash of each trace id (a signed integer
** in [-2^47, 2^47), which SQLite stores in 6 bytes), not the 16-byte id.
** Different ids can share a key: readers compare the decoded ids.  The
** function is part of the storage format (storage version 1) and must never
** change. */
int64_t tl_trace_key(const uint8_t trace_id[16]);

/* ---- a map of 64-bit keys to 64-bit values (open addressing) ------------ */
typedef struct tl_u64map {
  uint64_t *keys;
  uint64_t *vals;
  uint8_t *used;
  size_t cap, n;
} tl_u64map;

void tl_u64map_init(tl_u64map *m);
void tl_u64map_free(tl_u64map *m);
void tl_u64map_clear(tl_u64map *m);
/* Inserts or replaces; TL_OK or TL_ENOMEM. */
int tl_u64map_put(tl_u64map *m, uint64_t key, uint64_t val);
/* 1 and *val when present, else 0. */
int tl_u64map_get(const tl_u64map *m, uint64_t key, uint64_t *val);

/* ---- block metadata --------------------------------------------------------
** Times are compared as SQLite compares the start_ns/end_ns columns: as
** signed 64-bit integers. */
typedef struct tl_block_meta {
  uint32_t n;        /* spans */
  uint32_t ntraces;  /* distinct trace keys */
  int64_t min_start, max_start, min_end, max_end;
  uint32_t status;   /* bit (1 << status_code) for every status present */
} tl_block_meta;

/* A growable array of int64 (trace keys, block ids, service ids). */
typedef struct tl_i64vec {
  int64_t *v;
  size_t n, cap;
} tl_i64vec;

int tl_i64vec_push(tl_i64vec *a, int64_t x);
void tl_i64vec_free(tl_i64vec *a);
/* Sorts and removes duplicates. */
void tl_i64vec_sort_unique(tl_i64vec *a);

/* Metadata of spans[0..n) (n >= 1) and their distinct trace keys, sorted,
** in keys (cleared first).  seen is scratch kept between calls. */
int tl_block_meta_compute(tl_span *const *spans, size_t n, tl_block_meta *m, tl_i64vec *keys,
                          tl_u64map *seen);

/* ---- packed id lists ---------------------------------------------------------
** A block's services are a sorted list of service ids stored as one blob:
** LEB128 varints, the first id and then the (positive) differences. */
void tl_idlist_encode(tl_buf *out, const int64_t *ids, size_t n);
/* Decodes into out (cleared first); TL_EFORMAT if the bytes are not a
** strictly increasing list of positive ids. */
int tl_idlist_decode(const uint8_t *p, size_t len, tl_i64vec *out);
/* 1 if the list holds id, 0 if not, TL_EFORMAT if the bytes are bad. */
int tl_idlist_has(const uint8_t *p, size_t len, int64_t id);

/* ---- strings to ids ----------------------------------------------------------
** The services dictionary in memory: name -> id, names copied. */
typedef struct tl_strmap {
  tl_u64map index; /* hash -> first entry + 1 */
  struct tl_strent {
    char *s;
    uint32_t len;
    int64_t id;
    size_t next; /* next entry with the same hash, + 1; 0 ends */
  } *ents;
  size_t n, cap;
} tl_strmap;

void tl_strmap_init(tl_strmap *m);
void tl_strmap_free(tl_strmap *m);
void tl_strmap_clear(tl_strmap *m);
/* The id of s, or 0 when absent (ids are > 0). */
int64_t tl_strmap_get(const tl_strmap *m, const char *s, size_t len);
int tl_strmap_put(tl_strmap *m, const char *s, size_t len, int64_t id);

/* ---- pending deletes ---------------------------------------------------------
** DELETE marks spans here, by block id and position; the marks are applied
** (blocks dropped or rewritten) at the next savepoint or commit, and scans
** skip marked spans until then. */
typedef struct tl_delblock {
  int64_t id;
  uint32_t n;     /* spans in the block */
  uint32_t ndel;  /* marked */
  uint64_t *bits;
} tl_delblock;

typedef struct tl_delmap {
  tl_delblock *v;
  size_t n, cap;
  tl_u64map index; /* block id -> entry + 1 */
} tl_delmap;

void tl_delmap_init(tl_delmap *d);
void tl_delmap_free(tl_delmap *d);
void tl_delmap_clear(tl_delmap *d);
tl_delblock *tl_delmap_find(const tl_delmap *d, int64_t id);
/* Marks position pos of block id (which holds n spans). */
int tl_delmap_mark(tl_delmap *d, int64_t id, uint32_t n, uint32_t pos);
static inline int tl_delblock_has(const tl_delblock *b, uint32_t pos) {
  return pos < b->n && (b->bits[pos >> 6] >> (pos & 63)) & 1;
}

#endif
