/*
** schema_sql.c — every shadow table of a tracelite table, its CREATE
** statement and every other statement the store runs, in one place; the
** %_config check on connect; the statement cache; the state cached from
** the shadow tables (next block id, services, codec and dictionaries).
**
** Shadow tables of table T (docs/storage.md explains each column):
**   T_config    k TEXT PRIMARY KEY, v   (WITHOUT ROWID)
**               'version' = storage version, then one row per option
**   T_blocks    id INTEGER PRIMARY KEY, n, ntraces, min_start, max_start,
**               min_end, max_end, status, services, ndjson, crc, data
**               (data last: a scan of the metadata never reads the blob)
**   T_traces    k, block: PRIMARY KEY(k, block) WITHOUT ROWID, k the 48-bit
**               trace key of blockmeta.h
**   T_services  id INTEGER PRIMARY KEY, name TEXT UNIQUE
**   T_dict      id INTEGER PRIMARY KEY, spans, data: codec dictionaries
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <stdarg.h>
#include <string.h>

#include "store.h"

const char *const tl_shadow_suffixes[TL_SHADOW_COUNT] = {"config", "blocks", "traces",
                                                         "services", "dict"};

/* Indexed like tl_shadow_suffixes; %w %w are the schema and table name. */
static const char *const create_sql[TL_SHADOW_COUNT] = {
    "CREATE TABLE \"%w\".\"%w_config\"(k TEXT PRIMARY KEY, v) WITHOUT ROWID",
    "CREATE TABLE \"%w\".\"%w_blocks\"(id INTEGER PRIMARY KEY, n INTEGER NOT NULL, "
    "ntraces INTEGER NOT NULL, min_start INTEGER NOT NULL, max_start INTEGER NOT NULL, "
    "min_end INTEGER NOT NULL, max_end INTEGER NOT NULL, status INTEGER NOT NULL, "
    "services BLOB NOT NULL, ndjson INTEGER, crc INTEGER NOT NULL, data BLOB NOT NULL)",
    "CREATE TABLE \"%w\".\"%w_traces\"(k INTEGER NOT NULL, block INTEGER NOT NULL, "
    "PRIMARY KEY(k, block)) WITHOUT ROWID",
    "CREATE TABLE \"%w\".\"%w_services\"(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    "CREATE TABLE \"%w\".\"%w_dict\"(id INTEGER PRIMARY KEY, spans INTEGER NOT NULL, "
    "data BLOB NOT NULL)",
};

#define BLOCK_COLS "id,n,ntraces,min_start,max_start,min_end,max_end,status,services,ndjson,crc"

