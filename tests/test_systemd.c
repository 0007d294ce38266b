/*
 * test_systemd.c — shmlog-collector as a system service: under Type=notify
 * it sends READY=1 once it collects and STOPPING=1 on SIGTERM over a fake
 * $NOTIFY_SOCKET (a path, or an abstract "@name"), works without one, and
 * the installed unit passes `systemd-analyze verify` (its man pages
 * resolved); every man page lints clean under `groff -ww`.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "helpers.h"

TestSuite(systemd, .init = setup, .fini = teardown);

/* A datagram socket bound at name (a path, or "@name" abstract). Returns its fd. */
static int notify_listen(const char *name)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	cr_assert_lt(len, sizeof sa.sun_path);
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = 0;
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)), 0);
	return fd;
}

/* The next datagram on fd within 30 s, as a string in buf. */
static void notify_expect(int fd, const char *want)
{
	struct pollfd p = {fd, POLLIN, 0};
	cr_assert_eq(poll(&p, 1, 30000), 1, "no \"%s\" from the collector within 30 s", want);
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
	cr_assert_gt(n, 0);
	buf[n] = 0;
	cr_assert_str_eq(buf, want);
}

/* Start the collector on dir with NOTIFY_SOCKET=name, output to work/out. Returns its pid. */
static pid_t start_notified(const char *name)
{
	char *bin = th_build_path("shmlog-collector"), *out = wpath("out"), *env = NULL;
	cr_assert(asprintf(&env, "NOTIFY_SOCKET=%s", name) > 0);
	char *argv[] = {bin, "--dir", dir, NULL}, *envp[] = {env, NULL};
	pid_t p = th_spawn(argv, out, NULL, envp);
	cr_assert(p > 0);
	free(bin);
	free(out);
	free(env);
	return p;
}

