"""Render report.html in headless Chromium and check from the screenshot that the charts drew."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.eval.scripted import ScriptedServer, last_user

from lockgate.eval.backend import RetryPolicy
from lockgate.eval.charts import PALETTE
from lockgate.eval.results import parse_models
from lockgate.eval.session import RunRequest, execute

png = pytest.importorskip("png", reason="pypng is needed to decode the screenshot")

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (Debian package 'chromium')"),
]

SUITE = "items:\n" + "\n".join(
    f'  - {{id: q{n}, prompt: "Say {n}", expected: {n}, scorer: numeric, tags: [{"a" if n < 3 else "b"}]}}'
    for n in range(6)
)


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16))


def colour_counts(path: Path, colours: list[tuple[int, int, int]]) -> list[int]:
    width, _height, rows, _info = png.Reader(filename=str(path)).asRGBA8()
    counts = [0] * len(colours)
    for row in rows:
        for x in range(0, width * 4, 4):
            pixel = (row[x], row[x + 1], row[x + 2])
            for n, c in enumerate(colours):
                if all(abs(p - q) <= 40 for p, q in zip(pixel, c, strict=True)):
                    counts[n] += 1
    return counts


def screenshot(html: Path, out: Path, profile: Path) -> None:
    cmd = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
        f"--screenshot={out}", "--window-size=1200,2000", html.resolve().as_uri(),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    assert out.exists(), f"chromium wrote no screenshot (rc={proc.returncode}): {proc.stderr.decode()[-500:]}"


async def test_charts_render_in_chromium(
    server: ScriptedServer, write_suite: Callable[..., Path], tmp_path: Path
) -> None:
    server.responder = lambda body: last_user(body).split()[-1] if body["model"] == "m1" else "no idea"
    req = RunRequest(suite=str(write_suite(SUITE)), models=parse_models("m1,m2"), out=tmp_path / "run",
                     base_url=server.base_url, retry=RetryPolicy(attempts=1))  # fmt: skip
    await execute(req)
    shot = tmp_path / "shot.png"
    screenshot(tmp_path / "run" / "report.html", shot, tmp_path / "profile")
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body style='background:#fff'></body></html>", encoding="utf-8")
    blank_shot = tmp_path / "blank.png"
    screenshot(blank, blank_shot, tmp_path / "profile2")
    series = [rgb(PALETTE[0]), rgb(PALETTE[1])]
    counts = colour_counts(shot, series)
    print(f"series colour pixels in the report screenshot: {counts}")
    # model m1's bubble and bars (blue) and model m2's bubble (red) are drawn; the blank page has none
    assert counts[0] > 1500 and counts[1] > 300
    assert colour_counts(blank_shot, series) == [0, 0]
    assert shutil.which(str(CHROMIUM))
