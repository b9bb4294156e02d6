#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the tests: initdb into a temporary directory owned by the
# postgres user (PostgreSQL refuses root), a Unix socket there and no TCP listener, a role with a
# password (password authentication is tested), a database. Prints the `export` lines to use;
# `stop` with the directory stops it and removes everything; `halt` and `resume` stop and restart it.
#   eval "$(bash scripts/postgres-test-server.sh start)"   ...   bash scripts/postgres-test-server.sh stop "$PROMOWATCH_TEST_PGDIR"
set -euo pipefail
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pgbin" ] || { echo "echo 'PostgreSQL server binaries not found' >&2"; exit 0; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# the server must not inherit the caller's descriptors (a test's pipes would never see end of file)
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null || true
done
case "${1:-start}" in
  start)
    dir=$(mktemp -d /tmp/promowatch-pg.XXXXXX)
    chmod 755 "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    as_pg "$pgbin/initdb" -D "$dir/data" -U postgres --auth-local=trust >/dev/null 2>&1
    # the test role must give its password; the superuser stays trusted on the socket
    printf 'local all postgres trust\nlocal all all scram-sha-256\n' | as_pg tee "$dir/data/pg_hba.conf" >/dev/null
    as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-k $dir -c listen_addresses='' -c max_connections=60" start >/dev/null
    as_pg "$pgbin/psql" -h "$dir" -U postgres -q -v ON_ERROR_STOP=1 \
      -c "CREATE ROLE promowatch LOGIN PASSWORD 'pw-test-secret'" -c "CREATE DATABASE promowatch OWNER promowatch" >/dev/null
    echo "export PROMOWATCH_TEST_PGDIR='$dir'"
    echo "export PROMOWATCH_TEST_PGBIN='$pgbin'"
    echo "export PROMOWATCH_TEST_DATABASE_URL='postgresql://promowatch:pw-test-secret@/promowatch?host=$dir'"
    ;;
  halt)  # stop the server abruptly, keep its data (tests of a server that goes away mid-run)
    dir=${2:?directory}
    as_pg "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
    ;;
  resume)
    dir=${2:?directory}
    as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-k $dir -c listen_addresses='' -c max_connections=60" start >/dev/null 2>&1
    ;;
  stop)
    dir=${2:?directory}
    as_pg "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
esac
