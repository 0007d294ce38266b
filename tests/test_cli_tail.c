/*
 * test_cli_tail.c — `shmlog tail` on real producers: it prints a live
 * segment without consuming it, and the intact records of rings a real
 * collector consumed and freed; it finds a segment by logger name or pid,
 * follows (-f) records committed after it started and stops by itself when
 * the producer ends, prints JSON, and, overtaken by a real collector, says
 * how many records it missed (printed + missed = committed). Misuse exits 2
 * with the usage, an unknown name 1 with one line. On damaged rings of a
 * killed producer's segment: a head no collector can have published is
 * refused as read refuses it (its line, exit 1), never by going round the
 * ring for ever; head publications left half done are waited for once, all
 * together. NAME and PID pick the segment created last, not the last name.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_util.h"
#include "helpers.h"

TestSuite(tail, .init = setup, .fini = teardown);

Test(tail, prints_a_live_segment_without_consuming_it)
{
	struct prod p = start_producer(2, 100, END_HOLD, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct result r = run_tool("tail", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_empty(r.err);
	check_all_records(r.out, p.pid, 2, 100);
	result_free(&r);
	struct mapped m = map_rw(seg);
	for (uint32_t i = 0; i < hdr_of(&m)->ring_count; i++)
		cr_assert_eq(atomic_load(&ring_of(&m, i)->head), 0, "ring %u consumed by tail", i);
	unmap(&m);
	r = run_tool("read", seg); /* still all there for a collector */
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	check_all_records(r.out, p.pid, 2, 100);
	result_free(&r);
	prod_release(&p);
	free(seg);
}

/* For th_wait_until: every ring of the mapped segment *arg that holds records is given back (RELEASED). */
static bool rings_released(void *arg)
{
	struct mapped *m = arg;
	for (uint32_t i = 0; i + 1 < hdr_of(m)->ring_count; i++)
		if (atomic_load(&ring_of(m, i)->tail) && atomic_load(&ring_of(m, i)->state) != SHMLOG_RING_RELEASED)
			return false;
	return true;
}

Test(tail, prints_the_intact_records_of_rings_a_collector_consumed_and_freed)
{
	/* its threads end: their rings given back. 1 MiB rings: tail's in-flight bound (about 96 KiB, see
	 * tools/tail.c) leaves a 64 KiB ring no consumed record it may count as intact */
	struct prod p = start_producer(2, 100, END_HOLD, 1024 * 1024);
	char *seg = segment_of(p.pid), *cout = NULL, *cerr = NULL;
	struct mapped m = map_rw(seg);
	cr_assert(th_wait_until(rings_released, &m, WAIT_MS), "the threads' rings were not given back");
	cr_assert(asprintf(&cout, "%s/collector.out", work) > 0 && asprintf(&cerr, "%s/collector.err", work) > 0);
	char *collector = th_build_path("shmlog-collector");
	char *cargv[] = {collector, "--dir", dir, "--once", NULL};
	int st = th_waitpid_timeout(th_spawn(cargv, cout, cerr, NULL), WAIT_MS);
	char *etext = th_read_file(cerr, NULL);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "collector --once: 0x%x: %s", st,
		  etext ? etext : "");
	free(etext);
	int freed = 0;
	for (uint32_t i = 0; i + 1 < hdr_of(&m)->ring_count; i++)
		freed += atomic_load(&ring_of(&m, i)->tail) && atomic_load(&ring_of(&m, i)->state) == SHMLOG_RING_FREE &&
			 atomic_load(&ring_of(&m, i)->head) == atomic_load(&ring_of(&m, i)->tail);
	cr_assert_eq(freed, 2, "the collector consumed and freed both rings");
	unmap(&m);
	/* nothing is left to consume in them, but their records are intact: tail prints them */
	struct result r = run_tool("tail", seg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_empty(r.err);
	check_all_records(r.out, p.pid, 2, 100);
	result_free(&r);
	prod_release(&p);
	free(collector);
	free(cout);
	free(cerr);
	free(seg);
}

