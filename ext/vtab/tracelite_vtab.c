/*
** tracelite_vtab.c — the tracelite virtual table: spans stored compressed
** in blocks inside the database, read back on scan.
**
**   CREATE VIRTUAL TABLE spans USING tracelite(format=cbor_zstd, block_spans=4096);
**   INSERT INTO spans SELECT * FROM trace_file('dump.json');
**   SELECT * FROM spans WHERE trace_id = '4bf92f3577b34da6a3ce929d0e0e4736';
**   DELETE FROM spans WHERE start_ns < 1700000000000000000;   -- retention
**   INSERT INTO spans(spans) VALUES('optimize');              -- merge small blocks
**   INSERT INTO spans(spans) VALUES('integrity-check');
**
** Columns: the span columns of row.h (TL_SPAN_COLUMNS), then one hidden
** column named like the table that only carries commands (the FTS5
** convention), so a table cannot be named like a span column.
**
** The storage engine is ext/store (store.h): this file is the SQLite side —
** options, the plan (xBestIndex / xFilter), the cursor, xUpdate and the
** transaction methods.  docs/storage.md describes the whole for users.
**
** Transactions: inserted spans are buffered in the table's tl_store and
** written as blocks when a block is full, at xSavepoint (so ROLLBACK TO can
** drop the buffer), at xSync (so COMMIT stores everything), and before a
** scan (so a transaction reads its own writes).  DELETEs are marked and
** applied at the same points.  xRollback and xRollbackTo drop what is
** pending and make the store re-read its cached state.
**
** Debugging aid: tracelite_blocks_read() returns how many block blobs this
** connection has decoded so far; tests use the difference around a query to
** prove a plan (trace_id = ? decodes one block).
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "register.h"
#include "row.h"

#define CMD_COL TL_NCOL /* the hidden command column */
#define MAX_ARGS 16

typedef struct tl_vtab {
  sqlite3_vtab base;
  tl_store st;
} tl_vtab;

typedef struct tl_cursor {
  sqlite3_vtab_cursor base;
  tl_scan scan;
  tl_groups groups; /* the rows, when the plan groups them by service */
  int grouped;
  tl_buf scratch;
  char *service; /* copy of the service = ? value */
} tl_cursor;

static const char *const span_col_names[TL_NCOL] = {
    "trace_id", "span_id", "parent_span_id", "service", "name", "kind",
    "start_ns", "end_ns", "duration_ns", "status_code", "status_message",
    "attributes", "resource", "events", "links", "scope", "trace_state",
    "flags", "dropped"};

/* ---- create / connect ---------------------------------------------------- */

static int check_name(const char *name, char **pzErr) {
  for (int i = 0; i < TL_NCOL; i++) {
    if (sqlite3_stricmp(name, span_col_names[i]) == 0) {
      *pzErr = sqlite3_mprintf("tracelite: a tracelite table cannot be named '%s': its command "
                               "column would clash with the span column of that name",
                               name);
      return SQLITE_ERROR;
    }
  }
  return SQLITE_OK;
}

static int init_vtab(sqlite3 *db, void *aux, int argc, const char *const *argv, int create,
                     sqlite3_vtab **out, char **pzErr) {
  if (argc < 3) return SQLITE_ERROR;
  int rc = check_name(argv[2], pzErr);
  if (rc) return rc;
  tl_store_opts opts;
  memset(&opts, 0, sizeof opts);
  tl_err e;
  tl_err_clear(&e);
  if (create) {
    unsigned seen = 0;
    int bad = tl_store_opts_default(&opts, &e);
    for (int i = 3; !bad && i < argc; i++) bad = tl_store_opts_parse(&opts, argv[i], &seen, &e);
    if (!bad) bad = tl_store_opts_check(&opts, seen, &e);
    if (bad) {
      *pzErr = sqlite3_mprintf("tracelite: %s", e.msg);
      return SQLITE_ERROR;
    }
  }
  char *sql = sqlite3_mprintf("CREATE TABLE x(" TL_SPAN_COLUMNS ", \"%w\" HIDDEN)", argv[2]);
  if (!sql) return SQLITE_NOMEM;
  rc = sqlite3_declare_vtab(db, sql);
  sqlite3_free(sql);
  if (rc) {
    *pzErr = sqlite3_mprintf("tracelite: %s", sqlite3_errmsg(db));
    return rc;
  }
  tl_vtab *v = sqlite3_malloc(sizeof *v);
  if (!v) return SQLITE_NOMEM;
  memset(v, 0, sizeof *v);
  rc = tl_store_init(&v->st, db, aux, argv[1], argv[2], &v->base.zErrMsg);
  if (!rc) rc = create ? tl_store_create(&v->st, &opts) : tl_store_read_config(&v->st);
  if (rc) {
    *pzErr = v->base.zErrMsg;
    v->base.zErrMsg = NULL;
    tl_store_free(&v->st);
    sqlite3_free(v);
    return rc;
  }
  *out = &v->base;
  return SQLITE_OK;
}

