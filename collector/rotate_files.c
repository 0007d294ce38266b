/*
 * rotate_files.c — the rotated files of a rotating writer: their names, the
 * shift that frees the first name, and pruning to `backups`.
 *
 * A rotated file is PATH.N (size rotation), PATH.INTERVAL or
 * PATH.INTERVAL.N (time rotation), each optionally with ".zst". Newest
 * first means: later intervals first (interval names sort by time), no
 * interval after every interval, and inside one interval the lower number
 * first (the bare interval name is 0). Any other file next to PATH is not
 * ours and is left alone.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector.h"
#include "rotate_int.h"

static const char *const variants[] = {"", ".zst"}; /* a rotated file, and its compressed form */
#define N_VARIANTS (sizeof variants / sizeof variants[0])

struct rotated {
	char label[32];   /* interval, "" for none */
	unsigned long num; /* 0 for a bare interval name */
	bool zst;         /* the compressed form */
	char *name;       /* the entry's name in the directory */
};

/* base, then ".N" if slot, then variant, into out. Returns 0 or -ENAMETOOLONG. */
static int slot_name(char *out, const char *base, unsigned slot, const char *variant)
{
	int n = slot ? snprintf(out, PATH_MAX, "%s.%u%s", base, slot, variant)
		     : snprintf(out, PATH_MAX, "%s%s", base, variant);
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static bool slot_taken(const char *base, unsigned slot)
{
	char p[PATH_MAX];
	struct stat st;
	for (size_t v = 0; v < N_VARIANTS; v++)
		if (slot_name(p, base, slot, variants[v]) == 0 && lstat(p, &st) == 0)
			return true;
	return false;
}

/* Move every variant of slot k of base to slot k + 1 (telling r's compressor). Returns 0 or -errno. */
static int shift_slot(struct rotate *r, const char *base, unsigned k)
{
	char from[PATH_MAX], to[PATH_MAX];
	for (size_t v = 0; v < N_VARIANTS; v++) {
		if (slot_name(from, base, k, variants[v]) < 0 || slot_name(to, base, k + 1, variants[v]) < 0)
			return -ENAMETOOLONG;
		if (rename(from, to) < 0 && errno != ENOENT)
			return -errno;
		if (r->compress && !*variants[v])
			compressor_renamed(&r->zc, from, to);
	}
	return 0;
}

int rotate_rename_away(struct rotate *r, int64_t start, char *to)
{
	char base[PATH_MAX];
	unsigned first = 1;
	if (start == ROTATE_NO_INTERVAL) {
		snprintf(base, sizeof base, "%s", r->path);
	} else {
		char label[32];
		rotate_label(r, start, label, sizeof label);
		if (snprintf(base, sizeof base, "%s.%s", r->path, label) >= (int)sizeof base)
			return -ENAMETOOLONG;
		first = 0;
	}
	if (access(r->path, F_OK) < 0) /* renamed away (logrotate, before its create): shift nothing */
		return -errno;
	unsigned top = first;
	while (slot_taken(base, top))
		top++;
	for (unsigned k = top; k > first; k--) {
		int rc = shift_slot(r, base, k - 1);
		if (rc < 0)
			return rc;
	}
	if (slot_name(to, base, first, "") < 0)
		return -ENAMETOOLONG;
	return rename(r->path, to) == 0 ? 0 : -errno;
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0 || n > 9)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* An interval name: "2026-12-01", then optionally "T" and digits. */
static bool is_label(const char *s, size_t n)
{
	if (n < 10 || n >= sizeof ((struct rotated *)0)->label || !all_digits(s, 4) || s[4] != '-')
		return false;
	for (size_t i = 5; i < n; i++)
		if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '-' && s[i] != 'T')
			return false;
	return true;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n > k && memcmp(s + n - k, suffix, k) == 0;
}

/* Parse the part of a name after "PATH.". Returns true for a rotated file of ours. */
static bool parse_rotated(const char *rest, struct rotated *out)
{
	size_t n = strlen(rest);
	out->zst = ends_with(rest, n, ".zst");
	n -= out->zst ? 4 : 0;
	out->label[0] = '\0';
	out->num = 0;
	if (all_digits(rest, n)) {
		out->num = strtoul(rest, NULL, 10);
		return out->num > 0;
	}
	const char *dot = memrchr(rest, '.', n);
	size_t label_n = n;
	if (dot && all_digits(dot + 1, n - (size_t)(dot + 1 - rest))) {
		out->num = strtoul(dot + 1, NULL, 10);
		label_n = (size_t)(dot - rest);
	}
	if (!is_label(rest, label_n))
		return false;
	memcpy(out->label, rest, label_n);
	out->label[label_n] = '\0';
	return true;
}