Test(tail, finds_the_segment_by_logger_name_and_by_pid_and_prints_json)
{
	struct prod p = start_producer(1, 40, END_HOLD, 64 * 1024);
	cr_assert_eq(setenv("SHMLOG_DIR", dir, 1), 0);
	struct result r = run_tool("tail", NAME);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	check_all_records(r.out, p.pid, 1, 40);
	result_free(&r);
	char pid[16];
	snprintf(pid, sizeof pid, "%d", (int)p.pid);
	r = run_tool("tail", "--json", pid);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	int lines = 0;
	char *save = NULL;
	for (char *l = strtok_r(r.out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), lines++) {
		struct jfield f[12];
		struct line pl;
		parse_json_line(l, p.pid, f, &pl);
		int idx;
		check_message(&pl, 1, 40, &idx);
		cr_assert_eq(idx, lines, "in order");
	}
	cr_assert_eq(lines, 40);
	result_free(&r);
	prod_release(&p);
}

/* For th_wait_until: the tool's output file holds at least this many lines. */
struct out_wait {
	const char *path;
	int lines;
};

static bool out_has_lines(void *arg)
{
	struct out_wait *w = arg;
	char *s = th_read_file(w->path, NULL);
	bool ok = s && count_lines(s) >= w->lines;
	free(s);
	return ok;
}

Test(tail, follow_stops_by_itself_when_the_producer_ends)
{
	struct prod p = start_producer(2, 50, END_HOLD, 64 * 1024);
	/* tail must not hold the pipe whose closing releases the producer */
	cr_assert(fcntl(p.release, F_SETFD, FD_CLOEXEC) == 0 && fcntl(p.ready, F_SETFD, FD_CLOEXEC) == 0);
	char *seg = segment_of(p.pid), *out = NULL, *err = NULL;
	cr_assert(asprintf(&out, "%s/tail.out", work) > 0 && asprintf(&err, "%s/tail.err", work) > 0);
	char *argv[] = {bin, "tail", "-f", seg, NULL};
	pid_t t = th_spawn(argv, out, err, NULL);
	struct out_wait w = {out, 100};
	cr_assert(th_wait_until(out_has_lines, &w, WAIT_MS), "tail -f did not print the 100 records");
	cr_assert_eq(waitpid(t, NULL, WNOHANG), 0, "tail -f ended while the producer runs");
	prod_release(&p);
	int st = th_waitpid_timeout(t, WAIT_MS);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "tail -f did not end cleanly with its producer: 0x%x", st);
	char *text = th_read_file(out, NULL);
	cr_assert(text);
	cr_assert_eq(take_end_notices(text), 1, "it says the process ended");
	check_all_records(text, p.pid, 2, 50);
	free(text);
	free(seg);
	free(out);
	free(err);
}

/* Run tests/producer_prog on dir in the background: it logs once gate exists, then flushes. Returns its pid. */
static pid_t spawn_gated(const char *gate, const char *records, const char *ring, const char *flush_ms)
{
	char *prog = th_build_path("tests/producer_prog");
	char *argv[] = {prog, "-d", dir, "-n", "gated", "-r", (char *)records, "-R", (char *)ring, "-p", "block",
			"-f", (char *)flush_ms, "-G", (char *)gate, NULL};
	pid_t p = th_spawn(argv, "/dev/null", NULL, NULL);
	cr_assert(p > 0);
	free(prog);
	return p;
}

/* For th_wait_until: the gated producer's segment is in dir. */
static bool one_segment(void *arg)
{
	(void)arg;
	DIR *d = opendir(dir);
	cr_assert(d);
	bool found = false;
	for (struct dirent *e; !found && (e = readdir(d));)
		found = strncmp(e->d_name, "gated.", 6) == 0;
	closedir(d);
	return found;
}

/* For th_wait_until: tail -f (pid *(pid_t *)arg) has the gated segment open and
 * waits for records: it sleeps between polls (clock_nanosleep, syscall 230). */
static bool tail_is_following(void *arg)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)*(pid_t *)arg);
	char *maps = th_read_file(path, NULL);
	snprintf(path, sizeof path, "/proc/%d/syscall", (int)*(pid_t *)arg);
	char *sc = th_read_file(path, NULL);
	bool ok = maps && strstr(maps, "/gated.") && sc && strncmp(sc, "230 ", 4) == 0;
	free(maps);
	free(sc);
	return ok;
}

