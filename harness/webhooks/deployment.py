"""The platform's webhook deployed in the cluster, as a platform team would run it.

Two replicas behind a Service, so one can be drained off its node during an upgrade while the
other answers: a PodDisruptionBudget keeps one available, a preferred anti-affinity spreads
them, and a toleration lets one run on the control plane (a small cluster may have a single
worker, which a node upgrade drains). The pods run the webhook image
(``harness.images.webhook_image``) as an unprivileged user with a read-only root, read
Namespaces through a ClusterRole that grants ``get`` on namespaces only, and are ready when
``/healthz`` answers over their own TLS. The serving certificate is made for the Service's
DNS names and handed over in a ``kubernetes.io/tls`` Secret; its CA becomes the
registration's ``caBundle``, and its fingerprint sits on the pod template so a new
certificate rolls the pods.

The namespace has no policy label, so the registrations never select the webhook's own pods.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from harness.kube.labels import NAME_LABEL, PLATFORM_DOMAIN, managed_labels
from harness.webhooks.certs import ServingMaterial
from harness.webhooks.manifests import MUTATING_WEBHOOK, VALIDATING_WEBHOOK, ServiceEndpoint
from harness.webhooks.serve_in_pod import DEFAULT_PORT

NAMESPACE = "spin-webhook"
NAME = "spin-platform-webhook"
#: The registration of the in-cluster deployment, beside the host server's ``spin-platform-pods``.
REGISTRATION_NAME = "spin-platform-pods-in-cluster"
#: Its webhooks' names: what the apiserver's refusals quote, so they say which server refused.
WEBHOOK_NAMES = (
    VALIDATING_WEBHOOK.replace(f".{PLATFORM_DOMAIN}", f".in-cluster.{PLATFORM_DOMAIN}"),
    MUTATING_WEBHOOK.replace(f".{PLATFORM_DOMAIN}", f".in-cluster.{PLATFORM_DOMAIN}"),
)
TLS_MOUNT = "/etc/spin-webhook/tls"
#: The user the server runs as: nobody, which owns nothing in the image.
RUN_AS = 65534
_LABELS = managed_labels(NAME)
_SELECTOR = {NAME_LABEL: NAME}


@dataclass(frozen=True)
class InClusterWebhook:
    """Where the deployment lives, and its parameters (``image`` is needed to deploy, not to find it)."""

    image: str = ""
    namespace: str = NAMESPACE
    name: str = NAME
    replicas: int = 2

    @property
    def cluster_role(self) -> str:
        """The name of the ClusterRole and of its binding."""
        return f"spin-harness:{self.name}"

    def endpoint(self, ca_bundle: bytes) -> ServiceEndpoint:
        return ServiceEndpoint(self.namespace, self.name, ca_bundle)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def deployment_manifests(webhook: InClusterWebhook, material: ServingMaterial) -> list[dict[str, Any]]:
    """Namespace, RBAC, the TLS Secret, Deployment, Service and PodDisruptionBudget, in apply order."""
    ns, name = webhook.namespace, webhook.name
    cert, key = material.cert_file.read_bytes(), material.key_file.read_bytes()
    fingerprint = hashlib.sha256(cert).hexdigest()[:16]
    meta = {"name": name, "namespace": ns, "labels": _LABELS}
    cluster_meta = {"name": webhook.cluster_role, "labels": _LABELS}
    container = {
        "name": "webhook",
        "image": webhook.image,
        "imagePullPolicy": "Never" if webhook.image.startswith("spin-harness.local/") else "IfNotPresent",
        "args": ["--tls-dir", TLS_MOUNT, "--port", str(DEFAULT_PORT)],
        "ports": [{"name": "https", "containerPort": DEFAULT_PORT}],
        "readinessProbe": {
            "httpGet": {"path": "/healthz", "port": "https", "scheme": "HTTPS"},
            "periodSeconds": 2,
            "failureThreshold": 2,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "https", "scheme": "HTTPS"},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "resources": {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": {
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tls", "mountPath": TLS_MOUNT, "readOnly": True}],
    }
    pod_spec = {
        "serviceAccountName": name,
        "containers": [container],
        "volumes": [{"name": "tls", "secret": {"secretName": f"{name}-tls", "defaultMode": 0o444}}],
        "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "labelSelector": {"matchLabels": _SELECTOR},
                            "topologyKey": "kubernetes.io/hostname",
                        },
                    }
                ]
            }
        },
        "terminationGracePeriodSeconds": 10,
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": _LABELS}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": cluster_meta,
            "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": cluster_meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_meta["name"]},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": {**meta, "name": f"{name}-tls"},
            "data": {"tls.crt": _b64(cert), "tls.key": _b64(key), "ca.crt": _b64(material.ca_pem)},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": webhook.replicas,
                "selector": {"matchLabels": _SELECTOR},
                "template": {
                    "metadata": {"labels": _LABELS, "annotations": {f"{PLATFORM_DOMAIN}/serving-cert": fingerprint}},
                    "spec": pod_spec,
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {"selector": _SELECTOR, "ports": [{"name": "https", "port": 443, "targetPort": "https"}]},
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta,
            "spec": {"minAvailable": 1, "selector": {"matchLabels": _SELECTOR}},
        },
    ]
