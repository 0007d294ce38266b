/*
 * test_survive.c — crash survivability with real processes: producers killed
 * or crashing, the collector killed and restarted, no collector at all,
 * durable records, fork. Each scenario asserts the exact set of records.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../collector/pidinfo.h"
#include "e2e_util.h"
#include "helpers.h"

static void setup_nocore(void)
{
	setup();
	struct rlimit no = {0, 0};
	setrlimit(RLIMIT_CORE, &no); /* crashing producers must not leave cores behind */
}

/* Under AddressSanitizer the previous SIGSEGV handler would be ASan's: let
 * the handed-on signal take its default action, as in a normal build. */
static char *crash_env[] = {"ASAN_OPTIONS=handle_segv=0:detect_leaks=0", NULL};

TestSuite(survive, .init = setup_nocore, .fini = teardown, .timeout = 240);

/* Whether this kernel tells a non-parent a process's exit status (pidinfo.h): probed on a child of ours. */
static bool kernel_tells_exit_status(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	int fd = (int)syscall(SYS_pidfd_open, p, 0), st = 0;
	waitpid(p, &st, 0);
	int rc = pidinfo_exit_status(fd, &st);
	if (fd >= 0)
		close(fd);
	return rc == 1;
}

static char *read_or_fail(const char *p)
{
	char *t = th_read_file(p, NULL);
	cr_assert(t, "cannot read %s", p);
	return t;
}

Test(survive, producer_killed_by_sigkill_loses_nothing_and_is_reported)
{
	char *out = wpath("out.log");
	pid_t c = start_collector(out, NULL, NULL, NULL);
	char *args[] = {"-t", "2", "-r", "5000", "-k", NULL};
	int st = run_producer("/dev/null", args, NULL);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	cr_assert(th_wait_until(no_segments, NULL, 10000), "the dead producer's segment is drained and removed");
	stop_collector(c);
	struct tally ty = {.threads = 2, .records = 5000};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 10000);
	cr_assert_eq(ty.ended, 1);
	char *text = read_or_fail(out);
	/* killed before the collector watched it (it logs for a few ms), its status cannot be had */
	const char *end = strstr(text, "] process ");
	cr_assert(end && (strstr(end, " was killed by signal 9 (SIGKILL)\n") ||
			  strstr(end, " ended without exiting normally (killed by a signal")),
		  "the notice says how it ended: %.200s", end ? end : "(none)");
	free(text);
	free(ty.last);
	free(out);
}

/* A collector whose PIDFD_GET_INFO fails (tests/pidinfo_fail.c preloaded): as on a kernel before 6.15, or
 * with ESRCH for its first esrch calls (0: the old kernel); its output into out. */
static pid_t start_pidinfo_fail_collector(const char *out, int esrch)
{
	char *bin = th_build_path("shmlog-collector"), *lib = th_build_path("tests/libpidinfo_fail.so");
	char pre[4200], how[64];
	snprintf(pre, sizeof pre, "LD_PRELOAD=%s", lib);
	snprintf(how, sizeof how, "PIDINFO_FAIL_ESRCH=%d", esrch);
	char *asan = "ASAN_OPTIONS=verify_asan_link_order=0";
	char *old_kernel[] = {"/usr/bin/env", "-u", "PIDINFO_FAIL_ESRCH", pre, asan, bin, "--dir", dir, NULL};
	char *reaping[] = {"/usr/bin/env", pre, how, asan, bin, "--dir", dir, NULL};
	pid_t p = start_collector_argv(esrch ? reaping : old_kernel, out, NULL);
	free(bin);
	free(lib);
	return p;
}

/* The collector's PIDFD_GET_INFO: as the kernel answers, refused (an old kernel), or ESRCH at first. */
enum pidinfo { PIDINFO_REAL, PIDINFO_OLD_KERNEL, PIDINFO_REAPING };

/*
 * A producer that ends past shmlog's exit handler (how: -k, or -X or -E
 * CODE) gets the status its parent reaped told, where the kernel tells it
 * (pi is not PIDINFO_OLD_KERNEL); said: what the notice says then. It
 * flushes first, so the collector watches it when it ends.
 */
