/* ndjson-echo - test harness for lib/ndjson: every request comes back as a
 * record with "echo": true (all its fields passed through), every bad line as
 * an error record; exit 1 when any line failed, quiet on a closed pipe. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "ndjson.h"

int main(int argc, char **argv)
{
    size_t max_line = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 0;
    signal(SIGPIPE, SIG_IGN);
    ndjson_reader *r = ndjson_reader_open(stdin, max_line);
    int failed = 0, rc;
    cJSON *req;
    orf_err e;
    while ((rc = ndjson_next(r, "image", &req, &e)) == 1) {
        cJSON *rec = req ? cJSON_Duplicate(req, 1) : ndjson_error_record(NULL, ndjson_line(r), &e);
        if (req)
            ndjson_set(rec, "echo", cJSON_CreateTrue());
        else
            failed = 1;
        int w = ndjson_write(stdout, rec);
        cJSON_Delete(rec);
        cJSON_Delete(req);
        if (w < 0) {
            ndjson_reader_close(r);
            return errno == EPIPE ? failed : 74;
        }
    }
    ndjson_reader_close(r);
    return rc < 0 ? 74 : failed;
}
