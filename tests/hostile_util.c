/*
 * hostile_util.c — see hostile_util.h.
 */
#include "hostile_util.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "helpers.h"

/*
 * The honest producer: 2 threads x 2000 records, all of them in out, which
 * has lines lines then: every segment is drained and removed unless live
 * (lines > 0).
 */
void run_honest_and_check_in(const char *out, long lines)
{
	run_honest_as_and_check_in(0, out, lines);
}

/* Run the honest producer as uid (through setpriv unless 0) and wait. Returns its wait status. */
static int run_honest_as(uid_t uid)
{
	char *args[] = {"-n", "honest", "-t", "2", "-r", "2000", "-C", NULL};
	if (uid == 0)
		return run_producer("/dev/null", args, NULL);
	char *bin = th_build_path("tests/producer_prog"), ru[32], rg[32];
	snprintf(ru, sizeof ru, "--reuid=%u", (unsigned)uid);
	snprintf(rg, sizeof rg, "--regid=%u", (unsigned)uid);
	char *argv[] = {"/usr/bin/setpriv", ru, rg, "--clear-groups", bin, "-d", dir, "-n", "honest", "-t", "2",
			"-r", "2000", "-C", NULL};
	int st = th_waitpid_timeout(th_spawn(argv, "/dev/null", NULL, NULL), 120000);
	free(bin);
	return st;
}

void run_honest_as_and_check_in(uid_t uid, const char *out, long lines)
{
	cr_assert_eq(run_honest_as(uid), 0);
	struct file_wait w = {out, lines};
	if (lines)
		cr_assert(th_wait_until(file_has_lines, &w, 20000), "every record is written");
	else
		cr_assert(th_wait_until(no_segments, NULL, 20000), "every segment is drained and removed");
	struct tally ty = {.threads = 2, .records = 2000, .allow_other = true};
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 4000, "every honest record arrives");
	free(ty.last);
}

void run_honest_and_check(const char *out)
{
	run_honest_and_check_in(out, 0);
}

/* Assert c's memory bound and that it holds at most max_fds descriptors, then that SIGTERM ends it in time with status 0. */
void check_bounds_and_stop(pid_t c, long max_fds)
{
	struct th_usage u;
	cr_assert(th_usage(c, &u));
	cr_assert_leq(u.hwm_kb, MAX_HWM_KB, "peak RSS %ld KiB", u.hwm_kb);
	cr_assert_leq(u.fds, max_fds, "%ld fds", u.fds);
	stop_in_time(c);
}

void stop_in_time(pid_t c)
{
	long long t = th_now_ms();
	kill(c, SIGTERM);
	int st = th_waitpid_timeout(c, SIGTERM_EXIT_MS);
	cr_assert(st != -1, "exit within %d ms of SIGTERM", SIGTERM_EXIT_MS);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d after %lld ms", st, th_now_ms() - t);
}

/* What c used over IDLE_SPELL_MS: *cpu_ms of CPU time, *wakeups voluntary context switches. */
void idle_spell(pid_t c, long *cpu_ms, long *wakeups)
{
	struct th_usage a, b;
	cr_assert(th_usage(c, &a));
	long long until = th_now_ms() + IDLE_SPELL_MS;
	while (th_now_ms() < until) /* a measuring spell, not a wait for anything */
		usleep(50 * 1000);
	cr_assert(th_usage(c, &b));
	*cpu_ms = b.cpu_ms - a.cpu_ms;
	*wakeups = b.switches - a.switches;
}

/* Assert that c, with nothing left to do, uses little CPU; then its bounds and stop. */
void check_idle_and_stop(pid_t c, long max_fds)
{
	long cpu, wakeups;
	idle_spell(c, &cpu, &wakeups);
	cr_assert_leq(cpu, IDLE_CPU_MS, "idle CPU: %ld ms in %d ms", cpu, IDLE_SPELL_MS);
	check_bounds_and_stop(c, max_fds);
}

