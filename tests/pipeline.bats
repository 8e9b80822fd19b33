#!/usr/bin/env bats
# The stage runner's promises across programs: a pipeline keeps the first
# cause of a failure; mesh-gen --progressive and mesh-gen | mesh-refine give
# the same records, cache entries and files; dedup-cache computes every
# program's keys exactly.
load test_helper

# The records without what differs between two runs of the same work.
normal() { jq -S -c 'del(.cached, .ms, .mesh.path, .mesh.out)' "$@"; }

@test "an error record passes through mesh-gen | mesh-refine | mesh-render unchanged, status 1 at each step" {
    run --separate-stderr bash -c 'echo missing.png | mesh-gen | mesh-refine | mesh-render --out pics;
        echo "status ${PIPESTATUS[*]}" >&2'
    [[ "$stderr" == *"status 0 1 1 1"* ]]
    jq -e -s 'length == 1 and .[0].image == "missing.png" and .[0].error.code == "no_input"
        and (.[0].error.message | contains("missing.png"))' <<<"$output"
    # the message is said once, by the program that failed
    [ "$(grep -c 'missing.png' <<<"$stderr")" -eq 1 ]
    [ ! -e pics ] || [ -z "$(ls pics)" ]
}

@test "each program passes an upstream error record on unchanged, does no work for it, and exits 1" {
    rec='{"image":"x.png","id":3,"error":{"code":"bad_image","message":"x.png: not an image"}}'
    for p in mesh-gen mesh-refine mesh-render "dedup-cache lookup"; do
        run --separate-stderr $p <<<"$rec"
        assert_equal "$status" 1
        assert_equal "$output" "$rec"
        assert_equal "$stderr" ""
    done
    # an io_error upstream is the I/O status, as it would have been there
    rec='{"image":"x.png","error":{"code":"io_error","message":"out: Permission denied"}}'
    run --separate-stderr mesh-refine <<<"$rec"
    assert_equal "$status" 74
    [ ! -d "$ORFEAS_CACHE_DIR/objects" ] || [ -z "$(find "$ORFEAS_CACHE_DIR/objects" -type f)" ]
}

# The samples, every format: --progressive and the pipeline, records and files.
same_both_ways() {
    local fmt=$1; shift
    export ORFEAS_CACHE_DIR="$BATS_TEST_TMPDIR/c-pipe-$fmt"
    mesh-gen -f "$fmt" --out "pipe-$fmt" "$@" | mesh-refine -f "$fmt" --out "pipe-$fmt" > "pipe-$fmt.1"
    export ORFEAS_CACHE_DIR="$BATS_TEST_TMPDIR/c-prog-$fmt"
    mesh-gen -p -f "$fmt" --out "prog-$fmt" "$@" > "prog-$fmt.1"
    # four stages an image, in order, made once
    jq -e -s --argjson n $# 'length == 4 * $n and ([.[].stage] | join(",")) ==
        ([range($n)] | map("voxel,rough,refined,final") | join(","))
        and all(.[]; .cached == false and (has("error") | not))' "prog-$fmt.1" >/dev/null
    assert_equal "$(normal "pipe-$fmt.1")" "$(normal "prog-$fmt.1")"
    assert_equal "$(cd "pipe-$fmt" && sha256sum * | sort -k2)" "$(cd "prog-$fmt" && sha256sum * | sort -k2)"
    # a second run of either is answered from the cache for all four stages,
    # the other's cache included
    mesh-gen -f "$fmt" "$@" | mesh-refine -f "$fmt" > "pipe-$fmt.2"
    jq -e -s 'all(.[]; .cached == true)' "pipe-$fmt.2" >/dev/null
    assert_equal "$(normal "pipe-$fmt.2")" "$(normal "prog-$fmt.1")"
    export ORFEAS_CACHE_DIR="$BATS_TEST_TMPDIR/c-pipe-$fmt"
    mesh-gen -p -f "$fmt" "$@" > "prog-$fmt.2"
    jq -e -s 'all(.[]; .cached == true)' "prog-$fmt.2" >/dev/null
    assert_equal "$(normal "prog-$fmt.2")" "$(normal "pipe-$fmt.1")"
}

