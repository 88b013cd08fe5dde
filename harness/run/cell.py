"""One cell's life: create, scenario setup and verify, each hop under probes, detectors, teardown.

The order follows the upstream upgrade tests (Setup / Test during the upgrade / Teardown) and
Cluster API's upgrade specs (explicit, named phases; artifacts collected whatever happened).
``CellRun`` owns the cluster; the pytest items of a cell call its methods in order, and every
method records what it did, so the summary can be built from the record alone. Detectors are
run from ``harness.detectors.registry`` in a loop: the cell knows none of them by name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.allowlist import AllowList
from harness.detectors import disruption
from harness.detectors.attribution import Attribution, requests_to
from harness.detectors.base import HopContext, SnapshotContext
from harness.detectors.registry import detector
from harness.detectors.tenancy_snapshot import read_tenancy
from harness.errors import ClusterError, HarnessError
from harness.findings import Finding, most_severe_per_subject
from harness.kube.api_warnings import WarningLog, recording
from harness.kube.client import api_client
from harness.kube.waits import wait_until
from harness.matrix import Cell, Hop, ProbeBudget
from harness.platform_layer import install
from harness.progress import ProgressFn, no_progress
from harness.providers import Cluster, ClusterProvider
from harness.providers.common.logs import log_tail
from harness.releasenotes.hop import hop_notes, unavailable
from harness.run.artifacts import artifact_dir_name, collect_artifacts
from harness.run.detector_snapshots import snapshots_before, timed_snapshot
from harness.run.faults import Fault, FaultTimer
from harness.run.hop_record import HopRecord
from harness.run.readiness import ready_probe, readyz_check
from harness.run.scenario_driver import DuringHandle, ScenarioDriver
from harness.run.scratch import ScratchCluster, lending, start_early
from harness.run.teardowns import Teardowns
from harness.upgrade.playbook import run_playbook
from harness.versions import KubeVersion
from harness.workloads.manifest import WorkloadInput, WorkloadSet
from harness.workloads.read import read_workloads
from harness.workloads.replay import ApplyResult, Manifest, apply_manifests, ordered

if TYPE_CHECKING:
    from kubernetes import client

    from harness.scenarios.results import PhaseResult


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
        workloads: tuple[WorkloadInput, ...] = (),
        allowlist: AllowList | None = None,
        faults: Sequence[Fault] = (),
        progress: ProgressFn = no_progress,
        scratch_provider: ClusterProvider | None = None,
    ) -> None:
        """``scratch_provider`` starts the dry-run's scratch clusters early (``harness.run.scratch``)."""
        self.cell = cell
        #: Steps inside the cell's items (the items themselves are reported by the run).
        self.progress = progress
        self.provider = provider
        self.scenarios = list(scenarios)
        self.budget = budget
        self.artifacts = artifacts
        self.keep = keep
        self.components = dict(components)
        self.workloads = list(workloads)
        self._workload_set: WorkloadSet | None = None
        self.allowlist = allowlist
        self.faults = [f for f in faults if f.applies_to(cell.id)]
        self.platform_versions = {name: versions[0] for name, versions in components}
        self.cluster: Cluster | None = None
        self.broken: str | None = None  # why later items cannot run
        self.artifacts_collected = False
        self.hops: list[HopRecord] = []
        self.timings: dict[str, float] = {}
        self._timings_lock = threading.Lock()
        self.scratch_provider = scratch_provider
        self._scratch: ScratchCluster | None = None
        #: Each detector's snapshot before the current hop, by detector name.
        self._before: dict[str, Any] | None = None
        self._hop: Hop | None = None
        self._during: dict[str, DuringHandle] = {}
        self.teardowns = Teardowns(self.scenarios, self.scenario_phase)  # started by the first teardown item
        #: The apiserver's warnings about tenant objects, from every version (``api-warning``).
        self.api_warnings = WarningLog()

    # -- phases -------------------------------------------------------------------------

    def _timed(self, name: str, action: Callable[[], Any]) -> Any:
        started = time.monotonic()
        try:
            return action()
        finally:
            self._add_time(name, time.monotonic() - started)

    def _add_time(self, name: str, seconds: float) -> None:
        with self._timings_lock:  # detectors snapshotting side by side add to theirs at once
            self.timings[name] = round(self.timings.get(name, 0.0) + seconds, 2)

    def create(self) -> Cluster:
        name = cluster_name(self.cell.id)
        version = self.cell.path.start
        self.cluster = self._timed(
            f"create@{version}", lambda: self.provider.create(name, version, nodes=2, keep=self.keep)
        )
        # The provider's own breakdown (kind: create, pod network, ready, images...), for the report.
        for title, seconds in getattr(getattr(self.provider, "last_timings", None), "steps", []):
            self.timings[f"create@{version}: {title}"] = round(seconds, 2)
        cluster_defaults = self.provider.scenario_defaults(self.cluster)
        for driver in self.scenarios:
            driver.set_params(cluster_defaults)
        for component, component_version in self.platform_versions.items():
            self.install_component(component, component_version)
        if self.scratch_provider is not None:  # the dry-run's scratch cluster, started beside the cell's work
            name, manifests = cluster_name(self.cell.id + "#dry-run"), self.workload_manifests
            self._scratch = start_early(self.cell, self.scratch_provider, name, manifests, self._add_time)
        return self.cluster

    def install_component(self, component: str, version: str) -> None:
        cluster = self.require_cluster()
        self.progress(f"platform component {component} at {version}")
        self._timed(f"platform {component}@{version}", lambda: install(cluster.kubeconfig, component, version))

    def workload_set(self) -> WorkloadSet:
        """The matrix's workload inputs, read once (charts rendered once) per cell."""
        if self._workload_set is None:
            self._workload_set = read_workloads(self.workloads)
        return self._workload_set

    def workload_manifests(self) -> list[Manifest]:
        return ordered(self.workload_set().manifests)

    def replay_workloads(self) -> list[ApplyResult]:
        """Apply the matrix's workload exports for real.

        A manifest the cluster rejects does not fail the item: the source version rejecting it
        is no break of the upgrade's, and ``dry-run-rejected`` reports it at every hop as
        "already rejected at the source", naming the manifest (a warning, never breaking).
        """
        cluster = self.require_cluster()
        manifests = self.workload_manifests()
        self.progress(f"applying {len(manifests)} workload manifest(s)")
        with recording(self.api_warnings, version=cluster.version, action="replay"):
            results: list[ApplyResult] = self._timed(
                "workloads", lambda: apply_manifests(cluster.kubeconfig, manifests)
            )
        return results

    def api_users(self) -> dict[str, list[str]]:
        """apiVersion -> the tenant manifests (workload files) that use it."""
        users: dict[str, list[str]] = {}
        for manifest in self.workload_manifests():
            users.setdefault(str(manifest.body.get("apiVersion")), []).append(manifest.where)
        return users

    def harness_users(self) -> dict[str, list[str]]:
        """apiVersion -> the scenarios whose manifests use it (the harness's, never a tenant's)."""
        users: dict[str, list[str]] = {}
        for scenario in self.scenarios:
            for body in scenario.manifests():
                users.setdefault(str(body.get("apiVersion")), []).append(f"scenario {scenario.name}")
        return users

    def tenant_objects(self) -> list[tuple[str, dict[str, Any]]]:
        """(label, body) of every manifest the workloads and scenarios apply: what tenants use."""
        objects = [(f"{m.label} ({m.source})", m.body) for m in self.workload_manifests()]
        for scenario in self.scenarios:
            for body in scenario.manifests():
                meta = body.get("metadata") or {}
                objects.append((f"scenario {scenario.name}: {body.get('kind')} {meta.get('name', '')}", body))
        return objects

    def release_notes(self, record: HopRecord) -> dict[str, Any]:
        """The notes of the releases the hop crosses that mention what the tenants use.

        Information only: whatever goes wrong here is reported as the notes being unavailable,
        never as the hop failing.
        """
        source = KubeVersion.parse(record.from_version.split("+")[0])
        try:
            return self._timed(  # type: ignore[no-any-return]
                "release notes", lambda: hop_notes(record.label, source, record.target, self.tenant_objects())
            )
        except Exception as exc:  # info must not change the verdict; the reason is shown instead
            return unavailable(record.label, f"{type(exc).__name__}: {exc}")

    def requests_to(self, apis: Sequence[str]) -> dict[str, Attribution]:
        """Who requested ``apis`` on the cell's cluster, per its audit log: tenants or others."""
        cluster = self.require_cluster()
        with contextlib.closing(api_client(cluster.kubeconfig)) as api:
            tenancy = read_tenancy(api, self.workload_manifests())
        return requests_to(apis, cluster.audit_log, tenancy)

    def require_cluster(self) -> Cluster:
        if self.cluster is None:
            raise HarnessError(self.broken or "the cell's cluster was not created")
        return self.cluster

    def scenario_phase(self, scenario: ScenarioDriver, phase: str, version: str) -> PhaseResult | None:
        cluster = self.require_cluster()
        with recording(self.api_warnings, version=cluster.version, action=f"scenario {scenario.name} {phase}"):
            return self._timed(  # type: ignore[no-any-return]
                f"{scenario.name}:{phase}@{version}", lambda: scenario.run_phase(phase, cluster.kubeconfig, version)
            )

    def _snapshot_context(
        self, api: client.ApiClient, version: str, *, after_hop: bool = False, before: Any = None
    ) -> SnapshotContext:
        cluster, hop = self.require_cluster(), self._hop
        if hop is None:
            raise HarnessError("no hop has started")
        platform_after = dict(self.platform_versions)
        platform_after.update({m.component: m.to_version for m in hop.platform})
        provider = self.provider if self._scratch is None else lending(self.provider, self._scratch)
        return SnapshotContext(
            cluster=cluster,
            api=api,
            version=version,
            target=hop.control_plane,
            upgrade=hop.kind == "upgrade",
            provider=provider,
            scratch_name=cluster_name(self.cell.id + "#dry-run"),
            platform_after=platform_after,
            workloads=self.workload_manifests,
            timed=self._timed,
            api_warnings=self.api_warnings,
            after_hop=after_hop,
            before=before,
            settle_seconds=self.budget.workload_settle_seconds,
        )

    def snapshot_before(self, version: str) -> dict[str, Any]:
        """Every detector's snapshot of the cluster before the hop (``harness.run.detector_snapshots``)."""
        with contextlib.closing(api_client(self.require_cluster().kubeconfig)) as api:
            return snapshots_before(self._snapshot_context(api, version), self.progress)

    def hop(self, hop: Hop) -> HopRecord:
        """Upgrade to ``hop.control_plane`` through the playbook (and move platform components),
        probing the API and scenarios throughout."""
        cluster = self.require_cluster()
        record = HopRecord(hop.index, str(cluster.version), str(hop.control_plane))
        if hop.platform:
            record.to_version += "".join(f"+{m.component}@{m.to_version}" for m in hop.platform)
        self.hops.append(record)
        self._hop = hop
        self._before = None
        self._before = self.snapshot_before(record.from_version)
        if hop.kind == "upgrade":
            record.release_notes = self.release_notes(record)
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
                self.progress(f"hop {hop.index}: playbook upgrade.yml to {hop.control_plane}")
                try:
                    record.playbook = run_playbook(
                        "upgrade.yml",
                        {"cluster": cluster.name, "to_version": str(hop.control_plane), "provider": cluster.provider},
                        progress=self.progress,
                    )
                except ClusterError as exc:
                    record.playbook = getattr(exc, "playbook", None)
                    raise
            for move in hop.platform:
                self.progress(f"hop {hop.index}: platform component {move.component} to {move.to_version}")
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
        wait_until("kube-apiserver /readyz after the hop", ready_probe(cluster.kubeconfig), timeout=30)
        return status

    def during_result(self, scenario: ScenarioDriver) -> tuple[list[disruption.Timeline], PhaseResult | None]:
        """Stop the scenario's probes of the last hop: their timelines (kept on the hop record for
        the detectors) and which ``during`` steps probed or were skipped."""
        handle = self._during.pop(scenario.name, None)
        if handle is None:
            return [], None
        timelines = handle.stop()
        if self.hops:
            self.hops[-1].timelines.extend(timelines)
        return timelines, handle.result()

    def detect(self, name: str) -> list[Finding]:
        """Run one detector over the last hop; its findings are kept on the hop record."""
        hop = self.hops[-1]
        if self._before is None:
            raise HarnessError("no snapshot was taken before the hop")
        chosen = detector(name)
        after = None
        if chosen.reads_after:
            self.progress(f"after the hop: detector {name} reads the cluster")
            with contextlib.closing(api_client(self.require_cluster().kubeconfig)) as api:
                ctx = self._snapshot_context(api, hop.to_version, after_hop=True, before=self._before[name])
                after = timed_snapshot(chosen, ctx, "after")
        context = HopContext(
            hop.label,
            hop.target,
            self.budget,
            hop.timelines,
            api_users=self.api_users,
            harness_users=self.harness_users,
            requests_to=self.requests_to,
        )
        found = chosen.compare(self._before[name], after, context)
        if self.allowlist is not None:
            found = self.allowlist.apply(found)
        found = most_severe_per_subject(found)
        hop.findings.extend(found)
        return found

    def collect_artifacts(self, reason: str) -> Path | None:
        """Copy the cluster's logs and dump its tenant objects into the cell's artifact folder."""
        if self.cluster is None:
            return None
        return collect_artifacts(self.cluster, self.artifacts / artifact_dir_name(self.cell.id), reason)

    def _stop_during(self) -> None:
        """Stop probes nobody collected (their hop failed, so the during items were skipped)."""
        for handle in self._during.values():
            handle.stop()
        self._during.clear()

    def finish(self) -> str | None:
        """Stop probes and services left, remove the clusters unless kept; the KUBECONFIG line if kept.

        The dry-run's early scratch cluster is waited for and removed whatever happened; if its
        creation failed and nobody asked for it, that error is raised once the cell's own
        cluster is removed (the delete item, or the session's cleanup report, shows it).
        """
        self._stop_during()
        if unfinished := self.teardowns.unfinished():  # the run stopped before their items
            self.progress(f"teardown of {', '.join(unfinished)} still running as the cell ends; not waited for")
        for scenario in self.scenarios:
            scenario.close()
        try:
            if self._scratch is not None:
                self._scratch.close()
        finally:
            if self.cluster is not None and not self.keep:
                self.provider.delete(self.cluster)
                self.cluster = None
        return f"export KUBECONFIG={self.cluster.kubeconfig}" if self.cluster is not None else None


def cluster_name(cell_id: str) -> str:
    """A short, valid, unique-enough cluster name for a cell (ids are long and have ':' '>')."""
    digest = hashlib.sha256(cell_id.encode()).hexdigest()[:8]
    provider = cell_id.split(":", 1)[0]
    return f"cell-{provider}-{digest}-{os.getpid() % 100000}"
