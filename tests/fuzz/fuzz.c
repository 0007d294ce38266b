/*
 * fuzz.c — the harnesses' shared helpers (fuzz.h): failing, a scratch
 * directory, writing an input as a file, and the checks every line writer's
 * output must pass whatever the input: one JSON value, one text line.
 */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void fz_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fuzz: %s:%d: ", file, line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static char dir[PATH_MAX];
static pid_t dir_owner;

static void dir_remove(void)
{
	if (getpid() != dir_owner) /* a replay's child leaves it to its parent */
		return;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", dir);
}

const char *fz_dir(void)
{
	if (dir[0])
		return dir;
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp) /* memory, not a disk: a harness writes a file per input */
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof dir, "%s/shmlog-fuzz.XXXXXX", tmp);
	fz_check(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
	dir_owner = getpid();
	atexit(dir_remove);
	return dir;
}

int fz_write_file(const char *path, const uint8_t *p, size_t n, off_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, p + done, n - done);
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			close(fd);
			return -e;
		}
		done += (size_t)w;
	}
	int rc = ftruncate(fd, size) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* ------------------------------------------------------------ JSON check */

/* A cursor over the text being checked. */
struct js {
	const char *s;
	size_t n, at;
	int depth;
};

static bool js_value(struct js *j);

static void js_space(struct js *j)
{
	while (j->at < j->n && (j->s[j->at] == ' ' || j->s[j->at] == '\t' || j->s[j->at] == '\n' || j->s[j->at] == '\r'))
		j->at++;
}

static bool js_lit(struct js *j, const char *w)
{
	size_t l = strlen(w);
	if (j->n - j->at < l || memcmp(j->s + j->at, w, l) != 0)
		return false;
	j->at += l;
	return true;
}

static bool js_string(struct js *j)
{
	if (!js_lit(j, "\""))
		return false;
	while (j->at < j->n) {
		unsigned char c = (unsigned char)j->s[j->at++];
		if (c == '"')
			return true;
		if (c < 0x20)
			return false;
		if (c != '\\')
			continue;
		if (j->at >= j->n)
			return false;
		c = (unsigned char)j->s[j->at++];
		if (c == 'u') {
			for (int k = 0; k < 4; k++, j->at++)
				if (j->at >= j->n || !strchr("0123456789abcdefABCDEF", j->s[j->at]) || !j->s[j->at])
					return false;
		} else if (!c || !strchr("\"\\/bfnrt", c)) {
			return false;
		}
	}
	return false;
}

static size_t js_digits(struct js *j)
{
	size_t from = j->at;
	while (j->at < j->n && j->s[j->at] >= '0' && j->s[j->at] <= '9')
		j->at++;
	return j->at - from;
}

static bool js_number(struct js *j)
{
	if (j->at < j->n && j->s[j->at] == '-')
		j->at++;
	size_t from = j->at, d = js_digits(j);
	if (d == 0 || (d > 1 && j->s[from] == '0'))
		return false;
	if (j->at < j->n && j->s[j->at] == '.') {
		j->at++;
		if (!js_digits(j))
			return false;
	}
	if (j->at < j->n && (j->s[j->at] == 'e' || j->s[j->at] == 'E')) {
		j->at++;
		if (j->at < j->n && (j->s[j->at] == '+' || j->s[j->at] == '-'))
			j->at++;
		if (!js_digits(j))
			return false;
	}
	return true;
}

/* The members of an object or the elements of an array, after its opening bracket. */
static bool js_members(struct js *j, char close, bool object)
{
	js_space(j);
	if (js_lit(j, close == '}' ? "}" : "]"))
		return true;
	for (;;) {
		js_space(j);
		if (object) {
			if (!js_string(j))
				return false;
			js_space(j);
			if (!js_lit(j, ":"))
				return false;
		}
		if (!js_value(j))
			return false;
		js_space(j);
		if (js_lit(j, ","))
			continue;
		return js_lit(j, close == '}' ? "}" : "]");
	}
}

static bool js_value(struct js *j)
{
	js_space(j);
	if (j->at >= j->n || j->depth > 64)
		return false;
	char c = j->s[j->at];
	bool ok;
	j->depth++;
	if (c == '{' || c == '[') {
		j->at++;
		ok = js_members(j, c == '{' ? '}' : ']', c == '{');
	} else if (c == '"') {
		ok = js_string(j);
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		ok = js_number(j);
	} else {
		ok = js_lit(j, "true") || js_lit(j, "false") || js_lit(j, "null");
	}
	j->depth--;
	return ok;
}

/* Whether s[0..n) is well-formed UTF-8 (RFC 3629): decoded, no overlong form, surrogate or code point past U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (!len || n - i < len)
			return false;
		uint32_t cp = len == 1 ? c : c & (0x7fu >> len);
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3fu);
		}
		static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

bool fz_json_valid(const char *s, size_t n)
{
	if (!utf8_valid((const unsigned char *)s, n))
		return false;
	struct js j = {s, n, 0, 0};
	if (!js_value(&j))
		return false;
	js_space(&j);
	return j.at == n;
}

bool fz_text_line_valid(const char *line, size_t n, bool color)
{
	if (n == 0 || line[n - 1] != '\n')
		return false;
	for (size_t i = 0; i + 1 < n; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 || c == 0x7f) && !(color && c == 0x1b))
			return false;
	}
	return true;
}

static void check_line(struct sbuf *line, const struct text_record *tr, enum text_format f, bool color)
{
	sbuf_reset(line);
	text_append(line, tr, f, color);
	fz_check(!line->oom, "text_append ran out of memory");
	const char *l = line->data;
	size_t n = line->len;
	if (f == TEXT_FORMAT_TEXT)
		fz_check(fz_text_line_valid(l, n, color), "not one text line: [%.*s]", (int)n, l);
	else
		fz_check(n && l[n - 1] == '\n' && fz_json_valid(l, n - 1), "not one JSON value: [%.*s]", (int)n, l);
}

void fz_check_lines(struct sbuf *line, const struct text_record *tr)
{
	check_line(line, tr, TEXT_FORMAT_TEXT, false);
	check_line(line, tr, TEXT_FORMAT_TEXT, true);
	check_line(line, tr, TEXT_FORMAT_JSON, false);
}
