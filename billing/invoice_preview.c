/* invoice_preview.c: what needs attention, and the invoices --preview priced (see
 * invoice_int.h). */
#include "invoice_int.h"

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- attention ------------------------------------------------------------------------------ */

int invoice_attend(attn_t *a, const char *kind, const char *customer, const char *fmt, ...) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        invfmt_attention_t *v = realloc(a->v, cap * sizeof *v);
        if (!v) return -1;
        a->v = v;
        a->cap = cap;
    }
    char *detail = NULL, *cust = strdup(customer);
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&detail, fmt, ap);
    va_end(ap);
    if (r < 0 || !cust) {
        free(cust);
        if (r >= 0) free(detail);
        return -1;
    }
    a->v[a->n++] = (invfmt_attention_t){kind, cust, detail};
    return 0;
}

void invoice_attn_free(attn_t *a) {
    for (size_t i = 0; i < a->n; i++) {
        free((char *)a->v[i].customer);
        free((char *)a->v[i].detail);
    }
    free(a->v);
}

void invoice_attn_log(const attn_t *a) {
    char q1[1100], q2[2100];
    for (size_t i = 0; i < a->n; i++)
        log_warn("needs attention", "kind=%s customer=%s detail=%s", a->v[i].kind,
                 log_quote(a->v[i].customer, q1, sizeof q1),
                 log_quote(a->v[i].detail, q2, sizeof q2));
}

/* --preview: keeps customer c's invoice priced as *inv (taken over: fini'd here on failure) as
 * the stored draft would print. Customers come in order, so r->pv is in customer order. */
int invoice_preview_keep(run_t *r, const invdb_customer_t *c, const invdb_plan_t *plan,
                         const invmonth_t *m, pricing_invoice_t *inv) {
    preview_t *pv = realloc(r->pv, (r->npv + 1) * sizeof *pv);
    invfmt_line_t *lines = calloc(inv->nlines + 1, sizeof *lines);
    char *number = NULL;
    if (pv) r->pv = pv;
    if (!pv || !lines || !(number = invdb_number(r->s, c->id))) {
        free(lines);
        pricing_invoice_fini(inv);
        snprintf(r->err, sizeof r->err, "out of memory");
        return -1;
    }
    preview_t *p = &r->pv[r->npv++];
    *p = (preview_t){.inv = *inv, .number = number, .lines = lines};
    snprintf(p->period_from, sizeof p->period_from, "%s", m->period_from);
    snprintf(p->period_to, sizeof p->period_to, "%s", m->period_to);
    for (size_t i = 0; i < p->inv.nlines; i++) {
        const pricing_line_t *l = &p->inv.lines[i];
        lines[i] = (invfmt_line_t){(int)i + 1,
                                   l->description,
                                   l->quantity,
                                   l->unit,
                                   l->unit_price,
                                   l->amount,
                                   l->zone ? l->zone : "",
                                   pricing_kind_name(l->kind)};
    }
    /* subtotal and total are set by preview_merge: they live in r->pv, which may still move */
    p->out = (invfmt_invoice_t){.number = number,
                                .customer = c->id,
                                .customer_name = c->name,
                                .month = r->s->month,
                                .plan = plan->id,
                                .currency = plan->p.currency,
                                .status = "preview",
                                .finalized_at = "",
                                .lines = lines,
                                .nlines = p->inv.nlines,
                                .seq = "",
                                .issue_date = "",
                                .due_date = "",
                                .tax_rate = c->tax_rate};
    return 0;
}

/* --preview prints the final invoices read back and the priced ones, merged in customer order
 * (both are sorted by byte order; a customer is in one list at most: a final invoice is never
 * priced). Stale drafts read back are left out: this run would have replaced or deleted them. */
int invoice_preview_merge(run_t *r) {
    const invdb_t *d = &r->d;
    r->nshow = 0;
    r->show = calloc(d->nout + r->npv + 1, sizeof *r->show);
    if (!r->show) {
        snprintf(r->err, sizeof r->err, "out of memory");
        return -1;
    }
    size_t i = 0, j = 0;
    for (size_t k = 0; k < r->npv; k++) { /* r->pv no longer moves: point into it now */
        preview_t *p = &r->pv[k];
        p->out.subtotal = p->inv.subtotal;
        p->out.total = p->inv.total;
        p->out.topup = p->inv.topup;
        p->out.adjustments = p->inv.adjustments;
        p->out.credit_carried = p->inv.carried;
        p->out.tax = p->inv.tax;
        p->out.period_from = p->period_from;
        p->out.period_to = p->period_to;
    }
    while (i < d->nout || j < r->npv) {
        if (i < d->nout && strcmp(d->out[i].status, "final")) {
            i++;
            continue;
        }
        if (j == r->npv || (i < d->nout && strcmp(d->out[i].customer, r->pv[j].out.customer) < 0))
            r->show[r->nshow++] = d->out[i++];
        else
            r->show[r->nshow++] = r->pv[j++].out;
    }
    return 0;
}

void invoice_preview_free(run_t *r) {
    for (size_t i = 0; i < r->npv; i++) {
        pricing_invoice_fini(&r->pv[i].inv);
        free(r->pv[i].number);
        free(r->pv[i].lines);
    }
    free(r->pv);
    if (r->o->preview) free(r->show);
}
