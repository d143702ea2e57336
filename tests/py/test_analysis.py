"""The structural analyses (ext/analysis: trace_tree, critical_path, topology,
waterfall) through SQL: hand-checked traces (testdata/analysis), the Jaeger
UI's critical-path fixture, the real files in shared/traces, generated
traces checked against an independent Python transcription of the Jaeger UI
algorithm, a 100,000-span trace, plans, exact errors and flags.  Each test
names the requirement it checks (critical_path.h, topology.h, waterfall.h,
trace_tree.h)."""
import json
import os
import random
import sqlite3
import time
import unittest

from tlhelp import TESTDATA, connect, trace_path

CHECKOUT = os.path.join(TESTDATA, "analysis", "checkout.json")
EXPECTED = json.load(open(os.path.join(TESTDATA, "analysis", "checkout.expected.json")))
T0 = 1700000000000000000
MS = 1000000
IDS = {c: "00000000000000a%d" % i for i, c in enumerate("ABCDEFGHI")}


def load(conn, table, path, tracelite=False):
    if tracelite:
        conn.execute(f"CREATE VIRTUAL TABLE {table} USING tracelite")
        conn.execute(f"INSERT INTO {table} SELECT * FROM trace_file(?)", (path,))
    else:
        conn.execute(f"CREATE TABLE {table} AS SELECT * FROM trace_file(?)", (path,))


def reference_path(spans):
    """The Jaeger UI's critical path (CriticalPath/index.ts and its utils),
    transcribed independently: spans are dicts with id, parent, start, end,
    kind, links; returns [(id, start, end)] in time order per root."""
    by_id = {}
    for s in spans:
        by_id.setdefault(s["id"], s)
    children = {}
    roots = []
    for s in spans:
        p = s["parent"]
        if p and p in by_id:
            children.setdefault(p, []).append(s)
        elif not p and any(l in by_id and l != s["id"] for l in s["links"]):
            continue  # follows-from work: not blocking, not a root
        else:
            roots.append(s)
    out = []
    for root in sorted(roots, key=lambda s: s["start"]):
        clipped = {root["id"]: (root["start"], root["end"])}
        kids = {}
        stack = [root]
        while stack:  # sanitizeOverFlowingChildren + filterBlockingSpans
            u = stack.pop()
            ps, pe = clipped[u["id"]]
            for c in sorted(children.get(u["id"], []), key=lambda c: c["start"]):
                if u["kind"] == "PRODUCER" and c["kind"] == "CONSUMER":
                    continue
                cs, ce = c["start"], c["end"]
                if (cs >= pe) if cs >= ps else (ce <= ps):
                    continue
                clipped[c["id"]] = (max(cs, ps), min(ce, pe))
                kids.setdefault(u["id"], []).append(c)
                stack.append(c)
        for k in kids.values():
            k.sort(key=lambda c: -clipped[c["id"]][1])
        sections = []

        def walk(span, returning=None):  # computeCriticalPath
            s, e = clipped[span["id"]]
            lfc = None
            for c in kids.get(span["id"], []):
                if returning is None or clipped[c["id"]][1] < returning:
                    lfc = c
                    break
            end = e if returning is None else returning
            if lfc:
                if clipped[lfc["id"]][1] != end:
                    sections.append((span["id"], clipped[lfc["id"]][1], end))
                walk(lfc)
            else:
                if s != end:
                    sections.append((span["id"], s, end))
                if span is not root:
                    parent = by_id[span["parent"]]
                    walk(parent, s)

        walk(root)
        if not sections:
            sections.append((root["id"], root["start"], root["end"]))
        out.extend(reversed(sections))
    return out


def spans_of(conn, table, trace_id):
    rows = conn.execute(f"SELECT span_id, parent_span_id, start_ns, end_ns, kind, links FROM {table} "
                        "WHERE trace_id = ?", (trace_id,)).fetchall()
    out = []
    for sid, parent, start, end, kind, links in rows:
        ls = [l["spanId"] for l in json.loads(links) if l["traceId"] == trace_id] if links else []
        out.append({"id": sid, "parent": parent, "start": start, "end": max(start, end),
                    "kind": kind, "links": ls})
    return out


def path_of(conn, table, trace_id):
    return conn.execute("SELECT span_id, start_ns, end_ns FROM trace_critical_path(?, ?)",
                        (table, trace_id)).fetchall()


def check_tiling(test, conn, table, trace_id):
    """Requirement 2: each root's sections are contiguous from its start to its end."""
    rows = conn.execute("SELECT root_span_id, start_ns, end_ns FROM trace_critical_path(?, ?)",
                        (table, trace_id)).fetchall()
    test.assertTrue(rows)
    runs = []
    for root, s, e in rows:
        if runs and runs[-1][0] == root and runs[-1][2] == s:
            runs[-1][2] = e
        else:
            runs.append([root, s, e])
    for root, s, e in runs:
        # each run is one root: its start and end are a root span's own
        got = conn.execute(f"SELECT count(*) FROM {table} WHERE trace_id = ? AND span_id = ? "
                           "AND start_ns = ? AND max(end_ns, start_ns) = ?",
                           (trace_id, root, s, e)).fetchone()[0]
        test.assertGreaterEqual(got, 1, (root, s, e))


