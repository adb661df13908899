/* Unit tests of billing/invoice_html.c: every string escaped and valid UTF-8, nothing fetched,
 * lines in the order usage, Subtotal, top-up, adjustments, tax, Total, the total as stored,
 * DRAFT / PREVIEW / final numbering, the seller block showing only what is set, tax rates as
 * exact percentages. */
#include "../../../billing/invoice_html.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const invfmt_line_t lines[] = {
    {1, "Tax 20 %", "1.00", "", "0.2", "1.00", "", "tax"},
    {2, "Adjustment for 2026-10: zone eu, +0.42 GB", "0.42", "GB", "0.125", "0.05", "eu",
     "adjustment"},
    {3, "Data transfer, zone eu", "1", "GB", "0.125", "0.12", "eu", "usage"},
    {4, "Minimum commit top-up (minimum 5.00 USD)", "1", "", "4.83", "4.83", "", NULL},
    {5, "Requests", "5", "10k requests", "0.0075", "0.04", "", NULL},
};
static const invfmt_invoice_t draft = {"INV-202611-acme",
                                       "acme",
                                       "Acme <&> \"Q\"",
                                       "2026-11",
                                       "std",
                                       "USD",
                                       "draft",
                                       "",
                                       "0.16",
                                       "6.05",
                                       lines,
                                       5,
                                       NULL,
                                       NULL,
                                       .seq = NULL};
static const invhtml_seller_t seller = {"Example CDN Ltd", "1 Street\nLondon", "GB123", "b@x.io"};

static char *buf;
static size_t len;
static FILE *out;
static char err[256];

static void setup(void) {
    buf = NULL;
    len = 0;
    out = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(out);
}

static void teardown(void) {
    if (out) fclose(out);
    free(buf);
}

static const char *got(void) {
    fflush(out);
    return buf;
}

static size_t at(const char *s, const char *needle) {
    const char *p = strstr(s, needle);
    ck_assert_msg(p != NULL, "no \"%s\" in:\n%s", needle, s);
    return (size_t)(p - s);
}

/* ---- text ----------------------------------------------------------------------------------- */

