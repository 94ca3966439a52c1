#!/usr/bin/env bash
# Install (if needed) and run `lockgate serve` with the bundled SmolLM2 model on 127.0.0.1:8080.
# Extra arguments go to `lockgate serve` (e.g. -c lockgate.yaml --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/lockgate serve "$@"
