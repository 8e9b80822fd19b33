#!/usr/bin/env bats
# mesh-render: pictures of meshes, checked through their alpha channel (pngstat).
load test_helper
bats_require_minimum_version 1.5.0

suite_setup() {
    "$TOOLS/meshtool" make sphere sphere.glb
    "$TOOLS/meshtool" make cube cube.obj
    # a flat L in the z = 0 plane: its back view is its front view mirrored
    cat > ell.obj <<'EOF'
v -0.5 -0.5 0
v 0.5 -0.5 0
v 0.5 -0.2 0
v -0.2 -0.2 0
v -0.2 0.5 0
v -0.5 0.5 0
f 1 2 3
f 1 3 4
f 1 4 5
f 1 5 6
EOF
}

stat_png() { "$TOOLS/pngstat" "$@"; }

@test "a mesh argument gives a front picture of 512x512 and a record naming it" {
    run --separate-stderr mesh-render sphere.glb
    assert_success
    assert_equal "$(jq -r .render.path <<<"$output")" "./sphere-front.png"
    assert_equal "$(jq -c '[.mesh, .render.width, .render.height, .render.view]' <<<"$output")" \
        '["sphere.glb",512,512,"front"]'
    run stat_png sphere-front.png
    assert_success
    jq -e '.width == 512 and .height == 512 and .coverage > 0.3' <<<"$output"
}

@test "every view renders the mesh, centred, inside the picture" {
    for v in front back left right top three-quarter; do
        run --separate-stderr mesh-render --view "$v" --size 200x150 cube.obj
        assert_success
        assert_equal "$(jq -r .render.view <<<"$output")" "$v"
        run stat_png "cube-$v.png"
        assert_success
        jq -e '.width == 200 and .height == 150 and .coverage > 0.2 and .border_alpha == 0
               and (.cx - 100 | fabs) < 5 and (.cy - 75 | fabs) < 5' <<<"$output" ||
            { echo "view $v: $output"; false; }
    done
}

@test "front, ortho, frame unit: a radius 0.5 sphere covers the inscribed disc" {
    run mesh-render --view front --ortho --frame unit --background transparent --size 256x256 sphere.glb
    assert_success
    run stat_png sphere-front.png
    # pi/4 of the picture, centred, nothing in the corners
    jq -e '(.coverage - 0.7854 | fabs) < 0.01 and (.cx - 128 | fabs) < 1 and (.cy - 128 | fabs) < 1
           and .corner_alpha == 0' <<<"$output" || { echo "$output"; false; }
}

@test "the back view is the front view mirrored" {
    mesh-render --ortho ell.obj >/dev/null
    mesh-render --ortho --view back ell.obj >/dev/null
    run stat_png ell-back.png ell-front.png
    assert_success
    jq -e '.mirror_iou > 0.97 and .iou < 0.9' <<<"$output" || { echo "$output"; false; }
    # the long arm of the L (+x) is on the right from the front
    run stat_png ell-front.png
    jq -e '.cx < 256 and .cy > 256' <<<"$output"
}

@test "--sheet writes one picture of six views, 3 by 2" {
    run --separate-stderr mesh-render --sheet --size 100x80 cube.obj
    assert_success
    assert_equal "$(jq -c '[.render.path, .render.width, .render.height, .render.view, (.render.views | length)]' <<<"$output")" \
        '["./cube-sheet.png",300,160,"sheet",6]'
    run stat_png cube-sheet.png
    jq -e '.width == 300 and .height == 160 and .coverage > 0.2' <<<"$output"
    [ "$(ls ./*.png | wc -l)" -eq 1 ]
}

@test "--turntable N writes N frames of one framing" {
    run --separate-stderr mesh-render --turntable 5 --size 64x64 --out spin cube.obj
    assert_success
    assert_equal "$(jq '.render.frames | length' <<<"$output")" 5
    assert_equal "$(ls spin | wc -l)" 5
    for f in $(jq -r '.render.frames[]' <<<"$output"); do
        assert_file_exist "$f"
    done
    assert_file_exist spin/cube-front-turn000.png
    assert_file_exist spin/cube-front-turn004.png
    # a sphere keeps its size in every frame
    run --separate-stderr mesh-render --turntable 4 --size 64x64 --out spin2 sphere.glb
    a=$("$TOOLS/pngstat" spin2/sphere-front-turn000.png | jq .coverage)
    b=$("$TOOLS/pngstat" spin2/sphere-front-turn003.png | jq .coverage)
    jq -n -e "($a - $b | fabs) < 0.01"
}

