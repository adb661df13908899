/* invoice.c: `billing invoice`: a month's invoices, priced, stored, printed.
 *
 *   options -> connect -> lock, REPEATABLE READ, load plans, customers, customer_plans, usage,
 *   stored invoices (invoice_db) and the final months of the late-usage window (invoice_adjust)
 *   -> per customer: keep a final invoice as it is, or cut the month into parts by plan changes
 *   and price each (invoice_month, pricing), add the adjustments for late usage of earlier final
 *   months (invoice_adjust) and the tax (pricing_close), and write the draft, finalizing it with
 *   --finalize (the schema numbers it) -> read every invoice of the month back -> COMMIT ->
 *   print them (invoice_fmt; --format html: invoice_doc,
 *   invoice_html) and report what needs attention.
 *
 * Output always comes from the rows read back, never from the computation in memory: a draft
 * and a final invoice print through the same path, and a final one prints the same forever.
 * Invoices: one per customer (with a plan) and month, numbered INV-YYYYMM-<customer id>, so a
 * number is known before it exists and never changes (the gapless sequential number, seq, is
 * given at finalization). A customer with a plan gets an invoice for every month it is active
 * in, even without usage (the prorated minimum commit is owed).
 *
 * Needs attention (stderr, and the "attention" list of --format json; exit 0 unless --strict):
 *   unknown_customer   usage_hourly rows whose customer_id has no customers row
 *   no_plan            a customer without a plan, or none in effect in the month (not invoiced)
 *   inactive           usage in a month wholly outside the customer's active days
 *   cannot_price       the plan cannot price the usage (a country without a zone, a zone with
 *                      traffic and no tier at 0 GB, a malformed price): no invoice is written,
 *                      and a stale draft is deleted rather than printed as if current
 *   usage_after_final  late usage of a final month that cannot be billed as adjustments (no
 *                      usage snapshot, changed pricing inputs, older than the window:
 *                      invoice_adjust.h; a decrease is billed: a credit);
 *                      late usage that can is billed on the customer's next draft (logged) */
#include "invoice.h"

#include "invoice_int.h"

#include "edges_db.h"
#include "invoice_adjust.h"
#include "invoice_db.h"
#include "invoice_doc.h"
#include "invoice_month.h"
#include "invoice_fmt.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "owner.h"
#include "pricing.h"
#include "store.h"
#include "bcmd.h"
#include "bhelp.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int bad(const char *msg) {
    return bcmd_bad("invoice", msg);
}

static void usage(void) {
    printf(
        "usage: billing invoice --month YYYY-MM [options]\n"
        "Prices a month's usage for every customer with a plan, stores and prints the invoices.\n\n"
        "Options:\n"
        "  -m, --month YYYY-MM        the month (required), from 2000-01 to the current month\n"
        "  -c, --customer ID          only this customer\n"
        "  -f, --format FORMAT        text (default), csv, json or html (a document to send)\n"
        "  -o, --output DIR           with --format html: one file per invoice, DIR/NUMBER.html\n"
        "                             (their paths are printed)\n"
        "      --preview              compute and print, write nothing (no drafts): works as\n"
        "                             billing_reader (the default --role with --preview)\n"
        "      --finalize             make the month's invoices final (immutable); refused\n"
        "                             (exit 1, naming the edges) unless the month is complete:\n"
        "                             every edge with usage in it billed up to its end plus the\n"
        "                             grace, or retired (billing status shows it), and always\n"
        "                             for a month that has not ended, forced or not\n"
        "      --grace DURATION       the grace after the month's end (default " EDGES_GRACE_DEFAULT
        "; 30m, 2h, 1d)\n"
        "      --force-incomplete     with --finalize: finalize an incomplete month anyway ...\n"
        "      --reason TEXT          ... for this reason, kept with each invoice and printed\n"
        "  -t, --topic NAME           the hit topic whose watermarks count (default hits)\n"
        "      --strict               exit 1 when something needs attention (unknown customers,\n"
        "                             customers without a plan, usage a plan cannot price, usage\n"
        "                             changed after finalization); reported on stderr either "
        "way\n" BHELP_DB
        "      --role ROLE            SET ROLE to this after connecting, when the login role is a\n"
        "                             member (default " STORE_WRITER_ROLE
        "; '' keeps the login role)\n" BHELP_COMMON
        "\nA calendar month is UTC, by the hits' own hour. Invoices are written as drafts\n"
        "(recomputed by every run); a final invoice is never recomputed: it prints from its\n"
        "stored lines, the same every time; usage of its month that arrives later is billed\n"
        "once, as adjustment lines on the customer's next draft. A month is cut into parts\n"
        "at plan changes (customer_plans), the minimum commit prorated by the customer's\n"
        "active days (active_from, active_to), tax added (tax_rate); finalizing gives the\n"
        "next gapless number, the issue and the due date (README, \"Finance\").\n"
        "\nSignals:\n"
        "  SIGTERM, SIGINT            end at once; PostgreSQL rolls back: nothing is written\n"
        "\nExit status:\n"
        "  0                          done (also when something needs attention, unless\n"
        "                             --strict)\n"
        "  1                          a runtime failure; --finalize of an incomplete month;\n"
        "                             --strict and something needs attention\n" BHELP_EXIT_2);
}

