/* Fuzz target: the NDJSON request reader and the field type checks. */
#include <stdint.h>
#include <stdio.h>

#include "ndjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    ndjson_reader *r = ndjson_reader_open(f, 4096);
    static const ndjson_field fields[] = {{"image", NDJSON_STRING}, {"depth", NDJSON_NUMBER},
                                          {"resolution", NDJSON_INTEGER}, {"no_cache", NDJSON_BOOL}};
    cJSON *req;
    orf_err e;
    while (ndjson_next(r, "image", &req, &e) == 1) {
        if (req) {
            ndjson_check_fields(req, fields, sizeof fields / sizeof *fields, &e);
            cJSON *rec = ndjson_error_record(req, ndjson_line(r), &e);
            cJSON_Delete(rec);
            cJSON_Delete(req);
        }
    }
    ndjson_reader_close(r);
    fclose(f);
    return 0;
}
