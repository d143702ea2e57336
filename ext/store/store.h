/*
** store.h — the block store behind a tracelite table: shadow tables, the
** write buffer, blocks in and out, the trace index, deletes, optimize and
** integrity-check.  ext/vtab/tracelite_vtab.c is the SQLite module on top
** of it; ext/vtab/stats.c reads the shadow tables through it.
** docs/storage.md is the user-level description; the byte layout of a
** block blob is codec.h's envelope plus the codec's payload.
**
** One tl_store per table per connection.  No global state: everything
** hangs off the store (or off the cursor's tl_scan).
**
** Rowids: a span's rowid is (block id << TL_POS_BITS) | position in the
** block.  Spans still in the write buffer already have theirs: the buffer
** becomes block next_id when it is flushed, in the same order.
**
** Errors: every function returns a SQLite result code and leaves a message
** in *st->zerr (the vtab's zErrMsg), always starting "tracelite: table
** <name>: ".  A block that does not decode, or metadata that contradicts
** the data, is SQLITE_CORRUPT_VTAB with "... block <id>: <what>".
**
** The files, by responsibility (those that call SQLite are named *_sql.c,
** the Makefile's mark of glue code: in the extension, not in libtl.a):
**   options.c          the key=value options (pure C, options.h)
**   blockmeta.c        block metadata, trace keys, id lists, hash tables
**                      (pure C, blockmeta.h)
**   schema_sql.c       shadow table names and CREATE statements, config and
**                      version check, statement cache, cached state
**   block_write_sql.c  the write buffer, flushing, writing one block
**   block_read_sql.c   block metadata rows and reading one block's blob
**   scan_sql.c         a cursor's walk over blocks with its filters
**   group_sql.c        a scan's rows grouped by service (GROUP BY service)
**   trace_index_sql.c  the trace index
**   maintenance_sql.c  deletes, 'optimize', 'integrity-check', NDJSON counts
*/
#ifndef TL_STORE_H
#define TL_STORE_H

#include "sqlite3ext.h"

#include "../codec/codec.h"
#include "../vtab/register.h"
#include "../vtab/row.h"
#include "blockmeta.h"
#include "options.h"

/* The storage version this build writes and the newest it reads. */
#define TL_STORE_VERSION 1
#define TL_POS_BITS 20
#define TL_ROWID(block, pos) (((sqlite3_int64)(block) << TL_POS_BITS) | (sqlite3_int64)(pos))
/* Decoded blocks kept per table for the next cursors (tl_store.cache). */
#define TL_BLOCK_CACHE 4
/* A dictionary is only trained on a sample of at least this many spans. */
#define TL_TRAIN_MIN_SPANS 1024

/* Cached statements (schema_sql.c has their SQL). */
enum {
  TL_SQL_BLOCK_INSERT,
  TL_SQL_BLOCK_DELETE,
  TL_SQL_BLOCK_META,     /* one block's metadata by id */
  TL_SQL_BLOCK_SCAN,     /* every block's metadata, by id */
  TL_SQL_BLOCK_ORDER,    /* ids in optimize order */
  TL_SQL_BLOCK_MAXID,
  TL_SQL_BLOCK_SPANS,     /* spans stored */
  TL_SQL_BLOCK_NO_NDJSON, /* metadata of blocks without an NDJSON count */
  TL_SQL_TRACE_INSERT,
  TL_SQL_TRACE_DELETE,
  TL_SQL_TRACE_DROP_BLOCKS,
  TL_SQL_TRACE_LOOKUP,
  TL_SQL_TRACE_SCAN,
  TL_SQL_SERVICE_SCAN,
  TL_SQL_SERVICE_INSERT,
  TL_SQL_DICT_SCAN,
  TL_SQL_DICT_INSERT,
  TL_SQL_DICT_DELETE_OLD,
  TL_SQL_CONFIG_SCAN,
  TL_SQL_CONFIG_SET,
  TL_SQL_COUNT
};

/* The shadow tables are <table>_<suffix> for each of these. */
extern const char *const tl_shadow_suffixes[];
#define TL_SHADOW_COUNT 5

