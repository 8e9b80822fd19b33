#!/usr/bin/env bats
# Manual pages: each renders without a warning, and each program's --help and
# its page name the same flags.
load test_helper

@test "every page passes mandoc -Tlint and renders with man -l without a warning" {
    for page in "$ROOT"/man/*.[17]; do
        run mandoc -Tlint -Wwarning "$page"
        assert_success
        assert_output ""
        run --separate-stderr env MANWIDTH=80 man -l --warnings "$page"
        assert_success
        assert_equal "$stderr" ""
        [ "${#lines[@]}" -gt 20 ]
    done
}

@test "every program has a page, and orfeas(7) exists" {
    for p in "$BUILD"/bin/*; do
        assert_file_exist "$ROOT/man/$(basename "$p").1"
    done
    assert_file_exist "$ROOT/man/orfeas.7"
}

# Long flags in --help, and long flags in the page (roff escapes \- for -).
help_flags() { "$1" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }
page_flags() { sed 's/\\-/-/g; s/\\f[BIRP]//g' "$1" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }

@test "each program's --help and its man page list the same flags" {
    for p in "$BUILD"/bin/* "$ROOT"/scripts/orfeas-batch "$ROOT"/scripts/orfeas-prune-cron; do
        name=$(basename "$p")
        page="$ROOT/man/$name.1"
        assert_file_exist "$page"
        only_help=$(comm -23 <(help_flags "$p") <(page_flags "$page"))
        only_page=$(comm -13 <(help_flags "$p") <(page_flags "$page"))
        if [ -n "$only_help$only_page" ]; then
            echo "$name: in --help only: $only_help"
            echo "$name: in the page only: $only_page"
            return 1
        fi
    done
}

@test "the README's commands use only flags their program's --help lists" {
    names=()
    for p in "$BUILD"/bin/* "$ROOT"/scripts/orfeas-batch "$ROOT"/scripts/orfeas-prune-cron; do
        names+=("$(basename "$p")")
    done
    run python3 "$ROOT/tests/tools/readme_flags.py" "$ROOT/README.md" "${names[@]}"
    assert_success
    [ -n "$output" ] # the README shows flags: the parser found them
    while read -r prog flag; do
        exe="$BUILD/bin/$prog"
        [ -x "$exe" ] || exe="$ROOT/scripts/$prog"
        help_flags "$exe" | grep -qxF -- "$flag" || { echo "README: $prog $flag is not in $prog --help"; return 1; }
    done <<< "$output"
}
