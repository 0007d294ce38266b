/*
 * allow.h — who may log to the collector: the owners of the segments it
 * reads (collector.allow_users, collector.allow_groups), and whether the
 * process a segment claims belongs to its owner.
 *
 * By default the collector reads segments owned by its own user and by root.
 * allow_users adds users by name ("*": everyone), allow_groups the members of
 * groups (a user's primary group counts). The names are resolved when the
 * config is loaded.
 */
#ifndef SHMLOG_COLLECTOR_ALLOW_H
#define SHMLOG_COLLECTOR_ALLOW_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "writer.h"

#define ALLOW_MAX 64 /* names in each list */

struct collector_allow {
	bool all_users;
	unsigned n_uids, n_gids;
	uid_t uids[ALLOW_MAX];
	gid_t gids[ALLOW_MAX];
};

/*
 * Read the allow_users and allow_groups members of the collector group grp
 * into *a (left empty when absent). Returns 0, or -EINVAL with d saying
 * which entry is wrong.
 */
int allow_read(struct collector_allow *a, const config_setting_t *grp, struct diag *d);

/* Whether a segment file owned by uid may be read. Returns that. */
bool allow_owner(const struct collector_allow *a, uid_t uid);

/*
 * Whether the process pidfd refers to (pid) runs as uid (its real, effective
 * or saved user): read from /proc, then checked that pidfd's process still
 * lives, so that /proc spoke of it and not of a successor. Returns that.
 */
bool allow_pid_of(int pidfd, pid_t pid, uid_t uid);

#endif
