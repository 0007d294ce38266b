/*
 * test_discover.c — a real collector against hostile files in its segment
 * directory, beside an honest producer: a file of zeros, a ring head that is
 * not 8-aligned, more live segments than it has slots or descriptors for, a
 * segment seen by the collector while `cp` was still writing it, and
 * thousands of garbage files; a segment linked while attached, and one
 * whose name comes to hold another segment. Each test checks that every honest record
 * arrives, that the hostile file is reported once, and that CPU, memory and
 * descriptors stay bounded.
 */
#include <criterion/criterion.h>
#include <sys/resource.h>
#include <errno.h>
#include <fcntl.h>
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

TestSuite(discover, .init = setup, .fini = teardown, .timeout = 180);

/* Write len bytes of buf to dir/name, created with mode 0600. */
static void write_file(const char *name, const void *buf, size_t len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0, "%s", path);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

struct err_wait {
	const char *path, *needle;
	int n;
};

static bool err_has(void *arg)
{
	struct err_wait *w = arg;
	return count_in_file(w->path, w->needle) >= w->n;
}

/* Start a collector, let it see the hostile file(s), run the honest producer, check idle and stop. */
static void hostile_file_beside_honest(const char *needle, int reports)
{
	char *out = wpath("out.log"), *err = wpath("err.log");
	pid_t c = start_collector(out, err, NULL, NULL);
	struct err_wait w = {err, needle, reports};
	cr_assert(th_wait_until(err_has, &w, 20000), "reported: %d", count_in_file(err, needle));
	run_honest_and_check_in(out, 4000);
	check_idle_and_stop(c, MAX_FDS);
	cr_assert_eq(count_in_file(err, needle), reports, "reported once, not at every rescan");
	free(out);
	free(err);
}

Test(discover, a_file_of_zeros_is_reported_once_and_starts_no_rescan_storm)
{
	static char zeros[4096];
	write_file("zeros.shm", zeros, sizeof zeros);
	hostile_file_beside_honest("zeros.shm: not initialised", 1);
}

Test(discover, a_ring_head_not_8_aligned_is_reported_once_and_starts_no_rescan_storm)
{
	char path[512], err[512];
	shmlog_close(su_log(dir, "skew", 1, 10, 64 * 1024, path, sizeof path));
	struct seg s;
	cr_assert_eq(seg_open(&s, path, true, err, sizeof err), 0, "%s", err);
	atomic_store(&seg_ring(&s, 0)->head, 4); /* the consumed position, published by a collector */
	seg_close(&s);
	hostile_file_beside_honest("consumed position misaligned", 1);
}

/* n closed segments of 10 records each, made to look live and owned by pid 1 (which never ends). */
static void make_pid1_segments(int n)
{
	uint64_t start = seg_proc_start_time(1);
	for (int k = 0; k < n; k++) {
		char path[512], err[512];
		shmlog_close(su_log(dir, "squat", 1, 10, 4096, path, sizeof path));
		struct seg s;
		cr_assert_eq(seg_open(&s, path, true, err, sizeof err), 0, "%s", err);
		s.hdr->pid = 1;
		s.hdr->start_time = start;
		s.hdr->flags &= ~SHMLOG_SEG_LOCK; /* told by its pid alone, as an older library's */
		atomic_store(&s.hdr->state, SHMLOG_SEG_LIVE);
		seg_close(&s);
	}
}

Test(discover, more_live_segments_than_descriptors_take_turns_and_the_honest_one_is_collected)
{
	/* 128 descriptors leave (128 - 64) / 2 = 32 attach slots for 70 squatters and the honest producer */
	make_pid1_segments(70);
	char *out = wpath("out.log"), *err = wpath("err.log");
	char *bin = th_build_path("shmlog-collector");
	char *argv[] = {"/usr/bin/prlimit", "--nofile=128:128", bin, "--dir", dir, NULL};
	pid_t c = start_collector_argv(argv, out, err);
	struct file_wait w = {out, 700};
	cr_assert(th_wait_until(file_has_lines, &w, 20000), "every squatter's records, in turn");
	run_honest_and_check_in(out, 4700);
	check_idle_and_stop(c, 128);
	cr_assert_eq(count_in_file(err, "segments wait for one of the 32 attach slots"), 1, "said once");
	cr_assert_eq(count_in_file(err, "rejecting"), 0, "nothing is refused for want of a slot");
	free(bin);
	free(out);
	free(err);
}

