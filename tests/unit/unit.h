/*
** unit.h — the smallest test harness that does the job: TEST() functions
** registered in main() through RUN(), CHECK macros that report file:line and
** keep going, and one line per test ("PASS name" / "FAIL name: why") that
** tests/run.sh counts.  Exit status is non-zero when anything failed.
*/
#ifndef TL_UNIT_H
#define TL_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int unit_failed_total, unit_passed_total, unit_cur_failed;
static char unit_first_failure[512];

#define TEST(name) static void name(void)

#define UNIT_FAIL(...)                                                        \
  do {                                                                        \
    if (!unit_cur_failed) {                                                   \
      int unit_k = snprintf(unit_first_failure, sizeof unit_first_failure,     \
                            "%s:%d: ", __FILE__, __LINE__);                   \
      if (unit_k > 0 && (size_t)unit_k < sizeof unit_first_failure)           \
        snprintf(unit_first_failure + unit_k,                                 \
                 sizeof unit_first_failure - (size_t)unit_k, __VA_ARGS__);    \
    }                                                                         \
    unit_cur_failed++;                                                        \
  } while (0)

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) UNIT_FAIL("CHECK(%s)", #cond);                               \
  } while (0)

#define CHECK_INT(a, b)                                                       \
  do {                                                                        \
    long long unit_a = (long long)(a), unit_b = (long long)(b);               \
    if (unit_a != unit_b)                                                     \
      UNIT_FAIL("%s == %lld, expected %s == %lld", #a, unit_a, #b, unit_b);   \
  } while (0)

#define CHECK_STR(a, b)                                                       \
  do {                                                                        \
    const char *unit_a = (a), *unit_b = (b);                                  \
    if (!unit_a || !unit_b || strcmp(unit_a, unit_b) != 0)                    \
      UNIT_FAIL("%s == \"%.200s\", expected \"%.200s\"", #a,                  \
                unit_a ? unit_a : "(null)", unit_b ? unit_b : "(null)");      \
  } while (0)

/* Compares a tl_str-like {ptr,len} with a C string. */
#define CHECK_TLSTR(s, b)                                                     \
  do {                                                                        \
    const char *unit_b = (b);                                                 \
    if ((s).len != strlen(unit_b) || ((s).len && memcmp((s).ptr, unit_b, (s).len))) \
      UNIT_FAIL("%s == \"%.*s\", expected \"%s\"", #s, (int)(s).len,          \
                (s).ptr ? (s).ptr : "", unit_b);                              \
  } while (0)

#define RUN(name)                                                             \
  do {                                                                        \
    unit_cur_failed = 0;                                                      \
    name();                                                                   \
    if (unit_cur_failed) {                                                    \
      printf("FAIL %s: %s\n", #name, unit_first_failure);                     \
      unit_failed_total++;                                                    \
    } else {                                                                  \
      printf("PASS %s\n", #name);                                             \
      unit_passed_total++;                                                    \
    }                                                                         \
    fflush(stdout);                                                           \
  } while (0)

#define UNIT_DONE() (unit_failed_total ? 1 : 0)

/* The repository's shared/ folder with the real traces, from the
** environment (tests/run.sh sets it). */
#define UNIT_TRACES_DIR (getenv("TL_TRACES") ? getenv("TL_TRACES") : "../shared/traces")

#endif