static int tl_create(sqlite3 *db, void *aux, int argc, const char *const *argv,
                     sqlite3_vtab **out, char **pzErr) {
  return init_vtab(db, aux, argc, argv, 1, out, pzErr);
}

static int tl_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                      sqlite3_vtab **out, char **pzErr) {
  return init_vtab(db, aux, argc, argv, 0, out, pzErr);
}

static int tl_disconnect(sqlite3_vtab *vtab) {
  tl_vtab *v = (tl_vtab *)vtab;
  tl_store_free(&v->st);
  sqlite3_free(v->base.zErrMsg);
  sqlite3_free(v);
  return SQLITE_OK;
}

static int tl_destroy(sqlite3_vtab *vtab) {
  int rc = tl_store_drop(&((tl_vtab *)vtab)->st);
  return rc ? rc : tl_disconnect(vtab);
}

/* ---- planning --------------------------------------------------------------
** idxNum: the TL_FIELD_* mask of the columns the query reads (colUsed), so
** that a codec decodes only those; with PLAN_GROUP, the rows come out
** grouped by service (group_sql.c, store.h): GROUP BY service or ORDER BY
** service (PLAN_DESC: descending) of a query that reads nothing but the
** service and the columns the TL_GROUP_* bits at PLAN_KEEP_SHIFT hold, so
** SQLite needs no sorter (orderByConsumed).
**
** idxStr: one letter per xFilter argument, in argv order:
**   'T' trace_id = ?         trace index; exact (omitted)
**   'I' trace_id IN (...)    trace index, all values at once; exact (omitted)
**   'R' rowid = ?            one block; exact (omitted)
**   'a'..'e' start_ns  =, >, >=, <, <= ?   skip blocks by their start range,
**   'f'..'j' end_ns    =, >, >=, <, <= ?   check spans exactly (omitted)
**   'S' service = ?          skip blocks without the service (SQLite checks)
**   'C' status_code = ?      skip blocks without the status (SQLite checks)
**   'P' <command column> = ? a direct read (store.h, tl_direct): the value
**                            is a pointer bound by the analysis functions;
**                            any other value matches nothing (exact, omitted)
** An empty idxStr is a full scan.  Only BINARY comparisons are used for the
** text columns.  Costs: a full scan is 1e7 and each usable constraint divides
** it, so SQLite prefers the trace index, then time ranges, then metadata.
*/

static const char op_letters[] = "abcde"; /* EQ GT GE LT LE, for start_ns */

enum { PLAN_GROUP = 1 << 12, PLAN_DESC = 1 << 13, PLAN_KEEP_SHIFT = 14 };

static int op_index(int op) {
  switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ: return 0;
    case SQLITE_INDEX_CONSTRAINT_GT: return 1;
    case SQLITE_INDEX_CONSTRAINT_GE: return 2;
    case SQLITE_INDEX_CONSTRAINT_LT: return 3;
    case SQLITE_INDEX_CONSTRAINT_LE: return 4;
    default: return -1;
  }
}

