#!/usr/bin/python3
"""Statistics of the generator's output, as docs/generator.md reports them.

    /usr/bin/python3 tests/gen_stats.py [--traces 100000] [--seed 42] [--system FILE]

Reads the spans through SQL (trace_generate, with build/tracelite loaded)
and the truth through trace_generate_truth, and times build/tracegen for
the NDJSON size and the generation speed.  Prints Markdown.  Nothing here
is compiled into the extension: it is an independent look at the output.
"""
import argparse
import collections
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "py"))
from tlhelp import connect  # noqa: E402

BUILD = os.environ.get("TL_BUILD", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def summary(name, values):
    n = len(values)
    return "| %s | %.2f | %s | %s | %s | %s |" % (
        name, sum(values) / n, pct(values, 0.5), pct(values, 0.9), pct(values, 0.99), max(values))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--system")
    a = ap.parse_args()
    db = connect()
    args = (a.traces, a.seed, a.system)

    truth = {}
    for tid, rtype, err, out, skew, inc, n in db.execute(
            "SELECT trace_id, request_type, has_error, is_outlier, is_skewed, is_incomplete, n_spans "
            "FROM trace_generate_truth(?, ?, ?)", args):
        truth[tid] = (rtype, err, out, skew, inc, n)

    # Spans arrive in end-time order, traces interleaved: a trace is
    # finished when all n_spans of its truth have arrived.
    open_traces = collections.defaultdict(list)
    depth, services, spans_per_trace, attrs = [], [], [], []
    kinds = collections.Counter()
    all_services = set()
    t0 = time.time()
    for tid, sid, pid, svc, kind, nattr in db.execute(
            "SELECT trace_id, span_id, parent_span_id, service, kind, "
            "(SELECT count(*) FROM json_each(attributes)) FROM trace_generate(?, ?, ?)", args):
        attrs.append(nattr)
        kinds[kind] += 1
        all_services.add(svc)
        spans = open_traces[tid]
        spans.append((sid, pid, svc))
        if len(spans) < truth[tid][5]:
            continue
        del open_traces[tid]
        parent = {s: p for s, p, _ in spans}
        best = 0
        for s, _, _ in spans:
            d, p = 1, parent[s]
            while p in parent and d < 100:
                d, p = d + 1, parent[p]
            best = max(best, d)
        depth.append(best)
        services.append(len({x for _, _, x in spans}))
        spans_per_trace.append(len(spans))
    sql_secs = time.time() - t0
    assert not open_traces, "traces left unfinished"

    tg = os.path.join(BUILD, "tracegen")
    base = [tg, "--traces", str(a.traces), "--seed", str(a.seed), "--quiet", "--summary"]
    if a.system:
        base += ["--system", a.system]
    nd = subprocess.Popen(base + ["--out", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    nbytes = 0
    while True:
        chunk = nd.stdout.read(1 << 20)
        if not chunk:
            break
        nbytes += len(chunk)
    nd_err = nd.communicate()[1].decode().strip()
    gen_only = subprocess.run(base + ["--format", "none"], capture_output=True, check=True).stderr.decode().strip()

    n = len(truth)
    nspans = sum(spans_per_trace)
    print("Generator statistics: %d traces, seed %d, system %s\n" % (n, a.seed, a.system or "built-in"))
    print("| per trace | mean | p50 | p90 | p99 | max |")
    print("|---|---|---|---|---|---|")
    print(summary("spans", spans_per_trace))
    print(summary("depth (spans on the longest root path)", depth))
    print(summary("services", services))
    print(summary("attributes per span", attrs))
    print()
    print("| measure | value |")
    print("|---|---|")
    print("| spans | %d |" % nspans)
    print("| services seen in spans | %d |" % len(all_services))
    print("| request types seen | %d |" % len({t[0] for t in truth.values()}))
    for i, name in ((1, "traces with an error"), (2, "latency outlier traces"),
                    (3, "traces with clock skew"), (4, "incomplete traces")):
        k = sum(t[i] for t in truth.values())
        print("| %s | %d (%.2f%%) |" % (name, k, 100.0 * k / n))
    print("| span kinds | %s |" % ", ".join("%s %.1f%%" % (k, 100.0 * v / nspans) for k, v in kinds.most_common()))
    print("| NDJSON bytes | %d (%.0f per span) |" % (nbytes, nbytes / nspans))
    print()
    print("tracegen, NDJSON to a pipe: `%s`" % nd_err)
    print("tracegen, generation only:  `%s`" % gen_only)
    print("(SQL scan of the spans through Python: %.1f s)" % sql_secs)


if __name__ == "__main__":
    main()
