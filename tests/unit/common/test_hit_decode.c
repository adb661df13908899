/* The hit decoder agrees with the jansson oracle (tests/support/hit_jansson.c) on accept/reject,
 * error class and values for a table of tricky inputs, values in every place, number and depth
 * limits and every prefix of a record; errors come in the documented precedence and name their
 * key; escaped strings are unescaped into scratch. */
#include "../../../common/hit.h"
#include "../../support/hit_jansson.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALID HIT_SAMPLE_JSON

/* Decodes text with both decoders; they must agree on the code and, if accepted, the values.
 * Returns the code; *out (if given) gets hit_decode's values, last_err its message. */
static char last_err[512];
static int decode_both_n(const char *text, size_t n, hit_t *out) {
    char why[1024];
    int rc = hit_decode_both(text, n, out, last_err, sizeof last_err, why, sizeof why);
    ck_assert_msg(rc != HIT_DECODERS_DISAGREE, "%s on '%.*s'", why, (int)(n > 300 ? 300 : n), text);
    return rc;
}

static int decode_both(const char *text) {
    return decode_both_n(text, strlen(text), NULL);
}

static const char *with(const char *k, const char *v) {
    static char buf[16384];
    const char *rec = VALID;
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", k);
    const char *at = strstr(rec, pat);
    ck_assert_ptr_nonnull(at);
    const char *vs = at + strlen(pat), *ve = vs;
    if (*ve == '"') {
        for (ve++; *ve != '"'; ve++) {
        }
        ve++;
    } else {
        while (*ve != ',' && *ve != '}')
            ve++;
    }
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(vs - rec), rec, v, ve);
    return buf;
}

/* VALID without key k. */
static const char *without(const char *k) {
    static char buf[16384];
    const char *w = with(k, "0");
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":0", k);
    const char *at = strstr(w, pat);
    size_t cut = strlen(pat);
    if (at[cut] == ',')
        cut++;
    else if (at[-1] == ',')
        at--, cut++;
    snprintf(buf, sizeof buf, "%.*s%s", (int)(at - w), w, at + cut);
    return buf;
}

static void assert_error(const char *text, int code, const char *key) {
    int rc = decode_both(text);
    ck_assert_msg(rc == code, "got %s (%s), want %s, for '%s'", hit_err_name(rc), last_err,
                  hit_err_name(code), text);
    if (key) {
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\"", key);
        ck_assert_msg(strstr(last_err, quoted), "'%s' does not name %s", last_err, quoted);
    }
}

/* ---- decoding: error classes and precedence ---------------------------------------------- */

