/*
 * seed_prog.c — the producer of the routing tests: it logs the records of
 * the routing seed's example (and records with fields for the field
 * filters), one per call site, then closes its logger so that the
 * collector drains and retires its segment.
 *
 *   seed_prog DIR            the seed's records
 *   seed_prog DIR fields     records with fields
 */
#include <shmlog.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void log_fields(struct shmlog *lg)
{
	bool admin = true, guest = false;
	SHMLOG_INFO_KV(lg, ("user_id", 12345, "admin", admin), "user %s logged in", "root");
	SHMLOG_INFO_KV(lg, ("user_id", 12345, "admin", guest), "user %s logged in", "bob");
	SHMLOG_WARN_KV(lg, ("user_id", 777u, "ip", "10.0.0.1 x", "px", 1.5), "slow");
	SHMLOG_ERROR_KV(lg, ("order", UINT64_MAX, "note", (const char *)NULL), "order rejected");
	SHMLOG_INFO(lg, "no fields");
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "fields") != 0)) {
		fprintf(stderr, "usage: seed_prog DIR [fields]\n");
		return 2;
	}
	struct shmlog *lg;
	struct shmlog_options o = {.name = "seed", .dir = argv[1], .min_level = SHMLOG_LEVEL_TRACE};
	int rc = shmlog_open(&lg, &o);
	if (rc < 0) {
		fprintf(stderr, "seed_prog: shmlog_open: %d\n", rc);
		return 1;
	}
	if (argc == 3) {
		log_fields(lg);
	} else {
		SHMLOG_ERROR(lg, "Database error");
		SHMLOG_INFO(lg, "User %s successful", "login");
		SHMLOG_INFO(lg, "Processing request");
		SHMLOG_DEBUG(lg, "cache warm");
		SHMLOG_CRITICAL(lg, "access denied");
	}
	shmlog_close(lg);
	return 0;
}
