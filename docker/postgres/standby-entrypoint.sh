#!/bin/sh
# The hot standby: on its first start (an empty data directory) a base backup of the primary with
# -R, which writes standby.signal and the primary's address and slot; afterwards it only starts,
# replaying the primary's WAL as it streams in. Once promoted (pg_ctl promote, or SELECT
# pg_promote()) it is a primary, and this script starts it as one. Arguments go to postgres.
set -eu
primary_host="${PRIMARY_HOST:-db}"
primary_port="${PRIMARY_PORT:-5432}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready --host="$primary_host" --port="$primary_port" --username=replicator --dbname=postgres --quiet; do
        sleep 1
    done
    PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup --host="$primary_host" --port="$primary_port" \
        --username=replicator --pgdata="$PGDATA" --wal-method=stream --slot=standby \
        --write-recovery-conf --checkpoint=fast
    # The backup carries the primary's ALTER SYSTEM settings: its synchronous_standby_names would
    # make this server, once promoted and with no standby of its own, wait forever on every commit.
    sed -i '/^synchronous_standby_names/d' "$PGDATA/postgresql.auto.conf"
    chmod 0700 "$PGDATA"
fi

# cluster_name is the name the primary's synchronous_standby_names waits for.
exec postgres -D "$PGDATA" -c cluster_name=standby -c hot_standby=on -c hot_standby_feedback=on "$@"
