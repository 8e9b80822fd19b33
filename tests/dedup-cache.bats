#!/usr/bin/env bats
# dedup-cache: every subcommand and every error a user can meet.
load test_helper

C="$BATS_TEST_TMPDIR/cache"

# Write a request entry by hand, as the documented layout says:
# seed_request KEY RECORD_JSON CREATED [OBJECT_KEY...]
seed_request() {
    local key=$1 rec=$2 created=$3; shift 3
    mkdir -p "$ORFEAS_CACHE_DIR/requests/${key:0:2}"
    jq -cn --arg k "$key" --argjson r "$rec" --argjson t "$created" '$ARGS.positional as $o |
        {key:$k, created:$t, used:$t, cost_ms:40, objects:$o, record:$r}' --args "$@" \
        > "$ORFEAS_CACHE_DIR/requests/${key:0:2}/${key:2}"
}

obj_path() { echo "$ORFEAS_CACHE_DIR/objects/${1:0:2}/${1:2}"; }

@test "--help and --version" {
    run dedup-cache --help
    assert_success
    assert_output --partial "prune"
    run dedup-cache --version
    assert_success
    assert_output --regexp "^dedup-cache \(orfeas\) [0-9]"
}

@test "unknown subcommand, unknown option, missing command: exit 64" {
    run dedup-cache frobnicate
    assert_failure 64
    assert_output --partial "unknown command 'frobnicate'"
    run dedup-cache stats --bogus
    assert_failure 64
    run dedup-cache
    assert_failure 64
    run dedup-cache stats --repair
    assert_failure 64
    assert_output --partial "--repair is not an option"
    run dedup-cache get
    assert_failure 64
    run dedup-cache prune --max-size lots
    assert_failure 64
    run dedup-cache --ttl forever stats
    assert_failure 64
}

@test "put stores files as objects named by their SHA-256, get returns the bytes" {
    printf 'hello\n' > a.txt
    head -c 100000 /dev/urandom > b.bin
    run dedup-cache put a.txt b.bin
    assert_success
    [ "$(echo "$output" | wc -l)" -eq 2 ]
    echo "$output" | assert_ndjson
    ka=$(echo "$output" | jq -r 'select(.file=="a.txt").key')
    kb=$(echo "$output" | jq -r 'select(.file=="b.bin").key')
    [ "$ka" = "$(sha256sum a.txt | cut -c1-64)" ]
    [ "$kb" = "$(sha256sum b.bin | cut -c1-64)" ]
    [ "$(echo "$output" | jq -r 'select(.file=="b.bin").bytes')" -eq 100000 ]
    assert_file_exist "$(echo "$output" | jq -r 'select(.file=="a.txt").path')"
    dedup-cache get "$kb" > out.bin
    cmp out.bin b.bin
    run dedup-cache get "$ka" -o copy.txt
    assert_success
    cmp copy.txt a.txt
    [ "$(echo "$output" | jq -r .bytes)" -eq 6 ]
}

@test "options go before or after the subcommand" {
    printf 'x' > x
    dedup-cache --cache-dir "$BATS_TEST_TMPDIR/one" put x >/dev/null
    dedup-cache put x --cache-dir "$BATS_TEST_TMPDIR/two" >/dev/null
    a=$(dedup-cache --cache-dir "$BATS_TEST_TMPDIR/one" stats | jq -c '{objects,stores}')
    b=$(dedup-cache stats --cache-dir "$BATS_TEST_TMPDIR/two" | jq -c '{objects,stores}')
    [ "$a" = '{"objects":1,"stores":1}' ]
    [ "$a" = "$b" ]
}

@test "the cache folder comes from --cache-dir, ORFEAS_CACHE_DIR, XDG_CACHE_HOME, HOME" {
    run dedup-cache stats
    [ "$(echo "$output" | jq -r .cache_dir)" = "$ORFEAS_CACHE_DIR" ]
    unset ORFEAS_CACHE_DIR
    XDG_CACHE_HOME="$BATS_TEST_TMPDIR/xdg" run dedup-cache stats
    [ "$(echo "$output" | jq -r .cache_dir)" = "$BATS_TEST_TMPDIR/xdg/orfeas" ]
    HOME="$BATS_TEST_TMPDIR/home" run dedup-cache stats
    [ "$(echo "$output" | jq -r .cache_dir)" = "$BATS_TEST_TMPDIR/home/.cache/orfeas" ]
}

