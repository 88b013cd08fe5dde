"""Whose failure a failed item is, what that makes of a cell and a run, and the exit code.

Two kinds of failure must never read alike. The *platform* failed when a tenant promise broke
(a scenario assertion, a webhook or certificate refusing tenants, a component dead after a
hop) or a detector found a breaking change: ``failed``, ``FAIL``, exit 1, "your workloads
break". The *harness* failed when it could not do its job (a toolchain it could not build or
fetch, a cluster it could not create or remove, a wait of its own that ran out, an unexpected
exception, a worker that died): ``error``, ``ERROR``, exit 2, "this run says nothing about the
upgrade". A harness error wins over everything else in its cell and its run, since what did
not run cannot have passed; the breaking findings found before it are still reported.

Everything here reads fields every ``summary.json`` has had (``scenario``, ``phase``,
``cause``), so ``report merge`` classifies summaries written before ``blame`` existed too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

PLATFORM = "platform"
HARNESS = "harness"

#: Causes (``harness.run.causes``) that say the platform under test misbehaved.
PLATFORM_CAUSES = frozenset({"assertion", "webhook", "tls", "component-crash"})

#: Cluster phases that are the harness's own work whatever the cause: before ``create``
#: succeeds nothing of the upgrade was tested, and ``delete`` runs after it was.
HARNESS_PHASES = frozenset({"create", "delete"})

#: Precedence of verdicts, worst first, for a cell and for a run.
VERDICTS = ("error", "failed", "passed", "skipped", "empty")


def blame(group: str, phase: str, cause: str) -> str:
    """``PLATFORM`` or ``HARNESS`` for a failed item of ``group`` at ``phase`` (``create@v1.36.3``
    or bare ``create``) that failed with ``cause``."""
    if group == "cluster" and phase.split("@", 1)[0] in HARNESS_PHASES:
        return HARNESS
    return PLATFORM if cause in PLATFORM_CAUSES else HARNESS


def item_blame(item: Mapping[str, Any]) -> str | None:
    """Whose failure a ``summary.json`` item is; ``None`` when it did not fail."""
    if item.get("outcome") != "failed":
        return None
    recorded = item.get("blame")
    if recorded in (PLATFORM, HARNESS):
        return str(recorded)
    return blame(str(item.get("scenario", "")), str(item.get("phase", "")), str(item.get("cause") or ""))


def cell_verdict(items: Iterable[Mapping[str, Any]], findings: Iterable[Mapping[str, Any]]) -> str:
    """``error`` if the harness failed anywhere in the cell, else ``failed`` if the platform did
    (a failed item or a breaking finding), else ``skipped`` if nothing ran, else ``passed``."""
    items = list(items)
    blamed = {item_blame(item) for item in items}
    if HARNESS in blamed:
        return "error"
    if PLATFORM in blamed or any(f.get("severity") == "breaking" for f in findings):
        return "failed"
    if items and all(item.get("outcome") == "skipped" for item in items):
        return "skipped"
    return "passed"


def run_verdict(cell_verdicts: Iterable[str]) -> str:
    """The run's verdict: the worst of its cells' (``error`` before ``failed``), ``passed`` when
    at least one cell passed and none failed, ``empty`` when every cell was skipped."""
    verdicts = set(cell_verdicts)
    for verdict in ("error", "failed", "passed"):
        if verdict in verdicts:
            return verdict
    return "empty"


def exit_code(pytest_status: int, verdict: str | None) -> int:
    """The harness's exit code from pytest's and the summary's verdict (``None``: no summary).

    0 passed; 1 the platform failed (breaking findings, broken tenant promises); 2 the harness
    failed: an errored cell, nothing ran, or pytest itself stopped short (interrupted, internal
    error, usage error, nothing collected).
    """
    if verdict in ("error", "empty") or pytest_status not in (0, 1):
        return 2
    if verdict == "failed":
        return 1
    if verdict == "passed" and pytest_status == 1:
        return 2  # every cell passed, so what failed was outside them: a cluster the run could not remove
    return pytest_status


def harness_errors(cells: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Each item the harness failed at: its cell, step and cause, and the first line of why."""
    errors = []
    for cell in cells:
        for item in cell.get("items", []):
            if item_blame(item) != HARNESS:
                continue
            errors.append(
                {
                    "cell": str(cell.get("id", item.get("cell", ""))),
                    "step": f"{item.get('scenario', '?')}::{item.get('phase', '?')}",
                    "cause": str(item.get("cause") or "harness-error"),
                    "reason": first_line(str(item.get("message") or ""), str(item.get("nodeid", ""))),
                }
            )
    return errors


def first_line(message: str, nodeid: str = "", limit: int = 300) -> str:
    """The line of a failure message that says what went wrong, without the item's node id.

    The harness's own messages (``repr_failure``) read ``NODEID: what went wrong``, and when
    that ends with a colon, the last line says why; a pytest traceback ends with its
    ``E   Exception: ...`` lines, and the first of the last such block names the exception.
    """
    lines = [line.rstrip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    raised = [n for n, line in enumerate(lines) if line.startswith("E ")]
    if raised:
        start = raised[-1]
        while start - 1 in raised:
            start -= 1
        return lines[start][1:].strip()[:limit]
    first = lines[0].strip()
    if nodeid and first.startswith(nodeid) and ": " in first:
        first = first.partition(": ")[2]
    if first.endswith(":") and len(lines) > 1:
        # "cannot provide ...:" or "kube-apiserver exited during start-up:" then the detail;
        # the last line is the one that says why (a source's refusal, a log's final error).
        first = f"{first} {lines[-1].strip()}"
    return first[:limit]
