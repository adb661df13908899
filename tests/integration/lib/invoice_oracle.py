#!/usr/bin/env python3
"""An invoice total computed independently of `billing invoice`, for the end-to-end test.

usage: invoice_oracle.py TRUTH.json CUSTOMER YYYY-MM ZONES.json TIERS.json MINIMUM PRICE_PER_10K DECIMALS
       invoice_oracle.py --spec SPEC.json

The second form (test_billing_finance.sh) prices one month of one customer with the finance rules
of the README: the month cut into parts at plan changes (each part priced alone, tiers from 0 GB),
each part's minimum commit prorated by its active hours over the month's hours and rounded
half-to-even once, late usage of earlier months as the difference of their totals (all usage now
minus usage billed; less usage is a credit), a credit brought forward from the last final invoice
subtracted, the rest carried forward when that leaves the invoice below 0 (so it is 0), and tax
on subtotal + top-up + adjustments (what is left). SPEC:
  {"decimals": 2, "month": "2026-11", "tax_rate": "0.2",
   "active_from": "2026-11-16" | null, "active_to": "2026-11-30" | null,
   "parts": [{"from": "2026-11-01T00", "plan": PLAN}, ...]   (sorted; the first covers the 1st)
   "usage": [{"hour": "2026-11-03T05", "country": "US", "hits": 1, "bytes": 2}, ...],
   "late": [{"month": "2026-10", "parts": [...], "billed": [usage...], "usage": [usage...]}, ...],
   "credit_brought": "2.50"}   (optional: the credit the last final invoice carried forward)
  PLAN: {"minimum": "100", "per10k": "0.01", "zones": {"US": "na", "*": "w"},
         "tiers": [{"zone": "w", "from_gb": "0", "price_per_gb": "0.1"}, ...]}
It prints {"subtotal", "topup", "adjustments", "tax", "total", "carried"} as JSON strings
(adjustments: every adjustment line, the credit lines included; carried: the credit carried
forward to the next invoice).

From loggen's truth (hits and bytes per customer, UTC hour and country) and the plan: one line
per (zone, tier) with usage, GB = 10^9 bytes exactly, one line for requests (hits / 10,000 x
price), each rounded half-to-even to DECIMALS, summed, and topped up to the minimum commit.
Python's decimal module does the arithmetic: no floating point anywhere.
"""
import datetime
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


def price_lines(plan, rows, quantum):
    """Rounded usage line amounts of one part priced alone."""
    zones, tiers = plan["zones"], {}
    for t in plan["tiers"]:
        tiers.setdefault(t["zone"], []).append((Decimal(t["from_gb"]), Decimal(t["price_per_gb"])))
    by_zone, hits = {}, 0
    for r in rows:
        z = zones.get(r["country"], zones.get("*"))
        by_zone[z] = by_zone.get(z, 0) + r["bytes"]
        hits += r["hits"]
    out = []
    for z, b in by_zone.items():
        gb = Decimal(b) / Decimal(10**9)
        steps = sorted(tiers[z])
        for i, (start, price) in enumerate(steps):
            end = steps[i + 1][0] if i + 1 < len(steps) else None
            qty = (min(gb, end) if end is not None else gb) - start
            if qty > 0:
                out.append((qty * price).quantize(quantum, rounding=ROUND_HALF_EVEN))
    if hits:
        out.append((Decimal(hits) / 10000 * Decimal(plan["per10k"])).quantize(quantum, rounding=ROUND_HALF_EVEN))
    return out


def hour_of(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H").replace(tzinfo=datetime.timezone.utc)


def price_month(month, parts, rows, active_from, active_to, quantum):
    """(subtotal, topup) of one month: parts priced alone, minimums prorated by active hours."""
    start = datetime.datetime.strptime(month + "-01", "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
    end = (start + datetime.timedelta(days=32)).replace(day=1)
    a0 = max(start, datetime.datetime.fromisoformat(active_from + "T00:00+00:00")) if active_from else start
    a1 = min(end, datetime.datetime.fromisoformat(active_to + "T00:00+00:00") + datetime.timedelta(days=1)) if active_to else end
    month_hours = int((end - start).total_seconds() // 3600)
    subtotal, topup = Decimal(0), Decimal(0)
    for i, part in enumerate(parts):
        p0 = max(start, hour_of(part["from"]))
        p1 = min(end, hour_of(parts[i + 1]["from"])) if i + 1 < len(parts) else end
        mine = [r for r in rows if p0 <= hour_of(r["hour"]) < p1]
        lines = price_lines(part["plan"], mine, quantum)
        hours = max(0, int((min(p1, a1) - max(p0, a0)).total_seconds() // 3600))
        minimum = (Decimal(part["plan"]["minimum"]) * hours / month_hours).quantize(quantum, rounding=ROUND_HALF_EVEN)
        sub = sum(lines, Decimal(0))
        subtotal += sub
        topup += max(Decimal(0), minimum - sub)
    return subtotal, topup


def spec_main(path):
    spec = json.load(open(path))
    quantum = Decimal(1).scaleb(-int(spec["decimals"]))
    af, at = spec.get("active_from"), spec.get("active_to")
    subtotal, topup = price_month(spec["month"], spec["parts"], spec["usage"], af, at, quantum)
    adjustments = Decimal(0)
    for late in spec.get("late", []):
        now = sum(price_month(late["month"], late["parts"], late["usage"], af, at, quantum))
        billed = sum(price_month(late["month"], late["parts"], late["billed"], af, at, quantum))
        adjustments += now - billed
    adjustments -= Decimal(spec.get("credit_brought", "0"))
    carried = max(Decimal(0), -(subtotal + topup + adjustments))
    adjustments += carried
    tax = ((subtotal + topup + adjustments) * Decimal(spec.get("tax_rate", "0"))).quantize(quantum, rounding=ROUND_HALF_EVEN)
    total = subtotal + topup + adjustments + tax
    print(json.dumps({k: str(v.quantize(quantum)) for k, v in
                      (("subtotal", subtotal), ("topup", topup), ("adjustments", adjustments), ("tax", tax), ("total", total),
                       ("carried", carried))}))


if len(sys.argv) == 3 and sys.argv[1] == "--spec":
    spec_main(sys.argv[2])
else:
    main()
