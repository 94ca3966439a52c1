"""deploy/fleet's files on their own (tests/e2e/test_fleet.py runs them together): the
instances' config checks in the environment it documents, the nginx template renders to a
config nginx accepts (``nginx -t``, unprivileged), and the run script parses."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.deploy.fleet_files import FLEET, nginx_argv, nginx_binary, render_nginx
from tests.deploy.kube_checks import ENV_REF

from lockgate.cli import cli

CONFIG = FLEET / "lockgate.yaml"
REQUIRED = {"LOCKGATE_INSTANCE", "LOCKGATE_PG_URL", "LOCKGATE_ADMIN_KEY", "LOCKGATE_SIGNING_KEY",
            "LOCKGATE_EU_KEY", "LOCKGATE_US_KEY", "LOCKGATE_CN_KEY"}  # fmt: skip


def env() -> dict[str, str | None]:
    return {name: "postgresql+psycopg://u@h/db" if name == "LOCKGATE_PG_URL" else "x" for name in REQUIRED}


def test_required_variables_are_the_documented_ones() -> None:
    text = CONFIG.read_text()
    assert {name for name, default in ENV_REF.findall(text) if not default} == REQUIRED
    header = text.split("\n\n", 1)[0]  # the comment that documents them ("LOCKGATE_EU_URL … and their _KEY")
    assert all(name in header or name.removesuffix("_KEY") + "_URL" in header for name in REQUIRED)


def test_instance_config_checks() -> None:
    result = CliRunner().invoke(cli, ["config", "check", str(CONFIG)], env=env())
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_instance_config_names_a_missing_variable(name: str) -> None:
    result = CliRunner().invoke(cli, ["config", "check", str(CONFIG)], env={**env(), name: None})
    assert result.exit_code != 0
    assert f"environment variable {name} is not set" in result.output


def nginx_test(conf: Path) -> subprocess.CompletedProcess[str]:
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (Debian package 'nginx'; scripts/test.sh installs it)")
    return subprocess.run(nginx_argv(binary, conf, "-t"), capture_output=True, text=True, timeout=30)


def test_nginx_accepts_the_rendered_template(tmp_path: Path) -> None:
    done = nginx_test(render_nginx(tmp_path / "nginx", 18080, [18081, 18082, 18083]))
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


def test_nginx_rejects_a_broken_template(tmp_path: Path) -> None:
    text = (
        (FLEET / "nginx.conf.in")
        .read_text()
        .replace("proxy_next_upstream error", "proxy_next_upstream eror", 1)
    )
    done = nginx_test(render_nginx(tmp_path / "nginx", 18080, [18081, 18082, 18083], template=text))
    assert done.returncode != 0 and "eror" in done.stderr


def test_a_placeholder_left_unfilled_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="@PORT3@"):
        render_nginx(tmp_path / "nginx", 18080, [18081, 18082])


def test_run_script_parses() -> None:
    done = subprocess.run(["bash", "-n", str(FLEET / "run.sh")], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
