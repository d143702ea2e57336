"""Every real trace file in ../shared/traces imports through trace_file()
with the span and trace counts that SOURCES.md (written by whoever collected
the files, with their own parser) states; metadata files are refused with a
clear error; detection and forced formats agree; broken input fails cleanly
and changes nothing."""
import csv
import io
import os
import re
import subprocess
import unittest

from tlhelp import TRACES, connect


def sources_rows():
    """(relative path, traces, spans) for each per-file row of SOURCES.md."""
    rows = []
    with open(os.path.join(TRACES, "SOURCES.md"), encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 8 or "/" not in cells[0] or cells[0].endswith("/"):
                continue
            if not os.path.isfile(os.path.join(TRACES, cells[0])):
                continue
            traces = int(cells[4]) if cells[4].isdigit() else None
            spans = int(cells[5]) if cells[5].isdigit() else None
            rows.append((cells[0], traces, spans))
    return rows


def all_trace_files():
    out = []
    for root, _, files in os.walk(TRACES):
        for name in files:
            if name == "SOURCES.md":
                continue
            out.append(os.path.relpath(os.path.join(root, name), TRACES))
    return sorted(out)


def is_metadata(rel):
    return rel.endswith(".manifest.json") or rel.endswith("fault_list.json")


def read_text(rel):
    path = os.path.join(TRACES, rel)
    if rel.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout.decode()
    with open(path, encoding="utf-8") as f:
        return f.read()


def csv_unique_rows(rel):
    """Rows of a Nezha CSV after dropping exact duplicate rows, as the CSV
    reader documents (docs/formats-in/csv.md), plus the distinct trace ids."""
    rows = list(csv.reader(io.StringIO(read_text(rel))))[1:]
    seen, unique = set(), []
    for r in rows:
        key = tuple(r)
        if key not in seen:
            seen.add(key)
            unique.append(r)
    return unique, {r[0] for r in unique}


class ImportEveryRealFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = connect()

    def test_sources_lists_the_files(self):
        # Guards the test itself: SOURCES.md must describe what is on disk.
        listed = {r[0] for r in sources_rows()}
        on_disk = [f for f in all_trace_files() if not f.startswith("nezha/rca_data") or is_metadata(f)]
        missing = [f for f in on_disk if f not in listed]
        self.assertEqual(missing, [])

    def test_counts_match_sources(self):
        for rel, traces, spans in sources_rows():
            if is_metadata(rel) or spans is None:
                continue
            with self.subTest(file=rel):
                path = os.path.join(TRACES, rel)
                n, t = self.db.execute(
                    "SELECT count(*), count(DISTINCT trace_id) FROM trace_file(?)", (path,)).fetchone()
                if rel.endswith(".csv") or rel.endswith(".csv.zst"):
                    unique, trace_ids = csv_unique_rows(rel)
                    self.assertEqual(n, len(unique))
                    self.assertEqual(t, len(trace_ids))
                    self.assertLessEqual(n, spans)
                else:
                    self.assertEqual(n, spans)
                    self.assertEqual(t, traces)

    def test_every_nezha_file_imports(self):
        # The rca_data minutes are not listed one by one in SOURCES.md.
        for rel in all_trace_files():
            if not rel.startswith("nezha/") or is_metadata(rel):
                continue
            with self.subTest(file=rel):
                unique, trace_ids = csv_unique_rows(rel)
                n, t = self.db.execute(
                    "SELECT count(*), count(DISTINCT trace_id) FROM trace_file(?)",
                    (os.path.join(TRACES, rel),)).fetchone()
                self.assertEqual((n, t), (len(unique), len(trace_ids)))

    def test_metadata_files_are_refused(self):
        for rel in all_trace_files():
            if not is_metadata(rel):
                continue
            with self.subTest(file=rel):
                with self.assertRaises(Exception) as cm:
                    self.db.execute("SELECT count(*) FROM trace_file(?)",
                                    (os.path.join(TRACES, rel),)).fetchone()
                self.assertIn("trace_file: ", str(cm.exception))
                self.assertIn(os.path.basename(rel), str(cm.exception))

    def test_services_and_parents(self):
        # Hand-checked facts of a few files (see SOURCES.md notes).
        q = lambda sql, rel: self.db.execute(sql, (os.path.join(TRACES, rel),)).fetchall()
        self.assertEqual(
            q("SELECT count(DISTINCT service) FROM trace_file(?)", "zipkin/yelp.json"), [(6,)])
        self.assertEqual(
            q("SELECT count(DISTINCT service) FROM trace_file(?)",
              "zipkin/smartthings-mobile-web-install.json"), [(16,)])
        self.assertEqual(
            q("SELECT count(DISTINCT service) FROM trace_file(?)",
              "jaeger-ui/getTrace-response.json"), [(6,)])
        # apm-server/batch_1.json: 14 redis spans, every parent missing.
        self.assertEqual(
            q("SELECT count(*) FROM trace_file(?) WHERE parent_span_id IS NOT NULL "
              "AND parent_span_id NOT IN (SELECT span_id FROM trace_file(?1))",
              "apm-server/batch_1.json"), [(14,)])
        # Nezha pod names become service names without the pod suffix.
        self.assertEqual(
            q("SELECT count(*) FROM trace_file(?) WHERE service = 'ts-travel-service'",
              "nezha/construct_data/2023-01-29/08_50_trace.csv")[0][0] > 0, True)

    def test_forced_format_agrees_with_detection(self):
        for rel, fmt in [("zipkin/yelp.json", "zipkin"), ("jaeger/ui_01.json", "jaeger"),
                         ("tempo/trace-with-queue-database.json", "otlp"),
                         ("nezha/construct_data/2023-01-30/11_39_trace.csv", "csv")]:
            with self.subTest(file=rel):
                path = os.path.join(TRACES, rel)
                auto = self.db.execute("SELECT trace_export('SELECT * FROM trace_file(''' || ? || ''')')",
                                       (path,)).fetchone()[0]
                forced = self.db.execute(
                    "SELECT trace_export('SELECT * FROM trace_file(''' || ? || ''', ''' || ? || ''')')",
                    (path, fmt)).fetchone()[0]
                self.assertEqual(auto, forced)
                self.assertTrue(len(auto) > 0)

    def test_bad_arguments(self):
        cases = [
            ("SELECT * FROM trace_file('/nonexistent/x.json')", "trace_file: "),
            ("SELECT * FROM trace_file(?, 'parquet')", "unknown format 'parquet'"),
            ("SELECT * FROM trace_file(NULL)", "trace_file: the path is NULL or empty"),
            ("SELECT * FROM trace_file", "trace_file: takes at least 1 argument, as in trace_file(path [, format])"),
            ("SELECT * FROM trace_generate(5)",
             "trace_generate: takes at least 2 arguments, as in trace_generate(n_traces, seed [, system])"),
            ("SELECT * FROM trace_json('{\"resourceSpans\": [')", "trace_json: "),
        ]
        for sql, msg in cases:
            with self.subTest(sql=sql):
                args = (os.path.join(TRACES, "zipkin/yelp.json"),) if "?" in sql else ()
                with self.assertRaises(Exception) as cm:
                    self.db.execute(sql, args).fetchall()
                self.assertIn(msg, str(cm.exception))


class DirectOnly(unittest.TestCase):
    def test_trace_file_cannot_run_from_a_view(self):
        db = connect()
        path = os.path.join(TRACES, "zipkin/yelp.json")
        db.execute(f"CREATE VIEW v AS SELECT * FROM trace_file('{path}')")
        with self.assertRaises(Exception) as cm:
            db.execute("SELECT count(*) FROM v").fetchone()
        self.assertIn("unsafe use of virtual table", str(cm.exception))

    def test_trace_export_cannot_run_from_a_trigger(self):
        db = connect()
        db.execute("CREATE TABLE t(x)")
        db.execute("CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT trace_export('t', '/tmp/x'); END")
        with self.assertRaises(Exception) as cm:
            db.execute("INSERT INTO t VALUES (1)")
        self.assertIn("unsafe use of trace_export", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
