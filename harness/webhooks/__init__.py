"""The platform's admission control, testable end to end.

``policy`` is the written policy as a pure oracle; ``server`` serves it as a real HTTPS
admission webhook with fault switches; ``manifests`` registers it (and a CEL twin of one rule
as a ValidatingAdmissionPolicy). See each module for the reasons behind its design.
"""

from __future__ import annotations

from harness.webhooks.lookup import CachedLookup, KubeNamespaceReader, NamespaceInfo, StaticNamespaceLookup
from harness.webhooks.manifests import registration_manifests, validating_admission_policy_manifests
from harness.webhooks.policy import Decision, Reason, Tenant, mutate_pod, validate_pod
from harness.webhooks.server import Mode, RequestRecord, WebhookServer

__all__ = [
    "CachedLookup",
    "Decision",
    "KubeNamespaceReader",
    "Mode",
    "NamespaceInfo",
    "Reason",
    "RequestRecord",
    "StaticNamespaceLookup",
    "Tenant",
    "WebhookServer",
    "mutate_pod",
    "registration_manifests",
    "validate_pod",
    "validating_admission_policy_manifests",
]
