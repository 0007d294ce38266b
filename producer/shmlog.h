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
 * SHMLOG_INFO_KV and the other _KV forms add typed key/value fields to a
 * record (see their definition in shmlog_kv.h, which this header includes).
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

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * C and C++ (17 and later) see the same structs. C++ before 23 has no
 * _Atomic: there an atomic field is its plain type (same size and alignment,
 * checked by the static asserts below) that the inline path only touches
 * through the __atomic builtins std::atomic_ref is built on.
 */
#ifdef __cplusplus
#include <string>
#include <string_view>
#include <type_traits>
#define SHMLOG__ATOMIC(T) T
#define SHMLOG__BOOL bool
#define SHMLOG__STATIC_ASSERT static_assert
#define SHMLOG__RELAXED __ATOMIC_RELAXED
#define SHMLOG__ACQUIRE __ATOMIC_ACQUIRE
#define SHMLOG__RELEASE __ATOMIC_RELEASE
#define SHMLOG__LOAD(obj, order) __atomic_load_n((obj), order)
#define SHMLOG__STORE(obj, v, order) __atomic_store_n((obj), (v), order)
#else
#include <stdatomic.h>
#define SHMLOG__ATOMIC(T) _Atomic(T)
#define SHMLOG__BOOL _Bool
#define SHMLOG__STATIC_ASSERT _Static_assert
#define SHMLOG__RELAXED memory_order_relaxed
#define SHMLOG__ACQUIRE memory_order_acquire
#define SHMLOG__RELEASE memory_order_release
#define SHMLOG__LOAD(obj, order) atomic_load_explicit((obj), order)
#define SHMLOG__STORE(obj, v, order) atomic_store_explicit((obj), (v), order)
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define SHMLOG_VERSION_MAJOR 0
#define SHMLOG_VERSION_MINOR 5

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
	int doorbell;           /* nonzero: ring the collector's doorbell. Once the collector has had
				   nothing to do for its sleep_after_ms, it slows its polling down to
				   idle_poll_ms (so a record after a quiet spell may wait that long)
				   unless every live segment rings: then it stops polling, and the
				   first record after the spell wakes it at once, with one system
				   call (utimensat() on the segment file) made by that log call:
				   tens of microseconds on a virtual machine. Default off: no log
				   call ever makes a system call */
	int block_spin_us;      /* SHMLOG_FULL_BLOCK: how long a call that found its ring full
				   busy-waits (offering its CPU to others every 50 us) before it
				   wakes the collector and sleeps until the collector wakes it;
				   within block_timeout_ms. A collector at work frees room once
				   per cycle (hundreds of microseconds): about 1000 spares most
				   sleeps and wake-ups, on dedicated cores. Default 30;
				   negative = sleep at once */
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

/*
 * Change the threshold at run time, from any thread. It never waits for a
 * lock, so a signal handler or a pthread_atfork() handler may call it too.
 * Other threads see it within a few calls at most (each thread logs against
 * its own copy of the threshold, which this updates). Returns 0, -EINVAL for a bad
 * level, or -ENODEV in a forked child whose own segment could not be created
 * at its first record (its loggers are switched off, and stay off).
 */
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

/*
 * The segment file's path (valid until shmlog_close). In a forked child it
 * is "" until the child's first record through lg makes its own segment
 * (before that, flush, sync and stats have nothing to wait for: 0).
 */
const char *shmlog_segment_path(const struct shmlog *lg);

/* ---- call sites made at run time: for language bindings ---- */

/*
 * The macros know their format at compile time. A binding (the Python module)
 * knows it at run time: it registers each distinct call site once with
 * shmlog_site_register(), keeps the handle, and logs through it with
 * shmlog_log_values(), one typed value per conversion of the format and per
 * field. Those records are the macros' records (the same encoder writes
 * them): the collector renders them exactly as printf would.
 */

/* Types of a struct shmlog_value, and of a run-time site's fields. */
#define SHMLOG_VALUE_INT 1    /* v.i */
#define SHMLOG_VALUE_UINT 2   /* v.u */
#define SHMLOG_VALUE_DOUBLE 3 /* v.d */
#define SHMLOG_VALUE_BOOL 4   /* v.i, 0 or not: fields only */
#define SHMLOG_VALUE_STRING 5 /* v.s: len bytes at p, copied by value (up to SHMLOG_MAX_STRING) */

struct shmlog_value {
	int type; /* SHMLOG_VALUE_* */
	union {
		long long i;
		unsigned long long u;
		double d;
		struct {
			const char *p; /* need not be NUL-terminated; NULL prints as printf prints it */
			size_t len;
		} s;
	} v;
};