static uint32_t fields_of(sqlite3_uint64 colUsed) {
  static const uint32_t field[TL_NCOL] = {
      [TL_COL_TRACE_ID] = TL_FIELD_IDS, [TL_COL_SPAN_ID] = TL_FIELD_IDS,
      [TL_COL_PARENT_SPAN_ID] = TL_FIELD_IDS, [TL_COL_SERVICE] = TL_FIELD_RESOURCE,
      [TL_COL_NAME] = TL_FIELD_NAME, [TL_COL_KIND] = TL_FIELD_KIND,
      [TL_COL_START_NS] = TL_FIELD_TIMES, [TL_COL_END_NS] = TL_FIELD_TIMES,
      [TL_COL_DURATION_NS] = TL_FIELD_DURATION, [TL_COL_STATUS_CODE] = TL_FIELD_STATUS,
      [TL_COL_STATUS_MESSAGE] = TL_FIELD_STATUS, [TL_COL_ATTRIBUTES] = TL_FIELD_ATTRS,
      [TL_COL_RESOURCE] = TL_FIELD_RESOURCE, [TL_COL_EVENTS] = TL_FIELD_EVENTS,
      [TL_COL_LINKS] = TL_FIELD_LINKS, [TL_COL_SCOPE] = TL_FIELD_SCOPE,
      [TL_COL_TRACE_STATE] = TL_FIELD_IDS, [TL_COL_FLAGS] = TL_FIELD_IDS,
      [TL_COL_DROPPED] = TL_FIELD_DROPPED};
  uint32_t f = 0;
  for (int i = 0; i < TL_NCOL; i++)
    if (colUsed & ((sqlite3_uint64)1 << i)) f |= field[i];
  return f;
}

#define COL_BIT(c) ((sqlite3_uint64)1 << (c))

/* The TL_GROUP_* values a grouped plan keeps for this query, or -1 when it
** cannot take one: one ORDER BY term, service, and either an ORDER BY or a
** GROUP BY (sqlite3_vtab_distinct 0 or 1: all rows, grouped or sorted),
** reading no other column than the times, kind and status_code.  SQLite
** hands over an ORDER BY term only when it uses the column's own (BINARY)
** collation. */
static int group_plan(sqlite3_index_info *info) {
#if SQLITE_VERSION_NUMBER >= 3038000
  if (sqlite3_libversion_number() < 3038000 || info->nOrderBy != 1 ||
      info->aOrderBy[0].iColumn != TL_COL_SERVICE || sqlite3_vtab_distinct(info) > 1)
    return -1;
  const sqlite3_uint64 times = COL_BIT(TL_COL_START_NS) | COL_BIT(TL_COL_END_NS);
  const sqlite3_uint64 codes = COL_BIT(TL_COL_KIND) | COL_BIT(TL_COL_STATUS_CODE);
  const sqlite3_uint64 duration = COL_BIT(TL_COL_DURATION_NS);
  sqlite3_uint64 used = info->colUsed & ~COL_BIT(TL_COL_SERVICE);
  if (used & ~(times | codes | duration)) return -1;
  return (used & times ? TL_GROUP_TIMES : used & duration ? TL_GROUP_DURATION : 0) |
         (used & codes ? TL_GROUP_CODES : 0);
#else
  (void)info;
  return -1;
#endif
}

static int is_binary(sqlite3_index_info *info, int i) {
  const char *coll = sqlite3_vtab_collation(info, i);
  return !coll || sqlite3_stricmp(coll, "BINARY") == 0;
}

/* Whether constraint i is an IN that can be handed over all at once. */
static int in_all_at_once(sqlite3_index_info *info, int i) {
#if SQLITE_VERSION_NUMBER >= 3038000
  if (sqlite3_libversion_number() >= 3038000 && sqlite3_vtab_in(info, i, -1)) {
    sqlite3_vtab_in(info, i, 1);
    return 1;
  }
#else
  (void)info;
  (void)i;
#endif
  return 0;
}

