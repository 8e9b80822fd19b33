#!/usr/bin/env bash
# scripts/bench/mesh-gen.sh BUILD - mesh-gen speed on the bundled 512 px cut-out
# (samples/orfeas.png, or one drawn by mksample): time to the first (voxel) record
# and to the rough record, median of several runs, against the docs/design.md anchors
# (targets 20 ms and 40 ms on 2 CPU cores; the seed service's 0.5 s and 3 s);
# a cache hit against a miss; growth with the rough grid N and with image size;
# and the same rough stage done in Python (scripts/bench/baseline_rough.py:
# scikit-image, SciPy) when its packages are installed, as a ratio measured in
# this run.
# The times are the records' own "ms" (from reading the request to the record).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
mg="$build/bin/mesh-gen"
mk="$build/tests/tools/mksample"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ORFEAS_CACHE_DIR="$tmp/cache"
cd "$tmp"
runs=${RUNS:-7}
img="$root/samples/orfeas.png"
[ -f "$img" ] || { "$mk" figure fig.png 512; img=$tmp/fig.png; }

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# stage ms over $runs uncached runs: prints "voxel_ms rough_ms"
stage_ms() { # extra mesh-gen args...
    : > v.txt; : > r.txt
    for ((i = 0; i < runs; i++)); do
        "$mg" --no-cache "$@" > rec.json
        jq -r 'select(.stage == "voxel") | .ms' rec.json >> v.txt
        jq -r 'select(.stage == "rough") | .ms' rec.json >> r.txt
    done
    echo "$(median < v.txt) $(median < r.txt)"
}

read -r v r < <(stage_ms "$img")
printf 'first record (voxel, N=32): %.1f ms median of %d; target 20 ms: %.2fx; seed 500 ms: %.0fx faster\n' \
    "$v" "$runs" "$(echo "20 / $v" | bc -l)" "$(echo "500 / $v" | bc -l)"
printf 'rough record (N=96):        %.1f ms; target 40 ms: %.2fx; seed 3000 ms: %.0fx faster\n' \
    "$r" "$(echo "40 / $r" | bc -l)" "$(echo "3000 / $r" | bc -l)"
t0=$(date +%s.%N); "$mg" --no-cache "$img" > /dev/null; t1=$(date +%s.%N)
printf 'whole process, uncached (start, both stages, exit): %.1f ms\n' "$(echo "($t1 - $t0) * 1000" | bc -l)"
: > h.txt
for ((i = 0; i < runs; i++)); do "$mg" "$img" | jq -r 'select(.stage == "rough") | .ms' >> h.txt; done
hit=$(median < h.txt)
printf 'cache hit (rough record): %.2f ms, %.0fx faster than the miss\n' "$hit" "$(echo "$r / $hit" | bc -l)"

echo "growth with the rough grid N (rough record minus voxel record = that stage alone):"
base=""
for n in 48 96 192; do
    read -r v r < <(stage_ms --rough-resolution "$n" "$img")
    d=$(echo "$r - $v" | bc -l)
    [ -n "$base" ] || base=$d
    printf '  N=%-4d %7.1f ms  (%.2fx N=48; N^2 surface growth would be %.0fx)\n' "$n" "$d" \
        "$(echo "$d / $base" | bc -l)" "$(echo "($n / 48)^2" | bc -l)"
done
echo "growth with image size (first record; the field grid stays 320):"
base=""
for s in 256 512 1024 2048; do
    "$mk" figure "f$s.png" "$s"
    read -r v r < <(stage_ms "f$s.png")
    [ -n "$base" ] || base=$v
    printf '  %4d px %7.1f ms  (%.2fx 256 px; pixels grow %dx)\n' "$s" "$v" "$(echo "$v / $base" | bc -l)" \
        $(( (s / 256) * (s / 256) ))
done

# the Python anchor (scripts/bench/baseline.md): the same rough stage in
# skimage + SciPy, on the shared benchmark picture, measured in this run
S="$root/scripts/bench"
if "$S/install-baseline-deps" -q -n 2>/dev/null; then
    /usr/bin/python3 "$S/mkbenchimage.py" star.png
    py=$(/usr/bin/python3 "$S/baseline_rough.py" star.png --repeat 5 --json | jq .ms_median)
    read -r v r < <(stage_ms star.png)
    printf 'rough stage on the benchmark star (512 px): mesh-gen %.1f ms (file and cache writes included),\n' "$r"
    printf '  Python skimage + SciPy %.1f ms (no writes): mesh-gen %.1fx faster (goal 10x)\n' \
        "$py" "$(echo "$py / $r" | bc -l)"
else
    echo "Python anchor: skipped (scripts/bench/install-baseline-deps would install python3-numpy, -scipy, -skimage, -pil)"
fi