typedef struct tl_store {
  sqlite3 *db;
  tl_conn *conn;
  char **zerr;           /* where error messages go */
  char *schema, *name;   /* sqlite3_malloc'd */
  tl_store_opts opts;

  /* Cached state read from the shadow tables; reloaded (tl_store_load)
  ** after a rollback undid what it describes. */
  int loaded;
  void *codec_state;
  sqlite3_int64 next_id;      /* id of the next block written */
  sqlite3_int64 next_service; /* id of the next service added */
  sqlite3_int64 stored_spans; /* spans in the blocks */
  sqlite3_int64 dict_id;      /* newest dictionary, 0 if none */
  sqlite3_int64 dict_spans;   /* spans it was trained on */
  sqlite3_int64 dict_tried;   /* table spans at this connection's last training try, 0: none */
  tl_strmap services;

  /* Pending writes: spans to store (tl_row_to_span into buf with
  ** rowcache), spans to delete. */
  tl_batch *buf;
  tl_row_cache *rowcache;
  tl_delmap dels;

  /* Scratch reused by every block written. */
  tl_buf blob, text;
  tl_block_meta meta;
  tl_i64vec keys, ids;
  tl_u64map seen;
  tl_span **ptrs;
  size_t ptrs_cap;

  /* The last blocks cursors decoded, kept for the next cursors: a join
  ** that looks traces up one by one (trace_critical_path over many traces)
  ** asks for the same few neighbouring blocks again and again.  An entry is
  ** valid while nothing could have changed its block: same id, at least the
  ** fields asked for, and neither this connection's change counter (any
  ** INSERT/UPDATE/DELETE, ours or the user's on the shadow tables) nor the
  ** file's data version (another connection's commit) moved.  Cursors read
  ** an entry in place (users of them); a decoded block replaces the least
  ** recently used entry no cursor is reading. */
  struct tl_block_cache {
    tl_batch *batch;
    sqlite3_int64 id; /* 0: empty */
    uint32_t fields;
    sqlite3_int64 changes;
    unsigned int dv;
    int users;
    uint64_t used;    /* LRU clock */
  } cache[TL_BLOCK_CACHE];
  uint64_t cache_clock;

  sqlite3_stmt *stmt[TL_SQL_COUNT];
} tl_store;

/* ---- schema_sql.c --------------------------------------------------------- */

/* Fills st (no I/O).  schema and name are copied. */
int tl_store_init(tl_store *st, sqlite3 *db, tl_conn *conn, const char *schema,
                  const char *name, char **zerr);
void tl_store_free(tl_store *st);
/* xCreate: the shadow tables and the config rows for o. */
int tl_store_create(tl_store *st, const tl_store_opts *o);
/* xConnect: reads and checks %_config (version, format, options). */
int tl_store_read_config(tl_store *st);
/* xDestroy: drops every shadow table. */
int tl_store_drop(tl_store *st);
/* xRename: renames every shadow table; st->name becomes zNew. */
int tl_store_rename(tl_store *st, const char *zNew);
/* A cached statement, reset and unbound; NULL with a message on error. */
sqlite3_stmt *tl_store_stmt(tl_store *st, int which);
/* The SQL of a statement, for a cursor that needs its own copy
** (sqlite3_free it); NULL when out of memory. */
char *tl_store_sql(const tl_store *st, int which);
/* Loads the cached state if a rollback (or nothing yet) invalidated it. */
int tl_store_load(tl_store *st);
/* Forgets the cached state: the next tl_store_load reads it again. */
void tl_store_invalidate(tl_store *st);

