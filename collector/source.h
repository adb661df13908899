/* source.h: one log source of the tail (tail.h): an open file or stdin, split into lines, with
 * the ring of lines handed out and not yet confirmed.
 *
 * A file is read with pread() into a window shared by all sources (the table, srctab.h, owns
 * it), so a source costs no buffer while it waits; a line handed out points into that window. The
 * confirmed position is the end of the longest run of confirmed lines from the oldest one in
 * flight: tokens come back in any order (Kafka confirms per partition), the position only moves
 * over a prefix without gaps. stdin cannot be read twice, so its lines stay in memory (as records)
 * until confirmed, to be handed out again after a rewind.
 *
 * Internal to the tail module: the table (srctab.c) keeps sources in slots and counts their lines
 * in flight; tail.c and tailscan.c decide when they are read, finished or closed. */
#ifndef SOURCE_H
#define SOURCE_H

#include "hit.h"
#include "taildefs.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A token is (slot << SRC_SEQ_BITS) | seq: seq counts lines of a slot, modulo 2^44. */
#define SRC_SEQ_BITS 44
#define SRC_SEQ_MASK ((UINT64_C(1) << SRC_SEQ_BITS) - 1)
#define SRC_SLOTS_MAX (1u << 20)
/* Bytes just before a position that are hashed to check, on resume, that the file is the same. */
#define SRC_CHK_BYTES 256
#define SRC_RING_MIN 1024

/* Results of src_next besides a line (1): nothing now, the ring is full, the file no longer
 * starts with its first line (truncated and written again: see src_truncated), read error. */
enum { SRC_NONE = 0, SRC_LINE = 1, SRC_FULL = 3, SRC_TRUNC = 4, SRC_ERR = -1 };

enum { SRC_FILE = 0, SRC_STDIN = 1 };

/* One line in flight. */
typedef struct src_ent {
    uint64_t end; /* offset just past the line: the position once it is confirmed */
    uint8_t acked;
    uint8_t tag; /* tail_tag() */
} src_ent_t;

/* The window of file bytes [off, off + len) in buf, owned by one source at a time. */
typedef struct src_win {
    char *buf;
    size_t cap; /* TAIL_READ_BUF: more than LINE_MAX_BYTES + 1 */
    const struct source *owner;
    uint64_t off;
    size_t len;
} src_win_t;

/* What the tail allows one src_next call. */
typedef struct src_rd {
    int refill;        /* may read the file (else only the window's lines) */
    int final;         /* the end seen is the end for good: hand out an unterminated last line */
    uint32_t ring_max; /* lines in flight allowed for this source */
} src_rd_t;

typedef struct src_stdin src_stdin_t;

typedef struct source {
    int kind; /* SRC_FILE or SRC_STDIN */
    int fd;
    uint32_t slot; /* index in the tail's table: the high bits of this source's tokens */
    uint64_t id;   /* unique within a tail, never reused (slots are) */
    char *path;    /* where the file is, as last seen (absolute) */
    char src[HIT_STR_MAX + 1]; /* the id of the lines; "" until the file is identified */
    size_t src_len;
    int has_id; /* dev, ino, fp, gen and src are known */
    uint64_t dev, ino, fp;
    uint32_t fp_len;  /* bytes hashed into fp */
    uint32_t gen;     /* truncations seen (and identity clashes avoided) */
    uint32_t gen_min; /* the next identity of this file gets at least this gen */
    /* Positions, byte offsets in the source. */
    uint64_t rd_off;    /* start of the next line to hand out */
    uint64_t confirmed; /* end of the confirmed lines: what is saved */
    uint64_t hw;        /* furthest line end handed out: a line before it is a reread */
    uint64_t seen_end;  /* furthest byte seen: a size below it means truncated */
    uint64_t size;      /* st_size at the last check */
    int64_t grew_ms;    /* monotonic ms when the size last changed */
    int eof;            /* the last read found nothing beyond eof_off */
    uint64_t eof_off;
    int skipping; /* in a too-long line that starts at long_start; scanned up to scan_off */
    int resync;   /* resumed inside a line handed out unterminated: drop up to its '\n' */
    uint64_t long_start, scan_off;
    int moved; /* the confirmed position moved outside acks (resync): save it */
    /* Follow mode. */
    int detached;          /* no longer at a watched path: rotated away or deleted */
    int seen;              /* found by the current scan */
    uint64_t after_id;     /* the source (id) to finish before this one is read; 0: none */
    uint64_t chk, chk_off; /* hash of the SRC_CHK_BYTES before chk_off (cached for saving) */
    /* Lines in flight: seqs [head, next), ring[seq & (cap - 1)]. */
    src_ent_t *ring;
    uint32_t cap;
    uint64_t head, next;
    src_stdin_t *in; /* stdin only */
} source_t;

