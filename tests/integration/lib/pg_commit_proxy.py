#!/usr/bin/env python3
"""A PostgreSQL proxy that loses chosen COMMITs, for billing's "COMMIT outcome unknown" test.

usage: pg_commit_proxy.py LISTEN_DIR SERVER_SOCKET PLAN

Listens on LISTEN_DIR/.s.PGSQL.5432 (libpq: host=LISTEN_DIR port=5432) and relays every
connection to the server's unix socket SERVER_SOCKET. It counts the COMMITs clients send as
simple queries (libpq's PQexec("COMMIT")); PLAN says what happens to some of them, e.g.
"3:reply,6:request":
  N:reply    the Nth COMMIT reaches the server, which commits; its answer is thrown away and
             the connection closed: the client cannot know that it landed.
  N:request  the Nth COMMIT is thrown away and the connection closed: the server rolls back;
             the client cannot know that either.
Prints one line per lost COMMIT on stdout ("lost N reply"), flushed.
"""
import os
import socket
import struct
import sys
import threading

lock = threading.Lock()
commits = 0


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def relay_server(srv, cli, state):
    """Server -> client, until either side closes; drops everything once state['mute']."""
    try:
        while True:
            data = srv.recv(65536)
            if not data:
                break
            if state["mute"]:
                state["answered"].set()
                continue
            cli.sendall(data)
    except OSError:
        pass
    state["answered"].set()


def handle(cli, server_path, plan):
    global commits
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.connect(server_path)
    state = {"mute": False, "answered": threading.Event()}
    threading.Thread(target=relay_server, args=(srv, cli, state), daemon=True).start()
    try:
        # startup packet: length (including itself) and body, no type byte
        head = read_exact(cli, 4)
        n = struct.unpack("!I", head)[0]
        srv.sendall(head + read_exact(cli, n - 4))
        while True:
            t = read_exact(cli, 1)
            head = read_exact(cli, 4)
            body = read_exact(cli, struct.unpack("!I", head)[0] - 4)
            what = None
            if t == b"Q" and body.rstrip(b"\0").strip().upper() == b"COMMIT":
                with lock:
                    commits += 1
                    what = plan.get(commits)
                    num = commits
            if what == "request":
                print("lost %d request" % num, flush=True)
                break
            if what == "reply":
                state["mute"] = True
                srv.sendall(t + head + body)
                state["answered"].wait(10)  # the server has answered: it committed
                print("lost %d reply" % num, flush=True)
                break
            srv.sendall(t + head + body)
    except (EOFError, OSError):
        pass
    for s in (cli, srv):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


def main():
    listen_dir, server_path, plan_text = sys.argv[1:4]
    plan = {}
    for item in filter(None, plan_text.split(",")):
        k, v = item.split(":")
        plan[int(k)] = v
    path = os.path.join(listen_dir, ".s.PGSQL.5432")
    if os.path.exists(path):
        os.unlink(path)
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(16)
    while True:
        cli, _ = ls.accept()
        threading.Thread(target=handle, args=(cli, server_path, plan), daemon=True).start()


if __name__ == "__main__":
    main()
