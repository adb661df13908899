/* status.h: `billing status` and `billing edges`: how far billing is, per edge, and the edges
 * that will never report again.
 *
 *   billing status [--month YYYY-MM] [--topic NAME] [--grace DURATION] [--format text|json]
 *       per edge: the time up to which its hits are billed (edges.h), how far behind the
 *       database's clock, its billed hits in the month, and the month's state for it
 *       (complete, incomplete, open, retired, not in month); then the month's verdict and the
 *       rejects per reason (billing_rejects; in the month by Kafka timestamp when --month is
 *       given, else all). Without --month: the last month that has begun before this one (the
 *       one finance closes next).
 *   billing edges [list]                     the retired edges, with when, by whom and why
 *   billing edges retire EDGE [--reason T]   EDGE stops holding months open. Refused (exit 1)
 *                                            for an edge billing has never seen (a typo)
 *   billing edges unretire EDGE              undoes it (an edge retired by mistake)
 * Exit status: 0, 1 on a database failure or a refused retire, 2 on bad usage. */
#ifndef STATUS_H
#define STATUS_H

int status_main(int argc, char **argv);
int edges_main(int argc, char **argv);

#endif
