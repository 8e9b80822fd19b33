/* Unit tests for lib/ndjson: the request reader and the record writer. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "meshio.h"
#include "ndjson.h"
#include "params.h"

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

    /* field types and ranges: the parameter tables (params.h) */
    stage_opts o;
    params_defaults(&o);
    req = cJSON_Parse("{\"depth\":1.5,\"resolution\":96,\"format\":\"GLB\",\"no_cache\":true,\"x\":[1]}");
    CHECK(params_apply(&params_mesh_gen, req, NULL, &o, &e) == 0 && o.format == MESH_FMT_GLB &&
              o.grid[0] == 96 && o.grid[1] == 96 && o.depth == 1.5f && o.no_cache,
          "right types pass, a choice in any case");
    cJSON_Delete(req);
    req = cJSON_Parse("{\"resolution\":96.5}");
    CHECK(params_apply(&params_mesh_gen, req, NULL, &o, &e) == -1 && strstr(e.message, "resolution") &&
              strstr(e.message, "96.5"),
          "non-integer resolution refused, naming the value: %s", e.message);
    cJSON_Delete(req);
    /* fuzz_ndjson: a number past a long long's range was converted to one (UB) */
    const char *huge[] = {"{\"resolution\":9.8e117}", "{\"max_triangles\":-9223372036854775808}",
                          "{\"max_triangles\":1e300}", "{\"smooth\":-1e300}"};
    for (size_t i = 0; i < 4; i++) {
        req = cJSON_Parse(huge[i]);
        CHECK(params_apply(i ? &params_mesh_refine : &params_mesh_gen, req, NULL, &o, &e) == -1 &&
                  !strcmp(e.code, "bad_request"),
              "%s is refused by its range, without undefined behaviour: %s", huge[i], e.message);
        cJSON_Delete(req);
    }
    req = cJSON_Parse("{\"depth\":\"deep\"}");
    CHECK(params_apply(&params_mesh_gen, req, NULL, &o, &e) == -1 && strstr(e.message, "depth"),
          "string depth refused");
    cJSON_Delete(req);

    /* what would come out of a record wrong is refused at the line */
    const char *refused[][2] = {
        {"{\"image\":\"star.png\",\"image\":\"heart.png\"}\n", "given twice"},
        {"{\"a\":{\"x\":1,\"x\":2}}\n", "given twice"},
        {"{\"image\":\"a.png\\u0000.jpg\"}\n", "\\u0000"},
        {"{\"image\":\"a\\ud800b.png\"}\n", "line 1"}, /* cJSON refuses lone surrogates */
        {"{\"image\":\"a\\udc00b.png\"}\n", "line 1"},
        {"{\"image\":\"caf\xe9.png\"}\n", "not UTF-8"},
        {"caf\xc3\x28.png\n", "not UTF-8"},
        {"\xed\xa0\x80.png\n", "not UTF-8"},
        {"\xc0\xaf.png\n", "not UTF-8"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        f = from_string(refused[i][0]);
        r = ndjson_reader_open(f, 0);
        req = NULL;
        CHECK(ndjson_next(r, "image", &req, &e) == 1 && !req && !strcmp(e.code, "bad_request") &&
                  strstr(e.message, refused[i][1]) && strstr(e.message, "line 1"),
              "refused: %s (%s)", refused[i][1], e.message);
        cJSON_Delete(req);
        ndjson_reader_close(r);
        fclose(f);
    }
    /* a NUL byte in a line, and text that is fine: a pair, UTF-8 */
    static char two[] = "a\0b.png\n{\"image\":\"\\ud83d\\ude00 caf\xc3\xa9.png\",\"a\":{\"x\":1},\"b\":{\"x\":2}}\n";
    f = fmemopen(two, sizeof two - 1, "r");
    r = ndjson_reader_open(f, 0);
    CHECK(ndjson_next(r, "image", &req, &e) == 1 && !req && strstr(e.message, "NUL"), "a NUL byte refused");
    CHECK(ndjson_next(r, "image", &req, &e) == 1 && req &&
              !strcmp(ndjson_get_string(req, "image"), "\xf0\x9f\x98\x80 caf\xc3\xa9.png"),
          "a surrogate pair and UTF-8 read as they are");
    cJSON_Delete(req);
    ndjson_reader_close(r);
    fclose(f);

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