/* The records of out ("rec t=0 i=I") are each of 0..n-1 at most once, in order; returns how many. */
static long gated_records(const char *out, long n)
{
	char *copy = strdup(out), *save = NULL;
	long count = 0, last = -1;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *m = strstr(l, ": rec t=0 i=");
		if (!m)
			continue;
		long i = strtol(m + strlen(": rec t=0 i="), NULL, 10);
		cr_assert(i > last && i < n, "record %ld after %ld", i, last);
		last = i;
		count++;
	}
	free(copy);
	return count;
}

/* The sum of "N records missed" in err. */
static long missed_in(const char *err)
{
	long sum = 0;
	for (const char *s = strstr(err, "records missed"); s; s = strstr(s + 1, "records missed")) {
		const char *b = s - 1;
		while (b > err && b[-1] >= '0' && b[-1] <= '9')
			b--;
		sum += strtol(b, NULL, 10);
	}
	return sum;
}

Test(tail, follow_prints_records_committed_after_it_started)
{
	char *gate = NULL, *out = NULL, *err = NULL;
	cr_assert(asprintf(&gate, "%s/gate", work) > 0 && asprintf(&out, "%s/tail.out", work) > 0 &&
		  asprintf(&err, "%s/tail.err", work) > 0);
	pid_t p = spawn_gated(gate, "300", "1048576", "0"); /* no collector: nothing to wait for */
	cr_assert(th_wait_until(one_segment, NULL, WAIT_MS), "no segment");
	cr_assert_eq(setenv("SHMLOG_DIR", dir, 1), 0);
	char *argv[] = {bin, "tail", "-f", "gated", NULL};
	pid_t t = th_spawn(argv, out, err, NULL);
	FILE *g = fopen(gate, "w");
	cr_assert(g);
	fclose(g);
	int st = th_waitpid_timeout(p, WAIT_MS);
	cr_assert(st != -1 && WIFEXITED(st), "producer: 0x%x", st);
	st = th_waitpid_timeout(t, WAIT_MS);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "tail -f: 0x%x", st);
	char *text = th_read_file(out, NULL), *etext = th_read_file(err, NULL);
	cr_assert(text && etext);
	cr_assert_str_empty(etext);
	cr_assert_eq(gated_records(text, 300), 300);
	free(text);
	free(etext);
	free(gate);
	free(out);
	free(err);
}

Test(tail, overtaken_by_a_collector_says_how_many_records_it_missed)
{
	char *gate = NULL, *out = NULL, *err = NULL, *cout = NULL;
	cr_assert(asprintf(&gate, "%s/gate", work) > 0 && asprintf(&out, "%s/tail.out", work) > 0 &&
		  asprintf(&err, "%s/tail.err", work) > 0 && asprintf(&cout, "%s/collector.out", work) > 0);
	char *collector = th_build_path("shmlog-collector");
	char *cargv[] = {collector, "--dir", dir, NULL};
	pid_t c = th_spawn(cargv, cout, "/dev/null", NULL);
	pid_t p = spawn_gated(gate, "5000", "4096", "20000");
	cr_assert(th_wait_until(one_segment, NULL, WAIT_MS), "no segment");
	cr_assert_eq(setenv("SHMLOG_DIR", dir, 1), 0);
	char *argv[] = {bin, "tail", "-f", "gated", NULL};
	pid_t t = th_spawn(argv, out, err, NULL);
	cr_assert(th_wait_until(tail_is_following, &t, WAIT_MS), "tail -f did not start following");
	cr_assert_eq(kill(t, SIGSTOP), 0); /* it falls behind: the collector frees the ring under it */
	FILE *g = fopen(gate, "w");
	cr_assert(g);
	fclose(g);
	int st = th_waitpid_timeout(p, WAIT_MS);
	cr_assert(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "producer: 0x%x", st);
	cr_assert_eq(kill(t, SIGCONT), 0);
	st = th_waitpid_timeout(t, WAIT_MS);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "tail -f: 0x%x", st);
	kill(c, SIGTERM);
	cr_assert_neq(th_waitpid_timeout(c, WAIT_MS), -1);
	char *text = th_read_file(out, NULL), *etext = th_read_file(err, NULL), *ctext = th_read_file(cout, NULL);
	cr_assert(text && etext && ctext);
	long printed = gated_records(text, 5000), missed = missed_in(etext);
	cr_assert_gt(missed, 0, "stderr: %s", etext);
	cr_assert_eq(printed + missed, 5000, "%ld printed + %ld missed", printed, missed);
	cr_assert_eq(gated_records(ctext, 5000), 5000, "the collector wrote everything: tail took nothing");
	free(text);
	free(etext);
	free(ctext);
	free(collector);
	free(gate);
	free(out);
	free(err);
	free(cout);
}

