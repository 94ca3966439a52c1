"""Run the real Claude Code and Codex CLIs (installed by ``scripts/agents.sh``) against a base URL.

Each run gets a throwaway HOME (and CODEX_HOME) and an environment built from scratch: PATH,
locale and the variables below only, so nothing from the caller's environment (a real API key,
a proxy, a logged-in account) leaks in, and every optional network feature (telemetry, update
checks, error reporting, plugin and marketplace sync) is off.  Checked with strace: with these
settings each CLI opens exactly one TCP connection, to ``base_url``, and makes no DNS lookup.

    run_claude(base_url, api_key, model, prompt, timeout) -> subprocess.CompletedProcess
    run_codex(base_url, api_key, model, prompt, timeout)  -> subprocess.CompletedProcess

``base_url`` is the server root for Claude Code (it appends ``/v1/messages``), and the root or
the ``/v1`` root for Codex (``/v1`` is added when missing; Codex appends ``/responses``).

``lean=True`` strips each CLI's request down (no tools, a one-line system prompt / instructions)
for a gateway whose model has a small context window: Claude Code's default request is ~12k
tokens of system prompt and tool schemas, Codex's ~10k.  The defaults send what a user's CLI
sends.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREFIX = ROOT / ".agents"
BIN = PREFIX / "node_modules" / ".bin"
CLAUDE_BIN = BIN / "claude"
CODEX_BIN = BIN / "codex"

LEAN_SYSTEM_PROMPT = "You are a helpful assistant. Answer briefly."

# The gateway under test lives on loopback: never send it through a proxy.
_NO_PROXY = "127.0.0.1,localhost,::1"


def claude_available() -> bool:
    return os.access(CLAUDE_BIN, os.X_OK)


def codex_available() -> bool:
    return os.access(CODEX_BIN, os.X_OK)


def _base_env(home: Path) -> dict[str, str]:
    """A minimal environment: no inherited credentials, proxies or CLI settings."""
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.pathsep.join([str(BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "USER": "lockgate-test",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        "NO_PROXY": _NO_PROXY,
        "no_proxy": _NO_PROXY,
        "TMPDIR": str(home / "tmp"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
    }


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# -- Claude Code ---------------------------------------------------------------------------------


def claude_env(
    base_url: str,
    api_key: str,
    model: str,
    home: Path,
    *,
    auth: str = "x-api-key",
    max_output_tokens: int | None = None,
    context_window: int | None = None,
) -> dict[str, str]:
    """Environment that points Claude Code at ``base_url`` with ``api_key`` for every model slot.

    ``auth="x-api-key"`` sets ANTHROPIC_API_KEY (sent as ``x-api-key``); ``auth="bearer"`` sets
    ANTHROPIC_AUTH_TOKEN (sent as ``Authorization: Bearer``).
    """
    if auth not in ("x-api-key", "bearer"):
        raise ValueError(f"auth must be 'x-api-key' or 'bearer', not {auth!r}")
    env = _base_env(home)
    env.update(
        {
            "ANTHROPIC_BASE_URL": base_url.rstrip("/"),
            "ANTHROPIC_API_KEY" if auth == "x-api-key" else "ANTHROPIC_AUTH_TOKEN": api_key,
            # Every model slot, so that no request names a claude-* model the gateway lacks.
            "ANTHROPIC_MODEL": model,
            "ANTHROPIC_DEFAULT_OPUS_MODEL": model,
            "ANTHROPIC_DEFAULT_SONNET_MODEL": model,
            "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
            "ANTHROPIC_SMALL_FAST_MODEL": model,
            "CLAUDE_CODE_SUBAGENT_MODEL": model,
            # The one that matters: without it Claude Code sends HEAD {base_url}/api/hello and
            # resolves api.anthropic.com.  The rest switch off what it also covers, explicitly.
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_UPDATES": "1",
            "DISABLE_BUG_COMMAND": "1",
            "DISABLE_GROWTHBOOK": "1",
            "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
            "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
            "CLAUDE_CODE_DISABLE_TERMINAL_TITLE": "1",
            "CLAUDE_CONFIG_DIR": str(home / ".claude"),
            "API_TIMEOUT_MS": "600000",
        }
    )
    if max_output_tokens is not None:
        env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] = str(max_output_tokens)  # default max_tokens: 32000
    if context_window is not None:
        env["CLAUDE_CODE_MAX_CONTEXT_TOKENS"] = str(context_window)  # else 1M for unknown models
    return env


def _claude_home(home: Path) -> None:
    config_dir = home / ".claude"
    config_dir.mkdir(parents=True, exist_ok=True)
    settings = {
        "env": {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1"},
        "autoUpdates": False,
    }
    (config_dir / "settings.json").write_text(json.dumps(settings, indent=2))
    # Onboarding already done: no first-run screens or login prompts even outside -p.
    state = {"hasCompletedOnboarding": True, "autoUpdates": False, "numStartups": 1}
    (config_dir / ".claude.json").write_text(json.dumps(state, indent=2))


def claude_command(
    prompt: str, model: str, *, lean: bool = False, extra_args: list[str] | None = None
) -> list[str]:
    cmd = [
        str(CLAUDE_BIN),
        "-p",
        prompt,
        "--model",
        model,
        "--output-format",
        "text",
        "--no-session-persistence",
    ]
    if lean:
        cmd += ["--bare", "--tools", "", "--system-prompt", LEAN_SYSTEM_PROMPT]
    return cmd + list(extra_args or [])


def run_claude(
    base_url: str,
    api_key: str,
    model: str,
    prompt: str,
    timeout: float = 120,
    *,
    lean: bool = False,
    auth: str = "x-api-key",
    max_output_tokens: int | None = None,
    context_window: int | None = None,
    extra_args: list[str] | None = None,
    extra_env: dict[str, str] | None = None,
    workdir: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``claude -p PROMPT --model MODEL`` against ``base_url``; returns the finished process.

    Raises ``subprocess.TimeoutExpired`` after ``timeout`` seconds.  Runs as root are fine as
    long as ``--dangerously-skip-permissions`` is not passed (that needs IS_SANDBOX=1 as root).
    """
    with tempfile.TemporaryDirectory(prefix="lockgate-claude-") as tmp:
        home = Path(tmp)
        _claude_home(home)
        cwd = workdir or home / "work"
        cwd.mkdir(parents=True, exist_ok=True)
        env = claude_env(
            base_url,
            api_key,
            model,
            home,
            auth=auth,
            max_output_tokens=max_output_tokens,
            context_window=context_window,
        )
        env.update(extra_env or {})
        return _run(claude_command(prompt, model, lean=lean, extra_args=extra_args), cwd, env, timeout)


