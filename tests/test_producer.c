/*
 * test_producer.c — the producer's log path, read back in process: the
 * inline fast path (arguments stored by C type) and the general path must
 * give the same printf-exact text, and the choice between them must follow
 * the format, not the argument types.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmlog.h>

#include "helpers.h"
#include "shared/segment.h"

static char *dir;
static struct shmlog *lg;
static struct seg rseg;
static uint64_t rpos;
static struct sbuf msg;

static void setup(void)
{
	dir = th_mkdtemp(true);
	struct shmlog_options o = {.dir = dir, .max_threads = 2, .min_level = SHMLOG_LEVEL_TRACE};
	cr_assert_eq(shmlog_open(&lg, &o), 0);
	char err[256];
	cr_assert_eq(seg_open(&rseg, shmlog_segment_path(lg), false, err, sizeof err), 0, "%s", err);
	rpos = 0;
}

static void teardown(void)
{
	sbuf_free(&msg);
	seg_close(&rseg);
	shmlog_close(lg);
	th_rmrf(dir);
	free(dir);
}

/* The next record of this thread's ring (ring 0), rendered. */
static const char *next_msg(void)
{
	uint64_t head, tail;
	const char *why = NULL;
	cr_assert(seg_ring_positions(&rseg, 0, &head, &tail, &why), "%s", why);
	struct seg_rec r;
	cr_assert_eq(seg_ring_next(&rseg, 0, &rpos, tail, &r, &why), 1, "no record: %s", why ? why : "");
	rpos += r.size;
	struct text_record tr;
	struct seg_space sp;
	seg_render(&rseg, 0, &r, 0, &msg, &tr, &sp);
	sbuf_putc(&msg, 0);
	return msg.data;
}

TestSuite(producer, .init = setup, .fini = teardown);

Test(producer, fast_and_general_paths_render_the_same_text)
{
	for (int i = 0; i < 3; i++) /* the first call registers (general path), the others go inline */
		SHMLOG_INFO(lg, "value=%d name=%s pi=%f u=%lu c=%c", 42 + i, "hello", 3.14159, 7ul, 'x');
	for (int i = 0; i < 3; i++) {
		char want[128];
		snprintf(want, sizeof want, "value=%d name=%s pi=%f u=%lu c=%c", 42 + i, "hello", 3.14159, 7ul, 'x');
		cr_assert_str_eq(next_msg(), want);
	}
}

Test(producer, a_char_pointer_given_to_percent_p_prints_the_pointer_not_the_string)
{
	const char *s = "not me";
	char want[64];
	snprintf(want, sizeof want, "at %p", (const void *)s);
	for (int i = 0; i < 2; i++)
		SHMLOG_INFO(lg, "at %p", (const void *)s);
	for (int i = 0; i < 2; i++)
		SHMLOG_INFO(lg, "at %p", (void *)(uintptr_t)s);
	char *cs = (char *)(uintptr_t)s;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
	for (int i = 0; i < 3; i++) /* by type a string; the format says pointer: the format wins */
		SHMLOG_INFO(lg, "at %p", cs);
#pragma GCC diagnostic pop
	for (int i = 0; i < 7; i++)
		cr_assert_str_eq(next_msg(), want);
}

Test(producer, integer_types_narrower_or_wider_than_the_conversion_still_print_right)
{
	short sh = -5;
	unsigned char uc = 250;
	long long ll = -1234567890123ll;
	for (int i = 0; i < 2; i++)
		SHMLOG_INFO(lg, "%hd %hhu %lld %zu %jd", sh, uc, ll, (size_t)99, (intmax_t)-7);
	for (int i = 0; i < 2; i++)
		cr_assert_str_eq(next_msg(), "-5 250 -1234567890123 99 -7");
}

Test(producer, null_empty_and_overlong_strings)
{
	char *big = malloc(3000);
	memset(big, 'b', 2999);
	big[2999] = 0;
	const char *null = NULL;
	for (int i = 0; i < 2; i++)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-overflow"
		SHMLOG_INFO(lg, "[%s][%s][%.3s]", null, "", null);
#pragma GCC diagnostic pop
	for (int i = 0; i < 2; i++)
		SHMLOG_INFO(lg, "%s", big);
	for (int i = 0; i < 2; i++)
		cr_assert_str_eq(next_msg(), "[(null)][][]");
	for (int i = 0; i < 2; i++) {
		const char *m = next_msg();
		cr_assert_eq(strlen(m), SHMLOG_MAX_STRING + strlen("...[truncated]"));
		cr_assert_eq(strspn(m, "b"), SHMLOG_MAX_STRING);
		cr_assert_str_eq(m + SHMLOG_MAX_STRING, "...[truncated]");
	}
	free(big);
}

