/* The page built into the binary is the page in aggregator/dashboard/, byte for byte, file for
 * file (dashboard_assets.c is generated into the build folder by tools/embed-assets: a build
 * that missed a page edit fails here). And the page keeps the promises the server's
 * Content-Security-Policy relies on: no inline script, style or event handler, nothing fetched
 * from another origin, every file it references served by the aggregator. */
#include "../../../aggregator/dashboard_assets.h"

#include <check.h>
#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dir(void) {
    static char d[1024];
    const char *td = getenv("TEST_DATA");
    snprintf(d, sizeof d, "%s/../../aggregator/dashboard", td ? td : "tests/data");
    return d;
}

static char *slurp(const char *name, size_t *len) {
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir(), name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static const dash_asset_t *find(const char *name) {
    for (size_t i = 0; i < dash_nassets; i++)
        if (strcmp(dash_assets[i].name, name) == 0) return &dash_assets[i];
    return NULL;
}

START_TEST(test_every_file_is_embedded_byte_for_byte) {
    DIR *d = opendir(dir());
    ck_assert_msg(d != NULL, "cannot open %s", dir());
    size_t files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        files++;
        const dash_asset_t *a = find(e->d_name);
        ck_assert_msg(a != NULL, "%s is not embedded: run tools/embed-assets", e->d_name);
        size_t n;
        char *text = slurp(e->d_name, &n);
        ck_assert_msg(a->len == n && memcmp(a->data, text, n) == 0,
                      "%s differs from its embedded copy: run tools/embed-assets", e->d_name);
        ck_assert_int_eq(a->data[a->len], 0);
        free(text);
    }
    closedir(d);
    ck_assert_msg(files == dash_nassets, "%zu embedded, %zu files: run tools/embed-assets",
                  dash_nassets, files);
    ck_assert_ptr_nonnull(find("index.html"));
}
END_TEST

START_TEST(test_types_and_etags_follow_the_content) {
    for (size_t i = 0; i < dash_nassets; i++) {
        const dash_asset_t *a = &dash_assets[i];
        const char *ext = strrchr(a->name, '.');
        ck_assert_ptr_nonnull(ext);
        if (strcmp(ext, ".html") == 0) ck_assert_str_eq(a->type, "text/html; charset=utf-8");
        if (strcmp(ext, ".js") == 0) ck_assert_str_eq(a->type, "text/javascript; charset=utf-8");
        if (strcmp(ext, ".css") == 0) ck_assert_str_eq(a->type, "text/css; charset=utf-8");
        unsigned char h[32];
        unsigned hl = 0;
        ck_assert_int_eq(EVP_Digest(a->data, a->len, h, &hl, EVP_sha256(), NULL), 1);
        char want[32];
        snprintf(want, sizeof want, "\"%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x\"", h[0], h[1],
                 h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]);
        ck_assert_str_eq(a->etag, want);
    }
}
END_TEST

/* Every src="..." and href="..." of index.html names an embedded file. */
START_TEST(test_page_references_only_its_own_files) {
    const dash_asset_t *page = find("index.html");
    const char *s = (const char *)page->data;
    size_t refs = 0;
    for (const char *p = s; (p = strpbrk(p, "sh"));) {
        size_t skip = strncmp(p, "src=\"", 5) == 0 ? 5 : strncmp(p, "href=\"", 6) == 0 ? 6 : 0;
        if (!skip || (p > s && p[-1] != ' ' && p[-1] != '\n')) {
            p++;
            continue;
        }
        p += skip;
        char name[128];
        size_t n = strcspn(p, "\"");
        ck_assert_uint_lt(n, sizeof name);
        memcpy(name, p, n);
        name[n] = 0;
        ck_assert_msg(find(name) != NULL, "index.html references '%s', not an embedded file", name);
        refs++;
    }
    ck_assert_uint_ge(refs, 3); /* app.js, style.css, favicon.svg */
}
END_TEST

START_TEST(test_page_needs_no_inline_code_and_no_other_origin) {
    for (size_t i = 0; i < dash_nassets; i++) {
        const dash_asset_t *a = &dash_assets[i];
        const char *s = (const char *)a->data;
        if (strstr(a->name, ".svg")) continue; /* its xmlns is a name, not a fetch */
        ck_assert_msg(!strstr(s, "http://") && !strstr(s, "https://"), "%s names another origin",
                      a->name);
        ck_assert_msg(!strstr(s, "@import"), "%s imports", a->name);
        if (!strstr(a->name, ".html")) continue;
        for (const char *p = s; (p = strstr(p, "<script")); p++) {
            const char *end = strchr(p, '>');
            ck_assert_ptr_nonnull(end);
            ck_assert_msg(memmem(p, (size_t)(end - p), "src=", 4) != NULL, "inline <script>");
        }
        ck_assert_msg(!strstr(s, "<style"), "inline <style>");
        ck_assert_msg(!strstr(s, " style="), "style attribute");
        ck_assert_msg(!strstr(s, " onclick=") && !strstr(s, " onload=") && !strstr(s, " onsubmit="),
                      "inline event handler");
        ck_assert_msg(strstr(s, "name=\"viewport\"") != NULL, "no viewport meta: not for phones");
    }
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("assets");
    TCase *tc = tcase_create("assets");
    tcase_add_test(tc, test_every_file_is_embedded_byte_for_byte);
    tcase_add_test(tc, test_types_and_etags_follow_the_content);
    tcase_add_test(tc, test_page_references_only_its_own_files);
    tcase_add_test(tc, test_page_needs_no_inline_code_and_no_other_origin);
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
