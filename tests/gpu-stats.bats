#!/usr/bin/env bats
# gpu-stats against a mock NVML (tests/tools/mock_nvml), so it runs without a GPU.
load test_helper
bats_require_minimum_version 1.5.0

suite_setup() {
    MOCK="$TOOLS/libmock-nvml.so"
    MOCK_MIN="$TOOLS/libmock-nvml-min.so"
    unset MOCK_NVML_DEVICES MOCK_NVML_FAIL_INIT MOCK_NVML_NAME MOCK_NVML_TOTAL_MIB MOCK_NVML_USED_MIB \
        MOCK_NVML_RESERVED_MIB MOCK_NVML_UTIL_GPU MOCK_NVML_UTIL_MEM MOCK_NVML_TEMP_C MOCK_NVML_POWER_MW \
        MOCK_NVML_CC MOCK_NVML_PROCESSES MOCK_NVML_NO_PROCESSES MOCK_NVML_UNSUPPORTED
    export ORFEAS_NVML_LIBRARY="$MOCK"
}

# jq -e over the records in $output (slurped), fails with the output shown.
records_satisfy() {
    if ! printf '%s\n' "$output" | jq -e -s "$1" >/dev/null; then
        echo "records do not satisfy: $1"
        echo "$output"
        return 1
    fi
}

@test "no NVML library: one CPU record with host memory, exit 0" {
    ORFEAS_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1 run --separate-stderr gpu-stats
    assert_success
    printf '%s\n' "$output" | assert_ndjson
    records_satisfy 'length == 1 and .[0].backend == "cpu" and .[0].devices == 0'
    records_satisfy '.[0].reason | test("/nonexistent/libnvidia-ml.so.1")'
    records_satisfy '.[0] | (.host_memory_total_mib | type == "number") and .host_memory_total_mib >= .host_memory_available_mib and .host_memory_available_mib > 0'
    records_satisfy '.[0] | (.jobs_fit | floor == .) and .jobs_fit >= 1 and .jobs_fit <= .cpus and .precision == "fp32" and .job_mib > 0'
    local kib
    kib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
    records_satisfy ".[0].host_memory_total_mib == ($kib / 1024 | floor)"
}

@test "no GPU and --require-gpu: exit 69, nothing on stdout, the reason on stderr" {
    ORFEAS_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1 run --separate-stderr gpu-stats --require-gpu
    assert_failure 69
    assert_output ""
    [[ "$stderr" == *"no GPU"* ]]
    [[ "$stderr" == *"/nonexistent/libnvidia-ml.so.1"* ]]
}

@test "--require-gpu with a GPU: exit 0 and its record" {
    run --separate-stderr gpu-stats --require-gpu
    assert_success
    records_satisfy 'length == 1 and .[0].backend == "cuda"'
}

@test "NVML init failure: CPU record naming nvmlInit_v2, or 69 with --require-gpu" {
    export MOCK_NVML_FAIL_INIT=1
    run --separate-stderr gpu-stats
    assert_success
    records_satisfy '.[0].backend == "cpu" and (.[0].reason | test("nvmlInit_v2")) and (.[0].reason | test("Driver Not Loaded"))'
    run --separate-stderr gpu-stats --require-gpu
    assert_failure 69
}

@test "a driver with no devices: CPU record" {
    MOCK_NVML_DEVICES=0 run --separate-stderr gpu-stats
    assert_success
    records_satisfy 'length == 1 and .[0].backend == "cpu" and .[0].devices == 0 and (.[0].reason | test("no GPU"))'
}