class CriticalPath(unittest.TestCase):
    def setUp(self):
        self.conn = connect()

    def tearDown(self):
        self.conn.close()

    def expected_rows(self):
        return [(IDS[k], T0 + s * MS, T0 + e * MS) for k, s, e, _ in EXPECTED["critical_path"]]

    def test_req1_to_req6_hand_checked_trace_plain_and_tracelite(self):
        load(self.conn, "plain", CHECKOUT)
        load(self.conn, "spans", CHECKOUT, tracelite=True)
        tid = EXPECTED["trace_id"]
        for table in ("plain", "spans"):
            rows = self.conn.execute("SELECT span_id, start_ns, end_ns, depth, root_span_id "
                                     "FROM trace_critical_path(?, ?)", (table, tid)).fetchall()
            self.assertEqual([r[:3] for r in rows], self.expected_rows())
            self.assertEqual([r[3] for r in rows], [d for *_, d in EXPECTED["critical_path"]])
            self.assertEqual({r[4] for r in rows}, {IDS["A"]})
            # The documented per-span query.
            per_span = dict(self.conn.execute(
                "SELECT span_id, sum(end_ns - start_ns) FROM trace_critical_path(?, ?) "
                "GROUP BY span_id", (table, tid)))
            self.assertEqual(per_span, {IDS[k]: v * MS for k, v in EXPECTED["on_path_ms"].items()})
        self.assertEqual(path_of(self.conn, "plain", tid), [tuple(r) for r in reference_path(
            spans_of(self.conn, "plain", tid))])

    def test_aggregate_form_on_any_rows(self):
        load(self.conn, "plain", CHECKOUT)
        text = self.conn.execute("SELECT critical_path(span_id, parent_span_id, start_ns, end_ns, kind) "
                                 "FROM plain").fetchone()[0]
        got = [(x["span_id"], x["start_ns"], x["end_ns"]) for x in json.loads(text)]
        self.assertEqual(got, self.expected_rows())
        self.assertEqual(json.loads(text)[3], {"span_id": IDS["D"], "start_ns": T0 + 10 * MS,
                                               "end_ns": T0 + 30 * MS, "depth": 3,
                                               "root_span_id": IDS["A"]})
        # The kind argument is what makes a consumer under a producer async.
        vals = "WITH v(i, p, s, e, k) AS (VALUES ('p', NULL, 0, 100, 'PRODUCER'), ('c', 'p', 10, 90, 'CONSUMER')) "
        with_kind = self.conn.execute(vals + "SELECT critical_path(i, p, s, e, k) FROM v").fetchone()[0]
        without = self.conn.execute(vals + "SELECT critical_path(i, p, s, e) FROM v").fetchone()[0]
        self.assertEqual([(x["span_id"], x["start_ns"], x["end_ns"]) for x in json.loads(with_kind)],
                         [("p", 0, 100)])
        self.assertEqual([(x["span_id"], x["start_ns"], x["end_ns"]) for x in json.loads(without)],
                         [("p", 0, 10), ("c", 10, 90), ("p", 90, 100)])
        self.assertEqual(self.conn.execute("SELECT critical_path('a', NULL, 1, 2) WHERE 0").fetchone()[0], "[]")
        # Opaque ids, several groups.
        rows = self.conn.execute(
            "WITH v(g, id, parent, s, e) AS (VALUES "
            "(1, 'span-C', NULL, 1, 101), (1, 'span-D', 'span-C', 20, 40), (1, 'span-E', 'span-C', 50, 60),"
            "(2, 'x', NULL, 0, 0)) SELECT g, critical_path(id, parent, s, e) FROM v GROUP BY g").fetchall()
        self.assertEqual([(x["span_id"], x["start_ns"], x["end_ns"]) for x in json.loads(rows[0][1])],
                         [("span-C", 1, 20), ("span-D", 20, 40), ("span-C", 40, 50), ("span-E", 50, 60),
                          ("span-C", 60, 101)])
        self.assertEqual(json.loads(rows[1][1]), [{"span_id": "x", "start_ns": 0, "end_ns": 0, "depth": 0,
                                                   "root_span_id": "x"}])

    def test_jaeger_ui_fixture_matches_jaeger_ui_test(self):
        # jaeger-ui's TraceCriticalPath/index.test.js snapshots this trace's
        # profile: total 100 (numTicks), self time "S1: O1" 40, "S2: O2" 20,
        # "S3: O3" 10, "S4: O4" 30 (microseconds).  The children run one after
        # another, so the time each span owns on the critical path is exactly
        # that: the same numbers, in nanoseconds.
        load(self.conn, "s", trace_path("jaeger-ui/TraceCriticalPath/testTrace.json"))
        tid = self.conn.execute("SELECT trace_id FROM s LIMIT 1").fetchone()[0]
        got = dict(self.conn.execute(
            "SELECT service || ': ' || name, sum(end_ns - start_ns) FROM trace_critical_path('s', ?) "
            "GROUP BY 1", (tid,)))
        self.assertEqual(got, {"S1: O1": 40000, "S2: O2": 20000, "S3: O3": 10000, "S4: O4": 30000})
        self.assertEqual(sum(got.values()), 100 * 1000)
        self.assertEqual(path_of(self.conn, "s", tid), [
            ("000000000000000a", 0, 10000), ("000000000000000b", 10000, 30000),
            ("000000000000000a", 30000, 40000), ("000000000000000c", 40000, 50000),
            ("000000000000000a", 50000, 60000), ("000000000000000d", 60000, 90000),
            ("000000000000000a", 90000, 100000)])

    def test_real_files_tile_and_match_the_reference(self):
        # Zipkin shared spans, skew, duplicates, orphans, several roots, async.
        files = ["zipkin/skew.json", "zipkin/ascend.json", "zipkin/messaging-kafka.json",
                 "zipkin/smartthings-oauth-authorization.json", "zipkin/messaging2.json",
                 "jaeger/ui_01.json", "jaeger/example_trace.json", "apm-server/batch_1.json",
                 "tempo/legacy-batches/test-sample.json", "jaeger-ui/TraceGraph/testTrace.json",
                 "jaeger/skills/error_timeout_masked.json", "jaeger-ui/getTrace-response.json"]
        for i, f in enumerate(files):
            with self.subTest(file=f):
                table = f"t{i}"
                load(self.conn, table, trace_path(f))
                for (tid,) in self.conn.execute(f"SELECT DISTINCT trace_id FROM {table}").fetchall():
                    check_tiling(self, self.conn, table, tid)
                    spans = spans_of(self.conn, table, tid)
                    ids = [s["id"] for s in spans]
                    if len(ids) == len(set(ids)):  # the reference does not model shared ids
                        self.assertEqual(path_of(self.conn, table, tid),
                                         [tuple(r) for r in reference_path(spans)])

    def test_skew_and_shared_span_hand_checked(self):
        # zipkin/skew.json: the server half (serviceb) starts 65 ms before its
        # client; it is clipped to the client, and its local child, which
        # ends before the client starts, is dropped (Requirement 3).
        load(self.conn, "s", trace_path("zipkin/skew.json"))
        tid = self.conn.execute("SELECT trace_id FROM s LIMIT 1").fetchone()[0]
        rows = self.conn.execute("SELECT span_id, service, start_ns - 1470150004000000000, "
                                 "end_ns - 1470150004000000000, depth FROM trace_critical_path('s', ?)",
                                 (tid,)).fetchall()
        self.assertEqual(rows, [("bf396325699c84bf", "servicea", 71068000, 74202000, 0),
                                ("74280ae0c10d8062", "serviceb", 74202000, 102338000, 2),
                                ("74280ae0c10d8062", "servicea", 102338000, 168741000, 1),
                                ("bf396325699c84bf", "servicea", 168741000, 170479000, 0)])

    def test_req1_orphans_are_roots(self):
        load(self.conn, "b", trace_path("apm-server/batch_1.json"))
        tid = self.conn.execute("SELECT trace_id FROM b LIMIT 1").fetchone()[0]
        rows = self.conn.execute("SELECT span_id, start_ns, end_ns, depth, root_span_id "
                                 "FROM trace_critical_path('b', ?)", (tid,)).fetchall()
        spans = self.conn.execute("SELECT span_id, start_ns, end_ns, 0, span_id FROM b "
                                  "ORDER BY start_ns, rowid").fetchall()
        self.assertEqual(len(rows), 14)
        self.assertEqual(rows, spans)

    def test_generated_traces_match_the_reference_and_the_join_works(self):
        self.conn.execute("CREATE VIRTUAL TABLE spans USING tracelite")
        self.conn.execute("INSERT INTO spans SELECT * FROM trace_generate(300, 7)")
        tids = [r[0] for r in self.conn.execute("SELECT DISTINCT trace_id FROM spans")]
        for tid in tids[:60]:
            self.assertEqual(path_of(self.conn, "spans", tid),
                             [tuple(r) for r in reference_path(spans_of(self.conn, "spans", tid))], tid)
        # The breakdown across traces (the query), in both join orders.
        q1 = ("SELECT cp.service, cp.name, sum(cp.end_ns - cp.start_ns) FROM "
              "(SELECT DISTINCT trace_id FROM spans) t, trace_critical_path('spans', t.trace_id) cp "
              "GROUP BY 1, 2 ORDER BY 1, 2")
        q2 = ("SELECT cp.service, cp.name, sum(cp.end_ns - cp.start_ns) FROM "
              "trace_critical_path('spans', t.trace_id) cp, (SELECT DISTINCT trace_id FROM spans) t "
              "GROUP BY 1, 2 ORDER BY 1, 2")
        r1 = self.conn.execute(q1).fetchall()
        self.assertEqual(r1, self.conn.execute(q2).fetchall())
        self.assertEqual(r1, self.conn.execute(q1.replace("'spans'", "'spans'")).fetchall())
        # Requirement 2 summed: the breakdown adds up to the roots' durations
        # (the roots the tree finds: spans without a parent and not linked).
        total = sum(r[2] for r in r1)
        roots = 0
        for tid in tids:
            for s in reference_roots(spans_of(self.conn, "spans", tid)):
                roots += s["end"] - s["start"]
        self.assertEqual(total, roots)

    def test_req7_100000_span_trace(self):
        self.conn.execute("CREATE TABLE big(trace_id, span_id, parent_span_id, start_ns, end_ns)")
        self.conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999) "
            "INSERT INTO big SELECT 'big', printf('%016x', i + 1), "
            "CASE WHEN i THEN printf('%016x', (i - 1) / 4 + 1) END, i * 10, i * 10 + 1000000 - i FROM n")
        self.conn.execute("CREATE INDEX big_trace ON big(trace_id)")
        t = time.perf_counter()
        n, total = self.conn.execute("SELECT count(*), sum(end_ns - start_ns) "
                                     "FROM trace_critical_path('big', 'big')").fetchone()
        elapsed = time.perf_counter() - t
        self.assertEqual(total, 1000000)
        self.assertGreater(n, 1)
        self.assertLess(elapsed, 2.0)
        print(f"# critical path of a 100,000-span trace: {elapsed * 1e3:.0f} ms")

    def test_errors(self):
        load(self.conn, "plain", CHECKOUT)
        self.conn.execute("CREATE TABLE nocols(trace_id, x)")
        cases = [
            ("SELECT * FROM trace_critical_path('nope', 'x')", "trace_critical_path: no such table: nope"),
            ("SELECT * FROM trace_critical_path('nocols', 'x')",
             "trace_critical_path: table nocols has no column span_id"),
            ("SELECT * FROM trace_critical_path('plain', NULL)", "trace_critical_path: trace_id is NULL"),
            ("SELECT * FROM trace_critical_path('plain')",
             "trace_critical_path takes 2 arguments, as in trace_critical_path(table, trace_id)"),
            ("SELECT * FROM trace_critical_path(1, 'x')",
             "trace_critical_path: table must be a table or view name"),
            ("SELECT * FROM trace_critical_path('trace_generate', 'x')",
             "trace_critical_path: no such table: trace_generate"),
            ("SELECT critical_path(NULL, NULL, 1, 2)", "critical_path: span_id is NULL or empty"),
            ("SELECT critical_path('a', NULL, 'soon', 2)",
             "critical_path: start_ns is not an integer number of nanoseconds"),
        ]
        for sql, msg in cases:
            with self.subTest(sql=sql):
                with self.assertRaises(sqlite3.OperationalError) as cm:
                    self.conn.execute(sql).fetchall()
                self.assertEqual(str(cm.exception), msg)
        # An unknown trace has no path.
        self.assertEqual(path_of(self.conn, "plain", "00000000000000000000000000000001"), [])


