#!/usr/bin/env bash
# docker-compose.yml (alone, and with docker-compose.demo.yml) is valid for Debian's docker-compose
# (v1.29; no engine needed), wires the services the README promises, publishes ports on 127.0.0.1
# only, passes no option on a command line (each program reads /etc/cdn/PROGRAM.conf, from the
# config folder: deploy/docker/config to start from, deploy/docker/demo for the demo; each program
# accepts its file), checks every service on its /readyz (the conf's metrics-listen), and ships no
# demo credential outside the demo file; the image runs as a non-root user and
# its build context leaves out run/, bin/, build/ and .git.
source "$(dirname "$0")/lib/lib.sh"
command -v docker-compose > /dev/null || fail "docker-compose is not installed (make deps installs it)"
base=(-f "$ROOT/docker-compose.yml")
demo=(-f "$ROOT/docker-compose.yml" -f "$ROOT/docker-compose.demo.yml")

docker-compose "${base[@]}" config -q || fail "docker-compose config -q refused docker-compose.yml"
docker-compose "${demo[@]}" config -q || fail "docker-compose config -q refused the demo override"
assert_eq "$(docker-compose "${base[@]}" config --services | sort | tr '\n' ' ')" \
    "aggregator-1 aggregator-2 aggregator-3 billing billing-migrate collector kafka kafka-topics postgres proxy " "services"
assert_eq "$(docker-compose "${demo[@]}" config --services | sort | tr '\n' ' ')" \
    "aggregator-1 aggregator-2 aggregator-3 billing billing-migrate collector demo-customers kafka kafka-topics loggen postgres proxy " "demo services"
docker-compose "${base[@]}" config > "$TMP/base.yml"
docker-compose "${demo[@]}" config > "$TMP/demo.yml"

# Every published port, in both, is bound to 127.0.0.1; the API's 8080 is published by the proxy
# in front of the three aggregators (deploy/haproxy/haproxy.cfg, mounted where the image reads it).
for f in base demo; do
    python3 - "$TMP/$f.yml" > "$TMP/$f.ports" << 'PY' || fail "$f: cannot read the ports"
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for name, svc in doc["services"].items():
    for p in svc.get("ports", []):
        if isinstance(p, dict):
            p = "%s:%s:%s" % (p.get("host_ip", ""), p.get("published", ""), p.get("target", ""))
        print(name, p)
PY
    grep -q '^proxy 127\.0\.0\.1:8080:8080' "$TMP/$f.ports" || fail "$f: the proxy's 8080 not published on 127.0.0.1"
    grep -q 'deploy/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro' "$TMP/$f.yml" || fail "$f: the proxy's configuration is not mounted"
    if grep -v ' 127\.0\.0\.1:' "$TMP/$f.ports"; then fail "$f: a port above is published beyond 127.0.0.1"; fi
done

# Options live in the config folder's PROGRAM.conf, which each program accepts as it is; no
# service of ours has an option on its command line; each is checked on its own /readyz, at the
# port its conf's metrics-listen serves, in both. The base mounts $CDN_CONFIG_DIR (./config, the
# operator's: deploy/docker/config is what the README says to start it from).
for f in base demo; do
    [[ $f == base ]] && confdir=$ROOT/deploy/docker/config || confdir=$ROOT/deploy/docker/demo
    for p in collector aggregator; do
        CDN_ETC_DIR=$TMP/none "$BIN/$p" --config "$confdir/$p.conf" --version > /dev/null ||
            fail "$p refuses $confdir/$p.conf"
    done
    for c in run migrate; do
        "$BIN/billing" "$c" --config "$confdir/billing.conf" --version > /dev/null ||
            fail "billing $c refuses $confdir/billing.conf"
    done
    python3 - "$TMP/$f.yml" "$confdir" << 'PY' || fail "$f: options on a command line, or a healthcheck not on the conf's /readyz"
import re, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
conf = sys.argv[2]
def listen(prog):
    section, port = "", None
    for line in open("%s/%s.conf" % (conf, prog)):
        line = line.strip()
        if line.startswith("["):
            section = line
        m = re.match(r"metrics-listen\s*=\s*\S*:(\d+)$", line)
        if m and section in ("", "[run]"):
            port = m.group(1)
    return port
