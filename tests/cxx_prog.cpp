/*
 * cxx_prog.cpp — a C++ program that logs through shmlog.h as a C++ user
 * would: every level, every argument type (std::string and std::string_view
 * among them) and the _KV forms with every field type. Each call runs twice:
 * the first takes the general path (the site registers), the second the
 * inline path. test_cxx.c runs it under a real collector and checks every
 * line against what printf prints.
 *
 *   cxx_prog DIR     log into the segment directory DIR, flush, exit 0
 */
#include <cstdio>
#include <string>
#include <string_view>

#include <shmlog.h>

enum colour { RED, GREEN, BLUE };
enum class mode : long { fast = -5 };

static void log_all(struct shmlog *lg)
{
	const std::string s = "hello";
	const std::string &ref = s;
	const std::string_view sv = std::string_view("view-of-it-not-this").substr(0, 10);
	const std::string big(2000, 'a');
	char buf[8] = "buf";
	const char *none = nullptr;
	bool yes = true, no = false;
	colour c = BLUE;

	SHMLOG_TRACE(lg, "trace %d", 1);
	SHMLOG_DEBUG(lg, "debug");
	SHMLOG_INFO(lg, "ints %d %u %ld %lu %lld %llu", -1, 2u, -3L, 4UL, -5LL, 6ULL);
	SHMLOG_INFO(lg, "small %hhd %hhu %hd %hu %c %d %d", (signed char)-7, (unsigned char)250, (short)-300,
		    (unsigned short)65535, 'x', yes, no);
	SHMLOG_INFO(lg, "enums %d %ld", c, mode::fast);
	SHMLOG_WARN(lg, "floats %f %.2f %e %Lg", 1.5f, 2.25, -3.5e10, 4.5L);
	SHMLOG_WARN(lg, "pointers %p %p", (void *)0x1234, nullptr);
	SHMLOG_ERROR(lg, "strings %s %s %s %s %s %.3s", "lit", buf, s, ref, sv, sv);
	SHMLOG_ERROR(lg, "null %s and %zu", none, s.size());
	SHMLOG_CRITICAL(lg, "big %s", big);
	SHMLOG_CRITICAL(lg, "big view %s", std::string_view(big));
	SHMLOG_TRACE_KV(lg, ("i", -1, "u", 2u, "ll", -3LL, "ull", 4ULL), "trace kv");
	SHMLOG_DEBUG_KV(lg, ("ch", 'A', "e", c), "debug kv %d", 2);
	SHMLOG_INFO_KV(lg, ("f", 0.5f, "d", 0.25, "yes", yes, "no", no), "info kv");
	SHMLOG_WARN_KV(lg, ("s", s, "sv", sv, "lit", "x y", "ref", ref), "warn kv %s", sv);
	SHMLOG_ERROR_KV(lg, ("n", none, "buf", buf), "error kv");
	SHMLOG_CRITICAL_KV(lg, ("id", 7), "critical kv %s %d", s, 8);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		std::fprintf(stderr, "usage: cxx_prog DIR\n");
		return 2;
	}
	struct shmlog_options o = {};
	o.name = "cxx";
	o.dir = argv[1];
	o.min_level = SHMLOG_LEVEL_TRACE;
	struct shmlog *lg;
	int rc = shmlog_open(&lg, &o);
	if (rc < 0) {
		std::fprintf(stderr, "cxx_prog: shmlog_open: error %d\n", -rc);
		return 1;
	}
	for (int i = 0; i < 2; i++)
		log_all(lg);
	rc = shmlog_flush(lg, 30000);
	shmlog_close(lg);
	if (rc < 0) {
		std::fprintf(stderr, "cxx_prog: shmlog_flush: error %d\n", -rc);
		return 1;
	}
	return 0;
}