def reference_roots(spans):
    ids = {s["id"] for s in spans}
    return [s for s in spans if not (s["parent"] and s["parent"] in ids)
            and not (not s["parent"] and any(l in ids and l != s["id"] for l in s["links"]))]


class Topology(unittest.TestCase):
    def setUp(self):
        self.conn = connect()

    def tearDown(self):
        self.conn.close()

    def topo(self, *args):
        marks = ", ".join("?" * len(args))
        return self.conn.execute(f"SELECT * FROM trace_topology({marks})", args).fetchall()

    def test_req1_req2_hand_checked_both_modes(self):
        load(self.conn, "plain", CHECKOUT)
        load(self.conn, "spans", CHECKOUT, tracelite=True)
        for table in ("plain", "spans"):
            for mode, key in ((None, "topology_jaeger"), ("jaeger", "topology_jaeger"),
                              ("zipkin", "topology_zipkin")):
                want = [(a, b, c, e, p50 * MS, p99 * MS) for a, b, c, e, p50, p99 in EXPECTED[key]]
                args = (table,) if mode is None else (table, None, None, mode)
                self.assertEqual(self.topo(*args), want, (table, mode))

    def test_req6_window_selects_spans_by_start(self):
        load(self.conn, "plain", CHECKOUT)
        # [50 ms, 200 ms): F, G, H, I — F->G and H->I link inside, the rest are cut off.
        self.assertEqual(self.topo("plain", T0 + 50 * MS, T0 + 200 * MS),
                         [("frontend", "payment", 1, 1, 43.0 * MS, 43.0 * MS),
                          ("payment", "mailer", 1, 0, 60.0 * MS, 60.0 * MS)])
        self.assertEqual(self.topo("plain", None, T0 + 50 * MS),
                         [("frontend", "cart", 1, 0, 36.0 * MS, 36.0 * MS)])
        self.assertEqual(self.topo("plain", T0 + 1000 * MS, None), [])

    def test_ungrouped_rows_give_the_same_answer(self):
        # Rows shuffled across traces force the rescan with ORDER BY trace_id.
        self.conn.execute("CREATE TABLE gen AS SELECT * FROM trace_generate(200, 3)")
        rows = self.conn.execute("SELECT * FROM gen").fetchall()
        random.Random(5).shuffle(rows)
        self.conn.execute("CREATE TABLE shuffled AS SELECT * FROM gen WHERE 0")
        self.conn.executemany(f"INSERT INTO shuffled VALUES ({', '.join('?' * len(rows[0]))})", rows)
        for mode in ("jaeger", "zipkin"):
            a = self.topo("gen", None, None, mode)
            self.assertEqual(a, self.topo("shuffled", None, None, mode))
            self.assertTrue(a)
        # Independent check of 'jaeger' calls: a self-join.
        want = self.conn.execute(
            "SELECT p.service, c.service, count(*), sum(c.status_code = 'ERROR') FROM gen c "
            "JOIN gen p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id "
            "WHERE p.service <> c.service GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
        got = [r[:4] for r in self.topo("gen")]
        # Links of parentless consumers to their producers are parents too (Tree 3).
        linked = self.conn.execute(
            "SELECT p.service, c.service, count(*), sum(c.status_code = 'ERROR') FROM gen c, "
            "json_each(c.links) l JOIN gen p ON p.trace_id = c.trace_id "
            "AND p.span_id = json_extract(l.value, '$.spanId') "
            "WHERE c.parent_span_id IS NULL AND json_extract(l.value, '$.traceId') = c.trace_id "
            "AND l.key = 0 AND p.service <> c.service GROUP BY 1, 2").fetchall()
        merged = {}
        for a, b, n, e in want + linked:
            m = merged.setdefault((a, b), [0, 0])
            m[0] += n
            m[1] += e
        self.assertEqual(got, sorted((a, b, n, e) for (a, b), (n, e) in merged.items()))

    def test_trace_split_far_apart_forces_the_sorted_rescan(self):
        # Trace 'a' has its root first and its child last, 300,000 rows of
        # other traces apart: more than the scan keeps open (262,144 spans),
        # so the first pass meets 'a' again and starts over sorted.
        self.conn.execute("CREATE TABLE far(trace_id, span_id, parent_span_id, service, start_ns, end_ns)")
        self.conn.execute("INSERT INTO far VALUES ('a', '1', NULL, 'web', 0, 100)")
        self.conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 299999) "
            "INSERT INTO far SELECT printf('t%d', i / 2), printf('%x', i % 2 + 1), "
            "CASE WHEN i % 2 THEN '1' END, CASE WHEN i % 2 THEN 'db' ELSE 'api' END, 0, 10 FROM n")
        self.conn.execute("INSERT INTO far VALUES ('a', '2', '1', 'auth', 10, 20)")
        got = self.topo("far")
        self.assertEqual(got, [("api", "db", 150000, 0, 10.0, 10.0), ("web", "auth", 1, 0, 10.0, 10.0)])

    def test_req4_percentiles_match_a_sort(self):
        self.conn.execute("CREATE TABLE gen AS SELECT * FROM trace_generate(300, 11)")
        durations = {}
        for ps, cs, d in self.conn.execute(
                "SELECT p.service, c.service, c.duration_ns FROM gen c JOIN gen p "
                "ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id WHERE p.service <> c.service"):
            durations.setdefault((ps, cs), []).append(d)
        for caller, callee, calls, _, p50, p99 in self.topo("gen"):
            v = sorted(durations.get((caller, callee), []))
            if len(v) != calls:
                continue  # has linked (follows) calls too: covered above
            for p, got in ((0.5, p50), (0.99, p99)):
                pos = (len(v) - 1) * p
                lo = int(pos)
                want = v[lo] + (v[min(lo + 1, len(v) - 1)] - v[lo]) * (pos - lo)
                self.assertAlmostEqual(got, want, delta=1e-6 * max(1, want))

    def test_real_zipkin_files_both_modes(self):
        # zipkin/ascend.json: shared CLIENT/SERVER ids; both modes link the
        # gateway to its two backends once each.
        load(self.conn, "a", trace_path("zipkin/ascend.json"))
        for mode in ("jaeger", "zipkin"):
            got = {(r[0], r[1]): r[2] for r in self.topo("a", None, None, mode)}
            self.assertEqual(got.get(("mobile-gateway", "auth-service")), 1, (mode, got))
            self.assertEqual(got.get(("mobile-gateway", "content-service")), 1, (mode, got))
        load(self.conn, "s", trace_path("zipkin/skew.json"))
        self.assertEqual(self.topo("s", None, None, "zipkin"), self.topo("s"))

    def test_dot(self):
        load(self.conn, "plain", CHECKOUT)
        dot = self.conn.execute("SELECT trace_topology_dot('plain', NULL, NULL, 'zipkin')").fetchone()[0]
        self.assertTrue(dot.startswith("digraph topology {\n"))
        self.assertIn('  "frontend" -> "payment" [label="1 call\\n100.0% errors", color="#c0392b", '
                      'fontcolor="#c0392b"];\n', dot)
        self.assertIn('  "payment" -> "kafka" [label="1 call"];\n', dot)
        self.assertEqual(dot.count("->"), 5)

    def test_errors(self):
        load(self.conn, "plain", CHECKOUT)
        cases = [
            ("SELECT * FROM trace_topology('plain', NULL, NULL, 'otel')",
             "trace_topology: mode must be 'jaeger' or 'zipkin', not 'otel'"),
            ("SELECT * FROM trace_topology('nope')", "trace_topology: no such table: nope"),
            ("SELECT * FROM trace_topology('plain', 1)",
             "trace_topology takes 1, 3 or 4 arguments, as in trace_topology(table [, start_ns, end_ns [, mode]])"),
            ("SELECT * FROM trace_topology('plain', 'x', 2)",
             "trace_topology: start_ns and end_ns must be integers or NULL"),
            ("SELECT trace_topology_dot('plain', NULL, NULL, 'x')",
             "trace_topology_dot: mode must be 'jaeger' or 'zipkin', not 'x'"),
            ("SELECT trace_topology_dot()",
             "trace_topology_dot takes 1, 3 or 4 arguments, as in trace_topology_dot(table [, start_ns, end_ns [, mode]])"),
        ]
        for sql, msg in cases:
            with self.subTest(sql=sql):
                with self.assertRaises(sqlite3.OperationalError) as cm:
                    self.conn.execute(sql).fetchall()
                self.assertEqual(str(cm.exception), msg)


