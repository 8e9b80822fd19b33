/* gpu-stats - report what the GPUs hold and do, and how many jobs fit, as NDJSON.
 *
 * One record per device per round, from NVML (lib/device: dlopen, never a CUDA
 * context); with no GPU or no driver one CPU record with host memory. The
 * work is in lib/device.c; this file is options, the loop and the records. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "device.h"
#include "ndjson.h"
#include "units.h"
#include "version.h"

#define DEFAULT_INTERVAL 5.0 /* seconds, as the original service's monitor */
#define MIB (1024.0 * 1024.0)

static const char usage[] =
    "usage: gpu-stats [options]\n"
    "report what the GPUs hold and do, and how many jobs fit, as NDJSON:\n"
    "one record per GPU (or one CPU record when there is none).\n"
    "\n"
    "  -w, --watch SECONDS     repeat every SECONDS (90s, 0.5, 2m; default 5 with --count)\n"
    "  -n, --count N           stop after N rounds (default 1, or forever with --watch)\n"
    "  -r, --resolution N      grid cells along the longest side the job estimate is for\n"
    "                          (default 256, the final stage; 2 to 4096)\n"
    "  -p, --precision P       fp32, fp16 or auto (default auto: the recommendation)\n"
    "  -b, --vram-budget SIZE  memory jobs may use per GPU (500M, 14G; default: all free)\n"
    "  -d, --queue-depth N     cap jobs_fit at N queued jobs (default 0: no cap)\n"
    "  -i, --id ID[,ID...]     only these GPUs: an index, a UUID or a PCI bus id\n"
    "                          (00000000:01:00.0, or its end 01:00.0); may be repeated\n"
    "  -L, --list              one short record per GPU (index, name, uuid, pci_bus_id)\n"
    "      --require-gpu       exit 69 when there is no GPU instead of a CPU record\n"
    "  -q, --quiet             print nothing on stderr but errors\n"
    "  -v, --verbose           say on stderr which NVML was loaded and why not\n"
    "  -h, --help              show this help and exit\n"
    "  -V, --version           show the version and exit\n"
    "\n"
    "environment: ORFEAS_NVML_LIBRARY names the NVML library (default libnvidia-ml.so.1).\n"
    "exit status: 0 done, 1 a device could not be read, 64 usage (also an --id no GPU\n"
    "has), 69 no GPU with --require-gpu, 74 output error. See gpu-stats(1).\n";

typedef struct options {
    double interval;
    long count; /* rounds; 0 = forever */
    int resolution;
    device_precision precision;
    uint64_t budget;
    unsigned queue_depth;
    int require_gpu, quiet, verbose, list;
    const char *ids[64]; /* --id values (each may hold several, comma-separated) */
    int nids;
} options;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static cJSON *record_start(double now, const char *backend)
{
    char ts[40];
    cli_iso_time(now, 1, ts);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "timestamp", ts);
    cJSON_AddNumberToObject(r, "time", round(now * 1000.0) / 1000.0);
    cJSON_AddStringToObject(r, "backend", backend);
    return r;
}

static void add_int_or_null(cJSON *r, const char *name, int v)
{
    if (v >= 0)
        cJSON_AddNumberToObject(r, name, v);
    else
        cJSON_AddNullToObject(r, name);
}

static void add_plan(cJSON *r, const device_plan *plan, const options *o)
{
    cJSON_AddNumberToObject(r, "resolution", plan->resolution);
    cJSON_AddStringToObject(r, "recommended_precision", device_precision_name(plan->recommended));
    cJSON_AddStringToObject(r, "precision", device_precision_name(plan->precision));
    cJSON_AddNumberToObject(r, "job_bytes", (double)plan->job_bytes);
    cJSON_AddNumberToObject(r, "job_mib", ceil((double)plan->job_bytes / MIB));
    cJSON_AddNumberToObject(r, "jobs_fit", plan->jobs_fit);
    if (o->budget)
        cJSON_AddNumberToObject(r, "vram_budget_mib", floor((double)o->budget / MIB));
    if (o->queue_depth)
        cJSON_AddNumberToObject(r, "queue_depth", o->queue_depth);
}

/* 1 when device d is one --id names (or no --id was given). `id` one value:
 * an index, a UUID, a PCI bus id or its end ("01:00.0"), any case. */
