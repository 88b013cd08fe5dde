"""``api-warning``: what the apiserver warned about the tenants' objects, at the source and the target.

Every request made on a tenant's behalf records the apiserver's ``Warning`` headers
(``harness.kube.api_warnings``): the replay of the workloads at the source, their server-side
dry-run at the target (``dry-run-rejected``), scenario ``apply`` steps at every version, and,
after the hop, a re-apply of the workloads to the upgraded cluster. The re-apply uses
server-side dry-run: admission, validation and the warnings run in full, and nothing the
other detectors read is changed.

One finding per (object, warning text), with the object, its manifest file and document, the
server's exact text, the version that said it and whether the source said it too. It is
breaking when the text announces that the thing stops working in a release after the source
and at or before the hop's target (``harness.detectors.announced``); a condition that already
held at the source stays a warning that says so. Warnings only the harness's own scenario
objects drew (no tenant manifest) are ``info``: they are the platform's canonical workloads,
not a tenant's, so they never count as tenant warnings; one that announces a stop within the
hop stays breaking, because the canonical workload would stop working too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.detectors.announced import judge, stop_release
from harness.detectors.base import HopContext, SnapshotContext
from harness.errors import HarnessError
from harness.findings import Finding, Severity
from harness.kube.api_warnings import ApiWarning, recording
from harness.versions import KubeVersion
from harness.workloads.replay import apply_manifests

NAME = "api-warning"


@dataclass(frozen=True)
class Heard:
    """The warnings apiservers at ``version`` have said about tenant objects so far."""

    version: KubeVersion
    warnings: tuple[ApiWarning, ...]


def kube_version(label: str) -> KubeVersion:
    """``v1.37.2+allocation-crd@v2`` -> v1.37.2: the apiserver's part of a version label."""
    return KubeVersion.parse(label.split("+")[0], field="version")


def reapply_workloads(ctx: SnapshotContext, version: KubeVersion) -> None:
    """Re-apply the workload manifests to the upgraded cluster (dry-run), recording the warnings."""
    manifests = ctx.workloads()
    if not manifests:
        return
    with recording(ctx.api_warnings, version=version, action="re-apply"):
        apply_manifests(ctx.cluster.kubeconfig, manifests, dry_run=True)


def compare(before: Heard, after: Heard, hop: str) -> list[Finding]:
    """A finding per (object, text) either version said; severity from the release it names."""
    source, target = before.version, after.version
    at_source = _by_key(before.warnings)
    at_target = _by_key(after.warnings)
    findings = []
    for key in sorted(at_source.keys() | at_target.keys()):
        heard = at_target.get(key) or at_source[key]
        first = heard[0]
        stops = stop_release(first.text)
        severity, why = judge(stops, source, target)
        said_before = key in at_source
        if severity is not Severity.BREAKING and _only_scenarios(heard + at_source.get(key, [])):
            severity, why = Severity.INFO, f"{why}; drawn only by the harness's own scenario objects"
        if key not in at_target:
            news = f"said at the source {source}; the target was not asked again"
        elif source == target:
            news = "already said before this hop" if said_before else "new in this hop"
        else:
            news = f"the source {source} said it too" if said_before else f"new at the target {target}"
        findings.append(
            Finding(
                NAME,
                severity,
                hop,
                f"{first.object}: {first.text}",
                f"{first.version} warns about {first.object} ({_where(first)}): {first.text!r}; {why}; {news}",
                _evidence(first, heard + at_source.get(key, []), stops, source, said_before, key in at_target),
            )
        )
    return findings


def _by_key(warnings: tuple[ApiWarning, ...]) -> dict[tuple[str, str], list[ApiWarning]]:
    out: dict[tuple[str, str], list[ApiWarning]] = {}
    for warning in warnings:
        out.setdefault(warning.key, []).append(warning)
    return out


def _only_scenarios(heard: list[ApiWarning]) -> bool:
    """Every request that drew the warning was a scenario step's (``scenario NAME PHASE``)."""
    return all(w.action.startswith("scenario ") for w in heard)


def _where(warning: ApiWarning) -> str:
    return warning.manifest + (f", document {warning.document}" if warning.document is not None else "")


def _evidence(
    first: ApiWarning,
    heard: list[ApiWarning],
    stops: KubeVersion | None,
    source: KubeVersion,
    said_at_source: bool,
    said_at_target: bool,
) -> dict[str, Any]:
    return {
        "object": first.object,
        "manifest": first.manifest,
        "document": first.document,
        "server_text": first.text,
        "version": str(first.version),
        "source_version": str(source),
        "said_at_source": said_at_source,
        "said_at_target": said_at_target,
        "stops_in": str(stops) if stops else "",
        "request": first.request,
        "heard": sorted({f"{w.action}@{w.version}" for w in heard}),
    }


class ApiWarnings:
    """Reads the cell's warning log at the source before the hop, and at the target after it
    (once the workloads are re-applied there)."""

    name = NAME
    reads_after = True

    def snapshot(self, ctx: SnapshotContext) -> Heard:
        version = kube_version(ctx.version)
        if ctx.after_hop:
            ctx.timed(f"re-apply@{ctx.version}", lambda: reapply_workloads(ctx, version))
        return Heard(version, tuple(ctx.api_warnings.heard_at(version)))

    def compare(self, before: Heard, after: Heard | None, hop: HopContext) -> list[Finding]:
        if after is None:
            raise HarnessError(f"{NAME}: no snapshot was taken after the hop")
        return compare(before, after, hop.label)


DETECTOR = ApiWarnings()
