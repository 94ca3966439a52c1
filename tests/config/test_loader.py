"""Config loading: validation errors name the file, the field path and what was expected;
secrets only by indirection and never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from lockgate.cli import cli
from lockgate.config.loader import default_config, load_config, parse_config
from lockgate.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "lockgate.yaml"
    p.write_text(text)
    return p


def test_shipped_examples_are_valid() -> None:
    for name in ("lockgate.yaml", "sovereign.yaml"):
        cfg = load_config(ROOT / "examples" / name)
        assert cfg.models


def test_default_config_serves_bundled_model() -> None:
    cfg = default_config()
    assert list(cfg.models) == ["smollm2"]
    assert cfg.providers["local"].kind == "llamacpp"
    assert cfg.providers["local"].engine is not None
    assert cfg.providers["local"].engine.model == "bundled:smollm2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("server:\n  port: abc\n", "server.port: Input should be a valid integer"),
        ("server:\n  port: 70000\n", "server.port"),
        ("servr: {}\n", "servr: unknown field"),
        ("providers:\n  p: {kind: openai}\n", "needs base_url"),
        ("models:\n  m:\n    deployments: [{provider: ghost, model: x}]\n", "unknown provider 'ghost'"),
        ("models:\n  m:\n    deployments: []\n", "models.m.deployments"),
        (
            "models:\n  m:\n    strategy: random\n    deployments: [{provider: p, model: x}]\n",
            "models.m.strategy",
        ),
        ("- just\n- a list\n", "top level must be a mapping"),
        ("server: {port: [\n", "YAML syntax error at line"),
    ],
)
def test_invalid_files_name_file_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_literal_secret_rejected_and_not_echoed(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "providers:\n  p: {kind: openai, base_url: 'http://x', api_key: sk-LITERAL-123}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "providers.p.api_key" in str(info.value)
    assert "sk-LITERAL-123" not in str(info.value)


def test_secret_indirection_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UP_KEY", "sk-from-env")
    secret = tmp_path / "key.txt"
    secret.write_text("sk-from-file\n")
    cfg = parse_config(
        {
            "providers": {
                "a": {"kind": "openai", "base_url": "http://a", "api_key": "${UP_KEY}"},
                "b": {"kind": "openai", "base_url": "http://b", "api_key": f"file:{secret}",
                      "headers": {"X-Org": "${MISSING:-org-1}"}},
            }
        }
    )  # fmt: skip
    assert cfg.providers["a"].api_key is not None
    assert cfg.providers["a"].api_key.get_secret_value() == "sk-from-env"
    assert cfg.providers["b"].api_key is not None
    assert cfg.providers["b"].api_key.get_secret_value() == "sk-from-file"
    assert cfg.providers["b"].headers["X-Org"].get_secret_value() == "org-1"
    assert "sk-from-env" not in repr(cfg) and "sk-from-env" not in cfg.model_dump_json()


def test_missing_env_and_missing_secret_file(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"providers.a.api_key: environment variable NOPE_NOT_SET is not set"
    ):
        parse_config(
            {"providers": {"a": {"kind": "openai", "base_url": "http://a", "api_key": "${NOPE_NOT_SET}"}}}
        )
    with pytest.raises(ConfigError, match="cannot read secret file"):
        parse_config({"providers": {"a": {"kind": "openai", "base_url": "http://a",
                                          "api_key": f"file:{tmp_path}/absent"}}})  # fmt: skip


def test_config_check_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["config", "check", str(ROOT / "examples" / "lockgate.yaml")])
    assert ok.exit_code == 0 and "OK" in ok.output
    bad = runner.invoke(cli, ["config", "check", str(_write(tmp_path, "server: {port: x}\n"))])
    assert bad.exit_code == 1
    assert "server.port" in bad.output
    unknown_kind = _write(tmp_path, "providers:\n  p: {kind: telepathy, base_url: 'http://x'}\n")
    res = runner.invoke(cli, ["config", "check", str(unknown_kind)])
    assert res.exit_code == 1 and "providers.p.kind: unknown kind 'telepathy'" in res.output