/* 64-bit FNV-1a: the fingerprint and check hash (not adversarial: an identity needs the same
 * inode too). */
uint64_t src_hash(const void *p, size_t n);

/* A file source on fd (taken over), at path. seq0 starts this slot's seqs. NULL if no memory. */
source_t *src_new_file(int fd, const char *path, uint32_t slot, uint64_t id, uint64_t seq0);
/* The stdin source reading fd (not closed by src_free), src "-:stdin:START_MS". */
source_t *src_new_stdin(int fd, uint32_t slot, uint64_t id, uint64_t seq0, int64_t start_ms);
void src_free(source_t *s);

/* The fingerprint of the file on fd: 1 with *fp and *fp_len; 0 when the file has no complete
 * first line and fewer than FP_MAX_BYTES bytes yet (unless final: then whatever is there, if
 * anything); -1 on a read error. */
int src_fingerprint(int fd, int final, uint64_t *fp, uint32_t *fp_len);
/* The check hash of the SRC_CHK_BYTES (or fewer) bytes before off: 0 for off 0, never 0 else.
 * -1 on a read error or when the file is shorter than off. */
int src_chk(int fd, uint64_t off, uint64_t *chk);
/* Sets the identity and builds src "PATH:INO:FP:GEN" (PATH cut from the left to fit). */
void src_set_id(source_t *s, const char *first_path, uint64_t fp, uint32_t fp_len, uint32_t gen);

/* The next line of s into *out, within what rd allows. err gets the reason of SRC_ERR. */
int src_next(source_t *s, src_win_t *w, const src_rd_t *rd, tail_line_t *out, char *err,
             size_t errlen);
/* Nothing left to hand out at the end seen so far. */
int src_drained(const source_t *s);
/* The descriptor to wait on for more input (stdin not at its end), else -1. */
int src_poll_fd(const source_t *s);
/* Whether the file still starts with the first line that gave s its fingerprint: 1 yes, 0 no
 * (it was truncated and written again), -1 on a read error. */
int src_same_start(const source_t *s);

/* Lines in flight. */
static inline uint64_t src_inflight(const source_t *s) {
    return (s->next - s->head) & SRC_SEQ_MASK;
}
/* Marks seq confirmed and advances the confirmed position over the confirmed prefix, calling
 * settled for each line passed. Returns the number of lines passed; a stale seq changes
 * nothing. */
uint64_t src_ack(source_t *s, uint64_t seq, tail_settled_fn settled, void *ctx);
void src_tag(source_t *s, uint64_t seq, int tag);
/* Back to the confirmed position; the lines in flight are forgotten. Returns how many. */
uint64_t src_rewind(source_t *s);
/* The file was truncated: forget everything, start at 0 with no identity (a new one comes from
 * its new first line, with gen + 1). Returns the lines in flight forgotten. */
uint64_t src_truncated(source_t *s);
/* Bytes beyond the confirmed position. */
uint64_t src_lag(const source_t *s);

#endif
