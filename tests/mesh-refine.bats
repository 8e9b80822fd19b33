#!/usr/bin/env bats
# mesh-refine: what a user checks on the refined and final meshes.
load test_helper

# mesh-gen-like records: tests/tools/mkfield draws a cut-out, makes its field
# with the library and stores it in the test's cache (the tests below also feed
# real mesh-gen output).
records() { "$TOOLS/mkfield" "$1" "$1.png" "${2:-192}"; }

@test "a mesh-gen pipeline: voxel and rough pass through, then one refined and one final record" {
    records disc > recs
    run --separate-stderr mesh-refine < recs
    assert_success
    echo "$output" | assert_ndjson
    assert_equal "$(echo "$output" | jq -r '.stage' | paste -sd,)" "voxel,rough,refined,final"
    assert_equal "$(echo "$output" | jq -r '.progress' | paste -sd,)" "25,50,75,100"
    # mesh-gen's records come out byte for byte as they went in
    assert_equal "$(echo "$output" | head -2 | jq -cS .)" "$(jq -cS . recs)"
    # a repeated record passes through but is not refined again
    cat recs recs | mesh-refine -q > twice
    assert_equal "$(jq -r .stage twice | paste -sd,)" "voxel,rough,refined,final,voxel,rough"
    echo "$output" | jq -e -s '.[2:] | all(.[]; .id == "disc" and .backend == "cpu" and .cached == false
        and (.key | length) == 64 and (.field | length) == 64 and .mesh.format == "glb"
        and (.mesh.path | test("/objects/")) and .mesh.watertight == true)'
    # the cached object is the mesh the record describes
    path=$(echo "$output" | jq -r 'select(.stage=="final") | .mesh.path')
    assert_file_exists "$path"
    assert_equal "$("$TOOLS/meshcheck" "$path" | jq .triangles)" \
        "$(echo "$output" | jq -r 'select(.stage=="final") | .mesh.triangles')"
}

@test "two images with the same pixels (one field) each get their refined and final meshes" {
    cp "$ROOT/samples/star.png" a.png
    cp "$ROOT/samples/star.png" b.png
    mesh-gen -q a.png b.png > recs
    # the two rough records name the same field, and only the image tells them apart
    assert_equal "$(jq -r 'select(.stage=="rough") | .field' recs | sort -u | wc -l)" 1
    for j in 1 2; do
        rm -rf out
        run --separate-stderr mesh-refine -q -j "$j" --out out < recs
        assert_success
        assert_equal "$(echo "$output" | jq -r 'select(.stage=="final") | .image' | sort | paste -sd,)" "a.png,b.png"
        assert_file_exists out/a.glb
        assert_file_exists out/b.glb
        cmp out/a.glb out/b.glb
    done
}

@test "--stage refined emits only the refined record" {
    records ring > recs
    run mesh-refine --stage refined < recs
    assert_success
    assert_equal "$(echo "$output" | jq -r .stage | paste -sd,)" "voxel,rough,refined"
}

# The quality criteria, on every shape.
check_shape() {
    records "$1" 256 > recs
    mesh-refine --out out < recs > out.ndjson
    jq -e 'select(.stage=="final") | .mesh.triangles <= 50000 and .decimation.target_met' out.ndjson
    gltf_validate "out/$1.glb" > v.json
    jq -e '.errors == 0 and .textures >= 1' v.json
    "$TOOLS/meshcheck" "out/$1.glb" "$1.png" > c.json
    cat c.json
    jq -e '.watertight and .nonmanifold_edges == 0 and .nonmanifold_vertices == 0' c.json
    jq -e '.iou >= 0.98' c.json
    jq -e '.sharp_share <= 0.005' c.json
}

@test "disc: watertight, manifold, silhouette, dihedral, budget, valid textured GLB" {
    check_shape disc
}

@test "ring (a hole): watertight, manifold, silhouette, dihedral, budget, valid textured GLB" {
    check_shape ring
}

@test "islands: watertight, manifold, silhouette, dihedral, budget, valid textured GLB" {
    check_shape islands
}

@test "thin L: watertight, manifold, silhouette, dihedral, budget, valid textured GLB" {
    check_shape thin-l
}

@test "blob: watertight, manifold, silhouette, dihedral, budget, valid textured GLB" {
    check_shape blob
}

@test "a real-world-like STL (300k triangles, unwelded, floater, flipped faces) comes out watertight" {
    "$TOOLS/meshcheck" dirty dirty.stl 300000
    run mesh-refine --weld 1e-5 --smooth 0 dirty.stl
    assert_success
    final=$(echo "$output" | jq -c 'select(.stage=="final")')
    echo "$final" | jq -e '.source == "dirty.stl" and .mesh.watertight and .mesh.triangles <= 50000'
    echo "$final" | jq -e '.repair.before.watertight == false and .repair.after.watertight'
    echo "$final" | jq -e '.repair.welded_vertices > 0 and .repair.floater_components == 1
        and .repair.flipped_triangles > 0 and .repair.before.components > 1 and .repair.after.components == 1'
    "$TOOLS/meshcheck" "$(echo "$final" | jq -r .mesh.path)" > c.json
    jq -e '.watertight and .triangles <= 50000' c.json
}

