-- The functions and modules tracelite registers, and trace_json/trace_export
-- on a hand-written three-span trace (testdata/sql/checkout.json); every
-- expected value was checked by hand against that file.
.mode list
.headers off
SELECT tracelite_version() GLOB '[0-9]*.[0-9]*.[0-9]*';
SELECT tracelite_debug() LIKE 'tracelite %sqlite: %zstd: %libcbor: %jansson: %';
-- The complete list of functions and table-valued functions: changing the
-- API must change this test.
SELECT DISTINCT name FROM pragma_function_list
 WHERE name LIKE 'trace%' OR name LIKE 'latency%' OR name LIKE 'sketch%' OR name LIKE 'critical%'
 ORDER BY name;
SELECT name FROM pragma_module_list WHERE name LIKE 'trace%' ORDER BY name;
.headers on
.mode line
SELECT * FROM trace_json(readfile('../../testdata/sql/checkout.json')) WHERE span_id = '00f067aa0ba902b7';
.mode list
SELECT span_id, parent_span_id, service, name, kind, duration_ns, status_code, status_message, events, links
  FROM trace_json(readfile('../../testdata/sql/checkout.json'));
SELECT json_extract(attributes, '$."http.response.status_code"') + 1,
       json_extract(resource, '$.attributes."host.name"')
  FROM trace_json(readfile('../../testdata/sql/checkout.json')) WHERE parent_span_id IS NULL;
.headers off
SELECT count(*), count(DISTINCT service), sum(status_code = 'ERROR')
  FROM trace_json(readfile('../../testdata/sql/checkout.json'));
-- Export, then read the export back: the same text.
SELECT trace_export('SELECT * FROM trace_json(readfile(''../../testdata/sql/checkout.json''))') =
       trace_export('SELECT * FROM trace_json(trace_export(''SELECT * FROM trace_json(readfile(''''../../testdata/sql/checkout.json''''))''))');
