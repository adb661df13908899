#!/usr/bin/env bash
# Aggregator restart-to-exact time, against kafka-mock on this machine (16 partitions).
# Steady traffic: RATE background hit records a second (default 10,000, 1,000 customers evenly,
# produced with kcat, lz4) and PROBES probe customers (default 8, rprobe-N) whose log lines
# (PROBE_RATE a second each, default 50) this script appends to a log file that a real collector
# follows, so their hits come with that collector's edge watermarks when it sends them. The
# script keeps the truth: the probe lines per customer and second of their timestamps. An
# aggregator (default options) runs through HISTORY seconds of this traffic (default 65: a full
# window and the aggregator's look-back), its windows are checked against the truth, then it is
# killed with SIGKILL and a new one started at once, traffic going on. From the new one's start,
# polling about every 100 ms, it reports:
#   start_to_ready_ms        /readyz answers 200
#   start_to_caught_up_ms    the window JSON says "catching_up": false (n/a when the aggregator
#                            does not give that key)
#   start_to_exact_ms        every probe customer's window equals the truth, second by second,
#                            for every second of the window up to SETTLE (default 2) s ago (the
#                            last seconds are still on their way)
#   unflagged_partial        polls before that in which a window was answered (200) with a second
#                            that differed from the truth although the window presented it as
#                            complete: "catching_up" not true and the second before
#                            "complete_to_ms" (every second, without that key)
# A figure not reached within TIMEOUT seconds (default 150) is printed as "none". BENCH_DEBUG=1
# prints every second that differs from the truth to stderr.
# The background is spread evenly because kafka-mock keeps only ~5 MB a partition: loggen's few
# demo customers put ~5,000 lines/s in one partition, more than 65 s of it fits, and a
# restarted aggregator then chased the log start for ever ("offset reset ... Offset out of
# range"); history_dropped says whether the new aggregator met that at all.
# The collector and kcat linger LINGER ms (default 50; the collector's own default is 5):
# kafka-mock answers a fetch with at most one batch per partition (librdkafka 2.0.2's mock,
# "FIXME: Multiple messageSets"), found by a walk through the partition's batches ("FIXME:
# Maintain an index"), so on the mock a catch-up over tiny batches is bound by the broker, not
# the aggregator (5 ms batches of ~6 hits: 400k hits took 14 s and 10 CPU-seconds of the mock to
# read; 10,000-hit batches 1.2 s). Kafka returns up to max.partition.fetch.bytes a partition.
source "$(dirname "$0")/../tests/integration/lib/lib.sh"
RATE=${RATE:-10000}
PROBES=${PROBES:-8}
PROBE_RATE=${PROBE_RATE:-50}
HISTORY=${HISTORY:-65}
SETTLE=${SETTLE:-2}
TIMEOUT=${TIMEOUT:-150}
LINGER=${LINGER:-50}

start_kafka_mock --partitions 16
mkdir -p "$TMP/logs"
: > "$TMP/logs/probe.log"
for ((i = 0; i < PROBES; i++)); do echo "rprobe-$i.example rprobe-$i"; done > "$TMP/hosts"
"$BIN/collector" -c "$TMP/hosts" -g "$GEODB" -f "$LOGGEN_FORMAT" -e bench-edge -s "$TMP/state" \
    -X "linger.ms=$LINGER" "$TMP/logs/probe.log" 2> "$TMP/collector.log" &
track_pid $!
cat > "$TMP/restart.py" << 'EOF'
import json, os, signal, subprocess, sys, threading, time, urllib.error, urllib.request
(brokers, agg_bin, tokens, tmp, rate, probes, probe_rate, history, settle, timeout,
 linger, prefix) = sys.argv[1:13]
rate = int(rate)
probes, probe_rate = int(probes), int(probe_rate)
history, settle, timeout = float(history), int(settle), float(timeout)
TOKEN = "demo-operator-token"
pcust = ["rprobe-%d" % i for i in range(probes)]
truth = {}  # (customer, second) -> probe lines written with that second's timestamp
lock = threading.Lock()
stop = False
line = ('198.51.100.7 - - [%s] "GET /p HTTP/1.1" 200 1 "-" "probe" %s.example HIT\n')

bg = ('%s\t{"v":1,"ts":%d,"customer":"%s","host":"cdn.example.com","bytes":1234,"status":200,'
      '"country":"US","region":"CA","edge":"bench-background","src":"restart","off":%d}\n')