/* A field of a run-time call site: its key and the type of its values. */
struct shmlog_field_spec {
	const char *key; /* 1 to 255 bytes, NUL-terminated */
	int type;        /* SHMLOG_VALUE_* */
};

/* A call site registered at run time: owned by its logger, freed by shmlog_close(). */
struct shmlog_site;

/*
 * Register a call site of lg at run time: a printf format (the conversions
 * the macros accept), its level (SHMLOG_LEVEL_TRACE..CRITICAL), the source
 * file and line to show (file may be NULL), and nfields (0 to 16) fields. The
 * strings are copied. Each call makes a new site: register a site once and
 * keep it (a segment holds 8192). Stores the handle in *out. Returns the
 * number of arguments the format takes (0 to 32), -EINVAL for a bad level, a
 * format the macros would refuse (%n, %m, positional or wide arguments, more
 * than 32 arguments) or a bad field (key length, type, more than 16), -ENOMEM,
 * or -ENOSPC when the segment's registry is full.
 */
int shmlog_site_register(struct shmlog *lg, struct shmlog_site **out, int level, const char *fmt, const char *file,
			 int line, const struct shmlog_field_spec *fields, unsigned nfields);

/*
 * Write one record of site (registered with lg) with nargs arguments, one
 * per conversion of its format ('*' widths and precisions included), and
 * nfields field values in the order of its fields. An argument's type fits
 * its conversion: SHMLOG_VALUE_INT or _UINT for the integer conversions
 * (converted to the conversion's C type, as printf would read it) and %p,
 * _DOUBLE for the floating ones, _STRING for %s. A field value has the type
 * its field was registered with. Nothing is written below lg's threshold.
 * Thread-safe, as the macros are. Returns 0 (written or below the
 * threshold), -EINVAL when the counts or a type do not fit the site (nothing
 * written), -ENOBUFS when the record was dropped (ring full, or longer than
 * half a ring) and counted as lost, -ENOSPC when the registry is full
 * (counted as lost too), or -ENODEV in a forked child whose own segment
 * could not be created.
 */
int shmlog_log_values(struct shmlog *lg, struct shmlog_site *site, const struct shmlog_value *args, unsigned nargs,
		      const struct shmlog_value *fields, unsigned nfields);

/* ---- implementation details used by the macros; not API ---- */

/*
 * How a log call is compiled. Each macro expands to a static call-site struct
 * (format, file, line, level, and the C type of each argument, found with
 * _Generic), the level check against the calling thread's slot 0 (its
 * copy of the threshold; lg itself is only read when slot 0 belongs to
 * another logger or to none), and an inline fast path: shmlog__begin()
 * reserves room for the worst case in the calling thread's ring and writes the
 * record header, one small store function per argument (chosen by its type at
 * compile time) copies the values, and shmlog__end() writes the real size,
 * release-stores the new tail and, only after a quiet spell in this ring,
 * calls out to look at the doorbell. No va_list, no loop over a format, no
 * call.
 *
 * The fast path is taken once the thread's slot 0 holds this logger, the
 * call site is registered in it and its argument types are exactly the kinds
 * its format expects (registration compares them; a mismatch such as a
 * char * passed to %p, or a site at or above sync_level, keeps the site on
 * the general path). Everything else —
 * the first call of a site or a thread, a full ring, a pending loss report —
 * goes through shmlog__log(), the general variadic path, which reads the
 * arguments by the format's kinds.
 */

/* The first member of struct shmlog: read inline when the thread's slot 0 is not lg's. */
struct shmlog__hot {
	SHMLOG__ATOMIC(int) level; /* threshold */
	uint32_t serial;   /* process-unique logger number, never 0 */
	int tsc;           /* stamp with the TSC, else CLOCK_REALTIME ns */
};

/* A thread's ring in one logger (the library's private view of it). The
 * fields the inline path reads come first. */
struct shmlog__ring {
	uint8_t *data;                /* ring data area */
	uint64_t tail;                /* our write position, published to *tail_pub */
	uint64_t fast_limit;          /* the inline path may write up to here: min(head_cache + cap,
					 end of the current lap), 0 while a loss waits to be reported */
	SHMLOG__ATOMIC(uint64_t) *tail_pub; /* the ring header's tail */
	uint32_t cap;                 /* data bytes, a power of two */
	uint32_t index;
	uint64_t last_win;            /* stamp >> SHMLOG__QUIET_SHIFT of the last record (0: none yet) */
	uint64_t head_cache;          /* last consumer position read */
	uint64_t pending_lost;        /* drops not yet reported by a loss record */
	void *rh;                     /* the ring header */
};