static int tl_best_index(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  char letters[MAX_ARGS + 1];
  int n = 0, have_trace = 0, have_rowid = 0, have_direct = 0;
  double cost = 1e7, rows = 1e6;
  for (int i = 0; i < info->nConstraint && n < MAX_ARGS; i++) {
    const struct sqlite3_index_constraint *c = &info->aConstraint[i];
    if (!c->usable) continue;
    int op = op_index(c->op), omit = 1;
    char letter = 0;
    if (c->iColumn == CMD_COL && op == 0 && !have_direct) {
      letter = 'P';
      have_direct = 1;
    } else if (c->iColumn == -1 && op == 0 && !have_rowid) {
      letter = 'R';
      have_rowid = 1;
      cost = 5;
      rows = 1;
    } else if (c->iColumn == TL_COL_TRACE_ID && op == 0 && !have_trace && is_binary(info, i)) {
      int all = in_all_at_once(info, i);
      letter = all ? 'I' : 'T';
      have_trace = 1;
      /* All at once must win over SQLite's one-xFilter-per-value plan,
      ** which reads a block shared by several traces several times. */
      cost = all ? 25 : 20;
      rows = all ? 100 : 20;
    } else if ((c->iColumn == TL_COL_START_NS || c->iColumn == TL_COL_END_NS) && op >= 0) {
      letter = (char)(op_letters[op] + (c->iColumn == TL_COL_END_NS ? 5 : 0));
      cost *= op == 0 ? 0.001 : 0.25;
      rows *= op == 0 ? 0.001 : 0.25;
    } else if (c->iColumn == TL_COL_SERVICE && op == 0 && is_binary(info, i)) {
      letter = 'S';
      omit = 0;
      cost *= 0.2;
      rows *= 0.2;
    } else if (c->iColumn == TL_COL_STATUS_CODE && op == 0 && is_binary(info, i)) {
      letter = 'C';
      omit = 0;
      cost *= 0.3;
      rows *= 0.3;
    } else {
      continue;
    }
    letters[n++] = letter;
    info->aConstraintUsage[i].argvIndex = n;
    info->aConstraintUsage[i].omit = (unsigned char)omit;
  }
  letters[n] = 0;
  info->idxNum = (int)fields_of(info->colUsed);
  int keep = have_trace || have_rowid || have_direct ? -1 : group_plan(info);
  if (keep >= 0 && tl_groups_fit(&((tl_vtab *)vtab)->st, keep)) {
    info->orderByConsumed = 1;
    info->idxNum |= PLAN_GROUP | (info->aOrderBy[0].desc ? PLAN_DESC : 0) | keep << PLAN_KEEP_SHIFT;
  }
  if (n) {
    info->idxStr = sqlite3_mprintf("%s", letters);
    if (!info->idxStr) return SQLITE_NOMEM;
    info->needToFreeIdxStr = 1;
  }
  /* A direct read returns no rows; its plan is the one to take. */
  info->estimatedCost = have_direct || cost < 1 ? 1 : cost;
  info->estimatedRows = have_direct || rows < 1 ? 1 : (sqlite3_int64)rows;
  return SQLITE_OK;
}

/* ---- filter arguments --------------------------------------------------- */

/* v with numeric affinity applied, as SQLite does to the other side of a
** comparison with an INTEGER column; *copy must be freed. */
static sqlite3_value *numeric(sqlite3_value *v, sqlite3_value **copy) {
  *copy = NULL;
  if (sqlite3_value_type(v) != SQLITE_TEXT) return v;
  *copy = sqlite3_value_dup(v);
  if (!*copy) return NULL;
  sqlite3_value_numeric_type(*copy);
  return *copy;
}

/* Narrows [*lo, *hi] by "column OP v" for an INTEGER column, exactly as
** SQLite would compare; *empty when no integer can satisfy it.  op is the
** index into "= > >= < <=". */
static int narrow(int op, sqlite3_value *arg, int64_t *lo, int64_t *hi, int *empty) {
  sqlite3_value *copy;
  sqlite3_value *v = numeric(arg, &copy);
  if (!v) return SQLITE_NOMEM;
  int64_t l = INT64_MIN, h = INT64_MAX;
  int none = 0;
  switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER: {
      int64_t i = sqlite3_value_int64(v);
      if (op == 0) l = h = i;
      else if (op == 1) { if (i == INT64_MAX) none = 1; else l = i + 1; }
      else if (op == 2) l = i;
      else if (op == 3) { if (i == INT64_MIN) none = 1; else h = i - 1; }
      else h = i;
      break;
    }
    case SQLITE_FLOAT: {
      double d = sqlite3_value_double(v);
      if (isnan(d)) {
        none = 1;
      } else if (d >= 9223372036854775808.0) { /* above every integer */
        none = op <= 2;
      } else if (d < -9223372036854775808.0) { /* below every integer */
        none = op == 0 || op >= 3;
      } else {
        int64_t f = (int64_t)floor(d), c = (int64_t)ceil(d);
        if (op == 0) { if (f != c) none = 1; else l = h = f; }
        else if (op == 1) l = f + 1;
        else if (op == 2) l = c;
        else if (op == 3) h = c - 1;
        else h = f;
      }
      break;
    }
    case SQLITE_NULL: none = 1; break;
    default: none = op <= 2; break; /* text and blobs sort after every number */
  }
  sqlite3_value_free(copy);
  if (l > *lo) *lo = l;
  if (h < *hi) *hi = h;
  if (none || *lo > *hi) *empty = 1;
  return SQLITE_OK;
}

