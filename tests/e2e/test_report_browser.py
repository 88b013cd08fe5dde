"""The HTML report of a real run, opened in headless Chromium with no network."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.versions import KubeVersion
from tests.e2e.test_run import run_matrix, write_matrix

pytestmark = pytest.mark.e2e
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_report_opens_without_errors_and_has_one_row_per_cell(
    tmp_path: Path, e2e_versions: tuple[KubeVersion, KubeVersion]
) -> None:
    from playwright.sync_api import sync_playwright

    matrix = write_matrix(tmp_path / "m.yaml", e2e_versions, outage=15, availability=0.25, exclude='["*"]')
    result = run_matrix(matrix, tmp_path / "report")
    assert result.returncode == 0, result.stdout[-2000:]
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
            context = browser.new_context(offline=True)
            page = context.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.goto(page_path.as_uri())
            rows = page.locator("#grid tr.cell-row").count()
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert rows == 1
    assert (tmp_path / "report.png").stat().st_size > 10_000
