-- A tracelite table end to end on the hand-written trace of
-- testdata/sql/checkout.json (3 spans, services frontend and payment, two
-- ERROR spans): options, shadow tables, block metadata, commands, DELETE
-- and tracelite_stats.  (Error messages are tested in tests/py/test_store.py:
-- the shell prints them on stderr, out of order with the results.)  Times in the file are
-- 1700000000000000000 + 0/10/20 ms (start) and + 250/240/230 ms (end).
.mode list
.headers off
CREATE VIRTUAL TABLE spans USING tracelite(format=cbor, block_spans=2);
SELECT k, v FROM spans_config ORDER BY k;
INSERT INTO spans SELECT * FROM trace_json(readfile('../../testdata/sql/checkout.json'));
SELECT rowid >> 20, rowid & 1048575, span_id, service, status_code FROM spans;
-- Shadow tables: block 1 holds the two frontend spans, block 2 the payment
-- span; status 4 = ERROR only, 1 = UNSET only; services are packed ids.
SELECT name FROM sqlite_schema WHERE name LIKE 'spans%' ORDER BY name;
SELECT id, n, ntraces, min_start, max_start, min_end, max_end, status, hex(services), ndjson
  FROM spans_blocks;
SELECT id, name FROM spans_services;
SELECT count(*), count(DISTINCT k), group_concat(block) FROM spans_traces;
-- Commands.
INSERT INTO spans(spans) VALUES('integrity-check');
INSERT INTO spans(spans) VALUES('optimize');
SELECT id, n, ntraces, status, hex(services), ndjson > 0 FROM spans_blocks;
SELECT span_id FROM spans;
-- DELETE and the stats of what is left.
DELETE FROM spans WHERE service = 'payment';
SELECT count(*), group_concat(span_id) FROM spans;
SELECT schema, name, format, blocks, spans, traces, bytes > 0, ndjson_bytes,
       ndjson_bytes = length(CAST(trace_export('spans') AS BLOB))
  FROM tracelite_stats;
DROP TABLE spans;
SELECT count(*) FROM sqlite_schema;
