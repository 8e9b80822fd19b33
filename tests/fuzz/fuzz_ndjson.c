/* Fuzz target: the NDJSON request reader and the parameter checks. */
#include <stdint.h>
#include <stdio.h>

#include "ndjson.h"
#include "params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    ndjson_reader *r = ndjson_reader_open(f, 4096);
    cJSON *req;
    orf_err e;
    while (ndjson_next(r, "image", &req, &e) == 1) {
        if (req) {
            stage_opts o;
            params_defaults(&o);
            params_apply(&params_mesh_gen, req, NULL, &o, &e);
            params_apply(&params_mesh_refine, req, &params_mesh_gen, &o, &e);
            cJSON *rec = ndjson_error_record(req, ndjson_line(r), &e);
            cJSON_Delete(rec);
            cJSON_Delete(req);
        }
    }
    ndjson_reader_close(r);
    fclose(f);
    return 0;
}
