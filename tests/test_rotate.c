/*
 * test_rotate.c — rotation of the file writer (collector/rotate*.c) through
 * the real output module and a real io_uring: the size boundary to the
 * byte, a record bigger than max_bytes, pruning to backups, numbering picked
 * up after a restart, a rename that fails, and time boundaries taken from
 * the records' timestamps (UTC, and a zone with a DST change).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collector/config.h"
#include "collector/output.h"
#include "collector/rotate.h"
#include "tests/helpers.h"
#include "tests/writer_util.h"


TestSuite(rotate, .init = wu_setup, .fini = wu_teardown);

static char msgs[64][32];
static unsigned n_msgs;

/* Give the output record number i ("rec 0000i") with timestamp ts (s) + ns. */
static void give_at(struct output *o, unsigned i, int64_t ts, uint32_t ns)
{
	cr_assert_lt(n_msgs, 64u);
	snprintf(msgs[n_msgs], sizeof msgs[0], "rec %05u", i);
	struct text_record r = wu_rec(3, msgs[n_msgs++], (uint64_t)ts * 1000000000u + ns);
	cr_assert_eq(output_add(o, &r, NULL), 1u);
}

static void give(struct output *o, unsigned i)
{
	give_at(o, i, 1, 0);
}

/* The line of record i at ts (s) + ns, as the file holds it. */
static char *line_at(unsigned i, int64_t ts, uint32_t ns)
{
	char msg[32];
	snprintf(msg, sizeof msg, "rec %05u", i);
	struct text_record r = wu_rec(3, msg, (uint64_t)ts * 1000000000u + ns);
	struct sbuf b = {0};
	text_append(&b, &r, TEXT_FORMAT_TEXT, false);
	cr_assert(b.len);
	char *s = strndup(b.data, b.len);
	sbuf_free(&b);
	return s;
}

static size_t line_len(void)
{
	char *l = line_at(0, 1, 0);
	size_t n = strlen(l);
	free(l);
	return n;
}

/* The lines of records first..last (timestamp 1 s), concatenated. */
static char *lines(unsigned first, unsigned last)
{
	size_t cap = (last - first + 1) * 128 + 1, len = 0;
	char *s = calloc(1, cap);
	for (unsigned i = first; i <= last; i++) {
		char *l = line_at(i, 1, 0);
		len += (size_t)snprintf(s + len, cap - len, "%s", l);
		free(l);
	}
	return s;
}


/* Assert that file name holds exactly want. */
static void holds(const char *name, const char *want)
{
	char *p = wu_path(name);
	char *got = th_read_file(p, NULL);
	cr_assert(got, "%s is missing", name);
	cr_assert_str_eq(got, want, "%s", name);
	free(got);
	free(p);
}

/* Assert that file name holds exactly the lines of records first..last. */
static void holds_records(const char *name, unsigned first, unsigned last)
{
	char *want = lines(first, last);
	holds(name, want);
	free(want);
}

