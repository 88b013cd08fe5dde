"""The platform layer: the CaaS platform's own components, versioned beside Kubernetes.

Each component version is a directory of manifests, ``platform/<component>/<version>/``
(a CRD, a webhook policy, an ingress controller's resources). A matrix names the versions
and the hops that move them; the cell installs the first version after creating the cluster
and applies the next one when a hop says so, so a platform upgrade can be tested with a
Kubernetes upgrade or on its own.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from kubernetes import client

from harness.errors import HarnessError, InputError
from harness.kube.client import api_client
from harness.kube.labels import field_manager
from harness.kube.waits import wait_until
from harness.paths import platform_dir
from harness.workloads.replay import ApplyResult, Manifest, apply_manifests, load_manifests

#: The field manager of platform components: the harness's, so attribution never counts them as a tenant's.
PLATFORM_MANAGER = field_manager("platform")


def platform_root() -> Path:
    return platform_dir()


def component_manifests(component: str, version: str) -> list[Manifest]:
    directory = platform_root() / component / version
    if not directory.is_dir():
        raise InputError(
            f"platform component {component} {version}: no directory {directory}",
            hint="put the component's manifests there, or set SPIN_HARNESS_PLATFORM",
        )
    return load_manifests(directory)


def install(kubeconfig: Path, component: str, version: str) -> list[ApplyResult]:
    """Apply one component version; wait until its CRDs are Established."""
    manifests = component_manifests(component, version)
    results = apply_manifests(kubeconfig, manifests, field_manager=PLATFORM_MANAGER)
    failed = [r for r in results if not r.ok]
    if failed:
        detail = "; ".join(f"{r.manifest.label}: {r.message}" for r in failed)
        raise HarnessError(f"platform component {component} {version} did not apply: {detail}")
    crds = [m.body["metadata"]["name"] for m in manifests if m.body.get("kind") == "CustomResourceDefinition"]
    if crds:
        with contextlib.closing(api_client(kubeconfig)) as api:
            ext = client.ApiextensionsV1Api(api)

            def established() -> tuple[bool, str]:
                pending = []
                for name in crds:
                    conditions = ext.read_custom_resource_definition(name).status.conditions or []
                    if not any(c.type == "Established" and c.status == "True" for c in conditions):
                        pending.append(name)
                return not pending, f"not yet established: {pending}"

            wait_until(f"CRDs of {component} {version} to be established", established, timeout=60)
    return results