static int id_names(const char *id, const device_info *d)
{
    char *end;
    long v = strtol(id, &end, 10);
    if (*id && !*end)
        return v == d->index;
    if (d->uuid[0] && !strcasecmp(id, d->uuid))
        return 1;
    size_t n = strlen(id), m = strlen(d->pci_bus_id);
    return n >= 7 && m >= n && !strcasecmp(d->pci_bus_id + m - n, id);
}

static int selected(const options *o, const device_info *d)
{
    if (!o->nids)
        return 1;
    for (int i = 0; i < o->nids; i++) {
        char one[128];
        for (const char *p = o->ids[i]; *p;) {
            size_t k = strcspn(p, ",");
            snprintf(one, sizeof one, "%.*s", (int)k, p);
            if (one[0] && id_names(one, d))
                return 1;
            p += k + (p[k] == ',');
        }
    }
    return 0;
}

/* An --id value that names no device: the first such one in buf, or "". */
static void unknown_id(const options *o, device_info *all, unsigned n, char *buf, size_t size)
{
    buf[0] = 0;
    for (int i = 0; i < o->nids && !buf[0]; i++)
        for (const char *p = o->ids[i]; *p && !buf[0];) {
            size_t k = strcspn(p, ",");
            char one[128];
            snprintf(one, sizeof one, "%.*s", (int)k, p);
            int found = 0;
            for (unsigned d = 0; d < n && !found; d++)
                found = id_names(one, &all[d]);
            if (!found)
                snprintf(buf, size, "%s", one);
            p += k + (p[k] == ',');
        }
}

static cJSON *gpu_record(const device_info *d, unsigned devices, double now, const options *o)
{
    cJSON *r = record_start(now, "cuda");
    cJSON_AddNumberToObject(r, "devices", devices);
    cJSON_AddNumberToObject(r, "index", d->index);
    if (d->name[0]) cJSON_AddStringToObject(r, "name", d->name); else cJSON_AddNullToObject(r, "name");
    if (d->uuid[0]) cJSON_AddStringToObject(r, "uuid", d->uuid); else cJSON_AddNullToObject(r, "uuid");
    if (d->pci_bus_id[0])
        cJSON_AddStringToObject(r, "pci_bus_id", d->pci_bus_id);
    else
        cJSON_AddNullToObject(r, "pci_bus_id");
    if (d->has_memory) {
        cJSON_AddNumberToObject(r, "memory_total_mib", floor((double)d->memory_total_bytes / MIB));
        cJSON_AddNumberToObject(r, "memory_used_mib", floor((double)d->memory_used_bytes / MIB));
        cJSON_AddNumberToObject(r, "memory_free_mib", floor((double)d->memory_free_bytes / MIB));
        double pct = 100.0 * (double)d->memory_used_bytes / (double)d->memory_total_bytes;
        cJSON_AddNumberToObject(r, "memory_used_percent", round(pct * 10.0) / 10.0);
    } else {
        cJSON_AddNullToObject(r, "memory_total_mib");
        cJSON_AddNullToObject(r, "memory_used_mib");
        cJSON_AddNullToObject(r, "memory_free_mib");
        cJSON_AddNullToObject(r, "memory_used_percent");
    }
    add_int_or_null(r, "utilization_gpu_percent", d->utilization_gpu);
    add_int_or_null(r, "utilization_memory_percent", d->utilization_memory);
    add_int_or_null(r, "temperature_c", d->temperature_c);
    if (d->power_w >= 0)
        cJSON_AddNumberToObject(r, "power_w", round(d->power_w * 1000.0) / 1000.0);
    else
        cJSON_AddNullToObject(r, "power_w");
    if (d->cc_major >= 0) {
        char cc[32];
        snprintf(cc, sizeof cc, "%d.%d", d->cc_major, d->cc_minor);
        cJSON_AddStringToObject(r, "compute_capability", cc);
    } else {
        cJSON_AddNullToObject(r, "compute_capability");
    }
    if (d->process_count >= 0) {
        cJSON *procs = cJSON_AddArrayToObject(r, "processes");
        int shown = d->process_count < DEVICE_MAX_PROCESSES ? d->process_count : DEVICE_MAX_PROCESSES;
        for (int i = 0; i < shown; i++) {
            cJSON *p = cJSON_CreateObject();
            cJSON_AddNumberToObject(p, "pid", d->processes[i].pid);
            if (d->processes[i].used_known)
                cJSON_AddNumberToObject(p, "used_mib", floor((double)d->processes[i].used_bytes / MIB));
            else
                cJSON_AddNullToObject(p, "used_mib");
            cJSON_AddItemToArray(procs, p);
        }
        if (d->process_count > DEVICE_MAX_PROCESSES)
            cJSON_AddNumberToObject(r, "processes_total", d->process_count);
    } else {
        cJSON_AddNullToObject(r, "processes");
    }
    device_plan plan;
    if (d->has_memory && device_plan_gpu(d->memory_free_bytes, o->budget, o->resolution, o->precision,
                                         o->queue_depth, &plan, NULL) == 0) {
        add_plan(r, &plan, o);
    } else {
        /* No memory figures: the estimate stands when a precision was asked for. */
        cJSON_AddNumberToObject(r, "resolution", o->resolution);
        cJSON_AddNullToObject(r, "recommended_precision");
        if (o->precision != DEVICE_PRECISION_AUTO) {
            uint64_t job = device_job_bytes(o->resolution, o->precision);
            cJSON_AddStringToObject(r, "precision", device_precision_name(o->precision));
            cJSON_AddNumberToObject(r, "job_bytes", (double)job);
            cJSON_AddNumberToObject(r, "job_mib", ceil((double)job / MIB));
        } else {
            cJSON_AddNullToObject(r, "precision");
            cJSON_AddNullToObject(r, "job_bytes");
            cJSON_AddNullToObject(r, "job_mib");
        }
        cJSON_AddNullToObject(r, "jobs_fit");
    }
    return r;
}

