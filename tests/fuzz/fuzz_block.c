/*
** fuzz_block.c — a stored block overwritten with fuzz bytes, then read.
**
** Three valid tracelite tables are built once (formats ndjson, cbor and
** cbor_zstd, 4 spans per block, from FIXTURE).  Each input replaces the blob
** of block 1 of one table and reads the table back in several ways (full
** scan, trace_id lookup, a service filter, 'integrity-check'); every
** statement must end in SQLITE_DONE or fail with SQLITE_CORRUPT_VTAB (or
** SQLITE_NOMEM: a crafted block may claim up to TL_BLOCK_MAX_DECODED
** bytes) — anything else, a crash or a sanitizer report is a bug.  A
** savepoint puts the block back for the next input.
**
** Input: byte 0 picks the table (mod 3); byte 1 bit 0 set keeps the stored
** CRC-32 (so the checksum rejects the bytes) instead of matching it (so the
** envelope and the codec see them); bit 1 set also writes byte 2 as the
** block's span count in its metadata.  The rest is the blob.  Seeds in
** testdata/fuzz/fuzz_block/ are the valid block 1 of each table (SELECT
** data FROM t<k>_blocks WHERE id = 1) behind two zero bytes, and damaged
** copies of them.
**
** The target links without SQLite (Makefile: libtl.a and the codec
** libraries only), so it loads libsqlite3.so.0 with dlopen and the
** extension from $TL_SO (default build/tracelite), the way a program
** embedding tracelite would.  Under `make asan` TL_SO is the ASan build.
*/
#include <dlfcn.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIXTURE                                                                                   \
  "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"       \
  "{\"stringValue\":\"checkout\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"http\",\"version\":"  \
  "\"1.0\"},\"spans\":["                                                                          \
  "{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"00f067aa0ba902b7\","            \
  "\"traceState\":\"rojo=1\",\"name\":\"GET /cart\",\"kind\":2,\"startTimeUnixNano\":\"100\","    \
  "\"endTimeUnixNano\":\"250\",\"attributes\":[{\"key\":\"http.status_code\",\"value\":"          \
  "{\"intValue\":\"200\"}},{\"key\":\"tags\",\"value\":{\"arrayValue\":{\"values\":"              \
  "[{\"stringValue\":\"a\"},{\"doubleValue\":1.5}]}}},{\"key\":\"raw\",\"value\":{\"bytesValue\":" \
  "\"AAEC\"}}],\"events\":[{\"timeUnixNano\":\"110\",\"name\":\"exception\",\"attributes\":"      \
  "[{\"key\":\"m\",\"value\":{\"stringValue\":\"boom\"}}]}],\"links\":[{\"traceId\":"             \
  "\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"b7ad6b7169203331\",\"flags\":1}],"           \
  "\"status\":{\"code\":2,\"message\":\"failed\"}},"                                            \
  "{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"b9c7c989f97918e1\","            \
  "\"parentSpanId\":\"00f067aa0ba902b7\",\"name\":\"SELECT\",\"kind\":3,\"startTimeUnixNano\":"   \
  "\"120\",\"endTimeUnixNano\":\"200\",\"status\":{\"code\":1}}]}]},"                             \
  "{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"db\"}}]}," \
  "\"scopeSpans\":[{\"spans\":["                                                                  \
  "{\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"c2c7c989f97918e2\","            \
  "\"parentSpanId\":\"b9c7c989f97918e1\",\"name\":\"query\",\"kind\":4,\"startTimeUnixNano\":"    \
  "\"130\",\"endTimeUnixNano\":\"190\"},"                                                         \
  "{\"traceId\":\"5bf92f3577b34da6a3ce929d0e0e4737\",\"spanId\":\"d2c7c989f97918e3\","            \
  "\"name\":\"\",\"kind\":1,\"startTimeUnixNano\":\"300\",\"endTimeUnixNano\":\"300\"},"          \
  "{\"traceId\":\"6bf92f3577b34da6a3ce929d0e0e4738\",\"spanId\":\"e2c7c989f97918e4\","            \
  "\"name\":\"last\",\"kind\":5,\"startTimeUnixNano\":\"1\",\"endTimeUnixNano\":\"2\"}]}]}]}"

static const char *const formats[3] = {"ndjson", "cbor", "cbor_zstd"};

/* The few SQLite functions used, from libsqlite3.so.0. */
typedef struct sqlite_api {
  int (*open)(const char *, sqlite3 **);
  int (*exec)(sqlite3 *, const char *, int (*)(void *, int, char **, char **), void *, char **);
  int (*enable_load_extension)(sqlite3 *, int);
  int (*load_extension)(sqlite3 *, const char *, const char *, char **);
  int (*prepare_v2)(sqlite3 *, const char *, int, sqlite3_stmt **, const char **);
  int (*bind_blob)(sqlite3_stmt *, int, const void *, int, void (*)(void *));
  int (*bind_int64)(sqlite3_stmt *, int, sqlite3_int64);
  int (*step)(sqlite3_stmt *);
  int (*finalize)(sqlite3_stmt *);
  sqlite3_int64 (*column_int64)(sqlite3_stmt *, int);
  int (*extended_errcode)(sqlite3 *);
  const char *(*errmsg)(sqlite3 *);
} sqlite_api;

typedef struct fixture {
  sqlite_api api;
  sqlite3 *db;
} fixture;

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_block: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort();
}

