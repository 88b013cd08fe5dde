"""The local provider's nodes: Node objects that kwok keeps Ready, reporting a kubelet version."""

from __future__ import annotations

from contextlib import closing

from kubernetes import client

from harness.kube.client import api_client
from harness.providers.local import commands
from harness.providers.local.commands import Layout
from harness.versions import KubeVersion


def node_manifest(name: str, version: KubeVersion) -> dict[str, object]:
    """A simulated node: kwok manages it (label) and reports ``version`` as its kubelet."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                commands.SIMULATED_NODE_LABEL: "true",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": "kwok",
            },
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {},
        "status": {
            "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "nodeInfo": {
                "architecture": "amd64",
                "kubeletVersion": str(version),
                "kubeProxyVersion": str(version),
                "operatingSystem": "linux",
                "containerRuntimeVersion": "kwok",
                "kernelVersion": "kwok",
                "osImage": "kwok",
                "bootID": "",
                "machineID": "",
                "systemUUID": "",
            },
        },
    }


def set_node_versions(at: Layout, version: KubeVersion) -> None:
    """What an upgrade of kubelets is on simulated nodes: the version they report."""
    with closing(api_client(at.kubeconfig("admin"))) as api:
        core = client.CoreV1Api(api)
        selector = f"{commands.SIMULATED_NODE_LABEL}=true"
        for node in core.list_node(label_selector=selector).items:
            patch = {"status": {"nodeInfo": {"kubeletVersion": str(version), "kubeProxyVersion": str(version)}}}
            core.patch_node_status(node.metadata.name, patch)
