/* sdnotify.h: tells systemd a service is ready (the sd_notify protocol, without libsystemd).
 *
 * A unit of Type=notify starts the program with $NOTIFY_SOCKET naming a Unix datagram socket (a
 * path, or '@' for the abstract namespace); the program sends "READY=1" there once it serves.
 * Without $NOTIFY_SOCKET (not under systemd, or another Type) nothing is sent and 0 returned.
 * The variable is left set: threads may read the environment, and a child never gets one (the
 * programs start none). */
#ifndef SDNOTIFY_H
#define SDNOTIFY_H

#include <stddef.h>

/* Sends state (e.g. "READY=1", "STOPPING=1", "STATUS=text") as one datagram to $NOTIFY_SOCKET.
 * 0 if sent or there is no socket; -1 with err saying why (a malformed address, an unreachable
 * socket). */
int sdnotify_send(const char *state, char *err, size_t errlen);

/* sdnotify_send("READY=1"). For a one-line call after start-up: a failure is not reported here
 * (systemd itself reports the start as timed out, TimeoutStartSec=), so the result may be
 * ignored. */
int sdnotify_ready(void);

#endif
