"""What a person does about a finding: the fix, the manifests and tenant objects it names, and
the action it is grouped under.

The terminal verdict and the HTML report both read findings through here, so a finding's fix
reads the same in a change ticket and on the page. Everything is derived from what a finding
already carries (its kind and evidence); an unknown kind still gets a place: the fallback group.
"""

from __future__ import annotations

from typing import Any

#: The action each finding kind asks for, in the order the report lists the groups.
ACTIONS: dict[str, str] = {
    "removed-api": "Migrate manifests to an API version the target serves",
    "deprecated-api": "Migrate manifests to an API version the target serves",
    "dry-run-rejected": "Change manifests the target version rejects",
    "api-warning": "Change manifests as the server's warnings say",
    "schema-change": "Check tenant manifests against the changed schema",
    "rbac-change": "Review RBAC grants",
    "admission-change": "Adjust admission webhooks and policies",
    "object-drift": "Check tenant objects the hop changed",
    "workload-health": "Repair tenant workloads the hop left not ready",
    "disruption": "Investigate the outage in the component logs",
}
#: Where a finding of a kind this module does not know goes.
FALLBACK_ACTION = "Review the other findings"


def action(finding: dict[str, Any]) -> str:
    """The group a finding is listed under: what a person must do about it."""
    return ACTIONS.get(str(finding.get("kind", "")), FALLBACK_ACTION)


def action_order() -> list[str]:
    """Every action once, in report order, the fallback last."""
    return [*dict.fromkeys(ACTIONS.values()), FALLBACK_ACTION]


def fix(finding: dict[str, Any]) -> str:
    """The concrete fix when the finding's kind or evidence names one, else ``""``."""
    evidence = finding.get("evidence") or {}
    kind = finding.get("kind")
    if evidence.get("replacement"):
        return f"move manifests to {evidence['replacement']}"
    if kind == "deprecated-api":
        when = f"before {evidence['removed_release']}" if evidence.get("removed_release") else "before it is removed"
        return f"move clients and manifests to its successor {when}"
    if kind == "dry-run-rejected" and evidence.get("policy"):
        return "fix the policy's expressions so the target version's type checking accepts them"
    if kind == "dry-run-rejected":
        return "change the manifest so the target version accepts it"
    if kind == "api-warning":
        return "change the manifest as the server's warning says, before the release it names"
    if kind == "rbac-change":
        return "restore the grant in the platform's Role, or accept it in the allow-list with a reason"
    if kind == "admission-change" and (evidence.get("silence") or "waited_seconds" in evidence):
        return (
            "keep the webhook answering across the hop: replicas on several nodes, a PodDisruptionBudget, "
            "readiness that holds traffic until it serves, a timeoutSeconds above its latency"
        )
    if kind == "admission-change":
        return "compare the platform's admission policy (PodSecurity levels, webhooks, policies) at both versions"
    if kind == "schema-change" and evidence.get("objects_setting_it"):
        return "stop setting the field in the tenant objects listed, or move them to the field that replaces it"
    if kind == "schema-change" and "objects_setting_it" in evidence:
        return "none today (no tenant object sets the field); keep new manifests from setting it"
    if kind == "schema-change":
        return "check the tenant manifests set the field as the target's schema expects"
    if kind == "object-drift":
        return "check the change is intended (an upgrade default or controller); otherwise fix what rewrote it"
    if kind == "workload-health" and evidence.get("after", {}).get("state") == "gone":
        return "run the Pod under a controller (Deployment, StatefulSet or Job) so a drained node does not lose it"
    if kind == "workload-health":
        return "read the pods' conditions, container states and events; restore what the target no longer gives them"
    if kind == "disruption":
        return "investigate the component logs in artifacts/ for the outage window"
    return ""


def manifests(finding: dict[str, Any]) -> list[str]:
    """The manifest files the finding is about (removed-api users, a rejected dry-run)."""
    evidence = finding.get("evidence") or {}
    found = [str(m) for m in evidence.get("manifests", [])]
    if evidence.get("manifest"):
        found.append(str(evidence["manifest"]))
    return found


def tenant_objects(finding: dict[str, Any]) -> list[str]:
    """The tenant objects or identities the finding touches, as the detector named them."""
    evidence = finding.get("evidence") or {}
    if evidence.get("objects_setting_it"):
        return [str(o) for o in evidence["objects_setting_it"]]
    if evidence.get("objects"):  # attributed through the audit log (removed-api, deprecated-api)
        return [str(o) for o in evidence["objects"]]
    subject = str(finding.get("subject", ""))
    if finding.get("kind") == "object-drift":
        return [subject]
    if evidence.get("object"):
        return [str(evidence["object"])]
    if finding.get("kind") == "rbac-change":
        return [subject.split(" ", 1)[0]]  # "ServiceAccount:app@tenant-alpha create apps/deployments"
    return []
