"""What the toolchain provides: products, their components, and how their versions relate.

A *product* is one upstream project built or downloaded as a unit (Kubernetes, etcd, kwok,
and for node images containerd, CoreDNS, the pause program and the kind CLI); a *component*
is one binary of it. The Kubernetes version a cluster runs decides the other products'
versions: etcd and CoreDNS follow the versions kubeadm pins for that minor, the pause
program follows the pause image tag kubeadm expects, and kwok, containerd and kind are
pinned here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Product(enum.StrEnum):
    KUBERNETES = "kubernetes"
    ETCD = "etcd"
    KWOK = "kwok"
    KWOKCTL = "kwokctl"
    CONTAINERD = "containerd"
    COREDNS = "coredns"
    PAUSE = "pause"
    KIND = "kind"
    K3D = "k3d"
    TRAEFIK = "traefik"
    HELM = "helm"
    PLUTO = "pluto"


class Component(enum.StrEnum):
    ETCD = "etcd"
    KUBE_APISERVER = "kube-apiserver"
    KUBE_CONTROLLER_MANAGER = "kube-controller-manager"
    KUBE_SCHEDULER = "kube-scheduler"
    KUBECTL = "kubectl"
    KUBELET = "kubelet"
    KUBEADM = "kubeadm"
    KUBE_PROXY = "kube-proxy"
    KWOK = "kwok"
    KWOKCTL = "kwokctl"
    CONTAINERD = "containerd"
    CONTAINERD_SHIM = "containerd-shim-runc-v2"
    CTR = "ctr"
    COREDNS = "coredns"
    PAUSE = "pause"
    KIND = "kind"
    K3D = "k3d"
    TRAEFIK = "traefik"
    HELM = "helm"
    PLUTO = "pluto"

    @property
    def product(self) -> Product:
        return _PRODUCT_OF.get(self, Product.KUBERNETES)


_PRODUCT_OF = {
    Component.ETCD: Product.ETCD,
    Component.KWOK: Product.KWOK,
    Component.KWOKCTL: Product.KWOKCTL,
    Component.CONTAINERD: Product.CONTAINERD,
    Component.CONTAINERD_SHIM: Product.CONTAINERD,
    Component.CTR: Product.CONTAINERD,
    Component.COREDNS: Product.COREDNS,
    Component.PAUSE: Product.PAUSE,
    Component.KIND: Product.KIND,
    Component.K3D: Product.K3D,
    Component.TRAEFIK: Product.TRAEFIK,
    Component.HELM: Product.HELM,
    Component.PLUTO: Product.PLUTO,
}


#: What a local-process control plane runs (no kubectl: the harness talks to the API itself,
#: and a cold kubectl build is a minute and a half of compiling and linking no local cluster uses).
LOCAL_CLUSTER_COMPONENTS: tuple[Component, ...] = (
    Component.ETCD,
    Component.KUBE_APISERVER,
    Component.KUBE_CONTROLLER_MANAGER,
    Component.KUBE_SCHEDULER,
    Component.KWOK,
)

#: The Kubernetes binaries a kind node runs or a kubeadm upgrade replaces.
KUBEADM_NODE_COMPONENTS: tuple[Component, ...] = (
    Component.KUBE_APISERVER,
    Component.KUBE_CONTROLLER_MANAGER,
    Component.KUBE_SCHEDULER,
    Component.KUBE_PROXY,
    Component.KUBECTL,
    Component.KUBELET,
    Component.KUBEADM,
)

#: What a kind node image of a version is made of (``images build``), beside etcd.
KIND_NODE_IMAGE_COMPONENTS: tuple[Component, ...] = (
    *KUBEADM_NODE_COMPONENTS,
    Component.CONTAINERD,
    Component.CONTAINERD_SHIM,
    Component.CTR,
    Component.COREDNS,
    Component.PAUSE,
)

#: kwok release used for simulated nodes; its stages are version-independent.
KWOK_VERSION = "v0.8.0"

#: kwokctl, the peer ``bench/cluster_lifecycle.py`` measures the local provider against: the
#: same release (same module) as the kwok controller both run.
KWOKCTL_VERSION = KWOK_VERSION

#: containerd for kind nodes: 2.x, since kubelets from 1.36 need the CRI RuntimeConfig call.
CONTAINERD_VERSION = "v2.3.4"

#: The kind CLI; v0.33 creates clusters of every Kubernetes minor spin-harness supports.
KIND_VERSION = "v0.33.0"

#: The k3d CLI (k3s clusters in Docker).
K3D_VERSION = "v5.8.3"

#: The ingress controller of kind clusters. v2: v3's go.mod replaces a module by a local
#: directory the module proxy cannot serve (github.com/traefik/traefik/dynamic/ext).
TRAEFIK_VERSION = "v2.11.0"

#: Helm, for rendering tenant charts (``helm template``); v3, the line tenant charts target.
HELM_VERSION = "v3.21.4"

#: Pluto, the deprecated-API scanner ``bench/detection.py`` compares the gate with. v5.22.7 is
#: the newest whose module the proxy serves whole here: it refuses the version list, v5.22.8 to
#: v5.24.0, and the source zip of v5.23.6 (whose checksum the sum database does not know either).
PLUTO_VERSION = "v5.22.7"


@dataclass(frozen=True)
class ProductBuild:
    """One product at one version: the unit that is cached, locked and checksummed together."""

    product: Product
    version: str  # the product's own version: v1.36.3, v3.6.8, v0.8.0

    @property
    def key(self) -> str:
        return f"{self.product.value}-{self.version}"