class Waterfall(unittest.TestCase):
    def setUp(self):
        self.conn = connect()
        load(self.conn, "plain", CHECKOUT)

    def tearDown(self):
        self.conn.close()

    def test_req1_to_req3_chart(self):
        text = self.conn.execute("SELECT trace_waterfall('plain', ?, 40)", (EXPECTED["trace_id"],)).fetchone()[0]
        lines = text.splitlines()
        self.assertEqual(lines[0], "trace 5b8efff798038103d269b633813fc60c: 9 spans, 4 services, 2 errors, 130.0 ms")
        self.assertEqual(len(lines), 11)
        # Depth-first order, indented operations; bars scaled to 130 ms / 40 columns.
        self.assertEqual(lines[2], "frontend GET /checkout      |===============================         |  100.0 ms")
        self.assertEqual(lines[5], "cart           SELECT cart  |   !!!!!!!                              |  20.0 ms  ERROR")
        self.assertEqual(lines[10], "mailer           receipt    |                     ~~~~~~~~~~~~~~~~~~~|  60.0 ms")
        self.assertTrue(all(len(l) >= 70 for l in lines[2:]))

    def test_errors_and_missing_trace(self):
        self.assertIsNone(self.conn.execute("SELECT trace_waterfall('plain', 'ff')").fetchone()[0])
        for sql, msg in [("SELECT trace_waterfall('plain', 'ff', 5)",
                          "trace_waterfall: width must be an integer from 10 to 400"),
                         ("SELECT trace_waterfall('plain', NULL)", "trace_waterfall: trace_id is NULL"),
                         ("SELECT trace_waterfall('none', 'x')", "trace_waterfall: no such table: none")]:
            with self.subTest(sql=sql):
                with self.assertRaises(sqlite3.OperationalError) as cm:
                    self.conn.execute(sql).fetchall()
                self.assertEqual(str(cm.exception), msg)


