/* Fuzz target: the STL reader (format forced), then mesh_topology. */
#include "fuzz_mesh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_mesh_read(data, size, MESH_FMT_STL, "fuzz.stl");
}