enum {
    OPT_FINALIZE = 256,
    OPT_STRICT,
    OPT_DB,
    OPT_ROLE,
    OPT_GRACE,
    OPT_FORCE,
    OPT_REASON,
    OPT_PREVIEW
};

/* Months run from INVOICE_MONTH_MIN to the current month (UTC, by this machine's clock): a
 * month before the first or after the current one is a typo (0001-01, 2099-01), never billed. */
#define INVOICE_MONTH_MIN "2000-01"
static int month_out_of_range(int y, int m, char *msg, size_t cap) {
    time_t now = time(NULL);
    struct tm t;
    gmtime_r(&now, &t);
    int cy = t.tm_year + 1900, cm = t.tm_mon + 1;
    if (y >= 2000 && (y < cy || (y == cy && m <= cm))) return 0;
    snprintf(msg, cap,
             "--month %04d-%02d: outside the months that can be invoiced, " INVOICE_MONTH_MIN
             " to %04d-%02d (the current month, UTC)",
             y, m, cy, cm);
    return 1;
}

/* What the options mean together, and the month and connection string. -1 to go on, else 2. */
static int validate(opts_t *o) {
    char msg[600];
    if (!o->month) return bad("--month YYYY-MM is required");
    if (o->force_incomplete && !o->finalize) return bad("--force-incomplete goes with --finalize");
    if (o->force_incomplete && (!o->reason || !*o->reason))
        return bad("--force-incomplete needs --reason TEXT (kept with the invoices)");
    if (o->reason && !o->force_incomplete) return bad("--reason goes with --force-incomplete");
    if (pricing_month_parse(o->month, &o->year, &o->mon) < 0) {
        snprintf(msg, sizeof msg, "--month %.100s: expected YYYY-MM, e.g. 2026-11", o->month);
        return bad(msg);
    }
    if (o->preview && o->finalize) return bad("--preview writes nothing: not with --finalize");
    if (o->output && o->format != INVFMT_HTML) return bad("--output goes with --format html");
    struct stat st; /* checked before anything is written: a typo must not cost a run */
    if (o->output && (stat(o->output, &st) < 0 || !S_ISDIR(st.st_mode))) {
        snprintf(msg, sizeof msg, "--output %.200s: not a directory", o->output);
        return bad(msg);
    }
    if (month_out_of_range(o->year, o->mon, msg, sizeof msg)) return bad(msg);
    if (o->preview && !o->role_set) o->role = STORE_READER_ROLE;
    o->db = store_conninfo(o->db);
    if (store_check_conninfo(o->db, msg, sizeof msg) < 0) return bad(msg);
    return -1;
}

