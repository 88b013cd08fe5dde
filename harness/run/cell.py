"""One cell's life: create, scenario setup and verify, each hop under probes, detectors, teardown.

The order follows the upstream upgrade tests (Setup / Test during the upgrade / Teardown) and
Cluster API's upgrade specs (explicit, named phases; artifacts collected whatever happened).
``CellRun`` owns the cluster; the pytest items of a cell call its methods in order, and every
method records what it did, so the summary can be built from the record alone.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from kubernetes import client

from harness.allowlist import AllowList
from harness.detectors import admission, deprecation, discovery, disruption, drift, rbac, schema
from harness.errors import ClusterError, HarnessError
from harness.findings import Finding, Severity, normalise
from harness.kube.client import api_client, get_raw
from harness.kube.waits import wait_until
from harness.matrix import Cell, Hop, ProbeBudget
from harness.platform_layer import install
from harness.providers import Cluster, ClusterProvider
from harness.providers.common.logs import log_tail
from harness.run.faults import Fault, FaultTimer
from harness.upgrade.playbook import PlaybookRun, run_playbook
from harness.versions import KubeVersion
from harness.workloads.replay import ApplyResult, Manifest, apply_manifests, load_manifests

if TYPE_CHECKING:
    from harness.scenarios.results import PhaseResult

DETECTORS = (
    "removed-api",
    "deprecated-api",
    "dry-run-rejected",
    "schema-change",
    "object-drift",
    "rbac-change",
    "admission-change",
    "disruption",
)


class DuringHandle(Protocol):
    def stop(self) -> list[disruption.Timeline]: ...


class ScenarioDriver(Protocol):
    """What a cell needs from a scenario: run a phase, and probe while a hop runs."""

    name: str

    def run_phase(self, phase: str, kubeconfig: Path, version: str) -> PhaseResult | None:
        """Run ``setup``/``verify``/``teardown``; raise on failure, skip when not applicable.

        The result carries every step's outcome (what ran, what was skipped and why) for the report.
        """
        ...

    def start_during(self, kubeconfig: Path, version: str) -> DuringHandle: ...

    def manifests(self) -> list[dict[str, Any]]:
        """The manifests the scenario applies (for removed-api and dry-run checks)."""
        ...

    def close(self) -> None:
        """Stop what the scenario runs beside the cluster (its services)."""
        ...

    def set_params(self, params: dict[str, Any]) -> None:
        """Parameters the cluster needs (its tenant image, where its ingress answers)."""
        ...


@dataclass
class HopRecord:
    index: int
    from_version: str
    to_version: str
    seconds: float = 0.0
    playbook: PlaybookRun | None = None
    timelines: list[disruption.Timeline] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.from_version}>{self.to_version}"


@dataclass
class Snapshots:
    discovery: discovery.Discovery
    drift: drift.Snapshot
    rbac: rbac.Table
    schemas: schema.SchemaSnapshot
    admission: admission.Table


class CellRun:
    """The state of one cell while its items run (all on one worker, in order)."""

    def __init__(
        self,
        cell: Cell,
        provider: ClusterProvider,
        scenarios: Sequence[ScenarioDriver],
        budget: ProbeBudget,
        artifacts: Path,
        *,
        keep: bool = False,
        components: tuple[tuple[str, tuple[str, ...]], ...] = (),
        workloads: tuple[Path, ...] = (),
        allowlist: AllowList | None = None,
        faults: Sequence[Fault] = (),
    ) -> None:
        self.cell = cell
        self.provider = provider
        self.scenarios = list(scenarios)
        self.budget = budget
        self.artifacts = artifacts
        self.keep = keep
        self.components = dict(components)
        self.workloads = list(workloads)
        self.allowlist = allowlist
        self.faults = [f for f in faults if f.applies_to(cell.id)]
        self.platform_versions = {name: versions[0] for name, versions in components}
        self.cluster: Cluster | None = None
        self.broken: str | None = None  # why later items cannot run
        self.artifacts_collected = False
        self.hops: list[HopRecord] = []
        self.timings: dict[str, float] = {}
        self._before: Snapshots | None = None
        self._after: Snapshots | None = None
        self._dry_run_findings: list[Finding] = []
        self._deprecated: deprecation.Usage = {}
        self._during: dict[str, DuringHandle] = {}

    # -- phases -------------------------------------------------------------------------

    def _timed(self, name: str, action: Callable[[], Any]) -> Any:
        started = time.monotonic()
        try:
            return action()
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.monotonic() - started, 2)

    def create(self) -> Cluster:
        name = cluster_name(self.cell.id)
        version = self.cell.path.start
        self.cluster = self._timed(
            f"create@{version}", lambda: self.provider.create(name, version, nodes=2, keep=self.keep)
        )
        cluster_defaults = self.provider.scenario_defaults(self.cluster)
        for driver in self.scenarios:
            driver.set_params(cluster_defaults)
        for component, component_version in self.platform_versions.items():
            self.install_component(component, component_version)
        return self.cluster

    def install_component(self, component: str, version: str) -> None:
        cluster = self.require_cluster()
        self._timed(f"platform {component}@{version}", lambda: install(cluster.kubeconfig, component, version))

    def workload_manifests(self) -> list[Manifest]:
        return [m for directory in self.workloads for m in load_manifests(directory)]

    def replay_workloads(self) -> list[ApplyResult]:
        """Apply the matrix's workload exports for real; every rejection is reported."""
        cluster = self.require_cluster()
        results: list[ApplyResult] = self._timed(
            "workloads", lambda: apply_manifests(cluster.kubeconfig, self.workload_manifests())
        )
        failed = [r for r in results if not r.ok]
        if failed:
            raise AssertionError(
                "workloads rejected:\n"
                + "\n".join(f"- {r.manifest.label} ({r.manifest.source}): {r.message}" for r in failed)
            )
        return results

    def api_users(self) -> dict[str, list[str]]:
        """apiVersion -> the manifests (files) that use it, from workloads and scenarios."""
        users: dict[str, list[str]] = {}
        for manifest in self.workload_manifests():
            users.setdefault(str(manifest.body.get("apiVersion")), []).append(str(manifest.source))
        for scenario in self.scenarios:
            for body in scenario.manifests():
                users.setdefault(str(body.get("apiVersion")), []).append(f"scenario {scenario.name}")
        return users

    def require_cluster(self) -> Cluster:
        if self.cluster is None:
            raise HarnessError(self.broken or "the cell's cluster was not created")
        return self.cluster

    def scenario_phase(self, scenario: ScenarioDriver, phase: str, version: str) -> PhaseResult | None:
        cluster = self.require_cluster()
        return self._timed(  # type: ignore[no-any-return]
            f"{scenario.name}:{phase}@{version}", lambda: scenario.run_phase(phase, cluster.kubeconfig, version)
        )

    def snapshot(self) -> Snapshots:
        cluster = self.require_cluster()
        with contextlib.closing(api_client(cluster.kubeconfig)) as api:
            return Snapshots(
                discovery.snapshot(api),
                drift.snapshot(api),
                rbac.snapshot(api),
                schema.snapshot(api),
                admission.snapshot(api),
            )

    def hop(self, hop: Hop) -> HopRecord:
        """Upgrade to ``hop.control_plane`` through the playbook (and move platform components),
        probing the API and scenarios throughout."""
        cluster = self.require_cluster()
        record = HopRecord(hop.index, str(cluster.version), str(hop.control_plane))
        if hop.platform:
            record.to_version += "".join(f"+{m.component}@{m.to_version}" for m in hop.platform)
        self.hops.append(record)
        self._before = self._timed(f"snapshot@{record.from_version}", self.snapshot)
        self._after = None
        self._deprecated = self._deprecated_usage(cluster)
        self._dry_run_findings = self._timed(f"dry-run@{hop.control_plane}", lambda: self.dry_run_on_target(hop))
        api_probe = disruption.Probe("kube-apiserver", readyz_check(cluster.kubeconfig)).start()
        self._during = {}
        try:
            for scenario in self.scenarios:
                self._during[scenario.name] = scenario.start_during(cluster.kubeconfig, record.to_version)
        except BaseException:
            api_probe.stop()
            self._stop_during()
            raise
        started = time.monotonic()
        injector = FaultTimer(cluster.name, self.faults).start() if self.faults else None
        try:
            if hop.kind == "upgrade":
                try:
                    record.playbook = run_playbook(
                        "upgrade.yml",
                        {"cluster": cluster.name, "to_version": str(hop.control_plane), "provider": cluster.provider},
                    )
                except ClusterError as exc:
                    record.playbook = getattr(exc, "playbook", None)
                    raise
            for move in hop.platform:
                install(cluster.kubeconfig, move.component, move.to_version)
                self.platform_versions[move.component] = move.to_version
        finally:
            if injector is not None:
                record.faults = injector.stop()
            record.seconds = time.monotonic() - started
            self.timings[f"hop@{record.to_version}"] = round(record.seconds, 2)
            record.timelines.append(api_probe.stop())
        self.cluster = self.provider.get(cluster.name)
        return record

    def health(self) -> dict[str, bool]:
        """Every component of the cluster is running and the API is ready; else ClusterError."""
        cluster = self.require_cluster()
        status = self.provider.status(cluster)
        dead = [name for name, up in status.items() if not up]
        if dead:
            logs = "\n".join(f"{name}:\n{log_tail(cluster.logs[name])}" for name in dead if name in cluster.logs)
            raise ClusterError(f"{', '.join(dead)} is not running after the hop\n{logs}")
        wait_until("kube-apiserver /readyz after the hop", _ready_probe(cluster.kubeconfig), timeout=30)
        return status

    def during_result(self, scenario: ScenarioDriver) -> list[disruption.Timeline]:
        handle = self._during.pop(scenario.name, None)
        if handle is None:
            return []
        timelines = handle.stop()
        if self.hops:
            self.hops[-1].timelines.extend(timelines)
        return timelines

    def detect(self, detector: str) -> list[Finding]:
        """Run one detector over the last hop; its findings are kept on the hop record."""
        hop = self.hops[-1]
        if self._before is None:
            raise HarnessError("no snapshot was taken before the hop")
        found: list[Finding]
        if detector == "dry-run-rejected":
            found = list(self._dry_run_findings)
        elif detector == "deprecated-api":
            target = KubeVersion.parse(hop.to_version.split("+")[0])
            found = deprecation.compare(self._deprecated, hop.label, target)
        elif detector == "disruption":
            budgets = {
                "api": disruption.Budget(self.budget.api_max_outage_seconds, self.budget.min_availability),
                "webhook": disruption.Budget(self.budget.webhook_max_outage_seconds, self.budget.min_availability),
                "ingress": disruption.Budget(self.budget.ingress_max_outage_seconds, self.budget.min_availability),
            }
            found = disruption.judge(hop.timelines, budgets, hop.label)
        else:
            if self._after is None:
                self._after = self._timed(f"snapshot@{hop.to_version}", self.snapshot)
            after = self._after
            if detector == "removed-api":
                found = discovery.compare(self._before.discovery, after.discovery, hop.label, users=self.api_users())
            elif detector == "object-drift":
                found = drift.compare(self._before.drift, after.drift, hop.label)
            elif detector == "rbac-change":
                found = rbac.compare(self._before.rbac, after.rbac, hop.label)
            elif detector == "admission-change":
                found = admission.compare(self._before.admission, after.admission, hop.label)
            elif detector == "schema-change":
                found = schema.compare(
                    self._before.schemas.schemas,
                    after.schemas.schemas,
                    hop.label,
                    objects=self._before.schemas.objects,
                )
            else:
                raise HarnessError(f"unknown detector {detector}")
        if self.allowlist is not None:
            found = self.allowlist.apply(found)
        found = normalise(found)
        hop.findings.extend(found)
        return found

    def _deprecated_usage(self, cluster: Cluster) -> deprecation.Usage:
        """Deprecated APIs requested so far: the apiserver's metric plus the audit log's annotations."""
        with contextlib.closing(api_client(cluster.kubeconfig)) as api:
            usage = deprecation.from_metrics(api)
        usage.update(deprecation.from_audit_log(cluster.audit_log))
        return usage

    def dry_run_on_target(self, hop: Hop) -> list[Finding]:
        """Submit every workload manifest with server-side dry-run to a scratch cluster at the target.

        The cell's own cluster is upgraded in place, so "would the target accept this?" is asked
        of a throwaway cluster at the target version, with the platform components the hop
        leaves behind installed (their CRDs must exist for custom resources to be checked).
        """
        manifests = self.workload_manifests()
        if not manifests or hop.kind != "upgrade":
            return []
        label = f"{self.require_cluster().version}>{hop.control_plane}"
        versions = dict(self.platform_versions)
        versions.update({m.component: m.to_version for m in hop.platform})
        scratch = self.provider.create(cluster_name(self.cell.id + "#dry-run"), hop.control_plane, nodes=1)
        try:
            for component, version in versions.items():
                install(scratch.kubeconfig, component, version)
            namespaces = [m for m in manifests if m.body.get("kind") == "Namespace"]
            apply_manifests(scratch.kubeconfig, namespaces)
            rest = [m for m in manifests if m.body.get("kind") != "Namespace"]
            results = apply_manifests(scratch.kubeconfig, rest, dry_run=True)
        finally:
            self.provider.delete(scratch)
        return [
            Finding(
                "dry-run-rejected",
                Severity.BREAKING,
                label,
                r.manifest.label,
                f"{hop.control_plane} rejects {r.manifest.label}: {r.message}",
                {"manifest": str(r.manifest.source), "server_message": r.message},
            )
            for r in results
            if not r.ok
        ]

    def collect_artifacts(self, reason: str) -> Path | None:
        """Copy component logs and the audit log, and dump tenant objects (Secrets redacted)."""
        if self.cluster is None:
            return None
        target = self.artifacts / artifact_dir_name(self.cell.id)
        target.mkdir(parents=True, exist_ok=True)
        (target / "reason.txt").write_text(reason + "\n")
        for name, log in self.cluster.logs.items():
            if log.is_file():
                shutil.copy2(log, target / f"{name}.log")
        if self.cluster.audit_log and self.cluster.audit_log.is_file():
            shutil.copy2(self.cluster.audit_log, target / "audit.log")
        with contextlib.suppress(Exception), contextlib.closing(api_client(self.cluster.kubeconfig)) as api:
            objects = drift.snapshot(api)  # already normalised and redacted
            (target / "tenant-objects.json").write_text(json.dumps(objects, indent=2, sort_keys=True, default=str))
            events = client.CoreV1Api(api).list_event_for_all_namespaces().items
            (target / "events.txt").write_text(
                "\n".join(
                    f"{e.last_timestamp} {e.involved_object.namespace}/{e.involved_object.kind}/"
                    f"{e.involved_object.name} {e.reason}: {e.message}"
                    for e in events
                )
            )
        return target

    def _stop_during(self) -> None:
        """Stop probes nobody collected (their hop failed, so the during items were skipped)."""
        for handle in self._during.values():
            handle.stop()
        self._during.clear()

    def finish(self) -> str | None:
        """Stop leftover probes and the scenarios' services, remove the cluster unless kept;
        return the KUBECONFIG line when kept."""
        self._stop_during()
        for scenario in self.scenarios:
            scenario.close()
        if self.cluster is None:
            return None
        if self.keep:
            return f"export KUBECONFIG={self.cluster.kubeconfig}"
        self.provider.delete(self.cluster)
        self.cluster = None
        return None


def _ready_probe(kubeconfig: Path) -> Callable[[], tuple[bool, str]]:
    check = readyz_check(kubeconfig)

    def probe() -> tuple[bool, str]:
        check()
        return True, "ready"

    return probe


def readyz_check(kubeconfig: Path) -> Callable[[], None]:
    """A probe check: ``/readyz`` answers 200 within a second, on a fresh connection each time."""

    def check() -> None:
        with contextlib.closing(api_client(kubeconfig, retries=0)) as api:
            status, _body = get_raw(api, "/readyz", timeout=1.0)
        if status != 200:
            raise RuntimeError(f"/readyz {status}")

    return check


def cluster_name(cell_id: str) -> str:
    """A short, valid, unique-enough cluster name for a cell (ids are long and have ':' '>')."""
    import hashlib
    import os

    digest = hashlib.sha256(cell_id.encode()).hexdigest()[:8]
    provider = cell_id.split(":", 1)[0]
    return f"cell-{provider}-{digest}-{os.getpid() % 100000}"


def artifact_dir_name(cell_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in cell_id)
