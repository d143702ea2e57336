"""INSERT ... SELECT from a span source copies the offered span (row.h,
tl_row_offer) when the row equals what the source showed; these tests cover
what the copy path does beyond a single row: resources and scopes shared
between the source's chunks of 1024 spans through the JSON text shown for
them (row.c, copy_offered), rows copied and rows parsed mixed in one batch,
and a UTF-16 database, whose texts reach the comparison as UTF-16 bytes.
The table must always hold exactly what parsing every row would give: the
expected export comes from the same rows inserted from a plain table."""
import sqlite3
import unittest

from tlhelp import connect


def scalar(db, sql, args=()):
    return db.execute(sql, args).fetchone()[0]


def export(db, table):
    return scalar(db, "SELECT trace_export(?)", (table,))


class CopiedRows(unittest.TestCase):

    def insert_both_ways(self, db, select):
        """Exports of select's rows inserted straight from the source and from
        a plain table (always parsed), and how many rows the first copied."""
        db.execute("CREATE VIRTUAL TABLE direct USING tracelite(format=cbor_zstd)")
        db.execute("CREATE VIRTUAL TABLE parsed USING tracelite(format=cbor_zstd)")
        db.execute("CREATE TEMP TABLE plain AS " + select)
        before = scalar(db, "SELECT tracelite_rows_copied()")
        db.execute("INSERT INTO direct " + select)
        copied = scalar(db, "SELECT tracelite_rows_copied()") - before
        db.execute("INSERT INTO parsed SELECT * FROM temp.plain")
        self.assertEqual(scalar(db, "SELECT tracelite_rows_copied()") - before, copied)
        db.commit()
        return export(db, "direct"), export(db, "parsed"), copied

    def test_many_chunks_and_blocks_share_resources(self):
        # 500 traces are about 11,000 spans: eleven source chunks, three
        # blocks, the same resources and scopes shown in every chunk.
        db = connect()
        n = scalar(db, "SELECT count(*) FROM trace_generate(500, 9)")
        direct, parsed, copied = self.insert_both_ways(db, "SELECT * FROM trace_generate(500, 9)")
        self.assertEqual(copied, n)
        self.assertEqual(direct, parsed)
        self.assertEqual(scalar(db, "SELECT count(*) FROM direct"), n)
        self.assertEqual(scalar(db, "SELECT count(DISTINCT resource) FROM direct"),
                         scalar(db, "SELECT count(DISTINCT resource) FROM trace_generate(500, 9)"))

    def test_copied_and_parsed_rows_mixed(self):
        # Every seventh row has its name changed on the way, so it is parsed
        # (its resource and scope texts then parsed and remembered); the
        # rows around it are copied and may share what was parsed.
        db = connect()
        select = ("SELECT trace_id, span_id, parent_span_id, service, "
                  "CASE WHEN start_ns % 7 = 0 THEN name || '!' ELSE name END, kind, start_ns, "
                  "end_ns, duration_ns, status_code, status_message, attributes, resource, events, "
                  "links, scope, trace_state, flags, dropped FROM trace_generate(300, 4)")
        changed = scalar(db, "SELECT count(*) FROM trace_generate(300, 4) WHERE start_ns % 7 = 0")
        n = scalar(db, "SELECT count(*) FROM trace_generate(300, 4)")
        self.assertGreater(changed, 100)
        direct, parsed, copied = self.insert_both_ways(db, select)
        self.assertEqual(copied, n - changed)
        self.assertEqual(direct, parsed)
        self.assertEqual(scalar(db, "SELECT count(*) FROM direct WHERE name LIKE '%!'"), changed)

    def test_utf16_database(self):
        # The source's texts reach the comparison as UTF-16: the bytes differ
        # from the UTF-8 shown, and the text as UTF-8 decides.
        db = connect()
        db.execute("PRAGMA encoding = 'UTF-16le'")
        self.assertEqual(scalar(db, "PRAGMA encoding"), "UTF-16le")
        n = scalar(db, "SELECT count(*) FROM trace_generate(60, 2)")
        direct, parsed, copied = self.insert_both_ways(db, "SELECT * FROM trace_generate(60, 2)")
        self.assertEqual(copied, n)
        self.assertEqual(direct, parsed)


if __name__ == "__main__":
    unittest.main()
