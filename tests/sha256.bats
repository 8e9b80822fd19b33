#!/usr/bin/env bats
# SHA-256 behind every cache key: the CPU's SHA extensions when it has them,
# libsodium with ORFEAS_SHA256=portable. Both must name things exactly as
# sha256sum does, so a cache written in one mode is read in the other.
load test_helper

@test "dedup-cache put names objects by sha256sum, with SHA-NI and with ORFEAS_SHA256=portable" {
    for n in 0 1 55 56 63 64 65 119 120 4096 1000037; do
        head -c "$n" /dev/urandom > "f$n"
        want=$(sha256sum < "f$n" | cut -c1-64)
        run --separate-stderr dedup-cache put "f$n"
        assert_success
        assert_equal "$(jq -r .key <<< "$output")" "$want"
        run --separate-stderr env ORFEAS_SHA256=portable ORFEAS_CACHE_DIR="$BATS_TEST_TMPDIR/portable" dedup-cache put "f$n"
        assert_success
        assert_equal "$(jq -r .key <<< "$output")" "$want"
    done
}

@test "an object stored by one mode is read back (rehashed) by the other" {
    head -c 300000 /dev/urandom > blob
    key=$(ORFEAS_SHA256=portable dedup-cache put blob | jq -r .key)
    dedup-cache get "$key" > back
    cmp blob back
    key2=$(dedup-cache put blob | jq -r .key)
    assert_equal "$key2" "$key"
    ORFEAS_SHA256=portable dedup-cache get "$key" > back2
    cmp blob back2
}

@test "mesh-gen gives the same request, field and mesh keys in both modes, each the sha256sum of its object" {
    run --separate-stderr mesh-gen -q "$ROOT/samples/orfeas.png"
    assert_success
    fast=$(jq -c '[.key, .field, .mesh.object]' <<< "$output")
    run --separate-stderr env ORFEAS_SHA256=portable ORFEAS_CACHE_DIR="$BATS_TEST_TMPDIR/portable" \
        mesh-gen -q "$ROOT/samples/orfeas.png"
    assert_success
    slow=$(jq -c '[.key, .field, .mesh.object]' <<< "$output")
    assert_equal "$fast" "$slow"
    [ "$(wc -l <<< "$fast")" -ge 2 ]
    for f in "$ORFEAS_CACHE_DIR"/objects/*/*; do
        name=$(basename "$(dirname "$f")")$(basename "$f")
        assert_equal "$(sha256sum < "$f" | cut -c1-64)" "$name"
    done
}
