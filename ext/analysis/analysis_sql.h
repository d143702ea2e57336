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
*/
#ifndef TL_ANALYSIS_SQL_H
#define TL_ANALYSIS_SQL_H

#include "sqlite3ext.h"
#include "../vtab/tvf.h"
#include "trace_tree.h"

enum {
  TL_SRC_TRACE = 1,   /* WHERE trace_id = ?1 */
  TL_SRC_SCAN = 2,    /* every row, trace_id as column 0 */
  TL_SRC_WINDOW = 4,  /* with SCAN: WHERE start_ns >= ?1 AND start_ns < ?2 */
  TL_SRC_SORTED = 8,  /* with SCAN: ORDER BY trace_id */
  TL_SRC_REMOTE = 16  /* read peer.service from attributes (Zipkin links) */
};

/* A prepared reader; reused while the table and flags stay the same. */
typedef struct tl_src {
  sqlite3_stmt *stmt;
  char *table;
  int flags;
} tl_src;

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
