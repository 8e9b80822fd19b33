/* check.h - a few macros that make a C unit test print TAP.
 *
 *   int main(void) { CHECK(1 + 1 == 2, "adds"); return check_done(); }
 *
 * Each CHECK prints "ok N - what" or "not ok N - what (file:line: expr)".
 * check_done() prints the plan and returns the exit status (1 when any failed).
 */
#ifndef ORFEAS_CHECK_H
#define ORFEAS_CHECK_H

#include <stdio.h>

static int check_n, check_failed;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        int check_ok_ = !!(cond);                                               \
        check_n++;                                                              \
        printf("%sok %d - ", check_ok_ ? "" : "not ", check_n);                 \
        printf(__VA_ARGS__);                                                    \
        if (!check_ok_) {                                                       \
            check_failed++;                                                     \
            printf(" (%s:%d: %s)", __FILE__, __LINE__, #cond);                  \
        }                                                                       \
        printf("\n");                                                           \
        fflush(stdout);                                                         \
    } while (0)

#define SKIP(why, ...)                                                          \
    do {                                                                        \
        check_n++;                                                              \
        printf("ok %d - ", check_n);                                            \
        printf(__VA_ARGS__);                                                    \
        printf(" # skip %s\n", why);                                            \
    } while (0)

static inline int check_done(void)
{
    printf("1..%d\n", check_n);
    return check_failed ? 1 : 0;
}

#endif
