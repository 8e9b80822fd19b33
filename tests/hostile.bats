#!/usr/bin/env bats
# Hostile input: what people's folders hold, fed to the programs on purpose.
# Every case runs under `timeout` (a hang fails the test with status 124),
# ends with an error naming a specific code, never with a signal, and leaves
# no temporary or half-written file in the cache or beside the output.
#
# Sections: the mesh readers (through tests/tools/meshtool), dedup-cache's
# NDJSON and paths, cache abuse, mesh-refine, mesh-gen.
load test_helper

T=20 # seconds any one command may take

# ---- helpers ------------------------------------------------------------------

# A status from a signal (>128, or 124 from timeout) is never acceptable.
refute_signal() {
    if [ "$status" -eq 124 ] || [ "$status" -gt 128 ]; then
        echo "status $status: killed by a signal or the time bound" >&2
        return 1
    fi
}

# No temporary file anywhere under a folder (the cache's ".tmp.*", meshio's "*.tmp.*").
assert_no_temp() {
    local left
    left=$(find "$1" -name '.tmp.*' -o -name '*.tmp.*' 2>/dev/null)
    if [ -n "$left" ]; then
        echo "temporary files left: $left" >&2
        return 1
    fi
}

# The error code of every record in $output that has one, one per line.
error_codes() {
    printf '%s\n' "$output" | jq -r 'select(type == "object" and has("error")) | .error.code'
}

# Hostile meshes in the current folder.
make_hostile_meshes() {
    "$TOOLS"/meshtool make cube cube.glb
    "$TOOLS"/meshtool convert cube.glb cube.ply
    "$TOOLS"/meshtool convert cube.glb cube.stl
    : >empty.obj; : >empty.ply; : >empty.stl; : >empty.glb
    for x in obj ply stl glb; do head -c 4096 /dev/urandom >"random.$x"; done
    # OBJ: out-of-range, zero and too-negative indices, a NaN coordinate
    printf 'v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 99\n' >range.obj
    printf 'v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n' >zero.obj
    printf 'v 0 0 0\nv 1 0 0\nv 0 1 0\nf -5 -1 -2\n' >negative.obj
    printf 'v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n' >nan.obj
    # PLY: counts that lie, an index out of range, an absurd list length
    printf 'ply\nformat ascii 1.0\nelement vertex 4294967295\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n' >huge-count.ply
    printf 'ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n' >range.ply
    printf 'ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n255 0 1 2\n' >list.ply
    { printf 'ply\nformat binary_little_endian 1.0\nelement vertex 1000\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n'
      head -c 36 /dev/zero; } >lying.ply
    head -c 300 cube.ply >truncated.ply
    # STL: a binary count that lies, an ASCII file cut mid-facet
    { head -c 80 /dev/zero; printf '\x40\x42\x0f\x00'; head -c 100 /dev/zero; } >lying.stl
    printf 'solid t\nfacet normal 0 0 1\n outer loop\n  vertex 0 0 0\n  vertex 1 0\n' >cut.stl
    # GLB: a total length that lies, an accessor count past its view, an index past the vertices
    cp cube.glb length.glb
    printf '\xff\xff\xff\x7f' | dd of=length.glb bs=1 seek=8 conv=notrunc status=none
    sed 's/"count":36/"count":99/' cube.glb >count.glb
    cp cube.glb index.glb
    local jl
    jl=$(od -An -tu4 -j12 -N4 cube.glb | tr -d ' ')
    # first index of the index view (offset 256 in BIN, see the cube's JSON)
    printf '\x00\x00\x00\x01' | dd of=index.glb bs=1 seek=$((20 + jl + 8 + 256)) conv=notrunc status=none
    head -c 700 cube.glb >truncated.glb
}

# ---- mesh readers --------------------------------------------------------------