START_TEST(test_each_error_class_names_its_key) {
    ck_assert_int_eq(decode_both(VALID), HIT_OK);
    assert_error("{\"v\":1,", HIT_ERR_SYNTAX, NULL);
    const char *keys[] = {"v",       "ts",     "customer", "host", "bytes", "status",
                          "country", "region", "edge",     "src",  "off"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        assert_error(without(keys[i]), HIT_ERR_MISSING, keys[i]);
        int is_str = strcmp(keys[i], "v") && strcmp(keys[i], "ts") && strcmp(keys[i], "bytes") &&
                     strcmp(keys[i], "status") && strcmp(keys[i], "off");
        assert_error(with(keys[i], is_str ? "12" : "\"12\""), HIT_ERR_TYPE, keys[i]);
        assert_error(with(keys[i], "null"), HIT_ERR_TYPE, keys[i]);
        assert_error(with(keys[i], "[\"x\"]"), HIT_ERR_TYPE, keys[i]);
        assert_error(with(keys[i], "{\"a\":1}"), HIT_ERR_TYPE, keys[i]);
        if (!is_str) assert_error(with(keys[i], "1.0"), HIT_ERR_TYPE, keys[i]);
    }
    assert_error(with("v", "2"), HIT_ERR_VERSION, "v");
    assert_error(with("v", "0"), HIT_ERR_VERSION, "v");
    assert_error(with("v", "-1"), HIT_ERR_VERSION, "v");
    assert_error(with("ts", "-1"), HIT_ERR_RANGE, "ts");
    assert_error(with("bytes", "-5"), HIT_ERR_RANGE, "bytes");
    assert_error(with("off", "-9223372036854775808"), HIT_ERR_RANGE, "off");
    assert_error(with("status", "1000"), HIT_ERR_RANGE, "status");
    assert_error(with("status", "-1"), HIT_ERR_RANGE, "status");
    assert_error(with("status", "4294967496"), HIT_ERR_RANGE, "status"); /* 200 mod 2^32 */
    assert_error(with("country", "\"USA\""), HIT_ERR_RANGE, "country");
    assert_error(with("country", "\"U\""), HIT_ERR_RANGE, "country");
    ck_assert_int_eq(decode_both(with("country", "\"é\"")), HIT_OK); /* 2 bytes */
    assert_error(with("customer", "\"\""), HIT_ERR_RANGE, "customer");
    assert_error(with("src", "\"\""), HIT_ERR_RANGE, "src");
    ck_assert_int_eq(decode_both(with("region", "\"\"")), HIT_OK);
    ck_assert_int_eq(decode_both(with("status", "0")), HIT_OK);
    ck_assert_int_eq(decode_both(with("status", "999")), HIT_OK);
    ck_assert_int_eq(decode_both(with("bytes", "-0")), HIT_OK);
}
END_TEST

START_TEST(test_string_length_limit_is_after_unescaping) {
    static char rec[8 * HIT_STR_MAX], val[7 * HIT_STR_MAX];
    /* HIT_STR_MAX bytes written as \u0041 escapes: long text, short value */
    char *o = val;
    *o++ = '"';
    for (int i = 0; i < HIT_STR_MAX; i++)
        o += sprintf(o, "\\u0041");
    strcpy(o, "\"");
    snprintf(rec, sizeof rec, "%s", with("host", val));
    hit_t h;
    ck_assert_int_eq(decode_both_n(rec, strlen(rec), &h), HIT_OK);
    ck_assert_uint_eq(h.host.n, HIT_STR_MAX);
    ck_assert(h.host.p[0] == 'A' && h.host.p[HIT_STR_MAX - 1] == 'A');
    strcpy(o, "B\"");
    snprintf(rec, sizeof rec, "%s", with("host", val));
    assert_error(rec, HIT_ERR_RANGE, "host");
    memset(val, 'x', HIT_STR_MAX + 2);
    val[0] = val[HIT_STR_MAX + 1] = '"';
    val[HIT_STR_MAX + 2] = 0;
    ck_assert_int_eq(decode_both(with("edge", val)), HIT_OK);
    val[HIT_STR_MAX + 1] = 'x', val[HIT_STR_MAX + 2] = '"', val[HIT_STR_MAX + 3] = 0;
    assert_error(with("edge", val), HIT_ERR_RANGE, "edge");
}
END_TEST

/* syntax, then missing, type, version, range; within a class the first key in contract order */
START_TEST(test_error_precedence) {
    assert_error("{\"v\":\"x\",\"ts\":-1,\"v\":2}", HIT_ERR_SYNTAX, NULL);
    assert_error("{\"v\":2,\"ts\":\"x\",\"bytes\":1} x", HIT_ERR_SYNTAX, NULL);
    assert_error("{\"v\":2,\"ts\":\"x\",\"bytes\":-1}", HIT_ERR_MISSING, "customer");
    assert_error("{\"v\":2,\"ts\":-1,\"customer\":\"\",\"host\":\"h\",\"bytes\":-1,\"status\":1,"
                 "\"country\":7,\"region\":\"\",\"edge\":\"e\",\"src\":\"s\",\"off\":1.5}",
                 HIT_ERR_TYPE, "country");
    assert_error("{\"off\":-1,\"src\":\"\",\"edge\":\"e\",\"region\":\"\",\"country\":\"X\","
                 "\"status\":-4,\"bytes\":-1,\"host\":\"h\",\"customer\":\"\",\"ts\":-1,\"v\":3}",
                 HIT_ERR_VERSION, "v");
    assert_error("{\"off\":-1,\"src\":\"\",\"edge\":\"e\",\"region\":\"\",\"country\":\"X\","
                 "\"status\":-4,\"bytes\":-1,\"host\":\"h\",\"customer\":\"\",\"ts\":5,\"v\":1}",
                 HIT_ERR_RANGE, "customer");
    assert_error(with("v", "\"1\""), HIT_ERR_TYPE, "v");
    assert_error(with("v", "1.0"), HIT_ERR_TYPE, "v");
}
END_TEST

