-- The operations that dominate the critical path of slow requests: over the
-- traces whose root takes longer than the p95 of all roots, the time each
-- operation spends on the critical path (docs/analysis.md), and its share.
WITH roots AS (
  SELECT trace_id, duration_ns FROM spans WHERE parent_span_id IS NULL
), slow AS (
  SELECT trace_id FROM roots
   WHERE duration_ns >= (SELECT latency_percentile(duration_ns, 0.95) FROM roots)
), path AS (
  SELECT cp.service, cp.name, cp.end_ns - cp.start_ns AS ns
    FROM slow, trace_critical_path('spans', slow.trace_id) AS cp
)
SELECT service,
       name                                           AS operation,
       round(sum(ns) / 1e6, 3)                        AS critical_ms,
       round(100.0 * sum(ns) / (SELECT sum(ns) FROM path), 2) AS share_pct
  FROM path
 GROUP BY service, name
 ORDER BY critical_ms DESC
 LIMIT 20;