static void put(const char *name, const char *text)
{
	char *p = wu_path(name);
	FILE *f = fopen(p, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

/* An output with one file writer on wu_dir/app.log and the extra keys given. */
static void open_app(struct output *o, const char *keys)
{
	char list[1024];
	snprintf(list, sizeof list, "( { type = \"file\"; path = \"%s/app.log\"; %s } )", wu_dir, keys);
	wu_output_from(o, wu_dir, list);
}

static void open_app_max(struct output *o, size_t max_bytes, const char *more)
{
	char keys[512];
	snprintf(keys, sizeof keys, "max_bytes = %zu; %s", max_bytes, more);
	open_app(o, keys);
}

/* Write what is held; every record is then done. */
static void write_all(struct output *o)
{
	output_write(o, &wu_ring);
	cr_assert_eq(o->w[0].done, o->w[0].taken);
}

Test(rotate, a_file_reaching_max_bytes_exactly_stays_and_the_next_record_rotates)
{
	struct output o;
	open_app_max(&o, 3 * line_len(), "");
	for (unsigned i = 0; i < 3; i++)
		give(&o, i);
	write_all(&o);
	holds_records("app.log", 0, 2);
	cr_assert(!wu_exists("app.log.1"));
	give(&o, 3);
	write_all(&o);
	holds_records("app.log.1", 0, 2);
	holds_records("app.log", 3, 3);
	output_close(&o);
}

Test(rotate, one_byte_less_rotates_before_the_record_that_would_pass_it)
{
	struct output o;
	open_app_max(&o, 3 * line_len() - 1, "");
	for (unsigned i = 0; i < 3; i++)
		give(&o, i); /* one batch: the cut falls inside it */
	write_all(&o);
	holds_records("app.log.1", 0, 1);
	holds_records("app.log", 2, 2);
	output_close(&o);
}

Test(rotate, a_record_bigger_than_max_bytes_sits_alone_in_its_file)
{
	struct output o;
	open_app_max(&o, 40, "");
	cr_assert_gt(line_len(), 40u);
	for (unsigned i = 0; i < 3; i++)
		give(&o, i);
	write_all(&o);
	holds_records("app.log.2", 0, 0);
	holds_records("app.log.1", 1, 1);
	holds_records("app.log", 2, 2);
	output_close(&o);
}

Test(rotate, many_rotations_in_one_batch_are_all_written_in_one_cycle)
{
	struct output o;
	open_app_max(&o, line_len(), "backups = 30;");
	for (unsigned i = 0; i < 20; i++)
		give(&o, i);
	write_all(&o);
	for (unsigned i = 0; i < 19; i++) {
		char name[32];
		snprintf(name, sizeof name, "app.log.%u", 19 - i);
		holds_records(name, i, i);
	}
	holds_records("app.log", 19, 19);
	output_close(&o);
}

Test(rotate, backups_keeps_only_the_newest_rotated_files)
{
	struct output o;
	open_app_max(&o, line_len(), "backups = 2;");
	for (unsigned i = 0; i < 6; i++)
		give(&o, i);
	write_all(&o);
	holds_records("app.log", 5, 5);
	holds_records("app.log.1", 4, 4);
	holds_records("app.log.2", 3, 3);
	cr_assert(!wu_exists("app.log.3"));
	output_close(&o);
}

Test(rotate, backups_zero_keeps_no_rotated_file)
{
	struct output o;
	open_app_max(&o, line_len(), "backups = 0;");
	for (unsigned i = 0; i < 3; i++)
		give(&o, i);
	write_all(&o);
	holds_records("app.log", 2, 2);
	cr_assert(!wu_exists("app.log.1"));
	output_close(&o);
}

Test(rotate, backups_defaults_to_seven)
{
	struct output o;
	open_app_max(&o, line_len(), "");
	for (unsigned i = 0; i < 10; i++)
		give(&o, i);
	write_all(&o);
	holds_records("app.log.7", 2, 2);
	cr_assert(!wu_exists("app.log.8"));
	output_close(&o);
}

Test(rotate, a_restart_shifts_the_existing_numbering_and_prunes_it)
{
	put("app.log", "cur\n");
	put("app.log.1", "old1\n");
	put("app.log.2", "old2\n");
	put("app.log.3", "old3\n");
	put("app.log.old", "not ours\n");
	struct output o;
	open_app_max(&o, line_len(), "backups = 3;");
	give(&o, 0); /* "cur\n" plus a line passes max_bytes */
	write_all(&o);
	holds_records("app.log", 0, 0);
	holds("app.log.1", "cur\n");
	holds("app.log.2", "old1\n");
	holds("app.log.3", "old2\n");
	cr_assert(!wu_exists("app.log.4"));
	holds("app.log.old", "not ours\n");
	output_close(&o);
}

Test(rotate, opening_applies_backups_to_what_is_there)
{
	put("app.log.1", "old1\n");
	put("app.log.2", "old2\n");
	put("app.log.3.zst", "old3\n");
	struct output o;
	open_app_max(&o, 1000, "backups = 1;");
	holds("app.log.1", "old1\n");
	cr_assert(!wu_exists("app.log.2"));
	cr_assert(!wu_exists("app.log.3.zst"));
	output_close(&o);
}

/* Run as an unprivileged user (root renames in a read-only directory). */
static void drop_root(void)
{
	if (geteuid() != 0)
		return;
	cr_assert_eq(chown(wu_dir, 65534, 65534), 0);
	cr_assert_eq(setgid(65534), 0);
	cr_assert_eq(setuid(65534), 0);
}

/* Lines of path containing needle. */
static int count_lines_with(const char *path, const char *needle)
{
	char *text = th_read_file(path, NULL);
	int n = 0;
	for (char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(text);
	return n;
}

Test(rotate, a_failed_rename_is_reported_once_and_the_file_keeps_every_record)
{
	drop_root();
	char *err = wu_path("stderr");
	int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	int saved = dup(2);
	dup2(fd, 2);
	struct output o;
	open_app_max(&o, line_len(), "");
	cr_assert_eq(chmod(wu_dir, 0555), 0);
	for (unsigned i = 0; i < 5; i++) {
		give(&o, i);
		write_all(&o);
	}
	holds_records("app.log", 0, 4);
	cr_assert(!wu_exists("app.log.1"));
	cr_assert_eq(chmod(wu_dir, 0755), 0);
	give(&o, 5);
	write_all(&o);
	dup2(saved, 2);
	holds_records("app.log.1", 0, 4);
	holds_records("app.log", 5, 5);
	cr_assert_eq(count_lines_with(err, "cannot rotate"), 1);
	output_close(&o);
	free(err);
}

/* Unix time of a UTC date and time. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};
	return (int64_t)timegm(&tm);
}

/* Assert that file name holds exactly record i at time t, then j at u (j < 0: none). */
static void holds_at(const char *name, unsigned i, int64_t t, int j, int64_t u)
{
	char *a = line_at(i, t, 0), *b = j >= 0 ? line_at((unsigned)j, u, 0) : strdup("");
	char *want;
	cr_assert(asprintf(&want, "%s%s", a, b) > 0);
	holds(name, want);
	free(want);
	free(a);
	free(b);
}

Test(rotate, hourly_boundaries_follow_the_records_timestamps_in_utc)
{
	struct output o;
	open_app(&o, "rotate_every = \"hourly\";");
	int64_t t0 = utc(2026, 12, 1, 12, 59, 59), t1 = utc(2026, 12, 1, 13, 0, 0);
	int64_t t2 = utc(2026, 12, 1, 13, 59, 59), t3 = utc(2026, 12, 1, 15, 10, 0);
	give_at(&o, 0, t0, 999999999);
	give_at(&o, 1, t1, 0);
	give_at(&o, 2, t2, 0);
	give_at(&o, 3, t3, 0);
	write_all(&o);
	char *l0 = line_at(0, t0, 999999999);
	holds("app.log.2026-12-01T12", l0);
	free(l0);
	holds_at("app.log.2026-12-01T13", 1, t1, 2, t2);
	holds_at("app.log", 3, t3, -1, 0);
	output_close(&o);
}

/* With keys, record 0 at t0 and 1 at t1: assert that rotated holds record 0 and app.log record 1. */
static void split_between(const char *keys, int64_t t0, int64_t t1, const char *rotated)
{
	struct output o;
	open_app(&o, keys);
	give_at(&o, 0, t0, 0);
	give_at(&o, 1, t1, 0);
	write_all(&o);
	holds_at(rotated, 0, t0, -1, 0);
	holds_at("app.log", 1, t1, -1, 0);
	output_close(&o);
}

Test(rotate, daily_at_a_time_of_day_names_the_day_the_interval_starts)
{
	split_between("rotate_every = \"daily\"; rotate_at = \"06:30\";", utc(2026, 12, 1, 6, 29, 59),
		      utc(2026, 12, 1, 6, 30, 0), "app.log.2026-11-30");
}

Test(rotate, a_duration_counts_from_midnight_and_names_the_minute)
{
	split_between("rotate_every = \"15m\";", utc(2026, 12, 1, 13, 14, 59), utc(2026, 12, 1, 13, 15, 0),
		      "app.log.2026-12-01T1300");
}

Test(rotate, a_duration_of_seconds_names_the_second)
{
	split_between("rotate_every = \"90s\";", utc(2026, 12, 1, 0, 1, 29), utc(2026, 12, 1, 0, 1, 30),
		      "app.log.2026-12-01T000000");
}

Test(rotate, a_late_record_stays_in_the_file_of_the_later_interval)
{
	struct output o;
	open_app(&o, "rotate_every = \"hourly\";");
	int64_t t0 = utc(2026, 12, 1, 13, 0, 0), t1 = utc(2026, 12, 1, 12, 59, 59);
	give_at(&o, 0, t0, 0);
	give_at(&o, 1, t1, 0);
	write_all(&o);
	holds_at("app.log", 0, t0, 1, t1);
	output_close(&o);
}

Test(rotate, size_rotations_inside_an_interval_shift_the_interval_name)
{
	struct output o;
	char keys[256];
	int64_t t = utc(2026, 12, 1, 12, 0, 0), u = utc(2026, 12, 1, 13, 0, 0);
	snprintf(keys, sizeof keys, "rotate_every = \"hourly\"; max_bytes = %zu;", 2 * line_len());
	open_app(&o, keys);
	for (unsigned i = 0; i < 5; i++)
		give_at(&o, i, t, 0);
	give_at(&o, 5, u, 0);
	write_all(&o);
	holds_at("app.log.2026-12-01T12.2", 0, t, 1, t);
	holds_at("app.log.2026-12-01T12.1", 2, t, 3, t);
	holds_at("app.log.2026-12-01T12", 4, t, -1, 0);
	holds_at("app.log", 5, u, -1, 0);
	output_close(&o);
}

/* Central Europe without tzdata: CET, CEST from the last Sunday of March to the last of October. */
static void cet(void)
{
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
}

Test(rotate, local_hourly_keeps_the_repeated_hour_of_a_dst_change_in_two_files)
{
	cet();
	struct output o;
	open_app(&o, "rotate_every = \"hourly\"; local_time = true;");
	/* 2026-10-25 03:00 CEST is 02:00 CET (01:00Z): 02:30 comes twice */
	int64_t t0 = utc(2026, 10, 25, 0, 30, 0), t1 = utc(2026, 10, 25, 1, 30, 0), t2 = utc(2026, 10, 25, 2, 30, 0);
	give_at(&o, 0, t0, 0);
	give_at(&o, 1, t1, 0);
	give_at(&o, 2, t2, 0);
	write_all(&o);
	holds_at("app.log.2026-10-25T02.1", 0, t0, -1, 0);
	holds_at("app.log.2026-10-25T02", 1, t1, -1, 0);
	holds_at("app.log", 2, t2, -1, 0);
	output_close(&o);
}

Test(rotate, local_daily_spans_the_25_hour_day_of_a_dst_change)
{
	cet();
	struct output o;
	open_app(&o, "rotate_every = \"daily\"; local_time = true;");
	int64_t t0 = utc(2026, 10, 24, 22, 0, 0);  /* 00:00 CEST on the 25th */
	int64_t t1 = utc(2026, 10, 25, 22, 59, 59); /* 23:59:59 CET */
	int64_t t2 = utc(2026, 10, 25, 23, 0, 0);  /* 00:00 CET on the 26th */
	give_at(&o, 0, t0, 0);
	give_at(&o, 1, t1, 0);
	give_at(&o, 2, t2, 0);
	write_all(&o);
	holds_at("app.log.2026-10-25", 0, t0, 1, t1);
	holds_at("app.log", 2, t2, -1, 0);
	output_close(&o);
}

Test(rotate, a_restart_takes_the_interval_of_the_file_from_its_modification_time)
{
	put("app.log", "cur\n");
	char *p = wu_path("app.log");
	int64_t t0 = utc(2026, 12, 1, 12, 10, 0), t1 = utc(2026, 12, 1, 13, 0, 0);
	struct timespec times[2] = {{.tv_sec = (time_t)t0}, {.tv_sec = (time_t)t0}};
	cr_assert_eq(utimensat(AT_FDCWD, p, times, 0), 0);
	free(p);
	struct output o;
	open_app(&o, "rotate_every = \"hourly\";");
	give_at(&o, 0, t1, 0);
	write_all(&o);
	holds("app.log.2026-12-01T12", "cur\n");
	holds_at("app.log", 0, t1, -1, 0);
	output_close(&o);
}

Test(rotate, bad_rotation_keys_get_one_line_naming_file_line_and_key)
{
	wu_refused("max_bytes = 0;", "max_bytes: must be from 1 to 9223372036854775807, not 0");
	wu_refused("backups = -1;", "backups: must be from 0 to 100000, not -1 (or a number too big for 64 bits, which "
				    "libconfig reads as -1)");
	wu_refused("max_bytes = 99999999999999999999;", "max_bytes: must be from 1 to 9223372036854775807, not -1 (or a "
							 "number too big for 64 bits, which libconfig reads as -1)");
	wu_refused("backups = \"7\";", "backups: expected an integer from 0 to 100000");
	wu_refused("rotate_every = \"weekly\";",
		"rotate_every: expected \"hourly\", \"daily\" or a duration from 1s to 24h such as \"15m\" or \"6h\", "
		"not \"weekly\"");
	wu_refused("rotate_every = \"25h\";",
		"rotate_every: expected \"hourly\", \"daily\" or a duration from 1s to 24h such as \"15m\" or \"6h\", "
		"not \"25h\"");
	wu_refused("rotate_every = \"hourly\"; rotate_at = \"06:30\";",
		"rotate_at: only applies with rotate_every = \"daily\"");
	wu_refused("rotate_every = \"daily\"; rotate_at = \"24:00\";",
		"rotate_at: expected a time of day \"HH:MM\" (00:00 to 23:59), not \"24:00\"");
	wu_refused("rotate_every = \"daily\"; local_time = 1;", "local_time: expected true or false");
	wu_refused("backups = 3;", "backups: only applies with max_bytes or rotate_every");
	wu_refused("local_time = true;", "local_time: only applies with max_bytes or rotate_every");
}
