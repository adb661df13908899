#!/usr/bin/env bash
# Aggregator restart-to-exact time, against kafka-mock on this machine (16 partitions).
# Steady traffic is produced into `hits` (kcat, lz4): RATE hit records a second (default 20,000)
# over 1,000 background customers, plus PROBES probe customers (default 8, rprobe-N) at
# PROBE_RATE hits a second each (default 50), every record stamped with the time it is produced;
# the producer keeps the truth: the probe customers' hits per second. An aggregator (default
# options) runs through HISTORY seconds of this traffic (default 65: a full window and the
# aggregator's look-back), and its windows are checked against the truth; then it is killed with
# SIGKILL and a new one started at once, traffic going on. From the new one's start, polling
# about every 100 ms, it reports:
#   start_to_ready_ms        /readyz answers 200
#   start_to_caught_up_ms    the window JSON says "catching_up": false (n/a when the aggregator
#                            does not give that key)
#   start_to_exact_ms        every probe customer's window equals the truth, second by second,
#                            for every second of the window up to SETTLE (default 2) s ago (the
#                            last seconds are still arriving)
#   unflagged_partial        polls before that in which a window was answered (200), differed
#                            from the truth and did not say "catching_up": true: partial
#                            windows shown as complete
# A figure not reached within TIMEOUT seconds (default 150) is printed as "none". BENCH_DEBUG=1
# prints every second that differs from the truth to stderr.
# The producer lingers LINGER ms (default 50) so that its batches hold many hits: kafka-mock
# answers a fetch with at most one batch per partition (librdkafka 2.0.2's mock, "FIXME: Multiple
# messageSets"), found by a walk through the partition's batches ("FIXME: Maintain an index"), so
# on the mock a catch-up over tiny batches is bound by the broker (with 5 ms batches of ~6 hits,
# 400k hits took 14 s and 10 CPU-seconds of the mock; 10,000-hit batches 1.2 s). Kafka returns
# up to max.partition.fetch.bytes per partition per fetch.
# Prints one logfmt line beginning with bench=aggregator_restart. Figures only.
source "$(dirname "$0")/../tests/integration/lib.sh"
RATE=${RATE:-20000}
PROBES=${PROBES:-8}
PROBE_RATE=${PROBE_RATE:-50}
HISTORY=${HISTORY:-65}
SETTLE=${SETTLE:-2}
TIMEOUT=${TIMEOUT:-150}
LINGER=${LINGER:-50}

start_kafka_mock --partitions 16
cat > "$TMP/restart.py" << 'EOF'
import json, os, signal, subprocess, sys, threading, time, urllib.error, urllib.request
(brokers, agg_bin, tokens, tmp, rate, probes, probe_rate, history, settle,
 timeout, linger) = sys.argv[1:12]
rate, probes, probe_rate = int(rate), int(probes), int(probe_rate)
history, settle, timeout = float(history), int(settle), float(timeout)
TOKEN = "demo-operator-token"
pcust = ["rprobe-%d" % i for i in range(probes)]
truth = {}  # (customer, second) -> hits produced
lock = threading.Lock()
stop = False
tmpl = ('%s\t{"v":1,"ts":%d,"customer":"%s","host":"cdn.example.com","bytes":1234,"status":200,'
        '"country":"US","region":"CA","edge":"bench-edge","src":"restart","off":%d}\n')

def produce():
    kcat = subprocess.Popen(["kcat", "-P", "-b", brokers, "-t", "hits", "-K", "\t", "-z", "lz4",
                             "-X", "linger.ms=" + linger], stdin=subprocess.PIPE)
    start, off, bg, pr = time.monotonic(), 0, 0, 0
    while not stop:
        el = time.monotonic() - start
        now_ms = int(time.time() * 1000)
        chunk = []
        for _ in range(int(el * rate) - bg):
            c = "customer-%04d" % (bg % 1000)
            chunk.append(tmpl % (c, now_ms, c, off)); off += 1; bg += 1
        sec = now_ms // 1000
        with lock:
            for _ in range(int(el * probe_rate) - pr):
                for c in pcust:
                    chunk.append(tmpl % (c, now_ms, c, off)); off += 1
                    truth[(c, sec)] = truth.get((c, sec), 0) + 1
                pr += 1
            kcat.stdin.write("".join(chunk).encode())
            kcat.stdin.flush()
        time.sleep(0.01)
    kcat.stdin.close()
    kcat.wait()

