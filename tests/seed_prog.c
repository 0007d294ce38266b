/*
 * seed_prog.c — the producer of the routing tests: it logs the records of
 * the routing seed's example (and records with fields for the field
 * filters), one per call site, then closes its logger so that the
 * collector drains and retires its segment.
 *
 *   seed_prog DIR            the seed's records
 *   seed_prog DIR fields     records with fields
 *   seed_prog DIR syslog     the syslog tests' records: one per level, with fields
 *                            whose values hold '"', '\', ']', spaces and UTF-8,
 *                            and one 10,000-byte message
 *   seed_prog DIR escapes    messages whose line escapes them (a tab, a backslash, a newline)
 *                            and plain ones, for a message regex
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

static void log_syslog(struct shmlog *lg)
{
	SHMLOG_TRACE_KV(lg, ("q", "say \"hi\"", "n", -5), "trace %d", 1);
	bool yes = true;
	SHMLOG_DEBUG_KV(lg, ("path", "C:\\dir\\", "ok", yes), "debug %s", "two");
	SHMLOG_INFO_KV(lg, ("arr", "a[1]=b]", "sp", "two words"), "info three");
	SHMLOG_WARN_KV(lg, ("utf", "caf\xc3\xa9 \xe2\x9c\x93", "u", 42u), "warn caf\xc3\xa9");
	SHMLOG_ERROR(lg, "error five");
	SHMLOG_CRITICAL_KV(lg, ("px", 1.5), "critical six");
	char e[1001]; /* 500 two-byte characters */
	for (int i = 0; i < 1000; i += 2)
		memcpy(e + i, "\xc3\xa9", 2);
	e[1000] = '\0';
	SHMLOG_INFO(lg, "%s%s%s%s%s%s%s%s%s%s", e, e, e, e, e, e, e, e, e, e);
}

static void log_escapes(struct shmlog *lg)
{
	SHMLOG_INFO(lg, "tab a\tb");
	SHMLOG_INFO(lg, "path %s", "c:\\d");
	SHMLOG_INFO(lg, "tab a\\tb (a backslash and a t)");
	SHMLOG_INFO(lg, "two\nlines %d", 2);
	SHMLOG_INFO(lg, "plain tab-free %s", "text");
}

int main(int argc, char **argv)
{
	const char *mode = argc == 3 ? argv[2] : "";
	if (argc < 2 || argc > 3 ||
	    (argc == 3 && strcmp(mode, "fields") && strcmp(mode, "syslog") && strcmp(mode, "escapes"))) {
		fprintf(stderr, "usage: seed_prog DIR [fields | syslog | escapes]\n");
		return 2;
	}
	struct shmlog *lg;
	struct shmlog_options o = {.name = "seed", .dir = argv[1], .min_level = SHMLOG_LEVEL_TRACE};
	int rc = shmlog_open(&lg, &o);
	if (rc < 0) {
		fprintf(stderr, "seed_prog: shmlog_open: %d\n", rc);
		return 1;
	}
	if (!strcmp(mode, "syslog")) {
		log_syslog(lg);
	} else if (!strcmp(mode, "escapes")) {
		log_escapes(lg);
	} else if (argc == 3) {
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
