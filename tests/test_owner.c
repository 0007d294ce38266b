/*
 * test_owner.c — who may log: a real collector, as root and as an ordinary
 * user (setpriv), against segments of other owners (refused by default,
 * read with collector.allow_users = "*") and a segment claiming a process
 * its owner does not own (read, but its end never told), beside an honest
 * producer. These tests change owners and users: they need root.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "helpers.h"
#include "hostile_util.h"
#include "seg_util.h"

#define NOBODY 65534u

static void setup_root(void)
{
	setup();
	if (geteuid() != 0)
		cr_skip_test("changes owners and users: needs root");
	cr_assert_eq(chmod(dir, 01777), 0); /* the segment directory every user may write to */
}

TestSuite(owner, .init = setup_root, .fini = teardown, .timeout = 120);

/*
 * A segment of 10 records "t0 i<K>" named name, owned by uid, claiming pid
 * (0: the test's own pid, and closed). Returns its malloc'd path.
 */
static char *segment_of(const char *name, uid_t uid, pid_t pid)
{
	char path[512], err[512];
	shmlog_close(su_log(dir, name, 1, 10, 4096, path, sizeof path));
	if (pid) {
		struct seg s;
		cr_assert_eq(seg_open(&s, path, true, err, sizeof err), 0, "%s", err);
		s.hdr->pid = (uint32_t)pid;
		s.hdr->start_time = seg_proc_start_time(pid);
		s.hdr->flags &= ~SHMLOG_SEG_LOCK; /* told by its pid alone, as an older library's */
		atomic_store(&s.hdr->state, SHMLOG_SEG_LIVE);
		seg_close(&s);
	}
	cr_assert_eq(chown(path, uid, uid), 0);
	cr_assert_eq(chmod(path, 0666), 0); /* so that a collector of another user may open it */
	return strdup(path);
}

/* A collector on dir as uid (0: root) with config cfg (NULL: none). */
static pid_t collector_as(uid_t uid, const char *out, const char *err, const char *cfg)
{
	char *bin = th_build_path("shmlog-collector");
	char ru[32], rg[32];
	snprintf(ru, sizeof ru, "--reuid=%u", uid);
	snprintf(rg, sizeof rg, "--regid=%u", uid);
	char *argv[] = {"/usr/bin/setpriv", ru, rg, "--clear-groups", bin, "--dir", dir,
			cfg ? "--config" : NULL, (char *)cfg, NULL};
	pid_t c = start_collector_argv(argv, out, err);
	free(bin);
	return c;
}

Test(owner, a_root_collector_refuses_another_users_segment_by_default)
{
	char *seg = segment_of("other", NOBODY, 0);
	char *out = wpath("out.log"), *err = wpath("err.log");
	pid_t c = collector_as(0, out, err, NULL);
	struct file_needle w = {err, "owned by uid 65534, who may not log here"};
	cr_assert(th_wait_until(file_says, &w, 20000), "refused, in one line");
	run_honest_and_check_in(out, 4000);
	cr_assert_eq(count_in_file(out, " other["), 0, "none of its records");
	cr_assert_eq(count_in_file(err, "who may not log here"), 1);
	check_idle_and_stop(c, MAX_FDS);
	free(seg);
	free(out);
	free(err);
}

Test(owner, allow_users_star_reads_every_users_segments)
{
	char *seg = segment_of("other", NOBODY, 0);
	char *out = wpath("out.log"), *cfg = wconfig("collector = { allow_users = \"*\"; };\n");
	pid_t c = collector_as(0, out, NULL, cfg);
	run_honest_and_check(out); /* and the other user's segment is drained and removed */
	cr_assert_eq(count_in_file(out, " other["), 10, "every record of the other user");
	check_idle_and_stop(c, MAX_FDS);
	free(seg);
	free(out);
	free(cfg);
}

/* A process of root that lives until killed. */
static pid_t roots_process(void)
{
	char *argv[] = {"/bin/sleep", "600", NULL};
	pid_t p = th_spawn(argv, "/dev/null", NULL, NULL);
	cr_assert(p > 0);
	return p;
}

/* Run the collector as uid beside a segment of nobody claiming a root process; kill that process. */
static void foreign_pid_beside_honest(uid_t uid, const char *cfg)
{
	pid_t victim = roots_process();
	char *seg = segment_of("liar", NOBODY, victim);
	char *out = wpath("out.log"), *err = wpath("err.log");
	pid_t c = collector_as(uid, out, err, cfg);
	char want[128];
	snprintf(want, sizeof want, "claims pid %d, which is not a process of its owner (uid 65534)", (int)victim);
	struct file_needle w = {err, want};
	cr_assert(th_wait_until(file_says, &w, 20000), "said once");
	struct file_wait ten = {out, 10};
	cr_assert(th_wait_until(file_has_lines, &ten, 20000), "its records are read");
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	run_honest_as_and_check_in(uid, out, 4010); /* the collector went on past the victim's end */
	snprintf(want, sizeof want, "] process %d ", (int)victim);
	cr_assert_eq(count_in_file(out, want), 0, "no end told for a process its owner does not own");
	cr_assert_eq(count_in_file(err, "which is not a process of its owner"), 1);
	check_idle_and_stop(c, MAX_FDS);
	free(seg);
	free(out);
	free(err);
}

