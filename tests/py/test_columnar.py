"""format=columnar (and format=relational) through SQL: what goes in comes
back (the export of the table equals the export of its source, for generated
spans and real files), queries that read a few columns answer as a row
format does, optimize and integrity-check work, both are smaller than
cbor_zstd, and tracelite_columns() accounts for every byte of a columnar
table's blocks."""
import os
import unittest

from test_import import all_trace_files, is_metadata
from tlhelp import TRACES, connect

# Files that are read in full here; the C unit test (test_codec_columnar)
# sends every span of every file through the codec.
NEZHA_SAMPLES = [
    "nezha/construct_data/2023-01-29/08_50_trace.csv",
    "nezha/rca_data/2023-01-29/08_43_trace.csv.zst",
]


def small_files():
    return [rel for rel in all_trace_files() if not is_metadata(rel) and not rel.startswith("nezha/")]


def source_export(db, sql):
    return db.execute("SELECT trace_export(?)", (sql,)).fetchone()[0]


def file_sql(path):
    return "SELECT * FROM trace_file('" + path.replace("'", "''") + "')"


FORMATS = ("columnar", "relational")


class RoundTrip(unittest.TestCase):
    def test_generated_spans_round_trip(self):
        db = connect()
        want = source_export(db, "SELECT * FROM trace_generate(300, 7)")
        for fmt in FORMATS:
            with self.subTest(format=fmt):
                db.execute(f"CREATE VIRTUAL TABLE {fmt} USING tracelite(format={fmt})")
                db.execute(f"INSERT INTO {fmt} SELECT * FROM trace_generate(300, 7)")
                self.assertEqual(source_export(db, fmt), want)

    def test_real_files_round_trip(self):
        db = connect()
        for i, rel in enumerate(small_files() + NEZHA_SAMPLES):
            sql = file_sql(os.path.join(TRACES, rel))
            want = source_export(db, sql)
            for fmt in FORMATS:
                with self.subTest(file=rel, format=fmt):
                    db.execute(f"CREATE VIRTUAL TABLE {fmt}{i} USING tracelite(format={fmt})")
                    db.execute(f"INSERT INTO {fmt}{i} {sql}")
                    self.assertEqual(source_export(db, f"{fmt}{i}"), want)

    def test_optimize_and_integrity_check(self):
        for fmt in FORMATS:
            with self.subTest(format=fmt):
                db = connect()
                db.execute(f"CREATE VIRTUAL TABLE t USING tracelite(format={fmt}, block_spans=500)")
                for seed in (1, 2, 3):
                    db.execute(f"INSERT INTO t SELECT * FROM trace_generate(40, {seed})")
                order = "SELECT * FROM t ORDER BY trace_id, span_id, start_ns"
                before = source_export(db, order)
                db.execute("INSERT INTO t(t) VALUES('optimize')")
                db.execute("INSERT INTO t(t) VALUES('integrity-check')")
                self.assertEqual(source_export(db, order), before)


