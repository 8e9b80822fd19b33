/* cache_programs.c - the key parameters of each program (see cache.h,
 * "Request keys for the programs").
 *
 * THE ENTRIES BELOW ARE PROVISIONAL: each belongs to its program's owner,
 * who makes it list exactly the request fields that change the program's
 * output, with the defaults the program really uses, and calls
 * cache_request_key_for() with it. A field that does not change the output
 * (id, out, no_cache, anything passed through) must not be listed, and the
 * input is a content hash, never a path, so a renamed copy of an image hits.
 * Changing an entry changes the program's keys: old entries simply miss. */
#include <string.h>

#include "cache.h"

static const cache_param mesh_gen_params[] = {
    /* mesh-gen (lib/gen, cmd/mesh-gen.c): every field that changes its output */
    {"mode", "\"auto\""},        {"mask", "\"auto\""},    {"depth", "1"},
    {"back", "\"mirror\""},      {"format", "\"glb\""},   {"thickness", "0.1"},
    {"invert", "false"},         {"base", "0.02"},
    {"resolution", "{\"voxel\":32,\"rough\":96}"},
};

/* mesh-refine (owner: refinecmd). Each stage record has its own key:
 * mesh-refine fills "stage" and "resolution" (that stage's grid) and leaves
 * max_triangles/max_error at their defaults for the refined stage. The
 * input is the field key for a refined stage from a field, the SHA-256 of
 * "field:<key> image:<image sha256 or none>" for a final stage from a field
 * (the texture is part of the result), and the mesh file's SHA-256 for a mesh. */
static const cache_param mesh_refine_params[] = {
    {"stage", "\"final\""},   {"resolution", "256"}, {"smooth", "10"},
    {"max_triangles", "50000"}, {"max_error", "0"},    {"format", "\"glb\""},
    {"fill_holes", "0"},        {"weld", "0"},         {"floaters", "0.005"},
};

static const cache_program programs[] = {
    {"mesh-gen", NULL, "image", mesh_gen_params, sizeof mesh_gen_params / sizeof mesh_gen_params[0]},
    {"mesh-refine", "field", "mesh", mesh_refine_params,
     sizeof mesh_refine_params / sizeof mesh_refine_params[0]},
};

const cache_program *cache_program_find(const char *program)
{
    for (size_t i = 0; program && i < sizeof programs / sizeof programs[0]; i++)
        if (strcmp(programs[i].program, program) == 0)
            return &programs[i];
    return NULL;
}