static void load_api(sqlite_api *a) {
  void *lib = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_GLOBAL);
  if (!lib) die("cannot load libsqlite3.so.0", dlerror());
  struct {
    void **slot;
    const char *name;
  } syms[] = {
      {(void **)&a->open, "sqlite3_open"},
      {(void **)&a->exec, "sqlite3_exec"},
      {(void **)&a->enable_load_extension, "sqlite3_enable_load_extension"},
      {(void **)&a->load_extension, "sqlite3_load_extension"},
      {(void **)&a->prepare_v2, "sqlite3_prepare_v2"},
      {(void **)&a->bind_blob, "sqlite3_bind_blob"},
      {(void **)&a->bind_int64, "sqlite3_bind_int64"},
      {(void **)&a->step, "sqlite3_step"},
      {(void **)&a->finalize, "sqlite3_finalize"},
      {(void **)&a->column_int64, "sqlite3_column_int64"},
      {(void **)&a->extended_errcode, "sqlite3_extended_errcode"},
      {(void **)&a->errmsg, "sqlite3_errmsg"},
  };
  for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
    *syms[i].slot = dlsym(lib, syms[i].name);
    if (!*syms[i].slot) die("missing symbol", syms[i].name);
  }
}

static void exec_or_die(fixture *f, const char *sql) {
  char *err = NULL;
  if (f->api.exec(f->db, sql, NULL, NULL, &err) != SQLITE_OK) die(sql, err);
}

static fixture *setup(void) {
  fixture *f = calloc(1, sizeof *f);
  if (!f) die("out of memory", NULL);
  load_api(&f->api);
  if (f->api.open(":memory:", &f->db) != SQLITE_OK) die("cannot open a database", NULL);
  const char *so = getenv("TL_SO");
  char *err = NULL;
  f->api.enable_load_extension(f->db, 1);
  if (f->api.load_extension(f->db, so && *so ? so : "build/tracelite", NULL, &err) != SQLITE_OK)
    die("cannot load tracelite", err);
  char sql[4096];
  for (int t = 0; t < 3; t++) {
    snprintf(sql, sizeof sql,
             "CREATE VIRTUAL TABLE t%d USING tracelite(format=%s, block_spans=4);"
             "INSERT INTO t%d SELECT * FROM trace_json('%s');",
             t, formats[t], t, FIXTURE);
    exec_or_die(f, sql);
  }
  return f;
}

/* Runs one statement to the end; the outcome must be a clean end or a
** report of corruption. */
static void run(fixture *f, const char *sql) {
  sqlite3_stmt *s;
  if (f->api.prepare_v2(f->db, sql, -1, &s, NULL) != SQLITE_OK) die(sql, f->api.errmsg(f->db));
  int rc;
  while ((rc = f->api.step(s)) == SQLITE_ROW) {
  }
  int code = f->api.extended_errcode(f->db);
  if (rc != SQLITE_DONE && code != SQLITE_CORRUPT_VTAB && code != SQLITE_NOMEM)
    die(sql, f->api.errmsg(f->db));
  f->api.finalize(s);
}

static void replace_block(fixture *f, int t, const uint8_t *blob, size_t n, int keep_crc,
                          int set_count, int count) {
  char sql[256];
  snprintf(sql, sizeof sql,
           "UPDATE t%d_blocks SET data = ?1, crc = CASE WHEN ?2 < 0 THEN crc ELSE ?2 END, "
           "n = CASE WHEN ?3 < 0 THEN n ELSE ?3 END WHERE id = 1",
           t);
  sqlite3_stmt *s;
  if (f->api.prepare_v2(f->db, sql, -1, &s, NULL) != SQLITE_OK) die(sql, f->api.errmsg(f->db));
  f->api.bind_blob(s, 1, n ? (const void *)blob : "", (int)n, SQLITE_TRANSIENT);
  f->api.bind_int64(s, 2, keep_crc ? -1 : (sqlite3_int64)crc32(0L, blob, (uInt)n));
  f->api.bind_int64(s, 3, set_count ? count : -1);
  if (f->api.step(s) != SQLITE_DONE) die(sql, f->api.errmsg(f->db));
  f->api.finalize(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static fixture *f; /* built once per process: the valid tables */
  if (size < 3 || size > (1u << 20)) return 0;
  if (!f) f = setup();
  int t = data[0] % 3;
  char sql[256];
  exec_or_die(f, "SAVEPOINT fuzz");
  replace_block(f, t, data + 3, size - 3, data[1] & 1, data[1] & 2, data[2]);
  snprintf(sql, sizeof sql, "SELECT * FROM t%d", t);
  run(f, sql);
  snprintf(sql, sizeof sql, "SELECT span_id, attributes FROM t%d WHERE trace_id = "
           "'4bf92f3577b34da6a3ce929d0e0e4736'", t);
  run(f, sql);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM t%d WHERE service = 'db' AND start_ns > 100", t);
  run(f, sql);
  snprintf(sql, sizeof sql, "INSERT INTO t%d(t%d) VALUES('integrity-check')", t, t);
  run(f, sql);
  exec_or_die(f, "ROLLBACK TO fuzz; RELEASE fuzz");
  /* The block is back: the table reads whole again. */
  snprintf(sql, sizeof sql, "SELECT count(*) FROM t%d WHERE name != 'x'", t);
  sqlite3_stmt *s;
  if (f->api.prepare_v2(f->db, sql, -1, &s, NULL) != SQLITE_OK || f->api.step(s) != SQLITE_ROW ||
      f->api.column_int64(s, 0) != 5)
    die("the table did not come back after ROLLBACK TO", f->api.errmsg(f->db));
  f->api.finalize(s);
  return 0;
}
