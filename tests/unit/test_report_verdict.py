"""The terminal and Markdown verdict: breaking findings with tenant object, manifest and fix,
then warnings grouped by what a person must do."""

from __future__ import annotations

from typing import Any

from harness.report.verdict import render_verdict


def _finding(kind: str, severity: str, subject: str, **evidence: Any) -> dict[str, Any]:
    return {"kind": kind, "severity": severity, "hop": "a>b", "subject": subject, "detail": "d", "evidence": evidence}


def _summary(findings: list[dict[str, Any]]) -> dict[str, Any]:
    return {"verdict": "failed", "cells": [{"id": "local:a>b", "items": []}], "findings": findings, "counts": {}}


def test_breaking_findings_name_the_tenant_object_manifest_and_fix() -> None:
    text = render_verdict(
        _summary(
            [
                _finding("schema-change", "breaking", "v1 Project spec.x", objects_setting_it=["tenant-a/Project/web"]),
                _finding("removed-api", "breaking", "g/v1beta1", replacement="g/v1", manifests=["t/a.yaml"]),
            ]
        )
    )
    assert "      tenant object: tenant-a/Project/web\n" in text
    assert "      manifest: t/a.yaml\n      fix: move manifests to g/v1\n" in text


def test_warnings_are_grouped_by_action_and_capped_at_fifteen_lines() -> None:
    findings = [_finding("rbac-change", "warning", f"ServiceAccount:s{i}@t get core/pods") for i in range(14)]
    findings += [_finding("deprecated-api", "warning", f"v1 thing{i}") for i in range(3)]
    text = render_verdict(_summary(findings), markdown=True)
    migrate = text.index("- **Migrate manifests to an API version the target serves** (3)")
    rbac = text.index("- **Review RBAC grants** (14)")
    assert migrate < rbac
    assert text.count("    - [") == 15 and "- ... 2 not listed here; every one is in summary.json" in text
