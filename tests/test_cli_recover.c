/*
 * test_cli_recover.c — `shmlog recover` and `shmlog stat` (tools/shmlog.c)
 * against real segments of dead, live and closed producers, a reused pid and
 * damaged files; and what the tool does when it is misused or asked for
 * help. The producers, the tool runs and the output checks are in
 * cli_util.h.
 */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_util.h"
#include "helpers.h"

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 120);

/* --------------------------------------------------------------- recover */

Test(cli, recover_cleanup_keeps_a_damaged_segment)
{
	struct prod p = start_producer(1, 6, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct mapped m = map_rw(seg);
	uint32_t ring = used_ring(&m);
	uint32_t garbage = 3;
	memcpy(ring_data(&m, ring) + record_pos(&m, ring, 2), &garbage, 4);
	unmap(&m);
	struct result r = run_tool("recover", "--cleanup", dir);
	cr_assert_eq(r.status, 1);
	cr_assert_eq(count_lines(r.out), 2);
	cr_assert(strstr(r.err, "stopped there") && strstr(r.err, "kept"), "stderr: %s", r.err);
	cr_assert(access(seg, F_OK) == 0, "damaged segment was removed");
	result_free(&r);
	free(seg);
}

Test(cli, recover_cleanup_appends_everything_to_the_file_and_removes_the_segments)
{
	struct prod a = start_producer(2, 40, END_EXIT, 64 * 1024);
	struct prod b = start_producer(1, 30, END_KILL, 64 * 1024);
	char *sa = segment_of(a.pid), *sb = segment_of(b.pid), *outf;
	cr_assert(asprintf(&outf, "%s/recovered.log", work) > 0);
	FILE *f = fopen(outf, "w");
	cr_assert(f && fputs("earlier line\n", f) >= 0 && fclose(f) == 0);

	struct result r = run_tool("recover", "--output", outf, "--cleanup", dir);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_empty(r.out);
	cr_assert_eq(count_lines(r.err), 2, "one line per recovered segment: %s", r.err);
	cr_assert(strstr(r.err, "removed"));
	cr_assert(access(sa, F_OK) != 0 && access(sb, F_OK) != 0, "segments not removed");

	char *text = th_read_file(outf, NULL);
	cr_assert(text && strncmp(text, "earlier line\n", 13) == 0, "output not appended");
	cr_assert_eq(take_end_notices(text), 2, "each dead producer's end is told: %s", text);
	/* split the file by pid and check each producer's records */
	char *mine[2] = {calloc(1, strlen(text) + 1), calloc(1, strlen(text) + 1)};
	char needle_a[64];
	snprintf(needle_a, sizeof needle_a, NAME "[%d/", (int)a.pid);
	char *save = NULL;
	for (char *l = strtok_r(text + 13, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *dst = mine[strstr(l, needle_a) ? 0 : 1];
		strcat(dst, l);
		strcat(dst, "\n");
	}
	check_all_records(mine[0], a.pid, 2, 40);
	check_all_records(mine[1], b.pid, 1, 30);
	free(mine[0]);
	free(mine[1]);
	free(text);
	result_free(&r);

	/* nothing is left to recover */
	r = run_tool("recover", "--output", outf, "--cleanup", dir);
	cr_assert_eq(r.status, 0);
	cr_assert_str_empty(r.err);
	result_free(&r);
	free(sa);
	free(sb);
	free(outf);
}

Test(cli, recover_without_cleanup_prints_json_to_stdout_and_keeps_the_segment)
{
	struct prod p = start_producer(1, 25, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct result r = run_tool("recover", "--json", dir);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_eq(count_lines(r.out), 25);
	char *save = NULL;
	int i = 0;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), i++) {
		struct jfield f[12];
		struct line pl;
		parse_json_line(l, p.pid, f, &pl);
		int idx;
		check_message(&pl, 1, 25, &idx);
		cr_assert_eq(idx, i);
	}
	cr_assert(access(seg, F_OK) == 0, "segment removed without --cleanup");
	result_free(&r);
	free(seg);
}

Test(cli, recover_says_not_recovered_and_keeps_the_segment_when_its_output_takes_nothing)
{
	struct prod p = start_producer(1, 20, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct result r = run_tool("recover", "--output", "/dev/full", "--cleanup", dir);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, "not recovered: /dev/full could not take its records; kept"), "stderr: %s", r.err);
	cr_assert(!strstr(r.err, "recovered 2"), "no success claimed: %s", r.err);
	cr_assert(access(seg, F_OK) == 0, "the segment was removed");
	result_free(&r);
	free(seg);
}

Test(cli, recover_skips_the_segment_that_is_its_own_output_file)
{
	struct prod p = start_producer(1, 20, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct stat before, after;
	cr_assert_eq(stat(seg, &before), 0);
	struct result r = run_tool("recover", "--output", seg, "--cleanup", dir);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, "is the output file; skipped"), "stderr: %s", r.err);
	cr_assert_eq(count_lines(r.err), 1, "stderr: %s", r.err);
	cr_assert_eq(stat(seg, &after), 0, "the segment was removed");
	cr_assert_eq(after.st_size, before.st_size, "records were appended to the segment");
	result_free(&r);
	free(seg);
}

