"""latency_percentile(), latency_sketch(), sketch_merge(), sketch_quantile()
and sketch_count() in SQL: one test per numbered requirement of the two
contracts (ext/analysis/percentile_sql.c and sketch_sql.c, docs/percentiles.md),
named after it.  Exact percentiles are checked against a sort here in Python
(and against statistics.quantiles), window frames against brute force, every
error message exactly, sketches against their stated relative error."""
import math
import os
import random
import statistics
import unittest

from tlhelp import TRACES, connect


def exact(values, p):
    """Requirement 9, independently: linear interpolation between closest
    ranks, written as the contract states it (the same float operations, so
    the comparison is exact)."""
    s = sorted(float(v) for v in values if v is not None)
    if not s:
        return None
    h = p * (len(s) - 1)
    i = math.floor(h)
    if i >= len(s) - 1:
        return s[-1]
    f = h - i
    if f == 0:
        return s[i]
    d = s[i + 1] - s[i]
    return s[i] + f * d if math.isfinite(d) else s[i] * (1 - f) + s[i + 1] * f


def zigzag(v):
    return v << 1 if v >= 0 else ((-v) << 1) - 1


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def sketch_blob(ppm, zero, buckets):
    """A sketch blob written by hand from docs/percentiles.md: buckets is a
    sorted list of (index, count) with counts >= 1."""
    runs, cur = [], []
    for idx, cnt in buckets:
        if cur and idx == cur[-1][0] + 1:
            cur.append((idx, cnt))
        else:
            if cur:
                runs.append(cur)
            cur = [(idx, cnt)]
    if cur:
        runs.append(cur)
    out = bytearray(b"\xdd\x4b\x01") + varint(ppm) + varint(zero) + varint(len(runs))
    prev_end = None
    for run in runs:
        start = run[0][0]
        out += varint(zigzag(start)) if prev_end is None else varint(start - prev_end - 2)
        out += varint(len(run) - 1)
        for _, cnt in run:
            out += varint(cnt - 1)
        prev_end = run[-1][0]
    return bytes(out)


def bucket_of(x, accuracy):
    """The index mapping of docs/percentiles.md."""
    g = math.log1p(accuracy) - math.log1p(-accuracy)
    return math.ceil(math.log(x) / g)


class Base(unittest.TestCase):
    def setUp(self):
        self.db = connect()

    def tearDown(self):
        self.db.close()

    def one(self, sql, *args):
        return self.db.execute(sql, args).fetchone()[0]

    def error(self, sql, *args):
        with self.assertRaises(Exception) as cm:
            self.db.execute(sql, args).fetchall()
        return str(cm.exception)

    def table(self, rows, cols="g, x"):
        self.db.execute("DROP TABLE IF EXISTS t")
        self.db.execute(f"CREATE TABLE t(id INTEGER PRIMARY KEY, {cols})")
        n = len(cols.split(","))
        self.db.executemany(f"INSERT INTO t({cols}) VALUES({','.join('?' * n)})", rows)


def distributions(rng, n):
    """Latency-like value lists from a seeded generator, by name."""
    return {
        "uniform": [rng.uniform(1, 1e6) for _ in range(n)],
        "lognormal": [rng.lognormvariate(math.log(2e6), 1.5) for _ in range(n)],
        "pareto": [1e4 * rng.paretovariate(1.1) for _ in range(n)],
        "bimodal": [rng.lognormvariate(math.log(1e5), 0.2) if rng.random() < 0.7
                    else rng.lognormvariate(math.log(5e8), 0.3) for _ in range(n)],
        "constant": [1234567] * n,
        "ns_to_hour": [int(math.exp(rng.random() * math.log(3.6e12))) for _ in range(n)],
        "zeros": [0 if rng.random() < 0.3 else rng.randrange(1000) for _ in range(n)],
        "integers": [rng.randrange(1, 50) for _ in range(n)],
    }


