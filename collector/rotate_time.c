/*
 * rotate_time.c — the time intervals of rotate_every, and their names.
 *
 * An interval is found on the wall clock of the records' time zone (UTC, or
 * the system's with local_time): "daily" starts at rotate_at each day, an
 * hour or a duration starts at a multiple of it since that day's midnight
 * (a duration that does not divide a day ends early at midnight). Across a
 * DST change the wall clock repeats or skips an hour: the start is then the
 * latest instant at or before the record with the wanted wall time, and a
 * start that does not exist (skipped) is the instant mktime() moves it to.
 */
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "rotate.h"

static void to_tm(const struct rotate *r, int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;
	if (r->local_time)
		localtime_r(&tt, tm);
	else
		gmtime_r(&tt, tm);
}

/* Bring a calendar date with an out-of-range day (day 0) back into range; the time fields are kept. */
static void normalise_date(struct tm *tm)
{
	struct tm c = *tm;
	time_t x = timegm(&c);
	gmtime_r(&x, &c);
	tm->tm_year = c.tm_year;
	tm->tm_mon = c.tm_mon;
	tm->tm_mday = c.tm_mday;
}

static bool same_wall(const struct tm *a, const struct tm *b)
{
	return a->tm_mday == b->tm_mday && a->tm_hour == b->tm_hour && a->tm_min == b->tm_min && a->tm_sec == b->tm_sec;
}

/* The instant of wall time want at or before t (the later reading of a repeated hour). */
static int64_t from_wall(const struct rotate *r, const struct tm *want, int64_t t)
{
	struct tm c = *want;
	if (!r->local_time)
		return (int64_t)timegm(&c);
	int64_t best = INT64_MIN;
	for (int dst = 0; dst <= 1; dst++) {
		c = *want;
		c.tm_isdst = dst;
		time_t v = mktime(&c);
		struct tm back;
		to_tm(r, (int64_t)v, &back);
		if (v != (time_t)-1 && (int64_t)v <= t && same_wall(&back, want) && (int64_t)v > best)
			best = (int64_t)v;
	}
	if (best != INT64_MIN)
		return best;
	c = *want; /* a wall time the clock skipped */
	c.tm_isdst = -1;
	return (int64_t)mktime(&c);
}

int64_t rotate_interval_start(const struct rotate *r, int64_t t)
{
	struct tm tm;
	to_tm(r, t, &tm);
	uint32_t sod = (uint32_t)(tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
	uint32_t s = r->daily ? r->at_s : sod / r->every_s * r->every_s;
	int back = r->daily && sod < s;
	for (int i = 0; i < 3; i++, back++) {
		struct tm want = tm;
		want.tm_mday -= back;
		want.tm_hour = (int)(s / 3600);
		want.tm_min = (int)(s / 60 % 60);
		want.tm_sec = (int)(s % 60);
		normalise_date(&want);
		int64_t v = from_wall(r, &want, t);
		if (v <= t)
			return v;
	}
	return t;
}

void rotate_label(const struct rotate *r, int64_t start, char *out, size_t size)
{
	struct tm tm;
	to_tm(r, start, &tm);
	const char *f = r->daily || r->every_s % 86400 == 0 ? "%Y-%m-%d"
			: r->every_s % 3600 == 0		  ? "%Y-%m-%dT%H"
			: r->every_s % 60 == 0		  ? "%Y-%m-%dT%H%M"
							  : "%Y-%m-%dT%H%M%S";
	if (strftime(out, size, f, &tm) == 0 && size)
		out[0] = '\0';
}
