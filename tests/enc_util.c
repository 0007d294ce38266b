/*
 * enc_util.c — helpers of the encryption tests (enc_util.h).
 */
#include "enc_util.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"
#include "helpers.h"
#include "shared/encfile.h"

struct ran run_shmlog(const char *const *args)
{
	char *bin = th_build_path("shmlog"), *o = wpath("tool.out"), *e = wpath("tool.err");
	char *argv[64] = {bin};
	int n = 1;
	for (; args[n - 1] && n < 63; n++)
		argv[n] = (char *)args[n - 1];
	argv[n] = NULL;
	int st = th_waitpid_timeout(th_spawn(argv, o, e, NULL), 60000);
	struct ran r = {.status = st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1};
	r.out = th_read_file(o, &r.out_len);
	r.err = th_read_file(e, NULL);
	cr_assert(r.out && r.err);
	free(bin);
	free(o);
	free(e);
	return r;
}

void ran_free(struct ran *r)
{
	free(r->out);
	free(r->err);
}

void collect_encrypted(const char *plain, const char *enc, const char *members, long records)
{
	char *pout = wpath("prod.out"), r[32];
	char *cfg = wconfig("writers = ( { type = \"file\"; path = \"%s\"; },\n"
			    " { type = \"file\"; path = \"%s\"; encrypt = { %s }; } );\n", plain, enc, members);
	pid_t c = start_collector("/dev/null", NULL, "--config", cfg);
	snprintf(r, sizeof r, "%ld", records);
	char *args[] = {"-t", "2", "-r", r, "-p", "block", "-f", "60000", "-C", NULL};
	run_producer(pout, args, NULL);
	cr_assert(th_wait_until(no_segments, NULL, 60000), "segments not drained");
	stop_collector(c);
	free(pout);
	free(cfg);
}

char *make_key(const char *name, int public_pair)
{
	char *path = wpath(name);
	const char *args[] = {"keygen", public_pair ? "--public" : path, public_pair ? path : NULL, NULL};
	struct ran r = run_shmlog(args);
	cr_assert_eq(r.status, 0, "keygen: %s", r.err);
	ran_free(&r);
	return path;
}

struct ran decrypt(const char *key, int json, const char *const *files)
{
	const char *args[64] = {"decrypt", "--key", key};
	int n = 3;
	if (json)
		args[n++] = "--json";
	for (int i = 0; files[i] && n < 63; i++)
		args[n++] = files[i];
	args[n] = NULL;
	return run_shmlog(args);
}

char **series(const char *path)
{
	int top = 0;
	char p[4096];
	for (;; top++) {
		snprintf(p, sizeof p, "%s.%d", path, top + 1);
		if (access(p, F_OK) != 0)
			break;
	}
	char **names = calloc((size_t)top + 2, sizeof *names);
	cr_assert(names);
	for (int k = top, i = 0; k >= 0; k--, i++) {
		if (k)
			snprintf(p, sizeof p, "%s.%d", path, k);
		else
			snprintf(p, sizeof p, "%s", path);
		names[i] = strdup(p);
	}
	return names;
}

void free_series(char **names)
{
	for (char **q = names; *q; q++)
		free(*q);
	free(names);
}

size_t *chunk_offsets(const char *path, size_t *n)
{
	size_t len = 0, cap = 64;
	char *data = th_read_file(path, &len);
	size_t *at = malloc(cap * sizeof *at);
	cr_assert(data && at);
	*n = 0;
	for (size_t pos = 0; pos < len;) {
		if (*n + 1 >= cap)
			cr_assert(at = realloc(at, (cap *= 2) * sizeof *at));
		at[(*n)++] = pos;
		if (memcmp(data + pos, ENCFILE_MAGIC, ENCFILE_MAGIC_BYTES) == 0)
			pos += ENCFILE_HEADER_BYTES;
		else
			pos += ENCFILE_CHUNK_HEADER_BYTES + encfile_get32((const uint8_t *)data + pos);
	}
	at[(*n)++] = len;
	free(data);
	return at;
}

void assert_same_bytes(const char *got, size_t len, const char *path)
{
	size_t want_len = 0;
	char *want = th_read_file(path, &want_len);
	cr_assert(want, "%s missing", path);
	cr_assert_eq(len, want_len, "got %zu bytes, %s holds %zu", len, path, want_len);
	cr_assert(memcmp(got, want, len) == 0, "the bytes differ from %s", path);
	free(want);
}
