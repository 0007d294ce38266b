/*
 * harness.c — the out-of-line half of the benchmark harness (see bench.h):
 * command line, CPU pinning, TSC calibration, waiting for the output file,
 * percentiles and the one JSON line per mode that run.sh collects.
 *
 *   bench_X --msg m1|const|mixed8|str200|below|empty --modes burst,flood,throughput,cold
 *           [--n 1000000] [--cold-n 20000] [--warmup 100000] [--out FILE] [--run K] [--dump PREFIX]
 *   bench_X --msg m1 --modes instr --n N        (for callgrind: N untimed calls, nothing else)
 *
 * The process should be started on the background CPU (run.sh uses taskset -c
 * 1): contender_open() runs there, so any thread the logger starts (spdlog's
 * worker, lttng-ust's listeners) inherits that CPU; then the calling thread
 * moves itself to the measuring CPU (0).
 *
 * Output counting: when --out names a text file, every record must end up as
 * one line in it. After each phase the harness waits (at most DRAIN_TIMEOUT_S)
 * until the file holds exactly the lines logged so far, so a phase never starts
 * with another phase's backlog, the end-to-end time includes the final write,
 * and a lost record shows up as a line count short of the expected one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define DRAIN_TIMEOUT_S 120
#define STALL_NS 1000000.0
#define COLD_SWEEP_BYTES (4u << 20) /* more than any current x86 core's L1 + L2, less than a shared L3 */

static const char *out_path;
static const char *dump_prefix; /* --dump: write every sample to PREFIX.MSG.MODE */
static int out_fd = -1;
static uint64_t out_lines;     /* newlines seen in the output so far */
static uint64_t expected_lines;
static double ns_per_tick;
static volatile uint8_t *sweep; /* BENCH_COLD: COLD_SWEEP_BYTES, pre-touched */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(long ns)
{
	struct timespec ts = {ns / 1000000000, ns % 1000000000};
	nanosleep(&ts, NULL);
}

static int pin_cpu(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof set, &set);
}

/* TSC ticks per ns, against CLOCK_MONOTONIC over ~100 ms (best of three tight pairs). */
static double calibrate_tsc(void)
{
	uint64_t t0 = 0, n0 = 0, t1 = 0, n1 = 0;
	uint64_t best = UINT64_MAX;
	for (int k = 0; k < 3; k++) { /* a read pair not split by an interrupt */
		uint64_t a = __rdtsc(), n = mono_ns(), b = __rdtsc();
		if (b - a < best) {
			best = b - a;
			t0 = a + (b - a) / 2;
			n0 = n;
		}
	}
	sleep_ns(100000000);
	best = UINT64_MAX;
	for (int k = 0; k < 3; k++) {
		uint64_t a = __rdtsc(), n = mono_ns(), b = __rdtsc();
		if (b - a < best) {
			best = b - a;
			t1 = a + (b - a) / 2;
			n1 = n;
		}
	}
	return (double)(n1 - n0) / (double)(t1 - t0);
}

/* Read what the output file gained and count its newlines. */
static void count_output(void)
{
	if (out_fd < 0) {
		out_fd = open(out_path, O_RDONLY | O_CLOEXEC);
		if (out_fd < 0)
			return;
	}
	static char buf[1 << 16];
	ssize_t r;
	while ((r = read(out_fd, buf, sizeof buf)) > 0) {
		for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + r - p))) != NULL; p++)
			out_lines++;
	}
}

void bench_drain(struct bench_ctx *ctx)
{
	if (!out_path) {
		/* no text output to watch (LTTng): give the consumer a moment */
		sleep_ns(200000000);
		return;
	}
	uint64_t deadline = mono_ns() + (uint64_t)DRAIN_TIMEOUT_S * 1000000000u;
	for (;;) {
		count_output();
		if (out_lines >= expected_lines)
			return;
		if (mono_ns() > deadline) {
			fprintf(stderr, "bench %s: output %s has %llu lines after %d s, expected %llu\n", contender_name,
				out_path, (unsigned long long)out_lines, DRAIN_TIMEOUT_S,
				(unsigned long long)expected_lines);
			ctx->drain_failed = 1;
			return;
		}
		sleep_ns(200000);
	}
}

void bench_expect(struct bench_ctx *ctx, uint64_t n)
{
	expected_lines += n;
	if (!n)
		return;
	/* Only loggers with a text output are flushed between phases: LTTng's
	 * flush is `lttng stop`, which ends the session (throughput's final step). */
	if (out_path)
		contender_flush();
	bench_drain(ctx);
}

/*
 * The array the timing loop stores each latency into. Its own page faults
 * and TLB misses must not land in a timed call: with 4 KiB pages, the store
 * that starts a new page (every 512 samples) costs a page walk that overlaps
 * the next timed call and added ~100 ns to 0.2 % of all calls, right at
 * p99.9, for every contender. So: huge pages where the kernel offers them
 * (transparent huge pages in "madvise" or "always" mode), every page touched
 * before the first timed call.
 */
