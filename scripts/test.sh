#!/usr/bin/env bash
# Install lockgate with its test tools and the agent CLIs (Claude Code, Codex; npm), start the
# services the tests need (PostgreSQL on loopback, from Debian's packages; headless Chromium for
# the report check), then run the
# linters, the type checker and the whole test suite.  Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh --test

need=()
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
if (( ${#need[@]} )); then
    echo "test: installing Debian packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# the real Claude Code and Codex CLIs, for the agent-protocol tests (npm packages, in .agents/)
bash scripts/agents.sh

LOCKGATE_TEST_PG_URL="$(bash scripts/pg.sh)"
export LOCKGATE_TEST_PG_URL
echo "test: PostgreSQL at ${LOCKGATE_TEST_PG_URL}"

echo "test: ruff"
.venv/bin/ruff check src tests bench
echo "test: mypy --strict"
.venv/bin/mypy
echo "test: pytest"
.venv/bin/pytest -q -p no:cacheprovider "$@"
