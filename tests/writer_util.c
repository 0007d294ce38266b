/*
 * writer_util.c — see writer_util.h.
 */
#include "tests/writer_util.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/config.h"

void wu_output_from(struct output *o, const char *dir, const char *writers)
{
	char *path;
	cr_assert(asprintf(&path, "%s/collector.conf", dir) > 0);
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fprintf(f, "writers = %s;\n", writers);
	fclose(f);
	static struct collector_config cfg;
	struct diag d;
	cr_assert_eq(config_load(&cfg, path, &d, NULL), 0, "%s", d.msg);
	cr_assert_eq(output_open(o, &cfg, &d), 0, "%s", d.msg);
	config_free(&cfg);
	free(path);
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
