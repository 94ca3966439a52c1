#!/usr/bin/env bash
# The reference fleet on one host: three `lockgate serve` instances on 127.0.0.1:8081-8083 behind
# nginx (Debian's package, unprivileged, its own prefix) on 127.0.0.1:8080, sharing one
# PostgreSQL.  Ctrl-C stops everything.
#
#   LOCKGATE_ADMIN_KEY=$(openssl rand -hex 24) LOCKGATE_EU_KEY=... LOCKGATE_US_KEY=... \
#   LOCKGATE_CN_KEY=... bash deploy/fleet/run.sh
#
# Environment (see deploy/fleet/lockgate.yaml for the instances' own variables):
#   LOCKGATE_PG_URL   the store; default: the throwaway loopback PostgreSQL of scripts/pg.sh
#   FLEET_DIR         state, logs, the rendered nginx.conf; default /tmp/lockgate-fleet
#   FLEET_PORT        nginx's port; the instances take the next three; default 8080
#   LOCKGATE          the lockgate command; default .venv/bin/lockgate of this checkout
#   FLEET_SERVE_ARGS  more arguments for every `lockgate serve` (e.g. "--workers 2", over server.workers)
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${FLEET_DIR:-/tmp/lockgate-fleet}"
port="${FLEET_PORT:-8080}"
lockgate="${LOCKGATE:-${root}/.venv/bin/lockgate}"
nginx="$(command -v nginx || echo /usr/sbin/nginx)"
[[ -x "${nginx}" ]] || { echo "run.sh: nginx not found (apt-get install nginx)" >&2; exit 1; }
: "${LOCKGATE_ADMIN_KEY:?set LOCKGATE_ADMIN_KEY (the bootstrap admin key of the fleet)}"
LOCKGATE_PG_URL="${LOCKGATE_PG_URL:-$(bash "${root}/scripts/pg.sh")}"
LOCKGATE_SIGNING_KEY="${LOCKGATE_SIGNING_KEY:-${dir}/audit-signing.key}"
export LOCKGATE_ADMIN_KEY LOCKGATE_PG_URL LOCKGATE_SIGNING_KEY

mkdir -p "${dir}/nginx"
if [[ ! -f "${LOCKGATE_SIGNING_KEY}" ]]; then  # one key for every instance: one pin verifies the chain
    (umask 077 && openssl genpkey -algorithm ed25519 -out "${LOCKGATE_SIGNING_KEY}")
fi

pids=()
stop() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill "${pid}" 2>/dev/null || true; done
    wait
}
trap stop EXIT
trap 'stop; exit 130' INT TERM

for i in 1 2 3; do
    # shellcheck disable=SC2086
    LOCKGATE_INSTANCE="gw-${i}" LOCKGATE_DATA_DIR="${dir}/gw-${i}" \
        "${lockgate}" serve -c "${root}/deploy/fleet/lockgate.yaml" --port $((port + i)) ${FLEET_SERVE_ARGS:-} \
        >"${dir}/gw-${i}.log" 2>&1 &
    pids+=("$!")
done

sed -e "s|@USER@|$(id -un)|" -e "s|@WORKERS@|auto|" -e "s|@PREFIX@|${dir}/nginx|g" \
    -e "s|@LISTEN@|127.0.0.1:${port}|" -e "s|@PORT1@|$((port + 1))|g" -e "s|@PORT2@|$((port + 2))|g" \
    -e "s|@PORT3@|$((port + 3))|g" "${root}/deploy/fleet/nginx.conf.in" >"${dir}/nginx/nginx.conf"
"${nginx}" -p "${dir}/nginx" -c "${dir}/nginx/nginx.conf" -e "${dir}/nginx/error.log" &
pids+=("$!")

ready() {  # instance $1 answers /readyz; gives up when its process has exited or after 60 s
    for _ in $(seq 1 120); do
        curl -fs "http://127.0.0.1:$((port + $1))/readyz" >/dev/null && return 0
        kill -0 "${pids[$(($1 - 1))]}" 2>/dev/null || break
        sleep 0.5
    done
    echo "run.sh: gw-$1 is not ready; see ${dir}/gw-$1.log" >&2
    return 1
}
for i in 1 2 3; do ready "${i}" || exit 1; done
echo "lockgate fleet on http://127.0.0.1:${port}/v1 (instances :$((port + 1))-:$((port + 3)); logs in ${dir})"
wait -n "${pids[@]}"
echo "run.sh: a process of the fleet exited; stopping the rest" >&2
