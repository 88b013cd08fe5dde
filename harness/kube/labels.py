"""The label and annotation keys the harness reads and stamps on the objects it creates.

One place for them, so a search finds every writer and a rename cannot leave a copy behind:
the platform's own keys (``platform.spin.example/...``: which tenant a namespace belongs to),
the Kubernetes-recommended ``app.kubernetes.io/*`` labels on what the harness deploys, and
the field managers of its server-side applies (``spin-harness/<component>``), which say in
``managedFields`` which part of the harness wrote a field.
"""

from __future__ import annotations

#: The domain of the platform's label, annotation and API group names.
PLATFORM_DOMAIN = "platform.spin.example"
#: On tenant namespaces (value: the tenant's name) and, set by the admission webhook, on their pods.
TENANT_LABEL = f"{PLATFORM_DOMAIN}/tenant"

#: Kubernetes' recommended labels (``app.kubernetes.io``), as the harness fills them.
NAME_LABEL = "app.kubernetes.io/name"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
#: The value of ``MANAGED_BY_LABEL`` and the prefix of every field manager.
MANAGER = "spin-harness"


def managed_labels(name: str | None = None) -> dict[str, str]:
    """The labels on an object the harness creates: managed by it and, when given, its app name."""
    labels = {NAME_LABEL: name} if name is not None else {}
    labels[MANAGED_BY_LABEL] = MANAGER
    return labels


def field_manager(component: str) -> str:
    """The server-side-apply field manager of one part of the harness: ``spin-harness/<component>``."""
    return f"{MANAGER}/{component}"
