/*
 * c_strict.c — shmlog.h as a strict ISO C program uses it (-std=c11, c17:
 * no GNU extensions, __STRICT_ANSI__): every level with and without
 * arguments, and the _KV forms with and without them. test_cxx.c compiles
 * it with gcc and clang under -Wall -Wextra -Werror; it is never run.
 */
#include <shmlog.h>

void log_every_form(struct shmlog *lg, int n, const char *s, double d);

void log_every_form(struct shmlog *lg, int n, const char *s, double d)
{
	SHMLOG_TRACE(lg, "no arguments");
	SHMLOG_DEBUG(lg, "one %d", n);
	SHMLOG_INFO(lg, "three %d %s %f", n, s, d);
	SHMLOG_WARN(lg, "no arguments");
	SHMLOG_ERROR(lg, "%s", s);
	SHMLOG_CRITICAL(lg, "no arguments");
	SHMLOG_TRACE_KV(lg, ("n", n), "fields, no arguments");
	SHMLOG_DEBUG_KV(lg, ("n", n, "s", s), "fields and %d", n);
	SHMLOG_INFO_KV(lg, ("d", d, "b", n > 0), "fields, no arguments");
	SHMLOG_WARN_KV(lg, ("s", s), "%s %f", s, d);
	SHMLOG_ERROR_KV(lg, ("n", n), "fields, no arguments");
	SHMLOG_CRITICAL_KV(lg, ("n", n), "%d", n);
}