static void ends_with_status(const char *how, int code, const char *said, enum pidinfo pi)
{
	char *out = wpath("out.log"), num[16];
	snprintf(num, sizeof num, "%d", code);
	pid_t c = pi == PIDINFO_REAL ? start_collector(out, NULL, NULL, NULL)
				     : start_pidinfo_fail_collector(out, pi == PIDINFO_REAPING ? 3 : 0);
	char *args[] = {"-t", "1", "-r", "100", "-f", "10000", (char *)how, how[1] == 'k' ? NULL : num, NULL};
	int st = run_producer("/dev/null", args, NULL);
	if (how[1] == 'k')
		cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
	else
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == code, "status 0x%x", st);
	cr_assert(th_wait_until(no_segments, NULL, 10000), "its segment is drained and removed");
	stop_collector(c);
	struct tally ty = {.threads = 1, .records = 100};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 100);
	char *text = read_or_fail(out);
	if (pi != PIDINFO_OLD_KERNEL && !kernel_tells_exit_status())
		said = " ended without exiting normally (killed by a signal";
	const char *end = strstr(text, "] process ");
	cr_assert(end && strstr(end, said), "%.200s", end ? end : "(none)");
	cr_assert_eq(ty.ended, 1);
	free(text);
	free(ty.last);
	free(out);
}

Test(survive, a_producer_killed_while_watched_is_told_with_its_signal)
{
	ends_with_status("-k", 0, " was killed by signal 9 (SIGKILL)\n", PIDINFO_REAL);
}

Test(survive, a_producer_that_calls_exit_directly_is_told_with_its_status)
{
	ends_with_status("-X", 3, " exited with status 3, past shmlog's exit handler (_exit(), or an exec'd program)\n",
			 PIDINFO_REAL);
}

Test(survive, a_producer_that_execs_another_program_is_told_with_that_programs_status)
{
	ends_with_status("-E", 4, " exited with status 4, past shmlog's exit handler (_exit(), or an exec'd program)\n",
			 PIDINFO_REAL);
}

/* A producer that execs a program that runs on: its log has ended, though its pid runs (its lock is free). */
Test(survive, a_producer_that_execs_a_program_that_runs_on_is_drained_and_removed_meanwhile)
{
	char *out = wpath("out.log"), *until = wpath("until");
	pid_t c = start_collector(out, NULL, NULL, NULL);
	char *args[] = {"-t", "1", "-r", "100", "-f", "10000", "-x", until, NULL};
	pid_t p = spawn_producer("/dev/null", args, NULL);
	struct file_wait all = {out, 100};
	cr_assert(th_wait_until(file_has_lines, &all, 20000), "its records are collected");
	cr_assert(th_wait_until(no_segments, NULL, 20000), "its segment is drained and removed");
	cr_assert_eq(kill(p, 0), 0, "while the program it exec'd runs");
	FILE *f = fopen(until, "w");
	cr_assert(f && fclose(f) == 0);
	int st = th_waitpid_timeout(p, 20000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	stop_collector(c);
	struct tally ty = {.threads = 1, .records = 100};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 100);
	cr_assert_eq(ty.ended, 1);
	char want[96];
	snprintf(want, sizeof want, "] process %d exec'd another program: its log ends here\n", (int)p);
	cr_assert_eq(count_in_file(out, want), 1, "its end, told once");
	free(ty.last);
	free(out);
	free(until);
}

static bool is_zombie(void *pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", *(int *)pid);
	FILE *f = fopen(path, "r");
	bool z = f && fgets(buf, sizeof buf, f) && strstr(buf, ") Z ");
	if (f)
		fclose(f);
	return z;
}

/* A producer killed before any collector ran, not reaped yet: its lock is free and its pid still there,
 * but it did not exec anything (a zombie has no address space): its end is told as an end. */
