/* Unit tests of owner.c's pure parts: the advisory-lock key spaces of (group, topic) and which
 * connection failures are configuration errors (exit 2) rather than a server that is away. */
#include "../../../billing/owner.h"

#include <check.h>
#include <stdlib.h>

START_TEST(test_key_spaces_differ_by_kind_group_and_topic) {
    int32_t a = owner_ns(OWNER_PARTS, "billing", "hits");
    ck_assert_int_ne(a, owner_ns(OWNER_MEMBERS, "billing", "hits"));
    ck_assert_int_ne(a, owner_ns(OWNER_PARTS, "billing2", "hits"));
    ck_assert_int_ne(a, owner_ns(OWNER_PARTS, "billing", "hits2"));
    /* the separator keeps ("ab", "c") apart from ("a", "bc") */
    ck_assert_int_ne(owner_ns(OWNER_PARTS, "ab", "c"), owner_ns(OWNER_PARTS, "a", "bc"));
}
END_TEST

START_TEST(test_keys_are_stable_and_non_negative) {
    /* Every member and `billing offsets` must compute the same key, across builds and hosts. */
    ck_assert_int_eq(owner_ns(OWNER_PARTS, "billing", "hits"),
                     owner_ns(OWNER_PARTS, "billing", "hits"));
    const char *groups[] = {"", "billing", "x", "a-very-long-group-name-with-many-characters"};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_ge(owner_ns(OWNER_PARTS, groups[i], "hits"), 0);
        ck_assert_int_ge(owner_ns(OWNER_MEMBERS, groups[i], "hits"), 0);
    }
}
END_TEST

START_TEST(test_missing_database_and_bad_credentials_are_configuration_errors) {
    ck_assert(owner_config_error("cannot connect to PostgreSQL: connection to server on socket "
                                 "\"/tmp/.s.PGSQL.5432\" failed: FATAL:  database \"nope\" does "
                                 "not exist"));
    ck_assert(owner_config_error("FATAL:  password authentication failed for user \"billing\""));
    ck_assert(owner_config_error("FATAL:  role \"nobody\" does not exist"));
    ck_assert(owner_config_error("FATAL:  no pg_hba.conf entry for host \"10.0.0.1\""));
}
END_TEST

START_TEST(test_connection_option_values_libpq_refuses_are_configuration_errors) {
    /* libpq 15's own messages, as store_connect prefixes them */
    ck_assert(owner_config_error("cannot connect to PostgreSQL: invalid sslmode value: \"bogus\""));
    ck_assert(owner_config_error("invalid gssencmode value: \"x\""));
    ck_assert(owner_config_error("invalid channel_binding value: \"x\""));
    ck_assert(owner_config_error("invalid target_session_attrs value: \"x\""));
    ck_assert(owner_config_error("invalid integer value \"abc\" for connection option \"port\""));
    ck_assert(owner_config_error("invalid port number: \"99999\""));
    ck_assert(owner_config_error("could not match 1 host names to 2 hostaddr values"));
    ck_assert(owner_config_error("invalid connection option \"bogus\""));
}
END_TEST

START_TEST(test_a_server_that_is_away_is_not_a_configuration_error) {
    ck_assert(!owner_config_error("connection to server at \"127.0.0.1\", port 5432 failed: "
                                  "Connection refused"));
    ck_assert(!owner_config_error("connection to server on socket \"/tmp/.s.PGSQL.5432\" "
                                  "failed: No such file or directory"));
    ck_assert(!owner_config_error("FATAL:  the database system is starting up"));
    ck_assert(!owner_config_error("FATAL:  the database system is shutting down"));
    ck_assert(!owner_config_error("server closed the connection unexpectedly"));
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("billing_owner");
    TCase *tc = tcase_create("owner");
    tcase_add_test(tc, test_key_spaces_differ_by_kind_group_and_topic);
    tcase_add_test(tc, test_keys_are_stable_and_non_negative);
    tcase_add_test(tc, test_missing_database_and_bad_credentials_are_configuration_errors);
    tcase_add_test(tc, test_connection_option_values_libpq_refuses_are_configuration_errors);
    tcase_add_test(tc, test_a_server_that_is_away_is_not_a_configuration_error);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
