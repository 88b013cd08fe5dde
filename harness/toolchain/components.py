"""What the toolchain provides: products, their components, and how their versions relate.

A *product* is one upstream project built or downloaded as a unit (Kubernetes, etcd, kwok);
a *component* is one binary of it. The Kubernetes version a cluster runs decides the other
products' versions: etcd follows the version kubeadm pins for that minor, kwok is pinned here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Product(enum.StrEnum):
    KUBERNETES = "kubernetes"
    ETCD = "etcd"
    KWOK = "kwok"


class Component(enum.StrEnum):
    ETCD = "etcd"
    KUBE_APISERVER = "kube-apiserver"
    KUBE_CONTROLLER_MANAGER = "kube-controller-manager"
    KUBE_SCHEDULER = "kube-scheduler"
    KUBECTL = "kubectl"
    KUBELET = "kubelet"
    KUBEADM = "kubeadm"
    KWOK = "kwok"

    @property
    def product(self) -> Product:
        if self is Component.ETCD:
            return Product.ETCD
        if self is Component.KWOK:
            return Product.KWOK
        return Product.KUBERNETES


#: What a local-process control plane needs.
LOCAL_CLUSTER_COMPONENTS: tuple[Component, ...] = (
    Component.ETCD,
    Component.KUBE_APISERVER,
    Component.KUBE_CONTROLLER_MANAGER,
    Component.KUBE_SCHEDULER,
    Component.KUBECTL,
    Component.KWOK,
)

#: kwok release used for simulated nodes; its stages are version-independent.
KWOK_VERSION = "v0.8.0"


@dataclass(frozen=True)
class ProductBuild:
    """One product at one version: the unit that is cached, locked and checksummed together."""

    product: Product
    version: str  # the product's own version: v1.36.3, v3.6.8, v0.8.0

    @property
    def key(self) -> str:
        return f"{self.product.value}-{self.version}"