Test(survive, a_zombie_producer_found_at_attach_is_told_as_ended_not_as_execd)
{
	char *out = wpath("out.log");
	char *args[] = {"-t", "1", "-r", "100", "-k", NULL};
	int p = (int)spawn_producer("/dev/null", args, NULL);
	cr_assert(th_wait_until(is_zombie, &p, 20000), "the producer is killed, and not reaped");
	pid_t c = start_collector(out, NULL, NULL, NULL);
	cr_assert(th_wait_until(no_segments, NULL, 20000), "its segment is drained and removed");
	stop_collector(c);
	cr_assert_eq(th_waitpid_timeout(p, 20000) & 0x7f, SIGKILL);
	struct tally ty = {.threads = 1, .records = 100};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 100);
	cr_assert_eq(ty.ended, 1);
	cr_assert_eq(count_in_file(out, "exec'd another program"), 0, "not told as an exec");
	free(ty.last);
	free(out);
}

/* Before Linux 6.15 the kernel does not tell a non-parent the status: the notice says what is known. */
Test(survive, on_a_kernel_that_does_not_tell_the_status_the_notice_says_what_is_known)
{
	ends_with_status("-X", 3, " ended without exiting normally (killed by a signal such as SIGKILL, or crashed with no "
			 "crash handler)\n", PIDINFO_OLD_KERNEL);
}

/* While the process is being reaped the kernel can answer ESRCH (about 1.5 % of SIGKILLed children here):
 * the collector asks again, and the notice still tells the signal. */
Test(survive, a_status_the_kernel_cannot_tell_yet_is_asked_for_again)
{
	ends_with_status("-k", 0, " was killed by signal 9 (SIGKILL)\n", PIDINFO_REAPING);
}

Test(survive, a_normal_exit_is_reported_as_such)
{
	char *out = wpath("out.log");
	pid_t c = start_collector(out, NULL, NULL, NULL);
	char *args[] = {"-t", "1", "-r", "10", NULL};
	run_producer("/dev/null", args, NULL);
	cr_assert(th_wait_until(no_segments, NULL, 10000));
	stop_collector(c);
	char *text = read_or_fail(out);
	cr_assert(strstr(text, "] process ") && strstr(text, " exited\n"), "%s", text);
	free(text);
	free(out);
}

Test(survive, segfault_with_crash_handler_writes_a_crash_record_and_still_dies_by_sigsegv)
{
	char *out = wpath("out.log");
	pid_t c = start_collector(out, NULL, NULL, NULL);
	char *args[] = {"-t", "2", "-r", "1000", "-H", "-S", NULL};
	int st = run_producer("/dev/null", args, crash_env);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "the signal is handed on: status %d", st);
	cr_assert(th_wait_until(no_segments, NULL, 10000));
	stop_collector(c);
	struct tally ty = {.threads = 2, .records = 1000, .allow_other = true};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 2000, "every record before the crash");
	char *text = read_or_fail(out);
	char *crash = strstr(text, " CRITICAL prod[");
	cr_assert(crash, "a CRITICAL crash record: %s", text);
	cr_assert(strstr(crash, "crash: signal 11 (SIGSEGV), fault address 0x10; backtrace: "), "%s", crash);
	cr_assert(strstr(crash, "producer_prog+0x"), "frames name their module: %s", crash);
	cr_assert(strstr(text, "crashed with signal 11 (SIGSEGV)"));
	free(text);
	free(ty.last);
	free(out);
}

Test(survive, abort_with_crash_handler_is_recorded_as_sigabrt)
{
	char *out = wpath("out.log");
	char *args[] = {"-t", "1", "-r", "10", "-H", "-A", NULL};
	int st = run_producer("/dev/null", args, crash_env);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	/* no collector was running: a later one catches up */
	pid_t c = start_collector(out, NULL, NULL, NULL);
	cr_assert(th_wait_until(no_segments, NULL, 10000));
	stop_collector(c);
	char *text = read_or_fail(out);
	cr_assert(strstr(text, "crash: signal 6 (SIGABRT)"), "%s", text);
	cr_assert(strstr(text, "crashed with signal 6 (SIGABRT)"));
	struct tally ty = {.threads = 1, .records = 10, .allow_other = true};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 10);
	free(text);
	free(ty.last);
	free(out);
}