Test(cli, recover_refuses_a_fifo_that_nothing_reads_instead_of_waiting)
{
	start_producer(1, 5, END_EXIT, 64 * 1024);
	char *fifo;
	cr_assert(asprintf(&fifo, "%s/pipe", work) > 0);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	struct result r = run_tool("recover", "--output", fifo, dir); /* bounded: run_tool's wait */
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, "cannot open for appending: a FIFO that nothing reads"), "stderr: %s", r.err);
	result_free(&r);
	free(fifo);
}

Test(cli, recover_uses_shmlog_dir_by_default)
{
	struct prod p = start_producer(1, 4, END_EXIT, 64 * 1024);
	char *env;
	cr_assert(asprintf(&env, "SHMLOG_DIR=%s", dir) > 0);
	char *out, *err;
	cr_assert(asprintf(&out, "%s/out", work) > 0 && asprintf(&err, "%s/err", work) > 0);
	char *argv[] = {bin, "recover", NULL}, *envp[] = {env, NULL};
	pid_t t = th_spawn(argv, out, err, envp);
	int st = th_waitpid_timeout(t, WAIT_MS);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char *text = th_read_file(out, NULL);
	cr_assert_eq(take_end_notices(text), 1);
	check_all_records(text, p.pid, 1, 4);
	free(text);
	free(out);
	free(err);
	free(env);
}

Test(cli, recover_skips_the_segment_of_a_live_process)
{
	struct prod live = start_producer(2, 10, END_HOLD, 64 * 1024);
	struct prod dead = start_producer(1, 10, END_EXIT, 64 * 1024);
	char *lseg = segment_of(live.pid), *dseg = segment_of(dead.pid);
	struct result r = run_tool("recover", "--cleanup", dir);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	check_all_records(r.out, dead.pid, 1, 10);
	char want[PATH_MAX + 128];
	snprintf(want, sizeof want, "shmlog: %s: process %d (" NAME ") is still running; skipped\n", lseg,
		 (int)live.pid);
	cr_assert(strstr(r.err, want), "stderr: %s", r.err);
	cr_assert(access(lseg, F_OK) == 0, "live segment removed");
	cr_assert(access(dseg, F_OK) != 0, "dead segment kept");
	result_free(&r);
	prod_release(&live);

	/* once it has ended, its segment is recovered */
	r = run_tool("recover", dir);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	check_all_records(r.out, live.pid, 2, 10);
	result_free(&r);
	free(lseg);
	free(dseg);
}