class LatencyPercentile(Base):
    def test_req01_aggregate_and_window(self):
        self.table([(1, 3), (1, 1), (2, 10)])
        self.assertEqual(self.db.execute(
            "SELECT g, latency_percentile(x, 0.5) FROM t GROUP BY g").fetchall(), [(1, 2.0), (2, 10.0)])
        self.assertEqual(self.db.execute(
            "SELECT latency_percentile(x, 1) OVER (ORDER BY id) FROM t").fetchall(), [(3.0,), (3.0,), (10.0,)])
        self.assertEqual(self.one(
            "SELECT type || flags FROM pragma_function_list WHERE name = 'latency_percentile'"),
            "w" + str(0x800 | 0x200000))  # a window function; deterministic, innocuous
        self.assertEqual(self.error("SELECT latency_percentile(1)"),
                         "wrong number of arguments to function latency_percentile()")

    def test_req02_p_range(self):
        for p, got in [(99, "got 99); did you mean 0.99?"), (99.9, "got 99.9); did you mean 0.999?"),
                       (100, "got 100); did you mean 1?"), (101, "got 101)"), (-0.5, "got -0.5)"),
                       (1.0000001, "got 1.0000001); did you mean 0.010000001?")]:
            self.assertEqual(self.error("SELECT latency_percentile(5, ?)", p),
                             "latency_percentile(): p must be between 0 and 1 (" + got)
        for p, name in [("0.5", "text"), (None, "NULL"), (b"\x00", "a blob")]:
            self.assertEqual(self.error("SELECT latency_percentile(5, ?)", p),
                             f"latency_percentile(): p must be a number between 0 and 1 (got {name})")
        # Checked on every row, even where X is NULL and even with no rows after it.
        self.assertEqual(self.error("SELECT latency_percentile(NULL, 2)"),
                         "latency_percentile(): p must be between 0 and 1 (got 2); did you mean 0.02?")
        for p in (0, 1, 0.0, 1.0, 0.5):
            self.assertEqual(self.one("SELECT latency_percentile(5, ?)", p), 5.0)

    def test_req03_p_same_on_every_row(self):
        self.table([(1, 1), (2, 2)])
        self.assertEqual(self.error("SELECT latency_percentile(x, CASE id WHEN 1 THEN 0.5 ELSE 0.9 END) FROM t"),
                         "latency_percentile(): p must be the same on every row of a group (got 0.5, then 0.9)")
        self.assertEqual(self.one("SELECT latency_percentile(x, 0.5 + 0 * id) FROM t"), 1.5)
        # Per group: different groups may use different p.
        self.assertEqual(self.db.execute(
            "SELECT g, latency_percentile(x, g / 4.0) FROM t GROUP BY g").fetchall(), [(1, 1.0), (2, 2.0)])

    def test_req04_nulls_ignored(self):
        self.table([(1, None), (1, 4), (1, None), (1, 2)])
        self.assertEqual(self.one("SELECT latency_percentile(x, 0.5) FROM t"), 3.0)
        self.assertEqual(self.one("SELECT latency_percentile(x, 0) FROM t"), 2.0)

    def test_req05_x_must_be_number(self):
        self.assertEqual(self.error("SELECT latency_percentile('12', 0.5)"),
                         "latency_percentile(): x must be a number or NULL (got text)")
        self.assertEqual(self.error("SELECT latency_percentile(x'00', 0.5)"),
                         "latency_percentile(): x must be a number or NULL (got a blob)")

    def test_req06_x_finite(self):
        self.assertEqual(self.error("SELECT latency_percentile(1e999, 0.5)"),
                         "latency_percentile(): x must be finite (got Inf)")
        self.assertEqual(self.error("SELECT latency_percentile(-1e999, 0.5)"),
                         "latency_percentile(): x must be finite (got -Inf)")
        # NaN arrives as NULL (SQLite's rule), so it is ignored.
        self.assertEqual(self.one("SELECT latency_percentile(x, 0.5) FROM (SELECT ? x UNION ALL SELECT 1)",
                                  float("nan")), 1.0)

    def test_req07_no_values_null(self):
        self.table([(1, None)])
        self.assertIsNone(self.one("SELECT latency_percentile(x, 0.5) FROM t"))
        self.assertIsNone(self.one("SELECT latency_percentile(x, 0.5) FROM t WHERE 0"))

    def test_req08_one_value(self):
        for p in (0, 0.3, 1):
            self.assertEqual(self.one("SELECT latency_percentile(-7.25, ?)", p), -7.25)

    def test_req09_interpolation_against_sort(self):
        rng = random.Random(9)
        rows, groups = [], {}
        for g in range(300):
            n = rng.choice([1, 2, 3, 10, 99, 100, 101, rng.randrange(1, 3000)])
            kind = list(distributions(rng, 0))[g % 8]
            vals = distributions(rng, n)[kind]
            groups[g] = vals
            rows += [(g, v) for v in vals]
        self.table(rows)
        for p in [0, 1, 0.5, 0.9, 0.99, 0.999, 0.25, 1 / 3, rng.random(), rng.random()]:
            got = dict(self.db.execute("SELECT g, latency_percentile(x, ?) FROM t GROUP BY g", (p,)))
            for g, vals in groups.items():
                self.assertEqual(got[g], exact(vals, p), f"group {g} p {p}")
        # An independent implementation: statistics.quantiles' inclusive method
        # is the same rule for p = k/100 (its arithmetic differs in the last bits).
        for g, vals in list(groups.items())[:100]:
            if len(vals) < 2:
                continue
            qs = statistics.quantiles([float(v) for v in vals], n=100, method="inclusive")
            for k in (1, 50, 90, 99):
                got = self.one("SELECT latency_percentile(x, ?) FROM t WHERE g = ?", k / 100, g)
                self.assertAlmostEqual(got, qs[k - 1], delta=1e-9 * max(1.0, abs(qs[k - 1])))

    def test_req09_hand_computed(self):
        self.table([(1, v) for v in (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)])
        for p, want in [(0, 10.0), (1, 100.0), (0.5, 55.0), (0.99, 99.1), (0.9, 91.0), (0.25, 32.5)]:
            self.assertEqual(self.one("SELECT latency_percentile(x, ?) FROM t", p), want)

    def test_req10_real_result(self):
        self.assertEqual(self.one("SELECT typeof(latency_percentile(3, 0.5))"), "real")
        # 2^53 + 1 is not a double: it is converted (to 2^53).
        self.assertEqual(self.one("SELECT latency_percentile(9007199254740993, 0.5)"), 9007199254740992.0)
        self.assertEqual(self.one("SELECT latency_percentile(x, 0.5) FROM (SELECT 1 x UNION ALL SELECT 2.5)"), 1.75)

    def test_req11_zero_and_negative(self):
        vals = [-5, 0, -0.001, 7, 3.5]
        self.table([(1, v) for v in vals])
        for p in (0, 0.1, 0.5, 0.77, 1):
            self.assertEqual(self.one("SELECT latency_percentile(x, ?) FROM t", p), exact(vals, p))
        self.assertEqual(self.one("SELECT latency_percentile(x, 0.5) FROM (SELECT -1.5e308 x UNION ALL SELECT 1.5e308)"), 0.0)

    def frames_against_brute_force(self, rows, frames):
        """rows: (g, k, x); every frame clause for every row against Python.
        frames: (clause, in_frame(row, member)) with rows as (id, g, k, x)."""
        self.table(rows, "g, k, x")
        data = self.db.execute("SELECT id, g, k, x FROM t").fetchall()
        for frame, in_frame in frames:
            members = {r[0]: [m[3] for m in data if in_frame(r, m)] for r in data}
            for p in (0.5, 0.99, 0):
                got = dict(self.db.execute(
                    f"SELECT id, latency_percentile(x, ?) OVER ({frame}) FROM t", (p,)))
                for r in data:
                    self.assertEqual(got[r[0]], exact(members[r[0]], p), f"{frame} p {p} row {r}")

    def test_req12_window_frames(self):
        rng = random.Random(12)
        rows = [(rng.randrange(3), rng.randrange(40),
                 None if rng.random() < 0.1 else rng.choice([rng.randrange(20), rng.lognormvariate(10, 2)]))
                for _ in range(300)]
        krank = {k: i for i, k in enumerate(sorted({r[1] for r in rows}))}
        pos, seen = {}, {}  # id -> position within its partition (ids are 1-based row order)
        for i, r in enumerate(rows, 1):
            pos[i] = seen[r[0]] = seen.get(r[0], -1) + 1
        frames = [
            ("ORDER BY id ROWS BETWEEN 5 PRECEDING AND CURRENT ROW", lambda r, m: r[0] - 5 <= m[0] <= r[0]),
            ("ORDER BY id ROWS BETWEEN 3 PRECEDING AND 4 FOLLOWING", lambda r, m: r[0] - 3 <= m[0] <= r[0] + 4),
            ("ORDER BY id ROWS BETWEEN 2 FOLLOWING AND 9 FOLLOWING", lambda r, m: r[0] + 2 <= m[0] <= r[0] + 9),
            ("ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW", lambda r, m: m[0] <= r[0]),
            ("ORDER BY id ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING", lambda r, m: m[0] >= r[0]),
            ("PARTITION BY g ORDER BY id ROWS BETWEEN 10 PRECEDING AND CURRENT ROW",
             lambda r, m: m[1] == r[1] and pos[r[0]] - 10 <= pos[m[0]] <= pos[r[0]]),
            ("ORDER BY k RANGE BETWEEN 3 PRECEDING AND CURRENT ROW", lambda r, m: r[2] - 3 <= m[2] <= r[2]),
            ("ORDER BY k GROUPS BETWEEN 1 PRECEDING AND 1 FOLLOWING",
             lambda r, m: abs(krank[m[2]] - krank[r[2]]) <= 1),
            ("ORDER BY k", lambda r, m: m[2] <= r[2]),  # the default frame: peers included
            ("PARTITION BY g", lambda r, m: m[1] == r[1]),
        ]
        self.frames_against_brute_force(rows, frames)

    def test_req12_large_sliding_frame(self):
        # Frames of 3000 rows cross many chunks of 1024 (splits and merges).
        rng = random.Random(1212)
        xs = [rng.choice([rng.randrange(100), rng.lognormvariate(12, 2)]) for _ in range(12000)]
        self.table([(0, 0, x) for x in xs], "g, k, x")
        got = [r[0] for r in self.db.execute(
            "SELECT latency_percentile(x, 0.9) OVER (ORDER BY id ROWS BETWEEN 2999 PRECEDING AND CURRENT ROW) FROM t")]
        for i in list(range(0, 12000, 97)) + [11999]:
            self.assertEqual(got[i], exact(xs[max(0, i - 2999):i + 1], 0.9), f"row {i}")

    def test_req13_limit_documented(self):
        # 2^28 rows take minutes and 2 GiB; tests/unit/test_percentile.c checks
        # the limit and its message.  Here: the number the contract states.
        self.assertEqual(1 << 28, 268435456)