@test "mesh readers: hostile files give bad_mesh or too_large, never a crash or hang" {
    make_hostile_meshes
    for f in empty.obj empty.ply empty.stl empty.glb random.ply random.stl random.glb \
             range.obj zero.obj negative.obj nan.obj huge-count.ply range.ply list.ply lying.ply \
             truncated.ply lying.stl cut.stl length.glb count.glb index.glb truncated.glb; do
        run timeout $T "$TOOLS"/meshtool stats "$f"
        refute_signal
        [ "$status" -eq 1 ] || { echo "$f: status $status: $output" >&2; false; }
        [[ "$output" == *"(bad_mesh)"* || "$output" == *"(too_large)"* ]] || { echo "$f: $output" >&2; false; }
        [[ "$output" == *"$f"* ]] || { echo "$f: the message does not name the file: $output" >&2; false; }
    done
}

@test "mesh readers: random bytes named .obj are refused or read as a valid mesh" {
    make_hostile_meshes
    run timeout $T "$TOOLS"/meshtool stats random.obj
    refute_signal
    # a text format skips lines it does not know: an empty result is an error
    [ "$status" -eq 1 ] || echo "$output" | jq -e '.triangles > 0' >/dev/null
}

@test "mesh readers: a converted hostile mesh leaves no output and no temporary file" {
    make_hostile_meshes
    mkdir out
    for f in range.obj lying.ply lying.stl count.glb index.glb; do
        run timeout $T "$TOOLS"/meshtool convert "$f" "out/${f%.*}.glb"
        refute_signal
        assert_failure
    done
    [ -z "$(ls -A out)" ]
}

@test "mesh readers: a directory, a dangling symlink, a path under a file, a FIFO are unreadable (66)" {
    mkdir dir.glb
    ln -s nowhere.glb dangling.glb
    echo x >file
    mkfifo fifo.glb
    for f in dir.glb dangling.glb file/under.glb fifo.glb; do
        run timeout $T "$TOOLS"/meshtool stats "$f"
        refute_signal
        # a FIFO with no writer reads as empty (bad_mesh, 1); the others cannot be opened (66)
        [ "$status" -eq 66 ] || [ "$f" = fifo.glb -a "$status" -eq 1 ] || { echo "$f: $status $output" >&2; false; }
    done
}

@test "mesh readers: a path with spaces and odd characters reads like any other" {
    "$TOOLS"/meshtool make cube cube.glb
    odd="a dir/it's a [cube] & \$x; é ü.glb"
    mkdir "a dir"
    cp cube.glb "$odd"
    run timeout $T "$TOOLS"/meshtool stats "$odd"
    assert_success
    echo "$output" | jq -e '.triangles == 12 and .watertight' >/dev/null
}

# ---- dedup-cache: NDJSON garbage and hostile paths ------------------------------

@test "dedup-cache key: NDJSON garbage gives one error record a line and the stream goes on" {
    echo data >good.png
    {
        echo 'not json at all {'
        echo '[1,2,3]'
        echo '42'
        echo '"a string"'
        echo 'null'
        echo '{"image": 5}'
        printf '{"image":"'; head -c 5000000 /dev/zero | tr '\0' a; printf '"}\n'
        echo '{"image":"good.png","resolution":-5}'
        echo '{"image":"good.png","resolution":1e300,"depth":"deep"}'
        echo '{"image":"good.png"}'
    } >garbage.ndjson
    run --separate-stderr timeout $T dedup-cache key --program mesh-gen <garbage.ndjson
    refute_signal
    [ "$status" -eq 1 ]
    printf '%s\n' "$output" | assert_ndjson
    [ "$(printf '%s\n' "$output" | wc -l)" -eq 10 ]
    # one error per bad line, each with a specific code
    run -0 bash -c "printf '%s\n' \"\$0\" | jq -r 'select(.error) | .error.code' | sort | uniq -c" "$output"
    [[ "$output" == *"no_input"* ]]
    [[ "$output" == *"bad_request"* ]]
    # the good line after the garbage still got its key; out-of-range values
    # are refused as mesh-gen refuses them
    keyed=$(timeout $T dedup-cache key --program mesh-gen <garbage.ndjson 2>/dev/null) || true
    run -0 jq -s '[.[] | select(.key)] | length' <<<"$keyed"
    [ "$output" -eq 1 ]
    run -0 jq -r 'select(.error and .image == "good.png") | .error.code' <<<"$keyed"
    [ "$output" = "$(printf 'bad_request\nbad_request')" ]
}