Test(survive, collector_killed_twice_mid_stream_resumes_without_loss)
{
	char *out[3] = {wpath("out0.log"), wpath("out1.log"), wpath("out2.log")};
	char *bin = th_build_path("tests/producer_prog");
	/* block policy, waiting forever while no collector runs */
	char *argv[] = {bin, "-d", dir, "-t", "4", "-r", "150000", "-p", "block", "-T", "-1", "-f", "60000", "-C", NULL};
	pid_t c = start_collector(out[0], NULL, NULL, NULL);
	pid_t p = th_spawn(argv, "/dev/null", NULL, NULL);
	for (int k = 0; k < 2; k++) {
		struct file_wait g = {out[k], 200000};
		cr_assert(th_wait_until(file_has_bytes, &g, 60000), "collector %d made no progress", k);
		kill(c, SIGKILL);
		th_waitpid_timeout(c, 10000);
		c = start_collector(out[k + 1], NULL, NULL, NULL);
	}
	int st = th_waitpid_timeout(p, 120000);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	stop_collector(c);
	/* every record at least once; duplicates only from the batches in flight */
	const long n = 150000;
	unsigned char *seen = calloc(4 * (size_t)n, 1);
	long dups = 0, partial = 0;
	for (int k = 0; k < 3; k++) {
		char *text = read_or_fail(out[k]), *save = NULL;
		for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			struct parsed_line pl;
			int t;
			long i;
			if (!parse_line(line, &pl) || sscanf(pl.msg, "rec t=%d i=%ld", &t, &i) != 2) {
				partial++; /* a line cut by the kill, or a collector notice */
				continue;
			}
			cr_assert(t >= 0 && t < 4 && i >= 0 && i < n);
			if (seen[t * n + i]++)
				dups++;
		}
		free(text);
	}
	long missing = 0;
	for (long j = 0; j < 4 * n; j++)
		missing += !seen[j];
	cr_assert_eq(missing, 0, "%ld records lost across collector restarts", missing);
	cr_assert_leq(dups, 2 * 65536, "%ld duplicates: more than the two batches in flight", dups);
	cr_assert_leq(partial, 4);
	free(seen);
	free(bin);
	for (int k = 0; k < 3; k++)
		free(out[k]);
}

Test(survive, sync_returns_once_written_and_times_out_without_collector)
{
	char *pout = wpath("p.out"), *out = wpath("out.log");
	char *args_nc[] = {"-t", "1", "-r", "100", "-y", "200", NULL};
	run_producer(pout, args_nc, NULL);
	char *po = read_or_fail(pout);
	cr_assert(strstr(po, "sync=-110\n"), "no collector: -ETIMEDOUT, got %s", po);
	free(po);
	th_rmrf(dir);
	mkdir(dir, 0700);
	char *cfg, *file = wpath("durable.log");
	cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; } );\n", file);
	pid_t c = start_collector(out, NULL, "--config", cfg);
	char *args_c[] = {"-t", "1", "-r", "100", "-y", "10000", "-L", "-C", NULL};
	run_producer(pout, args_c, NULL);
	po = read_or_fail(pout);
	cr_assert(strstr(po, "sync=0\n"), "%s", po);
	long ms = -1;
	cr_assert(sscanf(strstr(po, "durable_ms="), "durable_ms=%ld", &ms) == 1);
	cr_assert_lt(ms, 5000, "a WARN record at sync_level returned once synced, not by timing out");
	/* the synced records are in the file already, before the collector stops */
	struct tally ty = {.threads = 1, .records = 100, .allow_other = true};
	tally_output(file, &ty);
	cr_assert_eq(ty.seen, 100);
	char *text = read_or_fail(file);
	cr_assert(strstr(text, " WARN prod[") && strstr(text, "]: durable\n"));
	stop_collector(c);
	free(text);
	free(ty.last);
	free(po);
	free(pout);
	free(out);
	free(cfg);
	free(file);
}

