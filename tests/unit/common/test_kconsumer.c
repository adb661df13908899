/* Unit tests of common/kconsumer.c against librdkafka's mock cluster, in process: the search for
 * the first offset of a moment (which the 2.0.2 mock cannot answer with offsets_for_times), and
 * the group member whose start offsets the program chooses. */
#include "kconsumer.h"

#include <check.h>
#include <inttypes.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC "t"
#define PARTS 4
#define BASE_MS 1764021900000LL
#define P0_N 10000 /* partition 0: ts = BASE + 10 i */
#define P1_N 3000  /* partition 1: runs of 100 equal timestamps, BASE + 1000 (i / 100) */
#define P2_N 0     /* partition 2: empty */
#define P3_N 500   /* partition 3: all 1 hour before BASE */

static rd_kafka_t *host;
static rd_kafka_mock_cluster_t *mc;
static kopts_t ko;
static char boot[256];

static void produce(rd_kafka_t *p, int32_t part, int64_t ts) {
    char v[32];
    int n = snprintf(v, sizeof v, "%" PRId64, ts);
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(
                p, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_PARTITION(part),
                RD_KAFKA_V_VALUE(v, (size_t)n), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(p, 10);
    ck_assert_int_eq(e, 0);
}

static void cluster_up(void) {
    char err[512];
    rd_kafka_conf_t *hc = rd_kafka_conf_new(); /* hosts the cluster, never connects: quiet */
    ck_assert_int_eq(kafka_conf_set(hc, "log_level", "0", err, sizeof err), 0);
    host = rd_kafka_new(RD_KAFKA_PRODUCER, hc, err, sizeof err);
    ck_assert_ptr_nonnull(host);
    mc = rd_kafka_mock_cluster_new(host, 1);
    ck_assert_ptr_nonnull(mc);
    ck_assert_int_eq(rd_kafka_mock_topic_create(mc, TOPIC, PARTS, 1), 0);
    snprintf(boot, sizeof boot, "%s", rd_kafka_mock_cluster_bootstraps(mc));
    kopts_init(&ko);
    ko.brokers = boot;
    ko.topic = TOPIC;

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(kafka_conf_set(conf, "bootstrap.servers", boot, err, sizeof err), 0);
    ck_assert_int_eq(kafka_conf_set(conf, "linger.ms", "5", err, sizeof err), 0);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    ck_assert_ptr_nonnull(p);
    for (int i = 0; i < P0_N; i++)
        produce(p, 0, BASE_MS + 10LL * i);
    for (int i = 0; i < P1_N; i++)
        produce(p, 1, BASE_MS + 1000LL * (i / 100));
    for (int i = 0; i < P3_N; i++)
        produce(p, 3, BASE_MS - 3600000LL + i);
    ck_assert_int_eq(rd_kafka_flush(p, 30000), 0);
    rd_kafka_destroy(p);
}

static void cluster_down(void) {
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(host);
}

static int64_t at(int32_t part, int64_t ts) {
    char err[512];
    int64_t off = kcons_offset_for_time(&ko, TOPIC, part, ts, 20000, err, sizeof err);
    if (off < 0) fprintf(stderr, "kcons_offset_for_time: %s\n", err);
    return off;
}

START_TEST(test_the_first_message_at_or_after_the_moment_is_found) {
    ck_assert_int_eq(at(0, BASE_MS + 12345), 1235);
    ck_assert_int_eq(at(0, BASE_MS + 500), 50); /* exactly on a message's timestamp */
    ck_assert_int_eq(at(0, BASE_MS + 10LL * (P0_N - 1)), P0_N - 1);
    ck_assert_int_eq(at(0, BASE_MS + 1), 1);
}
END_TEST

START_TEST(test_before_every_message_is_the_start_and_after_is_the_end) {
    ck_assert_int_eq(at(0, BASE_MS - 1), 0);
    ck_assert_int_eq(at(0, 0), 0);
    ck_assert_int_eq(at(0, BASE_MS + 10LL * P0_N), P0_N);
    ck_assert_int_eq(at(3, BASE_MS), P3_N); /* every message older */
    ck_assert_int_eq(at(2, BASE_MS), 0);    /* an empty partition: its end */
}
END_TEST

START_TEST(test_equal_timestamps_give_the_first_of_their_run) {
    ck_assert_int_eq(at(1, BASE_MS + 5000), 500);
    ck_assert_int_eq(at(1, BASE_MS + 4999), 500);
    ck_assert_int_eq(at(1, BASE_MS + 29000), 2900);
    ck_assert_int_eq(at(1, BASE_MS + 29001), P1_N);
}
END_TEST

START_TEST(test_several_partitions_are_searched_together) {
    char err[512];
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(PARTS);
    for (int32_t i = 0; i < PARTS; i++)
        rd_kafka_topic_partition_list_add(l, TOPIC, i);
    ck_assert_int_eq(kcons_offsets_for_time(&ko, l, BASE_MS + 7000, 20000, err, sizeof err), 0);
    ck_assert_int_eq(l->elems[0].offset, 700);
    ck_assert_int_eq(l->elems[1].offset, 700);
    ck_assert_int_eq(l->elems[2].offset, 0);
    ck_assert_int_eq(l->elems[3].offset, P3_N);
    for (int i = 0; i < PARTS; i++)
        ck_assert_int_eq(l->elems[i].err, 0);
    rd_kafka_topic_partition_list_destroy(l);
}
END_TEST

START_TEST(test_an_unknown_partition_is_an_error) {
    char err[512] = "";
    ck_assert_int_eq(kcons_offset_for_time(&ko, TOPIC, 99, BASE_MS, 3000, err, sizeof err), -1);
    ck_assert_str_ne(err, "");
}
END_TEST

/* ---- the group member --------------------------------------------------------------------------
 */

typedef struct hooks_state {
    int assigned, revoked, refuse;
    int64_t start[PARTS];
} hooks_state_t;

static int on_assign(void *ctx, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *l, char *err,
                     size_t errlen) {
    hooks_state_t *s = ctx;
    (void)rk;
    if (s->refuse) {
        snprintf(err, errlen, "no offsets today");
        return -1;
    }
    for (int i = 0; i < l->cnt; i++)
        l->elems[i].offset = s->start[l->elems[i].partition];
    s->assigned += l->cnt;
    return 0;
}

static void on_revoke(void *ctx, rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *l) {
    hooks_state_t *s = ctx;
    (void)rk;
    s->revoked += l->cnt;
}

static const char *const fast[] = {"session.timeout.ms", "6000", "heartbeat.interval.ms", "500",
                                   NULL};

START_TEST(test_a_member_starts_where_on_assign_says) {
    char err[512];
    hooks_state_t s = {0, 0, 0, {1234, 2999, RD_KAFKA_OFFSET_BEGINNING, RD_KAFKA_OFFSET_END}};
    kcons_hooks_t h = {on_assign, on_revoke, &s};
    kcons_t *c = kcons_new(&ko, "g1", fast, &h, err, sizeof err);
    ck_assert_ptr_nonnull(c);
    rd_kafka_message_t *msgs[256];
    int64_t first[PARTS] = {-1, -1, -1, -1};
    uint64_t count[PARTS] = {0};
    for (int round = 0; round < 300 && (first[0] < 0 || first[1] < 0); round++) {
        int n = kcons_poll(c, msgs, 256, 100, err, sizeof err);
        ck_assert_int_ge(n, 0);
        for (int i = 0; i < n; i++) {
            if (!msgs[i]->err) {
                int32_t p = msgs[i]->partition;
                if (first[p] < 0) first[p] = msgs[i]->offset;
                count[p]++;
            }
            rd_kafka_message_destroy(msgs[i]);
        }
    }
    ck_assert_int_eq(s.assigned, PARTS);
    ck_assert_int_eq(first[0], 1234);
    ck_assert_int_eq(first[1], 2999);
    ck_assert_int_eq(first[3], -1); /* started at the end: nothing new came */
    kcons_free(c);
    ck_assert_int_eq(s.revoked, PARTS);
}
END_TEST

START_TEST(test_a_refused_assignment_fails_the_poll) {
    char err[512] = "";
    hooks_state_t s = {0, 0, 1, {0}};
    kcons_hooks_t h = {on_assign, on_revoke, &s};
    kcons_t *c = kcons_new(&ko, "g2", fast, &h, err, sizeof err);
    ck_assert_ptr_nonnull(c);
    rd_kafka_message_t *msgs[16];
    int n = 0;
    for (int round = 0; round < 300 && n >= 0; round++) {
        n = kcons_poll(c, msgs, 16, 100, err, sizeof err);
        for (int i = 0; i < n; i++)
            rd_kafka_message_destroy(msgs[i]);
    }
    ck_assert_int_eq(n, -1);
    ck_assert_ptr_nonnull(strstr(err, "no offsets today"));
    kcons_free(c);
}
END_TEST

START_TEST(test_a_bad_property_is_named) {
    char err[512] = "";
    kopts_t o = ko;
    o.props[o.nprops++] = "no.such.property=1";
    hooks_state_t s = {0};
    kcons_hooks_t h = {on_assign, on_revoke, &s};
    ck_assert_ptr_null(kcons_new(&o, "g3", NULL, &h, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "no.such.property"));
}
END_TEST

int main(void) {
    Suite *s = suite_create("kconsumer");
    TCase *t = tcase_create("kconsumer");
    tcase_add_unchecked_fixture(t, cluster_up, cluster_down);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_the_first_message_at_or_after_the_moment_is_found);
    tcase_add_test(t, test_before_every_message_is_the_start_and_after_is_the_end);
    tcase_add_test(t, test_equal_timestamps_give_the_first_of_their_run);
    tcase_add_test(t, test_several_partitions_are_searched_together);
    tcase_add_test(t, test_an_unknown_partition_is_an_error);
    tcase_add_test(t, test_a_member_starts_where_on_assign_says);
    tcase_add_test(t, test_a_refused_assignment_fails_the_poll);
    tcase_add_test(t, test_a_bad_property_is_named);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    /* The cluster runs on threads of this process: forking per test would lose them. */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
