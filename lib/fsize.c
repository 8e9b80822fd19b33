/* fsize.c - SIGXFSZ off, so writes past RLIMIT_FSIZE fail with EFBIG. */
#include "fsize.h"

#include <signal.h>
#include <stddef.h>

void fsize_limit_as_error(void)
{
    static volatile sig_atomic_t done;
    if (done)
        return;
    struct sigaction old;
    if (sigaction(SIGXFSZ, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
        old.sa_handler == SIG_DFL) {
        struct sigaction ign = {0};
        ign.sa_handler = SIG_IGN;
        sigemptyset(&ign.sa_mask);
        sigaction(SIGXFSZ, &ign, NULL);
    }
    done = 1;
}
