"""Every image a k3d cluster needs, so it can be made on a host that pulls nothing.

k3d runs ``rancher/k3s`` (servers and agents), a tools image (``k3d image import``, kubeconfig
helpers) and a load balancer image in front of the servers; k3s itself then deploys pods of
its own system images, of which a cluster the harness uses needs two: pause (every pod's
sandbox) and CoreDNS. Those two are taken from the images the harness builds offline for kind
node images (``images build``), found in the engine by their repositories, and imported into
the nodes; Traefik and metrics-server, which no scenario here uses, are not deployed.

Each image can be named instead (an air-gapped host's own registry mirror or ``docker load``):
``SPIN_HARNESS_K3D_IMAGE`` (k3s, with ``{version}``), ``SPIN_HARNESS_K3D_TOOLS_IMAGE``,
``SPIN_HARNESS_K3D_LB_IMAGE``, ``SPIN_HARNESS_K3D_NO_LB=1`` (no load balancer at all),
``SPIN_HARNESS_K3D_PAUSE_IMAGE`` and ``SPIN_HARNESS_K3D_COREDNS_IMAGE``.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from harness.images import engine
from harness.toolchain.components import K3D_VERSION
from harness.versions import KubeVersion

K3S_REPOSITORY = "rancher/k3s"
#: k3d's own helper images, tagged with its version without the ``v``.
TOOLS_IMAGE = f"ghcr.io/k3d-io/k3d-tools:{K3D_VERSION.lstrip('v')}"
LB_IMAGE = f"ghcr.io/k3d-io/k3d-proxy:{K3D_VERSION.lstrip('v')}"
#: Where ``images build`` leaves its pause and CoreDNS images (kubeadm's names for them).
PAUSE_REPOSITORY = "registry.k8s.io/pause"
COREDNS_REPOSITORY = "registry.k8s.io/coredns/coredns"


def pulls_allowed() -> bool:
    return os.environ.get("SPIN_HARNESS_K3D_PULL", "") not in ("", "0")


def k3s_image(version: KubeVersion, revision: int = 1) -> str:
    template = os.environ.get("SPIN_HARNESS_K3D_IMAGE", "")
    if template:
        return template.replace("{version}", str(version))
    return f"{K3S_REPOSITORY}:{version}-k3s{revision}"


def newest_tag(repository: str) -> str | None:
    """The newest ``repository:tag`` present in the engine (tags compared as version-like strings)."""
    from python_on_whales.exceptions import DockerException

    tags: list[str] = []
    with contextlib.suppress(DockerException):
        for image in engine.docker_client().image.list(repository_or_tag=repository):
            tags += [t for t in getattr(image, "repo_tags", None) or [] if t.startswith(f"{repository}:")]
    if not tags:
        return None
    return max(tags, key=lambda t: [int(p) if p.isdigit() else 0 for p in t.rsplit(":", 1)[1].lstrip("v").split(".")])


@dataclass(frozen=True)
class K3dImages:
    """The images of k3d's own (helpers) and k3s's system pods a cluster is made with."""

    tools: str = TOOLS_IMAGE
    #: None: no load balancer (``--no-lb``), the first server publishes the API itself.
    loadbalancer: str | None = LB_IMAGE
    #: None: k3s pulls its own (only when pulls are allowed).
    pause: str | None = None
    coredns: str | None = None

    @classmethod
    def resolve(
        cls, *, tools: str | None = None, loadbalancer: str | None = None, no_lb: bool | None = None
    ) -> K3dImages:
        """Options given to the provider first, then ``SPIN_HARNESS_K3D_*``, then the defaults."""
        env = os.environ.get
        without_lb = no_lb if no_lb is not None else env("SPIN_HARNESS_K3D_NO_LB", "") not in ("", "0")
        return cls(
            tools=tools or env("SPIN_HARNESS_K3D_TOOLS_IMAGE") or TOOLS_IMAGE,
            loadbalancer=None if without_lb else loadbalancer or env("SPIN_HARNESS_K3D_LB_IMAGE") or LB_IMAGE,
            pause=env("SPIN_HARNESS_K3D_PAUSE_IMAGE") or newest_tag(PAUSE_REPOSITORY),
            coredns=env("SPIN_HARNESS_K3D_COREDNS_IMAGE") or newest_tag(COREDNS_REPOSITORY),
        )

    def k3d_env(self) -> dict[str, str]:
        """The environment that makes k3d use these helper images."""
        env = {"K3D_IMAGE_TOOLS": self.tools}
        if self.loadbalancer:
            env["K3D_IMAGE_LOADBALANCER"] = self.loadbalancer
        return env

    def missing(self, k3s: str | None = None) -> list[str]:
        """What of these (and of the k3s image ``k3s``, or any ``rancher/k3s``) the engine lacks.

        Nothing is missing where pulls are allowed. pause and CoreDNS, when none was found,
        are named by what builds them.
        """
        if pulls_allowed():
            return []
        lacking: list[str] = []
        if k3s is not None:
            if not engine.image_present(k3s):
                lacking.append(k3s)
        elif not _any_image(K3S_REPOSITORY):
            lacking.append(f"a {K3S_REPOSITORY} image")
        for reference in (self.tools, self.loadbalancer):
            if reference and not engine.image_present(reference):
                lacking.append(reference)
        for what, reference in (("pause", self.pause), ("CoreDNS", self.coredns)):
            if reference is None:
                lacking.append(f"a {what} image (made by 'spin-harness images build --version V')")
            elif not engine.image_present(reference):
                lacking.append(reference)
        return lacking


def _any_image(repository: str) -> bool:
    from python_on_whales.exceptions import DockerException

    with contextlib.suppress(DockerException):
        return bool(engine.docker_client().image.list(repository_or_tag=repository))
    return False
