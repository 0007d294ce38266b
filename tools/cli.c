/*
 * cli.c — what every `shmlog` subcommand shares (cli.h): one-line
 * complaints on stderr, escaped as message text is, misuse reports, and the
 * buffered output. Kept apart from shmlog.c's main() so that the fuzz
 * harnesses can link the subcommands (tests/fuzz/fuzz_decrypt.c).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shared/abi.h"
#include "shared/escape.h"
#include "tools/cli.h"

/* s escaped as message text is (shared/escape.h), into buf of 4 * strlen(s) + 1 bytes. Returns buf. */
const char *escaped(char *buf, const char *s)
{
	*esc_text(buf, s, strlen(s)) = 0;
	return buf;
}

/* Print "shmlog: <message>" as one line on stderr, escaped: it may name hostile files. Returns nothing. */
void complain(const char *fmt, ...)
{
	char line[PATH_MAX + 512], esc[4 * sizeof line];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "shmlog: %s\n", escaped(esc, line));
}

/* Report a misuse of cmd (one line), print its usage on stderr. Returns EXIT_MISUSE. */
int misuse(const char *usage, const char *cmd, const char *fmt, ...)
{
	char line[512], esc[4 * sizeof line];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* escaped: it may quote an argument, which may hold anything */
	fprintf(stderr, "shmlog%s%s: %s\n%s", cmd ? " " : "", cmd ? cmd : "", escaped(esc, line), usage);
	return EXIT_MISUSE;
}

/* Report getopt's answer c ('?' unknown option, ':' missing argument) as a misuse. Returns EXIT_MISUSE. */
int option_misuse(const char *usage, const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1], *eq = strchr(arg, '=');
	if (c == ':')
		return misuse(usage, cmd, "option '%s' needs an argument", arg);
	/* glibc sets optopt for a short option, and for a known long one given "=VALUE" it takes not */
	if (optopt && arg[0] == '-' && arg[1] == '-' && eq)
		return misuse(usage, cmd, "option '%.*s' takes no argument", (int)(eq - arg), arg);
	if (optopt)
		return misuse(usage, cmd, "unknown option '-%c'", optopt);
	return misuse(usage, cmd, "unknown option '%s'", arg);
}

/*
 * Write everything buffered to o->fd, retrying short writes and EINTR. On the
 * first failure, report it (naming the output) and keep it in o->err; later
 * output is discarded. Returns 0, or o->err.
 */
int out_flush(struct out *o)
{
	size_t done = 0;
	while (!o->err && done < o->buf.len) {
		ssize_t n = write(o->fd, o->buf.data + done, o->buf.len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			o->err = n < 0 ? -errno : -EIO;
			complain("%s: write failed: %s", o->name, strerror(-o->err));
			break;
		}
		done += (size_t)n;
	}
	if (o->buf.oom && !o->err) {
		o->err = -ENOMEM;
		complain("%s: out of memory formatting output", o->name);
	}
	sbuf_reset(&o->buf);
	return o->err;
}

/* Whether rec could not be read as its producer meant it (cli.h). Returns that. */
bool record_malformed(const struct seg_rec *rec, const struct text_record *tr)
{
	static const char head[] = "[shmlog: ", tail[] = " [shmlog: malformed record fields]";
	if (!rec || rec->site == SHMLOG_SITE_LOSS)
		return false;
	size_t len;
	const char *m = text_record_msg(tr, &len);
	return (len >= sizeof head - 1 && memcmp(m, head, sizeof head - 1) == 0) ||
	       (len >= sizeof tail - 1 && memcmp(m + len - (sizeof tail - 1), tail, sizeof tail - 1) == 0);
}

/* Say that n records of the segment at path could not be read as logged (record_malformed()). */
void complain_malformed(const char *path, uint64_t n)
{
	complain("%s: %" PRIu64 " records could not be read as logged (unknown call site, refused format, "
		 "malformed arguments, or out of memory); printed as such", path, n);
}
