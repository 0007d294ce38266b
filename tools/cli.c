/*
 * cli.c — what every `shmlog` subcommand shares (cli.h): one-line
 * complaints on stderr, escaped as message text is, misuse reports, the
 * buffered output, and opening a file to read that refuses, without
 * blocking, anything but a regular file. Kept apart from shmlog.c's main()
 * so that the fuzz harnesses can link the subcommands
 * (tests/fuzz/fuzz_decrypt.c).
 */
#include <errno.h>
#include <fcntl.h>
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

/* What kind of file a mode that is not a regular file's says, for a refusal. Returns it. */
static const char *file_kind(mode_t m)
{
	return S_ISDIR(m)    ? "a directory"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
			     : "an unknown kind of file";
}

/* Whether the regular file fd says 0 bytes in *st yet holds some (a /proc file), once a second fstat
 * agrees (a file that grew meanwhile says so). Returns that. */
static bool size_lies(int fd, struct stat *st)
{
	char c;
	ssize_t n;
	if (st->st_size != 0)
		return false;
	while ((n = pread(fd, &c, 1, 0)) < 0 && errno == EINTR)
		;
	return n > 0 && fstat(fd, st) == 0 && st->st_size == 0;
}

/* Open path to read it, a regular file only, without blocking (cli.h). Returns the descriptor or -1 (said). */
int open_regular(const char *path, const char *what, struct stat *st)
{
	const char *sp = what ? " " : "", *w = what ? what : "";
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		complain("%s: cannot open%s%s: %s", path, sp, w, strerror(errno));
		return -1;
	}
	const char *kind = NULL;
	if (fstat(fd, st) < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		complain("%s: cannot read%s%s: %s", path, sp, w, strerror(errno));
	else if (!S_ISREG(st->st_mode))
		kind = file_kind(st->st_mode);
	else if (size_lies(fd, st))
		kind = "a kernel file: it says 0 bytes but holds data";
	else
		return fd;
	if (kind)
		complain("%s: %s%snot a regular file (%s)", path, w, what ? " is " : "", kind);
	close(fd);
	return -1;
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
