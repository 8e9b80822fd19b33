/* fuzz_mesh.h - the body shared by the mesh reader fuzz targets: read the
 * bytes with the format forced, check what the reader promises (indices in
 * range, finite coordinates, the triangle limit), then mesh_topology. */
#ifndef ORFEAS_FUZZ_MESH_H
#define ORFEAS_FUZZ_MESH_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshio.h"
#include "topology.h"

#define FUZZ_MAX_TRIS 100000u

static int fuzz_mesh_read(const uint8_t *data, size_t size, mesh_format fmt, const char *name)
{
    orf_mesh m;
    orf_err e;
    memset(&m, 0, sizeof m);
    if (meshio_read_mem(data, size, fmt, name, FUZZ_MAX_TRIS, &m, &e) < 0) {
        if (m.pos || m.idx || m.nverts || m.ntris)
            abort(); /* "on failure it is left zeroed" */
        return 0;
    }
    if (m.ntris > FUZZ_MAX_TRIS || mesh_validate(&m, name, &e) < 0)
        abort(); /* a reader never returns what the validator refuses */
    mesh_stats s;
    if (mesh_topology(&m, &s, &e) == 0 && (s.vertices != m.nverts || s.triangles != m.ntris))
        abort();
    mesh_free(&m);
    return 0;
}

#endif
