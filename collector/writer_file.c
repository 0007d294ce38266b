/*
 * writer_file.c — the "file" writer: append to one file.
 *
 * Keys: path (required); mode, the permissions used when the file is
 * created (default 0640). libconfig reads "0640" as the decimal number 640,
 * so mode is taken "octal-ish": an integer written in decimal has its digits
 * read as octal digits (0640 and 640 both mean rw-r-----), a hex integer
 * (0x1a0) is taken as it is, and a string ("0640") is parsed as octal.
 *
 * The file is opened O_APPEND so that every batch lands at the end even if
 * someone else appends too; sync is fdatasync. The writer is durable: the
 * core keeps what it could not write (disk full) and retries. Before each
 * batch it checks (one stat, negligible against a batch) that the path still
 * names the open file; a file that was removed (or replaced by another at
 * the path) is reopened, i.e. created again, so no batch goes to a file
 * nobody can see. A file renamed away with nothing at its path yet is
 * written on until the path is back or SIGHUP comes: that is logrotate
 * between its rename and its "create", which would find our new file in its
 * way and move it aside.
 *
 * Rotation (max_bytes, rotate_every, ...) is the rotate.c layer: add tells
 * it where each line starts, prepare lets it rename the file once the bytes
 * before a cut are written and writes no further than the next cut.
 */
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector.h"
#include "rotate.h"
#include "writer_file.h"

static const char *const file_keys[] = {"path", "mode", ROTATE_KEYS, CRYPT_KEYS, NULL};

#define FILE_MODE_DEFAULT 0640
#define FILE_MODE_MAX 07777

/* Decimal digits read as octal: 640 -> 0640. Returns -1 if a digit is 8 or 9. */
static long long octal_from_decimal_digits(long long v)
{
	long long out = 0, scale = 1;
	if (v < 0)
		return -1;
	do {
		long long digit = v % 10;
		if (digit > 7)
			return -1;
		out += digit * scale;
		scale *= 8;
		v /= 10;
	} while (v && out <= FILE_MODE_MAX);
	return v ? -1 : out;
}

/* Read the mode key into *mode. Returns 0 or -EINVAL with d->msg filled. */
static int read_mode(const config_setting_t *cfg, mode_t *mode, struct diag *d)
{
	config_setting_t *s = config_setting_get_member(cfg, "mode");
	long long v;
	if (!s)
		return 0;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(s);
		if (config_setting_get_format(s) != CONFIG_FORMAT_HEX)
			v = octal_from_decimal_digits(v);
		break;
	case CONFIG_TYPE_STRING: {
		const char *str = config_setting_get_string(s);
		char *end;
		v = strtoll(str, &end, 8);
		if (!*str || *end || *str == '-' || *str == '+')
			v = -1;
		break;
	}
	default:
		writer_diag(d, s, NULL, "expected an octal mode such as 0640");
		return -EINVAL;
	}
	if (v < 0 || v > FILE_MODE_MAX) {
		writer_diag(d, s, NULL, "not a valid octal mode (0 to 07777)");
		return -EINVAL;
	}
	*mode = (mode_t)v;
	return 0;
}

int file_state_configure(struct file_state *fs, const config_setting_t *cfg, const char *type, struct diag *d)
{
	memset(fs, 0, sizeof *fs);
	if (!cfg) {
		snprintf(d->msg, sizeof d->msg, "%s writer: path: missing required key", type);
		return -EINVAL;
	}
	const char *path = NULL;
	int r = writer_cfg_string(cfg, "path", &path, d);
	if (r < 0)
		return r;
	if (r == 0 || !*path) {
		writer_diag(d, cfg, "path", r == 0 ? "missing required key" : "must not be empty");
		return -EINVAL;
	}
	fs->mode = FILE_MODE_DEFAULT;
	if ((r = read_mode(cfg, &fs->mode, d)) < 0 || (r = rotate_configure(&fs->rot, cfg, d)) < 0 ||
	    (r = crypt_configure(&fs->crypt, cfg, &fs->rot, d)) < 0)
		return r;
	fs->headed = fs->crypt != NULL;
	if (!(fs->path = strdup(path))) {
		snprintf(d->msg, sizeof d->msg, "out of memory");
		return -ENOMEM;
	}
	/* the open's error names the key: "FILE:LINE: writers.[0].path: " */
	struct diag where;
	writer_diag(&where, config_setting_get_member(cfg, "path"), NULL, "%s", "");
	snprintf(fs->where, sizeof fs->where, "%s", where.msg);
	return 0;
}

