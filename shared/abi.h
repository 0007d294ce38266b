/*
 * abi.h — the shmlog segment format: the single source of truth for every
 * byte that crosses a process boundary.
 *
 * A segment is one regular file per producer (per shmlog_open()) in the
 * segment directory, named "<name>.<pid>.<serial>.shm". It is created under a
 * temporary name, fully initialised, then renamed into place, and its magic is
 * release-stored last, so a reader never sees a half-built header. Nothing in
 * it is a pointer: only offsets (from the start of the file), sizes and ids.
 * All integers are host-endian (the segment never leaves the machine); the
 * ABI major version changes whenever a reader of the previous version would
 * misread a segment.
 *
 *   offset                         size                      content
 *   0                              4096                      struct shmlog_seg_header
 *   rings_off                      ring_count * 256          struct shmlog_ring_header[ring_count]
 *   sites_off                      max_sites * 32            struct shmlog_site_entry[max_sites]
 *   strings_off                    strings_bytes             call-site string heap (NUL-terminated)
 *   ring_data_off + i * ring_bytes ring_bytes (power of 2)   ring i data (records)
 *
 * Who writes what (P = producer process, C = collector / reader):
 *
 *   seg header, layout fields      P once, before the magic     C reads
 *   seg header clock_*             P at creation, C afterwards  both read (seqlock clock_seq)
 *   seg header sites_used ...      P (atomic, any thread)       C reads (acquire)
 *   seg header collector_*         C                            P reads
 *   ring tail, lost, tid           P (owner thread)             C reads (tail: acquire)
 *   ring waiters, sync_req         P (any thread, atomic)       C reads
 *   ring bell                      C sets before it sleeps,     P clears when it rings
 *                                  clears when it wakes
 *   ring head, synced, wake_seq,
 *   lost_reported, records_consumed C                           P reads (head: acquire)
 *   ring state                     P claims (CAS), P releases,  C frees a drained ring (CAS)
 *   site entries, strings          P once per call site         C reads after entry->ready
 *   ring data                      P (owner thread)             C reads [head, tail)
 *
 * Records. A ring carries a byte stream of records at monotonic 64-bit
 * positions (pos & (ring_bytes - 1) is the offset in the data area). Every
 * record starts 8-byte aligned with
 *
 *   u32 size      total record bytes including this header, multiple of 8
 *   u32 site      call-site id, or one of SHMLOG_SITE_PAD / _LOSS
 *   u64 ts        timestamp in the segment's clock (TSC ticks or ns)
 *   ... args      packed, unaligned, in the order of the format's arguments
 *
 * except the padding record (site == SHMLOG_SITE_PAD), which is only 8 bytes
 * of header and fills the ring up to its end so that no record wraps. A
 * loss record (site == SHMLOG_SITE_LOSS) carries one u64 count of records
 * dropped just before it. Argument encodings (see shmlog_arg_kind):
 *
 *   INT32    4 bytes (int, and everything printf promotes to int)
 *   INT64    8 bytes (long, long long, intmax_t, size_t, ptrdiff_t)
 *   DOUBLE   8 bytes
 *   LDOUBLE  16 bytes (the in-memory long double, unused bytes zero)
 *   POINTER  8 bytes
 *   STRING   u16 len, then len bytes (no NUL); len == SHMLOG_STR_NULL means a
 *            NULL pointer; bit SHMLOG_STR_TRUNCATED set means the producer cut
 *            the string at max_string_bytes (low 15 bits are the stored len)
 *
 * Structured fields (minor 2). A call site with fields (SHMLOG_*_KV) has a
 * field descriptor in the string heap, at its entry's fields_off (0: none;
 * offset 0 always holds the first site's format, so no descriptor is there):
 *
 *   u8 count                  1 .. SHMLOG_MAX_FIELDS
 *   count times:
 *     u8 kind                 enum shmlog_field_kind
 *     u8 key_len              1 .. SHMLOG_FIELD_KEY_MAX
 *     key_len bytes           the key (no NUL)
 *
 * Its records carry the field values right after the format's arguments
 * (after the record header when the format was refused, which stores no
 * argument), in descriptor order: I64, U64, F64 8 bytes each, BOOL 1 byte
 * (0 or 1), STRING as the STRING argument above. A reader of minor 1 ignores
 * the bytes after the arguments, so it shows the message without fields.
 *
 * The producer writes a record's bytes, then release-stores the new tail: a
 * record is visible to a reader completely or not at all, also when the
 * producer dies in the middle of writing it.
 *
 * The doorbell (segments with SHMLOG_SEG_BELL): how a collector that sleeps
 * learns of the next record. docs/collector.md (its doorbell paragraph,
 * before "Bounds") says why no wake-up is lost, and what a thread stalled
 * past the window does.
 *
 *   1. A producer sets SHMLOG_SEG_BELL only once its process is registered
 *      for MEMBARRIER_CMD_GLOBAL_EXPEDITED. The collector keeps polling
 *      while any live segment lacks the flag.
 *   2. To sleep, the collector sets every ring's bell to 1, runs
 *      membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED), looks at every tail once
 *      more, and sleeps if nothing moved. It does so only after seeing no
 *      record for at least twice 2^SHMLOG_BELL_QUIET_SHIFT ticks.
 *   3. After a tail store, a producer loads its ring's bell, with no fence,
 *      when the record's TSC stamp falls in a later window of
 *      2^SHMLOG_BELL_QUIET_SHIFT ticks than the ring's previous record (the
 *      general path, flush and sync always load it). Finding 1, it exchanges
 *      it to 0; if it got the 1, it rings: utimensat() on its segment file,
 *      failing that a write of header byte 344 through its descriptor (an
 *      inotify IN_ATTRIB or IN_MODIFY event for the collector).
 */