class PartialQueries(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = connect()
        for fmt in ("columnar", "relational", "cbor_zstd"):
            cls.db.execute(f"CREATE VIRTUAL TABLE {fmt} USING tracelite(format={fmt})")
            cls.db.execute(f"INSERT INTO {fmt} SELECT * FROM trace_generate(400, 11)")

    def same(self, query):
        want = self.db.execute(query.format(t="cbor_zstd")).fetchall()
        for fmt in ("columnar", "relational"):
            self.assertEqual(self.db.execute(query.format(t=fmt)).fetchall(), want, fmt)
        return want

    def test_queries_that_read_some_columns(self):
        rows = self.same("SELECT count(*), sum(duration_ns), min(start_ns), max(end_ns) FROM {t}")
        self.assertGreater(rows[0][0], 5000)
        self.same("SELECT service, count(*), sum(duration_ns) FROM {t} GROUP BY service ORDER BY service")
        self.same("SELECT name, kind, count(*) FROM {t} GROUP BY 1, 2 ORDER BY 1, 2")
        self.same("SELECT status_code, status_message, count(*) FROM {t} GROUP BY 1, 2 ORDER BY 1, 2")
        self.same("SELECT count(*) FROM {t} WHERE parent_span_id IS NULL")
        self.same("SELECT rowid, attributes FROM {t} ORDER BY rowid LIMIT 500")
        self.same("SELECT rowid, events, links, scope, dropped FROM {t} WHERE events IS NOT NULL ORDER BY rowid")
        tid = self.db.execute("SELECT trace_id FROM columnar WHERE parent_span_id IS NULL LIMIT 1").fetchone()[0]
        rows = self.same(f"SELECT * FROM {{t}} WHERE trace_id = '{tid}' ORDER BY span_id")
        self.assertGreater(len(rows), 1)

    def test_smaller_than_cbor_zstd(self):
        size = {}
        for fmt in ("columnar", "relational", "cbor_zstd"):
            size[fmt] = self.db.execute(f"SELECT sum(length(data)) FROM {fmt}_blocks").fetchone()[0]
        self.assertLess(size["columnar"] * 1.5, size["cbor_zstd"])
        self.assertLess(size["relational"] * 1.2, size["cbor_zstd"])
        self.assertLess(size["columnar"], size["relational"])


class ColumnsFunction(unittest.TestCase):
    def test_every_byte_is_accounted_for(self):
        db = connect()
        db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=columnar)")
        db.execute("INSERT INTO t SELECT * FROM trace_generate(200, 5)")
        db.commit()
        rows = db.execute("SELECT column, blocks, bytes, raw_bytes, bytes_per_span, share "
                          "FROM tracelite_columns('t')").fetchall()
        names = [r[0] for r in rows]
        for name in ("span_ids", "trace_ids", "start_ns", "end_ns", "ops", "names", "resources",
                     "(directory)", "attributes.http.request.method", "events.attributes.exception.type"):
            self.assertIn(name, names)
        self.assertEqual(rows[0][0], "span_ids")  # random ids dominate
        spans, blocks, stored = db.execute("SELECT sum(n), count(*), sum(length(data)) FROM t_blocks").fetchone()
        self.assertEqual(sum(r[2] for r in rows), stored)
        self.assertAlmostEqual(dict((r[0], r[4]) for r in rows)["span_ids"], 8.0)
        self.assertAlmostEqual(sum(r[5] for r in rows), 1.0)
        self.assertEqual(dict((r[0], r[1]) for r in rows)["(directory)"], blocks)
        self.assertGreater(spans, 0)
        self.assertTrue(all(r[3] >= r[2] or r[0] in ("(directory)",) for r in rows if r[0] != "span_ids"))

    def test_errors(self):
        db = connect()
        db.execute("CREATE VIRTUAL TABLE c USING tracelite(format=cbor)")
        cases = [
            ("SELECT * FROM tracelite_columns('nope')", "tracelite_columns: main.nope is not a tracelite table"),
            ("SELECT * FROM tracelite_columns('c')",
             "tracelite_columns: table c has format cbor: only columnar tables have column streams"),
            ("SELECT * FROM tracelite_columns", "tracelite_columns: usage: tracelite_columns(table [, schema])"),
        ]
        for sql, msg in cases:
            with self.subTest(sql=sql):
                with self.assertRaises(Exception) as ctx:
                    db.execute(sql).fetchall()
                self.assertEqual(str(ctx.exception), msg)

    def test_other_schema(self):
        db = connect()
        db.execute("ATTACH ':memory:' AS aux")
        db.execute("CREATE VIRTUAL TABLE aux.t USING tracelite(format=columnar)")
        db.execute("INSERT INTO aux.t SELECT * FROM trace_generate(20, 1)")
        db.commit()  # spans still in the write buffer are in no block yet
        n = db.execute("SELECT count(*) FROM tracelite_columns('t', 'aux')").fetchone()[0]
        self.assertGreater(n, 10)


def dict_ids(db, table):
    """The dictionary id each block's columnar payload names, by block id."""
    out = []
    for bid, data in db.execute(f"SELECT id, data FROM {table}_blocks ORDER BY id"):
        i = 6
        while data[i] & 0x80:  # the span count
            i += 1
        out.append((bid, data[i + 1]))
    return out