Test(tail, misuse_exits_2_with_the_usage_and_an_unknown_name_1)
{
	struct result r = run_tool("tail");
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err, "no SEGMENT, NAME or PID given") && strstr(r.err, "usage: shmlog tail"), "%s", r.err);
	result_free(&r);
	r = run_tool("tail", "--bogus", "x");
	cr_assert_eq(r.status, 2);
	result_free(&r);
	r = run_tool("tail", "--help");
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "usage: shmlog tail"));
	result_free(&r);
	cr_assert_eq(setenv("SHMLOG_DIR", dir, 1), 0);
	r = run_tool("tail", "nosuchlogger");
	cr_assert_eq(r.status, 1);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, "no segment of logger nosuchlogger"), "%s", r.err);
	result_free(&r);
}

/* ------------------------------------------------ damaged ring positions */

/* The first ring of the mapped segment that holds records. */
static uint32_t first_used_ring(struct mapped *m)
{
	for (uint32_t i = 0; i < hdr_of(m)->ring_count; i++)
		if (atomic_load(&ring_of(m, i)->tail))
			return i;
	cr_assert_fail("no ring holds records");
	return 0;
}

/*
 * Give ring i of the segment at seg a collector's head of head. With wrap, the padding record a
 * producer writes when it goes round the ring follows the ring's records (beyond its tail, where a
 * producer leaves it): the records then follow on from lap to lap, and a walk from them that the
 * ring size does not bound goes round for ever.
 */
static void set_head(const char *seg, uint32_t i, uint64_t head, bool wrap)
{
	struct mapped m = map_rw(seg);
	struct shmlog_ring_header *rh = ring_of(&m, i);
	uint32_t cap = hdr_of(&m)->ring_bytes, at = (uint32_t)atomic_load(&rh->tail);
	if (wrap) {
		uint32_t pad[2] = {cap - at, SHMLOG_SITE_PAD};
		memcpy(ring_data(&m, i) + at, pad, sizeof pad);
	}
	atomic_store(&rh->head, head);
	unmap(&m);
}

/* tail on seg refuses it as read does: the same line on stderr, the same records, exit 1. */
static void tail_refuses_it_as_read_does(const char *seg, const char *line)
{
	struct result rd = run_tool("read", seg), tl = run_tool("tail", seg);
	cr_assert_eq(rd.status, 1, "read: %s", rd.err);
	cr_assert_eq(count_lines(rd.err), 1, "read: %s", rd.err);
	cr_assert(strstr(rd.err, line), "read: %s", rd.err);
	cr_assert_eq(tl.status, 1, "tail: %s", tl.err);
	cr_assert_str_eq(tl.err, rd.err);
	cr_assert_str_eq(tl.out, rd.out, "the records of the other rings");
	result_free(&rd);
	result_free(&tl);
}

Test(tail, refuses_a_ring_whose_head_is_far_past_its_tail_as_read_does)
{
	struct prod p = start_producer(2, 50, END_KILL, 64 * 1024);
	char *seg = segment_of(p.pid), line[96];
	struct mapped m = map_rw(seg);
	uint32_t i = first_used_ring(&m);
	unmap(&m);
	set_head(seg, i, 1ull << 63, true);
	snprintf(line, sizeof line, "ring %u positions are impossible (tail behind or too far ahead)", i);
	tail_refuses_it_as_read_does(seg, line);
	free(seg);
}

