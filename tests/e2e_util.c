/*
 * e2e_util.c — see e2e_util.h.
 */
#include "e2e_util.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

char *dir;   /* segment directory of the test */
char *work;  /* where outputs go */

void setup(void)
{
	dir = th_mkdtemp(true);
	work = th_mkdtemp(false);
	cr_assert(dir && work);
}

/* Collectors started and not yet stopped: a failed assertion ends a test
 * before it stops its collector, so teardown does. */
static pid_t running[8];

void teardown(void)
{
	for (int i = 0; i < 8; i++) {
		/* only a child not yet reaped: its pid cannot have been reused */
		if (running[i] > 0 && waitpid(running[i], NULL, WNOHANG) == 0) {
			kill(running[i], SIGKILL);
			waitpid(running[i], NULL, 0);
		}
		running[i] = 0;
	}
	th_rmrf(dir);
	th_rmrf(work);
	free(dir);
	free(work);
}

char *wpath(const char *name)
{
	return th_path(work, name);
}

/* Start the collector on dir, stdout to out, stderr to err; extra args may follow (NULL-terminated). */
char *wconfig(const char *fmt, ...)
{
	char *path = wpath("c.cfg");
	FILE *f = fopen(path, "w");
	cr_assert(f, "cannot write %s", path);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	return path;
}

pid_t start_collector(const char *out, const char *err, const char *a1, const char *a2)
{
	char *bin = th_build_path("shmlog-collector");
	char *argv[] = {bin, "--dir", dir, (char *)a1, (char *)a2, NULL};
	pid_t p = start_collector_argv(argv, out, err);
	free(bin);
	return p;
}

pid_t start_collector_argv(char *const argv[], const char *out, const char *err)
{
	pid_t p = th_spawn(argv, out, err, NULL);
	cr_assert(p > 0);
	for (int i = 0; i < 8; i++) {
		if (running[i] <= 0) {
			running[i] = p;
			break;
		}
	}
	return p;
}

void stop_collector(pid_t p)
{
	for (int i = 0; i < 8; i++)
		if (running[i] == p)
			running[i] = 0;
	kill(p, SIGTERM);
	int st = th_waitpid_timeout(p, 30000);
	cr_assert(st != -1, "collector did not exit within 30 s of SIGTERM");
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "collector exit status %d", st);
}

pid_t spawn_producer(const char *out, char *const args[], char *const env[])
{
	char *bin = th_build_path("tests/producer_prog");
	char *argv[32] = {bin, "-d", dir};
	int n = 3;
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t p = th_spawn(argv, out, NULL, env);
	cr_assert(p > 0);
	free(bin);
	return p;
}

/* Run the test producer with args (NULL-terminated) and wait; returns its wait status. */
int run_producer(const char *out, char *const args[], char *const env[])
{
	int st = th_waitpid_timeout(spawn_producer(out, args, env), 120000);
	cr_assert(st != -1, "producer did not finish within 120 s");
	return st;
}

/* Split "TS LEVEL NAME[PID/TID]: MSG" (line is modified). */
bool parse_line(char *line, struct parsed_line *pl)
{
	char *sp1 = strchr(line, ' ');
	if (!sp1)
		return false;
	char *sp2 = strchr(sp1 + 1, ' ');
	if (!sp2 || sp2 - sp1 - 1 >= (long)sizeof pl->level)
		return false;
	memcpy(pl->level, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	pl->level[sp2 - sp1 - 1] = 0;
	char *br = strchr(sp2, '[');
	char *colon = br ? strstr(br, "]: ") : NULL;
	if (!br || !colon || br - sp2 - 1 >= (long)sizeof pl->name)
		return false;
	memcpy(pl->name, sp2 + 1, (size_t)(br - sp2 - 1));
	pl->name[br - sp2 - 1] = 0;
	if (sscanf(br, "[%d/%d]", &pl->pid, &pl->tid) != 2)
		return false;
	pl->msg = colon + 3;
	return true;
}

/* Check every "rec" line of out: exact text, INFO, per-thread order, no duplicates. */
void tally_output(const char *out, struct tally *ty)
{
	char *text = th_read_file(out, NULL);
	cr_assert(text, "no output file %s", out);
	ty->last = calloc((size_t)ty->threads, sizeof *ty->last);
	for (int t = 0; t < ty->threads; t++)
		ty->last[t] = -1;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct parsed_line pl;
		cr_assert(parse_line(line, &pl), "malformed line: %s", line);
		if (ty->pid && pl.pid != ty->pid)
			continue;
		long n;
		if (sscanf(pl.msg, "%ld records lost", &n) == 1) {
			ty->lost += n;
			continue;
		}
		if (strncmp(pl.msg, "debug t=", 8) == 0) {
			ty->debug++;
			continue;
		}
		if (strstr(pl.msg, "] process ") || strstr(pl.msg, "ended;")) {
			ty->ended++;
			continue;
		}
		int t;
		long i;
		if (ty->allow_other && sscanf(pl.msg, "rec t=%d i=%ld", &t, &i) != 2) {
			ty->other++;
			continue;
		}
		cr_assert(sscanf(pl.msg, "rec t=%d i=%ld", &t, &i) == 2, "unexpected line: %s", pl.msg);
		cr_assert(t >= 0 && t < ty->threads && i >= 0 && i < ty->records, "out of range: %s", pl.msg);
		cr_assert(i > ty->last[t], "thread %d: record %ld after %ld (duplicate or out of order)", t, i,
			  ty->last[t]);
		ty->last[t] = i;
		char want[512];
		th_expect_msg(want, sizeof want, t, i);
		cr_assert_str_eq(pl.msg, want);
		cr_assert_str_eq(pl.level, "INFO");
		ty->seen++;
	}
	free(text);
}

