/*
 * seed_prog.c — the producer of the routing tests: it logs the records of
 * the routing seed's example (and records with fields for the field
 * filters), one per call site, then closes its logger so that the
 * collector drains and retires its segment.
 *
 *   seed_prog DIR
 */
#include <shmlog.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: seed_prog DIR\n");
		return 2;
	}
	struct shmlog *lg;
	struct shmlog_options o = {.name = "seed", .dir = argv[1], .min_level = SHMLOG_LEVEL_TRACE};
	int rc = shmlog_open(&lg, &o);
	if (rc < 0) {
		fprintf(stderr, "seed_prog: shmlog_open: %d\n", rc);
		return 1;
	}
	SHMLOG_ERROR(lg, "Database error");
	SHMLOG_INFO(lg, "User %s successful", "login");
	SHMLOG_INFO(lg, "Processing request");
	SHMLOG_DEBUG(lg, "cache warm");
	SHMLOG_CRITICAL(lg, "access denied");
	shmlog_close(lg);
	return 0;
}
