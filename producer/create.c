/*
 * create.c — making a logger's segment (shared/abi.h's layout).
 *
 * The file is created under a hidden temporary name, sized, mapped and
 * initialised, then renamed to "<name>.<pid>.<id>.shm"; the magic is
 * release-stored last. A collector that discovers the file therefore never
 * sees a half-initialised header (it also re-checks the magic).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../shared/clock.h"
#include "../shared/ring.h"
#include "../shared/segment.h"
#include "internal.h"

static void sanitize_name(char *dst, const char *src)
{
	size_t i = 0;
	for (; src[i] && i < SHMLOG_NAME_BYTES - 1; i++) {
		char c = src[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '-' || c == '_';
		dst[i] = ok ? c : '_';
	}
	dst[i] = 0;
	if (i == 0)
		strcpy(dst, "shmlog");
}

/*
 * Give the segment's bytes [off, off + len) real memory now, and map it:
 * fallocate reserves the tmpfs pages (a full /dev/shm fails here with
 * -ENOSPC instead of killing the process with SIGBUS at a later log call),
 * and MADV_POPULATE_WRITE fills the page tables, so a log call never takes a
 * page fault on its ring's first lap. Kernels before 5.14 lack the latter;
 * the pages then fault in on first use, as before. Returns 0 or -errno.
 */
int shmlog__segment_commit(struct shmlog *lg, uint64_t off, uint64_t len)
{
	int rc = fallocate(lg->fd, 0, (off_t)off, (off_t)len);
	if (rc != 0 && errno != EOPNOTSUPP) /* a file system without fallocate keeps the sparse file */
		return -errno;
	if (lg->base && madvise(lg->base + off, len, MADV_POPULATE_WRITE) != 0 && errno != EINVAL)
		return -errno;
	return 0;
}

/* Where each part of a segment goes (shared/abi.h's layout). */
struct seg_layout {
	uint64_t rings_off, sites_off, strings_off, data_off;
};

/* lg's segment layout; lg->size set to the whole. */
static struct seg_layout segment_layout(struct shmlog *lg)
{
	struct seg_layout l;
	l.rings_off = SHMLOG_SEG_HEADER_BYTES;
	l.sites_off = l.rings_off + (uint64_t)lg->ring_count * SHMLOG_RING_HEADER_BYTES;
	l.strings_off = l.sites_off + (uint64_t)SHMLOG_DEFAULT_MAX_SITES * SHMLOG_SITE_ENTRY_BYTES;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	l.data_off = (l.strings_off + SHMLOG_DEFAULT_STRINGS_BYTES + page - 1) & ~(page - 1);
	lg->size = l.data_off + (uint64_t)lg->ring_count * lg->ring_bytes;
	return l;
}

/* Make lg->dir exist, and absolute: the path must still lead to the segment after a chdir()
 * (kick_collector). Returns 0 or -errno. */
static int segment_dir(struct shmlog *lg)
{
	int err = seg_mkdir_p(lg->dir, lg->world_dir);
	if (err || lg->dir[0] == '/')
		return err;
	char *abs = realpath(lg->dir, NULL);
	if (!abs)
		return -errno;
	free(lg->dir);
	lg->dir = abs;
	return 0;
}

/* Create the hidden temporary file tmp (O_EXCL) as lg->fd, *id moved on past names taken.
 * Returns 0 or -errno. */
