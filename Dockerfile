# The three programs, built the way `make` builds them on Debian 12 (bookworm).
FROM debian:bookworm
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential pkg-config librdkafka-dev libmaxminddb-dev libjansson-dev libpq-dev libssl-dev \
      libmicrohttpd-dev libmaxmind-db-writer-perl postgresql-client ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# deps-check only looks for headers; the packages above are all `make` needs to build.
RUN make all build/test-geo.mmdb && install -m 755 bin/* /usr/local/bin/ \
    && mkdir -p /etc/cdn && cp build/test-geo.mmdb /etc/cdn/geo.mmdb
ENTRYPOINT []