/* Returns -1 to go on, else the exit status (0 for --help / --version, 2 for bad usage). */
static int parse(int argc, char **argv, opts_t *o) {
    static const struct option lo[] = {{"month", 1, 0, 'm'},
                                       {"customer", 1, 0, 'c'},
                                       {"format", 1, 0, 'f'},
                                       {"finalize", 0, 0, OPT_FINALIZE},
                                       {"strict", 0, 0, OPT_STRICT},
                                       {"grace", 1, 0, OPT_GRACE},
                                       {"force-incomplete", 0, 0, OPT_FORCE},
                                       {"reason", 1, 0, OPT_REASON},
                                       {"preview", 0, 0, OPT_PREVIEW},
                                       {"topic", 1, 0, 't'},
                                       {"output", 1, 0, 'o'},
                                       {"db", 1, 0, OPT_DB},
                                       {"role", 1, 0, OPT_ROLE},
                                       {"log-level", 1, 0, 'v'},
                                       {"help", 0, 0, 'h'},
                                       {"version", 0, 0, 'V'},
                                       {0, 0, 0, 0}};
    static const char *const also[] = BHELP_KEYS;
    char msg[600];
    static const char shorts[] = "m:c:f:t:o:v:hV";
    int c;
    if (config_load("billing/invoice", &argc, &argv, lo, shorts, also, msg, sizeof msg) < 0)
        return bad(msg);
    opterr = 0;
    optind = 1;
    while ((c = config_getopt(argc, argv, shorts, lo)) != -1) {
        switch (c) {
        case 'm':
            o->month = optarg;
            break;
        case 'c':
            if (!*optarg) return bad("--customer: empty customer id");
            o->customer = optarg;
            break;
        case 'f':
            if (invfmt_parse(optarg, &o->format) < 0) {
                snprintf(msg, sizeof msg, "--format %.100s: expected text, csv, json or html",
                         optarg);
                return bad(msg);
            }
            break;
        case OPT_FINALIZE:
            o->finalize = 1;
            break;
        case OPT_STRICT:
            o->strict = 1;
            break;
        case OPT_GRACE:
            if (edges_duration_parse(optarg, &o->grace_ms) < 0) {
                snprintf(msg, sizeof msg,
                         "--grace %.100s: expected a duration such as 30m, 1h or 2d", optarg);
                return bad(msg);
            }
            break;
        case OPT_FORCE:
            o->force_incomplete = 1;
            break;
        case OPT_REASON:
            o->reason = optarg;
            break;
        case 't':
            if (!*optarg) return bad("--topic: empty topic name");
            o->topic = optarg;
            break;
        case 'o':
            if (!*optarg) return bad("--output: empty directory name");
            o->output = optarg;
            break;
        case OPT_DB:
            o->db = optarg;
            break;
        case OPT_ROLE:
            o->role = optarg;
            o->role_set = 1;
            break;
        case OPT_PREVIEW:
            o->preview = 1;
            break;
        case 'h':
            usage();
            return 0;
        default: {
            int rc = bcmd_opt("invoice", c, argv);
            if (rc >= 0) return rc;
            break;
        }
        }
    }
    if (bcmd_rest("invoice", argc, argv) >= 0) return 2;
    return validate(o);
}

/* Deletes st when it is a draft that this run cannot recompute (--preview: only leaves it out). */
static int drop_stale(run_t *r, const invdb_stored_t *st) {
    if (!st || st->final || r->o->preview) return 0;
    return invdb_delete_draft(r->conn, st, r->err, sizeof r->err);
}

/* invadj_note_fn: late usage that cannot be billed needs attention. */
static int note_late(void *ctx, const char *customer, const char *detail) {
    run_t *r = ctx;
    return invoice_attend(&r->att, "usage_after_final", customer, "%s", detail);
}

/* Customer c's invoice of the month is final: it stays as it is. Late usage of the month is
 * billed on the customer's next draft; what cannot be billed needs attention. */