FORMATS = ("ndjson", "cbor", "cbor_zstd", "columnar", "relational")
ODD = "c0ffee" + "0" * 25 + "1"


def odd_rows():
    """One crafted trace: peer.service of every type json_extract treats
    differently (NUL, arrays, objects, NaN, bytes, numbers, empty), a link
    whose attributes hold a NUL, shared client/server ids, an end before its
    start, a producer and its consumer."""
    def row(sid, parent, service, name, kind, start, end, status="UNSET", attrs=None, links=None):
        return (ODD, sid, parent, service, name, kind, start, end, end - start, status, None, attrs,
                json.dumps({"attributes": {"service.name": service}}) if service else None,
                None, links, None, None, 0, None)
    peer = ['"a\\u0000b"', '["x","y"]', '5', '1.5', '{"doubleValue":"NaN"}', '{"bytesValue":"AAE="}',
            '{"kvlistValue":{"a":1}}', '""', 'true', '"q\\tz"', '"\\u00fcn\\u00ef"', 'null']
    rows = [row("00000000000000f0", None, "edge", "GET /", "SERVER", T0, T0 + 100 * MS)]
    for i, v in enumerate(peer):
        rows.append(row("00000000000001%02x" % i, "00000000000000f0", "edge", "call %d" % i,
                        "CLIENT" if i % 3 else "INTERNAL", T0 + i * MS, T0 + (i + 5) * MS,
                        "ERROR" if i % 4 == 0 else "OK", '{"peer.service":%s}' % v))
    rows.append(row("0000000000000b00", "00000000000000f0", "edge", "shared", "CLIENT",
                    T0 + 20 * MS, T0 + 30 * MS, "ERROR"))
    rows.append(row("0000000000000b00", "00000000000000f0", "db", "shared half", "SERVER",
                    T0 + 21 * MS, T0 + 29 * MS))
    rows.append(row("00000000000002a0", "00000000000000f0", "edge", "backwards", "INTERNAL",
                    T0 + 50 * MS, T0 + 40 * MS))
    rows.append(row("00000000000003a0", "00000000000000f0", "edge", "send", "PRODUCER",
                    T0 + 60 * MS, T0 + 61 * MS))
    links = json.dumps([{"traceId": "ab" * 16, "spanId": "00000000000000f0"},
                        {"traceId": ODD, "spanId": "00000000000003a0",
                         "attributes": {"k": "v\u0000w"}}])
    rows.append(row("00000000000003b0", None, "mailer", "receive", "CONSUMER",
                    T0 + 70 * MS, T0 + 130 * MS, links=links))
    return rows


