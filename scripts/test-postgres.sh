#!/usr/bin/env bash
# A throwaway PostgreSQL for tests: a new cluster in DIR, listening only on a Unix socket in
# DIR, run by an unprivileged user (PostgreSQL refuses to run as root, and CI runs as root).
#   scripts/test-postgres.sh start DIR   prints the connection URL (also written to DIR/url);
#                                        when it already runs, just prints it
#   scripts/test-postgres.sh stop DIR    stops the cluster and removes DIR
# Tests create a database of their own in it (tests/support/pg_test_database.hpp).
set -euo pipefail
cmd=${1:?usage: test-postgres.sh start|stop DIR}
dir=${2:?usage: test-postgres.sh start|stop DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }

root=0
[ "$(id -u)" -ne 0 ] || root=1
if ((root)); then
  id berth-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin berth-pg
fi
as_owner() {
  if ((root)); then
    setpriv --reuid=berth-pg --regid=berth-pg --init-groups --reset-env "$@"
  else
    "$@"
  fi
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    ((root == 0)) || chown berth-pg: "$dir"
    chmod 0755 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -U berth --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      cat "$dir/url"  # already running (another test process started it)
      exit 0
    fi
    # Durability is not what tests measure: fsync off keeps a 2-core machine quick. A
    # benchmark sets BERTH_PG_DURABLE=1 to get PostgreSQL's defaults.
    durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [ "${BERTH_PG_DURABLE:-0}" = 1 ] && durability=""
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses='' -k $dir $durability -c max_connections=300" start >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    chmod 0777 "$dir"  # every test user may reach the socket
    url="postgresql://berth@/postgres?host=$dir"
    echo "$url" >"$dir/url"
    echo "$url"
    ;;
  stop)
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
    rm -rf "$dir" "$dir.lock"
    ;;
  *)
    echo "usage: test-postgres.sh start|stop DIR" >&2
    exit 2
    ;;
esac
