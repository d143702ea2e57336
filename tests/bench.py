"""make bench: the figures of docs/benchmarks.md, measured in one run.

Each section measures one thing on generated data (tracegen / trace_generate)
and on the real files of ../shared/traces, and returns markdown.  Timings are
wall-clock on one core (SQLite and tracelite are single-threaded per query),
best of a few repetitions for short runs.  The whole document is rewritten,
with the command, the machine and the date, so that every figure in it comes
from the run that wrote it."""
import datetime
import json
import os
import platform
import re
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "py"))
from tlhelp import SO, TRACES, connect  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.environ.get("TL_BUILD", os.path.join(ROOT, "build"))
TRACEGEN = os.path.join(BUILD, "tracegen")
SMALL = os.environ.get("BENCH_SCALE") == "small"
WORK = tempfile.mkdtemp(prefix="tracelite-bench-")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def best_of(fn, repeat=3):
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best
    return best, out


def fmt_rate(n, seconds):
    return f"{n / seconds:,.0f}" if seconds > 0 else "-"


def generated_ndjson(traces, seed=42, fmt="ndjson"):
    path = os.path.join(WORK, f"gen-{traces}-{seed}.{fmt}")
    if not os.path.exists(path):
        run([TRACEGEN, "--traces", str(traces), "--seed", str(seed), "--format", fmt,
             "--out", path, "--quiet"])
    return path


def section_generator():
    traces = 20000 if SMALL else 100000
    t0 = time.perf_counter()
    res = run([TRACEGEN, "--traces", str(traces), "--seed", "42", "--format", "none",
               "--quiet", "--summary"])
    wall = time.perf_counter() - t0
    summary = res.stderr.strip().splitlines()[-1]
    cmd = f"build/tracegen --traces {traces} --seed 42 --format none --quiet --summary"
    return ("## Generator\n\n"
            f"`{cmd}` (generation only, no output):\n\n    {summary}\n\n"
            f"Wall time {wall:.2f} s.\n")


