"""make bench: the figures of docs/benchmarks.md, measured in one run.

Each section measures one thing on generated data (tracegen / trace_generate)
and on the real files of ../shared/traces, and returns markdown.  Timings are
wall-clock on one core (SQLite and tracelite are single-threaded per query),
best of a few repetitions for short runs.  The whole document is rewritten,
with the command, the machine and the date, so that every figure in it comes
from the run that wrote it."""
import datetime
import os
import platform
import resource
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


SECTIONS = [section_generator, section_import]


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
            f"- SQLite {sqlite3.sqlite_version} (Python's), scale: {'small' if SMALL else 'default'}\n"
            f"- peak RSS of the benchmark process: "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB\n\n")
    text = head + "\n".join(parts)
    out = os.path.join(ROOT, "docs", "benchmarks.md")
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
