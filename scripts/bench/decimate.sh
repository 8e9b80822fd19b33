#!/usr/bin/env bash
# scripts/bench/decimate.sh BUILD - decimation speed, ratios in one run:
#   - the benchmark blob (378k triangles, made as scripts/bench/mesh-refine.sh
#     makes it) to 50000: rounds of independent collapses (the default
#     engine) against the sequential heap QEM (when the library still has
#     DECIMATE_QEM_HEAP) and meshopt_simplify, on 1 and 2 threads (and all
#     the cores when there are more), interleaved, median and best of 5;
#   - flat grids as binary STL (decbench grid), 1M triangles to 50000: the
#     rounds engine on 2 threads; BENCH_SLOW=1 adds the heap QEM on the 1M
#     grid and a 10M grid for the rounds engine (with its peak memory).
# Times are the decimation alone (tests/tools/decbench time: read, checks
# and copies outside the timing), reordering included. The anchor is
# meshopt_simplify (no manifold guarantees, free borders): each thread
# count prints rounds' time as a multiple of its.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ORFEAS_CACHE_DIR="$tmp/cache"
bench="$build/tests/tools/decbench"
cd "$tmp"
"$build/tests/tools/mkfield" blob blob.png 512 > recs
"$build/bin/mesh-refine" --no-cache -q --stage refined --refined-resolution 256 --format ply --out m < recs > /dev/null
mesh=m/blob.ply
methods="rounds meshopt"
if "$bench" time "$mesh" 370000 heap 1 > /dev/null 2>&1; then
    methods="heap rounds meshopt"
fi
cores=$(nproc)
threads="1 2"
[ "$cores" -gt 2 ] && threads="1 2 $cores"
echo "machine: $cores cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for t in $threads; do
    : > "t$t"
    for round in 1 2 3; do
        for mth in $methods; do
            OMP_NUM_THREADS=$t "$bench" time "$mesh" 50000 "$mth" 5 >> "t$t"
        done
    done
    for mth in $methods; do
        best=$(jq -s --arg m "$mth" '[.[] | select(.method == $m) | .ms_min] | min' "t$t")
        med=$(jq -s --arg m "$mth" '[.[] | select(.method == $m) | .ms_median] | sort | .[length / 2 | floor]' "t$t")
        rounds=$(jq -s --arg m "$mth" '[.[] | select(.method == $m)][0].rounds' "t$t")
        printf 'blob 378k -> 50000, %s thread(s): %-7s median %7.1f ms, best %7.1f ms (rounds %s)\n' "$t" "$mth" "$med" "$best" "$rounds"
        echo "$mth $med $best" >> "sum$t"
    done
    jq -nr --rawfile s "sum$t" --arg t "$t" '
      ($s | split("\n") | map(select(length > 0) | split(" "))) as $r |
      ($r | map({key: .[0], value: {med: (.[1] | tonumber), best: (.[2] | tonumber)}}) | from_entries) as $x |
      "  ratio rounds / meshopt_simplify (the anchor) on \($t) thread(s): median \($x.rounds.med / $x.meshopt.med * 100 | round / 100)x, best \($x.rounds.best / $x.meshopt.best * 100 | round / 100)x the anchor'"'"'s time"'
    if [ "${methods%% *}" = heap ]; then
        jq -nr --rawfile s "sum$t" --arg t "$t" '
          ($s | split("\n") | map(select(length > 0) | split(" "))) as $r |
          ($r | map({key: .[0], value: {med: (.[1] | tonumber), best: (.[2] | tonumber)}}) | from_entries) as $x |
          "  ratio heap / rounds on \($t) thread(s): median \($x.heap.med / $x.rounds.med * 100 | round / 100)x, best \($x.heap.best / $x.rounds.best * 100 | round / 100)x"'
    fi
done
"$bench" grid 708 grid1m.stl
OMP_NUM_THREADS=2 "$bench" time grid1m.stl 50000 rounds 3 |
    jq -r '"flat grid \(.triangles_in) -> \(.triangles), 2 threads: rounds median \(.ms_median) ms, best \(.ms_min) ms (\(.rounds) rounds, \(.edges_priced) edges priced)"'
if [ "${BENCH_SLOW:-0}" = 1 ]; then
    if [ "${methods%% *}" = heap ]; then
        OMP_NUM_THREADS=2 timeout 600 "$bench" time grid1m.stl 50000 heap 1 |
            jq -r '"flat grid \(.triangles_in) -> \(.triangles), 2 threads: heap QEM \(.ms_median) ms"' ||
            echo "flat grid 1M: heap QEM did not finish in 600 s"
    fi
    rm -f grid1m.stl
    "$bench" grid 2237 grid10m.stl
    /usr/bin/time -f 'peak RSS %M KiB' env OMP_NUM_THREADS=2 "$bench" time grid10m.stl 50000 rounds 1 2> mem |
        jq -r '"flat grid \(.triangles_in) -> \(.triangles), 2 threads: rounds \(.ms_median) ms (\(.rounds) rounds)"'
    cat mem
fi
