/* meter_own.c: the partitions a `billing run` member reads, taken and released by advisory
 * locks in PostgreSQL (owner.h), and the offset-gap rule of the contract.
 *
 * Every OWN_LOOK_MS the member looks at pg_locks: M live members (member slots), its rank r
 * among them, and which partitions other sessions hold. Its share of P partitions is
 * P / M, plus one for the first P % M ranks (the shares add up to P). Over its share, it writes
 * what it holds (one flush) and releases the excess; under it, it takes free partitions,
 * preferring those with partition % M == r, so that members settle on disjoint sets without
 * talking to each other. A member that stops (even by kill -9) frees its locks at once: the
 * others see the partitions free at their next look.
 *
 * --once is not a member (it holds no slot, so running members' shares are unchanged): at its
 * first look it takes every partition no other session holds, reads each to the high watermark
 * it had when taken, writes, exits. Partitions that live members hold are theirs to bill.
 *
 * Taking a partition: its stored offset is compared with the range Kafka holds (low..high
 * watermarks). Outside it (retention passed it, the topic was made anew), or no stored offset
 * while the first offset is above 0 (hits nobody billed are gone): billing stops with one
 * error line naming the partition, the stored offset and the range, and writes nothing for it
 * until a person decides (`billing offsets reset`). The same holds while reading:
 * auto.offset.reset=error makes a fetch outside the range an error, never a silent jump. */
#include "meter_int.h"

#include "clock.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- dropping and gaps ------------------------------------------------------------------------
 */

static void unassign(meter_t *c, const int32_t *ids, size_t n) {
    char err[512];
    if (kassign_remove(c->kc, ids, n, err, sizeof err) < 0) {
        log_error("cannot stop reading partitions: stopping", "err=%s", err);
        c->failed = 1;
    }
}

/* The ids of the owned partitions, into ids (room for nparts); their count. */
static size_t owned_ids(meter_t *c, int32_t *ids) {
    size_t n = 0;
    for (int32_t id = 0; id < c->nparts; id++)
        if (c->parts[id].owned) ids[n++] = id;
    return n;
}

void meter_own_drop_all(meter_t *c, const char *why) {
    int32_t *ids = calloc((size_t)c->nparts + 1, sizeof *ids);
    if (!ids) {
        c->failed = 1;
        return;
    }
    size_t n = owned_ids(c, ids);
    uint64_t held = rollup_hits(c->rollup);
    if (n) unassign(c, ids, n);
    for (size_t i = 0; i < n; i++) {
        meter_forget(c, ids[i]);
        c->parts[ids[i]].owned = 0;
    }
    metric_add(&bstats_partitions, -(int64_t)n);
    if (n && held)
        log_warn("every partition dropped: unwritten sums are read again from the stored offsets",
                 "why=%s partitions=%zu unwritten_hits_dropped=%" PRIu64, why, n, held);
    else if (n)
        log_info("every partition released", "why=%s partitions=%zu", why, n);
    c->progress = 0;
    free(ids);
}

static void say_gap(meter_t *c, int32_t id, int64_t stored, int64_t lo, int64_t hi) {
    char s[24];
    if (stored >= 0)
        snprintf(s, sizeof s, "%" PRId64, stored);
    else
        snprintf(s, sizeof s, "none");
    log_error("offset gap: the stored offset is outside the range Kafka holds (or none is "
              "stored and the range starts above 0); nothing is billed from this partition until "
              "`billing offsets reset` (see billing offsets)",
              "topic=%s group=%s partition=%" PRId32 " stored=%s kafka_range=%" PRId64 "..%" PRId64,
              c->o.kafka->topic, c->o.group, id, s, lo, hi);
    bstats_gap(id);
    metric_set(&bstats_ready, 0);
    c->failed = 1;
}

