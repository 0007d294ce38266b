/*
 * failmalloc.c — an LD_PRELOAD library for test_oom: makes the allocations
 * of the program it is loaded into fail on purpose, to run its out-of-memory
 * paths for real.
 *
 * The program's own calls to malloc, calloc and realloc, and those of the
 * libraries it links (PCRE2, liburing, libsodium, zstd, OpenSSL), are
 * counted, from 1, in one counter for all threads, from the moment every
 * library is loaded (this library's constructor). Allocations glibc makes
 * inside itself (stdio, strdup) are not: they do not go through these
 * symbols. Nor are those made inside config_init() and config_read_file():
 * libconfig (1.5, Debian 12) does not check its allocations (its scanner and
 * parser use what a failed malloc returned, and a name it could not copy
 * comes back NULL), so a failure there tests libconfig, not shmlog. The same
 * holds for librelp's relpCltConnect() (librelp 1.11, Debian 12): 5 of the
 * 3,120 allocations of a drain into RELP, when they failed, crashed inside it.
 * Environment:
 *
 *   FAILMALLOC_AT=N      allocation number N fails (none: none fails)
 *   FAILMALLOC_EVERY=K   after N, every K-th allocation fails as well
 *   FAILMALLOC_COUNT=F   at exit, the number of allocations, then that of threads created, go to F
 *   FAILMALLOC_THREAD_AT=T  the T-th pthread_create() fails with EAGAIN (no memory or thread left)
 *   FAILMALLOC_TRAP=1    a failing allocation raises SIGTRAP first (run under gdb: where it is)
 *
 * Built only without a sanitizer (a sanitizer has its own allocator).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

static long fail_at = -1, every, thread_fail_at = -1;
static _Atomic long count, threads;
static _Atomic int ready;

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name); /* getenv allocates nothing */
	return v && *v ? strtol(v, NULL, 10) : dflt;
}

/* libconfig's entry points that allocate, called by the collector: what they allocate never fails
 * (spared: how deep this thread is in such calls; relpCltConnect below is one too). */
static __thread int spared;

void config_init(void *config)
{
	static void (*real)(void *);
	spared++;
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "config_init");
	real(config);
	spared--;
}

int config_read_file(void *config, const char *path)
{
	static int (*real)(void *, const char *);
	spared++;
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "config_read_file");
	int rc = real(config, path);
	spared--;
	return rc;
}

/* librelp's session opening (its allocations are not all checked): what it allocates never fails. */
int relpCltConnect(void *clt, int family, unsigned char *port, unsigned char *host)
{
	static int (*real)(void *, int, unsigned char *, unsigned char *);
	spared++;
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "relpCltConnect");
	int rc = real(clt, family, port, host);
	spared--;
	return rc;
}

__attribute__((constructor)) static void arm(void)
{
	fail_at = env_long("FAILMALLOC_AT", -1);
	every = env_long("FAILMALLOC_EVERY", 0);
	thread_fail_at = env_long("FAILMALLOC_THREAD_AT", -1);
	atomic_store_explicit(&ready, 1, memory_order_release);
}

/* Whether this allocation fails. */
static int fail(void)
{
	if (!atomic_load_explicit(&ready, memory_order_acquire) || spared)
		return 0;
	long n = atomic_fetch_add_explicit(&count, 1, memory_order_relaxed) + 1;
	if (fail_at < 1 || n < fail_at)
		return 0;
	return n == fail_at || (every > 0 && (n - fail_at) % every == 0);
}

/* NULL with errno ENOMEM, as a real failure. */
static void *failed(void)
{
	if (getenv("FAILMALLOC_TRAP"))
		raise(SIGTRAP); /* under gdb: where it failed */
	errno = ENOMEM;
	return NULL;
}

void *malloc(size_t n)
{
	return fail() ? failed() : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	return fail() ? failed() : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	return fail() ? failed() : __libc_realloc(p, n);
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	if (atomic_fetch_add_explicit(&threads, 1, memory_order_relaxed) + 1 == thread_fail_at)
		return EAGAIN;
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "pthread_create");
	return real(t, attr, fn, arg);
}

__attribute__((destructor)) static void tell_count(void)
{
	const char *path = getenv("FAILMALLOC_COUNT");
	if (!path)
		return;
	char buf[48];
	int len = snprintf(buf, sizeof buf, "%ld %ld\n", atomic_load(&count), atomic_load(&threads));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, buf, (size_t)len) != len)
			(void)0; /* the test then finds no count */
		close(fd);
	}
}
