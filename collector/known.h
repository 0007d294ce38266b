/*
 * known.h — the files of the segment directory the collector has looked at,
 * by name and inode: attached, refused (looked at again only once the file
 * changes), or waiting for an attach slot (looked at again at every rescan).
 *
 * A hash table, so that a rescan costs O(files): each "*.shm" entry of the
 * directory is looked up once. An entry lives while its file is listed;
 * known_sweep() drops those the last scan did not see, so the table holds at
 * most one entry (48 bytes) per file present.
 */
#ifndef SHMLOG_COLLECTOR_KNOWN_H
#define SHMLOG_COLLECTOR_KNOWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

enum known_state {
	KNOWN_EMPTY,    /* a free slot of the table */
	KNOWN_NEW,      /* just added: not looked at yet */
	KNOWN_ATTACHED, /* a segment of c->segs */
	KNOWN_REFUSED,  /* not a segment we read: look again when its stat changes */
	KNOWN_WAITING,  /* a segment for which there was no slot or no descriptor: look again */
};

/* What tells a file that changed: size, and modification and change times. */
struct known_sig {
	int64_t size, mtime_ns, ctime_ns;
};

struct known_file {
	uint64_t ino, name_hash;
	struct known_sig sig; /* the file as it was when last looked at (REFUSED) */
	uint64_t ticket;      /* WAITING: the order in which files wait (lowest first) */
	uint32_t scan;        /* the last scan that listed it */
	uint8_t state;        /* enum known_state */
};

struct known {
	struct known_file *t;
	uint32_t cap, n; /* slots (a power of two, or 0) and entries */
	uint32_t scan;   /* the current scan */
};

/* The signature of st. Returns it. */
struct known_sig known_sig_of(const struct stat *st);

/* Whether two signatures are the same file content as far as stat tells. Returns that. */
bool known_sig_same(struct known_sig a, struct known_sig b);

/*
 * The entry of (ino, name), added as KNOWN_NEW when missing. The pointer is
 * valid until the next known_get or known_sweep. Returns it, or NULL when
 * out of memory.
 */
struct known_file *known_get(struct known *k, uint64_t ino, const char *name);

/* Drop the entries the current scan did not list (not ATTACHED ones); shrink the table. Returns nothing. */
void known_sweep(struct known *k);

/* Free the table. Returns nothing. */
void known_free(struct known *k);

#endif
