/*
 * allow.c — see allow.h.
 */
#include "allow.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Resolve name as a user (groups false) or a group into *id. Returns false if there is none. */
static bool resolve(const char *name, bool groups, unsigned *id)
{
	if (groups) {
		const struct group *g = getgrnam(name);
		return g && (*id = (unsigned)g->gr_gid, true);
	}
	const struct passwd *pw = getpwnam(name);
	return pw && (*id = (unsigned)pw->pw_uid, true);
}

/* Read the list (or the one string) key of grp into ids; "*" sets *all. Returns 0 or -EINVAL. */
static int read_list(const config_setting_t *grp, const char *key, bool groups, unsigned *ids, unsigned *n,
		     bool *all, struct diag *d)
{
	config_setting_t *s = config_setting_get_member(grp, key);
	if (!s)
		return 0;
	bool one = config_setting_type(s) == CONFIG_TYPE_STRING;
	if (!one && !config_setting_is_aggregate(s)) {
		writer_diag(d, s, NULL, "expected a list of %s names, or \"*\"", groups ? "group" : "user");
		return -EINVAL;
	}
	int len = one ? 1 : config_setting_length(s);
	for (int i = 0; i < len; i++) {
		config_setting_t *e = one ? s : config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_get_string(e);
		if (!name || !*name) {
			writer_diag(d, e, NULL, "expected a %s name, or \"*\"", groups ? "group" : "user");
			return -EINVAL;
		}
		if (strcmp(name, "*") == 0) {
			*all = true;
		} else if (*n == ALLOW_MAX) {
			writer_diag(d, e, NULL, "more than %d names", ALLOW_MAX);
			return -EINVAL;
		} else if (!resolve(name, groups, &ids[*n])) {
			writer_diag(d, e, NULL, "no such %s \"%s\"", groups ? "group" : "user", name);
			return -EINVAL;
		} else {
			(*n)++;
		}
	}
	return 0;
}

int allow_read(struct collector_allow *a, const config_setting_t *grp, struct diag *d)
{
	unsigned uids[ALLOW_MAX], gids[ALLOW_MAX];
	bool all_groups = false;
	*a = (struct collector_allow){0};
	int rc = read_list(grp, "allow_users", false, uids, &a->n_uids, &a->all_users, d);
	if (rc == 0)
		rc = read_list(grp, "allow_groups", true, gids, &a->n_gids, &all_groups, d);
	a->all_users |= all_groups; /* every user is in some group */
	for (unsigned i = 0; i < a->n_uids; i++)
		a->uids[i] = (uid_t)uids[i];
	for (unsigned i = 0; i < a->n_gids; i++)
		a->gids[i] = (gid_t)gids[i];
	return rc;
}

/* Whether user uid is a member of one of a's groups (its primary group included). Returns that. */
static bool in_groups(const struct collector_allow *a, uid_t uid)
{
	char buf[4096];
	struct passwd pw, *res = NULL;
	if (!a->n_gids || getpwuid_r(uid, &pw, buf, sizeof buf, &res) != 0 || !res)
		return false;
	gid_t groups[256];
	int n = 256;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		n = 256; /* more than fit: the first 256 are looked at */
	for (int i = 0; i < n; i++)
		for (unsigned k = 0; k < a->n_gids; k++)
			if (groups[i] == a->gids[k])
				return true;
	return false;
}

bool allow_owner(const struct collector_allow *a, uid_t uid)
{
	if (uid == geteuid() || uid == 0 || a->all_users)
		return true;
	for (unsigned i = 0; i < a->n_uids; i++)
		if (a->uids[i] == uid)
			return true;
	return in_groups(a, uid);
}

bool allow_pid_of(int pidfd, pid_t pid, uid_t uid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	char line[256];
	unsigned long r = 0, e = 0, s = 0;
	bool found = false;
	while (!found && fgets(line, sizeof line, f))
		found = sscanf(line, "Uid: %lu %lu %lu", &r, &e, &s) == 3;
	fclose(f);
	/* the pidfd still names a live process: the one /proc described */
	bool alive = syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
	return found && alive && (r == uid || e == uid || s == uid);
}