int file_state_open(struct file_state *fs, const char *who, struct diag *d)
{
	if (fs->crypt) {
		fs->rot.retire = crypt_retire_hook;
		fs->rot.retire_arg = fs->crypt;
	}
	const char *step;
	int fd = rotate_open(&fs->rot, fs->path, fs->mode, who, &step);
	int n = fd >= 0 ? 0
		: step == rotate_fifo_step
			? snprintf(d->msg, sizeof d->msg, "%s\"%s\" is a FIFO: this writer writes files (send the console "
				   "writer to a pipe instead)", fs->where, fs->path)
			: snprintf(d->msg, sizeof d->msg, "%s%s \"%s\": %s", fs->where, step, fs->path, strerror(-fd));
	if (n < 0)
		d->msg[0] = '\0';
	return fd;
}

enum file_path file_state_check(const struct file_state *fs, int fd, uint64_t *size)
{
	struct stat a, b;
	bool have = fstat(fd, &b) == 0, there = stat(fs->path, &a) == 0;
	if (have && there && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		/* a device (/dev/null, a tty) has no size to check: it holds what was written to it */
		*size = S_ISREG(b.st_mode) ? (uint64_t)b.st_size : fs->rot.disk_bytes;
		return FILE_PATH_SAME;
	}
	/* renamed away and nothing there yet: logrotate between its rename and its create (which
	 * must not find a file of ours); the file is still visible, so write on there until the
	 * path is back or SIGHUP comes */
	if (have && !there && errno == ENOENT && b.st_nlink > 0)
		return FILE_PATH_AWAY;
	return FILE_PATH_GONE;
}

bool file_state_truncated(struct file_state *fs, uint64_t size, const char *who)
{
	if (!rotate_truncated(&fs->rot, size))
		return false;
	fs->took_out = false;
	collector_warn("writer %s: %s holds %llu bytes, fewer than were written to it: truncated under the collector "
		       "(logrotate's copytruncate?)%s",
		       who, fs->path, (unsigned long long)size, fs->crypt ? "; a new stream starts there" : "");
	if (fs->crypt)
		crypt_restart(fs->crypt);
	return true;
}

bool file_state_take(struct file_state *fs, uint64_t at, uint64_t len, uint64_t ts_ns)
{
	struct rotate_frame fr = fs->crypt ? crypt_frame(fs->crypt, at, len) : (struct rotate_frame){0, 0};
	bool cut = rotate_on(&fs->rot) && rotate_take(&fs->rot, at, len, ts_ns, fr);
	if (cut && fs->crypt)
		crypt_cut(fs->crypt, at); /* the new file's first chunk starts here */
	if (fs->crypt)
		crypt_take(fs->crypt, at, len);
	return cut;
}

void file_state_grow(struct file_state *fs, uint64_t at, uint64_t from, uint64_t len)
{
	uint64_t frames = 0;
	if (fs->crypt) /* the frames of len bytes less those of from (none for a unit that was not there) */
		frames = crypt_frame(fs->crypt, at, len).here - (from ? crypt_frame(fs->crypt, at, from).here : 0);
	rotate_extend(&fs->rot, len - from + frames);
	if (fs->crypt)
		crypt_take(fs->crypt, at, len);
}

int file_state_prepare(struct file_state *fs, int rc, struct uio_req *req, uint64_t written, uint64_t end)
{
	return rc > 0 && fs->crypt ? crypt_prepare(fs->crypt, req, written, end) : rc;
}

