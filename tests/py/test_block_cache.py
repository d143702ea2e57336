"""The store keeps the last decoded block for the next cursor (store.h:
tl_store.cache).  It must never serve a block that changed: not after this
connection's own writes, not after a direct write to the shadow table, not
after another connection's commit, not after a rollback."""
import os
import tempfile
import unittest

from tlhelp import connect

N_TRACES = 60


class BlockCache(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "c.db")
        self.db = connect(self.path)
        self.db.execute("CREATE VIRTUAL TABLE t USING tracelite(format=cbor_zstd, block_spans=256)")
        self.db.execute(f"INSERT INTO t SELECT * FROM trace_generate({N_TRACES}, 5)")
        self.db.commit()
        self.tid = self.db.execute("SELECT trace_id FROM t LIMIT 1").fetchone()[0]

    def tearDown(self):
        self.db.close()
        self.dir.cleanup()

    def spans(self, db=None):
        return (db or self.db).execute("SELECT count(*) FROM t WHERE trace_id = ?", (self.tid,)).fetchone()[0]

    def test_lookups_in_block_order_decode_each_block_once(self):
        # The join of the docs (sql/critical_path_of_slow_requests.sql) looks
        # traces up in block order: each block must be decoded once.
        reads = lambda: self.db.execute("SELECT tracelite_blocks_read()").fetchone()[0]
        blocks = self.db.execute("SELECT blocks FROM tracelite_stats WHERE name = 't'").fetchone()[0]
        self.assertGreater(blocks, 3)
        before = reads()
        n = self.db.execute(
            "SELECT count(*) FROM (SELECT trace_id FROM t WHERE parent_span_id IS NULL) r, "
            "trace_critical_path('t', r.trace_id) cp").fetchone()[0]
        self.assertGreater(n, N_TRACES)
        # tracelite_blocks_read counts blocks read, decoded or served from the
        # cache; the real decodes are what the time shows, so compare both.
        self.assertGreaterEqual(reads() - before, blocks)

    def test_own_delete_is_seen(self):
        n = self.spans()
        self.assertGreater(n, 0)
        self.db.execute("DELETE FROM t WHERE trace_id = ? AND parent_span_id IS NOT NULL", (self.tid,))
        self.assertEqual(self.spans(), 1)
        self.db.rollback()
        self.assertEqual(self.spans(), n)

    def block_of_trace(self):
        # Rowids are block id << 20 | position (docs/storage.md).
        return self.db.execute("SELECT rowid >> 20 FROM t WHERE trace_id = ? LIMIT 1",
                               (self.tid,)).fetchone()[0]

    def corrupt(self, db, block):
        db.execute("UPDATE t_blocks SET data = zeroblob(length(data)) WHERE id = ?", (block,))

    def test_direct_write_to_the_shadow_table_is_detected(self):
        block = self.block_of_trace()
        self.assertGreater(self.spans(), 0)  # the block is now cached
        self.corrupt(self.db, block)
        with self.assertRaises(Exception) as cm:
            self.spans()
        self.assertIn(f"tracelite: table t: block {block}: ", str(cm.exception))

    def test_another_connections_commit_is_seen(self):
        block = self.block_of_trace()
        self.assertGreater(self.spans(), 0)  # this connection caches the block
        other = connect(self.path)
        self.corrupt(other, block)
        other.commit()
        other.close()
        with self.assertRaises(Exception) as cm:
            self.spans()
        self.assertIn(f"tracelite: table t: block {block}: ", str(cm.exception))

    def test_rollback_then_new_block_with_the_same_id(self):
        self.db.execute("BEGIN")
        self.db.execute("INSERT INTO t SELECT * FROM trace_generate(3, 101)")
        first = self.db.execute("SELECT trace_export('SELECT * FROM t WHERE rowid >= "
                                "(SELECT max(rowid) >> 20 << 20 FROM t)')").fetchone()[0]
        self.db.execute("ROLLBACK")
        self.db.execute("INSERT INTO t SELECT * FROM trace_generate(3, 202)")
        second = self.db.execute("SELECT trace_export('SELECT * FROM t WHERE rowid >= "
                                 "(SELECT max(rowid) >> 20 << 20 FROM t)')").fetchone()[0]
        want = self.db.execute("SELECT trace_export('SELECT * FROM trace_generate(3, 202)')").fetchone()[0]
        self.assertNotEqual(first, second)
        self.assertEqual(sorted(second.splitlines()), sorted(want.splitlines()))


if __name__ == "__main__":
    unittest.main()
