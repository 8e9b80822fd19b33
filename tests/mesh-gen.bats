#!/usr/bin/env bats
# mesh-gen as a user runs it: images the suite draws (tests/tools/mksample),
# the records, the meshes they name (meshtool, the glTF validator, assimp),
# errors, exit status, the cache and --out.
load test_helper

mk() { "$TOOLS/mksample" "$@"; }
meshtool() { "$TOOLS/meshtool" "$@"; }
hex64='^[0-9a-f]{64}$'

@test "alpha cut-out: a voxel then a rough record, inflated, watertight meshes in the cache" {
    mk figure fig.png 256
    run --separate-stderr mesh-gen fig.png
    assert_success
    printf '%s\n' "$output" | assert_ndjson
    [ "$(printf '%s\n' "$output" | jq -s 'length')" -eq 2 ]
    printf '%s\n' "$output" | jq -e -s --arg hex "$hex64" '
        .[0].stage == "voxel" and .[0].progress == 25 and .[1].stage == "rough" and .[1].progress == 50
        and all(.[]; .image == "fig.png" and .mode == "inflate" and .mask == "alpha"
                and .backend == "cpu" and .cached == false and (.ms | type) == "number"
                and (.key | test($hex)) and (.field | test($hex)) and (.mesh.object | test($hex))
                and .mesh.format == "glb" and .mesh.watertight == true and .mesh.triangles > 0
                and (.mesh.bbox | length) == 2)
        and .[0].key == .[1].key and .[0].field != .[1].field
        and .[1].mesh.triangles > .[0].mesh.triangles'
    for p in $(printf '%s\n' "$output" | jq -r '.mesh.path'); do
        cp "$p" m.glb
        run meshtool stats m.glb
        printf '%s\n' "$output" | jq -e '.watertight and .nonmanifold == 0 and .volume > 0 and .components == 1'
    done
}

@test "the mesh covers the image: longer side spans [-0.5, 0.5], +y up, centred" {
    mk figure fig.png 200
    mesh-gen fig.png | jq -e -s '.[1].mesh.bbox as [$lo, $hi]
        | ($hi[1] > 0.4 and $lo[1] < -0.4)            # the figure is tall: head at +y, feet at -y
        and ($hi[0] - $lo[0]) < ($hi[1] - $lo[1])
        and (($lo[2] + $hi[2]) | fabs) < 0.01          # symmetric front and back
        and ($lo[0] >= -0.5 and $hi[0] <= 0.5)'
}

@test "silhouette on white is cut out by its border colour and says so" {
    mk silhouette sil.png 256
    run --separate-stderr mesh-gen sil.png
    assert_success
    printf '%s\n' "$output" | jq -e -s 'all(.[]; .mode == "inflate" and .mask == "border"
        and (.why | test("border")) and .mesh.watertight)'
}

@test "a grey (1-channel) PNG works" {
    mk grey grey.png 128
    run --separate-stderr mesh-gen grey.png
    assert_success
    printf '%s\n' "$output" | jq -e -s 'length == 2 and all(.[]; .mesh.watertight and .mode == "inflate")'
}

@test "a 16-bit grey+alpha PNG and a palette PNG work" {
    command -v python3 >/dev/null || skip "python3 is not installed"
    python3 - <<'PY'
import struct, zlib
def png(name, w, h, colour, depth, rows, plte=b""):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    raw = b"".join(b"\0" + r for r in rows)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0))
    if plte:
        data += chunk(b"PLTE", plte)
    data += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    open(name, "wb").write(data)
n = 96
inside = lambda x, y: (x - 48) ** 2 + (y - 48) ** 2 < 35 ** 2
png("g16.png", n, n, 4, 16, [b"".join(struct.pack(">HH", 20000, 65535 if inside(x, y) else 0)
                                      for x in range(n)) for y in range(n)])
png("pal.png", n, n, 3, 8, [bytes(1 if inside(x, y) else 0 for x in range(n)) for y in range(n)],
    plte=bytes([255, 255, 255, 200, 30, 30]))
PY
    run --separate-stderr mesh-gen g16.png pal.png
    assert_success
    printf '%s\n' "$output" | jq -e -s 'length == 4 and .[0].mask == "alpha" and .[2].mask == "border"
        and all(.[]; .mode == "inflate" and .mesh.watertight)'
}

@test "a photograph-like noise image becomes a relief and says why" {
    mk noise photo.png 200
    run --separate-stderr mesh-gen photo.png
    assert_success
    printf '%s\n' "$output" | jq -e -s 'length == 2 and all(.[]; .mode == "relief"
        and (.why | test("photograph")) and .mesh.watertight)'
    # the relief covers the whole picture: 200 x 150 -> x in [-0.5, 0.5], y in [-0.375, 0.375]
    printf '%s\n' "$output" | jq -e -s '.[1].mesh.bbox as [$lo, $hi]
        | ($hi[0] - 0.5 | fabs) < 0.02 and ($hi[1] - 0.375 | fabs) < 0.02'
}

