/* record.h - the pieces of a stage record that several programs build the
 * same way (mesh-gen's four stages, mesh-refine's two), as cJSON objects.
 *
 * Nothing here prints or touches the cache: the caller adds the objects to
 * its record and writes it.
 */
#ifndef ORFEAS_RECORD_H
#define ORFEAS_RECORD_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "meshio.h"
#include "refine.h"

/* The record's "mesh" object: {"object", "path" (omitted when path is NULL
 * or empty), "format", "vertices", "triangles", "watertight", "bbox"
 * [[lo],[hi]] (model units, rounded to 1e-6)}. `object` is the 64-hex
 * SHA-256 of the stored bytes. NULL when out of memory. */
cJSON *record_mesh(const char *object, const char *path, mesh_format format, uint32_t vertices,
                   uint32_t triangles, int watertight, const float lo[3], const float hi[3]);

/* The record's "decimation" object of a refine stage: {"target",
 * "triangles_before", "error" (model units), "target_met", "rounds" (rounds
 * of independent collapses run)}. NULL when f says
 * decimation did not run (no field to add). */
cJSON *record_decimation(const refine_facts *f);

/* The mesh file a request or record names: "mesh": PATH, or "mesh": {"path":
 * PATH} as mesh-gen and mesh-refine records have it. NULL when neither. */
const char *record_mesh_path(const cJSON *req);

#endif
