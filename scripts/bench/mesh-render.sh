#!/usr/bin/env bash
# scripts/bench/mesh-render.sh BUILD - frames per second of the CPU rasteriser at
# 512x512 (3x3 supersampling, perspective, three-quarter turntable, vertex colours)
# for a 50k-triangle mesh, against the anchor: issue 9's goal of 20 fps on the CPU.
# Rendering only (no mesh reading, no PNG encoding); all the machine's OpenMP threads.
set -euo pipefail
build=${1:-build}
tool="$build/tests/tools/render-fps"
[ -x "$tool" ] || { echo "mesh-render bench: $tool is not built (make)" >&2; exit 1; }
goal=20
"$tool" 50000 512x512 5 >/dev/null   # warm-up
line=$("$tool" 50000 512x512 40)
fps=$(awk '{for (i = 1; i < NF; i++) if ($i == "fps") print $(i + 1)}' <<<"$line")
threads=${OMP_NUM_THREADS:-$(nproc)}
echo "mesh-render: $line (threads $threads)"
awk -v f="$fps" -v g="$goal" 'BEGIN { printf "mesh-render: %.1f fps at 512x512, 50k triangles: %.2fx the goal of %d fps (issue 9)\n", f, f / g, g }'
