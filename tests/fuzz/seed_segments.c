/*
 * seed_segments.c — seeds for fuzz_segment: real segments of a real
 * producer (libshmlog), compacted.
 *
 *   seed_segments DIR OUT
 *
 * Each variant opens a logger in a directory of its own under DIR with the
 * smallest rings (4 KiB), logs (every argument kind, fields, NULL and cut
 * strings, a full ring with its drops counted, several threads), and its
 * segment is then written to OUT/NAME.shm compacted: the same header, rings
 * and records, but the call-site table and string heap cut to what is used
 * and the layout moved up to match, trailing zeros left out (fuzz_segment
 * extends a file to its segment_bytes). A real segment is about 800 KiB,
 * mostly an empty site table; compacted, a few KiB of bytes that matter.
 */
#include <dirent.h>
#include <pthread.h>
#include <shmlog.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "shared/abi.h"

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(*n);
	if (b && fread(b, 1, *n, f) != *n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

/* The one segment file in dir, into path. Returns whether there is one. */
static bool find_segment(const char *dir, char *path, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;
	while (d && (e = readdir(d)))
		if (strstr(e->d_name, ".shm") && !found)
			found = snprintf(path, cap, "%s/%s", dir, e->d_name) < (int)cap;
	if (d)
		closedir(d);
	return found;
}

/* The segment at in as a compacted seed at out (see the file comment). Returns 0 or -1. */
static int compact(const char *in, const char *out)
{
	size_t n;
	uint8_t *src = slurp(in, &n);
	if (!src)
		return -1;
	struct shmlog_seg_header h;
	memcpy(&h, src, sizeof h);
	uint32_t sites = h.sites_used, strings = (h.strings_used + 7u) & ~7u;
	uint64_t rings_off = SHMLOG_SEG_HEADER_BYTES, sites_off = rings_off + (uint64_t)h.ring_count * SHMLOG_RING_HEADER_BYTES;
	uint64_t strings_off = sites_off + (uint64_t)sites * SHMLOG_SITE_ENTRY_BYTES;
	uint64_t data_off = (strings_off + strings + 4095u) & ~(uint64_t)4095u;
	uint64_t size = data_off + (uint64_t)h.ring_count * h.ring_bytes;
	uint8_t *dst = calloc(1, size);
	if (!dst)
		return -1;
	memcpy(dst + rings_off, src + h.rings_off, (size_t)h.ring_count * SHMLOG_RING_HEADER_BYTES);
	memcpy(dst + sites_off, src + h.sites_off, (size_t)sites * SHMLOG_SITE_ENTRY_BYTES);
	memcpy(dst + strings_off, src + h.strings_off, strings);
	memcpy(dst + data_off, src + h.ring_data_off, (size_t)h.ring_count * h.ring_bytes);
	h.max_sites = sites;
	h.strings_bytes = strings;
	h.rings_off = rings_off;
	h.sites_off = sites_off;
	h.strings_off = strings_off;
	h.ring_data_off = data_off;
	h.segment_bytes = size;
	memcpy(dst, &h, sizeof h);
	size_t keep = (size_t)size;
	while (keep > sizeof h && dst[keep - 1] == 0)
		keep--;
	FILE *f = fopen(out, "wb");
	int rc = f && fwrite(dst, 1, keep, f) == keep ? 0 : -1;
	if (f && fclose(f) != 0)
		rc = -1;
	free(src);
	free(dst);
	return rc;
}

static void log_kinds(struct shmlog *lg)
{
	long double ld = 1.25L;
	char big[6000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	SHMLOG_INFO(lg, "ints %d %u %ld %lld %hhd %hu %zu %jd %x %#o %c", -1, 2u, 3L, -4LL, (signed char)5, (unsigned short)6,
		    (size_t)7, (intmax_t)8, 0xabu, 9u, 'z');
	SHMLOG_WARN(lg, "floats %f %.3e %g %a %Lf %10.4F", 3.5, -1e300, 0.1, 1.0, ld, 2.0);
	SHMLOG_ERROR(lg, "strings [%s] [%-8s] [%.*s] [%*s] %p", "plain", "left", 3, "precision", 6, "pad", (void *)lg);
	SHMLOG_DEBUG(lg, "null %s and cut %.20s and escapes \t \x1b \\ \"q\"", (const char *)NULL, big);
	SHMLOG_TRACE(lg, "a long string: %s", big);
	SHMLOG_CRITICAL(lg, "100%% literal");
	bool yes = true;
	SHMLOG_INFO_KV(lg, ("user", "root", "id", 12345, "ok", yes, "px", 1.5, "n", (const char *)NULL), "fields %d", 1);
	SHMLOG_ERROR_KV(lg, ("order", UINT64_MAX, "note", "say \"hi\" = x", "neg", -7), "order %s", "rejected");
}

static void *thread_main(void *arg)
{
	struct shmlog *lg = arg;
	for (int i = 0; i < 20; i++)
		SHMLOG_INFO(lg, "thread record %d of %s", i, "twenty");
	return NULL;
}

/* One variant: a logger in DIR/name, what log() writes, then the compacted segment in OUT/name.shm. */
static int variant(const char *dir, const char *outdir, const char *name, void (*log)(struct shmlog *), bool close_first)
{
	char sub[4096], path[4096], out[4096];
	snprintf(sub, sizeof sub, "%s/%s", dir, name);
	mkdir(sub, 0700);
	struct shmlog *lg;
	struct shmlog_options o = {.name = name, .dir = sub, .ring_bytes = 4096, .max_threads = 2,
				   .min_level = SHMLOG_LEVEL_TRACE};
	if (shmlog_open(&lg, &o) < 0 || !find_segment(sub, path, sizeof path)) {
		fprintf(stderr, "seed_segments: %s: no segment\n", name);
		return -1;
	}
	log(lg);
	snprintf(out, sizeof out, "%s/%s.shm", outdir, name);
	if (close_first)
		shmlog_close(lg); /* the file stays, marked closed */
	int rc = compact(path, out);
	if (!close_first)
		shmlog_close(lg);
	if (rc < 0)
		fprintf(stderr, "seed_segments: %s: cannot compact\n", name);
	return rc;
}

static void log_full(struct shmlog *lg)
{
	for (int i = 0; i < 400; i++)
		SHMLOG_INFO(lg, "filling record %d with %s", i, "some padding text: the ring fills, the rest is dropped");
}

static void log_threads(struct shmlog *lg)
{
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, thread_main, lg);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	SHMLOG_WARN(lg, "main thread after %d threads", 3);
}

static void log_one(struct shmlog *lg)
{
	SHMLOG_INFO(lg, "hello %s", "world");
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: seed_segments DIR OUT\n");
		return 2;
	}
	int rc = 0;
	rc |= variant(argv[1], argv[2], "one", log_one, false);
	rc |= variant(argv[1], argv[2], "kinds", log_kinds, false);
	rc |= variant(argv[1], argv[2], "closed", log_kinds, true);
	rc |= variant(argv[1], argv[2], "full", log_full, false);
	rc |= variant(argv[1], argv[2], "threads", log_threads, false);
	return rc ? 1 : 0;
}
