"""``spin-harness cluster``: create, upgrade and remove clusters by hand (and from the upgrade playbook).

Knows no provider: a cluster named without ``--provider`` is looked up in every provider's
``list()``, and an upgrade is the provider's own plan of named actions, run whole or one by one.
"""

from __future__ import annotations

import argparse
import json

from harness.errors import VersionError
from harness.providers import DEFAULT_PROVIDER
from harness.versions import KubeVersion, upgrade_refusal

# The playbook starts this command once per task: what only creating, upgrading or removing a
# cluster needs (the toolchain, progress displays, the providers' machinery) is imported there.


def register(top: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``cluster up|upgrade|upgrade-plan|kubeconfig|list|down``."""
    cluster = top.add_parser("cluster", help="create, upgrade and remove clusters").add_subparsers(
        dest="cluster_command", required=True, metavar="ACTION"
    )
    p = cluster.add_parser("up", help="create a cluster and print its kubeconfig path")
    p.add_argument("--provider", default=DEFAULT_PROVIDER)
    p.add_argument("--version", required=True, help="v1.36.3, or 1.36 for its newest patch")
    p.add_argument("--name", required=True)
    p.add_argument("--nodes", type=int, default=1, help="simulated nodes (default 1)")
    p.add_argument("--api-port", type=int, help="apiserver port on 127.0.0.1 (default: a free one)")
    p.set_defaults(handler=cmd_cluster_up)
    p = cluster.add_parser("upgrade", help="upgrade a cluster in place (its whole plan, or one action of it)")
    p.add_argument("name")
    p.add_argument("--to", required=True, help="target version")
    p.add_argument("--force", action="store_true", help="skip the version-skew policy check")
    _provider_flag(p)
    p.add_argument(
        "--action",
        "--phase",
        dest="action",
        help="run only this action of 'cluster upgrade-plan' (the playbook runs them one by one); default all",
    )
    p.add_argument("--node", help="the node the action is about, as the plan names it")
    p.set_defaults(handler=cmd_cluster_upgrade)
    p = cluster.add_parser("upgrade-plan", help="print the named actions an upgrade runs, in order")
    p.add_argument("name")
    p.add_argument("--to", required=True, help="target version")
    p.add_argument("--force", action="store_true", help="skip the version-skew policy check")
    _provider_flag(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_cluster_upgrade_plan)
    p = cluster.add_parser("kubeconfig", help="print the admin kubeconfig path of a cluster")
    p.add_argument("name")
    _provider_flag(p)
    p.set_defaults(handler=cmd_cluster_kubeconfig)
    p = cluster.add_parser("list", help="list clusters")
    p.add_argument("--json", action="store_true")
    p.add_argument("--provider", help="only this provider's clusters (and only its code is loaded)")
    p.set_defaults(handler=cmd_cluster_list)
    p = cluster.add_parser("down", help="stop and remove a cluster")
    p.add_argument("name")
    _provider_flag(p)
    p.set_defaults(handler=cmd_cluster_down)


def _provider_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", help="the cluster's provider (default: the one that has a cluster of this name)")


def cmd_cluster_up(args: argparse.Namespace) -> int:
    from harness.cli.version_flag import version_from_flag
    from harness.progress import progress_display, stderr_console
    from harness.providers import get_provider
    from harness.toolchain import ToolchainConfig

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


def _target(args: argparse.Namespace, current: KubeVersion) -> KubeVersion:
    """``--to`` as a full version; a skip or downgrade by minor is refused before the proxy is asked."""
    wanted = KubeVersion.parse_partial(args.to, field="--to")
    if wanted.minor != current.minor and not args.force:
        refusal = upgrade_refusal(current, KubeVersion(wanted.major, wanted.minor, max(wanted.patch, 0)))
        if refusal:
            raise VersionError(f"upgrade refused: {refusal}", hint="pass --force to override the skew policy")
    from harness.cli.version_flag import version_from_flag
    from harness.toolchain import ToolchainConfig

    return version_from_flag(args.to, ToolchainConfig.from_env(), field="--to")


def cmd_cluster_upgrade(args: argparse.Namespace) -> int:
    from harness.progress import progress_display
    from harness.providers import UpgradeAction, get_provider, provider_of

    name = provider_of(args.name, args.provider)
    cluster = get_provider(name).get(args.name)
    target = _target(args, cluster.version)
    # The result goes to stdout (scripts and the playbook read it) once the display has closed.
    with progress_display(f"upgrade {args.name} to {target}", quiet=args.quiet) as progress:
        provider = get_provider(name, progress=progress)
        if args.action in (None, "all"):
            result = str(provider.upgrade(cluster, target, force=args.force).version)
        else:
            result = provider.upgrade_action(cluster, target, UpgradeAction(args.action, args.node), force=args.force)
    print(result)
    return 0


def cmd_cluster_upgrade_plan(args: argparse.Namespace) -> int:
    from harness.providers import get_provider, provider_of

    provider = get_provider(provider_of(args.name, args.provider))
    cluster = provider.get(args.name)
    plan = provider.upgrade_plan(cluster, _target(args, cluster.version))
    if args.json:
        print(json.dumps([action.to_json() for action in plan], indent=2))
    else:
        print("\n".join(str(action) for action in plan))
    return 0


def cmd_cluster_kubeconfig(args: argparse.Namespace) -> int:
    from harness.providers import get_provider, provider_of

    provider = get_provider(provider_of(args.name, args.provider))
    print(provider.kubeconfig(provider.get(args.name)))
    return 0


def cmd_cluster_list(args: argparse.Namespace) -> int:
    from harness.providers import all_providers, get_provider

    providers = [get_provider(args.provider)] if args.provider else all_providers()
    rows = [row.to_json() for provider in providers for row in provider.list()]
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
    from harness.providers import get_provider, provider_of

    provider = get_provider(provider_of(args.name, args.provider))
    provider.delete(provider.get(args.name))
    if not args.quiet:
        from harness.progress import stderr_console

        stderr_console.print(f"cluster {args.name} removed")
    return 0
