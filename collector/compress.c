/*
 * compress.c — the zstd worker of rotated files (see compress.h for the
 * steps and the locking with the drain loop).
 */
#include "compress.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "../shared/clock.h"
#include "collector.h"
#include "uio.h"

#define COMPRESS_RETRY_NS 1000000000ll /* a failed job (a full disk) is tried again after this */

struct compress_job {
	struct compress_job *next;
	long long not_before; /* CLOCK_MONOTONIC ns: not before (a retry) */
	char name[PATH_MAX];
};

/* Wait on c->cv (c->mu held) until CLOCK_MONOTONIC ns at. Returns pthread_cond_timedwait's result. */
static int wait_until(struct compressor *c, long long at)
{
	struct timespec ts = {(time_t)(at / 1000000000ll), (long)(at % 1000000000ll)};
	return pthread_cond_timedwait(&c->cv, &c->mu, &ts);
}

/* Append j to c's queue (c->mu held). */
static void append(struct compressor *c, struct compress_job *j)
{
	struct compress_job **end = &c->queue;
	while (*end)
		end = &(*end)->next;
	j->next = NULL;
	*end = j;
}

/* Feed in (flushing the frame at the end when last) through z into out. Returns 0 or -errno. */
static int zstd_feed(ZSTD_CCtx *z, int out, char *obuf, size_t ocap, const char *data, size_t len, bool last)
{
	ZSTD_inBuffer in = {data, len, 0};
	size_t left;
	do {
		ZSTD_outBuffer o = {obuf, ocap, 0};
		left = ZSTD_compressStream2(z, &o, &in, last ? ZSTD_e_end : ZSTD_e_continue);
		if (ZSTD_isError(left)) /* its workspace is allocated at the first call */
			return ZSTD_getErrorCode(left) == ZSTD_error_memory_allocation ? -ENOMEM : -EIO;
		int rc = uio_write_all(out, obuf, o.pos);
		if (rc < 0)
			return rc;
	} while (last ? left != 0 : in.pos < in.size);
	return 0;
}

/* Compress everything readable from in into out as one zstd frame. Returns 0 or -errno. */
static int zstd_copy(int in, int out, int level)
{
	size_t icap = ZSTD_CStreamInSize(), ocap = ZSTD_CStreamOutSize();
	char *ibuf = malloc(icap), *obuf = malloc(ocap);
	ZSTD_CCtx *z = ZSTD_createCCtx();
	int rc = ibuf && obuf && z ? 0 : -ENOMEM;
	if (rc == 0 && ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, level)))
		rc = -EINVAL;
	while (rc == 0) {
		ssize_t n = read(in, ibuf, icap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		rc = zstd_feed(z, out, obuf, ocap, ibuf, (size_t)n, n == 0);
		if (n == 0)
			break;
	}
	ZSTD_freeCCtx(z);
	free(ibuf);
	free(obuf);
	return rc;
}

/* Steps 1 and 2: the file open as in compressed into tmp, fsync'd (stop_after 1: not fsync'd).
 * Closes in. Returns 0 or -errno (no tmp left then). */
static int write_tmp(int in, const char *tmp, int level, int stop_after)
{
	int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	int rc = out < 0 ? -errno : zstd_copy(in, out, level);
	struct stat st;
	if (rc == 0 && fstat(in, &st) == 0) /* the backup keeps the log's permissions */
		fchmod(out, st.st_mode & 07777);
	if (rc == 0 && stop_after != 1 && fsync(out) < 0)
		rc = -errno;
	close(in);
	if (out >= 0)
		close(out);
	if (rc < 0 && out >= 0)
		unlink(tmp);
	return rc;
}

/* fsync the directory of path. */
static void sync_dir(const char *path)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else
		slash[slash == dir] = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Step 3 (stop_after 3: only that) and 4 for the file now at path. Returns 0 or -errno. */
static int finish(const char *path, const char *tmp, int stop_after)
{
	char dst[PATH_MAX + 8];
	snprintf(dst, sizeof dst, "%s.zst", path);
	if (rename(tmp, dst) < 0) {
		int e = -errno;
		unlink(tmp);
		return e;
	}
	sync_dir(path);
	if (stop_after == 3)
		return 0;
	return unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
}

