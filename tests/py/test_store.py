"""The tracelite table and its block store (ext/store, ext/vtab/tracelite_vtab.c):
options, lossless round trips for every format, query planning, transactions,
DELETE, UPDATE refused, RENAME and DROP, optimize, integrity-check, corrupted
blocks and tracelite_stats.  Expected values are computed independently of
the store: from the input through trace_export, from the shadow tables
through plain SQL, or by a full scan that bypasses planning (+column)."""
import json
import os
import random
import sqlite3
import tempfile
import unittest
import zlib

from tlhelp import TRACES, connect

FORMATS = ["ndjson", "cbor", "cbor_zstd"]
CORRUPT_VTAB = 267  # SQLITE_CORRUPT | (1 << 8)
SHADOWS = ["blocks", "config", "dict", "services", "traces"]
COLUMNS = ["trace_id", "span_id", "parent_span_id", "service", "name", "kind", "start_ns",
           "end_ns", "duration_ns", "status_code", "status_message", "attributes", "resource",
           "events", "links", "scope", "trace_state", "flags", "dropped"]

# Every field of an OTLP span: typed attributes (all AnyValue kinds, a
# duplicate key), events, links, dropped counts, trace state, flags, status
# message, several resources and scopes, a span without any resource.
FIXTURE = json.dumps({"resourceSpans": [
    {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}},
                                 {"key": "host.cpu", "value": {"intValue": "8"}}],
                  "droppedAttributesCount": 1},
     "schemaUrl": "https://opentelemetry.io/schemas/1.21.0",
     "scopeSpans": [{"scope": {"name": "io.opentelemetry.http", "version": "1.2.3",
                               "attributes": [{"key": "lib", "value": {"boolValue": True}}]},
                     "schemaUrl": "https://example.com/scope",
                     "spans": [
                         {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "00f067aa0ba902b7",
                          "traceState": "rojo=00f067aa0ba902b7", "name": "GET /cart", "kind": 2,
                          "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000250000000",
                          "attributes": [
                              {"key": "http.method", "value": {"stringValue": "GET"}},
                              {"key": "http.status_code", "value": {"intValue": "200"}},
                              {"key": "ratio", "value": {"doubleValue": 0.25}},
                              {"key": "ok", "value": {"boolValue": False}},
                              {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "1"}]}}},
                              {"key": "map", "value": {"kvlistValue": {"values": [{"key": "k", "value": {"stringValue": "v"}}]}}},
                              {"key": "raw", "value": {"bytesValue": "AAEC"}},
                              {"key": "nothing", "value": {}},
                              {"key": "http.method", "value": {"stringValue": "dup"}}],
                          "droppedAttributesCount": 2,
                          "events": [{"timeUnixNano": "1700000000100000000", "name": "exception",
                                      "attributes": [{"key": "exception.message",
                                                      "value": {"stringValue": "boom \"quoted\" \u00fcn\u00efcode \u0001"}}],
                                      "droppedAttributesCount": 1}],
                          "droppedEventsCount": 3,
                          "links": [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
                                     "traceState": "congo=t61rcWkgMzE",
                                     "attributes": [{"key": "link.kind", "value": {"stringValue": "follows"}}],
                                     "droppedAttributesCount": 1, "flags": 257}],
                          "droppedLinksCount": 4,
                          "status": {"code": 2, "message": "upstream failed"}, "flags": 769},
                         {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "b9c7c989f97918e1",
                          "parentSpanId": "00f067aa0ba902b7", "name": "SELECT cart", "kind": 3,
                          "startTimeUnixNano": "1700000000010000000", "endTimeUnixNano": "1700000000200000000",
                          "status": {"code": 1}}]}]},
    {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "db"}}]},
     "scopeSpans": [{"scope": {}, "spans": [
         {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "c2c7c989f97918e2",
          "parentSpanId": "b9c7c989f97918e1", "name": "query", "kind": 4,
          "startTimeUnixNano": "1700000000020000000", "endTimeUnixNano": "1700000000190000000"},
         {"traceId": "5bf92f3577b34da6a3ce929d0e0e4737", "spanId": "d2c7c989f97918e3", "name": "", "kind": 1,
          "startTimeUnixNano": "1700000001000000000", "endTimeUnixNano": "1700000001000000000",
          "attributes": [{"key": "nan", "value": {"doubleValue": "NaN"}},
                         {"key": "inf", "value": {"doubleValue": "-Infinity"}},
                         {"key": "big", "value": {"intValue": "-9223372036854775808"}}]}]}]},
    {"scopeSpans": [{"spans": [{"traceId": "6bf92f3577b34da6a3ce929d0e0e4738", "spanId": "e2c7c989f97918e4",
                                "name": "no resource", "kind": 5, "startTimeUnixNano": "1",
                                "endTimeUnixNano": "2"}]}]}]})

NEZHA = "nezha/construct_data/2023-01-29/08_50_trace.csv"  # 4890 spans, 71 traces


def lit(text):
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def file_source(path):
    return "SELECT * FROM trace_file(%s)" % lit(path)


def json_source(text):
    return "SELECT * FROM trace_json(%s)" % lit(text)


def trace_files():
    """Every span file of ../shared/traces (not the notes and metadata)."""
    out = []
    for folder, _, names in os.walk(TRACES):
        for name in names:
            if name.endswith(".md") or name.endswith(".manifest.json") or name.endswith("fault_list.json"):
                continue
            out.append(os.path.join(folder, name))
    return sorted(out)


def open_db(path=":memory:"):
    db = connect(path)
    db.isolation_level = None  # explicit BEGIN/COMMIT in the tests
    return db


def export(db, source):
    return db.execute("SELECT trace_export(?)", (source,)).fetchone()[0]


def scalar(db, sql, args=()):
    return db.execute(sql, args).fetchone()[0]


def blocks_read(db):
    return scalar(db, "SELECT tracelite_blocks_read()")


def has_generator(db):
    try:
        db.execute("SELECT count(*) FROM trace_generate(1, 1)").fetchone()
        return True
    except sqlite3.OperationalError:
        return False


