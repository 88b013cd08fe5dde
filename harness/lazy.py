"""Package attributes imported on first use.

The upgrade playbook starts ``spin-harness`` once per task, and on a loaded machine every
module imported for nothing costs seconds: a package whose attributes pull in the Kubernetes
client, the Docker client or rich imports them when they are first asked for (PEP 562).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def on_first_use(package: str, modules: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package``: each name in ``modules`` comes from that submodule.

    The value is then kept in the package, so the lookup runs once per name.
    """

    def __getattr__(name: str) -> object:
        submodule = modules.get(name)
        if submodule is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{submodule}"), name)
        setattr(importlib.import_module(package), name, value)
        return value

    return __getattr__
