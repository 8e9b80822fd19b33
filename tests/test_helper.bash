# Loaded by every bats suite: assertions, a private cache per test, helpers.
bats_require_minimum_version 1.5.0
bats_lib=${ORFEAS_BATS_LIB:-/usr/lib/bats} # another folder where bats-assert & co. were unpacked (scripts/gpu-session)
load "$bats_lib/bats-support/load"
load "$bats_lib/bats-assert/load"
load "$bats_lib/bats-file/load"

ROOT=${ORFEAS_ROOT:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
BUILD=${ORFEAS_BUILD:-$ROOT/build}
PATH="$BUILD/bin:$PATH"
TOOLS="$BUILD/tests/tools"

setup() {
    export ORFEAS_CACHE_DIR="$BATS_TEST_TMPDIR/cache"
    unset ORFEAS_CACHE_TTL ORFEAS_BACKEND XDG_CACHE_HOME
    cd "$BATS_TEST_TMPDIR" || return 1
    if declare -f suite_setup >/dev/null; then suite_setup; fi
}

# Every line of stdin is one JSON object.
assert_ndjson() {
    jq -e -s 'length > 0 and all(.[]; type == "object")' >/dev/null
}

# The Khronos glTF validator: one JSON line per file; fails on any error or warning.
gltf_validate() {
    node "$ROOT/tests/gltf-validate.js" "$@"
}