class Options(unittest.TestCase):
    def setUp(self):
        self.db = open_db()

    def error(self, sql):
        with self.assertRaises(sqlite3.Error) as cm:
            self.db.execute(sql)
        return str(cm.exception)

    def test_defaults_are_recorded_in_config(self):
        self.db.execute("CREATE VIRTUAL TABLE spans USING tracelite")
        self.assertEqual(dict(self.db.execute("SELECT k, v FROM spans_config")),
                         {"version": 1, "format": "cbor_zstd", "block_spans": "4096",
                          "zstd_level": "3", "dict_size": "65536"})

    def test_given_options_are_recorded(self):
        self.db.execute("CREATE VIRTUAL TABLE a USING tracelite(format = 'cbor', block_spans=100 )")
        self.db.execute('CREATE VIRTUAL TABLE b USING tracelite(format="cbor_zstd", zstd_level=9, dict_size=0)')
        self.assertEqual(dict(self.db.execute("SELECT k, v FROM a_config WHERE k != 'version'")),
                         {"format": "cbor", "block_spans": "100", "zstd_level": "3", "dict_size": "65536"})
        self.assertEqual(dict(self.db.execute("SELECT k, v FROM b_config WHERE k != 'version'")),
                         {"format": "cbor_zstd", "block_spans": "4096", "zstd_level": "9", "dict_size": "0"})

    def test_bad_options_are_refused_by_name(self):
        cases = {
            "bogus=1": "tracelite: unknown option 'bogus' (the options are format, block_spans, zstd_level and dict_size)",
            "format=cbor, format=ndjson": "tracelite: option 'format' is given twice",
            "format=xml": "tracelite: format: unknown format 'xml' (expected ndjson, cbor, cbor_zstd, relational or columnar)",
            "format=CBOR": "tracelite: format: unknown format 'CBOR' (expected ndjson, cbor, cbor_zstd, relational or columnar)",
            "cbor": "tracelite: option 'cbor' is not of the form key=value",
            "format=": "tracelite: option 'format' has an empty value",
            "=cbor": "tracelite: unknown option '' (the options are format, block_spans, zstd_level and dict_size)",
            "block_spans=0": "tracelite: block_spans: expected an integer from 1 to 1048576, got '0'",
            "block_spans=1048577": "tracelite: block_spans: expected an integer from 1 to 1048576, got '1048577'",
            "block_spans=1 2": "tracelite: block_spans: expected an integer from 1 to 1048576, got '1 2'",
            "block_spans=ten": "tracelite: block_spans: expected an integer from 1 to 1048576, got 'ten'",
            "block_spans=-5": "tracelite: block_spans: expected an integer from 1 to 1048576, got '-5'",
            "block_spans=99999999999999999999999": "tracelite: block_spans: expected an integer from 1 to 1048576, got '99999999999999999999999'",
            "zstd_level=0": "tracelite: zstd_level: expected an integer from 1 to 22, got '0'",
            "zstd_level=23": "tracelite: zstd_level: expected an integer from 1 to 22, got '23'",
            "dict_size=1048577": "tracelite: dict_size: expected an integer from 0 to 1048576, got '1048577'",
            "format=cbor, dict_size=1000": "tracelite: dict_size: format cbor does not use a dictionary",
            "block_spans=10, block_spans=10": "tracelite: option 'block_spans' is given twice",
        }
        for args, message in cases.items():
            with self.subTest(args=args):
                self.assertEqual(self.error("CREATE VIRTUAL TABLE t USING tracelite(%s)" % args), message)
                self.assertEqual(self.db.execute("SELECT name FROM sqlite_schema").fetchall(), [])

    def test_table_named_like_a_column_is_refused(self):
        self.assertEqual(self.error("CREATE VIRTUAL TABLE Service USING tracelite"),
                         "tracelite: a tracelite table cannot be named 'Service': its command column "
                         "would clash with the span column of that name")

    def test_newer_storage_version_is_refused_on_open(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "t.db")
            db = open_db(path)
            db.execute("CREATE VIRTUAL TABLE spans USING tracelite")
            db.execute("UPDATE spans_config SET v = 2 WHERE k = 'version'")
            db.close()
            db = open_db(path)
            with self.assertRaises(sqlite3.Error) as cm:
                db.execute("SELECT count(*) FROM spans")
            self.assertEqual(str(cm.exception),
                             "tracelite: table spans has storage version 2; this build reads up to 1")
            db.execute("UPDATE spans_config SET v = 1 WHERE k = 'version'")
            db.execute("UPDATE spans_config SET v = 'xml' WHERE k = 'format'")
            db.close()
            db = open_db(path)
            with self.assertRaises(sqlite3.DatabaseError) as cm:
                db.execute("SELECT count(*) FROM spans")
            self.assertEqual(str(cm.exception),
                             "tracelite: table spans: spans_config: format: unknown format 'xml' "
                             "(expected ndjson, cbor, cbor_zstd, relational or columnar)")
            db.close()


class RoundTrip(unittest.TestCase):
    """The spans read back are exactly the spans written, for every format."""

    @classmethod
    def setUpClass(cls):
        cls.db = open_db()

    def check(self, source, block_spans, expected=None):
        expected = expected if expected is not None else export(self.db, source)
        self.assertTrue(expected)
        for fmt in FORMATS:
            with self.subTest(format=fmt):
                self.db.execute("CREATE VIRTUAL TABLE rt USING tracelite(format=%s, block_spans=%d)"
                                % (fmt, block_spans))
                try:
                    self.db.execute("INSERT INTO rt " + source)
                    self.assertEqual(export(self.db, "rt"), expected)
                    self.db.execute("INSERT INTO rt(rt) VALUES('integrity-check')")
                finally:
                    self.db.execute("DROP TABLE rt")

    def test_fixture_with_every_field(self):
        self.check(json_source(FIXTURE), 2)

    def test_every_real_trace_file(self):
        files = trace_files()
        self.assertGreater(len(files), 100)
        for path in files:
            with self.subTest(file=os.path.relpath(path, TRACES)):
                self.check(file_source(path), 64)

    def test_generator_output(self):
        if not has_generator(self.db):
            self.skipTest("trace_generate is not built yet")
        self.check("SELECT * FROM trace_generate(300, 7)", 500)

    def test_each_column_alone(self):
        """A query that reads one column decodes only that part (idxNum):
        every column alone must still come back exactly."""
        source = json_source(FIXTURE)
        for fmt in FORMATS:
            self.db.execute("CREATE VIRTUAL TABLE one USING tracelite(format=%s)" % fmt)
            try:
                self.db.execute("INSERT INTO one " + source)
                for col in COLUMNS:
                    with self.subTest(format=fmt, column=col):
                        got = self.db.execute("SELECT %s FROM one" % col).fetchall()
                        want = self.db.execute("SELECT %s FROM (%s)" % (col, source)).fetchall()
                        self.assertEqual(got, want)
            finally:
                self.db.execute("DROP TABLE one")

    def test_rows_inserted_by_hand(self):
        self.db.execute("CREATE VIRTUAL TABLE hand USING tracelite(format=cbor)")
        self.db.execute("INSERT INTO hand(trace_id, span_id, service, name, kind, start_ns, duration_ns, "
                        "status_code, attributes) VALUES ('0102', 'ff', 'svc', 'op', 'CLIENT', 10, 5, 'ERROR', "
                        "'{\"a\":1}')")
        self.assertEqual(self.db.execute("SELECT trace_id, span_id, service, name, kind, start_ns, end_ns, "
                                         "status_code, attributes FROM hand").fetchall(),
                         [("00000000000000000000000000000102", "00000000000000ff", "svc", "op", "CLIENT",
                           10, 15, "ERROR", '{"a":1}')])
        with self.assertRaises(sqlite3.Error) as cm:
            self.db.execute("INSERT INTO hand(trace_id, span_id, start_ns) VALUES ('xyz', '01', 1)")
        self.assertEqual(str(cm.exception),
                         "tracelite: table hand: trace_id: not a hex id: 'xyz'")
        self.assertEqual(scalar(self.db, "SELECT count(*) FROM hand"), 1)
        self.db.execute("DROP TABLE hand")

    def test_text_with_nul_bytes_keeps_its_length(self):
        """Text columns reach SQLite NUL-terminated (row.c) except where the
        text holds a NUL of its own: those keep every byte, read through
        sqlite3_column_text (Python) and through hex() alike."""
        texts = {"service": "s\x00v", "name": "a\x00b", "status_message": "m\x00",
                 "trace_state": "\x00t"}
        cols = list(texts)
        for fmt in FORMATS + ["relational", "columnar"]:
            with self.subTest(format=fmt):
                self.db.execute("CREATE VIRTUAL TABLE nul USING tracelite(format=%s)" % fmt)
                try:
                    self.db.execute("INSERT INTO nul(trace_id, span_id, start_ns, %s) VALUES "
                                    "('01', '02', 5, ?, ?, ?, ?)" % ", ".join(cols),
                                    [texts[c] for c in cols])
                    got = self.db.execute("SELECT %s, %s FROM nul" % (
                        ", ".join(cols), ", ".join("hex(%s)" % c for c in cols))).fetchone()
                    self.assertEqual(got, tuple(texts[c] for c in cols) +
                                     tuple(texts[c].encode().hex().upper() for c in cols))
                finally:
                    self.db.execute("DROP TABLE nul")


