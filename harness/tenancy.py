"""How the harness recognises tenant namespaces on any cluster.

The platform marks each tenant namespace with ``platform.spin.example/tenant=<tenant>``; the
detectors look at those namespaces (and, on clusters made without the label, at namespaces
named ``tenant-*``).
"""

from __future__ import annotations

from kubernetes import client

from harness.kube.labels import TENANT_LABEL

__all__ = ["TENANT_LABEL", "TENANT_PREFIX", "tenant_namespaces"]

TENANT_PREFIX = "tenant-"


def tenant_namespaces(api: client.ApiClient) -> list[str]:
    names = []
    for ns in client.CoreV1Api(api).list_namespace().items:
        labels = ns.metadata.labels or {}
        if TENANT_LABEL in labels or ns.metadata.name.startswith(TENANT_PREFIX):
            names.append(ns.metadata.name)
    return sorted(names)