void meter_own_gap(meter_t *c, int32_t id) {
    part_t *p = meter_part(c, id);
    int64_t lo = -1, hi = -1;
    if (!p || !p->owned || c->failed) return;
    rd_kafka_query_watermark_offsets(kassign_handle(c->kc), c->o.kafka->topic, id, &lo, &hi,
                                     WATERMARK_TIMEOUT_MS);
    unassign(c, &id, 1);
    meter_forget(c, id);
    p->owned = 0;
    metric_add(&bstats_partitions, -1);
    say_gap(c, id, p->next >= 0 ? p->next : p->stored, lo, hi);
}

/* ---- taking and releasing ---------------------------------------------------------------------
 */

/* A compact "0@120,1@0,..." list for the log. */
static void describe(const int32_t *ids, const int64_t *offs, size_t n, char *buf, size_t cap) {
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && o + 32 < cap; i++) {
        if (offs)
            o += (size_t)snprintf(buf + o, cap - o, "%s%" PRId32 "@%" PRId64, i ? "," : "", ids[i],
                                  offs[i]);
        else
            o += (size_t)snprintf(buf + o, cap - o, "%s%" PRId32, i ? "," : "", ids[i]);
    }
}

/* The owner connection failed: nothing is held any more. */
static void owner_lost(meter_t *c, const char *err) {
    char q[600];
    meter_own_drop_all(c, "owner connection lost");
    owner_disconnect(c->owner);
    if (!c->owner_down) {
        log_warn("owner session lost (database away, or this member stalled longer than "
                 "idle_session_timeout): holding no partitions until connected again",
                 "err=%s", log_quote(err, q, sizeof q));
        c->owner_down = 1;
        c->owner_down_since = clock_mono_ms();
    }
}

/* Starts reading the locked partitions ids[0..n) at their stored offsets, after the gap check.
 * A partition whose range Kafka cannot tell now is released again (tried at a later look). */
static int start_reading(meter_t *c, int32_t *ids, size_t n) {
    char err[512], list[1024];
    int64_t *stored = calloc(n + 1, sizeof *stored), *start = calloc(n + 1, sizeof *start);
    size_t k = 0;
    int rc = -1, kafka_away = 0;
    if (!stored || !start) goto out;
    if (meter_read_offsets(c, ids, n, stored) < 0) goto out;
    for (size_t i = 0; i < n; i++) {
        int64_t lo = -1, hi = -1;
        part_t *p = meter_part_get(c, ids[i]);
        if (!p) goto out;
        rd_kafka_resp_err_t e =
            kafka_away ? RD_KAFKA_RESP_ERR__TRANSPORT
                       : rd_kafka_query_watermark_offsets(kassign_handle(c->kc), c->o.kafka->topic,
                                                          ids[i], &lo, &hi, WATERMARK_TIMEOUT_MS);
        if (e) { /* asked once per look: the rest wait for the next one */
            if (!kafka_away++)
                meter_kafka_down(c, e, "cannot read the partitions' ranges: not taken for now");
            if (owner_release(c->owner, ids[i], err, sizeof err) < 0) goto out;
            continue;
        }
        if (stored[i] >= 0 ? stored[i] < lo || stored[i] > hi : lo > 0) {
            say_gap(c, ids[i], stored[i], lo, hi);
            goto out;
        }
        meter_forget(c, ids[i]);
        /* owned only once Kafka reads it (below): a gap in a later partition leaves it unread */
        *p = (part_t){0, stored[i], stored[i] >= 0 ? stored[i] : 0, lo, c->o.once ? hi : -1, 0};
        ids[k] = ids[i];
        start[k++] = p->next;
    }
    if (kassign_add(c->kc, ids, start, k, err, sizeof err) < 0) {
        log_error("cannot start reading partitions: stopping", "err=%s", err);
        c->failed = 1;
        goto out;
    }
    for (size_t i = 0; i < k; i++)
        c->parts[ids[i]].owned = 1;
    metric_add(&bstats_partitions, (int64_t)k);
    describe(ids, start, k, list, sizeof list);
    if (k) log_info("partitions taken", "count=%zu members=%d start=%s", k, c->members, list);
    rc = 0;
out:
    free(stored);
    free(start);
    return rc;
}