/* ---- decoding: agreement with jansson ---------------------------------------------------- */

#define T(s)                                                                                       \
    { s, sizeof(s) - 1 }
static const struct text {
    const char *s;
    size_t n;
} tricky[] = {
    T(""),
    T(" "),
    T("{"),
    T("}"),
    T("{}"),
    T("[]"),
    T("[" VALID "]"),
    T("null"),
    T("1"),
    T("\"x\""),
    T(VALID " "),
    T(" \t\r\n" VALID),
    T(VALID "\n\n"),
    T(VALID "x"),
    T(VALID "{}"),
    T(VALID ","),
    T(VALID "\f"),
    T("\f" VALID),
    T(VALID "\x00"),
    T("\xEF\xBB\xBF" VALID),
    T(VALID "\xEF\xBB\xBF"),
    T(VALID VALID),
    /* keys: duplicates, escaped names, unknown keys with any value */
    T("{\"v\":1,\"v\":1}"),
    T("{\"\\u0076\":1,\"v\":1}"),
    T("{\"x\":1,\"x\":2}"),
    T("{\"x\":1,\"\\u0078\":2}"),
    T("{\"x\":1,\"y\":2}"),
    T("{\"\":1,\"\":2}"),
    T("{\"a\":{\"b\":1,\"b\":2}}"),
    T("{\"a\":{\"b\":1},\"b\":2}"),
    T("{\"a\":{\"b\":{\"c\":1}},\"c\":{\"b\":1}}"),
    T("{\"a\":[{\"b\":1},{\"b\":1}]}"),
    T("{\"a\":[{\"b\":1,\"b\":1}]}"),
    T("{\"a\":{\"\\u0000\":1}}"),
    T("{\"\\u0000\":1}"),
    T("{\"a\":{\"x\":1,\"y\":{},\"z\":[],\"x\":0}}"),
    T("{\"a\":{}}"),
    T("{\"a\":[]}"),
    T("{\"a\":[,]}"),
    T("{\"a\":[1,]}"),
    T("{\"a\":{,}}"),
    T("{\"a\":{\"b\":1,}}"),
    T("{\"a\":1,}"),
    T("{,}"),
    T("{\"a\"}"),
    T("{\"a\" 1}"),
    T("{\"a\":}"),
    T("{\"a\"::1}"),
    T("{1:1}"),
    T("{\"a\":1 \"b\":2}"),
    T("{\"a\":[1 2]}"),
    T("{\"a\":{\"b\" 1}}"),
    T("{\"a\":[}"),
    T("{\"a\":{]}"),
    T("{\"a\":[1}"),
    T("{\"a\":{\"b\":1]}"),
    /* numbers */
    T("{\"a\":-0}"),
    T("{\"a\":-}"),
    T("{\"a\":01}"),
    T("{\"a\":-01}"),
    T("{\"a\":00}"),
    T("{\"a\":0.}"),
    T("{\"a\":.5}"),
    T("{\"a\":1.}"),
    T("{\"a\":1.e5}"),
    T("{\"a\":1e}"),
    T("{\"a\":1e+}"),
    T("{\"a\":1E-0}"),
    T("{\"a\":+1}"),
    T("{\"a\":1e2}"),
    T("{\"a\":1.5}"),
    T("{\"a\":0x10}"),
    T("{\"a\":Infinity}"),
    T("{\"a\":NaN}"),
    T("{\"a\":9223372036854775807}"),
    T("{\"a\":9223372036854775808}"),
    T("{\"a\":-9223372036854775808}"),
    T("{\"a\":-9223372036854775809}"),
    T("{\"a\":99999999999999999999}"),
    T("{\"a\":1e308}"),
    T("{\"a\":1e309}"),
    T("{\"a\":-1e309}"),
    T("{\"a\":1e-400}"),
    T("{\"a\":0e999999999999999999999}"),
    T("{\"a\":0.0000e400}"),
    T("{\"a\":10e308}"),
    T("{\"a\":0.1e310}"),
    T("{\"a\":0.1e309}"),
    T("{\"a\":1e99999999999999999999}"),
    T("{\"a\":1e-99999999999999999999}"),
    T("{\"a\":1.7976931348623157e308}"),
    T("{\"a\":1.7976931348623158e308}"),
    T("{\"a\":1.7976931348623159e308}"),
    T("{\"a\":17976931348623158.079e292}"),
    T("{\"a\":0.00017976931348623158079e312}"),
    /* literals and the NUL that jansson drops after a number or literal */
    T("{\"a\":true}"),
    T("{\"a\":tru}"),
    T("{\"a\":truee}"),
    T("{\"a\":True}"),
    T("{\"a\":nul}"),
    T("{\"a\":false1}"),
    T("{\"a\":1\x00}"),
    T("{\"a\":1\x00\x00}"),
    T("{\"a\":true\x00,\"b\":null\x00}"),
    T("{\"a\":[1\x00,2]}"),
    T("{\"a\":\"x\"\x00}"),
    T("{\"a\":1e5\x00 }"),
    T("{\"a\":-\x00 1}"),
    T("{\"a\":\x00 1}"),
    T("{\"a\":1}\x00"),
    T("{\"a\":[1]\x00}"),
    /* strings */
    T("{\"a\":\"\\u0000\"}"),
    T("{\"a\":\"\\u00\"}"),
    T("{\"a\":\"\\u00zz\"}"),
    T("{\"a\":\"\\x\"}"),
    T("{\"a\":\"\\\"}"),
    T("{\"a\":\"\\/\\b\\f\\n\\r\\t\\\\\\\"\"}"),
    T("{\"a\":\"\\ud800\"}"),
    T("{\"a\":\"\\udc00\"}"),
    T("{\"a\":\"\\ud800\\udc00\"}"),
    T("{\"a\":\"\\uD83D\\uDE00\"}"),
    T("{\"a\":\"\\ud800\\ud800\"}"),
    T("{\"a\":\"\\ud800\\n\"}"),
    T("{\"a\":\"\\ud800x\"}"),
    T("{\"a\":\"\\udbff\\udfff\"}"),
    T("{\"a\":\"\\ud800\\u0041\"}"),
    T("{\"a\":\"\\ud800\\u\"}"),
    T("{\"a\":\"\x01\"}"),
    T("{\"a\":\"\x1f\"}"),
    T("{\"a\":\"\x7f\"}"),
    T("{\"a\":\"\t\"}"),
    T("{\"a\":\"\xc3\xa9\"}"),
    T("{\"a\":\"\xc3\"}"),
    T("{\"a\":\"\xc0\xaf\"}"),
    T("{\"a\":\"\xed\xa0\x80\"}"),
    T("{\"a\":\"\xed\x9f\xbf\"}"),
    T("{\"a\":\"\xf4\x90\x80\x80\"}"),
    T("{\"a\":\"\xf4\x8f\xbf\xbf\"}"),
    T("{\"a\":\"\xe0\x9f\xbf\"}"),
    T("{\"a\":\"\xf0\x8f\xbf\xbf\"}"),
    T("{\"a\":\"\xf8\x88\x80\x80\x80\"}"),
    T("{\"a\":\"\xff\"}"),
    T("{\"\xc3\xa9\":1}"),
    T("{\"\xc3\":1}"),
    T("{\"a\":\"x"),
    T("{\"a\":\"x\\"),
    T("{\"a\":'x'}"),
    T("{'a':1}"),
};

