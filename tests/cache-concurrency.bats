#!/usr/bin/env bats
# The cache shared by many processes at once, and writers killed mid-write.
load test_helper

@test "8 processes putting and looking up, 2 pruning: nothing reads back wrong, no count lost" {
    [ -x "$TOOLS/cache_hammer" ] || skip "cache_hammer not built"
    dedup-cache stats >/dev/null
    pids=()
    for s in 1 2 3 4 5 6 7 8; do
        "$TOOLS/cache_hammer" "$ORFEAS_CACHE_DIR" 3 "$s" > "h$s.json" &
        pids+=($!)
    done
    for p in 1 2; do
        ( end=$((SECONDS + 3)); while [ $SECONDS -lt $end ]; do
              dedup-cache prune --max-size 12K || exit 1; done ) > "p$p.out" 2>&1 &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done      # any failure (bad bytes, errors) fails here
    cat h*.json | jq -s -e 'all(.[]; .bad == 0 and .errors == 0) and (map(.hits) | add) > 0'
    lookups=$(cat h*.json | jq -s 'map(.lookups) | add')
    run dedup-cache stats
    echo "$output" | jq -e --argjson n "$lookups" '.hits + .misses == $n'
    echo "$output" | jq -e '.evictions > 0'
    run dedup-cache verify
    assert_success
    echo "$output" | tail -1 | jq -e '.ok and .bad_objects == 0 and .bad_requests == 0'
}

@test "writers killed with SIGKILL at random moments leave nothing that reads back wrong" {
    [ -x "$TOOLS/cache_hammer" ] || skip "cache_hammer not built"
    dedup-cache stats >/dev/null
    for round in 1 2 3 4 5 6; do
        pids=()
        for s in 1 2 3 4; do
            "$TOOLS/cache_hammer" "$ORFEAS_CACHE_DIR" 5 "$round$s" 2000000 >/dev/null &
            pids+=($!)
        done
        sleep "0.$((RANDOM % 9 + 1))"
        for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
        for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    done
    run dedup-cache verify
    assert_success
    echo "$output" | tail -1 | jq -e '.ok and .bad_objects == 0'
    # every object present reads back with bytes that hash to its key
    for f in "$ORFEAS_CACHE_DIR"/objects/??/*; do
        [ -e "$f" ] || continue
        k=$(basename "$(dirname "$f")")$(basename "$f")
        [ "$(dedup-cache get "$k" | sha256sum | cut -c1-64)" = "$k" ]
    done
    # temporary files left by the kills go with the next prune once stale
    find "$ORFEAS_CACHE_DIR" -name '.tmp.*' -exec touch -d '2 hours ago' {} +
    temps=$(find "$ORFEAS_CACHE_DIR" -name '.tmp.*' | wc -l)
    run dedup-cache prune -v
    assert_success
    echo "$output" | jq -e --argjson t "$temps" '.temp_removed == $t'
    [ "$(find "$ORFEAS_CACHE_DIR" -name '.tmp.*' | wc -l)" -eq 0 ]
}