class DirectRead(unittest.TestCase):
    """analysis_sql.h: a tracelite table is read directly from the store, any
    other source through SQL; on the same rows every result is the same,
    whatever the storage format, inside transactions too."""

    @classmethod
    def setUpClass(cls):
        cls.conn = connect()
        c = cls.conn
        c.execute("CREATE TABLE src AS SELECT * FROM trace_generate(300, 7)")
        for f in ("zipkin/ascend.json", "zipkin/skew.json", "zipkin/messaging-kafka.json",
                  "jaeger/ui_01.json", "jaeger-ui/otlp2jaeger-out.json", "apm-server/batch_1.json"):
            c.execute("INSERT INTO src SELECT * FROM trace_file(?)", (trace_path(f),))
        c.execute("INSERT INTO src SELECT * FROM trace_file(?)", (CHECKOUT,))
        c.executemany(f"INSERT INTO src VALUES ({', '.join('?' * 19)})", odd_rows())
        cls.tables = ["plain"]
        c.execute("CREATE TABLE plain AS SELECT * FROM src")
        for f in FORMATS:
            c.execute(f"CREATE VIRTUAL TABLE tl_{f} USING tracelite(format={f}, block_spans=1000)")
            c.execute(f"INSERT INTO tl_{f} SELECT * FROM src")
            cls.tables.append(f"tl_{f}")
        c.commit()
        cls.traces = [r[0] for r in c.execute("SELECT DISTINCT trace_id FROM src")]
        lo, hi = c.execute("SELECT min(start_ns), max(start_ns) FROM src").fetchone()
        cls.window = (lo + (hi - lo) // 3, lo + 2 * (hi - lo) // 3)

    @classmethod
    def tearDownClass(cls):
        cls.conn.close()

    def results(self, table):
        c = self.conn
        out = {}
        for mode in ("jaeger", "zipkin"):
            out[mode] = c.execute("SELECT * FROM trace_topology(?, NULL, NULL, ?)", (table, mode)).fetchall()
            out[mode + " window"] = c.execute("SELECT * FROM trace_topology(?, ?, ?, ?)",
                                              (table, *self.window, mode)).fetchall()
        out["dot"] = c.execute("SELECT trace_topology_dot(?, NULL, NULL, 'zipkin')", (table,)).fetchone()
        out["cp"] = [c.execute("SELECT * FROM trace_critical_path(?, ?)", (table, t)).fetchall()
                     for t in self.traces]
        out["join"] = c.execute(
            "SELECT cp.service, cp.name, sum(cp.end_ns - cp.start_ns), count(*) FROM "
            f"(SELECT trace_id FROM {table} WHERE parent_span_id IS NULL) r, "
            "trace_critical_path(?, r.trace_id) cp GROUP BY 1, 2 ORDER BY 1, 2", (table,)).fetchall()
        out["waterfall"] = [c.execute("SELECT trace_waterfall(?, ?, 80)", (table, t)).fetchone()
                            for t in self.traces[::7] + [ODD]]
        return out

    def assert_same_everywhere(self):
        want = self.results("plain")
        self.assertTrue(want["zipkin"] and want["cp"][0] and want["waterfall"][0][0])
        for table in self.tables[1:]:
            got = self.results(table)
            for k in want:
                self.assertEqual(got[k], want[k], (table, k))

    def test_same_results_plain_and_every_format(self):
        self.assert_same_everywhere()
        # The crafted trace's odd peer.service values reach zipkin mode as
        # json_extract gives them (a NUL ends the text); numbers, booleans,
        # null and '' name no service.
        callees = {r[1] for r in self.conn.execute(
            "SELECT * FROM trace_topology('tl_columnar', NULL, NULL, 'zipkin') WHERE caller = 'edge'")}
        self.assertEqual(callees, {"a", '["x","y"]', '{"doubleValue":"NaN"}', '{"bytesValue":"AAE="}',
                                   '{"kvlistValue":{"a":1}}', "q\tz", "ünï", "db"})

    def test_tracelite_tables_are_read_directly(self):
        seen = []
        self.conn.set_trace_callback(seen.append)
        try:
            for table in self.tables:
                seen.clear()
                self.conn.execute("SELECT * FROM trace_topology(?)", (table,)).fetchall()
                self.conn.execute("SELECT * FROM trace_critical_path(?, ?)", (table, ODD)).fetchall()
                direct = [q for q in seen if f'WHERE "{table}" = ?1' in q]
                sql = [q for q in seen if q.startswith(("-- SELECT trace_id, span_id",
                                                        "-- SELECT span_id, parent_span_id"))]
                if table == "plain":
                    self.assertEqual((len(direct), len(sql)), (0, 2), seen)
                else:
                    self.assertEqual((len(direct), len(sql)), (2, 0), seen)
        finally:
            self.conn.set_trace_callback(None)

    def test_pending_writes_and_deletes_are_seen_as_by_a_select(self):
        c = self.conn
        before = self.results("plain")
        c.execute("BEGIN")
        try:
            extra = c.execute("SELECT * FROM trace_generate(40, 99)").fetchall()
            for table in self.tables:
                c.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * 19)})", extra)
                c.execute(f"DELETE FROM {table} WHERE service = 'cart' AND kind = 'SERVER'")
                c.execute(f"DELETE FROM {table} WHERE trace_id = ?", (self.traces[3],))
            self.assert_same_everywhere()
            self.assertNotEqual(self.results("plain")["jaeger"], before["jaeger"])
        finally:
            c.execute("ROLLBACK")
        self.assertEqual(self.results("tl_cbor_zstd"), before)

    def test_a_damaged_block_fails_alike_on_both_paths(self):
        c = connect()
        try:
            c.execute("CREATE VIRTUAL TABLE t USING tracelite(block_spans=100)")
            c.execute("INSERT INTO t SELECT * FROM trace_file(?)", (CHECKOUT,))
            c.execute("CREATE VIEW v AS SELECT * FROM t")
            c.execute("UPDATE t_blocks SET crc = crc + 1")
            msgs = []
            for table in ("t", "v"):
                for sql in ("SELECT * FROM trace_topology(?)", "SELECT * FROM trace_critical_path(?, ?)"):
                    args = (table,) if sql.count("?") == 1 else (table, EXPECTED["trace_id"])
                    with self.assertRaises(sqlite3.DatabaseError) as cm:
                        c.execute(sql, args).fetchall()
                    msgs.append(str(cm.exception).split(": ", 1)[1])
            self.assertEqual(len(set(msgs)), 1, msgs)
            self.assertTrue(msgs[0].startswith("tracelite: table t: block 1: the blob's CRC-32 is "), msgs)
        finally:
            c.close()

    def test_a_trace_far_apart_in_a_tracelite_table_rescans_sorted(self):
        # As test_trace_split_far_apart_forces_the_sorted_rescan, stored in
        # a tracelite table: the direct pass meets trace 'a' again after
        # linking it, and the sorted pass (SQL's ORDER BY) gives the answer.
        c = connect()
        try:
            c.execute("CREATE VIRTUAL TABLE far USING tracelite(format=columnar)")
            c.execute("INSERT INTO far(trace_id, span_id, service, start_ns, end_ns) "
                      "VALUES (?, '01', 'web', 0, 100)", ("a" * 32,))
            c.execute(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 299999) "
                "INSERT INTO far(trace_id, span_id, parent_span_id, service, start_ns, end_ns) "
                "SELECT printf('%032x', i / 2 + 1), printf('%x', i % 2 + 1), "
                "CASE WHEN i % 2 THEN '1' END, CASE WHEN i % 2 THEN 'db' ELSE 'api' END, 0, 10 FROM n")
            c.execute("INSERT INTO far(trace_id, span_id, parent_span_id, service, start_ns, end_ns) "
                      "VALUES (?, '02', '01', 'auth', 10, 20)", ("a" * 32,))
            self.assertEqual(c.execute("SELECT * FROM trace_topology('far')").fetchall(),
                             [("api", "db", 150000, 0, 10.0, 10.0), ("web", "auth", 1, 0, 10.0, 10.0)])
        finally:
            c.close()