@test "--size sets the picture size" {
    mesh-render --size 320x200 sphere.glb >/dev/null
    run stat_png sphere-front.png
    jq -e '.width == 320 and .height == 200' <<<"$output"
}

@test "backgrounds: transparent by default, or a colour" {
    mesh-render sphere.glb >/dev/null
    run stat_png sphere-front.png
    jq -e '.corner_alpha == 0 and .channels == 4' <<<"$output"
    mesh-render --background '#ff0000' --out red sphere.glb >/dev/null
    run stat_png red/sphere-front.png
    jq -e '.corner_alpha == 255 and .coverage == 1' <<<"$output"
}

@test "vertex colours and the texture show in the pixels" {
    "$TOOLS/meshtool" make sphere tex.glb --texture
    mesh-render --ortho sphere.glb tex.glb >/dev/null
    plain=$("$TOOLS/pngstat" sphere-front.png)
    tex=$("$TOOLS/pngstat" tex-front.png)
    # the neutral material is a grey with a touch of blue; the texture is not
    jq -e '.mean_b >= .mean_r' <<<"$plain"
    jq -n -e --argjson p "$plain" --argjson t "$tex" '($t.mean_r - $t.mean_b) > 20 or ($t.mean_b - $t.mean_r) > 40'
    "$TOOLS/meshtool" make sphere col.ply --colors
    mesh-render --ortho col.ply >/dev/null
    col=$("$TOOLS/pngstat" col-front.png)
    jq -n -e --argjson p "$plain" --argjson c "$col" \
        '[($c.mean_r - $p.mean_r), ($c.mean_g - $p.mean_g), ($c.mean_b - $p.mean_b)] | map(fabs) | max > 15'
}

@test "records pass through with their fields; pictures are named after the image and stage" {
    run --separate-stderr mesh-render <<<'{"id":7,"image":"cats/tom.png","stage":"rough","mesh":{"path":"sphere.glb","format":"glb"}}
cube.obj'
    assert_success
    assert_equal "$(jq -s -c '[.[0].id, .[0].render.path, .[1].mesh, .[1].render.path]' <<<"$output")" \
        '[7,"./tom-rough-front.png","cube.obj","./cube-front.png"]'
    assert_file_exist tom-rough-front.png
}