void file_state_retire(struct file_state *fs, int fd)
{
	if (fd < 0)
		return;
	crypt_retire(fs->crypt, fd);
	fdatasync(fd);
	close(fd);
}

/* Whether the write of done bytes to fd landed alone in a file truncated right before it (it holds just
 * them, and more had been written to it): then they are taken out again, once until the truncation is
 * seen (file_state_truncated), so that a writer that does not look cannot go round taking out. */
static bool landed_after_truncation(struct file_state *fs, int fd, size_t done)
{
	struct stat st;
	if (!fs->headed || !done || !fs->rot.disk_bytes || fs->took_out || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != done || ftruncate(fd, 0) != 0)
		return false;
	fs->took_out = true;
	return true;
}

uint64_t file_state_complete(struct writer *w, const struct uio_req *req)
{
	struct file_state *fs = w->priv;
	struct uio_req r = *req;
	if (landed_after_truncation(fs, r.fd, r.done))
		r.done = 0;
	rotate_wrote(&fs->rot, r.done);
	struct uio_req pt = fs->crypt ? crypt_complete(fs->crypt, &r) : r;
	if (fs->wrote && pt.done)
		fs->wrote(fs->wrote_arg, w->out.buf.data, pt.done);
	return writer_complete_line(w, &pt);
}

void file_state_free(struct file_state *fs)
{
	free(fs->path);
	fs->path = NULL;
	crypt_free(fs->crypt);
	fs->crypt = NULL;
	rotate_close(&fs->rot);
}

/* Read path and mode (nothing is opened). Returns 0, or -errno with d->msg naming the key. */
static int file_configure(struct writer *w, const config_setting_t *cfg, struct diag *d)
{
	struct file_state *fs = calloc(1, sizeof *fs);
	if (!fs) {
		snprintf(d->msg, sizeof d->msg, "out of memory");
		return -ENOMEM;
	}
	int r = file_state_configure(fs, cfg, "file", d);
	if (r < 0) {
		free(fs->path);
		free(fs);
		return r;
	}
	w->priv = fs;
	w->durable = true;
	w->plain_add = !rotate_on(&fs->rot) && !fs->crypt;
	return 0;
}

/*
 * A collector killed mid-write leaves the file's last line without its end
 * (that record was not consumed: it comes again). End it, so that this
 * start's first record is a line of its own and not glued to the torn one;
 * said once. Never cuts anything off: the bytes may be another's.
 */