@test "a missing cache folder is created with mode 0700, parents too" {
    run dedup-cache --cache-dir "$BATS_TEST_TMPDIR/deep/er/cache" stats
    assert_success
    [ "$(stat -c %a "$BATS_TEST_TMPDIR/deep/er/cache")" = 700 ]
    assert_dir_exist "$BATS_TEST_TMPDIR/deep/er/cache/objects"
}

@test "an unusable cache folder (under a regular file) is an I/O error, exit 74" {
    echo x > file
    run dedup-cache --cache-dir "$BATS_TEST_TMPDIR/file/cache" stats
    assert_failure 74
    [ "$(echo "$output" | head -1 | jq -r .error.code)" = cache_error ]
    run dedup-cache --cache-dir "$BATS_TEST_TMPDIR/file/cache" put file
    assert_failure 74
}

@test "a cache folder writable by others is refused" {
    mkdir -p open && chmod 0777 open
    run dedup-cache --cache-dir "$BATS_TEST_TMPDIR/open" stats
    assert_failure 74
    assert_output --partial "writable by others"
}

@test "symbolic links inside the cache are not followed" {
    dedup-cache stats >/dev/null
    mkdir elsewhere
    printf 'secret' > elsewhere/s
    k=$(sha256sum elsewhere/s | cut -c1-64)
    ln -s "$BATS_TEST_TMPDIR/elsewhere" "$ORFEAS_CACHE_DIR/objects/${k:0:2}"
    run dedup-cache get "$k"
    assert_failure 1
    refute_output --partial secret
    rm "$ORFEAS_CACHE_DIR/objects/${k:0:2}"
    mkdir "$ORFEAS_CACHE_DIR/objects/${k:0:2}"
    ln -s "$BATS_TEST_TMPDIR/elsewhere/s" "$(obj_path "$k")"
    run dedup-cache get "$k"
    assert_failure 1
    refute_output --partial secret
    assert_file_exist elsewhere/s
}

@test "put of a missing file: error record, exit 66, other files still stored" {
    printf 'ok' > ok.txt
    run dedup-cache put nope.txt ok.txt
    assert_failure 66
    echo "$output" | grep '^{' | head -1 | jq -e '.error.code == "no_input" and .file == "nope.txt"'
    echo "$output" | grep '^{' | jq -s -e 'map(select(.file=="ok.txt" and .key)) | length == 1'
}

@test "bad keys are refused: ../, uppercase, short, long" {
    good=$(printf 'x' | sha256sum | cut -c1-64)
    for k in "../../etc/passwd" "${good^^}" "${good:0:63}" "${good}0" "ab/../../$good"; do
        run dedup-cache get "$k"
        assert_failure 1
        assert_output --partial bad_key
        run dedup-cache rm "$k"
        assert_failure 1
        [ "$(echo "$output" | grep '^{' | jq -r .error.code)" = bad_key ]
    done
}

@test "get of an absent key: not_found, exit 1; -o into a missing folder: io_error, exit 74" {
    k=$(printf 'absent' | sha256sum | cut -c1-64)
    run dedup-cache get "$k"
    assert_failure 1
    assert_output --partial not_found
    printf 'there' > t
    k=$(dedup-cache put t | jq -r .key)
    run dedup-cache get "$k" -o "$BATS_TEST_TMPDIR/no/such/dir/f"
    assert_failure 74
    [ "$(echo "$output" | grep '^{' | jq -r .error.code)" = io_error ]
    assert_file_not_exist "$BATS_TEST_TMPDIR/no/such/dir/f"
}

@test "a corrupt object is a miss and is removed" {
    printf 'original content' > o
    k=$(dedup-cache put o | jq -r .key)
    printf 'original c0ntent' > "$(obj_path "$k")"
    run dedup-cache get "$k"
    assert_failure 1
    refute_output --partial "c0ntent"
    assert_file_not_exist "$(obj_path "$k")"
}

@test "a truncated object is a miss and is removed" {
    head -c 50000 /dev/urandom > o
    k=$(dedup-cache put o | jq -r .key)
    truncate -s 1000 "$(obj_path "$k")"
    run dedup-cache get "$k" -o got
    assert_failure 1
    assert_file_not_exist got
    assert_file_not_exist "$(obj_path "$k")"
}

