/* The position store keeps every field through a save and a load, whatever bytes the paths
 * hold; a save replaces the file whole (a crash leaves the old file or the new one); a state
 * file that is not exactly what the writer writes is refused with FILE:LINE. */
#include "../../../collector/posstore.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static void setup(void) {
    snprintf(dir, sizeof dir, "%s/posstore.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int rm1(const char *p, const struct stat *st, int flag, struct FTW *f) {
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void teardown(void) {
    nftw(dir, rm1, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_text(const char *name, const char *text) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static posstore_ent_t ent(const char *src, const char *path, uint64_t ino, uint64_t off, int done) {
    posstore_ent_t e = {(char *)src,
                        (char *)path,
                        2049,
                        ino,
                        0x0123456789abcdefULL,
                        3,
                        off,
                        off ? 0xfedcba9876543210ULL : 0,
                        done};
    return e;
}

static void assert_same(const posstore_ent_t *a, const posstore_ent_t *b) {
    ck_assert_str_eq(a->src, b->src);
    ck_assert_str_eq(a->path, b->path);
    ck_assert_uint_eq(a->dev, b->dev);
    ck_assert_uint_eq(a->ino, b->ino);
    ck_assert_uint_eq(a->fp, b->fp);
    ck_assert_uint_eq(a->gen, b->gen);
    ck_assert_int_eq(a->done, b->done);
    if (!a->done) {
        ck_assert_uint_eq(a->off, b->off);
        ck_assert_uint_eq(a->chk, b->chk);
    }
}

START_TEST(test_save_then_load_keeps_every_field_and_odd_paths) {
    const char *odd = "/var/log/a dir/100%\tsure\n\xc3\xa9t\xc3\xa9 %41.log";
    posstore_ent_t v[3] = {ent("/var/log/access.log:12:0123456789abcdef:0", "/var/log/access.log",
                               12, 987654321012345ULL, 0),
                           ent("odd:13:0123456789abcdef:3", odd, 13, 0, 0),
                           ent("/gone.log:14:0123456789abcdef:1", "/gone.log", 14, 0, 1)};
    v[0].dev = UINT64_MAX; /* extremes survive */
    v[0].gen = UINT32_MAX;
    char err[512] = "";
    ck_assert_int_eq(posstore_save(dir, v, 3, err, sizeof err), 0);
    posstore_t ps;
    posstore_init(&ps);
    ck_assert_msg(posstore_load(&ps, dir, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(ps.n, 3);
    for (int i = 0; i < 3; i++)
        assert_same(&v[i], &ps.v[i]);
    posstore_fini(&ps);
}
END_TEST

START_TEST(test_format_is_ascii_one_entry_per_line) {
    posstore_ent_t e = ent("s p%c\n", "/a b", 7, 10, 0);
    char *text = NULL;
    long n = posstore_format(&e, 1, &text);
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(text, POSSTORE_HEADER "\npos s%20p%25c%0A 2049 7 0123456789abcdef 3 10 "
                                           "fedcba9876543210 /a%20b\n");
    free(text);
}
END_TEST

START_TEST(test_missing_state_file_is_an_empty_store) {
    posstore_t ps;
    posstore_init(&ps);
    char err[512];
    ck_assert_int_eq(posstore_load(&ps, dir, err, sizeof err), 0);
    ck_assert_uint_eq(ps.n, 0);
}
END_TEST

START_TEST(test_crash_before_rename_leaves_the_old_file) {
    posstore_ent_t a = ent("a", "/a", 1, 100, 0), b = ent("b", "/b", 2, 200, 0);
    char err[512];
    ck_assert_int_eq(posstore_save(dir, &a, 1, err, sizeof err), 0);
    /* A crash in the middle of the next save: a half-written temporary file is left behind. */
    write_text(POSSTORE_FILE ".tmp", POSSTORE_HEADER "\npos b 2049 2 01234");
    posstore_t ps;
    posstore_init(&ps);
    ck_assert_int_eq(posstore_load(&ps, dir, err, sizeof err), 0);
    ck_assert_uint_eq(ps.n, 1);
    assert_same(&a, &ps.v[0]);
    posstore_fini(&ps);
    /* The next save replaces it whole. */
    ck_assert_int_eq(posstore_save(dir, &b, 1, err, sizeof err), 0);
    ck_assert_int_eq(posstore_load(&ps, dir, err, sizeof err), 0);
    ck_assert_uint_eq(ps.n, 1);
    assert_same(&b, &ps.v[0]);
    posstore_fini(&ps);
}
END_TEST

START_TEST(test_save_into_missing_directory_fails_with_a_message) {
    posstore_ent_t a = ent("a", "/a", 1, 100, 0);
    char err[512] = "", nodir[300];
    snprintf(nodir, sizeof nodir, "%s/nope", dir);
    ck_assert_int_eq(posstore_save(nodir, &a, 1, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "nope"));
}
END_TEST

/* The message for text that must be refused; it must name the line. */
static void refused_at(const char *text, const char *where, const char *why) {
    posstore_t ps;
    posstore_init(&ps);
    char err[512] = "";
    ck_assert_msg(posstore_parse(&ps, "st", text, strlen(text), err, sizeof err) == -1,
                  "accepted: %s", text);
    ck_assert_uint_eq(ps.n, 0); /* nothing half-loaded */
    ck_assert_msg(strncmp(err, where, strlen(where)) == 0, "'%s' does not start with '%s'", err,
                  where);
    ck_assert_msg(strstr(err, why) != NULL, "'%s' lacks '%s'", err, why);
    posstore_fini(&ps);
}

#define H POSSTORE_HEADER "\n"
#define OK1 "pos a 1 2 0123456789abcdef 0 10 0000000000000001 /a\n"

START_TEST(test_corrupt_lines_are_refused_with_file_and_line) {
    refused_at("", "st:1:", "header");
    refused_at("collector-positions 2\n", "st:1:", "header");
    refused_at(H OK1 "pos b 1 3 0123456789abcdef 0 10 0000000000000001\n", "st:3:", "9 fields");
    refused_at(H "pos a 1 2 0123456789abcdef 0 10 0000000000000001 /a x\n", "st:2:", "9 fields");
    refused_at(H "pos  a 1 2 0123456789abcdef 0 10 0000000000000001 /a\n", "st:2:", "empty field");
    refused_at(H "POS a 1 2 0123456789abcdef 0 10 0000000000000001 /a\n", "st:2:", "pos nor done");
    refused_at(H "pos a 1 2 0123456789ABCDEF 0 10 0000000000000001 /a\n", "st:2:", "hex");
    refused_at(H "pos a 1 2 0123456789abcde 0 10 0000000000000001 /a\n", "st:2:", "hex");
    refused_at(H "pos a 1 18446744073709551616 0123456789abcdef 0 10 0000000000000001 /a\n",
               "st:2:", "decimal");
    refused_at(H "pos a 1 2 0123456789abcdef 4294967296 10 0000000000000001 /a\n",
               "st:2:", "decimal");
    refused_at(H "pos a 1 2 0123456789abcdef 0 -1 0000000000000001 /a\n", "st:2:", "decimal");
    refused_at(H "pos a 1 2 0123456789abcdef 0 010 0000000000000001 /a\n", "st:2:", "decimal");
    refused_at(H "pos a 1 2 0123456789abcdef 0 10 0000000000000000 /a\n", "st:2:", "CHK");
    refused_at(H "pos a%0 1 2 0123456789abcdef 0 10 0000000000000001 /a\n", "st:2:", "escape");
    refused_at(H "pos a%zz 1 2 0123456789abcdef 0 10 0000000000000001 /a\n", "st:2:", "escape");
    refused_at(H "pos a%00 1 2 0123456789abcdef 0 10 0000000000000001 /a\n", "st:2:", "NUL");
    refused_at(H "pos \xc3\xa9 1 2 0123456789abcdef 0 10 0000000000000001 /a\n",
               "st:2:", "non-ASCII");
    refused_at(H "pos a 1 2 0123456789abcdef 0 10 0000000000000001 a\n", "st:2:", "absolute");
    refused_at(H OK1 "pos a 1 3 0123456789abcdef 0 10 0000000000000001 /b\n",
               "st:3:", "duplicate src");
    refused_at(H OK1 "pos b 1 2 0123456789abcdef 0 10 0000000000000001 /b\n",
               "st:3:", "duplicate DEV INO");
    refused_at(H OK1 "pos b 1 3 0123456789abcdef 0 10 0000000000000001 /b",
               "st:3:", "not terminated");
    refused_at(H OK1 "\n", "st:3:", "empty line");
    refused_at(H "pos a 1 2 0123456789abcdef 0 10 0000000000000001 /a\r\n", "st:2:", "control");
}
END_TEST

START_TEST(test_tombstones_may_share_an_inode_with_a_position) {
    const char *text = H OK1 "done a 1 2 0123456789abcdef 7 0 0000000000000000 /a\n"
                             "done z 1 2 0123456789abcdef 8 0 0000000000000000 /a\n";
    posstore_t ps;
    posstore_init(&ps);
    char err[512] = "";
    ck_assert_msg(posstore_parse(&ps, "st", text, strlen(text), err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(ps.n, 3);
    ck_assert_int_eq(ps.v[1].done, 1);
    ck_assert_uint_eq(ps.v[2].gen, 8);
    posstore_fini(&ps);
}
END_TEST

START_TEST(test_load_names_the_file_in_errors) {
    write_text(POSSTORE_FILE, H "garbage\n");
    posstore_t ps;
    posstore_init(&ps);
    char err[512] = "", want[400];
    ck_assert_int_eq(posstore_load(&ps, dir, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s/%s:2:", dir, POSSTORE_FILE);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("posstore");
    TCase *t = tcase_create("posstore");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_save_then_load_keeps_every_field_and_odd_paths);
    tcase_add_test(t, test_format_is_ascii_one_entry_per_line);
    tcase_add_test(t, test_missing_state_file_is_an_empty_store);
    tcase_add_test(t, test_crash_before_rename_leaves_the_old_file);
    tcase_add_test(t, test_save_into_missing_directory_fails_with_a_message);
    tcase_add_test(t, test_corrupt_lines_are_refused_with_file_and_line);
    tcase_add_test(t, test_tombstones_may_share_an_inode_with_a_position);
    tcase_add_test(t, test_load_names_the_file_in_errors);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
