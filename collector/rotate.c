/*
 * rotate.c — rotation by size and time for file-shaped writers (see
 * rotate.h for the protocol with the writer).
 *
 * Decisions are made when a record is taken, against a projection of the
 * file being filled (its size on disk plus what is taken and not written),
 * so a cut always falls on a record boundary; the rename itself waits until
 * every byte before the cut is written. Time boundaries come from the
 * records' own timestamps, so a backlog drained late still lands in the file
 * of its interval. Interval arithmetic and the names of the rotated files are
 * in rotate_time.c and rotate_files.c.
 */
#include "rotate.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "../shared/grow.h"
#include "collector.h"
#include "rotate_int.h"
#include "writer.h"

#define ROTATE_MAX_BACKUPS 100000

/* Read an integer member key into *v, range-checked. Returns 1 present, 0 absent, -EINVAL (d filled). */
static int cfg_int(const config_setting_t *cfg, const char *key, long long lo, long long hi, long long *v,
		   struct diag *d)
{
	config_setting_t *s = config_setting_get_member(cfg, key);
	if (!s)
		return 0;
	int t = config_setting_type(s);
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
		writer_diag(d, s, NULL, "expected an integer from %lld to %lld", lo, hi);
		return -EINVAL;
	}
	*v = config_setting_get_int64(s);
	if (*v < lo || *v > hi) {
		writer_diag(d, s, NULL, "must be from %lld to %lld, not %lld%s", lo, hi, *v,
			    *v == -1 ? " (or a number too big for 64 bits, which libconfig reads as -1)" : "");
		return -EINVAL;
	}
	return 1;
}

/* "15m", "6h", "90s": seconds, or 0 if not a duration from 1s to 24h. */
static uint32_t parse_duration(const char *s)
{
	char *end;
	if (*s < '0' || *s > '9')
		return 0;
	unsigned long long n = strtoull(s, &end, 10);
	unsigned long long unit = 0;
	if (strcmp(end, "s") == 0)
		unit = 1;
	else if (strcmp(end, "m") == 0)
		unit = 60;
	else if (strcmp(end, "h") == 0)
		unit = 3600;
	if (!unit || n == 0 || n > 86400 / unit)
		return 0;
	return (uint32_t)(n * unit);
}

/* rotate_every. Returns 0 or -EINVAL (d filled). */
static int read_every(struct rotate *r, const config_setting_t *cfg, struct diag *d)
{
	const char *v;
	int rc = writer_cfg_string(cfg, "rotate_every", &v, d);
	if (rc <= 0)
		return rc;
	if (strcmp(v, "hourly") == 0) {
		r->every_s = 3600;
	} else if (strcmp(v, "daily") == 0) {
		r->every_s = 86400;
		r->daily = true;
	} else if (!(r->every_s = parse_duration(v))) {
		writer_diag(d, config_setting_get_member(cfg, "rotate_every"), NULL,
			    "expected \"hourly\", \"daily\" or a duration from 1s to 24h such as \"15m\" or \"6h\", "
			    "not \"%s\"", v);
		return -EINVAL;
	}
	return 0;
}

/* rotate_at ("HH:MM", only with daily). Returns 0 or -EINVAL (d filled). */
static int read_at(struct rotate *r, const config_setting_t *cfg, struct diag *d)
{
	const char *v;
	int rc = writer_cfg_string(cfg, "rotate_at", &v, d);
	if (rc <= 0)
		return rc;
	const config_setting_t *s = config_setting_get_member(cfg, "rotate_at");
	if (!r->daily) {
		writer_diag(d, s, NULL, "only applies with rotate_every = \"daily\"");
		return -EINVAL;
	}
	unsigned h, m;
	char tail;
	if (strlen(v) != 5 || sscanf(v, "%2u:%2u%c", &h, &m, &tail) != 2 || h > 23 || m > 59) {
		writer_diag(d, s, NULL, "expected a time of day \"HH:MM\" (00:00 to 23:59), not \"%s\"", v);
		return -EINVAL;
	}
	r->at_s = h * 3600 + m * 60;
	return 0;
}

