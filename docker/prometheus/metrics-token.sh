#!/bin/sh
# Once: an admin token for Prometheus to scrape /metrics with, in the volume Prometheus reads it
# from (readable by Prometheus' user, nobody, only). Kept across restarts; delete the volume
# (docker compose down -v) to make a new one.
set -eu
token=/secrets/grid-metrics.token
if [ ! -s "$token" ]; then
    grid-service token create --role admin --name "prometheus-$(date +%s)" | tail -n 1 > "$token.new"
    chown 65534:65534 "$token.new"
    chmod 0400 "$token.new"
    mv "$token.new" "$token"
fi
