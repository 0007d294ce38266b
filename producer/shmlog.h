/*
 * shmlog.h — libshmlog, the producer side of shmlog.
 *
 * A log call writes one binary record (call-site id, timestamp, raw argument
 * values) into a ring owned by the calling thread, inside a shared-memory
 * segment under /dev/shm. No lock, no syscall, no formatting, no allocation:
 * formatting and I/O happen in shmlog-collector, a separate process, which
 * also drains the segment if this process crashes.
 *
 *   struct shmlog *lg;
 *   if (shmlog_open(&lg, NULL) == 0) {
 *       SHMLOG_INFO(lg, "order %d filled at %.2f", id, px);
 *       shmlog_flush(lg, 1000);
 *       shmlog_close(lg);
 *   }
 *
 * The logging macros take a printf format literal and its arguments, checked
 * by the compiler as printf's are; the collector's output is exactly what
 * printf would have printed. Supported: conversions d i u o x X c s p f F e
 * E g G a A and %%, flags, width, precision (also '*'), length modifiers hh h
 * l ll j z t L. %n, %m, positional and wide arguments are refused: such a
 * call site logs the format itself with an error note instead. A %s argument
 * is copied by value, up to SHMLOG_MAX_STRING bytes; a longer one is cut and
 * shows "...[truncated]"; NULL prints as printf prints it.
 *
 * Threads: each thread logs into its own ring, claimed on its first log call
 * and given back when the thread exits (the collector frees it once drained).
 * Threads beyond max_threads share one extra overflow ring, serialised by a
 * lock: they lose nothing but contend with each other.
 *
 * All functions return 0 (or a count) on success and a negative errno value on
 * failure; the library never prints.
 */
#ifndef SHMLOG_H
#define SHMLOG_H

#include <stdatomic.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHMLOG_VERSION_MAJOR 0
#define SHMLOG_VERSION_MINOR 1

/* Levels, in increasing severity (0 is "unset" in options). SHMLOG_LEVEL_OFF as a threshold logs nothing. */
#define SHMLOG_LEVEL_TRACE 1
#define SHMLOG_LEVEL_DEBUG 2
#define SHMLOG_LEVEL_INFO 3
#define SHMLOG_LEVEL_WARN 4
#define SHMLOG_LEVEL_ERROR 5
#define SHMLOG_LEVEL_CRITICAL 6
#define SHMLOG_LEVEL_OFF 7

/* What a log call does when its ring is full. */
#define SHMLOG_FULL_DROP 1  /* drop the record, count it; the collector reports "N records lost" */
#define SHMLOG_FULL_BLOCK 2 /* wait for the collector to make room, up to block_timeout_ms */

/* Longest %s argument copied into a record, in bytes. */
#define SHMLOG_MAX_STRING 1024

/* Default segment directory when neither opts->dir nor $SHMLOG_DIR is set. */
#define SHMLOG_DEFAULT_DIR "/dev/shm/shmlog"

/* Options for shmlog_open(). A zeroed field means its default. */
struct shmlog_options {
	const char *name;       /* logger name, at most 63 bytes; default: the program's short name */
	const char *dir;        /* segment directory; default $SHMLOG_DIR, else SHMLOG_DEFAULT_DIR (created if missing) */
	uint32_t ring_bytes;    /* ring size per thread, rounded up to a power of two (4 KiB..1 GiB); default 1 MiB */
	uint32_t max_threads;   /* threads with a ring of their own; default 32 (1..4095) */
	int min_level;          /* threshold SHMLOG_LEVEL_*; default $SHMLOG_LEVEL (a level name), else INFO */
	int full_policy;        /* SHMLOG_FULL_DROP (default) or SHMLOG_FULL_BLOCK */
	int block_timeout_ms;   /* SHMLOG_FULL_BLOCK: longest wait per call, then the record is dropped
				   and counted; default 1000; negative = wait forever */
	int crash_handler;      /* nonzero: on SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT write a
				   CRITICAL record (signal, fault address, backtrace), then hand the
				   signal on to the previous handler (core dumps still happen).
				   One logger per process can own it; default off */
	int sync_level;         /* a record at or above this level makes its log call wait until the
				   collector has written it and synced the files it went to; 0 = off */
	int sync_timeout_ms;    /* longest such wait; default 1000 */
};

struct shmlog;

/*
 * Create this process's segment and return a logger in *out. opts may be
 * NULL. Returns 0, -EINVAL for an option out of range, or the -errno of the
 * failing system call (creating the directory, the segment file, mmap).
 */