START_TEST(test_agrees_with_jansson_on_tricky_inputs) {
    static char rec[1024];
    for (size_t i = 0; i < sizeof tricky / sizeof *tricky; i++) {
        const struct text *t = &tricky[i];
        decode_both_n(t->s, t->n, NULL);
        /* the same members added to a valid record: now only they decide the outcome */
        if (t->n >= 2 && t->s[0] == '{' && t->s[t->n - 1] == '}' && t->n < 512) {
            size_t n =
                (size_t)snprintf(rec, sizeof rec, "{%.*s,%s", (int)t->n - 2, t->s + 1, VALID + 1);
            decode_both_n(rec, n, NULL);
        }
    }
}
END_TEST

/* Values tried in the place of an integer key, a string key and an unknown key. */
static const struct text values[] = {
    T("0"),
    T("-0"),
    T("1.0"),
    T("1e2"),
    T("-1e2"),
    T("1E+2"),
    T("0.5"),
    T("1e309"),
    T("1e-309"),
    T("9223372036854775807"),
    T("9223372036854775808"),
    T("-9223372036854775808"),
    T("-9223372036854775809"),
    T("123456789012345678901234567890"),
    T("01"),
    T("true"),
    T("false"),
    T("null"),
    T("[]"),
    T("{}"),
    T("[1,[2,[3]]]"),
    T("{\"x\":{\"y\":[null]}}"),
    T("\"\""),
    T("\"ab\""),
    T("\"\\u0000\""),
    T("\"\\ud83d\\ude00\""),
    T("\"\\ud83d\""),
    T("\"\xff\""),
    T("\"\\u00e9\""),
    T("\"a\\\"b\""),
    T("\"\\/\""),
    T("1\x00"),
    T("true\x00"),
    T("\"x\"\x00"),
    T("{\"a\":1,\"a\":1}"),
    T("[1,]"),
    T("-"),
    T(""),
    T("\"\\u0041\\u0042\""),
};