@test "bad images: 1x1, fully transparent, truncated, text named .png, missing: error records, exit 1" {
    mk dot dot.png
    mk clear clear.png 64
    mk figure fig.png 128
    head -c 700 fig.png > trunc.png
    echo "hello, I am not a picture" > notes.png
    run --separate-stderr mesh-gen dot.png clear.png trunc.png notes.png missing.png
    assert_failure 1
    printf '%s\n' "$output" | assert_ndjson
    printf '%s\n' "$output" | jq -e -s '
        length == 5 and all(.[]; has("mesh") | not)
        and (map(.error.code) == ["no_foreground", "no_foreground", "bad_image", "bad_image", "no_input"])
        and all(.[]; . as $r | $r.error.message | contains($r.image))'
}

@test "a failure does not stop the stream: good records still come, exit 1" {
    mk figure fig.png 128
    mk clear clear.png 32
    run --separate-stderr mesh-gen clear.png fig.png
    assert_failure 1
    printf '%s\n' "$output" | jq -e -s 'length == 3 and .[0].error.code == "no_foreground"
        and .[1].stage == "voxel" and .[2].stage == "rough"'
}

@test "GLB output passes the glTF validator; OBJ, PLY, STL read back in assimp" {
    mk figure fig.png 128
    mesh-gen -o out fig.png >/dev/null
    run gltf_validate out/fig.voxel.glb out/fig.rough.glb
    assert_success
    printf '%s\n' "$output" | jq -e -s 'length == 2 and all(.[]; .errors == 0 and .warnings == 0)'
    for f in obj ply stl; do
        run --separate-stderr mesh-gen -f "$f" -o out fig.png
        assert_success
        tris=$(printf '%s\n' "$output" | jq -s '.[1].mesh.triangles')
        faces=$(assimp info "out/fig.rough.$f" -r 2>/dev/null | awk '$1 == "Faces:" { print $2; exit }')
        [ "$faces" -eq "$tris" ]
    done
}

@test "a second run is a cache hit with the same meshes; --no-cache recomputes" {
    mk figure fig.png 128
    first=$(mesh-gen fig.png)
    second=$(mesh-gen fig.png)
    printf '%s\n' "$second" | jq -e -s 'length == 2 and all(.[]; .cached == true)'
    [ "$(printf '%s\n' "$first" | jq -c '[.key, .field, .mesh.object]')" = \
      "$(printf '%s\n' "$second" | jq -c '[.key, .field, .mesh.object]')" ]
    # a renamed copy is the same content: a hit too, under its own name
    cp fig.png copy.png
    mesh-gen copy.png | jq -e -s 'all(.[]; .cached == true and .image == "copy.png")'
    mesh-gen --no-cache fig.png | jq -e -s 'all(.[]; .cached == false)'
    # other parameters are another request
    mesh-gen --depth 0.5 fig.png | jq -e -s 'all(.[]; .cached == false)'
    dedup-cache stats | jq -e '.hits >= 2'
}

@test "mesh-gen's key is the one dedup-cache computes for the same request" {
    mk disc disc.png 64
    k1=$(mesh-gen disc.png | jq -r -s '.[0].key')
    k2=$(echo disc.png | dedup-cache key --program mesh-gen | jq -r .key)
    [ "$k1" = "$k2" ]
    k3=$(echo '{"image":"disc.png","depth":0.5,"mode":"extrude","thickness":0.3}' | mesh-gen | jq -r -s '.[0].key')
    k4=$(echo '{"image":"disc.png","depth":0.5,"mode":"extrude","thickness":0.3}' | dedup-cache key --program mesh-gen | jq -r .key)
    [ "$k3" = "$k4" ] && [ "$k3" != "$k1" ]
    # and a lookup through dedup-cache answers with mesh-gen's records
    echo disc.png | dedup-cache lookup --program mesh-gen | jq -e '.cached == true'
}

@test "the field is a cache object that starts with its magic" {
    mk disc disc.png 64
    key=$(mesh-gen disc.png | jq -r -s '.[0].field')
    dedup-cache get "$key" -o field.bin
    [ "$(head -c 8 field.bin)" = "ORFFIELD" ]
}

