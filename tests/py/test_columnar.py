"""format=columnar (and format=relational) through SQL: what goes in comes
back (the export of the table equals the export of its source, for generated
spans and real files), queries that read a few columns answer as a row
format does, optimize and integrity-check work, both are smaller than
cbor_zstd, and tracelite_columns() accounts for every byte of a columnar
table's blocks."""
import os
import unittest
import zlib

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


class DurationsAlone(unittest.TestCase):
    """A scan that reads duration_ns and nothing else reads, of each
    columnar blob, only its head: the stream directory, the durations and
    the head's own CRC-32.  It must give exactly what a full decode gives
    (cbor_zstd as the reference), in block order, and a damaged head must
    be refused as any damaged block is."""

    @classmethod
    def setUpClass(cls):
        cls.db = connect()
        for fmt in ("columnar", "cbor_zstd"):
            cls.db.execute(f"CREATE VIRTUAL TABLE {fmt} USING tracelite(format={fmt}, block_spans=1000)")
            cls.db.execute(f"INSERT INTO {fmt} SELECT * FROM trace_generate(300, 7)")
            for rel in NEZHA_SAMPLES:
                cls.db.execute(f"INSERT INTO {fmt} " + file_sql(os.path.join(TRACES, rel)))
            # A block of a few spans: its whole blob is the first read.
            cls.db.execute(f"INSERT INTO {fmt} SELECT * FROM trace_generate(1, 3)")

    def same(self, query, args=()):
        want = self.db.execute(query.format(t="cbor_zstd"), args).fetchall()
        self.assertEqual(self.db.execute(query.format(t="columnar"), args).fetchall(), want)
        return want

    def test_durations_equal_a_full_decode(self):
        rows = self.same("SELECT rowid, duration_ns FROM {t} ORDER BY rowid")
        self.assertGreater(len(rows), 10000)
        self.assertGreater(len({r[1] for r in rows}), 1000)
        self.same("SELECT sum(duration_ns), count(duration_ns), min(duration_ns), max(duration_ns) FROM {t}")
        self.same("SELECT duration_ns FROM {t} WHERE duration_ns > 5000000 ORDER BY 1")
        # Filters on the times or ids, and other columns beside: the times.
        lo = self.db.execute("SELECT min(start_ns) + 1000000 FROM cbor_zstd").fetchone()[0]
        self.same("SELECT count(*), sum(duration_ns) FROM {t} WHERE start_ns >= ?", (lo,))
        self.same("SELECT count(*), sum(duration_ns) FROM {t} WHERE end_ns < ?", (lo,))
        tid = self.db.execute("SELECT trace_id FROM cbor_zstd LIMIT 1").fetchone()[0]
        self.same("SELECT span_id, duration_ns FROM {t} WHERE trace_id = ? ORDER BY 1", (tid,))
        pairs = self.db.execute("SELECT duration_ns, end_ns - start_ns FROM columnar").fetchall()
        self.assertEqual([a for a, _ in pairs], [b for _, b in pairs])

    def test_deleted_and_unwritten_spans(self):
        db = connect()
        db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=columnar, block_spans=500)")
        db.execute("INSERT INTO t SELECT * FROM trace_generate(60, 4)")
        db.commit()
        db.execute("BEGIN")
        db.execute("DELETE FROM t WHERE rowid % 3 = 0")
        db.execute("INSERT INTO t SELECT * FROM trace_generate(5, 6)")  # not yet in a block
        want = db.execute("SELECT sum(end_ns - start_ns), count(*) FROM t").fetchone()
        self.assertEqual(db.execute("SELECT sum(duration_ns), count(duration_ns) FROM t").fetchone(), want)
        db.execute("ROLLBACK")


