/*
** register.h — what each SQLite glue file registers on a connection.
** ext/tracelite.c calls these from sqlite3_tracelite_init() in order and
** stops at the first error.  Every glue file starts with
**   #include "sqlite3ext.h"
**   SQLITE_EXTENSION_INIT3
** (SQLITE_EXTENSION_INIT1 lives in ext/tracelite.c alone).
*/
#ifndef TL_REGISTER_H
#define TL_REGISTER_H

#include "sqlite3ext.h"

#include "row.h"

/* What the modules and functions of one connection share.  The entry point
** creates it; every module or function registered with it holds a reference
** (tl_conn_ref before registering, tl_conn_unref as the destructor SQLite
** calls when it drops the registration), so it lives exactly as long as
** something can still use it, across a second .load of the extension. */
struct tl_conn {
  int refs;
  sqlite3_int64 blocks_decoded; /* tracelite_blocks_read() */
  sqlite3_int64 rows_copied;    /* tracelite_rows_copied() */
  uint64_t serial;              /* the last batch serial handed out (tl_row_offer) */
  tl_row_offer *offer;          /* the source row shown last, or NULL */
};

tl_conn *tl_conn_new(void);          /* holds one reference */
tl_conn *tl_conn_ref(tl_conn *conn); /* returns conn */
void tl_conn_unref(void *conn);      /* frees at the last reference */

int tl_register_trace_file(sqlite3 *db, tl_conn *conn); /* trace_file(), trace_json() — trace_file.c */
int tl_register_export(sqlite3 *db);       /* trace_export()               — export.c */
int tl_register_generate(sqlite3 *db, tl_conn *conn); /* trace_generate(), trace_generate_truth() — generate.c */
int tl_register_tracelite(sqlite3 *db, tl_conn *conn); /* the tracelite module, tracelite_blocks_read() — tracelite_vtab.c */
int tl_register_stats(sqlite3 *db);        /* tracelite_stats              — stats.c */
int tl_register_percentile(sqlite3 *db);   /* latency_percentile()         — analysis/percentile_sql.c */
int tl_register_sketch(sqlite3 *db);       /* latency_sketch(), sketch_merge(), sketch_quantile(), sketch_count() — analysis/sketch_sql.c */
int tl_register_critical_path(sqlite3 *db); /* trace_critical_path, critical_path() — analysis/critical_path_sql.c */
int tl_register_topology(sqlite3 *db);      /* trace_topology, trace_topology_dot() — analysis/topology_sql.c */
int tl_register_waterfall(sqlite3 *db);     /* trace_waterfall()            — analysis/waterfall_sql.c */
int tl_register_columns(sqlite3 *db);       /* tracelite_columns()          — codec/columns_sql.c */

#endif
