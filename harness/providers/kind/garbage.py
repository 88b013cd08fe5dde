"""What ``gc`` removes of the kind provider's: clusters of gone owners, and node-image builds of gone builds.

Only clusters spin-harness recorded are touched: other kind clusters on the machine are not
the harness's to remove. Nothing here asks Docker anything when there is nothing to do.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import psutil

from harness.images import engine
from harness.providers.base import Garbage
from harness.providers.common.recorded import recorded_garbage, recorded_garbage_reason
from harness.providers.kind.state import KindState, all_states


def kind_garbage(
    *, everything: bool, running: Callable[[KindState], bool], remove: Callable[[Path], None]
) -> list[Garbage]:
    """``running``: whether any node container of a cluster runs; ``remove``: removes a cluster by directory."""

    def idle(st: KindState) -> bool:
        return st.phase == "ready" and not running(st)

    def reason(st: KindState | Path) -> str | None:
        why_idle = "none of its node containers is running"
        return recorded_garbage_reason(st, everything=everything, idle=idle, why_idle=why_idle)

    return recorded_garbage(all_states(), "kind cluster", reason, remove) + _build_containers()


def _build_containers() -> list[Garbage]:
    """Node-image build containers whose build process is gone."""
    if engine.engine_unavailable_reason() is not None:
        return []
    docker = engine.docker_client()
    found: list[Garbage] = []
    for container in docker.container.list(all=True, filters=[("label", engine.OWNER_LABEL)]):
        owner = str((container.config.labels or {}).get(engine.OWNER_LABEL, ""))
        if not owner.startswith("build-") or not owner[6:].isdigit() or psutil.pid_exists(int(owner[6:])):
            continue
        remove = partial(docker.container.remove, container, force=True, volumes=True)
        what, why = f"build container {container.name}", f"its build process {owner[6:]} is gone"
        found.append(Garbage(what, why, remove, owner_gone=True))
    return found