def real_files_by_format():
    """Every real trace file, grouped by its detected format."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "py"))
    from test_import import all_trace_files, is_metadata
    groups = {}
    db = connect()
    for rel in all_trace_files():
        if is_metadata(rel):
            continue
        path = os.path.join(TRACES, rel)
        text = db.execute("SELECT trace_export('SELECT * FROM trace_file(' || quote(?) || ') LIMIT 1')",
                          (path,)).fetchone()[0]
        fmt = ("csv" if ".csv" in rel else "zipkin" if '"zipkin.' in text or rel.startswith("zipkin/")
               or "/zipkin/" in rel else None)
        groups.setdefault(fmt or detect_format(rel), []).append(path)
    return groups


def detect_format(rel):
    with open(os.path.join(TRACES, rel), "rb") as f:
        head = f.read(65536)
    return "OTLP JSON" if b"resourceSpans" in head or b"batches" in head else "Jaeger JSON"


def timed_count(db, paths, min_seconds):
    """Reads every path repeatedly until min_seconds have passed: spans, bytes, seconds."""
    spans = size = 0
    t0 = time.perf_counter()
    while True:
        for p in paths:
            spans += db.execute("SELECT count(*) FROM trace_file(?)", (p,)).fetchone()[0]
            size += os.path.getsize(p)
        secs = time.perf_counter() - t0
        if secs >= min_seconds:
            return spans, size, secs


def section_import():
    db = connect()
    traces = 2000 if SMALL else 10000
    gen_nd = generated_ndjson(traces)
    gen_doc = generated_ndjson(traces, fmt="json")
    zst = gen_nd + ".zst"
    if not os.path.exists(zst):
        run(["zstd", "-q", "-3", gen_nd, "-o", zst])
    cases = [
        ("OTLP NDJSON", f"generated, tracegen --traces {traces}", [gen_nd]),
        ("OTLP NDJSON, zstd -3", "the same, compressed", [zst]),
        ("OTLP JSON document", f"generated, tracegen --traces {traces} --format json", [gen_doc]),
    ]
    groups = real_files_by_format()
    names = {"csv": "CSV", "zipkin": "Zipkin v2 JSON"}
    for fmt in sorted(groups):
        paths = groups[fmt]
        if fmt == "csv":
            paths = [p for p in paths if "construct_data" in p]
        label = names.get(fmt, fmt)
        cases.append((label, f"real: {len(paths)} files of ../shared/traces", paths))
    rows = []
    for label, source, paths in cases:
        spans, size, secs = timed_count(db, paths, 0.5 if SMALL else 2.0)
        rows.append(f"| {label} | {source} | {spans:,} | {size / 1e6:,.1f} | {secs:.2f} | "
                    f"{fmt_rate(spans, secs)} | {size / 1e6 / secs:,.0f} |")
    return ("## Import speed per input format\n\n"
            "`SELECT count(*) FROM trace_file(?)`: reading, decompressing, parsing and "
            "building spans, on one core. Small real files are read repeatedly for at "
            "least two seconds; the real Jaeger and OTLP files are all small (the largest is "
            "108 KB), so their figures include per-query overhead. MB/s counts the file "
            "as stored (compressed for .zst); CSV is the three Nezha construct_data files.\n\n"
            "| format | data | spans read | MB read | seconds | spans/s | MB/s |\n"
            "|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


ALL_FORMATS = ["ndjson", "cbor", "cbor_zstd", "relational", "columnar"]


def available_formats():
    db = connect()
    out = []
    for f in ALL_FORMATS:
        try:
            db.execute(f"CREATE VIRTUAL TABLE temp.probe_{f} USING tracelite(format={f})")
            out.append(f)
        except sqlite3.Error:
            pass
    return out


def zstd19(path):
    out = path + ".19.zst"
    if not os.path.exists(out):
        run(["zstd", "-q", "-19", "-T0", "-f", path, "-o", out])
    return os.path.getsize(out)


def select_star(path, repeat=3):
    """`SELECT * FROM spans` read by a C program, every value as its type
    (tests/select_star.c): best wall-clock seconds and rows."""
    r = json.loads(run([os.path.join(BUILD, "select_star"), path, SO, "SELECT * FROM spans",
                        str(repeat)]).stdout)
    return r["seconds"], r["rows"]


def median_p99(samples):
    v = sorted(samples)
    return v[len(v) // 2], v[min(len(v) - 1, int(len(v) * 0.99))]


def measure_format(fmt, load_sql, load_args, label):
    """One database per format: ingest, VACUUM, size, scans, trace by id."""
    path = os.path.join(WORK, f"{label}-{fmt}.db")
    if os.path.exists(path):
        os.remove(path)
    db = connect(path)
    db.execute(f"CREATE VIRTUAL TABLE spans USING tracelite(format={fmt})")
    t0 = time.perf_counter()
    db.execute(load_sql, load_args)
    db.commit()
    ingest = time.perf_counter() - t0
    n = db.execute("SELECT count(*) FROM spans").fetchone()[0]
    db.execute("VACUUM")
    size = os.path.getsize(path)
    one_col, _ = best_of(lambda: db.execute("SELECT sum(duration_ns) FROM spans").fetchone(), 3)
    all_cols, _ = best_of(lambda: db.execute(ALL_COLS_SQL).fetchone(), 2)
    ids = [r[0] for r in db.execute(
        "SELECT trace_id FROM spans WHERE parent_span_id IS NULL ORDER BY random() LIMIT 300")]
    lat = []
    for tid in ids:
        t = time.perf_counter()
        db.execute("SELECT * FROM spans WHERE trace_id = ?", (tid,)).fetchall()
        lat.append(time.perf_counter() - t)
    med, p99 = median_p99(lat) if lat else (0, 0)
    db.close()
    star, _ = select_star(path)
    return dict(fmt=fmt, spans=n, bytes=size, ingest=n / ingest, one_col=n / one_col,
                all_cols=n / all_cols, star=n / star, id_med=med * 1e3, id_p99=p99 * 1e3)


ALL_COLS_SQL = ("SELECT count(*) FROM spans WHERE trace_id IS NOT NULL AND name IS NOT NULL AND "
                "(attributes IS NOT NULL OR resource IS NOT NULL OR events IS NOT NULL OR "
                "links IS NOT NULL OR scope IS NOT NULL OR status_message IS NOT NULL)")


def measure_plain(label, source_path):
    """The same rows in a plain SQLite table (TEXT and INTEGER columns, no
    index), copied from a tracelite table: what SQLite alone costs."""
    path = os.path.join(WORK, f"{label}-plain.db")
    if os.path.exists(path):
        os.remove(path)
    db = connect(path)
    db.execute("ATTACH ? AS src", (source_path,))
    db.execute("CREATE TABLE spans AS SELECT * FROM src.spans")
    db.commit()
    db.execute("DETACH src")
    n = db.execute("SELECT count(*) FROM spans").fetchone()[0]
    db.execute("VACUUM")
    size = os.path.getsize(path)
    one_col, _ = best_of(lambda: db.execute("SELECT sum(duration_ns) FROM spans").fetchone(), 3)
    all_cols, _ = best_of(lambda: db.execute(ALL_COLS_SQL).fetchone(), 2)
    db.close()
    star, _ = select_star(path)
    os.remove(path)
    return dict(spans=n, bytes=size, one_col=n / one_col, all_cols=n / all_cols, star=n / star)


def compression_table(label, ndjson_path, load_sql, load_args, formats):
    nd = os.path.getsize(ndjson_path)
    z = zstd19(ndjson_path)
    rows = [measure_format(f, load_sql, load_args, label) for f in formats]
    plain = measure_plain(label, os.path.join(WORK, f"{label}-{formats[0]}.db"))
    n = rows[0]["spans"]
    lines = [
        f"| NDJSON file (trace_export) | {nd:,} | {nd / n:,.1f} | 1.0 | {nd / z:.2f} | | | | | | |",
        f"| zstd -19 of the NDJSON | {z:,} | {z / n:,.1f} | {nd / z:,.1f} | 1.00 | | | | | | |",
        f"| plain SQLite table, same rows | {plain['bytes']:,} | {plain['bytes'] / n:,.1f} | "
        f"{nd / plain['bytes']:,.1f} | {plain['bytes'] / z:.2f} | | {plain['one_col']:,.0f} | "
        f"{plain['all_cols']:,.0f} | {plain['star']:,.0f} | | |",
    ]
    for r in rows:
        lines.append(
            f"| tracelite {r['fmt']} | {r['bytes']:,} | {r['bytes'] / n:,.1f} | {nd / r['bytes']:,.1f} | "
            f"{r['bytes'] / z:.2f} | {r['ingest']:,.0f} | {r['one_col']:,.0f} | {r['all_cols']:,.0f} | "
            f"{r['star']:,.0f} | {r['id_med']:.2f} | {r['id_p99']:.2f} |")
    return (f"{n:,} spans. Bytes are the whole database file after VACUUM (shadow tables, "
            "indexes, dictionaries); `vs zstd -19` is bytes / zstd -19 bytes (below 1.00 is "
            "smaller). Ingest is `INSERT INTO spans SELECT …` in one transaction; scans are "
            "`SELECT sum(duration_ns)` (one column) and a query that reads every column; "
            "`SELECT *` from C is tests/select_star.c stepping `SELECT * FROM spans` and "
            "reading every value as its type, as an application embedding SQLite does (best "
            "of 3); trace by id is `SELECT * FROM spans WHERE trace_id = ?` for 300 random "
            "traces. The plain SQLite table holds the same rows as ordinary TEXT and INTEGER "
            "columns, without an index: what SQLite alone stores and reads.\n\n"
            "| | bytes | bytes/span | vs NDJSON | vs zstd -19 | ingest spans/s | 1-column scan spans/s "
            "| all-column scan spans/s | `SELECT *` from C rows/s | trace by id median ms | p99 ms |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(lines) + "\n")


def nezha_trainticket_day():
    files = sorted(
        [os.path.join(TRACES, "nezha/construct_data/2023-01-29", f)
         for f in os.listdir(os.path.join(TRACES, "nezha/construct_data/2023-01-29"))] +
        [os.path.join(TRACES, "nezha/rca_data/2023-01-29", f)
         for f in os.listdir(os.path.join(TRACES, "nezha/rca_data/2023-01-29")) if ".csv" in f])
    return files


def section_storage():
    formats = available_formats()
    traces = 2000 if SMALL else 10000
    gen = generated_ndjson(traces)
    out = ["## Storage formats\n",
           f"Formats measured: {', '.join(formats)}.\n",
           f"### Generated: the default system, `trace_generate({traces}, 42)`\n",
           compression_table("gen", gen, "INSERT INTO spans SELECT * FROM trace_generate(?, 42)",
                             (traces,), formats)]
    # Real data: the Nezha TrainTicket day, staged once as NDJSON so every
    # format ingests the same spans through the OTLP reader.
    files = nezha_trainticket_day()
    if SMALL:
        files = files[:6]
    stage = os.path.join(WORK, "nezha.ndjson")
    if not os.path.exists(stage):
        db = connect()
        db.execute("CREATE TEMP TABLE s AS SELECT * FROM trace_file(?) WHERE 0", (files[0],))
        for f in files:
            db.execute("INSERT INTO s SELECT * FROM trace_file(?)", (f,))
        db.execute("SELECT trace_export('s', ?)", (stage,)).fetchone()
        db.close()
    out += [f"### Real: Nezha TrainTicket, 2023-01-29 ({len(files)} minute files of "
            "../shared/traces/nezha, imported with trace_file, exported with trace_export)\n",
            compression_table("nezha", stage, "INSERT INTO spans SELECT * FROM trace_file(?)",
                              (stage,), formats)]
    if "columnar" in formats:
        out += ["### Where the bytes go: columnar, per stream (`tracelite_columns`)\n",
                "The databases of the two tables above. Each stream's bytes are summed over "
                "the table's blocks as stored (after zstd where the writer chose it); the "
                "largest streams are listed, the rest summed. *(directory)* is each blob's "
                "envelope and stream directory, *(dictionaries)* the table's trained zstd "
                "dictionaries; *all* is every blob and dictionary, to which the database file "
                "adds the block metadata, the trace index and SQLite's pages.\n",
                columns_breakdown("generated", "gen", gen),
                columns_breakdown("Nezha", "nezha", stage)]
    return "\n".join(out)


def columns_breakdown(title, label, ndjson_path, top=12):
    path = os.path.join(WORK, f"{label}-columnar.db")
    db = connect(path)
    rows = db.execute("SELECT column, bytes, raw_bytes FROM tracelite_columns('spans') "
                      "ORDER BY bytes DESC").fetchall()
    n = db.execute("SELECT count(*) FROM spans").fetchone()[0]
    db.close()
    size, z = os.path.getsize(path), zstd19(ndjson_path)
    total = sum(r[1] for r in rows)

    def line(name, b, raw):
        return f"| {name} | {b:,} | {raw:,} | {b / n:.2f} | {100 * b / total:.1f}% |"
    rest = rows[top:]
    lines = [line(r[0], r[1], r[2]) for r in rows[:top]]
    if rest:
        lines.append(line(f"{len(rest)} other streams", sum(r[1] for r in rest),
                          sum(r[2] for r in rest)))
    lines += [line("**all**", total, sum(r[2] for r in rows)),
              f"| database file | {size:,} | | {size / n:.2f} | |",
              f"| zstd -19 of the NDJSON | {z:,} | | {z / n:.2f} | |"]
    return (f"{title}, {n:,} spans:\n\n| stream | bytes | before zstd | bytes/span | share |\n"
            "|---|---|---|---|---|\n" + "\n".join(lines) + "\n")


SCALE_SCRIPT = r"""
import os, sys, time, json
sys.path.insert(0, sys.argv[1])
from tlhelp import connect
path, traces, fmt = sys.argv[2], int(sys.argv[3]), sys.argv[4]
db = connect(path)
db.execute(f"CREATE VIRTUAL TABLE spans USING tracelite(format={fmt})")
t0 = time.perf_counter()
db.execute("INSERT INTO spans SELECT * FROM trace_generate(?, 42)", (traces,))
db.commit()
ingest = time.perf_counter() - t0
copied = db.execute("SELECT tracelite_rows_copied()").fetchone()[0]
# VmHWM, not ru_maxrss: on Linux ru_maxrss survives fork and exec, so a
# child would report the benchmark parent's peak as its own.
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
n = db.execute("SELECT count(*) FROM spans").fetchone()[0]
res = dict(spans=n, ingest=ingest, rss_kb=rss, copied=copied)
def timed(sql, args=(), repeat=1):
    best = None
    for _ in range(repeat):
        t = time.perf_counter(); r = db.execute(sql, args).fetchall(); dt = time.perf_counter() - t
        best = dt if best is None or dt < best else best
    return best, r
