/* Unit tests for lib/ndjson: the request reader and the record writer. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ndjson.h"

static FILE *from_string(const char *s)
{
    FILE *f = tmpfile();
    fputs(s, f);
    rewind(f);
    return f;
}

int main(void)
{
    orf_err e;
    cJSON *req;

    /* bare path, object, blank, CRLF */
    FILE *f = from_string("cat.png\n\n  \n{\"image\":\"a b.png\",\"id\":7}\r\ndog.jpg\r\n");
    ndjson_reader *r = ndjson_reader_open(f, 0);
    CHECK(ndjson_next(r, "image", &req, &e) == 1 && req, "bare path is a request");
    CHECK(req && strcmp(ndjson_get_string(req, "image"), "cat.png") == 0, "bare path goes to the bare field");
    cJSON_Delete(req);
    CHECK(ndjson_next(r, "image", &req, &e) == 1 && req, "object after blank lines");
    CHECK(ndjson_line(r) == 4, "line numbers count blank lines (got %ld)", ndjson_line(r));
    CHECK(req && cJSON_GetObjectItem(req, "id") && cJSON_GetObjectItem(req, "id")->valueint == 7,
          "object fields kept");
    cJSON_Delete(req);
    CHECK(ndjson_next(r, "image", &req, &e) == 1 && req &&
              strcmp(ndjson_get_string(req, "image"), "dog.jpg") == 0,
          "CRLF stripped from a bare path");
    cJSON_Delete(req);
    CHECK(ndjson_next(r, "image", &req, &e) == 0, "end of input");
    ndjson_reader_close(r);
    fclose(f);

    /* bad requests: the stream goes on */
    const char *bad[] = {"{\"image\": ", "[1,2]", "42", "\"str\"", "true", "null", "[broken"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s\nok.png\n", bad[i]);
        f = from_string(buf);
        r = ndjson_reader_open(f, 0);
        orf_err_clear(&e);
        int rc = ndjson_next(r, "mesh", &req, &e);
        CHECK(rc == 1 && req == NULL && strcmp(e.code, "bad_request") == 0, "'%s' is a bad request", bad[i]);
        CHECK(strstr(e.message, "line 1") != NULL, "message names the line: %s", e.message);
        rc = ndjson_next(r, "mesh", &req, &e);
        CHECK(rc == 1 && req && strcmp(ndjson_get_string(req, "mesh"), "ok.png") == 0,
              "next line after '%s' still read", bad[i]);
        cJSON_Delete(req);
        ndjson_reader_close(r);
        fclose(f);
    }

    /* over-long line skipped to its end */
    size_t big = 5000;
    char *line = malloc(big + 32);
    memset(line, 'x', big);
    strcpy(line + big, "\nnext.png\n");
    f = from_string(line);
    r = ndjson_reader_open(f, 1000);
    int rc = ndjson_next(r, "image", &req, &e);
    CHECK(rc == 1 && !req && strcmp(e.code, "bad_request") == 0 && strstr(e.message, "longer than 1000"),
          "a line over the cap is refused: %s", e.message);
    rc = ndjson_next(r, "image", &req, &e);
    CHECK(rc == 1 && req && strcmp(ndjson_get_string(req, "image"), "next.png") == 0 &&
              ndjson_line(r) == 2,
          "the line after an over-long one is line 2");
    cJSON_Delete(req);
    ndjson_reader_close(r);
    fclose(f);
    free(line);

    /* a line exactly at the cap is accepted; no trailing newline at EOF is fine */
    f = from_string("abcd");
    r = ndjson_reader_open(f, 4);
    CHECK(ndjson_next(r, "image", &req, &e) == 1 && req, "line of exactly max_line bytes without newline");
    cJSON_Delete(req);
    ndjson_reader_close(r);
    fclose(f);

    /* field types */
    ndjson_field fields[] = {{"depth", NDJSON_NUMBER}, {"resolution", NDJSON_INTEGER}, {"format", NDJSON_STRING},
                             {"no_cache", NDJSON_BOOL}};
    req = cJSON_Parse("{\"depth\":1.5,\"resolution\":96,\"format\":\"glb\",\"no_cache\":true,\"x\":[1]}");
    CHECK(ndjson_check_fields(req, fields, 4, &e) == 0, "right types pass");
    cJSON_Delete(req);
    req = cJSON_Parse("{\"resolution\":96.5}");
    CHECK(ndjson_check_fields(req, fields, 4, &e) == -1 && strstr(e.message, "resolution"),
          "non-integer resolution refused: %s", e.message);
    cJSON_Delete(req);
    /* fuzz_ndjson: a number past a long long's range was converted to one (UB) */
    req = cJSON_Parse("{\"resolution\":9.8e117}");
    CHECK(ndjson_check_fields(req, fields, 4, &e) == -1 && strstr(e.message, "resolution"),
          "an integer past a long long's range is refused without undefined behaviour: %s",
          e.message);
    cJSON_Delete(req);
    req = cJSON_Parse("{\"resolution\":-9223372036854775808}");
    CHECK(ndjson_check_fields(req, fields, 4, &e) == 0, "-2^63 is an integer");
    cJSON_Delete(req);
    req = cJSON_Parse("{\"resolution\":9223372036854775808}");
    CHECK(ndjson_check_fields(req, fields, 4, &e) == -1, "2^63 is past a long long");
    cJSON_Delete(req);
    req = cJSON_Parse("{\"depth\":\"deep\"}");
    CHECK(ndjson_check_fields(req, fields, 4, &e) == -1 && strstr(e.message, "depth"), "string depth refused");
    cJSON_Delete(req);

    /* error records keep the request's fields */
    req = cJSON_Parse("{\"image\":\"x.png\",\"id\":\"abc\"}");
    orf_fail(&e, "bad_image", "x.png: not an image");
    cJSON *rec = ndjson_error_record(req, 3, &e);
    cJSON *err = cJSON_GetObjectItem(rec, "error");
    CHECK(err && strcmp(cJSON_GetObjectItem(err, "code")->valuestring, "bad_image") == 0, "error code set");
    CHECK(strcmp(ndjson_get_string(rec, "id"), "abc") == 0, "user field passes through an error");
    CHECK(cJSON_GetObjectItem(rec, "line") == NULL, "line only when there is no request");
    cJSON_Delete(rec);
    cJSON_Delete(req);
    rec = ndjson_error_record(NULL, 9, &e);
    CHECK(cJSON_GetObjectItem(rec, "line") && cJSON_GetObjectItem(rec, "line")->valueint == 9,
          "line number in a record without request");
    cJSON_Delete(rec);

    /* writing to a closed pipe reports EPIPE, no signal */
    signal(SIGPIPE, SIG_IGN);
    int fds[2];
    if (pipe(fds) == 0) {
        close(fds[0]);
        FILE *w = fdopen(fds[1], "w");
        rec = cJSON_Parse("{\"a\":1}");
        errno = 0;
        rc = ndjson_write(w, rec);
        CHECK(rc == -1 && errno == EPIPE, "write to a closed reader gives EPIPE");
        cJSON_Delete(rec);
        fclose(w);
    }
    return check_done();
}