Test(producer, strings_ending_at_a_page_boundary_before_an_unmapped_page_are_read_safely)
{
	long page = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(m != MAP_FAILED);
	cr_assert_eq(mprotect(m + page, (size_t)page, PROT_NONE), 0);
	for (int len = 0; len < 20; len++) {
		char *s = m + page - len - 1; /* the NUL is the page's last byte */
		memset(s, 'a' + len % 26, (size_t)len);
		s[len] = 0;
		for (int i = 0; i < 2; i++)
			SHMLOG_INFO(lg, "<%s>", s);
		for (int i = 0; i < 2; i++) {
			char want[64];
			snprintf(want, sizeof want, "<%s>", s);
			cr_assert_str_eq(next_msg(), want);
		}
	}
	munmap(m, (size_t)page * 2);
}

Test(producer, long_double_and_width_arguments)
{
	for (int i = 0; i < 2; i++)
		SHMLOG_INFO(lg, "%Lf|%*d|%-*.*f|", 1.5L, 6, 42, 9, 2, 2.345);
	char want[64];
	snprintf(want, sizeof want, "%Lf|%*d|%-*.*f|", 1.5L, 6, 42, 9, 2, 2.345);
	for (int i = 0; i < 2; i++)
		cr_assert_str_eq(next_msg(), want);
}

Test(producer, every_level_macro_logs_at_its_level)
{
	SHMLOG_TRACE(lg, "t");
	SHMLOG_DEBUG(lg, "d");
	SHMLOG_INFO(lg, "i");
	SHMLOG_WARN(lg, "w");
	SHMLOG_ERROR(lg, "e");
	SHMLOG_CRITICAL(lg, "c");
	const char *names = "tdiwec";
	for (int k = 0; k < 6; k++) {
		uint64_t head, tail;
		const char *why;
		cr_assert(seg_ring_positions(&rseg, 0, &head, &tail, &why));
		struct seg_rec r;
		cr_assert_eq(seg_ring_next(&rseg, 0, &rpos, tail, &r, &why), 1);
		rpos += r.size;
		struct text_record tr;
		struct seg_space sp;
		seg_render(&rseg, 0, &r, 0, &msg, &tr, &sp);
		cr_assert_eq(tr.level, SHMLOG_LEVEL_TRACE + k);
		cr_assert_eq(msg.data[0], names[k]);
	}
	shmlog_set_level(lg, SHMLOG_LEVEL_ERROR);
	SHMLOG_WARN(lg, "below the new threshold");
	uint64_t head, tail;
	const char *why;
	cr_assert(seg_ring_positions(&rseg, 0, &head, &tail, &why));
	cr_assert_eq(tail, rpos, "nothing written below the threshold");
}

#include <pthread.h>

static pthread_barrier_t bar;
static struct shmlog *volatile cur;

static void *long_lived_worker(void *arg)
{
	(void)arg;
	for (int k = 0; k < 6; k++) {
		pthread_barrier_wait(&bar); /* a new logger is open */
		SHMLOG_INFO(cur, "k=%d", k);
		pthread_barrier_wait(&bar); /* logged; main checks and closes it */
		pthread_barrier_wait(&bar);
	}
	return NULL;
}

Test(producer, a_thread_gets_its_own_ring_after_its_earlier_loggers_were_closed_elsewhere, .init = NULL, .fini = NULL)
{
	char *d = th_mkdtemp(true);
	pthread_barrier_init(&bar, NULL, 2);
	pthread_t t;
	pthread_create(&t, NULL, long_lived_worker, NULL);
	for (int k = 0; k < 6; k++) {
		struct shmlog *l;
		struct shmlog_options o = {.dir = d, .max_threads = 2};
		cr_assert_eq(shmlog_open(&l, &o), 0);
		cur = l;
		pthread_barrier_wait(&bar);
		pthread_barrier_wait(&bar);
		struct shmlog_stats st;
		shmlog_get_stats(l, &st);
		cr_assert_eq(st.rings_in_use, 1, "logger %d: the worker has a ring of its own, not the overflow ring", k);
		shmlog_close(l); /* by this thread: the worker's slot goes stale */
		pthread_barrier_wait(&bar);
	}
	pthread_join(t, NULL);
	pthread_barrier_destroy(&bar);
	th_rmrf(d);
	free(d);
}

