#!/usr/bin/env bats
# make install / uninstall into a DESTDIR, and the bash completion.
load test_helper

@test "make install puts programs, scripts, pages and completions under PREFIX; uninstall removes exactly them" {
    # make install rebuilds with the default flags: test it on the normal build only
    [[ $(basename "$BUILD") != build-asan ]] || skip "install is tested on the normal build"
    dest="$BATS_TEST_TMPDIR/dest"
    run make -s -C "$ROOT" install BUILD="$BUILD" DESTDIR="$dest" PREFIX=/usr/local
    assert_success
    for p in "$BUILD"/bin/* orfeas-batch orfeas-prune-cron; do
        assert_file_executable "$dest/usr/local/bin/$(basename "$p")"
        assert_file_exist "$dest/usr/local/share/bash-completion/completions/$(basename "$p")"
        assert_file_exist "$dest/usr/local/share/man/man1/$(basename "$p").1"
    done
    for m in "$ROOT"/man/*.[17]; do
        [ -e "$m" ] || continue
        sec=${m##*.}
        assert_file_exist "$dest/usr/local/share/man/man$sec/$(basename "$m")"
    done
    assert_file_executable "$dest/usr/local/bin/orfeas-batch"
    assert_file_executable "$dest/usr/local/bin/orfeas-prune-cron"
    assert_file_exist "$dest/usr/local/share/orfeas/orfeas-batch.slurm"
    run "$dest/usr/local/bin/orfeas-batch" --help
    assert_success
    run "$dest/usr/local/bin/mesh-gen" --version
    assert_success
    run make -s -C "$ROOT" uninstall BUILD="$BUILD" DESTDIR="$dest" PREFIX=/usr/local
    assert_success
    run find "$dest" -type f
    assert_output ""
    # and no empty folder is left behind in the staging tree
    run find "$dest" -mindepth 1
    assert_output ""
}

@test "bash completion offers each program's own flags and dedup-cache's subcommands" {
    source "$ROOT/scripts/completion/orfeas.bash"
    COMP_WORDS=(mesh-gen --he); COMP_CWORD=1
    _orfeas_complete
    [[ " ${COMPREPLY[*]} " == *" --help "* ]]
    COMP_WORDS=(dedup-cache pr); COMP_CWORD=1
    _orfeas_complete
    assert_equal "${COMPREPLY[*]}" prune
    COMP_WORDS=(mesh-gen --format g); COMP_CWORD=2
    _orfeas_complete
    assert_equal "${COMPREPLY[*]}" glb
}

@test "completion offers every flag each program's --help lists, dedup-cache's per command, and enumerated values" {
    source "$ROOT/scripts/completion/orfeas.bash"
    PATH="$ROOT/scripts:$PATH"
    for p in "$BUILD"/bin/* orfeas-batch orfeas-prune-cron; do
        name=$(basename "$p")
        flags=$("$name" --help | grep -oE -- '(^|[ ,[|])--[a-z][a-z0-9-]*' | sed 's/^[ ,[|]*//' | sort -u)
        [ -n "$flags" ]
        for f in $flags; do
            COMP_WORDS=("$name" "$f"); COMP_CWORD=1
            _orfeas_complete
            [[ " ${COMPREPLY[*]} " == *" $f "* ]] || { echo "$name: $f not offered"; return 1; }
        done
    done
    # dedup-cache: each command's own flags after it, and only its own
    for pair in "prune --max-age" "prune --max-size" "prune --dry-run" "stats --zero" "verify --repair" \
                "get --output" "clear --yes" "key --program" "lookup --program" "prune --cache-dir"; do
        set -- $pair
        COMP_WORDS=(dedup-cache "$1" --); COMP_CWORD=2
        _orfeas_complete
        [[ " ${COMPREPLY[*]} " == *" $2 "* ]] || { echo "dedup-cache $1: $2 not offered"; return 1; }
    done
    COMP_WORDS=(dedup-cache stats --); COMP_CWORD=2
    _orfeas_complete
    [[ " ${COMPREPLY[*]} " != *" --max-age "* ]]
    # values of enumerated flags, never file names
    for pv in "mesh-render --frame u:unit" "mesh-render --background w:white" "mesh-render --view th:three-quarter" \
              "mesh-gen --mode rel:relief" "mesh-refine --stage ref:refined" "gpu-stats --precision fp1:fp16" \
              "dedup-cache --program mesh-r:mesh-refine" "mesh-gen --backend cu:cuda"; do
        set -- $pv
        COMP_WORDS=("$1" "$2" "${3%%:*}"); COMP_CWORD=2
        _orfeas_complete
        assert_equal "${COMPREPLY[*]}" "${3#*:}"
    done
}

@test "every installed program and script has a manual page" {
    for p in "$BUILD"/bin/* "$ROOT"/scripts/orfeas-batch "$ROOT"/scripts/orfeas-prune-cron; do
        assert_file_exist "$ROOT/man/$(basename "$p").1"
    done
}

@test "the build finds the CUDA toolkit's headers when the nvcc on PATH is a wrapper script" {
    real=$(make -s --no-print-directory -C "$ROOT" --eval 'pn: ; @echo $(NVCC)' pn CUDA_HOME= 2>/dev/null)
    [ -n "$real" ] && [ -x "$real" ] || skip "no CUDA toolkit on this machine"
    # a wrapper like Debian-style /usr/local/bin/nvcc: its folder has no include/
    mkdir -p wrap/bin
    printf '#!/bin/sh\nexec %s "$@"\n' "$real" > wrap/bin/nvcc
    chmod +x wrap/bin/nvcc
    run env PATH="$PWD/wrap/bin:$PATH" CUDA_HOME= make -s --no-print-directory -C "$ROOT" \
        --eval 'pc: ; @echo "$(USE_CUDA) $(CUDA_ROOT)"' pc
    assert_success
    read -r use root <<< "$output"
    assert_equal "$use" 1
    assert_file_exist "$root/include/cuda_runtime_api.h"
}

@test "objects are rebuilt when the flags change: -Werror after a plain build (make check after make demo)" {
    b="$BATS_TEST_TMPDIR/b"
    obj="$b/obj/lib/err.o"
    run make -s --no-print-directory -C "$ROOT" BUILD="$b" CUDA=0 "$obj"
    assert_success
    # up to date with the same flags
    run make -q --no-print-directory -C "$ROOT" BUILD="$b" CUDA=0 "$obj"
    assert_success
    # out of date once -Werror (or the sanitizers, or the optimisation) changes
    run make -q --no-print-directory -C "$ROOT" BUILD="$b" CUDA=0 WERROR=1 "$obj"
    assert_failure
    run make -q --no-print-directory -C "$ROOT" BUILD="$b" CUDA=0 OPT="-O1 -g" "$obj"
    assert_failure
}