#ifndef SHMLOG_ABI_H
#define SHMLOG_ABI_H

#include <assert.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define SHMLOG_MAGIC 0x00474f4c4d48530aULL /* "\nSHMLOG\0" read as little-endian u64 */
#define SHMLOG_ABI_MAJOR 1u
#define SHMLOG_ABI_MINOR 3u /* 1: the doorbell (ring bell, SHMLOG_SEG_BELL); 2: structured fields;
                               * 3: the liveness lock (SHMLOG_SEG_LOCK) */

#define SHMLOG_CACHE_LINE 64u
#define SHMLOG_SEG_HEADER_BYTES 4096u
#define SHMLOG_RING_HEADER_BYTES 256u
#define SHMLOG_SITE_ENTRY_BYTES 32u
#define SHMLOG_NAME_BYTES 64u

#define SHMLOG_RECORD_HEADER_BYTES 16u /* size, site, ts */
#define SHMLOG_PAD_HEADER_BYTES 8u     /* size, site */
#define SHMLOG_RECORD_ALIGN 8u

#define SHMLOG_SITE_PAD 0xffffffffu  /* skip to the end of the ring */
#define SHMLOG_SITE_LOSS 0xfffffffeu /* u64 count of records dropped here */
#define SHMLOG_SITE_MAX 0xfffffff0u  /* real site ids are below this */

#define SHMLOG_STR_NULL 0xffffu
#define SHMLOG_STR_TRUNCATED 0x8000u
#define SHMLOG_STR_LEN_MASK 0x7fffu

/* Limits a reader enforces on any segment, whatever its header says. */
#define SHMLOG_RING_BYTES_MIN (4u * 1024u)
#define SHMLOG_RING_BYTES_MAX (1u << 30)
#define SHMLOG_RING_COUNT_MAX 4096u
#define SHMLOG_MAX_SITES_MAX (1u << 20)
#define SHMLOG_STRINGS_BYTES_MAX (64u << 20)
#define SHMLOG_MAX_ARGS 32u       /* arguments one format may take */
#define SHMLOG_MAX_STRING_MAX 8192u /* upper bound for max_string_bytes */
#define SHMLOG_MAX_FIELDS 16u     /* structured fields one call site may have */
#define SHMLOG_FIELD_KEY_MAX 255u /* bytes of a field key (its u8 length) */