/* local_time. Returns 0 or -EINVAL (d filled). */
static int read_local(struct rotate *r, const config_setting_t *cfg, struct diag *d)
{
	config_setting_t *s = config_setting_get_member(cfg, "local_time");
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		writer_diag(d, s, NULL, "expected true or false");
		return -EINVAL;
	}
	r->local_time = config_setting_get_bool(s);
	return 0;
}

/* compress and compress_level. Returns 0 or -EINVAL (d filled). */
static int read_compress(struct rotate *r, const config_setting_t *cfg, struct diag *d)
{
	const char *v;
	int rc = writer_cfg_string(cfg, "compress", &v, d);
	if (rc < 0)
		return rc;
	if (rc && strcmp(v, "zstd") != 0 && strcmp(v, "none") != 0) {
		writer_diag(d, config_setting_get_member(cfg, "compress"), NULL,
			    "must be \"zstd\" or \"none\", not \"%s\"", v);
		return -EINVAL;
	}
	r->compress = rc && strcmp(v, "zstd") == 0;
	long long level;
	rc = cfg_int(cfg, "compress_level", 1, ZSTD_maxCLevel(), &level, d);
	if (rc < 0)
		return rc;
	if (rc && !r->compress) {
		writer_diag(d, config_setting_get_member(cfg, "compress_level"), NULL,
			    "only applies with compress = \"zstd\"");
		return -EINVAL;
	}
	r->level = rc ? (int)level : COMPRESS_LEVEL_DEFAULT;
	return 0;
}

/* Refuse the keys that do nothing without a rotation. Returns 0 or -EINVAL (d filled). */
static int need_rotation(const struct rotate *r, const config_setting_t *cfg, struct diag *d)
{
	static const char *const keys[] = {"backups", "compress", "local_time"};
	for (size_t i = 0; !rotate_on(r) && i < sizeof keys / sizeof keys[0]; i++) {
		config_setting_t *s = config_setting_get_member(cfg, keys[i]);
		if (s) {
			writer_diag(d, s, NULL, "only applies with max_bytes or rotate_every");
			return -EINVAL;
		}
	}
	return 0;
}

int rotate_configure(struct rotate *r, const config_setting_t *cfg, struct diag *d)
{
	memset(r, 0, sizeof *r);
	r->backups = ROTATE_BACKUPS_DEFAULT;
	r->proj_start = ROTATE_NO_INTERVAL;
	r->seen_lo = 1;
	r->seen_hi = 0; /* an empty span */
	if (!cfg)
		return 0;
	long long v;
	int rc = cfg_int(cfg, "max_bytes", 1, INT64_MAX, &v, d);
	if (rc < 0)
		return rc;
	r->max_bytes = rc ? (uint64_t)v : 0;
	rc = cfg_int(cfg, "backups", 0, ROTATE_MAX_BACKUPS, &v, d);
	if (rc < 0)
		return rc;
	if (rc)
		r->backups = (uint32_t)v;
	if ((rc = read_every(r, cfg, d)) < 0 || (rc = read_at(r, cfg, d)) < 0 || (rc = read_local(r, cfg, d)) < 0 ||
	    (rc = read_compress(r, cfg, d)) < 0)
		return rc;
	return need_rotation(r, cfg, d);
}

/*
 * Open path for appending, creating it with mode if need be. A FIFO is
 * refused rather than waited on for a reader (*step says why); anything
 * else (a regular file, /dev/null) is written as a file. Returns the
 * descriptor or -errno.
 */
const char rotate_fifo_step[] = "is a FIFO";

static int open_target(const char *path, mode_t mode, const char **step)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, mode);
	struct stat st;
	if (fd < 0 && errno == ENXIO && stat(path, &st) == 0 && S_ISFIFO(st.st_mode)) /* no reader */
		*step = rotate_fifo_step;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
		close(fd);
		*step = rotate_fifo_step;
		return -ENXIO;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

