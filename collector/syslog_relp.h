/*
 * syslog_relp.h — the syslog writer's RELP transport: librelp's client in
 * a thread of its own, and the count of records the receiver acknowledged.
 *
 * librelp's client blocks (connect, a full window, close), so it runs in a
 * sender thread that owns the librelp engine and client; the collector's
 * loop only hands it frames (relp_hand) and reads how many records are
 * acknowledged (relp_acked), both under a mutex held for a copy, never
 * across a librelp call.
 *
 * What counts as acknowledged. librelp does not tell which messages the
 * receiver has acknowledged, only that at most RELP_WINDOW may be waiting
 * for it (the window: a send waits until fewer are). So after each send
 * the messages but the last RELP_WINDOW sent on this session are known to
 * be acknowledged; the last ones are known once the session is closed
 * cleanly (the receiver answers "close" after every earlier command), which
 * the thread does after RELP_IDLE_MS without anything to send. Until then
 * they are kept: a session that breaks is left, and a new one sends them
 * again first (duplicates, never a gap), as librelp's own reconnect would.
 */
#ifndef SHMLOG_SYSLOG_RELP_H
#define SHMLOG_SYSLOG_RELP_H

#include <stdbool.h>
#include <stdint.h>

#include "syslog_frames.h"
#include "syslog_net.h"
#include "writer.h"

#define RELP_WINDOW 128      /* messages sent and not yet acknowledged, at most */
#define RELP_IDLE_MS 200     /* quiet time after which the session is closed to learn the last acknowledgements */
#define RELP_TIMEOUT_S 10    /* librelp's wait for an answer (a full window, close) before the session counts as broken */

struct relp_link;

/*
 * Start the sender thread of writer name for the receiver c describes
 * (host, port, backoff; copied). Connecting waits for the first frame.
 * Returns 0 or -errno with d filled.
 */
int relp_open(struct relp_link **out, const struct syslog_conn *c, const char *name, struct diag *d);

/* Hand q's frames (each one whole message) to the thread, in order; q is left empty. Returns 0 or -ENOMEM. */
int relp_hand(struct relp_link *l, struct frames *q);

/* What the receiver acknowledged since open: records, and the frames read back from a spool (FRAME_SPOOLED). */
struct relp_acks {
	uint64_t records;
	uint64_t spooled_frames;
	uint64_t spooled_bytes; /* their lengths, entry heads not included */
};

struct relp_acks relp_acked(struct relp_link *l);

/*
 * Whether the receiver is down (no session, its loss said). If it is, every
 * frame the thread holds, unconfirmed first, moves to dst (emptied first),
 * in order, so that the writer can spool them before what it has; and with
 * more (the writer has frames of its own, in its spool) the thread connects
 * again after the backoff even with none to send.
 */
bool relp_take_back(struct relp_link *l, struct frames *dst, bool more);

/* Bytes handed and not known to be acknowledged. */
uint64_t relp_pending(struct relp_link *l);

/* Stop the thread: the session is closed cleanly if it can be (bounded by RELP_TIMEOUT_S). */
void relp_close(struct relp_link *l);

#endif