/*
 * The inline path reads the threshold from the calling thread's slot, not
 * from the logger: shmlog_set_level() in one thread must reach the copy in
 * every other thread that holds a ring, both ways.
 */
static void *threshold_worker(void *arg)
{
	(void)arg;
	for (int phase = 0; phase < 3; phase++) {
		pthread_barrier_wait(&bar); /* main set this phase's threshold */
		for (int k = 0; k < 3; k++) { /* the first call registers the site; the rest take the inline path */
			SHMLOG_INFO(lg, "info phase=%d k=%d", phase, k);
			SHMLOG_DEBUG(lg, "debug phase=%d k=%d", phase, k);
		}
		pthread_barrier_wait(&bar); /* logged */
	}
	return NULL;
}

Test(producer, a_threshold_set_in_one_thread_applies_to_the_inline_path_of_another)
{
	static const int levels[3] = {SHMLOG_LEVEL_INFO, SHMLOG_LEVEL_ERROR, SHMLOG_LEVEL_DEBUG};
	pthread_barrier_init(&bar, NULL, 2);
	pthread_t t;
	pthread_create(&t, NULL, threshold_worker, NULL);
	char want[64];
	for (int phase = 0; phase < 3; phase++) {
		cr_assert_eq(shmlog_set_level(lg, levels[phase]), 0);
		pthread_barrier_wait(&bar);
		pthread_barrier_wait(&bar);
		for (int k = 0; k < 3; k++) {
			if (levels[phase] <= SHMLOG_LEVEL_INFO) {
				snprintf(want, sizeof want, "info phase=%d k=%d", phase, k);
				cr_assert_str_eq(next_msg(), want);
			}
			if (levels[phase] <= SHMLOG_LEVEL_DEBUG) {
				snprintf(want, sizeof want, "debug phase=%d k=%d", phase, k);
				cr_assert_str_eq(next_msg(), want);
			}
		}
		uint64_t head, tail;
		const char *why;
		cr_assert(seg_ring_positions(&rseg, 0, &head, &tail, &why));
		cr_assert_eq(tail, rpos, "phase %d: a record at a level below the threshold %d was written", phase,
			     levels[phase]);
	}
	pthread_join(t, NULL);
	pthread_barrier_destroy(&bar);
}

/* Records in ring `ring` of the segment at path, or in all its rings when ring < 0. */
static int records_in_ring(const char *path, long ring)
{
	char err[256];
	struct seg s;
	cr_assert_eq(seg_open(&s, path, false, err, sizeof err), 0, "%s", err);
	uint64_t head, tail, pos;
	const char *why;
	struct seg_rec r;
	int n = 0;
	uint32_t first = ring < 0 ? 0 : (uint32_t)ring, end = ring < 0 ? s.ring_count : (uint32_t)ring + 1;
	for (uint32_t i = first; i < end; i++) {
		cr_assert(seg_ring_positions(&s, i, &head, &tail, &why));
		for (pos = 0; seg_ring_next(&s, i, &pos, tail, &r, &why) == 1; pos += r.size)
			n++;
	}
	seg_close(&s);
	return n;
}

/*
 * A thread that ends takes its slots out of its loggers: a later thread
 * (which usually gets the same thread-local memory back from the C library)
 * must not have its own slot changed by shmlog_set_level() on a logger the
 * first thread used.
 */
static void *volatile slot_of_first, *volatile slot_of_second;

static void *log_once(void *arg)
{
	slot_of_first = &shmlog__tls_slots[0];
	SHMLOG_INFO((struct shmlog *)arg, "once");
	SHMLOG_INFO((struct shmlog *)arg, "twice");
	return NULL;
}

static void *log_after_set_level(void *arg)
{
	struct shmlog *other = arg;
	slot_of_second = &shmlog__tls_slots[0];
	SHMLOG_INFO(other, "first");
	pthread_barrier_wait(&bar); /* main turns lg off */
	pthread_barrier_wait(&bar);
	SHMLOG_INFO(other, "second");
	return NULL;
}

