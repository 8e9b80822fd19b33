/* gpu-stats - report what the GPUs hold and do, and how many jobs fit, as NDJSON.
 * Placeholder front end: options and exit codes are real, the work lands with its issue. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "version.h"

static const char usage[] =
    "usage: gpu-stats [options]\n"
    "report what the GPUs hold and do, and how many jobs fit, as NDJSON.\n"
    "\n"
    "  -h, --help       show this help and exit\n"
    "  -V, --version    show the version and exit\n";

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(usage, stdout); return 0;
        case 'V': printf("gpu-stats (orfeas) %s\n", ORFEAS_VERSION); return 0;
        default: fprintf(stderr, "gpu-stats: try 'gpu-stats --help'\n"); return 64;
        }
    }
    fprintf(stderr, "gpu-stats: not implemented yet\n");
    return 69;
}
