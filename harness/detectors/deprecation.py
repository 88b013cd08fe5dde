"""deprecated-api: deprecated APIs that tenants still request, and whether the next hop removes them.

Which APIs are deprecated comes from the apiserver itself: the ``k8s.io/deprecated`` and
``k8s.io/removed-release`` annotations of audit events (the whole audit log, which outlives
restarts) and the ``apiserver_requested_deprecated_apis`` metric (since the apiserver last
started; the only source on providers without an audit log). Who asked comes from the audit
log (``harness.detectors.attribution``): a deprecated API counts against tenants only when a
tenant identity or a replayed tenant manifest requested it, and then the finding names the
objects and manifests. The control plane's controllers, the harness's own scenarios and
detectors, and administrators request deprecated APIs too (``v1 endpoints``, every minor since
1.33); nobody can act on those, so they are ``info``. A deprecated API a tenant uses whose
removal release is at or before the hop's target is breaking: the upgrade takes it away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kubernetes import client

from harness.detectors.attribution import Attribution, Tenancy, attribute, manifest_uses, read_audit_log
from harness.detectors.base import HopContext, SnapshotContext
from harness.detectors.tenancy_snapshot import read_tenancy
from harness.findings import Finding, Severity
from harness.kube.client import get_raw
from harness.versions import KubeVersion

#: "group/version resource" -> removal release ("1.38") or "" when none is announced
Usage = dict[str, str]

_METRIC = re.compile(r"^apiserver_requested_deprecated_apis\{(?P<labels>[^}]*)\}\s+1", re.M)
_LABEL = re.compile(r'(\w+)="([^"]*)"')
_DEPRECATED = '"k8s.io/deprecated"'


def from_metrics(api: client.ApiClient) -> Usage:
    status, body = get_raw(api, "/metrics", timeout=10)
    if status != 200:
        return {}
    usage: Usage = {}
    for match in _METRIC.finditer(body):
        labels = dict(_LABEL.findall(match.group("labels")))
        gv = f"{labels['group']}/{labels['version']}" if labels.get("group") else labels.get("version", "")
        usage[f"{gv} {labels.get('resource', '')}".strip()] = labels.get("removed_release", "")
    return usage


def from_audit_log(path: Path | None) -> Usage:
    """Every deprecated API the audit log saw requested, with its removal release."""
    return {r.api: r.removed_release for r in read_audit_log(path, containing=(_DEPRECATED,)) if r.deprecated}


@dataclass(frozen=True)
class DeprecationSnapshot:
    """Deprecated APIs requested before the hop, and who requested each."""

    usage: Usage
    uses: dict[str, Attribution] = field(default_factory=dict)
    #: Whether an audit log said who asked (without one, only tenant manifests can be matched).
    audited: bool = True


def attributed(usage: Usage, audit_log: Path | None, tenancy: Tenancy) -> DeprecationSnapshot:
    """Join the deprecated APIs with the audit log's requesters and the tenant manifests."""
    requests = [r for r in read_audit_log(audit_log, containing=(_DEPRECATED,)) if r.deprecated]
    usage = dict(usage)
    usage.update({r.api: r.removed_release for r in requests})
    uses = attribute(requests, tenancy)
    for api in usage:
        found = uses.setdefault(api, Attribution())
        if not found.tenant:
            for use in manifest_uses(api, tenancy):
                found.add(use)
    audited = audit_log is not None and audit_log.is_file()
    return DeprecationSnapshot(usage, uses, audited)


def compare(snapshot: DeprecationSnapshot | Usage, hop: str, target: KubeVersion) -> list[Finding]:
    """A finding per deprecated API: warning or breaking when tenants use it, info when only others do."""
    if not isinstance(snapshot, DeprecationSnapshot):
        snapshot = DeprecationSnapshot(snapshot, audited=False)
    findings = []
    for subject, removed in sorted(snapshot.usage.items()):
        removed_now = bool(removed) and _minor(removed) <= target.minor
        uses = snapshot.uses.get(subject, Attribution())
        removal = (f"; it is removed in {removed}" if removed else "") + (
            "; this hop's target no longer serves it" if removed_now else ""
        )
        evidence: dict[str, object] = {"removed_release": removed, **uses.evidence()}
        if uses.tenant:
            objects = uses.objects
            shown = ", ".join(objects[:5]) + (f" and {len(objects) - 5} more" if len(objects) > 5 else "")
            findings.append(
                Finding(
                    "deprecated-api",
                    Severity.BREAKING if removed_now else Severity.WARNING,
                    hop,
                    subject,
                    f"{subject} is deprecated and tenants still use it: {shown}{removal}",
                    evidence,
                )
            )
            continue
        if snapshot.audited:
            who = uses.who_else() or "clients other than tenants"
            detail = f"{subject} is deprecated; only {who} request it, no tenant object or manifest{removal}"
        else:
            detail = f"{subject} is deprecated and requested; no audit log says by whom, no tenant manifest uses it"
        findings.append(Finding("deprecated-api", Severity.INFO, hop, subject, detail, evidence))
    return findings


def _minor(release: str) -> int:
    try:
        return int(release.split(".")[1])
    except (IndexError, ValueError):
        return 10**6


class DeprecatedApis:
    """Deprecated APIs requested before the hop, attributed to tenants or not; breaking when a
    tenant uses one the target removes."""

    name = "deprecated-api"
    reads_after = False

    def snapshot(self, ctx: SnapshotContext) -> DeprecationSnapshot:
        tenancy = read_tenancy(ctx.api, ctx.workloads())
        return attributed(from_metrics(ctx.api), ctx.cluster.audit_log, tenancy)

    def compare(self, before: DeprecationSnapshot, after: DeprecationSnapshot | None, hop: HopContext) -> list[Finding]:
        return compare(before, hop.label, hop.target)


DETECTOR = DeprecatedApis()
