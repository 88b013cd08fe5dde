"""k3s's own system images (pause, CoreDNS) into a k3d cluster's nodes, from images the harness built.

pause is named to k3s at creation (``--pause-image``), so it is imported under its own name.
CoreDNS is deployed by k3s from a manifest inside the k3s binary, under a name that changes
with k3s releases: the harness reads the name from the running cluster's Deployment and
imports its own CoreDNS image under it.
"""

from __future__ import annotations

from harness.errors import ClusterError
from harness.kube.waits import wait_until
from harness.providers.k3d.commands import Runner
from harness.providers.k3d.images import K3dImages

COREDNS_IMAGE_OF_DEPLOYMENT = [
    "kubectl", "--namespace", "kube-system", "get", "deployment", "coredns",
    "--output", "jsonpath={.spec.template.spec.containers[0].image}",
]  # fmt: skip


def server_container(cluster: str) -> str:
    return f"k3d-{cluster}-server-0"


def preload(run: Runner, k3d: str, cluster: str, images: K3dImages, *, timeout: float = 120) -> list[str]:
    """Import pause and CoreDNS into every node of ``cluster``; the references imported."""
    references = [images.pause] if images.pause else []
    if images.coredns:
        wanted: list[str] = []

        def deployed() -> tuple[bool, str]:
            try:
                wanted[:] = [
                    run(["docker", "exec", server_container(cluster), *COREDNS_IMAGE_OF_DEPLOYMENT], timeout=30)
                ]
            except ClusterError as exc:
                return False, str(exc)[-200:]
            return bool(wanted[0].strip()), "the coredns Deployment names no image yet"

        wait_until("k3s's CoreDNS Deployment", deployed, timeout=timeout, max_interval=2)
        reference = wanted[0].strip()
        if reference != images.coredns:
            run(["docker", "tag", images.coredns, reference], timeout=30)
        references.append(reference)
    if references:
        run([k3d, "image", "import", "--cluster", cluster, *references], timeout=300, env=images.k3d_env())
    return references