static int invoice_final(run_t *r, const invdb_customer_t *c) {
    const invadj_month_t *m = invadj_find(&r->adj, c->id, r->s->month);
    char why[1024], q[1100];
    if (!m || !m->changed) return 0;
    if (invadj_unbillable(m, why, sizeof why)) {
        ATTEND(r, "usage_after_final", c->id, "%s", why);
        return 0;
    }
    log_info("late usage after finalization: billed as adjustment lines on the customer's next "
             "draft",
             "customer=%s month=%s invoice=%s hits=%s bytes=%s", log_quote(c->id, q, sizeof q),
             r->s->month, m->number, m->now_hits, m->now_bytes);
    return 0;
}

/* Prices customer c's month (parts, adjustments, tax) into *inv. 1 when priced, 0 when not
 * invoiced (reported), -1 on failure (r->err). */
static int price_customer(run_t *r, const invdb_customer_t *c, const invdb_usage_t *u,
                          invmonth_t *m, pricing_invoice_t *inv, invdb_snapshot_t *snaps,
                          size_t *nsnaps) {
    char perr[PRICING_ERR_MAX];
    const char *mo = r->s->month;
    int k = invmonth_init(m, &r->d, c, r->s->start_s, r->s->end_s, perr, sizeof perr);
    if (k == INVMONTH_INACTIVE) {
        if (u)
            ATTEND(r, "inactive", c->id,
                   "%s hits and %s bytes in %s, a month outside the customer's active days "
                   "(%s to %s): not invoiced",
                   u->hits, u->bytes, mo, c->active_from ? c->active_from : "open",
                   c->active_to ? c->active_to : "open");
        return 0;
    }
    if (k == INVMONTH_NO_PLAN) {
        ATTEND(r, "no_plan", c->id, "no plan in effect in %s (customer_plans): not invoiced", mo);
        return 0;
    }
    if (k < 0 || invmonth_price(m, u ? u->rows : NULL, u ? u->part : NULL, u ? u->nrows : 0, inv,
                                perr, sizeof perr) < 0) {
        ATTEND(r, "cannot_price", c->id, "%s cannot be priced: %s; no invoice written", mo, perr);
        return 0;
    }
    const pricing_plan_t *p = invmonth_plan(m);
    snaps[0] = (invdb_snapshot_t){
        .rows = u ? u->rows : NULL, .part = u ? u->part : NULL, .nrows = u ? u->nrows : 0};
    snprintf(snaps[0].for_month, sizeof snaps[0].for_month, "%s", r->s->first_day);
    *nsnaps = 1;
    if (invadj_bill(&r->adj, &r->d, c, mo, p->currency, p->minor_units, inv, snaps, nsnaps,
                    note_late, r, r->err, sizeof r->err) < 0 ||
        invadj_credit(&r->adj, c->id, p->currency, p->minor_units, inv, note_late, r, r->err,
                      sizeof r->err) < 0)
        return -1;
    if (pricing_close(inv, c->tax_rate, p->minor_units, perr, sizeof perr) < 0) {
        ATTEND(r, "cannot_price", c->id, "%s cannot be priced: %s; no invoice written", mo, perr);
        return 0;
    }
    return 1;
}

/* Customer c's invoice: kept when final, else priced and written. -1 only for database
 * failures (r->err); what cannot be invoiced is reported in r->att. */
