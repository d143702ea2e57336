/*
** tracelite.c — the extension's entry point.
**
** tracelite stores distributed traces (OpenTelemetry, Jaeger, Zipkin spans)
** compressed inside SQLite and queries them with SQL.  Load it with
**
**     .load ./tracelite                       -- sqlite3 shell
**     conn.load_extension("./tracelite")      -- Python
**     sqlite3_load_extension(db, "tracelite", 0, &err)
**
** or link it statically and call sqlite3_auto_extension(
** (void(*)(void))sqlite3_tracelite_init).
**
** This file registers the functions and modules of the other glue files
** (ext/vtab/register.h) and holds the two introspection functions:
**   tracelite_version()  -> '0.1.0'
**   tracelite_debug()    -> version, build flags, and the versions of
**                           SQLite, zstd, libcbor and jansson in use
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1

#include <cbor.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#include "vtab/register.h"

#define TRACELITE_VERSION "0.1.0"

#ifndef TRACELITE_BUILD_FLAGS
#define TRACELITE_BUILD_FLAGS "unknown"
#endif

tl_conn *tl_conn_new(void) {
  tl_conn *conn = sqlite3_malloc(sizeof *conn);
  if (conn) {
    memset(conn, 0, sizeof *conn);
    conn->refs = 1;
  }
  return conn;
}

tl_conn *tl_conn_ref(tl_conn *conn) {
  conn->refs++;
  return conn;
}

void tl_conn_unref(void *p) {
  tl_conn *conn = p;
  if (conn && --conn->refs == 0) sqlite3_free(conn);
}

static void version_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  sqlite3_result_text(ctx, TRACELITE_VERSION, -1, SQLITE_STATIC);
}

static void debug_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  char *s = sqlite3_mprintf(
      "tracelite %s\n"
      "build flags: %s\n"
      "compiler: %s\n"
      "sqlite: %s (built against %s)\n"
      "zstd: %s (built against %s)\n"
      "libcbor: %d.%d.%d (built against)\n"
      "jansson: %s (built against %s)\n"
      "zlib: %s (built against %s)\n"
      "libdeflate: %s (built against)\n",
      TRACELITE_VERSION, TRACELITE_BUILD_FLAGS,
#if defined(__clang__)
      "clang " __clang_version__,
#elif defined(__GNUC__)
      "gcc " __VERSION__,
#else
      "unknown",
#endif
      sqlite3_libversion(), SQLITE_VERSION, ZSTD_versionString(), ZSTD_VERSION_STRING,
      CBOR_MAJOR_VERSION, CBOR_MINOR_VERSION, CBOR_PATCH_VERSION,
      jansson_version_str(), JANSSON_VERSION, zlibVersion(), ZLIB_VERSION,
      LIBDEFLATE_VERSION_STRING);
  if (!s) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, s, -1, sqlite3_free);
}

#ifdef _WIN32
__declspec(dllexport)
#else
__attribute__((visibility("default")))
#endif
int sqlite3_tracelite_init(sqlite3 *db, char **pzErrMsg,
                           const sqlite3_api_routines *pApi) {
  SQLITE_EXTENSION_INIT2(pApi);
  static const int pure = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  int rc = sqlite3_create_function(db, "tracelite_version", 0, pure, 0,
                                   version_func, 0, 0);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function(db, "tracelite_debug", 0,
                                 SQLITE_UTF8 | SQLITE_INNOCUOUS, 0, debug_func, 0, 0);
  tl_conn *conn = rc == SQLITE_OK ? tl_conn_new() : NULL;
  if (rc == SQLITE_OK && !conn) rc = SQLITE_NOMEM;
  if (rc == SQLITE_OK) rc = tl_register_trace_file(db, conn);
  if (rc == SQLITE_OK) rc = tl_register_export(db);
  if (rc == SQLITE_OK) rc = tl_register_generate(db, conn);
  if (rc == SQLITE_OK) rc = tl_register_tracelite(db, conn);
  if (rc == SQLITE_OK) rc = tl_register_stats(db);
  if (rc == SQLITE_OK) rc = tl_register_percentile(db);
  if (rc == SQLITE_OK) rc = tl_register_sketch(db);
  if (rc == SQLITE_OK) rc = tl_register_critical_path(db);
  if (rc == SQLITE_OK) rc = tl_register_topology(db);
  if (rc == SQLITE_OK) rc = tl_register_waterfall(db);
  if (rc == SQLITE_OK) rc = tl_register_columns(db);
  tl_conn_unref(conn); /* the registrations hold their own references */
  if (rc != SQLITE_OK && pzErrMsg)
    *pzErrMsg = sqlite3_mprintf("tracelite: cannot register: %s", sqlite3_errmsg(db));
  return rc;
}