def produce():
    """Background hits into kcat at `rate` a second, and the probe lines, PROBE_RATE a second per
    customer, stamped with the second in which they are written (whole lines in one write, so
    the collector never reads half a line)."""
    kcat = subprocess.Popen(["kcat", "-P", "-b", brokers, "-t", "hits", "-K", "\t", "-z", "lz4",
                             "-X", "linger.ms=" + linger], stdin=subprocess.PIPE)
    fd = os.open(tmp + "/logs/probe.log", os.O_WRONLY | os.O_APPEND)
    start, done, sent = time.monotonic(), 0, 0
    while not stop:
        el = time.monotonic() - start
        now = time.time()
        sec = int(now)
        recs = [bg % ("customer-%04d" % (i % 1000), int(now * 1000), "customer-%04d" % (i % 1000), i)
                for i in range(sent, int(el * rate))]
        sent += len(recs)
        kcat.stdin.write("".join(recs).encode())
        kcat.stdin.flush()
        due = int(el * probe_rate)
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(sec))
        chunk = []
        with lock:
            for _ in range(due - done):
                for c in pcust:
                    chunk.append(line % (stamp, c))
                    truth[(c, sec)] = truth.get((c, sec), 0) + 1
            done = max(done, due)
            if chunk:
                os.write(fd, "".join(chunk).encode())
        time.sleep(0.01)
    os.close(fd)
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
    """(ready, catching_up: True/False/None, answered, exact, unflagged) for this instant:
    unflagged when a second that differs from the truth was presented as complete."""
    ready = get(port, "/readyz")[0] == 200
    catching, answered, exact, unflagged = None, 0, True, False
    for c in pcust:
        st, body = get(port, "/v1/customers/%s/window?seconds=60" % c)
        if st != 200:
            exact = False
            continue
        answered += 1
        w = json.loads(body)
        if "catching_up" in w:
            catching = bool(w["catching_up"]) or bool(catching)
        complete_to = w.get("complete_to_ms")
        end = w["end_ms"] // 1000
        got = {p["t_ms"] // 1000: p["hits"] for p in w.get("series", [])}
        with lock:
            for s in range(end - w["seconds"] + 1, end - settle + 1):
                if got.get(s, 0) == truth.get((c, s), 0):
                    continue
                exact = False
                if not w.get("catching_up") and (complete_to is None or (s + 1) * 1000 <= complete_to):
                    unflagged = True
                if os.environ.get("BENCH_DEBUG"):
                    sys.stderr.write("diff %s s=%d got=%d truth=%d end_ms=%d catching_up=%s "
                                     "complete_to_ms=%s\n" % (c, s - end, got.get(s, 0),
                                     truth.get((c, s), 0), w["end_ms"], w.get("catching_up"), complete_to))
    return ready, catching, answered, exact, unflagged

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
    ready, catching, answered, exact, partial = check(base + 1)
    polls += 1
    key_seen = key_seen or catching is not None
    if ready and t_ready is None:
        t_ready = ms()
    if catching is False and t_caught is None:
        t_caught = ms()
    if exact and t_exact is None:
        t_exact = ms()
    if partial and t_exact is None:
        unflagged += 1
    if t_exact is not None and t_ready is not None and (t_caught is not None or not key_seen):
        break
    time.sleep(0.1)
stop = True
prod.join()
a2.terminate()
a2.wait()
fmt = lambda v: "none" if v is None else str(v)
dropped = "offset reset" in open(tmp + "/agg2.log", errors="replace").read()
print("%s exact_before_kill=%s start_to_ready_ms=%s start_to_caught_up_ms=%s "
      "start_to_exact_ms=%s unflagged_partial=%d polls=%d history_dropped=%s" %
      (prefix, exact_before, fmt(t_ready), fmt(t_caught) if key_seen else "n/a", fmt(t_exact),
       unflagged, polls, "yes" if dropped else "no"))
EOF
python3 "$TMP/restart.py" "$KAFKA_BROKERS" "$BIN/aggregator" "$ROOT/tools/demo-tokens" "$TMP" \
    "$RATE" "$PROBES" "$PROBE_RATE" "$HISTORY" "$SETTLE" "$TIMEOUT" "$LINGER" \
    "bench=aggregator_restart offered_lines_per_s=$((RATE + PROBES * PROBE_RATE)) probe_customers=$PROBES history_s=$HISTORY collector_linger_ms=$LINGER settle_s=$SETTLE timeout_s=$TIMEOUT" ||
  { tail -5 "$TMP"/agg*.log; fail "restart bench failed"; }
