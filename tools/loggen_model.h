/* loggen_model.h: the traffic loggen writes, and the totals it keeps of it.
 *
 * Demo customers and their hosts, client networks with their geo (read from the test geo
 * database's source list, so every drawn IP resolves to a known country and region), object
 * sizes, statuses and cache results. Every line written is also added to the truth: hits and
 * bytes per customer, per (customer, country, region) and per (customer, UTC hour, country). */
#ifndef LOGGEN_MODEL_H
#define LOGGEN_MODEL_H

#include <stdint.h>
#include <stdio.h>

/* The nginx log_format of the lines written: give it to `collector -f`. */
#define LOGGEN_FORMAT                                                                           \
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $bytes_sent "               \
    "\"$http_referer\" \"$http_user_agent\" $host $upstream_cache_status"

typedef struct model model_t;

/* networks: TSV `network<TAB>country<TAB>subdivision_iso<TAB>subdivision_name`, '#' comments.
 * bad_ratio: share of lines for hosts no customer owns. NULL with errno on failure. */
model_t *model_new(const char *networks, uint64_t seed, double bad_ratio);

/* Writes one line (with '\n') for a request served at ts_ms into buf; returns its length. */
size_t model_line(model_t *m, int64_t ts_ms, char *buf, size_t cap);

/* The totals of every line so far, as JSON. */
int model_write_truth(const model_t *m, const char *path);

/* The collector's host map for the demo customers (`HOST CUSTOMER_ID` lines). */
void model_print_hosts(FILE *f);

void model_free(model_t *m);

#endif