Test(producer, a_level_change_after_a_thread_ended_leaves_later_threads_alone)
{
	pthread_t t;
	pthread_create(&t, NULL, log_once, lg);
	pthread_join(t, NULL);

	char *d2 = th_mkdtemp(true);
	struct shmlog *other;
	struct shmlog_options o = {.dir = d2, .min_level = SHMLOG_LEVEL_INFO};
	cr_assert_eq(shmlog_open(&other, &o), 0);
	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&t, NULL, log_after_set_level, other);
	pthread_barrier_wait(&bar);
	shmlog_set_level(lg, SHMLOG_LEVEL_OFF);
	pthread_barrier_wait(&bar);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&bar);
	if (slot_of_first != slot_of_second) /* nothing to check: the C library gave the second thread new memory */
		cr_skip_test("the second thread did not get the first one's thread-local memory back");

	cr_assert_eq(records_in_ring(shmlog_segment_path(other), -1), 2,
		     "the second thread's logger lost a record to a level change on another logger");
	shmlog_close(other);
	th_rmrf(d2);
	free(d2);
}

/*
 * shmlog_set_level() never waits for the library's lock: from a
 * pthread_atfork() prepare handler registered before the library's own (so it
 * runs while the library holds its lock for the fork), it must neither hang
 * the fork nor be lost. Run in a child process, so that a hang is a timeout.
 */
static struct shmlog *fork_lg;

static void set_error_level(void)
{
	shmlog_set_level(fork_lg, SHMLOG_LEVEL_ERROR);
}

/* its own suite: the producer suite's setup would open a logger (and register
 * the library's fork handlers) before the test's handler */
Test(fork_handler, a_threshold_set_in_a_fork_handler_neither_hangs_the_fork_nor_is_lost)
{
	char *d = th_mkdtemp(true);
	pid_t driver = fork();
	cr_assert_geq(driver, 0);
	if (driver == 0) {
		pthread_atfork(set_error_level, NULL, NULL); /* before shmlog_open registers the library's */
		struct shmlog_options o = {.dir = d, .min_level = SHMLOG_LEVEL_INFO};
		if (shmlog_open(&fork_lg, &o) != 0)
			_exit(10);
		SHMLOG_INFO(fork_lg, "before the fork"); /* claims this thread's slot */
		SHMLOG_INFO(fork_lg, "before the fork, inline");
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		waitpid(p, NULL, 0);
		SHMLOG_WARN(fork_lg, "below the threshold set in the handler");
		SHMLOG_ERROR(fork_lg, "at it");
		_exit(records_in_ring(shmlog_segment_path(fork_lg), 0) == 3 ? 0 : 11);
	}
	int st = th_waitpid_timeout(driver, 10000);
	cr_assert_neq(st, -1, "fork() hung: set_level waited for the lock the library holds across fork");
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "the driver failed (status %d): 10 open failed, 11 the threshold change was not applied", st);
	th_rmrf(d);
	free(d);
}

/*
 * A log call made after the thread's exit destructor ran (from another
 * library's destructor, later in the same round) goes to the overflow ring:
 * a ring claimed then would register a slot in memory about to be freed.
 */
static pthread_key_t late_key;
static struct shmlog *late_lg;

static void late_destructor(void *arg)
{
	(void)arg;
	SHMLOG_INFO(late_lg, "from a later destructor");
}

static void *log_then_exit(void *arg)
{
	(void)arg;
	SHMLOG_INFO(late_lg, "from the thread");
	pthread_setspecific(late_key, (void *)1);
	return NULL;
}

Test(producer, a_log_call_from_a_later_thread_destructor_uses_the_overflow_ring)
{
	late_lg = lg; /* the suite's logger: its exit destructor's key exists before late_key */
	cr_assert_eq(pthread_key_create(&late_key, late_destructor), 0);
	pthread_t t;
	pthread_create(&t, NULL, log_then_exit, NULL);
	pthread_join(t, NULL);
	const char *path = shmlog_segment_path(lg);
	cr_assert_eq(records_in_ring(path, 0), 1, "the thread's own record is in its ring");
	cr_assert_eq(records_in_ring(path, 1), 0, "no ring was claimed after the thread's exit destructor");
	cr_assert_eq(records_in_ring(path, 2), 1, "the late record is in the overflow ring");
	pthread_key_delete(late_key);
}

