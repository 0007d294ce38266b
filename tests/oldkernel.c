/*
 * oldkernel.c — an LD_PRELOAD library for test_survive: the collector it is
 * loaded into sees a kernel before Linux 6.15, where ioctl(PIDFD_GET_INFO)
 * fails with ENOTTY (collector/pidinfo.h), so a producer's exit status
 * cannot be had. Every other ioctl goes through.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/ioctl.h>

#include "../collector/pidinfo.h"

int ioctl(int fd, unsigned long request, ...)
{
	static int (*real)(int, unsigned long, ...);
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (request == (unsigned long)PIDINFO_GET) {
		errno = ENOTTY;
		return -1;
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "ioctl");
	return real(fd, request, arg);
}
