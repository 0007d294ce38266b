/*
 * collector.h — the collector's state, shared by its modules:
 *
 *   discover.c  finds segments in the directory, validates and attaches them,
 *               watches their producers' lifetime (pidfd), detaches and removes
 *               them when drained
 *   drain.c     one drain cycle: the reader (shared/reader.h) gathers and
 *               merges the committed records of every segment, drain.c hands
 *               them to the output side
 *   output.c    the live writers and the routes (output.h)
 *   ledger.c    the batches in flight: publish consumed positions once every
 *               writer is done with them
 *   replay.c    read a batch again for a writer that skipped it (full backlog)
 *   loop.c      the io_uring event loop tying them together
 */
#ifndef SHMLOG_COLLECTOR_H
#define SHMLOG_COLLECTOR_H

#include <liburing.h>
#include <pthread.h>
#include <sys/inotify.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "../shared/clock.h"
#include "../shared/sbuf.h"
#include "../shared/reader.h"
#include "../shared/segment.h"
#include "config.h"
#include "known.h"
#include "output.h"

#define COLLECTOR_MAX_SEGS 4096
/* descriptors kept for writers, io_uring, inotify and the rest, outside the attach slots */
#define COLLECTOR_RESERVED_FDS 64
/* inotify events on the segment directory: a segment appears (IN_MOVED_TO;
 * the others as a safety net), a producer wakes us (IN_ATTRIB, IN_MODIFY),
 * or the directory itself goes away (IN_DELETE_SELF; IN_MOVE_SELF, as the
 * watch would follow it to its new name). A removed directory that a mapped
 * segment keeps alive says nothing until it is unmapped: discover_scan()
 * also looks. */
#define DISCOVER_WATCH_MASK \
	(IN_MOVED_TO | IN_CREATE | IN_CLOSE_WRITE | IN_ATTRIB | IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF)
/* io_uring user_data of event-ring operations: tag in the top byte */
#define EV_TAG_SHIFT 56
#define EV_INOTIFY (1ull << EV_TAG_SHIFT)
#define EV_SIGNAL (2ull << EV_TAG_SHIFT)
#define EV_PID (3ull << EV_TAG_SHIFT) /* | segment id */
#define EV_UNWATCH (4ull << EV_TAG_SHIFT) /* the removal of an EV_PID poll: its completion is ignored */
/* Records emitted per cycle at most. A blocked producer waits for a whole
 * batch (consumed positions are published after it is written), so a batch
 * must take well under a millisecond: about 4096 records. */
#define COLLECTOR_BATCH_RECORDS 4096u
/* How long an ended producer's segment waits for its exit status (its parent reaping it) before its end is told without it. */
#define DISCOVER_EXIT_WAIT_MS 200

struct cseg {
	struct seg seg;
	uint64_t id;       /* unique per attach, for io_uring user_data */
	uint64_t ino;      /* inode, to tell a replaced file */
	int pidfd;         /* -1 if none */
	int wd;            /* the directory watch when attached: its producer rings
			    * there (by its descriptor once the path is gone) */
	/* the reader's view (shared/reader.h): its rings' positions and
	 * counters; rd.gone: the producer process has ended; rd.rejected: after
	 * attach (corrupt ring, SIGBUS); rd.finished: producer gone or closed,
	 * drained, end reported: remove */
	struct reader_seg rd;
	unsigned pending;  /* batches not yet delivered that cover this segment */
	uint32_t scan;     /* the scan (c->known.scan) that attached it */
	bool pid_foreign;  /* its pid is not a process of its owner: never watched, never told of */
	long long died_ms; /* when its pidfd said the producer ended, while its exit status is awaited; 0: not */
	long long unlocked_ms; /* when a reap first saw it exec'd (check_exec in discover.c); 0: not */
};

/*
 * A batch handed to the writers but not yet delivered by all of them: the
 * ring positions it brings each ring to, and the records each writer had
 * been given when it ended (output_marks). Batches are delivered in order;
 * when one is, its positions are published as the rings' heads.
 */
struct batch_pos {
	struct cseg *s;
	uint32_t ring;
	uint64_t start;            /* where the batch's records begin in the ring */
	uint64_t pos;              /* and end */
	uint64_t lost_reported;    /* the ring's counters as of this batch, */
	uint64_t records_consumed; /* published with its head */
};

/* A notice (a line the reader wrote, not a record of a ring) that writers
 * skipping live records missed: kept with its batch, to be read again. */
struct kept_notice {
	struct kept_notice *next;
	uint32_t writers;      /* who still has to get it */
	struct text_record tr; /* its strings point into text[] */
	char text[];
};

/*
 * skipped: writers that took none of the batch's records, as their backlog
 * was full or they had batches to read again (output.h, skipping); the batch
 * is read again for them (replay.c) before it can be delivered. calib: the
 * stamps' conversion when it was read, so that the reading again gives the
 * same lines.
 */
struct batch {
	struct batch *next;
	uint64_t mark[CONFIG_MAX_WRITERS];
	uint32_t skipped;
	struct clock_calib calib;
	struct kept_notice *notices; /* oldest first */
	uint32_t n;
	struct batch_pos p[];
};


