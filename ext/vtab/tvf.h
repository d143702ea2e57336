/*
** tvf.h — planning the hidden argument columns of a table-valued function,
** shared by every one in tracelite (span sources, trace_generate_truth,
** trace_critical_path, trace_topology, ...).
**
** Plan encoding: idxNum bit i (i < nargs <= TL_TVF_MAX_ARGS) is set when
** argument i has a usable equality constraint; xFilter's argv holds those
** values in argument order.  A plan where an argument is constrained but not
** usable (its value comes from a table later in the join) is refused with
** SQLITE_CONSTRAINT so that SQLite picks a join order that supplies it.
*/
#ifndef TL_TVF_H
#define TL_TVF_H

#include "sqlite3ext.h"

#define TL_TVF_MAX_ARGS 8

/* Arguments are the columns first .. first+nargs-1.  Sets idxNum and the
** constraint usage; the caller sets the costs.  SQLITE_OK or
** SQLITE_CONSTRAINT. */
int tl_tvf_best_index(sqlite3_index_info *info, int first, int nargs);

/* Replaces args[0..nargs) by copies of xFilter's argv, placed by idxNum
** (missing arguments NULL); with argc 0 it only frees them.  Returns the
** number of argument positions up to the last one given, or -1 when out of
** memory. */
int tl_tvf_filter_args(sqlite3_value **args, int nargs, int idxNum, int argc,
                       sqlite3_value **argv);

#endif
