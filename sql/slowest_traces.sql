-- The 20 slowest traces: root span, its service and operation, duration,
-- span count and whether any span failed.
-- Usage: sqlite3 traces.db -cmd '.load ./tracelite' < sql/slowest_traces.sql
-- (expects a table of spans named `spans`; edit the name for yours).
SELECT r.trace_id,
       r.service,
       r.name                             AS operation,
       round(r.duration_ns / 1e6, 3)      AS duration_ms,
       (SELECT count(*) FROM spans s WHERE s.trace_id = r.trace_id)                 AS spans,
       (SELECT count(*) FROM spans s WHERE s.trace_id = r.trace_id
                                        AND s.status_code = 'ERROR')                AS errors
  FROM spans r
 WHERE r.parent_span_id IS NULL
 ORDER BY r.duration_ns DESC
 LIMIT 20;
