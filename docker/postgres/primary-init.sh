#!/bin/sh
# The primary's first start (docker-entrypoint-initdb.d, run once on an empty data directory): the
# role the standby replicates as, its slot (the primary keeps the WAL the standby has not received,
# even while it is down), the pg_hba line that lets it connect for replication, and synchronous
# replication to it from the next start on (ALTER SYSTEM: not while this first start's scripts run,
# when no standby can be there yet to confirm their commits).
set -eu

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'password';
SELECT pg_create_physical_replication_slot('standby');
SQL

# SYNCHRONOUS_STANDBY_NAMES empty: asynchronous (an acknowledged report can be lost with the primary).
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=names="${SYNCHRONOUS_STANDBY_NAMES-standby}" <<'SQL'
ALTER SYSTEM SET synchronous_standby_names = :'names';
SQL

echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
