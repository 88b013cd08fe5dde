"""The HTML report of a real run, opened in headless Chromium with no network: it reads top-down
from the verdict to the long tail, and the collapsed "Steps not run" opens on a click."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.versions import KubeVersion
from tests.e2e.test_run import run_matrix, write_matrix

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: The page's sections, in the order a reader needs them.
SECTIONS = ("verdict", "breaking", "warnings", "cells", "timeline", "steps-not-run")


def test_report_reads_from_the_verdict_down_and_the_steps_not_run_expand(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    from playwright.sync_api import sync_playwright

    # Only global-fs-mounts: it has steps that need real containers, which the local provider
    # lacks, so the run has steps that did not run, and stays short.
    matrix = write_matrix(tmp_path / "m.yaml", e2e_versions, outage=15, availability=0.25, exclude='["[!g]*"]')
    result = run_matrix(matrix, tmp_path / "report")
    # The page is what is tested: a pass (0) or breaking findings (1, e.g. an outage over budget
    # on a loaded machine) both write it; a harness failure (2) would not be a fair test.
    assert result.returncode in (0, 1), result.stdout[-2000:]
    page_path = tmp_path / "report" / "index.html"
    assert page_path.is_file()

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.goto(page_path.as_uri())
            rows = page.locator("#grid tr.cell-row").count()
            boxes = {name: page.locator(f"#{name}").bounding_box() for name in SECTIONS}
            first_step = page.locator("#not-run table.skipped-steps tr td").first
            hidden_before = not first_step.is_visible()
            page.locator("#not-run > summary").click()
            reasons = page.locator("#not-run h3.reason").all_inner_texts()  # rendered text: "" while hidden
            visible_after = first_step.is_visible()
            opened = page.locator("#not-run").get_attribute("open") is not None
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert rows == 1
    tops = {name: box["y"] for name, box in boxes.items() if box is not None}
    assert tuple(tops) == SECTIONS, f"every section is on the page: {boxes}"
    assert list(tops.values()) == sorted(tops.values()), f"sections out of order: {tops}"
    assert hidden_before, "Steps not run starts collapsed"
    assert visible_after and opened, "clicking its summary shows the steps"
    assert any("real-containers" in reason for reason in reasons), reasons
    assert (tmp_path / "report.png").stat().st_size > 10_000
