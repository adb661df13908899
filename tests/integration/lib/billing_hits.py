#!/usr/bin/env python3
"""A known stream of hit records for billing's integration tests, and its truth.

usage: billing_hits.py --hits N [--seed S] [--start ISO] [--span-s S] [--replays R] [--bad B]
                       [--rate R] [--src-tag TAG] [--truth FILE] > stream.tsv

Writes `CUSTOMER<TAB>JSON` lines (kcat -K '\\t' input) as the collector would publish them:
several edges, each with several log sources (src) whose lines carry increasing byte offsets
(off), interleaved; the customer (the message key) of each line is drawn at random, one of them
absent from `customers`. Then, like a collector restarting after a crash, R replays: a source's
lines sent again from an earlier line up to its latest, identical records. B bad records of every
kind billing must reject. Timestamps cover [start, start + span), by default across the
boundary between last month and this one (UTC): billing refuses hits far from the Kafka
message timestamp (kcat stamps messages with the time they are produced), so the stream is
dated near now.

--truth FILE gets JSON: `usage`, the rows usage_hourly must hold ("customer|hour|country|hits|
bytes", hour as YYYY-MM-DDTHH:00:00Z, sorted), and the counts (`hits` distinct, `duplicates`,
`rejected` by reason). --rate R paces the output at about R lines per second (0: at once).
"""
import argparse
import datetime
import json
import random
import sys
import time

# Every id follows the customer-id rule (common/custid.h): billing rejects any other ("customer").
CUSTOMERS = ["acme", "globex", "umbrella", "initech", "hooli", "ghost-not-in-customers",
             "odd.Cust_1-x"]
COUNTRIES = ["US", "DE", "FR", "JP", "BR", "ZZ", "GB", "IN"]


def record(ts, cust, nbytes, country, edge, src, off):
    return json.dumps({"v": 1, "ts": ts, "customer": cust, "host": "cdn.%s.example" % cust[:5],
                       "bytes": nbytes, "status": 200, "country": country, "region": "",
                       "edge": edge, "src": src, "off": off}, separators=(",", ":"))


def bad_records(rng, base_ms):
    """(reason, key, value) of records billing must reject, one of each kind per call."""
    good = json.loads(record(base_ms, "acme", 1, "US", "e0", "bad-src", 1))
    yield "syntax", "acme", '{"v":1,"ts":'
    yield "syntax", "acme", "not json at all"
    m = dict(good)
    del m["bytes"]
    yield "missing", "acme", json.dumps(m)
    t = dict(good, bytes="12")
    yield "type", "acme", json.dumps(t)
    yield "range", "acme", json.dumps(dict(good, bytes=-5))
    yield "version", "acme", json.dumps(dict(good, v=2))
    yield "country", "acme", json.dumps(dict(good, country="us"))
    yield "range", "acme", json.dumps(dict(good, ts=-1000))
    yield "timestamp", "acme", json.dumps(dict(good, ts=0))
    yield "customer", "acme+eu", json.dumps(dict(good, customer="acme+eu"))


def default_start():
    """1 h 30 min before the first instant of this month, UTC."""
    now = datetime.datetime.now(datetime.timezone.utc)
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first - datetime.timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hits", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", default=default_start())
    ap.add_argument("--span-s", type=int, default=3 * 3600)
    ap.add_argument("--edges", type=int, default=3)
    ap.add_argument("--sources", type=int, default=4, help="per edge")
    ap.add_argument("--replays", type=int, default=10)
    ap.add_argument("--bad", type=int, default=1, help="sets of bad records")
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--src-tag", default="", help="appended to every src (distinct streams)")
    ap.add_argument("--truth")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    start = datetime.datetime.fromisoformat(a.start.replace("Z", "+00:00"))
    start_ms = int(start.timestamp() * 1000)

    sources = [("edge%d" % e, "/var/log/nginx/access.log@%d.%d%s" % (e, s, a.src_tag))
               for e in range(a.edges) for s in range(a.sources)]
    sent = {src: [] for src in sources}  # the lines of each source so far: (key, value)
    next_off = {src: 0 for src in sources}
    usage, seen = {}, set()
    out = []
    # Where the replays and bad records go in the stream.
    replay_at = set(rng.sample(range(1, a.hits), min(a.replays, a.hits - 1))) if a.hits > 1 else set()
    bad_at = set(rng.sample(range(a.hits), min(a.bad, a.hits)))
    duplicates, rejected = 0, {}
    for i in range(a.hits):
        if i in bad_at:
            for reason, key, value in bad_records(rng, start_ms):
                out.append((key, value))
                rejected[reason] = rejected.get(reason, 0) + 1
        if i in replay_at:
            src = rng.choice([s for s in sources if sent[s]])
            lines = sent[src]
            back = rng.randint(1, min(len(lines), 200))
            for key, value in lines[-back:]:
                out.append((key, value))
                duplicates += 1
        src = rng.choice(sources)
        cust = rng.choice(CUSTOMERS)
        ts = start_ms + rng.randrange(a.span_s * 1000)
        nbytes = rng.choice([0, rng.randrange(1, 2000), rng.randrange(1, 5 * 10**6)])
        country = rng.choice(COUNTRIES)
        off = next_off[src]
        next_off[src] += rng.randrange(60, 400)
        value = record(ts, cust, nbytes, country, src[0], src[1], off)
        sent[src].append((cust, value))
        out.append((cust, value))
        assert (src, off) not in seen
        seen.add((src, off))
        hour = datetime.datetime.fromtimestamp(ts // 3600000 * 3600, datetime.timezone.utc)
        k = (cust, hour.strftime("%Y-%m-%dT%H:00:00Z"), country)
        h, b = usage.get(k, (0, 0))
        usage[k] = (h + 1, b + nbytes)

    t0 = time.monotonic()
    for n, (key, value) in enumerate(out):
        sys.stdout.write("%s\t%s\n" % (key, value))
        if a.rate > 0 and n % 100 == 99:
            sys.stdout.flush()
            ahead = (n + 1) / a.rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
    sys.stdout.flush()
    if a.truth:
        rows = ["%s|%s|%s|%d|%d" % (c, h, co, v[0], v[1])
                for (c, h, co), v in sorted(usage.items(), key=lambda kv: (kv[0][0].encode(), kv[0][1], kv[0][2]))]
        with open(a.truth, "w") as f:
            json.dump({"usage": rows, "hits": a.hits, "duplicates": duplicates,
                       "records": len(out), "rejected": rejected,
                       "bytes": sum(v[1] for v in usage.values())}, f)


if __name__ == "__main__":
    main()
