"""A reader on another connection (WAL) sees only committed spans while a
writer ingests: every count it takes is a whole number of committed
transactions, never falls, and agrees with the trace count of the same
snapshot; a read transaction keeps its snapshot while the writer commits.
The writer's transactions are larger than a block, so blocks of the open
transaction are already in the shadow tables (flushed when full) while the
reader reads."""
import os
import tempfile
import threading
import time
import unittest

from tlhelp import connect

BATCH = 150          # spans per writer transaction (3 blocks of 64, flushed mid-transaction)
SPANS_PER_TRACE = 5
TRANSACTIONS = 40


def open_db(path):
    db = connect(path)
    db.isolation_level = None
    db.execute("PRAGMA busy_timeout = 10000")
    return db


def writer(path, done, errors):
    try:
        db = open_db(path)
        for t in range(TRANSACTIONS):
            db.execute("BEGIN")
            rows = []
            for i in range(BATCH):
                trace = "%016x%016x" % (t + 1, i // SPANS_PER_TRACE + 1)
                rows.append((trace, "%016x" % (t * BATCH + i + 1), "svc%d" % (i % 3), 1000 * t + i))
            db.executemany("INSERT INTO spans(trace_id, span_id, service, start_ns) VALUES (?, ?, ?, ?)", rows)
            time.sleep(0.01)  # the transaction stays open while the reader reads
            db.execute("COMMIT")
            done.append(t + 1)
        db.close()
    except Exception as e:  # reported by the main thread
        errors.append(e)


class WalReader(unittest.TestCase):
    def test_reader_sees_only_committed_spans(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "wal.db")
            db = open_db(path)
            self.assertEqual(db.execute("PRAGMA journal_mode=WAL").fetchone()[0], "wal")
            db.execute("CREATE VIRTUAL TABLE spans USING tracelite(format=cbor_zstd, block_spans=64)")
            done, errors = [], []
            thread = threading.Thread(target=writer, args=(path, done, errors))
            thread.start()
            reads, last = 0, 0
            while thread.is_alive():
                committed_before = len(done)
                db.execute("BEGIN")
                count = db.execute("SELECT count(*) FROM spans").fetchone()[0]
                traces = db.execute("SELECT count(DISTINCT trace_id) FROM spans").fetchone()[0]
                time.sleep(0.005)
                again = db.execute("SELECT count(*) FROM spans WHERE start_ns >= 0").fetchone()[0]
                db.execute("COMMIT")
                committed_after = len(done)
                self.assertEqual(count % BATCH, 0, "a partial transaction is visible")
                self.assertEqual(traces * SPANS_PER_TRACE, count)
                self.assertEqual(again, count, "the snapshot moved inside a read transaction")
                self.assertGreaterEqual(count, last)
                # COMMIT may return in the writer just after the reader's snapshot.
                self.assertGreaterEqual(count // BATCH, committed_before - 1)
                self.assertLessEqual(count // BATCH, committed_after + 1)
                last = count
                reads += 1
            thread.join()
            self.assertEqual(errors, [])
            self.assertGreater(reads, 10)
            self.assertEqual(db.execute("SELECT count(*) FROM spans").fetchone()[0], BATCH * TRANSACTIONS)
            db.execute("INSERT INTO spans(spans) VALUES('integrity-check')")
            db.close()


if __name__ == "__main__":
    unittest.main()
