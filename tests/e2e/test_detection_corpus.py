"""The detection corpus is true: each case's manifests get, from real apiservers at both of its
versions, exactly the answers its ``case.yaml`` says (accepted or rejected, and which warnings).

``bench/detection.py`` scores the gate and pluto against these cases; this test is what makes
the corpus ground truth rather than belief. It is cheap: one local control plane per version,
shared by every case (module scope), and one server-side dry-run create per manifest and
version; the namespaces the manifests live in are created for real first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness.plugin import ClusterFactory
from harness.providers import get_provider
from harness.providers.base import Cluster
from harness.session_cleanup import removal_failed
from harness.toolchain import goproxy
from harness.versions import KubeVersion
from harness.workloads.replay import ApplyResult, apply_manifests, load_manifests
from tests.detection_corpus.cases import Answer, Case, load_cases

pytestmark = pytest.mark.e2e

CASES = load_cases()


class ClustersByVersion:
    """One local control plane per Kubernetes version, made when a case first needs it."""

    def __init__(self, factory: ClusterFactory) -> None:
        self.factory = factory
        self.made: dict[KubeVersion, Cluster] = {}

    def at(self, minor: str) -> Cluster:
        version = goproxy.resolve(minor, field="hop", note=lambda _message: None)
        if version not in self.made:
            self.made[version] = self.factory.create(version)
        return self.made[version]


@pytest.fixture(scope="module")
def clusters(request: pytest.FixtureRequest) -> Iterator[ClustersByVersion]:
    # The local provider always: the answers come from kube-apiserver alone, whatever runs the nodes.
    factory = ClusterFactory(
        get_provider("local"),
        bool(request.config.getoption("--keep-clusters")),
        prefix=f"c{os.getpid() % 100000}{os.environ.get('PYTEST_XDIST_WORKER', 'gw')[-2:]}",
        on_removal_failure=removal_failed(request.config),
    )
    try:
        yield ClustersByVersion(factory)
    finally:
        factory.close()


def dry_run_case(cluster: Cluster, case: Case) -> dict[str, ApplyResult]:
    """The apiserver's answer to each of the case's objects (its namespaces are created for real)."""
    manifests = load_manifests(case.manifests)
    namespaces = [m for m in manifests if m.body.get("kind") == "Namespace"]
    created = apply_manifests(cluster.kubeconfig, namespaces)
    assert all(r.ok for r in created), [r.message for r in created if not r.ok]
    rest = [m for m in manifests if m.body.get("kind") != "Namespace"]
    return {r.manifest.label: r for r in apply_manifests(cluster.kubeconfig, rest, dry_run=True)}


def mismatches(label: str, said: ApplyResult, expected: Answer) -> list[str]:
    problems = []
    if said.ok != expected.accepted:
        verb = "accepted" if said.ok else f"rejected it ({said.message})"
        problems.append(f"{label}: the apiserver {verb}, the case says accepted={expected.accepted}")
    elif not said.ok and expected.rejection and expected.rejection not in said.message:
        problems.append(f"{label}: rejected with {said.message!r}, which does not name {expected.rejection!r}")
    if sorted(said.warnings) != sorted(expected.warnings):
        problems.append(f"{label}: warned {list(said.warnings)}, the case says {list(expected.warnings)}")
    return problems


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_real_apiservers_answer_as_the_case_says(case: Case, clusters: ClustersByVersion) -> None:
    problems = []
    for side, minor in (("source", case.hop.source), ("target", case.hop.target)):
        cluster = clusters.at(minor)
        answers = dry_run_case(cluster, case)
        assert set(case.objects) <= set(answers), f"case.yaml names objects its manifests lack: {case.objects}"
        for label, said in answers.items():
            behaviour = case.objects.get(label)
            expected = getattr(behaviour, side) if behaviour else Answer()
            problems += [f"{side} {cluster.version}: {p}" for p in mismatches(label, said, expected)]
    assert not problems, f"{case.directory}/case.yaml:\n" + "\n".join(problems)
