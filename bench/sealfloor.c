/*
 * sealfloor.c — what sealing alone charges per byte of a log, measured in
 * the same bench run with the collector's own sealing code (shared/encfile.c).
 *
 *   sealfloor [--alg xchacha20poly1305|aes256gcm] [--mb M] [--cpu C] [--runs R]
 *
 * Seals M MiB (default 256) of log lines in chunks of ENCFILE_CHUNK_MAX
 * (64 KiB: what the encryption layer seals at a time while records flow),
 * one stream with a random key, pinned to CPU C (default 1, the
 * collector's), and reports the CPU time (user + system, getrusage) per
 * plaintext byte as one JSON line: the median of R runs (default 3). The
 * plaintext and the output buffer stay in the cache, so this is a floor:
 * the collector seals bytes it has just rendered, about as warm.
 *
 * report_io.py multiplies it by the encrypted case's bytes per record to
 * bound the encrypted ÷ plain ratio of a collector that seals on the core
 * it renders on.
 */
#include <sched.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../shared/encfile.h"
#include "floor.h"

/* One pass: total bytes of pt sealed chunk by chunk into out, in a new stream. Returns CPU ns per byte, or -1. */
static double pass(enum encfile_alg alg, const struct encfile_key *k, const uint8_t *pt, uint8_t *out, size_t total)
{
	struct encfile_stream st;
	uint8_t hdr[ENCFILE_HEADER_BYTES];
	if (encfile_begin(&st, hdr, alg, k, 0) < 0)
		return -1;
	double c0 = floor_cpu_s();
	for (size_t done = 0; done < total; done += ENCFILE_CHUNK_MAX)
		encfile_seal(&st, out, pt, ENCFILE_CHUNK_MAX, 0);
	double ns = (floor_cpu_s() - c0) * 1e9 / (double)total;
	encfile_stream_wipe(&st);
	return ns;
}

/* Parse the command line into the outputs. Returns 0, or -1 for a misuse. */
static int parse(int argc, char **argv, enum encfile_alg *alg, unsigned *mb, unsigned *cpu, unsigned *runs)
{
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return -1;
		if (!strcmp(argv[i], "--alg") && !strcmp(v, "xchacha20poly1305"))
			*alg = ENCFILE_ALG_XCHACHA20POLY1305;
		else if (!strcmp(argv[i], "--alg") && !strcmp(v, "aes256gcm"))
			*alg = ENCFILE_ALG_AES256GCM;
		else if (!strcmp(argv[i], "--mb"))
			*mb = (unsigned)atoi(v);
		else if (!strcmp(argv[i], "--cpu"))
			*cpu = (unsigned)atoi(v);
		else if (!strcmp(argv[i], "--runs"))
			*runs = (unsigned)atoi(v);
		else
			return -1;
		i++;
	}
	return *mb >= 1 && *runs >= 1 && *runs <= 15 ? 0 : -1;
}

int main(int argc, char **argv)
{
	enum encfile_alg alg = ENCFILE_ALG_XCHACHA20POLY1305;
	unsigned mb = 256, cpu = 1, runs = 3;
	if (parse(argc, argv, &alg, &mb, &cpu, &runs) < 0) {
		fprintf(stderr, "usage: sealfloor [--alg xchacha20poly1305|aes256gcm] [--mb M] [--cpu C] [--runs R (1..15)]\n");
		return 2;
	}
	if (encfile_init() < 0 || !encfile_alg_available(alg)) {
		fprintf(stderr, "sealfloor: %s is not available here\n", encfile_alg_name(alg));
		return 1;
	}
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof set, &set);
	struct encfile_key k = {.mode = ENCFILE_KEY_SECRET};
	randombytes_buf(k.key, sizeof k.key);
	uint8_t *pt = malloc(ENCFILE_CHUNK_MAX);
	uint8_t *out = malloc(ENCFILE_CHUNK_HEADER_BYTES + ENCFILE_CHUNK_MAX + ENCFILE_TAG_MAX);
	if (!pt || !out)
		return 1;
	for (size_t i = 0; i < ENCFILE_CHUNK_MAX; i++)
		pt[i] = i % 90 == 89 ? '\n' : (uint8_t)('a' + i % 26); /* lines, as a log holds */
	double ns[15];
	for (unsigned r = 0; r < runs; r++)
		if ((ns[r] = pass(alg, &k, pt, out, (size_t)mb << 20)) < 0) {
			fprintf(stderr, "sealfloor: cannot begin a stream\n");
			return 1;
		}
	qsort(ns, runs, sizeof ns[0], floor_cmp_double);
	printf("{\"scenario\":\"sealfloor\",\"algorithm\":\"%s\",\"mib\":%u,\"runs\":%u,\"seal_ns_per_byte\":%.4f}\n",
	       encfile_alg_name(alg), mb, runs, ns[runs / 2]);
	sodium_memzero(&k, sizeof k);
	free(pt);
	free(out);
	return 0;
}
