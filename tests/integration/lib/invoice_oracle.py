#!/usr/bin/env python3
"""An invoice total computed independently of `billing invoice`, for the end-to-end test.

usage: invoice_oracle.py TRUTH.json CUSTOMER YYYY-MM ZONES.json TIERS.json MINIMUM PRICE_PER_10K DECIMALS

From loggen's truth (hits and bytes per customer, UTC hour and country) and the plan: one line
per (zone, tier) with usage, GB = 10^9 bytes exactly, one line for requests (hits / 10,000 x
price), each rounded half-to-even to DECIMALS, summed, and topped up to the minimum commit.
Python's decimal module does the arithmetic: no floating point anywhere.
"""
import json
import sys
from decimal import ROUND_HALF_EVEN, Decimal, getcontext

getcontext().prec = 60


def main():
    truth, customer, month, zones_f, tiers_f, minimum, per10k, decimals = sys.argv[1:]
    quantum = Decimal(1).scaleb(-int(decimals))
    zones = {z["country"]: z["zone"] for z in json.load(open(zones_f))}
    tiers = {}
    for t in json.load(open(tiers_f)):
        tiers.setdefault(t["zone"], []).append((Decimal(str(t["from_gb"])), Decimal(str(t["price_per_gb"]))))
    bytes_by_zone, hits = {}, 0
    for row in json.load(open(truth))["hourly"]:
        if row["customer"] != customer or not row["hour"].startswith(month + "-"):
            continue
        zone = zones.get(row["country"], zones.get("*"))
        bytes_by_zone[zone] = bytes_by_zone.get(zone, 0) + row["bytes"]
        hits += row["hits"]
    lines = []
    for zone, b in bytes_by_zone.items():
        gb = Decimal(b) / Decimal(10**9)
        steps = sorted(tiers[zone])
        for i, (start, price) in enumerate(steps):
            end = steps[i + 1][0] if i + 1 < len(steps) else None
            qty = (min(gb, end) if end is not None else gb) - start
            if qty > 0:
                lines.append((qty * price).quantize(quantum, rounding=ROUND_HALF_EVEN))
    if hits:
        lines.append((Decimal(hits) / Decimal(10000) * Decimal(per10k)).quantize(quantum, rounding=ROUND_HALF_EVEN))
    total = sum(lines, Decimal(0))
    minimum = Decimal(minimum)
    if total < minimum:
        total = minimum.quantize(quantum)
    print(total.quantize(quantum))


main()
