"""The apiserver audit policy every provider's clusters run with (where the provider keeps an audit log)."""

from __future__ import annotations

AUDIT_POLICY = """\
# Metadata for every request: who did what to which object, never request or response
# bodies, so Secret values cannot reach the audit log.
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  nonResourceURLs: ["/healthz*", "/readyz*", "/livez*", "/version"]
- level: None
  resources: [{group: "coordination.k8s.io", resources: ["leases"]}]
- level: Metadata
"""
