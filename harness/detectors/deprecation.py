"""deprecated-api: requests made to deprecated APIs, and whether the next hop removes them.

Two sources, both read from the apiserver itself: the ``apiserver_requested_deprecated_apis``
metric (since the apiserver last started) and the ``k8s.io/deprecated`` and
``k8s.io/removed-release`` annotations of audit events (the whole audit log, which outlives
restarts). A deprecated API whose removal release is at or before the hop's target is
breaking: the next upgrade takes it away from whoever still calls it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from kubernetes import client

from harness.detectors.base import HopContext, SnapshotContext
from harness.findings import Finding, Severity
from harness.kube.client import get_raw
from harness.versions import KubeVersion

#: "group/version resource" -> removal release ("1.38") or "" when none is announced
Usage = dict[str, str]

_METRIC = re.compile(r"^apiserver_requested_deprecated_apis\{(?P<labels>[^}]*)\}\s+1", re.M)
_LABEL = re.compile(r'(\w+)="([^"]*)"')


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
    usage: Usage = {}
    if path is None or not path.is_file():
        return usage
    with path.open(errors="replace") as handle:
        for line in handle:
            if '"k8s.io/deprecated"' not in line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            annotations = event.get("annotations", {})
            if annotations.get("k8s.io/deprecated") != "true":
                continue
            ref = event.get("objectRef", {})
            gv = f"{ref['apiGroup']}/{ref.get('apiVersion', '')}" if ref.get("apiGroup") else ref.get("apiVersion", "")
            usage[f"{gv} {ref.get('resource', '')}".strip()] = annotations.get("k8s.io/removed-release", "")
    return usage


def compare(usage: Usage, hop: str, target: KubeVersion) -> list[Finding]:
    findings = []
    for subject, removed in sorted(usage.items()):
        removed_now = bool(removed) and _minor(removed) <= target.minor
        findings.append(
            Finding(
                "deprecated-api",
                Severity.BREAKING if removed_now else Severity.WARNING,
                hop,
                subject,
                f"{subject} is deprecated and still requested"
                + (f"; it is removed in {removed}" if removed else "")
                + ("; this hop's target no longer serves it" if removed_now else ""),
                {"removed_release": removed},
            )
        )
    return findings


def _minor(release: str) -> int:
    try:
        return int(release.split(".")[1])
    except (IndexError, ValueError):
        return 10**6


class DeprecatedApis:
    """Deprecated APIs requested before the hop (the apiserver's metric plus the audit log's
    annotations), breaking when the target removes them."""

    name = "deprecated-api"
    reads_after = False

    def snapshot(self, ctx: SnapshotContext) -> Usage:
        usage = from_metrics(ctx.api)
        usage.update(from_audit_log(ctx.cluster.audit_log))
        return usage

    def compare(self, before: Usage, after: Usage | None, hop: HopContext) -> list[Finding]:
        return compare(before, hop.label, hop.target)


DETECTOR = DeprecatedApis()
