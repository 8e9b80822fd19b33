/* atomic_write PATH BYTES [--slow MS] - write BYTES pseudo-random bytes to PATH
 * through the one atomic writer (lib/atomic_file.h), as the programs' -o
 * writes do, in 64 KiB pieces; with --slow, sleep MS milliseconds between
 * pieces so that a test can SIGKILL it mid-write. Prints nothing; exit 0
 * when the file is in place, 74 with a message when the write failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomic_file.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: atomic_write PATH BYTES [--slow MS]\n");
        return 64;
    }
    long long total = atoll(argv[2]);
    long slow = argc > 4 && !strcmp(argv[3], "--slow") ? atol(argv[4]) : 0;
    orf_err e;
    atomic_file af;
    if (atomic_open_path(&af, argv[1], ATOMIC_MODE_FILE, &e) < 0) {
        fprintf(stderr, "atomic_write: %s\n", e.message);
        return 74;
    }
    unsigned char buf[65536];
    unsigned x = 12345;
    for (long long done = 0; done < total;) {
        size_t n = total - done < (long long)sizeof buf ? (size_t)(total - done) : sizeof buf;
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (unsigned char)(x >> 16);
        }
        if (atomic_write(&af, buf, n) < 0) {
            perror("atomic_write");
            atomic_abort(&af);
            return 74;
        }
        done += (long long)n;
        if (slow > 0) {
            struct timespec ts = {slow / 1000, (slow % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (atomic_commit(&af) < 0) {
        perror("atomic_write");
        return 74;
    }
    return 0;
}
