#!/usr/bin/env bats
# What the cache serves is what was stored; what it deletes is what its rule
# says; what it cannot read it leaves alone and reports; what a killed writer
# leaves is counted and cleaned. (The trust issue's cache and file items.)
load test_helper

obj_path() { echo "$ORFEAS_CACHE_DIR/objects/${1:0:2}/${1:2}"; }
req_path() { echo "$ORFEAS_CACHE_DIR/requests/${1:0:2}/${1:2}"; }

# seed_request KEY RECORD_JSON CREATED [OBJECT_KEY...]: an entry by hand, as
# orfeas(7) documents the layout.
seed_request() {
    local key=$1 rec=$2 created=$3; shift 3
    mkdir -p "$ORFEAS_CACHE_DIR/requests/${key:0:2}"
    jq -cn --arg k "$key" --argjson r "$rec" --argjson t "$created" '$ARGS.positional as $o |
        {key:$k, created:$t, used:$t, cost_ms:40, objects:$o, record:$r}' --args "$@" \
        > "$(req_path "$key")"
}

# Flip the lowest bit of the byte at OFFSET (default 100) in place: same size.
flip_byte() {
    local f=$1 off=${2:-100} b
    b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
    printf "\\$(printf '%03o' $((b ^ 1)))" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# ulimit -v works only on builds without AddressSanitizer (its shadow memory
# is terabytes of address space).
memlimit_works() { (ulimit -v 100000; dedup-cache --version) >/dev/null 2>&1; }

# A cache another user owns, for what root cannot be refused: root reads
# any file, so the checks of "cannot read" run as uid 65534 on a cache it
# owns, under a folder it can reach (bats' own folder is 0700).
other_user_cache() {
    OTHER_BASE=$(mktemp -d /tmp/orfeas-trust.XXXXXX)
    chmod 0755 "$OTHER_BASE"
    export ORFEAS_CACHE_DIR=$OTHER_BASE/cache
}
as_cache_owner() {
    if [ "$(id -u)" = 0 ]; then
        chown -R 65534:65534 "$ORFEAS_CACHE_DIR"
        setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
    else
        "$@"
    fi
}

teardown() {
    if [ -n "${RO_MOUNT:-}" ]; then umount "$RO_MOUNT" 2>/dev/null || true; fi
    if [ -n "${OTHER_BASE:-}" ]; then chmod -R u+rwX "$OTHER_BASE" 2>/dev/null; rm -rf "$OTHER_BASE"; fi
    # background prunes started by a test end before bats removes its folder
    local i
    for i in $(seq 50); do
        [ -d "$ORFEAS_CACHE_DIR/stats" ] || break
        flock -n "$ORFEAS_CACHE_DIR/stats/prune.lock" true 2>/dev/null && break
        sleep 0.1
    done
}

# ---- verify and get: streamed, and nothing removed that was not proved wrong ----

@test "verify --repair under a memory limit hashes a large object in constant memory and keeps it" {
    memlimit_works || skip "ulimit -v does not work with this build (AddressSanitizer)"
    head -c 120000000 /dev/urandom > big
    k=$(dedup-cache put big | jq -r .key)
    run bash -c 'ulimit -v 100000; exec dedup-cache verify --repair'
    assert_success
    assert_file_exist "$(obj_path "$k")"
    echo "$output" | tail -1 | jq -e '.ok and .objects == 1 and .bad_objects == 0 and .repaired == 0'
}

@test "get streams a large object under a memory limit, to standard output and with -o" {
    memlimit_works || skip "ulimit -v does not work with this build (AddressSanitizer)"
    head -c 120000000 /dev/urandom > big
    k=$(dedup-cache put big | jq -r .key)
    run bash -c "ulimit -v 100000; dedup-cache get $k > out.bin"
    assert_success
    cmp big out.bin
    run bash -c "ulimit -v 100000; exec dedup-cache get $k -o out2.bin"
    assert_success
    cmp big out2.bin
}

@test "verify --repair leaves and reports what it cannot read, removes only what it proved wrong" {
    command -v setpriv >/dev/null || [ "$(id -u)" != 0 ] || skip "setpriv not installed"
    other_user_cache
    printf 'cannot read me' > locked; printf 'corrupt me' > bad
    kl=$(dedup-cache put locked | jq -r .key)
    kb=$(dedup-cache put bad | jq -r .key)
    printf 'CORRUPT me' > "$(obj_path "$kb")"
    chmod 000 "$(obj_path "$kl")"
    run --separate-stderr as_cache_owner dedup-cache verify --repair
    assert_failure 74
    [[ "$stderr" == *"cannot read it"* ]]
    echo "$output" | jq -s -e --arg k "$kl" 'map(select(.object == $k)) | length == 1 and
        (.[0] | .problem == "unreadable" and .repaired == false and (.error | length) > 0)'
    echo "$output" | jq -s -e --arg k "$kb" 'map(select(.object == $k and .problem == "hash_mismatch" and .repaired)) | length == 1'
    echo "$output" | tail -1 | jq -e '.ok == false and .unreadable == 1 and .repaired == 1'
    assert_file_exist "$(obj_path "$kl")"
    assert_file_not_exist "$(obj_path "$kb")"
}

# ---- a corrupted object is never served and never kept ---------------------------

@test "a hit checks the bytes it hands out: a corrupted object makes the lookup a miss and goes" {
    printf 'image bytes' > cat.png
    head -c 5000 /dev/urandom > m.glb
    mk=$(dedup-cache put m.glb | jq -r .key)
    k=$(echo cat.png | dedup-cache key | jq -r .key)
    seed_request "$k" "{\"records\":[{\"stage\":\"voxel\"},{\"stage\":\"rough\",\"mesh\":{\"object\":\"$mk\"}}]}" \
        "$(date +%s)" "$mk"
    [ "$(echo cat.png | dedup-cache lookup | jq -r .cached | sort -u)" = true ]
    flip_byte "$(obj_path "$mk")"
    run dedup-cache lookup <<< cat.png
    assert_success
    [ "$(echo "$output" | jq -r .cached)" = null ]
    assert_file_not_exist "$(obj_path "$mk")"
    dedup-cache stats | jq -e '.hits == 1 and .misses == 1'
}

@test "mesh-gen: a corrupted mesh object is recomputed, replaced, and never served" {
    cp "$ROOT/samples/star.png" star.png
    run -0 mesh-gen star.png
    rough=$(echo "$output" | jq -r 'select(.stage == "rough") | .mesh.object')
    f=$(obj_path "$rough")
    flip_byte "$f"
    # --no-cache recomputes: the put must replace the object (same size, other bytes)
    run -0 mesh-gen --no-cache star.png
    [ "$(sha256sum < "$f" | cut -c1-64)" = "$rough" ]
    # corrupted again, a run that could hit recomputes instead of serving it
    flip_byte "$f"
    run -0 mesh-gen star.png
    echo "$output" | jq -e -s 'map(select(.stage == "rough")) | .[0].cached == false'
    [ "$(sha256sum < "$f" | cut -c1-64)" = "$rough" ]
    run -0 mesh-gen star.png
    echo "$output" | jq -e -s 'all(.[]; .cached == true)'
    run -0 dedup-cache verify
}

# ---- retention: one rule --------------------------------------------------------

@test "the TTL only makes lookups miss: prune and orfeas-prune-cron keep entries past it" {
    printf 'image bytes' > cat.png
    printf 'mesh' > m.glb
    mk=$(dedup-cache put m.glb | jq -r .key)
    k=$(echo cat.png | dedup-cache key | jq -r .key)
    seed_request "$k" '{"records":[{"stage":"voxel"},{"stage":"rough"}]}' "$(( $(date +%s) - 7200 ))" "$mk"
    [ "$(echo cat.png | dedup-cache lookup | jq -r .cached)" = null ]   # past the 1 h TTL: a miss
    run -0 dedup-cache prune
    run -0 "$ROOT/scripts/orfeas-prune-cron"
    assert_file_exist "$(req_path "$k")"
    assert_file_exist "$(obj_path "$mk")"
    [ "$(echo cat.png | dedup-cache lookup --ttl 0 | jq -r .cached | sort -u)" = true ]
    # what is not used for the max age (7 days by default) goes, with its objects
    touch -d '8 days ago' "$(req_path "$k")" "$(obj_path "$mk")"
    run -0 "$ROOT/scripts/orfeas-prune-cron"
    assert_file_not_exist "$(req_path "$k")"
    assert_file_not_exist "$(obj_path "$mk")"
}

@test "a saved mesh-gen record still refines after the TTL and the nightly prune" {
    cp "$ROOT/samples/star.png" star.png
    mesh-gen star.png > saved.ndjson
    field=$(jq -r 'select(.stage == "rough") | .field' saved.ndjson)
    # two hours later: every entry is past the TTL, nothing was used since
    for f in "$ORFEAS_CACHE_DIR"/requests/*/*; do
        jq -c '.created -= 7200' "$f" > t && mv t "$f"
    done
    find "$ORFEAS_CACHE_DIR/objects" "$ORFEAS_CACHE_DIR/requests" -type f -exec touch -d '2 hours ago' {} +
    run -0 "$ROOT/scripts/orfeas-prune-cron"
    assert_file_exist "$(obj_path "$field")"
    run mesh-refine --resolution 48 --refined-resolution 32 < <(grep '"rough"' saved.ndjson)
    assert_success
    refute_output --partial no_field
}

@test "an object read in the last max age stays, whether or not an entry names it" {
    printf 'field bytes' > fld
    k=$(dedup-cache put fld | jq -r .key)
    touch -d '6 days ago' "$(obj_path "$k")"
    run -0 dedup-cache prune --max-age 5d
    assert_file_not_exist "$(obj_path "$k")"
    k=$(dedup-cache put fld | jq -r .key)
    touch -d '6 days ago' "$(obj_path "$k")"
    dedup-cache get "$k" > /dev/null       # a read is a use
    run -0 dedup-cache prune --max-age 5d
    assert_file_exist "$(obj_path "$k")"
}

@test "the size cap: 5 GiB by default, ORFEAS_CACHE_MAX_SIZE and dedup-cache config change it" {
    run -0 dedup-cache stats
    echo "$output" | jq -e '.max_size == 5368709120 and .max_age_s == 604800'
    ORFEAS_CACHE_MAX_SIZE=1G run -0 dedup-cache stats
    echo "$output" | jq -e '.max_size == 1073741824'
    run -0 dedup-cache config max-size 25K
    run -0 dedup-cache config
    echo "$output" | jq -e '.max_size == 25600'
    run -0 dedup-cache stats
    echo "$output" | jq -e '.max_size == 25600'
    ORFEAS_CACHE_MAX_SIZE=0 run -0 dedup-cache stats        # the environment wins; 0 is no cap
    echo "$output" | jq -e '.max_size == 0'
    run dedup-cache config max-size lots
    assert_failure 64
    ORFEAS_CACHE_MAX_SIZE=lots run dedup-cache stats
    assert_failure 64
    # a plain prune applies the configured cap, least recently used first
    for i in 1 2 3 4; do
        head -c 10000 /dev/urandom > m$i
        k[$i]=$(ORFEAS_CACHE_MAX_SIZE=0 dedup-cache put m$i | jq -r .key)
        touch -d "$((10 - i)) hours ago" "$(obj_path "${k[$i]}")"
    done
    run -0 dedup-cache prune
    for i in 1 2; do assert_file_not_exist "$(obj_path "${k[$i]}")"; done
    for i in 3 4; do assert_file_exist "$(obj_path "${k[$i]}")"; done
}

@test "a store past the size cap prunes in the background, without waiting for it" {
    command -v flock >/dev/null || skip "flock(1) not installed"
    dedup-cache stats >/dev/null
    # many small entries, last used an hour ago, make a prune take a while
    bash -c 't=$(( $(date +%s) - 3600 ))
        for s in $(seq 0 255); do printf -v d "%02x" $s; mkdir -p "$1/requests/$d"; done
        for i in $(seq 10000); do
            printf -v k "%064x" $((i * 2654435761))
            printf "{\"key\":\"%s\",\"created\":%s,\"used\":%s,\"cost_ms\":1,\"objects\":[],\"record\":{}}" \
                "$k" $t $t > "$1/requests/${k:0:2}/${k:2}"
        done' _ "$ORFEAS_CACHE_DIR"
    find "$ORFEAS_CACHE_DIR/requests" -type f -exec touch -d '1 hour ago' {} +
    head -c 3000000 /dev/urandom > big
    k=$(ORFEAS_CACHE_MAX_SIZE=0 dedup-cache put big | jq -r .key)
    touch -d '2 hours ago' "$(obj_path "$k")"
    printf 'small' > small
    export ORFEAS_CACHE_MAX_SIZE=1M
    run -0 dedup-cache put small
    # the put is done; its prune is still going, in another process
    run flock -n "$ORFEAS_CACHE_DIR/stats/prune.lock" true
    assert_failure
    for i in $(seq 300); do
        flock -n "$ORFEAS_CACHE_DIR/stats/prune.lock" true && break
        sleep 0.1
    done
    run -0 dedup-cache stats
    echo "$output" | jq -e '.evictions > 0 and .bytes <= 1048576 and .entries < 10000'
}

@test "clear on a read-only cache fails with cache_error (74) and says what remains" {
    printf 'x' > x; printf 'y' > y
    dedup-cache put x y >/dev/null
    if [ "$(id -u)" = 0 ]; then
        mount --bind "$ORFEAS_CACHE_DIR" "$ORFEAS_CACHE_DIR" 2>/dev/null || skip "cannot bind-mount here"
        RO_MOUNT=$ORFEAS_CACHE_DIR
        mount -o remount,bind,ro "$ORFEAS_CACHE_DIR" || skip "cannot remount read-only here"
    else
        chmod -R a-w "$ORFEAS_CACHE_DIR/objects"
    fi
    run dedup-cache clear --yes
    assert_failure 74
    echo "$output" | grep '^{' | jq -e '.error.code == "cache_error" and .objects_removed == 0 and .objects_kept == 2'
    [ "$(find "$ORFEAS_CACHE_DIR/objects" -type f | wc -l)" -eq 2 ]
    [ -z "${RO_MOUNT:-}" ] || chmod -R u+w "$ORFEAS_CACHE_DIR/objects" 2>/dev/null || true
}

# ---- what killed writers leave ------------------------------------------------------

@test "temporary files left by killed puts are counted by stats and removed by the next prune" {
    head -c 100000000 /dev/urandom > big
    dedup-cache stats >/dev/null
    for i in $(seq 20); do
        dedup-cache put big >/dev/null 2>&1 &
        p=$!
        sleep "0.0$((RANDOM % 9 + 1))"
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
        [ -n "$(find "$ORFEAS_CACHE_DIR" -name '.tmp.*' -size +0)" ] && break
        rm -rf "$ORFEAS_CACHE_DIR/objects"/??
    done
    temps=$(find "$ORFEAS_CACHE_DIR" -name '.tmp.*' | wc -l)
    [ "$temps" -gt 0 ] || skip "no put was killed mid-write"
    tbytes=$(find "$ORFEAS_CACHE_DIR" -name '.tmp.*' -printf '%s\n' | awk '{s += $1} END {print s}')
    run -0 dedup-cache stats
    echo "$output" | jq -e --argjson n "$temps" --argjson b "$tbytes" '.temp_files == $n and .temp_bytes == $b and .bytes >= $b'
    # their writers are gone: the next prune removes them, an hour or not
    run -0 dedup-cache prune -v
    echo "$output" | jq -e --argjson n "$temps" --argjson b "$tbytes" '.temp_removed == $n and .bytes_freed >= $b'
    [ -z "$(find "$ORFEAS_CACHE_DIR" -name '.tmp.*')" ]
    run -0 dedup-cache verify
}

@test "a write into a folder removes the stale temporaries earlier writers left there, nothing else" {
    mkdir out
    echo keep > out/notes.tmp.txt                      # a user's file, not ours
    echo keep > out/.tmp.txt
    echo old > out/s.glb.tmp.Ab12Cd                     # what earlier versions left
    echo old > out/.tmp.0123456789abcdef
    echo new > out/t.glb.tmp.Xy34Zw                     # another writer's, still young
    touch -d '2 hours ago' out/s.glb.tmp.Ab12Cd out/.tmp.0123456789abcdef out/notes.tmp.txt out/.tmp.txt
    "$TOOLS/meshtool" make cube out/c.glb
    assert_file_not_exist out/s.glb.tmp.Ab12Cd
    assert_file_not_exist out/.tmp.0123456789abcdef
    assert_file_exist out/t.glb.tmp.Xy34Zw
    assert_file_exist out/notes.tmp.txt
    assert_file_exist out/.tmp.txt
    assert_file_exist out/c.glb
}

@test "-o writes killed mid-write leave temporaries that the next write into the folder removes" {
    [ -x "$TOOLS/atomic_write" ] || skip "atomic_write not built"
    mkdir out
    for i in 1 2 3; do
        "$TOOLS/atomic_write" out/slow.bin 4000000 --slow 50 &
        p=$!
        for t in $(seq 100); do                    # until it has started its file
            [ -n "$(find out -name ".tmp.*.$p.*")" ] && break
            sleep 0.05
        done
        kill -KILL "$p"
        wait "$p" 2>/dev/null || true
        # each writer removed what the one killed before it left; its own stays
        [ "$(find out -name '.tmp.*' | wc -l)" -eq 1 ]
        [ -n "$(find out -name ".tmp.*.$p.*")" ]
    done
    "$TOOLS/meshtool" make cube out/c.glb
    [ -z "$(find out -name '.tmp.*')" ]
    assert_file_exist out/c.glb
}

@test "file modes: outputs 0666 less the umask, cache files 0600" {
    printf 'x' > x
    k=$(dedup-cache put x | jq -r .key)
    [ "$(stat -c %a "$(obj_path "$k")")" = 600 ]
    (umask 022; "$TOOLS/meshtool" make cube a.glb; dedup-cache get "$k" -o a.bin >/dev/null)
    [ "$(stat -c %a a.glb)" = 644 ]
    [ "$(stat -c %a a.bin)" = 644 ]
    (umask 077; "$TOOLS/meshtool" make cube b.glb; dedup-cache get "$k" -o b.bin >/dev/null)
    [ "$(stat -c %a b.glb)" = 600 ]
    [ "$(stat -c %a b.bin)" = 600 ]
    (umask 002; "$TOOLS/meshtool" make cube c.glb)
    [ "$(stat -c %a c.glb)" = 664 ]
}
