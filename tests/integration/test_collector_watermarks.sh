#!/usr/bin/env bash
# Edge watermarks (common/watermark.h, collector/watermarks.h), with the real collector following
# a file as an edge runs it:
#  - every partition of `hits` gets watermark messages (key "#wm"), and each one comes after
#    every line of its partition that was written before its wm_ms;
#  - wm_ms advances about once a second, also while no line is written;
#  - a collector stopped with SIGSTOP sends none (its watermark stays behind), and catches up
#    after SIGCONT;
#  - while Kafka is down the watermark does not pass the lines Kafka has not confirmed, and
#    after the outage every line precedes the watermarks that cover it;
#  - a line dated before the published watermark (late) is still published, and counted.
source "$(dirname "$0")/lib/lib.sh"
start_kafka_mock

fmt='$remote_addr - $remote_user [$time_local] "$request" $status $bytes_sent "$http_referer" "$http_user_agent" $host'
printf 'a.example acme\nb.example beta\nc.example gamma\n' > "$TMP/hosts"
: > "$TMP/access.log"
: > "$TMP/written"
# --metrics-interval 1: the log shows the current watermark every second (part (c) reads it).
"$BIN/collector" -c "$TMP/hosts" -f "$fmt" -e wm-edge -s "$TMP/state" --metrics-interval 1 \
    "$TMP/access.log" 2> "$TMP/c.log" &
cpid=$!
track_pid $cpid

now_ms() { date +%s%3N; }
# write_line I: appends one line dated now (to the second, as access logs are) and records
# "OFF WRITTEN_MS": its byte offset and the time just after the write.
hosts=(a.example b.example c.example)
write_line() {
    local off
    off=$(stat -c %s "$TMP/access.log")
    printf '10.0.0.1 - - [%s +0000] "GET /%d HTTP/1.1" 200 %d "-" "ua" %s\n' \
        "$(date -u +%d/%b/%Y:%H:%M:%S)" "$1" "$1" "${hosts[$(($1 % 3))]}" >> "$TMP/access.log"
    echo "$off $(now_ms)" >> "$TMP/written"
}
max_wm() { # the highest wm_ms of this edge in the topic, 0 if none
    kcat_wm_dump '%s\n' | jq -s '[.[] | select(.edge == "wm-edge") | .wm_ms] | max // 0'
}
wm_after() { (($(max_wm) > $1)); }

# check_order: in each partition, every hit whose line was written before a watermark's wm_ms
# precedes that watermark. Prints "watermarks=N hits=N partitions_with_wm=N violations=N".
check_order() {
    kcat_dump hits > /dev/null # (the helpers work; the raw dump below holds both kinds)
    kcat -C -b "$KAFKA_BROKERS" -t hits -o beginning -e -q -f '%p\t%o\t%k\t%s\n' > "$TMP/raw"
    python3 - "$TMP/written" "$TMP/raw" << 'PY'
import json, sys
written = {}
for l in open(sys.argv[1]):
    off, t = l.split()
    written[int(off)] = int(t)
parts = {}
for l in open(sys.argv[2]):
    p, o, k, v = l.rstrip("\n").split("\t", 3)
    parts.setdefault(int(p), []).append((int(o), k, json.loads(v)))
nwm = nhit = bad = 0
wm_parts = set()
for p, ms in parts.items():
    ms.sort(key=lambda m: m[0])
    lines = {m[2]["off"] for m in ms if m[1] != "#wm"}
    seen = set()
    for o, k, v in ms:
        if k != "#wm":
            nhit += 1
            seen.add(v["off"])
            continue
        if v["edge"] != "wm-edge":
            continue
        nwm += 1
        wm_parts.add(p)
        for off in lines - seen:
            if written[off] < v["wm_ms"]:
                bad += 1
                print(f"violation: partition {p} offset {o} wm_ms {v['wm_ms']} before line off={off} written {written[off]}", file=sys.stderr)
print(f"watermarks={nwm} hits={nhit} partitions_with_wm={len(wm_parts)} violations={bad}")
PY
}

# ---- (a) every partition, advancing every second, after the lines --------------------------
for i in $(seq 1 30); do write_line "$i"; sleep 0.1; done
wait_for 20 hits_at_least 30 || fail "lines did not arrive: $(kcat_count hits) of 30"
t_written=$(tail -n 1 "$TMP/written" | cut -d' ' -f2)
wait_for 10 wm_after "$t_written" || fail "no watermark passed the last line written ($t_written): $(max_wm)"
# Idle for 5 s: the watermark goes on advancing, about once a second.
idle_from=$(now_ms)
sleep 5
kcat_wm_dump $'%p\t%s\n' | awk -F'\t' '$1 == 0 {print $2}' |
    jq -s --argjson from "$idle_from" '[.[] | select(.edge == "wm-edge" and .wm_ms > $from) | .wm_ms]' > "$TMP/idle"