@test "bad input: error records with codes, the stream goes on, exit 1, nothing half-written" {
    head -c 3000 /dev/urandom > garbage.glb
    printf 'solid x\nthis is not a mesh\n' > junk.stl
    run --separate-stderr mesh-render --out out <<<'missing.obj
garbage.glb
{"mesh": 42}
{"nomesh": "x"}
{not json
sphere.glb
junk.stl'
    assert_failure 1
    assert_equal "$(jq -s -c 'map(.error.code // "ok")' <<<"$output")" \
        '["no_input","bad_mesh","bad_request","bad_request","bad_request","ok","bad_mesh"]'
    jq -e -s '.[0].error.message | contains("missing.obj")' <<<"$output"
    [ "$(ls out)" = "sphere-front.png" ]
    [[ "$stderr" == *missing.obj* ]]
    # each message names its input once
    [[ "$stderr" != *"missing.obj: missing.obj"* ]]
    [[ "$stderr" != *"garbage.glb: garbage.glb"* ]]
}

@test "a failed record from upstream is passed on untouched and counts as failed" {
    run --separate-stderr mesh-render <<<'{"image":"x.png","error":{"code":"bad_image","message":"x"}}'
    assert_failure 1
    assert_equal "$output" '{"image":"x.png","error":{"code":"bad_image","message":"x"}}'
    assert_equal "$stderr" ""
}

@test "usage errors exit 64 with nothing on stdout" {
    for args in "--size 0x10" "--size 10" "--size 100x100000" "--view side" "--frame tight" \
        "--turntable 0" "--turntable x" "--background purple" "--samples 9" "--sheet --turntable 3"; do
        run --separate-stderr mesh-render $args sphere.glb
        assert_equal "$status" 64
        assert_equal "$output" ""
        [[ "$stderr" == *mesh-render* ]]
    done
}

@test "-q keeps stderr quiet; -v says how long each picture took" {
    run --separate-stderr mesh-render -q missing.obj
    assert_failure 1
    assert_equal "$stderr" ""
    run --separate-stderr mesh-render -v sphere.glb
    assert_success
    [[ "$stderr" == *sphere-front.png*ms* ]]
}

@test "--out that is a file exits 74" {
    touch afile
    run --separate-stderr mesh-render --out afile sphere.glb
    assert_equal "$status" 74
}

@test "--backend: cpu and auto draw the same bytes; an out-of-memory on cuda falls back to the same picture" {
    "$TOOLS/meshtool" make torus tex.glb --texture
    run --separate-stderr mesh-render --backend cpu --view three-quarter -o cpu tex.glb
    assert_success
    jq -e '.render.backend == "cpu" and (.render | has("fallback") | not)' <<<"$output"
    run --separate-stderr mesh-render --backend auto --view three-quarter -o auto tex.glb
    assert_success
    jq -e '.render.backend == "cpu" or .render.backend == "cuda"' <<<"$output"
    cmp cpu/tex-three-quarter.png auto/tex-three-quarter.png
    # the test hook: every CUDA picture fails with cuda_oom and is drawn on the CPU
    run --separate-stderr env ORFEAS_TEST_CUDA_OOM=1 mesh-render --backend cuda --view three-quarter -o oom tex.glb
    assert_success
    jq -e '.render.backend == "cpu" and .render.fallback == "cuda_oom"' <<<"$output"
    cmp cpu/tex-three-quarter.png oom/tex-three-quarter.png
    run --separate-stderr env ORFEAS_TEST_CUDA_OOM=1 mesh-render --backend cuda --turntable 2 -o oomt tex.glb
    assert_success
    jq -e '.render.backend == "cpu" and .render.fallback == "cuda_oom" and (.render.frames | length) == 2' <<<"$output"
}

@test "--backend: bad names exit 64; cuda without a device exits 69 with nothing on stdout" {
    run --separate-stderr mesh-render --backend gpu sphere.glb
    assert_equal "$status" 64
    assert_equal "$output" ""
    [[ "$stderr" == *gpu* ]]
    run --separate-stderr env ORFEAS_BACKEND=gpu mesh-render sphere.glb
    assert_equal "$status" 64
    run --separate-stderr env ORFEAS_BACKEND=cuda mesh-render --backend cpu sphere.glb
    assert_success
    if "$BUILD/bin/gpu-stats" --require-gpu >/dev/null 2>&1; then
        skip "a GPU is present: the unavailable path cannot be seen here"
    fi
    rm -f sphere-front.png
    run --separate-stderr mesh-render --backend cuda sphere.glb
    assert_equal "$status" 69
    assert_equal "$output" ""
    [[ "$stderr" == *cuda* ]]
    assert_file_not_exists sphere-front.png
    run --separate-stderr env ORFEAS_BACKEND=cuda mesh-render sphere.glb
    assert_equal "$status" 69
}

@test "--backend cuda on a GPU draws the CPU's pictures byte for byte" {
    if ! "$BUILD/bin/gpu-stats" --require-gpu >/dev/null 2>&1; then
        skip "no GPU: the CUDA rasteriser cannot run here (tests/unit/test_cuda_parity.c checks it on one)"
    fi
    "$TOOLS/meshtool" make torus tex.glb --texture
    "$TOOLS/meshtool" make torus col.ply --colors
    for args in "--view front --ortho --frame unit" "--view three-quarter --size 300x200 --samples 4" \
        "--view top --samples 1 --background white" "--sheet --size 128x96"; do
        for m in tex.glb col.ply cube.obj; do
            rm -rf cpu gpu
            run --separate-stderr mesh-render --backend cpu $args -o cpu "$m"
            assert_success
            run --separate-stderr mesh-render --backend cuda $args -o gpu "$m"
            assert_success
            jq -e '.render.backend == "cuda" and (.render | has("fallback") | not)' <<<"$output"
            for f in cpu/*.png; do
                cmp "$f" "gpu/${f#cpu/}" || { echo "differs: $m $args"; false; }
            done
        done
    done
}