@test "--out writes <stem>.<stage>.<ext> atomically, the same bytes as the cache" {
    mk figure fig.png 128
    run --separate-stderr mesh-gen --out res fig.png
    assert_success
    assert_file_exists res/fig.voxel.glb
    assert_file_exists res/fig.rough.glb
    [ "$(ls -A res | wc -l)" -eq 2 ]   # no temporary file left
    p=$(printf '%s\n' "$output" | jq -r -s '.[1].mesh.path')
    cmp "$p" res/fig.rough.glb
    printf '%s\n' "$output" | jq -e -s '.[1].mesh.out == "res/fig.rough.glb"'
    # a hit writes them too
    rm -r res
    mesh-gen --out res fig.png | jq -e -s 'all(.[]; .cached)'
    cmp "$p" res/fig.rough.glb
}

@test "a failed image leaves no file in --out" {
    mk clear clear.png 32
    echo junk > bad.png
    mkdir res
    run --separate-stderr mesh-gen --out res clear.png bad.png
    assert_failure 1
    [ -z "$(ls -A res)" ]
}

@test "requests on stdin: bare paths and objects; fields pass through; the request wins over flags" {
    mk disc disc.png 64
    run --separate-stderr mesh-gen -f ply < <(printf '%s\n' disc.png \
        '{"image":"disc.png","id":7,"format":"stl","resolution":{"voxel":16,"rough":40}}' \
        '{"image":"disc.png","mode":"magic"}' '{not json')
    assert_failure 1
    printf '%s\n' "$output" | jq -e -s '
        length == 6
        and .[0].mesh.format == "ply" and .[1].mesh.format == "ply"
        and .[2].id == 7 and .[2].mesh.format == "stl" and .[2].grid == 16
        and .[3].id == 7 and .[3].grid == 40 and .[3].resolution == {"voxel":16,"rough":40}
        and .[4].error.code == "bad_request" and .[5].error.code == "bad_request"'
}

@test "'-' reads requests from stdin after the arguments" {
    mk disc disc.png 64
    echo disc.png | mesh-gen disc.png - | jq -e -s 'length == 4'
}

@test "extrude and back=flat give closed solids; --max-pixels refuses before decoding" {
    mk disc disc.png 64
    mesh-gen --mode extrude --thickness 0.2 disc.png | jq -e -s '.[1].mode == "extrude" and .[1].mesh.watertight
        and (.[1].mesh.bbox as [$lo, $hi] | ($hi[2] - $lo[2] - 0.2 | fabs) < 0.02)'
    mesh-gen --back flat disc.png | jq -e -s '.[1].mesh.watertight and .[1].mesh.bbox[0][2] > -0.02'
    run --separate-stderr mesh-gen --max-pixels 1000 disc.png
    assert_failure 1
    printf '%s\n' "$output" | jq -e '.error.code == "too_large"'
}

@test "--help names every flag; bad flags are usage errors (64)" {
    run mesh-gen --help
    assert_success
    for f in --mode --mask --depth --back --thickness --invert --base --voxel-resolution \
             --rough-resolution --resolution --format --out --no-cache --max-pixels \
             --cache-dir --ttl --quiet --verbose --help --version; do
        assert_output --partial -- "$f"
    done
    run mesh-gen --version
    assert_success
    run mesh-gen --bogus
    assert_failure 64
    run mesh-gen --mode wobbly x.png
    assert_failure 64
    run mesh-gen --resolution 2 x.png
    assert_failure 64
}

@test "the man page documents every flag and lints clean" {
    page="$ROOT/man/mesh-gen.1"
    assert_file_exists "$page"
    command -v mandoc >/dev/null || skip "mandoc is not installed"
    text=$(mandoc -Tascii "$page" | col -b)
    for f in --mode --mask --depth --back --thickness --invert --base --voxel-resolution \
             --rough-resolution --resolution --format --out --no-cache --max-pixels \
             --cache-dir --ttl --quiet --verbose --help --version \
             no_foreground bad_image too_large bad_request io_error watertight bbox progress; do
        grep -q -- "$f" <<<"$text"
    done
    run mandoc -Tlint -W warning "$page"
    assert_success
}