/* Run producer_prog logging records (a string) and assert its flush through the collector succeeded. */
static void producer_flushes(const char *records)
{
	char *pout = wpath("producer.out");
	char *args[] = {"-r", (char *)records, "-f", "20000", NULL};
	int st = run_producer(pout, args, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char *text = th_read_file(pout, NULL);
	cr_assert(text && strstr(text, "flush=0"), "the collector did not take the records: %s", text);
	free(text);
	free(pout);
}

/* READY=1 comes when it collects (a producer's flush succeeds), STOPPING=1 on SIGTERM, then exit 0. */
static void check_notify_protocol(const char *name, int fd)
{
	pid_t c = start_notified(name);
	notify_expect(fd, "READY=1");
	producer_flushes("20"); /* it collects once it said so */
	kill(c, SIGTERM);
	notify_expect(fd, "STOPPING=1");
	int st = th_waitpid_timeout(c, 30000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "collector: 0x%x", st);
	struct tally ty = {.threads = 1, .records = 20, .allow_other = true};
	char *out = wpath("out");
	tally_output(out, &ty);
	cr_assert_eq(ty.seen, 20);
	free(ty.last);
	free(out);
}

Test(systemd, the_collector_says_ready_then_stopping_on_a_notify_socket_path)
{
	char *name = wpath("notify.sock");
	int fd = notify_listen(name);
	check_notify_protocol(name, fd);
	close(fd);
	free(name);
}

Test(systemd, the_collector_says_ready_then_stopping_on_an_abstract_notify_socket)
{
	char name[64];
	snprintf(name, sizeof name, "@shmlog-test-notify-%d", (int)getpid());
	int fd = notify_listen(name);
	check_notify_protocol(name, fd);
	close(fd);
}

Test(systemd, a_notify_socket_that_is_not_there_does_not_stop_the_collector)
{
	char *name = wpath("nobody-listens.sock");
	pid_t c = start_notified(name);
	producer_flushes("5");
	stop_collector(c);
	free(name);
}

/* Copy src into dst, replacing every "from" by "to" (from NULL: a plain copy). */
static void copy_replacing(const char *src, const char *dst, const char *from, const char *to)
{
	char *text = th_read_file(src, NULL);
	cr_assert(text, "%s is missing", src);
	FILE *f = fopen(dst, "w");
	cr_assert(f);
	for (char *p = text, *q; *p; p = q + strlen(from)) {
		q = from ? strstr(p, from) : NULL;
		if (!q) {
			fputs(p, f);
			break;
		}
		fwrite(p, 1, (size_t)(q - p), f);
		fputs(to, f);
	}
	fclose(f);
	free(text);
}

/* Run argv with MANPATH=manpath (or none); returns true if it exits 0 with nothing on stderr. */
static bool runs_clean(char *const argv[], const char *manpath)
{
	char *err = wpath("tool.err"), *env = NULL;
	cr_assert(asprintf(&env, "MANPATH=%s", manpath ? manpath : "") > 0);
	char *envp[] = {env, NULL};
	pid_t p = th_spawn(argv, "/dev/null", err, envp);
	cr_assert(p > 0);
	int st = th_waitpid_timeout(p, 60000);
	char *msg = th_read_file(err, NULL);
	bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && msg && !*msg;
	if (!ok)
		cr_log_error("%s: status 0x%x: %s", argv[0], st, msg ? msg : "");
	free(msg);
	free(err);
	free(env);
	return ok;
}

Test(systemd, the_unit_passes_systemd_analyze_verify)
{
	if (access("/usr/bin/systemd-analyze", X_OK) != 0)
		cr_skip_test("systemd-analyze is not installed");
	char *unit = th_build_path("shmlog-collector.service"), *bindir = th_build_path(""), *src = th_source_dir();
	cr_assert(src);
	/* the unit as installed, but starting the collector just built */
	char *copy = wpath("shmlog-collector.service"), *exec = NULL, *man = wpath("man"), *sect = NULL;
	char *built = NULL;
	cr_assert(asprintf(&built, "ExecStart=%s/shmlog-collector ", bindir) > 0);
	char *text = th_read_file(unit, NULL);
	cr_assert(text && (exec = strstr(text, "ExecStart=")), "no ExecStart in %s", unit);
	char *from = strndup(exec, (size_t)(strstr(exec, "shmlog-collector ") - exec) + strlen("shmlog-collector "));
	copy_replacing(unit, copy, from, built);
	/* its Documentation= pages, found by man(1) as they are installed */
	const char *pages[][2] = {{"man8", "shmlog-collector.8"}, {"man5", "shmlog-collector.conf.5"}};
	for (int i = 0; i < 2; i++) {
		cr_assert(asprintf(&sect, "%s/%s", man, pages[i][0]) > 0);
		cr_assert(mkdir(man, 0755) == 0 || access(man, F_OK) == 0);
		cr_assert_eq(mkdir(sect, 0755), 0);
		char *s = NULL, *d = NULL;
		cr_assert(asprintf(&s, "%s/man/%s", src, pages[i][1]) > 0 && asprintf(&d, "%s/%s", sect, pages[i][1]) > 0);
		copy_replacing(s, d, NULL, NULL);
		free(s);
		free(d);
		free(sect);
	}
	char *argv[] = {"/usr/bin/systemd-analyze", "verify", copy, NULL};
	cr_assert(runs_clean(argv, man));
	free(from);
	free(text);
	free(built);
	free(man);
	free(copy);
	free(unit);
	free(bindir);
	free(src);
}

Test(systemd, every_man_page_lints_clean_with_groff)
{
	char *src = th_source_dir();
	cr_assert(src);
	const char *pages[] = {"shmlog.1", "shmlog.3", "shmlog-collector.conf.5", "shmlog-collector.8"};
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
		char *path = NULL;
		cr_assert(asprintf(&path, "%s/man/%s", src, pages[i]) > 0);
		char *argv[] = {"/usr/bin/groff", "-ww", "-man", "-z", path, NULL};
		cr_expect(runs_clean(argv, NULL), "%s", pages[i]);
		free(path);
	}
	free(src);
}
