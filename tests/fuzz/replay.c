/*
 * replay.c — a fuzz harness without libFuzzer, for `./dev test`.
 *
 *   test_fuzz_NAME [FILE | DIR]...
 *
 * Runs the harness's LLVMFuzzerTestOneInput() over every file in
 * tests/fuzz/corpus/NAME/ and tests/fuzz/crashes/NAME/ (or over the files and
 * directories given), each input in a child process with a time limit, so one
 * input that crashes or hangs is reported by name and the others still run.
 * Built with gcc in build/ and under AddressSanitizer in build-asan/; no
 * clang or libFuzzer is needed. Each directory is one test; the summary line
 * is Criterion's, which ./dev adds up:
 *
 *   [====] Synthesis: Tested: 2 | Passing: 2 | Failing: 0 | Crashing: 0
 *
 * FUZZ_NAME and FUZZ_SOURCE_DIR come from tests/fuzz/meson.build.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

#define REPLAY_SECONDS 20u /* one input, at most: a hang is a failure */

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* The content of path, malloc'd, its size in *n; NULL when it cannot be read. */
static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	uint8_t *buf = NULL;
	size_t cap = 0;
	*n = 0;
	for (;;) {
		if (*n == cap) {
			uint8_t *b = realloc(buf, cap = cap ? 2 * cap : 4096);
			if (!b)
				break;
			buf = b;
		}
		size_t got = fread(buf + *n, 1, cap - *n, f);
		*n += got;
		if (got == 0)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return NULL;
	}
	return buf ? buf : malloc(1);
}

/* Run the harness on the file at path in a child. Returns true when it returned. */
static bool replay_one(const char *path)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", path, strerror(errno));
		return false;
	}
	if (pid == 0) {
		size_t n;
		uint8_t *data = slurp(path, &n);
		if (!data) {
			fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
			_exit(3);
		}
		alarm(REPLAY_SECONDS);
		LLVMFuzzerTestOneInput(data, n);
		free(data);
		exit(0); /* exit, not _exit: LeakSanitizer checks at exit */
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return false;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return true;
	if (WIFSIGNALED(st))
		fprintf(stderr, "%s: killed by signal %d%s\n", path, WTERMSIG(st),
			WTERMSIG(st) == SIGALRM ? " (over the time limit)" : "");
	else
		fprintf(stderr, "%s: exit status %d\n", path, WEXITSTATUS(st));
	return false;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Replay every file of dir (or the file dir). Returns the inputs that failed; *seen counts them all. */
static unsigned replay_path(const char *dir, unsigned *seen)
{
	struct stat st;
	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		++*seen;
		return !replay_one(dir);
	}
	struct dirent **names;
	int n = scandir(dir, &names, NULL, by_name);
	if (n < 0)
		return 0; /* no such directory: nothing to replay */
	unsigned failed = 0;
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		if (names[i]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			++*seen;
			failed += !replay_one(path);
		}
		free(names[i]);
	}
	free(names);
	return failed;
}

/* One test: replay path. Returns whether it passed (an empty directory is no test: *tested stays). */
static bool replay_test(const char *path, unsigned *tested)
{
	unsigned seen = 0, failed = replay_path(path, &seen);
	if (seen == 0)
		return true;
	++*tested;
	printf("[%s] fuzz_%s::%s: %u inputs, %u failed\n", failed ? "FAIL" : "PASS", FUZZ_NAME, path, seen, failed);
	return failed == 0;
}

int main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	unsigned tested = 0, failed = 0;
	bool given = false;
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-') { /* ./dev passes Criterion's --jobs 1 */
			i += strcmp(argv[i], "--jobs") == 0;
			continue;
		}
		given = true;
		failed += !replay_test(argv[i], &tested);
	}
	if (!given) {
		failed += !replay_test(FUZZ_SOURCE_DIR "/corpus/" FUZZ_NAME, &tested);
		failed += !replay_test(FUZZ_SOURCE_DIR "/crashes/" FUZZ_NAME, &tested);
	}
	if (tested == 0) {
		fprintf(stderr, "test_fuzz_%s: no inputs found%s%s\n", FUZZ_NAME, given ? "" : " under ",
			given ? "" : FUZZ_SOURCE_DIR);
		failed = 1;
	}
	unsigned shown = tested ? tested : 1; /* finding no input is one failed test */
	printf("[====] Synthesis: Tested: %u | Passing: %u | Failing: %u | Crashing: 0\n", shown, shown - failed, failed);
	return failed ? 1 : 0;
}
