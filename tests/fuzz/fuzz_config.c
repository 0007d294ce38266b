/*
 * fuzz_config.c — the config loader and the route compiler.
 *
 * The input's bytes up to the first NUL are a config file, loaded by
 * config_load() as `shmlog-collector --config` and `--check-config` load
 * one: libconfig parses it, every key is checked, the writers configured
 * (nothing is opened) and the routes compiled (router.c, PCRE2). A refused
 * config must say why in one line; an accepted one is described as
 * --check-config describes it, and the records the rest of the input makes
 * (level, name, message, fields) are routed through it: a route never names
 * a writer that does not exist, and routing the same record twice gives the
 * same writers.
 *
 * libconfig 1.5 leaks a byte on some syntax errors (issue 17: the two-byte
 * file ""); it is a third party's and harmless for a one-shot load, so
 * LeakSanitizer is told to pass over leaks from inside libconfig.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/config.h"
#include "collector/router.h"
#include "fuzz.h"
#include "shared/text.h"

#define FUZZ_CONFIG_RECORDS 8 /* records routed per accepted config, at most */

const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

static char conf_path[PATH_MAX];
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(conf_path, sizeof conf_path, "%s/fuzz.conf", fz_dir());
	devnull = fopen("/dev/null", "w");
	fz_check(devnull != NULL, "cannot open /dev/null");
	return 0;
}

static void on_warning(const char *line)
{
	fz_check(line && *line && !strchr(line, '\n'), "a warning is one line");
}

/* The next record the input makes, into *tr (strings point into the input). Returns false at its end. */
static bool next_record(struct fz *in, struct text_record *tr, struct text_field *fields)
{
	if (in->n == 0)
		return false;
	memset(tr, 0, sizeof *tr);
	tr->level = fz_u8(in) % 8;
	tr->name = fz_str(in, 64, &tr->name_len);
	tr->msg = fz_str(in, 255, &tr->msg_len);
	tr->n_fields = fz_u8(in) % 4;
	for (uint32_t i = 0; i < tr->n_fields; i++) {
		struct text_field *f = &fields[i];
		memset(f, 0, sizeof *f);
		size_t klen, vlen;
		f->key = fz_str(in, 32, &klen);
		f->key_len = (uint32_t)klen;
		f->type = (uint8_t)(1 + fz_u8(in) % 5);
		if (f->type == TEXT_FIELD_STR) {
			f->v.s.p = fz_str(in, 64, &vlen);
			f->v.s.len = (uint32_t)vlen;
		} else {
			f->v.u = fz_uint(in, 8);
			if (f->type == TEXT_FIELD_BOOL)
				f->v.b = f->v.u & 1;
		}
	}
	tr->fields = fields;
	return true;
}

static void route_records(struct collector_config *c, struct fz *in)
{
	router_describe(c->router, devnull);
	struct text_record tr;
	struct text_field fields[4];
	for (int i = 0; i < FUZZ_CONFIG_RECORDS && next_record(in, &tr, fields); i++) {
		uint32_t mask = router_route(c->router, &tr);
		fz_check(c->n_writers >= 32 || mask >> c->n_writers == 0, "routed to writer bits 0x%x of %u writers",
			 mask, c->n_writers);
		fz_check(router_route(c->router, &tr) == mask, "routing the same record twice differs");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t len = nul ? (size_t)(nul - data) : size;
	fz_check(fz_write_file(conf_path, data, len, (off_t)len) == 0, "cannot write %s", conf_path);
	struct collector_config *c = calloc(1, sizeof *c);
	fz_check(c != NULL, "out of memory");
	struct diag d;
	int rc = config_load(c, conf_path, &d, on_warning);
	if (rc < 0) {
		fz_check(d.msg[0] && !strchr(d.msg, '\n'), "a refused config says why in one line: [%s]", d.msg);
	} else {
		fz_check(c->router != NULL && c->n_writers >= 1 && c->n_writers <= CONFIG_MAX_WRITERS, "loaded config");
		struct fz in = {nul ? nul + 1 : data + size, nul ? size - len - 1 : 0};
		route_records(c, &in);
		config_free(c);
	}
	free(c);
	return 0;
}
