/* --config FILE (common/config.h): the file's settings become arguments placed before the command
 * line's, so the command line wins and repeatable options add up; flags, '#' in values, unknown
 * keys and bad files are reported with FILE:LINE; -F files (common/kafka.h) are read before -X
 * and never show a secret value. */
#include "../../../common/config.h"
#include "../../../common/kafka.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct option longopts[] = {{"listen", 1, 0, 'l'},
                                         {"once", 0, 0, 'o'},
                                         {"role", 1, 0, 'r'},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
#define SHORT "l:X:hv:"

static char path[64];

static void write_file(const char *text) {
    strcpy(path, "/tmp/test_config.XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
}

/* The new argv joined by spaces, or NULL with err. */
static const char *load(const char *text, int argc, const char **args, char *err) {
    static char out[1024];
    static char *argv[16];
    char **v = argv;
    write_file(text);
    static char eq[128];
    snprintf(eq, sizeof eq, "--config=%s", path);
    for (int i = 0; i < argc; i++)
        argv[i] = !strcmp(args[i], "FILE")            ? path
                  : !strcmp(args[i], "--config=FILE") ? eq
                                                      : (char *)args[i];
    argv[argc] = NULL;
    int rc = config_load("x", &argc, &v, longopts, SHORT, NULL, err, 512);
    unlink(path);
    if (rc < 0) return NULL;
    out[0] = 0;
    for (int i = 0; i < argc; i++)
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", i ? " " : "", v[i]);
    return out;
}

START_TEST(test_the_file_comes_first_and_the_command_line_last) {
    char err[512];
    const char *a[] = {"prog", "--listen", ":2", "--config", "FILE", "-X", "b=2"};
    ck_assert_str_eq(load("listen = :1\n  # a comment\nX = a=1\n", 7, a, err),
                     "prog --listen=:1 -Xa=1 --listen :2 -X b=2");
}
END_TEST

START_TEST(test_flags_true_false_or_bare_and_empty_values) {
    char err[512];
    const char *a[] = {"prog", "--config=FILE"};
    ck_assert_str_eq(load("once = true\nrole =\n", 2, a, err), "prog --once --role=");
    ck_assert_str_eq(load("once\n", 2, a, err), "prog --once");
    ck_assert_str_eq(load("once = false\n", 2, a, err), "prog");
    ck_assert_ptr_null(load("once = yes\n", 2, a, err));
    ck_assert_ptr_nonnull(strstr(err, ":1: key 'once' takes no value: true or false"));
}
END_TEST

START_TEST(test_a_hash_inside_a_value_is_kept) {
    char err[512];
    const char *a[] = {"prog", "--config", "FILE"};
    ck_assert_str_eq(load("role = a b#c  \n", 3, a, err), "prog --role=a b#c");
}
END_TEST

START_TEST(test_unknown_keys_help_and_config_are_refused_with_file_and_line) {
    char err[512];
    const char *a[] = {"prog", "--config", "FILE"};
    ck_assert_ptr_null(load("listen = :1\nlisen = :2\n", 3, a, err));
    ck_assert_ptr_nonnull(strstr(err, ":2: unknown key 'lisen'"));
    ck_assert_ptr_null(load("help = true\n", 3, a, err));
    ck_assert_ptr_null(load("config = /etc/x\n", 3, a, err));
    ck_assert_ptr_null(load("= x\n", 3, a, err));
    ck_assert_ptr_nonnull(strstr(err, ":1: line"));
}
END_TEST

START_TEST(test_a_config_word_that_is_a_value_is_not_taken) {
    char err[512];
    const char *a[] = {"prog", "--role", "--config", "-v", "--config"};
    ck_assert_str_eq(load("", 5, a, err), "prog --role --config -v --config");
}
END_TEST

START_TEST(test_an_explicit_missing_file_is_an_error_a_missing_default_is_not) {
    char err[512];
    char *argv[] = {"prog", "--config", "/nonexistent/x.conf", NULL}, **v = argv;
    int argc = 3;
    ck_assert_int_eq(config_load("x", &argc, &v, longopts, SHORT, NULL, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "--config /nonexistent/x.conf: No such file"));
    setenv(CONFIG_DIR_ENV, "/nonexistent", 1);
    char *argv2[] = {"prog", NULL};
    v = argv2;
    argc = 1;
    ck_assert_int_eq(config_load("x", &argc, &v, longopts, SHORT, NULL, err, sizeof err), 0);
    ck_assert_int_eq(argc, 1);
}
END_TEST

START_TEST(test_a_kafka_property_file_is_read_before_x_and_hides_secrets) {
    char err[512];
    kopts_t o;
    kopts_init(&o);
    write_file("# kcat -F\nsasl.password = p#ss\n\nclient.id=from-file\n");
    ck_assert_int_eq(kopts_parse(&o, 'F', path, err, sizeof err), 1);
    ck_assert_int_eq(o.nfprops, 2);
    ck_assert_str_eq(o.fprops[0], "sasl.password=p#ss");
    ck_assert_int_eq(kopts_parse(&o, 'X', "client.id=from-x", err, sizeof err), 1);
    rd_kafka_conf_t *conf = kopts_conf(&o, NULL, err, sizeof err);
    ck_assert_ptr_nonnull(conf);
    char v[64];
    size_t n = sizeof v;
    ck_assert_int_eq(rd_kafka_conf_get(conf, "client.id", v, &n), RD_KAFKA_CONF_OK);
    ck_assert_str_eq(v, "from-x");
    rd_kafka_conf_destroy(conf);
    unlink(path);
    write_file("sasl.password.typo=hunter2\n");
    ck_assert_int_eq(kopts_parse(&o, 'F', path, err, sizeof err), -1);
    ck_assert_ptr_null(strstr(err, "hunter2"));
    ck_assert_ptr_nonnull(strstr(err, ":1: sasl.password.typo=(hidden)"));
    unlink(path);
    write_file("linger.ms=1\nno equals sign hunter2\n");
    ck_assert_int_eq(kopts_parse(&o, 'F', path, err, sizeof err), -1);
    ck_assert_ptr_null(strstr(err, "hunter2"));
    ck_assert_ptr_nonnull(strstr(err, ":2: expected PROP=VALUE"));
    unlink(path);
    kopts_fini(&o);
}
END_TEST

START_TEST(test_a_command_reads_the_top_and_its_own_section_only) {
    char err[512];
    char *argv[] = {"prog", "--config", path, NULL}, **v = argv;
    int argc = 3;
    static const char *const also[] = {"flush-ms", NULL};
    write_file("role = a\nflush-ms = 5\n[run]\nnope = 1\n[status]\nlisten = :1\n");
    ck_assert_int_eq(config_load("x/status", &argc, &v, longopts, SHORT, also, err, sizeof err), 0);
    ck_assert_int_eq(argc, 3);
    ck_assert_str_eq(v[1], "--role=a");
    ck_assert_str_eq(v[2], "--listen=:1");
    char *argv2[] = {"prog", "--config", path, NULL};
    v = argv2;
    argc = 3;
    ck_assert_int_eq(config_load("x/run", &argc, &v, longopts, SHORT, also, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, ":4: unknown key 'nope'"));
    char *argv3[] = {"prog", "--config", path, NULL};
    v = argv3;
    argc = 3;
    ck_assert_int_eq(config_load("x", &argc, &v, longopts, SHORT, NULL, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, ":2: unknown key 'flush-ms'"));
    unlink(path);
}
END_TEST

START_TEST(test_a_section_that_names_no_command_is_refused) {
    char err[512];
    char *argv[] = {"prog", "--config", path, NULL}, **v = argv;
    int argc = 3;
    static const char *const sections[] = {"run", "status", NULL};
    write_file("role = a\n[rnu]\nonce\n");
    config_sections(sections);
    ck_assert_int_eq(config_load("x/status", &argc, &v, longopts, SHORT, NULL, err, sizeof err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err, ":2: section '[rnu]' names no command"));
    config_sections(NULL);
    unlink(path);
}
END_TEST

int main(void) {
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_the_file_comes_first_and_the_command_line_last);
    tcase_add_test(tc, test_flags_true_false_or_bare_and_empty_values);
    tcase_add_test(tc, test_a_hash_inside_a_value_is_kept);
    tcase_add_test(tc, test_unknown_keys_help_and_config_are_refused_with_file_and_line);
    tcase_add_test(tc, test_a_config_word_that_is_a_value_is_not_taken);
    tcase_add_test(tc, test_an_explicit_missing_file_is_an_error_a_missing_default_is_not);
    tcase_add_test(tc, test_a_kafka_property_file_is_read_before_x_and_hides_secrets);
    tcase_add_test(tc, test_a_command_reads_the_top_and_its_own_section_only);
    tcase_add_test(tc, test_a_section_that_names_no_command_is_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
