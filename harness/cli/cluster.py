"""``spin-harness cluster``: create, upgrade, drain and remove clusters by hand."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from harness.cli.version_flag import version_from_flag
from harness.errors import InputError, VersionError
from harness.progress import progress_display, stderr_console
from harness.providers.base import Cluster
from harness.toolchain import ToolchainConfig
from harness.versions import KubeVersion, upgrade_refusal

if TYPE_CHECKING:
    from harness.providers.kind import KindProvider


def register(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``cluster up|upgrade|drain|uncordon|kubeconfig|list|down``."""
    cluster = top.add_parser("cluster", help="create, upgrade and remove clusters").add_subparsers(
        dest="cluster_command", required=True, metavar="ACTION"
    )
    p = cluster.add_parser("up", help="create a cluster and print its kubeconfig path")
    p.add_argument("--provider", default="local")
    p.add_argument("--version", required=True, help="v1.36.3, or 1.36 for its newest patch")
    p.add_argument("--name", required=True)
    p.add_argument("--nodes", type=int, default=1, help="simulated nodes (default 1)")
    p.add_argument("--api-port", type=int, help="apiserver port on 127.0.0.1 (default: a free one)")
    p.set_defaults(handler=cmd_cluster_up)
    p = cluster.add_parser("upgrade", help="upgrade a cluster in place")
    p.add_argument("name")
    p.add_argument("--to", required=True, help="target version")
    p.add_argument("--force", action="store_true", help="skip the version-skew policy check")
    p.add_argument("--provider", default="local")
    p.add_argument(
        "--phase",
        choices=["all", "control-plane", "node", "finish"],
        default="all",
        help="kind: run one phase (the playbook drains and uncordons between them); default all",
    )
    p.add_argument("--node", help="with --phase node: the node container to upgrade")
    p.set_defaults(handler=cmd_cluster_upgrade)
    for action, handler, text in (
        ("drain", cmd_cluster_drain, "cordon and drain a node (kind), when another node can take its pods"),
        ("uncordon", cmd_cluster_uncordon, "make a node schedulable again (kind)"),
    ):
        p = cluster.add_parser(action, help=text)
        p.add_argument("name")
        p.add_argument("node", help="the node container, e.g. NAME-worker")
        p.add_argument("--provider", default="kind")
        p.set_defaults(handler=handler)
    p = cluster.add_parser("kubeconfig", help="print the admin kubeconfig path of a cluster")
    p.add_argument("name")
    p.add_argument("--provider", default="local")
    p.set_defaults(handler=cmd_cluster_kubeconfig)
    p = cluster.add_parser("list", help="list clusters")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_cluster_list)
    p = cluster.add_parser("down", help="stop and remove a cluster")
    p.add_argument("name")
    p.add_argument("--provider", default="local")
    p.set_defaults(handler=cmd_cluster_down)


def cmd_cluster_up(args: argparse.Namespace) -> int:
    from harness.providers import get_provider

    config = ToolchainConfig.from_env()
    version = version_from_flag(args.version, config)
    with progress_display(f"cluster {args.name} ({args.provider} {version})", quiet=args.quiet) as progress:
        provider = get_provider(args.provider, progress=progress)
        cluster = provider.create(args.name, version, args.nodes, keep=True, api_port=args.api_port)
    print(cluster.kubeconfig)
    if not args.quiet:
        stderr_console.print(
            f"cluster {cluster.name} is ready at {cluster.version}; use it with:\n"
            f"  export KUBECONFIG={cluster.kubeconfig}"
        )
    return 0


def cmd_cluster_upgrade(args: argparse.Namespace) -> int:
    from harness.providers import get_provider

    config = ToolchainConfig.from_env()
    provider = get_provider(args.provider)
    cluster = provider.get(args.name)
    wanted = KubeVersion.parse_partial(args.to, field="--to")
    if wanted.minor != cluster.version.minor and not args.force:
        # Refuse a skip or a downgrade by minor before asking the proxy about the target.
        refusal = upgrade_refusal(cluster.version, KubeVersion(wanted.major, wanted.minor, max(wanted.patch, 0)))
        if refusal:
            raise VersionError(f"upgrade refused: {refusal}", hint="pass --force to override the skew policy")
    target = version_from_flag(args.to, config, field="--to")
    with progress_display(f"upgrade {args.name} to {target}", quiet=args.quiet) as progress:
        provider = get_provider(args.provider, progress=progress)
        if args.phase == "all":
            cluster = provider.upgrade(cluster, target, force=args.force)
        else:
            _upgrade_phase(provider, cluster, target, args)
            cluster = provider.get(args.name)
    print(cluster.version)
    return 0