/* A trace_id value that can equal the column: 32 lowercase hex digits. */
static int trace_value(sqlite3_value *v, uint8_t out[16]) {
  if (sqlite3_value_type(v) != SQLITE_TEXT || sqlite3_value_bytes(v) != 32) return 0;
  const char *t = (const char *)sqlite3_value_text(v);
  for (int i = 0; i < 32; i++)
    if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f'))) return 0;
  return tl_hex_decode(t, 32, out, 16) == 16;
}

static int add_trace(tl_scan_filter *f, size_t *cap, sqlite3_value *v) {
  uint8_t id[16];
  if (!trace_value(v, id)) return SQLITE_OK;
  if (f->ntraces == *cap) {
    size_t c = *cap ? *cap * 2 : 4;
    void *p = sqlite3_realloc64(f->traces, c * 16);
    if (!p) return SQLITE_NOMEM;
    f->traces = p;
    *cap = c;
  }
  memcpy(f->traces[f->ntraces++], id, 16);
  return SQLITE_OK;
}

static int cmp_id16(const void *a, const void *b) { return memcmp(a, b, 16); }

static int trace_args(tl_scan_filter *f, char letter, sqlite3_value *v) {
  size_t cap = 0;
  int rc = SQLITE_OK;
#if SQLITE_VERSION_NUMBER >= 3038000
  if (letter == 'I') {
    sqlite3_value *item;
    for (rc = sqlite3_vtab_in_first(v, &item); rc == SQLITE_OK && item;
         rc = sqlite3_vtab_in_next(v, &item))
      if ((rc = add_trace(f, &cap, item))) return rc;
    if (rc != SQLITE_DONE && rc != SQLITE_OK) return rc;
    rc = SQLITE_OK;
  } else
#endif
  {
    (void)letter;
    rc = add_trace(f, &cap, v);
  }
  if (rc) return rc;
  if (!f->ntraces) {
    f->empty = 1;
    return SQLITE_OK;
  }
  qsort(f->traces, f->ntraces, 16, cmp_id16);
  size_t w = 1;
  for (size_t i = 1; i < f->ntraces; i++)
    if (memcmp(f->traces[i], f->traces[w - 1], 16)) memcpy(f->traces[w++], f->traces[i], 16);
  f->ntraces = w;
  return SQLITE_OK;
}

static int text_arg(tl_cursor *c, tl_scan_filter *f, sqlite3_value *v) {
  int t = sqlite3_value_type(v);
  if (t == SQLITE_NULL || t == SQLITE_BLOB) { /* never equal to the text column */
    f->empty = 1;
    return SQLITE_OK;
  }
  const char *s = (const char *)sqlite3_value_text(v);
  int n = sqlite3_value_bytes(v);
  if (!s) return SQLITE_NOMEM;
  sqlite3_free(c->service);
  c->service = sqlite3_malloc(n + 1);
  if (!c->service) return SQLITE_NOMEM;
  memcpy(c->service, s, (size_t)n + 1);
  f->service = c->service;
  f->service_len = (size_t)n;
  return SQLITE_OK;
}