/*
 * Segment memory is committed (fallocate, then the page tables filled) when
 * it is created, except the per-thread rings, which are committed when a
 * thread claims one. So a full /dev/shm is an error from shmlog_open, or a
 * thread falling back to the overflow ring, never a SIGBUS in a log call.
 */
static char *mem_dir;

static void mem_fini(void)
{
	if (mem_dir) {
		th_umount(mem_dir);
		th_rmrf(mem_dir);
		free(mem_dir);
		mem_dir = NULL;
	}
}

TestSuite(segment_memory, .fini = mem_fini);

/* Files in d. */
static int files_in(const char *d)
{
	DIR *dd = opendir(d);
	cr_assert(dd);
	int files = 0;
	for (struct dirent *e; (e = readdir(dd)) != NULL;)
		files += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(dd);
	return files;
}

/* ring_data_off of a segment with these options (opened in a roomy directory). */
static uint64_t data_off_for(struct shmlog_options o)
{
	char *d = th_mkdtemp(true);
	o.dir = d;
	struct shmlog *l;
	cr_assert_eq(shmlog_open(&l, &o), 0);
	char err[256];
	struct seg s;
	cr_assert_eq(seg_open(&s, shmlog_segment_path(l), false, err, sizeof err), 0, "%s", err);
	uint64_t off = s.data_off;
	seg_close(&s);
	shmlog_close(l);
	th_rmrf(d);
	free(d);
	return off;
}

static uint64_t allocated_bytes(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	return (uint64_t)st.st_blocks * 512u;
}

Test(segment_memory, a_thread_ring_gets_its_memory_when_claimed)
{
	const uint32_t R = 256 * 1024;
	struct shmlog_options o = {.max_threads = 4, .ring_bytes = R};
	uint64_t off = data_off_for(o);
	char *d = th_mkdtemp(true);
	o.dir = d;
	struct shmlog *l;
	cr_assert_eq(shmlog_open(&l, &o), 0);
	uint64_t before = allocated_bytes(shmlog_segment_path(l));
	cr_assert_geq(before, off + R, "header, registry and the overflow ring are committed at open");
	cr_assert_lt(before, off + 2ull * R, "the thread rings are not");
	SHMLOG_INFO(l, "claims a ring %d", 1);
	cr_assert_geq(allocated_bytes(shmlog_segment_path(l)), off + 2ull * R, "the claimed ring is committed");
	shmlog_close(l);
	th_rmrf(d);
	free(d);
}

Test(segment_memory, a_full_segment_directory_fails_at_open)
{
	mem_dir = th_mkdtemp(false);
	if (!th_mount_tmpfs(mem_dir, "64k"))
		cr_skip_test("cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN)");
	struct shmlog_options o = {.dir = mem_dir, .ring_bytes = 1u << 20};
	struct shmlog *l = NULL;
	cr_assert_eq(shmlog_open(&l, &o), -ENOSPC);
	cr_assert_eq(files_in(mem_dir), 0, "nothing is left behind");
}

/* A forked child whose own segment cannot be created (at its first record):
 * its loggers are off and stay off (turning one back on would log into no
 * segment). */
Test(segment_memory, a_child_without_a_segment_stays_off)
{
	mem_dir = th_mkdtemp(false);
	if (!th_mount_tmpfs(mem_dir, "1m"))
		cr_skip_test("cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN)");
	struct shmlog_options o = {.dir = mem_dir, .ring_bytes = 4096, .max_threads = 1};
	struct shmlog *l = NULL;
	cr_assert_eq(shmlog_open(&l, &o), 0);
	char fill[PATH_MAX];
	snprintf(fill, sizeof fill, "%s/fill", mem_dir);
	FILE *f = fopen(fill, "w");
	cr_assert(f);
	static char block[4096];
	while (fwrite(block, 1, sizeof block, f) == sizeof block && fflush(f) == 0)
		;
	fclose(f);
	pid_t c = fork();
	cr_assert_geq(c, 0);
	if (c == 0) {
		SHMLOG_ERROR(l, "nowhere to go");
		if (shmlog_get_level(l) != SHMLOG_LEVEL_OFF)
			_exit(10);
		if (shmlog_set_level(l, SHMLOG_LEVEL_INFO) != -ENODEV)
			_exit(11);
		SHMLOG_ERROR(l, "still nowhere to go");
		_exit(shmlog_flush(l, 0) == -EIO ? 0 : 12);
	}
	int st = th_waitpid_timeout(c, 10000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "child status %d: 10 logger not off, 11 set_level did not refuse, 12 flush did not fail, or it crashed",
		  st);
	shmlog_close(l);
}