class OfferedRows(unittest.TestCase):
    """INSERT ... SELECT from a span source (trace_file, trace_json,
    trace_generate) copies each span from the source's offer (ext/vtab/row.h,
    tl_row_offer) instead of parsing the row's JSON back; a row that differs
    in any column from what the source showed is parsed.  Either way the
    table must hold exactly what parsing the row gives: the expected table is
    filled from a plain copy of the rows, which is always parsed."""

    @classmethod
    def setUpClass(cls):
        cls.db = open_db()

    def insert_both_ways(self, select):
        """Exports of the rows of select inserted straight from the source and
        from a plain table, and how many rows the first insert copied."""
        db = self.db
        db.execute("CREATE VIRTUAL TABLE direct USING tracelite(format=cbor)")
        db.execute("CREATE VIRTUAL TABLE parsed USING tracelite(format=cbor)")
        db.execute("CREATE TEMP TABLE plain AS " + select)
        try:
            before = scalar(db, "SELECT tracelite_rows_copied()")
            db.execute("INSERT INTO direct " + select)
            copied = scalar(db, "SELECT tracelite_rows_copied()") - before
            db.execute("INSERT INTO parsed SELECT * FROM temp.plain")
            self.assertEqual(scalar(db, "SELECT tracelite_rows_copied()") - before, copied)
            return export(db, "direct"), export(db, "parsed"), copied
        finally:
            for table in ("direct", "parsed", "temp.plain"):
                db.execute("DROP TABLE " + table)

    def test_generated_rows_are_copied(self):
        direct, parsed, copied = self.insert_both_ways("SELECT * FROM trace_generate(200, 5)")
        self.assertEqual(direct, parsed)
        self.assertEqual(copied, scalar(self.db, "SELECT count(*) FROM trace_generate(200, 5)"))

    def test_every_real_trace_file(self):
        for path in trace_files():
            with self.subTest(file=os.path.relpath(path, TRACES)):
                direct, parsed, copied = self.insert_both_ways(file_source(path))
                self.assertEqual(direct, parsed)
                self.assertEqual(copied, scalar(self.db, "SELECT count(*) FROM trace_file(?)", (path,)))

    def test_fixture_with_every_field(self):
        direct, parsed, copied = self.insert_both_ways(json_source(FIXTURE))
        self.assertEqual(direct, parsed)
        self.assertEqual(direct, export(self.db, json_source(FIXTURE)))
        self.assertEqual(copied, scalar(self.db, "SELECT count(*) FROM (%s)" % json_source(FIXTURE)))

    # One column changed at a time, to a value that is still a valid row.
    CHANGES = {
        "trace_id": "upper(trace_id)",
        "span_id": "substr(span_id, 2) || 'a'",
        "parent_span_id": "CASE WHEN parent_span_id IS NULL THEN '00000000000000aa' END",
        "service": "NULL",
        "name": "name || '!'",
        "kind": "CASE kind WHEN 'SERVER' THEN 'CLIENT' ELSE 'SERVER' END",
        "start_ns": "CAST(start_ns AS TEXT)",
        "end_ns": "NULL",
        "duration_ns": "NULL",
        "status_code": "CASE status_code WHEN 'ERROR' THEN 'OK' ELSE 'ERROR' END",
        "status_message": "'changed'",
        "attributes": "json_set(coalesce(attributes, '{}'), '$.extra', 1)",
        "resource": "json_set(resource, '$.schemaUrl', 'https://example.com/changed')",
        "events": "NULL",
        "links": "'[{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"b7ad6b7169203331\"}]'",
        "scope": "NULL",
        "trace_state": "'k=v'",
        "flags": "flags + 1",
        "dropped": "'{\"attributes\":1}'",
    }

    def test_a_changed_column_is_parsed(self):
        self.assertEqual(sorted(self.CHANGES), sorted(COLUMNS))
        for col in COLUMNS:
            with self.subTest(column=col):
                cols = [self.CHANGES[c] + " AS " + c if c == col else c for c in COLUMNS]
                direct, parsed, copied = self.insert_both_ways(
                    "SELECT %s FROM trace_generate(30, 9)" % ", ".join(cols))
                self.assertEqual(direct, parsed)
                self.assertEqual(copied, 0)

    def test_rows_through_a_sorter(self):
        direct, parsed, _ = self.insert_both_ways(
            "SELECT * FROM trace_generate(50, 3) ORDER BY span_id")
        self.assertEqual(direct, parsed)

    def test_two_sources_in_one_statement(self):
        direct, parsed, copied = self.insert_both_ways(
            "SELECT * FROM trace_generate(20, 1) UNION ALL SELECT * FROM trace_json(%s)" % lit(FIXTURE))
        self.assertEqual(direct, parsed)
        self.assertEqual(copied, scalar(self.db, "SELECT count(*) FROM trace_generate(20, 1)") +
                         scalar(self.db, "SELECT count(*) FROM (%s)" % json_source(FIXTURE)))


