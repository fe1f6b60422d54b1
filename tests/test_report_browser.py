"""The report in a real browser (Debian's Chromium, Playwright) with the network blocked.

Every image must render and no request may leave the file. Skipped without
/usr/bin/chromium or Playwright, except in CI (CI=true), where it fails, as
the browser app's test (tests/test_viz_browser.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import tiny_runs
from tests.test_viz_browser import CHROMIUM, CHROMIUM_ARGS, _require

pytestmark = pytest.mark.browser


def test_report_renders_offline_in_chromium(tmp_path: Path) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _require(False, f"{exc.name} is not installed (pip install -e '.[test]')")
    _require(CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install -y chromium)")
    extra = '[[events]]\ndate = 2021-08-29\nlabel = "Prison releases"\nadd_isisk_fighters = 50\n'
    scenario = tiny_runs.write(tmp_path, "tiny.toml", tiny_runs.tiny_scenario(steps=5, extra=extra))
    result = tiny_runs.invoke("run", scenario, "--out", tmp_path / "out", "-j", "1", "-q")
    assert result.exit_code == 0, result.output
    result = tiny_runs.invoke("report", tmp_path / "out" / "tiny", "-q")
    assert result.exit_code == 0, result.output
    page_url = (tmp_path / "out" / "tiny" / "report.html").resolve().as_uri()

    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            ctx = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})

            def block(route) -> None:  # anything but the file itself would leave it
                requests.append(route.request.url)
                if route.request.url == page_url or route.request.url.startswith("data:"):
                    route.continue_()
                else:
                    route.abort()

            ctx.route("**/*", block)
            page = ctx.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_url, wait_until="load")
            images = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])"
            )
            text = page.inner_text("body")
        finally:
            browser.close()
    assert len(images) == 3
    assert all(done and w > 0 and h > 0 for done, w, h in images), images
    outside = [u for u in requests if u != page_url and not u.startswith("data:")]
    assert outside == []
    assert "Headline numbers" in text and "Prison releases" in text