/*
 * A thread's slot for one logger. Slot 0 is the one the inline path uses, and
 * it never dereferences the logger: a log call's first touch of memory after
 * a pause (when the TLB and caches may have been emptied by an interrupt or by
 * the hypervisor) should not wait for lg -> threshold before anything else can
 * start. So the slot carries a copy of the logger's threshold, kept current by
 * shmlog_set_level() (which writes every registered slot of the logger), and
 * shmlog_close() clears lg in every slot of the logger, so a new logger that
 * gets the same address never matches an old slot.
 */
struct shmlog__tls {
	SHMLOG__ATOMIC(struct shmlog *) lg; /* the logger this slot belongs to, or NULL */
	SHMLOG__ATOMIC(int) level;          /* copy of lg's threshold */
	uint32_t serial;           /* lg's serial, compared with a call site's cached one */
	struct shmlog__ring rp;
};

#define SHMLOG__TLS_SLOTS 4
/* initial-exec: a plain %fs-relative load, also for a dlopen'ed library; slot 0's hot fields share one cache line */
extern __thread struct shmlog__tls shmlog__tls_slots[SHMLOG__TLS_SLOTS] __attribute__((tls_model("initial-exec"), aligned(64)));

/* Argument kinds, as in the segment format (shared/abi.h). */
#define SHMLOG__T_INT32 1
#define SHMLOG__T_INT64 2
#define SHMLOG__T_DOUBLE 3
#define SHMLOG__T_LDOUBLE 4
#define SHMLOG__T_POINTER 5
#define SHMLOG__T_STRING 6

/* Field kinds, as in the segment format (shared/abi.h, shmlog_field_kind). */
#define SHMLOG__F_I64 1
#define SHMLOG__F_U64 2
#define SHMLOG__F_F64 3
#define SHMLOG__F_BOOL 4
#define SHMLOG__F_STRING 5
#define SHMLOG__MAX_FIELDS 16

#define SHMLOG__SITE_FAST 0x80000000u /* in the low word of site->cache */

/* A _KV call site's fields, static: registered once in the segment's string heap. */
struct shmlog__fields {
	uint8_t n;                              /* pairs */
	uint8_t kinds[SHMLOG__MAX_FIELDS];      /* SHMLOG__F_* of each value (from _Generic) */
	const char *keys[SHMLOG__MAX_FIELDS];   /* string literals */
};

/* One per call site, static. */
struct shmlog__site {
	const char *fmt;
	const char *file;
	int line;
	int level;
	uint8_t ntypes;           /* arguments at the call */
	uint8_t types[33];        /* SHMLOG__T_* of each (from _Generic), then a 0 */
	SHMLOG__ATOMIC(uint64_t) cache;  /* (logger serial << 32) | SITE_FAST? | site id, for the last logger used */
	SHMLOG__ATOMIC(uint32_t) parsed; /* 0 not yet, 1 kinds valid, 2 format refused */
	uint8_t nargs;            /* the format's arguments */
	uint8_t kinds[32];        /* and their kinds */
	const struct shmlog__fields *fields; /* SHMLOG_*_KV: values follow the arguments; else NULL */
};

/* The layout compiled into programs: one definition, the same in C and C++ (x86-64). */
SHMLOG__STATIC_ASSERT(sizeof(struct shmlog__tls) == 88 && offsetof(struct shmlog__tls, rp) == 16, "shmlog__tls layout");
SHMLOG__STATIC_ASSERT(sizeof(struct shmlog__site) == 120 && offsetof(struct shmlog__site, cache) == 64 &&
			      offsetof(struct shmlog__site, fields) == 112, "shmlog__site layout");

void shmlog__log(struct shmlog *lg, struct shmlog__site *site, ...);

/* Records are grouped in windows of 2^this TSC ticks; the first record of a
 * ring in a new window looks at the doorbell (SHMLOG_BELL_QUIET_SHIFT in
 * shared/abi.h). */
#define SHMLOG__QUIET_SHIFT 26
/* After a quiet spell: if the collector sleeps, wake it (one system call, by
 * one thread per sleep). rp: a slot's ring, whose tail was just published. */
void shmlog__ring_bell(struct shmlog__ring *rp);

static inline __attribute__((format(printf, 1, 2))) void shmlog__check_format(const char *fmt, ...)
{
	(void)fmt;
}

