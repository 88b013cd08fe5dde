"""``dry-run-rejected``: would the target version accept every workload manifest?

The cell's own cluster is upgraded in place, so the question is asked of a throwaway cluster
at the target version, with the platform components the hop leaves behind installed (their
CRDs must exist for custom resources to be checked); every manifest is submitted with
server-side dry-run. The same manifests are dry-run on the cell's cluster too, still at the
source version: a manifest the source already rejects is not a break the upgrade makes, so it
is reported as "already rejected at the source" (a warning naming the manifest) and never as
breaking. The answers are known before the hop, so there is nothing to read after it. The
target's warnings about the manifests go to the cell's warning log (``api-warning``). A platform
ValidatingAdmissionPolicy the target's type checking finds invalid is a breaking finding naming
the policy, not a harness error: the hop's Kubernetes version is what makes it invalid.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harness.detectors.attribution import manifest_ref
from harness.detectors.base import HopContext, SnapshotContext
from harness.findings import Finding, Severity
from harness.kube.api_warnings import recording
from harness.platform_layer import POLICY, PolicyTypeCheckError, install
from harness.workloads.replay import ApplyResult, Manifest, apply_manifests


def judge(
    manifests: list[Manifest],
    at_source: list[ApplyResult],
    at_target: list[ApplyResult] | None,
    *,
    hop: str,
    source: str,
    target: str,
) -> list[Finding]:
    """Findings from the two dry-runs: new rejections are breaking, ones the source shares are
    warnings that say so. ``at_target`` is None when the hop does not change Kubernetes."""
    source_says = {id(r.manifest): r.message for r in at_source if not r.ok}
    target_says = {id(r.manifest): r.message for r in at_target or [] if not r.ok}
    findings = []
    for manifest in manifests:
        key = id(manifest)
        if key not in source_says and key not in target_says:
            continue
        evidence = manifest_ref(manifest).evidence()
        if key in source_says:
            detail = f"{manifest.label} is already rejected at the source {source}: {source_says[key]}"
            if key in target_says:
                detail += f"; {target} rejects it too"
            evidence |= {"rejected_at_source": True, "source_message": source_says[key]}
            if key in target_says:
                evidence["server_message"] = target_says[key]
            findings.append(Finding("dry-run-rejected", Severity.WARNING, hop, manifest.label, detail, evidence))
            continue
        evidence |= {"rejected_at_source": False, "server_message": target_says[key]}
        detail = f"{target} rejects {manifest.label} ({manifest.source}): {target_says[key]}"
        findings.append(Finding("dry-run-rejected", Severity.BREAKING, hop, manifest.label, detail, evidence))
    return findings


def dry_run_on_target(ctx: SnapshotContext) -> list[Finding]:
    """A finding for every manifest the target (or already the source) rejects."""
    manifests = ctx.workloads()
    if not manifests:
        return []
    at_source = apply_manifests(ctx.cluster.kubeconfig, manifests, dry_run=True)
    label = f"{ctx.cluster.version}>{ctx.target}"
    at_target, platform = _on_scratch_cluster(ctx, manifests, hop=label) if ctx.upgrade else (None, [])
    found = judge(manifests, at_source, at_target, hop=label, source=str(ctx.cluster.version), target=str(ctx.target))
    return platform + found


def policy_rejected(error: PolicyTypeCheckError, component: str, version: str, *, hop: str, target: str) -> Finding:
    """The breaking finding of a platform policy the target's type checking finds invalid."""
    detail = (
        f"{target} type checks the {POLICY} {error.policy!r} of platform component {component} {version} "
        f"with warnings (its expressions fail at admission): {'; '.join(error.warnings)}"
    )
    evidence = {"component": component, "version": version, "policy": error.policy, "type_check": error.warnings}
    return Finding("dry-run-rejected", Severity.BREAKING, hop, f"{POLICY}/{error.policy}", detail, evidence)


def install_platform(ctx: SnapshotContext, kubeconfig: Path, *, hop: str) -> list[Finding]:
    """Install the components the hop leaves behind; a policy the target finds invalid is a finding."""
    findings = []
    for component, version in ctx.platform_after.items():
        try:
            install(kubeconfig, component, version)
        except PolicyTypeCheckError as error:
            findings.append(policy_rejected(error, component, version, hop=hop, target=str(ctx.target)))
    return findings


def _on_scratch_cluster(
    ctx: SnapshotContext, manifests: list[Manifest], *, hop: str
) -> tuple[list[ApplyResult], list[Finding]]:
    scratch = ctx.provider.create(ctx.scratch_name, ctx.target, nodes=1)
    try:
        platform = install_platform(ctx, scratch.kubeconfig, hop=hop)
        namespaces = [m for m in manifests if m.body.get("kind") == "Namespace"]
        created = apply_manifests(scratch.kubeconfig, namespaces)
        rest = [m for m in manifests if m.body.get("kind") != "Namespace"]
        with recording(ctx.api_warnings, version=ctx.target, action="dry-run"):
            return created + apply_manifests(scratch.kubeconfig, rest, dry_run=True), platform
    finally:
        ctx.provider.delete(scratch)


class DryRunRejected:
    """The findings are made before the hop (on the scratch cluster); ``compare`` hands them on."""

    name = "dry-run-rejected"
    reads_after = False

    def snapshot(self, ctx: SnapshotContext) -> list[Finding]:
        found: list[Finding] = ctx.timed(f"dry-run@{ctx.target}", lambda: dry_run_on_target(ctx))
        return found

    def compare(self, before: list[Finding], after: list[Finding] | None, hop: HopContext) -> list[Finding]:
        return [replace(f, hop=hop.label) for f in before]


DETECTOR = DryRunRejected()
