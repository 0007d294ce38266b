/*
 * writer_util.c — see writer_util.h.
 */
#include "tests/writer_util.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/config.h"
#include "tests/helpers.h"

char *wu_dir;
struct io_uring wu_ring;

void wu_setup(void)
{
	wu_dir = th_mkdtemp(false);
	cr_assert(wu_dir);
	if (io_uring_queue_init(8, &wu_ring, 0) != 0)
		cr_skip_test("io_uring is not available");
}

void wu_teardown(void)
{
	io_uring_queue_exit(&wu_ring);
	th_rmrf(wu_dir);
	free(wu_dir);
}

char *wu_path(const char *name)
{
	return th_path(wu_dir, name);
}

bool wu_exists(const char *name)
{
	char *p = wu_path(name);
	bool e = access(p, F_OK) == 0;
	free(p);
	return e;
}

/* Write text to dir/name. Returns the malloc'd path. */
static char *write_conf(const char *dir, const char *name, const char *text)
{
	char *path = th_path(dir, name);
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
	return path;
}

void wu_output_from(struct output *o, const char *dir, const char *writers)
{
	char *text;
	cr_assert(asprintf(&text, "writers = %s;\n", writers) > 0);
	char *path = write_conf(dir, "collector.conf", text);
	free(text);
	static struct collector_config cfg;
	struct diag d;
	cr_assert_eq(config_load(&cfg, path, &d, NULL), 0, "%s", d.msg);
	cr_assert_eq(output_open(o, &cfg, &d), 0, "%s", d.msg);
	config_free(&cfg);
	free(path);
}

void wu_refused(const char *keys, const char *key_problem)
{
	char *text;
	cr_assert(asprintf(&text, "writers = ( { type = \"file\"; path = \"x.log\"; %s } );\n", keys) > 0);
	char *conf = write_conf(wu_dir, "bad.conf", text);
	free(text);
	struct collector_config cfg;
	struct diag d;
	cr_assert_lt(config_load(&cfg, conf, &d, NULL), 0, "%s", keys);
	char want[1024];
	snprintf(want, sizeof want, "%s:1: writers.[0].%s", conf, key_problem);
	cr_assert_str_eq(d.msg, want);
	free(conf);
}

struct text_record wu_rec(int level, const char *msg, uint64_t ts_ns)
{
	return (struct text_record){
		.ts_ns = ts_ns,
		.level = level,
		.name = "app",
		.name_len = 3,
		.pid = 7,
		.tid = 8,
		.msg = msg,
		.msg_len = strlen(msg),
		.file = "a.c",
		.file_len = 3,
		.line = 9,
	};
}
