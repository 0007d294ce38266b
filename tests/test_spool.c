/*
 * test_spool.c — the syslog writer's disk spool (collector/syslog_spool.c)
 * taking up what an earlier run left, when its two files are out of step:
 * a send position inside an entry or past the end (a power loss stored one
 * file and not the other, or an edit) goes back to the start, with one
 * warning, so nothing is skipped; a position at an entry is taken as it
 * is, damage before it or not; a torn last entry is cut off. The entries are read back with spool_read, as the
 * writer sends them.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/syslog_spool.h"
#include "tests/helpers.h"
#include "tests/writer_util.h"

TestSuite(spool, .init = wu_setup, .fini = wu_teardown);

#define ENTRIES 40

static uint64_t at[ENTRIES + 1]; /* where entry k starts; at[ENTRIES] the end */

/* Write the spool w.spool of ENTRIES entries "frame k ..." (lengths vary) and w.spool-pos holding pos. */
static void write_spool(uint64_t pos)
{
	char *path = wu_path("w.spool"), *pos_path = wu_path("w.spool-pos");
	FILE *f = fopen(path, "w");
	cr_assert(f);
	for (int k = 0; k < ENTRIES; k++) {
		char frame[64];
		int n = snprintf(frame, sizeof frame, "<14>1 frame %d%.*s\n", k, k % 7, "xxxxxxx");
		unsigned char head[SPOOL_ENTRY_HEAD] = {(unsigned char)n};
		at[k] = (uint64_t)ftell(f);
		cr_assert(fwrite(head, 1, sizeof head, f) == sizeof head && fwrite(frame, 1, (size_t)n, f) == (size_t)n);
	}
	at[ENTRIES] = (uint64_t)ftell(f);
	cr_assert_eq(fclose(f), 0);
	f = fopen(pos_path, "w");
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(pos >> (8 * i));
	cr_assert(f && fwrite(b, 1, 8, f) == 8 && fclose(f) == 0);
	free(path);
	free(pos_path);
}

/* Open the spool (its warnings on stderr into *said, malloc'd) and read every entry back: assert they are
 * entries first..last, in order. */
static void assert_sends(int first, int last, char **said)
{
	char *err = wu_path("said");
	fflush(stderr);
	int saved = dup(2);
	cr_assert(saved >= 0 && freopen(err, "w", stderr));
	struct syslog_spool sp = {0};
	struct diag d = {{0}};
	int rc = spool_open(&sp, wu_dir, "w", 1u << 20, "", &d);
	fflush(stderr);
	cr_assert(dup2(saved, 2) == 2);
	close(saved);
	cr_assert_eq(rc, 0, "%s", d.msg);
	struct frames q = {0};
	while ((rc = spool_read(&sp, &q, "w")) > 0)
		;
	cr_assert_eq(rc, 0, "every entry reads back");
	cr_assert_eq(q.n, (uint32_t)(last - first + 1), "entries %d..%d: got %u", first, last, q.n);
	size_t off = q.head;
	for (uint32_t i = 0; i < q.n; i++) {
		char want[64];
		uint32_t len = FRAME_LEN(q.lens[q.first + i]);
		int n = snprintf(want, sizeof want, "<14>1 frame %d%.*s\n", first + (int)i, (first + (int)i) % 7, "xxxxxxx");
		cr_assert(len == (uint32_t)n && memcmp(q.buf.data + off, want, len) == 0, "entry %u", i);
		off += len;
	}
	frames_free(&q);
	spool_close(&sp);
	*said = th_read_file(err, NULL);
	cr_assert(*said);
	free(err);
}

Test(spool, a_position_at_an_entry_sends_from_it_and_says_nothing_but_what_an_earlier_run_left)
{
	char *said;
	write_spool(0); /* fills at[] */
	write_spool(at[12]);
	assert_sends(12, ENTRIES - 1, &said);
	cr_assert(strstr(said, "bytes from an earlier run are sent first") && !strstr(said, "position"), "%s", said);
	free(said);
}

Test(spool, a_position_inside_an_entry_sends_everything)
{
	char *said, want[200];
	write_spool(0);
	write_spool(at[12] + 5);
	assert_sends(0, ENTRIES - 1, &said);
	snprintf(want, sizeof want, "its send position %llu (%s/w.spool-pos) is inside the entry at offset %llu: "
		 "sending it all", (unsigned long long)(at[12] + 5), wu_dir, (unsigned long long)at[12]);
	cr_assert(strstr(said, want) && !strstr(said, "cut short"), "%s", said);
	free(said);
}

Test(spool, a_position_past_the_end_sends_everything)
{
	char *said;
	write_spool(0);
	write_spool(at[ENTRIES] + 1000);
	assert_sends(0, ENTRIES - 1, &said);
	cr_assert(strstr(said, "is past its end: sending it all"), "%s", said);
	free(said);
}

/* The spool's last entry torn and the position at pos (inside an entry): every whole entry is sent, the
 * torn one cut off, each said. */
static void assert_torn_sends_all_whole(uint64_t pos)
{
	char *said, *path = wu_path("w.spool");
	write_spool(pos);
	cr_assert_eq(truncate(path, (off_t)(at[ENTRIES] - 3)), 0);
	assert_sends(0, ENTRIES - 2, &said);
	cr_assert(strstr(said, "is inside the entry at offset") && strstr(said, "cut short at offset"), "%s", said);
	free(said);
	free(path);
}

Test(spool, a_position_inside_an_entry_and_a_torn_last_entry_lose_only_the_torn_one)
{
	write_spool(0);
	assert_torn_sends_all_whole(at[30] + 1);
}

Test(spool, a_position_inside_the_torn_last_entry_sends_everything_whole)
{
	write_spool(0);
	assert_torn_sends_all_whole(at[ENTRIES - 1] + 2);
}

Test(spool, damage_before_a_position_at_an_entry_leaves_it_as_it_is)
{
	char *said, *path = wu_path("w.spool");
	write_spool(0);
	write_spool(at[12]);
	FILE *f = fopen(path, "r+");
	cr_assert(f && fseek(f, (long)at[3], SEEK_SET) == 0 && fputc(0, f) == 0 && fclose(f) == 0); /* length 0 */
	assert_sends(12, ENTRIES - 1, &said);
	cr_assert(!strstr(said, "position") && !strstr(said, "cut short"), "%s", said);
	free(said);
	free(path);
}