class Dictionaries(unittest.TestCase):
    """When the store trains a dictionary (docs/storage.md, "Dictionaries"),
    on columnar tables whose dictionaries are raw content."""

    def test_trained_on_one_block_judged_on_the_next(self):
        db = connect()
        db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=columnar, block_spans=1024)")
        source = "SELECT * FROM trace_generate(400, 3)"
        db.execute("INSERT INTO t SELECT * FROM (%s) LIMIT 1024" % source)
        # One block: nothing to judge a dictionary on.
        self.assertEqual(db.execute("SELECT count(*) FROM t_dict").fetchone()[0], 0)
        db.execute("INSERT INTO t SELECT * FROM (%s) LIMIT 3000 OFFSET 1024" % source)
        self.assertEqual(db.execute("SELECT id, spans FROM t_dict").fetchall(), [(1, 1024)])
        db.commit()
        self.assertEqual(dict_ids(db, "t"), [(1, 0), (2, 1), (3, 1), (4, 1)])
        self.assertEqual(source_export(db, "t"),
                         source_export(db, "SELECT * FROM (%s) LIMIT 4024" % source))
        rows = dict(db.execute("SELECT column, bytes FROM tracelite_columns('t')").fetchall())
        self.assertEqual(rows["(dictionaries)"],
                         db.execute("SELECT sum(length(data)) FROM t_dict").fetchone()[0])
        db.execute("INSERT INTO t(t) VALUES('integrity-check')")

    def test_retried_when_the_table_grew_sixteen_times(self):
        """A later dictionary is kept when it beats the current one: here the
        spans change from generated ones to a Nezha minute."""
        db = connect()
        db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=columnar, block_spans=1024)")
        db.execute("INSERT INTO t SELECT * FROM trace_generate(200, 1) LIMIT 2048")
        self.assertEqual(db.execute("SELECT id, spans FROM t_dict").fetchall(), [(1, 1024)])
        nezha = os.path.join(TRACES, NEZHA_SAMPLES[0])  # 4890 spans
        counts = []
        for _ in range(7):
            db.execute("INSERT INTO t SELECT * FROM trace_file(?)", (nezha,))
            counts.append(db.execute("SELECT count(*) FROM t_dict").fetchone()[0])
        # Tried first at 2048 spans, again once the table holds 16 times as
        # many (32768, in the seventh file).
        self.assertEqual(counts, [1, 1, 1, 1, 1, 1, 2])
        ids = [d for _, d in dict_ids(db, "t")]
        self.assertEqual(ids[-1], 2)
        self.assertEqual(sorted(set(ids)), [0, 1, 2])
        db.execute("INSERT INTO t(t) VALUES('integrity-check')")

    def test_none_when_asked_for_none_or_too_small(self):
        db = connect()
        db.execute("CREATE VIRTUAL TABLE off USING tracelite(format=columnar, block_spans=1024, dict_size=0)")
        db.execute("CREATE VIRTUAL TABLE tiny USING tracelite(format=columnar, block_spans=1000)")
        db.execute("INSERT INTO off SELECT * FROM trace_generate(200, 3)")
        # Blocks under 1024 spans are too small to train or judge on.
        db.execute("INSERT INTO tiny SELECT * FROM trace_generate(200, 3)")
        self.assertEqual(db.execute("SELECT count(*) FROM off_dict").fetchone()[0], 0)
        self.assertEqual(db.execute("SELECT count(*) FROM tiny_dict").fetchone()[0], 0)
        self.assertEqual(set(d for _, d in dict_ids(db, "off")), {0})

    def test_zstd_level_defaults_by_format(self):
        db = connect()
        db.execute("CREATE VIRTUAL TABLE c USING tracelite(format=columnar)")
        db.execute("CREATE VIRTUAL TABLE c3 USING tracelite(format=columnar, zstd_level=3)")
        db.execute("CREATE VIRTUAL TABLE z USING tracelite(format=cbor_zstd)")
        level = "SELECT v FROM %s_config WHERE k = 'zstd_level'"
        self.assertEqual([db.execute(level % t).fetchone()[0] for t in ("c", "c3", "z")],
                         ["6", "3", "3"])


if __name__ == "__main__":
    unittest.main()
