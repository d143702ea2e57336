-- latency_percentile(): the interpolation rule on a hand-checked table (see
-- docs/percentiles.md).  Ten latencies 10..100 ms in service 'a', NULLs
-- ignored; service 'b' has one value.  For 'a', h = p*9: p = 0.5 gives
-- 50 + 0.5*10 = 55, p = 0.9 gives 90 + 0.1*10 = 91, p = 0.99 gives
-- 90 + 0.91*10 = 99.1, p = 0.25 gives 30 + 0.25*10 = 32.5.
.mode list
CREATE TABLE spans(service TEXT, duration_ns INTEGER);
INSERT INTO spans VALUES ('a', 30000000), ('a', 10000000), ('a', NULL), ('a', 100000000),
  ('a', 20000000), ('a', 50000000), ('a', 40000000), ('a', 90000000), ('a', 60000000),
  ('a', 80000000), ('a', 70000000), ('b', 1234), ('b', NULL);
SELECT service, latency_percentile(duration_ns, 0), latency_percentile(duration_ns, 0.25),
       latency_percentile(duration_ns, 0.5), latency_percentile(duration_ns, 0.9),
       latency_percentile(duration_ns, 0.99), latency_percentile(duration_ns, 1)
  FROM spans GROUP BY service ORDER BY service;
-- No values: NULL.
SELECT quote(latency_percentile(duration_ns, 0.5)) FROM spans WHERE service = 'c';
-- A sliding median of three, in insertion order (NULL rows add nothing).
SELECT rowid, duration_ns / 1000000, latency_percentile(duration_ns / 1000000, 0.5)
         OVER (ORDER BY rowid ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)
  FROM spans WHERE service = 'a' ORDER BY rowid;
-- p is a fraction: 99 is refused with a hint (the script stops here).
SELECT latency_percentile(duration_ns, 99) FROM spans;