START_TEST(test_agrees_with_jansson_on_values_in_every_place) {
    static char rec[1024];
    const char *places[] = {"v",        "ts",   "bytes",   "status", "off",
                            "customer", "host", "country", "region", "src"};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        const struct text *v = &values[i];
        for (size_t k = 0; k < sizeof places / sizeof *places; k++) {
            /* with() needs a NUL-terminated value: build the record by hand instead */
            const char *w = with(places[k], "@"), *at = strchr(w, '@');
            size_t n = (size_t)snprintf(rec, sizeof rec, "%.*s", (int)(at - w), w);
            memcpy(rec + n, v->s, v->n);
            n += v->n;
            n += (size_t)snprintf(rec + n, sizeof rec - n, "%s", at + 1);
            decode_both_n(rec, n, NULL);
        }
        size_t n = (size_t)snprintf(rec, sizeof rec, "{\"zz\":");
        memcpy(rec + n, v->s, v->n);
        n += v->n;
        n += (size_t)snprintf(rec + n, sizeof rec - n, ",%s", VALID + 1);
        decode_both_n(rec, n, NULL);
    }
}
END_TEST

/* The real overflow threshold is 2^1024 - 2^970: one below it reads as DBL_MAX, it and above
 * are refused by jansson. Our decoder decides on the digits: check it on both sides. */