/* seg header flags */
#define SHMLOG_SEG_CLOCK_TSC 0x1u /* ts are TSC ticks; otherwise CLOCK_REALTIME ns */
#define SHMLOG_SEG_BELL 0x2u      /* the producer rings ring bells (see the doorbell above) */
/* The producer holds an open file description lock (F_OFD_SETLK, F_RDLCK, the whole
 * file) on the segment from before it is published until it closes its logger, execs
 * or ends, whatever its pid namespace: a reader that finds it free knows the producer
 * gone (a forked child drops its copy). The pid is then only what the producer calls
 * itself. */
#define SHMLOG_SEG_LOCK 0x4u
#define SHMLOG_BELL_QUIET_SHIFT 26u /* the inline path looks at the bell in a new window of 2^26 ticks */

/* seg header state */
#define SHMLOG_SEG_LIVE 1u
#define SHMLOG_SEG_CLOSED 2u /* shmlog_close() ran: nothing more will be written */

/* seg header ended (low byte; the signal number, if any, in bits 8-15) */
#define SHMLOG_END_UNKNOWN 0u /* nothing recorded: killed (SIGKILL...) or still running */
#define SHMLOG_END_EXIT 1u    /* exit() or return from main ran */
#define SHMLOG_END_CRASH 2u   /* the crash handler saw a fatal signal */

/* ring state */
#define SHMLOG_RING_FREE 0u
#define SHMLOG_RING_CLAIMED 1u  /* a thread owns it */
#define SHMLOG_RING_RELEASED 2u /* its thread exited; free once drained */

enum shmlog_arg_kind {
	SHMLOG_ARG_INT32 = 1,
	SHMLOG_ARG_INT64 = 2,
	SHMLOG_ARG_DOUBLE = 3,
	SHMLOG_ARG_LDOUBLE = 4,
	SHMLOG_ARG_POINTER = 5,
	SHMLOG_ARG_STRING = 6,
};

/* Field kinds in a site's field descriptor (text.h's enum text_field_type). */
enum shmlog_field_kind {
	SHMLOG_FIELD_I64 = 1,
	SHMLOG_FIELD_U64 = 2,
	SHMLOG_FIELD_F64 = 3,
	SHMLOG_FIELD_BOOL = 4,
	SHMLOG_FIELD_STRING = 5,
};

