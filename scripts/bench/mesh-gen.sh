#!/usr/bin/env bash
# scripts/bench/mesh-gen.sh BUILD - mesh-gen speed on the bundled 512 px cut-out
# (samples/orfeas.png, or one drawn by mksample): time to the first (voxel) record
# and to the rough record, median of several runs, against the DESIGN.md anchors
# (targets 20 ms and 40 ms on 2 CPU cores; the seed service's 0.5 s and 3 s);
# a cache hit against a miss; growth with the rough grid N and with image size;
# and the same rough stage done in Python (scikit-image, SciPy) when those are
# installed (python3-skimage, python3-scipy), as a ratio measured in this run.
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

if python3 -c 'import numpy, scipy, skimage' 2>/dev/null; then
    cat > py_rough.py <<'PY'
import sys, time
import numpy as np
from scipy.sparse import diags, identity, kron
from scipy.sparse.linalg import spsolve
from skimage import io, transform, measure
t0 = time.perf_counter()
img = io.imread(sys.argv[1])
a = img[..., 3] / 255.0 if img.shape[-1] == 4 else np.ones(img.shape[:2])
h, w = a.shape
L = max(h, w); s = 320 / L
m = transform.resize(a, (round(h * s), round(w * s)), anti_aliasing=True) >= 0.5
H, W = m.shape
def lap(n):
    return diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1])
A = kron(identity(H), lap(W)) + kron(lap(H), identity(W))
idx = np.flatnonzero(m.ravel())
A = A.tocsr()[idx][:, idx]
hh = np.zeros(H * W); hh[idx] = spsolve(A.tocsc(), 4 * np.ones(len(idx)))
z = np.sqrt(np.maximum(hh.reshape(H, W), 0)) / L * s
N = 96; step = 1 / N
zs = np.arange(-z.max() - 2 * step, z.max() + 2 * step, step)
ys = np.linspace(0, H - 1, int(H / L / s * N) + 4); xs = np.linspace(0, W - 1, int(W / L / s * N) + 4)
zz = z[np.ix_(ys.astype(int), xs.astype(int))]
vol = zz[None, :, :] - np.abs(zs)[:, None, None]
verts, faces, _, _ = measure.marching_cubes(vol, 0)
print((time.perf_counter() - t0) * 1000)
PY
    : > p.txt
    for ((i = 0; i < 3; i++)); do python3 py_rough.py "$img" >> p.txt; done
    py=$(median < p.txt)
    read -r v r < <(stage_ms "$img")
    printf 'Python pipeline (skimage + SciPy spsolve + skimage marching cubes), rough stage: %.0f ms; mesh-gen %.1f ms: %.1fx faster (goal 10x)\n' \
        "$py" "$r" "$(echo "$py / $r" | bc -l)"
else
    echo "Python comparison: skipped (python3-numpy, python3-scipy, python3-skimage are not installed)"
fi
