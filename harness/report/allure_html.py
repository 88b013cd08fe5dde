"""The Allure HTML report, generated from ``allure-results`` when the ``allure`` CLI is installed.

``allure-results`` is what allure-pytest writes during the run; people read the HTML that the
``allure`` npm package (Allure 3) builds from it. The CLI is optional: a report directory
without it still has ``index.html``, ``summary.json`` and JUnit, so a missing or failing
``allure`` costs a note on stderr, never the run's verdict.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from harness.paths import cache_root

ALLURE_ENV = "SPIN_HARNESS_ALLURE"
REPORT_DIR_NAME = "allure-report"
RESULTS_DIR_NAME = "allure-results"
GENERATE_TIMEOUT = 300.0


def node_prefix() -> Path:
    """Where ``scripts/setup`` installs the project's npm tools (``npm install --prefix``)."""
    return cache_root() / "node"


def find_allure() -> Path | None:
    """The ``allure`` CLI: ``$SPIN_HARNESS_ALLURE``, then the setup's npm prefix, then PATH."""
    configured = os.environ.get(ALLURE_ENV)
    if configured:
        return Path(configured) if Path(configured).is_file() else None
    installed = node_prefix() / "node_modules" / ".bin" / "allure"
    if installed.is_file():
        return installed
    on_path = shutil.which("allure")
    return Path(on_path) if on_path else None


def write_allure_html(report_dir: Path) -> tuple[Path | None, str]:
    """Build ``report_dir/allure-report`` from ``report_dir/allure-results``.

    Returns the report's ``index.html`` (or None) and a one-line note saying what happened.
    """
    report_dir = report_dir.resolve()  # the CLI runs in report_dir, so relative paths would point elsewhere
    results = report_dir / RESULTS_DIR_NAME
    if not results.is_dir() or not any(results.iterdir()):
        return None, f"no Allure results in {results}"
    allure = find_allure()
    if allure is None:
        return None, f"Allure HTML not built: no 'allure' CLI (install it with npm, or set {ALLURE_ENV})"
    output = report_dir / REPORT_DIR_NAME
    shutil.rmtree(output, ignore_errors=True)
    command = [str(allure), "generate", str(results), "--output", str(output), "--name", "spin-harness"]
    try:
        done = subprocess.run(
            command,
            cwd=report_dir,
            capture_output=True,
            text=True,
            timeout=GENERATE_TIMEOUT,
            check=False,
            env=dict(os.environ, NO_COLOR="1"),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"Allure HTML not built: {allure} failed ({exc})"
    index = output / "index.html"
    if done.returncode != 0 or not index.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return None, f"Allure HTML not built: {allure} exited {done.returncode}: {tail[0][:200]}"
    return index, f"Allure HTML {index}"
