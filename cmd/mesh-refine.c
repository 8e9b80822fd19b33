/* mesh-refine - mesh-gen records or mesh files to refined and final meshes,
 * as NDJSON records. Flags in, requests to the stage runner (lib/runner.h),
 * records out: a mesh-gen record passes through and its rough stage's field
 * is refined; a bare path or {"mesh": PATH} is refined as a mesh. */
#include "params.h"
#include "stagecli.h"

#define PROG "mesh-refine"

static const char usage_head[] =
    "usage: mesh-refine [options] [FILE...]\n"
    "turn mesh-gen records or mesh files into refined and final meshes, as NDJSON records.\n"
    "FILE is a mesh (OBJ, PLY, STL, GLB), an NDJSON file of requests, or - for stdin\n"
    "(the default): one request a line, a mesh-gen record or a bare mesh path.\n"
    "\n";

static const char out_help[] =
    "  -o, --out DIR              also write DIR/<stem>.<ext> (the last stage asked for;\n"
    "                             a textured OBJ with <stem>.mtl and <stem>.texture.png)\n";

static const char notes[] =
    "Every flag is also a request field (underscores for dashes); the request's\n"
    "field wins. In a mesh-gen record, mesh-gen's fields (its resolution, its stage)\n"
    "stay mesh-gen's.\n";

int main(int argc, char **argv)
{
    cli_prog p;
    int rc = cli_prog_start(&p, PROG, &params_mesh_refine, argc, argv, usage_head, out_help, notes);
    if (rc >= 0)
        return rc;
    rc = cli_requests(PROG, p.out.quiet, argc, argv, optind, "mesh", 1, cli_prog_request, &p);
    return cli_prog_end(&p, rc);
}
