"""trace_generate() and trace_generate_truth() in SQL, and the tracegen
command line: columns, row counts, reproducibility, agreement between the
truth and the spans, and the exact errors of bad arguments."""
import hashlib
import json
import os
import subprocess
import tempfile
import unittest

from tlhelp import TESTDATA, connect

BUILD = os.environ.get("TL_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
TRACEGEN = os.path.join(BUILD, "tracegen")
BOOKSTORE = os.path.join(TESTDATA, "systems", "bookstore.json")

SPAN_COLUMNS = ["trace_id", "span_id", "parent_span_id", "service", "name", "kind", "start_ns",
                "end_ns", "duration_ns", "status_code", "status_message", "attributes", "resource",
                "events", "links", "scope", "trace_state", "flags", "dropped"]
TRUTH_COLUMNS = ["trace_id", "request_type", "has_error", "is_outlier", "is_skewed",
                 "is_incomplete", "n_spans", "start_ns", "duration_ns"]


def digest(rows):
    h = hashlib.sha256()
    for r in rows:
        h.update(repr(r).encode())
    return h.hexdigest()


class TraceGenerate(unittest.TestCase):
    def setUp(self):
        self.db = connect()

    def tearDown(self):
        self.db.close()

    def test_columns_and_count(self):
        cur = self.db.execute("SELECT * FROM trace_generate(50, 42)")
        self.assertEqual([d[0] for d in cur.description], SPAN_COLUMNS)
        rows = cur.fetchall()
        (spans,) = self.db.execute("SELECT sum(n_spans) FROM trace_generate_truth(50, 42)").fetchone()
        self.assertEqual(len(rows), spans)
        self.assertEqual(len({r[0] for r in rows}), 50)
        for r in rows:
            self.assertRegex(r[0], "^[0-9a-f]{32}$")
            self.assertRegex(r[1], "^[0-9a-f]{16}$")
            self.assertIn(r[5], ("SERVER", "CLIENT", "PRODUCER", "CONSUMER", "INTERNAL"))
            self.assertEqual(r[8], r[7] - r[6])
            self.assertEqual(json.loads(r[12])["attributes"]["service.name"], r[3])
        cur = self.db.execute("SELECT * FROM trace_generate_truth(5, 42)")
        self.assertEqual([d[0] for d in cur.description], TRUTH_COLUMNS)

    def test_end_time_order(self):
        ends = [r[0] for r in self.db.execute("SELECT end_ns FROM trace_generate(300, 9)")]
        self.assertEqual(ends, sorted(ends))

    def test_deterministic(self):
        q = "SELECT * FROM trace_generate(200, 7)"
        a = digest(self.db.execute(q))
        b = digest(connect().execute(q))
        c = digest(self.db.execute("SELECT * FROM trace_generate(200, 8)"))
        self.assertEqual(a, b)
        self.assertNotEqual(a, c)
        t1 = self.db.execute("SELECT * FROM trace_generate_truth(200, 7)").fetchall()
        t2 = self.db.execute("SELECT * FROM trace_generate_truth(200, 7)").fetchall()
        self.assertEqual(t1, t2)
        # negative seeds are seeds too (taken modulo 2^64), and differ from 0
        n1 = digest(self.db.execute("SELECT * FROM trace_generate(20, -1)"))
        n0 = digest(self.db.execute("SELECT * FROM trace_generate(20, 0)"))
        self.assertNotEqual(n1, n0)

    def test_truth_agrees_with_spans(self):
        truth = {r[0]: r for r in self.db.execute("SELECT * FROM trace_generate_truth(2000, 3)")}
        self.assertEqual(len(truth), 2000)
        spans = self.db.execute(
            "SELECT trace_id, count(*), max(status_code = 'ERROR'), min(start_ns), max(end_ns), "
            "sum(parent_span_id IS NULL) FROM trace_generate(2000, 3) GROUP BY trace_id").fetchall()
        self.assertEqual(len(spans), 2000)
        errors = 0
        for tid, n, has_error, first, last, roots in spans:
            t = truth[tid]
            self.assertEqual(t[6], n)
            self.assertEqual(t[2], has_error)
            errors += has_error
            if not t[5]:  # complete traces have exactly one root
                self.assertEqual(roots, 1)
                self.assertEqual(t[7] + t[8], last)
        self.assertGreater(errors, 0)
        types = {t[1] for t in truth.values()}
        self.assertEqual(len(types), 17)

    def test_error_spans_carry_exceptions(self):
        rows = self.db.execute(
            "SELECT kind, status_message, events FROM trace_generate(3000, 5) "
            "WHERE status_code = 'ERROR' AND kind IN ('SERVER', 'INTERNAL', 'CONSUMER')").fetchall()
        self.assertGreater(len(rows), 10)
        for kind, message, events in rows:
            ev = [e for e in json.loads(events) if e["name"] == "exception"]
            self.assertEqual(len(ev), 1, events)
            attrs = ev[0]["attributes"]
            self.assertEqual(attrs["exception.message"], message)
            self.assertGreater(attrs["exception.stacktrace"].count("\n"), 3)

    def test_links_point_at_producers(self):
        rows = self.db.execute(
            "SELECT c.links, c.parent_span_id, c.trace_id, "
            " (SELECT p.kind FROM trace_generate(1500, 4) p "
            "  WHERE p.trace_id = c.trace_id AND p.span_id = c.parent_span_id) "
            "FROM trace_generate(1500, 4) c WHERE c.links IS NOT NULL").fetchall()
        self.assertGreater(len(rows), 20)
        for links, parent, tid, parent_kind in rows:
            link = json.loads(links)[0]
            self.assertEqual(link["spanId"], parent)
            self.assertEqual(link["traceId"], tid)
            self.assertEqual(parent_kind, "PRODUCER")

    def test_system_file(self):
        rows = self.db.execute(
            "SELECT DISTINCT service FROM trace_generate(200, 1, ?)", (BOOKSTORE,)).fetchall()
        self.assertEqual(sorted(r[0] for r in rows), ["billing", "catalog", "storefront"])
        types = self.db.execute(
            "SELECT request_type, count(*) FROM trace_generate_truth(200, 1, ?) GROUP BY 1",
            (BOOKSTORE,)).fetchall()
        self.assertEqual(sorted(t[0] for t in types), ["place_order", "view_book"])

    def test_insert_into_tracelite_table(self):
        self.db.execute("CREATE VIRTUAL TABLE spans USING tracelite(format=ndjson)")
        self.db.execute("INSERT INTO spans SELECT * FROM trace_generate(100, 42)")
        (n,) = self.db.execute("SELECT count(*) FROM spans").fetchone()
        (want,) = self.db.execute("SELECT count(*) FROM trace_generate(100, 42)").fetchone()
        self.assertEqual(n, want)

    def test_bad_arguments(self):
        cases = [
            ("SELECT * FROM trace_generate(-1, 1)",
             "trace_generate: n_traces must be an integer between 0 and 1000000000"),
            ("SELECT * FROM trace_generate(1000000001, 1)",
             "trace_generate: n_traces must be an integer between 0 and 1000000000"),
            ("SELECT * FROM trace_generate('10', 1)",
             "trace_generate: n_traces must be an integer between 0 and 1000000000"),
            ("SELECT * FROM trace_generate(10, 'x')", "trace_generate: seed must be an integer"),
            ("SELECT * FROM trace_generate(10, 1.5)", "trace_generate: seed must be an integer"),
            ("SELECT * FROM trace_generate(10, 1, '')",
             "trace_generate: system must be a file name (text) or NULL"),
            ("SELECT * FROM trace_generate(10, 1, 42)",
             "trace_generate: system must be a file name (text) or NULL"),
            ("SELECT * FROM trace_generate(10, 1, 'no/such/system.json')",
             "trace_generate: cannot open system file 'no/such/system.json': No such file or directory"),
            ("SELECT * FROM trace_generate_truth(10)",
             "trace_generate_truth: takes at least 2 arguments, as in "
             "trace_generate_truth(n_traces, seed [, system])"),
            ("SELECT * FROM trace_generate_truth(-5, 1)",
             "trace_generate_truth: n_traces must be an integer between 0 and 1000000000"),
        ]
        for sql, msg in cases:
            with self.subTest(sql=sql):
                with self.assertRaises(Exception) as cm:
                    self.db.execute(sql).fetchall()
                self.assertEqual(str(cm.exception), msg)

    def test_bad_system_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write('{"services": [{"name": "a", "protocol": "smtp", "operations": {}}], "requests": []}')
        try:
            with self.assertRaises(Exception) as cm:
                self.db.execute("SELECT * FROM trace_generate(1, 1, ?)", (f.name,)).fetchall()
            self.assertEqual(str(cm.exception),
                             "trace_generate: %s: $.services[0].protocol: no such protocol 'smtp'" % f.name)
        finally:
            os.unlink(f.name)

    def test_zero_traces(self):
        self.assertEqual(self.db.execute("SELECT count(*) FROM trace_generate(0, 1)").fetchone(), (0,))
        self.assertEqual(self.db.execute("SELECT count(*) FROM trace_generate_truth(0, 1)").fetchone(), (0,))


@unittest.skipUnless(os.access(TRACEGEN, os.X_OK), "build/tracegen not built")
class Tracegen(unittest.TestCase):
    def run_gen(self, *args):
        return subprocess.run([TRACEGEN, "--quiet", *args], capture_output=True, check=True).stdout

    def test_ndjson_matches_sql(self):
        out = self.run_gen("--traces", "100", "--seed", "42")
        self.assertEqual(out, self.run_gen("--traces", "100", "--seed", "42"))
        lines = out.decode().splitlines()
        db = connect()
        rows = db.execute("SELECT trace_id, span_id FROM trace_generate(100, 42)").fetchall()
        self.assertEqual(len(lines), len(rows))
        for line, (tid, sid) in zip(lines, rows):
            span = json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
            self.assertEqual((span["traceId"], span["spanId"]), (tid, sid))

    def test_json_document(self):
        doc = json.loads(self.run_gen("--traces", "100", "--seed", "42", "--format", "json"))
        ids = []
        for rs in doc["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                ids += [(s["traceId"], s["spanId"]) for s in ss["spans"]]
        lines = self.run_gen("--traces", "100", "--seed", "42").decode().splitlines()
        self.assertEqual(sorted(ids), sorted(
            (s["traceId"], s["spanId"]) for s in
            (json.loads(l)["resourceSpans"][0]["scopeSpans"][0]["spans"][0] for l in lines)))
        # grouped: far fewer ResourceSpans than spans
        self.assertLess(len(doc["resourceSpans"]) * 5, len(ids))

    def test_truth_csv(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "truth.csv")
            self.run_gen("--traces", "30", "--seed", "3", "--truth", path, "--format", "none")
            with open(path) as f:
                rows = [l.rstrip("\n").split(",") for l in f]
        self.assertEqual(rows[0], ["index"] + TRUTH_COLUMNS)
        sql = connect().execute("SELECT * FROM trace_generate_truth(30, 3)").fetchall()
        self.assertEqual([tuple(r[1:]) for r in rows[1:]], [tuple(str(v) for v in r) for r in sql])

    def test_bad_options(self):
        r = subprocess.run([TRACEGEN, "--traces", "x"], capture_output=True)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.decode(), "tracegen: --traces needs a number from 0 to 1000000000\n")
        r = subprocess.run([TRACEGEN, "--system", "/no/such.json"], capture_output=True)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode(),
                         "tracegen: cannot open system file '/no/such.json': No such file or directory\n")


if __name__ == "__main__":
    unittest.main()
