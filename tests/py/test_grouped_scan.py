"""GROUP BY service / ORDER BY service answered by a tracelite table itself
(ext/store/group_sql.c, store.h): the same rows as SQLite's sorter gives,
the plan without a temporary B-tree, every format, filters, NULL services,
DESC, rowids, pending writes and deletes, the memory budget (a quarter of
the soft heap limit when it is lower) and the walk per service a statement
falls back to when the table outgrew the budget after it was planned."""
import sqlite3
import unittest

from tlhelp import connect

FORMATS = ("ndjson", "cbor", "cbor_zstd", "columnar", "relational")

# {s} is the grouping term: `service` lets the table group, `+service` (an
# expression) makes SQLite sort, the reference.  Ties inside a group have no
# order in SQL, so every query aggregates or sorts within groups.
QUERIES = [
    "SELECT service, latency_percentile(duration_ns, 0.5), latency_percentile(duration_ns, 0.99) "
    "FROM {t} GROUP BY {s}",
    "SELECT service, count(*), sum(duration_ns), min(start_ns), max(end_ns) FROM {t} GROUP BY {s}",
    "SELECT service, kind, status_code, count(*) FROM {t} GROUP BY {s}, kind, status_code",
    "SELECT service, min(kind), max(status_code), count(*) FROM "
    "(SELECT service, kind, status_code FROM {t} ORDER BY {s} DESC) GROUP BY service",
    "SELECT service, count(*), sum(rowid % 1000) FROM {t} GROUP BY {s}",
    "SELECT service, count(*) FROM {t} WHERE start_ns >= {mid} GROUP BY {s} ORDER BY {s} DESC",
    "SELECT service, count(*) FROM {t} WHERE service = 'cart' OR service IS NULL GROUP BY {s}",
    "SELECT service, count(*) FROM {t} WHERE status_code = 'ERROR' GROUP BY {s}",
]


class Grouped(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.conn = connect()
        c = cls.conn
        c.execute("CREATE TABLE src AS SELECT * FROM trace_generate(400, 5)")
        # Spans without a service, and services that sort by bytes.
        c.execute("UPDATE src SET service = NULL, resource = NULL WHERE rowid % 97 = 0")
        c.execute("UPDATE src SET service = 'Zeta', resource = '{\"attributes\":{\"service.name\":\"Zeta\"}}' "
                  "WHERE rowid % 89 = 0")
        c.execute("UPDATE src SET service = 'caché', resource = '{\"attributes\":{\"service.name\":\"caché\"}}' "
                  "WHERE rowid % 83 = 0")
        for f in FORMATS:
            c.execute(f"CREATE VIRTUAL TABLE t_{f} USING tracelite(format={f}, block_spans=500)")
            c.execute(f"INSERT INTO t_{f} SELECT * FROM src")
        c.commit()
        cls.mid = c.execute("SELECT (min(start_ns) + max(start_ns)) / 2 FROM src").fetchone()[0]

    @classmethod
    def tearDownClass(cls):
        cls.conn.close()

    def run_both(self, sql, table):
        grouped = self.conn.execute(sql.format(t=table, s="service", mid=self.mid)).fetchall()
        sorted_ = self.conn.execute(sql.format(t=table, s="+service", mid=self.mid)).fetchall()
        return grouped, sorted_

    def plan(self, sql, table):
        return " ".join(r[-1] for r in self.conn.execute(
            "EXPLAIN QUERY PLAN " + sql.format(t=table, s="service", mid=self.mid)))

    def test_same_rows_as_the_sorter_every_format(self):
        for f in FORMATS:
            for sql in QUERIES:
                with self.subTest(format=f, sql=sql):
                    grouped, sorted_ = self.run_both(sql, f"t_{f}")
                    self.assertEqual(grouped, sorted_)
                    self.assertTrue(grouped)
        # NULL first, then BINARY order: "Zeta" before "ad", "caché" before "cart".
        keys = [r[0] for r in self.conn.execute(
            "SELECT service, count(*) FROM t_columnar GROUP BY service")]
        self.assertEqual(keys[0], None)
        self.assertEqual(keys[1:], sorted(keys[1:], key=lambda k: k.encode()))
        self.assertLess(keys.index("Zeta"), keys.index("ad"))
        self.assertLess(keys.index("caché"), keys.index("cart"))

    def test_the_plan_needs_no_sorter(self):
        sql = QUERIES[0]
        self.assertNotIn("TEMP B-TREE", self.plan(sql, "t_cbor_zstd"))
        # ORDER BY service DESC too; other columns (name) or a trace lookup keep the sorter.
        self.assertNotIn("TEMP B-TREE", self.plan("SELECT service, start_ns FROM {t} ORDER BY service DESC",
                                                  "t_cbor_zstd"))
        self.assertIn("TEMP B-TREE", self.plan("SELECT service, name FROM {t} ORDER BY service", "t_cbor_zstd"))
        self.assertIn("TEMP B-TREE", self.plan("SELECT DISTINCT service FROM {t}", "t_cbor_zstd"))

    def test_pending_writes_and_deletes(self):
        c = self.conn
        c.execute("BEGIN")
        try:
            c.execute("INSERT INTO t_columnar SELECT * FROM trace_generate(30, 77)")
            c.execute("INSERT INTO src SELECT * FROM trace_generate(30, 77)")
            for t in ("t_columnar", "src"):
                c.execute(f"DELETE FROM {t} WHERE service = 'cart' AND kind = 'SERVER'")
            want = c.execute("SELECT service, count(*), sum(duration_ns) FROM src GROUP BY +service").fetchall()
            got = c.execute("SELECT service, count(*), sum(duration_ns) FROM t_columnar "
                            "GROUP BY service").fetchall()
            self.assertEqual(got, want)
        finally:
            c.execute("ROLLBACK")

    def test_budget_is_a_quarter_of_the_soft_heap_limit(self):
        c = self.conn
        asc = QUERIES[1].format(t="t_cbor", s="service", mid=0)
        desc = "SELECT service, count(*) FROM t_cbor GROUP BY service ORDER BY service DESC"
        want = [c.execute(q.replace("service", "+service").replace("SELECT +service", "SELECT service"))
                .fetchall() for q in (asc, desc)]
        # Planned within the budget; the cached statements run again after
        # the limit dropped below the table's rows: one walk per service.
        blocks = lambda: c.execute("SELECT tracelite_blocks_read()").fetchone()[0]
        b0 = blocks()
        self.assertEqual([c.execute(q).fetchall() for q in (asc, desc)], want)
        once = blocks() - b0
        try:
            c.execute("PRAGMA soft_heap_limit = 40000")
            b0 = blocks()
            self.assertEqual([c.execute(q).fetchall() for q in (asc, desc)], want)
            # Each block is read once per service it holds.
            self.assertGreater(blocks() - b0, 5 * once)
            # Planned now (new statement texts, not cached ones): the sorter.
            self.assertIn("TEMP B-TREE", self.plan(QUERIES[1] + " LIMIT 100", "t_cbor"))
        finally:
            c.execute("PRAGMA soft_heap_limit = 0")
        self.assertNotIn("TEMP B-TREE", self.plan(QUERIES[1] + " LIMIT 101", "t_cbor"))


if __name__ == "__main__":
    unittest.main()