static int invoice_customer(run_t *r, const invdb_customer_t *c) {
    const invdb_usage_t *u = invdb_find_usage(&r->d, c->id);
    const invdb_stored_t *st = invdb_find_stored(&r->d, c->id);
    const char *hits = u ? u->hits : "0", *bytes = u ? u->bytes : "0", *m = r->s->month;
    if (!c->plan)
        ATTEND(r, "no_plan", c->id, "customer has no plan: %s hits and %s bytes in %s not invoiced",
               hits, bytes, m);
    if (st && st->final) return invoice_final(r, c);
    if (!c->plan) return drop_stale(r, st);
    if (u && u->too_large) {
        ATTEND(r, "cannot_price", c->id, "a country's usage in %s exceeds 2^64: not invoiced", m);
        return drop_stale(r, st);
    }
    invmonth_t mo = {0};
    pricing_invoice_t inv = {0};
    invdb_snapshot_t snaps[INVDB_LATE_MONTHS + 2];
    size_t nsnaps = 0;
    int rc = price_customer(r, c, u, &mo, &inv, snaps, &nsnaps);
    if (rc <= 0) {
        if (!rc) rc = drop_stale(r, st);
        goto out;
    }
    const invdb_plan_t *last = mo.plans[mo.nparts - 1];
    if (r->o->preview) {
        rc = invoice_preview_keep(r, c, last, &mo, &inv);
        memset(&inv, 0, sizeof inv); /* preview_keep took it over (or fini'd it) */
        goto out;
    }
    invdb_extra_t x = {mo.parts,    mo.nparts, mo.period_from, mo.period_to,
                       c->tax_rate, snaps,     nsnaps};
    invdb_final_t fin = {r->o->finalize, r->incomplete ? r->o->reason : NULL, r->incomplete};
    rc = invdb_save(r->conn, r->s, c, last, &inv, &x, &fin, r->err, sizeof r->err);
out:
    pricing_invoice_fini(&inv);
    invmonth_fini(&mo);
    return rc;
}

static int invoice_all(run_t *r) {
    const invdb_t *d = &r->d;
    for (size_t i = 0; i < d->nusage; i++)
        if (!invdb_find_customer(d, d->usage[i].customer))
            ATTEND(r, "unknown_customer", d->usage[i].customer,
                   "%s hits and %s bytes in %s for a customer id not in customers: not invoiced",
                   d->usage[i].hits, d->usage[i].bytes, r->s->month);
    if (r->o->customer && !d->ncustomers && !d->nusage) {
        snprintf(r->err, sizeof r->err, "no customer %.200s, and no usage of it in %s",
                 r->o->customer, r->s->month);
        return -1;
    }
    for (size_t i = 0; i < d->ncustomers; i++)
        if (invoice_customer(r, &d->customers[i]) < 0) return -1;
    return invadj_old(r->conn, r->s, note_late, r, r->err, sizeof r->err);
}

/* Whether the month is complete (edges.h), in the run's snapshot. --finalize of an incomplete
 * month stops here (r->refused) unless forced; drafts are marked. -1 only on database failure. */
static int check_complete(run_t *r) {
    int oom;
    if (edgesdb_load(r->conn, r->o->topic, r->o->year, r->o->mon, r->o->grace_ms, &r->edges, r->err,
                     sizeof r->err) < 0)
        return -1;
    if (r->o->force_incomplete && r->edges.now_ms < r->edges.end_ms) {
        /* a month still running is never final, forced or not: its usage is not all there.
         * (Unforced, the completeness rule below refuses it: not ended plus the grace.) */
        fprintf(stderr,
                "billing invoice: --finalize: month %s has not ended (it ends %.10sT00:00:00Z, "
                "by the database's clock); only a month that has ended can be finalized; nothing "
                "finalized\n",
                r->s->month, r->s->end);
        r->refused = 1;
        return 0;
    }
    r->incomplete = edgesdb_incomplete(&r->edges, &oom);
    if (oom) {
        snprintf(r->err, sizeof r->err, "out of memory");
        return -1;
    }
    if (!r->incomplete || !r->o->finalize) return 0;
    if (!r->o->force_incomplete) {
        fprintf(stderr,
                "billing invoice: month %s is not complete: %s; nothing finalized (wait, retire "
                "an edge that will never report again with `billing edges retire EDGE`, or "
                "finalize anyway with --force-incomplete --reason TEXT)\n",
                r->s->month, r->incomplete);
        r->refused = 1;
        return 0;
    }
    log_warn("finalizing an incomplete month: the reason is kept with each invoice",
             "month=%s reason=\"%s\" incomplete=\"%s\"", r->s->month, r->o->reason, r->incomplete);
    return 0;
}

