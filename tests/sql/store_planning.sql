-- Query planning on a tracelite table: the plan letters of xBestIndex
-- (tracelite_vtab.c: idxNum = the span fields the query reads, idxStr = one
-- letter per constraint handed to xFilter) and, through
-- tracelite_blocks_read(), how many blocks a query decodes.  The data is
-- trace_generate(200, 5) in blocks of 100 spans, ordered by start time so
-- that blocks cover disjoint time ranges.
.mode list
.headers off
CREATE VIRTUAL TABLE p USING tracelite(format=cbor_zstd, block_spans=100);
INSERT INTO p SELECT * FROM trace_generate(200, 5) ORDER BY start_ns;
CREATE TEMP TABLE t AS SELECT count(*) AS blocks FROM p_blocks;
SELECT blocks > 10 FROM t;
-- idxNum 0: count(*) reads no column; 1 = ids; 4 = name; 2048 = duration_ns
-- alone (start_ns and end_ns are 2); 4095 = every field.
EXPLAIN QUERY PLAN SELECT count(*) FROM p;
EXPLAIN QUERY PLAN SELECT * FROM p;
EXPLAIN QUERY PLAN SELECT sum(duration_ns) FROM p;
EXPLAIN QUERY PLAN SELECT sum(duration_ns) FROM p WHERE end_ns > 0;
EXPLAIN QUERY PLAN SELECT name FROM p WHERE trace_id = 'x';
EXPLAIN QUERY PLAN SELECT name FROM p WHERE trace_id IN ('x', 'y');
EXPLAIN QUERY PLAN SELECT name FROM p WHERE start_ns >= 5 AND start_ns < 10 AND end_ns > 7;
EXPLAIN QUERY PLAN SELECT name FROM p WHERE service = 'cart' AND status_code = 'ERROR';
EXPLAIN QUERY PLAN SELECT name FROM p WHERE rowid = 1048576;
EXPLAIN QUERY PLAN SELECT name FROM p WHERE trace_id = 'x' COLLATE NOCASE;
-- A trace kept in one block is read from that block alone.
CREATE TEMP TABLE one AS SELECT trace_id FROM p GROUP BY trace_id
  HAVING count(DISTINCT rowid >> 20) = 1 ORDER BY trace_id LIMIT 1;
CREATE TEMP TABLE r0 AS SELECT tracelite_blocks_read() AS n;
SELECT count(*) > 0 FROM p WHERE trace_id = (SELECT trace_id FROM one);
SELECT tracelite_blocks_read() - n FROM r0;
-- count(*) decodes nothing; a full scan of a column decodes every block.
DELETE FROM r0; INSERT INTO r0 SELECT tracelite_blocks_read();
SELECT count(*) = (SELECT sum(n) FROM p_blocks) FROM p;
SELECT tracelite_blocks_read() - n FROM r0;
SELECT count(DISTINCT name) > 5 FROM p;
SELECT tracelite_blocks_read() - n = (SELECT blocks FROM t) FROM r0;
-- A time range decodes the blocks it overlaps, and gives what a full scan
-- (+start_ns defeats the plan) gives.
CREATE TEMP TABLE range AS SELECT min_start AS a, max_start AS b FROM p_blocks ORDER BY id LIMIT 1 OFFSET 3;
-- Blocks whose start range touches [a, b]: the block itself, and its
-- neighbours only if they share a boundary timestamp.
SELECT count(*) FROM p_blocks, range WHERE max_start >= a AND min_start <= b;
DELETE FROM r0; INSERT INTO r0 SELECT tracelite_blocks_read();
CREATE TEMP TABLE planned AS SELECT span_id FROM p WHERE start_ns BETWEEN (SELECT a FROM range) AND (SELECT b FROM range);
SELECT tracelite_blocks_read() - n FROM r0;
SELECT count(*) FROM planned;
SELECT (SELECT group_concat(span_id) FROM planned) =
       (SELECT group_concat(span_id) FROM p, range WHERE +start_ns BETWEEN a AND b);
