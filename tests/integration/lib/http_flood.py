#!/usr/bin/env python3
"""http_flood.py: holds a flood of idle and slow sockets against an HTTP server on loopback while
a normal client queries it, and says whether the normal client was answered in time.

  http_flood.py --port P --path PATH [--token T] [--idle N] [--slow N] [--hold S]

Idle sockets connect and send nothing; slow sockets send a request line and then one byte of a
header every --slow-every seconds, never finishing the head (each byte would reset an idle
timeout). They come from --idle-addrs / --slow-addrs (127.x addresses, so per-address limits
apply), and a socket the server closes is opened again (a persistent attacker), at most
--reopen-rate a second and --max-reopen times in all. Meanwhile the normal client, from 127.0.0.1, asks PATH every
--every seconds twice: on its kept-alive connection (opened again, once, when the server closed
it, as browsers do) and on a new connection. Bounded: --hold seconds.

Prints one JSON object: the latency of every normal query (max, p50), failures, how long the
longest-lived slow socket stayed open, reopen counts. Exit status 0 when every normal query got
a 200 within --limit seconds, else 1.
"""
import argparse
import http.client
import json
import resource
import selectors
import socket
import sys
import time


def connect(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(True)
    s.bind((addr, 0))
    s.settimeout(2)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    return s


class Flood:
    def __init__(self, a):
        self.a = a
        self.sel = selectors.DefaultSelector()
        self.reopened = 0
        self.failed_connects = 0
        self.slow_life_max = 0.0  # longest a slow socket stayed open, seconds
        self.idle_closed = 0
        self.slow_closed = 0
        self.pending = []  # (kind, addr) of sockets the server closed, to open again
        self.t_rate = time.monotonic()

    def open(self, kind, addr):
        try:
            s = connect(addr, self.a.port)
        except OSError:
            self.failed_connects += 1
            return
        st = {"kind": kind, "addr": addr, "t0": time.monotonic(), "next": 0.0, "sent": 0}
        if kind == "slow":
            s.send(("GET %s HTTP/1.1\r\nHost: flood\r\n" % self.a.path).encode())
            st["next"] = time.monotonic() + self.a.slow_every
        self.sel.register(s, selectors.EVENT_READ, st)

    def start(self):
        ia, sa = self.a.idle_addrs.split(","), self.a.slow_addrs.split(",")
        for i in range(self.a.idle):
            self.open("idle", ia[i % len(ia)])
        for i in range(self.a.slow):
            self.open("slow", sa[i % len(sa)])

    def closed(self, key):
        st = key.data
        self.sel.unregister(key.fileobj)
        key.fileobj.close()
        life = time.monotonic() - st["t0"]
        if st["kind"] == "slow":
            self.slow_closed += 1
            self.slow_life_max = max(self.slow_life_max, life)
        else:
            self.idle_closed += 1
        self.pending.append((st["kind"], st["addr"]))

    def reopen(self):
        now = time.monotonic()
        budget = int((now - self.t_rate) * self.a.reopen_rate)
        if budget <= 0:
            return
        self.t_rate = now
        while self.pending and budget > 0 and self.reopened < self.a.max_reopen:
            kind, addr = self.pending.pop(0)
            self.reopened += 1
            budget -= 1
            self.open(kind, addr)

    def step(self, timeout):
        self.reopen()
        for key, _ in self.sel.select(timeout):
            try:
                d = key.fileobj.recv(4096)
            except OSError:
                d = b""
            if not d:
                self.closed(key)
        now = time.monotonic()
        for key in list(self.sel.get_map().values()):
            st = key.data
            if st["kind"] == "slow" and now >= st["next"]:
                st["next"] = now + self.a.slow_every
                try:
                    key.fileobj.send(b"X-Slow: aaaaaaaaaa\r\n"[st["sent"] % 20:][:1])
                    st["sent"] += 1
                except OSError:
                    self.closed(key)

    def open_count(self):
        return len(self.sel.get_map())


class Client:
    """The normal client: a kept-alive connection plus a fresh one per round."""

    def __init__(self, a):
        self.a = a
        self.kept = None
        self.lat = []
        self.fails = []
        self.kept_reconnects = 0

    def ask(self, conn):
        h = {"Authorization": "Bearer " + self.a.token} if self.a.token else {}
        conn.request("GET", self.a.path, headers=h)
        r = conn.getresponse()
        r.read()
        return r.status

    def new_conn(self):
        c = http.client.HTTPConnection("127.0.0.1", self.a.port, timeout=self.a.limit + 1,
                                       source_address=("127.0.0.1", 0))
        c.connect()
        return c

    def query(self, kept):
        t0 = time.monotonic()
        status = None
        try:
            if kept:
                if self.kept is None:
                    self.kept = self.new_conn()
                try:
                    status = self.ask(self.kept)
                except (http.client.HTTPException, OSError):
                    self.kept.close()  # closed by the server meanwhile: a browser asks again
                    self.kept_reconnects += 1
                    self.kept = self.new_conn()
                    status = self.ask(self.kept)
            else:
                c = self.new_conn()
                status = self.ask(c)
                c.close()
        except (http.client.HTTPException, OSError) as e:
            status = repr(e)
        dt = time.monotonic() - t0
        self.lat.append(dt)
        if status != 200 or dt > self.a.limit:
            self.fails.append({"kept": kept, "status": status, "s": round(dt, 3)})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--token", default="")
    p.add_argument("--idle", type=int, default=512)
    p.add_argument("--slow", type=int, default=256)
    p.add_argument("--idle-addrs", default="127.0.1.1,127.0.1.2,127.0.1.3,127.0.1.4,"
                   "127.0.1.5,127.0.1.6,127.0.1.7,127.0.1.8")
    p.add_argument("--slow-addrs", default="127.0.2.1,127.0.2.2,127.0.2.3,127.0.2.4")
    p.add_argument("--slow-every", type=float, default=1.0)
    p.add_argument("--hold", type=float, default=15)
    p.add_argument("--every", type=float, default=0.5)
    p.add_argument("--limit", type=float, default=1.0)
    p.add_argument("--max-reopen", type=int, default=20000)
    p.add_argument("--reopen-rate", type=float, default=500)
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = a.idle + a.slow + 256
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))

    f = Flood(a)
    t_start = time.monotonic()
    f.start()
    held_at_start = f.open_count()
    cl = Client(a)
    end = time.monotonic() + a.hold
    next_q = time.monotonic()
    while time.monotonic() < end:
        f.step(0.05)
        if time.monotonic() >= next_q:
            cl.query(True)
            cl.query(False)
            next_q = time.monotonic() + a.every
    lat = sorted(cl.lat)
    out = {
        "flood_open_at_start": held_at_start,
        "flood_open_at_end": f.open_count(),
        "flood_setup_s": None,
        "queries": len(lat),
        "latency_max_s": round(lat[-1], 3) if lat else None,
        "latency_p50_s": round(lat[len(lat) // 2], 3) if lat else None,
        "failures": cl.fails[:10],
        "kept_reconnects": cl.kept_reconnects,
        "idle_closed_by_server": f.idle_closed,
        "slow_closed_by_server": f.slow_closed,
        "slow_life_max_s": round(f.slow_life_max, 2),
        "reopened": f.reopened,
        "failed_connects": f.failed_connects,
        "seconds": round(time.monotonic() - t_start, 1),
    }
    del out["flood_setup_s"]
    print(json.dumps(out))
    return 0 if lat and not cl.fails else 1


if __name__ == "__main__":
    sys.exit(main())
