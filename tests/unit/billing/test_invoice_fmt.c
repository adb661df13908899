/* Unit tests of billing/invoice_fmt.c: the contract's CSV (header, one row per line, a TOTAL row,
 * RFC 4180 quoting) with status last, the aligned text invoice with its lines in order of kind
 * (usage, Subtotal, top-up, adjustments, tax, Total), and JSON that parses (checked with jansson)
 * whatever bytes the names hold. */
#include "../../../billing/invoice_fmt.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const invfmt_line_t acme_lines[] = {
    {1, "Data transfer, zone eu, 0-10000 GB", "10000", "GB", "0.085", "850.00", "eu", NULL},
    {2, "Data transfer, zone eu, over 10000 GB", "0.000000001", "GB", "0.06", "0.00", "eu", NULL},
    {3, "Requests", "1.2345", "10k requests", "0.0075", "0.01", "", NULL},
};
static const invfmt_invoice_t acme = {"INV-202611-acme",
                                      "acme",
                                      "Acme Corporation",
                                      "2026-11",
                                      "standard-usd",
                                      "USD",
                                      "draft",
                                      "",
                                      "850.01",
                                      "850.01",
                                      acme_lines,
                                      3,
                                      NULL,
                                      NULL,
                                      .seq = NULL};

static const invfmt_line_t yen_lines[] = {
    {1, "Minimum commit top-up (minimum 5000 JPY)", "1", "", "5000", "5000", "", NULL},
};
static const invfmt_invoice_t yen = {"INV-202611-a,\"b\"",
                                     "a,\"b\"",
                                     "Ünïcode Käse KK",
                                     "2026-11",
                                     "startup-jpy",
                                     "JPY",
                                     "final",
                                     "2026-12-01T08:00:00Z",
                                     "0",
                                     "5000",
                                     yen_lines,
                                     1,
                                     NULL,
                                     NULL,
                                     .seq = NULL};

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

/* The output so far, NUL-terminated. */
static const char *got(void) {
    fflush(out);
    return buf;
}

/* ---- csv ------------------------------------------------------------------------------------ */

START_TEST(test_csv_has_the_contract_header_one_row_per_line_and_a_total_row) {
    ck_assert_int_eq(invfmt_csv(out, &acme, 1, err, sizeof err), 0);
    ck_assert_str_eq(
        got(),
        "invoice,customer,month,line,description,quantity,unit,unit_price,amount,currency,"
        "status\n"
        "INV-202611-acme,acme,2026-11,1,\"Data transfer, zone eu, 0-10000 GB\",10000,GB,0.085,"
        "850.00,USD,draft\n"
        "INV-202611-acme,acme,2026-11,2,\"Data transfer, zone eu, over 10000 GB\",0.000000001,"
        "GB,0.06,0.00,USD,draft\n"
        "INV-202611-acme,acme,2026-11,3,Requests,1.2345,10k requests,0.0075,0.01,USD,draft\n"
        "INV-202611-acme,acme,2026-11,,TOTAL,,,,850.01,USD,draft\n");
}
END_TEST

START_TEST(test_csv_quotes_commas_and_doubles_quotes) {
    invfmt_invoice_t two[2] = {acme, yen};
    ck_assert_int_eq(invfmt_csv(out, two, 2, err, sizeof err), 0);
    const char *s = got();
    ck_assert_ptr_nonnull(
        strstr(s, "\n\"INV-202611-a,\"\"b\"\"\",\"a,\"\"b\"\"\",2026-11,1,"
                  "Minimum commit top-up (minimum 5000 JPY),1,,5000,5000,JPY,final\n"
                  "\"INV-202611-a,\"\"b\"\"\",\"a,\"\"b\"\"\",2026-11,,TOTAL,,,,5000,JPY,"
                  "final\n"));
    /* one header, 4 + 2 rows */
    int rows = 0;
    for (const char *p = s; *p; p++)
        rows += *p == '\n';
    ck_assert_int_eq(rows, 7);
}
END_TEST

START_TEST(test_csv_field_quotes_only_what_it_must) {
    const char *in[] = {"plain", "a,b", "say \"hi\"", "two\nlines", "cr\rhere", "", "ü"};
    const char *want = "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|\"cr\rhere\"||ü|";
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        invfmt_csv_field(out, in[i]);
        fputc('|', out);
    }
    ck_assert_str_eq(got(), want);
}
END_TEST

