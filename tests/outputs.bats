#!/usr/bin/env bats
# Output files (orfeas(7) "Output files"): names that never replace an input
# or another output of the run, -o FILE, folders made with their parents.
load test_helper

@test "two images with one stem in one run: the later keeps its extension, both written" {
    "$TOOLS/mksample" disc disc.png 64
    "$TOOLS/mksample" figure disc.jpg 64
    run --separate-stderr mesh-gen --out out disc.png disc.jpg
    assert_success
    assert_equal "$(ls out | paste -sd' ')" "disc.jpg.rough.glb disc.jpg.voxel.glb disc.rough.glb disc.voxel.glb"
    jq -e -s 'map(.mesh.out) == ["out/disc.voxel.glb", "out/disc.rough.glb",
        "out/disc.jpg.voxel.glb", "out/disc.jpg.rough.glb"]' <<<"$output"
    # the same image twice is the same stem (its own outputs again)
    run --separate-stderr mesh-gen --out out2 disc.png ./disc.png
    assert_success
    assert_equal "$(ls out2 | paste -sd' ')" "disc.rough.glb disc.voxel.glb"
}

@test "with --jobs the names follow the input's order, not the order the jobs finish in" {
    # x.png is slow (a large picture), x.bmp quick (a small PNG under another
    # extension): x.bmp finishes first, and x.png, first in the input, keeps the stem
    "$TOOLS/mksample" noise x.png 2000
    "$TOOLS/mksample" disc x.bmp 64
    for run in 1 2; do
        rm -rf out out2
        run --separate-stderr mesh-gen -j 2 --out out x.png x.bmp
        assert_success
        assert_equal "$(jq -r 'select(.stage == "voxel") | "\(.image) \(.mesh.out)"' <<<"$output" | paste -sd,)" \
            "x.png out/x.voxel.glb,x.bmp out/x.bmp.voxel.glb"
        jq -c 'select(.stage == "rough")' <<<"$output" | mesh-refine -q -j 2 --stage refined --out out2 > refined
        assert_equal "$(jq -r 'select(.stage == "refined") | "\(.image) \(.mesh.out)"' refined | paste -sd,)" \
            "x.png out2/x.glb,x.bmp out2/x.bmp.glb"
        # one out file for two inputs: the first in the input gets it, the other is out_collision
        rm -f one.glb
        jq -c 'select(.stage == "rough")' <<<"$output" | mesh-refine -q -j 2 --stage refined -o one.glb > one || true
        assert_equal "$(jq -r 'select(.stage == "refined" or .error) |
            "\(.image) \(if .error then .error.code else .mesh.out end)"' one | paste -sd,)" \
            "x.png one.glb,x.bmp out_collision"
    done
}

@test "a third source with the same name is an out_collision record, never an overwrite" {
    mkdir a b
    "$TOOLS/meshtool" make cube a/cube.obj
    "$TOOLS/meshtool" make sphere b/cube.obj
    "$TOOLS/meshtool" make torus cube.obj
    run --separate-stderr mesh-refine --stage refined --smooth 0 --out out a/cube.obj b/cube.obj cube.obj
    assert_failure 1
    jq -e -s 'map(.error.code // .mesh.out) == ["out/cube.glb", "out/cube.obj.glb", "out_collision"]' <<<"$output"
    [[ "$stderr" == *"cube.obj"*"another input"* ]]
    # mesh-render names pictures by the same rule
    run --separate-stderr mesh-render -o pics a/cube.obj b/cube.obj
    assert_success
    assert_equal "$(ls pics | paste -sd' ')" "cube-front.png cube.obj-front.png"
}

@test "nothing is written over an input: OBJ textures are <stem>.texture.png" {
    "$TOOLS/mksample" figure fig.png 64
    cp fig.png orig.png
    run --separate-stderr bash -c 'mesh-gen fig.png | mesh-refine --format obj --out .'
    assert_success
    cmp fig.png orig.png
    assert_file_exist fig.obj
    assert_file_exist fig.texture.png
    grep -q '^map_Kd fig.texture.png$' fig.mtl
    # an output that would be an input of the run is refused
    "$TOOLS/meshtool" make cube m.glb
    cp m.glb m0.glb
    run --separate-stderr mesh-refine --stage refined --smooth 0 --out m.glb m.glb
    assert_failure 1
    jq -e '.error.code == "out_collision"' <<<"$output"
    cmp m.glb m0.glb
}

@test "an input named like another input's output is safe wherever it stands on the command line" {
    # a picture (PNG bytes) named x.voxel.glb, after x.png whose voxel
    # output would be x.voxel.glb: x.png's record fails, the picture stays
    "$TOOLS/mksample" disc x.png 64
    "$TOOLS/mksample" figure x.voxel.glb 64
    cp x.voxel.glb orig
    for j in 1 2; do
        run --separate-stderr mesh-gen -j "$j" -o . x.png x.voxel.glb
        assert_failure 1
        jq -e -s 'map(select(.image == "x.png")) | .[0].error.code == "out_collision"' <<<"$output"
        jq -e -s 'map(select(.image == "x.voxel.glb" and .stage == "rough")) | length == 1' <<<"$output"
        cmp x.voxel.glb orig
    done
}

@test "-o FILE writes that file, in its extension's format; with several inputs it is a usage error" {
    "$TOOLS/mksample" disc d.png 64
    "$TOOLS/meshtool" make cube c.stl
    run --separate-stderr mesh-refine --smooth 0 --max-triangles 100 -o model.ply c.stl
    assert_success
    jq -e -s '.[1].mesh.out == "model.ply" and .[1].mesh.format == "ply" and (.[0].mesh | has("out") | not)' <<<"$output"
    [ "$(head -c 3 model.ply)" = ply ]
    # mesh-gen: the last stage it makes (rough; with -p the final)
    run --separate-stderr mesh-gen -o dir/rough.glb d.png
    assert_success
    jq -e -s '.[1].mesh.out == "dir/rough.glb"' <<<"$output"
    assert_equal "$(ls dir)" "rough.glb"
    run --separate-stderr mesh-gen -p -o final.obj d.png
    assert_success
    jq -e -s '.[3].mesh.out == "final.obj" and .[3].mesh.format == "obj" and .[3].textured' <<<"$output"
    assert_file_exist final.mtl
    assert_file_exist final.texture.png
    run --separate-stderr mesh-gen -o model.glb d.png c.stl
    assert_failure 64
    [[ "$stderr" == *"one mesh file"* ]]
    # two requests for one file: the second is a collision
    "$TOOLS/meshtool" make sphere s.stl
    run --separate-stderr mesh-refine --stage refined --smooth 0 -o one.glb - <<<$'c.stl\ns.stl'
    assert_failure 1
    jq -e -s '.[0].mesh.out == "one.glb" and .[1].error.code == "out_collision"' <<<"$output"
}

@test "--out makes the folder with its parents; a trailing slash gives clean paths" {
    "$TOOLS/meshtool" make cube c.stl
    run --separate-stderr mesh-refine --stage refined --smooth 0 --out deep/a/b c.stl
    assert_success
    assert_file_exist deep/a/b/c.glb
    run --separate-stderr mesh-refine --stage refined --smooth 0 --out models/ c.stl
    assert_success
    jq -e '.mesh.out == "models/c.glb"' <<<"$output"
    # an --out that is a file: an io_error record and status 74
    echo x > plain
    run --separate-stderr mesh-refine --stage refined --smooth 0 --out plain/sub c.stl
    assert_equal "$status" 74
    jq -e '.error.code == "io_error"' <<<"$output"
}
