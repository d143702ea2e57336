-- Latency by operation of server spans: calls, p50, p99 and max, exact
-- (latency_percentile interpolates linearly between ranks; docs/percentiles.md).
SELECT service,
       name                                                     AS operation,
       count(*)                                                 AS calls,
       round(latency_percentile(duration_ns, 0.50) / 1e6, 3)    AS p50_ms,
       round(latency_percentile(duration_ns, 0.99) / 1e6, 3)    AS p99_ms,
       round(max(duration_ns) / 1e6, 3)                         AS max_ms
  FROM spans
 WHERE kind IN ('SERVER', 'CONSUMER')
 GROUP BY service, name
HAVING calls >= 10
 ORDER BY p99_ms DESC
 LIMIT 30;
