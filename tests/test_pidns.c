/*
 * test_pidns.c — a producer in another pid namespace (a container sharing
 * /dev/shm): the pid in its header is its own namespace's, which here names
 * no process, so only its liveness lock (shared/abi.h SHMLOG_SEG_LOCK) tells
 * that it runs. Real processes: `unshare --pid --fork` runs a shell as the new
 * namespace's init, which runs tests/producer_prog as a pid chosen to be free
 * here, with its own /proc as in a container. Making a pid namespace needs root.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "helpers.h"

static void setup_root(void)
{
	setup();
	if (geteuid() != 0)
		cr_skip_test("makes a pid namespace: needs root");
	char *argv[] = {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "/bin/true", NULL};
	if (th_waitpid_timeout(th_spawn(argv, "/dev/null", "/dev/null", NULL), 20000) != 0)
		cr_skip_test("unshare --pid is refused here");
}

static pid_t ns_unshare; /* the test's `unshare` */

/* A failed test leaves its producer waiting: ending unshare ends the namespace (--kill-child). */
static void end_ns(void)
{
	if (ns_unshare > 0) {
		kill(ns_unshare, SIGTERM);
		th_waitpid_timeout(ns_unshare, 20000);
	}
	teardown();
}

TestSuite(pidns, .init = setup_root, .fini = end_ns, .timeout = 120);

/* A pid that names no process here, far from the ones being handed out. */
static pid_t free_pid(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	long max = 32768;
	cr_assert(f && fscanf(f, "%ld", &max) == 1);
	fclose(f);
	for (long p = (getpid() + max / 2) % max, tries = 0; tries < max; p = (p + 1) % max, tries++)
		if (p > 300 && kill((pid_t)p, 0) < 0 && errno == ESRCH)
			return (pid_t)p;
	cr_assert_fail("no free pid");
	return 0;
}

/*
 * Start tests/producer_prog -d dir ARGS as pid inner of a new pid namespace
 * (its init, a shell, sets the namespace's last pid first and waits for it).
 * Returns the pid here of `unshare`, which exits with the producer's status.
 */
static pid_t spawn_in_pidns(pid_t inner, const char *out, char *const args[])
{
	char *bin = th_build_path("tests/producer_prog"), last[32];
	snprintf(last, sizeof last, "%d", (int)inner - 1);
	/* not exec'd (the shell's last command would be): the producer must not be the namespace's pid 1 */
	/* its own /proc, as in a container (a sanitizer's leak check reads /proc/PID at exit) */
	char *argv[40] = {"/usr/bin/unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "/bin/sh", "-c",
			  "echo $0 > /proc/sys/kernel/ns_last_pid && \"$@\"; st=$?; exit $st", last, bin, "-d", dir};
	int n = 12;
	for (int i = 0; args[i] && n < 39; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t p = th_spawn(argv, out, NULL, NULL);
	cr_assert(p > 0);
	free(bin);
	return ns_unshare = p;
}

/* Create the empty file path: a producer's go-ahead. */
static void touch(const char *path)
{
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fclose(f);
}

/* Run `shmlog recover --cleanup DIR`, its stdout to out and stderr to err. Returns its wait status. */
static int recover_cleanup(const char *out, const char *err)
{
	char *bin = th_build_path("shmlog");
	char *argv[] = {bin, "recover", "--cleanup", dir, NULL};
	int st = th_waitpid_timeout(th_spawn(argv, out, err, NULL), 20000);
	free(bin);
	return st;
}

Test(pidns, a_producer_whose_pid_names_no_process_here_is_collected_while_it_runs_and_its_end_is_seen)
{
	pid_t inner = free_pid();
	char *out = wpath("out.log"), *err = wpath("err.log"), *pout = wpath("prod.out");
	char *between = wpath("between"), *done = wpath("done");
	pid_t c = start_collector(out, err, NULL, NULL);
	char *args[] = {"-n", "contained", "-r", "100", "-w", "2", "-B", between, "-f", "5000", "-W", done, NULL};
	pid_t u = spawn_in_pidns(inner, pout, args);
	struct file_wait first = {out, 100};
	cr_assert(th_wait_until(file_has_lines, &first, 20000), "the first wave is collected");
	cr_assert_eq(count_segments(), 1, "its segment stays while it runs, though its pid %d names nobody here",
		     (int)inner);
	touch(between);
	struct file_wait second = {out, 200};
	cr_assert(th_wait_until(file_has_lines, &second, 20000), "the second wave, logged after the first was "
		  "drained, is collected too: %d lines", count_in_file(out, "\n"));
	touch(done);
	int st = th_waitpid_timeout(u, 20000);
	ns_unshare = 0;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "producer status %d", st);
	cr_assert(th_wait_until(no_segments, NULL, 20000), "its end is seen by its lock: segment removed");
	stop_collector(c);
	struct tally ty = {.threads = 1, .records = 200, .pid = inner};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 200, "every record, under the producer's own pid %d", (int)inner);
	cr_assert_eq(ty.ended, 1);
	char want[64];
	snprintf(want, sizeof want, "[shmlog] process %d exited", (int)inner);
	cr_assert_eq(count_in_file(out, want), 1, "its end, told by its own pid");
	free(ty.last);
	free(out);
	free(err);
	free(pout);
	free(between);
	free(done);
}

Test(pidns, recover_leaves_a_running_producer_of_another_pid_namespace_alone)
{
	pid_t inner = free_pid();
	char *pout = wpath("prod.out"), *out = wpath("recover.out"), *err = wpath("recover.err"), *done = wpath("done");
	char *args[] = {"-n", "contained", "-r", "10", "-f", "0", "-W", done, NULL};
	pid_t u = spawn_in_pidns(inner, pout, args);
	struct file_needle logged = {pout, "flush="};
	cr_assert(th_wait_until(file_says, &logged, 20000), "the producer has logged");
	cr_assert_eq(recover_cleanup(out, err), 0);
	cr_assert_eq(count_in_file(err, "is still running; skipped"), 1, "its lock says it runs");
	cr_assert_eq(count_in_file(out, " contained["), 0);
	cr_assert_eq(count_segments(), 1, "its segment is kept, though its pid %d names nobody here", (int)inner);
	touch(done);
	int st = th_waitpid_timeout(u, 20000);
	ns_unshare = 0;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "producer status %d", st);
	cr_assert_eq(recover_cleanup(out, err), 0);
	struct tally ty = {.threads = 1, .records = 10, .pid = inner};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 10, "once it has ended, every record is recovered");
	cr_assert_eq(ty.ended, 1);
	free(ty.last);
	cr_assert_eq(count_segments(), 0);
	free(pout);
	free(out);
	free(err);
	free(done);
}
