/*
 * test_oom.c — the collector out of memory, for real: tests/failmalloc.c,
 * preloaded, makes its allocations fail (one given allocation, or every
 * K-th from one on), while it drains a segment with --once into a text file
 * (and beside it a JSON file, a binary log, an encrypted file, a file rotated
 * by size and compressed, and syslog over UDP, routed by a regex).
 *
 * Whatever fails, the collector ends by exiting, never by a signal; a
 * failure at its start is one error line and exit status 1; and every
 * record of the segment is accounted for in the text file: written exactly
 * as the producer logged it, or counted in a notice that says it was lost
 * for want of memory, or still in its segment, with a warning that says so.
 * A line that is none of those (a record rendered with a hole in it) fails.
 * The same holds for a drain into RELP to a real rsyslogd, for a TLS
 * writer's start, for each thread the collector starts failing to start
 * (FAILMALLOC_THREAD_AT), and for memory gone for good mid-drain (what was
 * not read is left for `shmlog recover`); the `shmlog` commands exit 0 with
 * their whole output, or 1 saying why.
 *
 * Built only without a sanitizer, which brings its own allocator.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "rsyslog_util.h"

#define THREADS 2
#define RECORDS 300 /* per thread */

static char *dir;        /* the segment, made once */
static char *seg_file;   /* its path */
static char *conf;
static char *conf_relp; /* a text file and RELP syslog (make_relp_config) */
static long thread_at;   /* > 0: the thread_at-th pthread_create() of what spawn_preloaded() starts fails */

/* The segment's one file in d (malloc'd), or NULL. */
static char *only_file(const char *d)
{
	DIR *dd = opendir(d);
	char *found = NULL;
	for (struct dirent *e; dd && (e = readdir(dd)) != NULL;)
		if (e->d_name[0] != '.' && !found)
			found = th_path(d, e->d_name);
	if (dd)
		closedir(dd);
	return found;
}

static void make_config(void)
{
	char *key = th_path(dir, "key");
	FILE *k = fopen(key, "w");
	cr_assert(k);
	for (int i = 0; i < 32; i++)
		fputc(i * 7 + 1, k);
	fclose(k);
	chmod(key, 0600);
	conf = th_path(dir, "c.conf");
	FILE *f = fopen(conf, "w");
	cr_assert(f);
	fprintf(f,
		"collector: { dir = \"%s/run\"; };\n"
		"writers = (\n"
		"  { name = \"text\"; type = \"file\"; path = \"%s/out/text.log\"; },\n"
		"  { name = \"json\"; type = \"file\"; path = \"%s/out/json.log\"; format = \"json\"; },\n"
		"  { name = \"bin\"; type = \"binary\"; path = \"%s/out/bin.log\"; },\n"
		"  { name = \"enc\"; type = \"file\"; path = \"%s/out/enc.log\"; encrypt = { key_file = \"%s\"; }; },\n"
		"  { name = \"rot\"; type = \"file\"; path = \"%s/out/rot.log\"; max_bytes = 8192; compress = \"zstd\"; },\n"
		"  { name = \"udp\"; type = \"syslog\"; transport = \"udp\"; host = \"127.0.0.1\"; port = 9; }\n"
		");\n"
		"routes = ( { message = \"i=[0-9]*7 \"; to = [\"json\", \"text\"]; } );\n"
		"default = [\"text\", \"bin\", \"enc\", \"rot\", \"udp\"];\n",
		dir, dir, dir, dir, dir, key, dir);
	fclose(f);
	free(key);
}

