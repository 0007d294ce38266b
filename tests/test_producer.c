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
#include <sys/mman.h>
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
	seg_render(&rseg, 0, &r, 0, &msg, &tr);
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
		seg_render(&rseg, 0, &r, 0, &msg, &tr);
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