Test(discover, more_segments_than_the_4096_attach_slots_take_turns_and_the_honest_one_is_collected,
     .timeout = 300)
{
	/* the default slots (the descriptor limit is raised to its hard limit, 20,000 here or more) */
	struct rlimit rl;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_geq(rl.rlim_max, 2 * 4096 + 64, "a hard descriptor limit of %llu is too low for this test",
		      (unsigned long long)rl.rlim_max);
	make_pid1_segments(4100);
	char *out = wpath("out.log"), *err = wpath("err.log");
	pid_t c = start_collector(out, err, NULL, NULL);
	struct file_wait w = {out, 41000};
	cr_assert(th_wait_until(file_has_lines, &w, 120000), "every squatter's records, in turn: %d lines",
		  count_in_file(out, "\n"));
	run_honest_and_check_in(out, 45000);
	long cpu, wakeups;
	idle_spell(c, &cpu, &wakeups);
	/* each idle poll reads the tails of 4,096 x 33 rings: 90-110 ms a second here (160 under ASan) */
	cr_assert_leq(cpu, 250, "idle CPU with 4,096 segments attached: %ld ms in %d ms", cpu, IDLE_SPELL_MS);
	struct th_usage u;
	cr_assert(th_usage(c, &u));
#ifndef __SANITIZE_ADDRESS__ /* ASan's redzones and quarantine are not the collector's */
	/* its own memory; the segments' pages it maps are the producers' (VmHWM counts them too) */
	cr_assert_leq(u.anon_kb, 16 * 1024 + 16 * 4100, "%ld KiB of its own for 4,100 segments", u.anon_kb);
#endif
	cr_assert_leq(u.fds, 2 * 4096 + 64, "%ld fds", u.fds);
	stop_in_time(c);
	cr_assert_eq(count_in_file(err, "segments wait for one of the 4096 attach slots"), 1, "said once");
	cr_assert_eq(count_in_file(err, "too many segments"), 0);
	cr_assert_eq(count_in_file(err, "rejecting"), 0, "nothing is refused for want of a slot");
	free(out);
	free(err);
}

Test(discover, a_segment_seen_while_cp_was_still_writing_it_is_collected_once_complete)
{
	char path[512];
	char *stage = th_mkdtemp(true); /* made there, copied into the segment directory */
	shmlog_close(su_log(stage, "copied", 1, 100, 64 * 1024, path, sizeof path));
	size_t len;
	char *bytes = th_read_file(path, &len);
	cr_assert(bytes && len > 8192);
	char *out = wpath("out.log"), *err = wpath("err.log");
	pid_t c = start_collector(out, err, NULL, NULL);
	write_file("copied.shm", bytes, 4096); /* the first block only, as cp writes it */
	struct err_wait w = {err, "copied.shm: truncated", 1};
	cr_assert(th_wait_until(err_has, &w, 20000), "the incomplete copy is refused");
	char full[512];
	snprintf(full, sizeof full, "%s/copied.shm", dir);
	int fd = open(full, O_WRONLY | O_APPEND);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, bytes + 4096, len - 4096), (ssize_t)(len - 4096));
	close(fd);
	run_honest_and_check_in(out, 4100);
	cr_assert_eq(count_in_file(out, "copied["), 100, "every record of the copy");
	check_idle_and_stop(c, MAX_FDS);
	th_rmrf(stage);
	free(stage);
	free(bytes);
	free(out);
	free(err);
}

/* A segment linked (or renamed) while attached: the new name is the same file, whose rings are read
 * already; it is refused while the first is attached, and every record is written once. */