static void status_arg(tl_scan_filter *f, sqlite3_value *v) {
  const char *s = sqlite3_value_type(v) == SQLITE_TEXT ? (const char *)sqlite3_value_text(v) : NULL;
  for (int code = 0; s && code <= 2; code++) {
    if (strcmp(s, tl_status_name(code)) == 0 &&
        (size_t)sqlite3_value_bytes(v) == strlen(tl_status_name(code))) {
      f->status_mask |= 1u << code;
      return;
    }
  }
  f->empty = 1;
}

static int rowid_arg(tl_scan_filter *f, sqlite3_value *v) {
  int64_t lo = INT64_MIN, hi = INT64_MAX;
  int rc = narrow(0, v, &lo, &hi, &f->empty);
  if (rc || f->empty) return rc;
  if (lo < 0) f->empty = 1;
  f->has_rowid = 1;
  f->rowid = lo;
  return SQLITE_OK;
}

/* ---- cursor ------------------------------------------------------------------ */

static int tl_open(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out) {
  tl_cursor *c = sqlite3_malloc(sizeof *c);
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof *c);
  tl_buf_init(&c->scratch);
  if (tl_scan_init(&c->scan, &((tl_vtab *)vtab)->st)) {
    tl_scan_free(&c->scan);
    sqlite3_free(c);
    return SQLITE_NOMEM;
  }
  *out = &c->base;
  return SQLITE_OK;
}

static int tl_close(sqlite3_vtab_cursor *cur) {
  tl_cursor *c = (tl_cursor *)cur;
  tl_groups_free(&c->groups);
  tl_scan_free(&c->scan);
  tl_buf_free(&c->scratch);
  sqlite3_free(c->service);
  sqlite3_free(c);
  return SQLITE_OK;
}

/* xFilter: idxNum and idxStr as described above xBestIndex (planning). */
static int tl_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr, int argc,
                     sqlite3_value **argv) {
  tl_cursor *c = (tl_cursor *)cur;
  tl_store *st = c->scan.st;
  tl_scan_filter f;
  memset(&f, 0, sizeof f);
  f.fields = (uint32_t)idxNum & TL_FIELDS_ALL;
  f.start_lo = f.end_lo = INT64_MIN;
  f.start_hi = f.end_hi = INT64_MAX;
  int rc = SQLITE_OK;
  tl_direct *direct = NULL;
  for (int i = 0; rc == SQLITE_OK && idxStr && idxStr[i] && i < argc; i++) {
    char l = idxStr[i];
    if (l == 'P') {
      direct = sqlite3_value_pointer(argv[i], TL_DIRECT_TYPE);
      if (!direct) f.empty = 1; /* the command column is NULL: nothing equals it */
    } else if (l == 'T' || l == 'I') rc = trace_args(&f, l, argv[i]);
    else if (l == 'R') rc = rowid_arg(&f, argv[i]);
    else if (l >= 'a' && l <= 'e') rc = narrow(l - 'a', argv[i], &f.start_lo, &f.start_hi, &f.empty);
    else if (l >= 'f' && l <= 'j') rc = narrow(l - 'f', argv[i], &f.end_lo, &f.end_hi, &f.empty);
    else if (l == 'S') rc = text_arg(c, &f, argv[i]);
    else if (l == 'C') status_arg(&f, argv[i]);
  }
  /* Read your writes: what this transaction inserted goes to the shadow
  ** tables before the scan looks at them. */
  if (!rc) rc = tl_store_flush(st);
  if (!rc && direct) {
    direct->entered = 1;
    rc = direct->run(direct, &c->scan, &f);
    sqlite3_free(f.traces); /* unless a tl_scan_start took them */
    memset(&f, 0, sizeof f);
    f.empty = 1; /* then the statement's own scan: no rows */
  }
  c->grouped = (idxNum & PLAN_GROUP) != 0;
  if (!rc && c->grouped)
    rc = tl_groups_start(&c->groups, &c->scan, &f, idxNum >> PLAN_KEEP_SHIFT & 7,
                         (idxNum & PLAN_DESC) != 0);
  else if (!rc)
    rc = tl_scan_start(&c->scan, &f);
  sqlite3_free(f.traces);
  return rc;
}

static int tl_next(sqlite3_vtab_cursor *cur) {
  tl_cursor *c = (tl_cursor *)cur;
  return c->grouped ? tl_groups_next(&c->groups) : tl_scan_next(&c->scan);
}

