/*
 * segment.c — validating and reading segments (see segment.h).
 */
#include "segment.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record.h"
#include "ring.h"

static int fail(char *err, size_t errlen, int rc, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t errlen, int rc, const char *path, const char *fmt, ...)
{
	if (err && errlen) {
		int n = snprintf(err, errlen, "%s: ", path);
		if (n < 0 || (size_t)n >= errlen)
			return rc;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Mappings guarded against SIGBUS (seg_guard_install). */
#define SEG_GUARD_SLOTS 8192
static struct seg *_Atomic seg_guard[SEG_GUARD_SLOTS];
static atomic_bool seg_guard_on;

static void seg_guard_add(struct seg *s)
{
	if (!atomic_load(&seg_guard_on))
		return;
	for (int i = 0; i < SEG_GUARD_SLOTS; i++) {
		struct seg *empty = NULL;
		if (atomic_compare_exchange_strong(&seg_guard[i], &empty, s))
			return;
	}
}

static void seg_guard_del(struct seg *s)
{
	for (int i = 0; atomic_load(&seg_guard_on) && i < SEG_GUARD_SLOTS; i++) {
		struct seg *cur = s;
		if (atomic_compare_exchange_strong(&seg_guard[i], &cur, NULL))
			return;
	}
}

static void seg_on_sigbus(int sig, siginfo_t *info, void *uctx)
{
	(void)uctx;
	uintptr_t a = (uintptr_t)info->si_addr;
	for (int i = 0; i < SEG_GUARD_SLOTS; i++) {
		struct seg *s = atomic_load(&seg_guard[i]);
		if (!s || a < (uintptr_t)s->base || a >= (uintptr_t)s->base + s->size)
			continue;
		/* the same addresses, now private zero pages: the faulting access
		 * completes, and every later one reads zeros */
		mmap(s->base, s->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		s->bus_fault = 1;
		return;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

int seg_guard_install(void)
{
	struct sigaction sa = {0};
	sa.sa_sigaction = seg_on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) < 0)
		return -errno;
	atomic_store(&seg_guard_on, true);
	return 0;
}

/* The site every id of a segment past its memory bound stands for: nothing is allocated for it. */
static const struct seg_site site_over_bound = {
	.level = TEXT_LEVEL_ERROR,
	.fmt = "",
	.file = "",
	.err = "the segment's call sites take more than SEG_SITES_MEMORY_MAX (32 MiB)",
};

static bool range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

int seg_open(struct seg *s, const char *path, bool writable, char *err, size_t errlen)
{
	return seg_open_as(s, path, writable, false, err, errlen);
}

/* Open path (a FIFO or device named like a segment must not block the open: it is refused here) and
 * check what fstat says of it into *st. Returns the descriptor, or -errno with err filled. */
static int seg_open_file(const char *path, bool writable, bool any_owner, struct stat *st, char *err, size_t errlen)
{
	int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return fail(err, errlen, -errno, path, "cannot open: %s", strerror(errno));
	int rc = 0;
	if (fstat(fd, st) < 0)
		rc = fail(err, errlen, -errno, path, "cannot stat: %s", strerror(errno));
	else if (!S_ISREG(st->st_mode))
		rc = fail(err, errlen, -EPROTO, path, "not a regular file");
	else if (!any_owner && st->st_uid != geteuid() && st->st_uid != 0 && geteuid() != 0)
		rc = fail(err, errlen, -EPERM, path, "owned by uid %u, not by this user (%u) or root",
			  (unsigned)st->st_uid, (unsigned)geteuid());
	else if ((uint64_t)st->st_size < SHMLOG_SEG_HEADER_BYTES)
		rc = fail(err, errlen, -EPROTO, path, "truncated: %lld bytes, smaller than a segment header (%u)",
			  (long long)st->st_size, SHMLOG_SEG_HEADER_BYTES);
	if (rc)
		close(fd);
	return rc ? rc : fd;
}

/* Check s's header: initialised, of our ABI, as big as the file. Returns 0 or -errno with err filled. */
static int seg_check_header(const struct seg *s, char *err, size_t errlen)
{
	const struct shmlog_seg_header *h = s->hdr;
	/* acquire: pairs with the producer's release of the magic after initialising */
	uint64_t magic = atomic_load_explicit(&h->magic, memory_order_acquire);
	if (magic != SHMLOG_MAGIC)
		return magic == 0 ? fail(err, errlen, -EAGAIN, s->path, "not initialised (no magic yet)")
				  : fail(err, errlen, -EPROTO, s->path, "bad magic 0x%016llx: not a shmlog segment",
					 (unsigned long long)magic);
	if (h->abi_major != SHMLOG_ABI_MAJOR)
		return fail(err, errlen, -EPROTO, s->path, "segment ABI version %u.%u, this reader understands %u.x",
			    h->abi_major, h->abi_minor, SHMLOG_ABI_MAJOR);
	if (h->header_bytes != SHMLOG_SEG_HEADER_BYTES || h->ring_header_bytes != SHMLOG_RING_HEADER_BYTES ||
	    h->site_entry_bytes != SHMLOG_SITE_ENTRY_BYTES)
		return fail(err, errlen, -EPROTO, s->path, "header sizes %u/%u/%u do not match ABI %u (%u/%u/%u)",
			    h->header_bytes, h->ring_header_bytes, h->site_entry_bytes, SHMLOG_ABI_MAJOR,
			    SHMLOG_SEG_HEADER_BYTES, SHMLOG_RING_HEADER_BYTES, SHMLOG_SITE_ENTRY_BYTES);
	if (h->segment_bytes != s->size)
		return fail(err, errlen, -EPROTO, s->path, "truncated or resized: header says %llu bytes, file has %llu",
			    (unsigned long long)h->segment_bytes, (unsigned long long)s->size);
	return 0;
}

/* Copy the header's identity and layout into s, read once: the producer may still write the file. */
static void seg_copy_layout(struct seg *s)
{
	const struct shmlog_seg_header *h = s->hdr;
	s->pid = h->pid;
	s->uid = h->uid;
	s->start_time = h->start_time;
	s->created_ns = h->created_ns;
	memcpy(s->name, h->name, SHMLOG_NAME_BYTES);
	s->name[SHMLOG_NAME_BYTES - 1] = 0;
	s->name_len = strlen(s->name);
	s->tsc = (h->flags & SHMLOG_SEG_CLOCK_TSC) != 0;
	s->bell = (h->flags & SHMLOG_SEG_BELL) != 0;
	s->locked = (h->flags & SHMLOG_SEG_LOCK) != 0;
	s->ring_count = h->ring_count;
	s->ring_bytes = h->ring_bytes;
	s->max_sites = h->max_sites;
	s->strings_bytes = h->strings_bytes;
	s->rings_off = h->rings_off;
	s->data_off = h->ring_data_off;
	s->sites_off = h->sites_off;
	s->strings_off = h->strings_off;
}

/* What is wrong with s's copied layout, or NULL: every part inside the file, aligned, sizes in range. */
static const char *seg_layout_problem(const struct seg *s)
{
	if (s->pid == 0)
		return "pid 0";
	if (s->ring_count == 0 || s->ring_count > SHMLOG_RING_COUNT_MAX)
		return "ring count out of range";
	if (!ring_capacity_valid(s->ring_bytes))
		return "ring size not a power of two in range";
	if (s->max_sites > SHMLOG_MAX_SITES_MAX || s->strings_bytes > SHMLOG_STRINGS_BYTES_MAX)
		return "registry sizes out of range";
	if (s->rings_off < SHMLOG_SEG_HEADER_BYTES || s->rings_off % 8 ||
	    !range_ok(s->rings_off, (uint64_t)s->ring_count * SHMLOG_RING_HEADER_BYTES, s->size))
		return "ring headers outside the file";
	if (s->sites_off % 8 || !range_ok(s->sites_off, (uint64_t)s->max_sites * SHMLOG_SITE_ENTRY_BYTES, s->size))
		return "call-site table outside the file";
	if (!range_ok(s->strings_off, s->strings_bytes, s->size))
		return "string heap outside the file";
	if (s->data_off % 4096 || !range_ok(s->data_off, (uint64_t)s->ring_count * s->ring_bytes, s->size))
		return "ring data outside the file";
	return NULL;
}

int seg_open_as(struct seg *s, const char *path, bool writable, bool any_owner, char *err, size_t errlen)
{
	static _Atomic uint64_t serials;
	memset(s, 0, sizeof *s);
	s->fd = -1;
	s->serial = atomic_fetch_add_explicit(&serials, 1, memory_order_relaxed) + 1;
	if (strlen(path) >= sizeof s->path)
		return fail(err, errlen, -ENAMETOOLONG, path, "path too long");
	strcpy(s->path, path);
	struct stat st;
	int fd = seg_open_file(path, writable, any_owner, &st, err, errlen);
	if (fd < 0)
		return fd;
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		int e = errno;
		close(fd);
		return fail(err, errlen, -e, path, "cannot map: %s", strerror(e));
	}
	s->fd = fd;
	s->owner = (uint32_t)st.st_uid;
	s->group = (uint32_t)st.st_gid;
	s->base = m;
	s->size = (uint64_t)st.st_size;
	seg_guard_add(s); /* before the first read: the file may already be shorter */
	s->hdr = m;
	int rc = seg_check_header(s, err, errlen);
	const char *why = NULL;
	if (!rc) {
		seg_copy_layout(s);
		if ((why = seg_layout_problem(s)) != NULL)
			rc = fail(err, errlen, -EPROTO, path, "bad layout: %s", why);
	}
	if (rc)
		seg_close(s);
	return rc;
}

void seg_close(struct seg *s)
{
	if (s->sites) {
		for (uint32_t i = 0; i < s->sites_cap; i++) {
			if (!s->sites[i] || s->sites[i] == &site_over_bound)
				continue;
			free(s->sites[i]->fmt);
			free(s->sites[i]->file);
			free(s->sites[i]->fdesc);
			free(s->sites[i]);
		}
		free(s->sites);
		s->sites = NULL;
		s->sites_cap = 0;
	}
	if (s->base) {
		seg_guard_del(s);
		munmap(s->base, s->size);
	}
	if (s->fd >= 0)
		close(s->fd);
	s->base = NULL;
	s->fd = -1;
}

static char *heap_copy(struct seg *s, uint32_t off, uint32_t len)
{
	if (!range_ok(off, len, s->strings_bytes))
		return NULL;
	char *c = malloc((size_t)len + 1);
	if (!c) {
		s->sites_oom = true;
		return NULL;
	}
	memcpy(c, s->base + s->strings_off + off, len);
	c[len] = 0;
	return c;
}

/*
 * Parse the field descriptor at off in the heap (shared/abi.h) into st:
 * count 1..SHMLOG_MAX_FIELDS, known kinds, keys of 1..255 bytes, all inside
 * the heap. Returns false when it is malformed.
 */
static bool parse_fields(struct seg *s, uint32_t off, struct seg_site *st)
{
	if (off == 0)
		return true;
	if (off >= s->strings_bytes)
		return false;
	/* copy the most a descriptor can take first, then check and parse only
	 * the copy: the producer may rewrite its heap while we look */
	uint32_t avail = s->strings_bytes - off, most = 1u + SHMLOG_MAX_FIELDS * (2u + SHMLOG_FIELD_KEY_MAX);
	uint32_t len = avail < most ? avail : most;
	if (!(st->fdesc = heap_copy(s, off, len)))
		return false;
	return seg_site_fields(st, len);
}

bool seg_site_fields(struct seg_site *st, uint32_t len)
{
	const uint8_t *d = (const uint8_t *)st->fdesc;
	if (len == 0)
		return false;
	uint32_t n = d[0], at = 1;
	if (n == 0 || n > SHMLOG_MAX_FIELDS)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		if (len - at < 2 || len - at - 2 < d[at + 1] || d[at + 1] == 0 || !shmlog_field_fixed_bytes(d[at]))
			return false;
		st->fields[i] = (struct text_field){.type = d[at], .key_len = d[at + 1], .key = st->fdesc + at + 2};
		at += 2u + d[at + 1];
	}
	st->n_fields = n;
	return true;
}

/*
 * Make room in s->sites for id (< s->max_sites): the table grows to the
 * next power of two past the highest id seen, not to max_sites at once, so
 * a segment costs memory for the sites it uses (a producer numbers them from
 * 0 up). Returns 0 or -ENOMEM.
 */
static int sites_grow(struct seg *s, uint32_t id)
{
	uint32_t cap = s->sites_cap ? s->sites_cap : 16;
	while (cap <= id)
		cap *= 2;
	cap = cap < s->max_sites ? cap : s->max_sites;
	struct seg_site **t = realloc(s->sites, cap * sizeof *t);
	if (!t)
		return -ENOMEM;
	memset(t + s->sites_cap, 0, (cap - s->sites_cap) * sizeof *t);
	s->sites = t;
	s->sites_cap = cap;
	return 0;
}

const struct seg_site *seg_site_parse(struct seg *s, uint32_t id)
{
	s->sites_oom = false;
	if (id < s->sites_cap && s->sites[id])
		return s->sites[id];
	if (id >= s->max_sites)
		return NULL;
	if (id >= s->sites_cap && sites_grow(s, id) < 0) {
		s->sites_oom = true;
		return NULL;
	}
	const struct shmlog_site_entry *e =
		(const struct shmlog_site_entry *)(s->base + s->sites_off + (uint64_t)id * SHMLOG_SITE_ENTRY_BYTES);
	/* acquire: pairs with the producer's release of ready after filling the entry */
	if (atomic_load_explicit(&((struct shmlog_site_entry *)e)->ready, memory_order_acquire) != 1)
		return NULL;
	/* a format past SEG_FORMAT_MAX is refused, and only its start is kept to show */
	uint32_t fmt_len = e->fmt_len > SEG_FORMAT_MAX ? SEG_FORMAT_SHOWN : e->fmt_len;
	uint32_t file_len = e->file_len > SEG_FILE_MAX ? SEG_FILE_MAX : e->file_len;
	uint64_t bytes = sizeof(struct seg_site) + fmt_len + file_len + 2;
	if (s->sites_bytes + bytes > SEG_SITES_MEMORY_MAX)
		return s->sites[id] = (struct seg_site *)&site_over_bound;
	struct seg_site *st = calloc(1, sizeof *st);
	if (!st) {
		s->sites_oom = true;
		return NULL;
	}
	st->level = (int)e->level;
	st->line = e->line;
	st->fmt_len = fmt_len;
	st->file_len = file_len;
	st->fmt = heap_copy(s, e->fmt_off, fmt_len);
	st->file = heap_copy(s, e->file_off, file_len);
	if (!st->fmt || !st->file || st->level < 1 || st->level > 6 || !parse_fields(s, e->fields_off, st)) {
		free(st->fdesc);
		free(st->fmt);
		free(st->file);
		free(st);
		return NULL;
	}
	if (e->fmt_len > SEG_FORMAT_MAX)
		st->err = "format longer than SEG_FORMAT_MAX (64 KiB); its start";
	else if (fmt_parse(&st->pf, st->fmt, st->fmt_len, &st->err) != 0 && !st->err)
		st->err = "unparsable format";
	seg_site_done(st);
	static _Atomic uint64_t serials;
	/* relaxed: a unique number is all it is, paired with nothing */
	st->serial = atomic_fetch_add_explicit(&serials, 1, memory_order_relaxed) + 1;
	s->sites_bytes += bytes;
	s->sites[id] = st;
	return st;
}

bool seg_ring_positions(const struct seg *s, uint32_t i, uint64_t *head, uint64_t *tail, const char **why)
{
	const struct shmlog_ring_header *rh = seg_ring(s, i);
	/* acquire: pairs with the producer's release of tail — the record bytes
	 * before tail are visible */
	*tail = atomic_load_explicit(&((struct shmlog_ring_header *)rh)->tail, memory_order_acquire);
	*head = atomic_load_explicit(&((struct shmlog_ring_header *)rh)->head, memory_order_acquire);
	if (*tail < *head || *tail - *head > s->ring_bytes || (*head % SHMLOG_RECORD_ALIGN)) {
		*why = *tail < *head                       ? "tail behind head"
		       : *head % SHMLOG_RECORD_ALIGN ? "consumed position misaligned"
						     : "positions further apart than the ring size";
		return false;
	}
	return true;
}

int seg_ring_next(const struct seg *s, uint32_t i, uint64_t *pos, uint64_t tail, struct seg_rec *r,
		  const char **why)
{
	const uint8_t *data = seg_ring_data(s, i);
	for (;;) {
		if (*pos == tail)
			return 0;
		if (*pos % SHMLOG_RECORD_ALIGN || tail - *pos < SHMLOG_PAD_HEADER_BYTES) {
			*why = "misaligned or partial record";
			return -EINVAL;
		}
		uint32_t off = ring_offset(*pos, s->ring_bytes);
		uint32_t to_end = s->ring_bytes - off;
		uint32_t hdr[2];
		memcpy(hdr, data + off, sizeof hdr);
		uint32_t size = hdr[0], site = hdr[1];
		if (site == SHMLOG_SITE_PAD) {
			if (size != to_end || tail - *pos < size) {
				*why = "bad padding record";
				return -EINVAL;
			}
			*pos += size;
			continue;
		}
		if (size < SHMLOG_RECORD_HEADER_BYTES || size % SHMLOG_RECORD_ALIGN || size > to_end ||
		    size > tail - *pos) {
			*why = "record size out of bounds";
			return -EINVAL;
		}
		memcpy(&r->ts, data + off + 8, 8);
		r->size = size;
		r->site = site;
		r->args = data + off + SHMLOG_RECORD_HEADER_BYTES;
		r->args_len = size - SHMLOG_RECORD_HEADER_BYTES;
		return 1;
	}
}

long long seg_ring_count(const struct seg *s, uint32_t i, uint64_t head, uint64_t tail, const char **why)
{
	long long n = 0;
	struct seg_rec r;
	int rc;
	if (tail < head || tail - head > s->ring_bytes) { /* a walk further round the ring reads a lap again */
		*why = tail < head ? "tail behind head" : "positions further apart than the ring size";
		return -EINVAL;
	}
	while ((rc = seg_ring_next(s, i, &head, tail, &r, why)) == 1) {
		n += r.site != SHMLOG_SITE_LOSS;
		head += r.size;
	}
	return rc < 0 ? rc : n;
}

int seg_lock_held(const struct seg *s)
{
	if (!s->locked)
		return -1;
	/* a write lock over the whole file conflicts with the producer's read lock */
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	if (fcntl(s->fd, F_OFD_GETLK, &fl) < 0)
		return -1;
	return fl.l_type != F_UNLCK;
}

bool seg_closed(const struct seg *s)
{
	/* acquire: pairs with shmlog_close's release of the state */
	return atomic_load_explicit(&s->hdr->state, memory_order_acquire) == SHMLOG_SEG_CLOSED;
}

/* Of /proc/PID/stat: the state (field 3), start time (22) and virtual size (23). Returns whether it was read. */
static bool proc_stat(pid_t pid, char *state, uint64_t *start, uint64_t *vsize)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* the name before it may hold anything */
	if (!p || p[1] != ' ' || !p[2])
		return false;
	*state = p[2];
	int field = 2; /* after ")" come fields 3.. */
	for (; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	char *end;
	*start = strtoull(p, &end, 10);
	*vsize = strtoull(end, NULL, 10);
	return true;
}

uint64_t seg_proc_start_time(pid_t pid)
{
	char state;
	uint64_t start, vsize;
	return proc_stat(pid, &state, &start, &vsize) ? start : 0;
}

bool seg_proc_runs_on(pid_t pid, uint64_t start_time)
{
	char state;
	uint64_t start, vsize;
	/* an exit drops the address space (exit_mm) before the files (exit_files), and the segment's
	 * mapping holds the lock as its descriptor does */
	return start_time && proc_stat(pid, &state, &start, &vsize) && start == start_time && vsize > 0 &&
	       state != 'Z' && state != 'X';
}

bool seg_clock(const struct seg *s, struct clock_calib *c)
{
	return clock_load(s->hdr, c);
}

static void msg_printf(struct sbuf *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void msg_printf(struct sbuf *msg, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0)
		sbuf_append(msg, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

void seg_site_done(struct seg_site *st)
{
	st->lazy = !st->err && st->pf.bounded && !st->n_fields;
}

/* Whether records of st have a message decoded while it is rendered, and no fields: lazy_msg(). */
static inline bool site_lazy(const struct seg_site *st)
{
	return st->lazy;
}

/* sp->msg for record r of site st, its arguments not decoded (args NULL, bytes r's); field by field,
 * faster than a compound literal on the hot path: a field added to struct text_msg must be set here. */
static_assert(sizeof(struct text_msg) == 88, "lazy_msg() sets every field of struct text_msg");
static_assert(sizeof(struct text_record) == 104, "seg_decode() sets every field of struct text_record");
static inline void lazy_msg(const struct seg_site *st, const struct seg_rec *r, struct sbuf *msg, struct seg_space *sp)
{
	struct text_msg *m = &sp->msg;
	m->fmt = st->fmt;
	m->fmt_len = st->fmt_len;
	m->pf = &st->pf;
	m->args = NULL;
	m->bytes = r->args;
	m->bytes_len = r->args_len;
	m->raw = msg;
	m->rendered = false;
	m->oom = false;
	m->site = st;
	m->raw_args = r->args;
	m->raw_args_len = r->args_len;
}

void seg_decode_site(const struct seg_site *st, const struct seg_rec *r, struct sbuf *msg,
			struct text_record *tr, struct seg_space *sp)
{
	size_t used = 0; /* a refused format has no arguments: its producer writes only the fields */
	lazy_msg(st, r, msg, sp);
	if (site_lazy(st)) { /* decoded while it is rendered */
		tr->lazy = &sp->msg;
		return;
	}
	sp->msg.bytes = NULL;
	sp->msg.bytes_len = 0;
	if (st->err) {
		msg_printf(msg, "[shmlog: format refused: %s] ", st->err);
		sbuf_append(msg, st->fmt, st->fmt_len);
	} else if (record_decode_args_used(sp->args, st->pf.kinds, st->pf.n_args, r->args, r->args_len, &used) < 0) {
		sbuf_append(msg, TEXT_MALFORMED_ARGS, sizeof TEXT_MALFORMED_ARGS - 1);
		sbuf_append(msg, st->fmt, st->fmt_len);
		return;
	} else {
		sp->msg.args = sp->args;
		tr->lazy = &sp->msg;
	}
	if (!st->n_fields)
		return;
	memcpy(sp->fields, st->fields, st->n_fields * sizeof sp->fields[0]);
	if (record_decode_fields(sp->fields, st->n_fields, r->args + used, r->args_len - used) < 0) {
		size_t len;
		const char *m = text_record_msg(tr, &len); /* the message, then the complaint */
		if (m != msg->data)
			sbuf_append(msg, m, len);
		msg_printf(msg, " [shmlog: malformed record fields]");
		tr->lazy = NULL;
	} else {
		tr->fields = sp->fields;
		tr->n_fields = st->n_fields;
	}
}

uint64_t seg_decode(struct seg *s, uint32_t tid, const struct seg_rec *r, uint64_t ts_ns, struct sbuf *msg,
		    struct text_record *tr, struct seg_space *sp)
{
	uint64_t lost = 0;
	const struct seg_site *st = NULL;
	sbuf_reset(msg);
	/* field by field (every one, see the static_assert above), not zeroed first: once per record */
	tr->ts_ns = ts_ns;
	tr->name = s->name;
	tr->name_len = s->name_len;
	tr->pid = s->pid;
	tr->tid = tid;
	tr->lazy = NULL;
	tr->consumed = false;
	tr->fields = NULL;
	tr->n_fields = 0;
	if (r->site != SHMLOG_SITE_LOSS && (st = seg_site(s, r->site)) != NULL) {
		tr->level = st->level;
		tr->file = st->file;
		tr->file_len = st->file_len;
		tr->line = st->line;
		if (site_lazy(st)) { /* the common record: seg_decode_site()'s first case, inline */
			lazy_msg(st, r, msg, sp);
			tr->lazy = &sp->msg;
		} else {
			seg_decode_site(st, r, msg, tr, sp);
		}
	} else { /* a loss record, or a call site the segment does not define: a message of ours */
		tr->file = NULL;
		tr->file_len = 0;
		tr->line = 0;
		if (r->site == SHMLOG_SITE_LOSS) {
			if (r->args_len >= 8)
				memcpy(&lost, r->args, 8);
			msg_printf(msg, "%llu records lost (ring full)", (unsigned long long)lost);
			tr->level = TEXT_LEVEL_WARN;
		} else if (s->sites_oom) {
			msg_printf(msg, "[shmlog: out of memory: the call site of this record (id %u) could not be read]",
				   r->site);
			tr->level = TEXT_LEVEL_ERROR;
		} else {
			msg_printf(msg, "[shmlog: record with unknown call-site id %u]", r->site);
			tr->level = TEXT_LEVEL_ERROR;
		}
	}
	tr->msg = msg->data ? msg->data : "";
	tr->msg_len = msg->len;
	return lost;
}

uint64_t seg_render(struct seg *s, uint32_t tid, const struct seg_rec *r, uint64_t ts_ns, struct sbuf *msg,
		    struct text_record *tr, struct seg_space *sp)
{
	uint64_t lost = seg_decode(s, tid, r, ts_ns, msg, tr, sp);
	if (tr->lazy) {
		tr->msg = text_record_msg(tr, &tr->msg_len);
		tr->lazy = NULL;
	}
	return lost;
}

void seg_notice(const struct seg *s, uint32_t tid, int level, struct text_record *tr, char *buf, size_t cap,
		const char *fmt, va_list ap)
{
	int len = vsnprintf(buf, cap, fmt, ap);
	*tr = (struct text_record){
		.ts_ns = clock_realtime_ns(),
		.level = level,
		.name = s->name,
		.name_len = s->name_len,
		.pid = s->pid,
		.tid = tid,
		.msg = buf,
		.msg_len = len < 0 ? 0 : (size_t)len >= cap ? cap - 1 : (size_t)len,
	};
}

int seg_mkdir_p(const char *dir, bool world)
{
	char tmp[PATH_MAX];
	if (strlen(dir) >= sizeof tmp)
		return -ENAMETOOLONG;
	strcpy(tmp, dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, world ? 01777 : 0700) < 0) {
		struct stat sb;
		if (errno != EEXIST)
			return -errno;
		if (stat(tmp, &sb) < 0)
			return -errno;
		if (!S_ISDIR(sb.st_mode))
			return -ENOTDIR; /* a file in its place */
	} else if (world) {
		chmod(tmp, 01777); /* mkdir's mode is cut by the umask */
	}
	return 0;
}