struct shmlog_seg_header {
	/* line 0-1: identity and layout, written once by the producer */
	_Atomic uint64_t magic;     /*   0 SHMLOG_MAGIC, release-stored last */
	uint32_t abi_major;         /*   8 SHMLOG_ABI_MAJOR */
	uint32_t abi_minor;         /*  12 SHMLOG_ABI_MINOR */
	uint32_t header_bytes;      /*  16 SHMLOG_SEG_HEADER_BYTES */
	uint32_t ring_header_bytes; /*  20 SHMLOG_RING_HEADER_BYTES */
	uint32_t site_entry_bytes;  /*  24 SHMLOG_SITE_ENTRY_BYTES */
	uint32_t flags;             /*  28 SHMLOG_SEG_CLOCK_TSC, _BELL, _LOCK */
	uint64_t segment_bytes;     /*  32 size of the whole file */
	uint32_t pid;               /*  40 producer pid */
	uint32_t uid;               /*  44 producer euid */
	uint64_t start_time;        /*  48 /proc/<pid>/stat field 22 (ticks since boot), 0 if unknown */
	uint64_t created_ns;        /*  56 CLOCK_REALTIME at creation */
	char name[SHMLOG_NAME_BYTES]; /* 64 logger name, NUL-terminated */
	uint32_t ring_count;        /* 128 rings (max_threads + 1 shared overflow ring) */
	uint32_t ring_bytes;        /* 132 data bytes per ring, power of two */
	uint64_t rings_off;         /* 136 ring header array */
	uint64_t ring_data_off;     /* 144 ring 0 data, page aligned */
	uint32_t max_sites;         /* 152 site entry slots */
	uint32_t strings_bytes;     /* 156 string heap size */
	uint64_t sites_off;         /* 160 site entry array */
	uint64_t strings_off;       /* 168 string heap */
	uint32_t max_string_bytes;  /* 176 longest %s argument stored */
	uint32_t full_policy;       /* 180 0 drop, 1 block (informational) */
	uint8_t reserved0[256 - 184]; /* 184 */
	/* line 4: clock calibration, seqlock (odd clock_seq = being written) */
	_Atomic uint64_t clock_seq; /* 256 */
	_Atomic uint64_t clock_tsc; /* 264 anchor, in segment clock units */
	_Atomic uint64_t clock_ns;  /* 272 CLOCK_REALTIME ns at the anchor */
	_Atomic uint64_t clock_mult; /* 280 ns per tick, 32.32 fixed point */
	uint8_t reserved1[320 - 288]; /* 288 */
	/* line 5: producer-written, shared by its threads */
	_Atomic uint32_t sites_used;   /* 320 site ids handed out */
	_Atomic uint32_t strings_used; /* 324 string heap bytes handed out */
	_Atomic uint32_t state;        /* 328 SHMLOG_SEG_LIVE / _CLOSED */
	_Atomic uint32_t ended;        /* 332 how the process ended: SHMLOG_END_* | signal << 8 */
	_Atomic uint64_t registry_lost; /* 336 records dropped: registry full */
	uint8_t reserved3[384 - 344];  /* 344 always 0: a producer that cannot utimensat() its
					 * segment writes byte 344 through its descriptor to wake
					 * the collector (an inotify IN_MODIFY event) */
	/* line 6: collector-written */
	_Atomic uint64_t collector_pid;  /* 384 pid of the collector attached, 0 if none */
	_Atomic uint64_t collector_seen_ns; /* 392 last time it drained this segment */
	uint8_t reserved4[SHMLOG_SEG_HEADER_BYTES - 400]; /* 400 */
};

struct shmlog_ring_header {
	/* line 0: written by the owning producer thread */
	_Atomic uint64_t tail;     /*   0 committed write position; release by P, acquire by C */
	_Atomic uint64_t lost;     /*   8 records dropped (ring full or timed out) */
	_Atomic uint32_t tid;      /*  16 kernel tid of the owner */
	_Atomic uint32_t waiters;  /*  20 threads sleeping on wake_seq (flush, block) */
	_Atomic uint32_t bell;     /*  24 1: the collector sleeps until rung (the doorbell above) */
	uint32_t reserved0;        /*  28 */
	_Atomic uint64_t sync_req; /*  32 highest position a producer waits to see synced (atomic max) */
	uint8_t pad0[64 - 40];
	/* line 1: written by the collector */
	_Atomic uint64_t head;     /*  64 consumed position; release by C, acquire by P */
	_Atomic uint64_t synced;   /*  72 position written and synced (durable writers) */
	_Atomic uint32_t wake_seq; /*  80 futex word, bumped after head moves if waiters */
	uint32_t pad1a;            /*  84 */
	_Atomic uint64_t lost_reported; /* 88 drops already reported in the output */
	_Atomic uint64_t records_consumed; /* 96 records consumed (loss records excluded) */
	_Atomic uint32_t head_seq; /* 104 odd while head and the two counters above change together
				    * (a seqlock, ring.h: ring_publish_head; 0 and never written by
				    * collectors before 2026-12, which readers take as it is) */
	uint8_t pad1[128 - 108];
	/* line 2: ownership */
	_Atomic uint32_t state;    /* 128 SHMLOG_RING_* */
	_Atomic uint32_t claims;   /* 132 times claimed */
	uint8_t pad2[SHMLOG_RING_HEADER_BYTES - 136];
};