START_TEST(test_csv_of_no_invoice_is_the_header) {
    ck_assert_int_eq(invfmt_csv(out, NULL, 0, err, sizeof err), 0);
    ck_assert_str_eq(got(), INVFMT_CSV_HEADER "\n");
}
END_TEST

/* ---- text ----------------------------------------------------------------------------------- */

/* Display width of a line: UTF-8 characters. */
static size_t chars(const char *s, size_t n) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((unsigned char)s[i] & 0xC0) != 0x80;
    return w;
}

START_TEST(test_text_shows_customer_plan_period_and_total) {
    ck_assert_int_eq(invfmt_text(out, "2026-11", &acme, 1, err, sizeof err), 0);
    const char *s = got();
    ck_assert_ptr_nonnull(strstr(s, "Invoice   INV-202611-acme\n"));
    ck_assert_ptr_nonnull(strstr(s, "Status    draft\n"));
    ck_assert_ptr_nonnull(strstr(s, "Customer  Acme Corporation (acme)\n"));
    ck_assert_ptr_nonnull(strstr(s, "Plan      standard-usd, USD\n"));
    ck_assert_ptr_nonnull(strstr(s, "Period    2026-11-01 to 2026-11-30, UTC\n"));
    ck_assert_ptr_nonnull(strstr(s, "Total USD  850.01\n"));
    ck_assert_ptr_nonnull(strstr(s, "Subtotal  850.01\n"));
}
END_TEST

START_TEST(test_text_columns_are_aligned) {
    invfmt_line_t l[2] = {acme_lines[0], acme_lines[2]};
    l[0].description = "Données, zone é"; /* multi-byte characters count once */
    invfmt_invoice_t inv = acme;
    inv.lines = l;
    inv.nlines = 2;
    ck_assert_int_eq(invfmt_text(out, "2026-11", &inv, 1, err, sizeof err), 0);
    const char *s = got();
    /* From the header row on, every line (rows, rules, sums) ends at the same column, and the
     * amounts' decimal points line up. */
    const char *p = strstr(s, "#  Description");
    ck_assert_ptr_nonnull(p);
    while (p > s && p[-1] != '\n')
        p--;
    size_t width = 0, point = 0;
    int rows = 0;
    for (const char *e; *p; p = e + 1, rows++) {
        e = strchr(p, '\n');
        ck_assert_ptr_nonnull(e);
        size_t w = chars(p, (size_t)(e - p));
        if (!width) width = w;
        ck_assert_msg(w == width, "line %d is %zu wide, not %zu: %.*s", rows, w, width,
                      (int)(e - p), p);
        const char *dot = memchr(p, '.', (size_t)(e - p));
        if (rows >= 2 && *p != '-' && dot) { /* a line row or a sum: its last '.' */
            const char *last = dot;
            while ((dot = memchr(last + 1, '.', (size_t)(e - last - 1))))
                last = dot;
            size_t at = chars(p, (size_t)(last - p));
            if (!point) point = at;
            ck_assert_uint_eq(at, point);
        }
    }
    ck_assert_int_eq(rows, 7); /* header, rule, 2 lines, rule, subtotal, total */
}
END_TEST

/* Lines stored in any order come out by kind: usage, Subtotal, top-up, adjustments, tax, Total. */
static const invfmt_line_t mixed_lines[] = {
    {1, "Tax 20 %", "1.00", "", "0.2", "1.00", "", "tax"},
    {2, "Adjustment for 2026-10: zone eu, +0.42 GB", "0.42", "GB", "0.125", "0.05", "eu",
     "adjustment"},
    {3, "Data transfer, zone eu", "1", "GB", "0.125", "0.12", "eu", "usage"},
    {4, "Minimum commit top-up (minimum 5.00 USD)", "1", "", "4.83", "4.83", "", "minimum"},
    {5, "Requests", "5", "10k requests", "0.0075", "0.04", "", NULL},
};
static const invfmt_invoice_t mixed = {
    "INV-202611-mix", "mix",  "Mix Ltd",   "2026-11", "std", "USD", "draft",    "",
    "0.16",           "6.05", mixed_lines, 5,         NULL,  NULL,  .seq = NULL};

/* Position of needle in s, failing when absent. */
static size_t at(const char *s, const char *needle) {
    const char *p = strstr(s, needle);
    ck_assert_msg(p != NULL, "no \"%s\" in:\n%s", needle, s);
    return (size_t)(p - s);
}

