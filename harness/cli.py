"""The ``spin-harness`` command line.

Thin by design: it parses arguments, calls the same modules the pytest plugin uses, and maps
errors to exit codes: 0 success, 1 breaking findings (``run``/``gate``), 2 bad input or a
harness failure (the message says what and how to fix it), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from harness import __version__
from harness.errors import HarnessError, InputError, VersionError
from harness.paths import resolve_matrix_argument
from harness.progress import progress_display, quiet_by_default, stderr_console
from harness.providers.base import Cluster
from harness.toolchain import Component, ToolchainConfig, ensure
from harness.toolchain.components import LOCAL_CLUSTER_COMPONENTS
from harness.versions import KubeVersion, check_supported, upgrade_refusal

if TYPE_CHECKING:
    from harness.providers.kind import KindProvider

Handler = Callable[[argparse.Namespace], int]


def resolve_version(text: str, config: ToolchainConfig, *, field: str = "--version") -> KubeVersion:
    """A full version as given, or a bare minor resolved to its newest published patch.

    When the Go build is among the sources, a full version is also checked against the module
    proxy so a typo fails at once instead of after a failed build.
    """
    from harness.toolchain import goproxy

    partial = KubeVersion.parse_partial(text, field=field)
    check_supported(partial, field=field)
    if partial.is_partial or "build" in config.sources:
        return goproxy.resolve(text, field=field)
    return partial


# -- toolchain ---------------------------------------------------------------------------


def cmd_toolchain_ensure(args: argparse.Namespace) -> int:
    config = ToolchainConfig.from_env()
    if args.source:
        config = ToolchainConfig(
            sources=tuple(args.source.split(",")),
            bin_dir=config.bin_dir,
            release_urls=config.release_urls,
            root=config.root,
        )
    version = resolve_version(args.version, config)
    components = [Component(c) for c in args.components.split(",")] if args.components else LOCAL_CLUSTER_COMPONENTS
    with progress_display(f"toolchain {version}", quiet=args.quiet) as progress:
        tools = ensure(version, components, config=config, progress=progress)
    for component, path in tools.paths.items():
        print(f"{component.value}\t{path}")
    return 0


def cmd_toolchain_list(args: argparse.Namespace) -> int:
    from harness.toolchain.manifest import Manifest

    root = ToolchainConfig.from_env().root
    rows = []
    for product_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "build") if root.is_dir() else []:
        for version_dir in sorted(p for p in product_dir.iterdir() if p.is_dir()):
            manifest = Manifest.load(version_dir, product_dir.name, version_dir.name)
            for name, rec in sorted(manifest.components.items()):
                rows.append((product_dir.name, version_dir.name, name, rec.size, rec.source, rec.sha256[:12]))
    if args.json:
        print(
            json.dumps(
                [
                    dict(zip(("product", "version", "component", "size", "source", "sha256"), r, strict=True))
                    for r in rows
                ],
                indent=2,
            )
        )
        return 0
    if not rows:
        print(f"no binaries cached under {root}")
        return 0
    for product, version, name, size, source, digest in rows:
        print(f"{product:11} {version:9} {name:24} {size / 2**20:7.1f} MiB  {source:8} sha256:{digest}")
    return 0


def cmd_toolchain_versions(args: argparse.Namespace) -> int:
    from harness.toolchain import goproxy

    versions = goproxy.newest_minors(args.newest) if args.newest else goproxy.published_versions()
    print("\n".join(str(v) for v in versions))
    return 0


# -- cluster -----------------------------------------------------------------------------


def _local_provider(quiet: bool, progress: Callable[[str], None]) -> object:
    from harness.providers.local import LocalProvider

    return LocalProvider(progress=progress)


def cmd_cluster_up(args: argparse.Namespace) -> int:
    from harness.providers import get_provider

    config = ToolchainConfig.from_env()
    version = resolve_version(args.version, config)
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
    target = resolve_version(args.to, config, field="--to")
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


def cmd_images_build(args: argparse.Namespace) -> int:
    from harness.images.kind_node import build_node_image
    from harness.images.webhook_image import ensure_webhook_image

    config = ToolchainConfig.from_env()
    version = resolve_version(args.version, config)
    with progress_display(f"kind node image {version}", quiet=args.quiet) as progress:
        image = build_node_image(version, config=config, progress=progress, rebuild=args.rebuild)
        started = time.monotonic()
        webhook = ensure_webhook_image(progress)
        webhook_seconds = time.monotonic() - started
    print(image.reference)
    if not args.quiet:
        verb = "built" if image.built else "found"
        stderr_console.print(
            f"{verb} {image.reference} in {image.seconds:.0f}s; preloaded: {', '.join(image.preloaded)}"
        )
        stderr_console.print(f"in-cluster webhook image {webhook} ({webhook_seconds:.0f}s), loaded at cluster creation")
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    from harness import gc

    removed = gc.collect(everything=args.all, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for item in removed:
        print(f"{verb} {item.what}: {item.reason}")
    if not removed and not args.quiet:
        print("nothing to collect")
    return 0


# -- matrices and runs ------------------------------------------------------------------


def cmd_matrix_show(args: argparse.Namespace) -> int:
    from harness.matrix import show
    from harness.toolchain.goproxy import published_versions

    print(show(resolve_matrix_argument(args.file), published_versions()))
    return 0


def run_pytest_on_matrix(
    matrix: str,
    *,
    report: str,
    cell: str | None,
    provider: str | None,
    workers: int,
    keep: bool,
    extra: list[str],
    until: str | None = None,
    terminal: bool = True,
) -> int:
    """Run a matrix as pytest items; map pytest's exit status to the harness's exit codes."""
    from pathlib import Path

    import pytest

    from harness.matrix import load_matrix
    from harness.toolchain.goproxy import published_versions

    matrix = str(resolve_matrix_argument(matrix))  # `matrices/smoke.yaml` from any directory
    loaded = load_matrix(Path(matrix), published_versions())  # bad input: exit 2 with file/line before pytest
    if loaded.allowlist is not None:
        from harness.allowlist import load_allowlist

        load_allowlist(loaded.allowlist)
    report_dir = Path(report)
    report_dir.mkdir(parents=True, exist_ok=True)
    args = [
        matrix,
        f"--matrix={matrix}",
        f"--report-dir={report_dir}",
        f"--junitxml={report_dir / 'junit.xml'}",
        f"--alluredir={report_dir / 'allure-results'}",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "-o",
        "junit_family=xunit2",
    ]
    # The gate prints its own verdict; pytest's progress and summary would bury it.
    args += ["-rfEs", "--tb=line", "-q"] if terminal else ["-p", "no:terminal"]
    if cell:
        args.append(f"--cell={cell}")
    if provider:
        args.append(f"--provider={provider}")
    if keep:
        args.append("--keep-clusters")
    if until:
        args.append(f"--until={until}")
    if workers > 1:
        args += ["-n", str(workers), "--dist", "loadgroup"]
    status = int(pytest.main([*args, *extra]))
    if status == 0 and _nothing_ran(report_dir):
        print("spin-harness: nothing ran: every cell was skipped (the reasons are listed above)", file=sys.stderr)
        return 2
    if status in (0, 1):
        return status
    return 2


def _nothing_ran(report_dir: pathlib.Path) -> bool:
    """The run's summary says no item passed or failed (every cell skipped, e.g. no provider here)."""
    try:
        return bool(json.loads((report_dir / "summary.json").read_text()).get("verdict") == "empty")
    except (OSError, ValueError):
        return False