/* The one record when there is no GPU to report. NULL (with a message) when
 * even the host cannot be read. */
static cJSON *cpu_record(const char *reason, double now, const options *o)
{
    uint64_t total = 0, avail = 0;
    orf_err e;
    orf_err_clear(&e);
    cJSON *r = record_start(now, "cpu");
    cJSON_AddNumberToObject(r, "devices", 0);
    cJSON_AddStringToObject(r, "reason", reason);
    unsigned cpus = device_host_cpus();
    cJSON_AddNumberToObject(r, "cpus", cpus);
    if (device_host_memory(NULL, &total, &avail, &e) == 0) {
        cJSON_AddNumberToObject(r, "host_memory_total_mib", floor((double)total / MIB));
        cJSON_AddNumberToObject(r, "host_memory_available_mib", floor((double)avail / MIB));
        device_plan plan;
        if (device_plan_cpu(avail, cpus, o->resolution, o->queue_depth, &plan, NULL) == 0)
            add_plan(r, &plan, o);
    } else {
        cJSON_AddNullToObject(r, "host_memory_total_mib");
        cJSON_AddNullToObject(r, "host_memory_available_mib");
        cJSON_AddNumberToObject(r, "resolution", o->resolution);
        cJSON_AddNullToObject(r, "jobs_fit");
        if (!o->quiet)
            fprintf(stderr, "gpu-stats: %s\n", e.message);
    }
    return r;
}

/* Sleep until the monotonic deadline (ms) or a signal. */
static void sleep_until(double deadline_ms)
{
    while (!stop_requested) {
        double left = deadline_ms - units_now_ms();
        if (left <= 0)
            return;
        struct timespec ts = {(time_t)(left / 1000.0), (long)(fmod(left, 1000.0) * 1e6)};
        if (nanosleep(&ts, NULL) < 0 && errno != EINTR)
            return;
    }
}

/* What people type at nvidia-smi, and what does it here. */
static const cli_hint smi_habits[] = {
    {"-l", "--watch SECONDS (-w)"},
    {"--loop", "--watch SECONDS (-w)"},
    {"-lms", "--watch 0.5 (a duration: 500ms is 0.5)"},
    {"--loop-ms", "--watch 0.5 (a duration: 500ms is 0.5)"},
    {"--query-gpu", "every field is in each record: gpu-stats | jq '{index, name, memory_used_mib}'"},
    {"--format", "records are NDJSON: gpu-stats | jq -r '[.index, .memory_used_mib] | @csv' for CSV"},
    {"-x", "records are NDJSON (one JSON object a line); jq reads them"},
    {"--query", "every field is in each record: gpu-stats | jq ."},
    {NULL, NULL},
};

