/*
 * main.c — shmlog-collector: parse the command line, load the config, run.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "config.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: shmlog-collector [--dir DIR] [--config FILE] [--once]\n"
		"\n"
		"Collect the logs that programs linked with libshmlog write into shared\n"
		"memory, and write them to the configured outputs (default: stdout).\n"
		"\n"
		"  -d, --dir DIR      segment directory (default: $SHMLOG_DIR, else the\n"
		"                     config's collector.dir, else /dev/shm/shmlog)\n"
		"  -c, --config FILE  libconfig file declaring writers and options\n"
		"                     (default: built-in, one console writer on stdout)\n"
		"  -1, --once         drain what is there now and exit\n"
		"  -h, --help         show this help\n"
		"\n"
		"SIGTERM or SIGINT: drain everything committed, flush, exit 0.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"config", required_argument, NULL, 'c'},
		{"once", no_argument, NULL, '1'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *config_path = NULL;
	bool once = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "d:c:1h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'c': config_path = optarg; break;
		case '1': once = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "shmlog-collector: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	static struct collector_config cfg;
	struct diag d = {{0}};
	if (config_load(&cfg, config_path, &d) < 0) {
		fprintf(stderr, "shmlog-collector: %s\n", d.msg);
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