@test "--progressive streams voxel, rough, refined, final: watertight, textured final within its budget" {
    mk figure fig.png 256
    run --separate-stderr mesh-gen --progressive --out out fig.png
    assert_success
    stages=$output
    printf '%s\n' "$output" | assert_ndjson
    printf '%s\n' "$output" | jq -e -s --arg hex "$hex64" '
        length == 4 and map(.stage) == ["voxel", "rough", "refined", "final"]
        and map(.progress) == [25, 50, 75, 100]
        and all(.[]; .mesh.watertight == true and (.mesh.object | test($hex)) and .backend == "cpu"
                and (.field | test($hex)))
        and .[0].key == .[1].key and (map(.key) | unique | length) == 3
        and .[2].field == .[1].field and .[3].field == .[1].field
        and .[2].mesh.triangles > .[1].mesh.triangles
        and .[3].textured == true and .[3].decimation.target_met == true
        and .[3].mesh.triangles <= 50000 and (.[0].ms <= .[1].ms and .[1].ms <= .[2].ms and .[2].ms <= .[3].ms)'
    # mesh-gen's stages as <stem>.<stage>.glb, the final mesh as <stem>.glb
    assert_equal "$(ls out | paste -sd' ')" "fig.glb fig.rough.glb fig.voxel.glb"
    run node "$ROOT/tests/gltf-validate.js" out/fig.glb
    assert_success
    cp "$(jq -r 'select(.stage == "refined") | .mesh.path' <<<"$stages")" refined.glb
    run meshtool stats refined.glb
    printf '%s\n' "$output" | jq -e '.watertight and .nonmanifold == 0 and .volume > 0'
}

@test "--progressive after a cache hit reads the field back and still makes all four stages" {
    mk figure fig.png 128
    mesh-gen fig.png > first.ndjson
    run --separate-stderr mesh-gen --progressive fig.png
    assert_success
    printf '%s\n' "$output" | jq -e -s 'map(.stage) == ["voxel", "rough", "refined", "final"]
        and .[0].cached == true and .[1].cached == true and .[2].cached == false
        and all(.[]; .mesh.watertight == true)'
    echo '{"image": "fig.png", "progressive": true, "id": 7}' | mesh-gen > req.ndjson
    jq -e -s 'length == 4 and all(.[]; .id == 7)' req.ndjson
}

@test "--backend: cpu works and gives the same meshes; cuda without a device is 69 / unavailable; bad names 64" {
    mk figure fig.png 128
    run --separate-stderr mesh-gen --no-cache --backend cpu fig.png
    assert_success
    cpu=$(printf '%s\n' "$output" | jq -r '.mesh.object' | tr '\n' ' ')
    printf '%s\n' "$output" | jq -e -s 'all(.[]; .backend == "cpu" and (has("fallback") | not))'
    run --separate-stderr mesh-gen --no-cache --backend auto fig.png
    assert_success
    [ "$(printf '%s\n' "$output" | jq -r '.mesh.object' | tr '\n' ' ')" = "$cpu" ]
    if "$ROOT/build/bin/gpu-stats" --require-gpu > /dev/null 2>&1; then
        skip "a GPU is present: the unavailable path cannot be seen here"
    fi
    run --separate-stderr mesh-gen --backend cuda fig.png
    [ "$status" -eq 69 ]
    [ -z "$output" ]
    [[ "$stderr" == *"cuda"* ]]
    run --separate-stderr env ORFEAS_BACKEND=cuda mesh-gen fig.png
    [ "$status" -eq 69 ]
    run --separate-stderr env ORFEAS_BACKEND=cuda mesh-gen --backend cpu fig.png
    assert_success
    run --separate-stderr mesh-gen --backend gpu fig.png
    [ "$status" -eq 64 ]
    run --separate-stderr sh -c 'echo "{\"image\": \"fig.png\", \"backend\": \"cuda\"}" | mesh-gen'
    [ "$status" -eq 1 ]
    printf '%s\n' "$output" | jq -e '.error.code == "unavailable"'
}

@test "dedup-cache lookup | mesh-gen: hits pass through as they are, only misses are work" {
    mk figure a.png 128
    mk disc b.png 128
    mesh-gen a.png > first.ndjson
    stores=$(dedup-cache stats | jq .stores)
    run --separate-stderr bash -c 'printf "a.png\n{\"image\":\"b.png\",\"id\":7}\n" | dedup-cache lookup | mesh-gen'
    assert_success
    printf '%s\n' "$output" | jq -e -s '
        length == 4
        and [.[0].stage, .[1].stage, .[2].stage, .[3].stage] == ["voxel", "rough", "voxel", "rough"]
        and .[0].cached and .[1].cached and (.[2].cached | not) and (.[3].cached | not)
        and .[2].id == 7 and .[3].id == 7'
    # the hits are the records of the first run
    assert_equal "$(printf '%s\n' "$output" | jq -s -c '[.[0].mesh.object, .[1].mesh.object]')" \
                 "$(jq -s -c '[.[0].mesh.object, .[1].mesh.object]' first.ndjson)"
    # only b.png was computed and stored
    [ "$(dedup-cache stats | jq .stores)" -gt "$stores" ]
}

@test "an error record from upstream passes through and counts as failed" {
    run --separate-stderr mesh-gen - <<<'{"image":"x.png","error":{"code":"bad_image","message":"x.png: upstream"}}'
    assert_failure 1
    assert_equal "$(jq -r .error.message <<<"$output")" "x.png: upstream"
}
