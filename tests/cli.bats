#!/usr/bin/env bats
# Conventions every program keeps: --help, --version, exit 64 on a usage error.
load test_helper

programs() { ls "$BUILD/bin"; }

@test "every program is built" {
    for p in mesh-gen mesh-refine dedup-cache gpu-stats; do
        assert_file_executable "$BUILD/bin/$p"
    done
}

@test "--help prints usage on stdout and exits 0" {
    for p in $(programs); do
        run "$p" --help
        assert_success
        assert_output --partial "usage: $p"
    done
}

@test "--version names the program and the version" {
    version=$(sed -n 's/^#define ORFEAS_VERSION "\(.*\)"/\1/p' "$ROOT/lib/version.h")
    for p in $(programs); do
        run "$p" --version
        assert_success
        assert_output "$p (orfeas) $version"
    done
}

@test "an unknown flag exits 64 with a hint on stderr" {
    for p in $(programs); do
        run --separate-stderr "$p" --no-such-flag
        assert_equal "$status" 64
        assert_equal "$output" ""
        [[ "$stderr" == *"$p"* ]]
    done
}

@test "a flag from another tool or a slip gets a pointer to ours" {
    run --separate-stderr mesh-gen --mc-resolution 256 x.png
    assert_equal "$status" 64
    [[ "$stderr" == *"--mc-resolution"*"--resolution"* ]]
    run --separate-stderr mesh-refine --device cuda:0
    assert_equal "$status" 64
    [[ "$stderr" == *"--backend"* ]]
    run --separate-stderr mesh-gen --output-dir out x.png
    [[ "$stderr" == *"--out"* ]]
    run --separate-stderr mesh-gen --no-remove-bg x.png
    [[ "$stderr" == *"--mask"* ]]
    run --separate-stderr mesh-refine --resolutoin 64
    assert_equal "$status" 64
    [[ "$stderr" == *"did you mean --resolution?"* ]]
    run --separate-stderr mesh-refine --max-trinagles 64
    [[ "$stderr" == *"did you mean --max-triangles?"* ]]
}

# Run a command on a pseudo-terminal (util-linux script): stdin and stderr are
# terminals; what it printed, carriage returns kept, is in $output.
on_tty() { run script -qec "$1" /dev/null; }

@test "every program that reads stdin refuses a terminal with no input: 66 and a hint" {
    for p in mesh-gen mesh-refine mesh-render; do
        on_tty "$p"
        assert_equal "$status" 66
        [[ "$output" == *"$p: no input"* ]]
        [[ "$output" == *"--help"* ]]
    done
}

@test "a progress line on a terminal (mesh-refine's stages, mesh-render's turntable), none on a pipe or with -q" {
    "$TOOLS/meshtool" make sphere s.stl
    on_tty "mesh-refine --smooth 2 --max-triangles 500 s.stl > recs"
    assert_success
    [[ "$output" == *$'\r'"mesh-refine: s.stl final ..."* ]]
    [[ "$output" == *"mesh-refine: s.stl final 100%"* ]]
    on_tty "mesh-refine -q --smooth 2 --max-triangles 500 s.stl > recs"
    assert_equal "$output" ""
    run --separate-stderr mesh-refine --no-cache --smooth 2 --max-triangles 500 s.stl
    assert_equal "$stderr" ""
    on_tty "mesh-render --turntable 3 --size 32x32 -o pics s.stl > recs"
    assert_success
    [[ "$output" == *"s.stl turntable frame 3/3"* ]]
}

@test "a lost output is never exit 0: stdout full or closed is 74 with a message, in every program" {
    "$TOOLS/mksample" disc d.png 48
    "$TOOLS/meshtool" make cube c.stl
    for cmd in "mesh-gen d.png" "mesh-refine --stage refined --smooth 0 c.stl" "mesh-render -o pics c.stl" \
               "dedup-cache stats" "gpu-stats" "dedup-cache key <<<d.png"; do
        run --separate-stderr bash -c "$cmd > /dev/full"
        assert_equal "$status" 74
        [[ "$stderr" == *"standard output"* ]]
        run --separate-stderr bash -c "$cmd >&-"
        assert_equal "$status" 74
    done
}

@test "dedup-cache verify and prune show where they are on a terminal, and nothing on a pipe" {
    printf 'x' > a
    dedup-cache -q put a > /dev/null
    on_tty "dedup-cache verify > v"
    assert_success
    [[ "$output" == *"dedup-cache: objects 100% ..."* ]]
    on_tty "dedup-cache -q verify > v"
    assert_equal "$output" ""
    run --separate-stderr dedup-cache prune -v
    assert_equal "$stderr" ""
}
