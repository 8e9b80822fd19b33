#!/usr/bin/env bash
# scripts/bench/gpu-pipeline.sh BUILD - issue 17's numbers, one NDJSON line
# each, every backend in one run on one machine (the CPU path is the anchor):
#   - "stages": mesh-gen --progressive over an image set (the four samples,
#     mksample's figure, silhouette, grey, disc and noise at two sizes,
#     mkfield's five shapes: 19 PNGs) in one process per backend; the median
#     over the images of each stage's own time (its record's "ms" less the
#     record before it) and of the time to each record, the backends the
#     records name, and how many output files are byte-identical to the CPU's;
#   - "stage_ratio": CPU / CUDA per stage, from those medians;
#   - "first_record": a fresh process per run (RUNS, default 5), mesh-gen
#     --progressive on samples/orfeas.png, milliseconds from the start to
#     the voxel record and to the last record, median, per backend (auto
#     included: it must not be slower to the first record than cpu);
#   - "batch": images a second through orfeas-batch -j 1, 4 and 16 over
#     BATCH_COPIES (default 2) copies of the set, fresh cache each, per
#     backend (ORFEAS_BACKEND);
#   - "bars": the issue's bars against those numbers.
# Without a GPU it says so and stops, like gpu.sh; GPU_BENCH_ANYWAY=1 runs
# the CPU side (the cuda cases then report the error mesh-gen gave).
set -uo pipefail
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${GPU_BENCH_ANYWAY:-}" ] && ! nvidia-smi -L > /dev/null 2>&1; then
    echo '{"bench":"gpu-pipeline","skipped":"no NVIDIA GPU (nvidia-smi -L failed)"}'
    exit 0