class Security(unittest.TestCase):
    def test_flags(self):
        conn = connect()
        flags = dict(conn.execute("SELECT name, max(flags) FROM pragma_function_list "
                                  "WHERE name IN ('critical_path', 'trace_waterfall', 'trace_topology_dot') "
                                  "GROUP BY name"))
        innocuous, directonly = 0x200000, 0x80000
        self.assertTrue(flags["critical_path"] & innocuous)
        for f in ("trace_waterfall", "trace_topology_dot"):
            self.assertFalse(flags[f] & (innocuous | directonly), f)

    def test_untrusted_schema_cannot_use_them_in_views(self):
        conn = connect()
        load(conn, "plain", CHECKOUT)
        conn.execute("CREATE VIEW v AS SELECT * FROM trace_topology('plain')")
        conn.execute("CREATE VIEW w AS SELECT trace_waterfall('plain', trace_id) AS t FROM plain")
        self.assertEqual(len(conn.execute("SELECT * FROM v").fetchall()), 3)
        conn.execute("PRAGMA trusted_schema = OFF")
        for sql in ("SELECT * FROM v", "SELECT * FROM w"):
            with self.subTest(sql=sql):
                with self.assertRaises(sqlite3.OperationalError) as cm:
                    conn.execute(sql).fetchall()
                self.assertIn("unsafe use of", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
