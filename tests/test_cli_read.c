/*
 * test_cli_read.c — `shmlog read` (tools/shmlog.c) against real segments:
 * every record of a producer that exited or was killed, in text and JSON,
 * consumed records with --all, a ring that lapped or filled up, and files
 * that are missing or damaged. The producers, the tool runs and the output
 * checks are in cli_util.h.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_util.h"
#include "helpers.h"
#include "producer/shmlog.h"

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 120);

/* ------------------------------------------------------------------ read */

Test(cli, read_prints_every_record_once_with_exact_text_in_timestamp_order)
{
	struct prod p = start_producer(3, 120, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct result r = run_tool("read", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_empty(r.err);
	check_all_records(r.out, p.pid, 3, 120);
	result_free(&r);
	free(seg);
}

Test(cli, read_prints_records_of_a_producer_killed_while_its_threads_ran)
{
	struct prod p = start_producer(2, 80, END_KILL, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct result r = run_tool("read", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(r.ended, 1, "the tool tells how the producer ended, as the collector does");
	check_all_records(r.out, p.pid, 2, 80);
	result_free(&r);
	free(seg);
}

Test(cli, read_json_prints_valid_lines_with_the_same_messages)
{
	struct prod p = start_producer(2, 60, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct result r = run_tool("read", "--json", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	int seen[120] = {0}, lines = 0;
	char *save = NULL;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), lines++) {
		struct jfield f[12];
		struct line pl;
		parse_json_line(l, p.pid, f, &pl);
		cr_assert(!pl.consumed);
		int idx;
		check_message(&pl, 2, 60, &idx);
		seen[idx]++;
	}
	cr_assert_eq(lines, 120);
	for (int k = 0; k < 120; k++)
		cr_assert_eq(seen[k], 1);
	result_free(&r);
	free(seg);
}

Test(cli, read_all_marks_consumed_records_and_plain_read_hides_them)
{
	struct prod p = start_producer(1, 20, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct mapped m = map_rw(seg);
	uint32_t ring = used_ring(&m);
	/* consume the first 8 records, as a collector would */
	atomic_store(&ring_of(&m, ring)->head, record_pos(&m, ring, 8));
	unmap(&m);

	struct result r = run_tool("read", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(count_lines(r.out), 12);
	char *save = NULL;
	int i = 8;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), i++) {
		struct line pl;
		parse_text_line(l, &pl);
		cr_assert(!pl.consumed);
		int idx;
		check_message(&pl, 1, 20, &idx);
		cr_assert_eq(idx, i);
	}
	result_free(&r);

	r = run_tool("read", "--all", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(count_lines(r.out), 20);
	i = 0;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), i++) {
		struct line pl;
		parse_text_line(l, &pl);
		cr_assert_eq(pl.consumed, i < 8, "line %d: %s", i, l);
		int idx;
		check_message(&pl, 1, 20, &idx);
		cr_assert_eq(idx, i);
	}
	result_free(&r);

	r = run_tool("read", "--all", "--json", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	i = 0;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), i++) {
		struct jfield f[12];
		struct line pl;
		parse_json_line(l, p.pid, f, &pl);
		cr_assert_eq(pl.consumed, i < 8, "line %d: %s", i, l);
		int idx;
		check_message(&pl, 1, 20, &idx);
		cr_assert_eq(idx, i);
	}
	cr_assert_eq(i, 20);
	result_free(&r);
	free(seg);
}

#define LAP_BATCHES 5
#define LAP_PER_BATCH 60

/* A producer that logs LAP_BATCHES batches into a 4 KiB ring, waiting for the parent after each. */
static void lap_child(int ready, int release)
{
	struct shmlog_options o = {.name = NAME, .dir = dir, .ring_bytes = 4096, .max_threads = 1};
	struct shmlog *lg;
	if (shmlog_open(&lg, &o) != 0)
		_exit(3);
	char b = 1;
	for (int k = 0; k < LAP_BATCHES; k++) {
		for (int i = 0; i < LAP_PER_BATCH; i++)
			SHMLOG_INFO(lg, "b%d r%d", k, i);
		if (write(ready, &b, 1) != 1 || (k + 1 < LAP_BATCHES && read(release, &b, 1) != 1))
			_exit(4);
	}
	_exit(0);
}

Test(cli, read_all_shows_consumed_records_only_from_the_current_lap)
{
	int ready[2], release[2];
	cr_assert(pipe(ready) == 0 && pipe(release) == 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		close(release[1]);
		lap_child(ready[1], release[0]);
	}
	close(ready[1]);
	close(release[0]);
	char *seg = NULL;
	struct mapped m = {0};
	uint32_t ring = 0;
	char b;
	/* act as the collector: consume each batch but the last one */
	for (int k = 0; k < LAP_BATCHES; k++) {
		cr_assert(read(ready[0], &b, 1) == 1, "producer died");
		if (k == 0) {
			seg = segment_of(pid);
			m = map_rw(seg);
			ring = used_ring(&m);
		}
		if (k + 1 < LAP_BATCHES) {
			struct shmlog_ring_header *rh = ring_of(&m, ring);
			atomic_store(&rh->head, atomic_load(&rh->tail));
			cr_assert(write(release[1], &b, 1) == 1);
		}
	}
	int st = th_waitpid_timeout(pid, WAIT_MS);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(ready[0]);
	close(release[1]);

	/* where each record went: same size each, a record never wraps */
	uint32_t cap = hdr_of(&m)->ring_bytes, rs;
	memcpy(&rs, ring_data(&m, ring), 4);
	uint64_t pos = 0, rec_pos[LAP_BATCHES * LAP_PER_BATCH];
	for (int j = 0; j < LAP_BATCHES * LAP_PER_BATCH; j++) {
		if (pos % cap + rs > cap)
			pos = (pos + cap - 1) / cap * cap;
		rec_pos[j] = pos;
		pos += rs;
	}
	cr_assert_eq(atomic_load(&ring_of(&m, ring)->tail), pos, "ring layout not as modelled");
	cr_assert_eq(atomic_load(&ring_of(&m, ring)->lost), 0);
	uint64_t start = (pos - cap + cap - 1) / cap * cap; /* first lap boundary with intact data */
	int consumed_total = (LAP_BATCHES - 1) * LAP_PER_BATCH, first_shown = consumed_total;
	while (first_shown > 0 && rec_pos[first_shown - 1] >= start)
		first_shown--;
	cr_assert(first_shown > 0 && first_shown < consumed_total, "test does not cover a partial lap");
	unmap(&m);

	struct result r = run_tool("read", "--all", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char *save = NULL;
	int j = first_shown;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), j++) {
		struct line pl;
		parse_text_line(l, &pl);
		char want[32];
		snprintf(want, sizeof want, "b%d r%d", j / LAP_PER_BATCH, j % LAP_PER_BATCH);
		cr_assert_str_eq(pl.msg, want);
		cr_assert_eq(pl.consumed, j < consumed_total, "%s", l);
	}
	cr_assert_eq(j, LAP_BATCHES * LAP_PER_BATCH, "records missing at the end");
	result_free(&r);
	free(seg);
}

Test(cli, read_reports_the_records_a_full_ring_dropped)
{
	/* no collector empties the 4 KiB ring: most of the 400 records are dropped and counted */
	struct prod p = start_producer(1, 400, END_EXIT, 4096);
	char *seg = segment_of(p.pid);
	struct result r = run_tool("read", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	char *save = NULL;
	int printed = 0;
	unsigned long long lost = 0;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct line pl;
		parse_text_line(l, &pl);
		cr_assert_eq(lost, 0, "a line after the loss notice: %s", l);
		if (sscanf(pl.msg, "%llu records lost (ring full)", &lost) == 1) {
			cr_assert_str_eq(pl.level, "WARN");
			continue;
		}
		int idx;
		check_message(&pl, 1, 400, &idx);
		cr_assert_eq(idx, printed++);
	}
	cr_assert(printed > 0 && lost > 0, "printed %d, lost %llu", printed, lost);
	cr_assert_eq(printed + lost, 400);
	result_free(&r);
	free(seg);
}

Test(cli, read_continues_with_other_files_after_one_that_does_not_exist)
{
	struct prod p = start_producer(1, 10, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid), *missing;
	cr_assert(asprintf(&missing, "%s/nothere.1.1.shm", dir) > 0);
	struct result r = run_tool("read", missing, seg);
	cr_assert_eq(r.status, 1);
	cr_assert_eq(count_lines(r.err), 1, "stderr: %s", r.err);
	cr_assert(strstr(r.err, missing) && strstr(r.err, "No such file"), "stderr: %s", r.err);
	check_all_records(r.out, p.pid, 1, 10);
	result_free(&r);
	free(seg);
	free(missing);
}

/* ------------------------------------------------------- damaged segments */

Test(cli, read_refuses_bad_magic_and_still_reads_other_files)
{
	struct prod bad = start_producer(1, 5, END_EXIT, 64 * 1024);
	struct prod good = start_producer(1, 7, END_EXIT, 64 * 1024);
	char *bseg = segment_of(bad.pid), *gseg = segment_of(good.pid);
	struct mapped m = map_rw(bseg);
	atomic_store(&hdr_of(&m)->magic, 0x1122334455667788ull);
	unmap(&m);
	struct result r = run_tool("read", bseg, gseg);
	cr_assert_eq(r.status, 1);
	cr_assert_eq(count_lines(r.err), 1, "stderr: %s", r.err);
	cr_assert(strstr(r.err, bseg) && strstr(r.err, "bad magic"), "stderr: %s", r.err);
	check_all_records(r.out, good.pid, 1, 7);
	result_free(&r);
	free(bseg);
	free(gseg);
}

Test(cli, read_refuses_wrong_abi_major_naming_both_versions)
{
	struct prod p = start_producer(1, 5, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct mapped m = map_rw(seg);
	hdr_of(&m)->abi_major = SHMLOG_ABI_MAJOR + 1;
	unmap(&m);
	struct result r = run_tool("read", seg);
	cr_assert_eq(r.status, 1);
	cr_assert_str_empty(r.out);
	char theirs[32], ours[32];
	snprintf(theirs, sizeof theirs, "%u.%u", SHMLOG_ABI_MAJOR + 1, SHMLOG_ABI_MINOR);
	snprintf(ours, sizeof ours, "%u.x", SHMLOG_ABI_MAJOR);
	cr_assert(strstr(r.err, seg) && strstr(r.err, theirs) && strstr(r.err, ours), "stderr: %s", r.err);
	result_free(&r);
	free(seg);
}

Test(cli, read_refuses_truncated_file)
{
	struct prod p = start_producer(1, 5, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct stat st;
	cr_assert(stat(seg, &st) == 0);
	cr_assert(truncate(seg, st.st_size / 2) == 0);
	struct result r = run_tool("read", seg);
	cr_assert_eq(r.status, 1);
	cr_assert_str_empty(r.out);
	cr_assert(strstr(r.err, seg) && strstr(r.err, "truncated"), "stderr: %s", r.err);
	result_free(&r);
	free(seg);
}

Test(cli, read_prints_valid_records_then_stops_at_a_garbage_record_size)
{
	struct prod p = start_producer(1, 12, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct mapped m = map_rw(seg);
	uint32_t ring = used_ring(&m);
	uint64_t bad = record_pos(&m, ring, 5);
	uint32_t garbage = 0x7ffffff8u;
	memcpy(ring_data(&m, ring) + bad, &garbage, 4);
	unmap(&m);

	struct result r = run_tool("read", seg);
	cr_assert_eq(r.status, 1);
	char want[PATH_MAX + 128];
	snprintf(want, sizeof want, "shmlog: %s: ring %u corrupt at position %llu: record size out of bounds; stopped there\n",
		 seg, ring, (unsigned long long)bad);
	cr_assert_str_eq(r.err, want);
	cr_assert_eq(count_lines(r.out), 5);
	char *save = NULL;
	int i = 0;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), i++) {
		struct line pl;
		parse_text_line(l, &pl);
		int idx;
		check_message(&pl, 1, 12, &idx);
		cr_assert_eq(idx, i);
	}
	result_free(&r);
	free(seg);
}
