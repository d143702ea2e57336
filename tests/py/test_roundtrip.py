"""OTLP in, OTLP out: trace_export of what trace_file read equals an
independent canonicalization of the input (tests/py/otlp_canon.py) for every
OTLP file of ../shared/traces, and for every file of every format the
export reads back to exactly itself (export -> trace_json -> export)."""
import os
import unittest

import otlp_canon
from test_import import all_trace_files, is_metadata
from tlhelp import TRACES, connect

OTLP_FILES = [
    "jaeger/example_trace.json",
    "jaeger/otel_traces_01.json",
    "jaeger/skills/error_timeout_masked.json",
    "jaeger/skills/n_plus_one_full_concurrent.json",
    "jaeger/skills/n_plus_one_full_serial.json",
    "jaeger/skills/n_plus_one_near_miss.json",
    "jaeger/skills/n_plus_one_positive.json",
    "jaeger-ui/getTrace-response.json",
    "jaeger-ui/otlp2jaeger-multi-in-combined.json",
    "tempo/legacy-batches/test-sample.json",
    "tempo/trace-with-expired-edges.json",
    "tempo/trace-with-failed-requests.json",
    "tempo/trace-with-queue-database.json",
    "tempo/trace-with-virtual-nodes.json",
    "tempo/vulture/trace.json",
]


def export_file(db, path):
    return db.execute("SELECT trace_export('SELECT * FROM trace_file(''' || replace(?, '''', '''''') || ''')')",
                      (path,)).fetchone()[0]


class OtlpRoundTrip(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = connect()

    def test_otlp_files_match_independent_canonical_form(self):
        for rel in OTLP_FILES:
            with self.subTest(file=rel):
                path = os.path.join(TRACES, rel)
                expected = "".join(line + "\n" for line in otlp_canon.canonical_lines(path))
                self.assertEqual(export_file(self.db, path), expected)

    def test_every_file_reimports_to_itself(self):
        for rel in all_trace_files():
            if is_metadata(rel):
                continue
            with self.subTest(file=rel):
                first = export_file(self.db, os.path.join(TRACES, rel))
                again = self.db.execute(
                    "SELECT trace_export('SELECT * FROM trace_json(' || quote(?) || ')')", (first,)).fetchone()[0]
                self.assertEqual(again, first)

    def test_export_to_a_file(self):
        import tempfile
        path = os.path.join(TRACES, "jaeger/skills/error_timeout_masked.json")
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "out.ndjson")
            n = self.db.execute(
                "SELECT trace_export('SELECT * FROM trace_file(''' || ? || ''')', ?)", (path, out)).fetchone()[0]
            self.assertEqual(n, 26)
            with open(out, encoding="utf-8") as f:
                text = f.read()
            self.assertEqual(text, export_file(self.db, path))
            self.assertEqual(text.count("\n"), 26)
            # Re-reading the exported file through trace_file gives the same spans.
            self.assertEqual(export_file(self.db, out), text)

    def test_export_from_a_plain_table(self):
        # Any rows with the span column names export; missing columns are defaults.
        db = connect()
        db.execute("CREATE TABLE t(trace_id, span_id, name, start_ns, end_ns, service)")
        db.execute("INSERT INTO t VALUES ('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', "
                   "'GET /', 1000, 2500, 'web')")
        text = db.execute("SELECT trace_export('t')").fetchone()[0]
        self.assertEqual(
            text,
            '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":'
            '{"stringValue":"web"}}]},"scopeSpans":[{"spans":[{"traceId":'
            '"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","name":"GET /",'
            '"startTimeUnixNano":"1000","endTimeUnixNano":"2500"}]}]}]}\n')

    def test_export_errors(self):
        db = connect()
        db.execute("CREATE TABLE t(a, b)")
        cases = [
            ("SELECT trace_export('nosuch')", "trace_export: no such table: nosuch"),
            ("SELECT trace_export('t')", "trace_export: the source has no column trace_id"),
            ("SELECT trace_export(NULL)", "trace_export: the source (a table, view or query) is NULL or empty"),
            ("SELECT trace_export('SELECT ''zz'' AS trace_id, ''01'' AS span_id, 1 AS start_ns')",
             "trace_export: row 1: trace_id: not a hex id: 'zz'"),
            ("SELECT trace_export('SELECT ''01'' AS trace_id, ''01'' AS span_id, 1 AS start_ns', '/nonexistent/dir/x')",
             "trace_export: cannot open /nonexistent/dir/x for writing"),
        ]
        for sql, msg in cases:
            with self.subTest(sql=sql):
                with self.assertRaises(Exception) as cm:
                    db.execute(sql).fetchone()
                self.assertEqual(str(cm.exception), msg)


if __name__ == "__main__":
    unittest.main()