# What producing the rows costs without storing them: every column of every
# row is read (IS 'x' is false for each, so OR evaluates all 19).
cols = ("trace_id span_id parent_span_id service name kind start_ns end_ns duration_ns status_code "
        "status_message attributes resource events links scope trace_state flags dropped").split()
res["rows"], _ = timed("SELECT count(*) FROM trace_generate(?, 42) WHERE " +
                       " OR ".join(c + " IS 'x'" for c in cols), (traces,))
res["one_col"], _ = timed("SELECT sum(duration_ns) FROM spans", repeat=3)
res["count"], _ = timed("SELECT count(*) FROM spans", repeat=3)
res["all_cols"], _ = timed("SELECT count(*) FROM spans WHERE " + " OR ".join(c + " IS 'x'" for c in cols), repeat=2)
res["pct"], _ = timed("SELECT service, latency_percentile(duration_ns, 0.5), "
                      "latency_percentile(duration_ns, 0.99) FROM spans GROUP BY service", repeat=2)
res["topology"], _ = timed("SELECT * FROM trace_topology('spans')", repeat=2)
ids = [r[0] for r in db.execute("SELECT trace_id FROM trace_generate_truth(?, 42) "
                                "ORDER BY random() LIMIT 300", (traces,))]
lat = []
for tid in ids:
    t = time.perf_counter(); db.execute("SELECT * FROM spans WHERE trace_id = ?", (tid,)).fetchall()
    lat.append(time.perf_counter() - t)
