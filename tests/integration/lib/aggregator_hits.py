#!/usr/bin/env python3
"""Known hit records for the aggregator's integration tests, stamped around now, and the truth.

usage: aggregator_hits.py --hits N [--customers C] [--seed S] [--spread-ms MS] [--late L]
                          [--future F] [--bad] --truth FILE > stream.tsv

Writes `CUSTOMER<TAB>JSON` lines (kcat -K '\\t' input), as the collector publishes them: N hits
of C customers (cust00, cust01, ...; plus acme and globex) whose `ts` is now minus up to MS
milliseconds, over a few countries and regions (some with non-ASCII names, some ""); then L late
hits (5 minutes old), F future hits (10 minutes ahead) and, with --bad, one record of each kind
the aggregator must refuse. --truth FILE gets JSON:
  {"now_ms", "hits", "bytes", "late", "future", "bad": {reason: count},
   "customers": {id: {"hits", "bytes", "countries": [[cc, hits, bytes]],
                      "regions": [[cc, region, hits, bytes]]}}}   (lists sorted)
where the totals count only the hits that belong in a window.
"""
import argparse
import json
import random
import sys
import time

GEO = [("US", "CA"), ("US", "NY"), ("US", ""), ("DE", "BY"), ("BR", "São Paulo"),
       ("JP", "13"), ("ZZ", ""), ("FR", "IDF")]


def record(ts, cust, nbytes, country, region, off, src="it-src", **extra):
    # (edge, src, off) names one log line for ever (CONTRACT.md): the aggregator drops a record
    # whose line it counted before, so each stream has a source of its own.
    r = {"v": 1, "ts": ts, "customer": cust, "host": "cdn.%s.example" % cust,
         "bytes": nbytes, "status": 200, "country": country, "region": region,
         "edge": "e1", "src": src, "off": off}
    r.update(extra)
    return json.dumps(r, separators=(",", ":"), ensure_ascii=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hits", type=int, required=True)
    ap.add_argument("--customers", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--spread-ms", type=int, default=5000)
    ap.add_argument("--late", type=int, default=0)
    ap.add_argument("--future", type=int, default=0)
    ap.add_argument("--bad", action="store_true")
    ap.add_argument("--truth", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    now = int(time.time() * 1000)
    custs = ["acme", "globex"] + ["cust%02d" % i for i in range(a.customers)]
    truth = {"now_ms": now, "hits": 0, "bytes": 0, "late": a.late, "future": a.future,
             "bad": {}, "customers": {}}
    geo = {}
    out = sys.stdout
    off = 0
    src = "it-src-%d-%d" % (a.seed, now)
    for _ in range(a.hits):
        c = rng.choice(custs)
        cc, reg = rng.choice(GEO)
        # bytes up to 2^40 now and then: sums must stay exact far beyond 2^32
        nbytes = rng.randint(0, 1 << 40) if rng.random() < 0.01 else rng.randint(0, 2_000_000)
        ts = now - rng.randint(0, a.spread_ms)
        off += 1
        out.write("%s\t%s\n" % (c, record(ts, c, nbytes, cc, reg, off, src)))
        t = truth["customers"].setdefault(c, {"hits": 0, "bytes": 0})
        t["hits"] += 1
        t["bytes"] += nbytes
        truth["hits"] += 1
        truth["bytes"] += nbytes
        g = geo.setdefault(c, {}).setdefault((cc, reg), [0, 0])
        g[0] += 1
        g[1] += nbytes
    for _ in range(a.late):
        off += 1
        out.write("acme\t%s\n" % record(now - 300_000, "acme", 7, "US", "CA", off, src))
    for _ in range(a.future):
        off += 1
        out.write("acme\t%s\n" % record(now + 600_000, "acme", 7, "US", "CA", off, src))
    if a.bad:
        bad = {
            "syntax": '{"v":1,"ts":%d,"customer":"acme"' % now,
            "missing": json.dumps({"v": 1, "ts": now, "customer": "acme"}),
            "type": record(now, "acme", 1, "US", "CA", 1).replace('"bytes":1', '"bytes":"1"'),
            "version": record(now, "acme", 1, "US", "CA", 1, v=2),
            "bytes": record(now, "acme", 10 ** 14, "US", "CA", 1),
            # billing refuses a lower-case country: so must the live window (hitcheck.h)
            "country": record(now, "acme", 1, "us", "CA", 1),
        }
        for reason, value in bad.items():
            out.write("acme\t%s\n" % value)
            truth["bad"][reason] = 1
    for c, t in truth["customers"].items():
        countries = {}
        for (cc, reg), (h, b) in geo[c].items():
            x = countries.setdefault(cc, [0, 0])
            x[0] += h
            x[1] += b
        t["regions"] = sorted([cc, reg, h, b] for (cc, reg), (h, b) in geo[c].items())
        t["countries"] = sorted([cc, h, b] for cc, (h, b) in countries.items())
    with open(a.truth, "w") as f:
        json.dump(truth, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
