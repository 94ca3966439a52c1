"""The console's Evaluations and Keys pages, acknowledgements and verify progress in real
headless Chromium (Debian's, driven by Playwright) against the console lab's gateway.

Two evaluation runs are made by the real runner through the gateway, one before and one after
CN is cut; the console lists them, opens a report under its no-script policy and compares
them.  A key revoked in the console is refused on /v1/chat/completions at once.  Client keys,
a missing CSRF token and paths out of the runs directory are refused.  Screenshots:
``tests/support/console_browser.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.support.console_actions import register_blocked, run_eval
from tests.support.console_browser import CHROMIUM, open_page, shots_dir, sign_in
from tests.support.console_lab import ConsoleLab, console_lab

pw = pytest.importorskip("playwright.async_api", reason="needs Playwright for Python")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="needs headless Chromium (Debian package 'chromium')"),
]


async def _prepare(lab: ConsoleLab, tmp_path: Path) -> dict[str, str]:
    await run_eval(lab, "before-cn-cut")
    assert (await lab.admin("POST", "/admin/cuts", json={"target": "CN", "reason": "eval"}))[0] == 201
    await run_eval(lab, "after-cn-cut")
    assert (await lab.admin("DELETE", "/admin/cuts/CN"))[0] == 200
    blocked = await register_blocked(lab, tmp_path)
    _status, keys = await lab.admin("GET", "/admin/keys")
    ids = {k["name"]: k["id"] for k in keys["data"]}
    return {"blocked": blocked, "eu": ids["eu-app"], "app": ids["app"]}


async def _evaluations(page: Any, lab: ConsoleLab, shots: Path) -> None:
    await open_page(page, "evals")
    runs = await page.inner_text("#evals")
    assert "before-cn-cut" in runs and "after-cn-cut" in runs and "sovereignty-smoke" in runs
    assert "0.67" in runs and "0.33" in runs  # mean scores before and after the cut
    await page.screenshot(path=str(shots / "console-evals.png"), full_page=True)

    # the report opens in its own tab, styled, with its SVG, and no policy violation
    report_errors: list[str] = []
    async with page.context.expect_page() as opened:
        await page.click("a.report-link[data-run='before-cn-cut']")
    report = await opened.value
    report.on("console", lambda msg: report_errors.append(msg.text))
    await report.wait_for_load_state()
    assert "/admin/evals/before-cn-cut/report" in report.url
    assert "sovereignty-smoke" in await report.inner_text("h1")
    assert await report.locator("svg").count() >= 1
    swatch = await report.locator(".swatch").first.bounding_box()
    assert swatch is not None and swatch["width"] >= 8  # the report's own <style> block applied
    await report.screenshot(path=str(shots / "console-eval-report.png"), full_page=True)
    await report.close()
    assert report_errors == [], report_errors

    # compare: the item that wanted an answer from CN flipped once CN was cut
    await page.select_option("#compare-a", "before-cn-cut")
    await page.select_option("#compare-b", "after-cn-cut")
    await page.click("#compare-run")
    flip = page.locator("#compare tr[data-flip='served-from-cn']")
    await flip.wait_for()
    assert (await flip.inner_text()).split("\t")[1:] == ["pass", "fail"]
    assert "-0.333" in await page.inner_text("#compare")
    await page.screenshot(path=str(shots / "console-evals-compare.png"), full_page=True)


async def _revoke(page: Any, lab: ConsoleLab, ids: dict[str, str], shots: Path) -> None:
    assert (await lab.chat("gpt", key=lab.eu_key))[0] == 200
    await open_page(page, "keys")
    await page.click(f"[data-revoke='{ids['eu']}']")
    await page.wait_for_selector("#revoke-yes")
    assert "eu-app" in await page.inner_text("#revoke-confirm")
    await page.screenshot(path=str(shots / "console-keys.png"), full_page=True)
    await page.click("#revoke-yes")
    await page.wait_for_selector(f"[data-revoke='{ids['eu']}']", state="detached", timeout=15000)
    status, refused = await lab.chat("gpt", key=lab.eu_key)
    assert status == 401 and refused["error"]["code"] == "invalid_api_key"


async def _acknowledge(page: Any, ids: dict[str, str], shots: Path) -> None:
    await open_page(page, "models")
    form = page.locator(f"form[data-ack='{ids['blocked']}']")
    assert "licence.eu-domicile-exclusion" in await form.inner_text()
    await form.locator(".ack-reason").fill("served only to the non-EU subsidiary")
    await form.locator(".ack-submit").click()
    await page.wait_for_selector("#ack-yes")
    await page.screenshot(path=str(shots / "console-models-ack.png"), full_page=True)
    await page.click("#ack-yes")
    await page.wait_for_selector(f"form[data-ack='{ids['blocked']}']", state="detached", timeout=15000)
    models = await page.inner_text("main")
    assert "served only to the non-EU subsidiary" in models and "ops-admin (admin key" in models


async def _verify(page: Any, shots: Path) -> None:
    await open_page(page, "audit")
    await page.click("#verify-now")
    await page.wait_for_selector("#verify-result", timeout=30000)
    result = await page.inner_text("#verify-result")
    assert "chain intact" in result and "records walked" in result
    bar_max = await page.get_attribute("#verify-progress", "max")
    assert bar_max is not None and int(bar_max) >= 4  # the bar counts records, not chains
    assert await page.get_attribute("#verify-progress", "value") == bar_max
    events = await page.inner_text("main")
    assert "key.revoke" in events and "model.ack" in events
    await page.screenshot(path=str(shots / "console-audit-verify.png"), full_page=True)


async def _refusals(page: Any, lab: ConsoleLab, ids: dict[str, str]) -> None:
    # with the session cookie but no CSRF token: refused, nothing changes
    for method, path, body in (("DELETE", f"keys/{ids['app']}", None),
                               ("POST", f"models/{ids['blocked']}/acks", {"rule": "x", "reason": "y"})):  # fmt: skip
        status = await page.evaluate(
            "([m, p, b]) => fetch('../admin/' + p, {method: m, headers: {'Content-Type': 'application/json'},"
            " body: b === null ? undefined : JSON.stringify(b)}).then(r => r.status)",
            [method, path, body],
        )
        assert status == 403, path
    assert (await lab.chat("gpt"))[0] == 200  # the client key was not revoked
    # client keys are refused on every new route
    for method, path in (("GET", "/admin/evals"), ("GET", "/admin/evals/before-cn-cut/report"),
                         ("GET", "/admin/evals/compare?a=before-cn-cut&b=after-cn-cut"),
                         ("POST", f"/admin/models/{ids['blocked']}/acks"), ("DELETE", f"/admin/keys/{ids['app']}")):  # fmt: skip
        status, err = await lab.admin(method, path, key=lab.client_key, json={"rule": "r", "reason": "x"})
        assert status == 403 and err["error"]["type"] == "permission_error", path
    # report serving stays inside the runs directory
    for path in (
        "..%2Fstate/report",
        "%2E%2E/report",
        ".ssh/report",
        "before-cn-cut%2F..%2F..%2Fstate/report",
    ):
        resp = await page.goto(lab.base + "/admin/evals/" + path)
        assert resp is not None and resp.status == 404, path
    await page.goto(lab.base + "/console/")


async def test_console_evaluations_keys_acks_and_verify(tmp_path: Path) -> None:
    errors: list[str] = []
    shots = shots_dir(tmp_path)
    async with console_lab(tmp_path) as lab, pw.async_playwright() as play:
        ids = await _prepare(lab, tmp_path)
        browser = await play.chromium.launch(executable_path=CHROMIUM)
        try:
            page = await browser.new_page(viewport={"width": 1360, "height": 1000})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            await sign_in(page, lab.base, lab.admin_key)
            await _evaluations(page, lab, shots)
            await _revoke(page, lab, ids, shots)
            await _acknowledge(page, ids, shots)
            await _verify(page, shots)
            assert errors == [], errors  # no CSP violation, no script error
            await _refusals(page, lab, ids)
        finally:
            await browser.close()