assert_ge "$(jq 'length' "$TMP/idle")" 3 "watermarks in partition 0 during 5 idle seconds"
step=$(jq '[range(1; length) as $i | .[$i] - .[$i - 1]] | max' "$TMP/idle")
((step <= 3000)) || fail "largest step between watermarks while idle: $step ms, more than 3000"
echo "ok: largest step between watermarks while idle = $step ms <= 3000"
assert_ge "$(jq '[range(1; length) as $i | .[$i] - .[$i - 1]] | min' "$TMP/idle")" 0 \
    "smallest step between watermarks while idle (ms): never back"
assert_ge "$(jq 'unique | length' "$TMP/idle")" 3 "distinct watermarks during 5 idle seconds"
assert_eq "$(jq 'map(. % 1000) | unique | join(",")' -r "$TMP/idle")" 0 "watermarks are whole seconds"
behind=$(($(now_ms) - $(max_wm)))
((behind <= 3500)) || fail "the watermark of an idle edge is $behind ms behind the clock, more than 3500"
echo "ok: the watermark of the idle edge is $behind ms behind the clock <= 3500"
read -r order < <(check_order)
echo "after (a): $order"
[[ "$order" == *"partitions_with_wm=16 "* ]] || fail "watermarks not in every partition: $order"
[[ "$order" == *"violations=0" ]] || fail "a watermark came before lines written before it: $order"

# ---- (b) SIGSTOP: no watermark; SIGCONT: they resume -----------------------------------------
kill -STOP $cpid
sleep 1 # what was queued before the stop is delivered (the process sends nothing more)
stopped=$(max_wm)
sleep 3
assert_eq "$(max_wm)" "$stopped" "watermark 4 s after SIGSTOP"
assert_ge "$(($(now_ms) - stopped))" 3000 "ms the watermark of the stopped edge is behind"
kill -CONT $cpid
cont=$(now_ms)
wait_for 10 wm_after "$cont" || fail "watermarks did not resume after SIGCONT: $(max_wm) <= $cont"
echo "ok: after SIGCONT the watermark passed $cont within $(($(now_ms) - cont)) ms"

# ---- (c) Kafka down: the watermark stays before the unconfirmed lines -----------------------
kafka_down
down=$(now_ms)
for i in $(seq 31 40); do write_line "$i"; sleep 0.3; done
first_down=$(sed -n 31p "$TMP/written" | cut -d' ' -f2)
sleep 2
up=$(now_ms)
# What the collector told while Kafka was down (its metrics line, every second), from 1.5 s after
# the first unconfirmed line: never past that line.
python3 - "$TMP/c.log" "$((first_down + 1500))" "$up" << 'PY' > "$TMP/down_wms"
import datetime, re, sys
lo, hi = int(sys.argv[2]), int(sys.argv[3])
for l in open(sys.argv[1]):
    m = re.match(r"ts=(\S+)Z .*msg=\"?metrics\"? .*watermark_ms=(\d+)", l)
    if not m:
        continue
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
    t = int(t.timestamp() * 1000)
    if lo <= t <= hi:
        print(m.group(2))
PY
assert_ge "$(wc -l < "$TMP/down_wms")" 2 "metrics lines while Kafka was down"
down_max=$(sort -n "$TMP/down_wms" | tail -n 1)
((down_max <= first_down)) || fail "while Kafka was down the watermark reached $down_max, past the first unconfirmed line ($first_down)"
echo "ok: while Kafka was down the watermark stayed at $down_max <= $first_down (first unconfirmed line)"
kafka_up
wait_for 60 hits_at_least 40 || fail "after the outage: $(kcat_count hits) of 40"
t_written=$(tail -n 1 "$TMP/written" | cut -d' ' -f2)
wait_for 20 wm_after "$t_written" || fail "no watermark passed the last line after the outage: $(max_wm)"
read -r order < <(check_order)
echo "after (c): $order (outage from $down to $up)"
[[ "$order" == *"hits=40 "* ]] || fail "hits after the outage: $order"
[[ "$order" == *"violations=0" ]] || fail "a watermark came before lines written before it: $order"

# ---- a late line: dated before the published watermark, still published, and counted --------
off=$(stat -c %s "$TMP/access.log")
printf '10.0.0.9 - - [%s +0000] "GET /late HTTP/1.1" 200 41 "-" "ua" a.example\n' \
    "$(date -u -d '30 seconds ago' +%d/%b/%Y:%H:%M:%S)" >> "$TMP/access.log"
echo "$off $(now_ms)" >> "$TMP/written"
wait_for 20 hits_at_least 41 || fail "the late line was not published"

kill -TERM $cpid
wait $cpid || fail "collector exit status"
grep 'msg="final metrics"' "$TMP/c.log" | grep -q ' late_lines=1 ' || fail "late line not counted"
echo "ok: the late line was published and counted"
grep -q 'msg="last watermark sent"' "$TMP/c.log" || fail "no last watermark at SIGTERM"
grep 'msg="final metrics"' "$TMP/c.log" | grep -o 'watermarks_sent=.* late_lines=[0-9]*'
grep -q 'balanced=yes' "$TMP/c.log" || fail "books"
echo ok
