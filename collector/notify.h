/*
 * notify.h — telling a service manager how the collector is doing, the
 * sd_notify(3) protocol without libsystemd: one datagram "READY=1" or
 * "STOPPING=1" to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or
 * "@name" for the abstract namespace). Without $NOTIFY_SOCKET nothing is sent.
 */
#ifndef SHMLOG_NOTIFY_H
#define SHMLOG_NOTIFY_H

/*
 * Send state (e.g. "READY=1") to $NOTIFY_SOCKET, if set. Returns 1 if sent,
 * 0 if there is no socket to tell, or -errno (the service manager then does
 * not hear of it; the collector works on).
 */
int notify_send(const char *state);

#endif
