-- Who calls whom: calls, errors and the callee's p50/p99 per edge
-- (Jaeger's counting; pass 'zipkin' as the fourth argument for Zipkin's),
-- then the same graph as Graphviz text: sqlite3 ... | dot -Tsvg > map.svg
SELECT caller, callee, calls, errors,
       round(p50_ns / 1e6, 3) AS p50_ms, round(p99_ns / 1e6, 3) AS p99_ms
  FROM trace_topology('spans')
 ORDER BY calls DESC;
