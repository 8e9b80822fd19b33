#!/usr/bin/env bats
# The NDJSON contract of every program, through the library's reader and writer.
load test_helper

echo_tool() { "$TOOLS/ndjson-echo" "$@"; }

@test "a bare path becomes a request, an object passes through with unknown fields" {
    run echo_tool <<<$'cat.png\n{"image":"dog.png","id":42,"tag":{"a":[1,2]}}'
    assert_success
    assert_equal "$(sed -n 1p <<<"$output" | jq -c .)" '{"image":"cat.png","echo":true}'
    assert_equal "$(sed -n 2p <<<"$output" | jq -c '[.id,.tag]')" '[42,{"a":[1,2]}]'
}

@test "blank lines are skipped and CRLF is accepted" {
    run echo_tool < <(printf 'a.png\r\n\r\n   \n{"image":"b.png"}\r\n')
    assert_success
    assert_equal "${#lines[@]}" 2
    assert_equal "$(jq -r .image <<<"${lines[0]}")" a.png
    assert_equal "$(jq -r .image <<<"${lines[1]}")" b.png
}

@test "garbage lines get bad_request records with the line number and the stream goes on" {
    run echo_tool <<<$'{"image":\n[1,2]\n42\n"str"\nok.png'
    assert_failure 1
    assert_equal "${#lines[@]}" 5
    for i in 0 1 2 3; do
        assert_equal "$(jq -r .error.code <<<"${lines[$i]}")" bad_request
        assert_equal "$(jq -r .line <<<"${lines[$i]}")" $((i + 1))
    done
    assert_equal "$(jq -r .image <<<"${lines[4]}")" ok.png
}

@test "a 5 MB line is refused without stopping the stream" {
    { head -c 5000000 /dev/zero | tr '\0' x; printf '\nafter.png\n'; } > big.txt
    run echo_tool < big.txt
    assert_failure 1
    assert_equal "${#lines[@]}" 2
    assert_equal "$(jq -r .error.code <<<"${lines[0]}")" bad_request
    assert_equal "$(jq -r .image <<<"${lines[1]}")" after.png
}

@test "a record is readable downstream before stdin is closed" {
    mkfifo in
    echo_tool < in > out &
    pid=$!
    exec 5> in
    echo first.png >&5
    for _ in $(seq 50); do [ -s out ] && break; sleep 0.1; done
    run cat out
    assert_equal "$(jq -r .image <<<"$output")" first.png
    exec 5>&-
    wait "$pid"
}

@test "a downstream head -1 ends the program quietly" {
    run bash -c "yes a.png | head -100000 | '$TOOLS/ndjson-echo' 2>err | head -1; cat err"
    assert_success
    assert_equal "$(jq -r .image <<<"${lines[0]}")" a.png
    assert_equal "${#lines[@]}" 1
}