int shmlog_open(struct shmlog **out, const struct shmlog_options *opts);

/*
 * Mark the segment closed and unmap it. Every thread must have stopped logging
 * through lg. The segment file stays until a collector has drained it (or a
 * post-mortem reader recovers it), so nothing committed is lost.
 */
void shmlog_close(struct shmlog *lg);

/* Change the threshold at run time (any thread). Returns 0, or -EINVAL for a bad level. */
int shmlog_set_level(struct shmlog *lg, int level);

/* The current threshold. */
int shmlog_get_level(const struct shmlog *lg);

/*
 * Wait until the collector has consumed every record this process committed
 * before the call (in all its threads' rings). timeout_ms < 0 waits forever.
 * Returns 0, or -ETIMEDOUT (for instance when no collector runs).
 */
int shmlog_flush(struct shmlog *lg, int timeout_ms);

/*
 * Wait until the collector has written every record this process committed
 * before the call and synced (fdatasync) the files they went to.
 * timeout_ms < 0 waits forever. Returns 0, or -ETIMEDOUT.
 */
int shmlog_sync(struct shmlog *lg, int timeout_ms);

/* Per-logger counters, summed over rings. */
struct shmlog_stats {
	uint64_t committed_bytes; /* ring bytes written */
	uint64_t consumed_bytes;  /* ring bytes the collector consumed */
	uint64_t lost;            /* records dropped (ring full, timeout, registry full) */
	uint32_t rings_in_use;
};

/* Fill *st. Returns 0. */
int shmlog_get_stats(struct shmlog *lg, struct shmlog_stats *st);

/* The segment file's path (valid until shmlog_close). */
const char *shmlog_segment_path(const struct shmlog *lg);

/* ---- implementation details used by the macros; not API ---- */

/* The first member of struct shmlog: read inline by the level check. */
struct shmlog__hot {
	_Atomic int level;
};

/* One per call site, static, zero-initialised apart from the constants. */
struct shmlog__site {
	const char *fmt;
	const char *file;
	int line;
	int level;
	_Atomic uint64_t cache; /* (logger serial << 32) | (site id + 1), for the last logger used */
	_Atomic uint32_t parsed; /* 0 not yet, 1 kinds valid, 2 format refused */
	uint8_t nargs;
	uint8_t kinds[32];
};

void shmlog__log(struct shmlog *lg, struct shmlog__site *site, ...);

static inline __attribute__((format(printf, 1, 2))) void shmlog__check_format(const char *fmt, ...)
{
	(void)fmt;
}

static inline int shmlog__enabled(const struct shmlog *lg, int level)
{
	/* relaxed: a level change may take effect a few calls late in other threads */
	return level >= atomic_load_explicit(&((const struct shmlog__hot *)(const void *)lg)->level,
					     memory_order_relaxed);
}

#define SHMLOG__LOG(lg, lvl, fmt, ...)                                                     \
	do {                                                                               \
		static struct shmlog__site shmlog__site_ = {(fmt), __FILE__, __LINE__, (lvl)};   \
		if (__builtin_expect(shmlog__enabled((lg), (lvl)), 1)) {                   \
			if (0)                                                             \
				shmlog__check_format(fmt, ##__VA_ARGS__);                  \
			shmlog__log((lg), &shmlog__site_, ##__VA_ARGS__);                  \
		}                                                                          \
	} while (0)

/* Log at a level: SHMLOG_INFO(lg, "x=%d", x). The format must be a string literal. */
#define SHMLOG_TRACE(lg, fmt, ...) SHMLOG__LOG(lg, SHMLOG_LEVEL_TRACE, fmt, ##__VA_ARGS__)
#define SHMLOG_DEBUG(lg, fmt, ...) SHMLOG__LOG(lg, SHMLOG_LEVEL_DEBUG, fmt, ##__VA_ARGS__)
#define SHMLOG_INFO(lg, fmt, ...) SHMLOG__LOG(lg, SHMLOG_LEVEL_INFO, fmt, ##__VA_ARGS__)
#define SHMLOG_WARN(lg, fmt, ...) SHMLOG__LOG(lg, SHMLOG_LEVEL_WARN, fmt, ##__VA_ARGS__)
#define SHMLOG_ERROR(lg, fmt, ...) SHMLOG__LOG(lg, SHMLOG_LEVEL_ERROR, fmt, ##__VA_ARGS__)
#define SHMLOG_CRITICAL(lg, fmt, ...) SHMLOG__LOG(lg, SHMLOG_LEVEL_CRITICAL, fmt, ##__VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif
