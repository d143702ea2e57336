/*
** waterfall.c — the text Gantt chart of one trace (contract in waterfall.h,
** Requirements 1-3).  Widths are counted in UTF-8 characters so that names
** with accents stay aligned in a terminal.
*/
#include "waterfall.h"

#include <stdlib.h>
#include <string.h>

#define SERVICE_COLS 20
#define OPERATION_COLS 40
#define MAX_INDENT 20

static uint32_t utf8_chars(const char *s, size_t n) {
  uint32_t c = 0;
  for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
  return c;
}

/* Writes s cut to cols characters (the cut marked with '~') and padded. */
static void cell(tl_buf *b, const char *s, uint32_t cols) {
  size_t n = strlen(s), i = 0;
  uint32_t used = 0, total = utf8_chars(s, n);
  uint32_t keep = total > cols ? cols - 1 : total;
  while (i < n && used < keep) {
    size_t j = i + 1;
    while (j < n && ((unsigned char)s[j] & 0xC0) == 0x80) j++;
    tl_buf_append(b, s + i, j - i);
    i = j;
    used++;
  }
  if (total > cols) {
    tl_buf_putc(b, '~');
    used++;
  }
  while (used++ < cols) tl_buf_putc(b, ' ');
}

void tl_waterfall_duration(tl_buf *b, int64_t ns) {
  if (ns < 1000) tl_buf_printf(b, "%lld ns", (long long)ns);
  else if (ns < 1000000) tl_buf_printf(b, "%.1f us", (double)ns / 1e3);
  else if (ns < 1000000000) tl_buf_printf(b, "%.1f ms", (double)ns / 1e6);
  else tl_buf_printf(b, "%.2f s", (double)ns / 1e9);
}

/* Requirement 2: the columns [a, z) an interval touches, at least one. */
static void columns(int64_t t0, int64_t span, uint32_t w, int64_t s, int64_t e, uint32_t *a,
                    uint32_t *z) {
  if (span <= 0) {
    *a = 0;
    *z = 1;
    return;
  }
  double k = (double)w / (double)span;
  *a = (uint32_t)((double)(s - t0) * k);
  double zf = (double)(e - t0) * k;
  *z = (uint32_t)zf + ((double)(uint32_t)zf < zf);
  if (*a >= w) *a = w - 1;
  if (*z > w) *z = w;
  if (*z <= *a) *z = *a + 1;
}

static int cmp_ptr(const void *a, const void *b) {
  uintptr_t x = (uintptr_t) * (const char *const *)a, y = (uintptr_t) * (const char *const *)b;
  return (x > y) - (x < y);
}

/* Services are interned, so distinct names are distinct pointers. */
static uint32_t distinct_services(const tl_tree *t, const tl_tspan *s) {
  const char **v = malloc(((size_t)t->n_order + 1) * sizeof *v);
  if (!v) return UINT32_MAX;
  uint32_t m = 0, d = 0;
  for (uint32_t k = 0; k < t->n_order; k++)
    if (s[t->order[k]].service) v[m++] = s[t->order[k]].service;
  qsort(v, m, sizeof *v, cmp_ptr);
  for (uint32_t k = 0; k < m; k++) d += !k || v[k] != v[k - 1];
  free(v);
  return d;
}

int tl_waterfall(tl_buf *b, const tl_tree *t, const tl_tspan *s, const char *trace_id,
                 uint32_t width) {
  int64_t t0 = 0, t1 = 0;
  uint32_t errors = 0, services = 0, svc_cols = 7, op_cols = 9;
  for (uint32_t k = 0; k < t->n_order; k++) {
    const tl_tspan *x = &s[t->order[k]];
    if (!k || x->start_ns < t0) t0 = x->start_ns;
    if (!k || x->end_ns > t1) t1 = x->end_ns;
    errors += x->error;
    uint32_t sc = x->service ? utf8_chars(x->service, strlen(x->service)) : 0;
    uint32_t depth = t->depth[t->order[k]] < MAX_INDENT ? t->depth[t->order[k]] : MAX_INDENT;
    uint32_t oc = 2 * depth + utf8_chars(x->name, strlen(x->name));
    if (sc > svc_cols) svc_cols = sc < SERVICE_COLS ? sc : SERVICE_COLS;
    if (oc > op_cols) op_cols = oc < OPERATION_COLS ? oc : OPERATION_COLS;
  }
  services = distinct_services(t, s);
  if (services == UINT32_MAX) return TL_ENOMEM;
  tl_buf_printf(b, "trace %s: %u span%s, %u service%s, %u error%s, ", trace_id, t->n_order,
                t->n_order == 1 ? "" : "s", services, services == 1 ? "" : "s", errors,
                errors == 1 ? "" : "s");
  tl_waterfall_duration(b, t1 - t0);
  tl_buf_putc(b, '\n');
  /* The axis: 0 over the first column, the middle and the total. */
  cell(b, "service", svc_cols);
  tl_buf_putc(b, ' ');
  cell(b, "operation", op_cols);
  tl_buf_puts(b, " 0");
  tl_buf half, full;
  tl_buf_init(&half);
  tl_buf_init(&full);
  tl_waterfall_duration(&half, (t1 - t0) / 2);
  tl_waterfall_duration(&full, t1 - t0);
  uint32_t col = 1, mid = (width + 2) / 2 - (uint32_t)half.n / 2;
  for (; col < mid; col++) tl_buf_putc(b, ' ');
  tl_buf_append(b, half.p, half.n);
  col += (uint32_t)half.n;
  for (; col + full.n < width + 2; col++) tl_buf_putc(b, ' ');
  tl_buf_append(b, full.p, full.n);
  int oom = half.oom || full.oom;
  tl_buf_free(&half);
  tl_buf_free(&full);
  tl_buf_putc(b, '\n');
  /* Requirement 1: one line per span. */
  for (uint32_t k = 0; k < t->n_order; k++) {
    uint32_t i = t->order[k];
    const tl_tspan *x = &s[i];
    cell(b, x->service ? x->service : "", svc_cols);
    tl_buf_putc(b, ' ');
    uint32_t depth = t->depth[i] < MAX_INDENT ? t->depth[i] : MAX_INDENT;
    char indent[2 * MAX_INDENT + 1];
    memset(indent, ' ', 2 * depth);
    indent[2 * depth] = 0;
    tl_buf name;
    tl_buf_init(&name);
    tl_buf_puts(&name, indent);
    tl_buf_puts(&name, x->name);
    oom |= !tl_buf_cstr(&name);
    cell(b, name.p ? name.p : "", op_cols);
    tl_buf_free(&name);
    tl_buf_puts(b, " |");
    uint32_t a, z;
    columns(t0, t1 - t0, width, x->start_ns, x->end_ns, &a, &z);
    char mark = x->error ? '!' : (t->flags[i] & TL_TREE_ASYNC) ? '~' : '=';
    for (uint32_t c = 0; c < width; c++) tl_buf_putc(b, c >= a && c < z ? mark : ' ');
    tl_buf_puts(b, "|  ");
    tl_waterfall_duration(b, x->end_ns - x->start_ns);
    if (x->error) tl_buf_puts(b, "  ERROR");
    tl_buf_putc(b, '\n');
  }
  return b->oom || oom ? TL_ENOMEM : TL_OK;
}
