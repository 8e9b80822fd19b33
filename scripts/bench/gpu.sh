#!/usr/bin/env bash
# scripts/bench/gpu.sh BUILD - the CUDA numbers of issue 6, one NDJSON line per
# case (build/tests/tools/cuda_bench): extraction (sample + marching
# tetrahedra, end to end, mesh on the host) of an inflated 512 px disc at
# N = 256 and 512, fp32 and fp16, on the CPU path and on the GPU (best of
# REPEATS), voxels per second, the speed-up, peak device memory per job
# against lib/device's estimate, and 4 concurrent jobs' throughput.
# Without a device the GPU fields are null with the reason. scikit-image is
# timed on the same grid size when python3 has it (the anchor).
# mesh-render (issue 9): frames per second at 512x512 (3x3 samples,
# perspective turntable) of scripts/bench/mesh-render.sh's 50k-triangle mesh
# on the CUDA path, as a ratio against the CPU path on this machine (the
# anchor), both through build/tests/tools/render-fps.
# Decimation (issue 16): the CUDA rounds engine on the blob's N=256
# extraction against the same engine on the CPU cores.
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
# mesh-render: the CPU path is the anchor, the CUDA path the case
fps_of() { awk '{for (i = 1; i < NF; i++) if ($i == "fps") print $(i + 1)}' <<<"$1"; }
ran_on() { awk '{for (i = 1; i < NF; i++) if ($i == "backend") print $(i + 1)}' <<<"$1"; }
rfps=$build/tests/tools/render-fps
if [ -x "$rfps" ]; then
    "$rfps" 50000 512x512 3 3 cuda >/dev/null 2>&1   # warm-up: CUDA context, first allocations
    cpu=$("$rfps" 50000 512x512 20 3 cpu 2>&1)
    gpu=$("$rfps" 50000 512x512 60 3 cuda 2>&1)
    cf=$(fps_of "$cpu"); gf=$(fps_of "$gpu"); gb=$(ran_on "$gpu")
    if [ -n "$cf" ] && [ -n "$gf" ] && [ "$gb" = cuda ]; then
        awk -v c="$cf" -v g="$gf" -v t="${OMP_NUM_THREADS:-$(nproc)}" 'BEGIN {
            printf "{\"bench\":\"mesh-render\",\"triangles\":50176,\"size\":\"512x512\",\"samples\":3,"
            printf "\"anchor\":\"CPU path (%d threads)\",\"cpu_fps\":%s,\"cuda_fps\":%s,\"cuda_vs_cpu\":%.2f}\n", t, c, g, g / c }'
    else
        printf '{"bench":"mesh-render","error":"render-fps failed or did not run on cuda","cpu":"%s","cuda":"%s"}\n' \
            "${cpu//\"/}" "${gpu//\"/}"
    fi
else
    echo '{"bench":"mesh-render","skipped":"build/tests/tools/render-fps not built"}'
fi
# decimation (issue 16): the benchmark blob's N=256 extraction (378k
# triangles) to 50000 on the GPU (backend_decimate) against the rounds
# engine on all the CPU cores, decimation alone (tests/tools/decbench), best
# of REPEATS after a warm-up; the same bytes are make check-gpu's business.
dbench=$build/tests/tools/decbench
if [ -x "$dbench" ] && [ -x "$build/tests/tools/mkfield" ]; then
    dtmp=$(mktemp -d)
    (
        cd "$dtmp" || exit 1
        export ORFEAS_CACHE_DIR="$dtmp/cache"
        "$build/tests/tools/mkfield" blob blob.png 512 > recs &&
            "$build/bin/mesh-refine" --no-cache -q --stage refined --refined-resolution 256 --format ply --out m < recs >/dev/null &&
            "$dbench" time m/blob.ply 50000 cuda 1 >/dev/null 2>&1
        g=$("$dbench" time m/blob.ply 50000 cuda "$reps" 2>&1)
        c=$("$dbench" time m/blob.ply 50000 rounds "$reps" 2>&1)
        if jq -e . <<<"$g" >/dev/null 2>&1 && jq -e . <<<"$c" >/dev/null 2>&1; then
            jq -nc --argjson g "$g" --argjson c "$c" '{bench: "decimate", triangles_in: $g.triangles_in,
                triangles: $g.triangles, rounds: $g.rounds, cuda_ms_best: $g.ms_min, cpu_ms_best: $c.ms_min,
                cpu_threads: $c.threads, cuda_vs_cpu: ($c.ms_min / $g.ms_min), target_ms: 15}'
        else
            printf '{"bench":"decimate","error":"decbench failed","cuda":"%s","cpu":"%s"}\n' "${g//\"/}" "${c//\"/}"
        fi
    )
    rm -rf "$dtmp"
fi
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
