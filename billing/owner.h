/* owner.h: which partitions a `billing run` member owns, decided in PostgreSQL.
 *
 * Billing does not use Kafka's group membership: the database that holds the offsets (moved by
 * compare-and-set, the arbiter of exactly-once) also says who reads which partition. A member
 * owns partition P of (group, topic) while its owner connection holds the session-level
 * advisory lock (OWNER_PARTS key of group+topic, P). Members see each other the same way: each
 * holds one member-slot lock (OWNER_MEMBERS key, slot); pg_locks, readable by every role, lists
 * the live ones. A process that dies (even by kill -9) closes its socket; the server ends the
 * session and frees its locks at once, so a successor takes them within one look (~0.5 s),
 * instead of waiting out a Kafka session (45 s by default, 6 s at the least on a real broker).
 *
 * What must hold:
 * - A member reads a partition only while it holds the lock, and releases a lock only after
 *   writing what it holds of that partition (or dropping it). The lock is an optimisation of
 *   who works; correctness stays with the compare-and-set of the offsets: two sessions that
 *   both believed they owned a partition (a connection lost unnoticed) cannot both write.
 * - A member that hangs holds its partitions OWNER_IDLE_TIMEOUT at most: the server ends its
 *   idle owner session (idle_session_timeout), as Kafka would end its group session.
 * - A member whose owner connection fails holds nothing from that moment (the server drops the
 *   session's locks when it notices; the member drops its partitions at once, without waiting
 *   to learn which).
 * - Keys: (ns, P) with ns a 31-bit hash of "parts:GROUP/TOPIC" (or "members:..."): the
 *   two-int4 form of pg_try_advisory_lock, objsubid 2 in pg_locks. Two groups whose hashes
 *   collide would only share the lock space (fewer partitions read in parallel), never bill
 *   wrong. */
#ifndef OWNER_H
#define OWNER_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#define OWNER_SLOTS_MAX 4096 /* member slots tried: more live members than this are refused */
/* The owner session's idle_session_timeout: a member whose loop stops (hung, SIGSTOP) loses its
 * session, so its partitions, after this long. Members look every ~0.5 s. */
#define OWNER_IDLE_TIMEOUT "10s"

typedef enum { OWNER_PARTS, OWNER_MEMBERS } owner_kind_t;

/* The first int4 of the advisory-lock keys of (group, topic), >= 0. */
int32_t owner_ns(owner_kind_t kind, const char *group, const char *topic);

/* Whether a connection failure's message says the configuration is wrong (the database does
 * not exist, authentication failed, the role does not exist, pg_hba refuses, a value of the
 * connection string libpq refuses: sslmode=bogus, port=abc), not that the server is away.
 * Matched on the English messages of the server (lc_messages = C or en) and of libpq. */
int owner_config_error(const char *msg);

typedef struct owner owner_t;

/* Copies everything. instance names this member (application_name of the owner connection).
 * Does not connect yet. NULL when out of memory. */
owner_t *owner_new(const char *conninfo, const char *instance, const char *group,
                   const char *topic);
void owner_free(owner_t *o);

/* Connects (one attempt) and, if member, takes the lowest free member slot. 0, or -1 with err
 * (*config set when the error is a configuration error, see owner_config_error). */
int owner_connect(owner_t *o, int member, int *config, char *err, size_t errlen);
int owner_connected(const owner_t *o);
/* Closes the connection: every lock of this member goes with it. */
void owner_disconnect(owner_t *o);

/* One look at pg_locks: *members live members (slot holders), *rank this member's place among
 * them (0-based; 0 if not a member), and other[P] = 1 for each partition P < nparts whose lock
 * another session holds. -1 with err (the connection is then closed: nothing is held). */
int owner_look(owner_t *o, int32_t nparts, uint8_t *other, int *members, int *rank, char *err,
               size_t errlen);

/* Tries to take partition P: 1 taken, 0 another session holds it, -1 with err (connection
 * closed: nothing is held). Never call it for a partition this member holds. */
int owner_take(owner_t *o, int32_t part, char *err, size_t errlen);

/* Releases partition P (held). 0, or -1 with err (connection closed: nothing is held). */
int owner_release(owner_t *o, int32_t part, char *err, size_t errlen);

#endif