static const char *const stmt_sql[TL_SQL_COUNT] = {
    [TL_SQL_BLOCK_INSERT] = "INSERT INTO \"%w\".\"%w_blocks\"(" BLOCK_COLS ",data) "
                            "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
    [TL_SQL_BLOCK_DELETE] = "DELETE FROM \"%w\".\"%w_blocks\" WHERE id=?1",
    [TL_SQL_BLOCK_META] = "SELECT " BLOCK_COLS " FROM \"%w\".\"%w_blocks\" WHERE id=?1",
    [TL_SQL_BLOCK_SCAN] = "SELECT " BLOCK_COLS " FROM \"%w\".\"%w_blocks\" ORDER BY id",
    [TL_SQL_BLOCK_ORDER] = "SELECT id FROM \"%w\".\"%w_blocks\" ORDER BY min_start, id",
    [TL_SQL_BLOCK_MAXID] = "SELECT max(id) FROM \"%w\".\"%w_blocks\"",
    [TL_SQL_BLOCK_SPANS] = "SELECT total(n) FROM \"%w\".\"%w_blocks\"",
    [TL_SQL_BLOCK_NO_NDJSON] = "SELECT " BLOCK_COLS " FROM \"%w\".\"%w_blocks\" WHERE ndjson IS NULL",
    [TL_SQL_TRACE_INSERT] = "INSERT OR IGNORE INTO \"%w\".\"%w_traces\"(k,block) VALUES(?1,?2)",
    [TL_SQL_TRACE_DELETE] = "DELETE FROM \"%w\".\"%w_traces\" WHERE k=?1 AND block=?2",
    [TL_SQL_TRACE_DROP_BLOCKS] = "DELETE FROM \"%w\".\"%w_traces\" "
                                 "WHERE block IN (SELECT value FROM json_each(?1))",
    [TL_SQL_TRACE_LOOKUP] = "SELECT block FROM \"%w\".\"%w_traces\" WHERE k=?1",
    [TL_SQL_TRACE_SCAN] = "SELECT k, block FROM \"%w\".\"%w_traces\" ORDER BY k, block",
    [TL_SQL_SERVICE_SCAN] = "SELECT id, name FROM \"%w\".\"%w_services\"",
    [TL_SQL_SERVICE_INSERT] = "INSERT INTO \"%w\".\"%w_services\"(id,name) VALUES(?1,?2)",
    [TL_SQL_DICT_SCAN] = "SELECT id, data, spans FROM \"%w\".\"%w_dict\" ORDER BY id",
    [TL_SQL_DICT_INSERT] = "INSERT INTO \"%w\".\"%w_dict\"(id,spans,data) VALUES(?1,?2,?3)",
    [TL_SQL_DICT_DELETE_OLD] = "DELETE FROM \"%w\".\"%w_dict\" WHERE id<?1",
    [TL_SQL_CONFIG_SCAN] = "SELECT k, v FROM \"%w\".\"%w_config\"",
    [TL_SQL_CONFIG_SET] = "INSERT OR REPLACE INTO \"%w\".\"%w_config\"(k,v) VALUES(?1,?2)",
};

/* ---- errors ------------------------------------------------------------------ */

static int set_error(tl_store *st, int rc, char *msg) {
  sqlite3_free(*st->zerr);
  *st->zerr = msg;
  return msg ? rc : SQLITE_NOMEM;
}

int tl_store_error(tl_store *st, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *what = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  char *msg = what ? sqlite3_mprintf("tracelite: table %s: %s", st->name, what) : NULL;
  sqlite3_free(what);
  return set_error(st, rc, msg);
}

int tl_store_sqlerr(tl_store *st, int rc) {
  if (rc == SQLITE_NOMEM) return rc;
  return tl_store_error(st, rc, "%s", sqlite3_errmsg(st->db));
}

int tl_store_corrupt(tl_store *st, sqlite3_int64 block, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *what = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  if (!what) return SQLITE_NOMEM;
  int rc = block < 0 ? tl_store_error(st, SQLITE_CORRUPT_VTAB, "%s", what)
                     : tl_store_error(st, SQLITE_CORRUPT_VTAB, "block %lld: %s",
                                      (long long)block, what);
  sqlite3_free(what);
  return rc;
}

int tl_store_tlerr(tl_store *st, const tl_err *e) {
  if (e->rc == TL_ENOMEM) return SQLITE_NOMEM;
  int rc = e->rc == TL_ERANGE ? SQLITE_TOOBIG : SQLITE_ERROR;
  return tl_store_error(st, rc, "%s", e->msg[0] ? e->msg : "failed");
}

/* ---- life cycle --------------------------------------------------------------- */

int tl_store_init(tl_store *st, sqlite3 *db, tl_conn *conn, const char *schema,
                  const char *name, char **zerr) {
  memset(st, 0, sizeof *st);
  st->db = db;
  st->conn = conn;
  st->zerr = zerr;
  st->schema = sqlite3_mprintf("%s", schema);
  st->name = sqlite3_mprintf("%s", name);
  st->buf = tl_batch_new();
  st->rowcache = tl_row_cache_new();
  tl_strmap_init(&st->services);
  tl_delmap_init(&st->dels);
  tl_u64map_init(&st->seen);
  tl_buf_init(&st->blob);
  tl_buf_init(&st->text);
  if (!st->schema || !st->name || !st->buf || !st->rowcache) return SQLITE_NOMEM;
  return SQLITE_OK;
}

