#!/usr/bin/env bash
# Throwaway PostgreSQL for lockgate's tests: loopback only, trust auth, one database.
#
#   scripts/pg.sh            install (Debian package) if missing, init, start; print the URL
#   scripts/pg.sh stop       stop the cluster (data directory is kept)
#   scripts/pg.sh url        print the URL without touching anything
#
# Environment: LOCKGATE_PG_DIR (default /tmp/lockgate-pg), LOCKGATE_PG_PORT (default 55432).
# Idempotent: running it again while the server is up only prints the URL.
set -euo pipefail

PGDIR="${LOCKGATE_PG_DIR:-/tmp/lockgate-pg}"
PORT="${LOCKGATE_PG_PORT:-55432}"
DB="lockgate_test"
URL="postgresql+psycopg://postgres@127.0.0.1:${PORT}/${DB}"
DATA="${PGDIR}/data"
LOG="${PGDIR}/server.log"

log() { echo "pg.sh: $*" >&2; }

pg_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -z "${dir}" ]]; then
        return 1
    fi
    echo "${dir}"
}

as_postgres() {
    if [[ "$(id -un)" == "postgres" ]]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u postgres -- "$@"
    else
        su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
    fi
}

install_postgres() {
    if pg_bin >/dev/null; then
        return 0
    fi
    log "installing PostgreSQL from the Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
    pg_bin >/dev/null || { log "postgresql installed but no /usr/lib/postgresql/*/bin found"; exit 1; }
}

init_cluster() {
    local bin="$1"
    mkdir -p "${PGDIR}"
    chown postgres: "${PGDIR}" 2>/dev/null || true
    if [[ -f "${DATA}/PG_VERSION" ]]; then
        return 0
    fi
    log "initialising a cluster in ${DATA}"
    as_postgres "${bin}/initdb" -D "${DATA}" -U postgres --auth=trust --encoding=UTF8 --no-locale >/dev/null
    # loopback only; trust is acceptable because nothing but 127.0.0.1 can connect
    cat >"${DATA}/pg_hba.conf" <<EOF
local   all  all                trust
host    all  all  127.0.0.1/32  trust
EOF
    chown postgres: "${DATA}/pg_hba.conf"
}

is_up() {
    local bin="$1"
    "${bin}/pg_isready" -q -h 127.0.0.1 -p "${PORT}" -U postgres
}

start_cluster() {
    local bin="$1"
    if is_up "${bin}"; then
        return 0
    fi
    log "starting on 127.0.0.1:${PORT}"
    as_postgres "${bin}/pg_ctl" -D "${DATA}" -l "${LOG}" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p ${PORT} -k ${PGDIR} -c fsync=off -c max_connections=200" start >/dev/null
    for _ in $(seq 1 120); do
        is_up "${bin}" && return 0
        sleep 0.5
    done
    log "server did not become ready; see ${LOG}"
    exit 1
}

create_db() {
    local bin="$1"
    local exists
    exists="$("${bin}/psql" -h 127.0.0.1 -p "${PORT}" -U postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '${DB}'")"
    if [[ "${exists}" != "1" ]]; then
        "${bin}/createdb" -h 127.0.0.1 -p "${PORT}" -U postgres "${DB}"
    fi
}

stop_cluster() {
    local bin
    bin="$(pg_bin)" || { log "PostgreSQL is not installed"; return 0; }
    if [[ -f "${DATA}/postmaster.pid" ]]; then
        as_postgres "${bin}/pg_ctl" -D "${DATA}" -m fast -w stop >/dev/null
        log "stopped"
    else
        log "not running"
    fi
}

main() {
    case "${1:-start}" in
    stop)
        stop_cluster
        ;;
    url)
        echo "${URL}"
        ;;
    start)
        install_postgres
        local bin
        bin="$(pg_bin)"
        init_cluster "${bin}"
        start_cluster "${bin}"
        create_db "${bin}"
        echo "${URL}"
        ;;
    *)
        log "usage: $0 [start|stop|url]"
        exit 2
        ;;
    esac
}

main "$@"