START_TEST(test_text_puts_subtotal_above_the_top_up) {
    invfmt_line_t l[3] = {acme_lines[0], acme_lines[2], yen_lines[0]}; /* kind NULL: fallback */
    invfmt_invoice_t inv = acme;
    inv.lines = l;
    inv.nlines = 3;
    inv.subtotal = "850.01";
    inv.total = "5850.01";
    ck_assert_int_eq(invfmt_text(out, "2026-11", &inv, 1, err, sizeof err), 0);
    const char *s = got();
    ck_assert_uint_lt(at(s, "Requests"), at(s, "Subtotal"));
    ck_assert_uint_lt(at(s, "Subtotal"), at(s, "Minimum commit"));
    ck_assert_uint_lt(at(s, "Minimum commit"), at(s, "Total USD"));
    ck_assert_ptr_nonnull(strstr(s, "Subtotal   850.01\n")); /* the usage lines' sum */
}
END_TEST

START_TEST(test_text_orders_lines_by_kind) {
    ck_assert_int_eq(invfmt_text(out, "2026-11", &mixed, 1, err, sizeof err), 0);
    const char *s = got();
    ck_assert_uint_lt(at(s, "Data transfer"), at(s, "Requests"));
    ck_assert_uint_lt(at(s, "Requests"), at(s, "Subtotal"));
    ck_assert_uint_lt(at(s, "Subtotal"), at(s, "Minimum commit"));
    ck_assert_uint_lt(at(s, "Minimum commit"), at(s, "Adjustment for"));
    ck_assert_uint_lt(at(s, "Adjustment for"), at(s, "Tax 20 %"));
    ck_assert_uint_lt(at(s, "Tax 20 %"), at(s, "Total USD"));
    /* the lines after Subtotal are closed by a rule before Total */
    const char *tax = strstr(s, "Tax 20 %");
    ck_assert_int_eq(strchr(tax, '\n')[1], '-');
}
END_TEST

START_TEST(test_line_kinds_fall_back_to_the_description_only_without_a_kind) {
    invfmt_line_t l = yen_lines[0];
    ck_assert_int_eq(invfmt_kind(&l), INVFMT_KIND_MINIMUM); /* NULL: told by its text */
    l.kind = "usage";
    ck_assert_int_eq(invfmt_kind(&l), INVFMT_KIND_USAGE); /* a kind is believed */
    l.kind = "something-new";
    ck_assert_int_eq(invfmt_kind(&l), INVFMT_KIND_USAGE);
    l.kind = "tax";
    ck_assert_int_eq(invfmt_kind(&l), INVFMT_KIND_TAX);
    ck_assert_int_eq(invfmt_kind(&acme_lines[0]), INVFMT_KIND_USAGE);
    size_t idx[5];
    ck_assert_uint_eq(invfmt_order(&mixed, idx), 2);
    const size_t want[5] = {2, 4, 3, 1, 0};
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(idx[i], want[i]);
}
END_TEST

START_TEST(test_text_shows_number_and_dates_when_set) {
    invfmt_invoice_t inv = yen;
    inv.seq = "2026-000042";
    inv.issue_date = "2026-12-01";
    inv.due_date = "2026-12-31";
    inv.period_from = "2026-11-15";
    inv.period_to = "2026-11-30";
    ck_assert_int_eq(invfmt_text(out, "2026-11", &inv, 1, err, sizeof err), 0);
    const char *s = got();
    ck_assert_ptr_nonnull(strstr(s, "Invoice   2026-000042 (INV-202611-a,\"b\")\n"));
    ck_assert_ptr_nonnull(strstr(s, "\nIssued    2026-12-01, due 2026-12-31\n"));
    ck_assert_ptr_nonnull(strstr(s, "Period    2026-11-15 to 2026-11-30, UTC\n"));
    teardown();
    setup();
    ck_assert_int_eq(invfmt_text(out, "2026-11", &yen, 1, err, sizeof err), 0);
    ck_assert_ptr_null(strstr(got(), "Issued"));
}
END_TEST

START_TEST(test_text_of_a_final_invoice_says_since_when) {
    ck_assert_int_eq(invfmt_text(out, "2026-11", &yen, 1, err, sizeof err), 0);
    const char *s = got();
    ck_assert_ptr_nonnull(strstr(s, "Status    final since 2026-12-01T08:00:00Z\n"));
    ck_assert_ptr_nonnull(strstr(s, "Customer  Ünïcode Käse KK (a,\"b\")\n"));
    ck_assert_ptr_nonnull(strstr(s, "Total JPY    5000\n")); /* under "Amount" */
}
END_TEST

