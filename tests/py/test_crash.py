"""kill -9 at random moments: a child process ingests spans in many small
transactions (with DELETEs and 'optimize' among them) and is killed; after
each kill the database must open, pass PRAGMA integrity_check and the
table's own integrity-check, and hold exactly the committed spans.

The protocol that makes "exactly" precise: inside its transaction the child
counts the table (its own writes included) and prints "commit N" before
COMMIT and "ok N" after COMMIT returned.  After the kill, with `ok` the last
"ok" value and `pending` a "commit" value printed after it (if any), the
table holds `ok` spans, or `pending` spans when the kill came after the
commit reached the disk but before "ok" was printed.  Nothing else is
allowed.  Both journal modes (rollback journal and WAL) are tested."""
import os
import random
import select
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from tlhelp import SO, connect

CHILD = r"""
import random, sqlite3, sys
path, so, mode, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
db = sqlite3.connect(path, isolation_level=None, timeout=30)
db.enable_load_extension(True)
db.load_extension(so)
db.execute("PRAGMA journal_mode=" + mode)
db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS spans USING tracelite(format=cbor_zstd, block_spans=50)")
rng = random.Random(seed)
sql = ("INSERT INTO spans(trace_id, span_id, service, name, kind, start_ns, duration_ns, status_code, "
       "attributes) VALUES (?, ?, ?, ?, 'SERVER', ?, ?, ?, ?)")
i = 0
while True:
    i += 1
    db.execute("BEGIN")
    rows = []
    for _ in range(rng.randrange(1, 120)):
        trace = "%032x" % rng.getrandbits(128)
        for k in range(rng.randrange(1, 6)):
            rows.append((trace, "%016x" % rng.getrandbits(64), "svc%d" % rng.randrange(7), "op%d" % k,
                         1700000000000000000 + rng.randrange(10**12), rng.randrange(10**9),
                         "ERROR" if rng.random() < 0.05 else "OK", '{"i":%d,"k":"%s"}' % (i, "x" * k)))
    db.executemany(sql, rows)
    if i % 5 == 0:
        db.execute("DELETE FROM spans WHERE start_ns < ?", (1700000000000000000 + rng.randrange(10**11),))
    total = db.execute("SELECT count(*) FROM spans").fetchone()[0]
    sys.stdout.write("commit %d\n" % total)
    sys.stdout.flush()
    db.execute("COMMIT")
    sys.stdout.write("ok %d\n" % total)
    sys.stdout.flush()
    if i % 7 == 0:
        db.execute("INSERT INTO spans(spans) VALUES('optimize')")
"""


def run_and_kill(path, mode, seed, seconds):
    """Runs the child for about `seconds`, kills it with SIGKILL and returns
    (last ok, pending commit or None)."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, path, SO, mode, str(seed)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ok, pending, out = None, None, b""
    deadline = time.time() + seconds
    while time.time() < deadline and child.poll() is None:
        ready, _, _ = select.select([child.stdout], [], [], 0.01)
        if ready:
            out += os.read(child.stdout.fileno(), 65536)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    out += child.stdout.read()
    err = child.stderr.read().decode(errors="replace")
    child.stdout.close()
    child.stderr.close()
    if child.returncode != -signal.SIGKILL:
        raise AssertionError("the child died on its own (%s): %s" % (child.returncode, err[-2000:]))
    # A line cut by the kill (no newline yet) was never completely printed.
    for line in out.decode().split("\n")[:-1]:
        if len(line.split()) != 2:
            raise AssertionError("unexpected output from the child: %r (stderr: %s)" % (line, err[-2000:]))
        word, n = line.split()
        if word == "ok":
            ok, pending = int(n), None
        else:
            pending = int(n)
    return ok, pending


class KillNine(unittest.TestCase):
    def check_mode(self, mode, rounds, seed):
        rng = random.Random(seed)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "crash.db")
            committed = 0
            for r in range(rounds):
                ok, pending = run_and_kill(path, mode, seed * 100 + r, rng.uniform(0.4, 1.2))
                if ok is not None:
                    committed = ok
                db = connect(path)
                try:
                    self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
                    db.execute("INSERT INTO spans(spans) VALUES('integrity-check')")
                    db.commit()
                    count = db.execute("SELECT count(*) FROM spans").fetchone()[0]
                    allowed = [committed] + ([pending] if pending is not None else [])
                    self.assertIn(count, allowed, "round %d" % r)
                    committed = count
                finally:
                    db.close()
            self.assertGreater(committed, 0)

    def test_rollback_journal(self):
        self.check_mode("DELETE", 5, 11)

    def test_wal(self):
        self.check_mode("WAL", 5, 12)


if __name__ == "__main__":
    unittest.main()
