"""The case summary in a real headless Chromium (Debian's chromium, driven by Playwright): the whole EHR launch,
no console errors, every result drawn, keyboard use, a narrow screen, and print; the screenshot and a PDF are
kept as test artefacts (build/test-artifacts/, or KMT2A_TEST_ARTIFACTS)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.smart import demo_patient

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)
# Flags for a closed network: without them chromium keeps trying to reach Google's services and floods the log.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("KMT2A_TEST_ARTIFACTS") or Path(__file__).resolve().parents[2] / "build" / "test-artifacts")


@pytest.fixture
def browser():
    assert CHROMIUM, "chromium is required for the browser tests in CI"
    profile = tempfile.mkdtemp(prefix="kmt2a-chromium-")
    with playwright_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                       args=FLAGS, viewport={"width": 1100, "height": 1400})
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def _open(context, url):
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(url, wait_until="load")
    return page, problems


def test_the_launched_page_renders_without_errors_and_draws_every_result(browser, ehr, app_for):
    app = app_for(ehr)
    page, problems = _open(browser, ehr.launch_url(app))
    assert page.url == f"{app}/app/summary"
    assert problems == []
    assert page.locator("svg.timeline .point").count() == demo_patient.EXPECTED_POINTS
    assert page.locator("#timeline-table tbody tr.point-row").count() == demo_patient.EXPECTED_POINTS
    assert page.get_by_role("heading", name="Interfant-06 high risk").is_visible()
    assert page.get_by_role("img", name="Disease timeline: WBC, blasts and MRD over time").is_visible()
    # the stylesheet loaded under the CSP (a blocked stylesheet leaves the banner unstyled)
    assert page.locator(".banner").evaluate("e => getComputedStyle(e).display") == "flex"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "case-summary.png"), full_page=True)
    page.set_viewport_size({"width": 1000, "height": 1460})  # the README's picture: header, risk group, timeline
    page.screenshot(path=str(ARTIFACTS / "case-summary-top.png"))
    page.set_viewport_size({"width": 1100, "height": 1400})
    page.emulate_media(media="print")
    assert page.locator("svg.timeline").is_visible() and not page.locator(".logout").is_visible()
    page.pdf(path=str(ARTIFACTS / "case-summary.pdf"))


def test_keyboard_reaches_the_skip_link_then_the_content(browser, ehr, app_for):
    app = app_for(ehr)
    page, _ = _open(browser, ehr.launch_url(app))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the summary"
    page.keyboard.press("Enter")
    # following an in-page link is asynchronous: wait for it (a timeout here fails the test)
    page.wait_for_function("location.hash === '#main'", timeout=5000)
    assert page.url.endswith("#main")
    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.tagName + ':' + document.activeElement.textContent"))
        if reached[-1].startswith("SUMMARY"):
            break
    assert any(r.startswith("A:") for r in reached)  # source links of the risk group come first
    assert reached[-1] == "SUMMARY:Timeline data (every value and event)"
    assert not page.locator("#timeline-table").is_visible()
    page.keyboard.press("Enter")  # opens the chart's data table
    assert page.locator("#timeline-table").is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "scroll"  # its scroll region takes the focus


def test_a_narrow_screen_needs_no_sideways_scrolling(browser, ehr, app_for):
    app = app_for(ehr)
    page, problems = _open(browser, ehr.launch_url(app))
    page.set_viewport_size({"width": 360, "height": 800})
    assert problems == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.locator("svg.timeline").bounding_box()["width"] <= 360