class Sketch(Base):
    def sketch_of(self, values, accuracy=None):
        self.db.execute("DROP TABLE IF EXISTS v")
        self.db.execute("CREATE TABLE v(x)")
        self.db.executemany("INSERT INTO v VALUES(?)", [(x,) for x in values])
        if accuracy is None:
            return self.one("SELECT latency_sketch(x) FROM v")
        return self.one("SELECT latency_sketch(x, ?) FROM v", accuracy)

    def test_req01_default_accuracy_and_window(self):
        self.assertEqual(self.sketch_of([1, 2, 0, 1]), sketch_blob(10000, 1, [(0, 2), (35, 1)]))
        self.assertEqual(self.sketch_of([1, 2, 0, 1], 0.02), sketch_blob(20000, 1, [(0, 2), (18, 1)]))
        types = dict(self.db.execute(
            "SELECT name || '/' || narg, type FROM pragma_function_list WHERE name LIKE '%sketch%'"))
        self.assertEqual(types, {"latency_sketch/1": "w", "latency_sketch/2": "w", "sketch_merge/1": "w",
                                 "sketch_quantile/2": "s", "sketch_count/1": "s"})
        rng = random.Random(1)
        self.table([(0, None if rng.random() < 0.1 else rng.lognormvariate(12, 1)) for _ in range(400)])
        win = self.db.execute(
            "SELECT id, latency_sketch(x) OVER (ORDER BY id ROWS BETWEEN 20 PRECEDING AND 3 FOLLOWING) FROM t").fetchall()
        for i, blob in win:
            self.assertEqual(blob, self.one("SELECT latency_sketch(x) FROM t WHERE id BETWEEN ? AND ?", i - 20, i + 3))

    def test_req02_accuracy_argument(self):
        self.assertEqual(self.sketch_of([5], 0.0123456789)[3:5], varint(12346))
        self.assertEqual(self.sketch_of([5], 0.001)[3:5], varint(1000))
        self.assertEqual(self.sketch_of([5], 0.5)[3:6], varint(500000))
        for a, got in [(2, "2"), (0.0009, "0.0009"), (0.51, "0.51"), (0, "0"), (-1, "-1")]:
            self.assertEqual(self.error("SELECT latency_sketch(1, ?)", a),
                             f"latency_sketch(): relative_accuracy must be between 0.001 and 0.5 (got {got})")
        for a, name in [("0.01", "text"), (None, "NULL")]:
            self.assertEqual(self.error("SELECT latency_sketch(1, ?)", a),
                             f"latency_sketch(): relative_accuracy must be a number between 0.001 and 0.5 (got {name})")
        self.table([(1, 1), (2, 2)])
        self.assertEqual(self.error("SELECT latency_sketch(x, id / 100.0) FROM t"),
                         "latency_sketch(): relative_accuracy must be the same on every row of a group (got 0.01, then 0.02)")

    def test_req03_x_checks(self):
        self.assertEqual(self.sketch_of([None, 1, None]), self.sketch_of([1]))
        for sql, msg in [("SELECT latency_sketch('5')", "x must be a number or NULL (got text)"),
                         ("SELECT latency_sketch(x'05')", "x must be a number or NULL (got a blob)"),
                         ("SELECT latency_sketch(1e999)", "x must be finite (got Inf)"),
                         ("SELECT latency_sketch(-5)", "x must not be negative (got -5)"),
                         ("SELECT latency_sketch(-1e999)", "x must not be negative (got -Inf)"),
                         ("SELECT latency_sketch(-0.5, 0.1)", "x must not be negative (got -0.5)")]:
            self.assertEqual(self.error(sql), "latency_sketch(): " + msg)

    def test_req04_zero_counter(self):
        b = self.sketch_of([0, 0.0, 1e-310, 2.2250738585072014e-308 / 2, 1000])
        self.assertEqual(b, sketch_blob(10000, 4, [(bucket_of(1000, 0.01), 1)]))
        self.assertEqual(self.one("SELECT sketch_count(?)", b), 5)
        self.assertEqual(self.one("SELECT sketch_quantile(?, 0.75)", b), 0.0)
        self.assertAlmostEqual(self.one("SELECT sketch_quantile(?, 1)", b), 1000, delta=10)

    def test_req05_no_values_null(self):
        self.assertIsNone(self.sketch_of([None, None]))
        self.assertIsNone(self.one("SELECT latency_sketch(1) WHERE 0"))
        self.table([(0, 5), (0, None), (0, None), (0, 6)])
        win = [r[0] for r in self.db.execute(
            "SELECT latency_sketch(x) OVER (ORDER BY id ROWS BETWEEN 1 FOLLOWING AND 1 FOLLOWING) FROM t")]
        self.assertEqual(win, [None, None, self.sketch_of([6]), None])

    def test_req06_accuracy_against_exact(self):
        rng = random.Random(6)
        rows, cases = [], {}
        g = 0
        for accuracy in (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5):
            for n in (1, 2, 7, 100, 1000, rng.randrange(1, 5000)):
                for name, vals in distributions(rng, n).items():
                    cases[g] = (accuracy, name, vals)
                    rows += [(g, v) for v in vals]
                    g += 1
        self.table(rows)
        self.db.execute("CREATE TABLE acc(g, a)")
        self.db.executemany("INSERT INTO acc VALUES(?, ?)", [(k, v[0]) for k, v in cases.items()])
        self.db.execute("CREATE TABLE sk AS SELECT g, latency_sketch(x, (SELECT a FROM acc WHERE acc.g = t.g)) s "
                        "FROM t GROUP BY g")
        checked = 0
        for p in (0, 1, 0.5, 0.9, 0.99, 0.999, 0.123, rng.random()):
            got = dict(self.db.execute("SELECT g, sketch_quantile(s, ?) FROM sk", (p,)))
            want = dict(self.db.execute("SELECT g, latency_percentile(x, ?) FROM t GROUP BY g", (p,)))
            for k, (accuracy, name, vals) in cases.items():
                e = want[k]
                self.assertEqual(e, exact(vals, p))
                self.assertLessEqual(abs(got[k] - e), accuracy * e * (1 + 1e-9),
                                     f"{name} n={len(vals)} a={accuracy} p={p}: {got[k]} vs {e}")
                checked += 1
        self.assertGreater(checked, 2500)

    def test_req07_merge_equals_whole(self):
        rng = random.Random(7)
        vals = distributions(rng, 5000)["lognormal"] + [0] * 10 + distributions(rng, 3000)["ns_to_hour"]
        rng.shuffle(vals)
        whole = self.sketch_of(vals)
        self.table([(rng.randrange(13), v) for v in vals])
        self.db.execute("CREATE TABLE parts AS SELECT g, latency_sketch(x) s FROM t GROUP BY g")
        self.assertEqual(self.one("SELECT sketch_merge(s) FROM parts"), whole)
        self.assertEqual(self.one("SELECT sketch_merge(s) FROM (SELECT s FROM parts ORDER BY random())"), whole)
        # Merges of merges, and NULLs ignored.
        self.assertEqual(self.one(
            "SELECT sketch_merge(m) FROM (SELECT sketch_merge(s) m FROM parts GROUP BY g % 3 "
            "UNION ALL SELECT NULL)"), whole)
        self.assertIsNone(self.one("SELECT sketch_merge(NULL)"))
        self.assertIsNone(self.one("SELECT sketch_merge(s) FROM parts WHERE 0"))
        # A merge of one sketch is that sketch, an empty one included.
        empty = sketch_blob(10000, 0, [])
        self.assertEqual(self.one("SELECT sketch_merge(?)", empty), empty)
        # As a window function: the merge of the frame's sketches.
        win = self.db.execute(
            "SELECT g, sketch_merge(s) OVER (ORDER BY g ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM parts").fetchall()
        for g, blob in win:
            self.assertEqual(blob, self.one("SELECT latency_sketch(x) FROM t WHERE g BETWEEN ? AND ?", g - 2, g))

    def test_req08_different_accuracies(self):
        self.assertEqual(self.error(
            "SELECT sketch_merge(s) FROM (SELECT latency_sketch(1) s UNION ALL SELECT latency_sketch(1, 0.02))"),
            "sketch_merge(): cannot merge sketches of relative accuracy 0.01 and 0.02")

    def test_req09_quantile(self):
        b = self.sketch_of([0, 1, 1, 2])
        g = math.log1p(0.01) - math.log1p(-0.01)
        v0, v35 = math.exp(0 * g + math.log1p(-0.01)), math.exp(35 * g + math.log1p(-0.01))
        self.assertEqual(self.one("SELECT sketch_quantile(?, 0)", b), 0.0)
        self.assertAlmostEqual(self.one("SELECT sketch_quantile(?, 0.5)", b), v0, places=12)  # h = 1.5: two ones
        self.assertAlmostEqual(self.one("SELECT sketch_quantile(?, 1)", b), v35, places=12)
        self.assertAlmostEqual(self.one("SELECT sketch_quantile(?, 5 / 6.0)", b), v0 + 0.5 * (v35 - v0), places=12)
        self.assertEqual(self.one("SELECT typeof(sketch_quantile(?, 0.5))", b), "real")
        self.assertIsNone(self.one("SELECT sketch_quantile(NULL, 0.5)"))
        self.assertIsNone(self.one("SELECT sketch_quantile(?, 0.5)", sketch_blob(10000, 0, [])))
        self.assertEqual(self.error("SELECT sketch_quantile(?, 99)", b),
                         "sketch_quantile(): p must be between 0 and 1 (got 99); did you mean 0.99?")
        self.assertEqual(self.error("SELECT sketch_quantile(NULL, 'x')"),
                         "sketch_quantile(): p must be a number between 0 and 1 (got text)")

    def test_req10_count(self):
        self.assertEqual(self.one("SELECT sketch_count(?)", self.sketch_of([0, 5, 5, None, 1e12])), 4)
        self.assertIsNone(self.one("SELECT sketch_count(NULL)"))
        self.assertEqual(self.one("SELECT typeof(sketch_count(?))", self.sketch_of([1])), "integer")
        self.assertEqual(self.one("SELECT sketch_count(?)", sketch_blob(10000, (1 << 63) - 1, [])), (1 << 63) - 1)

    def test_req11_validation(self):
        good = sketch_blob(10000, 0, [(0, 1)])
        cases = [
            (b"", "truncated at byte 0"),
            (b"\xdd", "truncated at byte 1"),
            (b"hello", "bad magic (not a tracelite sketch)"),
            (b"\xdd\x4b\x02" + good[3:], "unsupported version 2 (this build reads version 1)"),
            (good[:-1], f"truncated at byte {len(good) - 1}"),
            (good + b"\x00", f"trailing bytes at byte {len(good)}"),
            (bytes.fromhex("dd4b01904e8000"), "non-canonical varint at byte 5"),
            (bytes.fromhex("dd4b01904e00ffffffffffffffffff02"), "varint overflows at byte 6"),
            (bytes.fromhex("dd4b01e707"), "relative accuracy 999e-6 out of range at byte 3"),
            (sketch_blob(10000, 0, [(70000, 1)]),
             "bucket index out of range at byte 7 (relative accuracy 0.01 allows -35418..35488)"),
            (sketch_blob(1000, 0, [(0, 1), (200000, 1)]), "buckets span more than 131072 at byte 10"),
            (sketch_blob(10000, (1 << 63) - 1, [(0, 1)]), "count overflows at byte 17"),
        ]
        for f in ("sketch_count(?)", "sketch_quantile(?, 0.5)", "sketch_merge(?)"):
            name = f.split("(")[0]
            for blob, msg in cases:
                self.assertEqual(self.error(f"SELECT {f}", blob), f"{name}(): invalid sketch: {msg}")
            self.assertEqual(self.error(f"SELECT {f}", "text"), f"{name}(): s must be a sketch blob (got text)")
            self.assertEqual(self.error(f"SELECT {f}", 42), f"{name}(): s must be a sketch blob (got an integer)")
        self.assertEqual(self.one("SELECT sketch_count(?)", good), 1)

    def test_req12_canonical(self):
        rng = random.Random(12)
        for name, vals in distributions(rng, 700).items():
            b = self.sketch_of(vals)
            self.assertEqual(self.one("SELECT sketch_merge(?)", b), b, name)
            # Same values in another order: the same bytes.
            rng.shuffle(vals)
            self.assertEqual(self.sketch_of(vals), b, name)
        # The bytes are the format of docs/percentiles.md, written here by hand.
        self.assertEqual(self.sketch_of([1, 2, 3, 2]),
                         sketch_blob(10000, 0, [(0, 1), (bucket_of(2, 0.01), 2), (bucket_of(3, 0.01), 1)]))
        # Deterministic and innocuous: usable in an index expression.
        self.db.execute("CREATE TABLE k(s)")
        self.db.execute("CREATE INDEX k_count ON k(sketch_count(s))")
        self.db.execute("INSERT INTO k VALUES(?)", (b,))

    def test_req13_limits(self):
        self.assertEqual(self.error("SELECT latency_sketch(x, 0.001) FROM (SELECT 1e-300 x UNION ALL SELECT 1e300)"),
                         "latency_sketch(): values span more than 131072 buckets (the largest is too many "
                         "times the smallest for relative_accuracy 0.001)")
        # At 1% every positive double fits.
        b = self.one("SELECT latency_sketch(x) FROM (SELECT 2.2250738585072014e-308 x UNION ALL SELECT 1.7976931348623157e308)")
        self.assertEqual(self.one("SELECT sketch_count(?)", b), 2)
        top = self.one("SELECT sketch_quantile(?, 1)", b)
        self.assertLessEqual(abs(top - 1.7976931348623157e308), 0.01 * 1.7976931348623157e308)
        big = sketch_blob(10000, (1 << 62), [])
        self.assertEqual(self.error("SELECT sketch_merge(s) FROM (SELECT ? s UNION ALL SELECT ?)", big, big),
                         "sketch_merge(): the count of values passes 9223372036854775807")

    def test_sizes_on_generated_spans(self):
        # "Bytes, not kilobytes": every per-service sketch of the generator's
        # spans at 1%, and every per-service-minute one, stays under 1 KiB.
        self.db.execute("CREATE TABLE s AS SELECT service, start_ns, duration_ns FROM trace_generate(3000, 1)")
        sizes = [r[0] for r in self.db.execute("SELECT length(latency_sketch(duration_ns)) FROM s GROUP BY service")]
        self.assertGreater(len(sizes), 10)
        self.assertLess(max(sizes), 1024)
        sizes = [r[0] for r in self.db.execute(
            "SELECT length(latency_sketch(duration_ns)) FROM s GROUP BY service, start_ns / 60000000000")]
        self.assertLess(max(sizes), 1024)


