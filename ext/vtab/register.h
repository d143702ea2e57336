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

int tl_register_trace_file(sqlite3 *db);   /* trace_file(), trace_json()   — trace_file.c */
int tl_register_export(sqlite3 *db);       /* trace_export()               — export.c */
int tl_register_generate(sqlite3 *db);     /* trace_generate(), trace_generate_truth() — generate.c */
int tl_register_tracelite(sqlite3 *db);    /* the tracelite module, tracelite_blocks_read() — tracelite_vtab.c */
int tl_register_stats(sqlite3 *db);        /* tracelite_stats              — stats.c */
int tl_register_percentile(sqlite3 *db);   /* latency_percentile()         — analysis/percentile_sql.c */
int tl_register_sketch(sqlite3 *db);       /* latency_sketch(), sketch_merge(), sketch_quantile(), sketch_count() — analysis/sketch_sql.c */
int tl_register_critical_path(sqlite3 *db); /* trace_critical_path, critical_path() — analysis/critical_path_sql.c */
int tl_register_topology(sqlite3 *db);      /* trace_topology, trace_topology_dot() — analysis/topology_sql.c */
int tl_register_waterfall(sqlite3 *db);     /* trace_waterfall()            — analysis/waterfall_sql.c */
int tl_register_columns(sqlite3 *db);       /* tracelite_columns()          — codec/columns_sql.c */

#endif
