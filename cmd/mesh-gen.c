/* mesh-gen - turn images into a voxel preview and a rough mesh, streamed as NDJSON records.
 * Placeholder front end: options and exit codes are real, the work lands with its issue. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "version.h"

static const char usage[] =
    "usage: mesh-gen [options]\n"
    "turn images into a voxel preview and a rough mesh, streamed as NDJSON records.\n"
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
        case 'V': printf("mesh-gen (orfeas) %s\n", ORFEAS_VERSION); return 0;
        default: fprintf(stderr, "mesh-gen: try 'mesh-gen --help'\n"); return 64;
        }
    }
    fprintf(stderr, "mesh-gen: not implemented yet\n");
    return 69;
}