Test(discover, a_segment_renamed_while_attached_is_read_once_and_its_new_name_refused)
{
	char *out = wpath("out.log"), *err = wpath("err.log"), path[512], moved[600];
	pid_t c = start_collector(out, err, NULL, NULL);
	struct shmlog *lg = su_log(dir, "moved", 1, 50, 64 * 1024, path, sizeof path);
	struct file_wait fw = {out, 50};
	cr_assert(th_wait_until(file_has_lines, &fw, 20000), "the first 50 records");
	snprintf(moved, sizeof moved, "%s/moved.renamed.shm", dir);
	cr_assert_eq(link(path, moved), 0);
	struct err_wait w = {err, "the segment attached already as", 1};
	cr_assert(th_wait_until(err_has, &w, 20000), "the second name is refused");
	su_log_more(lg, 0, 1, 50);
	shmlog_close(lg);
	fw.n = 100;
	cr_assert(th_wait_until(file_has_lines, &fw, 20000), "every record");
	/* once the first name is drained and removed, the second is the segment alone: read from where
	 * the first left it (nothing), and removed too */
	cr_assert(th_wait_until(no_segments, NULL, 20000), "both names removed: %d left", count_segments());
	check_idle_and_stop(c, MAX_FDS);
	cr_assert_eq(count_in_file(out, "moved["), 100, "each once: %d", count_in_file(out, "moved["));
	cr_assert_eq(count_in_file(err, "the segment attached already as"), 1);
	free(out);
	free(err);
}

struct unmapped {
	pid_t pid;
	unsigned long ino;
};

/* For th_wait_until: the process maps no file of inode ino any more (the fifth field of its maps). */
static bool not_mapped(void *arg)
{
	const struct unmapped *u = arg;
	char maps[64], line[1024];
	snprintf(maps, sizeof maps, "/proc/%d/maps", (int)u->pid);
	FILE *f = fopen(maps, "r");
	bool none = f != NULL;
	unsigned long ino;
	while (f && fgets(line, sizeof line, f))
		none &= !(sscanf(line, "%*s %*s %*s %*s %lu", &ino) == 1 && ino == u->ino);
	if (f)
		fclose(f);
	return none;
}

/* A segment whose name comes to hold another live segment (renamed over it) while it is attached:
 * when the first is drained and detached, the name, now the second's, is not removed with it. */
Test(discover, a_drained_segment_whose_name_holds_another_now_leaves_that_file)
{
	char *out = wpath("out.log"), *err = wpath("err.log"), first[512], second[512];
	char *stage = th_mkdtemp(true);
	pid_t c = start_collector(out, err, NULL, NULL);
	struct shmlog *a = su_log(dir, "first", 1, 10, 64 * 1024, first, sizeof first);
	struct file_wait fw = {out, 10};
	cr_assert(th_wait_until(file_has_lines, &fw, 20000), "the first segment's records");
	struct shmlog *b = su_log(stage, "second", 1, 10, 64 * 1024, second, sizeof second);
	struct stat st;
	cr_assert_eq(stat(first, &st), 0);
	cr_assert_eq(rename(second, first), 0); /* the name now holds the second segment */
	fw.n = 20;
	cr_assert(th_wait_until(file_has_lines, &fw, 20000), "the second segment, attached under that name");
	shmlog_close(a); /* the first is drained and detached */
	struct unmapped u = {c, (unsigned long)st.st_ino};
	cr_assert(th_wait_until(not_mapped, &u, 20000), "the first segment detached");
	cr_assert(access(first, F_OK) == 0, "the second segment's file was removed with the first");
	shmlog_close(b);
	cr_assert(th_wait_until(no_segments, NULL, 20000), "the second removed once drained");
	check_idle_and_stop(c, MAX_FDS);
	cr_assert_eq(count_in_file(out, "first["), 10);
	cr_assert_eq(count_in_file(out, "second["), 10);
	th_rmrf(stage);
	free(stage);
	free(out);
	free(err);
}

#ifndef __SANITIZE_ADDRESS__
struct rss_wait {
	pid_t pid;
	long max_kb, last_kb;
};

static bool rss_within(void *arg)
{
	struct rss_wait *w = arg;
	struct th_usage u;
	w->last_kb = th_usage(w->pid, &u) ? u.rss_kb : -1;
	return w->last_kb >= 0 && w->last_kb <= w->max_kb;
}
#endif

