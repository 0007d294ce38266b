/*
 * known.c — the table of files looked at (see known.h): open addressing
 * with linear probing; deletion only by rebuilding at known_sweep(). The
 * table is mapped, not malloc'd, so that a table shrunk after a flood of
 * files gives its memory back to the system at once.
 */
#include "known.h"

#include <string.h>
#include <sys/mman.h>

#define KNOWN_MIN_CAP 64u

struct known_sig known_sig_of(const struct stat *st)
{
	return (struct known_sig){
		.size = (int64_t)st->st_size,
		.mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
		.ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec,
	};
}

bool known_sig_same(struct known_sig a, struct known_sig b)
{
	return a.size == b.size && a.mtime_ns == b.mtime_ns && a.ctime_ns == b.ctime_ns;
}

/* FNV-1a of the name. */
static uint64_t name_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return h;
}

static uint32_t slot_of(const struct known *k, uint64_t ino, uint64_t nh)
{
	uint64_t h = (nh ^ (ino * 0x9e3779b97f4a7c15ull)) >> 17;
	return (uint32_t)h & (k->cap - 1);
}

/* The slot of (ino, nh) in k, or the empty slot where it would go. */
static struct known_file *probe(struct known *k, uint64_t ino, uint64_t nh)
{
	for (uint32_t i = slot_of(k, ino, nh);; i = (i + 1) & (k->cap - 1)) {
		struct known_file *f = &k->t[i];
		if (f->state == KNOWN_EMPTY || (f->ino == ino && f->name_hash == nh))
			return f;
	}
}

/* A zeroed table of cap slots, or NULL. */
static struct known_file *table_new(uint32_t cap)
{
	void *t = mmap(NULL, (size_t)cap * sizeof(struct known_file), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return t == MAP_FAILED ? NULL : t;
}

static void table_free(struct known_file *t, uint32_t cap)
{
	if (t)
		munmap(t, (size_t)cap * sizeof *t);
}

/*
 * Move the entries of k into a table of cap slots; with sweep, not those the
 * current scan did not list (but ATTACHED ones). Returns false when out of
 * memory.
 */
static bool rebuild(struct known *k, uint32_t cap, bool sweep)
{
	struct known_file *t = table_new(cap);
	if (!t)
		return false;
	struct known old = *k;
	k->t = t;
	k->cap = cap;
	k->n = 0;
	for (uint32_t i = 0; i < old.cap; i++) {
		const struct known_file *f = &old.t[i];
		if (f->state == KNOWN_EMPTY || (sweep && f->scan != k->scan && f->state != KNOWN_ATTACHED))
			continue;
		*probe(k, f->ino, f->name_hash) = *f;
		k->n++;
	}
	table_free(old.t, old.cap);
	return true;
}

struct known_file *known_get(struct known *k, uint64_t ino, const char *name)
{
	if ((k->n + 1) * 2 > k->cap && !rebuild(k, k->cap ? k->cap * 2 : KNOWN_MIN_CAP, false))
		return NULL; /* kept at most half full: probes stay short */
	uint64_t nh = name_hash(name);
	struct known_file *f = probe(k, ino, nh);
	if (f->state == KNOWN_EMPTY) {
		*f = (struct known_file){.ino = ino, .name_hash = nh, .state = KNOWN_NEW, .scan = k->scan};
		k->n++;
	}
	return f;
}

void known_sweep(struct known *k)
{
	uint32_t live = 0;
	for (uint32_t i = 0; i < k->cap; i++)
		live += k->t[i].state != KNOWN_EMPTY && (k->t[i].scan == k->scan || k->t[i].state == KNOWN_ATTACHED);
	uint32_t cap = KNOWN_MIN_CAP;
	while (cap < live * 2)
		cap *= 2;
	if (live != k->n || cap < k->cap)
		rebuild(k, cap, true); /* out of memory: the stale entries stay until the next sweep */
}

void known_free(struct known *k)
{
	table_free(k->t, k->cap);
	*k = (struct known){0};
}
