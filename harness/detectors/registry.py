"""Every detector the cell runs, in the order their test items run.

Adding a detector: write its module (a name, a ``snapshot`` and a pure ``compare``, see
``harness.detectors.base.Detector`` and ``docs/detectors.md``), then add one line here. The
cell, the test items, the report and the allow-list's known kinds all follow this list.
"""

from __future__ import annotations

from typing import Any

from harness.detectors import (
    admission,
    api_warning,
    deprecation,
    discovery,
    disruption,
    drift,
    dry_run,
    rbac,
    schema,
    workload_health,
)
from harness.detectors.base import Detector
from harness.errors import HarnessError

DETECTORS: tuple[Detector[Any], ...] = (
    discovery.DETECTOR,
    deprecation.DETECTOR,
    dry_run.DETECTOR,
    schema.DETECTOR,
    drift.DETECTOR,
    rbac.DETECTOR,
    admission.DETECTOR,
    api_warning.DETECTOR,
    workload_health.DETECTOR,
    disruption.DETECTOR,
)

#: The finding kinds the detectors report (the allow-list accepts these).
KINDS: tuple[str, ...] = tuple(detector.name for detector in DETECTORS)


def detector(name: str) -> Detector[Any]:
    """The registered detector called ``name``."""
    for candidate in DETECTORS:
        if candidate.name == name:
            return candidate
    raise HarnessError(f"unknown detector {name}: one of {', '.join(KINDS)}")
