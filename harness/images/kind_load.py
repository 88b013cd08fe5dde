"""Images from the local engine into the containerd of running kind node containers."""

from __future__ import annotations

import contextlib
import secrets
import shlex
import tempfile
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from python_on_whales.exceptions import DockerException

from harness.images import engine, layers


def load_into_nodes(
    images_by_node: Mapping[str, Iterable[str]], *, wait_for_node: Callable[[str], None] | None = None
) -> None:
    """Import each node's images from the local engine into its containerd (pinned, so the
    kubelet's image garbage collection keeps them).

    Images wanted by the same nodes share one archive, saved once and copied into and imported
    by each of those nodes at once; a node is sent only the archives of images it wants.
    Archive names in a node are unique, so loads of other images into the same nodes may run
    meanwhile. ``wait_for_node(node)``, when given, returns once ``node`` can take its archives
    (it is called after the archives are saved, before anything is copied into that node), so
    a load may start while the nodes are still being made.
    """
    docker = engine.docker_client()
    partitions = image_partitions(images_by_node)
    token = secrets.token_hex(4)

    def load(node: str, archives: list[Path]) -> None:
        if wait_for_node is not None:
            wait_for_node(node)
        inside = [f"/kind/load-images-{token}-{archive.stem}.tar" for archive in archives]
        try:
            for archive, target in zip(archives, inside, strict=True):
                docker.container.copy(archive, (node, target))
        except BaseException:  # the archives copied so far would stay in the node
            with contextlib.suppress(DockerException):
                docker.container.execute(node, ["rm", "-f", "--", *inside])
            raise
        docker.container.execute(node, ["bash", "-c", import_script(inside)])

    with tempfile.TemporaryDirectory(prefix="kind-load-", dir=layers.work_root()) as scratch:
        archives: dict[frozenset[str], Path] = {}
        for index, (nodes, images) in enumerate(partitions.items()):
            archives[nodes] = Path(scratch) / f"part{index}.tar"
            docker.image.save(images, output=archives[nodes])
        per_node = {node: parts for node in images_by_node if (parts := [archives[p] for p in partitions if node in p])}
        with ThreadPoolExecutor(max_workers=max(1, len(per_node)), thread_name_prefix="kind-load") as pool:
            for done in [pool.submit(load, node, parts) for node, parts in per_node.items()]:
                done.result()


def import_script(archives: list[str]) -> str:
    """Shell that imports every archive in a node, then removes them all, failed import or not."""
    quoted = " ".join(shlex.quote(a) for a in archives)
    return (
        f"trap {shlex.quote('rm -f -- ' + quoted)} EXIT; "
        f"for archive in {quoted}; do "
        'ctr --namespace=k8s.io images import --digests --label=io.cri-containerd.pinned=pinned "$archive" '
        ">/dev/null || exit; done"
    )


def image_partitions(images_by_node: Mapping[str, Iterable[str]]) -> dict[frozenset[str], list[str]]:
    """The images grouped by the set of nodes that want them (each group one archive), sorted."""
    wanted_by: dict[str, set[str]] = {}
    for node, images in images_by_node.items():
        for image in images:
            wanted_by.setdefault(image, set()).add(node)
    partitions: dict[frozenset[str], list[str]] = {}
    for image in sorted(wanted_by):
        partitions.setdefault(frozenset(wanted_by[image]), []).append(image)
    return partitions