static void finalize_all(tl_store *st) {
  for (int i = 0; i < TL_SQL_COUNT; i++) {
    sqlite3_finalize(st->stmt[i]);
    st->stmt[i] = NULL;
  }
}

void tl_store_free(tl_store *st) {
  finalize_all(st);
  tl_store_invalidate(st);
  tl_batch_free(st->buf);
  for (int i = 0; i < TL_BLOCK_CACHE; i++) tl_batch_free(st->cache[i].batch);
  if (st->rowcache) tl_row_cache_free(st->rowcache);
  tl_strmap_free(&st->services);
  tl_delmap_free(&st->dels);
  tl_u64map_free(&st->seen);
  tl_i64vec_free(&st->keys);
  tl_i64vec_free(&st->ids);
  tl_buf_free(&st->blob);
  tl_buf_free(&st->text);
  sqlite3_free(st->ptrs);
  sqlite3_free(st->schema);
  sqlite3_free(st->name);
  memset(st, 0, sizeof *st);
}

/* Runs sqlite3_exec on a statement built by sqlite3_mprintf (freed here). */
static int exec_sql(tl_store *st, char *sql) {
  if (!sql) return SQLITE_NOMEM;
  int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
  sqlite3_free(sql);
  return rc == SQLITE_OK ? rc : tl_store_sqlerr(st, rc);
}

/* Options are stored as their text, the version as an integer. */
static int config_set(tl_store *st, const char *k, const char *v, sqlite3_int64 iv) {
  sqlite3_stmt *s = tl_store_stmt(st, TL_SQL_CONFIG_SET);
  if (!s) return SQLITE_ERROR;
  sqlite3_bind_text(s, 1, k, -1, SQLITE_STATIC);
  if (v)
    sqlite3_bind_text(s, 2, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_int64(s, 2, iv);
  int rc = sqlite3_step(s);
  rc = rc == SQLITE_DONE ? SQLITE_OK : tl_store_sqlerr(st, rc);
  sqlite3_reset(s);
  return rc;
}

int tl_store_create(tl_store *st, const tl_store_opts *o) {
  for (int i = 0; i < TL_SHADOW_COUNT; i++) {
    int rc = exec_sql(st, sqlite3_mprintf(create_sql[i], st->schema, st->name));
    if (rc) return rc;
  }
  st->opts = *o;
  int rc = config_set(st, "version", NULL, TL_STORE_VERSION);
  for (int opt = 0; rc == SQLITE_OK && opt < TL_OPT_COUNT; opt++) {
    char v[64];
    tl_store_opts_value(o, opt, v, sizeof v);
    rc = config_set(st, tl_store_opt_name(opt), v, 0);
  }
  return rc;
}

int tl_store_drop(tl_store *st) {
  finalize_all(st);
  for (int i = 0; i < TL_SHADOW_COUNT; i++) {
    int rc = exec_sql(st, sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\".\"%w_%s\"", st->schema,
                                          st->name, tl_shadow_suffixes[i]));
    if (rc) return rc;
  }
  return SQLITE_OK;
}

int tl_store_rename(tl_store *st, const char *zNew) {
  finalize_all(st);
  for (int i = 0; i < TL_SHADOW_COUNT; i++) {
    int rc = exec_sql(st, sqlite3_mprintf("ALTER TABLE \"%w\".\"%w_%s\" RENAME TO \"%w_%s\"",
                                          st->schema, st->name, tl_shadow_suffixes[i], zNew,
                                          tl_shadow_suffixes[i]));
    if (rc) return rc;
  }
  char *name = sqlite3_mprintf("%s", zNew);
  if (!name) return SQLITE_NOMEM;
  sqlite3_free(st->name);
  st->name = name;
  return SQLITE_OK;
}

