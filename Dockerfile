# The three programs on Debian 12 (bookworm), in two stages:
#   build    the -dev packages, `make all` and `make install` into /out (PREFIX=/usr/local)
#   runtime  only the shared libraries the programs link, a non-root user `cdn`, the installed tree
# Demo files (test GeoIP database, demo tokens, demo customers, loggen's networks) go under
# /usr/local/share/cdn/demo; docker-compose.demo.yml uses them, nothing else does.
FROM debian:bookworm AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential pkg-config python3 help2man librdkafka-dev libmaxminddb-dev libjansson-dev \
      libpq-dev libssl-dev libmicrohttpd-dev libmaxmind-db-writer-perl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# deps-check only looks for headers; the packages above are all `make` needs to build.
RUN make -j"$(nproc)" all build/test-geo.mmdb \
    && make install PREFIX=/usr/local DESTDIR=/out \
    && install -m 755 bin/loggen /out/usr/local/bin/loggen \
    && mkdir -p /out/usr/local/share/cdn/demo \
    && cp build/test-geo.mmdb tools/demo-tokens tools/demo-customers.sql tests/data/geo-networks.tsv \
          /out/usr/local/share/cdn/demo/

FROM debian:bookworm-slim AS runtime
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      librdkafka1 libjansson4 libpq5 libmaxminddb0 libmicrohttpd12 libssl3 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /
COPY deploy/docker/cdn-healthcheck /usr/local/bin/cdn-healthcheck
# A fixed uid, so that volumes and secrets can be given to it; the folders a fresh named volume
# copies its owner from (collector positions, logs) belong to it.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/cdn --shell /usr/sbin/nologin cdn \
    && install -d -o cdn -g cdn /var/lib/cdn /var/lib/cdn/collector /var/log/cdn
USER cdn
WORKDIR /var/lib/cdn
# Checks $CDN_HEALTH_URL (the aggregator's /readyz, billing's /healthz); a service without one
# sets `healthcheck: disable: true` in docker-compose.yml.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["cdn-healthcheck"]
ENTRYPOINT []
