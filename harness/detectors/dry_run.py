"""``dry-run-rejected``: would the target version accept every workload manifest?

The cell's own cluster is upgraded in place, so the question is asked of a throwaway cluster
at the target version, with the platform components the hop leaves behind installed (their
CRDs must exist for custom resources to be checked); every manifest is submitted with
server-side dry-run. The answer is known before the hop, so there is nothing to read after it.
The target's warnings about the manifests go to the cell's warning log (``api-warning``).
"""

from __future__ import annotations

from harness.detectors.base import HopContext, SnapshotContext
from harness.findings import Finding, Severity
from harness.kube.api_warnings import recording
from harness.platform_layer import install
from harness.workloads.replay import apply_manifests


def dry_run_on_target(ctx: SnapshotContext) -> list[Finding]:
    """A finding for every manifest the target rejects (none when the hop upgrades nothing)."""
    manifests = ctx.workloads()
    if not manifests or not ctx.upgrade:
        return []
    label = f"{ctx.cluster.version}>{ctx.target}"
    scratch = ctx.provider.create(ctx.scratch_name, ctx.target, nodes=1)
    try:
        for component, version in ctx.platform_after.items():
            install(scratch.kubeconfig, component, version)
        namespaces = [m for m in manifests if m.body.get("kind") == "Namespace"]
        rest = [m for m in manifests if m.body.get("kind") != "Namespace"]
        with recording(ctx.api_warnings, version=ctx.target, action="dry-run"):
            apply_manifests(scratch.kubeconfig, namespaces)
            results = apply_manifests(scratch.kubeconfig, rest, dry_run=True)
    finally:
        ctx.provider.delete(scratch)
    return [
        Finding(
            "dry-run-rejected",
            Severity.BREAKING,
            label,
            r.manifest.label,
            f"{ctx.target} rejects {r.manifest.label}: {r.message}",
            {
                "manifest": r.manifest.where,
                "file": str(r.manifest.source),
                "document": r.manifest.document,
                "server_message": r.message,
            },
        )
        for r in results
        if not r.ok
    ]


class DryRunRejected:
    """The findings are made before the hop (on the scratch cluster); ``compare`` hands them on."""

    name = "dry-run-rejected"
    reads_after = False

    def snapshot(self, ctx: SnapshotContext) -> list[Finding]:
        found: list[Finding] = ctx.timed(f"dry-run@{ctx.target}", lambda: dry_run_on_target(ctx))
        return found

    def compare(self, before: list[Finding], after: list[Finding] | None, hop: HopContext) -> list[Finding]:
        return list(before)


DETECTOR = DryRunRejected()
