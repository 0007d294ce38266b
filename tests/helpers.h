/*
 * helpers.h — small utilities shared by the test programs: temporary
 * directories, running programs, and bounded waits on a condition.
 */
#ifndef SHMLOG_TEST_HELPERS_H
#define SHMLOG_TEST_HELPERS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shared/text.h"

/* Create a fresh directory under /tmp (or /dev/shm when shm is true); returns a malloc'd path. */
char *th_mkdtemp(bool shm);

/* dir/name, malloc'd (aborts out of memory). */
char *th_path(const char *dir, const char *name);

/* rm -rf path (best effort). */
void th_rmrf(const char *path);

/* Path of a built program: $SHMLOG_BUILD_DIR/rel. Returns a malloc'd path. */
char *th_build_path(const char *rel);

/* The source directory (from the build directory's meson-info): a malloc'd path, or NULL. */
char *th_source_dir(void);

/* Read a whole file (NUL-terminated, malloc'd); NULL if it cannot be read. *len may be NULL. */
char *th_read_file(const char *path, size_t *len);

/* Nanoseconds since the epoch of a UTC date and time. */
uint64_t th_utc_ns(int y, int mon, int d, int h, int mi, int s, uint32_t ns);

/* A record from "demo" (pid 1234, tid 1240, INFO, demo.c:42) at 2026-11-24T01:59:46.123456789Z. */
struct text_record th_sample_record(const char *msg);

/* A record's argument bytes, malloc'd to exactly their size (AddressSanitizer sees an over-read). */
struct th_enc {
	uint8_t *p;
	uint32_t size;
};

struct fmt_parsed;

/* The arguments in ap, of the kinds pf says, encoded as a producer does (strings cut at max_str). */
struct th_enc th_encode_args(const struct fmt_parsed *pf, uint32_t max_str, va_list ap);

/* Monotonic milliseconds. */
long long th_now_ms(void);

/*
 * Wait until pred(arg) returns true, polling every ~2 ms, at most timeout_ms.
 * Returns true if the condition became true.
 */
bool th_wait_until(bool (*pred)(void *), void *arg, int timeout_ms);

/* Wait for pid with a bound; returns the wait status, or -1 on timeout (the child is then killed). */
int th_waitpid_timeout(pid_t pid, int timeout_ms);

/* fork+exec argv with stdout/stderr redirected to the given files (NULL = inherit). */
pid_t th_spawn(char *const argv[], const char *out_path, const char *err_path, char *const envp_extra[]);

/* What the real `zstd -d` makes of path, through the file scratch (malloc'd; NULL if it fails). */
char *th_zstd_d(const char *path, const char *scratch);

/* For th_wait_until: the file path contains text. */
struct th_file_has {
	const char *path;
	const char *text;
};
bool th_file_has_text(void *arg);

/* Fill the filesystem of path's directory: write zeros to path until it is full. */
void th_fill_disk(const char *path);

/* Mount a tmpfs of size (mount's syntax: "1m") on the existing directory dir,
 * and unmount it. th_mount_tmpfs returns false when it cannot (not root). */
bool th_mount_tmpfs(const char *dir, const char *size);
void th_umount(const char *dir);

/* What a process uses, from /proc: CPU time, peak and current RSS, open fds, voluntary context switches. */
struct th_usage {
	long cpu_ms;
	long hwm_kb, rss_kb;
	long anon_kb; /* RssAnon: its own memory, not the segments' shared pages it maps */
	long fds;
	long switches;
};
/* Fill *u for pid. Returns false if pid's /proc entries cannot be read. */
bool th_usage(pid_t pid, struct th_usage *u);

/* The message tests/producer_prog logs for (t, i), escaped as the collector's text writer writes it. */
void th_expect_msg(char *buf, size_t cap, int t, long i);

#endif
