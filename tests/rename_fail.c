/*
 * rename_fail.c — an LD_PRELOAD library for test_survive: renameat2() fails
 * with EACCES in every process but the one that loaded it (that is, in a
 * forked child), so the child's own segment is made, mapped and
 * initialised, and then cannot be published under its name. Every other
 * call goes through.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

static pid_t loader;

__attribute__((constructor)) static void remember_loader(void)
{
	loader = getpid();
}

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags)
{
	static int (*real)(int, const char *, int, const char *, unsigned int);
	if (getpid() != loader) {
		errno = EACCES;
		return -1;
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "renameat2");
	return real(olddirfd, oldpath, newdirfd, newpath, flags);
}