Test(survive, a_forked_child_logs_into_its_own_segment)
{
	char *pout = wpath("p.out"), *out = wpath("out.log");
	pid_t c = start_collector(out, NULL, NULL, NULL);
	char *args[] = {"-t", "2", "-r", "500", "-F", "300", "-f", "10000", "-C", NULL};
	int st = run_producer(pout, args, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char *po = read_or_fail(pout);
	cr_assert(strstr(po, "child_flush=0\n") && strstr(po, "child=0\n") && strstr(po, "flush=0\n"), "%s", po);
	cr_assert(th_wait_until(no_segments, NULL, 10000));
	stop_collector(c);
	struct tally ty = {.threads = 2, .records = 500, .allow_other = true};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 1000, "the parent's records");
	/* the child's: all of them, in order, under the child's own pid */
	char *text = read_or_fail(out), *save = NULL;
	long next = 0;
	int child_pid = 0, parent_pid = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct parsed_line pl;
		cr_assert(parse_line(line, &pl));
		long i;
		if (sscanf(pl.msg, "child i=%ld", &i) == 1) {
			cr_assert_eq(i, next, "child record %ld where %ld was due", i, next);
			next++;
			child_pid = pl.pid;
		} else if (strncmp(pl.msg, "rec ", 4) == 0) {
			parent_pid = pl.pid;
		}
	}
	cr_assert_eq(next, 300);
	cr_assert(child_pid && parent_pid && child_pid != parent_pid);
	free(text);
	free(ty.last);
	free(po);
	free(pout);
	free(out);
}

/*
 * A forked child whose segment is made and mapped but cannot be published (renameat2 fails in it:
 * tests/rename_fail.c preloaded): its logger is off, and it exits normally. The exit handler must
 * not mark the unmapped segment ended (it did: SIGSEGV at the child's exit).
 */
Test(survive, a_child_whose_segment_cannot_be_published_exits_normally_with_its_logger_off)
{
	char *pout = wpath("p.out"), *out = wpath("out.log"), *lib = th_build_path("tests/librename_fail.so");
	pid_t c = start_collector(out, NULL, NULL, NULL);
	char pre[4200];
	snprintf(pre, sizeof pre, "LD_PRELOAD=%s", lib);
	char *env[] = {pre, "ASAN_OPTIONS=verify_asan_link_order=0", NULL};
	char *args[] = {"-t", "1", "-r", "100", "-F", "50", "-f", "10000", "-C", NULL};
	int st = run_producer(pout, args, env);
	char *po = read_or_fail(pout);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "producer 0x%x: %s", st, po);
	cr_assert(strstr(po, "\nchild=0\n"), "the child exited 0 (not killed by a signal): %s", po);
	cr_assert(!strstr(po, "child_flush=0\n"), "the child's flush had no segment to flush: %s", po);
	cr_assert(strstr(po, "\nflush=0\n"), "%s", po);
	cr_assert(th_wait_until(no_segments, NULL, 10000));
	stop_collector(c);
	struct tally ty = {.threads = 1, .records = 100};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 100, "the parent's records, and none of the child's");
	free(ty.last);
	free(po);
	free(pout);
	free(out);
	free(lib);
}