/* Run the honest producer again, as honest2; assert all its records come. */
static void run_honest_again(const char *out, long lines)
{
	char *args[] = {"-n", "honest2", "-t", "2", "-r", "2000", "-C", NULL};
	cr_assert_eq(run_producer("/dev/null", args, NULL), 0);
	struct file_wait w = {out, lines};
	cr_assert(th_wait_until(file_has_lines, &w, 20000), "every record is written");
	cr_assert_eq(count_in_file(out, " honest2["), 4000);
}

Test(discover, twenty_thousand_garbage_files_cost_little_and_leave_no_memory_behind_once_removed)
{
	char *out = wpath("out.log"), *err = wpath("err.log");
	pid_t c = start_collector(out, err, NULL, NULL);
	run_honest_and_check_in(out, 4000);
	struct th_usage before; /* after a drain: its buffers are there */
	cr_assert(th_usage(c, &before));
	enum { N = 20000 };
	for (int k = 0; k < N; k++) {
		char name[64];
		snprintf(name, sizeof name, "junk%05d.shm", k);
		write_file(name, "junk", 4);
	}
	struct err_wait w = {err, "rejecting segment", N};
	cr_assert(th_wait_until(err_has, &w, 60000), "each reported: %d", count_in_file(err, "rejecting segment"));
	run_honest_again(out, 8000);
	long cpu, wakeups;
	idle_spell(c, &cpu, &wakeups);
	cr_assert_leq(cpu, 100, "idle CPU with %d refused files: %ld ms in %d ms", N, cpu, IDLE_SPELL_MS);
	for (int k = 0; k < N; k++) {
		char path[512];
		snprintf(path, sizeof path, "%s/junk%05d.shm", dir, k);
		unlink(path);
	}
#ifndef __SANITIZE_ADDRESS__ /* AddressSanitizer keeps freed memory in quarantine: RSS says nothing there */
	struct rss_wait rw = {c, before.rss_kb + 1024};
	cr_assert(th_wait_until(rss_within, &rw, 5000), "RSS %ld KiB, %ld KiB before the files", rw.last_kb,
		  before.rss_kb); /* the next rescan forgets the files */
#endif
	cr_assert_eq(count_in_file(err, "rejecting segment"), N, "each reported once");
	check_bounds_and_stop(c, MAX_FDS);
	free(out);
	free(err);
}

Test(discover, a_file_name_holding_a_newline_cannot_forge_a_line_on_stderr)
{
	static char zeros[4096];
	write_file("h\nshmlog-collector: FORGED LINE x.shm", zeros, sizeof zeros);
	hostile_file_beside_honest("h\\nshmlog-collector: FORGED LINE x.shm: not initialised", 1);
	char *err = wpath("err.log");
	cr_assert_eq(count_in_file(err, "\nshmlog-collector: FORGED"), 0, "no line of stderr starts with the forgery");
	free(err);
}

/* Run the collector with argv (its own --dir given there), wait; returns its status, stderr in *err. */
static int collector_status(char *const argv[], char **err)
{
	char *errp = wpath("start.err");
	int st = th_waitpid_timeout(th_spawn(argv, "/dev/null", errp, NULL), 10000);
	*err = th_read_file(errp, NULL);
	free(errp);
	cr_assert(st != -1, "it ends");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

Test(discover, an_empty_dir_argument_is_an_error_not_the_default_directory)
{
	char *bin = th_build_path("shmlog-collector"), *err;
	char *argv[] = {bin, "--dir", "", "--once", NULL};
	cr_assert_eq(collector_status(argv, &err), 1);
	cr_assert_str_eq(err, "shmlog-collector: --dir: empty directory name\n");
	free(err);
	free(bin);
}

Test(discover, an_unreadable_dir_is_an_error_with_its_reason)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to run the collector as another user");
	cr_assert_eq(chmod(dir, 0700), 0);
	char *bin = th_build_path("shmlog-collector"), *err;
	char *argv[] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin, "--dir", dir,
			"--once", NULL};
	cr_assert_eq(collector_status(argv, &err), 1);
	char want[700];
	snprintf(want, sizeof want, "shmlog-collector: %s: cannot read segment directory: %s\n", dir, strerror(EACCES));
	cr_assert_str_eq(err, want);
	free(err);
	free(bin);
}
