/* mesh-gen - images to a voxel preview and a rough mesh (with --progressive
 * also the refined and final meshes), streamed as NDJSON records.
 * Flags in, requests to the stage runner (lib/runner.h), records out. */
#include "params.h"
#include "stagecli.h"

#define PROG "mesh-gen"

static const char usage_head[] =
    "usage: mesh-gen [options] [IMAGE...]\n"
    "turn images into a voxel preview and a rough mesh (with --progressive also the\n"
    "refined and final meshes), streamed as NDJSON records.\n"
    "Images come from the arguments; '-' (or no argument) reads requests from stdin,\n"
    "one a line: a bare path or a JSON object {\"image\": PATH, ...}.\n"
    "\n";

static const char out_help[] =
    "  -o, --out DIR              also write DIR/<stem>.<stage>.<ext> (with --progressive\n"
    "                             the final mesh as DIR/<stem>.<ext>)\n";

static const char notes[] =
    "Every flag is also a request field (resolution as a number or\n"
    "{\"voxel\":N,\"rough\":N}; max_pixels, no_cache); the request's field wins.\n";

int main(int argc, char **argv)
{
    cli_prog p;
    int rc = cli_prog_start(&p, PROG, &params_mesh_gen, argc, argv, usage_head, out_help, notes);
    if (rc >= 0)
        return rc;
    rc = cli_requests(PROG, p.out.quiet, argc, argv, optind, "image", 0, cli_prog_request, &p);
    return cli_prog_end(&p, rc);
}