class Planning(unittest.TestCase):
    """trace_id = ? and IN use the trace index; time, service and status
    filters skip blocks by their metadata; results equal a full scan."""

    @classmethod
    def setUpClass(cls):
        cls.db = open_db()
        cls.db.execute("CREATE VIRTUAL TABLE p USING tracelite(format=cbor, block_spans=64)")
        cls.db.execute("INSERT INTO p " + file_source(os.path.join(TRACES, NEZHA)))
        # The same rows in an ordinary table: its columns have the same
        # declared types, so SQLite's own comparisons are the reference.
        cls.db.execute("CREATE TEMP TABLE plain AS SELECT * FROM p")
        if has_generator(cls.db):
            cls.db.execute("CREATE VIRTUAL TABLE g USING tracelite(format=cbor_zstd, block_spans=100)")
            cls.db.execute("INSERT INTO g SELECT * FROM trace_generate(200, 3)")

    def reads(self, sql, args=()):
        """(rows, blocks decoded) of a query."""
        before = blocks_read(self.db)
        rows = self.db.execute(sql, args).fetchall()
        return rows, blocks_read(self.db) - before

    def blocks_of(self, table, where, args=()):
        """Blocks holding a matching span, found by a full scan (+column)."""
        return scalar(self.db, "SELECT count(DISTINCT rowid >> 20) FROM %s WHERE %s" % (table, where), args)

    def plan(self, sql):
        return " ".join(r[3] for r in self.db.execute("EXPLAIN QUERY PLAN " + sql))

    def test_trace_id_reads_one_block(self):
        self.assertGreater(scalar(self.db, "SELECT count(*) FROM p_blocks"), 50)
        traces = [r[0] for r in self.db.execute("SELECT DISTINCT trace_id FROM p")]
        single = [t for t in traces if self.blocks_of("p", "+trace_id = ?", (t,)) == 1]
        self.assertGreater(len(single), 5)
        for t in single[:5]:
            rows, n = self.reads("SELECT * FROM p WHERE trace_id = ?", (t,))
            self.assertEqual(n, 1)
            self.assertEqual(rows, self.db.execute("SELECT * FROM p WHERE +trace_id = ?", (t,)).fetchall())
            self.assertGreater(len(rows), 0)
        self.assertIn(":T", self.plan("SELECT * FROM p WHERE trace_id = 'x'"))

    def test_trace_spread_over_blocks_reads_exactly_those(self):
        traces = [r[0] for r in self.db.execute("SELECT DISTINCT trace_id FROM p")]
        spread = max(traces, key=lambda t: self.blocks_of("p", "+trace_id = ?", (t,)))
        want = self.blocks_of("p", "+trace_id = ?", (spread,))
        self.assertGreater(want, 1)
        rows, n = self.reads("SELECT span_id FROM p WHERE trace_id = ?", (spread,))
        self.assertEqual(n, want)
        self.assertEqual(rows, self.db.execute("SELECT span_id FROM p WHERE +trace_id = ?", (spread,)).fetchall())

    def test_trace_id_in_list(self):
        traces = [r[0] for r in self.db.execute("SELECT DISTINCT trace_id FROM p LIMIT 3")]
        want = self.blocks_of("p", "+trace_id IN (?, ?, ?)", traces)
        rows, n = self.reads("SELECT span_id FROM p WHERE trace_id IN (?, ?, ?, 'nope')", traces)
        self.assertEqual(n, want)
        self.assertEqual(sorted(rows), sorted(self.db.execute(
            "SELECT span_id FROM p WHERE +trace_id IN (?, ?, ?)", traces).fetchall()))
        self.assertIn(":I", self.plan("SELECT * FROM p WHERE trace_id IN ('a', 'b')"))
        # From a subquery, and as the inner table of a join.
        self.db.execute("CREATE TEMP TABLE want(t TEXT)")
        self.db.executemany("INSERT INTO want VALUES (?)", [(t,) for t in traces])
        rows, n = self.reads("SELECT span_id FROM p WHERE trace_id IN (SELECT t FROM want)")
        self.assertEqual((len(rows), n), (scalar(self.db, "SELECT count(*) FROM p WHERE +trace_id IN (SELECT t FROM want)"), want))
        self.assertIn(":I", self.plan("SELECT span_id FROM p WHERE trace_id IN (SELECT t FROM want)"))
        # A join looks each trace up in turn.
        joined, n = self.reads("SELECT p.span_id FROM want JOIN p ON p.trace_id = want.t")
        self.assertEqual(sorted(joined), sorted(rows))
        self.assertEqual(n, sum(self.blocks_of("p", "+trace_id = ?", (t,)) for t in traces))
        self.db.execute("DROP TABLE want")

    def test_trace_id_values_that_cannot_match(self):
        t = scalar(self.db, "SELECT trace_id FROM p LIMIT 1")
        for value in [t.upper(), t[:31], t + "0", 12345, None, bytes.fromhex(t), " " + t[1:], 1.5]:
            with self.subTest(value=value):
                rows, n = self.reads("SELECT * FROM p WHERE trace_id = ?", (value,))
                self.assertEqual(rows, [])
                self.assertEqual(rows, self.db.execute("SELECT * FROM plain WHERE trace_id = ?", (value,)).fetchall())
                self.assertEqual(n, 0)
        # A collation other than BINARY is left to SQLite.
        rows = self.db.execute("SELECT count(*) FROM p WHERE trace_id = ? COLLATE NOCASE", (t.upper(),)).fetchall()
        self.assertEqual(rows[0][0], scalar(self.db, "SELECT count(*) FROM p WHERE +trace_id = ?", (t,)))

    def test_time_constraints_are_exact(self):
        lo, hi = self.db.execute("SELECT min(start_ns), max(start_ns) FROM p").fetchone()
        mid = (lo + hi) // 2
        values = [mid, mid + 0.5, float(mid), str(mid), " %d " % mid, "%d.0" % mid, "abc", b"\x01", None,
                  1e300, -1e300, 2 ** 63 - 1, -2 ** 63, lo, hi, lo - 1, hi + 1]
        for col in ["start_ns", "end_ns"]:
            for op in ["=", "<", "<=", ">", ">="]:
                for v in values:
                    with self.subTest(col=col, op=op, v=v):
                        sql = "SELECT count(*) FROM %%s WHERE %s %s ?" % (col, op)
                        self.assertEqual(scalar(self.db, sql % "p", (v,)), scalar(self.db, sql % "plain", (v,)))
        both = "SELECT count(*) FROM %s WHERE start_ns >= ? AND start_ns < ? AND end_ns > ?"
        self.assertEqual(scalar(self.db, both % "p", (lo, mid, lo)), scalar(self.db, both % "plain", (lo, mid, lo)))
        self.assertLess(0, scalar(self.db, both % "p", (lo, mid, lo)))

    def test_time_range_decodes_only_overlapping_blocks(self):
        lo, hi = self.db.execute("SELECT min(min_start), max(max_start) FROM p_blocks").fetchone()
        a, b = lo + (hi - lo) // 3, lo + (hi - lo) // 3 + (hi - lo) // 50
        overlapping = scalar(self.db, "SELECT count(*) FROM p_blocks WHERE max_start >= ? AND min_start <= ?", (a, b))
        partial = scalar(self.db, "SELECT count(*) FROM p_blocks WHERE max_start >= ? AND min_start <= ? "
                                  "AND NOT (min_start >= ? AND max_start <= ?)", (a, b, a, b))
        total = scalar(self.db, "SELECT count(*) FROM p_blocks")
        self.assertLess(overlapping, total)
        rows, n = self.reads("SELECT name FROM p WHERE start_ns BETWEEN ? AND ?", (a, b))
        self.assertEqual(n, overlapping)
        self.assertEqual(rows, self.db.execute("SELECT name FROM p WHERE +start_ns BETWEEN ? AND ?", (a, b)).fetchall())
        # count(*) needs no column: blocks inside the range are not decoded.
        count, n = self.reads("SELECT count(*) FROM p WHERE start_ns BETWEEN ? AND ?", (a, b))
        self.assertEqual(n, partial)
        self.assertEqual(count[0][0], len(rows))
        self.assertEqual(self.reads("SELECT count(*) FROM p")[1], 0)

    def test_service_and_status_skip_blocks(self):
        if not has_generator(self.db):
            self.skipTest("trace_generate is not built yet")
        for where, value in [("service = ?", None), ("status_code = ?", "ERROR")]:
            if value is None:
                value = scalar(self.db, "SELECT service FROM g GROUP BY service ORDER BY count(*) LIMIT 1")
            with self.subTest(where=where, value=value):
                want = self.blocks_of("g", "+" + where, (value,))
                self.assertLess(want, scalar(self.db, "SELECT count(*) FROM g_blocks"))
                rows, n = self.reads("SELECT span_id FROM g WHERE " + where, (value,))
                self.assertEqual(n, want)
                self.assertEqual(rows, self.db.execute("SELECT span_id FROM g WHERE +" + where, (value,)).fetchall())
        for value in ["error", "nope", 2, None]:
            rows, n = self.reads("SELECT * FROM g WHERE status_code = ?", (value,))
            self.assertEqual((rows, n), ([], 0))
        rows, n = self.reads("SELECT * FROM g WHERE service = 'no such service'")
        self.assertEqual((rows, n), ([], 0))

    def test_rowid_lookup(self):
        rowid, span = self.db.execute("SELECT rowid, span_id FROM p LIMIT 1 OFFSET 200").fetchone()
        rows, n = self.reads("SELECT span_id FROM p WHERE rowid = ?", (rowid,))
        self.assertEqual((rows, n), ([(span,)], 1))
        self.assertEqual(self.reads("SELECT span_id FROM p WHERE rowid = ?", (rowid | 0xFFFFF,)), ([], 0))
        self.assertEqual(self.reads("SELECT span_id FROM p WHERE rowid = -1"), ([], 0))

    def test_full_scan_is_the_most_expensive_plan(self):
        plan = self.plan("SELECT * FROM p WHERE trace_id = 'a' AND start_ns > 5 AND service = 'x'")
        self.assertRegex(plan, r"VIRTUAL TABLE INDEX \d+:T")