/* Newest first. */
static int newest_first(const void *pa, const void *pb)
{
	const struct rotated *a = pa, *b = pb;
	int c = strcmp(b->label, a->label);
	if (c)
		return c;
	return a->num < b->num ? -1 : a->num > b->num;
}

/* The rotated files of stem in dir (or, with tmp, the .zst.tmp files of rotated files) into
 * *out (malloc'd). Returns their number, or -errno. */
static long list_rotated(const char *dir, const char *stem, struct rotated **out, bool tmp)
{
	DIR *dh = opendir(dir);
	if (!dh)
		return -errno;
	size_t stem_n = strlen(stem), n = 0, cap = 0;
	struct rotated *v = NULL;
	struct dirent *e;
	while ((e = readdir(dh))) {
		struct rotated one;
		char rest[NAME_MAX + 1];
		size_t len = strlen(e->d_name);
		if (strncmp(e->d_name, stem, stem_n) || e->d_name[stem_n] != '.' ||
		    tmp != ends_with(e->d_name, len, ".zst.tmp"))
			continue;
		/* what follows "STEM.", without the ".tmp" of a tmp file */
		snprintf(rest, sizeof rest, "%.*s", (int)(len - stem_n - 1 - (tmp ? 4 : 0)), e->d_name + stem_n + 1);
		if (!parse_rotated(rest, &one))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			struct rotated *nv = realloc(v, cap * sizeof *nv);
			if (!nv)
				break;
			v = nv;
		}
		if (!(one.name = strdup(e->d_name)))
			break;
		v[n++] = one;
	}
	closedir(dh);
	*out = v;
	return (long)n;
}

/* The directory of r->path into dir (PATH_MAX bytes). Returns the file name part of r->path. */
static const char *split_path(const struct rotate *r, char *dir)
{
	snprintf(dir, PATH_MAX, "%s", r->path);
	const char *last = strrchr(r->path, '/');
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, PATH_MAX, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return last ? last + 1 : r->path;
}

/* The path of the entry name next to r->path (stem: its file name part) into p, spelt as the
 * shift and the compressor spell it: r->path's directory part, then name. Returns false if too long. */
static bool sibling(char *p, const struct rotate *r, const char *stem, const char *name)
{
	int n = snprintf(p, PATH_MAX, "%.*s%s", (int)(stem - r->path), r->path, name);
	return n >= 0 && n < PATH_MAX;
}

void rotate_prune(struct rotate *r)
{
	char dir[PATH_MAX];
	const char *stem = split_path(r, dir);
	struct rotated *v = NULL;
	long n = list_rotated(dir, stem, &v, false);
	if (n > 1)
		qsort(v, (size_t)n, sizeof *v, newest_first);
	long kept = 0; /* distinct rotated files so far: a file and its .zst are one */
	for (long i = 0; i < n; i++) {
		char p[PATH_MAX];
		if (i == 0 || newest_first(&v[i - 1], &v[i]) != 0)
			kept++;
		if (kept > (long)r->backups && sibling(p, r, stem, v[i].name) && unlink(p) < 0 && errno != ENOENT &&
		    r->prune_err != -errno) {
			r->prune_err = -errno;
			collector_warn("writer %s: cannot remove the old backup %s: %s", r->who, p, strerror(errno));
		}
		free(v[i].name);
	}
	free(v);
}

/* Remove what a crash left half done (tmp files; plain files whose .zst is complete), and queue
 * every other plain rotated file. */
void rotate_recover(struct rotate *r)
{
	char dir[PATH_MAX], p[PATH_MAX];
	const char *stem = split_path(r, dir);
	struct rotated *v = NULL;
	long n = list_rotated(dir, stem, &v, true);
	for (long i = 0; i < n; i++) {
		if (sibling(p, r, stem, v[i].name))
			unlink(p);
		free(v[i].name);
	}
	free(v);
	n = list_rotated(dir, stem, &v, false);
	if (n > 1)
		qsort(v, (size_t)n, sizeof *v, newest_first);
	for (long i = 0; i < n; i++) {
		bool twin = (i > 0 && newest_first(&v[i - 1], &v[i]) == 0) ||
			    (i + 1 < n && newest_first(&v[i], &v[i + 1]) == 0);
		if (!v[i].zst && sibling(p, r, stem, v[i].name)) {
			if (twin) /* its .zst was renamed in place: only the removal was left */
				unlink(p);
			else
				compressor_queue(&r->zc, p);
		}
		free(v[i].name);
	}
	free(v);
}