static int segment_open_tmp(struct shmlog *lg, const char *sname, uint32_t *id, char *tmp, size_t cap)
{
	for (int attempt = 0; attempt < 100; attempt++, *id += 1000) {
		if (snprintf(tmp, cap, "%s/.%s.%d.%u.tmp", lg->dir, sname, (int)getpid(), *id) >= (int)cap)
			return -ENAMETOOLONG;
		lg->fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (lg->fd >= 0) {
			/* the liveness lock (shared/abi.h SHMLOG_SEG_LOCK), held before anyone can see the
			 * file; a file system without locks leaves readers to the pid */
			struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
			lg->locked = fcntl(lg->fd, F_OFD_SETLK, &fl) == 0;
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/*
 * Size and map lg->fd as lg->base, and commit everything but the
 * per-thread rings, which are committed when a thread claims one (so the
 * overflow ring, which a thread falls back to when that fails, always has
 * its memory). Returns 0 or -errno.
 */
static int segment_map(struct shmlog *lg, const struct seg_layout *l)
{
	if (ftruncate(lg->fd, (off_t)lg->size) < 0)
		return -errno;
	void *m = mmap(NULL, lg->size, PROT_READ | PROT_WRITE, MAP_SHARED, lg->fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	lg->base = m;
	lg->hdr = (struct shmlog_seg_header *)lg->base;
	struct stat st;
	if (fstat(lg->fd, &st) == 0) {
		lg->ino = st.st_ino;
		lg->dev = st.st_dev;
	}
	int err = shmlog__segment_commit(lg, 0, l->data_off);
	return err ? err : shmlog__segment_commit(lg, l->data_off + (uint64_t)(lg->ring_count - 1) * lg->ring_bytes,
					  lg->ring_bytes);
}

/* Fill lg's segment header (all but the magic) for layout l. */
static void segment_fill_header(struct shmlog *lg, const struct seg_layout *l)
{
	struct shmlog_seg_header *h = lg->hdr;
	h->abi_major = SHMLOG_ABI_MAJOR;
	h->abi_minor = SHMLOG_ABI_MINOR;
	h->header_bytes = SHMLOG_SEG_HEADER_BYTES;
	h->ring_header_bytes = SHMLOG_RING_HEADER_BYTES;
	h->site_entry_bytes = SHMLOG_SITE_ENTRY_BYTES;
	h->flags = (lg->hot.tsc ? SHMLOG_SEG_CLOCK_TSC : 0) | (lg->locked ? SHMLOG_SEG_LOCK : 0);
	/* the doorbell needs the collector's membarrier() to reach our threads
	 * (shared/abi.h); registering is per process, so a forked child does it
	 * again here */
	if (lg->doorbell && syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0)
		h->flags |= SHMLOG_SEG_BELL;
	h->segment_bytes = lg->size;
	h->pid = (uint32_t)getpid();
	h->uid = (uint32_t)geteuid();
	h->start_time = seg_proc_start_time(getpid());
	h->created_ns = clock_realtime_ns();
	memcpy(h->name, lg->name, SHMLOG_NAME_BYTES);
	h->ring_count = lg->ring_count;
	h->ring_bytes = lg->ring_bytes;
	h->rings_off = l->rings_off;
	h->ring_data_off = l->data_off;
	h->max_sites = SHMLOG_DEFAULT_MAX_SITES;
	h->strings_bytes = SHMLOG_DEFAULT_STRINGS_BYTES;
	h->sites_off = l->sites_off;
	h->strings_off = l->strings_off;
	h->max_string_bytes = lg->max_string;
	h->full_policy = (uint32_t)lg->full_policy;
	atomic_store_explicit(&h->state, SHMLOG_SEG_LIVE, memory_order_relaxed);
	if (lg->hot.tsc)
		clock_store(h, &lg->calib);
}

/* The last ring is the overflow ring, claimed by the logger itself. */
static void segment_claim_overflow(struct shmlog *lg)
{
	memset(&lg->overflow, 0, sizeof lg->overflow);
	lg->overflow.rh = shmlog__ring_header(lg, lg->ring_count - 1);
	lg->overflow.tail_pub = &ring_hdr(&lg->overflow)->tail;
	lg->overflow.data = shmlog__ring_data(lg, lg->ring_count - 1);
	lg->overflow.cap = lg->ring_bytes;
	lg->overflow.index = lg->ring_count - 1;
	atomic_store_explicit(&ring_hdr(&lg->overflow)->state, SHMLOG_RING_CLAIMED, memory_order_relaxed);
}

/* Rename tmp to "DIR/NAME.PID.ID.shm" (lg->path), never replacing a file: ID moves on when the
 * name is taken. Returns 0 or -errno. */
static int segment_publish(struct shmlog *lg, const char *sname, uint32_t id, const char *tmp)
{
	for (int attempt = 0; attempt < 100; attempt++, id += 1000) { /* advances only on a collision */
		if (snprintf(lg->path, sizeof lg->path, "%s/%s.%d.%u.shm", lg->dir, sname, (int)getpid(), id) >=
		    (int)sizeof lg->path)
			return -ENAMETOOLONG;
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, lg->path, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/*
 * Create lg's segment in lg->dir: size and map a hidden temporary file,
 * initialise the header, then publish it as "NAME.PID.ID.shm". ID starts at
 * the logger's serial and moves on when the name is taken, which happens
 * when two copies of the library live in one process (each counts serials
 * from 1): the temporary file is created O_EXCL and the rename refuses to
 * replace (RENAME_NOREPLACE). Returns 0 or -errno (nothing left behind).
 */
int shmlog__segment_create(struct shmlog *lg)
{
	struct seg_layout l = segment_layout(lg);
	char sname[SHMLOG_NAME_BYTES], tmp[PATH_MAX];
	sanitize_name(sname, lg->name);
	uint32_t id = lg->hot.serial;
	lg->fd = -1;
	lg->base = NULL;
	int err = segment_dir(lg);
	if (err || (err = segment_open_tmp(lg, sname, &id, tmp, sizeof tmp)) != 0)
		return err;
	if ((err = segment_map(lg, &l)) == 0) {
		segment_fill_header(lg, &l);
		segment_claim_overflow(lg);
		/* release: everything above is visible to a reader that acquires the magic */
		atomic_store_explicit(&lg->hdr->magic, SHMLOG_MAGIC, memory_order_release);
		if ((err = segment_publish(lg, sname, id, tmp)) == 0)
			return 0;
	}
	if (lg->base)
		munmap(lg->base, lg->size);
	lg->base = NULL;
	lg->hdr = NULL;
	unlink(tmp);
	close(lg->fd);
	lg->fd = -1;
	return err;
}