class Transactions(unittest.TestCase):
    def setUp(self):
        self.db = open_db()
        self.nezha = file_source(os.path.join(TRACES, NEZHA))

    def count(self, table="t"):
        return scalar(self.db, "SELECT count(*) FROM %s" % table)

    def shadow_rows(self, table="t"):
        return [scalar(self.db, "SELECT count(*) FROM %s_%s" % (table, s)) for s in ["blocks", "traces", "services", "dict"]]

    def test_rollback_discards_everything(self):
        self.db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=cbor_zstd, block_spans=100, "
                        "dict_size=4096)")
        self.db.execute("BEGIN")
        self.db.execute("INSERT INTO t " + self.nezha)
        self.db.execute("INSERT INTO t(t) VALUES('optimize')")
        self.assertEqual(self.count(), 4890)
        self.assertEqual(scalar(self.db, "SELECT count(*) FROM t_dict"), 1)
        self.db.execute("ROLLBACK")
        self.assertEqual(self.count(), 0)
        self.assertEqual(self.shadow_rows(), [0, 0, 0, 0])
        # The dictionary the rollback removed is not used by later blocks.
        self.db.execute("INSERT INTO t " + self.nezha)
        self.assertEqual(export(self.db, "t"), export(self.db, self.nezha))
        self.db.execute("INSERT INTO t(t) VALUES('integrity-check')")

    def test_dictionary_trained_at_a_flush(self):
        """The second full block tries a dictionary trained on the first and
        judged on itself; blocks from it on use it, the first does not."""
        if not has_generator(self.db):
            self.skipTest("trace_generate is not built yet")
        self.db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=cbor_zstd, block_spans=1024, "
                        "dict_size=1024)")
        source = "SELECT * FROM trace_generate(600, 9)"
        self.db.execute("BEGIN")
        self.db.execute("INSERT INTO t " + source)
        self.assertEqual(self.db.execute("SELECT id, spans, length(data) FROM t_dict").fetchall(),
                         [(1, 1024, 1024)])
        self.db.execute("ROLLBACK")
        self.assertEqual(self.shadow_rows(), [0, 0, 0, 0])
        self.db.execute("INSERT INTO t " + source)
        self.assertEqual(scalar(self.db, "SELECT count(*) FROM t_dict"), 1)
        self.assertEqual(export(self.db, "t"), export(self.db, source))
        self.db.execute("INSERT INTO t(t) VALUES('integrity-check')")

    def test_rollback_to_a_savepoint_keeps_what_came_before(self):
        self.db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=cbor, block_spans=64)")
        first = "SELECT * FROM (%s) LIMIT 50" % self.nezha
        self.db.execute("BEGIN")
        self.db.execute("INSERT INTO t " + first)  # buffered: less than a block
        self.db.execute("SAVEPOINT s")
        self.db.execute("INSERT INTO t SELECT * FROM (%s) LIMIT 100 OFFSET 50" % self.nezha)  # fills blocks
        self.assertEqual(self.count(), 150)
        self.db.execute("ROLLBACK TO s")
        self.assertEqual(self.count(), 50)
        self.db.execute("SAVEPOINT s2")
        self.db.execute("INSERT INTO t SELECT * FROM (%s) LIMIT 10 OFFSET 50" % self.nezha)
        self.db.execute("RELEASE s2")
        self.db.execute("RELEASE s")
        self.db.execute("COMMIT")
        self.assertEqual(export(self.db, "t"), export(self.db, "SELECT * FROM (%s) LIMIT 60" % self.nezha))
        self.db.execute("INSERT INTO t(t) VALUES('integrity-check')")

    def test_savepoint_opened_before_the_first_write(self):
        self.db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=cbor, block_spans=64)")
        self.db.execute("BEGIN")
        self.db.execute("SAVEPOINT a")
        self.db.execute("INSERT INTO t " + self.nezha)
        self.db.execute("ROLLBACK TO a")
        self.db.execute("COMMIT")
        self.assertEqual(self.count(), 0)
        self.assertEqual(self.shadow_rows(), [0, 0, 0, 0])

    def failing_file(self, tmp, good):
        """An NDJSON file of `good` valid spans followed by a broken line."""
        path = os.path.join(tmp, "bad.ndjson")
        lines = export(self.db, self.nezha).splitlines()[:good]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n{\"resourceSpans\": [oops\n")
        return path

    def test_failed_statement_inside_a_transaction_leaves_nothing(self):
        self.db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=cbor, block_spans=100)")
        with tempfile.TemporaryDirectory() as tmp:
            bad = self.failing_file(tmp, 1000)
            self.db.execute("BEGIN")
            self.db.execute("INSERT INTO t SELECT * FROM (%s) LIMIT 30" % self.nezha)
            with self.assertRaises(sqlite3.Error):
                self.db.execute("INSERT INTO t " + file_source(bad))
            self.assertEqual(self.count(), 30)
            self.db.execute("COMMIT")
            self.assertEqual(self.count(), 30)
            # The same in autocommit mode.
            with self.assertRaises(sqlite3.Error):
                self.db.execute("INSERT INTO t " + file_source(bad))
        self.assertEqual(self.count(), 30)
        self.assertEqual(scalar(self.db, "SELECT count(*) FROM t_blocks"), 1)
        self.db.execute("INSERT INTO t(t) VALUES('integrity-check')")

    def test_a_transaction_reads_its_own_writes(self):
        self.db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=cbor_zstd)")
        self.db.execute("BEGIN")
        self.db.execute("INSERT INTO t " + json_source(FIXTURE))
        self.assertEqual(self.count(), 5)
        self.assertEqual(scalar(self.db, "SELECT count(*) FROM t WHERE trace_id = '4bf92f3577b34da6a3ce929d0e0e4736'"), 3)
        self.db.execute("DELETE FROM t WHERE name = 'query'")
        self.assertEqual(self.count(), 4)
        self.db.execute("INSERT INTO t " + json_source(FIXTURE))
        self.assertEqual(self.count(), 9)
        self.db.execute("ROLLBACK")
        self.assertEqual(self.count(), 0)

    def test_commit_is_durable(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "t.db")
            db = open_db(path)
            db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=cbor_zstd, block_spans=1000)")
            db.execute("BEGIN")
            db.execute("INSERT INTO t " + self.nezha)
            db.execute("COMMIT")
            db.close()
            db = open_db(path)
            self.assertEqual(export(db, "t"), export(db, self.nezha))
            self.assertEqual(scalar(db, "PRAGMA integrity_check"), "ok")
            db.close()