@test "--progressive and mesh-gen | mesh-refine: the same keys, objects, fields and files (GLB, OBJ), then all cached" {
    [[ $(basename "$BUILD") != build-asan ]] || skip "four samples through all stages twice: the normal build"
    for fmt in glb obj; do
        same_both_ways "$fmt" "$ROOT"/samples/*.png
    done
    # an OBJ with its material and texture, which assimp reads
    for f in prog-obj/*.obj; do
        case $f in *.voxel.obj|*.rough.obj) continue ;; esac
        stem=${f%.obj}
        grep -q "^mtllib $(basename "$stem").mtl$" "$f"
        grep -q "^map_Kd $(basename "$stem").texture.png$" "$stem.mtl"
        [ -s "$stem.texture.png" ]
        run assimp info "$f"
        assert_success
    done
}

@test "--progressive and mesh-gen | mesh-refine: the same for PLY and STL" {
    mk() { "$TOOLS/mksample" "$1" "$2" "${3:-96}"; }
    mk figure fig.png 96
    for fmt in ply stl; do
        same_both_ways "$fmt" fig.png
    done
}

@test "dedup-cache key gives every program's own keys for a few hundred requests written every which way" {
    "$TOOLS/mksample" disc disc.png 40
    "$TOOLS/mksample" figure fig.png 40
    "$TOOLS/meshtool" make sphere ball.stl
    "$TOOLS/meshtool" make cube box.obj
    n=150
    [[ $(basename "$BUILD") != build-asan ]] || n=40
    for prog in mesh-gen mesh-refine; do
        if [ "$prog" = mesh-gen ]; then srcs="disc.png fig.png"; else srcs="ball.stl box.obj"; fi
        python3 "$ROOT/tests/tools/keyreqs.py" "$prog" "$n" 7 $srcs > "$prog.req"
        dedup-cache key --program "$prog" < "$prog.req" > "$prog.keys" || true
        $prog -q < "$prog.req" > "$prog.out" || true
        # per request id: the key dedup-cache computed, or its error code;
        # the program's key of the last record, or its error code
        jq -r '"\(.id) \(.key // .error.code)"' "$prog.keys" > a
        jq -r -s 'group_by(.id) | .[] | last | "\(.id) \(.key // .error.code)"' "$prog.out" > b
        assert_equal "$(wc -l < a)" "$n"
        assert_equal "$(cat a)" "$(cat b)"
        # both kinds occur: keys and refusals
        grep -q ' bad_request$' a
        [ "$(grep -cE ' [0-9a-f]{64}$' a)" -gt $((n / 2)) ]
    done
    # and lookup finds what the programs stored, stage for stage
    dedup-cache -q lookup --program mesh-gen < mesh-gen.req > looked || true
    jq -e -s 'map(select(has("stage"))) | length > 0 and all(.[]; .cached == true)' looked
}

@test "a key given in a request is never trusted by lookup" {
    "$TOOLS/mksample" disc a.png 40
    "$TOOLS/mksample" figure b.png 40
    mesh-gen a.png > a.out
    ka=$(jq -r -s '.[0].key' a.out)
    run dedup-cache lookup <<<"{\"image\":\"b.png\",\"key\":\"$ka\"}"
    assert_success
    # b.png is not in the cache: the request comes back as it was, not a.png's meshes
    assert_equal "$output" "{\"image\":\"b.png\",\"key\":\"$ka\"}"
}

@test "a rough record's resolution and stage are mesh-gen's, not mesh-refine's" {
    "$TOOLS/mksample" disc d.png 64
    echo '{"image":"d.png","resolution":{"voxel":8,"rough":16},"refined_resolution":24,"max_triangles":300}' |
        mesh-gen | mesh-refine > out
    jq -e -s 'map(.stage) == ["voxel", "rough", "refined", "final"] and .[1].grid == 16
        and .[2].grid == 24 and .[3].grid == 256 and .[3].mesh.triangles <= 300' out
}

@test "a record's mesh is always the mesh made: a mesh request's path is its source, failed or not" {
    "$TOOLS/meshtool" make cube c.stl
    run --separate-stderr mesh-refine --stage refined --smooth 0 - <<<$'c.stl\nmissing.stl\n{"mesh":"c.stl","id":1}'
    assert_failure 1
    jq -e -s '.[0].source == "c.stl" and (.[0].mesh | type) == "object"
        and .[1].source == "missing.stl" and (.[1] | has("mesh") | not) and .[1].error.code == "no_input"
        and .[2].id == 1 and (.[2].mesh.out == null) and (.[2].mesh | type) == "object"' <<<"$output"
}