def get(port, path):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 headers={"Authorization": "Bearer " + TOKEN})
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except Exception:
        return 0, b""

def check(port):
    """(ready, catching_up: True/False/None, answered, exact) for this instant."""
    ready = get(port, "/readyz")[0] == 200
    catching, answered, exact = None, 0, True
    for c in pcust:
        st, body = get(port, "/v1/customers/%s/window?seconds=60" % c)
        if st != 200:
            exact = False
            continue
        answered += 1
        w = json.loads(body)
        if "catching_up" in w:
            catching = bool(w["catching_up"]) or bool(catching)
        last = w["end_ms"] // 1000 - settle
        got = {p["t_ms"] // 1000: p["hits"] for p in w.get("series", [])}
        with lock:
            for s in range(w["end_ms"] // 1000 - w["seconds"] + 1, last + 1):
                if got.get(s, 0) != truth.get((c, s), 0):
                    if os.environ.get("BENCH_DEBUG"):
                        sys.stderr.write("diff %.1f %s s=%d got=%d truth=%d end=%d\n" % (
                            time.monotonic(), c, s - w["end_ms"] // 1000, got.get(s, 0), truth.get((c, s), 0), w["end_ms"]))
                    exact = False
    return ready, catching, answered, exact

def start_agg(port, log):
    return subprocess.Popen([agg_bin, "--listen", "127.0.0.1:%d" % port, "--tokens", tokens,
                             "--rate", "1000000", "--metrics-interval", "0"],
                            stderr=open(log, "a"))

base = 20000 + os.getpid() % 20000
prod = threading.Thread(target=produce)
prod.start()
a1 = start_agg(base, tmp + "/agg1.log")
t_begin = time.monotonic()
while time.monotonic() - t_begin < 120 and get(base, "/readyz")[0] != 200:
    time.sleep(0.1)
time.sleep(max(0.0, history - (time.monotonic() - t_begin)))
exact_before = "no"
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    if check(base)[3]:
        exact_before = "yes"
        break
    time.sleep(0.2)

a1.send_signal(signal.SIGKILL)
a1.wait()
t0 = time.monotonic()
a2 = start_agg(base + 1, tmp + "/agg2.log")
ms = lambda: int((time.monotonic() - t0) * 1000)
t_ready = t_caught = t_exact = None
key_seen, polls, unflagged = False, 0, 0
while time.monotonic() - t0 < timeout:
    ready, catching, answered, exact = check(base + 1)
    polls += 1
    key_seen = key_seen or catching is not None
    if ready and t_ready is None:
        t_ready = ms()
    if catching is False and t_caught is None:
        t_caught = ms()
    if exact and t_exact is None:
        t_exact = ms()
    if not exact and answered and catching is not True and t_exact is None:
        unflagged += 1
    if t_exact is not None and t_ready is not None and (t_caught is not None or not key_seen):
        break
    time.sleep(0.1)
stop = True
prod.join()
a2.terminate()
a2.wait()
fmt = lambda v: "none" if v is None else str(v)
print("bench=aggregator_restart offered_hits_per_s=%d probe_customers=%d history_s=%d "
      "exact_before_kill=%s start_to_ready_ms=%s start_to_caught_up_ms=%s start_to_exact_ms=%s "
      "unflagged_partial=%d polls=%d timeout_s=%d" %
      (rate + probes * probe_rate, probes, history, exact_before, fmt(t_ready),
       fmt(t_caught) if key_seen else "n/a", fmt(t_exact), unflagged, polls, timeout))
EOF
python3 "$TMP/restart.py" "$KAFKA_BROKERS" "$BIN/aggregator" "$ROOT/tools/demo-tokens" "$TMP" \
    "$RATE" "$PROBES" "$PROBE_RATE" "$HISTORY" "$SETTLE" "$TIMEOUT" "$LINGER" ||
  { tail -5 "$TMP"/agg*.log; fail "restart bench failed"; }