@test "an open mesh gets a clear report: not watertight, its boundary edges" {
    "$TOOLS/meshcheck" open open.ply
    run mesh-refine --smooth 0 open.ply
    assert_success
    echo "$output" | jq -e -s '.[-1] | .repair.after.watertight == false and .repair.after.boundary_edges == 24
        and .mesh.watertight == false'
    run mesh-refine --smooth 0 --fill-holes 30 open.ply
    echo "$output" | jq -e -s '.[-1] | .repair.after.watertight and .repair.holes_filled == 1'
}

@test "records with mesh as an object, and bare paths on stdin, with pass-through fields" {
    "$TOOLS/meshtool" make sphere s.obj
    printf '{"mesh":{"path":"s.obj"},"id":7,"user":{"x":1}}\ns.obj\n' | mesh-refine --format ply > out
    jq -e -s 'length == 4 and .[1].id == 7 and .[1].user.x == 1 and .[3].source == "s.obj"
        and all(.[]; .mesh.format == "ply")' out
}

@test "every output format, written with --out, no temporary files left" {
    "$TOOLS/meshtool" make torus t.stl
    for f in glb obj ply stl; do
        run mesh-refine --format $f --out dir t.stl
        assert_success
        assert_file_exists "dir/t.$f"
    done
    run assimp info dir/t.obj
    assert_success
    [ -z "$(find dir -name '.*' -o -name '*tmp*')" ]
    records disc > recs
    mesh-refine --format obj --out d2 < recs
    assert_file_exists d2/disc.obj
    assert_file_exists d2/disc.mtl
    assert_file_exists d2/disc.texture.png
    grep -q '^mtllib disc.mtl$' d2/disc.obj
    grep -q '^map_Kd disc.texture.png$' d2/disc.mtl
    mesh-refine --format ply --out d3 < recs | jq -e -s '.[-1].textured'
}

@test "a second run is answered from the cache" {
    records islands > recs
    mesh-refine < recs > first
    run mesh-refine < recs
    assert_success
    echo "$output" | jq -e -s 'length == 4 and ([.[2:][] | .cached] == [true, true])'
    assert_equal "$(echo "$output" | jq -r 'select(.key) | .key')" "$(jq -r 'select(.key) | .key' first)"
    assert_equal "$(echo "$output" | jq -r 'select(.mesh) | .mesh.object')" "$(jq -r 'select(.mesh) | .mesh.object' first)"
    # a different parameter misses; --no-cache never hits
    mesh-refine --max-triangles 1000 < recs | jq -e -s '.[2].cached and (.[3].cached | not)'
    mesh-refine --no-cache < recs | jq -e -s '[.[2:][] | .cached] == [false, false]'
}

@test "an unreadable image: the mesh comes untextured with a warning" {
    records disc > recs
    rm disc.png
    run mesh-refine < recs
    assert_success
    echo "$output" | jq -e -s '.[3].textured == false and (.[3].warnings[0] | test("disc.png"))'
}

@test "--jobs keeps input order; --unordered gives every record" {
    for i in 1 2 3 4; do "$TOOLS/meshtool" make sphere s$i.ply; done
    run mesh-refine --jobs 3 --smooth 0 --stage refined s1.ply s2.ply s3.ply s4.ply
    assert_success
    assert_equal "$(echo "$output" | jq -r .source | paste -sd,)" "s1.ply,s2.ply,s3.ply,s4.ply"
    run mesh-refine --jobs 3 --unordered --smooth 0 --no-cache s1.ply s2.ply s3.ply s4.ply
    assert_success
    assert_equal "$(echo "$output" | jq -r 'select(.stage=="final") | .source' | sort | paste -sd,)" \
        "s1.ply,s2.ply,s3.ply,s4.ply"
}