class RealTraces(Base):
    """Every real trace file that trace_file() reads (../shared/traces): per
    service, the exact percentile against Python's sort, the sketch within
    1% of it, and the merge of per-file sketches equal to the sketch of all."""

    def test_real_files(self):
        self.db.execute("CREATE TABLE r(file, service, d)")
        files = []
        for root, _, names in os.walk(TRACES):
            for name in sorted(names):
                rel = os.path.relpath(os.path.join(root, name), TRACES)
                try:
                    self.db.execute("INSERT INTO r SELECT ?, service, duration_ns FROM trace_file(?)",
                                    (rel, os.path.join(TRACES, rel)))
                    files.append(rel)
                except Exception:  # not a trace file (SOURCES.md, manifests: the importers' tests)
                    pass
        self.assertGreater(len(files), 20)
        durations = {}
        for f, svc, d in self.db.execute("SELECT file, service, d FROM r"):
            durations.setdefault((f, svc), []).append(d)
        checked = 0
        for p in (0, 0.5, 0.9, 0.99, 1):
            rows = self.db.execute(
                "SELECT file, service, latency_percentile(d, ?), sketch_quantile(latency_sketch(d), ?) "
                "FROM r GROUP BY file, service", (p, p)).fetchall()
            for f, svc, e, q in rows:
                self.assertEqual(e, exact(durations[(f, svc)], p), f"{f} {svc} p {p}")
                if e is None:  # only NULL durations (spans without one)
                    self.assertIsNone(q)
                    continue
                self.assertLessEqual(abs(q - e), 0.01 * e * (1 + 1e-9), f"{f} {svc} p {p}")
                checked += 1
        self.assertGreater(checked, 500)
        self.assertEqual(
            self.one("SELECT sketch_merge(s) FROM (SELECT latency_sketch(d) s FROM r GROUP BY file)"),
            self.one("SELECT latency_sketch(d) FROM r"))


if __name__ == "__main__":
    unittest.main()
