/* store_redact: no message that echoes a connection string shows its password, whatever the
 * form (key=value, quoted, URI user:pass@, URI ?password=), and the rest stays readable. */
#include "../../../billing/store.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const char *r(const char *in) {
    static char buf[512];
    strcpy(buf, in);
    return store_redact(buf);
}

START_TEST(test_key_value_passwords_quoted_or_not) {
    ck_assert_str_eq(r("host=x password=s3cret dbname=y"), "host=x password=*** dbname=y");
    ck_assert_str_eq(r("password = 'a b\\'c' host=x"), "password = *** host=x");
    ck_assert_str_eq(r("PASSWORD=s3cret"), "PASSWORD=***");
    ck_assert_str_eq(r("password authentication failed for user \"bob\""),
                     "password authentication failed for user \"bob\"");
}
END_TEST

START_TEST(test_uri_user_password_and_query_password) {
    ck_assert_str_eq(r("bad URI: \"postgresql://bob:s3cret@[bad/db\""),
                     "bad URI: \"postgresql://bob:***@[bad/db\"");
    ck_assert_str_eq(r("postgres://bob@host/db?password=pw&sslmode=x"),
                     "postgres://bob@host/db?password=***&sslmode=x");
    ck_assert_str_eq(r("postgresql://host:5432/db"), "postgresql://host:5432/db");
}
END_TEST

START_TEST(test_check_conninfo_reports_without_the_password) {
    char err[512];
    ck_assert_int_eq(store_check_conninfo("postgresql://bob:s3cret@[bad/db", err, sizeof err), -1);
    ck_assert_ptr_null(strstr(err, "s3cret"));
    ck_assert_ptr_nonnull(strstr(err, "--db: bad connection string"));
    ck_assert_int_eq(store_check_conninfo("host=x dbname=y", err, sizeof err), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("redact");
    TCase *tc = tcase_create("redact");
    tcase_add_test(tc, test_key_value_passwords_quoted_or_not);
    tcase_add_test(tc, test_uri_user_password_and_query_password);
    tcase_add_test(tc, test_check_conninfo_reports_without_the_password);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
