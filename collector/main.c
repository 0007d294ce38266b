/*
 * main.c — shmlog-collector: parse the command line, load the config, run.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "config.h"
#include "output.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: shmlog-collector [--dir DIR] [--config FILE] [--once]\n"
		"       shmlog-collector --check-config FILE\n"
		"\n"
		"Collect the logs that programs linked with libshmlog write into shared\n"
		"memory, and write them to the configured outputs (default: stdout).\n"
		"\n"
		"  -d, --dir DIR      segment directory (default: $SHMLOG_DIR, else the\n"
		"                     config's collector.dir, else /dev/shm/shmlog)\n"
		"  -c, --config FILE  libconfig file declaring writers and options\n"
		"                     (default: built-in, one console writer on stdout)\n"
		"  -1, --once         drain what is there now and exit\n"
		"  -C, --check-config FILE\n"
		"                     load FILE, compile its routes and print one line\n"
		"                     per writer and per route; exit 0, or 1 with the error\n"
		"                     (opens no writer)\n"
		"  -h, --help         show this help\n"
		"\n"
		"SIGTERM or SIGINT: drain everything committed, flush, exit 0.\n"
		"SIGHUP: reopen the files written to (after log rotation).\n");
}

static void warn_line(const char *line)
{
	fprintf(stderr, "shmlog-collector: warning: %s\n", line);
}

/* What was printed (--help, --check-config's lines) reached standard output: else say so, and fail. */
static int flushed(int rc)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return rc;
	fprintf(stderr, "shmlog-collector: standard output: write failed: %s\n",
		errno ? strerror(errno) : "an earlier write failed");
	return rc ? rc : 1;
}

/* --check-config FILE: exit status 0 when FILE loads, 1 with its error. */
static int check_config(const char *path)
{
	static struct collector_config cfg;
	struct diag d = {{0}};
	if (config_load(&cfg, path, &d, warn_line) < 0) {
		fprintf(stderr, "shmlog-collector: %s\n", d.msg);
		return 1;
	}
	output_describe(&cfg, stdout);
	config_free(&cfg);
	printf("%s: OK\n", path);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"config", required_argument, NULL, 'c'},
		{"once", no_argument, NULL, '1'},
		{"check-config", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *config_path = NULL, *check = NULL;
	bool once = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "d:c:1C:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'c': config_path = optarg; break;
		case '1': once = true; break;
		case 'C': check = optarg; break;
		case 'h': usage(stdout); return flushed(0);
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "shmlog-collector: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (check && (config_path || dir || once)) {
		fprintf(stderr, "shmlog-collector: --check-config takes no other option\n");
		usage(stderr);
		return 2;
	}
	if (check)
		return flushed(check_config(check));
	static struct collector_config cfg;
	struct diag d = {{0}};
	if (config_load(&cfg, config_path, &d, warn_line) < 0) {
		fprintf(stderr, "shmlog-collector: %s\n", d.msg);
		return 1;
	}
	if (dir && !*dir) { /* given, but empty: not the default directory in disguise */
		fprintf(stderr, "shmlog-collector: --dir: empty directory name\n");
		config_free(&cfg);
		return 1;
	}
	if (!dir)
		dir = getenv("SHMLOG_DIR");
	if (!dir || !*dir)
		dir = cfg.dir[0] ? cfg.dir : "/dev/shm/shmlog";
	int rc = collector_run(&cfg, dir, once);
	config_free(&cfg);
	return rc < 0 ? 1 : 0;
}