START_TEST(test_text_of_no_invoice_says_so) {
    ck_assert_int_eq(invfmt_text(out, "2024-02", NULL, 0, err, sizeof err), 0);
    ck_assert_str_eq(got(), "No invoices for 2024-02.\n");
}
END_TEST

/* ---- json ----------------------------------------------------------------------------------- */

static json_t *parse(void) {
    json_error_t je;
    json_t *j = json_loads(got(), 0, &je);
    ck_assert_msg(j != NULL, "invalid JSON at line %d: %s\n%s", je.line, je.text, buf);
    return j;
}

START_TEST(test_json_parses_and_holds_invoices_lines_and_attention) {
    invfmt_invoice_t two[2] = {acme, yen};
    invfmt_attention_t att[] = {
        {"unknown_customer", "ghost", "usage of a customer not in customers: 3 hits"},
        {"no_plan", "free", "customer has no plan"}};
    ck_assert_int_eq(invfmt_json(out, "2026-11", two, 2, att, 2, err, sizeof err), 0);
    json_t *j = parse();
    ck_assert_str_eq(json_string_value(json_object_get(j, "month")), "2026-11");
    json_t *invs = json_object_get(j, "invoices");
    ck_assert_uint_eq(json_array_size(invs), 2);
    json_t *a = json_array_get(invs, 0);
    ck_assert_str_eq(json_string_value(json_object_get(a, "invoice")), "INV-202611-acme");
    ck_assert_str_eq(json_string_value(json_object_get(a, "customer_name")), "Acme Corporation");
    ck_assert_str_eq(json_string_value(json_object_get(a, "period_end")), "2026-11-30");
    ck_assert_str_eq(json_string_value(json_object_get(a, "total")), "850.01"); /* a string */
    ck_assert(json_is_null(json_object_get(a, "finalized_at")));
    json_t *lines = json_object_get(a, "lines");
    ck_assert_uint_eq(json_array_size(lines), 3);
    json_t *l = json_array_get(lines, 1);
    ck_assert_int_eq(json_integer_value(json_object_get(l, "line")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(l, "quantity")), "0.000000001");
    ck_assert_str_eq(json_string_value(json_object_get(l, "zone")), "eu");
    ck_assert(json_is_null(json_object_get(json_array_get(lines, 2), "zone")));
    json_t *y = json_array_get(invs, 1);
    ck_assert_str_eq(json_string_value(json_object_get(y, "customer")), "a,\"b\"");
    ck_assert_str_eq(json_string_value(json_object_get(y, "customer_name")), "Ünïcode Käse KK");
    ck_assert_str_eq(json_string_value(json_object_get(y, "finalized_at")), "2026-12-01T08:00:00Z");
    json_t *at = json_object_get(j, "attention");
    ck_assert_uint_eq(json_array_size(at), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(at, 0), "customer")),
                     "ghost");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(at, 1), "kind")), "no_plan");
    json_decref(j);
}
END_TEST

START_TEST(test_json_of_nothing_is_empty_lists) {
    ck_assert_int_eq(invfmt_json(out, "2026-01", NULL, 0, NULL, 0, err, sizeof err), 0);
    json_t *j = parse();
    ck_assert_uint_eq(json_array_size(json_object_get(j, "invoices")), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "attention")), 0);
    json_decref(j);
    /* an invoice without lines keeps an empty list */
    teardown();
    setup();
    invfmt_invoice_t inv = acme;
    inv.nlines = 0;
    ck_assert_int_eq(invfmt_json(out, "2026-11", &inv, 1, NULL, 0, err, sizeof err), 0);
    j = parse();
    ck_assert_uint_eq(json_array_size(json_object_get(
                          json_array_get(json_object_get(j, "invoices"), 0), "lines")),
                      0);
    json_decref(j);
}
END_TEST

START_TEST(test_json_escapes_any_bytes) {
    invfmt_invoice_t inv = acme;
    inv.customer_name = "tab\there \"q\" back\\ nl\n bad\xff\xc3 end\x01";
    ck_assert_int_eq(invfmt_json(out, "2026-11", &inv, 1, NULL, 0, err, sizeof err), 0);
    json_t *j = parse();
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(j, "invoices"), 0), "customer_name")),
                     "tab\there \"q\" back\\ nl\n bad\xEF\xBF\xBD\xEF\xBF\xBD end\x01");
    json_decref(j);
}
END_TEST