struct collector {
	struct collector_config *cfg;
	struct output out;  /* the live writers and routes */
	struct reader reader;
	struct reader_seg *cycle_segs[COLLECTOR_MAX_SEGS]; /* a cycle's segments, in segs[] order */
	uint32_t batch_cap; /* records the next cycle gathers at most (drain.c), 0 before the first */
	uint64_t cycle_start_ns; /* the last drain cycle's start (monotonic), 0 before the first */
	long cycle_emitted;      /* its records */
	bool cycle_behind;       /* it left records in the rings */
	struct kept_notice *kept, **kept_tail; /* this cycle's notices for skipping writers (ledger.c) */
	struct batch *spare;                  /* the next cycle's batch, made ready before it reads */
	uint32_t spare_cap;                   /* positions it has room for */
	struct reader replay_reader;          /* reads batches again (replay.c) */
	uint32_t replay_to;                   /* the writers a replay is for */
	unsigned replayed;                    /* batches the last cycle read again */
	const char *dir;
	struct io_uring ev; /* events: inotify, signals, pidfds, timeouts */
	struct io_uring io; /* writes */
	int inotify_fd;
	int watch_wd;   /* the watch on dir */
	dev_t dir_dev;  /* which directory dir is (made or found by discover.c) */
	ino_t dir_ino;
	int signal_fd;
	bool stop;
	bool rescan;
	uint64_t next_id;
	struct cseg *segs[COLLECTOR_MAX_SEGS];
	unsigned n_segs;
	struct known known;   /* the files looked at (known.h) */
	struct cseg *spare_cseg; /* zeroed, kept from a look that failed */
	unsigned max_attach;  /* segments attached at once at most: slots and descriptors */
	uint64_t next_ticket; /* the next waiting file's place in the queue */
	bool wait_warned;     /* that segments wait was said, and they still do */
	long long last_turn_ms; /* when idle segments last gave their slots to waiting ones */
	struct clock_calib calib_first, calib;
	uint64_t calib_at_ns;
	struct batch *bq_head, *bq_tail; /* undelivered batches, oldest first */
	long long last_rescan_ms;
	bool bells_usable; /* inotify sees IN_ATTRIB and membarrier() can reach the producers */
	bool watch_lost;   /* dir was removed or renamed (or its watch went away): watch it again */
	bool watch_warned; /* and adding it again failed, which was said once */
	bool bells_set;    /* discover_set_bells(c, true) since the last activity */
	unsigned dying;    /* segments with died_ms set */
	bool read_oom;     /* the last cycle could not read the rings for want of memory (said once) */
};

/* discover.c */
int discover_init(struct collector *c);
void discover_scan(struct collector *c);
void discover_process_died(struct collector *c, uint64_t seg_id);
/* Producers that ended and whose exit status is awaited (their parent has not
 * reaped them yet): gone once it is known, or after DISCOVER_EXIT_WAIT_MS, or
 * at once when now is set (the collector stops). */
void discover_await_exits(struct collector *c, bool now);
/* Detach segments that are finished (producer gone or closed, everything
 * drained), removing their files. */
void discover_reap(struct collector *c);
void discover_detach_all(struct collector *c);
/* Mark a segment broken with a reason (printed once); it stays on disk. */
void discover_reject(struct collector *c, struct cseg *s, const char *why);
/* Set (on) or clear every ring's bell in the segments a producer may still
 * write to (the doorbell, shared/abi.h). Setting does nothing and returns
 * false when one of them does not ring. */
bool discover_set_bells(struct collector *c, bool on);
/* Whether every ring of those segments still has its bell set. */
bool discover_bells_intact(const struct collector *c);
/* Write our clock calibration into every attached segment. */
void discover_publish_clock(struct collector *c);

/* drain.c: set up the reader (c->reader) with drain.c's callbacks, and free
 * it. Return nothing. */
void drain_init(struct collector *c);
void drain_free(struct collector *c);

/*
 * drain.c: one cycle. With final, ignore the merge window and drain
 * everything. Returns the records emitted (>= 0); sets *held when records
 * were left for the merge window, *more when the batch was cut (size or time)
 * and records are waiting.
 */
long drain_cycle(struct collector *c, bool final, bool *held, bool *more);

/* drain.c: the reader's rejection handler: the segment is rejected with its reason. READER_DROP. */
enum reader_action drain_on_reject(void *clientd, struct reader_seg *rs, uint32_t ring, const char *why);

/* ledger.c: have the next cycle's batch allocated before it reads; false when out of memory. */
bool ledger_reserve(struct collector *c);
/* Queue this cycle's new ring positions as a batch (after its records went to the output). */
void ledger_push(struct collector *c);
/* Publish the positions of every batch the writers are done with, oldest first; wake producers. */
void ledger_pop(struct collector *c);
/* Free undelivered batches (at exit: their records stay in the segments). */
void ledger_forget(struct collector *c);
/* Keep notice tr for the skipping writers that missed it, with this cycle's batch. */
void ledger_keep_notice(struct collector *c, const struct text_record *tr, uint32_t writers);

/* replay.c: read batches again for writers that skipped them and have room now, oldest
 * first; then stop skipping for writers with nothing left to read again. */
void replay_init(struct collector *c);
void replay_free(struct collector *c);
void replay_batches(struct collector *c); /* c->replayed: the batches it read again */
/* Whether a producer waits for a sync not yet published (sync_req beyond synced). */
bool ledger_sync_wanted(const struct collector *c);
/* If a producer waits for durability: sync every writer, then publish synced = consumed. */
void ledger_publish_synced(struct collector *c);

/* Report a line on stderr, prefixed with the program name. */
void collector_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

long long collector_now_ms(void);

/* pthread_create, the new thread taking no signal: the loop takes them (signalfd). 0 or its error number. */
int collector_thread(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

/* loop.c: open the output (taking cfg's writers and routes) and run until
 * SIGTERM/SIGINT (or, with once, until everything present is drained); SIGHUP
 * reopens the writers' files. Returns 0, or -errno for a setup failure
 * (message printed). */
int collector_run(struct collector_config *cfg, const char *dir, bool once);

#endif
