"""Headless Chromium for console tests: where screenshots go and how a page is opened.

Screenshots go to the test's tmp dir, or to ``$LOCKGATE_CONSOLE_SCREENSHOTS`` when it is set:
``LOCKGATE_CONSOLE_SCREENSHOTS=docs/console pytest tests/server/test_console_browser*.py``
refreshes the pictures the README links to.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS_ENV = "LOCKGATE_CONSOLE_SCREENSHOTS"


def shots_dir(tmp_path: Path) -> Path:
    chosen = os.environ.get(SHOTS_ENV)
    path = Path(chosen) if chosen else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


async def open_page(page: Any, name: str) -> None:
    await page.evaluate(f"location.hash = '#{name}'")
    await page.wait_for_selector(f'main[data-loaded="{name}"]', timeout=15000)


async def sign_in(page: Any, base: str, key: str) -> None:
    await page.goto(base + "/console/signin")
    await page.fill("#key", key)
    await page.click("#signin")
    await page.wait_for_selector('main[data-loaded="overview"]', timeout=15000)
