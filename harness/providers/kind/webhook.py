"""The in-cluster webhook's image (this harness's code), loaded into every node for scenarios.

Not part of the node image: it changes with every change to the harness, and a node image
takes a minute to build. Where it cannot be built (a host Python Debian does not ship), the
cluster is still made and the scenario step that deploys it says why.
"""

from __future__ import annotations

from harness.errors import ImageError
from harness.images.webhook_image import ensure_webhook_image
from harness.toolchain.sources import ProgressFn


def webhook_image(progress: ProgressFn) -> str | None:
    """The webhook image's reference (built the first time), or None with the reason told."""
    try:
        return ensure_webhook_image(progress)
    except ImageError as exc:
        progress(f"no in-cluster webhook image: {exc}")
        return None
