#!/usr/bin/env bash
# scripts/bench/gpu.sh BUILD - the CUDA numbers of issue 6, one NDJSON line per
# case (build/tests/tools/cuda_bench): extraction (sample + marching
# tetrahedra, end to end, mesh on the host) of an inflated 512 px disc at
# N = 256 and 512, fp32 and fp16, on the CPU path and on the GPU (best of
# REPEATS), voxels per second, the speed-up, peak device memory per job
# against lib/device's estimate, and 4 concurrent jobs' throughput.
# Without a device the GPU fields are null with the reason. scikit-image is
# timed on the same grid size when python3 has it (the anchor).
set -uo pipefail
build=${1:-build}
bench=$build/tests/tools/cuda_bench
[ -x "$bench" ] || { echo "gpu.sh: $bench not built" >&2; exit 66; }
reps=${REPEATS:-5}
# `make bench` runs every script here: without a GPU say so and stop (set
# GPU_BENCH_ANYWAY=1 to time the CPU side alone).
if [ -z "${GPU_BENCH_ANYWAY:-}" ] && ! nvidia-smi -L >/dev/null 2>&1; then
    echo '{"bench":"gpu","skipped":"no NVIDIA GPU (nvidia-smi -L failed)"}'
    exit 0
fi
for n in 256 512; do
    for p in fp32 fp16; do
        "$bench" "$n" "$p" 4 "$reps" || echo "{\"n\":$n,\"precision\":\"$p\",\"error\":\"cuda_bench failed\"}"
    done
done
if python3 -c 'import skimage, numpy' 2>/dev/null; then
    python3 - <<'PY'
import time, numpy as np
from skimage import measure
for n in (256, 512):
    z, y, x = np.mgrid[-1:1:complex(0, n), -1:1:complex(0, n), -1:1:complex(0, n // 2)]
    f = (0.8 - np.sqrt(x * x * 4 + y * y + z * z)).astype(np.float32)
    t = time.perf_counter(); v, tri, _, _ = measure.marching_cubes(f, 0.0); ms = (time.perf_counter() - t) * 1e3
    print('{"anchor":"skimage.measure.marching_cubes","n":%d,"voxels":%d,"ms":%.1f,"voxels_per_s":%.4g}' % (n, f.size, ms, f.size / ms * 1e3))
PY
else
    echo '{"anchor":"skimage","skipped":"python3 with scikit-image not found"}'
fi