int rotate_open(struct rotate *r, const char *path, mode_t mode, const char *who, const char **step)
{
	*step = "cannot open";
	if (!(r->path = strdup(path)))
		return -ENOMEM;
	r->mode = mode;
	r->who = who;
	int fd = open_target(path, mode, step);
	struct stat st;
	bool sized = fd >= 0 && fstat(fd, &st) == 0;
	r->disk_bytes = sized ? (uint64_t)st.st_size : 0;
	if (fd < 0 || !rotate_on(r))
		return fd;
	if (sized) {
		r->proj_bytes = (uint64_t)st.st_size;
		if (st.st_size && r->every_s)
			r->proj_start = rotate_interval_start(r, st.st_mtim.tv_sec);
	}
	int rc = r->compress ? compressor_start(&r->zc, r->level, who) : 0;
	if (rc < 0) {
		*step = "cannot start the compression thread for";
		close(fd);
		return rc;
	}
	rotate_prune(r);
	if (r->compress)
		rotate_recover(r);
	return fd;
}

/* Remember a cut at stream offset at, ending a file of interval start. Returns 0 or -ENOMEM. */
static int push_cut(struct rotate *r, uint64_t at, int64_t start)
{
	if (GROW(r->cuts, r->n_cuts, r->cap_cuts, 8) < 0)
		return -ENOMEM;
	r->cuts[r->n_cuts++] = (struct rotate_cut){at, start};
	return 0;
}

/* The interval start of t, remembering the span of times known to share it: records come in time
 * order, so the calendar arithmetic runs about once a second, not per record. */
static int64_t interval_of(struct rotate *r, int64_t t)
{
	if (t >= r->seen_lo && t <= r->seen_hi)
		return r->seen_start;
	int64_t start = rotate_interval_start(r, t);
	if (start != r->seen_start || r->seen_lo > r->seen_hi)
		r->seen_lo = r->seen_hi = t;
	r->seen_lo = t < r->seen_lo ? t : r->seen_lo;
	r->seen_hi = t > r->seen_hi ? t : r->seen_hi;
	r->seen_start = start;
	return start;
}

bool rotate_take(struct rotate *r, uint64_t at, uint64_t len, uint64_t ts_ns, struct rotate_frame fr)
{
	int64_t start = r->every_s ? interval_of(r, (int64_t)(ts_ns / 1000000000u)) : ROTATE_NO_INTERVAL;
	bool full = r->max_bytes && r->proj_bytes + r->frame_file + len + fr.here > r->max_bytes;
	/* a record older than the file's interval (merge window) stays in it */
	bool later = r->every_s && r->proj_start != ROTATE_NO_INTERVAL && start > r->proj_start;
	bool cut = r->proj_bytes && (full || later) && push_cut(r, at, r->proj_start) == 0;
	if (cut)
		r->proj_bytes = 0;
	if (!r->proj_bytes || r->proj_start == ROTATE_NO_INTERVAL) /* an empty file (a reopen's too): its first record's */
		r->proj_start = start;
	r->proj_bytes += len + (cut ? fr.fresh : fr.here);
	return cut;
}

/* Report once (until another failure, or a success) that a rotation failed with err, why saying at what step. */
static void report(struct rotate *r, int err, const char *why)
{
	if (err != r->last_err)
		collector_warn("writer %s: cannot rotate %s%s: %s; appending to it on", r->who, r->path, why,
			       strerror(-err));
	r->last_err = err;
}

/* Where a rotation creates the new file before it takes the path: ".NAME.shmlog-new" next to it,
 * into out (PATH_MAX bytes). Returns 0 or -ENAMETOOLONG. */