static int tl_eof(sqlite3_vtab_cursor *cur) {
  tl_cursor *c = (tl_cursor *)cur;
  return c->grouped ? c->groups.eof : c->scan.eof;
}

static int tl_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col) {
  tl_cursor *c = (tl_cursor *)cur;
  if (col < 0 || col >= TL_NCOL) return SQLITE_OK; /* the command column reads NULL */
  if (c->grouped) return tl_groups_result(&c->groups, ctx, col, &c->scratch);
  tl_scan *sc = &c->scan;
  if (sc->decoded && sc->cols_mode &&
      (col == TL_COL_START_NS || col == TL_COL_END_NS || col == TL_COL_DURATION_NS)) {
    /* A time of a block in cols mode (store.h), the column of the commonest
    ** aggregates, straight from its arrays; as tl_row_result gives it.  In
    ** durations mode the scan reads duration_ns and nothing else. */
    const tl_cols *k = &sc->cols;
    uint32_t i = sc->pos;
    uint64_t v = sc->cols_mode == TL_COLS_DURATIONS ? k->duration[i]
                 : col == TL_COL_START_NS           ? k->start[i]
                 : col == TL_COL_END_NS             ? k->end[i]
                                                    : k->end[i] - k->start[i];
    sqlite3_result_int64(ctx, (sqlite3_int64)v);
    return SQLITE_OK;
  }
  int rc;
  const tl_span *s = tl_scan_span(&c->scan, &rc);
  if (!s) return rc;
  tl_row_result(ctx, c->scan.view, s, col, &c->scratch);
  return SQLITE_OK;
}

static int tl_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid) {
  tl_cursor *c = (tl_cursor *)cur;
  *rowid = c->grouped ? tl_groups_rowid(&c->groups) : tl_scan_rowid(&c->scan);
  return SQLITE_OK;
}

/* ---- writes ---------------------------------------------------------------- */

static int command(tl_store *st, sqlite3_value *v) {
  const char *cmd = (const char *)sqlite3_value_text(v);
  if (cmd && strcmp(cmd, "optimize") == 0) return tl_store_optimize(st);
  if (cmd && strcmp(cmd, "integrity-check") == 0) return tl_store_integrity(st, 1);
  return tl_store_error(st, SQLITE_ERROR,
                        "unknown command '%.60s' (the commands are 'optimize' and "
                        "'integrity-check')",
                        cmd ? cmd : "");
}

static int tl_update(sqlite3_vtab *vtab, int argc, sqlite3_value **argv, sqlite3_int64 *rowid) {
  tl_store *st = &((tl_vtab *)vtab)->st;
  if (argc == 1) return tl_store_mark_delete(st, sqlite3_value_int64(argv[0]));
  if (sqlite3_value_type(argv[0]) != SQLITE_NULL)
    return tl_store_error(st, SQLITE_ERROR,
                          "UPDATE is not supported: spans are stored compressed and immutable; "
                          "DELETE them and INSERT the changed spans");
  if (argc > 2 + CMD_COL && sqlite3_value_type(argv[2 + CMD_COL]) != SQLITE_NULL)
    return command(st, argv[2 + CMD_COL]);
  if (sqlite3_value_type(argv[1]) != SQLITE_NULL)
    return tl_store_error(st, SQLITE_ERROR, "rowids are assigned by tracelite; insert spans "
                          "without one");
  int rc = tl_store_load(st);
  if (rc) return rc;
  tl_err e;
  tl_err_clear(&e);
  tl_span *s;
  if (tl_row_to_span(st->buf, st->rowcache, argv + 2, st->conn->offer, &s, &e))
    return tl_store_tlerr(st, &e);
  return tl_store_added(st, rowid);
}

static int tl_begin(sqlite3_vtab *vtab) {
  (void)vtab;
  return SQLITE_OK;
}

static int tl_sync(sqlite3_vtab *vtab) { return tl_store_sync(&((tl_vtab *)vtab)->st); }

static int tl_commit(sqlite3_vtab *vtab) {
  (void)vtab;
  return SQLITE_OK;
}