lat.sort()
res["id_med"], res["id_p99"] = lat[len(lat) // 2], lat[int(len(lat) * 0.99)]
t = time.perf_counter()
res["cp_n"] = db.execute("SELECT count(*) FROM (SELECT trace_id FROM spans WHERE parent_span_id IS NULL "
                         "LIMIT 10000) r, trace_critical_path('spans', r.trace_id) cp").fetchone()[0]
res["cp10k"] = time.perf_counter() - t
db.close()
res["bytes"] = os.path.getsize(path)
print(json.dumps(res))
"""


def section_scale():
    traces = 20000 if SMALL else 450000
    script = os.path.join(WORK, "scale.py")
    with open(script, "w") as f:
        f.write(SCALE_SCRIPT)
    formats = ["cbor_zstd", "columnar"]
    res = {}
    for fmt in formats:
        path = os.path.join(WORK, f"scale-{fmt}.db")
        if os.path.exists(path):
            os.remove(path)
        res[fmt] = json.loads(run(["/usr/bin/python3", script, os.path.join(ROOT, "tests", "py"),
                                   path, str(traces), fmt]).stdout)
        res[fmt]["star"], _ = select_star(path, 2)
    n = res[formats[0]]["spans"]
    # What SQLite itself costs per row of a virtual table that decodes
    # nothing: the sqlite3 shell's built-in generate_series, summed.
    def series():
        out = run(["sqlite3", ":memory:"], input=".timer on\nSELECT sum(value) FROM "
                  f"generate_series(1, {n});\n").stdout
        return float(re.search(r"user ([0-9.]+)", out).group(1))
    floor = min(series() for _ in range(3))

    def row(label, fn):
        return f"| {label} | " + " | ".join(fn(res[f]) for f in formats) + " |\n"

    return ("## At scale: `trace_generate(%d, 42)`\n\n" % traces +
            "Each format in a separate process, so its peak RSS is the ingest's. Before "
            "`optimize`. Queries run on the ingest's connection, warm: the aggregates and "
            "`count(*)` best of 3, every column, the percentiles and the topology best of 2 (the "
            "first run after the ingest is the slower one). *Rows alone* is what producing the "
            "same rows costs without storing them "
            "(`SELECT count(*) FROM trace_generate(...) WHERE <every column> IS 'x'`): the "
            "generator and the SQL values of 19 columns; *the store alone* is ingest minus that, "
            "the cost of turning rows into spans, blocks and shadow-table rows. *Copied* counts "
            "the rows taken from the source's offer instead of parsed (docs/storage.md). "
            "*Every column* makes SQLite produce every value of every row and compare it, but "
            "never asks for a text's bytes; *`SELECT *` from C* is tests/select_star.c reading "
            "every value as an application does (`sqlite3_column_text` and the like), on the "
            "default, serialized, connection.\n\n"
            "| measure | " + " | ".join(formats) + " |\n|---|" + "---|" * len(formats) + "\n" +
            row("spans", lambda r: f"{r['spans']:,}") +
            row("ingest", lambda r: f"{r['ingest']:.1f} s, {n / r['ingest']:,.0f} spans/s") +
            row("rows alone", lambda r: f"{r['rows']:.1f} s, {n / r['rows']:,.0f} spans/s") +
            row("the store alone", lambda r: f"{r['ingest'] - r['rows']:.1f} s, "
                f"{n / max(r['ingest'] - r['rows'], 1e-9):,.0f} spans/s") +
            row("rows copied from the offer", lambda r: f"{r['copied']:,}") +
            row("peak RSS of the process", lambda r: f"{r['rss_kb'] / 1024:,.0f} MB") +
            row("database bytes (not vacuumed)", lambda r: f"{r['bytes']:,} ({r['bytes'] / n:.1f} B/span)") +
            row("`SELECT sum(duration_ns)`", lambda r: f"{r['one_col']:.2f} s, {n / r['one_col']:,.0f} spans/s") +
            row("`SELECT count(*)` (no column decoded)",
                lambda r: f"{r['count']:.2f} s, {n / r['count']:,.0f} spans/s") +
            row("every column (`WHERE <every column> IS 'x'`)",
                lambda r: f"{r['all_cols']:.2f} s, {n / r['all_cols']:,.0f} spans/s") +
            row("`SELECT *` from C, every value read (best of 2)",
                lambda r: f"{r['star']:.2f} s, {n / r['star']:,.0f} spans/s") +
            row("per-service p50 and p99 (`latency_percentile`)", lambda r: f"{r['pct']:.2f} s") +
            row("`trace_topology` (jaeger mode)", lambda r: f"{r['topology']:.2f} s") +
            row("trace by id, 300 random traces",
                lambda r: f"median {r['id_med'] * 1e3:.2f} ms, p99 {r['id_p99'] * 1e3:.2f} ms") +
            row("critical path of 10,000 traces (roots in scan order)",
                lambda r: f"{r['cp10k']:.2f} s ({r['cp_n']:,} sections)") +
            "\nFor scale, SQLite's own loop over a virtual table that decodes nothing, "
            f"`SELECT sum(value) FROM generate_series(1, {n})` in the sqlite3 shell (user time, "
            f"best of 3): {floor:.2f} s, {n / floor:,.0f} rows/s. A one-column aggregate over "
            "tracelite pays that, plus reading, checking, decompressing and decoding its "
            "blocks.\n")


def section_big_trace():
    """The critical path and topology of one 100,000-span trace."""
    db = connect()
    db.execute("CREATE TABLE big(trace_id, span_id, parent_span_id, service, name, kind, start_ns, end_ns)")
    n = 10000 if SMALL else 100000
    rows = []
    ends = {}
    for i in range(n):
        parent = (i - 1) // 8 if i else None
        start = 0 if parent is None else ends[parent][0] + ((i - 1) % 8) * 1000 + 10
        dur = 10 ** 9 if parent is None else max(10, (ends[parent][1] - ends[parent][0]) // 9)
        ends[i] = (start, start + dur)
        rows.append(("ab" * 16, f"{i + 1:016x}", None if parent is None else f"{parent + 1:016x}",
                     f"svc{i % 20}", f"op{i % 50}", "SERVER" if i % 2 else "CLIENT", start, start + dur))
    db.executemany("INSERT INTO big VALUES (?,?,?,?,?,?,?,?)", rows)
    db.execute("CREATE INDEX big_trace ON big(trace_id)")
    secs, r = best_of(lambda: db.execute(
        "SELECT count(*) FROM trace_critical_path('big', ?)", ("ab" * 16,)).fetchone(), 3)
    return ("## One huge trace\n\n"
            f"A synthetic trace of {n:,} spans (8 children per span) in a plain indexed table: "
            f"`trace_critical_path` takes {secs * 1e3:.1f} ms ({r[0]:,} sections).\n")


SECTIONS = [section_generator, section_import, section_storage, section_scale, section_big_trace]


def main():
    parts = []
    for section in SECTIONS:
        print(f"running {section.__name__} ...", file=sys.stderr, flush=True)
        parts.append(section())
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    head = ("# Benchmarks\n\n"
            "Written by `make bench` (tests/bench.py): every figure below comes from the "
            "run that wrote this file.\n\n"
            f"- date: {datetime.date.today().isoformat()}\n"
            f"- machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}\n"
            f"- SQLite {sqlite3.sqlite_version} (Python's), scale: {'small' if SMALL else 'default'}\n\n")
    text = head + "\n".join(parts)
    out = os.path.join(ROOT, "docs", "benchmarks.md")
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