class Delete(unittest.TestCase):
    def setUp(self):
        self.db = open_db()
        self.source = "SELECT * FROM (%s) ORDER BY start_ns" % file_source(os.path.join(TRACES, NEZHA))
        self.db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=cbor, block_spans=100)")
        self.db.execute("INSERT INTO t " + self.source)

    def check(self, where):
        self.assertEqual(export(self.db, "t"),
                         export(self.db, "SELECT * FROM (%s) WHERE NOT (%s)" % (self.source, where)))
        self.db.execute("INSERT INTO t(t) VALUES('integrity-check')")

    def test_retention_by_time_drops_whole_blocks_without_decoding(self):
        blocks = scalar(self.db, "SELECT count(*) FROM t_blocks")
        cut = scalar(self.db, "SELECT max_start + 1 FROM t_blocks ORDER BY id LIMIT 1 OFFSET 20")
        partial = scalar(self.db, "SELECT count(*) FROM t_blocks WHERE min_start < ? AND max_start >= ?", (cut, cut))
        dropped = scalar(self.db, "SELECT count(*) FROM t_blocks WHERE max_start < ?", (cut,))
        before = blocks_read(self.db)
        self.db.execute("DELETE FROM t WHERE start_ns < ?", (cut,))
        # A partial block is decoded by the scan and again to be rewritten.
        self.assertEqual(blocks_read(self.db) - before, 2 * partial)
        self.assertEqual(scalar(self.db, "SELECT count(*) FROM t_blocks"), blocks - dropped)
        self.check("start_ns < %d" % cut)

    def test_delete_inside_a_block(self):
        cut = scalar(self.db, "SELECT (min_start + max_start) / 2 FROM t_blocks ORDER BY id LIMIT 1 OFFSET 5")
        self.db.execute("DELETE FROM t WHERE start_ns < ?", (cut,))
        self.check("start_ns < %d" % cut)

    def test_delete_by_trace_id(self):
        t = scalar(self.db, "SELECT trace_id FROM t GROUP BY trace_id ORDER BY count(*) DESC LIMIT 1")
        self.db.execute("DELETE FROM t WHERE trace_id = ?", (t,))
        self.check("trace_id = '%s'" % t)
        self.assertEqual(scalar(self.db, "SELECT count(*) FROM t WHERE trace_id = ?", (t,)), 0)

    def test_delete_by_any_condition(self):
        self.db.execute("DELETE FROM t WHERE name LIKE '%%get%%' OR duration_ns > 1000000")
        self.check("name LIKE '%%get%%' OR duration_ns > 1000000")

    def test_delete_everything(self):
        self.db.execute("DELETE FROM t")
        self.assertEqual(scalar(self.db, "SELECT count(*) FROM t"), 0)
        self.assertEqual(scalar(self.db, "SELECT count(*) FROM t_blocks"), 0)
        self.assertEqual(scalar(self.db, "SELECT count(*) FROM t_traces"), 0)

    def test_delete_rolled_back(self):
        self.db.execute("BEGIN")
        self.db.execute("DELETE FROM t WHERE start_ns % 3 = 0")
        self.db.execute("ROLLBACK")
        self.check("0")


class Refusals(unittest.TestCase):
    def setUp(self):
        self.db = open_db()
        self.db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=cbor)")
        self.db.execute("INSERT INTO t " + json_source(FIXTURE))

    def error(self, sql):
        with self.assertRaises(sqlite3.Error) as cm:
            self.db.execute(sql)
        return str(cm.exception)

    def test_update_is_refused(self):
        self.assertEqual(self.error("UPDATE t SET name = 'x'"),
                         "tracelite: table t: UPDATE is not supported: spans are stored compressed and "
                         "immutable; DELETE them and INSERT the changed spans")
        self.assertEqual(scalar(self.db, "SELECT count(*) FROM t WHERE name = 'x'"), 0)

    def test_explicit_rowid_and_unknown_command(self):
        self.assertEqual(self.error("INSERT INTO t(rowid, trace_id, span_id, start_ns) VALUES (5, '01', '01', 1)"),
                         "tracelite: table t: rowids are assigned by tracelite; insert spans without one")
        self.assertEqual(self.error("INSERT INTO t(t) VALUES('vacuum')"),
                         "tracelite: table t: unknown command 'vacuum' (the commands are 'optimize' and "
                         "'integrity-check')")


class RenameDrop(unittest.TestCase):
    def names(self, db):
        return sorted(r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'"))

    def test_rename_carries_the_shadow_tables(self):
        db = open_db()
        db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=cbor_zstd)")
        db.execute("INSERT INTO t " + json_source(FIXTURE))
        before = export(db, "t")
        db.execute("ALTER TABLE t RENAME TO spans2")
        self.assertEqual(self.names(db), ["spans2"] + ["spans2_" + s for s in SHADOWS])
        self.assertEqual(export(db, "spans2"), before)
        db.execute("INSERT INTO spans2 " + json_source(FIXTURE))
        db.execute("INSERT INTO spans2(spans2) VALUES('integrity-check')")
        with self.assertRaises(sqlite3.Error) as cm:
            db.execute("ALTER TABLE spans2 RENAME TO name")
        self.assertIn("cannot be named 'name'", str(cm.exception))
        self.assertEqual(scalar(db, "SELECT count(*) FROM spans2"), 10)

    def test_drop_removes_the_shadow_tables(self):
        db = open_db()
        db.execute("CREATE VIRTUAL TABLE t USING tracelite")
        db.execute("CREATE VIRTUAL TABLE keep USING tracelite")
        db.execute("INSERT INTO t " + json_source(FIXTURE))
        db.execute("DROP TABLE t")
        self.assertEqual(self.names(db), ["keep"] + ["keep_" + s for s in SHADOWS])


class Optimize(unittest.TestCase):
    def test_small_transactions_merge_into_full_blocks(self):
        db = open_db()
        source = file_source(os.path.join(TRACES, NEZHA))
        db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=cbor_zstd, block_spans=1000, dict_size=4096)")
        for offset in range(0, 4890, 163):  # 30 small transactions
            db.execute("INSERT INTO t SELECT * FROM (%s) LIMIT 163 OFFSET %d" % (source, offset))
        self.assertEqual(scalar(db, "SELECT count(*) FROM t_blocks"), 30)
        self.assertEqual(scalar(db, "SELECT count(*) FROM t_dict"), 0)
        lines = sorted(export(db, source).splitlines())
        db.execute("INSERT INTO t(t) VALUES('optimize')")
        self.assertEqual(sorted(export(db, "t").splitlines()), lines)
        blocks = db.execute("SELECT n FROM t_blocks ORDER BY id").fetchall()
        self.assertEqual(len(blocks), 5)
        self.assertTrue(all(500 <= n <= 1000 for (n,) in blocks), blocks)
        # Every trace fits in a block: each is now in exactly one.
        self.assertEqual(scalar(db, "SELECT count(*) FROM t_traces"), 71)
        self.assertEqual(scalar(db, "SELECT count(*) FROM t_dict"), 1)
        self.assertEqual(scalar(db, "SELECT count(*) FROM t_blocks WHERE ndjson IS NULL"), 0)
        db.execute("INSERT INTO t(t) VALUES('integrity-check')")
        # Optimizing again retrains nothing and keeps everything.
        db.execute("INSERT INTO t(t) VALUES('optimize')")
        self.assertEqual(scalar(db, "SELECT count(*) FROM t_dict"), 1)
        self.assertEqual(sorted(export(db, "t").splitlines()), lines)

    def test_optimize_rolled_back_and_on_an_empty_table(self):
        db = open_db()
        db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=cbor_zstd, block_spans=50, dict_size=4096)")
        db.execute("INSERT INTO t(t) VALUES('optimize')")
        source = "SELECT * FROM trace_file(%s) LIMIT 2000" % lit(os.path.join(TRACES, NEZHA))
        for offset in range(0, 2000, 400):
            db.execute("INSERT INTO t SELECT * FROM (%s) LIMIT 400 OFFSET %d" % (source, offset))
        before = export(db, "t")
        db.execute("BEGIN")
        db.execute("INSERT INTO t(t) VALUES('optimize')")
        self.assertEqual(scalar(db, "SELECT count(*) FROM t_dict"), 1)
        db.execute("ROLLBACK")
        self.assertEqual(scalar(db, "SELECT count(*) FROM t_dict"), 0)
        self.assertEqual(export(db, "t"), before)
        db.execute("INSERT INTO t " + json_source(FIXTURE))
        db.execute("INSERT INTO t(t) VALUES('integrity-check')")