int main(int argc, char **argv)
{
    enum { OPT_REQUIRE_GPU = 256 };
    static const cli_opt opts[] = {
        {"watch", 'w', required_argument, 'w'},
        {"count", 'n', required_argument, 'n'},
        {"resolution", 'r', required_argument, 'r'},
        {"precision", 'p', required_argument, 'p'},
        {"vram-budget", 'b', required_argument, 'b'},
        {"queue-depth", 'd', required_argument, 'd'},
        {"id", 'i', required_argument, 'i'},
        {"list", 'L', no_argument, 'L'},
        {"require-gpu", 0, no_argument, OPT_REQUIRE_GPU},
        {"quiet", 'q', no_argument, 'q'},
        {"verbose", 'v', no_argument, 'v'},
        {"help", 'h', no_argument, 'h'},
        {"version", 'V', no_argument, 'V'},
    };
    options o = {.interval = 0, .count = 1, .resolution = DEVICE_DEFAULT_RESOLUTION,
                 .precision = DEVICE_PRECISION_AUTO};
    int count_given = 0, watch_given = 0;
    orf_err e;
    orf_err_clear(&e);
    long v;
    int c;
    cli_flags fl;
    if (cli_flags_init(&fl, "gpu-stats", NULL, opts, sizeof opts / sizeof opts[0], &e) < 0) {
        fprintf(stderr, "gpu-stats: %s\n", e.message);
        return ORF_EXIT_IO;
    }
    fl.hints = smi_habits;
    const param_def *row;
    while ((c = cli_next(&fl, argc, argv, &row)) != -1) {
        int bad = 0;
        switch (c) {
        case 'w':
            if (units_parse_duration(optarg, &o.interval, &e) < 0)
                bad = cli_usage("gpu-stats", "--watch: %s", e.message);
            else if (!(o.interval > 0) || o.interval > 86400)
                bad = cli_usage("gpu-stats", "--watch: '%s' must be more than 0 and at most a day", optarg);
            watch_given = 1;
            break;
        case 'n':
            if (cli_parse_long(optarg, 1, LONG_MAX, &v) < 0)
                bad = cli_usage("gpu-stats", "--count: '%s' is not a whole number of rounds (1 or more)", optarg);
            o.count = v;
            count_given = 1;
            break;
        case 'r':
            if (cli_parse_long(optarg, DEVICE_RESOLUTION_MIN, DEVICE_RESOLUTION_MAX, &v) < 0)
                bad = cli_usage("gpu-stats", "--resolution: '%s' is not a grid size from 2 to 4096 cells", optarg);
            o.resolution = (int)v;
            break;
        case 'p':
            if (device_precision_parse(optarg, &o.precision, &e) < 0)
                bad = cli_usage("gpu-stats", "--precision: %s", e.message);
            break;
        case 'b':
            if (units_parse_size(optarg, &o.budget, &e) < 0)
                bad = cli_usage("gpu-stats", "--vram-budget: %s", e.message);
            break;
        case 'd':
            if (cli_parse_long(optarg, 0, 1000000, &v) < 0)
                bad = cli_usage("gpu-stats", "--queue-depth: '%s' is not a whole number from 0 to 1000000", optarg);
            o.queue_depth = (unsigned)v;
            break;
        case 'i':
            if (!*optarg || o.nids == (int)(sizeof o.ids / sizeof o.ids[0]))
                bad = cli_usage("gpu-stats", "--id: give an index, a UUID or a PCI bus id");
            else
                o.ids[o.nids++] = optarg;
            break;
        case 'L': o.list = 1; break;
        case OPT_REQUIRE_GPU: o.require_gpu = 1; break;
        case 'q': o.quiet = 1; o.verbose = 0; break;
        case 'v': o.verbose = 1; o.quiet = 0; break;
        case 'h': fputs(usage, stdout); cli_flags_free(&fl); return ORF_EXIT_OK;
        case 'V': printf("gpu-stats (orfeas) %s\n", ORFEAS_VERSION); cli_flags_free(&fl); return ORF_EXIT_OK;
        default: bad = ORF_EXIT_USAGE; break;
        }
        if (bad) {
            cli_flags_free(&fl);
            return bad;
        }
    }
    cli_flags_free(&fl);
    if (optind < argc)
        return cli_usage("gpu-stats", "unexpected argument '%s' (gpu-stats takes options only)", argv[optind]);
    if (watch_given && !count_given)
        o.count = 0; /* forever */
    if (!watch_given)
        o.interval = DEFAULT_INTERVAL;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    device_nvml *nv = NULL;
    char reason[sizeof e.message];
    if (device_nvml_open(NULL, &nv, &e) < 0) {
        snprintf(reason, sizeof reason, "%s", e.message);
    } else if (device_nvml_count(nv) == 0) {
        snprintf(reason, sizeof reason, "NVML (%s) reports no GPU", device_nvml_path(nv));
        device_nvml_close(nv);
        nv = NULL;
    } else if (o.verbose) {
        fprintf(stderr, "gpu-stats: NVML from %s: %u GPU%s\n", device_nvml_path(nv),
                device_nvml_count(nv), device_nvml_count(nv) == 1 ? "" : "s");
    }
    if (!nv) {
        if (o.require_gpu) {
            fprintf(stderr, "gpu-stats: no GPU (--require-gpu): %s\n", reason);
            return ORF_EXIT_UNAVAILABLE;
        }
        if (o.verbose)
            fprintf(stderr, "gpu-stats: no GPU, reporting the host: %s\n", reason);
    }

    cli_out out = {"gpu-stats", o.quiet, 0, 0, 0};
    if (nv && (o.nids || o.list)) {
        /* --id must name devices there are; --list says what there is */
        unsigned n = device_nvml_count(nv);
        device_info *all = calloc(n ? n : 1, sizeof *all);
        if (!all) {
            device_nvml_close(nv);
            return ORF_EXIT_IO;
        }
        for (unsigned i = 0; i < n; i++)
            if (device_nvml_query(nv, i, &all[i], &e) < 0)
                device_info_clear(&all[i], (int)i);
        char bad_id[128];
        unknown_id(&o, all, n, bad_id, sizeof bad_id);
        if (bad_id[0]) {
            free(all);
            device_nvml_close(nv);
            return cli_usage("gpu-stats", "--id %s: no GPU has that index, UUID or PCI bus id "
                             "(gpu-stats --list shows them)", bad_id);
        }
        if (o.list) {
            for (unsigned i = 0; i < n; i++) {
                if (!selected(&o, &all[i]))
                    continue;
                cJSON *r = cJSON_CreateObject();
                cJSON_AddNumberToObject(r, "index", all[i].index);
                cJSON_AddStringToObject(r, "name", all[i].name);
                cJSON_AddStringToObject(r, "uuid", all[i].uuid);
                cJSON_AddStringToObject(r, "pci_bus_id", all[i].pci_bus_id);
                int w = cli_emit(&out, r);
                cJSON_Delete(r);
                if (w < 0)
                    break;
            }
            free(all);
            device_nvml_close(nv);
            return cli_finish(&out);
        }
        free(all);
    }
    if (!nv && (o.nids || o.list)) {
        if (o.list)
            return cli_finish(&out); /* no GPU: nothing to list */
        return cli_usage("gpu-stats", "--id: there is no GPU here (%s)", reason);
    }
    double start = units_now_ms();
    for (long round_no = 0; (o.count == 0 || round_no < o.count) && !stop_requested; round_no++) {
        if (round_no > 0)
            sleep_until(start + (double)round_no * o.interval * 1000.0);
        if (stop_requested)
            break;
        double now = units_wall_seconds();
        int w = 0;
        if (!nv) {
            cJSON *r = cpu_record(reason, now, &o);
            w = cli_emit(&out, r);
            cJSON_Delete(r);
        } else {
            unsigned n = device_nvml_count(nv);
            for (unsigned i = 0; i < n && w == 0; i++) {
                device_info d;
                cJSON *r;
                int q = device_nvml_query(nv, i, &d, &e);
                if (!selected(&o, &d))
                    continue;
                if (q == 0) {
                    r = gpu_record(&d, n, now, &o);
                } else {
                    r = record_start(now, "cuda");
                    cJSON_AddNumberToObject(r, "devices", n);
                    cJSON_AddNumberToObject(r, "index", i);
                    cJSON *err = cJSON_AddObjectToObject(r, "error");
                    cJSON_AddStringToObject(err, "code", e.code);
                    cJSON_AddStringToObject(err, "message", e.message);
                    if (!o.quiet)
                        fprintf(stderr, "gpu-stats: %s\n", e.message);
                    cli_count_failure(&out, e.code);
                }
                w = cli_emit(&out, r);
                cJSON_Delete(r);
            }
        }
        if (w < 0)
            break; /* the reader went away, or stdout failed (then 74) */
    }
    device_nvml_close(nv);
    return cli_finish(&out);
}