for name in ("collector", "aggregator-1", "aggregator-2", "aggregator-3", "billing", "billing-migrate"):
    svc = doc["services"][name]
    cmd = svc["command"] if isinstance(svc["command"], str) else " ".join(svc["command"])
    prog = name.split("-")[0]
    m = re.search(r"(?:^|exec )%s( .*)?$" % prog, cmd)  # what the program gets (sh -c: after exec)
    if not m or re.search(r"\s-", m.group(1) or ""):
        sys.exit("%s: an option on the command line (or no %s): %r" % (name, prog, cmd))
    if not any(v.endswith(":/etc/cdn:ro") for v in svc.get("volumes", [])):
        sys.exit("%s: no config folder at /etc/cdn: %r" % (name, svc.get("volumes")))
    if name == "billing-migrate":
        continue
    url = (svc.get("environment") or {}).get("CDN_HEALTH_URL", "")
    port = listen(prog)
    if not port or url != "http://127.0.0.1:%s/readyz" % port or svc.get("healthcheck", {}).get("disable"):
        sys.exit("%s: CDN_HEALTH_URL=%r, %s.conf's metrics-listen port %r" % (name, url, prog, port))
for i in (1, 2, 3):
    if doc["services"]["aggregator-%d" % i].get("hostname") != "aggregator-%d" % i:
        sys.exit("aggregator-%d: its host name (the instance id) is not aggregator-%d" % (i, i))
PY
done
echo "ok: no option on a command line; every conf accepted; healthchecks on the confs' ports"

# No demo credential outside the demo file: the demo tokens file and the demo PostgreSQL password
# appear only in the demo's configuration, and the base names no plain password at all.
for secret in demo-tokens deploy/docker/demo POSTGRES_PASSWORD: 'postgres:postgres@' PGPASSWORD \
    demo-postgres-password; do
    if grep -n -- "$secret" "$TMP/base.yml" "$ROOT"/deploy/docker/config/*; then
        fail "docker-compose.yml alone (or its starting config) names $secret"
    fi
done
grep -q 'deploy/docker/demo:/etc/cdn:ro' "$TMP/demo.yml" || fail "the demo override does not mount the demo's config"
grep -q '^tokens = .*demo-tokens$' "$ROOT/deploy/docker/demo/aggregator.conf" || fail "the demo's aggregator.conf does not give the demo tokens"
grep -q 'POSTGRES_PASSWORD_FILE: /etc/cdn/pg_password' "$TMP/base.yml" || fail "postgres password not from the config folder"

# The image: a runtime stage FROM a second base, a non-root USER that is the last one set, a
# HEALTHCHECK; its healthcheck script parses.
df=$ROOT/Dockerfile
assert_ge "$(grep -c '^FROM ' "$df")" 2 "stages in the Dockerfile"
user=$(grep '^USER ' "$df" | tail -n 1 | awk '{print $2}')
[[ -n "$user" && "$user" != root && "$user" != 0 ]] || fail "the image's last USER is '$user', not a non-root user"
grep -q '^HEALTHCHECK ' "$df" || fail "no HEALTHCHECK in the Dockerfile"
# shellcheck disable=SC2016
awk '/^FROM .* AS runtime/{r=1} r && /apt-get install/' "$df" | grep -q -- '-dev' && fail "the runtime stage installs -dev packages"
bash -n "$ROOT/deploy/docker/cdn-healthcheck" || fail "cdn-healthcheck does not parse"

# The healthcheck script against a live aggregator's /readyz is 200 once it caught up, 1 on a
# closed port, 0 without a URL.
start_kafka_mock
printf '*\t%s\n' "$(printf op | sha256sum | cut -d' ' -f1)" > "$TMP/tokens"
"$BIN/aggregator" --listen 127.0.0.1:0 --tokens "$TMP/tokens" > "$TMP/agg.log" 2>&1 &
track_pid $!
wait_for 10 grep -q 'msg="aggregator started"' "$TMP/agg.log" || fail "aggregator did not start: $(cat "$TMP/agg.log")"
port=$(grep -o 'msg="aggregator started".* port=[0-9]*' "$TMP/agg.log" | grep -o '[0-9]*$')
CDN_HEALTH_URL=http://127.0.0.1:$port/readyz wait_for 20 "$ROOT/deploy/docker/cdn-healthcheck" ||
    fail "cdn-healthcheck never saw /readyz 200 on port $port"
CDN_HEALTH_URL=http://127.0.0.1:1/readyz "$ROOT/deploy/docker/cdn-healthcheck" 2> /dev/null && fail "healthy on a closed port"
CDN_HEALTH_URL='' "$ROOT/deploy/docker/cdn-healthcheck" || fail "no URL should be healthy (nothing to check)"

# The build context: .dockerignore leaves out run/ (a PostgreSQL cluster), bin/, build/ and .git.
for d in run bin build .git; do
    grep -qxE "/?$d/?" "$ROOT/.dockerignore" || fail ".dockerignore does not exclude $d"
done
echo ok