Test(tail, refuses_a_ring_whose_head_is_past_its_tail_at_the_end_of_the_positions_as_read_does)
{
	struct prod p = start_producer(2, 50, END_KILL, 64 * 1024);
	char *seg = segment_of(p.pid);
	struct mapped m = map_rw(seg);
	uint32_t i = hdr_of(&m)->ring_count - 2; /* a thread's ring no thread claimed */
	cr_assert_eq(atomic_load(&ring_of(&m, i)->tail), 0);
	unmap(&m);
	char line[96];
	set_head(seg, i, UINT64_MAX, false); /* head + ring size wraps round 2^64 */
	snprintf(line, sizeof line, "ring %u consumed position misaligned", i);
	tail_refuses_it_as_read_does(seg, line);
	set_head(seg, i, UINT64_MAX - 7, false); /* aligned */
	snprintf(line, sizeof line, "ring %u positions are impossible (tail behind or too far ahead)", i);
	tail_refuses_it_as_read_does(seg, line);
	free(seg);
}

/* ------------------------------------------- head publications left half done */

/* The lines of out that are producer_prog records. */
static int prog_records(const char *out)
{
	int n = 0;
	for (const char *s = strstr(out, ": rec t="); s; s = strstr(s + 1, ": rec t="))
		n++;
	return n;
}

Test(tail, waits_once_for_all_the_rings_whose_head_publication_was_left_half_done)
{
	/* 33 rings, as a default logger has; a producer killed with SIGKILL */
	char *prog = th_build_path("tests/producer_prog");
	char *argv[] = {prog, "-d", dir, "-n", NAME, "-t", "2", "-r", "50", "-m", "32", "-k", NULL};
	pid_t pid = th_spawn(argv, "/dev/null", NULL, NULL);
	int st = th_waitpid_timeout(pid, WAIT_MS);
	cr_assert(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "producer: 0x%x", st);
	char *seg = segment_of(pid);
	struct mapped m = map_rw(seg);
	uint32_t rings = hdr_of(&m)->ring_count;
	cr_assert_eq(rings, 33);
	for (uint32_t i = 0; i < rings; i++) /* as collectors killed between their two stores leave it */
		atomic_store(&ring_of(&m, i)->head_seq, 2 * i + 1);
	unmap(&m);
	long long t0 = th_now_ms();
	struct result r = run_tool("tail", seg);
	long long took = th_now_ms() - t0;
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_assert_str_empty(r.err, "taken as they are, as docs/cli.md says");
	cr_assert_eq(prog_records(r.out), 100, "%s", r.out);
	/* one wait of 100 ms for them all; each read of each ring's head waited 100 ms before */
	cr_assert_lt(took, 3000, "tail took %lld ms", took);
	result_free(&r);
	free(seg);
	free(prog);
}

/* ------------------------------------------------------- the most recent segment */

/* Rename the segment file *path to dir/NAME.PID.SERIAL.shm, which *path then names. */
static void rename_segment(char **path, const char *pid, const char *serial)
{
	char *to;
	cr_assert(asprintf(&to, "%s/" NAME ".%s.%s.shm", dir, pid, serial) > 0);
	cr_assert_eq(rename(*path, to), 0);
	free(*path);
	*path = to;
}

/* tail ARG prints the records of p (1 thread, n records), exit 0. */
static void tail_picks(const char *arg, const struct prod *p, int n)
{
	struct result r = run_tool("tail", arg);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	check_all_records(r.out, p->pid, 1, n);
	result_free(&r);
}

Test(tail, picks_the_segment_created_last_not_the_last_name)
{
	struct prod older = start_producer(1, 10, END_KILL, 64 * 1024);
	struct prod newer = start_producer(1, 20, END_KILL, 64 * 1024);
	char *a = segment_of(older.pid), *b = segment_of(newer.pid), *bogus;
	cr_assert_eq(setenv("SHMLOG_DIR", dir, 1), 0);
	/* named like a segment, its header unreadable: its mtime, from before both were created, counts */
	cr_assert(asprintf(&bogus, "%s/" NAME ".5000.1.shm", dir) > 0);
	FILE *f = fopen(bogus, "w");
	cr_assert(f && fputs("not a segment", f) >= 0 && fclose(f) == 0);
	struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
	cr_assert_eq(utimensat(AT_FDCWD, bogus, old, 0), 0);
	rename_segment(&a, "999", "1"); /* sorts after 1000 */
	rename_segment(&b, "1000", "1");
	tail_picks(NAME, &newer, 20);
	rename_segment(&a, "4242", "9"); /* one process's: serial 10 sorts before 9 */
	rename_segment(&b, "4242", "10");
	tail_picks("4242", &newer, 20);
	free(a);
	free(b);
	free(bogus);
}