static int fresh_name(const struct rotate *r, char *out)
{
	const char *slash = strrchr(r->path, '/'), *base = slash ? slash + 1 : r->path;
	int n = snprintf(out, PATH_MAX, "%.*s.%s.shmlog-new", (int)(base - r->path), r->path, base);
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/*
 * rotate_rename_away, the new file fresh renamed to the path, then
 * rotate_prune, with the compressor's renames held off. Returns 0 or
 * -errno (the live file back at the path, if fresh could not take it);
 * the rotated file's name into to.
 */
static int rename_and_prune(struct rotate *r, int64_t start, char *to, const char *fresh)
{
	if (r->compress)
		compressor_lock(&r->zc);
	int rc = rotate_rename_away(r, start, to);
	if (rc == 0 && rename(fresh, r->path) < 0) {
		rc = -errno;
		rename(to, r->path);
	}
	if (rc == 0)
		rotate_prune(r);
	if (r->compress)
		compressor_unlock(&r->zc);
	return rc;
}

/*
 * Rename the live file away for a cut of interval start, with a new one
 * in its place into *fd. The new file is created first, under another
 * name (fresh_name), so that a file that cannot be created (no descriptor,
 * no inode, no permission) leaves everything as it was: the records go on
 * into the live file, as when the rename fails. The rotated file is
 * queued for compression once it is closed, complete. Returns 0 or -errno.
 */
static int rotate_one(struct rotate *r, int64_t start, int *fd)
{
	char to[PATH_MAX], fresh[PATH_MAX];
	int rc = fresh_name(r, fresh);
	int nfd = rc < 0 ? rc : open(fresh, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, r->mode);
	if (nfd < 0) {
		rc = rc < 0 ? rc : -errno;
		report(r, rc, " (its new file cannot be created)");
		return rc;
	}
	if ((rc = rename_and_prune(r, start, to, fresh)) < 0) {
		unlink(fresh);
		close(nfd);
		report(r, rc, "");
		return rc;
	}
	if (r->retire)
		r->retire(r->retire_arg, *fd);
	fdatasync(*fd);
	close(*fd);
	*fd = nfd;
	r->disk_bytes = 0;
	r->last_err = 0;
	if (r->compress && access(to, F_OK) == 0)
		compressor_queue(&r->zc, to); /* out of memory: the next open compresses it */
	return 0;
}

int rotate_due(struct rotate *r, uint64_t written, int *fd)
{
	int first = 0;
	uint32_t k = 0;
	for (; k < r->n_cuts && r->cuts[k].at <= written; k++) {
		int rc = rotate_one(r, r->cuts[k].start, fd);
		if (rc < 0 && k + 1 == r->n_cuts) /* what was taken for the next file stays in this one */
			r->proj_bytes += r->disk_bytes;
		first = first ? first : rc;
	}
	if (k) {
		memmove(r->cuts, r->cuts + k, (r->n_cuts - k) * sizeof *r->cuts);
		r->n_cuts -= k;
	}
	return first;
}

void rotate_resize(struct rotate *r, uint64_t size)
{
	if (r->n_cuts == 0) /* else the file being projected is a later one */
		r->proj_bytes = r->proj_bytes + size > r->disk_bytes ? r->proj_bytes + size - r->disk_bytes : 0;
	r->disk_bytes = size;
}

void rotate_close(struct rotate *r)
{
	if (r->compress)
		compressor_stop(&r->zc);
	free(r->path);
	free(r->cuts);
	r->path = NULL;
	r->cuts = NULL;
	r->n_cuts = r->cap_cuts = 0;
}

void rotate_describe(const struct rotate *r, FILE *f)
{
	if (r->max_bytes)
		fprintf(f, ", max_bytes %llu", (unsigned long long)r->max_bytes);
	if (r->daily)
		fprintf(f, ", rotate_every daily at %02u:%02u", r->at_s / 3600, r->at_s / 60 % 60);
	else if (r->every_s)
		fprintf(f, ", rotate_every %us", r->every_s);
	if (r->every_s)
		fprintf(f, " %s", r->local_time ? "local time" : "UTC");
	if (rotate_on(r))
		fprintf(f, ", backups %u%s", r->backups, r->compress ? ", compress zstd" : "");
	if (rotate_on(r) && r->compress)
		fprintf(f, " level %d", r->level);
}