/* ---- the config check ------------------------------------------------------- */

#define MAX_CONFIG_ROWS 16

typedef struct config_row {
  char k[32];
  char v[64];
  sqlite3_int64 iv;
  int is_int;
} config_row;

int tl_store_read_config(tl_store *st) {
  sqlite3_stmt *s = tl_store_stmt(st, TL_SQL_CONFIG_SCAN);
  if (!s)
    return tl_store_error(st, SQLITE_CORRUPT_VTAB,
                          "cannot read its configuration from %s_config: %s", st->name,
                          sqlite3_errmsg(st->db));
  config_row rows[MAX_CONFIG_ROWS];
  int n = 0, rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(s, 0);
    const char *v = (const char *)sqlite3_column_text(s, 1);
    if (n == MAX_CONFIG_ROWS || !k || !v || strlen(k) >= sizeof rows[n].k ||
        strlen(v) >= sizeof rows[n].v) {
      sqlite3_reset(s);
      return tl_store_corrupt(st, -1, "%s_config holds an unexpected row '%.40s'", st->name,
                              k ? k : "");
    }
    strcpy(rows[n].k, k);
    strcpy(rows[n].v, v);
    rows[n].is_int = sqlite3_column_type(s, 1) == SQLITE_INTEGER;
    rows[n].iv = sqlite3_column_int64(s, 1);
    n++;
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) return tl_store_sqlerr(st, rc);

  /* The version first: a newer table may have options this build lacks. */
  int version_row = -1;
  for (int i = 0; i < n; i++)
    if (strcmp(rows[i].k, "version") == 0) version_row = i;
  if (version_row < 0 || !rows[version_row].is_int || rows[version_row].iv < 1)
    return tl_store_corrupt(st, -1, "%s_config has no valid storage version", st->name);
  if (rows[version_row].iv > TL_STORE_VERSION) {
    char *msg = sqlite3_mprintf("tracelite: table %s has storage version %lld; this build "
                                "reads up to %d",
                                st->name, (long long)rows[version_row].iv, TL_STORE_VERSION);
    return set_error(st, SQLITE_ERROR, msg);
  }
  tl_err e;
  tl_err_clear(&e);
  if (tl_store_opts_default(&st->opts, &e)) return tl_store_tlerr(st, &e);
  unsigned seen = 0;
  for (int i = 0; i < n; i++) {
    if (i == version_row) continue;
    if (tl_store_opts_set(&st->opts, rows[i].k, rows[i].v, &e))
      return tl_store_corrupt(st, -1, "%s_config: %s", st->name, e.msg);
    for (int opt = 0; opt < TL_OPT_COUNT; opt++)
      if (strcmp(rows[i].k, tl_store_opt_name(opt)) == 0) seen |= 1u << opt;
  }
  if (!(seen & (1u << TL_OPT_FORMAT)))
    return tl_store_corrupt(st, -1, "%s_config names no format", st->name);
  return SQLITE_OK;
}

/* ---- statements ------------------------------------------------------------- */

char *tl_store_sql(const tl_store *st, int which) {
  return sqlite3_mprintf(stmt_sql[which], st->schema, st->name);
}

sqlite3_stmt *tl_store_stmt(tl_store *st, int which) {
  sqlite3_stmt *s = st->stmt[which];
  if (s) {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
  }
  char *sql = tl_store_sql(st, which);
  if (!sql) {
    tl_store_error(st, SQLITE_NOMEM, "out of memory");
    return NULL;
  }
  int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
  sqlite3_free(sql);
  if (rc != SQLITE_OK) {
    tl_store_sqlerr(st, rc);
    return NULL;
  }
  st->stmt[which] = s;
  return s;
}

/* ---- cached state ------------------------------------------------------------ */

