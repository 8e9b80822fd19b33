#!/usr/bin/env bats
# scripts/: orfeas-batch (a folder of images to a folder of GLB files, in
# parallel, resumable through the cache) and orfeas-prune-cron.
load test_helper

batch() { "$ROOT/scripts/orfeas-batch" "$@"; }
cron() { "$ROOT/scripts/orfeas-prune-cron" "$@"; }

# The batch runs mesh-gen and mesh-refine; tests/tools/mksample draws its
# images. Neither missing nor failing is a reason to skip: the test fails.
need_pipeline() {
    # the script is what is tested here; the programs have their own suites
    # under the sanitizers, where a batch of meshes takes minutes
    [[ $(basename "$BUILD") != build-asan ]] || skip "orfeas-batch is tested on the normal build"
    assert_file_executable "$TOOLS/mksample"
}

# Three images: a disc, a figure with alpha, a black silhouette on white.
three_images() {
    mkdir -p in
    "$TOOLS/mksample" disc in/disc.png 64
    "$TOOLS/mksample" figure in/figure.png 64
    "$TOOLS/mksample" silhouette in/silhouette.png 64
}

stat_of() { dedup-cache stats | jq -r ".$1"; }

# Vertex and face counts of every output, as assimp reads them.
counts() {
    local f
    for f in out/*.glb; do
        echo "$f $(assimp info "$f" | grep -E '^(Vertices|Faces):' | tr -s ' ' | tr '\n' ' ')"
    done
}

@test "orfeas-batch: three images, two jobs at once, each a valid GLB" {
    need_pipeline
    three_images
    run --separate-stderr batch -j 2 in out
    assert_success
    [[ "$stderr" == *"3 images: 3 done, 0 cached, 0 failed"* ]]
    for n in disc figure silhouette; do
        assert_file_exist "out/$n.glb"
        run gltf_validate "out/$n.glb"
        assert_success
    done
    run find out -type f
    assert_equal "${#lines[@]}" 3
}

@test "orfeas-batch: images that share a stem get distinct outputs, and OBJ textures never land on an image" {
    need_pipeline
    mkdir -p in
    "$TOOLS/mksample" disc in/disc.png 64
    "$TOOLS/mksample" silhouette in/disc.jpg 64
    "$TOOLS/mksample" figure in/figure.png 64
    cp in/figure.png before.png
    run --separate-stderr batch -j 2 in out
    assert_success
    [[ "$stderr" == *"3 images: 3 done, 0 cached, 0 failed"* ]]
    # sorted, disc.jpg comes first and takes the stem
    assert_equal "$(ls out | paste -sd' ')" "disc.glb disc.png.glb figure.glb"
    # two different meshes, not one written twice
    [ "$(sha256sum < out/disc.glb)" != "$(sha256sum < out/disc.png.glb)" ]
    # OBJ into the input folder itself: the texture is figure.texture.png, the image stays
    run --separate-stderr batch -j 2 --format obj in in
    assert_success
    cmp in/figure.png before.png
    for f in figure.obj figure.mtl figure.texture.png disc.png.obj disc.png.texture.png; do
        assert_file_exist "in/$f"
    done
}

@test "orfeas-batch: an OBJ texture never replaces an image of the input folder, in either mode" {
    need_pipeline
    mkdir -p in
    "$TOOLS/mksample" disc in/foo.png 64
    "$TOOLS/mksample" figure in/foo.texture.png 64
    cp in/foo.texture.png orig.png
    for gpus in 0 1; do
        run --separate-stderr env ORFEAS_BATCH_GPUS=$gpus "$ROOT/scripts/orfeas-batch" --format obj in in
        assert_failure 1
        [[ "$stderr" == *"failed: in/foo.png (out_collision: its texture foo.texture.png would replace an image"* ]]
        cmp in/foo.texture.png orig.png
        assert_file_not_exist in/foo.obj
        rm -f in/foo.texture.obj in/foo.texture.mtl in/foo.texture.texture.png
    done
}

@test "orfeas-batch: a second run answers everything from the cache and does no work" {
    need_pipeline
    three_images
    batch -q -j 2 in out
    before=$(counts)
    stores=$(stat_of stores)
    hits=$(stat_of hits)
    run --separate-stderr batch -j 2 in out
    assert_success
    [[ "$stderr" == *"3 images: 0 done, 3 cached, 0 failed"* ]]
    assert_equal "$(stat_of stores)" "$stores"
    [ "$(stat_of hits)" -gt "$hits" ]
    # the same meshes (mesh-refine rewrites --out files from the cache)
    assert_equal "$(counts)" "$before"
    [[ "$before" == *"Faces: "[1-9]* ]]
    # a lost output comes back from the cache, still without work
    rm out/figure.glb
    run --separate-stderr batch -j 2 in out
    assert_success
    assert_file_exist out/figure.glb
    assert_equal "$(stat_of stores)" "$stores"
}

@test "orfeas-batch: a bad image fails alone, is listed, and the run exits 1" {
    need_pipeline
    three_images
    printf 'not a picture' >in/broken.png
    run --separate-stderr batch -j 2 in out
    assert_failure 1
    [[ "$stderr" == *"4 images: 3 done, 0 cached, 1 failed"* ]]
    [[ "$stderr" == *"failed: in/broken.png (bad_image"* ]]
    for n in disc figure silhouette; do
        run gltf_validate "out/$n.glb"
        assert_success
    done
    assert_file_not_exist out/broken.glb
}

@test "orfeas-batch: one pipeline per GPU (ORFEAS_BATCH_GPUS) makes the same files and fates as one per image" {
    need_pipeline
    three_images
    "$TOOLS/mksample" grey in/disc.jpg 64
    printf 'not a picture' >in/broken.png
    # a mesh-gen ahead on the PATH that logs its device and images, then runs the real one
    mkdir -p wrap
    real=$(command -v mesh-gen)
    printf '#!/bin/bash\necho "${CUDA_VISIBLE_DEVICES:-none}" >>"%s/gens"\ntee -a "%s/reqs" | "%s" "$@"\n' \
        "$PWD" "$PWD" "$real" >wrap/mesh-gen
    chmod +x wrap/mesh-gen
    run --separate-stderr env PATH="$PWD/wrap:$PATH" ORFEAS_BATCH_GPUS=2 CUDA_VISIBLE_DEVICES=3,5 \
        "$ROOT/scripts/orfeas-batch" -j 4 in out
    assert_failure 1
    [[ "$stderr" == *"5 images: 4 done, 0 cached, 1 failed"* ]]
    [[ "$stderr" == *"failed: in/broken.png (bad_image"* ]]
    # two processes, one a GPU, given the five images between them (as requests on stdin)
    assert_equal "$(sort gens | paste -sd,)" "3,5"
    assert_equal "$(jq -r .image reqs | sort | paste -sd,)" \
        "in/broken.png,in/disc.jpg,in/disc.png,in/figure.png,in/silhouette.png"
    # the same outputs, byte for byte, as a pipeline per image
    run --separate-stderr env ORFEAS_BATCH_GPUS=0 "$ROOT/scripts/orfeas-batch" -j 2 in out1
    assert_failure 1
    assert_equal "$(ls out | paste -sd' ')" "disc.glb disc.png.glb figure.glb silhouette.glb"
    assert_equal "$(ls out1 | paste -sd' ')" "$(ls out | paste -sd' ')"
    for f in out/*; do cmp "$f" "out1/${f#out/}"; done
    # a second run is answered by the cache
    run --separate-stderr env ORFEAS_BATCH_GPUS=2 "$ROOT/scripts/orfeas-batch" in out
    [[ "$stderr" == *"5 images: 0 done, 4 cached, 1 failed"* ]]
    run --separate-stderr env ORFEAS_BATCH_GPUS=two "$ROOT/scripts/orfeas-batch" in out
    assert_failure 64
    [[ "$stderr" == *"ORFEAS_BATCH_GPUS takes a number"* ]]
}

@test "orfeas-batch: names with a tab, a newline or a backslash, a pipeline per image or per GPU" {
    need_pipeline
    mkdir -p in
    "$TOOLS/mksample" disc "in/a"$'\t'"tab.png" 64
    "$TOOLS/mksample" grey "in/new"$'\n'"line.png" 64
    "$TOOLS/mksample" figure 'in/back\slash.png' 64
    printf 'junk' >"in/bad"$'\t'"one.png"
    for gpus in 0 1; do
        run --separate-stderr env ORFEAS_BATCH_GPUS=$gpus "$ROOT/scripts/orfeas-batch" -j 2 in "out$gpus"
        assert_failure 1
        [[ "$stderr" == *"4 images: 3 done, 0 cached, 1 failed"* ]]
        [[ "$stderr" == *"failed: in/bad"$'\t'"one.png (bad_image"* ]]
        assert_file_exist "out$gpus/a"$'\t'"tab.glb"
        assert_file_exist "out$gpus/new"$'\n'"line.glb"
        assert_file_exist "out$gpus/back\slash.glb"
        rm -rf cache
        export ORFEAS_CACHE_DIR=$PWD/cache$gpus
    done
}

@test "orfeas-batch: shards share the work and a last run finds it all cached" {
    need_pipeline
    three_images
    run --separate-stderr batch --shard 0/2 in out
    assert_success
    [[ "$stderr" == *"2 images: 2 done"* ]]
    run --separate-stderr batch --shard 1/2 in out
    assert_success
    [[ "$stderr" == *"1 images: 1 done"* ]]
    run --separate-stderr batch in out
    assert_success
    [[ "$stderr" == *"3 images: 0 done, 3 cached, 0 failed"* ]]
}

@test "orfeas-batch: --sshlogin runs through GNU parallel (this machine as ':')" {
    need_pipeline
    command -v parallel >/dev/null || skip "GNU parallel is not installed"
    three_images
    run --separate-stderr batch -S : -j 2 --format stl in out
    assert_success
    [[ "$stderr" == *"3 images: 3 done"* ]]
    run assimp info out/disc.stl
    assert_success
}

@test "orfeas-batch: usage errors and a missing input folder" {
    run batch
    assert_failure 64
    run batch --format fbx in out
    assert_failure 64
    run batch -j 0 in out
    assert_failure 64
    run batch --shard 2/2 in out
    assert_failure 64
    run batch no-such-folder out
    assert_failure 66
    run batch --help
    assert_success
    assert_output --partial "usage: orfeas-batch"
}

@test "orfeas-prune-cron: silent on success, honours ORFEAS_CACHE_DIR and the limits" {
    printf 'some bytes' >blob
    dedup-cache -q put blob >/dev/null
    export ORFEAS_CACHE_DIR="$BATS_TEST_TMPDIR/other"
    run --separate-stderr cron
    assert_success
    assert_output ""
    assert_equal "$stderr" ""
    assert_dir_exist "$BATS_TEST_TMPDIR/other/stats"
    # the limits reach dedup-cache: a bad one is its usage error, passed through
    ORFEAS_PRUNE_MAX_AGE=soon run --separate-stderr cron
    assert_failure 64
    [[ "$stderr" == *"soon"* ]]
    ORFEAS_PRUNE_MAX_SIZE=lots run --separate-stderr cron
    assert_failure 64
    [[ "$stderr" == *"lots"* ]]
}

@test "orfeas-prune-cron: an unusable cache folder is an error on stderr and a non-zero status" {
    printf 'a file\n' >plain
    ORFEAS_CACHE_DIR="$BATS_TEST_TMPDIR/plain/cache" run --separate-stderr cron
    assert_failure 74
    assert_output ""
    [[ "$stderr" == *"orfeas-prune-cron: dedup-cache prune failed with status 74"* ]]
    [[ "$stderr" == *"plain/cache"* ]]
}