/* Drafts say the month is not complete yet; final invoices say what they were finalized with. */
static void mark_incomplete(run_t *r) {
    for (size_t i = 0; i < r->nshow; i++) {
        invfmt_invoice_t *o = &r->show[i];
        if (strcmp(o->status, "final")) o->incomplete = r->incomplete;
    }
}

static int print(const run_t *r, char *err, size_t errlen) {
    switch (r->o->format) {
    case INVFMT_CSV:
        return invfmt_csv(stdout, r->show, r->nshow, err, errlen);
    case INVFMT_JSON:
        return invfmt_json(stdout, r->s->month, r->show, r->nshow, r->att.v, r->att.n, err, errlen);
    case INVFMT_HTML: /* reads the seller and addresses (invoice_doc.h) */
        return invdoc_print(r->conn, r->s->month, r->show, r->nshow, r->o->output, stdout, err,
                            errlen);
    default:
        return invfmt_text(stdout, r->s->month, r->show, r->nshow, err, errlen);
    }
}

int invoice_main(int argc, char **argv) {
    opts_t o = {.role = STORE_WRITER_ROLE,
                .format = INVFMT_TEXT,
                .topic = "hits",
                .grace_ms = EDGES_GRACE_DEFAULT_MS};
    int rc = parse(argc, argv, &o);
    if (rc >= 0) return rc;
    invdb_scope_t s;
    invdb_scope_init(&s, o.year, o.mon, o.customer);
    run_t r = {.o = &o, .s = &s};
    char q[INVOICE_ERR_MAX + 100];
    int committed = 0;

    rc = 1;
    r.conn = store_connect(o.db, "billing invoice", o.role, r.err, sizeof r.err);
    if (!r.conn) {
        log_error("cannot connect", "err=%s", log_quote(r.err, q, sizeof q));
        rc = owner_config_error(r.err) ? 2 : 1; /* no such database, role, password: 2 */
        r.err[0] = 0;
        goto out;
    }
    if ((o.preview ? invdb_begin_read(r.conn, r.err, sizeof r.err)
                   : invdb_begin(r.conn, r.err, sizeof r.err)) < 0 ||
        check_complete(&r) < 0)
        goto out;
    if (r.refused) goto out; /* nothing written: the transaction ends with the connection */
    if (invdb_load(r.conn, &s, &r.d, r.err, sizeof r.err) < 0 ||
        invadj_load(r.conn, &s, &r.adj, r.err, sizeof r.err) < 0 || invoice_all(&r) < 0 ||
        invdb_read(r.conn, &s, &r.d, r.err, sizeof r.err) < 0 ||
        invdb_commit(r.conn, r.err, sizeof r.err) < 0)
        goto out;
    /* Committed: what is printed is what is stored (--preview: what would be). */
    committed = !o.preview;
    r.show = r.d.out, r.nshow = r.d.nout;
    if (o.preview && invoice_preview_merge(&r) < 0) goto out;
    mark_incomplete(&r);
    invoice_attn_log(&r.att);
    if (print(&r, r.err, sizeof r.err) < 0) goto out;
    log_info("invoices done", "month=%s invoices=%zu attention=%zu finalize=%d preview=%d", s.month,
             r.nshow, r.att.n, o.finalize, o.preview);
    rc = o.strict && r.att.n ? 1 : 0;
out:
    if (rc == 1 && r.err[0])
        log_error(committed ? "billing invoice stored the invoices but could not print them"
                            : "billing invoice failed: nothing was written",
                  "month=%s err=%s", s.month, log_quote(r.err, q, sizeof q));
    invoice_preview_free(&r);
    invdb_free(&r.d);
    invadj_free(&r.adj);
    edgesdb_free(&r.edges);
    free(r.incomplete);
    invoice_attn_free(&r.att);
    PQfinish(r.conn);
    return rc;
}
