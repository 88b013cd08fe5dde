"""Finding the tenant of a namespace, for a webhook that is only sent the pod.

An AdmissionReview for a pod names its namespace but does not include the Namespace object,
and the tenant's UID, GID and global-fs root live on the Namespace. So the server asks a
``NamespaceLookup`` callback: a fixed table in unit tests, the cluster (through the Kubernetes
client, with a short cache) in end-to-end tests and real use.

The cache matters because a webhook has a deadline of a few seconds per call and a burst of
pod creations (a Job with many pods) would otherwise read the same Namespace for each. It is
short-lived because annotations can change; a change is seen at most ``ttl`` seconds late.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kubernetes import client, config

from harness.kube.client import api_client
from harness.webhooks.policy import Tenant


@dataclass(frozen=True)
class NamespaceInfo:
    """The parts of a Namespace the policy reads."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    def tenant(self) -> Tenant:
        return Tenant.from_namespace(self.labels, self.annotations)


#: Returns the namespace's metadata, None when it does not exist; raises when it cannot tell.
NamespaceLookup = Callable[[str], NamespaceInfo | None]


class StaticNamespaceLookup:
    """A fixed table of namespaces (tests without a cluster)."""

    def __init__(self, namespaces: Mapping[str, NamespaceInfo] | None = None) -> None:
        self.namespaces = dict(namespaces or {})

    def __call__(self, name: str) -> NamespaceInfo | None:
        return self.namespaces.get(name)


class CachedLookup:
    """Remembers answers (including "does not exist") of another lookup for ``ttl`` seconds.

    Thread-safe: the webhook server answers requests on several threads. Two threads missing
    at once may both ask; that is cheaper than holding a lock across a network call.
    """

    def __init__(
        self,
        fetch: NamespaceLookup,
        *,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, NamespaceInfo | None]] = {}

    def __call__(self, name: str) -> NamespaceInfo | None:
        now = self._clock()
        with self._lock:
            hit = self._entries.get(name)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        info = self._fetch(name)  # an exception is not cached: the next call tries again
        with self._lock:
            self._entries[name] = (now, info)
        return info

    def invalidate(self, name: str | None = None) -> None:
        """Forget one namespace, or all of them."""
        with self._lock:
            if name is None:
                self._entries.clear()
            else:
                self._entries.pop(name, None)


class KubeNamespaceReader:
    """Reads Namespaces from a cluster with its own ApiClient; ``close`` when done.

    ``timeout`` bounds each read below the webhook's own deadline (3 s for the harness's server,
    5 s in the cluster), so a slow apiserver turns into a clear "cannot read namespace" denial
    rather than a webhook timeout.
    """

    def __init__(self, api: client.ApiClient, *, timeout: float = 2.0) -> None:
        self._api = api
        self._core = client.CoreV1Api(api)
        self._timeout = timeout

    @classmethod
    def from_kubeconfig(cls, kubeconfig: Path, *, timeout: float = 2.0) -> KubeNamespaceReader:
        return cls(api_client(kubeconfig), timeout=timeout)

    @classmethod
    def in_cluster(cls, *, timeout: float = 2.0) -> KubeNamespaceReader:
        """As the pod's service account (the webhook deployed in the cluster)."""
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        return cls(client.ApiClient(configuration), timeout=timeout)

    def __call__(self, name: str) -> NamespaceInfo | None:
        try:
            ns = self._core.read_namespace(name, _request_timeout=self._timeout)
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise
        meta = ns.metadata
        return NamespaceInfo(name, dict(meta.labels or {}), dict(meta.annotations or {}))

    def close(self) -> None:
        self._api.close()
