#!/usr/bin/env bash
# Install the Claude Code and Codex CLIs into ./.agents (git-ignored), for the agent tests in
# tests/agents/ (pytest -m agents).  Idempotent: a second run with the same pins does nothing.
#
#   scripts/agents.sh            install (Node.js and npm from Debian's packages if missing)
#   scripts/agents.sh --check    only report whether the pinned CLIs are installed (exit 1 if not)
#
# Both packages ship native binaries through optional platform packages on npm
# (@anthropic-ai/claude-code-linux-x64, @openai/codex-linux-x64), so nothing is downloaded from
# outside the npm registry.  Claude Code's package declares engines.node >=22, but only its
# postinstall step (install.cjs, which links the native binary into bin/) runs under Node, and
# it works on Node 18 and 20: npm's EBADENGINE warning is expected and harmless.
set -euo pipefail
cd "$(dirname "$0")/.."

CLAUDE_CODE_VERSION="${CLAUDE_CODE_VERSION:-2.1.332}"
CODEX_VERSION="${CODEX_VERSION:-0.171.0}"
PREFIX=".agents"
BIN="$PREFIX/node_modules/.bin"
stamp="$PREFIX/.installed-claude-$CLAUDE_CODE_VERSION-codex-$CODEX_VERSION"

installed() {
    [[ -f "$stamp" ]] \
        && "$BIN/claude" --version 2>/dev/null | grep -q "^$CLAUDE_CODE_VERSION " \
        && "$BIN/codex" --version 2>/dev/null | grep -q " $CODEX_VERSION\$"
}

if [[ "${1:-}" == "--check" ]]; then
    if installed; then
        echo "agents: claude $CLAUDE_CODE_VERSION and codex $CODEX_VERSION are installed in $PREFIX"
        exit 0
    fi
    echo "agents: not installed (run scripts/agents.sh)" >&2
    exit 1
fi

if installed; then
    echo "agents: claude $CLAUDE_CODE_VERSION and codex $CODEX_VERSION are up to date in $PREFIX"
    exit 0
fi

# Node.js and npm: any Node >= 18 will do (see above).  Debian's packages otherwise.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if ! command -v npm >/dev/null || ! command -v node >/dev/null || (( $(node_major) < 18 )); then
    echo "agents: installing nodejs and npm from Debian's packages"
    SUDO=""
    [[ "$(id -u)" == 0 ]] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
(( $(node_major) >= 18 )) || { echo "agents: Node.js 18 or newer is required (found $(node --version))" >&2; exit 1; }

case "$(uname -m)" in
    x86_64|amd64|aarch64|arm64) ;;
    *) echo "agents: no native Claude Code / Codex build for $(uname -m)" >&2; exit 1 ;;
esac

echo "agents: installing @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION and @openai/codex@$CODEX_VERSION into $PREFIX"
mkdir -p "$PREFIX"
# A package.json of its own keeps npm from walking up into a parent project.
[[ -f "$PREFIX/package.json" ]] || echo '{"name": "lockgate-agents", "private": true}' > "$PREFIX/package.json"
npm install --prefix "$PREFIX" --no-audit --no-fund --no-save --loglevel=error \
    --include=optional --foreground-scripts \
    "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" "@openai/codex@$CODEX_VERSION"

# npm versions with install-script allow-lists may skip Claude Code's postinstall, which leaves
# a placeholder in bin/claude.exe: run it by hand then.
if ! "$BIN/claude" --version >/dev/null 2>&1; then
    echo "agents: linking Claude Code's native binary (postinstall was skipped)"
    (cd "$PREFIX/node_modules/@anthropic-ai/claude-code" && node install.cjs)
fi

"$BIN/claude" --version
"$BIN/codex" --version
rm -f "$PREFIX"/.installed-*
touch "$stamp"
installed || { echo "agents: the installed versions do not match the pins" >&2; exit 1; }
echo "agents: done; tests: .venv/bin/python -m pytest -m agents tests/agents"
