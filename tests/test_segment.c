/*
 * test_segment.c — segment validation (a reader trusts nothing) and the
 * call-site registry as a reader sees it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <shmlog.h>

#include "helpers.h"
#include "shared/segment.h"

static char *dir;
static char path[512], copy[512];

/* A real segment with two call sites, closed, and a copy of it to damage. */
static void setup(void)
{
	dir = th_mkdtemp(true);
	struct shmlog *lg;
	struct shmlog_options o = {.dir = dir, .name = "segtest", .ring_bytes = 4096, .max_threads = 2};
	cr_assert_eq(shmlog_open(&lg, &o), 0);
	for (int i = 0; i < 3; i++) {
		SHMLOG_INFO(lg, "first site %d", i);
		SHMLOG_ERROR(lg, "second site %s", "x");
	}
	snprintf(path, sizeof path, "%s", shmlog_segment_path(lg));
	shmlog_close(lg);
	snprintf(copy, sizeof copy, "%s/copy.1.1.shm", dir);
	char *bytes;
	size_t len;
	bytes = th_read_file(path, &len);
	int fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(write(fd, bytes, len) == (ssize_t)len);
	close(fd);
	free(bytes);
}

static void teardown(void)
{
	th_rmrf(dir);
	free(dir);
}

static void poke(off_t off, const void *p, size_t n)
{
	int fd = open(copy, O_WRONLY);
	cr_assert(pwrite(fd, p, n, off) == (ssize_t)n);
	close(fd);
}

static void expect_reject(int want_rc, const char *want_text)
{
	struct seg s;
	char err[512] = "";
	int rc = seg_open(&s, copy, false, err, sizeof err);
	cr_assert_eq(rc, want_rc, "rc %d (%s)", rc, err);
	cr_assert(strstr(err, copy), "the message names the file: %s", err);
	cr_assert(strstr(err, want_text), "message '%s' lacks '%s'", err, want_text);
}

TestSuite(segment, .init = setup, .fini = teardown);

Test(segment, opens_a_valid_segment_and_copies_its_identity)
{
	struct seg s;
	char err[512];
	cr_assert_eq(seg_open(&s, path, false, err, sizeof err), 0, "%s", err);
	cr_assert_eq(s.pid, (uint32_t)getpid());
	cr_assert_str_eq(s.name, "segtest");
	cr_assert_eq(s.ring_count, 3, "max_threads + the overflow ring");
	cr_assert_eq(s.ring_bytes, 4096);
	seg_close(&s);
}

Test(segment, rejects_bad_magic)
{
	uint64_t m = 0x1122334455667788ull;
	poke(0, &m, 8);
	expect_reject(-EPROTO, "bad magic");
}

Test(segment, reports_a_missing_magic_as_not_yet_initialised)
{
	uint64_t m = 0;
	poke(0, &m, 8);
	expect_reject(-EAGAIN, "not initialised");
}

Test(segment, rejects_an_unknown_abi_major_naming_both_versions)
{
	uint32_t v = 7;
	poke(8, &v, 4);
	char want[64];
	snprintf(want, sizeof want, "ABI version 7.%u, this reader understands 1.x", SHMLOG_ABI_MINOR);
	expect_reject(-EPROTO, want);
}

Test(segment, rejects_a_truncated_file)
{
	cr_assert_eq(truncate(copy, 8192), 0);
	expect_reject(-EPROTO, "truncated or resized");
	cr_assert_eq(truncate(copy, 100), 0);
	expect_reject(-EPROTO, "smaller than a segment header");
}

Test(segment, rejects_layouts_pointing_outside_the_file)
{
	uint32_t big = 100000;
	poke(128, &big, 4); /* ring_count */
	expect_reject(-EPROTO, "ring count");
}

Test(segment, rejects_ring_data_beyond_the_end)
{
	uint64_t off = 1ull << 40;
	poke(144, &off, 8); /* ring_data_off */
	expect_reject(-EPROTO, "ring data outside the file");
}

Test(segment, registry_holds_each_call_site_once_with_its_metadata)
{
	struct seg s;
	char err[512];
	cr_assert_eq(seg_open(&s, path, false, err, sizeof err), 0, "%s", err);
	cr_assert_eq(atomic_load(&s.hdr->sites_used), 2, "two call sites, logged three times each");
	const struct seg_site *a = seg_site(&s, 0), *b = seg_site(&s, 1);
	cr_assert(a && b);
	cr_assert_str_eq(a->fmt, "first site %d");
	cr_assert_eq(a->level, SHMLOG_LEVEL_INFO);
	cr_assert_str_eq(b->fmt, "second site %s");
	cr_assert_eq(b->level, SHMLOG_LEVEL_ERROR);
	cr_assert(strstr(a->file, "test_segment.c"));
	cr_assert_eq(b->line, a->line + 1);
	cr_assert_null(seg_site(&s, 2), "an id never handed out");
	cr_assert_null(seg_site(&s, 1u << 30), "an id beyond the table");
	seg_close(&s);
}

