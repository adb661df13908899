/* The configuration-file reader shared by the host map and the tokens file: fields, comments,
 * blank lines, a BOM, CRLF, NUL bytes refused with FILE:LINE, too many fields reported, and a
 * file over its size limit refused. */
#include "../../../common/cfgfile.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct seen {
    char out[1024]; /* "LINE:field|field;" per line */
    size_t n;
} seen_t;

static int record(void *ctx, const cfg_line_t *l, char *err, size_t errlen) {
    seen_t *s = ctx;
    (void)err, (void)errlen;
    s->n += (size_t)snprintf(s->out + s->n, sizeof s->out - s->n, "%u:", l->no);
    for (size_t i = 0; i < l->nfields; i++)
        s->n += (size_t)snprintf(s->out + s->n, sizeof s->out - s->n, "%s%.*s", i ? "|" : "",
                                 (int)l->f[i].n, l->f[i].p);
    s->n += (size_t)snprintf(s->out + s->n, sizeof s->out - s->n, ";");
    return 0;
}

static const char *parse(const char *text, size_t len, size_t max_fields, char *err) {
    static seen_t s;
    memset(&s, 0, sizeof s);
    if (cfg_parse(text, len, "f.conf", max_fields, record, &s, err, 256) < 0) return NULL;
    return s.out;
}

START_TEST(test_fields_comments_and_blank_lines) {
    char err[256];
    const char *t = "a.com acme\n\n   # only a comment\n\tb.com\tbeta # trailing\r\nc d e\n";
    ck_assert_str_eq(parse(t, strlen(t), 2, err), "1:a.com|acme;4:b.com|beta;5:c|d|e;");
}
END_TEST

START_TEST(test_a_bom_is_skipped_and_the_last_line_needs_no_newline) {
    char err[256];
    const char *t = "\xEF\xBB\xBFx y\nz w";
    ck_assert_str_eq(parse(t, strlen(t), 2, err), "1:x|y;2:z|w;");
}
END_TEST

START_TEST(test_a_nul_byte_refuses_the_file_naming_the_line) {
    char err[256];
    const char t[] = "a b\nc\0d e\n";
    ck_assert_ptr_null(parse(t, sizeof t - 1, 2, err));
    ck_assert_str_eq(err, "f.conf:2: has a NUL byte (is this a text file?)");
}
END_TEST

START_TEST(test_one_field_too_many_is_handed_over_not_more) {
    char err[256];
    const char *t = "a b c d e f\n";
    ck_assert_str_eq(parse(t, strlen(t), 2, err), "1:a|b|c;");
}
END_TEST

static int refuse_second(void *ctx, const cfg_line_t *l, char *err, size_t errlen) {
    (void)ctx;
    if (l->no == 2) return cfg_fail(l, err, errlen, "field", l->f[0].p, l->f[0].n, "is bad");
    return 0;
}

START_TEST(test_a_refusal_names_file_line_and_the_field_quoted) {
    char err[256];
    const char *t = "ok\n\x01weird\n";
    ck_assert_int_eq(cfg_parse(t, strlen(t), "f.conf", 2, refuse_second, NULL, err, sizeof err),
                     -1);
    ck_assert_str_eq(err, "f.conf:2: field '?weird' is bad");
}
END_TEST

START_TEST(test_read_refuses_a_file_over_its_limit) {
    char path[] = "/tmp/test_cfgfile_XXXXXX", err[256];
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("0123456789", f);
    fclose(f);
    size_t n = 0;
    char *buf = cfg_read(path, 10, &n, err, sizeof err);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(n, 10);
    free(buf);
    ck_assert_ptr_null(cfg_read(path, 9, &n, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "larger than 9 bytes"));
    unlink(path);
    ck_assert_ptr_null(cfg_read(path, 9, &n, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
}
END_TEST

int main(void) {
    Suite *s = suite_create("cfgfile");
    TCase *tc = tcase_create("cfgfile");
    tcase_add_test(tc, test_fields_comments_and_blank_lines);
    tcase_add_test(tc, test_a_bom_is_skipped_and_the_last_line_needs_no_newline);
    tcase_add_test(tc, test_a_nul_byte_refuses_the_file_naming_the_line);
    tcase_add_test(tc, test_one_field_too_many_is_handed_over_not_more);
    tcase_add_test(tc, test_a_refusal_names_file_line_and_the_field_quoted);
    tcase_add_test(tc, test_read_refuses_a_file_over_its_limit);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
