#!/usr/bin/env bats
# make install / uninstall into a DESTDIR, and the bash completion.
load test_helper

@test "make install puts programs, scripts, pages and completions under PREFIX; uninstall removes exactly them" {
    # make install rebuilds with the default flags: test it on the normal build only
    [[ $(basename "$BUILD") != build-asan ]] || skip "install is tested on the normal build"
    dest="$BATS_TEST_TMPDIR/dest"
    run make -s -C "$ROOT" install BUILD="$BUILD" DESTDIR="$dest" PREFIX=/usr/local
    assert_success
    for p in "$BUILD"/bin/*; do
        assert_file_executable "$dest/usr/local/bin/$(basename "$p")"
        assert_file_exist "$dest/usr/local/share/bash-completion/completions/$(basename "$p")"
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