@test "errors: missing file, garbage mesh, bad request, too large, no field; the stream goes on" {
    "$TOOLS/meshtool" make cube c.ply
    head -c 3000 /dev/urandom > junk.stl
    printf 'solid x\nfacet normal 0 0 1\nouter loop\nvertex nan nan nan\nvertex nan 0 0\nvertex 0 nan 0\nendloop\nendfacet\nendsolid x\n' > nan.stl
    run --separate-stderr mesh-refine missing.obj junk.stl nan.stl c.ply
    assert_equal "$status" 1
    echo "$output" | jq -e -s '.[0].error.code == "no_input" and (.[0].error.message | test("missing.obj"))'
    echo "$output" | jq -e -s '.[1].error.code == "bad_mesh" and .[2].error.code == "bad_mesh"'
    echo "$output" | jq -e -s '.[-1].stage == "final" and .[-1].source == "c.ply"'
    run mesh-refine -q --max-triangles-in 5 c.ply
    assert_equal "$status" 1
    echo "$output" | jq -e '.error.code == "too_large"'
    run mesh-refine -q <<< '{"field":"'"$(printf 'a%.0s' {1..64})"'","image":"x.png"}'
    assert_equal "$status" 1
    echo "$output" | jq -e '.error.code == "no_field"'
    run mesh-refine -q <<< '{"mesh":"c.ply","smooth":-1}'
    assert_equal "$status" 1
    echo "$output" | jq -e '.error.code == "bad_request"'
    run mesh-refine -q <<< '[1,2]'
    assert_equal "$status" 1
    echo "$output" | jq -e '.error.code == "bad_request"'
}

@test "request fields override the flags" {
    "$TOOLS/meshtool" make sphere s.ply
    run mesh-refine <<< '{"mesh":"s.ply","max_triangles":100,"format":"stl","smooth":0}'
    assert_success
    echo "$output" | jq -e -s '.[1].mesh.triangles <= 100 and .[1].mesh.format == "stl" and .[1].decimation.target == 100'
}

@test "bad flag values exit 64" {
    for a in "--stage rough" "--resolution 4" "--refined-resolution x" "--smooth -1" \
             "--max-triangles -5" "--max-error nan" "--format fbx" "--fill-holes x" "--weld -1" \
             "--floaters 2" "--jobs 0" "--ttl forever" "--max-triangles-in x" \
             "--max-triangles 0"; do
        run --separate-stderr mesh-refine $a < /dev/null
        assert_equal "$status" 64
        [[ "$stderr" == *"mesh-refine"* ]]
    done
}

@test "--backend: cpu works, cuda without a device is unavailable (69), nonsense is usage (64)" {
    records disc > recs
    run --separate-stderr mesh-refine --backend cpu --stage refined < recs
    assert_success
    echo "$output" | jq -e -s '.[2].stage == "refined" and .[2].backend == "cpu" and (.[2] | has("fallback") | not)'
    if ! gpu-stats --require-gpu >/dev/null 2>&1; then
        run --separate-stderr mesh-refine --backend cuda < recs
        assert_equal "$status" 69
        [[ "$stderr" == *"cuda"* ]]
        run mesh-refine -q <<< '{"mesh":"x.obj","backend":"cuda"}'
        assert_equal "$status" 1
        echo "$output" | jq -e '.error.code == "unavailable"'
        # a simulated out-of-memory on CUDA is redone on the CPU and says so
        ORFEAS_TEST_CUDA_OOM=1 mesh-refine --no-cache --backend cuda --stage refined < recs > oom
        jq -e -s '.[2].backend == "cpu" and .[2].fallback == "cuda_oom"' oom
    fi
    run --separate-stderr mesh-refine --backend gpu < /dev/null
    assert_equal "$status" 64
    run mesh-refine -q <<< '{"mesh":"x.obj","backend":"tpu"}'
    echo "$output" | jq -e '.error.code == "bad_request"'
}

@test "records name the grid each stage used; a hit with --out writes the cached object's very bytes" {
    records disc > recs
    run --separate-stderr mesh-refine --resolution 200 --refined-resolution 120 < recs
    assert_success
    assert_equal "$(echo "$output" | jq -r 'select(.progress > 50) | .grid' | paste -sd,)" "120,200"
    mesh-refine --out first < recs > /dev/null
    run --separate-stderr mesh-refine --out again < recs
    assert_success
    final=$(echo "$output" | jq -c 'select(.stage == "final")')
    assert_equal "$(jq -r '[.cached, .grid] | @csv' <<<"$final")" "true,256"
    obj=$(jq -r .mesh.path <<<"$final")
    cmp "$obj" "$(jq -r .mesh.out <<<"$final")"
    cmp first/disc.glb again/disc.glb
}

@test "an out-of-range request field is named with the value given" {
    run --separate-stderr mesh-refine - <<<$'{"mesh":"x.ply","resolution":-4}\n{"mesh":"x.ply","resolution":1e9}\n{"mesh":"x.ply","smooth":5000}'
    assert_failure 1
    assert_equal "$(echo "$output" | jq -r .error.message | paste -sd'|')" \
        "x.ply: resolution must be a whole number in 8..2048, not -4|x.ply: resolution must be a whole number in 8..2048, not 1000000000|x.ply: smooth must be a whole number in 0..1000, not 5000"
}