class DurationsHead(unittest.TestCase):
    """What the durations read checks: the head alone, by its own CRC-32."""

    def setUp(self):
        self.db = connect()
        self.db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=columnar)")
        self.db.execute("INSERT INTO t SELECT * FROM trace_generate(150, 9)")
        self.db.commit()
        self.data = self.db.execute("SELECT data FROM t_blocks WHERE id = 1").fetchone()[0]
        self.total = self.db.execute("SELECT sum(duration_ns) FROM t").fetchone()[0]

    def flip(self, at):
        data = bytearray(self.data)
        data[at] ^= 0x40
        # The row's CRC is left as it was: what tells the damage is the
        # whole blob's CRC, or the head's own.
        self.db.execute("UPDATE t_blocks SET data = ? WHERE id = 1", (bytes(data),))

    def error(self, sql):
        with self.assertRaises(Exception) as cm:
            self.db.execute(sql).fetchall()
        return str(cm.exception)

    def test_damage_past_the_head_is_not_read(self):
        self.assertGreater(len(self.data), 3 * 4096)
        self.flip(len(self.data) - 1)
        self.assertEqual(self.db.execute("SELECT sum(duration_ns) FROM t").fetchone()[0], self.total)
        crc = "tracelite: table t: block 1: the blob's CRC-32 is "
        self.assertTrue(self.error("SELECT sum(start_ns) FROM t").startswith(crc))
        self.assertTrue(self.error("INSERT INTO t(t) VALUES('integrity-check')").startswith(crc))

    def head(self):
        """Where the payload starts, and the durations and head check
        streams in it (docs/format.md: envelope, then the directory)."""
        d = self.data
        def leb(at):
            v = shift = 0
            while True:
                v |= (d[at] & 0x7F) << shift
                shift += 7
                at += 1
                if d[at - 1] < 0x80:
                    return v, at
        _, at = leb(6)  # the span count, after magic, codec and version
        payload = at
        _, at = leb(at)  # dictionary id
        k, at = leb(at)
        stored = []
        for _ in range(k):
            kind, at = leb(at)
            index, at = leb(at)
            coding = d[at]
            n, at = leb(at + 1)
            if coding:
                _, at = leb(at)
            stored.append((kind, index, n))
        self.assertEqual(stored[:2], [(0, 0, stored[0][2]), (0, 1, 4)])
        return payload, at, at + stored[0][2]  # payload, durations, head check

    def test_damage_in_the_head_is_refused(self):
        payload, durations, check = self.head()
        want = int.from_bytes(self.data[check:check + 4], "little")
        self.flip(payload + 1)  # the stream count: the directory no longer adds up
        self.assertTrue(self.error("SELECT sum(duration_ns) FROM t").startswith(
            "tracelite: table t: block 1: columnar payload: the directory accounts for "))
        for at in (durations, durations + 10, check - 1):
            with self.subTest(at=at):
                self.flip(at)
                got = zlib.crc32(self.db.execute("SELECT data FROM t_blocks").fetchone()[0][payload:check])
                self.assertEqual(self.error("SELECT sum(duration_ns) FROM t"),
                                 "tracelite: table t: block 1: columnar payload: head check %08x, "
                                 "the directory and durations give %08x" % (want, got))
        self.flip(check)
        self.assertEqual(self.error("SELECT sum(duration_ns) FROM t"),
                         "tracelite: table t: block 1: columnar payload: head check %08x, "
                         "the directory and durations give %08x" % (want ^ 0x40, zlib.crc32(self.data[payload:check])))


class ColumnsFunction(unittest.TestCase):
    def test_every_byte_is_accounted_for(self):
        db = connect()
        db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=columnar)")
        db.execute("INSERT INTO t SELECT * FROM trace_generate(200, 5)")
        db.commit()
        rows = db.execute("SELECT column, blocks, bytes, raw_bytes, bytes_per_span, share "
                          "FROM tracelite_columns('t')").fetchall()
        names = [r[0] for r in rows]
        for name in ("span_ids", "trace_ids", "start_ns", "durations", "(head check)", "ops", "names",
                     "resources", "(directory)", "attributes.http.request.method",
                     "events.attributes.exception.type"):
            self.assertIn(name, names)
        self.assertNotIn("end_ns", names)  # ends are starts plus durations
        self.assertEqual(rows[0][0], "span_ids")  # random ids dominate
        spans, blocks, stored = db.execute("SELECT sum(n), count(*), sum(length(data)) FROM t_blocks").fetchone()
        self.assertEqual(sum(r[2] for r in rows), stored)
        self.assertAlmostEqual(dict((r[0], r[4]) for r in rows)["span_ids"], 8.0)
        self.assertAlmostEqual(sum(r[5] for r in rows), 1.0)
        self.assertEqual(dict((r[0], r[1]) for r in rows)["(directory)"], blocks)
        self.assertEqual(dict((r[0], r[2]) for r in rows)["(head check)"], 4 * blocks)
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
