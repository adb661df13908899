#!/usr/bin/env python3
"""invoice_html_check.py HTML CSV: checks a `billing invoice --format html` document.

Structure: strict UTF-8; <!DOCTYPE html> first; every element closed in order (void elements
aside); one html, head, body, title, <meta charset="utf-8">; nothing that fetches (no script,
link, img, iframe, object, embed, base; no src, href or srcset attribute; no url( or @import in
the CSS). Content: one <article class="invoice"> per invoice of the CSV (same numbers, same
order, same status), its rows in the order usage lines, Subtotal, minimum, adjustment, tax,
Total, and its data-total equal to the CSV's TOTAL amount, as text, byte for byte, and to the
text of that cell. Prints one line per invoice ("NUMBER STATUS TOTAL"); exits 1 naming the first
problem."""
import csv
import re
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
FETCHING = {"script", "link", "img", "iframe", "object", "embed", "base", "video", "audio",
            "source", "picture", "svg"}


def die(msg):
    print("invoice_html_check: " + msg, file=sys.stderr)
    sys.exit(1)


class Doc(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.count, self.doctype, self.first = [], {}, None, True
        self.articles, self.style, self.charset = [], "", False
        self.row = None      # the <tr> being read: [kind, data-total, text]
        self.in_total = False

    def handle_decl(self, decl):
        if not self.first:
            die("the doctype is not first")
        self.doctype = decl
        self.first = False

    def handle_starttag(self, tag, attrs):
        if self.first:
            die("no <!DOCTYPE html> before <%s>" % tag)
        a = dict(attrs)
        self.count[tag] = self.count.get(tag, 0) + 1
        if tag in FETCHING:
            die("<%s> would fetch or run something" % tag)
        for k in ("src", "href", "srcset"):
            if k in a:
                die("<%s %s=...> would fetch something" % (tag, k))
        if tag == "meta" and a.get("charset", "").lower() == "utf-8":
            self.charset = True
        if tag == "article" and "invoice" in a.get("class", "").split():
            self.articles.append({"number": a.get("data-invoice"), "status": a.get("data-status"),
                                  "rows": [], "total": None, "total_text": ""})
        if tag == "tr" and self.articles and self.stack and self.stack[-1] in ("tbody",):
            cls = a.get("class", "").split()
            kind = a.get("data-kind") or ("subtotal" if "subtotal" in cls else
                                          "total" if "total" in cls else None)
            if kind:
                self.articles[-1]["rows"].append(kind)
        if tag == "td" and "data-total" in a:
            if not self.articles:
                die("data-total outside an article")
            self.articles[-1]["total"] = a["data-total"]
            self.in_total = True
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        if tag not in VOID:
            die("<%s/> is not a void element" % tag)
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in VOID:
            die("</%s> closes a void element" % tag)
        if not self.stack or self.stack[-1] != tag:
            die("</%s> closes <%s>" % (tag, self.stack[-1] if self.stack else "nothing"))
        self.stack.pop()
        if tag == "td":
            self.in_total = False

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "style":
            self.style += data
        if self.in_total:
            self.articles[-1]["total_text"] += data


def main():
    html_path, csv_path = sys.argv[1], sys.argv[2]
    raw = open(html_path, "rb").read()
    try:
        text = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        die("not valid UTF-8: %s" % e)
    d = Doc()
    d.feed(text)
    d.close()
    if d.stack:
        die("unclosed at the end: %s" % " ".join(d.stack))
    if (d.doctype or "").lower() != "doctype html":
        die("doctype is %r" % d.doctype)
    for tag in ("html", "head", "body", "title"):
        if d.count.get(tag) != 1:
            die("%d <%s> elements" % (d.count.get(tag, 0), tag))
    if not d.charset:
        die('no <meta charset="utf-8">')
    if "url(" in d.style or "@import" in d.style:
        die("the CSS fetches something")

    rows = list(csv.DictReader(open(csv_path, newline="", encoding="utf-8")))
    want = [(r["invoice"], r["status"], r["amount"]) for r in rows if r["description"] == "TOTAL"]
    got = [(a["number"], a["status"], a["total"]) for a in d.articles]
    if got != want:
        die("invoices (number, status, total) differ:\n html %s\n csv  %s" % (got, want))
    order = re.compile(r"^(usage )*subtotal (minimum )*(adjustment )*(tax )*total $")
    for a in d.articles:
        if a["total_text"] != a["total"]:
            die("%s: the total cell shows %r, data-total is %r" % (a["number"], a["total_text"],
                                                                  a["total"]))
        if not order.match("".join(k + " " for k in a["rows"])):
            die("%s: rows out of order: %s" % (a["number"], " ".join(a["rows"])))
        print("%s %s %s" % (a["number"], a["status"], a["total"]))


if __name__ == "__main__":
    main()