int compress_file(const char *path, int level, int stop_after)
{
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof tmp, "%s.zst.tmp", path);
	int in = open(path, O_RDONLY | O_CLOEXEC);
	int rc = in < 0 ? -errno : write_tmp(in, tmp, level, stop_after);
	if (rc < 0 || stop_after == 1 || stop_after == 2)
		return rc;
	return finish(path, tmp, stop_after);
}

/* Run job j: its name is read and the file opened, and later finished, under the lock (the drain
 * loop may rename it meanwhile, and tells us: compressor_renamed). It is finished only while its
 * name still holds the file it read: a name that came to hold another file keeps that file.
 * Returns 0 or -errno. */
static int run_job(struct compressor *c, struct compress_job *j)
{
	char tmp[PATH_MAX + 8];
	struct stat was, st;
	pthread_mutex_lock(&c->mu);
	snprintf(tmp, sizeof tmp, "%s.zst.tmp", j->name);
	int in = open(j->name, O_RDONLY | O_CLOEXEC);
	int rc = in < 0 || fstat(in, &was) < 0 ? -errno : 0;
	pthread_mutex_unlock(&c->mu);
	if (rc == -ENOENT) /* pruned before its turn */
		return 0;
	if (rc == 0)
		rc = write_tmp(in, tmp, c->level, 0);
	else if (in >= 0)
		close(in);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&c->mu);
	if (lstat(j->name, &st) == 0 && st.st_dev == was.st_dev && st.st_ino == was.st_ino)
		rc = finish(j->name, tmp, 0);
	else
		unlink(tmp); /* pruned meanwhile, or its name is another file's now */
	pthread_mutex_unlock(&c->mu);
	return rc;
}

static void *worker(void *arg)
{
	struct compressor *c = arg;
	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		struct compress_job *j = c->queue;
		if (!j || j->not_before > (long long)clock_monotonic_ns()) {
			if (j)
				wait_until(c, j->not_before);
			else
				pthread_cond_wait(&c->cv, &c->mu);
			continue;
		}
		c->queue = j->next;
		c->current = j;
		pthread_mutex_unlock(&c->mu);
		int rc = run_job(c, j);
		pthread_mutex_lock(&c->mu);
		if (rc < 0 && rc != c->last_err)
			collector_warn("writer %s: cannot compress %s: %s; trying again every second", c->who, j->name,
				       strerror(-rc));
		else if (rc == 0 && c->last_err)
			collector_warn("writer %s: compressing again", c->who);
		c->last_err = rc;
		c->current = NULL;
		if (rc < 0) {
			j->not_before = (long long)clock_monotonic_ns() + COMPRESS_RETRY_NS;
			append(c, j);
		} else {
			free(j);
		}
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int compressor_start(struct compressor *c, int level, const char *who)
{
	memset(c, 0, sizeof *c);
	c->level = level;
	c->who = who;
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	int rc = collector_thread(&c->thread, NULL, worker, c);
	if (rc) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		return -rc;
	}
	c->started = true;
	return 0;
}

int compressor_queue(struct compressor *c, const char *path)
{
	struct compress_job *j = calloc(1, sizeof *j);
	if (!j)
		return -ENOMEM;
	snprintf(j->name, sizeof j->name, "%s", path);
	pthread_mutex_lock(&c->mu);
	append(c, j);
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

void compressor_lock(struct compressor *c)
{
	pthread_mutex_lock(&c->mu);
}

void compressor_unlock(struct compressor *c)
{
	pthread_mutex_unlock(&c->mu);
}

void compressor_renamed(struct compressor *c, const char *from, const char *to)
{
	if (c->current && strcmp(c->current->name, from) == 0)
		snprintf(c->current->name, sizeof c->current->name, "%s", to);
	for (struct compress_job *j = c->queue; j; j = j->next)
		if (strcmp(j->name, from) == 0)
			snprintf(j->name, sizeof j->name, "%s", to);
}

void compressor_stop(struct compressor *c)
{
	if (!c->started)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	while (c->queue) {
		struct compress_job *j = c->queue;
		c->queue = j->next;
		free(j);
	}
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	c->started = false;
}
