/*
 * test_cxx.c — shmlog.h from C++: tests/cxx_prog.cpp (every level, every
 * argument type, std::string and std::string_view, the _KV forms) logs
 * through a real collector, and each line is what printf prints; the header
 * compiles as C++17 and C++20 with g++ and clang++ under -Wall -Wextra
 * -Werror, and a type it cannot log does not compile. Strict ISO C (-std=c11,
 * c17) compiles too (tests/c_strict.c), with gcc and clang.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "helpers.h"

TestSuite(cxx, .init = setup, .fini = teardown);

/* The lines cxx_prog logs, "LEVEL message", in order (once per pass). */
static const char *const want[] = {
	"TRACE trace 1",
	"DEBUG debug",
	"INFO ints -1 2 -3 4 -5 6",
	"INFO small -7 250 -300 65535 x 1 0",
	"INFO enums 2 -5",
	"WARN floats 1.500000 2.25 -3.500000e+10 4.5",
	"WARN pointers 0x1234 (nil)",
	"ERROR strings lit buf hello hello view-of-it vie",
	"ERROR null (null) and 5",
	"CRITICAL big %", /* % : 1024 'a' then the truncation mark */
	"CRITICAL big view %",
	"TRACE trace kv i=-1 u=2 ll=-3 ull=4",
	"DEBUG debug kv 2 ch=65 e=2",
	"INFO info kv f=0.5 d=0.25 yes=true no=false",
	"WARN warn kv view-of-it s=hello sv=view-of-it lit=\"x y\" ref=hello",
	"ERROR error kv n=(null) buf=buf",
	"CRITICAL critical kv hello 8 id=7",
};
#define NWANT (sizeof want / sizeof want[0])

/* want[i] with its % expanded. Returns a malloc'd string. */
static char *expected(size_t i)
{
	const char *pct = strchr(want[i], '%');
	if (!pct)
		return strdup(want[i]);
	char *s = malloc(strlen(want[i]) + 1024 + 32);
	cr_assert(s);
	size_t n = (size_t)(pct - want[i]);
	memcpy(s, want[i], n);
	memset(s + n, 'a', 1024);
	strcpy(s + n + 1024, "...[truncated]");
	return s;
}

Test(cxx, every_level_argument_type_and_field_logs_through_a_collector)
{
	char *out = wpath("out"), *err = wpath("err"), *perr = wpath("prog.err");
	pid_t c = start_collector(out, err, NULL, NULL);
	char *bin = th_build_path("tests/cxx_prog");
	char *argv[] = {bin, dir, NULL};
	pid_t p = th_spawn(argv, NULL, perr, NULL);
	cr_assert(p > 0);
	int st = th_waitpid_timeout(p, 60000);
	char *pe = th_read_file(perr, NULL);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "cxx_prog failed: %s", pe ? pe : "");
	stop_collector(c);
	char *text = th_read_file(out, NULL);
	cr_assert(text, "no collector output");
	size_t n = 0;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct parsed_line pl;
		cr_assert(parse_line(l, &pl), "unparsable line: %s", l);
		cr_assert_str_eq(pl.name, "cxx");
		cr_assert_lt(n, 2 * NWANT, "more lines than logged: %s", pl.msg);
		char *w = expected(n % NWANT), got[2048];
		snprintf(got, sizeof got, "%s %s", pl.level, pl.msg);
		cr_assert_str_eq(got, w, "line %zu (pass %zu, %s path)", n + 1, n / NWANT + 1,
				 n < NWANT ? "general" : "inline");
		free(w);
		n++;
	}
	cr_assert_eq(n, 2 * NWANT, "%zu lines, want %zu", n, 2 * NWANT);
	free(text);
	free(pe);
	free(bin);
	free(out);
	free(err);
	free(perr);
}

/* Whether compiler (a path) accepts file as std with -Wall -Wextra -Werror. */
static bool compiles(const char *compiler, const char *std, const char *file)
{
	char *src = th_source_dir(), *inc = NULL, *stdf = NULL, *log = wpath("cxx.log");
	cr_assert(src);
	cr_assert(asprintf(&inc, "-I%s/producer", src) > 0 && asprintf(&stdf, "-std=%s", std) > 0);
	char *argv[] = {(char *)compiler, stdf, "-Wall", "-Wextra", "-Werror", "-fsyntax-only", inc, (char *)file, NULL};
	pid_t p = th_spawn(argv, log, log, NULL);
	cr_assert(p > 0);
	int st = th_waitpid_timeout(p, 120000);
	char *why = th_read_file(log, NULL);
	bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	if (!ok)
		cr_log_info("%s %s %s: %s", compiler, std, file, why ? why : "");
	free(why);
	free(log);
	free(stdf);
	free(inc);
	free(src);
	return ok;
}

/* tests/NAME compiles with each of the two compilers in each of the two standards. */
static void compiles_with_each(const char *name, const char *const compilers[2], const char *const stds[2])
{
	char *src = th_source_dir(), *prog = NULL;
	cr_assert(src && asprintf(&prog, "%s/tests/%s", src, name) > 0);
	for (int c = 0; c < 2; c++) {
		cr_assert(access(compilers[c], X_OK) == 0, "%s is missing (./dev installs it)", compilers[c]);
		for (int s = 0; s < 2; s++)
			cr_expect(compiles(compilers[c], stds[s], prog), "%s -std=%s", compilers[c], stds[s]);
	}
	free(prog);
	free(src);
}

Test(cxx, the_header_compiles_as_cxx17_and_cxx20_with_gxx_and_clangxx)
{
	static const char *const compilers[] = {"/usr/bin/g++", "/usr/bin/clang++"}, *const stds[] = {"c++17", "c++20"};
	compiles_with_each("cxx_prog.cpp", compilers, stds);
}

/* Write a C++ snippet (body inside main, lg declared) and compile it with g++ -std=c++17. */
static bool snippet_compiles(const char *body)
{
	char *file = wpath("snippet.cpp");
	FILE *f = fopen(file, "w");
	cr_assert(f);
	fprintf(f, "#include <shmlog.h>\n#include <string>\nstruct pod { int a; };\nint main()\n{\n"
		   "\tstruct shmlog *lg = nullptr;\n%s\n\treturn 0;\n}\n", body);
	fclose(f);
	bool ok = compiles("/usr/bin/g++", "c++17", file);
	free(file);
	return ok;
}

Test(cxx, a_type_it_cannot_log_does_not_compile)
{
	cr_assert(snippet_compiles("\tstd::string s; SHMLOG_INFO_KV(lg, (\"s\", s), \"%s %d\", s, 1);"));
	cr_assert_not(snippet_compiles("\tpod p{1}; SHMLOG_INFO(lg, \"%d\", p);"));
	cr_assert_not(snippet_compiles("\tint x; SHMLOG_INFO_KV(lg, (\"p\", &x), \"m\");"));
	cr_assert_not(snippet_compiles("\tlong double d = 1; SHMLOG_INFO_KV(lg, (\"d\", d), \"m\");"));
	cr_assert_not(snippet_compiles("\tSHMLOG_INFO(lg, \"%d\", std::string(\"x\"));"));
}

Test(cxx, the_header_compiles_as_strict_c11_and_c17_with_gcc_and_clang)
{
	static const char *const compilers[] = {"/usr/bin/gcc", "/usr/bin/clang"}, *const stds[] = {"c11", "c17"};
	compiles_with_each("c_strict.c", compilers, stds);
}