Test(cli, recover_takes_a_closed_segment_of_a_live_process)
{
	struct prod p = start_producer(1, 9, END_CLOSE_HOLD, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct result r = run_tool("recover", dir);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	check_all_records(r.out, p.pid, 1, 9);
	cr_assert(strstr(r.err, "closed"), "stderr: %s", r.err);
	result_free(&r);
	prod_release(&p);
	free(seg);
}

/* Field 22 of /proc/self/stat. */
static uint64_t own_start_time(void)
{
	char *s = th_read_file("/proc/self/stat", NULL);
	cr_assert(s);
	char *p = strrchr(s, ')');
	int field = 2;
	for (; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	uint64_t v = strtoull(p, NULL, 10);
	free(s);
	return v;
}

Test(cli, recover_treats_a_reused_pid_as_a_dead_producer)
{
	struct prod p = start_producer(1, 3, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	/* the segment now claims our (live) pid: with our start time it is live, with another it is an orphan */
	struct mapped m = map_rw(seg);
	hdr_of(&m)->pid = (uint32_t)getpid();
	hdr_of(&m)->start_time = own_start_time();
	hdr_of(&m)->flags &= ~SHMLOG_SEG_LOCK; /* told by its pid alone, as an older library's */
	struct result r = run_tool("recover", dir);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_empty(r.out);
	cr_assert(strstr(r.err, "still running"), "stderr: %s", r.err);
	result_free(&r);

	hdr_of(&m)->start_time = own_start_time() + 12345;
	unmap(&m);
	r = run_tool("recover", dir);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	check_all_records(r.out, getpid(), 1, 3);
	cr_assert(strstr(r.err, "pid reused"), "stderr: %s", r.err);
	result_free(&r);
	free(seg);
}

/* ------------------------------------------------------------------ stat */

Test(cli, stat_shows_each_ring_with_its_record_counts)
{
	struct prod p = start_producer(2, 33, END_EXIT, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct result r = run_tool("stat", dir);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_empty(r.err);
	char head[PATH_MAX + 128];
	snprintf(head, sizeof head, "%s  pid %d  name " NAME "  dead  rings 2/5 in use  ring bytes 65536\n", seg,
		 (int)p.pid);
	cr_assert(strncmp(r.out, head, strlen(head)) == 0, "stdout: %s", r.out);
	cr_assert_eq(count_lines(r.out), 3, "stdout: %s", r.out);
	int rings = 0;
	char *save = NULL;
	for (char *l = strtok_r(r.out + strlen(head), "\n", &save); l; l = strtok_r(NULL, "\n", &save), rings++) {
		unsigned ring, tid;
		char state[16];
		double fill;
		unsigned long long written, consumed, lost;
		cr_assert(sscanf(l, "  ring %u  tid %u  %15s  fill %lf%%  written %llu  consumed %llu  lost %llu", &ring,
				 &tid, state, &fill, &written, &consumed, &lost) == 7,
			  "ring line: %s", l);
		cr_assert_eq(written, 33);
		cr_assert_eq(consumed, 0);
		cr_assert_eq(lost, 0);
		cr_assert_str_eq(state, "released");
		cr_assert(fill > 0 && fill < 100);
		cr_assert_neq(tid, 0);
	}
	cr_assert_eq(rings, 2);
	result_free(&r);
	free(seg);
}

Test(cli, stat_reports_an_unreadable_segment_and_lists_the_others)
{
	struct prod good = start_producer(1, 2, END_EXIT, 64 * 1024);
	struct prod bad = start_producer(1, 2, END_EXIT, 64 * 1024);
	char *gseg = segment_of(good.pid), *bseg = segment_of(bad.pid);
	struct mapped m = map_rw(bseg);
	hdr_of(&m)->abi_major = 99;
	unmap(&m);
	struct result r = run_tool("stat", dir);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, bseg) && strstr(r.err, "99.") && count_lines(r.err) == 1, "stderr: %s", r.err);
	cr_assert(strstr(r.out, gseg) && strstr(r.out, "written 2"), "stdout: %s", r.out);
	result_free(&r);
	free(gseg);
	free(bseg);
}

/* ----------------------------------------------------------- usage, help */

Test(cli, misuse_prints_usage_to_stderr_and_exits_2)
{
	const char *const cases[][5] = {
		{NULL},
		{"bogus", NULL},
		{"--bogus", NULL},
		{"read", NULL},
		{"read", "--bogus", "x.shm", NULL},
		{"read", "-z", "x.shm", NULL},
		{"recover", "a", "b", NULL},
		{"recover", "--output", NULL},
		{"recover", "--nope", NULL},
		{"stat", "a", "b", NULL},
		{"stat", "--json", NULL},
		{"help", "nothing", NULL},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct result r = run_tool_argv(cases[k]);
		cr_assert_eq(r.status, 2, "case %zu: status %d", k, r.status);
		cr_assert_str_empty(r.out, "case %zu", k);
		cr_assert(strncmp(r.err, "shmlog", 6) == 0 && strstr(r.err, "\nusage: shmlog"), "case %zu: %s", k, r.err);
		result_free(&r);
	}
}

/* The first line of a misuse names what was wrong, and quotes an argument escaped, on one line. */
Test(cli, misuse_names_the_long_option_given_a_value_and_escapes_what_it_quotes)
{
	const char *const cases[][4] = {
		{"read", "--all=1", "x.shm", "shmlog read: option '--all' takes no argument\n"},
		{"read", "--json=x", "x.shm", "shmlog read: option '--json' takes no argument\n"},
		{"read", "--bogus=x", "x.shm", "shmlog read: unknown option '--bogus=x'\n"},
		{"bo\ngus\x1b[31m", NULL, NULL, "shmlog: unknown command 'bo\\ngus\\x1b[31m'\n"},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		const char *argv[] = {cases[k][0], cases[k][1], cases[k][2], NULL};
		struct result r = run_tool_argv(argv);
		cr_assert_eq(r.status, 2, "case %zu: status %d", k, r.status);
		const char *want = cases[k][3];
		cr_assert(strncmp(r.err, want, strlen(want)) == 0, "case %zu: want %s, got %s", k, want, r.err);
		result_free(&r);
	}
}

Test(cli, help_into_a_full_output_says_so_and_exits_1)
{
	char *tool = th_build_path("shmlog"), *err;
	cr_assert(asprintf(&err, "%s/full.err", work) > 0);
	char *argv[] = {tool, "--help", NULL};
	int st = th_waitpid_timeout(th_spawn(argv, "/dev/full", err, NULL), 20000);
	cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1, "exit 1");
	char *text = th_read_file(err, NULL);
	cr_assert(text && !strcmp(text, "shmlog: standard output: write failed: No space left on device\n"), "%s", text);
	free(text);
	free(err);
	free(tool);
}

Test(cli, help_exits_0_for_the_tool_and_every_command)
{
	const char *const cases[][3] = {
		{"--help", NULL}, {"-h", NULL}, {"help", NULL}, {"read", "--help", NULL}, {"recover", "--help", NULL},
		{"stat", "--help", NULL}, {"help", "recover", NULL}, {"read", "-h", NULL},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct result r = run_tool_argv(cases[k]);
		cr_assert_eq(r.status, 0, "case %zu", k);
		cr_assert_str_empty(r.err, "case %zu", k);
		cr_assert(strncmp(r.out, "usage: shmlog", 13) == 0, "case %zu: %s", k, r.out);
		result_free(&r);
	}
}
