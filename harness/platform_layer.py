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
    """Apply one component version; wait until its CRDs are Established and its admission policies are in force.

    A probe sent right after the apply must meet the new version: a CRD serves only once
    Established, and a ValidatingAdmissionPolicy is enforced only once the apiserver has type
    checked it (its ``status.observedGeneration`` reaches its generation). What this cannot prove
    is that the admission plugin's own informer has picked up the policy and its binding; that
    lag is short (one watch event) and no check for it exists that does not depend on what the
    policy rejects.
    """
    manifests = component_manifests(component, version)
    results = apply_manifests(kubeconfig, manifests, field_manager=PLATFORM_MANAGER)
    failed = [r for r in results if not r.ok]
    if failed:
        detail = "; ".join(f"{r.manifest.label}: {r.message}" for r in failed)
        raise HarnessError(f"platform component {component} {version} did not apply: {detail}")
    names = _names_by_kind(manifests)
    what = f"{component} {version}"
    with contextlib.closing(api_client(kubeconfig)) as api:
        if names["CustomResourceDefinition"]:
            _wait_established(client.ApiextensionsV1Api(api), names["CustomResourceDefinition"], what)
        if names[POLICY] or names[BINDING]:
            _wait_policies_in_force(client.AdmissionregistrationV1Api(api), names[POLICY], names[BINDING], what)
    return results


POLICY = "ValidatingAdmissionPolicy"
BINDING = "ValidatingAdmissionPolicyBinding"


def _names_by_kind(manifests: list[Manifest]) -> dict[str, list[str]]:
    kinds = ("CustomResourceDefinition", POLICY, BINDING)
    return {kind: [m.body["metadata"]["name"] for m in manifests if m.body.get("kind") == kind] for kind in kinds}


def _wait_established(ext: client.ApiextensionsV1Api, crds: list[str], what: str) -> None:
    def established() -> tuple[bool, str]:
        pending = []
        for name in crds:
            conditions = ext.read_custom_resource_definition(name).status.conditions or []
            if not any(c.type == "Established" and c.status == "True" for c in conditions):
                pending.append(name)
        return not pending, f"not yet established: {pending}"

    wait_until(f"CRDs of {what} to be established", established, timeout=60)


class PolicyTypeCheckError(InputError):
    """A platform ValidatingAdmissionPolicy the apiserver type checked with warnings.

    Its own class so that the target-version dry-run can report it as a finding naming the
    policy (a policy that only the target finds invalid is a break the hop makes), where the
    cell's own install treats it as bad input.
    """

    def __init__(self, policy: str, warnings: list[str]) -> None:
        super().__init__(
            f"platform {POLICY} {policy!r} fails type checking: {'; '.join(warnings)}",
            hint="fix the policy's expressions in the component's manifests",
        )
        self.policy = policy
        self.warnings = warnings


def policy_type_checked(name: str, generation: int | None, observed: int | None, warnings: list[str]) -> bool:
    """Whether the apiserver has type checked a policy's current spec; its type-check warnings are an error.

    A warning means an expression names a field the matched types do not have: at admission it
    fails (and the failure policy decides), so the platform version is broken, not slow.
    """
    if generation is None or observed is None or observed < generation:
        return False
    if warnings:
        raise PolicyTypeCheckError(name, warnings)
    return True


def _wait_policies_in_force(
    admission: client.AdmissionregistrationV1Api, policies: list[str], bindings: list[str], what: str
) -> None:
    def in_force() -> tuple[bool, str]:
        pending = []
        for name in policies:
            policy = admission.read_validating_admission_policy(name)
            status = policy.status
            checked = (status.type_checking.expression_warnings if status and status.type_checking else None) or []
            warnings = [f"{w.field_ref}: {w.warning}" for w in checked]
            observed = status.observed_generation if status else None
            if not policy_type_checked(name, policy.metadata.generation, observed, warnings):
                pending.append(f"{POLICY} {name} (generation {policy.metadata.generation}, observed {observed})")
        for name in bindings:
            admission.read_validating_admission_policy_binding(name)  # not found: not yet, the wait retries
        return not pending, f"not yet type checked: {pending}"

    wait_until(f"admission policies of {what} to be in force", in_force, timeout=60)
