/*
** tvf.c — hidden-argument planning for table-valued functions (tvf.h).
*/
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3

#include <stddef.h>

#include "tvf.h"

int tl_tvf_best_index(sqlite3_index_info *info, int first, int nargs) {
  int where[TL_TVF_MAX_ARGS], unusable = 0, mask = 0, n = 0;
  if (nargs > TL_TVF_MAX_ARGS) nargs = TL_TVF_MAX_ARGS;
  for (int i = 0; i < nargs; i++) where[i] = -1;
  for (int i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &info->aConstraint[i];
    int arg = c->iColumn - first;
    if (arg < 0 || arg >= nargs || c->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (!c->usable) {
      unusable |= 1 << arg;
      continue;
    }
    where[arg] = i;
    mask |= 1 << arg;
  }
  if (unusable & ~mask) return SQLITE_CONSTRAINT;
  for (int arg = 0; arg < nargs; arg++) {
    if (where[arg] < 0) continue;
    info->aConstraintUsage[where[arg]].argvIndex = ++n;
    info->aConstraintUsage[where[arg]].omit = 1;
  }
  info->idxNum = mask;
  return SQLITE_OK;
}

int tl_tvf_filter_args(sqlite3_value **args, int nargs, int idxNum, int argc,
                       sqlite3_value **argv) {
  int given = 0;
  for (int arg = 0, k = 0; arg < nargs; arg++) {
    sqlite3_value_free(args[arg]);
    args[arg] = NULL;
    if (!(idxNum & (1 << arg)) || k >= argc) continue;
    if (!(args[arg] = sqlite3_value_dup(argv[k++]))) return -1;
    given = arg + 1;
  }
  return given;
}
