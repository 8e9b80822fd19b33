#!/usr/bin/env bats
# Every fuzz target replays its seed corpus and every regression input found
# by `make fuzz` (tests/fuzz/regress/NAME/) without crashing.
load test_helper

@test "fuzz seeds and regression inputs replay cleanly" {
    shopt -s nullglob
    n=0
    for t in "$BUILD"/tests/fuzz/fuzz_*; do
        name=$(basename "$t"); name=${name#fuzz_}
        inputs=("$ROOT"/tests/fuzz/corpus/"$name"/* "$ROOT"/tests/fuzz/regress/"$name"/*)
        [ ${#inputs[@]} -gt 0 ] || continue
        run timeout 60 "$t" "${inputs[@]}"
        assert_success
        refute_output --partial "not ok"
        n=$((n + ${#inputs[@]}))
    done
    [ "$n" -gt 0 ]
}

@test "every damaged field found by fuzz_field reaches mesh-refine as bad_field" {
    shopt -s nullglob
    n=0
    for blob in "$ROOT"/tests/fuzz/regress/field/*; do
        key=$(dedup-cache put "$blob" | jq -r .key)
        run mesh-refine <<<"{\"field\":\"$key\"}"
        assert_failure 1
        assert_output --partial '"code":"bad_field"'
        n=$((n + 1))
    done
    [ "$n" -gt 0 ]
}
