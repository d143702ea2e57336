/*
** select_star.c — what `SELECT *` costs a program that reads every value,
** for make bench (tests/bench.py).
**
** Python's fetchall() spends most of its time building Python objects, and
** a query that only compares columns never asks SQLite for a value's text:
** neither shows what an application embedding SQLite pays.  This program
** does what such an application does: it steps the query and reads every
** column of every row as its type (sqlite3_column_int64, _double, _text,
** _blob, with _bytes), on a connection opened with the default flags.
**
**   select_star DB EXTENSION SQL REPEAT
**
** prints {"rows": N, "seconds": S, "check": C} on one line: S is the best
** wall-clock time of REPEAT runs, C a checksum of the values read, so that
** the reads cannot be optimised away and two tables can be compared.
*/
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int fail(sqlite3 *db, const char *what) {
  fprintf(stderr, "select_star: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
  sqlite3_close(db);
  return 1;
}

/* Runs sql once, reading every value; -1 on error. */
static long long read_all(sqlite3 *db, const char *sql, unsigned long long *check) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
  long long rows = 0;
  int ncol = sqlite3_column_count(st), rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    rows++;
    for (int c = 0; c < ncol; c++) {
      switch (sqlite3_column_type(st, c)) {
        case SQLITE_INTEGER: *check += (unsigned long long)sqlite3_column_int64(st, c); break;
        case SQLITE_FLOAT: *check += (unsigned long long)sqlite3_column_double(st, c); break;
        case SQLITE_TEXT: {
          const unsigned char *t = sqlite3_column_text(st, c);
          int n = sqlite3_column_bytes(st, c);
          *check += (unsigned long long)n + (t && n ? t[n - 1] : 0);
          break;
        }
        case SQLITE_BLOB: {
          const unsigned char *b = sqlite3_column_blob(st, c);
          int n = sqlite3_column_bytes(st, c);
          *check += (unsigned long long)n + (b && n ? b[n - 1] : 0);
          break;
        }
        default: break;
      }
    }
  }
  if (sqlite3_finalize(st) != SQLITE_OK || rc != SQLITE_DONE) return -1;
  return rows;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: select_star DB EXTENSION SQL REPEAT\n");
    return 2;
  }
  sqlite3 *db = NULL;
  if (sqlite3_open(argv[1], &db) != SQLITE_OK) return fail(db, argv[1]);
  char *err = NULL;
  if (sqlite3_enable_load_extension(db, 1) != SQLITE_OK ||
      sqlite3_load_extension(db, argv[2], NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "select_star: %s: %s\n", argv[2], err ? err : sqlite3_errmsg(db));
    sqlite3_free(err);
    sqlite3_close(db);
    return 1;
  }
  int repeat = atoi(argv[4]);
  double best = -1;
  long long rows = 0;
  unsigned long long check = 0;
  for (int r = 0; r < (repeat > 0 ? repeat : 1); r++) {
    check = 0;
    double t = now();
    rows = read_all(db, argv[3], &check);
    t = now() - t;
    if (rows < 0) return fail(db, argv[3]);
    if (best < 0 || t < best) best = t;
  }
  printf("{\"rows\": %lld, \"seconds\": %.6f, \"check\": %llu}\n", rows, best, check);
  sqlite3_close(db);
  return 0;
}