def cmd_matrix_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.ci.export import export_pipeline
    from harness.matrix import load_matrix
    from harness.toolchain.goproxy import published_versions

    matrix = load_matrix(resolve_matrix_argument(args.file), published_versions())
    text = export_pipeline(matrix, args.file, args.format)
    if args.out:
        Path(args.out).write_text(text)
        print(args.out)
    else:
        print(text, end="")
    return 0


def cmd_report_merge(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.report.merge import merge_reports

    out = merge_reports([Path(d) for d in args.directories], Path(args.out))
    print(out / "index.html")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.workloads.export import export_workloads

    namespaces = args.namespaces.split(",") if args.namespaces else None
    index = export_workloads(Path(args.kubeconfig), Path(args.out), namespaces=namespaces, context=args.context)
    total = sum(len(entries) for entries in index.namespaces.values())
    print(f"exported {total} manifests from {len(index.namespaces)} namespace(s) to {args.out}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.workloads.replay import apply_manifests, load_manifests

    results = apply_manifests(Path(args.kubeconfig), load_manifests(Path(args.directory)), dry_run=args.dry_run)
    failed = [r for r in results if not r.ok]
    for result in failed:
        print(f"REJECTED {result.manifest.label} ({result.manifest.source}): {result.message}")
    print(
        f"{len(results) - len(failed)} applied, {len(failed)} rejected"
        + (" (server-side dry-run)" if args.dry_run else "")
    )
    return 1 if failed else 0


def cmd_report_html(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.errors import InputError
    from harness.report.html import write_html

    directory = Path(args.directory)
    if not (directory / "summary.json").is_file():
        raise InputError(f"{directory}: no summary.json here", hint="give the --report directory of a run")
    print(write_html(directory))
    return 0


def cmd_repro(args: argparse.Namespace) -> int:
    """Re-run exactly one cell, keep its cluster, and print how to reach it."""
    import json
    import tempfile
    from pathlib import Path

    from harness.errors import InputError
    from harness.matrix import parse_cell_id

    key = parse_cell_id(args.cell_id)
    matrix = args.matrix
    if matrix is None:
        if key.steps:
            raise InputError(f"{args.cell_id}: platform steps need the matrix file", hint="pass --matrix FILE")
        hops = ", ".join(f'"{v}"' for v in key.versions)
        matrix = str(Path(tempfile.mkdtemp(prefix="spin-repro-")) / "repro.yaml")
        Path(matrix).write_text(
            f"name: repro\nproviders: [{key.provider}]\npaths:\n  - hops: [{hops}]\n"
            + (f"    nodes_lag: {key.nodes_lag}\n" if key.nodes_lag else "")
        )
    status = run_pytest_on_matrix(
        matrix,
        report=args.report,
        cell=key.id,
        provider=None,
        workers=1,
        keep=not args.no_keep,
        extra=[],
        until=args.until,
    )
    summary = Path(args.report) / "summary.json"
    if summary.is_file():
        for cell in json.loads(summary.read_text()).get("cells", []):
            if cell.get("kubeconfig"):
                print(cell["kubeconfig"])
    return status


def cmd_gate(args: argparse.Namespace) -> int:
    """Production-to-candidate gate: one command, a verdict on screen and in Markdown, an exit code."""
    import json
    import tempfile
    from pathlib import Path

    from harness.errors import InputError
    from harness.report.verdict import render_verdict

    config = ToolchainConfig.from_env()
    source = resolve_version(args.source, config, field="--from")
    target = resolve_version(args.target, config, field="--to")
    work = Path(tempfile.mkdtemp(prefix="spin-gate-"))
    lines = ["name: gate", f"providers: [{args.provider}]", "paths:", f'  - from: "{source}"', f'    to: "{target}"']
    includes = [s.strip() for s in args.scenarios.split(",")] if args.scenarios else ["*"]
    lines += ["scenarios:", f"  include: {json.dumps(includes)}"]
    if args.workloads:
        lines.append("workloads:")
        for index, directory in enumerate(args.workloads):
            if not Path(directory).is_dir():
                raise InputError(f"--workloads: {directory} is not a directory", hint="give an export directory")
            link = work / f"workloads-{index}"
            link.symlink_to(Path(directory).resolve())
            lines.append(f"  - {link.name}")
    if args.component:
        lines += ["platform:", "  components:"]
        steps = []
        for spec in args.component:
            name, _, versions = spec.partition("=")
            old, _, new = versions.partition(":")
            if not (name and old and new):
                raise InputError(f"--component: {spec!r} is not NAME=FROM:TO", hint="e.g. platform-crd=v1:v2")
            lines.append(f'    {name}: {{versions: ["{old}", "{new}"]}}')
            steps.append(f'    - {{at_hop: 1, component: {name}, to: "{new}", with_kubernetes: true}}')
        lines += ["  steps:", *steps]
    lines += ["probes:", "  budget:", f"    api_max_outage_seconds: {args.max_outage}"]
    lines += [f"    webhook_max_outage_seconds: {args.max_outage}", "    min_availability: 0.05"]
    matrix = work / "gate.yaml"
    matrix.write_text("\n".join(lines) + "\n")
    status = run_pytest_on_matrix(
        str(matrix), report=args.report, cell=None, provider=None, workers=1, keep=False, extra=[], terminal=False
    )
    summary_path = Path(args.report) / "summary.json"
    if not summary_path.is_file():
        return 2
    summary = json.loads(summary_path.read_text())
    (Path(args.report) / "verdict.md").write_text(render_verdict(summary, markdown=True))
    print(render_verdict(summary))
    print(f"report: {Path(args.report) / 'index.html'}  verdict: {Path(args.report) / 'verdict.md'}")
    return status


def cmd_run(args: argparse.Namespace) -> int:
    from harness.run.faults import Fault

    for spec in args.inject_fault:
        Fault.parse(spec)  # bad input: exit 2 before anything starts
    return run_pytest_on_matrix(
        args.matrix,
        report=args.report,
        cell=args.cell,
        provider=args.provider,
        workers=args.workers,
        keep=args.keep_clusters,
        extra=[*(f"--inject-fault={spec}" for spec in args.inject_fault), *args.pytest_args],
    )


# -- parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spin-harness",
        description="Upgrade and integration testing for multi-tenant Kubernetes platforms.",
    )
    parser.add_argument("--version", action="version", version=f"spin-harness {__version__}")
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=quiet_by_default(),
        help="no progress output (also SPIN_HARNESS_QUIET=1)",
    )
    top = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    toolchain = top.add_parser("toolchain", help="build, fetch and list Kubernetes binaries").add_subparsers(
        dest="toolchain_command", required=True, metavar="ACTION"
    )
    p = toolchain.add_parser("ensure", help="make the binaries for a version present and verified")
    p.add_argument("version", help="v1.36.3, or 1.36 for its newest patch")
    p.add_argument("--components", help="comma-separated, default: everything a local cluster needs")
    p.add_argument("--source", help="comma-separated source order: dir,build,release")
    p.set_defaults(handler=cmd_toolchain_ensure)
    p = toolchain.add_parser("list", help="list cached binaries with their checksums")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_toolchain_list)
    p = toolchain.add_parser("versions", help="Kubernetes versions published on the Go module proxy")
    p.add_argument("--newest", type=int, metavar="N", help="only the newest patch of the N newest minors")
    p.set_defaults(handler=cmd_toolchain_versions)

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

    images = top.add_parser("images", help="build node images offline").add_subparsers(
        dest="images_command", required=True, metavar="ACTION"
    )
    p = images.add_parser("build", help="build (or find) the node image of a version")
    p.add_argument("--provider", default="kind", choices=["kind"])
    p.add_argument("--version", required=True, help="v1.36.3, or 1.36 for its newest patch")
    p.add_argument("--rebuild", action="store_true", help="build even when an image of the same inputs exists")
    p.set_defaults(handler=cmd_images_build)

    matrix = top.add_parser("matrix", help="inspect upgrade-path matrices").add_subparsers(
        dest="matrix_command", required=True, metavar="ACTION"
    )
    p = matrix.add_parser("show", help="print the cells a matrix expands to")
    p.add_argument("file")
    p.set_defaults(handler=cmd_matrix_show)
    p = matrix.add_parser("export", help="write a CI pipeline with one job per cell")
    p.add_argument("file")
    p.add_argument("--format", required=True, choices=["github", "gitlab"])
    p.add_argument("--out", help="write here instead of stdout")
    p.set_defaults(handler=cmd_matrix_export)

    p = top.add_parser("run", help="run a matrix: every cell, scenario and hop; exit 1 on breaking findings")
    p.add_argument("matrix")
    p.add_argument("--report", default="reports/latest", help="report directory (default reports/latest)")
    p.add_argument("--cell", help="run only this cell id")
    p.add_argument("--provider", help="run only this provider's cells")
    p.add_argument("-n", "--workers", type=int, default=1, help="cells in parallel (pytest-xdist)")
    p.add_argument("--keep-clusters", action="store_true", help="keep each cell's cluster and print KUBECONFIG")
    p.add_argument(
        "--inject-fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="kill|stop:COMPONENT:SECONDS[@CELL-GLOB] during every hop (repeatable)",
    )
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments after --")
    p.set_defaults(handler=cmd_run)

    p = top.add_parser("gate", help="pre-upgrade gate: replay workloads, walk --from to --to, print a verdict")
    p.add_argument("--from", dest="source", required=True, help="production version")
    p.add_argument("--to", dest="target", required=True, help="candidate version")
    p.add_argument("--workloads", action="append", help="an export directory (repeatable)")
    p.add_argument("--scenarios", help="comma-separated scenario names or globs (default: all)")
    p.add_argument("--component", action="append", help="platform component moved with the upgrade: NAME=FROM:TO")
    p.add_argument("--provider", default="local")
    p.add_argument("--max-outage", type=float, default=15.0, help="API outage budget per hop, seconds")
    p.add_argument("--report", default="reports/gate")
    p.set_defaults(handler=cmd_gate)

    p = top.add_parser("export", help="capture tenant workloads from a live cluster as clean manifests")
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--context")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--namespaces", help="comma-separated namespaces")
    who.add_argument("--all-tenants", action="store_true", help="every tenant namespace (the default)")
    p.add_argument("--out", required=True, help="a new directory")
    p.set_defaults(handler=cmd_export)

    p = top.add_parser("replay", help="apply an export (or any manifests) to a cluster in dependency order")
    p.add_argument("directory")
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--dry-run", action="store_true", help="server-side dry-run: report what the server rejects")
    p.set_defaults(handler=cmd_replay)

    p = top.add_parser("repro", help="re-run one cell, keep its cluster, print its KUBECONFIG")
    p.add_argument("cell_id", help="the cell id, as in reports: local:v1.36.3>v1.37.2")
    p.add_argument("--matrix", help="the matrix the cell came from (for its scenarios and budget)")
    p.add_argument("--until", help="stop after this phase: create, setup, verify@VERSION, hop@VERSION ...")
    p.add_argument("--report", default="reports/repro", help="report directory (default reports/repro)")
    p.add_argument("--no-keep", action="store_true", help="remove the cluster at the end after all")
    p.set_defaults(handler=cmd_repro)

    report = top.add_parser("report", help="build reports from a run's summary.json").add_subparsers(
        dest="report_command", required=True, metavar="ACTION"
    )
    p = report.add_parser("html", help="(re)build index.html in a report directory")
    p.add_argument("directory")
    p.set_defaults(handler=cmd_report_html)
    p = report.add_parser("merge", help="merge per-cell report directories into one report")
    p.add_argument("directories", nargs="+")
    p.add_argument("--out", required=True)
    p.set_defaults(handler=cmd_report_merge)

    p = top.add_parser("gc", help="remove clusters whose owner is gone, and stray processes")
    p.add_argument("--all", action="store_true", help="remove every cluster, kept ones too")
    p.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    p.set_defaults(handler=cmd_gc)
    return parser


def _terminate_cleanly(signum: int, _frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so every cleanup (half-made clusters, probes) runs."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate_cleanly)
    handler: Handler = args.handler
    try:
        return handler(args)
    except HarnessError as exc:
        fix = f" (fix: {exc.hint})" if exc.hint else ""
        print(f"spin-harness: error: {exc.message}{fix}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("spin-harness: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