/* Takes up to want free partitions (other[] clear, not owned), preferred ones first. */
static int take(meter_t *c, int want) {
    char err[512];
    int32_t *ids = calloc((size_t)c->own_parts + 1, sizeof *ids);
    size_t n = 0;
    int rc = -1;
    if (!ids) goto out;
    for (int pass = 0; pass < (c->o.once ? 1 : 2) && (int)n < want; pass++) {
        for (int32_t id = 0; id < c->own_parts && (int)n < want; id++) {
            const part_t *p = meter_part(c, id);
            int preferred = c->members > 0 && id % c->members == c->rank;
            if (c->other[id] || (p && p->owned) || (pass == 0 && !preferred && !c->o.once))
                continue;
            if (pass == 1 && preferred) continue; /* tried in the first pass */
            int got = owner_take(c->owner, id, err, sizeof err);
            if (got < 0) {
                owner_lost(c, err);
                n = 0;
                rc = 0;
                goto out;
            }
            if (got) ids[n++] = id;
        }
    }
    rc = n ? start_reading(c, ids, n) : 0;
out:
    free(ids);
    return rc;
}

/* Writes what is held, then stops reading `count` partitions, not preferred ones first, and
 * unlocks them: the next owner starts at what was just written. */
static int release(meter_t *c, int count) {
    char err[512], list[1024];
    int32_t *ids = calloc((size_t)c->nparts + 1, sizeof *ids);
    size_t n = 0;
    int rc = -1;
    if (!ids) goto out;
    for (int pass = 0; pass < 2 && (int)n < count; pass++)
        for (int32_t id = c->nparts - 1; id >= 0 && (int)n < count; id--) {
            int preferred = id % c->members == c->rank;
            if (c->parts[id].owned && preferred == pass) ids[n++] = id;
        }
    if (meter_flush(c) < 0) goto out;
    unassign(c, ids, n);
    for (size_t i = 0; i < n; i++) {
        meter_forget(c, ids[i]);
        c->parts[ids[i]].owned = 0;
    }
    metric_add(&bstats_partitions, -(int64_t)n);
    for (size_t i = 0; i < n; i++)
        if (owner_release(c->owner, ids[i], err, sizeof err) < 0) {
            owner_lost(c, err);
            break;
        }
    describe(ids, NULL, n, list, sizeof list);
    log_info("partitions released to other members", "count=%zu members=%d partitions=%s", n,
             c->members, list);
    rc = 0;
out:
    free(ids);
    return rc;
}

/* ---- the look ---------------------------------------------------------------------------------
 */

/* The topic's partition count, once. 0 while unknown. */
static int learn_partitions(meter_t *c) {
    char err[512];
    int n = kassign_partitions(c->kc, 2000, err, sizeof err);
    if (n == 0) snprintf(err, sizeof err, "the topic does not exist");
    if (n <= 0) {
        if (c->o.once && n == 0) {
            log_error("topic does not exist", "topic=%s", c->o.kafka->topic);
            c->failed = 1;
        } else if (!c->meta_logged++) {
            log_warn("kafka unavailable: waiting to learn the topic's partitions",
                     "topic=%s err=%s", c->o.kafka->topic, err);
        }
        return 0;
    }
    if (n > PARTITIONS_MAX || !meter_part_get(c, n - 1) || !(c->other = calloc((size_t)n, 1))) {
        log_error("too many partitions or out of memory", "partitions=%d", n);
        c->failed = 1;
        return 0;
    }
    if (c->meta_logged) log_info("kafka available again", "%s", "");
    c->own_parts = n;
    return n;
}