void tl_store_invalidate(tl_store *st) {
  if (st->codec_state && st->opts.codec) st->opts.codec->destroy(st->codec_state);
  st->codec_state = NULL;
  tl_strmap_clear(&st->services);
  st->loaded = 0;
  /* A rollback may have taken the cached blocks' rows back. */
  for (int i = 0; i < TL_BLOCK_CACHE; i++) st->cache[i].id = 0;
  st->dict_tried = 0;
  st->dict_id = 0;
  st->dict_spans = 0;
}

static int load_dicts(tl_store *st) {
  sqlite3_stmt *s = tl_store_stmt(st, TL_SQL_DICT_SCAN);
  if (!s) return SQLITE_ERROR;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    sqlite3_int64 id = sqlite3_column_int64(s, 0);
    const uint8_t *p = sqlite3_column_blob(s, 1);
    int n = sqlite3_column_bytes(s, 1);
    tl_err e;
    tl_err_clear(&e);
    if (!st->opts.codec->add_dict || id < 1 || id > 0xFFFFFFFFll ||
        st->opts.codec->add_dict(st->codec_state, (uint32_t)id, p, (size_t)n, &e)) {
      sqlite3_reset(s);
      if (e.rc == TL_ENOMEM) return SQLITE_NOMEM;
      return tl_store_corrupt(st, -1, "dictionary %lld: %s", (long long)id,
                              e.msg[0] ? e.msg : "not usable by this format");
    }
    st->dict_id = id;
    st->dict_spans = sqlite3_column_int64(s, 2);
  }
  sqlite3_reset(s);
  return rc == SQLITE_DONE ? SQLITE_OK : tl_store_sqlerr(st, rc);
}

static int load_services(tl_store *st) {
  sqlite3_stmt *s = tl_store_stmt(st, TL_SQL_SERVICE_SCAN);
  if (!s) return SQLITE_ERROR;
  int rc;
  st->next_service = 1;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    sqlite3_int64 id = sqlite3_column_int64(s, 0);
    const char *name = (const char *)sqlite3_column_text(s, 1);
    int n = sqlite3_column_bytes(s, 1);
    if (id < 1 || !name) {
      sqlite3_reset(s);
      return tl_store_corrupt(st, -1, "%s_services: bad row %lld", st->name, (long long)id);
    }
    if (tl_strmap_put(&st->services, name, (size_t)n, id)) {
      sqlite3_reset(s);
      return SQLITE_NOMEM;
    }
    if (id >= st->next_service) st->next_service = id + 1;
  }
  sqlite3_reset(s);
  return rc == SQLITE_DONE ? SQLITE_OK : tl_store_sqlerr(st, rc);
}

static int load_next_id(tl_store *st) {
  sqlite3_stmt *s = tl_store_stmt(st, TL_SQL_BLOCK_MAXID);
  if (!s) return SQLITE_ERROR;
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    sqlite3_int64 max = sqlite3_column_int64(s, 0);
    if (max < 0 || max >= ((sqlite3_int64)1 << (62 - TL_POS_BITS))) {
      sqlite3_reset(s);
      return tl_store_corrupt(st, -1, "%s_blocks: block id %lld is out of range", st->name,
                              (long long)max);
    }
    st->next_id = max + 1;
    rc = SQLITE_OK;
  } else {
    rc = tl_store_sqlerr(st, rc);
  }
  sqlite3_reset(s);
  return rc;
}

int tl_store_load(tl_store *st) {
  if (st->loaded) return SQLITE_OK;
  tl_err e;
  tl_err_clear(&e);
  tl_codec_opts co = tl_store_codec_opts(&st->opts);
  if (st->opts.codec->create(&co, &st->codec_state, &e)) {
    st->codec_state = NULL;
    return tl_store_tlerr(st, &e);
  }
  int rc = load_dicts(st);
  if (!rc) rc = load_services(st);
  if (!rc) rc = load_next_id(st);
  if (!rc) rc = tl_store_span_count(st, &st->stored_spans);
  if (rc) {
    tl_store_invalidate(st);
    return rc;
  }
  st->loaded = 1;
  return SQLITE_OK;
}