@test "verify reports corrupt objects and entries with missing objects; --repair removes them" {
    printf 'one' > one; printf 'two' > two
    k1=$(dedup-cache put one | jq -r .key)
    k2=$(dedup-cache put two | jq -r .key)
    r=$(printf 'req' | sha256sum | cut -c1-64)
    gone=$(printf 'gone' | sha256sum | cut -c1-64)
    seed_request "$r" '{"stage":"rough"}' "$(date +%s)" "$k2" "$gone"
    run dedup-cache verify
    assert_failure 1
    echo "$output" | jq -s -e --arg g "$gone" 'map(select(.problem == "missing_object" and .object == $g)) | length == 1'
    printf 'TWO' > "$(obj_path "$k2")"
    run dedup-cache verify
    assert_failure 1
    echo "$output" | jq -s -e --arg k "$k2" 'map(select(.object == $k and .problem == "hash_mismatch")) | length == 1'
    echo "$output" | jq -s -e --arg r "$r" 'map(select(.request == $r and .problem == "missing_object")) | length == 1'
    echo "$output" | tail -1 | jq -e '.bad_objects == 1 and .bad_requests == 1 and .ok == false'
    run dedup-cache verify --repair
    assert_success
    assert_file_not_exist "$(obj_path "$k2")"
    assert_file_exist "$(obj_path "$k1")"
    run dedup-cache verify
    assert_success
    echo "$output" | tail -1 | jq -e '.ok and .objects == 1 and .requests == 0'
}

@test "rm removes an object or a request entry; an absent key is not_found" {
    printf 'x' > x
    k=$(dedup-cache put x | jq -r .key)
    run dedup-cache rm "$k"
    assert_success
    echo "$output" | jq -e '.removed == ["object"]'
    assert_file_not_exist "$(obj_path "$k")"
    run dedup-cache rm "$k"
    assert_failure 1
    echo "$output" | grep '^{' | jq -e '.error.code == "not_found"'
}

@test "clear removes everything with --yes; refuses without it on a terminal" {
    printf 'x' > x; printf 'y' > y
    dedup-cache put x y >/dev/null
    run dedup-cache clear --yes
    assert_success
    echo "$output" | jq -e '.objects_removed == 2'
    [ "$(dedup-cache stats | jq .objects)" -eq 0 ]
    dedup-cache put x >/dev/null
    if command -v script >/dev/null; then
        run script -qec "dedup-cache --cache-dir '$ORFEAS_CACHE_DIR' clear" /dev/null
        assert_output --partial -- "--yes"
        [ "$(dedup-cache stats | jq .objects)" -eq 1 ]
    fi
    run dedup-cache clear < /dev/null
    assert_success
    [ "$(dedup-cache stats | jq .objects)" -eq 0 ]
}