class Integrity(unittest.TestCase):
    def setUp(self):
        self.db = open_db()
        self.db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=cbor, block_spans=3)")
        self.db.execute("INSERT INTO t " + json_source(FIXTURE))

    def check_fails(self, message):
        with self.assertRaises(sqlite3.DatabaseError) as cm:
            self.db.execute("INSERT INTO t(t) VALUES('integrity-check')")
        self.assertEqual(str(cm.exception), message)
        self.assertEqual(cm.exception.sqlite_errorcode, CORRUPT_VTAB)

    def test_clean_table_passes(self):
        self.db.execute("INSERT INTO t(t) VALUES('integrity-check')")

    def test_metadata_that_lies(self):
        start = scalar(self.db, "SELECT min_start FROM t_blocks WHERE id = 2")
        self.db.execute("UPDATE t_blocks SET min_start = min_start - 1 WHERE id = 2")
        self.check_fails("tracelite: table t: block 2: the metadata says min start_ns %d, the blob gives %d"
                         % (start - 1, start))

    def test_missing_and_extra_index_entries(self):
        k = scalar(self.db, "SELECT k FROM t_traces WHERE block = 1")
        self.db.execute("DELETE FROM t_traces WHERE block = 1")
        self.check_fails("tracelite: table t: block 1: trace key %d is missing from the trace index" % k)
        self.db.execute("INSERT INTO t_traces VALUES (?, 1)", (k,))
        self.db.execute("INSERT INTO t_traces VALUES (42, 2)")
        self.check_fails("tracelite: table t: block 2: the trace index lists trace key 42, which the block does not hold")

    def test_missing_service(self):
        self.db.execute("DELETE FROM t_services WHERE name = 'db'")
        self.db.execute("INSERT INTO t_services VALUES (99, 'other')")
        self.check_fails("tracelite: table t: block 1: service 'db' is missing from t_services")