@test "one device: every field, with the right type" {
    run --separate-stderr gpu-stats
    assert_success
    records_satisfy 'length == 1'
    records_satisfy '.[0] | (.index == 0 and .devices == 1 and .backend == "cuda")
        and (.name | type == "string") and (.uuid | test("^GPU-"))
        and ([.memory_total_mib, .memory_used_mib, .memory_free_mib, .memory_used_percent,
              .utilization_gpu_percent, .utilization_memory_percent, .temperature_c, .power_w,
              .job_mib, .job_bytes, .jobs_fit, .resolution, .time] | all(type == "number"))
        and (.compute_capability | test("^[0-9]+\\.[0-9]+$"))
        and (.processes | type == "array" and all(.[]; (.pid | type == "number") and (.used_mib | type == "number")))
        and (.recommended_precision | IN("fp32", "fp16"))
        and (.timestamp | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"))'
}

@test "one device: the values are the driver's numbers, converted" {
    MOCK_NVML_NAME="Test Card" MOCK_NVML_TOTAL_MIB=40000 MOCK_NVML_USED_MIB=10000 MOCK_NVML_POWER_MW=250500 \
        MOCK_NVML_TEMP_C=63 MOCK_NVML_UTIL_GPU=88 MOCK_NVML_UTIL_MEM=44 MOCK_NVML_CC=8.6 \
        MOCK_NVML_PROCESSES="100:2000;200:3000" run --separate-stderr gpu-stats
    assert_success
    records_satisfy '.[0] | .name == "Test Card" and .memory_total_mib == 40000 and .memory_used_mib == 10000
        and .memory_free_mib == 30000 and .power_w == 250.5 and .temperature_c == 63
        and .utilization_gpu_percent == 88 and .utilization_memory_percent == 44 and .compute_capability == "8.6"'
    # used percent = used / total, to one decimal
    records_satisfy '.[0] | .memory_used_percent == ((.memory_used_mib / .memory_total_mib * 1000 | round) / 10)'
    records_satisfy '.[0].processes == [{"pid":100,"used_mib":2000},{"pid":200,"used_mib":3000}]'
    # jobs that fit = floor(free * 0.9 / job)
    records_satisfy '.[0] | .jobs_fit == ((.memory_free_mib * 1048576 * 0.9 / .job_bytes) | floor)'
}

@test "two devices: one record each, with their own numbers" {
    MOCK_NVML_DEVICES=2 MOCK_NVML_TOTAL_MIB=80000,24000 MOCK_NVML_USED_MIB=1000,20000 MOCK_NVML_NAME="Big,Small" \
        run --separate-stderr gpu-stats
    assert_success
    records_satisfy 'length == 2 and ([.[].index] == [0, 1]) and all(.[]; .devices == 2)'
    records_satisfy '.[0].name == "Big" and .[1].name == "Small" and .[1].memory_free_mib == 4000'
    records_satisfy '.[0].jobs_fit > .[1].jobs_fit'
    records_satisfy '.[0].uuid != .[1].uuid'
    records_satisfy 'all(.[]; .jobs_fit == ((.memory_free_mib * 1048576 * 0.9 / .job_bytes) | floor))'
    records_satisfy '.[0].timestamp == .[1].timestamp'
}

@test "--watch 0.1 --count 3: three rounds with increasing timestamps" {
    run --separate-stderr gpu-stats --watch 0.1 --count 3
    assert_success
    records_satisfy 'length == 3'
    records_satisfy '[.[].time] as $t | $t[0] < $t[1] and $t[1] < $t[2]'
    records_satisfy '[.[].timestamp] as $t | $t == ($t | sort) and ($t | unique | length) == 3'
}

@test "--watch with two devices: a record per device per round" {
    MOCK_NVML_DEVICES=2 run --separate-stderr gpu-stats -w 0.05 -n 2
    assert_success
    records_satisfy 'length == 4 and ([.[].index] == [0, 1, 0, 1])'
}

@test "--watch without a GPU repeats the CPU record" {
    ORFEAS_NVML_LIBRARY=/nonexistent run --separate-stderr gpu-stats --watch 0.05 --count 2
    assert_success
    records_satisfy 'length == 2 and all(.[]; .backend == "cpu")'
}

@test "--resolution and --precision change job_mib and jobs_fit as the formula says" {
    run --separate-stderr gpu-stats --resolution 256 --precision fp32
    assert_success
    local r256=$output
    run --separate-stderr gpu-stats --resolution 512 --precision fp32
    local r512=$output
    run --separate-stderr gpu-stats --resolution 256 --precision fp16
    local h256=$output
    # fp32 job: at least the volume (N+4)^2 (N+5) * 4 bytes; fp16 saves exactly half of it
    jq -e -n --argjson a "$r256" --argjson b "$r512" --argjson h "$h256" '
        $a.resolution == 256 and $b.resolution == 512 and $a.precision == "fp32" and $h.precision == "fp16"
        and $a.job_bytes > (260*260*261*4) and $b.job_bytes > (516*516*517*4)
        and ($a.job_bytes - $h.job_bytes) == (260*260*261*2)
        and $b.job_bytes > 5 * $a.job_bytes and $b.jobs_fit < $a.jobs_fit and $h.jobs_fit > $a.jobs_fit
        and $a.job_mib == (($a.job_bytes / 1048576) | ceil)
        and ([$a, $b, $h] | all(.jobs_fit == ((.memory_free_mib * 1048576 * 0.9 / .job_bytes) | floor)))'
}

@test "auto picks fp16 when fewer than two fp32 jobs fit, fp32 otherwise" {
    # 250 MiB free, 225 usable: one fp32 job (134 MiB) fits, two fp16 jobs (100 MiB)
    MOCK_NVML_TOTAL_MIB=300 MOCK_NVML_USED_MIB=50 run --separate-stderr gpu-stats
    assert_success
    records_satisfy '.[0].recommended_precision == "fp16" and .[0].precision == "fp16" and .[0].jobs_fit >= 2'
    MOCK_NVML_TOTAL_MIB=300 MOCK_NVML_USED_MIB=50 run --separate-stderr gpu-stats --precision fp32
    records_satisfy '.[0].recommended_precision == "fp16" and .[0].precision == "fp32" and .[0].jobs_fit == 1'
    run --separate-stderr gpu-stats
    records_satisfy '.[0].recommended_precision == "fp32"'
}

@test "--vram-budget caps jobs_fit" {
    run --separate-stderr gpu-stats
    local free_fit
    free_fit=$(printf '%s\n' "$output" | jq '.jobs_fit')
    run --separate-stderr gpu-stats --vram-budget 1G
    assert_success
    records_satisfy ".[0].jobs_fit < $free_fit and .[0].vram_budget_mib == 1024"
    records_satisfy '.[0].jobs_fit == ((1073741824 * 0.9 / .[0].job_bytes) | floor)'
    # a budget above free memory changes nothing
    run --separate-stderr gpu-stats --vram-budget 1T
    records_satisfy ".[0].jobs_fit == $free_fit"
}

@test "--queue-depth caps jobs_fit" {
    run --separate-stderr gpu-stats --queue-depth 4
    assert_success
    records_satisfy '.[0].jobs_fit == 4 and .[0].queue_depth == 4'
    ORFEAS_NVML_LIBRARY=/nonexistent run --separate-stderr gpu-stats --queue-depth 1
    records_satisfy '.[0].backend == "cpu" and .[0].jobs_fit == 1'
}

@test "an old driver lacking entry points: those fields are null, the rest is there" {
    ORFEAS_NVML_LIBRARY="$MOCK_MIN" MOCK_NVML_PROCESSES="77:64" run --separate-stderr gpu-stats
    assert_success
    records_satisfy '.[0] | .uuid == null and .temperature_c == null and .power_w == null
        and .utilization_gpu_percent == null and .utilization_memory_percent == null and .compute_capability == null'
    records_satisfy '.[0] | .memory_total_mib == 81559 and (.name | length > 0) and (.jobs_fit | type == "number")'
    # the process list still comes, through nvmlDeviceGetComputeRunningProcesses_v2
    records_satisfy '.[0].processes == [{"pid":77,"used_mib":64}]'
}

@test "entry points that answer 'not supported' leave only their fields null" {
    MOCK_NVML_UNSUPPORTED=Temperature,PowerUsage run --separate-stderr gpu-stats
    assert_success
    records_satisfy '.[0] | .temperature_c == null and .power_w == null and .utilization_gpu_percent == 37
        and .compute_capability == "9.0"'
}

@test "no memory figures: memory fields and jobs_fit null, the estimate kept when a precision is asked" {
    MOCK_NVML_UNSUPPORTED=MemoryInfo run --separate-stderr gpu-stats
    assert_success
    records_satisfy '.[0] | .memory_total_mib == null and .memory_free_mib == null and .memory_used_percent == null
        and .jobs_fit == null and .recommended_precision == null and .job_mib == null and .temperature_c == 41'
    MOCK_NVML_UNSUPPORTED=MemoryInfo run --separate-stderr gpu-stats --precision fp16
    records_satisfy '.[0] | .precision == "fp16" and .job_mib > 0 and .jobs_fit == null'
}

@test "a GPU that cannot be reached: an error record, the others still reported, exit 1" {
    MOCK_NVML_DEVICES=2 MOCK_NVML_LOST=0 run --separate-stderr gpu-stats
    assert_failure 1
    records_satisfy 'length == 2 and .[0].index == 0 and (.[0].error.message | test("lost"))
        and .[0].error.code == "device_error" and .[1].index == 1 and .[1].error == null and .[1].jobs_fit > 0'
    [[ "$stderr" == *"GPU 0"* ]]
}

@test "no processes, and a process whose memory the driver does not report" {
    MOCK_NVML_NO_PROCESSES=1 run --separate-stderr gpu-stats
    assert_success
    records_satisfy '.[0].processes == []'
    MOCK_NVML_PROCESSES="5:-" run --separate-stderr gpu-stats
    records_satisfy '.[0].processes == [{"pid":5,"used_mib":null}]'
}

@test "-v names the library; -q keeps stderr empty" {
    run --separate-stderr gpu-stats -v
    assert_success
    [[ "$stderr" == *"$MOCK"* ]]
    MOCK_NVML_FAIL_INIT=1 run --separate-stderr gpu-stats -q
    assert_success
    [ -z "$stderr" ]
}

@test "a bad flag is a usage error (64)" {
    run --separate-stderr gpu-stats --no-such-flag
    assert_failure 64
    [[ "$stderr" == *"--help"* ]]
    run --separate-stderr gpu-stats extra-argument
    assert_failure 64
    [[ "$stderr" == *"extra-argument"* ]]
}

@test "bad values are usage errors (64) naming the value" {
    local args
    for args in "--resolution 1" "--resolution 5000" "--resolution abc" "--precision fp64" \
                "--vram-budget 12X" "--vram-budget -1G" "--watch 0" "--watch soon" "--count 0" \
                "--count 2x" "--queue-depth -1"; do
        # shellcheck disable=SC2086
        run --separate-stderr gpu-stats $args
        [ "$status" -eq 64 ] || { echo "gpu-stats $args: status $status"; return 1; }
        [ -z "$output" ] || { echo "gpu-stats $args wrote: $output"; return 1; }
        [[ "$stderr" == *"${args#* }"* ]] || { echo "gpu-stats $args: message does not name the value: $stderr"; return 1; }
    done
}

@test "--help lists every option; --version prints one" {
    run gpu-stats --help
    assert_success
    local o
    for o in --watch --count --resolution --precision --vram-budget --queue-depth --require-gpu \
             --quiet --verbose --help --version ORFEAS_NVML_LIBRARY; do
        [[ "$output" == *"$o"* ]] || { echo "--help lacks $o"; return 1; }
    done
    run gpu-stats --version
    assert_success
    assert_output --regexp '^gpu-stats \(orfeas\) [0-9]+\.[0-9]+'
}

@test "a reader that goes away ends --watch cleanly" {
    run timeout 20 bash -c 'gpu-stats --watch 0.05 | head -n 1; echo "status ${PIPESTATUS[0]}"'
    assert_success
    assert_line --index 1 "status 0"
    printf '%s\n' "${lines[0]}" | assert_ndjson
}

@test "SIGTERM ends --watch with exit 0 after whole records" {
    run --separate-stderr timeout --preserve-status -s TERM 0.5 gpu-stats --watch 0.1
    assert_success
    printf '%s\n' "$output" | assert_ndjson
}

@test "the man page documents every record field and flag" {
    local page="$ROOT/man/gpu-stats.1" f
    [ -f "$page" ]
    run --separate-stderr gpu-stats --precision fp16 --vram-budget 1G --queue-depth 8
    local fields
    fields=$( (printf '%s\n' "$output"; ORFEAS_NVML_LIBRARY=/nonexistent gpu-stats) | jq -r 'keys[]' | sort -u)
    for f in $fields pid used_mib --watch --count --resolution --precision --vram-budget --queue-depth \
             --require-gpu --quiet --verbose --help --version ORFEAS_NVML_LIBRARY "EXIT STATUS"; do
        grep -qF -- "$(printf '%s' "$f" | sed 's/-/\\-/g')" "$page" || grep -qF -- "$f" "$page" \
            || { echo "man page lacks $f"; return 1; }
    done
}

@test "--list and --id as nvidia-smi's -L and -i: by index, UUID or PCI bus id; an unknown id is a usage error" {
    export MOCK_NVML_DEVICES=3
    run --separate-stderr gpu-stats -L
    assert_success
    records_satisfy 'length == 3 and map(.index) == [0, 1, 2] and .[1].pci_bus_id == "00000000:02:00.0"
        and (.[2].uuid | startswith("GPU-")) and all(.[]; keys == ["index", "name", "pci_bus_id", "uuid"])'
    uuid=$(printf '%s\n' "$output" | jq -r 'select(.index == 2) | .uuid')
    run --separate-stderr gpu-stats -i 1
    records_satisfy 'length == 1 and .[0].index == 1 and .[0].pci_bus_id == "00000000:02:00.0"'
    run --separate-stderr gpu-stats --id "$uuid,01:00.0"
    records_satisfy 'map(.index) == [0, 2]'
    run --separate-stderr gpu-stats -i 0 -i 00000000:02:00.0 --watch 0.1 --count 2
    records_satisfy 'map(.index) == [0, 1, 0, 1]'
    run --separate-stderr gpu-stats -i 7
    assert_equal "$status" 64
    [[ "$stderr" == *"--id 7"*"--list"* ]]
    ORFEAS_NVML_LIBRARY=/nonexistent run --separate-stderr gpu-stats -L
    assert_success
    assert_equal "$output" ""
}

@test "nvidia-smi's other flags get what does it here" {
    run --separate-stderr gpu-stats -l 1
    assert_equal "$status" 64
    [[ "$stderr" == *"--watch"* ]]
    run --separate-stderr gpu-stats --query-gpu=memory.used --format=csv
    assert_equal "$status" 64
    [[ "$stderr" == *"jq"* ]]
}
