/*
 * helpers.c — see helpers.h.
 */
#include "helpers.h"

#include <dirent.h>
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

#include "shared/fmt.h"
#include "shared/record.h"
#include "tests/producer_prog.h"

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

char *th_path(const char *dir, const char *name)
{
	char *p;
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort(); /* out of memory in a test */
	return p;
}

char *th_zstd_d(const char *path, const char *scratch)
{
	char *argv[] = {"/usr/bin/zstd", "-d", "-q", "-c", (char *)path, NULL};
	if (access(argv[0], X_OK) != 0)
		return NULL;
	int st = th_waitpid_timeout(th_spawn(argv, scratch, "/dev/null", NULL), 60000);
	return st == 0 ? th_read_file(scratch, NULL) : NULL;
}

bool th_file_has_text(void *arg)
{
	struct th_file_has *fh = arg;
	char *t = th_read_file(fh->path, NULL);
	bool ok = t && strstr(t, fh->text);
	free(t);
	return ok;
}

void th_fill_disk(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		abort(); /* the test cannot go on */
	char zeros[4096] = {0};
	while (fwrite(zeros, 1, sizeof zeros, f) == sizeof zeros)
		;
	fclose(f);
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

/* The number after key in /proc/pid/status text, or -1. */
static long status_field(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

bool th_usage(pid_t pid, struct th_usage *u)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	char *st = th_read_file(path, NULL);
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	char *ss = th_read_file(path, NULL);
	const char *end = st ? strrchr(st, ')') : NULL; /* the name may hold anything */
	unsigned long ut = 0, stt = 0;
	bool ok = end && ss && sscanf(end + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt) == 2;
	if (ok) {
		u->cpu_ms = (long)((ut + stt) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
		u->hwm_kb = status_field(ss, "VmHWM:");
		u->rss_kb = status_field(ss, "VmRSS:");
		u->anon_kb = status_field(ss, "RssAnon:");
		u->switches = status_field(ss, "\nvoluntary_ctxt_switches:");
		snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
		DIR *d = opendir(path);
		u->fds = 0;
		for (struct dirent *e; d && (e = readdir(d));)
			u->fds += e->d_name[0] != '.';
		if (d)
			closedir(d);
		ok = d != NULL;
	}
	free(st);
	free(ss);
	return ok;
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

/* The source directory, from the build directory's meson-info. */
char *th_source_dir(void)
{
	char *info = th_build_path("meson-info/meson-info.json");
	char *j = th_read_file(info, NULL);
	free(info);
	const char *k = j ? strstr(j, "\"source\": \"") : NULL;
	char *src = NULL;
	if (k) {
		k += strlen("\"source\": \"");
		src = strndup(k, strcspn(k, "\""));
	}
	free(j);
	return src;
}

struct th_enc th_encode_args(const struct fmt_parsed *pf, uint32_t max_str, va_list ap)
{
	va_list a1;
	uint16_t slen[SHMLOG_MAX_ARGS];
	va_copy(a1, ap);
	struct th_enc e;
	e.size = record_args_size(slen, pf->kinds, pf->n_args, max_str, &a1);
	va_end(a1);
	e.p = malloc(e.size ? e.size : 1);
	if (!e.p)
		abort();
	va_list a2;
	va_copy(a2, ap);
	record_args_encode(e.p, slen, pf->kinds, pf->n_args, &a2);
	va_end(a2);
	return e;
}

void th_expect_msg(char *buf, size_t cap, int t, long i)
{
	char raw[512];
	snprintf(raw, sizeof raw, EXPECT_FMT, EXPECT_ARGS(t, i));
	/* the collector escapes control characters: only TAB occurs here */
	size_t o = 0;
	for (const char *p = raw; *p && o + 3 < cap; p++) {
		if (*p == '\t') {
			buf[o++] = '\\';
			buf[o++] = 't';
		} else {
			buf[o++] = *p;
		}
	}
	buf[o] = 0;
}
