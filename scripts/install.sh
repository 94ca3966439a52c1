#!/usr/bin/env bash
# Install lockgate into ./.venv (idempotent).  Needs only Python 3.11+, pip, gcc and cmake.
#
#   scripts/install.sh          the gateway and the bundled model
#   scripts/install.sh --test   plus the test tools and the tune extra (CPU PyTorch)
#
# llama-cpp-python is compiled from source (several minutes on 2 cores); its build steps
# are shown as they happen, and the full log is kept in .venv/install.log.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[[ "${1:-}" == "--test" ]] && extras="[test,tune]"   # tests cover lockgate tune (CPU torch)

PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
    for cand in python3.11 python3.12 python3.13 python3; do
        if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
            PY="$cand"; break
        fi
    done
fi
[[ -n "$PY" ]] || { echo "install: Python 3.11 or newer is required" >&2; exit 1; }

stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)${extras:+-test}"
if [[ -f "$stamp" ]]; then
    echo "install: .venv is up to date"
    exit 0
fi

[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip wheel setuptools

# AMX instructions are advertised by some virtual machines but not allowed: keep them out
# of the native build, or the engine dies with "Illegal instruction" on the first prompt.
export CFLAGS="${CFLAGS:-} -mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
export CXXFLAGS="${CXXFLAGS:-} -mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"

echo "install: installing lockgate${extras} (the llama.cpp build takes several minutes on 2 cores)"
set +e
.venv/bin/python -m pip install -v -e ".${extras}" 2>&1 | tee .venv/install.log \
    | grep --line-buffered -E '^\s*\[ *[0-9]+/[0-9]+\]|^Successfully|^ERROR|error:|^Collecting|^Building wheel' \
    | sed -u -E 's/^\s*(\[ *[0-9]+\/[0-9]+\]).*/  building llama.cpp \1/'
status=${PIPESTATUS[0]}
set -e
if [[ $status -ne 0 ]]; then
    echo "install: pip failed (exit $status); the last lines of .venv/install.log:" >&2
    tail -n 30 .venv/install.log >&2
    exit "$status"
fi
rm -f .venv/.installed-*
touch "$stamp"
echo "install: done"
