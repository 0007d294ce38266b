/*
 * probe_gaps.c — how much the machine itself takes away, measured in the same
 * run as the loggers: one thread per CPU spins reading the TSC for the given
 * time and counts the gaps between two consecutive reads, which on an idle,
 * pinned thread can only be the kernel or the hypervisor running something
 * else. Both CPUs spin at once, as in the flood mode (producer on one CPU,
 * collector busy on the other).
 *
 *   probe_gaps [--seconds 5]      prints one JSON line:
 *   {"probe":"gaps","seconds":5,"cpus":[{"cpu":0,"gaps_10us":..,"gaps_1ms":..,"longest_us":..,"lost_pct":..},..]}
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#define MAX_CPUS 64

struct probe {
	int cpu;
	double ticks_per_ns, seconds;
	uint64_t gaps_10us, gaps_1ms, longest, lost;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *spin(void *arg)
{
	struct probe *p = arg;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(p->cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0)
		return NULL;
	const uint64_t t10us = (uint64_t)(10000 * p->ticks_per_ns), t1ms = (uint64_t)(1000000 * p->ticks_per_ns);
	uint64_t start = __rdtsc(), prev = start, end = start + (uint64_t)(p->seconds * 1e9 * p->ticks_per_ns);
	while (prev < end) {
		uint64_t t = __rdtsc(), d = t - prev;
		if (d > t10us) {
			p->gaps_10us++;
			p->lost += d;
			p->gaps_1ms += d > t1ms;
			if (d > p->longest)
				p->longest = d;
		}
		prev = t;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = 5;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = strtod(argv[++i], NULL);
		else {
			fprintf(stderr, "usage: probe_gaps [--seconds S]\n");
			return 2;
		}
	}
	uint64_t n0 = mono_ns(), c0 = __rdtsc();
	struct timespec d = {0, 100000000};
	nanosleep(&d, NULL);
	double tpn = (double)(__rdtsc() - c0) / (double)(mono_ns() - n0);
	cpu_set_t online;
	sched_getaffinity(0, sizeof online, &online);
	struct probe p[MAX_CPUS];
	pthread_t th[MAX_CPUS];
	int n = 0;
	for (int cpu = 0; cpu < MAX_CPUS && n < MAX_CPUS; cpu++)
		if (CPU_ISSET(cpu, &online)) {
			p[n] = (struct probe){.cpu = cpu, .ticks_per_ns = tpn, .seconds = seconds};
			pthread_create(&th[n], NULL, spin, &p[n]);
			n++;
		}
	printf("{\"probe\":\"gaps\",\"seconds\":%g,\"cpus\":[", seconds);
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		printf("%s{\"cpu\":%d,\"gaps_10us\":%llu,\"gaps_1ms\":%llu,\"longest_us\":%.0f,\"lost_pct\":%.2f}",
		       i ? "," : "", p[i].cpu, (unsigned long long)p[i].gaps_10us, (unsigned long long)p[i].gaps_1ms,
		       (double)p[i].longest / tpn / 1000.0, 100.0 * (double)p[i].lost / tpn / (seconds * 1e9));
	}
	printf("]}\n");
	return 0;
}
