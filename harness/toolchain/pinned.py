"""Products built with ``go build`` from a wrapper module that pins their published module.

``go install module@version`` reads the module's version list to warn about deprecation and
stops when the proxy refuses that list (it does for several tools here), and refuses modules
whose go.mod has ``replace`` directives. A generated wrapper module that requires the module at
the wanted version and builds its command package avoids both. This table says, per product,
which module, which package, and how the binary is stamped with its version — the same
``-X`` flags upstream's own release build sets, so ``version`` reports the real one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from harness.toolchain.components import Product

_K3D_MODULE = "github.com/k3d-io/k3d/v5"
_TRAEFIK_MODULE = "github.com/traefik/traefik/v2"
_HELM_MODULE = "helm.sh/helm/v3"
#: Lower case: the module path pluto's go.mod declares (the repository's name is capitalised).
_PLUTO_MODULE = "github.com/fairwindsops/pluto/v5"
_KWOK_MODULE = "sigs.k8s.io/kwok"

#: ``k8s.io/client-go v0.36.2`` in a go.mod's require block.
_CLIENT_GO = re.compile(r"^\s*(?:require\s+)?k8s\.io/client-go\s+v0\.(\d+)\.\d+", re.M)


@dataclass(frozen=True)
class PinnedBuild:
    """How one product is built from a wrapper module."""

    module: str
    package: str
    #: The binary's file name (also the component's name).
    output: str
    #: ``(version, upstream go.mod text) -> ldflags`` stamping the binary as upstream does.
    stamp: Callable[[str, str], str]
    #: Repeat the upstream go.mod's ``replace`` lines that name published modules.
    inherit_replaces: bool = False


def helm_stamp(version: str, gomod: str) -> str:
    """Helm's release ldflags: its version, and the Kubernetes version its client-go speaks.

    Upstream's Makefile derives ``k8sVersionMajor/Minor`` from client-go ``v0.X`` as ``1.X``;
    they are the default ``.Capabilities.KubeVersion`` charts see in ``helm template``.
    """
    flags = [f"-X {_HELM_MODULE}/internal/version.version={version}"]
    match = _CLIENT_GO.search(gomod)
    if match:
        for package in ("pkg/lint/rules", "pkg/chartutil"):
            flags.append(f"-X {_HELM_MODULE}/{package}.k8sVersionMajor=1")
            flags.append(f"-X {_HELM_MODULE}/{package}.k8sVersionMinor={match.group(1)}")
    return " ".join(flags)


PINNED: dict[Product, PinnedBuild] = {
    Product.TRAEFIK: PinnedBuild(
        _TRAEFIK_MODULE,
        f"{_TRAEFIK_MODULE}/cmd/traefik",
        "traefik",
        lambda version, _: f"-X {_TRAEFIK_MODULE}/pkg/version.Version={version}",
        inherit_replaces=True,
    ),
    Product.K3D: PinnedBuild(
        _K3D_MODULE, _K3D_MODULE, "k3d", lambda version, _: f"-X {_K3D_MODULE}/version.Version={version}"
    ),
    Product.HELM: PinnedBuild(_HELM_MODULE, f"{_HELM_MODULE}/cmd/helm", "helm", helm_stamp),
    # Upstream's release build stamps ``main.version`` without the leading v.
    Product.PLUTO: PinnedBuild(
        _PLUTO_MODULE,
        f"{_PLUTO_MODULE}/cmd/pluto",
        "pluto",
        lambda version, _: f"-X main.version={version.removeprefix('v')} -X main.commit=spin-harness",
    ),
    Product.KWOKCTL: PinnedBuild(
        _KWOK_MODULE,
        f"{_KWOK_MODULE}/cmd/kwokctl",
        "kwokctl",
        lambda version, _: f"-X {_KWOK_MODULE}/pkg/consts.Version={version}",
    ),
}