/* The calling thread's slot 0 when it belongs to lg, else NULL (the general path finds or claims a slot). */
static inline __attribute__((always_inline)) struct shmlog__tls *shmlog__slot(const struct shmlog *lg)
{
	struct shmlog__tls *t = &shmlog__tls_slots[0];
	return SHMLOG__LOAD(&t->lg, SHMLOG__RELAXED) == lg ? t : (struct shmlog__tls *)0;
}

/* Whether level passes lg's threshold. t: shmlog__slot(lg). */
static inline __attribute__((always_inline)) int shmlog__enabled(const struct shmlog *lg, const struct shmlog__tls *t,
								   int level)
{
	/* relaxed: a level change may take effect a few calls late in other threads */
	if (__builtin_expect(t != (const struct shmlog__tls *)0, 1))
		return level >= SHMLOG__LOAD(&t->level, SHMLOG__RELAXED);
	return level >= SHMLOG__LOAD(&((const struct shmlog__hot *)(const void *)lg)->level, SHMLOG__RELAXED);
}

/*
 * Reserve worst bytes in the calling thread's ring and write the record
 * header. t: shmlog__slot(lg). Returns where the arguments go, or NULL when
 * the general path must take this call (no slot 0 for this logger, site not
 * fast here, not enough room, a loss to report first).
 */
static inline __attribute__((always_inline)) uint8_t *shmlog__begin(struct shmlog__tls *t, struct shmlog__site *site,
								     uint32_t worst, struct shmlog__ring **rpo,
								     uint64_t *tso)
{
	if (__builtin_expect(t == (struct shmlog__tls *)0, 0))
		return (uint8_t *)0;
	/* acquire: pairs with the release in registration, which wrote the kinds first */
	uint64_t c = SHMLOG__LOAD(&site->cache, SHMLOG__ACQUIRE);
	/* FAST is only ever set where the logger stamps with the TSC */
	if (__builtin_expect((uint32_t)(c >> 32) != t->serial || !(c & SHMLOG__SITE_FAST), 0))
		return (uint8_t *)0;
	struct shmlog__ring *rp = &t->rp;
	if (__builtin_expect(rp->tail + worst > rp->fast_limit, 0))
		return (uint8_t *)0;
	uint8_t *p = rp->data + ((uint32_t)rp->tail & (rp->cap - 1));
	uint32_t id = (uint32_t)c & ~SHMLOG__SITE_FAST;
	uint64_t ts = __builtin_ia32_rdtsc();
	__builtin_memcpy(p + 4, &id, 4);
	__builtin_memcpy(p + 8, &ts, 8);
	*rpo = rp;
	*tso = ts;
	return p + 16;
}

/*
 * Write the record's size and publish it. Then the doorbell: the collector
 * only sleeps after a quiet spell longer than 2^SHMLOG__QUIET_SHIFT TSC ticks
 * (shared/abi.h), so only a record that comes after such a spell in this
 * ring needs to look at the bell, which lives in shared memory (a cache
 * miss, as the collector reads that line while it polls). A record whose
 * stamp falls in a later window of that many ticks than the ring's previous
 * one looks (after such a spell it always does); every other call compares
 * two numbers of its own. ts: the stamp from shmlog__begin, passed in a
 * register (reading it back from the record would wait for the record's
 * cache line when that misses).
 */
static inline __attribute__((always_inline)) void shmlog__end(struct shmlog__ring *rp, uint8_t *start, uint8_t *end,
								 uint64_t ts)
{
	uint32_t size = ((uint32_t)(end - start) + 7u) & ~7u;
	__builtin_memcpy(start, &size, 4);
	rp->tail += size;
	/* release: the record bytes are written before the consumer can see the
	 * new tail (pairs with the collector's acquire load of tail) */
	SHMLOG__STORE(rp->tail_pub, rp->tail, SHMLOG__RELEASE);
	uint64_t win = ts >> SHMLOG__QUIET_SHIFT;
	if (__builtin_expect(win != rp->last_win, 0)) {
		rp->last_win = win;
		shmlog__ring_bell(rp);
	}
}

static inline uint8_t *shmlog__put_i32(uint8_t *p, int v)
{
	__builtin_memcpy(p, &v, 4);
	return p + 4;
}

static inline uint8_t *shmlog__put_i64(uint8_t *p, long long v)
{
	__builtin_memcpy(p, &v, 8);
	return p + 8;
}

static inline uint8_t *shmlog__put_u64(uint8_t *p, unsigned long long v)
{
	__builtin_memcpy(p, &v, 8);
	return p + 8;
}

static inline uint8_t *shmlog__put_bool(uint8_t *p, SHMLOG__BOOL v)
{
	*p = (uint8_t)v;
	return p + 1;
}

