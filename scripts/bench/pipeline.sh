#!/usr/bin/env bash
# scripts/bench/pipeline.sh BUILD - the four progressive stages in one
# process (mesh-gen --progressive) on the bundled 512 px cut-out: each
# record's own "ms" (from the request to that record), median of RUNS runs,
# against the docs/design.md targets (20, 40, 200, 400 ms on 2 cores), with one
# and two OpenMP threads and with OMP_WAIT_POLICY=passive for comparison.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ORFEAS_CACHE_DIR="$tmp/cache"
runs=${RUNS:-5}
img="$root/samples/orfeas.png"
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
one() { # label, env...
    local label=$1
    shift
    : > "$tmp/all"
    for ((i = 0; i < runs; i++)); do
        env "$@" "$build/bin/mesh-gen" --progressive --no-cache "$img" | jq -r '"\(.stage) \(.ms)"' >> "$tmp/all"
    done
    printf '%-28s' "$label"
    for s in voxel:20 rough:40 refined:200 final:400; do
        local st=${s%%:*} target=${s##*:}
        local ms
        ms=$(awk -v s="$st" '$1 == s { print $2 }' "$tmp/all" | median)
        printf '  %s %7.1f ms (%.2fx target)' "$st" "$ms" "$(echo "$target / $ms" | bc -l)"
    done
    echo
}
echo "mesh-gen --progressive, median of $runs, ms to each record (target/ms: >= 1 meets it)"
one "OMP_NUM_THREADS=1" OMP_NUM_THREADS=1
one "OMP_NUM_THREADS=2" OMP_NUM_THREADS=2
one "2 threads, passive wait" OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive
