/* source.c: one file or stdin split into lines, and its lines in flight (see source.h). */
#include "source.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A stdin line kept until confirmed: this header, then n bytes, padded to 8. */
typedef struct rec {
    uint64_t off, end;
    uint32_t n, too_long;
} rec_t;

struct src_stdin {
    char *raw; /* bytes read, [raw_off, raw_off + raw_len) of the stream; TAIL_READ_BUF */
    size_t raw_len, raw_pos; /* raw_pos: start of the next line, or where skipping is */
    uint64_t raw_off;
    int eof;
    /* Records of the lines in flight, oldest first, in keep[keep_start, keep_len): those before
     * replay are in the ring, those from replay on wait to be handed out again (rewind). */
    char *keep;
    size_t keep_start, keep_len, keep_cap, replay;
    char long_buf[REJECT_LINE_MAX]; /* first bytes of the too-long line being skipped */
    size_t long_n;
};

/* src_next's internal "go on reading" after a resync. */
#define SKIP_DONE 100

uint64_t src_hash(const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static ssize_t pread_full(int fd, void *buf, size_t n, uint64_t off) {
    ssize_t r;
    do
        r = pread(fd, buf, n, (off_t)off);
    while (r < 0 && errno == EINTR);
    return r;
}

source_t *src_new_file(int fd, const char *path, uint32_t slot, uint64_t id, uint64_t seq0) {
    source_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->path = strdup(path);
    if (!s->path) {
        free(s);
        return NULL;
    }
    s->kind = SRC_FILE;
    s->fd = fd;
    s->slot = slot;
    s->id = id;
    s->head = s->next = seq0 & SRC_SEQ_MASK;
    return s;
}

source_t *src_new_stdin(int fd, uint32_t slot, uint64_t id, uint64_t seq0, int64_t start_ms) {
    source_t *s = src_new_file(fd, "-", slot, id, seq0);
    if (!s) return NULL;
    s->kind = SRC_STDIN;
    s->in = calloc(1, sizeof *s->in);
    if (s->in) s->in->raw = malloc(TAIL_READ_BUF);
    if (!s->in || !s->in->raw) {
        src_free(s);
        return NULL;
    }
    s->src_len = (size_t)snprintf(s->src, sizeof s->src, "-:stdin:%" PRId64, start_ms);
    s->has_id = 1;
    return s;
}

void src_free(source_t *s) {
    if (!s) return;
    if (s->kind == SRC_FILE && s->fd >= 0) close(s->fd);
    if (s->in) {
        free(s->in->raw);
        free(s->in->keep);
        free(s->in);
    }
    free(s->ring);
    free(s->path);
    free(s);
}

int src_fingerprint(int fd, int final, uint64_t *fp, uint32_t *fp_len) {
    char b[FP_MAX_BYTES];
    ssize_t n = pread_full(fd, b, sizeof b, 0);
    if (n < 0) return -1;
    const char *nl = memchr(b, '\n', (size_t)n);
    size_t len;
    if (nl)
        len = (size_t)(nl - b) + 1;
    else if ((size_t)n == sizeof b || (final && n > 0))
        len = (size_t)n;
    else
        return 0;
    *fp = src_hash(b, len);
    *fp_len = (uint32_t)len;
    return 1;
}

int src_chk(int fd, uint64_t off, uint64_t *chk) {
    char b[SRC_CHK_BYTES];
    if (off == 0) {
        *chk = 0;
        return 0;
    }
    size_t k = off < sizeof b ? (size_t)off : sizeof b;
    ssize_t n = pread_full(fd, b, k, off - k);
    if (n < 0 || (size_t)n != k) return -1;
    uint64_t h = src_hash(b, k);
    *chk = h ? h : 1; /* 0 means "no bytes" in the state file */
    return 0;
}

void src_set_id(source_t *s, const char *first_path, uint64_t fp, uint32_t fp_len, uint32_t gen) {
    /* ":INO:FP:GEN" takes at most 1 + 20 + 1 + 16 + 1 + 10 bytes; the path gets the rest, its
     * end kept (the file name tells more than the root). */
    size_t room = HIT_STR_MAX - 49, pl = strlen(first_path);
    const char *p = pl > room ? first_path + (pl - room) : first_path;
    s->fp = fp;
    s->fp_len = fp_len;
    s->gen = gen;
    s->src_len = (size_t)snprintf(s->src, sizeof s->src, "%s:%" PRIu64 ":%016" PRIx64 ":%" PRIu32,
                                  p, s->ino, fp, gen);
    s->has_id = 1;
}

/* Room in the ring for one more line (ring_max is a power of two). */
static int ring_reserve(source_t *s, uint32_t ring_max) {
    uint64_t used = src_inflight(s);
    if (s->cap && used < s->cap) return 0;
    uint32_t cap = s->cap ? 2 * s->cap : (ring_max < SRC_RING_MIN ? ring_max : SRC_RING_MIN);
    src_ent_t *r = malloc((size_t)cap * sizeof *r);
    if (!r) return -1;
    for (uint64_t i = 0; i < used; i++) {
        uint64_t seq = (s->head + i) & SRC_SEQ_MASK;
        r[seq & (cap - 1)] = s->ring[seq & (s->cap - 1)];
    }
    free(s->ring);
    s->ring = r;
    s->cap = cap;
    return 0;
}

/* Hands out [off, end) with text p[0..n) as the next line in flight. */
static void emit(source_t *s, tail_line_t *out, const char *p, size_t n, uint64_t off, uint64_t end,
                 int too_long) {
    uint64_t seq = s->next;
    src_ent_t *e = &s->ring[seq & (s->cap - 1)];
    e->end = end;
    e->acked = 0;
    e->tag = 0;
    s->next = (seq + 1) & SRC_SEQ_MASK;
    out->src = s->src;
    out->src_len = s->src_len;
    out->off = off;
    out->p = p;
    out->n = n;
    out->too_long = too_long;
    out->reread = off < s->hw;
    out->token = (uint64_t)s->slot << SRC_SEQ_BITS | seq;
    if (end > s->hw) s->hw = end;
    if (s->kind == SRC_FILE) s->rd_off = end;
}

/* ---- files ------------------------------------------------------------------------------- */

/* The window's bytes from off on, if it holds off for s. */
static size_t win_at(const src_win_t *w, const source_t *s, uint64_t off, const char **p) {
    if (w->owner != s || off < w->off || off >= w->off + w->len) return 0;
    *p = w->buf + (off - w->off);
    return (size_t)(w->off + w->len - off);
}

static ssize_t win_fill(source_t *s, src_win_t *w, uint64_t off) {
    ssize_t n = pread_full(s->fd, w->buf, w->cap, off);
    if (n < 0) {
        w->owner = NULL;
        return -1;
    }
    w->owner = s;
    w->off = off;
    w->len = (size_t)n;
    if (off + (uint64_t)n > s->seen_end) s->seen_end = off + (uint64_t)n;
    return n;
}

static int read_error(const source_t *s, char *err, size_t errlen) {
    snprintf(err, errlen, "%s: read: %s", s->path, strerror(errno));
    return SRC_ERR;
}

/* Scans for the '\n' that ends a too-long line (handing the line out then) or, in resync, the
 * line the position is inside of. Returns SRC_LINE, SRC_NONE, SRC_ERR, or SKIP_DONE. */
static int file_skip(source_t *s, src_win_t *w, const src_rd_t *rd, tail_line_t *out, char *err,
                     size_t errlen) {
    uint64_t end;
    for (;;) {
        const char *p = NULL;
        size_t avail = win_at(w, s, s->scan_off, &p);
        const char *nl = avail ? memchr(p, '\n', avail) : NULL;
        if (nl) {
            end = s->scan_off + (uint64_t)(nl - p) + 1;
            break;
        }
        s->scan_off += avail;
        if (!rd->refill) return SRC_NONE;
        if (s->eof && s->eof_off <= s->scan_off && !rd->final) return SRC_NONE;
        ssize_t n = win_fill(s, w, s->scan_off);
        if (n < 0) return read_error(s, err, errlen);
        if (n > 0) {
            s->eof = 0;
            continue;
        }
        s->eof = 1;
        s->eof_off = s->scan_off;
        if (!rd->final) return SRC_NONE;
        end = s->scan_off; /* the end for good: the line ends with the file */
        break;
    }
    if (s->resync) {
        s->resync = 0;
        s->rd_off = s->confirmed = s->hw = end;
        s->moved = 1;
        return SKIP_DONE;
    }
    s->skipping = 0;
    ssize_t n = win_fill(s, w, s->long_start); /* the first bytes, for the dead letter */
    if (n < 0) return read_error(s, err, errlen);
    size_t k = (size_t)n < REJECT_LINE_MAX ? (size_t)n : REJECT_LINE_MAX;
    emit(s, out, w->buf, k, s->long_start, end, 1);
    return SRC_LINE;
}

static int file_next(source_t *s, src_win_t *w, const src_rd_t *rd, tail_line_t *out, char *err,
                     size_t errlen) {
    for (;;) {
        if (s->skipping || s->resync) {
            int r = file_skip(s, w, rd, out, err, errlen);
            if (r != SKIP_DONE) return r;
            continue;
        }
        const char *p = NULL;
        size_t avail = win_at(w, s, s->rd_off, &p);
        if (avail) {
            size_t lim = avail <= LINE_MAX_BYTES ? avail : LINE_MAX_BYTES + 1;
            const char *nl = memchr(p, '\n', lim);
            if (nl) {
                size_t n = (size_t)(nl - p);
                emit(s, out, p, n, s->rd_off, s->rd_off + n + 1, 0);
                return SRC_LINE;
            }
            if (avail > LINE_MAX_BYTES) {
                s->skipping = 1;
                s->long_start = s->rd_off;
                s->scan_off = s->rd_off + LINE_MAX_BYTES + 1;
                continue;
            }
        }
        if (!rd->refill) return SRC_NONE;
        if (s->eof && !(rd->final && s->eof_off > s->rd_off)) return SRC_NONE;
        ssize_t n = win_fill(s, w, s->rd_off);
        if (n < 0) return read_error(s, err, errlen);
        if ((size_t)n > avail) { /* new bytes: a line, a longer partial one, or a long one */
            /* Checked after the read: if the file still starts as it did, the bytes just read
             * are of the same content, not of a copytruncate's new one at our old offset. */
            int same = s->rd_off > 0 && s->fp_len ? src_same_start(s) : 1;
            if (same < 0) return read_error(s, err, errlen);
            if (!same) {
                w->owner = NULL;
                return SRC_TRUNC;
            }
            s->eof = 0;
            continue;
        }
        s->eof = 1;
        s->eof_off = s->rd_off + (uint64_t)n;
        if (rd->final && n > 0) { /* an unterminated last line (n <= LINE_MAX_BYTES here) */
            emit(s, out, w->buf, (size_t)n, s->rd_off, s->rd_off + (uint64_t)n, 0);
            return SRC_LINE;
        }
        return SRC_NONE;
    }
}

/* ---- stdin ------------------------------------------------------------------------------- */

static size_t rec_size(size_t n) {
    return (sizeof(rec_t) + n + 7) & ~(size_t)7;
}

/* Room in keep for a record of n bytes: compacts or grows up to TAIL_STDIN_KEEP_MAX. */
static int keep_room(src_stdin_t *in, size_t n) {
    size_t need = rec_size(n);
    if (in->keep_len + need <= in->keep_cap) return 1;
    if (in->keep_start > 0) { /* only the last line handed out pointed here: it is done */
        memmove(in->keep, in->keep + in->keep_start, in->keep_len - in->keep_start);
        in->keep_len -= in->keep_start;
        in->replay -= in->keep_start;
        in->keep_start = 0;
        if (in->keep_len + need <= in->keep_cap) return 1;
    }
    size_t cap = in->keep_cap ? 2 * in->keep_cap : TAIL_READ_BUF;
    while (cap < in->keep_len + need)
        cap *= 2;
    if (cap > TAIL_STDIN_KEEP_MAX) return 0;
    char *k = realloc(in->keep, cap);
    if (!k) return 0;
    in->keep = k;
    in->keep_cap = cap;
    return 1;
}

/* Keeps a record of the line and hands it out (keep_room() said yes). */
static int keep_emit(source_t *s, tail_line_t *out, const char *p, size_t n, uint64_t off,
                     uint64_t end, int too_long) {
    src_stdin_t *in = s->in;
    rec_t r = {off, end, (uint32_t)n, (uint32_t)too_long};
    char *at = in->keep + in->keep_len;
    memcpy(at, &r, sizeof r);
    memcpy(at + sizeof r, p, n);
    in->keep_len += rec_size(n);
    in->replay = in->keep_len;
    emit(s, out, at + sizeof r, n, off, end, too_long);
    return SRC_LINE;
}

/* Reads what stdin has now, without waiting. 1: read something (or hit EOF), 0: nothing. */
static int stdin_read(source_t *s, char *err, size_t errlen) {
    src_stdin_t *in = s->in;
    if (in->raw_pos > 0) {
        memmove(in->raw, in->raw + in->raw_pos, in->raw_len - in->raw_pos);
        in->raw_off += in->raw_pos;
        in->raw_len -= in->raw_pos;
        in->raw_pos = 0;
    }
    struct pollfd pf = {s->fd, POLLIN, 0};
    int r = poll(&pf, 1, 0);
    if (r <= 0) return 0;
    ssize_t n = read(s->fd, in->raw + in->raw_len, TAIL_READ_BUF - in->raw_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (n < 0) return read_error(s, err, errlen);
    if (n == 0) in->eof = 1;
    in->raw_len += (size_t)n;
    return 1;
}

static int stdin_next(source_t *s, const src_rd_t *rd, tail_line_t *out, char *err, size_t errlen) {
    src_stdin_t *in = s->in;
    if (in->replay < in->keep_len) { /* after a rewind: the kept lines first, as they were */
        rec_t r;
        memcpy(&r, in->keep + in->replay, sizeof r);
        const char *p = in->keep + in->replay + sizeof r;
        in->replay += rec_size(r.n);
        emit(s, out, p, r.n, r.off, r.end, (int)r.too_long);
        return SRC_LINE;
    }
    for (;;) {
        const char *p = in->raw + in->raw_pos;
        size_t avail = in->raw_len - in->raw_pos;
        uint64_t off = in->raw_off + in->raw_pos;
        if (s->skipping) {
            const char *nl = memchr(p, '\n', avail);
            if (nl || (in->eof && avail == 0)) {
                if (!keep_room(in, in->long_n)) return SRC_FULL;
                uint64_t end = nl ? off + (uint64_t)(nl - p) + 1 : off;
                in->raw_pos += nl ? (size_t)(nl - p) + 1 : 0;
                s->skipping = 0;
                return keep_emit(s, out, in->long_buf, in->long_n, s->long_start, end, 1);
            }
            in->raw_pos = in->raw_len; /* not kept: the record holds the first bytes */
        } else {
            size_t lim = avail <= LINE_MAX_BYTES ? avail : LINE_MAX_BYTES + 1;
            const char *nl = memchr(p, '\n', lim);
            if (nl || (in->eof && avail > 0 && avail <= LINE_MAX_BYTES)) {
                size_t n = nl ? (size_t)(nl - p) : avail;
                if (!keep_room(in, n)) return SRC_FULL;
                in->raw_pos += nl ? n + 1 : n;
                return keep_emit(s, out, p, n, off, off + n + (nl ? 1 : 0), 0);
            }
            if (avail > LINE_MAX_BYTES) {
                s->skipping = 1;
                s->long_start = off;
                in->long_n = REJECT_LINE_MAX;
                memcpy(in->long_buf, p, REJECT_LINE_MAX);
                in->raw_pos += LINE_MAX_BYTES + 1;
                continue;
            }
        }
        if (in->eof && !s->skipping) return SRC_NONE;
        if (in->eof) continue; /* skipping: ends with the stream */
        if (!rd->refill) return SRC_NONE;
        int r = stdin_read(s, err, errlen);
        if (r <= 0) return r;
    }
}

/* ---- both -------------------------------------------------------------------------------- */

int src_next(source_t *s, src_win_t *w, const src_rd_t *rd, tail_line_t *out, char *err,
             size_t errlen) {
    if (src_inflight(s) >= rd->ring_max) return SRC_FULL;
    if (ring_reserve(s, rd->ring_max) < 0) {
        snprintf(err, errlen, "%s: out of memory", s->path);
        return SRC_ERR;
    }
    if (s->kind == SRC_STDIN) return stdin_next(s, rd, out, err, errlen);
    return file_next(s, w, rd, out, err, errlen);
}

int src_drained(const source_t *s) {
    if (s->kind == SRC_STDIN)
        return s->in->eof && s->in->raw_pos == s->in->raw_len && !s->skipping &&
               s->in->replay == s->in->keep_len;
    return s->eof && !s->skipping && !s->resync && s->rd_off >= s->eof_off;
}

int src_poll_fd(const source_t *s) {
    return s->kind == SRC_STDIN && !s->in->eof ? s->fd : -1;
}

int src_same_start(const source_t *s) {
    char b[FP_MAX_BYTES];
    ssize_t n = pread_full(s->fd, b, s->fp_len, 0);
    if (n < 0) return -1;
    return (size_t)n == s->fp_len && src_hash(b, s->fp_len) == s->fp;
}

uint64_t src_ack(source_t *s, uint64_t seq, tail_settled_fn settled, void *ctx) {
    uint64_t d = (seq - s->head) & SRC_SEQ_MASK, k = 0;
    if (d >= src_inflight(s)) return 0; /* stale: rewound, truncated, or acked already */
    s->ring[seq & (s->cap - 1)].acked = 1;
    if (d != 0) return 0;
    /* Advance only over the confirmed prefix: a gap (a line not yet confirmed) stops it, so a
     * crash replays from the gap and never skips it. */
    while (s->head != s->next) {
        src_ent_t *e = &s->ring[s->head & (s->cap - 1)];
        if (!e->acked) break;
        s->confirmed = e->end;
        if (settled) settled(ctx, s->src, s->src_len, e->tag);
        if (s->in) {
            rec_t r;
            memcpy(&r, s->in->keep + s->in->keep_start, sizeof r);
            s->in->keep_start += rec_size(r.n);
        }
        s->head = (s->head + 1) & SRC_SEQ_MASK;
        k++;
    }
    if (s->head == s->next && s->cap > 8 * SRC_RING_MIN) { /* a burst is over: give it back */
        free(s->ring);
        s->ring = NULL;
        s->cap = 0;
    }
    return k;
}

void src_tag(source_t *s, uint64_t seq, int tag) {
    uint64_t d = (seq - s->head) & SRC_SEQ_MASK;
    if (d < src_inflight(s)) s->ring[seq & (s->cap - 1)].tag = (uint8_t)tag;
}

uint64_t src_rewind(source_t *s) {
    uint64_t k = src_inflight(s);
    s->head = s->next;
    if (s->kind == SRC_STDIN) {
        s->in->replay = s->in->keep_start;
        return k;
    }
    s->rd_off = s->scan_off = s->confirmed;
    s->skipping = 0;
    s->eof = 0;
    return k;
}

uint64_t src_truncated(source_t *s) {
    uint64_t k = src_inflight(s);
    s->head = s->next;
    if (s->has_id) s->gen_min = s->gen + 1;
    s->has_id = 0;
    s->src[0] = 0;
    s->src_len = 0;
    s->rd_off = s->confirmed = s->hw = s->seen_end = s->eof_off = s->scan_off = 0;
    s->eof = s->skipping = s->resync = 0;
    s->chk = s->chk_off = 0;
    s->moved = 1;
    return k;
}

uint64_t src_lag(const source_t *s) {
    uint64_t end = s->kind == SRC_STDIN ? s->in->raw_off + s->in->raw_len
                                        : (s->size > s->seen_end ? s->size : s->seen_end);
    return end > s->confirmed ? end - s->confirmed : 0;
}
