#!/usr/bin/env bash
# lockgate benchmark: one command, from the repository root or anywhere.
#   bash bench/run.sh            full run (< 10 minutes on 2 cores); results in bench/results/latest.json
#   bash bench/run.sh --smoke    a few hundred requests per line (< 90 s)
# Other flags: --no-litellm, --no-engine, --profile, --out FILE (see: bash bench/run.sh --help).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ ! -x .venv/bin/python ]; then
    echo "bench: $ROOT/.venv is missing; create it and 'pip install -e .[test]' first" >&2
    exit 1
fi
if ! .venv/bin/python -c "import lockgate" 2>/dev/null; then
    .venv/bin/pip install -q -e . --no-deps
fi
exec .venv/bin/python bench/run.py "$@"