def _upgrade_phase(provider: object, cluster: object, target: KubeVersion, args: argparse.Namespace) -> None:
    """One phase of a node-by-node upgrade, as the playbook runs them (providers with real nodes)."""
    from harness.providers.kind import KindProvider

    if not isinstance(provider, KindProvider):
        raise InputError(
            f"--phase {args.phase}: the {args.provider} provider upgrades in one step", hint="omit --phase"
        )
    assert isinstance(cluster, Cluster)
    if args.phase == "control-plane":
        provider.upgrade_control_plane(cluster, target, force=args.force)
    elif args.phase == "node":
        if not args.node:
            raise InputError("--phase node needs --node NAME", hint="see 'spin-harness cluster list --json'")
        provider.upgrade_node(cluster, args.node, target)
    else:  # finish
        provider.finish_upgrade(cluster, target)


def cmd_cluster_drain(args: argparse.Namespace) -> int:
    provider = _kind_provider(args)
    drained = provider.drain(provider.get(args.name), args.node)
    print(f"{args.node} drained" if drained else f"{args.node} not drained: no other node can take its pods")
    return 0


def cmd_cluster_uncordon(args: argparse.Namespace) -> int:
    provider = _kind_provider(args)
    provider.uncordon(provider.get(args.name), args.node)
    print(f"{args.node} uncordoned")
    return 0


def _kind_provider(args: argparse.Namespace) -> KindProvider:
    from harness.providers.kind import KindProvider

    if args.provider != "kind":
        raise InputError(f"the {args.provider} provider has no nodes to drain", hint="--provider kind")
    return KindProvider()


def cmd_cluster_kubeconfig(args: argparse.Namespace) -> int:
    from harness.providers import get_provider

    provider = get_provider(args.provider)
    print(provider.kubeconfig(provider.get(args.name)))
    return 0


def cmd_cluster_list(args: argparse.Namespace) -> int:
    from harness.providers.kind.state import KindState
    from harness.providers.kind.state import all_states as kind_states
    from harness.providers.local import state

    rows = []
    for st in state.all_states():
        if isinstance(st, state.ClusterState):
            owner = "kept" if st.owner is None else f"pid {st.owner.pid}"
            rows.append(
                {
                    "name": st.name,
                    "provider": "local",
                    "version": st.version,
                    "nodes": st.nodes,
                    "phase": st.phase,
                    "owner": owner,
                    "apiserver": f"https://127.0.0.1:{st.ports.get('apiserver')}",
                    "kubeconfig": str(st.directory / "kubeconfig"),
                }
            )
        else:
            rows.append({"name": st.name, "provider": "local", "phase": "broken (see 'spin-harness gc')"})
    for kst in kind_states():
        if isinstance(kst, KindState):
            rows.append(
                {
                    "name": kst.name,
                    "provider": "kind",
                    "version": kst.version,
                    "nodes": kst.nodes,
                    "phase": kst.phase,
                    "owner": "kept" if kst.owner is None else f"pid {kst.owner.pid}",
                    "apiserver": f"https://127.0.0.1:{kst.api_port}",
                    "kubeconfig": str(kst.kubeconfig),
                    "image": kst.image,
                    "nodes_list": [f"{kst.name}-control-plane"]
                    + [f"{kst.name}-worker{'' if i == 1 else i}" for i in range(1, kst.nodes)],
                }
            )
        else:
            rows.append({"name": kst.name, "provider": "kind", "phase": "broken (see 'spin-harness gc')"})
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print("no clusters")
    else:
        for row in rows:
            print(
                f"{row['name']:20} {row['provider']:6} {row.get('version', '-'):9} {row['phase']:22} "
                f"{row.get('owner', '-'):12} {row.get('kubeconfig', '')}"
            )
    return 0


def cmd_cluster_down(args: argparse.Namespace) -> int:
    from harness.providers import get_provider

    provider = get_provider(args.provider)
    provider.delete(provider.get(args.name))
    if not args.quiet:
        stderr_console.print(f"cluster {args.name} removed")
    return 0
