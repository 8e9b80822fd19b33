/* record.c - shared pieces of stage records (see record.h). */
#include "record.h"

#include <math.h>

cJSON *record_mesh(const char *object, const char *path, mesh_format format, uint32_t vertices,
                   uint32_t triangles, int watertight, const float lo[3], const float hi[3])
{
    cJSON *m = cJSON_CreateObject();
    if (!m)
        return NULL;
    cJSON_AddStringToObject(m, "object", object);
    if (path && path[0])
        cJSON_AddStringToObject(m, "path", path);
    cJSON_AddStringToObject(m, "format", meshio_format_ext(format));
    cJSON_AddNumberToObject(m, "vertices", vertices);
    cJSON_AddNumberToObject(m, "triangles", triangles);
    cJSON_AddBoolToObject(m, "watertight", watertight);
    cJSON *bb = cJSON_AddArrayToObject(m, "bbox");
    for (int c = 0; c < 2; c++) {
        cJSON *corner = cJSON_CreateArray();
        for (int k = 0; k < 3; k++)
            cJSON_AddItemToArray(corner,
                                 cJSON_CreateNumber(round((double)(c ? hi[k] : lo[k]) * 1e6) / 1e6));
        cJSON_AddItemToArray(bb, corner);
    }
    return m;
}

cJSON *record_decimation(const refine_facts *f)
{
    if (!f->decimated)
        return NULL;
    cJSON *d = cJSON_CreateObject();
    if (!d)
        return NULL;
    cJSON_AddNumberToObject(d, "target", f->target);
    cJSON_AddNumberToObject(d, "triangles_before", f->decimation.triangles_before);
    cJSON_AddNumberToObject(d, "error", f->decimation.error);
    cJSON_AddBoolToObject(d, "target_met", f->decimation.target_met);
    cJSON_AddNumberToObject(d, "rounds", f->decimation.rounds);
    return d;
}

const char *record_mesh_path(const cJSON *req)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(req, "mesh");
    if (cJSON_IsString(m))
        return m->valuestring;
    if (cJSON_IsObject(m)) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(m, "path");
        return cJSON_IsString(p) ? p->valuestring : NULL;
    }
    return NULL;
}