static void end_torn_line(struct writer *w, struct file_state *fs, int fd)
{
	struct stat st, rst;
	char last;
	int rfd = open(fs->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	bool torn = rfd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && fstat(rfd, &rst) == 0 &&
		    rst.st_ino == st.st_ino && rst.st_dev == st.st_dev && pread(rfd, &last, 1, st.st_size - 1) == 1 &&
		    last != '\n';
	if (rfd >= 0)
		close(rfd);
	if (!torn)
		return;
	if (write(fd, "\n", 1) != 1) {
		collector_warn("writer %s: %s ends inside a line, and a line end cannot be added: %s", w->name, fs->path,
			       strerror(errno));
		return;
	}
	fs->rot.proj_bytes += rotate_on(&fs->rot);
	rotate_wrote(&fs->rot, 1);
	collector_warn("writer %s: %s ended inside a line (its collector stopped mid-write; that record comes again): "
		       "the line is ended before this start's records", w->name, fs->path);
}

/* Open the file for appending, creating it if need be. Returns 0, or -errno with d->msg naming the path. */
static int file_open(struct writer *w, struct diag *d)
{
	struct file_state *fs = w->priv;
	int fd = file_state_open(fs, w->name, d);
	if (fd < 0)
		return fd;
	if (!fs->crypt) /* an encrypted file's streams have no lines; one cut short is told by decrypt */
		end_torn_line(w, fs, fd);
	w->fd = fd;
	return 0;
}

/*
 * SIGHUP (and a file removed or renamed under us): open the path again and
 * write there from now on, after making what went to the old file as durable
 * as promised. Returns 0 or -errno (the old file stays in use then).
 */
static int file_reopen(struct writer *w)
{
	struct file_state *fs = w->priv;
	int fd = open(fs->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, fs->mode);
	if (fd < 0)
		return -errno;
	file_state_retire(fs, w->fd);
	w->fd = fd;
	fs->gone_err = 0;
	struct stat st;
	if (fstat(fd, &st) == 0)
		rotate_resize(&fs->rot, (uint64_t)st.st_size);
	return 0;
}

/*
 * The path is gone (FILE_PATH_GONE) and cannot be opened again (err): say
 * so once per error, for writer who. Returns whether the open file fd is
 * removed too: what is written to it then is lost, and must wait.
 */
static bool gone(struct file_state *fs, const char *who, int fd, int err)
{
	struct stat st;
	bool unlinked = fstat(fd, &st) == 0 && st.st_nlink == 0;
	if (err != fs->gone_err)
		collector_warn("writer %s: %s is gone and cannot be created again: %s; %s", who, fs->path,
			       strerror(-err), unlinked ? "keeping its records until it can" : "writing on to the file it had");
	fs->gone_err = err;
	return unlinked;
}

/* Reopen the path if it no longer names our file (removed, rotated); tell rotation the size it has.
 * Returns false when the records must wait: our file is removed, and no new one can be made. */
static bool file_check(struct writer *w)
{
	struct file_state *fs = w->priv;
	uint64_t size;
	enum file_path st = file_state_check(fs, w->fd, &size);
	if (st == FILE_PATH_SAME) {
		file_state_truncated(fs, size, w->name);
		rotate_resize(&fs->rot, size);
	}
	if (st != FILE_PATH_GONE)
		return true;
	int rc = file_reopen(w);
	if (rc < 0)
		return !gone(fs, w->name, w->fd, rc);
	collector_warn("writer %s: %s was removed or replaced; writing to a new file", w->name, fs->path);
	return true;
}

/* Take rec as a line, and tell rotation where it starts. Returns 0 or -ENOMEM. */
static int file_add(struct writer *w, struct output_rec *rec)
{
	struct file_state *fs = w->priv;
	size_t before = w->out.buf.len;
	int rc = writer_add_line(w, rec);
	if (rc == 0)
		file_state_take(fs, w->out.written + before, w->out.buf.len - before, rec->tr->ts_ns);
	return rc;
}

/* Rotate where every byte before a cut is written, then write up to the next cut. */
static int file_prepare(struct writer *w, struct uio_req *req)
{
	struct file_state *fs = w->priv;
	if (!file_check(w))
		return 0; /* written into a removed file, they would be lost */
	rotate_due(&fs->rot, w->out.written, &w->fd);
	int rc = writer_prepare_line(w, req);
	uint64_t room = rotate_room(&fs->rot, w->out.written);
	if (rc > 0 && req->len > room)
		req->len = (size_t)room;
	return file_state_prepare(fs, rc, req, w->out.written, w->out.written + w->out.buf.len);
}

/* fdatasync the file. Returns 0 or -errno. */
static int file_sync(struct writer *w)
{
	return fdatasync(w->fd) == 0 ? 0 : -errno;
}

static void file_close(struct writer *w)
{
	struct file_state *fs = w->priv;
	if (fs)
		file_state_retire(fs, w->fd);
	else if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (fs)
		file_state_free(fs);
	free(fs);
	w->priv = NULL;
}

void file_state_describe(const struct writer *w, FILE *f)
{
	const struct file_state *fs = w->priv;
	fprintf(f, ", path %s, mode %04o", fs->path, (unsigned)fs->mode);
	rotate_describe(&fs->rot, f);
	crypt_describe(fs->crypt, f);
}

const struct writer_ops writer_file_ops = {
	.keys = file_keys,
	.type = "file",
	.configure = file_configure,
	.open = file_open,
	.add = file_add,
	.prepare = file_prepare,
	.complete = file_state_complete,
	.sync = file_sync,
	.reopen = file_reopen,
	.close = file_close,
	.describe = file_state_describe,
};
