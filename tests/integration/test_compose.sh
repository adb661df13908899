#!/usr/bin/env bash
# docker-compose.yml is valid for Debian's docker-compose (v1.29; no engine needed) and wires
# the services the README promises.
source "$(dirname "$0")/lib/lib.sh"
command -v docker-compose > /dev/null || fail "docker-compose is not installed (make deps installs it)"
docker-compose -f "$ROOT/docker-compose.yml" config -q || fail "docker-compose config -q refused the file"
docker-compose -f "$ROOT/docker-compose.yml" config --services | sort > "$TMP/services"
assert_eq "$(tr '\n' ' ' < "$TMP/services")" "aggregator billing collector kafka kafka-topics loggen postgres " "services"
docker-compose -f "$ROOT/docker-compose.yml" config | grep -q 'published: 8080' || fail "aggregator port not published"
echo ok