static int tl_rollback(sqlite3_vtab *vtab) {
  tl_store_discard(&((tl_vtab *)vtab)->st);
  return SQLITE_OK;
}

static int tl_savepoint(sqlite3_vtab *vtab, int i) {
  (void)i;
  return tl_store_sync(&((tl_vtab *)vtab)->st);
}

static int tl_release(sqlite3_vtab *vtab, int i) {
  (void)vtab;
  (void)i;
  return SQLITE_OK;
}

static int tl_rollback_to(sqlite3_vtab *vtab, int i) {
  (void)i;
  tl_store_discard(&((tl_vtab *)vtab)->st);
  return SQLITE_OK;
}

static int tl_rename(sqlite3_vtab *vtab, const char *zNew) {
  tl_vtab *v = (tl_vtab *)vtab;
  char *err = NULL;
  if (check_name(zNew, &err)) {
    sqlite3_free(v->base.zErrMsg);
    v->base.zErrMsg = err;
    return SQLITE_ERROR;
  }
  int rc = tl_store_sync(&v->st);
  return rc ? rc : tl_store_rename(&v->st, zNew);
}

static int tl_shadow_name(const char *suffix) {
  for (int i = 0; i < TL_SHADOW_COUNT; i++)
    if (sqlite3_stricmp(suffix, tl_shadow_suffixes[i]) == 0) return 1;
  return 0;
}

#if SQLITE_VERSION_NUMBER >= 3044000
/* PRAGMA integrity_check: the stored blocks as they are (nothing pending
** is written: the pragma reads).  A problem is reported in *pzErr. */
static int tl_integrity(sqlite3_vtab *vtab, const char *zSchema, const char *zTabName,
                        int mFlags, char **pzErr) {
  (void)zSchema;
  (void)zTabName;
  (void)mFlags;
  tl_vtab *v = (tl_vtab *)vtab;
  int rc = tl_store_integrity(&v->st, 0);
  if (rc == SQLITE_NOMEM) return rc;
  if (rc) {
    *pzErr = v->base.zErrMsg;
    v->base.zErrMsg = NULL;
  }
  return SQLITE_OK;
}
#endif

static const sqlite3_module tracelite_module = {
#if SQLITE_VERSION_NUMBER >= 3044000
    .iVersion = 4,
    .xIntegrity = tl_integrity,
#else
    .iVersion = 3,
#endif
    .xCreate = tl_create,
    .xConnect = tl_connect,
    .xBestIndex = tl_best_index,
    .xDisconnect = tl_disconnect,
    .xDestroy = tl_destroy,
    .xOpen = tl_open,
    .xClose = tl_close,
    .xFilter = tl_filter,
    .xNext = tl_next,
    .xEof = tl_eof,
    .xColumn = tl_column,
    .xRowid = tl_rowid,
    .xUpdate = tl_update,
    .xBegin = tl_begin,
    .xSync = tl_sync,
    .xCommit = tl_commit,
    .xRollback = tl_rollback,
    .xRename = tl_rename,
    .xSavepoint = tl_savepoint,
    .xRelease = tl_release,
    .xRollbackTo = tl_rollback_to,
    .xShadowName = tl_shadow_name,
};

static void blocks_read_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  const tl_conn *conn = sqlite3_user_data(ctx);
  sqlite3_result_int64(ctx, conn->blocks_decoded);
}

static void rows_copied_func(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  const tl_conn *conn = sqlite3_user_data(ctx);
  sqlite3_result_int64(ctx, conn->rows_copied);
}

int tl_register_tracelite(sqlite3 *db, tl_conn *conn) {
  int rc = sqlite3_create_module_v2(db, "tracelite", &tracelite_module, tl_conn_ref(conn),
                                    tl_conn_unref);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function_v2(db, "tracelite_blocks_read", 0,
                                    SQLITE_UTF8 | SQLITE_INNOCUOUS, tl_conn_ref(conn),
                                    blocks_read_func, NULL, NULL, tl_conn_unref);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function_v2(db, "tracelite_rows_copied", 0,
                                    SQLITE_UTF8 | SQLITE_INNOCUOUS, tl_conn_ref(conn),
                                    rows_copied_func, NULL, NULL, tl_conn_unref);
  return rc;
}