@test "dedup-cache lookup: garbage lines are error records, good lines pass through" {
    echo data >good.png
    printf '%s\n' '{' '[]' '7' '{"image":"good.png","id":"ok"}' '{"image":"missing.png","id":"gone"}' >in.ndjson
    run --separate-stderr timeout $T dedup-cache lookup --program mesh-gen <in.ndjson
    refute_signal
    [ "$status" -eq 1 ]
    printf '%s\n' "$output" | assert_ndjson
    [ "$(printf '%s\n' "$output" | wc -l)" -eq 5 ]
    printf '%s\n' "$output" | jq -e -s '.[3].id == "ok" and (.[3] | has("error") | not)' >/dev/null
    printf '%s\n' "$output" | jq -e -s '.[4].id == "gone" and .[4].error.code == "no_input"' >/dev/null
}

@test "dedup-cache put: hostile paths are no_input records; the good ones are stored" {
    : >empty.bin
    mkdir adir
    ln -s nowhere dangling
    echo x >file
    mkfifo fifo
    odd="odd name with spaces, 'quotes' & [brackets] é"
    echo "odd bytes" >"$odd"
    run --separate-stderr timeout $T dedup-cache put empty.bin adir dangling file/under fifo "$odd"
    refute_signal
    [ "$status" -ne 0 ]
    printf '%s\n' "$output" | assert_ndjson
    [ "$(printf '%s\n' "$output" | jq -r 'select(.error) | .error.code' | sort -u)" = no_input ]
    [ "$(printf '%s\n' "$output" | jq -s '[.[] | select(.error)] | length')" -eq 4 ]
    # the empty file and the odd name were stored and read back intact
    k=$(printf '%s\n' "$output" | jq -r --arg f "$odd" 'select(.file == $f) | .key')
    [ "$k" = "$(sha256sum "$odd" | cut -c1-64)" ]
    run -0 timeout $T dedup-cache get "$k" -o back
    cmp back "$odd"
    assert_no_temp "$ORFEAS_CACHE_DIR"
}

@test "dedup-cache key: a FIFO, a directory, a dangling symlink as the image never hang" {
    mkfifo fifo.png
    mkdir dir.png
    ln -s nowhere.png dangling.png
    printf '%s\n' '{"image":"fifo.png"}' '{"image":"dir.png"}' '{"image":"dangling.png"}' >in.ndjson
    run --separate-stderr timeout $T dedup-cache key --program mesh-gen <in.ndjson
    refute_signal
    [ "$(printf '%s\n' "$output" | wc -l)" -eq 3 ]
    printf '%s\n' "$output" | jq -e -s '.[1].error.code == "no_input" and .[2].error.code == "no_input"' >/dev/null
}

# ---- cache abuse ------------------------------------------------------------------

@test "cache abuse: keys with ../ or slashes are refused with bad_key, nothing outside is touched" {
    echo secret >outside
    mkdir -p "$ORFEAS_CACHE_DIR"
    for k in ../outside ../../outside "$(printf 'a%.0s' {1..62})/x" "ab/../../outside" \
             "$(printf 'A%.0s' {1..64})" ""; do
        run --separate-stderr timeout $T dedup-cache get "$k" -o got
        refute_signal
        assert_failure
        [ "$(printf '%s\n' "$output" | jq -r .error.code)" = bad_key ]
        run --separate-stderr timeout $T dedup-cache rm "$k"
        refute_signal
        assert_failure
    done
    [ "$(cat outside)" = secret ]
    [ ! -e got ]
    # a request naming an object by ../ is no key either: it is not looked up as one
    run --separate-stderr timeout $T dedup-cache lookup --program mesh-gen <<<'{"input":"../outside","image":"missing.png"}'
    refute_signal
    [ "$(printf '%s\n' "$output" | jq -r .error.code)" = no_input ]
}

