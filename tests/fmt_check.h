/*
 * fmt_check.h — the assertions test_fmt.c and test_fmt_parse.c share: a
 * format fmt_parse() accepts, and one it refuses with a given reason.
 */
#ifndef SHMLOG_TESTS_FMT_CHECK_H
#define SHMLOG_TESTS_FMT_CHECK_H

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "shared/fmt.h"

static inline void parse_ok(struct fmt_parsed *pf, const char *fmt)
{
	const char *err = NULL;
	int r = fmt_parse(pf, fmt, strlen(fmt), &err);
	cr_assert_eq(r, 0, "fmt_parse(\"%s\") = %d (%s)", fmt, r, err ? err : "");
}

static inline void assert_refused(const char *fmt, size_t len, const char *reason_part)
{
	struct fmt_parsed pf;
	const char *err = NULL;
	int r = fmt_parse(&pf, fmt, len, &err);
	cr_assert_eq(r, -EINVAL, "fmt_parse(\"%.*s\") = %d, want -EINVAL", (int)len, fmt, r);
	cr_assert_not_null(err, "no reason for \"%.*s\"", (int)len, fmt);
	cr_assert(strstr(err, reason_part) != NULL, "reason for \"%.*s\" is \"%s\", want it to mention \"%s\"",
		  (int)len, fmt, err, reason_part);
	cr_assert_eq(fmt_parse(&pf, fmt, len, NULL), -EINVAL, "a NULL err pointer is allowed");
}

static inline void refused(const char *fmt, const char *reason_part)
{
	assert_refused(fmt, strlen(fmt), reason_part);
}

#endif