int count_segments(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += strstr(e->d_name, ".shm") != NULL;
	if (d)
		closedir(d);
	return n;
}

bool no_segments(void *arg)
{
	(void)arg;
	return count_segments() == 0;
}


bool file_has_bytes(void *arg)
{
	struct file_wait *w = arg;
	struct stat sb;
	return stat(w->path, &sb) == 0 && sb.st_size >= w->n;
}

void assert_every_record(const char *path, int threads, long records)
{
	struct tally ty = {.threads = threads, .records = records};
	tally_output(path, &ty);
	cr_assert_eq(ty.seen, threads * records, "%s: saw %ld of %ld records", path, ty.seen, threads * records);
	for (int t = 0; t < threads; t++)
		cr_assert_eq(ty.last[t], records - 1);
	cr_assert_eq(ty.lost, 0);
	free(ty.last);
}

bool file_has_lines(void *arg)
{
	struct file_wait *w = arg;
	char *t = th_read_file(w->path, NULL);
	long n = 0;
	for (char *p = t; p && *p; p++)
		n += *p == '\n';
	free(t);
	return n >= w->n;
}

bool is_dir(void *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

bool file_says(void *arg)
{
	const struct file_needle *fn = arg;
	return count_in_file(fn->path, fn->needle) > 0;
}

int count_in_file(const char *path, const char *needle)
{
	char *t = th_read_file(path, NULL);
	int n = 0;
	for (const char *p = t; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(t);
	return n;
}

pid_t full_disk_then_space(const char *cfg, const char *err, const char *filler, const char *pout)
{
	th_fill_disk(filler);
	pid_t c = start_collector("/dev/null", err, "--config", cfg);
	char *args[] = {"-t", "2", "-r", "2000", "-f", "300", NULL};
	run_producer(pout, args, NULL);
	struct th_file_has nospace = {err, "No space left on device"};
	cr_assert(th_wait_until(th_file_has_text, &nospace, 10000), "the condition is reported");
	cr_assert_eq(count_segments(), 1, "nothing is consumed while the writer cannot write");
	unlink(filler);
	cr_assert(th_wait_until(no_segments, NULL, 20000), "the writer catches up by itself");
	return c;
}

void rename_and_sighup_under_load(const char *cfg, const char *ref, const char *path, const char *moved,
				  const char *pout)
{
	pid_t c = start_collector("/dev/null", NULL, "--config", cfg);
	char *args[] = {"-t", "2", "-r", "40000", "-p", "block", "-P", "5000", "-f", "30000", "-C", NULL};
	pid_t p = spawn_producer(pout, args, NULL);
	struct file_wait g = {ref, 1000};
	cr_assert(th_wait_until(file_has_lines, &g, 20000), "no records reached %s", ref);
	cr_assert_eq(rename(path, moved), 0);
	kill(c, SIGHUP);
	cr_assert(th_wait_until(no_segments, NULL, 60000), "segments not drained");
	th_waitpid_timeout(p, 30000);
	stop_collector(c);
}

void run_logrotate(const char *app, const char *directives)
{
	char *conf = wpath("logrotate.conf"), *state = wpath("logrotate.state"), *err = wpath("logrotate.err");
	FILE *f = fopen(conf, "w");
	cr_assert(f);
	fprintf(f, "%s {\n%s\n}\n", app, directives);
	fclose(f);
	char *argv[] = {"/usr/sbin/logrotate", "-s", state, "-f", conf, NULL};
	cr_assert(access(argv[0], X_OK) == 0, "logrotate is not installed (./dev installs it)");
	int st = th_waitpid_timeout(th_spawn(argv, NULL, err, NULL), 30000);
	char *e = th_read_file(err, NULL);
	cr_assert(st == 0, "logrotate failed (status %d): %s", st, e ? e : "");
	free(e);
	free(conf);
	free(state);
	free(err);
}

void logrotate_while_logging(const char *cfg, const char *app, const char *directives, bool hup, const char *pout)
{
	pid_t c = start_collector("/dev/null", NULL, "--config", cfg);
	char *args[] = {"-t", "2", "-r", "40000", "-p", "block", "-P", "5000", "-f", "30000", "-C", NULL};
	pid_t p = spawn_producer(pout, args, NULL);
	struct file_wait g = {app, 65536};
	cr_assert(th_wait_until(file_has_bytes, &g, 20000), "%s does not grow", app);
	char all[512];
	snprintf(all, sizeof all, "%s\n", directives);
	if (hup)
		snprintf(all + strlen(all), sizeof all - strlen(all), "postrotate\n  kill -HUP %d\nendscript", (int)c);
	run_logrotate(app, all);
	int st;
	cr_assert_eq(waitpid(p, &st, WNOHANG), 0, "the producer ended before logrotate did: nothing overlapped");
	st = th_waitpid_timeout(p, 60000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert(th_wait_until(no_segments, NULL, 10000), "segment not removed after close");
	stop_collector(c);
}