Test(survive, full_filesystem_holds_records_back_and_recovers_when_space_returns)
{
	char *mnt = wpath("small"), *filler, *file, *cfg, *out = wpath("out.log"),
	     *err = wpath("err.log"), *pout = wpath("p.out");
	mkdir(mnt, 0700);
	if (!th_mount_tmpfs(mnt, "1m"))
		cr_skip_test("cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN)");
	cr_assert(asprintf(&filler, "%s/filler", mnt) > 0 && asprintf(&file, "%s/app.log", mnt) > 0);
	cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; }, { type = \"console\"; } );\n", file);
	th_fill_disk(filler);
	pid_t c = start_collector(out, err, "--config", cfg);
	char *args[] = {"-t", "2", "-r", "2000", "-f", "300", NULL};
	run_producer(pout, args, NULL);
	char *po = read_or_fail(pout);
	cr_assert(strstr(po, "flush=-110\n"), "nothing is consumed while the file writer cannot write: %s", po);
	struct th_file_has nospace = {err, "No space left on device"};
	cr_assert(th_wait_until(th_file_has_text, &nospace, 10000), "the condition is reported");
	/* the other writer is still served */
	struct file_wait console = {out, 4000};
	cr_assert(th_wait_until(file_has_lines, &console, 10000), "console writer got the records");
	cr_assert_eq(count_segments(), 1, "the dead producer's segment is kept: its records are not delivered");
	/* space returns */
	unlink(filler);
	struct file_wait all = {file, 4001}; /* the records and the "process ended" notice */
	cr_assert(th_wait_until(file_has_lines, &all, 20000), "the file catches up by itself");
	cr_assert(th_wait_until(no_segments, NULL, 10000));
	stop_collector(c);
	struct tally ty = {.threads = 2, .records = 2000, .allow_other = true};
	tally_output(file, &ty);
	cr_assert_eq(ty.seen, 4000, "every record exactly once in the file");
	char *e = read_or_fail(err), *first = strstr(e, "No space left");
	cr_assert(first && !strstr(first + 1, "No space left"), "reported once: %s", e);
	cr_assert(strstr(e, "writing again"));
	th_umount(mnt);
	free(e);
	free(po);
	free(ty.last);
	free(mnt);
	free(filler);
	free(file);
	free(cfg);
	free(out);
	free(err);
	free(pout);
}

Test(survive, a_writer_with_a_full_backlog_skips_the_others_go_on_and_it_catches_up_in_order)
{
	char *mnt = wpath("small"), *filler, *stuck, *cfg, *other = wpath("other.log"), *err = wpath("err.log"),
	     *pout = wpath("p.out");
	mkdir(mnt, 0700);
	if (!th_mount_tmpfs(mnt, "1m"))
		cr_skip_test("cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN)");
	cr_assert(asprintf(&filler, "%s/filler", mnt) > 0 && asprintf(&stuck, "%s/stuck.log", mnt) > 0);
	cfg = wconfig("writers = ( { name = \"stuck\"; type = \"file\"; path = \"%s\"; backlog_bytes = 4096; },\n"
		      "  { name = \"other\"; type = \"file\"; path = \"%s\"; } );\n",
		      stuck, other);
	th_fill_disk(filler);
	pid_t c = start_collector("/dev/null", err, "--config", cfg);
	char *args[] = {"-t", "2", "-r", "2000", "-f", "300", NULL};
	run_producer(pout, args, NULL);
	char *po = read_or_fail(pout);
	cr_assert(strstr(po, "flush=-110\n"), "the stuck writer holds the rings: nothing is consumed: %s", po);
	/* far more than the stuck writer's 4 KiB backlog reaches the other writer */
	struct file_wait got = {other, 4001}; /* the records and the "process ended" notice */
	cr_assert(th_wait_until(file_has_lines, &got, 10000), "the other writer goes on");
	cr_assert_eq(count_segments(), 1, "the records stay in their segment until the stuck writer has them");
	unlink(filler);
	struct file_wait all = {stuck, 4001};
	cr_assert(th_wait_until(file_has_lines, &all, 20000), "the stuck writer catches up by itself");
	cr_assert(th_wait_until(no_segments, NULL, 10000), "then the segment is consumed and removed");
	stop_collector(c);
	for (int k = 0; k < 2; k++) {
		struct tally ty = {.threads = 2, .records = 2000, .allow_other = true};
		tally_output(k ? other : stuck, &ty);
		cr_assert_eq(ty.seen, 4000, "every record exactly once, in order, in %s", k ? "other" : "stuck");
		cr_assert_eq(ty.ended, 1, "the end notice once in %s", k ? "other" : "stuck");
		free(ty.last);
	}
	char *a = read_or_fail(stuck), *b = read_or_fail(other), *e = read_or_fail(err);
	cr_assert_str_eq(a, b, "both writers wrote the very same lines");
	cr_assert(strstr(e, "writer stuck: backlog full (") && strstr(e, "writer stuck: caught up"),
		  "the stuck writer's backlog stayed bounded, and it caught up: %s", e);
	th_umount(mnt);
	free(a);
	free(b);
	free(e);
	free(po);
	free(mnt);
	free(filler);
	free(stuck);
	free(cfg);
	free(other);
	free(err);
	free(pout);
}