static inline uint8_t *shmlog__put_f64(uint8_t *p, double v)
{
	__builtin_memcpy(p, &v, 8);
	return p + 8;
}

static inline uint8_t *shmlog__put_ld(uint8_t *p, long double v)
{
	uint8_t tmp[16] = {0};
	__builtin_memcpy(tmp, &v, 10); /* x87 extended: 10 significant bytes */
	__builtin_memcpy(p, tmp, 16);
	return p + 16;
}

static inline uint8_t *shmlog__put_ptr(uint8_t *p, const void *v)
{
	uint64_t u = (uint64_t)(uintptr_t)v;
	__builtin_memcpy(p, &u, 8);
	return p + 8;
}

/*
 * A string by value: u16 length, then the bytes (room for SHMLOG_MAX_STRING
 * was reserved). Most log strings are short, so the first eight bytes are
 * copied as one word when they lie in the string's page (reading past the
 * NUL within a page cannot fault; hence no_sanitize, as ASan would see a read
 * beyond the object; the bytes written past the NUL are in the reservation,
 * beyond the record's end). Longer strings go to memchr and memcpy. */
__attribute__((no_sanitize_address)) static inline uint8_t *shmlog__put_str(uint8_t *p, const char *s)
{
	uint16_t n;
	if (!s) {
		n = 0xffffu; /* NULL: SHMLOG_STR_NULL (static_assert in internal.h) */
		__builtin_memcpy(p, &n, 2);
		return p + 2;
	}
	uint8_t *d = p + 2;
	/* hide the argument's object size from the compiler: a short literal is
	 * read as a word, but no byte past its NUL is used */
	__asm__("" : "+r"(s));
	if (((uintptr_t)s & 4095u) <= 4096u - 8u) {
		uint64_t w;
		__builtin_memcpy(&w, s, 8);
		uint64_t zero = (w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull;
		if (zero) {
			__builtin_memcpy(d, &w, 8);
			n = (uint16_t)(__builtin_ctzll(zero) >> 3);
			__builtin_memcpy(p, &n, 2);
			return d + n;
		}
	}
	const char *nul = (const char *)memchr(s, 0, SHMLOG_MAX_STRING + 1); /* stops at the NUL (C11) */
	size_t len = nul ? (size_t)(nul - s) : SHMLOG_MAX_STRING + 1;
	/* 0x8000: SHMLOG_STR_TRUNCATED, 0x7fff: SHMLOG_STR_LEN_MASK (static_assert in internal.h) */
	n = len > SHMLOG_MAX_STRING ? (uint16_t)(SHMLOG_MAX_STRING | 0x8000u) : (uint16_t)len;
	len = n & 0x7fffu;
	__builtin_memcpy(d, s, len);
	__builtin_memcpy(p, &n, 2);
	return d + len;
}

#ifndef __cplusplus
#define SHMLOG__TYPE(x)                                                                                    \
	_Generic((x), _Bool: SHMLOG__T_INT32, char: SHMLOG__T_INT32, signed char: SHMLOG__T_INT32,        \
		unsigned char: SHMLOG__T_INT32, short: SHMLOG__T_INT32, unsigned short: SHMLOG__T_INT32,   \
		int: SHMLOG__T_INT32, unsigned int: SHMLOG__T_INT32, long: SHMLOG__T_INT64,                \
		unsigned long: SHMLOG__T_INT64, long long: SHMLOG__T_INT64,                                \
		unsigned long long: SHMLOG__T_INT64, float: SHMLOG__T_DOUBLE, double: SHMLOG__T_DOUBLE,    \
		long double: SHMLOG__T_LDOUBLE, char *: SHMLOG__T_STRING, const char *: SHMLOG__T_STRING,  \
		default: SHMLOG__T_POINTER)

#define SHMLOG__WORST1(x)                                                                                  \
	_Generic((x), long: 8u, unsigned long: 8u, long long: 8u, unsigned long long: 8u, float: 8u,       \
		double: 8u, long double: 16u, char *: 2u + SHMLOG_MAX_STRING,                              \
		const char *: 2u + SHMLOG_MAX_STRING, default: 8u)

#define SHMLOG__PUT1(x)                                                                                    \
	_Generic((x), _Bool: shmlog__put_i32, char: shmlog__put_i32, signed char: shmlog__put_i32,        \
		unsigned char: shmlog__put_i32, short: shmlog__put_i32, unsigned short: shmlog__put_i32,   \
		int: shmlog__put_i32, unsigned int: shmlog__put_i32, long: shmlog__put_i64,                \
		unsigned long: shmlog__put_i64, long long: shmlog__put_i64,                                \
		unsigned long long: shmlog__put_i64, float: shmlog__put_f64, double: shmlog__put_f64,      \
		long double: shmlog__put_ld, char *: shmlog__put_str, const char *: shmlog__put_str,       \
		default: shmlog__put_ptr)

/* Per-argument pieces, applied by SHMLOG__EACH below. */
#define SHMLOG__T_(x) SHMLOG__TYPE(x),
#define SHMLOG__W_(x) +SHMLOG__WORST1(x)
#define SHMLOG__P_(x) shmlog__p_ = SHMLOG__PUT1(x)(shmlog__p_, (x));
#define SHMLOG__V_(x) , (x)
#else
/*
 * C++: templates stand where C uses _Generic. An argument's kind is its
 * decayed type's (enums as their underlying type); std::string and
 * std::string_view are strings, copied by value. The general path takes
 * C-compatible values: a std::string_view is copied into a temporary
 * std::string that lives until shmlog__log() returns (the end of the full
 * expression).
 */
extern "C++" {
namespace shmlog__cxx {
template <class D, bool = std::is_enum_v<D>> struct unenum { using type = D; };
template <class D> struct unenum<D, true> { using type = std::underlying_type_t<D>; };
/* The type an argument is logged as: T as decltype((x)) or a const T & parameter. */
template <class T> using arg_t = typename unenum<std::decay_t<T>>::type;
template <class A> constexpr bool is_text = std::is_same_v<A, std::string> || std::is_same_v<A, std::string_view>;
template <class A> constexpr bool is_cstr = std::is_same_v<A, char *> || std::is_same_v<A, const char *>;

/* std::string(_view) by value: shmlog__put_str's record form, its length known. */
inline uint8_t *put_strn(uint8_t *p, const char *s, size_t len)
{
	/* 0x8000: SHMLOG_STR_TRUNCATED, 0x7fff: SHMLOG_STR_LEN_MASK (static_assert in internal.h) */
	uint16_t n = len > SHMLOG_MAX_STRING ? (uint16_t)(SHMLOG_MAX_STRING | 0x8000u) : (uint16_t)len;
	len = n & 0x7fffu;
	__builtin_memcpy(p + 2, s, len);
	__builtin_memcpy(p, &n, 2);
	return p + 2 + len;
}

/* Any string, argument or field value, by value. */
template <class T> __attribute__((always_inline)) inline uint8_t *put_string(uint8_t *p, const T &v)
{
	if constexpr (is_text<arg_t<const T &>>)
		return put_strn(p, v.data(), v.size());
	else
		return shmlog__put_str(p, v);
}

/* How a value is stored: its kind (SHMLOG__T_* or SHMLOG__F_*) and the most bytes it takes. */
struct kind { int id; unsigned worst; };
constexpr kind string_kind(int id) { return {id, 2u + SHMLOG_MAX_STRING}; }

/* An argument's kind, as SHMLOG__TYPE and SHMLOG__WORST1 give it in C. */
template <class A> constexpr kind arg_kind()
{
	if constexpr (is_text<A> || is_cstr<A>) {
		return string_kind(SHMLOG__T_STRING);
	} else if constexpr (std::is_integral_v<A>) {
		static_assert(sizeof(A) <= 8, "a shmlog argument integer has at most 64 bits");
		return {sizeof(A) <= 4 ? SHMLOG__T_INT32 : SHMLOG__T_INT64, 8u};
	} else if constexpr (std::is_same_v<A, long double>) {
		return {SHMLOG__T_LDOUBLE, 16u};
	} else if constexpr (std::is_same_v<A, float> || std::is_same_v<A, double>) {
		return {SHMLOG__T_DOUBLE, 8u};
	} else {
		static_assert(std::is_pointer_v<A> || std::is_null_pointer_v<A>,
			      "a shmlog argument is an integer, a floating type, a pointer, a C string, "
			      "std::string or std::string_view");
		return {SHMLOG__T_POINTER, 8u};
	}
}

template <class T> __attribute__((always_inline)) inline uint8_t *put(uint8_t *p, const T &v)
{
	using A = arg_t<const T &>;
	constexpr int k = arg_kind<A>().id;
	if constexpr (k == SHMLOG__T_STRING)
		return put_string(p, v);
	else if constexpr (k == SHMLOG__T_INT32)
		return shmlog__put_i32(p, static_cast<int>(v));
	else if constexpr (k == SHMLOG__T_INT64)
		return shmlog__put_i64(p, static_cast<long long>(v));
	else if constexpr (k == SHMLOG__T_DOUBLE)
		return shmlog__put_f64(p, static_cast<double>(v));
	else if constexpr (k == SHMLOG__T_LDOUBLE)
		return shmlog__put_ld(p, v);
	else
		return shmlog__put_ptr(p, (const void *)v);
}

/* A value as the general path's va_list (and the printf check) take it. */
template <class T> inline auto varg(const T &v, [[maybe_unused]] std::string &&tmp)
{
	using A = arg_t<const T &>;
	if constexpr (std::is_same_v<A, std::string>) {
		return v.c_str();
	} else if constexpr (std::is_same_v<A, std::string_view>) {
		tmp.assign(v.data(), v.size() > SHMLOG_MAX_STRING ? SHMLOG_MAX_STRING + 1 : v.size());
		return tmp.c_str();
	} else {
		return static_cast<A>(v);
	}
}

} /* namespace shmlog__cxx */
}

#define SHMLOG__T_(x) shmlog__cxx::arg_kind<shmlog__cxx::arg_t<decltype((x))>>().id,
#define SHMLOG__W_(x) +shmlog__cxx::arg_kind<shmlog__cxx::arg_t<decltype((x))>>().worst
#define SHMLOG__P_(x) shmlog__p_ = shmlog__cxx::put(shmlog__p_, (x));
#define SHMLOG__V_(x) , shmlog__cxx::varg((x), std::string())
#endif

/* Argument counting and a per-argument map, up to 32 arguments. */
/* strict C++ and C (-std=c++17, -std=c11) keep ", ##__VA_ARGS__"'s comma for empty arguments */
#if defined(__cplusplus) || defined(__STRICT_ANSI__)
#define SHMLOG__COMMA_VA(...) __VA_OPT__(,) __VA_ARGS__
#else
#define SHMLOG__COMMA_VA(...) , ##__VA_ARGS__
#endif
#define SHMLOG__NARGS(...) SHMLOG__NARGS_X(_ SHMLOG__COMMA_VA(__VA_ARGS__), 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define SHMLOG__NARGS_X(...) SHMLOG__NARGS_(__VA_ARGS__)
#define SHMLOG__NARGS_(_, _1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, n, ...) n
#define SHMLOG__CAT(a, b) SHMLOG__CAT_(a, b)
#define SHMLOG__CAT_(a, b) a##b
#define SHMLOG__EACH(M, ...) SHMLOG__CAT(SHMLOG__EACH_, SHMLOG__NARGS(__VA_ARGS__))(M, __VA_ARGS__)
#define SHMLOG__EACH_0(M, ...)
#define SHMLOG__EACH_1(M, a1) M(a1)
#define SHMLOG__EACH_2(M, a1, a2) M(a1) M(a2)
#define SHMLOG__EACH_3(M, a1, a2, a3) M(a1) M(a2) M(a3)
#define SHMLOG__EACH_4(M, a1, a2, a3, a4) M(a1) M(a2) M(a3) M(a4)
#define SHMLOG__EACH_5(M, a1, a2, a3, a4, a5) M(a1) M(a2) M(a3) M(a4) M(a5)
#define SHMLOG__EACH_6(M, a1, a2, a3, a4, a5, a6) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6)
#define SHMLOG__EACH_7(M, a1, a2, a3, a4, a5, a6, a7) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7)
#define SHMLOG__EACH_8(M, a1, a2, a3, a4, a5, a6, a7, a8) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8)
#define SHMLOG__EACH_9(M, a1, a2, a3, a4, a5, a6, a7, a8, a9) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9)
#define SHMLOG__EACH_10(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10)
#define SHMLOG__EACH_11(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11)
#define SHMLOG__EACH_12(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12)
#define SHMLOG__EACH_13(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13)
#define SHMLOG__EACH_14(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14)
#define SHMLOG__EACH_15(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15)
#define SHMLOG__EACH_16(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15) M(a16)
#define SHMLOG__EACH_17(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15) M(a16) M(a17)
#define SHMLOG__EACH_18(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15) M(a16) M(a17) M(a18)
#define SHMLOG__EACH_19(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15) M(a16) M(a17) M(a18) M(a19)
#define SHMLOG__EACH_20(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15) M(a16) M(a17) M(a18) M(a19) M(a20)
#define SHMLOG__EACH_21(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15) M(a16) M(a17) M(a18) M(a19) M(a20) M(a21)
#define SHMLOG__EACH_22(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15) M(a16) M(a17) M(a18) M(a19) M(a20) M(a21) M(a22)
#define SHMLOG__EACH_23(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15) M(a16) M(a17) M(a18) M(a19) M(a20) M(a21) M(a22) M(a23)
#define SHMLOG__EACH_24(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15) M(a16) M(a17) M(a18) M(a19) M(a20) M(a21) M(a22) M(a23) M(a24)
#define SHMLOG__EACH_25(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15) M(a16) M(a17) M(a18) M(a19) M(a20) M(a21) M(a22) M(a23) M(a24) M(a25)
#define SHMLOG__EACH_26(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15) M(a16) M(a17) M(a18) M(a19) M(a20) M(a21) M(a22) M(a23) M(a24) M(a25) M(a26)
#define SHMLOG__EACH_27(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15) M(a16) M(a17) M(a18) M(a19) M(a20) M(a21) M(a22) M(a23) M(a24) M(a25) M(a26) M(a27)
#define SHMLOG__EACH_28(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15) M(a16) M(a17) M(a18) M(a19) M(a20) M(a21) M(a22) M(a23) M(a24) M(a25) M(a26) M(a27) M(a28)
#define SHMLOG__EACH_29(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15) M(a16) M(a17) M(a18) M(a19) M(a20) M(a21) M(a22) M(a23) M(a24) M(a25) M(a26) M(a27) M(a28) M(a29)
#define SHMLOG__EACH_30(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15) M(a16) M(a17) M(a18) M(a19) M(a20) M(a21) M(a22) M(a23) M(a24) M(a25) M(a26) M(a27) M(a28) M(a29) M(a30)
#define SHMLOG__EACH_31(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15) M(a16) M(a17) M(a18) M(a19) M(a20) M(a21) M(a22) M(a23) M(a24) M(a25) M(a26) M(a27) M(a28) M(a29) M(a30) M(a31)
#define SHMLOG__EACH_32(M, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31, a32) M(a1) M(a2) M(a3) M(a4) M(a5) M(a6) M(a7) M(a8) M(a9) M(a10) M(a11) M(a12) M(a13) M(a14) M(a15) M(a16) M(a17) M(a18) M(a19) M(a20) M(a21) M(a22) M(a23) M(a24) M(a25) M(a26) M(a27) M(a28) M(a29) M(a30) M(a31) M(a32)

/* A call site's static initializer, every member in order (C and C++ alike). */
#define SHMLOG__SITE_INIT(fmt, lvl, fields, ...)                                                           \
	{(fmt), __FILE__, __LINE__, (lvl), SHMLOG__NARGS(__VA_ARGS__),                                     \
	 {SHMLOG__EACH(SHMLOG__T_, ##__VA_ARGS__) 0}, 0, 0, 0, {0}, (fields)}

#define SHMLOG__LOG(lg, lvl, fmt, ...)                                                                     \
	do {                                                                                               \
		static struct shmlog__site shmlog__site_ = SHMLOG__SITE_INIT(fmt, lvl, 0, ##__VA_ARGS__); \
		struct shmlog *shmlog__lg_ = (lg);                                                         \
		struct shmlog__tls *shmlog__t_ = shmlog__slot(shmlog__lg_);                                \
		if (__builtin_expect(shmlog__enabled(shmlog__lg_, shmlog__t_, (lvl)), 1)) {                \
			if (0)                                                                             \
				shmlog__check_format(fmt SHMLOG__EACH(SHMLOG__V_, ##__VA_ARGS__));         \
			struct shmlog__ring *shmlog__rp_;                                                  \
			uint64_t shmlog__ts_;                                                              \
			uint8_t *shmlog__p_ = shmlog__begin(                                               \
				shmlog__t_, &shmlog__site_, 16u SHMLOG__EACH(SHMLOG__W_, ##__VA_ARGS__),  \
				&shmlog__rp_, &shmlog__ts_);                                               \
			if (__builtin_expect(shmlog__p_ != (uint8_t *)0, 1)) {                             \
				uint8_t *shmlog__start_ = shmlog__p_ - 16;                                 \
				SHMLOG__EACH(SHMLOG__P_, ##__VA_ARGS__)                                    \
				shmlog__end(shmlog__rp_, shmlog__start_, shmlog__p_, shmlog__ts_);         \
			} else {                                                                           \
				shmlog__log(shmlog__lg_, &shmlog__site_ SHMLOG__EACH(SHMLOG__V_, ##__VA_ARGS__)); \
			}                                                                                  \
		}                                                                                          \
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

/* The structured-field forms (SHMLOG_INFO_KV ...): a header of their own, installed alongside. */
#include "shmlog_kv.h"

#endif