START_TEST(test_json_has_line_kinds_and_null_for_fields_not_set) {
    invfmt_invoice_t inv = mixed;
    inv.tax_rate = "0.2";
    inv.due_date = "";
    ck_assert_int_eq(invfmt_json(out, "2026-11", &inv, 1, NULL, 0, err, sizeof err), 0);
    json_t *j = parse();
    json_t *a = json_array_get(json_object_get(j, "invoices"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(a, "tax_rate")), "0.2");
    ck_assert(json_is_null(json_object_get(a, "due_date")));
    ck_assert(json_is_null(json_object_get(a, "seq")));
    json_t *lines = json_object_get(a, "lines");
    const char *want[] = {"tax", "adjustment", "usage", "minimum", "usage"}; /* stored order */
    for (size_t i = 0; i < 5; i++)
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(lines, i), "kind")),
                         want[i]);
    json_decref(j);
}
END_TEST

START_TEST(test_csv_total_row_carries_the_status) {
    invfmt_invoice_t inv = acme;
    inv.status = "preview";
    ck_assert_int_eq(invfmt_csv(out, &inv, 1, err, sizeof err), 0);
    ck_assert_ptr_nonnull(
        strstr(got(), "\nINV-202611-acme,acme,2026-11,,TOTAL,,,,850.01,USD,preview\n"));
}
END_TEST

/* ---- errors and names ----------------------------------------------------------------------- */

START_TEST(test_write_failure_is_reported) {
    FILE *full = fopen("/dev/full", "w");
    if (!full) return; /* no /dev/full here: nothing to test */
    ck_assert_int_eq(invfmt_csv(full, &acme, 1, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "writing the invoices"));
    fclose(full);
}
END_TEST

START_TEST(test_format_names) {
    invfmt_format_t f;
    ck_assert_int_eq(invfmt_parse("text", &f), 0);
    ck_assert_int_eq(f, INVFMT_TEXT);
    ck_assert_int_eq(invfmt_parse("csv", &f), 0);
    ck_assert_int_eq(f, INVFMT_CSV);
    ck_assert_int_eq(invfmt_parse("json", &f), 0);
    ck_assert_int_eq(f, INVFMT_JSON);
    ck_assert_int_eq(invfmt_parse("html", &f), 0);
    ck_assert_int_eq(f, INVFMT_HTML);
    ck_assert_int_eq(invfmt_parse("JSON", &f), -1);
    ck_assert_int_eq(invfmt_parse("xml", &f), -1);
    ck_assert_int_eq(invfmt_parse("", &f), -1);
    ck_assert_int_eq(invfmt_parse(NULL, &f), -1);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("billing_invoice_fmt");
    TCase *t = tcase_create("csv");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_csv_has_the_contract_header_one_row_per_line_and_a_total_row);
    tcase_add_test(t, test_csv_quotes_commas_and_doubles_quotes);
    tcase_add_test(t, test_csv_field_quotes_only_what_it_must);
    tcase_add_test(t, test_csv_of_no_invoice_is_the_header);
    tcase_add_test(t, test_csv_total_row_carries_the_status);
    suite_add_tcase(s, t);
    t = tcase_create("text");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_text_shows_customer_plan_period_and_total);
    tcase_add_test(t, test_text_columns_are_aligned);
    tcase_add_test(t, test_text_of_a_final_invoice_says_since_when);
    tcase_add_test(t, test_text_puts_subtotal_above_the_top_up);
    tcase_add_test(t, test_text_orders_lines_by_kind);
    tcase_add_test(t, test_line_kinds_fall_back_to_the_description_only_without_a_kind);
    tcase_add_test(t, test_text_shows_number_and_dates_when_set);
    tcase_add_test(t, test_text_of_no_invoice_says_so);
    suite_add_tcase(s, t);
    t = tcase_create("json");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_json_parses_and_holds_invoices_lines_and_attention);
    tcase_add_test(t, test_json_of_nothing_is_empty_lists);
    tcase_add_test(t, test_json_escapes_any_bytes);
    tcase_add_test(t, test_json_has_line_kinds_and_null_for_fields_not_set);
    suite_add_tcase(s, t);
    t = tcase_create("misc");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_write_failure_is_reported);
    tcase_add_test(t, test_format_names);
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