@test "cache abuse: symlinks planted inside the cache are never followed" {
    echo payload >obj.bin
    k=$(sha256sum obj.bin | cut -c1-64)
    mkdir -p "$ORFEAS_CACHE_DIR"/objects "$ORFEAS_CACHE_DIR"/requests outside
    echo precious >outside/victim
    # the shard folder of the key is a symlink to a folder outside the cache
    ln -s "$BATS_TEST_TMPDIR/outside" "$ORFEAS_CACHE_DIR/objects/${k:0:2}"
    run --separate-stderr timeout $T dedup-cache put obj.bin
    refute_signal
    [ -z "$(ls "$BATS_TEST_TMPDIR/outside" | grep -v '^victim$')" ] # nothing written outside
    rm "$ORFEAS_CACHE_DIR/objects/${k:0:2}"
    # the object itself is a symlink to a file outside: a miss, and the file stays
    mkdir -p "$ORFEAS_CACHE_DIR/objects/${k:0:2}"
    ln -s "$BATS_TEST_TMPDIR/outside/victim" "$ORFEAS_CACHE_DIR/objects/${k:0:2}/${k:2}"
    run --separate-stderr timeout $T dedup-cache get "$k" -o got
    refute_signal
    assert_failure
    [ ! -s got ] || ! grep -q precious got
    [ "$(cat outside/victim)" = precious ]
    run --separate-stderr timeout $T dedup-cache verify --repair
    refute_signal
    [ "$(cat outside/victim)" = precious ]
    # a request entry that is a symlink to a well-formed entry outside: a miss
    echo img >a.png
    rk=$(echo '{"image":"a.png"}' | dedup-cache key --program mesh-gen | jq -r .key)
    mkdir -p "$ORFEAS_CACHE_DIR/requests/${rk:0:2}"
    printf '{"key":"%s","created":%s,"used":1,"cost_ms":1,"objects":[],"record":{"records":[{"stage":"voxel","planted":true},{"stage":"rough","planted":true}]}}' \
        "$rk" "$(date +%s)" >outside/entry.json
    ln -s "$BATS_TEST_TMPDIR/outside/entry.json" "$ORFEAS_CACHE_DIR/requests/${rk:0:2}/${rk:2}"
    run -0 timeout $T dedup-cache lookup --program mesh-gen <<<'{"image":"a.png"}'
    printf '%s\n' "$output" | jq -e 'has("planted") | not' >/dev/null
    # (the same bytes as a real entry do hit: the test above can fail)
    rm "$ORFEAS_CACHE_DIR/requests/${rk:0:2}/${rk:2}"
    cp outside/entry.json "$ORFEAS_CACHE_DIR/requests/${rk:0:2}/${rk:2}"
    run -0 timeout $T dedup-cache lookup --program mesh-gen <<<'{"image":"a.png"}'
    printf '%s\n' "$output" | jq -e '.planted' >/dev/null
    rm outside/entry.json
    # objects/ itself a symlink: the cache refuses to open
    rm -rf "$ORFEAS_CACHE_DIR/objects"
    ln -s "$BATS_TEST_TMPDIR/outside" "$ORFEAS_CACHE_DIR/objects"
    run --separate-stderr timeout $T dedup-cache put obj.bin
    refute_signal
    [ "$status" -eq 74 ]
    [ "$(printf '%s\n' "$output" | jq -r .error.code)" = cache_error ]
    [ "$(ls outside)" = victim ]
}

@test "cache abuse: a cache folder that cannot be created is a cache_error (74)" {
    echo x >file
    export ORFEAS_CACHE_DIR="$BATS_TEST_TMPDIR/file/cache"
    echo data >d.bin
    run --separate-stderr timeout $T dedup-cache put d.bin
    refute_signal
    [ "$status" -eq 74 ]
    [ "$(printf '%s\n' "$output" | jq -r .error.code)" = cache_error ]
    [[ "$stderr" == *"file/cache"* ]]
}