Test(segment_memory, a_thread_whose_ring_finds_no_memory_logs_through_the_overflow_ring)
{
	const uint32_t R = 64 * 1024;
	struct shmlog_options o = {.max_threads = 2, .ring_bytes = R, .name = "nomem"};
	uint64_t off = data_off_for(o);
	mem_dir = th_mkdtemp(false);
	char size[32];
	snprintf(size, sizeof size, "%llu", (unsigned long long)(off + R + R / 2)); /* room for one ring only */
	if (!th_mount_tmpfs(mem_dir, size))
		cr_skip_test("cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN)");
	o.dir = mem_dir;
	struct shmlog *l;
	cr_assert_eq(shmlog_open(&l, &o), 0);
	SHMLOG_INFO(l, "still logged %d", 42); /* would have been a SIGBUS on a sparse segment */
	char err[256];
	struct seg s;
	cr_assert_eq(seg_open(&s, shmlog_segment_path(l), false, err, sizeof err), 0, "%s", err);
	uint32_t overflow = s.ring_count - 1;
	uint64_t head, tail, pos = 0;
	const char *why = NULL;
	cr_assert(seg_ring_positions(&s, overflow, &head, &tail, &why), "%s", why);
	struct seg_rec r;
	cr_assert_eq(seg_ring_next(&s, overflow, &pos, tail, &r, &why), 1, "the record is in the overflow ring");
	struct sbuf m = {0};
	struct text_record tr;
	struct seg_space sp;
	seg_render(&s, 0, &r, 0, &m, &tr, &sp);
	sbuf_putc(&m, 0);
	cr_assert_str_eq(m.data, "still logged 42");
	sbuf_free(&m);
	seg_close(&s);
	shmlog_close(l);
}

/* Fork; the child runs what (0: exit, 1: exec /bin/true, 2: log one record, then flush and stats) and exits
 * 0 when all it checked held. Returns the child's pid, reaped. */
static pid_t child_does(struct shmlog *l, int what)
{
	pid_t c = fork();
	cr_assert_geq(c, 0);
	if (c == 0) {
		struct shmlog_stats st;
		if (shmlog_segment_path(l)[0] || shmlog_flush(l, 0) != 0 || shmlog_get_stats(l, &st) != 0 ||
		    shmlog_set_level(l, SHMLOG_LEVEL_INFO) != 0)
			_exit(10); /* before its first record, the child has no segment and nothing to wait for */
		if (what == 1)
			execl("/bin/true", "true", (char *)NULL);
		if (what == 2) {
			SHMLOG_INFO(l, "the child's %d", 1);
			if (!strstr(shmlog_segment_path(l), "prod.") || shmlog_get_stats(l, &st) != 0 ||
			    st.committed_bytes == 0)
				_exit(11);
		}
		_exit(0);
	}
	int st = th_waitpid_timeout(c, 10000);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: status %d", what, st);
	return c;
}

/* A forked child makes its segment at its first record: one that exits or execs without logging leaves
 * none behind (no file, no notice of its end for the collector to tell). */
Test(segment_memory, a_forked_child_makes_its_segment_only_when_it_logs)
{
	mem_dir = th_mkdtemp(false);
	struct shmlog_options o = {.dir = mem_dir, .name = "prod", .ring_bytes = 4096, .max_threads = 2};
	struct shmlog *l = NULL;
	cr_assert_eq(shmlog_open(&l, &o), 0);
	SHMLOG_INFO(l, "the parent's %d", 1);
	child_does(l, 0);
	child_does(l, 1);
	cr_assert_eq(files_in(mem_dir), 1, "only the parent's segment");
	pid_t c = child_does(l, 2);
	cr_assert_eq(files_in(mem_dir), 2, "the child that logged has its own");
	char want[PATH_MAX];
	snprintf(want, sizeof want, "%s/prod.%d.", mem_dir, (int)c);
	DIR *dd = opendir(mem_dir);
	bool found = false;
	for (struct dirent *e; (e = readdir(dd)) != NULL;) {
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s", mem_dir, e->d_name);
		found |= strncmp(p, want, strlen(want)) == 0;
	}
	closedir(dd);
	cr_assert(found, "the child's segment is named by its pid");
	shmlog_close(l);
}