START_TEST(test_real_overflow_threshold) {
    const char *limit = "17976931348623158079372897140530341507993413271003782693617377898044496829"
                        "27647509466490179775872070963302864166928879109465555478519404026306574"
                        "88671505820681908902000708383676273854845817711531764475730270069855571"
                        "36695962284291481986083493647529271907416844436551070434271155969950809"
                        "3042880177904174497792";
    static char rec[2048], num[600];
    const char *forms[] = {"%s.0",     "%.308s1.0",     "%s.0000001",  "%.308s1.999999",   "-%s.0",
                           "0.%se309", "0.%.308s1e309", "%.1s.%se308", "%.1s.%.307s1e308", "%s0e-1",
                           "%s1e-1",   "0.000%se312"};
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        snprintf(num, sizeof num, forms[i], limit, limit + 1);
        if (strstr(forms[i], "%.1s")) snprintf(num, sizeof num, forms[i], limit, limit + 1);
        size_t n = (size_t)snprintf(rec, sizeof rec, "{\"zz\":%s,%s", num, VALID + 1);
        decode_both_n(rec, n, NULL);
    }
    /* the first form is the limit itself: refused */
    snprintf(rec, sizeof rec, "{\"zz\":%s.0,%s", limit, VALID + 1);
    ck_assert_int_eq(decode_both(rec), HIT_ERR_SYNTAX);
    snprintf(rec, sizeof rec, "{\"zz\":%.308s1.9,%s", limit, VALID + 1);
    ck_assert_int_eq(decode_both(rec), HIT_OK);
}
END_TEST

START_TEST(test_every_prefix_of_a_record_is_syntax) {
    const char *rec = " {\"v\":1,\"ts\":12,\"customer\":\"a\\u00e9\",\"host\":\"h\",\"bytes\":-0,"
                      "\"status\":200,\"country\":\"ZZ\",\"region\":\"\",\"edge\":\"e\","
                      "\"src\":\"s\",\"off\":1,\"x\":[1.5e3,{\"y\":true}]} ";
    size_t n = strlen(rec);
    for (size_t i = 0; i < n - 1; i++) {
        char *copy = malloc(i ? i : 1); /* exact size: ASan catches a read past the prefix */
        memcpy(copy, rec, i);
        ck_assert_msg(decode_both_n(copy, i, NULL) == HIT_ERR_SYNTAX, "prefix %zu accepted", i);
        free(copy);
    }
    ck_assert_int_eq(decode_both_n(rec, n - 1, NULL), HIT_OK);
    ck_assert_int_eq(decode_both_n(rec, n, NULL), HIT_OK);
}
END_TEST

/* Container i of open: kind 1 alternates objects and arrays, with an array innermost. */
static int obj(int kind, int i, int open) {
    return kind == 1 && i % 2 && i < open - 1;
}

/* jansson refuses values nested deeper than 2048 counting the record as 1. */
START_TEST(test_nesting_depth_limit_is_jansson_s) {
    static char rec[12000];
    for (int depth = 2040; depth <= 2052; depth++) {
        for (int kind = 0; kind < 3; kind++) {
            size_t n = (size_t)snprintf(rec, sizeof rec, "{\"zz\":");
            int open = depth - 1; /* containers below the record */
            for (int i = 0; i < open; i++)
                n +=
                    (size_t)snprintf(rec + n, sizeof rec - n, obj(kind, i, open) ? "{\"k\":" : "[");
            if (kind == 2) rec[n++] = '1';
            for (int i = open - 1; i >= 0; i--)
                rec[n++] = obj(kind, i, open) ? '}' : ']';
            n += (size_t)snprintf(rec + n, sizeof rec - n, ",%s", VALID + 1);
            int rc = decode_both_n(rec, n, NULL);
            int deepest = kind == 2 ? depth + 1 : depth;
            ck_assert_int_eq(rc, deepest <= 2048 ? HIT_OK : HIT_ERR_SYNTAX);
        }
    }
}
END_TEST

