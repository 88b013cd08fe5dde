"""The ingress controller of kind clusters: Traefik, built from Go modules, installed at creation.

Its image (the static binary alone) is made here and loaded into every node's containerd, like
the node image's own images; the manifests (``ingress.yaml.j2``) run it in ``spin-ingress``
with the RBAC an Ingress controller needs and publish its HTTPS entry point on the NodePort
kind maps to the host's loopback. Tenant IngressClasses naming ``CONTROLLER`` are served.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import jinja2
from kubernetes import client
from python_on_whales.exceptions import DockerException

from harness.errors import ClusterError
from harness.images import engine, layers
from harness.kube.client import api_client
from harness.kube.waits import wait_until
from harness.providers.common.commands import run_tool
from harness.providers.kind.config import INGRESS_NODE_PORT
from harness.providers.kind.nodes import PROBE_TIMEOUT
from harness.providers.kind.state import KindState
from harness.providers.kind.tools import kubectl_args
from harness.toolchain import ToolchainConfig
from harness.toolchain.components import TRAEFIK_VERSION, Component, Product, ProductBuild
from harness.toolchain.ensure import ensure_product
from harness.toolchain.manifest import Manifest
from harness.toolchain.sources import ProgressFn, no_progress

CONTROLLER = "traefik.io/ingress-controller"
NAMESPACE = "spin-ingress"
IMAGE = f"spin-harness.local/traefik:{TRAEFIK_VERSION}"
TEMPLATE = Path(__file__).with_name("ingress.yaml.j2")
#: The sha256 of the Traefik binary an image was made from.
BINARY_LABEL = "spin-harness.binary-sha256"


def ensure_image(config: ToolchainConfig | None = None, progress: ProgressFn = no_progress) -> str:
    """The controller's image in the local engine, made from the toolchain's Traefik binary.

    The image carries the binary's checksum: when the cached binary is built again (another
    Traefik release, other trims of its build), the image under the same tag is made again.
    """
    build = ProductBuild(Product.TRAEFIK, TRAEFIK_VERSION)
    binary = ensure_product(build, [Component.TRAEFIK], config=config, progress=progress)[Component.TRAEFIK]
    checksum = Manifest.load(binary.parent, build.product.value, build.version).components[binary.name].sha256
    docker = engine.docker_client()
    existing = docker.image.inspect(IMAGE) if docker.image.exists(IMAGE) else None
    if existing is not None and (existing.config.labels or {}).get(BINARY_LABEL) == checksum:
        return IMAGE
    previous = existing.id if existing is not None else None
    with tempfile.TemporaryDirectory(prefix="traefik-image-") as scratch:
        tar = layers.write_binary_root(Path(scratch) / "traefik.tar", {"/traefik": binary})
        progress(f"image {IMAGE}")
        labels = [f"LABEL {engine.OWNER_LABEL}=images", f"LABEL {BINARY_LABEL}={checksum}"]
        docker.image.import_(tar, tag=IMAGE, changes=['ENTRYPOINT ["/traefik"]', *labels])
    if previous is not None and previous != docker.image.inspect(IMAGE).id:
        with contextlib.suppress(DockerException):  # the old image, untagged now; a node may still use it
            docker.image.remove(previous)
    return IMAGE


def manifests(replicas: int = 2) -> str:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.from_string(TEMPLATE.read_text()).render(
        namespace=NAMESPACE, image=IMAGE, replicas=replicas, node_port=INGRESS_NODE_PORT
    )


def install(st: KindState, kubectl: Path, timeout: float) -> None:
    """Apply the controller's manifests, wait for its replicas (its image is in the nodes already)."""
    try:
        run_tool(
            kubectl_args(kubectl, st.kubeconfig, "apply", "--server-side", "-f", "-"),
            timeout=120,
            stdin=manifests(),
        )
    except ClusterError as exc:
        raise ClusterError(f"installing the ingress controller failed: {str(exc)[-800:]}") from None
    with contextlib.closing(api_client(st.kubeconfig)) as api:
        apps = client.AppsV1Api(api)

        def available() -> tuple[bool, str]:
            deployment = apps.read_namespaced_deployment("traefik", NAMESPACE, _request_timeout=PROBE_TIMEOUT)
            ready = deployment.status.ready_replicas or 0
            return ready >= (deployment.spec.replicas or 1), f"{ready} Traefik replicas ready"

        wait_until("the ingress controller", available, timeout=timeout)
