/*
 * pidinfo_fail.c — an LD_PRELOAD library for test_survive: the collector it
 * is loaded into gets ioctl(PIDFD_GET_INFO) (collector/pidinfo.h) failing.
 *
 *   by default             ENOTTY, every time: a kernel before Linux 6.15,
 *                          where a producer's exit status cannot be had
 *   PIDINFO_FAIL_ESRCH=N   ESRCH for the first N calls, then the real ioctl:
 *                          what a kernel answers while the process is being
 *                          reaped (seen in about 1.5 % of SIGKILLed children
 *                          here), after which it tells the status
 *
 * Every other ioctl goes through.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "../collector/pidinfo.h"

static _Atomic long calls;

int ioctl(int fd, unsigned long request, ...)
{
	static int (*real)(int, unsigned long, ...);
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "ioctl");
	if (request != (unsigned long)PIDINFO_GET)
		return real(fd, request, arg);
	const char *esrch = getenv("PIDINFO_FAIL_ESRCH"); /* getenv allocates nothing */
	if (!esrch) {
		errno = ENOTTY;
		return -1;
	}
	if (atomic_fetch_add(&calls, 1) < strtol(esrch, NULL, 10)) {
		errno = ESRCH;
		return -1;
	}
	return real(fd, request, arg);
}