/* Duplicate detection beyond the pairwise size: sorted keys, escaped spellings. */
START_TEST(test_duplicates_among_many_keys) {
    static char rec[8192];
    for (int dup = 0; dup < 3; dup++) {
        for (int nested = 0; nested < 2; nested++) {
            size_t n = (size_t)snprintf(rec, sizeof rec, "{%s", nested ? "\"o\":{" : "");
            for (int i = 0; i < 40; i++)
                n += (size_t)snprintf(rec + n, sizeof rec - n, "\"k%d\":%d,", i, i);
            n += (size_t)snprintf(rec + n, sizeof rec - n, "%s",
                                  dup == 0   ? "\"k\":0"
                                  : dup == 1 ? "\"k17\":0"
                                             : "\"k\\u0033\\u0039\":0");
            n += (size_t)snprintf(rec + n, sizeof rec - n, "%s,%s", nested ? "}" : "", VALID + 1);
            ck_assert_int_eq(decode_both_n(rec, n, NULL), dup ? HIT_ERR_SYNTAX : HIT_OK);
        }
    }
}
END_TEST

START_TEST(test_escaped_strings_are_unescaped_into_scratch) {
    const char *rec = with("host", "\"a\\tb\\u00e9\\ud83d\\ude00\\\"\\\\\\/\"");
    size_t n = strlen(rec);
    char scratch[512];
    hit_t h;
    char err[256];
    ck_assert_int_eq(hit_decode(&h, rec, n, scratch, n, err, sizeof err), HIT_OK);
    ck_assert(h.host.p >= scratch && h.host.p + h.host.n <= scratch + n);
    ck_assert_uint_eq(h.host.n, 12);
    ck_assert(memcmp(h.host.p, "a\tb\xc3\xa9\xf0\x9f\x98\x80\"\\/", 12) == 0);
    ck_assert(h.customer.p >= rec && h.customer.p < rec + n); /* unescaped: in place */
    /* too small a scratch is an error, never an overflow */
    ck_assert_int_eq(hit_decode(&h, rec, n, scratch, 11, err, sizeof err), HIT_ERR_SYNTAX);
    ck_assert_ptr_nonnull(strstr(err, "scratch"));
    ck_assert_int_eq(hit_decode(&h, rec, n, NULL, 0, err, sizeof err), HIT_ERR_SYNTAX);
    ck_assert_int_eq(hit_decode(&h, VALID, strlen(VALID), NULL, 0, err, sizeof err), HIT_OK);
    ck_assert_int_eq(hit_decode(&h, NULL, 0, NULL, 0, NULL, 0), HIT_ERR_SYNTAX);
}
END_TEST

START_TEST(test_error_names) {
    ck_assert_str_eq(hit_err_name(HIT_OK), "ok");
    ck_assert_str_eq(hit_err_name(HIT_ERR_SYNTAX), "syntax");
    ck_assert_str_eq(hit_err_name(HIT_ERR_MISSING), "missing");
    ck_assert_str_eq(hit_err_name(HIT_ERR_TYPE), "type");
    ck_assert_str_eq(hit_err_name(HIT_ERR_RANGE), "range");
    ck_assert_str_eq(hit_err_name(HIT_ERR_VERSION), "version");
    ck_assert_int_eq(HIT_ERR_COUNT, 6);
}
END_TEST

/* The optional keys: absent is fine (records of older collectors), present they must be strings
 * within their bounds, and both decoders read them alike; unknown cache words still decode. */