Test(owner, a_root_collector_tells_no_end_of_a_process_the_segment_owner_does_not_own)
{
	char *cfg = wconfig("collector = { allow_users = \"nobody\"; };\n");
	foreign_pid_beside_honest(0, cfg);
	free(cfg);
}

Test(owner, a_collector_run_as_a_user_checks_the_pid_of_that_users_segments)
{
	foreign_pid_beside_honest(NOBODY, NULL);
}

Test(owner, a_collector_run_as_a_user_refuses_the_segments_of_other_users)
{
	char *seg = segment_of("other", NOBODY - 1, 0);
	char *out = wpath("out.log"), *err = wpath("err.log");
	pid_t c = collector_as(NOBODY, out, err, NULL);
	struct file_needle w = {err, "owned by uid 65533, who may not log here"};
	cr_assert(th_wait_until(file_says, &w, 20000), "refused, in one line");
	run_honest_as_and_check_in(NOBODY, out, 4000);
	cr_assert_eq(count_in_file(out, " other["), 0);
	check_idle_and_stop(c, MAX_FDS);
	free(seg);
	free(out);
	free(err);
}

Test(owner, a_header_claiming_pid_1_of_another_start_tells_no_false_end)
{
	char *seg = segment_of("liar", NOBODY, 1), err[512];
	struct seg s;
	cr_assert_eq(seg_open(&s, seg, true, err, sizeof err), 0, "%s", err);
	s.hdr->start_time = 12345; /* not pid 1's: a reused pid, were it honest */
	seg_close(&s);
	char *out = wpath("out.log"), *errp = wpath("err.log");
	char *cfg = wconfig("collector = { allow_users = \"nobody\"; };\n");
	pid_t c = collector_as(0, out, errp, cfg);
	struct file_needle w = {errp, "claims pid 1, which is not a process of its owner"};
	cr_assert(th_wait_until(file_says, &w, 20000), "said once");
	run_honest_and_check_in(out, 4010);
	cr_assert_eq(count_in_file(out, "] process 1 "), 0, "no false \"process 1 ended\"");
	check_idle_and_stop(c, MAX_FDS);
	free(seg);
	free(out);
	free(errp);
	free(cfg);
}

/*
 * A root collector allowed nobody's segments reads the 10 records of segment name (claiming pid) and
 * removes it; assert that no end is told of pid. Stops the collector. Returns nothing.
 */
static void drained_untold(const char *name, pid_t pid)
{
	char *out = wpath("out.log"), *errp = wpath("err.log");
	char *cfg = wconfig("collector = { allow_users = \"nobody\"; };\n");
	pid_t c = collector_as(0, out, errp, cfg);
	struct file_wait ten = {out, 10};
	cr_assert(th_wait_until(file_has_lines, &ten, 20000), "its records are read");
	cr_assert(th_wait_until(no_segments, NULL, 20000), "its segment is removed: %d left", count_segments());
	char want[64];
	snprintf(want, sizeof want, "] process %d ", (int)pid);
	cr_assert_eq(count_in_file(out, want), 0, "no end told of another's process %d", (int)pid);
	snprintf(want, sizeof want, " %s[", name);
	cr_assert_eq(count_in_file(out, want), 10);
	check_idle_and_stop(c, MAX_FDS);
	free(cfg);
	free(out);
	free(errp);
}

/* A header with a liveness lock that nobody holds, claiming root's pid 1 and a crash: the lock says the
 * producer ended, so its records are read and its segment removed, and nothing is said of pid 1. */
Test(owner, a_locked_header_claiming_pid_1_tells_no_end_of_it)
{
	char *seg = segment_of("liar", NOBODY, 1), err[512];
	struct seg s;
	cr_assert_eq(seg_open(&s, seg, true, err, sizeof err), 0, "%s", err);
	s.hdr->flags |= SHMLOG_SEG_LOCK;
	atomic_store(&s.hdr->ended, SHMLOG_END_CRASH | 11u << 8);
	seg_close(&s);
	drained_untold("liar", 1);
	free(seg);
}

/* A dead producer's pid, reused since by another user's process (started after the segment): the
 * producer is gone, so its segment is drained and removed, and its end is not told. */
Test(owner, a_segment_whose_pid_another_user_has_since_is_drained_and_removed_untold)
{
	pid_t victim = roots_process();
	char *seg = segment_of("reused", NOBODY, victim), err[512];
	struct seg s;
	cr_assert_eq(seg_open(&s, seg, true, err, sizeof err), 0, "%s", err);
	s.hdr->start_time = 12345; /* the producer started long before the process now on its pid */
	seg_close(&s);
	drained_untold("reused", victim);
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	free(seg);
}