Test(segment, a_garbage_record_size_stops_the_walk_with_a_reason)
{
	struct seg s;
	char err[512];
	cr_assert_eq(seg_open(&s, copy, true, err, sizeof err), 0, "%s", err);
	/* ring 0 holds six records; make the third one's size absurd */
	uint64_t head, tail, pos;
	const char *why = NULL;
	cr_assert(seg_ring_positions(&s, 0, &head, &tail, &why));
	struct seg_rec r;
	pos = head;
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(seg_ring_next(&s, 0, &pos, tail, &r, &why), 1);
		pos += r.size;
	}
	uint32_t huge = 0x7ffffff8;
	memcpy(s.base + s.data_off + pos, &huge, 4);
	cr_assert_eq(seg_ring_next(&s, 0, &pos, tail, &r, &why), -EINVAL);
	cr_assert_str_eq(why, "record size out of bounds");
	seg_close(&s);
}

Test(segment, refused_formats_are_rendered_as_a_visible_error)
{
	struct shmlog *lg;
	struct shmlog_options o = {.dir = dir, .ring_bytes = 4096, .max_threads = 1};
	cr_assert_eq(shmlog_open(&lg, &o), 0);
	int n = 0;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
	SHMLOG_INFO(lg, "count%n", &n);
#pragma GCC diagnostic pop
	struct seg s;
	char err[512];
	cr_assert_eq(seg_open(&s, shmlog_segment_path(lg), false, err, sizeof err), 0, "%s", err);
	uint64_t head, tail, pos;
	const char *why;
	cr_assert(seg_ring_positions(&s, 0, &head, &tail, &why));
	pos = head;
	struct seg_rec r;
	cr_assert_eq(seg_ring_next(&s, 0, &pos, tail, &r, &why), 1);
	struct sbuf msg = {0};
	struct text_record tr;
	struct seg_space sp;
	seg_render(&s, 0, &r, 0, &msg, &tr, &sp);
	cr_assert(strstr(msg.data, "format refused") && strstr(msg.data, "%n"), "%.*s", (int)msg.len, msg.data);
	cr_assert_eq(n, 0, "%n never writes");
	sbuf_free(&msg);
	seg_close(&s);
	shmlog_close(lg);
}

/* Move the copy's string heap to a sparse region of bytes at its end (zeros: a format of NULs). */
static void grow_heap(uint32_t bytes)
{
	struct stat sb;
	cr_assert_eq(stat(copy, &sb), 0);
	uint64_t off = ((uint64_t)sb.st_size + 4095) & ~4095ull, size = off + bytes;
	cr_assert_eq(truncate(copy, (off_t)size), 0);
	poke(offsetof(struct shmlog_seg_header, strings_off), &off, 8);
	poke(offsetof(struct shmlog_seg_header, strings_bytes), &bytes, 4);
	poke(offsetof(struct shmlog_seg_header, segment_bytes), &size, 8);
}

/* Make site id of the copy claim a format of len bytes at off in its heap. */
static void claim_site(uint32_t id, uint32_t off, uint32_t len)
{
	struct seg s;
	char err[512];
	cr_assert_eq(seg_open(&s, copy, false, err, sizeof err), 0, "%s", err);
	uint64_t at = s.sites_off + (uint64_t)id * SHMLOG_SITE_ENTRY_BYTES;
	seg_close(&s);
	struct shmlog_site_entry e = {.ready = 1, .level = SHMLOG_LEVEL_INFO, .line = 1, .fmt_off = off, .fmt_len = len,
				      .file_len = 1};
	poke((off_t)at, &e, sizeof e);
}

Test(segment, a_format_longer_than_SEG_FORMAT_MAX_is_refused_keeping_only_its_start)
{
	grow_heap(16u << 20);
	claim_site(0, 0, 16u << 20); /* 16 MiB, sparse: free for its producer */
	struct seg s;
	char err[512];
	cr_assert_eq(seg_open(&s, copy, false, err, sizeof err), 0, "%s", err);
	const struct seg_site *st = seg_site(&s, 0);
	cr_assert(st);
	cr_assert(st->err && strstr(st->err, "SEG_FORMAT_MAX"), "%s", st->err ? st->err : "(accepted)");
	cr_assert_eq(st->fmt_len, SEG_FORMAT_SHOWN, "only its start is copied");
	cr_assert_leq(s.sites_bytes, sizeof *st + SEG_FORMAT_SHOWN + SEG_FILE_MAX + 2);
	seg_close(&s);
}

Test(segment, call_sites_past_SEG_SITES_MEMORY_MAX_are_refused_without_memory)
{
	grow_heap(60u << 20);
	for (uint32_t id = 0; id < 1000; id++) /* 1,000 sites of 60 KiB: 60 MB of formats */
		claim_site(id, id * (60u << 10), 60u << 10);
	struct seg s;
	char err[512];
	cr_assert_eq(seg_open(&s, copy, false, err, sizeof err), 0, "%s", err);
	uint32_t refused = 0;
	for (uint32_t id = 0; id < 1000; id++) {
		const struct seg_site *st = seg_site(&s, id);
		cr_assert(st, "site %u", id);
		refused += st->err && strstr(st->err, "SEG_SITES_MEMORY_MAX") != NULL;
	}
	cr_assert_leq(s.sites_bytes, SEG_SITES_MEMORY_MAX);
	cr_assert(refused > 400 && refused < 600, "about half are past the bound: %u", refused);
	seg_close(&s);
}