# -- Codex ----------------------------------------------------------------------------------------

CODEX_KEY_ENV = "LOCKGATE_API_KEY"

# Features that reach hosts other than the provider: ``plugins`` syncs a marketplace from
# github.com and resolves chatgpt.com; the others need a ChatGPT account.  Off in every run.
_CODEX_OFFLINE_FEATURES = ("apps", "plugins", "remote_plugin", "plugin_sharing", "in_app_updates")
# Features that add tools or long instructions; off only with ``lean``.
_CODEX_LEAN_FEATURES = ("multi_agent", "goals", "shell_tool", "unified_exec", "view_image", "skill_search")


def codex_config(
    base_url: str,
    model: str,
    *,
    lean: bool = False,
    instructions_file: Path | None = None,
    context_window: int | None = None,
) -> str:
    """config.toml that makes ``lockgate`` (at ``base_url``) Codex's provider.

    Every key is checked by ``--strict-config``, which ``run_codex`` passes, so a CLI upgrade
    that renames one fails loudly instead of silently falling back to a default.
    """
    root = base_url.rstrip("/")
    if not root.endswith("/v1"):
        root += "/v1"
    features = {name: False for name in _CODEX_OFFLINE_FEATURES}
    top = [
        f"model = {json.dumps(model)}",
        'model_provider = "lockgate"',
        'approval_policy = "never"',
        'sandbox_mode = "read-only"',
        "check_for_update_on_startup = false",
    ]
    if lean:
        features.update({name: False for name in _CODEX_LEAN_FEATURES})
        top.append('web_search = "disabled"')
        if instructions_file is not None:
            top.append(f"model_instructions_file = {json.dumps(str(instructions_file))}")
    if context_window is not None:
        top.append(f"model_context_window = {int(context_window)}")
    lines = [
        *top,
        "",
        "[model_providers.lockgate]",
        'name = "lockgate"',
        f"base_url = {json.dumps(root)}",
        f"env_key = {json.dumps(CODEX_KEY_ENV)}",
        'wire_api = "responses"',
        # Fail fast in tests: a broken stream is a finding, not something to retry.
        "request_max_retries = 0",
        "stream_max_retries = 0",
        "stream_idle_timeout_ms = 300000",
        "",
        "[features]",
        *(f"{name} = {str(on).lower()}" for name, on in features.items()),
        "",
        "[analytics]",
        "enabled = false",
        "",
        "[feedback]",
        "enabled = false",
        "",
        "[otel]",
        'exporter = "none"',
        "log_user_prompt = false",
        "",
        "[history]",
        'persistence = "none"',
    ]
    if lean:
        lines += ["", "[skills.bundled]", "enabled = false"]
    return "\n".join(lines) + "\n"


def codex_env(api_key: str, home: Path, codex_home: Path) -> dict[str, str]:
    env = _base_env(home)
    env.update({"CODEX_HOME": str(codex_home), CODEX_KEY_ENV: api_key, "RUST_LOG": "error"})
    return env


def run_codex(
    base_url: str,
    api_key: str,
    model: str,
    prompt: str,
    timeout: float = 120,
    *,
    lean: bool = False,
    context_window: int | None = None,
    extra_args: list[str] | None = None,
    extra_env: dict[str, str] | None = None,
    workdir: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``codex exec PROMPT`` with a ``lockgate`` provider at ``base_url``; returns the process.

    stdout holds the final answer only; stderr holds the session banner, the transcript and
    warnings.  Codex sends no output-token limit (no ``max_output_tokens``); ``context_window``
    only sets when it compacts.  Raises ``subprocess.TimeoutExpired`` after ``timeout`` seconds.
    """
    with tempfile.TemporaryDirectory(prefix="lockgate-codex-") as tmp:
        home = Path(tmp)
        codex_home = home / ".codex"
        codex_home.mkdir(parents=True)
        instructions = None
        if lean:
            instructions = codex_home / "instructions.md"
            instructions.write_text(LEAN_SYSTEM_PROMPT + "\n")
        (codex_home / "config.toml").write_text(
            codex_config(
                base_url,
                model,
                lean=lean,
                instructions_file=instructions,
                context_window=context_window,
            )
        )
        cwd = workdir or home / "work"
        cwd.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(CODEX_BIN),
            "exec",
            "--strict-config",
            "--skip-git-repo-check",
            "--ephemeral",
            "--color",
            "never",
            "--sandbox",
            "read-only",
            *(extra_args or []),
            prompt,
        ]
        env = codex_env(api_key, home, codex_home)
        env.update(extra_env or {})
        return _run(cmd, cwd, env, timeout)
