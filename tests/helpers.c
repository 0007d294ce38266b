/*
 * helpers.c — see helpers.h.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char *th_mkdtemp(bool shm)
{
	char tmpl[128];
	snprintf(tmpl, sizeof tmpl, "%s/shmlog-test-XXXXXX", shm ? "/dev/shm" : "/tmp");
	if (!mkdtemp(tmpl))
		return NULL;
	return strdup(tmpl);
}

void th_rmrf(const char *path)
{
	if (!path || !*path || strcmp(path, "/") == 0)
		return;
	pid_t p = fork();
	if (p == 0) {
		execlp("rm", "rm", "-rf", path, (char *)NULL);
		_exit(127);
	}
	if (p > 0)
		waitpid(p, NULL, 0);
}

char *th_build_path(const char *rel)
{
	const char *b = getenv("SHMLOG_BUILD_DIR");
	char *out = NULL;
	if (asprintf(&out, "%s/%s", b ? b : ".", rel) < 0)
		return NULL;
	return out;
}

char *th_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

long long th_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool th_wait_until(bool (*pred)(void *), void *arg, int timeout_ms)
{
	long long end = th_now_ms() + timeout_ms;
	for (;;) {
		if (pred(arg))
			return true;
		if (th_now_ms() >= end)
			return pred(arg);
		struct timespec d = {0, 2 * 1000 * 1000};
		nanosleep(&d, NULL); /* polling interval of a bounded wait, not synchronisation */
	}
}

int th_waitpid_timeout(pid_t pid, int timeout_ms)
{
	long long end = th_now_ms() + timeout_ms;
	int st;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r < 0)
			return -1;
		if (th_now_ms() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		struct timespec d = {0, 2 * 1000 * 1000};
		nanosleep(&d, NULL);
	}
}

pid_t th_spawn(char *const argv[], const char *out_path, const char *err_path, char *const envp_extra[])
{
	pid_t p = fork();
	if (p != 0)
		return p;
	if (out_path) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			close(fd);
		}
	}
	if (err_path) {
		int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
	}
	for (size_t i = 0; envp_extra && envp_extra[i]; i++)
		putenv(envp_extra[i]);
	execv(argv[0], argv);
	_exit(127);
}

bool th_mount_tmpfs(const char *dir, const char *size)
{
	char opt[64];
	snprintf(opt, sizeof opt, "size=%s", size);
	char *argv[] = {"/bin/mount", "-t", "tmpfs", "-o", opt, "tmpfs", (char *)dir, NULL};
	return th_waitpid_timeout(th_spawn(argv, "/dev/null", "/dev/null", NULL), 10000) == 0;
}

void th_umount(const char *dir)
{
	/* lazy: a failed test may still hold a file in it open */
	char *argv[] = {"/bin/umount", "-l", (char *)dir, NULL};
	th_waitpid_timeout(th_spawn(argv, "/dev/null", "/dev/null", NULL), 10000);
}

uint64_t th_utc_ns(int y, int mon, int d, int h, int mi, int s, uint32_t ns)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};
	return (uint64_t)timegm(&tm) * 1000000000u + ns;
}

struct text_record th_sample_record(const char *msg)
{
	return (struct text_record){
		.ts_ns = th_utc_ns(2026, 11, 24, 1, 59, 46, 123456789),
		.level = TEXT_LEVEL_INFO,
		.name = "demo",
		.name_len = 4,
		.pid = 1234,
		.tid = 1240,
		.msg = msg,
		.msg_len = strlen(msg),
		.file = "demo.c",
		.file_len = 6,
		.line = 42,
	};
}
