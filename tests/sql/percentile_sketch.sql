-- latency_sketch() and friends on hand-checked values.  The blob of
-- {0, 1, 1, 2} at 1% is the worked example of docs/percentiles.md:
-- DD4B | 01 | 904E (10000 millionths) | 01 (one zero) | 02 (two runs) |
-- 00 00 01 (bucket 0, length 1, count 2) | 21 00 00 (34 empty buckets
-- later: bucket 35 = ceil(ln 2 / ln(1.01/0.99)), length 1, count 1).
.mode list
CREATE TABLE v(g, x);
INSERT INTO v VALUES (1, 0), (1, 1), (2, 1), (2, 2), (3, NULL);
SELECT hex(latency_sketch(x)), length(latency_sketch(x)) FROM v;
SELECT hex(latency_sketch(x, 0.02)) FROM v;
-- Counts and quantiles: 0 is exact; 1 stands for 0.99 (bucket 0 is
-- (0.9802, 1]); 2 for 1.01^35/0.99^34, about 1.9937.
SELECT sketch_count(s), sketch_quantile(s, 0), sketch_quantile(s, 0.5),
       printf('%.4f', sketch_quantile(s, 1))
  FROM (SELECT latency_sketch(x) s FROM v);
-- Merging the groups' sketches gives the sketch of the whole, byte for byte.
SELECT sketch_merge(s) = (SELECT latency_sketch(x) FROM v) FROM (SELECT latency_sketch(x) s FROM v GROUP BY g);
SELECT quote(sketch_merge(s)) FROM (SELECT latency_sketch(x) s FROM v WHERE g = 3);
-- 1000 latencies 1..1000 ms at 1%: a few hundred bytes, p99 within 1% of
-- the exact 990.01 ms.
SELECT length(latency_sketch(value * 1000000)),
       printf('%.2f', latency_percentile(value * 1000000, 0.99) / 1e6),
       printf('%.2f', sketch_quantile(latency_sketch(value * 1000000), 0.99) / 1e6),
       abs(sketch_quantile(latency_sketch(value * 1000000), 0.99) / latency_percentile(value * 1000000, 0.99) - 1) <= 0.01
  FROM generate_series(1, 1000);
-- Blobs are checked when read (the script stops here).
SELECT sketch_quantile(x'DD4B01904E01020000012100', 0.5);
