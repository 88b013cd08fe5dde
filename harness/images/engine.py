"""The local Docker engine, as image builds and the kind provider use it (through python-on-whales).

One place decides whether an engine answers and says how to get one when it does not, so every
caller fails with the same actionable message instead of a python-on-whales traceback.
"""

from __future__ import annotations

import shutil
from functools import lru_cache
from typing import TYPE_CHECKING

from harness.errors import ImageError

if TYPE_CHECKING:
    from python_on_whales import DockerClient

# python-on-whales (and pydantic under it) is imported when a client is first made: a provider
# that only lists its clusters' records never needs one.

#: Label on every container and image spin-harness makes, so leftovers can be found and removed.
OWNER_LABEL = "spin-harness.owner"


@lru_cache(maxsize=1)
def docker_client() -> DockerClient:
    from python_on_whales import DockerClient

    return DockerClient()


def engine_unavailable_reason() -> str | None:
    """None when a Docker engine answers; otherwise why not, with the fix."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed (scripts/docker-engine installs Debian's docker.io)"
    from python_on_whales.exceptions import DockerException

    try:
        docker_client().system.info()
    except DockerException as exc:
        first = (exc.stderr or str(exc)).strip().splitlines()
        detail = first[-1] if first else "no answer"
        return f"no Docker engine answers ({detail}); start one with scripts/docker-engine"
    return None


def require_engine() -> DockerClient:
    reason = engine_unavailable_reason()
    if reason is not None:
        raise ImageError(reason)
    return docker_client()


def image_present(reference: str) -> bool:
    return bool(docker_client().image.exists(reference))
