"""The ready queries of sql/ run on a tracelite table of generated spans and
give what an independent computation over the raw rows gives."""
import os
import unittest
from collections import Counter, defaultdict

from tlhelp import connect

SQL_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "sql")


def query(db, name):
    with open(os.path.join(SQL_DIR, name), encoding="utf-8") as f:
        return db.execute(f.read()).fetchall()


def percentile(values, p):
    """Linear interpolation between closest ranks (docs/percentiles.md)."""
    v = sorted(values)
    pos = p * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


class ReadyQueries(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = connect()
        cls.db.execute("CREATE VIRTUAL TABLE spans USING tracelite(format=cbor_zstd)")
        cls.db.execute("INSERT INTO spans SELECT * FROM trace_generate(400, 7)")
        cls.rows = cls.db.execute(
            "SELECT trace_id, span_id, parent_span_id, service, name, kind, duration_ns, "
            "status_code, status_message FROM spans").fetchall()

    def test_slowest_traces(self):
        got = query(self.db, "slowest_traces.sql")
        roots = sorted((r for r in self.rows if r[2] is None), key=lambda r: -r[6])[:20]
        per_trace = Counter(r[0] for r in self.rows)
        errors = Counter(r[0] for r in self.rows if r[7] == "ERROR")
        want = [(r[0], r[3], r[4], round(r[6] / 1e6, 3), per_trace[r[0]], errors[r[0]]) for r in roots]
        self.assertEqual(got, want)

    def test_error_rate_by_service(self):
        got = {r[0]: r[1:4] for r in query(self.db, "error_rate_by_service.sql")}
        spans, errs = Counter(), Counter()
        for r in self.rows:
            spans[r[3]] += 1
            errs[r[3]] += r[7] == "ERROR"
        want = {s: (spans[s], errs[s], round(100.0 * errs[s] / spans[s], 3)) for s in spans}
        self.assertEqual(got, want)
        self.assertTrue(any(e for e in errs.values()), "the generated data has errors")

    def test_p99_by_operation(self):
        got = query(self.db, "p99_by_operation.sql")
        groups = defaultdict(list)
        for r in self.rows:
            if r[5] in ("SERVER", "CONSUMER"):
                groups[(r[3], r[4])].append(r[6])
        want = []
        for (svc, name), d in groups.items():
            if len(d) >= 10:
                want.append((svc, name, len(d), round(percentile(d, 0.5) / 1e6, 3),
                             round(percentile(d, 0.99) / 1e6, 3), round(max(d) / 1e6, 3)))
        want.sort(key=lambda w: -w[4])
        want = want[:30]
        self.assertEqual(len(got), len(want))
        self.assertEqual({g[:3] for g in got}, {w[:3] for w in want})
        expected = {w[:3]: w[3:] for w in want}
        for g in got:
            # SQLite's round() and Python's may differ in the last digit on halves.
            for a, b in zip(g[3:], expected[g[:3]]):
                self.assertAlmostEqual(a, b, delta=0.0011)
        self.assertEqual([g[4] for g in got], sorted((g[4] for g in got), reverse=True))

    def test_critical_path_of_slow_requests_tiles_the_slow_roots(self):
        got = query(self.db, "critical_path_of_slow_requests.sql")
        self.assertGreater(len(got), 0)
        self.assertAlmostEqual(sum(r[3] for r in self.db.execute(
            "WITH roots AS (SELECT trace_id, duration_ns FROM spans WHERE parent_span_id IS NULL), "
            "slow AS (SELECT trace_id FROM roots WHERE duration_ns >= "
            "(SELECT latency_percentile(duration_ns, 0.95) FROM roots)), "
            "path AS (SELECT cp.service, cp.name, cp.end_ns - cp.start_ns AS ns FROM slow, "
            "trace_critical_path('spans', slow.trace_id) AS cp) "
            "SELECT service, name, sum(ns), 100.0 * sum(ns) / (SELECT sum(ns) FROM path) "
            "FROM path GROUP BY 1, 2")), 100.0, places=6)
        # The sections tile each root span: their total is the slow roots' total.
        roots = [r[6] for r in self.rows if r[2] is None]
        cut = percentile(roots, 0.95)
        slow_total = sum(d for d in roots if d >= cut)
        total = self.db.execute(
            "SELECT sum(cp.end_ns - cp.start_ns) FROM (SELECT trace_id FROM spans WHERE "
            "parent_span_id IS NULL AND duration_ns >= ?) t, trace_critical_path('spans', t.trace_id) cp",
            (cut,)).fetchone()[0]
        self.assertEqual(total, slow_total)

    def test_service_map_counts_cross_service_edges(self):
        got = {(r[0], r[1]): r[2] for r in query(self.db, "service_map.sql")}
        by_id = {(r[0], r[1]): r for r in self.rows}
        edges = Counter()
        for r in self.rows:
            parent = by_id.get((r[0], r[2]))
            if parent and parent[3] != r[3]:
                edges[(parent[3], r[3])] += 1
        self.assertEqual(got, dict(edges))


if __name__ == "__main__":
    unittest.main()
