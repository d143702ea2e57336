/*
** waterfall.h — one trace as a text Gantt chart, for people who would
** rather look than read: trace_waterfall(table, trace_id [, width]) in the
** sqlite3 shell (waterfall_sql.c).
**
**   trace 0af7…319c: 4 spans, 4 services, 1 error, 100 us
**   service  operation   0                      50 us                    100 us
**   S1       O1          |========================================================|  100 us
**   S2         O2        |     ===========                                        |   20 us
**   S4         O4        |                                  !!!!!!!!!!!!!!!!!      |   30 us  ERROR
**
** The contract (tested in tests/py/test_analysis.py and
** tests/sql/analysis_waterfall.sql):
**  (1) One line per span in depth-first order (trace_tree.h: roots by start,
**      children by start), the operation indented two spaces per level.
**  (2) The time axis runs from the earliest start to the latest end of the
**      trace's spans; each span's bar covers the columns its interval
**      touches, at least one column, drawn with '=' ('~' for asynchronous
**      children, '!' for spans with status ERROR, which also end their line
**      with "ERROR").
**  (3) Columns: service and operation are cut at 20 and 40 characters
**      (counted in UTF-8 characters, the cut marked with '~'); the bar is
**      `width` columns (default 60, from 10 to 400); the duration is shown
**      as ns, us, ms or s.
*/
#ifndef TL_WATERFALL_H
#define TL_WATERFALL_H

#include "../common/buf.h"
#include "trace_tree.h"

#define TL_WATERFALL_WIDTH 60
#define TL_WATERFALL_MIN_WIDTH 10
#define TL_WATERFALL_MAX_WIDTH 400

/* Appends the chart of the trace to out; TL_OK or TL_ENOMEM. */
int tl_waterfall(tl_buf *out, const tl_tree *t, const tl_tspan *spans, const char *trace_id,
                 uint32_t width);

/* A duration as the chart shows it ("850 ns", "12.5 us", "3.2 ms", "1.50 s"). */
void tl_waterfall_duration(tl_buf *out, int64_t ns);

#endif