@test "cache abuse: another user's cache folder, or one writable by all, is refused" {
    mkdir -p theirs mine
    chown 65534 theirs
    chmod 0777 mine
    echo data >d.bin
    for d in theirs mine; do
        run --separate-stderr timeout $T dedup-cache --cache-dir "$BATS_TEST_TMPDIR/$d" put d.bin
        refute_signal
        [ "$status" -eq 74 ]
        [ "$(printf '%s\n' "$output" | jq -r .error.code)" = cache_error ]
        [ -z "$(find "$d" -type f)" ]
    done
}

@test "cache abuse: past the file-size limit a put fails with cache_error, no signal, no temp file" {
    head -c 3000000 /dev/urandom >big.bin
    echo small >small.bin
    run --separate-stderr timeout $T bash -c 'ulimit -f 1000; exec dedup-cache put big.bin small.bin'
    refute_signal
    [ "$status" -ne 0 ]
    printf '%s\n' "$output" | jq -e -s '.[0].error.code == "cache_error" and (.[1] | has("key"))' >/dev/null
    assert_no_temp "$ORFEAS_CACHE_DIR"
    run -0 timeout $T dedup-cache verify
    printf '%s\n' "$output" | jq -e '.ok and .bad_objects == 0' >/dev/null
}

@test "cache abuse: past the file-size limit a mesh write fails with io_error and leaves nothing" {
    run timeout $T bash -c "ulimit -f 8; exec '$TOOLS/meshtool' make sphere s.glb"
    refute_signal
    assert_failure
    [[ "$output" == *"(io_error)"* ]]
    [ ! -e s.glb ]
    assert_no_temp .
}

@test "cache abuse: a full disk (small tmpfs) fails with cache_error and the cache stays sound" {
    mkdir mnt
    mount -t tmpfs -o size=64k tmpfs mnt 2>/dev/null || skip "cannot mount a tmpfs here"
    head -c 300000 /dev/urandom >big.bin
    echo small >small.bin
    run --separate-stderr timeout $T dedup-cache --cache-dir "$BATS_TEST_TMPDIR/mnt/c" put big.bin small.bin
    local st=$status out=$output
    run timeout $T dedup-cache --cache-dir "$BATS_TEST_TMPDIR/mnt/c" verify
    local vout=$output
    local temp
    temp=$(find mnt -name '.tmp.*')
    umount mnt
    status=$st
    refute_signal
    [ "$st" -ne 0 ]
    printf '%s\n' "$out" | jq -e -s '.[0].error.code == "cache_error" and (.[1] | has("key"))' >/dev/null
    [ -z "$temp" ]
    printf '%s\n' "$vout" | jq -e '.ok' >/dev/null
}

# ---- mesh-gen ------------------------------------------------------------------

# Skip unless the program answers a request line with a record (a build
# whose mesh-gen is still the placeholder front end).
mesh_program_ready() {
    # a missing input is one failed record and status 1: never silence, a
    # crash or a hang, which fail the test that called this
    local out rc=0
    out=$(echo '{"image":"/nonexistent.png","mesh":"/nonexistent.glb"}' | timeout $T "$1" 2>/dev/null) || rc=$?
    [ "$rc" -eq 1 ] || { echo "$1 exited $rc on a missing input" >&2; return 1; }
    [ -n "$out" ] || { echo "$1 printed nothing for a missing input" >&2; return 1; }
}