START_TEST(test_text_escapes_markup_and_quotes) {
    invhtml_text(out, "<a href=\"x\">&'</a>", 0);
    ck_assert_str_eq(got(), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
}
END_TEST

START_TEST(test_text_replaces_bad_bytes_controls_and_noncharacters) {
    /* invalid: \xff, a lone lead byte, an overlong '/'; controls \x01 and U+0085 (C1);
     * noncharacters U+FFFE and U+FDD0; kept: tab, LF, é, €, 😀 */
    invhtml_text(out, "a\xff|\xc3|\xc0\xaf|\x01|\xc2\x85|\xef\xbf\xbe|\xef\xb7\x90|\t\n|é€😀", 0);
    ck_assert_str_eq(got(), "a\xEF\xBF\xBD|\xEF\xBF\xBD|\xEF\xBF\xBD\xEF\xBF\xBD|\xEF\xBF\xBD|"
                            "\xEF\xBF\xBD|\xEF\xBF\xBD|\xEF\xBF\xBD|\t\n|é€😀");
}
END_TEST

START_TEST(test_text_line_breaks_only_when_asked) {
    invhtml_text(out, "a\r\nb", 1); /* CR LF as typed on Windows */
    invhtml_text(out, "|c\nd", 0);
    invhtml_text(out, NULL, 1);
    ck_assert_str_eq(got(), "a<br>\nb|c\nd");
}
END_TEST

START_TEST(test_percent_is_exact) {
    const char *in[][2] = {{"0", "0"},       {"0.2", "20"},      {"0.19", "19"},
                           {"0.075", "7.5"}, {"1", "100"},       {"0.20000", "20"},
                           {"00.5", "50"},   {"0.0001", "0.01"}, {"12.34567", "1234.567"}};
    char o[32];
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        ck_assert_int_eq(invhtml_percent(in[i][0], o, sizeof o), 0);
        ck_assert_str_eq(o, in[i][1]);
    }
    const char *bad[] = {"", ".5", "1.", "-1", "1e3", "0,2", "x", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_int_eq(invhtml_percent(bad[i], o, sizeof o), -1);
    ck_assert_int_eq(invhtml_percent("0.2", o, 2), -1); /* "20" needs 3 bytes */
}
END_TEST

/* ---- the document --------------------------------------------------------------------------- */

START_TEST(test_document_is_self_contained_html5) {
    ck_assert_int_eq(invhtml_write(out, "2026-11", &draft, &seller, 1, err, sizeof err), 0);
    const char *s = got();
    ck_assert_int_eq(
        strncmp(s, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">", 62), 0);
    ck_assert_ptr_nonnull(strstr(s, "<title>Invoice INV-202611-acme</title>"));
    ck_assert_ptr_nonnull(strstr(s, "@page{size:A4"));
    const char *none[] = {"<script", "<link", "<img", "src=", "href=", "url(", "@import", "http"};
    for (size_t i = 0; i < sizeof none / sizeof *none; i++)
        ck_assert_msg(strstr(s, none[i]) == NULL, "%s in the document", none[i]);
    ck_assert_str_eq(s + strlen(s) - 16, "</body>\n</html>\n");
}
END_TEST

START_TEST(test_lines_come_in_order_of_kind_and_total_is_as_stored) {
    ck_assert_int_eq(invhtml_write(out, "2026-11", &draft, &seller, 1, err, sizeof err), 0);
    const char *s = got();
    ck_assert_uint_lt(at(s, "Data transfer"), at(s, "Requests"));
    ck_assert_uint_lt(at(s, "Requests"), at(s, ">Subtotal<"));
    ck_assert_uint_lt(at(s, ">Subtotal<"), at(s, "Minimum commit"));
    ck_assert_uint_lt(at(s, "Minimum commit"), at(s, "Adjustment for"));
    ck_assert_uint_lt(at(s, "Adjustment for"), at(s, "Tax 20 %"));
    ck_assert_uint_lt(at(s, "Tax 20 %"), at(s, ">Total USD<"));
    ck_assert_ptr_nonnull(strstr(s, "<td class=\"num\">0.16</td>")); /* subtotal */
    ck_assert_ptr_nonnull(strstr(s, "<td class=\"num\" data-total=\"6.05\">6.05</td>"));
    ck_assert_ptr_nonnull(strstr(s, "<tr data-kind=\"minimum\"><td class=\"num\">4</td>"));
}
END_TEST

START_TEST(test_draft_says_draft_and_shows_its_reference) {
    ck_assert_int_eq(invhtml_write(out, "2026-11", &draft, &seller, 1, err, sizeof err), 0);
    const char *s = got();
    ck_assert_ptr_nonnull(strstr(s, "<div class=\"banner\">DRAFT: NOT AN INVOICE TO PAY</div>"));
    ck_assert_ptr_nonnull(strstr(s, "<th>Draft reference</th><td>INV-202611-acme</td>"));
    ck_assert_ptr_null(strstr(s, "Invoice number"));
    ck_assert_ptr_nonnull(strstr(s, "<p class=\"name\">Acme &lt;&amp;&gt; &quot;Q&quot;</p>"));
    ck_assert_ptr_nonnull(strstr(s, "<th>Period</th><td>2026-11-01 to 2026-11-30</td>"));
    ck_assert_ptr_null(strstr(s, "Issue date")); /* not set: not shown, no placeholder */
}
END_TEST

START_TEST(test_final_shows_its_number_dates_and_tax_rate) {
    invfmt_invoice_t inv = draft;
    inv.status = "final";
    inv.seq = "2026-000042";
    inv.issue_date = "2026-12-01";
    inv.due_date = "2026-12-31";
    inv.tax_rate = "0.2";
    inv.customer_address = "2 Road\n<Berlin>";
    ck_assert_int_eq(invhtml_write(out, "2026-11", &inv, &seller, 1, err, sizeof err), 0);
    const char *s = got();
    ck_assert_ptr_null(strstr(s, "class=\"banner\""));
    ck_assert_ptr_nonnull(strstr(s, "<title>Invoice 2026-000042</title>"));
    ck_assert_ptr_nonnull(strstr(s, "<th>Invoice number</th><td>2026-000042</td>"));
    ck_assert_ptr_nonnull(strstr(s, "<th>Reference</th><td>INV-202611-acme</td>"));
    ck_assert_ptr_nonnull(strstr(s, "<th>Issue date</th><td>2026-12-01</td>"));
    ck_assert_ptr_nonnull(strstr(s, "<th>Due date</th><td>2026-12-31</td>"));
    ck_assert_ptr_nonnull(strstr(s, "<th>Tax rate</th><td>20 %</td>"));
    ck_assert_ptr_nonnull(strstr(s, "<p class=\"address\">2 Road<br>\n&lt;Berlin&gt;</p>"));
    /* a final invoice without a sequential number (finalized before they existed) */
    teardown();
    setup();
    inv.seq = NULL;
    ck_assert_int_eq(invhtml_write(out, "2026-11", &inv, &seller, 1, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(got(), "<th>Invoice number</th><td>INV-202611-acme</td>"));
}
END_TEST

START_TEST(test_seller_block_shows_only_what_is_set) {
    ck_assert_int_eq(invhtml_write(out, "2026-11", &draft, &seller, 1, err, sizeof err), 0);
    const char *s = got();
    ck_assert_ptr_nonnull(strstr(s, "<div class=\"party seller\">\n<p class=\"name\">Example CDN "
                                    "Ltd</p>\n<p class=\"address\">1 Street<br>\nLondon</p>\n"
                                    "<p>Tax id GB123</p>\n<p>b@x.io</p>\n</div>"));
    teardown();
    setup();
    invhtml_seller_t only = {"Just A Name", "", NULL, ""};
    ck_assert_int_eq(invhtml_write(out, "2026-11", &draft, &only, 1, err, sizeof err), 0);
    s = got();
    ck_assert_ptr_nonnull(
        strstr(s, "<div class=\"party seller\">\n<p class=\"name\">Just A Name</p>\n</div>"));
    ck_assert_ptr_null(strstr(s, "Tax id"));
    teardown();
    setup();
    ck_assert_int_eq(invhtml_write(out, "2026-11", &draft, NULL, 1, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(got(), "<div class=\"party seller\"></div>"));
}
END_TEST

START_TEST(test_several_invoices_one_article_each_and_none_says_so) {
    invfmt_invoice_t two[2] = {draft, draft};
    two[1].number = "INV-202611-b";
    two[1].status = "preview";
    invhtml_seller_t s2[2] = {seller, seller};
    ck_assert_int_eq(invhtml_write(out, "2026-11", two, s2, 2, err, sizeof err), 0);
    const char *s = got();
    ck_assert_ptr_nonnull(strstr(s, "<title>Invoices 2026-11</title>"));
    ck_assert_uint_lt(at(s, "data-invoice=\"INV-202611-acme\" data-status=\"draft\""),
                      at(s, "data-invoice=\"INV-202611-b\" data-status=\"preview\""));
    ck_assert_ptr_nonnull(strstr(s, "PREVIEW: NOT AN INVOICE TO PAY"));
    ck_assert_ptr_nonnull(strstr(s, ".invoice+.invoice{break-before:page"));
    teardown();
    setup();
    ck_assert_int_eq(invhtml_write(out, "2026-11", NULL, NULL, 0, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(got(), "<p>No invoices for 2026-11.</p>"));
}
END_TEST

START_TEST(test_no_usage_still_has_subtotal_and_total) {
    invfmt_invoice_t inv = draft;
    inv.lines = &lines[3];
    inv.nlines = 1;
    inv.subtotal = "0";
    inv.total = "4.83";
    ck_assert_int_eq(invhtml_write(out, "2026-11", &inv, &seller, 1, err, sizeof err), 0);
    const char *s = got();
    ck_assert_uint_lt(at(s, "No usage"), at(s, ">Subtotal<"));
    ck_assert_uint_lt(at(s, ">Subtotal<"), at(s, "Minimum commit"));
}
END_TEST

START_TEST(test_write_failure_is_reported) {
    FILE *full = fopen("/dev/full", "w");
    if (!full) return;
    ck_assert_int_eq(invhtml_write(full, "2026-11", &draft, &seller, 1, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "writing the invoices"));
    fclose(full);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("billing_invoice_html");
    TCase *t = tcase_create("text");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_text_escapes_markup_and_quotes);
    tcase_add_test(t, test_text_replaces_bad_bytes_controls_and_noncharacters);
    tcase_add_test(t, test_text_line_breaks_only_when_asked);
    tcase_add_test(t, test_percent_is_exact);
    suite_add_tcase(s, t);
    t = tcase_create("document");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_document_is_self_contained_html5);
    tcase_add_test(t, test_lines_come_in_order_of_kind_and_total_is_as_stored);
    tcase_add_test(t, test_draft_says_draft_and_shows_its_reference);
    tcase_add_test(t, test_final_shows_its_number_dates_and_tax_rate);
    tcase_add_test(t, test_seller_block_shows_only_what_is_set);
    tcase_add_test(t, test_several_invoices_one_article_each_and_none_says_so);
    tcase_add_test(t, test_no_usage_still_has_subtotal_and_total);
    tcase_add_test(t, test_write_failure_is_reported);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