/* Connects the owner session when due. 1 connected, 0 not (yet), -1 stop. */
static int connect_owner(meter_t *c, int64_t now) {
    char err[1024], q[1100];
    int config;
    if (owner_connected(c->owner)) return 1;
    if (now < c->owner_retry_at) return 0;
    if (owner_connect(c->owner, !c->o.once, &config, err, sizeof err) == 0) {
        if (c->owner_down)
            log_info("owner session connected again: taking partitions", "down_ms=%" PRId64,
                     now - c->owner_down_since);
        c->owner_down = 0;
        c->owner_backoff_ms = BACKOFF_MIN_MS;
        return 1;
    }
    if (config) {
        log_error("database configuration error: stopping (no partition was taken)", "err=%s",
                  log_quote(err, q, sizeof q));
        c->config_error = 1;
        return -1;
    }
    if (!c->owner_down) {
        log_warn("database unavailable: holding no partitions until it answers", "err=%s",
                 log_quote(err, q, sizeof q));
        c->owner_down = 1;
        c->owner_down_since = now;
    }
    if (c->o.once && now - c->started_ms >= ONCE_DB_WAIT_MS) {
        log_error("database unavailable: --once gives up", "waited_ms=%" PRId64 " err=%s",
                  now - c->started_ms, log_quote(err, q, sizeof q));
        c->failed = 1;
        return -1;
    }
    c->owner_retry_at = now + c->owner_backoff_ms;
    c->owner_backoff_ms =
        c->owner_backoff_ms * 2 > OWN_RETRY_MAX_MS ? OWN_RETRY_MAX_MS : c->owner_backoff_ms * 2;
    return 0;
}

int meter_own_tick(meter_t *c, int64_t now) {
    char err[1024];
    if (c->o.hup && *c->o.hup) {
        *c->o.hup = 0;
        log_info("SIGHUP: nothing to reload (billing run reads its options only at start; its "
                 "log goes to stderr, which needs no reopening)",
                 "%s", "");
    }
    if (now < c->next_look) return c->failed ? -1 : 0;
    c->next_look = now + OWN_LOOK_MS;
    if (!c->started_ms) c->started_ms = now;
    /* The database first: a configuration error there is said even while Kafka is away. */
    int up = connect_owner(c, now);
    if (up <= 0) metric_set(&bstats_ready, 0);
    if (up <= 0) return up;
    /* Looking also keeps the owner session from idling out while Kafka keeps us waiting. */
    uint8_t none;
    for (;;) {
        if (owner_look(c->owner, c->own_parts, c->own_parts ? c->other : &none, &c->members,
                       &c->rank, err, sizeof err) < 0) {
            owner_lost(c, err);
            metric_set(&bstats_ready, 0);
            c->assigned = 0; /* --once takes its partitions again once connected */
            return 0;
        }
        if (c->own_parts) break;
        if (!learn_partitions(c)) return c->failed ? -1 : 0;
    }
    if (c->o.once && c->assigned) return 0; /* the look keeps the session alive, nothing more */
    int held = 0, share = c->own_parts;
    for (int32_t id = 0; id < c->nparts; id++)
        held += c->parts[id].owned;
    if (!c->o.once) {
        int m = c->members > 0 ? c->members : 1;
        share = c->own_parts / m + (c->rank < c->own_parts % m);
    }
    int rc = 0;
    if (held > share)
        rc = release(c, held - share);
    else if (held < share)
        rc = take(c, share - held);
    if (rc == 0 && c->o.once && !c->assigned) {
        int others = 0;
        for (int32_t id = 0; id < c->own_parts; id++)
            others += c->other[id];
        if (others)
            log_info("--once leaves the partitions live members hold to them", "count=%d", others);
    }
    if (rc == 0 && owner_connected(c->owner)) c->assigned = 1;
    /* Ready (/readyz): the database answers and this member holds its share (0 is a share). */
    held = 0;
    for (int32_t id = 0; id < c->nparts; id++)
        held += c->parts[id].owned;
    metric_set(&bstats_ready, rc == 0 && !c->db_down && owner_connected(c->owner) && held == share);
    return rc < 0 || c->failed ? -1 : 0;
}