# Hostile images in the current folder.
make_hostile_images() {
    : >empty.png
    head -c 2048 /dev/urandom >random.png
    cp "$ROOT"/tests/fuzz/corpus/image/disc_alpha.png disc.png
    cp "$ROOT"/tests/fuzz/corpus/image/disc.jpg disc.jpg
    head -c 100 disc.png >truncated.png
    head -c 150 disc.jpg >truncated.jpg
    cp "$ROOT"/tests/fuzz/corpus/image/huge.png huge.png
    cp "$ROOT"/tests/fuzz/corpus/image/clear.png clear.png
    cp "$ROOT"/tests/fuzz/corpus/image/uniform.png uniform.png
    cp "$ROOT"/tests/fuzz/corpus/image/one.png one.png
    mkdir dir.png
    ln -s nowhere.png dangling.png
    echo x >file
    mkdir "odd dir"
    cp disc.png "odd dir/it's a [disc] & é.png"
}

@test "mesh-gen: hostile images give specific error codes and the stream goes on" {
    mesh_program_ready mesh-gen
    make_hostile_images
    mkdir out
    printf '%s\n' empty.png random.png truncated.png truncated.jpg huge.png clear.png uniform.png \
        dir.png dangling.png file/under.png >list
    jq -c -n --arg p "odd dir/it's a [disc] & é.png" '{image: $p}' >>list
    echo disc.png >>list
    run --separate-stderr timeout 120 mesh-gen --out out <list
    refute_signal
    [ "$status" -eq 1 ]
    printf '%s\n' "$output" | assert_ndjson
    codes=$(printf '%s\n' "$output" | jq -r '[.image, (.error.code // "ok")] | @tsv' | sort -u)
    echo "$codes"
    for f in empty.png random.png truncated.png truncated.jpg; do
        grep -qP "^\Q$f\E\tbad_image$" <<<"$codes"
    done
    grep -qP '^huge.png\ttoo_large$' <<<"$codes"
    grep -qP '^clear.png\tno_foreground$' <<<"$codes"
    grep -qP '^uniform.png\tno_foreground$' <<<"$codes"
    for f in dir.png dangling.png file/under.png; do
        grep -qP "^\Q$f\E\t(io_error|no_input)$" <<<"$codes"
    done
    # the odd name and the good image after all that still made meshes
    printf '%s\n' "$output" | jq -e -s '[.[] | select(.image == "disc.png" and (has("error") | not))] | length > 0' >/dev/null
    printf '%s\n' "$output" | jq -e -s '[.[] | select((.image | test("odd dir")) and (has("error") | not))] | length > 0' >/dev/null
    assert_no_temp out
    assert_no_temp "$ORFEAS_CACHE_DIR"
}

@test "mesh-gen: a 1x1 image is a clean result or a specific error, never a crash" {
    mesh_program_ready mesh-gen
    make_hostile_images
    run --separate-stderr timeout $T mesh-gen <<<one.png
    refute_signal
    printf '%s\n' "$output" | assert_ndjson
    printf '%s\n' "$output" | jq -e '(has("error") | not) or (.error.code | test("^(no_foreground|bad_image|too_small)$"))' >/dev/null
}

@test "mesh-gen: NDJSON garbage, wrong types and absurd resolutions are bad_request" {
    mesh_program_ready mesh-gen
    make_hostile_images
    {
        echo '{not json'
        echo '[1,2]'
        echo '3.5'
        echo '{"image": 7}'
        echo '{"image":"disc.png","depth":"deep"}'
        echo '{"image":"disc.png","resolution":-4}'
        echo '{"image":"disc.png","resolution":{"voxel":1000000000,"rough":96}}'
        echo '{"image":"disc.png","resolution":{"voxel":"big"}}'
        echo '{"image":"disc.png","mask":"magic"}'
        printf '{"image":"'; head -c 5000000 /dev/zero | tr '\0' a; printf '"}\n'
        echo '{"image":"disc.png","id":"last"}'
    } >in.ndjson
    run --separate-stderr timeout 120 mesh-gen <in.ndjson
    refute_signal
    [ "$status" -eq 1 ]
    printf '%s\n' "$output" | assert_ndjson
    # every line before the last is exactly one error record with a specific code
    printf '%s\n' "$output" | jq -e -s '[.[] | select(.error)] | length == 10' >/dev/null
    printf '%s\n' "$output" | jq -e -s '[.[] | select(.error) | .error.code] | all(test("^(bad_request|too_large|no_input|io_error)$"))' >/dev/null
    printf '%s\n' "$output" | jq -e -s '[.[] | select(.id == "last" and (has("error") | not))] | length > 0' >/dev/null
}