struct shmlog_site_entry {
	_Atomic uint32_t ready; /*  0 1 once every other field is written (release) */
	uint32_t level;         /*  4 SHMLOG_LEVEL_* */
	uint32_t line;          /*  8 source line */
	uint32_t fmt_off;       /* 12 format string, offset in the string heap */
	uint32_t fmt_len;       /* 16 its length without NUL */
	uint32_t file_off;      /* 20 source file name, offset in the string heap */
	uint32_t file_len;      /* 24 */
	uint32_t fields_off;    /* 28 field descriptor, offset in the string heap; 0: no fields (minor < 2: always 0) */
};

struct shmlog_record_header {
	uint32_t size; /* 0 */
	uint32_t site; /* 4 */
	uint64_t ts;   /* 8 */
};

static_assert(sizeof(struct shmlog_seg_header) == SHMLOG_SEG_HEADER_BYTES, "seg header size");
static_assert(offsetof(struct shmlog_seg_header, name) == 64, "name offset");
static_assert(offsetof(struct shmlog_seg_header, ring_count) == 128, "ring_count offset");
static_assert(offsetof(struct shmlog_seg_header, full_policy) == 180, "full_policy offset");
static_assert(offsetof(struct shmlog_seg_header, clock_seq) == 256, "clock offset");
static_assert(offsetof(struct shmlog_seg_header, clock_mult) == 280, "clock_mult offset");
static_assert(offsetof(struct shmlog_seg_header, sites_used) == 320, "producer line offset");
static_assert(offsetof(struct shmlog_seg_header, registry_lost) == 336, "registry_lost offset");
static_assert(offsetof(struct shmlog_seg_header, collector_pid) == 384, "collector line offset");
static_assert(sizeof(struct shmlog_ring_header) == SHMLOG_RING_HEADER_BYTES, "ring header size");
static_assert(offsetof(struct shmlog_ring_header, head) == 64, "head on its own line");
static_assert(offsetof(struct shmlog_ring_header, wake_seq) == 80, "wake_seq offset");
static_assert(offsetof(struct shmlog_ring_header, lost_reported) == 88, "lost_reported offset");
static_assert(offsetof(struct shmlog_ring_header, sync_req) == 32, "sync_req offset");
static_assert(offsetof(struct shmlog_ring_header, records_consumed) == 96, "records_consumed offset");
static_assert(offsetof(struct shmlog_ring_header, state) == 128, "state on its own line");
static_assert(sizeof(struct shmlog_site_entry) == SHMLOG_SITE_ENTRY_BYTES, "site entry size");
static_assert(offsetof(struct shmlog_site_entry, fields_off) == 28, "fields_off offset");
static_assert(sizeof(struct shmlog_record_header) == SHMLOG_RECORD_HEADER_BYTES, "record header");
static_assert(sizeof(_Atomic uint64_t) == 8 && sizeof(_Atomic uint32_t) == 4, "atomic sizes");

/* Round n up to the record alignment. */
static inline uint32_t shmlog_record_align(uint32_t n)
{
	return (n + (SHMLOG_RECORD_ALIGN - 1)) & ~(SHMLOG_RECORD_ALIGN - 1);
}

/* Bytes an argument of this kind takes in a record, strings excluded. */
static inline uint32_t shmlog_arg_fixed_bytes(enum shmlog_arg_kind k)
{
	switch (k) {
	case SHMLOG_ARG_INT32: return 4;
	case SHMLOG_ARG_INT64: return 8;
	case SHMLOG_ARG_DOUBLE: return 8;
	case SHMLOG_ARG_LDOUBLE: return 16;
	case SHMLOG_ARG_POINTER: return 8;
	case SHMLOG_ARG_STRING: return 2; /* the length prefix */
	}
	return 0;
}

/* Bytes a field value of this kind takes in a record, strings excluded;
 * 0 for a kind that does not exist. */
static inline uint32_t shmlog_field_fixed_bytes(uint32_t k)
{
	switch (k) {
	case SHMLOG_FIELD_I64: return 8;
	case SHMLOG_FIELD_U64: return 8;
	case SHMLOG_FIELD_F64: return 8;
	case SHMLOG_FIELD_BOOL: return 1;
	case SHMLOG_FIELD_STRING: return 2; /* the length prefix */
	}
	return 0;
}

#endif
