/*
 * hostile_util.h — what the hostile-input tests share: an honest producer
 * beside the hostile input, and the bounds the collector is held to.
 */
#ifndef SHMLOG_TEST_HOSTILE_UTIL_H
#define SHMLOG_TEST_HOSTILE_UTIL_H

#include <stdbool.h>
#include <sys/types.h>

/* Bounds every test holds the collector to. */
#define SIGTERM_EXIT_MS 5000   /* from SIGTERM to exit */
#define IDLE_CPU_MS 150        /* CPU over IDLE_SPELL_MS once everything is written */
#define IDLE_SPELL_MS 1000
#define MAX_HWM_KB (64 * 1024) /* peak RSS */
#define MAX_FDS 32

/*
 * Run the honest producer (2 threads x 2000 records, closing its logger) and
 * check that all of them are in out, which has lines lines then; lines 0:
 * wait instead until every segment is drained and removed.
 */
void run_honest_and_check_in(const char *out, long lines);
/* run_honest_and_check_in with the producer run as uid (0: as we are). */
void run_honest_as_and_check_in(uid_t uid, const char *out, long lines);
/* run_honest_and_check_in(out, 0). */
void run_honest_and_check(const char *out);
/* SIGTERM ends c within SIGTERM_EXIT_MS with status 0 (asserted). */
void stop_in_time(pid_t c);

/* Assert c's memory bound and that it holds at most max_fds descriptors, then that SIGTERM ends it in time with status 0. */
void check_bounds_and_stop(pid_t c, long max_fds);
/* What c used over IDLE_SPELL_MS: *cpu_ms of CPU time, *wakeups voluntary context switches. */
void idle_spell(pid_t c, long *cpu_ms, long *wakeups);
/* Assert that c, with nothing left to do, uses little CPU; then check_bounds_and_stop. */
void check_idle_and_stop(pid_t c, long max_fds);

#endif
