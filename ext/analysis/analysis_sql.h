/*
** analysis_sql.h — the SQLite side shared by the analysis functions
** (critical_path_sql.c, topology_sql.c, waterfall_sql.c): reading span rows
** out of a table or view named by the user into a tl_trace_buf.
**
** The named source is any table or view with the span columns: a tracelite
** table (its trace index answers `trace_id = ?`), a plain table, a view.
** Required columns: trace_id, span_id, parent_span_id, start_ns, end_ns;
** service, name, kind, status_code, links and attributes are read when
** present (NULL otherwise).  A name "schema.table" whose first part is an
** attached schema reads that schema's table.  Sources that are not in the
** schema (eponymous table-valued functions such as trace_file) are refused:
** the functions read stored spans, and must not become a way to call a
** function that is SQLITE_DIRECTONLY from a view (docs/analysis.md,
** "Security").
**
** A tracelite table is read directly (store.h, tl_direct): its spans come
** out of the store as tl_span, decoded with only the fields the analysis
** needs, and go into the tl_trace_buf without becoming SQL values; the
** filter (trace id, time window), this connection's pending writes and
** pending deletes are the table's own, as for the SELECT the other sources
** get.  Both paths give the same tl_tspan for the same span
** (tl_trace_buf_add_span), which tests/py/test_analysis.py checks by
** comparing results over the same rows as a plain table and as tracelite
** tables of every format.
*/
#ifndef TL_ANALYSIS_SQL_H
#define TL_ANALYSIS_SQL_H

#include "sqlite3ext.h"
#include "../store/store.h"
#include "../vtab/tvf.h"
#include "trace_tree.h"

enum {
  TL_SRC_TRACE = 1,   /* WHERE trace_id = ?1 */
  TL_SRC_SCAN = 2,    /* every row, trace_id as column 0 */
  TL_SRC_WINDOW = 4,  /* with SCAN: WHERE start_ns >= ?1 AND start_ns < ?2 */
  TL_SRC_SORTED = 8,  /* with SCAN: ORDER BY trace_id */
  TL_SRC_REMOTE = 16, /* read peer.service from attributes (Zipkin links) */
  TL_SRC_NAMELESS = 32 /* the analysis reads no span names: a direct read
                          leaves them "" (and the codec need not decode them) */
};

/* A prepared reader; reused while the table and flags stay the same. */
typedef struct tl_src {
  sqlite3_stmt *stmt;   /* SELECT … FROM table: ?1 (trace) or ?1, ?2 (window) */
  sqlite3_stmt *direct; /* a tracelite table's direct read: ?1 the tl_direct,
                           then the same arguments from ?2; NULL otherwise */
  sqlite3_stmt *remote; /* json_extract of peer.service, for odd values */
  tl_buf json;          /* the attributes JSON bound to `remote` */
  char *table;
  int flags;
} tl_src;

/* A direct read in progress: the caller embeds it first in its own state,
** sets base.run, src and fname, and binds its arguments (from ?2) on
** src->direct. */
#define TL_SRC_MEMO 64
typedef struct tl_src_run {
  tl_direct base;
  tl_src *src;
  const char *fname;
  tl_err e; /* the analysis's own failure, reported as "<fname>: <msg>" */
  /* Strings of the current block already interned into `into`: an address
  ** and length name one string of a block until the scan takes another
  ** view (tl_scan.views). */
  uint64_t views;
  tl_batch *into;
  struct {
    const char *from, *to;
    uint32_t len;
  } memo[TL_SRC_MEMO];
} tl_src_run;

/* Steps src->direct with r.  *ran = 0 when the source turned out not to be a
** tracelite table (src->direct is then dropped: use src->stmt). */
int tl_src_run_direct(tl_src_run *r, int *ran, char **err);

/* The fields a direct read of these TL_SRC_ flags decodes. */
uint32_t tl_src_fields(int flags);

/* Appends the current span of a direct read's scan to buf, exactly as its
** row would go through tl_trace_buf_add (with peer.service when the flags
** ask for it). */
int tl_src_add_span(tl_src_run *r, tl_trace_buf *buf, const tl_scan *sc, const tl_span *s);

/* Prepares (or keeps) the statement for table and flags.  On error returns
** a SQLite code and sets *err (sqlite3_malloc'ed) to "<fname>: <why>". */
int tl_src_prepare(tl_src *src, sqlite3 *db, const char *fname, const char *table, int flags,
                   char **err);
void tl_src_close(tl_src *src);

/* The TL_TC_COUNT cells of the current row, from column `first` on. */
void tl_src_cells(sqlite3_stmt *stmt, int first, tl_cell *cells);

/* Reads every span of one trace (a TL_SRC_TRACE source) into buf and builds
** the tree.  trace_id NULL is an error. */
int tl_src_read_trace(tl_src *src, const char *fname, sqlite3_value *trace_id, tl_trace_buf *buf,
                      tl_tree *tree, char **err);

/* xBestIndex of a table-valued function whose arguments are the hidden
** columns first .. first + nargs - 1, planned as tvf.h says; the plan is
** cheap only when the arguments of `needed` (a mask) are all there.
** xFilter copies its arguments with tl_tvf_filter_args(). */
int tl_src_best_index(sqlite3_index_info *info, int first, int nargs, int needed);

/* Maps a TL_ code and message to a SQLite code and "<fname>: <msg>". */
int tl_src_error(const char *fname, const tl_err *e, char **err);

#endif
