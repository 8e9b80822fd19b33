#!/usr/bin/env bash
# scripts/bench/mesh-refine.sh BUILD - refined and final stage times on a 512 px
# cut-out (median of 5 runs, cache off), against DESIGN.md's targets (refined
# 200 ms, final 400 ms on 2 CPU cores) and, when /usr/bin/python3 has Debian's
# python3-skimage and python3-open3d (scripts/bench/install-baseline-deps), as
# a ratio to scripts/bench/baseline_final.py doing the same final stage
# (scikit-image marching cubes at the same N, Open3D Taubin, Open3D quadric
# decimation to the same target).
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ORFEAS_CACHE_DIR="$tmp/cache"
cd "$tmp"
"$build/tests/tools/mkfield" blob blob.png 512 > recs
runs=5
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for ((i = 0; i < runs; i++)); do
    "$build/bin/mesh-refine" --no-cache -q < recs > "out$i"
done
refined=$(for ((i = 0; i < runs; i++)); do jq -r 'select(.stage=="refined") | .ms' "out$i"; done | median)
final=$(for ((i = 0; i < runs; i++)); do jq -r 'select(.stage=="final") | .ms' "out$i"; done | median)
tris=$(jq -r 'select(.stage=="final") | .mesh.triangles' out0)
wt=$(jq -r 'select(.stage=="final") | .mesh.watertight' out0)
printf 'refined stage (N=192): %.1f ms median of %d (%.2fx the 200 ms target)\n' "$refined" "$runs" \
    "$(echo "$refined / 200" | bc -l)"
printf 'final stage (N=256, %s triangles, watertight %s): %.1f ms median of %d (%.2fx the 400 ms target)\n' \
    "$tris" "$wt" "$final" "$runs" "$(echo "$final / 400" | bc -l)"
# The Python baseline: only with Debian's packages, never installed from here.
base="$here/baseline_final.py"
if [ ! -f "$base" ]; then
    echo "python baseline: skipped (scripts/bench/baseline_final.py is not in this tree yet)"
elif ! /usr/bin/python3 -c 'import skimage, open3d' 2>/dev/null; then
    echo "python baseline: skipped (run scripts/bench/install-baseline-deps for python3-skimage, python3-open3d)"
else
    # hook: baseline_final.py IMAGE --resolution N --max-triangles T prints {"ms":..,"watertight":..}
    out=$(/usr/bin/python3 "$base" blob.png --resolution 256 --max-triangles 50000)
    bms=$(echo "$out" | jq -r .ms)
    printf 'python baseline final stage: %.1f ms, watertight %s; mesh-refine is %.1fx faster\n' \
        "$bms" "$(echo "$out" | jq -r .watertight)" "$(echo "$bms / $final" | bc -l)"
fi
