"""Why a step failed, in one word a dashboard can group by.

``timeout`` a wait ran out; ``component-crash`` a cluster process died or would not start;
``webhook`` an admission webhook failed or timed out; ``tls`` a certificate problem;
``assertion`` the platform did not behave as a scenario or detector requires; ``toolchain`` a
binary or image could not be built, fetched or found; ``worker-crash`` the pytest-xdist worker
running the item died; ``harness-error`` anything else (a bug, or bad input, in the harness
itself). Whose failure each cause is, the platform's or the harness's: ``harness.run.blame``.
"""

from __future__ import annotations

import ssl

from harness.errors import ClusterError, ImageError, ToolchainError, WaitTimeout

CAUSES = ("timeout", "component-crash", "webhook", "tls", "assertion", "toolchain", "worker-crash", "harness-error")

#: The cause of an item whose pytest-xdist worker died while running it (no exception to classify).
WORKER_CRASH = "worker-crash"


def classify(exc: BaseException) -> str:
    if isinstance(exc, (ToolchainError, ImageError)):
        return "toolchain"
    text = str(exc).lower()
    if "failed calling webhook" in text or ("admission webhook" in text and "denied" not in text):
        return "webhook"
    if isinstance(exc, ssl.SSLError) or "certificate verify failed" in text or "x509:" in text:
        return "tls"
    if isinstance(exc, WaitTimeout):
        if "is not running" in text or "exited" in text:
            return "component-crash"
        return "timeout"
    if isinstance(exc, ClusterError) and ("exited" in text or "is not running" in text or "crash" in text):
        return "component-crash"
    if isinstance(exc, AssertionError):
        return "assertion"
    if "timed out" in text or "timeout" in text:
        return "timeout"
    return "harness-error"