static uint64_t *alloc_samples(uint64_t n, size_t *bytes)
{
	const size_t huge = 2u << 20;
	*bytes = ((size_t)n * sizeof(uint64_t) + huge - 1) & ~(huge - 1);
	/* over-allocate by one huge page so the array can start on a huge-page boundary */
	uint8_t *m = mmap(NULL, *bytes + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uint8_t *a = (uint8_t *)(((uintptr_t)m + huge - 1) & ~(uintptr_t)(huge - 1));
	if (a > m)
		munmap(m, (size_t)(a - m));
	munmap(a + *bytes, (size_t)(m + huge - a)); /* the rest of the spare huge page */
	madvise(a, *bytes, MADV_HUGEPAGE); /* advisory: without THP it stays 4 KiB pages, still pre-touched */
	memset(a, 0, *bytes);
	return (uint64_t *)a;
}

void bench_chill(void)
{
	for (size_t k = 0; k < COLD_SWEEP_BYTES; k += 64)
		sweep[k]++;
	syscall(SYS_getppid); /* a kernel entry and exit, as an interrupt makes */
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array, in ns. */
static double pct(const uint64_t *s, uint64_t n, double p)
{
	uint64_t k = (uint64_t)ceil(p / 100.0 * (double)n);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return (double)s[k - 1] * ns_per_tick;
}

static const char *const mode_names[] = {"burst", "flood", "throughput", "cold", "instr"};
static const char *const msg_names[] = {"m1", "const", "mixed8", "str200", "below", "empty", "m1args2", "m1kv2"};

static void report(struct bench_ctx *x, int run)
{
	printf("{\"contender\":\"%s\",\"mode\":\"%s\",\"msg\":\"%s\",\"run\":%d,\"n\":%llu,\"warmup\":%llu,"
	       "\"ns_per_tick\":%.6f",
	       contender_name, mode_names[x->mode], msg_names[x->msg], run, (unsigned long long)x->n,
	       (unsigned long long)x->warmup, ns_per_tick);
	if (x->mode == BENCH_BURST || x->mode == BENCH_FLOOD || x->mode == BENCH_COLD) {
		uint64_t stalls = 0;
		long double sum = 0;
		for (uint64_t i = 0; i < x->n; i++) {
			double ns = (double)x->lat[i] * ns_per_tick;
			sum += ns;
			stalls += ns > STALL_NS;
		}
		if (dump_prefix) { /* raw samples, in call order, for looking at patterns */
			char fn[PATH_MAX];
			snprintf(fn, sizeof fn, "%s.%s.%s", dump_prefix, msg_names[x->msg], mode_names[x->mode]);
			FILE *f = fopen(fn, "w");
			for (uint64_t i = 0; f && i < x->n; i++)
				fprintf(f, "%llu\n", (unsigned long long)x->lat[i]);
			if (f)
				fclose(f);
		}
		qsort(x->lat, x->n, sizeof *x->lat, cmp_u64);
		printf(",\"mean\":%.2f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p99.9\":%.1f,\"p99.99\":%.1f,"
		       "\"max\":%.1f,\"stalls_1ms\":%llu",
		       (double)(sum / (long double)x->n), pct(x->lat, x->n, 50), pct(x->lat, x->n, 90),
		       pct(x->lat, x->n, 99), pct(x->lat, x->n, 99.9), pct(x->lat, x->n, 99.99),
		       pct(x->lat, x->n, 100), (unsigned long long)stalls);
		static const double curve[] = {50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999, 100};
		printf(",\"curve\":[");
		for (unsigned k = 0; k < sizeof curve / sizeof curve[0]; k++)
			printf("%s[%g,%.1f]", k ? "," : "", curve[k], pct(x->lat, x->n, curve[k]));
		printf("]");
	} else if (x->mode == BENCH_THROUGHPUT) {
		double loop_ns = (double)(x->t_loop_end - x->t_begin) * ns_per_tick;
		double e2e_ns = (double)(x->t_e2e_end - x->t_begin) * ns_per_tick;
		printf(",\"ns_per_call\":%.3f,\"e2e_s\":%.6f", loop_ns / (double)x->n, e2e_ns / 1e9);
		if (bench_msg_logs(x->msg))
			printf(",\"e2e_rps\":%.0f", (double)x->n / (e2e_ns / 1e9));
	}
	if (out_path) {
		count_output();
		printf(",\"lines\":%llu,\"expected\":%llu", (unsigned long long)out_lines,
		       (unsigned long long)expected_lines);
	}
	long lost = contender_lost();
	if (lost >= 0)
		printf(",\"lost_reported\":%ld", lost);
	printf(",\"drain_failed\":%d}\n", x->drain_failed);
	fflush(stdout);
}

static int parse_enum(const char *s, const char *const *names, int count)
{
	for (int i = 0; i < count; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench_%s --msg m1|const|mixed8|str200|below|empty --modes burst,flood,throughput,cold|instr\n"
		"       [--n N] [--cold-n 20000] [--warmup N] [--burst 64] [--pause-us 50] [--out FILE] [--run K]\n"
		"       [--cpu 0] [--bg-cpu 1] [--dump PREFIX]\n"
		"cold: --cold-n calls, each right after a 4 MiB write sweep and a system call\n"
		"--dump writes each timed call's latency in TSC ticks, in call order, to PREFIX.MSG.MODE\n",
		contender_name);
	exit(2);
}

/* The command line (see usage), beside the globals it sets (out_path, dump_prefix). */
struct args {
	struct bench_ctx base;
	uint64_t cold_n;
	double pause_us;
	const char *modes;
	int run, cpu, bg_cpu;
};

/* Parse argv into *g (usage() on anything wrong). */
static void parse_args(int argc, char **argv, struct args *g)
{
	*g = (struct args){.base = {.n = 1000000, .warmup = 100000, .burst = 64}, .cold_n = 20000, .pause_us = 50,
			   .run = 1, .bg_cpu = 1};
	int msg = -1;
	for (int i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		if (!strcmp(a, "--msg"))
			msg = parse_enum(v, msg_names, (int)(sizeof msg_names / sizeof msg_names[0]));
		else if (!strcmp(a, "--modes"))
			g->modes = v;
		else if (!strcmp(a, "--n"))
			g->base.n = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--cold-n"))
			g->cold_n = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--warmup"))
			g->base.warmup = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--burst"))
			g->base.burst = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--pause-us"))
			g->pause_us = strtod(v, NULL);
		else if (!strcmp(a, "--out"))
			out_path = v;
		else if (!strcmp(a, "--dump"))
			dump_prefix = v;
		else if (!strcmp(a, "--run"))
			g->run = atoi(v);
		else if (!strcmp(a, "--cpu"))
			g->cpu = atoi(v);
		else if (!strcmp(a, "--bg-cpu"))
			g->bg_cpu = atoi(v);
		else
			usage();
	}
	if (msg < 0 || !g->modes || g->base.n == 0 || g->base.burst == 0 || g->cold_n == 0)
		usage();
	g->base.msg = (enum bench_msg)msg;
}

/* Run and report each mode of g->modes in turn with base. Returns whether any failed to drain. */
static int run_modes(const struct args *g, const struct bench_ctx *base)
{
	char *list = strdup(g->modes), *save = NULL;
	int failed = 0;
	for (char *m = list ? strtok_r(list, ",", &save) : NULL; m; m = strtok_r(NULL, ",", &save)) {
		int mode = parse_enum(m, mode_names, 4);
		if (mode < 0)
			usage();
		struct bench_ctx x = *base;
		x.mode = (enum bench_mode)mode;
		if (x.mode == BENCH_COLD)
			x.n = g->cold_n;
		contender_run(&x);
		report(&x, g->run);
		failed |= x.drain_failed;
	}
	free(list);
	return failed;
}

int main(int argc, char **argv)
{
	struct args g;
	parse_args(argc, argv, &g);
	struct bench_ctx base = g.base;
	int instr = strcmp(g.modes, "instr") == 0;
	if (!instr) {
		pin_cpu(g.bg_cpu);
		ns_per_tick = calibrate_tsc();
	}
	if (contender_open(out_path) < 0)
		return 1;
	if (instr) {
		base.mode = BENCH_INSTR;
		contender_run(&base);
		contender_close(0);
		return 0;
	}
	if (pin_cpu(g.cpu) < 0)
		fprintf(stderr, "bench %s: cannot pin to CPU %d: %s\n", contender_name, g.cpu, strerror(errno));
	size_t lat_bytes = 0;
	base.pause_ticks = (uint64_t)(g.pause_us * 1000.0 / ns_per_tick);
	base.lat = alloc_samples(base.n > g.cold_n ? base.n : g.cold_n, &lat_bytes);
	int cold = strstr(g.modes, "cold") != NULL;
	if (cold && (sweep = malloc(COLD_SWEEP_BYTES)) != NULL)
		memset((void *)sweep, 0, COLD_SWEEP_BYTES);
	if (!base.lat || (cold && !sweep)) {
		fprintf(stderr, "bench %s: out of memory\n", contender_name);
		return 1;
	}
	int failed = run_modes(&g, &base);
	contender_close(1);
	munmap(base.lat, lat_bytes);
	free((void *)sweep);
	return failed ? 3 : 0;
}