fi
command -v jq > /dev/null || { echo '{"bench":"gpu-pipeline","skipped":"jq not installed"}'; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
runs=${RUNS:-5}
copies=${BATCH_COPIES:-2}
ms_now() { date +%s%N | cut -c1-13; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "null"; else print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# the image set
mkdir -p "$tmp/set"
cp "$root"/samples/*.png "$tmp/set/"
for k in figure silhouette grey disc noise; do
    "$build/tests/tools/mksample" "$k" "$tmp/set/$k-512.png" 512 > /dev/null
    "$build/tests/tools/mksample" "$k" "$tmp/set/$k-256.png" 256 > /dev/null
done
for s in disc ring islands thin-l blob; do
    ORFEAS_CACHE_DIR="$tmp/mkcache" "$build/tests/tools/mkfield" "$s" "$tmp/set/shape-$s.png" 512 > /dev/null
done
nimg=$(ls "$tmp/set" | wc -l)

# per-stage medians, one process per backend
for b in cpu cuda; do
    rm -rf "$tmp/cache" "$tmp/out-$b"
    ORFEAS_CACHE_DIR="$tmp/cache" "$build/bin/mesh-gen" --progressive --no-cache -q --backend "$b" \
        -o "$tmp/out-$b" "$tmp"/set/*.png > "$tmp/rec-$b" 2> "$tmp/err-$b"
    rc=$?
    if ! grep -q '"stage":"final"' "$tmp/rec-$b"; then
        jq -nc --arg b "$b" --arg e "$(head -c 300 "$tmp/err-$b"; head -c 300 "$tmp/rec-$b")" --argjson rc "$rc" \
            '{bench: "stages", backend: $b, error: $e, exit: $rc}'
        continue
    fi
    line=$(jq -c --arg b "$b" --argjson n "$nimg" -s '
        def med: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
                 else (.[length / 2 - 1] + .[length / 2]) / 2 end;
        (map(select(.stage and .ms and .image)) | group_by(.image)) as $per |
        ($per | map(sort_by(.ms) | . as $r | [range(0; length)] |
            map({stage: $r[.].stage, to: $r[.].ms, own: ($r[.].ms - (if . > 0 then $r[. - 1].ms else 0 end)),
                 backend: $r[.].backend})) | add) as $all |
        {bench: "stages", backend: $b, images: $n,
         own_ms: (["voxel", "rough", "refined", "final"] | map(. as $s | {($s): ($all | map(select(.stage == $s) | .own) | med)}) | add),
         to_record_ms: (["voxel", "rough", "refined", "final"] | map(. as $s | {($s): ($all | map(select(.stage == $s) | .to) | med)}) | add),
         ran_on: ($all | group_by(.stage) | map({(.[0].stage): (map(.backend) | unique)}) | add)}' "$tmp/rec-$b")
    echo "$line" | tee "$tmp/stages-$b" > /dev/null
    if [ "$b" != cpu ] && [ -d "$tmp/out-cpu" ]; then
        same=0 total=0
        for f in "$tmp/out-cpu"/*; do
            total=$((total + 1))
            cmp -s "$f" "$tmp/out-$b/$(basename "$f")" && same=$((same + 1))
        done
        echo "$line" | jq -c --argjson s "$same" --argjson t "$total" '. + {files_identical_to_cpu: $s, files: $t}'
    else
        echo "$line"
    fi
done
if [ -s "$tmp/stages-cpu" ] && [ -s "$tmp/stages-cuda" ]; then
    jq -nc --slurpfile c "$tmp/stages-cpu" --slurpfile g "$tmp/stages-cuda" '
        ["voxel", "rough", "refined", "final"] | map(. as $s | {($s): (if $g[0].own_ms[$s] > 0 then ($c[0].own_ms[$s] / $g[0].own_ms[$s] * 100 | round / 100) else null end)}) | add |
        {bench: "stage_ratio", anchor: "CPU path, all cores", cpu_over_cuda_own_ms: .}'
fi

# first record in a fresh process
for b in cpu auto cuda; do
    : > "$tmp/first-$b"
    : > "$tmp/last-$b"
    err=""
    for ((i = 0; i < runs; i++)); do
        rm -rf "$tmp/fcache"
        t0=$(ms_now)
        ORFEAS_CACHE_DIR="$tmp/fcache" "$build/bin/mesh-gen" --progressive --no-cache --backend "$b" \
            "$root/samples/orfeas.png" 2> "$tmp/ferr" | {
            first=""
            while IFS= read -r l; do
                [ -z "$first" ] && first=$(ms_now)
            done
            [ -n "$first" ] && echo $((first - t0)) >> "$tmp/first-$b" && echo $(($(ms_now) - t0)) >> "$tmp/last-$b"
        }
        [ -s "$tmp/ferr" ] && err=$(head -c 200 "$tmp/ferr")
    done
    jq -nc --arg b "$b" --argjson f "$(median < "$tmp/first-$b")" --argjson l "$(median < "$tmp/last-$b")" \
        --argjson n "$(wc -l < "$tmp/first-$b")" --arg e "$err" \
        '{bench: "first_record", backend: $b, runs: $n, first_record_ms: $f, last_record_ms: $l} + (if $e != "" then {stderr: $e} else {} end)' |
        tee "$tmp/firstj-$b"
done

# batch throughput
mkdir -p "$tmp/batch"
for ((c = 0; c < copies; c++)); do
    for f in "$tmp"/set/*.png; do cp "$f" "$tmp/batch/c$c-$(basename "$f")"; done
done
nb=$(ls "$tmp/batch" | wc -l)
for b in cpu cuda; do
    for j in 1 4 16; do
        rm -rf "$tmp/bcache" "$tmp/bout"
        t0=$(ms_now)
        PATH="$build/bin:$PATH" ORFEAS_BACKEND=$b ORFEAS_CACHE_DIR="$tmp/bcache" "$root/scripts/orfeas-batch" -q -j "$j" "$tmp/batch" "$tmp/bout" > /dev/null 2> "$tmp/berr"
        rc=$?
        t1=$(ms_now)
        made=$(ls "$tmp/bout" 2> /dev/null | grep -c '\.glb$')
        jq -nc --arg b "$b" --argjson j "$j" --argjson n "$nb" --argjson m "$made" --argjson ms "$((t1 - t0))" --argjson rc "$rc" \
            --arg e "$(head -c 200 "$tmp/berr")" \
            '{bench: "batch", backend: $b, jobs: $j, images: $n, made: $m, exit: $rc, ms: $ms,
              images_per_s: (if $ms > 0 then ($m / $ms * 1e5 | round / 100) else null end)} + (if $rc != 0 then {stderr: $e} else {} end)' |
            tee -a "$tmp/batchj"
    done
done

# the issue's bars
jq -nc --slurpfile st <(cat "$tmp"/stages-cuda 2> /dev/null) --slurpfile fr <(cat "$tmp"/firstj-* 2> /dev/null) \
    --slurpfile ba <(cat "$tmp/batchj" 2> /dev/null) '
    def fr(b): ($fr | map(select(.backend == b)) | .[0].first_record_ms);
    def ips(b; j): ($ba | map(select(.backend == b and .jobs == j)) | .[0].images_per_s);
    {bench: "bars", issue: 17,
     batch_at_least_50_images_per_s: ((ips("cuda"; 16) // 0) >= 50),
     final_stage_under_40_ms: (($st[0].own_ms.final // 1e9) < 40),
     first_record_under_20_ms: ((fr("auto") // 1e9) < 20),
     auto_first_record_not_slower_than_cpu: ((fr("auto") // 1e9) <= (fr("cpu") // 0) * 1.2 + 5),
     j16_faster_than_j4: ((ips("cuda"; 16) // 0) > (ips("cuda"; 4) // 1e9))}'
