-- The structural analyses on the hand-made trace testdata/analysis/checkout.json
-- (expected values derived by hand in docs/analysis.md, "A worked example"):
-- the critical path with per-span totals, the topology in both modes, its
-- DOT text, the waterfall, and the aggregate form.  Read from a tracelite
-- table, so the trace index answers trace_id = ?.
CREATE VIRTUAL TABLE spans USING tracelite;
INSERT INTO spans SELECT * FROM trace_file('../../testdata/analysis/checkout.json');
.headers on
.mode list
SELECT span_id, service, name, (start_ns - 1700000000000000000) / 1000000 AS start_ms,
       (end_ns - 1700000000000000000) / 1000000 AS end_ms, depth, root_span_id
  FROM trace_critical_path('spans', '5b8efff798038103d269b633813fc60c');
-- Time on the critical path per span (docs/analysis.md).
SELECT span_id, service, name, sum(end_ns - start_ns) / 1000000 AS on_path_ms
  FROM trace_critical_path('spans', '5b8efff798038103d269b633813fc60c')
 GROUP BY span_id ORDER BY on_path_ms DESC, span_id;
-- Across traces: the join form.
SELECT cp.service, sum(cp.end_ns - cp.start_ns) / 1000000 AS ms
  FROM (SELECT DISTINCT trace_id FROM spans) t, trace_critical_path('spans', t.trace_id) cp
 GROUP BY 1 ORDER BY 2 DESC;
SELECT * FROM trace_topology('spans');
SELECT * FROM trace_topology('spans', NULL, NULL, 'zipkin');
.headers off
SELECT trace_topology_dot('spans');
SELECT trace_waterfall('spans', '5b8efff798038103d269b633813fc60c');
SELECT critical_path(span_id, parent_span_id, start_ns - 1700000000000000000, end_ns - 1700000000000000000, kind)
  FROM spans WHERE service = 'cart';