/* Error helpers: set *st->zerr and return rc.  The format is SQLite's
** printf (sqlite3_mprintf): no %zu, cast sizes to long long. */
int tl_store_error(tl_store *st, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* rc with sqlite3_errmsg() as the message. */
int tl_store_sqlerr(tl_store *st, int rc);
/* SQLITE_CORRUPT_VTAB naming a block (block < 0: no block). */
int tl_store_corrupt(tl_store *st, sqlite3_int64 block, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Maps a tl_err from the span/codec layer to a SQLite code and message. */
int tl_store_tlerr(tl_store *st, const tl_err *e);

/* ---- block_write_sql.c ---------------------------------------------------- */

/* The buffer grew by one span (added by the caller with tl_row_to_span):
** its rowid, and a flush when the block is full. */
int tl_store_added(tl_store *st, sqlite3_int64 *rowid);
/* Writes the buffered spans as one block (nothing when empty). */
int tl_store_flush(tl_store *st);
/* Writes spans[0..n) as block id: metadata, services, index, blob.  With
** ndjson, the block's NDJSON
** size is counted and stored (it costs about a quarter of ingest time, so
** only 'optimize' does it; tracelite_stats counts blocks that lack it). */
int tl_store_write_block(tl_store *st, sqlite3_int64 id, tl_span *const *spans, size_t n,
                         int ndjson);
/* Spans stored in the blocks (not those still buffered). */
int tl_store_span_count(tl_store *st, sqlite3_int64 *n);
/* Flush and apply pending deletes: what xSync and xSavepoint do. */
int tl_store_sync(tl_store *st);
/* Drops pending writes and the cached state (xRollback, xRollbackTo). */
void tl_store_discard(tl_store *st);
/* Trains a new dictionary on train[0..nt) and makes it the one new blocks
** use, if it pays for itself over the `serves` spans it is expected to
** serve: what it saves on test[0..ntest) (spans it was not trained on)
** against the current dictionary, scaled to `serves`, must exceed its own
** size.  Otherwise (or when the codec finds too little data) nothing
** changes. */
int tl_store_train(tl_store *st, tl_span *const *train, size_t nt, tl_span *const *test,
                   size_t ntest, sqlite3_int64 serves);
/* Bytes of the canonical NDJSON of spans (the baseline of tracelite_stats). */
sqlite3_int64 tl_store_ndjson_bytes(tl_store *st, tl_span *const *spans, size_t n);
/* st->ptrs holds at least n entries. */
int tl_store_reserve_ptrs(tl_store *st, size_t n);

/* ---- block_read_sql.c ----------------------------------------------------- */

/* A block's metadata row, checked for sanity. */
typedef struct tl_blockrow {
  sqlite3_int64 id;
  tl_block_meta m;
  const uint8_t *services; /* packed id list, valid until the row's statement moves */
  int services_len;
  sqlite3_int64 ndjson;    /* -1 when unknown */
  uint32_t crc;            /* CRC-32 (zlib) of the blob */
} tl_blockrow;

/* Columns of TL_SQL_BLOCK_SCAN from col 0 (id) on; TL_SQL_BLOCK_META has the
** same columns.  SQLITE_CORRUPT_VTAB when the values are impossible. */
int tl_blockrow_read(tl_store *st, sqlite3_stmt *s, tl_blockrow *row);

/* Reads block blobs through one reusable sqlite3_blob handle. */
typedef struct tl_blockrd {
  tl_store *st;
  sqlite3_blob *blob;
  tl_buf data;
} tl_blockrd;

void tl_blockrd_init(tl_blockrd *r, tl_store *st);
void tl_blockrd_close(tl_blockrd *r); /* releases the handle, keeps the buffer */
void tl_blockrd_free(tl_blockrd *r);
/* Decodes block row->id, appending its spans to b.  The blob must match
** the row's CRC and span count before the codec sees it. */
int tl_blockrd_decode(tl_blockrd *r, const tl_blockrow *row, uint32_t fields, tl_batch *b);
/* The same for a reader of traces[0..ntraces) alone (sorted; NULL: all):
** with a codec that has decode_traces (codec.h) only their spans are
** complete, the others have ids and times. */
int tl_blockrd_decode_traces(tl_blockrd *r, const tl_blockrow *row, uint32_t fields,
                             const uint8_t (*traces)[16], size_t ntraces, tl_batch *b);
/* The ids and times of block row->id into arrays (the codec must have
** decode_cols; strings interned in b). */
int tl_blockrd_decode_cols(tl_blockrd *r, const tl_blockrow *row, uint32_t fields, tl_cols *out,
                           tl_batch *b);
/* The durations of block row->id into out->duration (the codec must have
** decode_durations), reading only the part of the blob they need: that
** part is checked by the codec, the whole blob against the row's CRC when
** it is read whole. */
int tl_blockrd_decode_durations(tl_blockrd *r, const tl_blockrow *row, tl_cols *out);

/* ---- trace_index_sql.c ---------------------------------------------------- */

int tl_index_add(tl_store *st, sqlite3_int64 block, const tl_i64vec *keys);
int tl_index_remove(tl_store *st, sqlite3_int64 block, const tl_i64vec *keys);
/* Removes every entry of these blocks (one pass over the index). */
int tl_index_drop_blocks(tl_store *st, const tl_i64vec *blocks);
/* Appends the blocks that may hold trace key k. */
int tl_index_lookup(tl_store *st, int64_t key, tl_i64vec *blocks);

/* ---- maintenance_sql.c ---------------------------------------------------- */

/* DELETE of one row by rowid: marked, applied by tl_store_sync. */
int tl_store_mark_delete(tl_store *st, sqlite3_int64 rowid);
int tl_store_apply_deletes(tl_store *st);
int tl_store_optimize(tl_store *st);
/* The NDJSON bytes of every block stored without the count (decoded and
** counted here, read-only), added to *bytes. */
int tl_store_count_ndjson(tl_store *st, sqlite3_int64 *bytes);
/* Decodes every block and checks it against its metadata, the services
** dictionary and the trace index: SQLITE_CORRUPT_VTAB at the first
** problem.  With flush, pending writes are stored first. */
int tl_store_integrity(tl_store *st, int flush);

/* ---- scan_sql.c ----------------------------------------------------------- */

/* What a cursor is asked for; built by the vtab's xFilter. */
typedef struct tl_scan_filter {
  int empty;                   /* a constraint no row can meet */
  uint8_t (*traces)[16];       /* sorted trace ids; NULL = any */
  size_t ntraces;
  int64_t start_lo, start_hi;  /* inclusive bounds on start_ns */
  int64_t end_lo, end_hi;      /* ... and end_ns */
  const char *service;         /* service = ? (skips blocks only) */
  size_t service_len;
  uint32_t status_mask;        /* status_code = ? (skips blocks only); 0 = any */
  int has_rowid;
  sqlite3_int64 rowid;
  uint32_t fields;             /* TL_FIELD_* the query reads */
} tl_scan_filter;

enum { TL_COLS_TIMES = 1, TL_COLS_DURATIONS = 2 };

typedef struct tl_scan {
  tl_store *st;
  tl_scan_filter f;
  sqlite3_stmt *rows;     /* block metadata: a full scan, or by id */
  int by_id;              /* rows is TL_SQL_BLOCK_META, walked over ids */
  tl_i64vec ids;
  size_t next_id;
  int64_t service_id;
  tl_blockrow cur;
  const tl_delblock *del; /* pending deletes of cur, if any */
  int need_check;         /* spans of cur must be checked one by one */
  int decoded;
  uint32_t pos;
  int eof;
  tl_batch *batch;        /* the cursor's own decoded block */
  struct tl_block_cache *entry; /* the store's cache entry it reads, or NULL */
  tl_batch *view;         /* where the current block's spans are */
  uint64_t views;         /* counts the views taken: a reader that keys
                             anything on addresses in `view` (interned
                             strings) knows when they may have changed */
  tl_blockrd rd;
  /* A scan that reads ids and times alone, on a codec with decode_cols,
  ** decodes blocks into arrays (cols) and builds the current span from
  ** them (row, for row_pos) instead of a tl_span per span of the block;
  ** one that reads duration_ns alone, the durations (decode_durations). */
  int cols_mode; /* 0, TL_COLS_TIMES, TL_COLS_DURATIONS */
  tl_cols cols;
  tl_span row;
  uint32_t row_pos;
} tl_scan;

int tl_scan_init(tl_scan *sc, tl_store *st);
void tl_scan_free(tl_scan *sc);
/* Starts a scan; takes ownership of f->traces (sqlite3_malloc'd). */
int tl_scan_start(tl_scan *sc, tl_scan_filter *f);
/* tl_scan_next and tl_scan_span are on the path of every row: their common
** case (the next span of a block every span of which is shown; a block
** already decoded) is inline, the rest is tl_scan_step / tl_scan_decode. */
int tl_scan_step(tl_scan *sc);
const tl_span *tl_scan_decode(tl_scan *sc, int *rc);
static inline int tl_scan_next(tl_scan *sc) {
  if (!sc->eof && !sc->need_check && !sc->f.has_rowid && !sc->st->dels.n &&
      sc->pos + 1 < sc->cur.m.n) {
    sc->pos++;
    return SQLITE_OK;
  }
  return tl_scan_step(sc);
}
/* The span at sc->pos of the current block, decoded (cols mode) */
const tl_span *tl_scan_cols_span(tl_scan *sc);
/* The span at sc->pos of the current block, which is decoded.  In cols
** mode it is rebuilt for each row: valid until tl_scan_next. */
static inline const tl_span *tl_scan_current(tl_scan *sc) {
  if (sc->cols_mode) return sc->row_pos == sc->pos ? &sc->row : tl_scan_cols_span(sc);
  return tl_batch_span(sc->view, sc->pos);
}
/* The current span, decoded on first use; NULL on error (rc in *rc). */
static inline const tl_span *tl_scan_span(tl_scan *sc, int *rc) {
  if (!sc->decoded) return tl_scan_decode(sc, rc);
  *rc = SQLITE_OK;
  return tl_scan_current(sc);
}
static inline sqlite3_int64 tl_scan_rowid(const tl_scan *sc) {
  return TL_ROWID(sc->cur.id, sc->pos);
}

/* ---- group_sql.c -------------------------------------------------------------
** GROUP BY service (or ORDER BY service) answered by the table, so SQLite
** needs no sorter: rows come out group by group, services in BINARY order,
** NULL first (all reversed for desc), each group in scan order.  The vtab
** takes that plan only when the query reads no column but the service and
** what `keep` can hold, and when the table's rows fit in TL_GROUP_MAX_BYTES
** (a rowid and 8 bytes a value kept), or in a quarter of SQLite's soft heap
** limit when that is lower.  Should the table have grown past it by the time
** the statement runs, the table is walked once per service. */
#define TL_GROUP_MAX_BYTES (256u << 20)
enum {
  TL_GROUP_TIMES = 1,    /* start_ns and end_ns (and so duration_ns) */
  TL_GROUP_DURATION = 2, /* duration_ns alone */
  TL_GROUP_CODES = 4     /* kind and status_code */
};

typedef struct tl_group tl_group;
typedef struct tl_groups {
  tl_scan *sc;
  tl_scan_filter f; /* for the walks */
  int keep, desc, nslot, walks, eof;
  tl_group *g;      /* sorted by service once collected */
  size_t ng, cap, gi, ri; /* groups; the current group (in output order) and row */
  uint32_t *slots;  /* service -> group + 1, while collecting */
  size_t mask;
} tl_groups;

/* Whether the rows of the whole table, keeping `keep`, fit the budget (the
** planner asks; it loads the store's cached state). */
int tl_groups_fit(tl_store *st, int keep);
void tl_groups_init(tl_groups *gr);
void tl_groups_free(tl_groups *gr);
/* Starts the grouped rows of filter f (which has no trace or rowid
** filter) on the cursor's scan sc. */
int tl_groups_start(tl_groups *gr, tl_scan *sc, tl_scan_filter *f, int keep, int desc);
int tl_groups_next(tl_groups *gr);
sqlite3_int64 tl_groups_rowid(const tl_groups *gr);
/* The value of column col (the service or one of `keep`) of the current row. */
int tl_groups_result(tl_groups *gr, sqlite3_context *ctx, int col, tl_buf *scratch);

/* ---- direct reads (tracelite_vtab.c) ---------------------------------------
** The analysis functions read a tracelite table's spans as tl_span, without
** turning them into SQL values and parsing them back.  They bind a tl_direct
** with sqlite3_bind_pointer(stmt, 1, d, TL_DIRECT_TYPE, NULL) to
**   SELECT 1 FROM <table> WHERE <table> = ?1 [AND <constraints on columns>]
** (the hidden command column, which is always NULL, so no SQL value can
** match it) and step it.  The table's xFilter builds the filter from the
** other constraints exactly as for any SELECT, stores this connection's
** pending inserts as a SELECT does, sets entered and calls run() with the
** cursor's scan.  run() sets f->fields, starts the scan (tl_scan_start, as
** often as it likes) and walks it; its SQLite code is xFilter's.  The
** statement returns no rows.  Nothing outlives the call: the table is
** connected and locked by the statement while run() works. */
#define TL_DIRECT_TYPE "tracelite_direct_v1"
typedef struct tl_direct tl_direct;
struct tl_direct {
  int (*run)(tl_direct *d, tl_scan *sc, tl_scan_filter *f);
  int entered;
};

#endif
