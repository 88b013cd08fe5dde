"""Writing kubeconfig files: self-contained (certificates embedded) and 0600."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from harness.secretfiles import write_private


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(
    path: Path, *, cluster: str, server: str, ca_cert: Path, client_cert: Path, client_key: Path, user: str
) -> Path:
    """A kubeconfig with one cluster, one user and one current context, credentials inline."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server, "certificate-authority-data": _b64(ca_cert)}}],
        "users": [
            {
                "name": user,
                "user": {"client-certificate-data": _b64(client_cert), "client-key-data": _b64(client_key)},
            }
        ],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
        "preferences": {},
    }
    write_private(path, yaml.safe_dump(config, sort_keys=False).encode())
    return path