class Corruption(unittest.TestCase):
    """A corrupted block or metadata row is SQLITE_CORRUPT_VTAB with a
    message naming the table and block: never a crash or a wrong answer."""

    def setUp(self):
        self.db = open_db()

    def make(self, fmt, block_spans=1000):
        self.db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=%s, block_spans=%d)" % (fmt, block_spans))
        self.db.execute("INSERT INTO t " + json_source(FIXTURE))

    def set_blob(self, data, crc=True):
        """Replaces block 1's blob; with crc, its checksum is made to match
        so that the envelope and the codec get to see the bytes."""
        if crc:
            self.db.execute("UPDATE t_blocks SET data = ?, crc = ? WHERE id = 1", (data, zlib.crc32(data)))
        else:
            self.db.execute("UPDATE t_blocks SET data = ? WHERE id = 1", (data,))

    def corrupt(self, sql="SELECT * FROM t"):
        with self.assertRaises(sqlite3.DatabaseError) as cm:
            self.db.execute(sql).fetchall()
        self.assertEqual(cm.exception.sqlite_errorcode, CORRUPT_VTAB, str(cm.exception))
        return str(cm.exception)

    def test_garbage_truncation_and_wrong_codec(self):
        for fmt in FORMATS:
            with self.subTest(format=fmt):
                self.make(fmt)
                data = scalar(self.db, "SELECT data FROM t_blocks")
                flipped = data[:-1] + bytes([data[-1] ^ 0x10])
                self.set_blob(flipped, crc=False)
                self.assertEqual(self.corrupt(), "tracelite: table t: block 1: the blob's CRC-32 is %08x, "
                                                 "the metadata says %08x" % (zlib.crc32(flipped), zlib.crc32(data)))
                self.set_blob(bytes(300))
                self.assertEqual(self.corrupt(), "tracelite: table t: block 1: block: bad magic (not a tracelite block)")
                self.set_blob(data[:len(data) // 2])
                self.assertTrue(self.corrupt().startswith("tracelite: table t: block 1: "))
                self.set_blob(data[:3])
                self.assertEqual(self.corrupt(), "tracelite: table t: block 1: block: truncated envelope")
                other = {"ndjson": 2, "cbor": 3, "cbor_zstd": 1}[fmt]
                names = {1: "ndjson", 2: "cbor", 3: "cbor_zstd"}
                self.set_blob(data[:4] + bytes([other]) + data[5:])
                self.assertEqual(self.corrupt(), "tracelite: table t: block 1: block: written by codec %d (%s), "
                                                 "this table reads %s" % (other, names[other], fmt))
                self.set_blob(data[:6] + bytes([4]) + data[7:])
                self.assertEqual(self.corrupt(), "tracelite: table t: block 1: the metadata says 5 spans, the blob holds 4")
                self.db.execute("UPDATE t_blocks SET data = 5 WHERE id = 1")
                self.assertEqual(self.corrupt(), "tracelite: table t: block 1: the blob cannot be read: "
                                                 "cannot open value of type integer")
                self.set_blob(data)
                self.assertEqual(scalar(self.db, "SELECT count(*) FROM t WHERE name = 'query'"), 1)
                self.db.execute("DROP TABLE t")

    def test_bad_metadata_and_index(self):
        self.make("cbor", 2)
        self.db.execute("UPDATE t_blocks SET n = 0 WHERE id = 2")
        self.assertEqual(self.corrupt("SELECT count(*) FROM t"),
                         "tracelite: table t: block 2: impossible metadata (n=0 ntraces=2 start "
                         "1700000000020000000..1700000001000000000 end 1700000000190000000..1700000001000000000 status=1)")
        self.db.execute("UPDATE t_blocks SET n = 2, services = 'text' WHERE id = 2")
        self.assertEqual(self.corrupt("SELECT count(*) FROM t"),
                         "tracelite: table t: block 2: the services column is not a blob")
        self.db.execute("UPDATE t_blocks SET services = x'00' WHERE id = 2")
        self.assertEqual(self.corrupt("SELECT count(*) FROM t WHERE service = 'db'"),
                         "tracelite: table t: block 2: the services list is malformed")
        self.db.execute("UPDATE t_blocks SET services = x'02' WHERE id = 2")
        self.db.execute("UPDATE t_blocks SET id = 7 WHERE id = 3")
        self.assertEqual(self.corrupt("SELECT * FROM t WHERE trace_id = '6bf92f3577b34da6a3ce929d0e0e4738'"),
                         "tracelite: table t: block 3: the trace index lists it, but t_blocks has no such row")

    def test_random_damage_never_crashes(self):
        """Damaged blobs with a matching checksum reach the codec: rows or
        SQLITE_CORRUPT_VTAB, never a crash (run under make asan too).
        Without the matching checksum every change is caught."""
        rng = random.Random(20240601)
        self.db.text_factory = bytes  # damaged strings need not be UTF-8
        for fmt in FORMATS:
            self.make(fmt)
            data = scalar(self.db, "SELECT data FROM t_blocks")
            outcomes = set()
            for _ in range(300):
                b = bytearray(data)
                kind = rng.randrange(4)
                if kind == 0:
                    for _ in range(rng.randrange(1, 6)):
                        b[rng.randrange(7, len(b))] = rng.randrange(256)
                elif kind == 1:
                    del b[rng.randrange(7, len(b)):]
                elif kind == 2:
                    b[rng.randrange(7, len(b))] ^= 1 << rng.randrange(8)
                else:
                    b += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
                if bytes(b) == data:
                    continue
                self.set_blob(bytes(b), crc=False)
                self.assertIn("CRC-32", self.corrupt())
                self.set_blob(bytes(b))
                try:
                    rows = self.db.execute("SELECT * FROM t").fetchall()
                    self.assertEqual(len(rows), 5)
                    outcomes.add("rows")
                except sqlite3.DatabaseError as e:
                    self.assertEqual(e.sqlite_errorcode, CORRUPT_VTAB, str(e))
                    self.assertTrue(str(e).startswith("tracelite: table t: block 1: "), str(e))
                    outcomes.add("corrupt")
            self.assertIn("corrupt", outcomes)
            self.db.execute("DROP TABLE t")


class Stats(unittest.TestCase):
    def test_values_match_an_independent_count(self):
        db = open_db()
        db.execute("CREATE VIRTUAL TABLE a USING tracelite(format=cbor_zstd, block_spans=500)")
        db.execute("CREATE VIRTUAL TABLE b USING tracelite(format=ndjson)")
        db.execute("INSERT INTO a " + file_source(os.path.join(TRACES, NEZHA)))
        db.execute("INSERT INTO b " + json_source(FIXTURE))
        rows = db.execute("SELECT * FROM tracelite_stats").fetchall()
        self.assertEqual([r[:3] for r in rows], [("main", "a", "cbor_zstd"), ("main", "b", "ndjson")])
        for row, t in zip(rows, ["a", "b"]):
            with self.subTest(table=t):
                _, _, _, blocks, spans, traces, size, ndjson, ratio, per_span = row
                self.assertEqual(blocks, scalar(db, "SELECT count(*) FROM %s_blocks" % t))
                self.assertEqual(spans, scalar(db, "SELECT count(*) FROM %s" % t))
                self.assertEqual(traces, scalar(db, "SELECT count(DISTINCT trace_id) FROM %s" % t))
                pages = scalar(db, "SELECT sum(pgsize) FROM dbstat WHERE name IN (SELECT name FROM sqlite_schema "
                                   "WHERE tbl_name LIKE '%s\\_%%' ESCAPE '\\')" % t)
                self.assertEqual(size, pages)
                self.assertGreater(size, scalar(db, "SELECT sum(length(data)) FROM %s_blocks" % t))
                self.assertEqual(ndjson, len(export(db, t).encode()))
                self.assertAlmostEqual(ratio, ndjson / size)
                self.assertAlmostEqual(per_span, size / spans)
        # After optimize the NDJSON size is stored per block, and unchanged.
        db.execute("INSERT INTO a(a) VALUES('optimize')")
        self.assertEqual(scalar(db, "SELECT sum(ndjson) FROM a_blocks"), rows[0][7])
        self.assertEqual(scalar(db, "SELECT ndjson_bytes FROM tracelite_stats WHERE name = 'a'"), rows[0][7])


class ColumnarFastPaths(unittest.TestCase):
    """format=columnar serves a query that reads only ids and times from
    arrays (no span built per row), and a trace lookup fills in only the
    spans of its traces; both give exactly the rows of the full decode (a
    query that also reads the name, or a full scan with +trace_id)."""

    CHEAP = "rowid, trace_id, span_id, parent_span_id, start_ns, end_ns, duration_ns, flags, trace_state"

    @classmethod
    def setUpClass(cls):
        cls.db = open_db()
        db = cls.db
        db.execute("CREATE VIRTUAL TABLE c USING tracelite(format=columnar, block_spans=256)")
        db.execute("INSERT INTO c " + json_source(FIXTURE))
        db.execute("INSERT INTO c " + file_source(os.path.join(TRACES, NEZHA)))
        if has_generator(db):
            db.execute("INSERT INTO c SELECT * FROM trace_generate(150, 5)")
        cls.traces = [r[0] for r in db.execute("SELECT DISTINCT trace_id FROM c")]

    def full_rows(self, where="", args=()):
        """The cheap columns as the full decode gives them (name read too)."""
        rows = self.db.execute("SELECT %s, name FROM c %s" % (self.CHEAP, where), args).fetchall()
        return [r[:-1] for r in rows]

    def test_cheap_columns_equal_the_full_decode(self):
        self.assertGreater(scalar(self.db, "SELECT count(*) FROM c_blocks"), 20)
        rows = self.db.execute("SELECT %s FROM c" % self.CHEAP).fetchall()
        self.assertEqual(rows, self.full_rows())
        self.assertGreater(len(rows), 5000)
        # The fixture's trace state and flags come through the arrays.
        self.assertEqual(self.db.execute("SELECT trace_state, flags FROM c WHERE span_id = '00f067aa0ba902b7'")
                         .fetchall(), [("rojo=00f067aa0ba902b7", 769)])
        self.assertEqual(self.db.execute("SELECT sum(duration_ns), sum(start_ns % 1000003), count(*) FROM c")
                         .fetchone(),
                         self.db.execute("SELECT sum(duration_ns), sum(start_ns % 1000003), count(*), "
                                         "count(name) FROM c").fetchone()[:3])

    def test_cheap_columns_with_filters(self):
        lo, hi = self.db.execute("SELECT min(start_ns), max(start_ns) FROM c").fetchone()
        mid = (lo + hi) // 2
        where = "WHERE start_ns BETWEEN ? AND ?"
        self.assertEqual(self.db.execute("SELECT %s FROM c %s" % (self.CHEAP, where), (mid - 10**9, mid)).fetchall(),
                         self.full_rows(where, (mid - 10**9, mid)))
        # Times alone (no id column read: the ids are not even copied).
        times = "SELECT rowid, start_ns, end_ns, duration_ns%s FROM c " + where
        self.assertEqual(self.db.execute(times % "", (mid - 10**9, mid)).fetchall(),
                         [r[:-1] for r in self.db.execute(times % ", name", (mid - 10**9, mid))])
        for t in self.traces[::7]:
            with self.subTest(trace=t):
                rows = self.db.execute("SELECT %s FROM c WHERE trace_id = ?" % self.CHEAP, (t,)).fetchall()
                self.assertGreater(len(rows), 0)
                self.assertEqual(rows, self.full_rows("WHERE +trace_id = ?", (t,)))
                self.assertEqual(self.db.execute("SELECT sum(duration_ns), count(*) FROM c WHERE trace_id = ?",
                                                 (t,)).fetchone(),
                                 self.db.execute("SELECT sum(duration_ns), count(*) FROM c WHERE +trace_id = ?",
                                                 (t,)).fetchone())

    def check_lookup(self, t, cheap=False):
        cols = self.CHEAP if cheap else "rowid, *"
        rows = self.db.execute("SELECT %s FROM c WHERE trace_id = ?" % cols, (t,)).fetchall()
        self.assertGreater(len(rows), 0)
        self.assertEqual(rows, self.db.execute("SELECT %s FROM c WHERE +trace_id = ?" % cols, (t,)).fetchall())

    def test_trace_lookups_equal_a_full_scan(self):
        rng = random.Random(5)
        shuffled = self.traces[:]
        rng.shuffle(shuffled)
        # Random order (each block filled in for one trace), then block
        # order (a run on one block: filled in, then whole, then cached),
        # with lookups of ids and times only in between.
        for i, t in enumerate(shuffled[:80] + self.traces[:80]):
            with self.subTest(trace=t):
                self.check_lookup(t, cheap=i % 3 == 2)

    def test_trace_lists_equal_a_full_scan(self):
        for k in (2, 5, 17):
            some = self.traces[::k][:12]
            marks = ",".join("?" * len(some))
            rows = self.db.execute("SELECT rowid, * FROM c WHERE trace_id IN (%s)" % marks, some).fetchall()
            self.assertEqual(sorted(rows), sorted(self.db.execute(
                "SELECT rowid, * FROM c WHERE +trace_id IN (%s)" % marks, some).fetchall()))
            self.assertEqual(len({r[1] for r in rows}), len(some))


if __name__ == "__main__":
    unittest.main()
