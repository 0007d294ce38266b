/*
 * pidinfo.h — a process's exit status for a non-parent, through its pidfd.
 *
 * PIDFD_GET_INFO with PIDFD_INFO_EXIT (Linux 6.15) tells the wait status of
 * the process a pidfd refers to, once that process has been reaped by its
 * parent. The structure and the request are defined here as the kernel's
 * uapi header <linux/pidfd.h> gives them, for system headers that predate
 * them: the first published size (PIDFD_INFO_SIZE_VER0, 64 bytes), which a
 * newer kernel still accepts.
 */
#ifndef SHMLOG_PIDINFO_H
#define SHMLOG_PIDINFO_H

#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>

struct pidinfo_v0 {
	uint64_t mask, cgroupid;
	uint32_t ids[11]; /* pid, tgid, ppid, then the real, effective, saved and fs user and group ids */
	int32_t exit_code; /* a wait status, as waitpid() gives it */
};
_Static_assert(sizeof(struct pidinfo_v0) == 64, "PIDFD_INFO_SIZE_VER0");

#define PIDINFO_EXIT (1ull << 3)                          /* PIDFD_INFO_EXIT */
#define PIDINFO_GET _IOWR(0xFF, 11, struct pidinfo_v0) /* PIDFD_GET_INFO */

/* Into *status, the wait status of pidfd's process. Returns 1 when it is
 * known, 0 when not yet (the process has not been reaped, or is being
 * reaped: then the kernel can answer ESRCH for a moment), -1 when it cannot
 * be had (a kernel before 6.15, or not a pidfd). */
static inline int pidinfo_exit_status(int pidfd, int *status)
{
	struct pidinfo_v0 info = {.mask = PIDINFO_EXIT};
	if (pidfd < 0)
		return -1;
	if (ioctl(pidfd, PIDINFO_GET, &info) < 0)
		return errno == ESRCH ? 0 : -1;
	if (!(info.mask & PIDINFO_EXIT))
		return 0;
	*status = info.exit_code;
	return 1;
}

#endif