static bool path_exists(void *path)
{
	return access(path, F_OK) == 0;
}

Test(survive, sighup_reopens_the_files_and_the_collector_goes_on)
{
	char *file = wpath("app.log"), *rotated = wpath("app.log.1"), *cfg;
	cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; } );\n", file);
	pid_t c = start_collector("/dev/null", NULL, "--config", cfg);
	char *args[] = {"-t", "1", "-r", "10", "-f", "10000", "-C", NULL};
	run_producer("/dev/null", args, NULL);
	cr_assert_eq(rename(file, rotated), 0, "as logrotate moves the file away");
	cr_assert_eq(kill(c, SIGHUP), 0);
	cr_assert(th_wait_until(path_exists, file, 10000), "SIGHUP opens the path again: a new, empty file");
	run_producer("/dev/null", args, NULL);
	struct file_wait g = {file, 10};
	cr_assert(th_wait_until(file_has_lines, &g, 10000), "the later records go to the new file");
	stop_collector(c); /* and SIGHUP did not stop it */
	struct tally ty = {.threads = 1, .records = 10};
	tally_output(rotated, &ty);
	cr_assert_eq(ty.seen, 10, "the first records stay in the rotated file");
	free(ty.last);
	free(file);
	free(rotated);
	free(cfg);
}

Test(survive, a_reopen_that_fails_is_said_once_and_the_open_file_keeps_every_record)
{
	char *logdir = wpath("logs"), *moved = wpath("logs.old"), *err = wpath("err.log"), *cfg;
	cr_assert_eq(mkdir(logdir, 0755), 0);
	char *file = th_path(logdir, "app.log"), *kept = th_path(moved, "app.log");
	cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; } );\n", file);
	pid_t c = start_collector("/dev/null", err, "--config", cfg);
	char *args[] = {"-t", "1", "-r", "10", "-f", "10000", "-C", NULL};
	run_producer("/dev/null", args, NULL);
	cr_assert_eq(rename(logdir, moved), 0, "the directory goes away: the path cannot be opened again");
	cr_assert_eq(kill(c, SIGHUP), 0);
	struct th_file_has said = {err, "reopen failed"};
	cr_assert(th_wait_until(th_file_has_text, &said, 10000), "the failed reopen is said");
	run_producer("/dev/null", args, NULL);
	struct file_wait g = {kept, 20};
	cr_assert(th_wait_until(file_has_lines, &g, 10000), "the later records go to the file still open");
	stop_collector(c);
	char *out = read_or_fail(kept), *e = read_or_fail(err);
	int recs = 0;
	for (char *q = out; (q = strstr(q, "]: rec t=0 i=")); q++)
		recs++;
	cr_assert_eq(recs, 20, "both producers' records, once each: %s", out);
	free(out);
	char *first = strstr(e, "reopen failed");
	cr_assert(first && !strstr(first + 1, "reopen failed"), "said once: %s", e);
	cr_assert_null(strstr(e, "records lost"), "%s", e);
	free(e);
	free(file);
	free(kept);
	free(logdir);
	free(moved);
	free(err);
	free(cfg);
}

Test(survive, a_removed_log_file_is_created_again)
{
	char *file = wpath("app.log"), *cfg, *err = wpath("err.log");
	cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; } );\n", file);
	pid_t c = start_collector("/dev/null", err, "--config", cfg);
	char *args1[] = {"-t", "1", "-r", "10", "-f", "10000", "-C", NULL};
	run_producer("/dev/null", args1, NULL);
	cr_assert_eq(unlink(file), 0);
	char *args2[] = {"-t", "1", "-r", "20", "-f", "10000", "-C", NULL};
	run_producer("/dev/null", args2, NULL);
	struct file_wait g = {file, 20};
	cr_assert(th_wait_until(file_has_lines, &g, 10000), "the new file gets the later records");
	stop_collector(c);
	char *e = read_or_fail(err);
	cr_assert(strstr(e, "was removed or replaced"), "%s", e);
	free(e);
	free(file);
	free(cfg);
	free(err);
}