@test "mesh-refine: hostile meshes give bad_mesh, no_input or too_large and the stream goes on" {
    make_hostile_meshes
    mkdir out adir
    ln -s nowhere.glb dangling.glb
    echo x >file
    mkfifo fifo.glb
    printf '%s\n' empty.obj range.obj zero.obj nan.obj huge-count.ply range.ply lying.ply truncated.ply \
        lying.stl cut.stl length.glb count.glb index.glb truncated.glb random.glb adir dangling.glb \
        file/under.glb fifo.glb cube.glb >list
    run --separate-stderr timeout 300 mesh-refine -q --out out --resolution 48 --refined-resolution 32 <list
    refute_signal
    [ "$status" -eq 1 ]
    printf '%s\n' "$output" | assert_ndjson
    printf '%s\n' "$output" | jq -r 'select(.error) | [.source, .error.code] | @tsv' >codes || true
    cat codes
    [ "$(printf '%s\n' "$output" | jq -s '[.[] | select(.error)] | length')" -eq 19 ]
    printf '%s\n' "$output" | jq -e -s '[.[] | select(.error) | .error.code] | all(test("^(bad_mesh|too_large|no_input)$"))' >/dev/null
    for f in adir dangling.glb file/under.glb; do grep -qP "^\Q$f\E\tno_input$" codes; done
    # the good mesh at the end still made its records and its output file
    printf '%s\n' "$output" | jq -e -s '[.[] | select((.mesh | type) == "object")] | length >= 2' >/dev/null
    [ "$(ls out)" = cube.glb ]
    assert_no_temp out
    assert_no_temp "$ORFEAS_CACHE_DIR"
}

@test "mesh-refine: NDJSON garbage, wrong types, absurd values and a 5 MB line are bad_request" {
    "$TOOLS"/meshtool make cube cube.glb
    {
        echo '{not json'
        echo '[1,2]'
        echo '3.5'
        echo 'null'
        echo '{"mesh": 7}'
        echo '{"mesh":"cube.glb","resolution":-4}'
        echo '{"mesh":"cube.glb","resolution":1000000000}'
        echo '{"mesh":"cube.glb","resolution":"fine"}'
        echo '{"mesh":"cube.glb","smooth":"lots"}'
        echo '{"mesh":"cube.glb","max_triangles":-1}'
        echo '{"mesh":"cube.glb","format":"exe"}'
        echo '{"field":"../../../etc/passwd"}'
        printf '{"mesh":"'; head -c 5000000 /dev/zero | tr '\0' a; printf '"}\n'
        echo '{"mesh":"cube.glb","id":"last","resolution":32,"refined_resolution":16}'
    } >in.ndjson
    run --separate-stderr timeout 120 mesh-refine -q <in.ndjson
    refute_signal
    [ "$status" -eq 1 ]
    printf '%s\n' "$output" | assert_ndjson
    printf '%s\n' "$output" | jq -e -s '[.[] | select(.error)] | length == 13' >/dev/null
    printf '%s\n' "$output" | jq -e -s '[.[] | select(.error) | .error.code] | all(. == "bad_request")' >/dev/null
    printf '%s\n' "$output" | jq -e -s '[.[] | select(.id == "last" and (has("error") | not))] | length > 0' >/dev/null
}