START_TEST(test_optional_cache_and_region_name_keys) {
    hit_t h;
    char rec[4096];
    const char *tail = "\"off\":1048576";
    const char *at = strstr(VALID, tail);
    ck_assert_ptr_nonnull(at);
    ck_assert_int_eq(decode_both_n(VALID, strlen(VALID), &h), HIT_OK);
    ck_assert_uint_eq(h.cache.n, 0);
    ck_assert_uint_eq(h.region_name.n, 0);
    static const struct {
        const char *extra;
        int code;
        const char *key;
    } cases[] = {
        {",\"cache\":\"HIT\"", HIT_OK, NULL},
        {",\"cache\":\"MISS\",\"region_name\":\"California\"", HIT_OK, NULL},
        {",\"region_name\":\"\\u00cele-de-France\"", HIT_OK, NULL},
        {",\"cache\":\"SOMETHING\"", HIT_OK, NULL},
        {",\"cache\":\"\"", HIT_OK, NULL},
        {",\"cache\":1", HIT_ERR_TYPE, "cache"},
        {",\"region_name\":null", HIT_ERR_TYPE, "region_name"},
        {",\"cache\":\"0123456789abcdefX\"", HIT_ERR_RANGE, "cache"},
        {",\"cache\":\"HIT\",\"cache\":\"MISS\"", HIT_ERR_SYNTAX, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(rec, sizeof rec, "%.*s%s%s", (int)(at + strlen(tail) - VALID), VALID,
                 cases[i].extra, at + strlen(tail));
        assert_error(rec, cases[i].code, cases[i].key);
    }
    snprintf(rec, sizeof rec, "%.*s,\"cache\":\"STALE\",\"region_name\":\"Berlin\"}",
             (int)(at + strlen(tail) - VALID), VALID);
    ck_assert_int_eq(decode_both_n(rec, strlen(rec), &h), HIT_OK);
    ck_assert(h.cache.n == 5 && memcmp(h.cache.p, "STALE", 5) == 0);
    ck_assert(h.region_name.n == 6 && memcmp(h.region_name.p, "Berlin", 6) == 0);
    /* type comes before range and version, as for the required keys */
    snprintf(rec, sizeof rec, "%s", with("v", "2"));
    char *end = strrchr(rec, '}');
    strcpy(end, ",\"cache\":7}");
    assert_error(rec, HIT_ERR_TYPE, "cache");
}
END_TEST

START_TEST(test_cache_words_classify_as_documented) {
    const char *hits[] = {"HIT", "STALE", "UPDATING", "REVALIDATED"};
    const char *misses[] = {"MISS", "EXPIRED", "BYPASS"};
    const char *unknown[] = {"", "-", "hit", "HITS", "SCARCE"};
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(hit_cache_class(hits[i], strlen(hits[i])), HIT_CACHE_HIT);
    for (size_t i = 0; i < 3; i++)
        ck_assert_int_eq(hit_cache_class(misses[i], strlen(misses[i])), HIT_CACHE_MISS);
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq(hit_cache_class(unknown[i], strlen(unknown[i])), HIT_CACHE_UNKNOWN);
}
END_TEST

/* Random records: random values encoded, then decoded by both. */
int main(void) {
    Suite *s = suite_create("hit_decode");
    TCase *decode = tcase_create("decode");
    tcase_add_test(decode, test_each_error_class_names_its_key);
    tcase_add_test(decode, test_string_length_limit_is_after_unescaping);
    tcase_add_test(decode, test_error_precedence);
    tcase_add_test(decode, test_agrees_with_jansson_on_tricky_inputs);
    tcase_add_test(decode, test_agrees_with_jansson_on_values_in_every_place);
    tcase_add_test(decode, test_real_overflow_threshold);
    tcase_add_test(decode, test_every_prefix_of_a_record_is_syntax);
    tcase_add_test(decode, test_nesting_depth_limit_is_jansson_s);
    tcase_add_test(decode, test_duplicates_among_many_keys);
    tcase_add_test(decode, test_escaped_strings_are_unescaped_into_scratch);
    tcase_add_test(decode, test_error_names);
    tcase_add_test(decode, test_optional_cache_and_region_name_keys);
    tcase_add_test(decode, test_cache_words_classify_as_documented);
    suite_add_tcase(s, decode);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