@test "key adds the request key: by content, not path; parameters change it; id does not" {
    printf 'image bytes' > cat.png
    cp cat.png renamed.png
    printf 'other bytes' > dog.png
    out=$(printf '%s\n' cat.png '{"image":"renamed.png","id":7}' dog.png '{"image":"cat.png","depth":2}' | dedup-cache key)
    echo "$out" | assert_ndjson
    keys=($(echo "$out" | jq -r .key))
    [ "${keys[0]}" = "${keys[1]}" ]
    [ "${keys[0]}" != "${keys[2]}" ]
    [ "${keys[0]}" != "${keys[3]}" ]
    echo "$out" | sed -n 2p | jq -e '.id == 7 and .image == "renamed.png"'
    # given the content hash instead of a path: the same key
    h=$(sha256sum cat.png | cut -c1-64)
    [ "$(echo "{\"input\":\"$h\"}" | dedup-cache key | jq -r .key)" = "${keys[0]}" ]
}

@test "key: a request without input or with a missing file gets an error record, the stream goes on" {
    printf 'img' > i.png
    run dedup-cache -q key <<< $'{"id":1}\nnot/there.png\ni.png\n{bad json'
    assert_failure 1
    [ "$(echo "$output" | wc -l)" -eq 4 ]
    echo "$output" | sed -n 1p | jq -e '.error.code == "bad_request" and .id == 1'
    echo "$output" | sed -n 2p | jq -e '.error.code == "no_input"'
    echo "$output" | sed -n 3p | jq -e '.key | test("^[0-9a-f]{64}$")'
    echo "$output" | sed -n 4p | jq -e '.error.code == "bad_request"'
}

@test "key and lookup on a terminal with nothing piped in: exit 66 with a hint, as the other programs" {
    command -v script >/dev/null || skip "needs script (util-linux) for a terminal"
    for c in key lookup; do
        run script -qec "dedup-cache --cache-dir '$ORFEAS_CACHE_DIR' $c; echo status=\$?" /dev/null
        assert_output --partial "no input"
        assert_output --partial "status=66"
    done
}

@test "lookup: a hit becomes its cached record with cached:true, a miss passes unchanged" {
    printf 'image bytes' > cat.png
    printf 'other' > dog.png
    printf 'mesh' > m.glb
    mk=$(dedup-cache put m.glb | jq -r .key)
    k=$(echo cat.png | dedup-cache key | jq -r .key)
    seed_request "$k" "{\"records\":[{\"stage\":\"voxel\",\"progress\":25},{\"stage\":\"rough\",\"progress\":50,\"mesh\":{\"object\":\"$mk\"}}]}" "$(date +%s)" "$mk"
    run dedup-cache lookup <<< $'{"image":"cat.png","id":"a"}\n{"image":"dog.png","id":"b"}'
    assert_success
    echo "$output" | sed -n 1p | jq -e '.cached == true and .stage == "voxel" and .id == "a"'
    echo "$output" | sed -n 2p | jq -e --arg mk "$mk" '.cached == true and .stage == "rough" and .mesh.object == $mk and .id == "a"'
    [ "$(echo "$output" | sed -n 3p)" = '{"image":"dog.png","id":"b"}' ]
    dedup-cache stats | jq -e '.hits == 1 and .misses == 1 and .time_saved_ms == 40 and .hit_ratio == 0.5'
}

@test "an expired entry is a miss: --ttl, ORFEAS_CACHE_TTL, and 0 never expires" {
    printf 'image bytes' > cat.png
    k=$(echo cat.png | dedup-cache key | jq -r .key)
    seed_request "$k" '{"records":[{"stage":"voxel"},{"stage":"rough"}]}' "$(( $(date +%s) - 7200 ))"
    [ "$(echo cat.png | dedup-cache lookup | jq -r .cached)" = null ]          # default 1 h
    [ "$(echo cat.png | dedup-cache lookup --ttl 3h | jq -r .cached | head -1)" = true ]
    [ "$(echo cat.png | ORFEAS_CACHE_TTL=3h dedup-cache lookup | jq -r .cached | head -1)" = true ]
    [ "$(echo cat.png | ORFEAS_CACHE_TTL=1h dedup-cache lookup | jq -r .cached)" = null ]
    [ "$(echo cat.png | dedup-cache lookup --ttl 0 | jq -r .cached | head -1)" = true ]
    seed_request "$k" '{"records":[{"stage":"voxel"},{"stage":"rough"}]}' "$(date +%s)"
    # (the entry's time is a whole second: up to a second old when made)
    [ "$(echo cat.png | dedup-cache lookup --ttl 2s | jq -r .cached | head -1)" = true ]
    sleep 2.1
    [ "$(echo cat.png | dedup-cache lookup --ttl 2s | jq -r .cached)" = null ]
}

@test "a hit refreshes the entry's last use (its mtime), not its creation time" {
    printf 'image bytes' > cat.png
    k=$(echo cat.png | dedup-cache key | jq -r .key)
    seed_request "$k" '{"records":[{"stage":"voxel"},{"stage":"rough"}]}' "$(date +%s)"
    f="$ORFEAS_CACHE_DIR/requests/${k:0:2}/${k:2}"
    touch -d '3 days ago' "$f"
    echo cat.png | dedup-cache lookup >/dev/null
    [ $(( $(date +%s) - $(stat -c %Y "$f") )) -lt 60 ]
}

@test "stats reports entries, bytes, counters; --zero resets the counters" {
    printf 'abc' > a
    dedup-cache put a >/dev/null
    run dedup-cache stats
    assert_success
    echo "$output" | jq -e '.objects == 1 and .entries == 0 and .bytes == 3 and .stores == 1 and .bytes_written == 3
        and .hits == 0 and .misses == 0 and .hit_ratio == null and .evictions == 0 and .oldest == null'
    run dedup-cache stats --zero
    echo "$output" | jq -e '.stores == 0 and .objects == 1 and .zeroed'
}

@test "ccache's forms: -s stats, -z stats --zero, -C clear, -M SIZE config max-size; with another command a usage error" {
    printf 'abc' > a
    dedup-cache put a >/dev/null
    run dedup-cache -s
    assert_success
    echo "$output" | jq -e '.objects == 1 and .stores == 1 and (has("zeroed") | not)'
    run dedup-cache -z
    assert_success
    echo "$output" | jq -e '.zeroed and .stores == 0'
    run dedup-cache -M 3G
    assert_success
    echo "$output" | jq -e '.max_size == 3221225472'
    [ "$(dedup-cache config max-size | jq .max_size)" -eq 3221225472 ]
    run dedup-cache -M lots
    assert_failure 64
    run dedup-cache -s prune
    assert_failure 64
    assert_output --partial "-s is ccache's form of 'stats'"
    run dedup-cache -C </dev/null
    assert_success
    echo "$output" | jq -e '.objects_removed == 1'
    [ "$(dedup-cache stats | jq .objects)" -eq 0 ]
}

@test "prune: silent on success; -v and --dry-run print one summary; old entries and orphans go, recent stay" {
    printf 'old mesh' > old.glb; printf 'new mesh' > new.glb
    ko=$(dedup-cache put old.glb | jq -r .key)
    kn=$(dedup-cache put new.glb | jq -r .key)
    ro=$(printf 'old' | sha256sum | cut -c1-64)
    rn=$(printf 'new' | sha256sum | cut -c1-64)
    now=$(date +%s)
    seed_request "$ro" '{}' "$now" "$ko"
    seed_request "$rn" '{}' "$now" "$kn"
    touch -d '3 days ago' "$ORFEAS_CACHE_DIR/requests/${ro:0:2}/${ro:2}" "$(obj_path "$ko")" "$(obj_path "$kn")"
    run dedup-cache prune --max-age 2d --dry-run
    assert_success
    [ "$(echo "$output" | wc -l)" -eq 1 ]
    echo "$output" | jq -e '.dry_run and .requests_removed == 1 and .objects_removed == 1'
    assert_file_exist "$(obj_path "$ko")"
    run dedup-cache prune --max-age 2d
    assert_success
    assert_output ""
    assert_file_not_exist "$ORFEAS_CACHE_DIR/requests/${ro:0:2}/${ro:2}"
    assert_file_not_exist "$(obj_path "$ko")"
    assert_file_exist "$(obj_path "$kn")"
    dedup-cache stats | jq -e '.evictions == 2'
    run dedup-cache prune -v
    echo "$output" | jq -e '.requests_removed == 0 and .requests_kept == 1'
}

@test "prune --max-size removes the least recently used first" {
    now=$(date +%s)
    for i in 1 2 3 4; do
        head -c 10000 /dev/urandom > m$i
        k[$i]=$(dedup-cache put m$i | jq -r .key)
        r[$i]=$(printf "r$i" | sha256sum | cut -c1-64)
        seed_request "${r[$i]}" '{}' "$now" "${k[$i]}"
        touch -d "$((10 - i)) hours ago" "$ORFEAS_CACHE_DIR/requests/${r[$i]:0:2}/${r[$i]:2}" "$(obj_path "${k[$i]}")"
    done
    run dedup-cache prune --max-size 25K -v
    assert_success
    echo "$output" | jq -e '.requests_removed == 2 and .bytes_kept <= 25600'
    for i in 1 2; do assert_file_not_exist "$(obj_path "${k[$i]}")"; done
    for i in 3 4; do assert_file_exist "$(obj_path "${k[$i]}")"; done
}

@test "prune removes stale temporary files, not fresh ones" {
    dedup-cache stats >/dev/null
    mkdir -p "$ORFEAS_CACHE_DIR/objects/ab"
    echo partial > "$ORFEAS_CACHE_DIR/objects/ab/.tmp.0123456789abcdef"
    echo partial > "$ORFEAS_CACHE_DIR/objects/ab/.tmp.fedcba9876543210"
    touch -d '2 hours ago' "$ORFEAS_CACHE_DIR/objects/ab/.tmp.0123456789abcdef"
    run dedup-cache prune -v
    echo "$output" | jq -e '.temp_removed == 1'
    assert_file_not_exist "$ORFEAS_CACHE_DIR/objects/ab/.tmp.0123456789abcdef"
    assert_file_exist "$ORFEAS_CACHE_DIR/objects/ab/.tmp.fedcba9876543210"
}

@test "a second prune while one runs exits at once and says so" {
    dedup-cache stats >/dev/null
    command -v flock >/dev/null || skip "flock(1) not installed"
    flock "$ORFEAS_CACHE_DIR/stats/prune.lock" sleep 3 &
    sleep 0.3
    run dedup-cache prune -v
    assert_success
    assert_output --partial "another prune"
    echo "$output" | grep '^{' | jq -e '.busy'
    wait
}