#include <dlfcn.h>
#include <fcntl.h>

#include <shmlog.h>

Test(survive, a_process_with_two_copies_of_the_library_logs_through_both)
{
	/* a second copy under another file name: the loader maps it again, as it
	 * would a plugin that bundles its own libshmlog */
	char *orig = th_build_path("libshmlog.so"), *copy = wpath("libshmlog-plugin.so");
	size_t len;
	char *bytes = th_read_file(orig, &len);
	cr_assert(bytes);
	int fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	cr_assert(write(fd, bytes, len) == (ssize_t)len);
	close(fd);
	free(bytes);
	void *h = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
	cr_assert(h, "dlopen: %s", dlerror());
	int (*open2)(struct shmlog **, const struct shmlog_options *) = (int (*)(struct shmlog **, const struct shmlog_options *))dlsym(h, "shmlog_open");
	void (*log2)(struct shmlog *, struct shmlog__site *, ...) = (void (*)(struct shmlog *, struct shmlog__site *, ...))dlsym(h, "shmlog__log");
	void (*close2)(struct shmlog *) = (void (*)(struct shmlog *))dlsym(h, "shmlog_close");
	cr_assert(open2 && log2 && close2 && (void *)open2 != (void *)shmlog_open, "a distinct copy");

	struct shmlog_options o = {.dir = dir, .name = "twice"};
	struct shmlog *a, *b;
	cr_assert_eq(shmlog_open(&a, &o), 0);
	cr_assert_eq(open2(&b, &o), 0, "both copies create a segment: names do not collide");
	SHMLOG_INFO(a, "from the program %d", 1);
	static struct shmlog__site site = {"from the plugin %d", __FILE__, __LINE__, SHMLOG_LEVEL_INFO};
	log2(b, &site, 2);
	cr_assert_eq(count_segments(), 2);
	shmlog_close(a);
	close2(b);

	char *out = wpath("out.log"), *bin = th_build_path("shmlog-collector");
	char *argv[] = {bin, "--dir", dir, "--once", NULL};
	int st = th_waitpid_timeout(th_spawn(argv, out, NULL, NULL), 30000);
	cr_assert(st == 0);
	char *text = th_read_file(out, NULL);
	cr_assert(strstr(text, "]: from the program 1\n") && strstr(text, "]: from the plugin 2\n"), "%s", text);
	free(text);
	free(out);
	free(bin);
	free(orig);
	free(copy);
}

Test(survive, block_policy_without_collector_waits_its_timeout_then_counts_the_drop)
{
	char *pout = wpath("p.out"), *out = wpath("out.log");
	/* 4 KiB ring, nobody draining, 5 ms per call at most */
	char *args[] = {"-t", "1", "-r", "300", "-p", "block", "-T", "5", "-R", "4096", NULL};
	long long t0 = th_now_ms();
	int st = run_producer(pout, args, NULL);
	long long took = th_now_ms() - t0;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the producer is never stuck");
	char *po = read_or_fail(pout);
	long lost = -1;
	cr_assert(sscanf(strstr(po, "lost="), "lost=%ld", &lost) == 1);
	cr_assert(lost > 0 && lost < 300, "a 4 KiB ring holds some of 300 records: lost %ld", lost);
	cr_assert_geq(took, lost * 4, "each drop waited its timeout first (%lld ms for %ld drops)", took, lost);
	/* a collector started later catches up: written + lost = logged */
	char *bin = th_build_path("shmlog-collector");
	char *argv[] = {bin, "--dir", dir, "--once", NULL};
	st = th_waitpid_timeout(th_spawn(argv, out, NULL, NULL), 30000);
	cr_assert(st == 0);
	struct tally ty = {.threads = 1, .records = 300, .allow_other = true};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen + ty.lost, 300, "written %ld + lost %ld", ty.seen, ty.lost);
	cr_assert_eq(ty.lost, lost);
	free(ty.last);
	free(bin);
	free(po);
	free(pout);
	free(out);
}