@test "mesh-refine: past the file-size limit, writes fail as records, nothing is half-written" {
    "$TOOLS"/meshtool make sphere sph.glb
    mkdir out
    # the cache write fails first: a cache_error record
    run --separate-stderr timeout 120 bash -c "ulimit -f 10; exec mesh-refine -q --out out --resolution 64 --refined-resolution 32 <<<sph.glb"
    refute_signal
    [ "$status" -eq 74 ]
    printf '%s\n' "$output" | jq -e -s '[.[] | select(.error) | .error.code] | index("cache_error") != null' >/dev/null
    # without a cache, the out file's write fails: an io_error record
    echo x >file
    run --separate-stderr timeout 120 bash -c "ulimit -f 10; ORFEAS_CACHE_DIR=\"$BATS_TEST_TMPDIR/file/cache\" exec mesh-refine -q --out out --resolution 64 --refined-resolution 32 <<<sph.glb"
    refute_signal
    [ "$status" -eq 74 ]
    printf '%s\n' "$output" | jq -e -s '[.[] | select(.error) | .error.code] | index("io_error") != null' >/dev/null
    [ -z "$(ls -A out)" ]
    assert_no_temp "$ORFEAS_CACHE_DIR"
}

@test "mesh-refine: a cache folder that cannot be made: 74 without --out, with it a warning and the work goes on" {
    "$TOOLS"/meshtool make cube cube.glb
    echo x >file
    export ORFEAS_CACHE_DIR="$BATS_TEST_TMPDIR/file/cache"
    # nowhere to keep the meshes: refused before any work
    run --separate-stderr timeout 120 mesh-refine --resolution 32 --refined-resolution 16 <<<cube.glb
    refute_signal
    [ "$status" -eq 74 ]
    [ -z "$output" ]
    [[ "$stderr" == *"give --out"* ]]
    run --separate-stderr timeout 120 mesh-refine --out models --resolution 32 --refined-resolution 16 <<<cube.glb
    refute_signal
    assert_success
    [[ "$stderr" == *"without the cache"* ]]
    printf '%s\n' "$output" | jq -e -s 'length == 2 and all(.[]; has("error") | not) and .[1].mesh.out == "models/cube.glb"
        and all(.[]; .mesh | has("path") | not)' >/dev/null
    [ -s models/cube.glb ]
}

@test "mesh-gen: a FIFO with no writer and a tiny --max-pixels never hang and have their codes" {
    mesh_program_ready mesh-gen
    make_hostile_images
    mkfifo fifo.png
    printf '%s\n' fifo.png '{"image":"disc.png","max_pixels":100}' disc.png >in
    run --separate-stderr timeout 120 mesh-gen -q <in
    refute_signal
    [ "$status" -eq 1 ]
    printf '%s\n' "$output" | jq -e -s '.[0].image == "fifo.png" and .[0].error.code == "no_input" and (.[0].error.message | test("FIFO"))' >/dev/null
    printf '%s\n' "$output" | jq -e -s '.[1].error.code == "too_large"' >/dev/null
    printf '%s\n' "$output" | jq -e -s '[.[] | select(.image == "disc.png" and (has("error") | not))] | length == 2' >/dev/null
}

@test "mesh-gen: past the file-size limit the record is a cache_error and nothing is half-written" {
    mesh_program_ready mesh-gen
    make_hostile_images
    mkdir out
    run --separate-stderr timeout 120 bash -c "ulimit -f 5; exec mesh-gen -q -o out <<<disc.png"
    refute_signal
    [ "$status" -eq 74 ]
    printf '%s\n' "$output" | jq -e -s '[.[] | select(.error) | .error.code] | index("cache_error") != null' >/dev/null
    assert_no_temp out
    assert_no_temp "$ORFEAS_CACHE_DIR"
    # whatever reached out/ is whole
    for f in out/*; do [ -e "$f" ] || continue; run -0 "$TOOLS"/meshtool stats "$f"; done
}

@test "mesh-gen: a cache folder that cannot be made is refused with status 74 and a message naming it" {
    mesh_program_ready mesh-gen
    make_hostile_images
    export ORFEAS_CACHE_DIR="$BATS_TEST_TMPDIR/file/cache"
    run --separate-stderr timeout 60 mesh-gen <<<disc.png
    refute_signal
    [ "$status" -eq 74 ]
    [[ "$stderr" == *"file/cache"* ]]
    [ ! -e "$BATS_TEST_TMPDIR/file/cache" ]
}