static void setup(void)
{
	dir = th_mkdtemp(true);
	char *segs = th_path(dir, "seg");
	mkdir(segs, 0755);
	char *prog = th_build_path("tests/producer_prog");
	char t[16], r[16];
	snprintf(t, sizeof t, "%d", THREADS);
	snprintf(r, sizeof r, "%d", RECORDS);
	char *argv[] = {prog, "-d", segs, "-n", "oom", "-t", t, "-r", r, "-R", "16384", "-m", "2", "-C", "-f", "0", NULL};
	int st = th_waitpid_timeout(th_spawn(argv, "/dev/null", NULL, NULL), 30000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the producer logs its records");
	seg_file = only_file(segs);
	cr_assert(seg_file, "the producer left its segment");
	make_config();
	free(prog);
	free(segs);
}

static void teardown(void)
{
	th_rmrf(dir);
	free(dir);
	free(seg_file);
	free(conf);
	free(conf_relp);
}

TestSuite(oom, .init = setup, .fini = teardown, .timeout = 240);

/* A fresh run directory holding a copy of the segment (with_seg), and an empty output directory. */
static void fresh_run(bool with_seg)
{
	char *run = th_path(dir, "run"), *out = th_path(dir, "out");
	th_rmrf(run);
	th_rmrf(out);
	mkdir(run, 0755);
	mkdir(out, 0755);
	if (!with_seg) {
		free(run);
		free(out);
		return;
	}
	char *copy = th_path(run, strrchr(seg_file, '/') + 1);
	size_t len;
	char *bytes = th_read_file(seg_file, &len);
	cr_assert(bytes);
	FILE *f = fopen(copy, "w");
	cr_assert(f && fwrite(bytes, 1, len, f) == len);
	fclose(f);
	chmod(copy, 0600);
	free(bytes);
	free(copy);
	free(run);
	free(out);
}

/*
 * Start argv under the failing allocator, its stdout into dir/OUT and its stderr into dir/ERR (names):
 * the allocation at fails, and every every-th after it (every > 0); at 0, none fails and the number of
 * allocations is written to dir/count at exit. Returns its pid.
 */
static pid_t spawn_preloaded(char *const argv[], long at, long every, const char *out, const char *errname)
{
	char *lib = th_build_path("tests/libfailmalloc.so"), *o = th_path(dir, out), *e = th_path(dir, errname);
	char *cnt = th_path(dir, "count");
	char e_pre[4200], e_at[64], e_every[64], e_cnt[4200], e_thread[64];
	snprintf(e_pre, sizeof e_pre, "LD_PRELOAD=%s", lib);
	snprintf(e_at, sizeof e_at, "FAILMALLOC_AT=%ld", at);
	snprintf(e_every, sizeof e_every, "FAILMALLOC_EVERY=%ld", every);
	snprintf(e_cnt, sizeof e_cnt, "FAILMALLOC_COUNT=%s", cnt);
	snprintf(e_thread, sizeof e_thread, "FAILMALLOC_THREAD_AT=%ld", thread_at);
	char *env[] = {e_pre, at ? e_at : e_cnt, e_every, e_thread, NULL};
	pid_t p = th_spawn(argv, o, e, env);
	free(lib);
	free(o);
	free(e);
	free(cnt);
	return p;
}

/* spawn_preloaded(), waited for; with at 0, *count gets the allocations (and *threads, if not NULL, the
 * threads created). Returns its wait status (-1 if it ran past 30 s). */
static int run_preloaded_counting(char *const argv[], long at, long every, const char *out, const char *errname,
				  long *count, long *threads)
{
	int st = th_waitpid_timeout(spawn_preloaded(argv, at, every, out, errname), 30000);
	if (count) {
		char *cnt = th_path(dir, "count"), *t = th_read_file(cnt, NULL);
		*count = t ? atol(t) : 0;
		if (threads)
			*threads = t && strchr(t, ' ') ? atol(strchr(t, ' ')) : 0;
		free(t);
		free(cnt);
	}
	return st;
}

static int run_preloaded(char *const argv[], long at, long every, const char *out, const char *errname, long *count)
{
	return run_preloaded_counting(argv, at, every, out, errname, count, NULL);
}

/* The collector --once with config c on a fresh copy of the segment, under run_preloaded(); its stderr in
 * dir/err. */
static int run_collector_with(const char *c, long at, long every, long *count)
{
	fresh_run(true);
	char *prog = th_build_path("shmlog-collector");
	char *argv[] = {prog, "--config", (char *)c, "--once", NULL};
	int st = run_preloaded(argv, at, every, "stdout", "err", count);
	free(prog);
	return st;
}

/* run_collector_with() the config of six writers. */
static int run_collector(long at, long every, long *count)
{
	return run_collector_with(conf, at, every, count);
}

/* Whether msg is record (t, i) exactly as the text writer shows it. */
static bool is_record(const char *msg, size_t len, int t, long i)
{
	char want[512];
	th_expect_msg(want, sizeof want, t, i);
	return len == strlen(want) && memcmp(msg, want, len) == 0;
}

struct tally {
	int written, lost, unshown, dup;
	char bad[200]; /* the first line that is no record and no notice */
	bool seen[THREADS][RECORDS];
};

/* One line of the text file into *y. */
static void tally_line(struct tally *y, const char *line, size_t len)
{
	const char *m = memmem(line, len, "]: ", 3);
	int t, n;
	long i, lost;
	if (m) {
		m += 3;
		size_t ml = len - (size_t)(m - line);
		if (sscanf(m, "rec t=%d i=%ld", &t, &i) == 2 && t >= 0 && t < THREADS && i >= 0 && i < RECORDS &&
		    is_record(m, ml, t, i)) {
			y->dup += y->seen[t][i];
			y->seen[t][i] = true;
			y->written++;
			return;
		}
		if (sscanf(m, "[shmlog] %ld records lost for this writer (out of memory)%n", &lost, &n) == 1 &&
		    (size_t)n == ml) {
			y->lost += (int)lost;
			return;
		}
		if (strncmp(m, "[shmlog: out of memory: ", 24) == 0) { /* a record shown as its lack of memory */
			y->unshown++;
			return;
		}
	}
	if (!y->bad[0])
		snprintf(y->bad, sizeof y->bad, "%.*s", (int)(len < 150 ? len : 150), line);
}

/* Every line of the file at path, into a tally. */
static struct tally tally_file(const char *path)
{
	struct tally y = {0};
	size_t len = 0;
	char *t = th_read_file(path, &len);
	for (size_t a = 0; t && a < len;) {
		char *nl = memchr(t + a, '\n', len - a);
		size_t e = nl ? (size_t)(nl - t) : len;
		tally_line(&y, t + a, e - a);
		a = e + 1;
	}
	free(t);
	return y;
}

/* The text writer's file, into a tally. */
static struct tally tally_text(void)
{
	char *path = th_path(dir, "out/text.log");
	struct tally y = tally_file(path);
	free(path);
	return y;
}

/* Whether text says that memory ran out: in our words, strerror(ENOMEM)'s, getaddrinfo()'s ("Memory
 * allocation failure"), or pthread_create()'s EAGAIN (no memory for a thread). */
static bool says_no_memory(const char *text)
{
	return strcasestr(text, "memory") || strstr(text, strerror(EAGAIN));
}

/* What a run with status st (its allocation number at, every every) must show. */
static void check_run(int st, long at, long every)
{
	cr_assert(st != -1, "at %ld/%ld: the collector ends (it was killed after 30 s)", at, every);
	cr_assert(WIFEXITED(st), "at %ld/%ld: the collector exits, not by signal %d", at, every,
		  WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	char *errp = th_path(dir, "err");
	char *err = th_read_file(errp, NULL);
	free(errp);
	cr_assert(err);
	if (WEXITSTATUS(st) != 0) {
		cr_assert_eq(WEXITSTATUS(st), 1, "at %ld/%ld: exit status 1", at, every);
		cr_assert(strncmp(err, "shmlog-collector: ", 18) == 0 && says_no_memory(err),
			  "at %ld/%ld: one error line that says why: %.200s", at, every, err);
		cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "at %ld/%ld: one line: %.200s", at, every, err);
		free(err);
		return;
	}
	struct tally y = tally_text();
	cr_assert(!y.bad[0], "at %ld/%ld: a line neither a record nor a notice: %s", at, every, y.bad);
	cr_assert_eq(y.dup, 0, "at %ld/%ld: no record twice", at, every);
	int told = y.written + y.lost + y.unshown;
	char *run = th_path(dir, "run"), *left = only_file(run);
	if (told != THREADS * RECORDS)
		cr_assert(left && strstr(err, "stay in their segments"),
			  "at %ld/%ld: %d written, %d told lost, %d shown as not shown, of %d, and none left in the "
			  "segment with a warning: %.200s",
			  at, every, y.written, y.lost, y.unshown, THREADS * RECORDS, err);
	free(run);
	free(left);
	free(err);
}

Test(oom, every_single_allocation_failure_of_a_drain)
{
	long count = 0;
	int st = run_collector(0, 0, &count);
	check_run(st, 0, 0);
	struct tally y = tally_text();
	cr_assert_eq(y.written, THREADS * RECORDS, "with memory, every record is written");
	cr_assert_gt(count, 20, "the collector allocates (%ld times): the library is preloaded", count);
	for (long at = 1; at <= count; at++)
		check_run(run_collector(at, 0, NULL), at, 0);
}

Test(oom, allocations_failing_all_along)
{
	long every[] = {2, 3, 5, 11};
	for (size_t k = 0; k < sizeof every / sizeof every[0]; k++)
		for (long at = 1; at < 80; at += 13)
			check_run(run_collector(at, every[k], NULL), at, every[k]);
}

/* Sweep every allocation of the tool run argv: it exits 0 with the output it gives with memory, or 1
 * saying that memory ran out, never by a signal. */
static void sweep_tool(char *const argv[])
{
	long count = 0;
	cr_assert_eq(run_preloaded(argv, 0, 0, "o", "e", &count), 0, "%s %s: runs with memory", argv[1], argv[2]);
	char *o = th_path(dir, "o"), *e = th_path(dir, "e");
	size_t want_len;
	char *want = th_read_file(o, &want_len);
	cr_assert(want && want_len > 0);
	for (long at = 1; at <= count; at++) {
		int st = run_preloaded(argv, at, 0, "o", "e", NULL);
		cr_assert(st != -1 && WIFEXITED(st), "%s at %ld: exits, not by a signal", argv[1], at);
		size_t len;
		char *out = th_read_file(o, &len), *err = th_read_file(e, NULL);
		cr_assert(out && err);
		if (WEXITSTATUS(st) == 0)
			cr_assert(len == want_len && memcmp(out, want, len) == 0, "%s at %ld: exit 0, the whole output",
				  argv[1], at);
		else
			cr_assert(WEXITSTATUS(st) == 1 && (says_no_memory(err) || strstr(out, "out of memory")),
				  "%s at %ld: exit 1 saying memory ran out (status %d): %.200s", argv[1], at,
				  WEXITSTATUS(st), err);
		free(out);
		free(err);
	}
	free(want);
	free(o);
	free(e);
}

Test(oom, the_tools_out_of_memory)
{
	check_run(run_collector(0, 0, NULL), 0, 0);
	char *tool = th_build_path("shmlog"), *bin = th_path(dir, "out/bin.log"), *enc = th_path(dir, "out/enc.log");
	char *key = th_path(dir, "key");
	char *read_argv[] = {tool, "read", seg_file, NULL};
	char *decode_argv[] = {tool, "decode", bin, NULL};
	char *decrypt_argv[] = {tool, "decrypt", "--key", key, enc, NULL};
	char *segs = th_path(dir, "seg");
	char *recover_argv[] = {tool, "recover", segs, NULL};
	char *recover_json_argv[] = {tool, "recover", "--json", segs, NULL};
	char *tail_argv[] = {tool, "tail", seg_file, NULL};
	char *stat_argv[] = {tool, "stat", segs, NULL};
	sweep_tool(read_argv);
	sweep_tool(decode_argv);
	sweep_tool(decrypt_argv);
	sweep_tool(recover_argv);
	sweep_tool(recover_json_argv);
	sweep_tool(tail_argv);
	sweep_tool(stat_argv);
	free(segs);
	free(tool);
	free(bin);
	free(enc);
	free(key);
}

static bool exists(void *path)
{
	return access(path, F_OK) == 0;
}

/* A collector that runs, memory failing every 7th allocation from its 60th (its start is done by then),
 * while a producer logs, flushes and closes: SIGTERM ends it, and every record is accounted for. */
Test(oom, a_running_collector_short_of_memory)
{
	fresh_run(false);
	char *prog = th_build_path("shmlog-collector"), *text = th_path(dir, "out/text.log"), *run = th_path(dir, "run");
	char *argv[] = {prog, "--config", conf, NULL};
	pid_t c = spawn_preloaded(argv, 60, 7, "stdout", "err");
	cr_assert(th_wait_until(exists, text, 10000), "the collector opens its files");
	char *pp = th_build_path("tests/producer_prog");
	char t[16], r[16];
	snprintf(t, sizeof t, "%d", THREADS);
	snprintf(r, sizeof r, "%d", RECORDS);
	char *pargv[] = {pp, "-d", run, "-n", "oom", "-t", t, "-r", r, "-f", "10000", "-C", NULL};
	int pst = th_waitpid_timeout(th_spawn(pargv, "/dev/null", NULL, NULL), 30000);
	cr_assert(WIFEXITED(pst) && WEXITSTATUS(pst) == 0, "the producer logs and flushes");
	kill(c, SIGTERM);
	check_run(th_waitpid_timeout(c, 30000), 60, 7);
	free(prog);
	free(text);
	free(run);
	free(pp);
}

/* A config of the text file and syslog over RELP to rsyslogd r, with a spool. */
static void make_relp_config(const struct rsyslog *r)
{
	free(conf_relp);
	conf_relp = th_path(dir, "relp.conf");
	FILE *f = fopen(conf_relp, "w");
	cr_assert(f);
	fprintf(f,
		"collector: { dir = \"%s/run\"; };\n"
		"writers = (\n"
		"  { name = \"text\"; type = \"file\"; path = \"%s/out/text.log\"; },\n"
		"  { name = \"relp\"; type = \"syslog\"; transport = \"relp\"; host = \"127.0.0.1\"; port = %u;\n"
		"    spool_dir = \"%s/out\"; }\n"
		");\n",
		dir, dir, r->port, dir);
	fclose(f);
}

/* librelp's allocations fail too, in a --once drain into the text file and RELP: each of the first 160
 * (start, connection, first frames), then every 37th (a whole sweep takes minutes: a run is a session). */
Test(oom, allocation_failures_of_a_drain_to_relp)
{
	if (!rs_relp_available())
		cr_skip_test("rsyslogd with RELP is not installed (Debian packages rsyslog, rsyslog-relp; ./dev installs them)");
	struct rsyslog r;
	rs_start(&r, dir, RS_RELP, 0);
	make_relp_config(&r);
	long count = 0;
	check_run(run_collector_with(conf_relp, 0, 0, &count), 0, 0);
	cr_assert_eq(tally_text().written, THREADS * RECORDS, "with memory, every record is written");
	cr_assert_gt(count, 500, "the collector allocates (%ld times)", count);
	for (long at = 1; at <= count; at += at < 160 ? 1 : 37)
		check_run(run_collector_with(conf_relp, at, 0, NULL), at, 0);
	thread_at = 1; /* the RELP writer's thread cannot start */
	check_run(run_collector_with(conf_relp, 0, 0, NULL), -1, 0);
	char *errp = th_path(dir, "err"), *err = th_read_file(errp, NULL);
	cr_assert(err && strstr(err, "writer relp: cannot start RELP: "), "%.200s", err);
	free(err);
	free(errp);
	rs_stop(&r);
}

/* No thread can be started (pthread_create() fails with EAGAIN, each in turn): compression, the render
 * helpers of collector.threads = 2, and whatever else the collector starts. */
Test(oom, each_thread_that_cannot_be_started)
{
	char *text = th_read_file(conf, NULL), *threaded = th_path(dir, "threads.conf");
	cr_assert(text);
	const char *at = strstr(text, "; };\n");
	FILE *f = fopen(threaded, "w");
	cr_assert(at && f);
	fprintf(f, "%.*s; threads = 2%s", (int)(at - text), text, at);
	fclose(f);
	fresh_run(true);
	char *prog = th_build_path("shmlog-collector");
	char *argv[] = {prog, "--config", threaded, "--once", NULL};
	long count = 0, threads = 0;
	check_run(run_preloaded_counting(argv, 0, 0, "stdout", "err", &count, &threads), 0, 0);
	cr_assert_geq(threads, 2, "the compression thread and a render helper start (%ld threads)", threads);
	bool said_compress = false, said_render = false;
	char *errp = th_path(dir, "err");
	for (thread_at = 1; thread_at <= threads; thread_at++) {
		fresh_run(true);
		int st = run_preloaded(argv, 0, 0, "stdout", "err", NULL);
		check_run(st, -thread_at, 0); /* its messages name the thread as "at -N" */
		char *err = th_read_file(errp, NULL);
		cr_assert(err);
		bool compress = strstr(err, "cannot start the compression thread for \"") != NULL;
		bool render = strstr(err, "collector.threads: cannot start 2 render threads: ") != NULL;
		if (WEXITSTATUS(st) == 1)
			cr_assert(compress || render, "thread %ld: the line names what could not start: %.200s", thread_at, err);
		said_compress |= compress;
		said_render |= render;
		free(err);
	}
	cr_assert(said_compress && said_render, "the compression thread and the render helpers each failed once");
	free(errp);
	free(prog);
	free(threaded);
	free(text);
}

/* A TLS writer's context that cannot be made for want of memory (OpenSSL queues no reason for it then):
 * the line says why. Swept from the first allocation to the first run that gets past the start. */
Test(oom, a_tls_context_that_cannot_be_made_says_why)
{
	char *tls = th_path(dir, "tls.conf");
	FILE *f = fopen(tls, "w");
	cr_assert(f);
	fprintf(f,
		"collector: { dir = \"%s/run\"; };\n"
		"writers = (\n"
		"  { name = \"text\"; type = \"file\"; path = \"%s/out/text.log\"; },\n"
		"  { name = \"tls\"; type = \"syslog\"; transport = \"tls\"; host = \"127.0.0.1\"; port = %u;\n"
		"    tls = { verify = false; }; }\n"
		");\n",
		dir, dir, rs_free_port(SOCK_STREAM));
	fclose(f);
	char *errp = th_path(dir, "err");
	bool said = false, started = false;
	for (long at = 1; at < 1000 && !started; at++) {
		int st = run_collector_with(tls, at, 0, NULL);
		check_run(st, at, 0);
		started = WEXITSTATUS(st) == 0;
		char *err = th_read_file(errp, NULL);
		said |= err && strstr(err, "writers.[1].tls: cannot make a TLS context: Cannot allocate memory\n");
		free(err);
	}
	cr_assert(started, "a run gets past the start");
	cr_assert(said, "a TLS context that cannot be made is said, with why");
	free(errp);
	free(tls);
}

/* Memory gone for good in the middle of a drain (every allocation from the at-th on fails): what could
 * not be read stays in the segment, said so, and `shmlog recover` prints it afterwards. */
Test(oom, records_a_drain_cannot_read_stay_in_their_segment_for_recover)
{
	char *errp = th_path(dir, "err"), *run = th_path(dir, "run"), *rec = th_path(dir, "recovered.log");
	char *tool = th_build_path("shmlog");
	int left_runs = 0;
	for (long at = 10; at <= 60; at += 2) {
		int st = run_collector(at, 1, NULL);
		check_run(st, at, 1);
		char *err = th_read_file(errp, NULL);
		bool left = err && strstr(err, "out of memory: records not read stay in their segments\n");
		free(err);
		if (!left)
			continue;
		left_runs++;
		struct tally y = tally_text();
		unlink(rec);
		char *argv[] = {tool, "recover", "--output", rec, run, NULL};
		int rst = th_waitpid_timeout(th_spawn(argv, "/dev/null", "/dev/null", NULL), 30000);
		cr_assert(WIFEXITED(rst) && WEXITSTATUS(rst) == 0, "at %ld: shmlog recover exits 0", at);
		int recovered = tally_file(rec).written;
		cr_assert_eq(recovered, THREADS * RECORDS - y.written - y.lost - y.unshown,
			     "at %ld: recover prints the %d records the collector did not write (%d written)", at,
			     THREADS * RECORDS - y.written - y.lost - y.unshown, y.written);
	}
	cr_assert_gt(left_runs, 0, "some drain left records in their segment");
	free(tool);
	free(rec);
	free(run);
	free(errp);
}
