"""Release notes for a hop: which releases it crosses, where their changelogs are, which entries
concern the tenants. Changelogs are the real excerpts in ``tests/unit/data/changelogs``; module
caches are laid out in ``tmp_path`` the way the go command lays them out."""

from __future__ import annotations

import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import HarnessError
from harness.matrix import ProbeBudget
from harness.releasenotes.hop import OK, PARTIAL, UNAVAILABLE, hop_notes
from harness.releasenotes.locate import MODE_VARIABLE, MinorPlan, cached_modules, crossed, locate
from harness.releasenotes.match import MAX_OBJECTS, match_entries, match_entry
from harness.releasenotes.parse import Entry, parse_changelog
from harness.releasenotes.terms import ANNOTATION, FIELD, KIND, VALUE, VOLUME, Term, tenant_use
from harness.run.cell import CellRun
from harness.run.hop_record import HopRecord
from harness.versions import KubeVersion

DATA = Path(__file__).parent / "data" / "changelogs"
V = KubeVersion.parse


def deployment(volumes: list[dict[str, Any]], **security: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "tenant-a", "annotations": {"example.com/owner": "team-a"}},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "registry.example/web:1",
                            "securityContext": security,
                            "env": [{"name": "MODE", "value": "SecretModeValue"}],
                        }
                    ],
                    "volumes": volumes,
                }
            },
        },
    }


SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {"externalIPs": ["192.0.2.1"], "trafficDistribution": "PreferClose", "ports": [{"port": 80}]},
}


# -- which releases a hop crosses -------------------------------------------------------------


def test_a_hop_over_two_minors_reads_both_dot_zeros_and_the_target_patches() -> None:
    plans = crossed(V("v1.35.4"), V("v1.37.2"))
    assert [(p.minor, [str(r) for r in p.releases]) for p in plans] == [
        (36, ["v1.36.0"]),
        (37, ["v1.37.0", "v1.37.1", "v1.37.2"]),
    ]
    assert plans[1].file_name == "CHANGELOG-1.37.md"
    assert [str(r) for r in crossed(V("v1.36.1"), V("v1.36.3"))[0].releases] == ["v1.36.2", "v1.36.3"]
    assert crossed(V("v1.37.2"), V("v1.37.2")) == [] and crossed(V("v1.37.2"), V("v1.36.3")) == []


@settings(max_examples=80, deadline=None)
@given(st.tuples(st.integers(20, 40), st.integers(0, 9)), st.tuples(st.integers(20, 40), st.integers(0, 9)))
def test_crossed_releases_are_exactly_those_after_the_source_up_to_the_target(
    a: tuple[int, int], b: tuple[int, int]
) -> None:
    source, target = KubeVersion(1, *a), KubeVersion(1, *b)
    plans = crossed(source, target)
    releases = [r for plan in plans for r in plan.releases]
    assert all(source < r <= target for r in releases)
    assert releases == sorted(releases) and len(set(releases)) == len(releases)
    if target > source:
        assert releases[-1] == target
        first = target.minor if target.minor == source.minor else source.minor + 1
        assert [p.minor for p in plans] == list(range(first, target.minor + 1))
        for plan in plans:
            if plan.minor > source.minor:
                assert plan.releases[0] == KubeVersion(1, plan.minor, 0)
    else:
        assert plans == []


# -- where the changelogs are -----------------------------------------------------------------


def extracted(cache: Path, version: str, minor: int, text: str) -> None:
    changelog = cache / "k8s.io" / f"kubernetes@{version}" / "CHANGELOG" / f"CHANGELOG-1.{minor}.md"
    changelog.parent.mkdir(parents=True)
    changelog.write_text(text)


def zipped(cache: Path, version: str, minor: int, text: str) -> None:
    downloads = cache / "cache" / "download" / "k8s.io" / "kubernetes" / "@v"
    downloads.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(downloads / f"{version}.zip", "w") as archive:
        archive.writestr(f"k8s.io/kubernetes@{version}/CHANGELOG/CHANGELOG-1.{minor}.md", text)
        archive.writestr(f"k8s.io/kubernetes@{version}/go.mod", "module k8s.io/kubernetes\n")


def test_the_newest_cached_module_of_the_minor_is_read_extracted_or_zipped(tmp_path: Path) -> None:
    zipped(tmp_path, "v1.37.2", 37, (DATA / "CHANGELOG-1.37.md").read_text())
    extracted(tmp_path, "v1.37.1", 37, "# v1.37.0\n")
    extracted(tmp_path, "v1.36.3", 36, (DATA / "CHANGELOG-1.36.md").read_text())
    assert sorted(str(v) for v in cached_modules(tmp_path, 37)) == ["v1.37.1", "v1.37.2"]
    found = locate(crossed(V("v1.36.3"), V("v1.37.2"))[0], tmp_path, download=False)
    assert str(found.module_version) == "v1.37.2" and found.path.endswith("v1.37.2.zip!CHANGELOG-1.37.md")
    # A module's changelog ends before its own release.
    assert (found.found, found.missing) == (["v1.37.0", "v1.37.1"], ["v1.37.2"])
    assert any(e.pr_number == 140244 for e in found.entries())


def test_a_dot_zero_not_yet_summarised_is_assembled_from_its_prereleases(tmp_path: Path) -> None:
    text = (DATA / "CHANGELOG-1.37.md").read_text()
    only_rc = text[text.index("# v1.37.0-rc.0") :]
    extracted(tmp_path, "v1.37.0", 37, only_rc + only_rc.replace("v1.37.0-rc.0", "v1.37.0-rc.1"))
    found = locate(MinorPlan(37, (V("v1.37.0"),)), tmp_path, download=False)
    assert found.from_prereleases == ["v1.37.0"] and found.missing == []
    numbers = [e.pr_number for e in found.entries()]
    assert numbers and len(numbers) == len(set(numbers))


def test_no_module_in_the_cache_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=r"no k8s.io/kubernetes module of 1.37") as caught:
        locate(MinorPlan(37, (V("v1.37.2"),)), tmp_path, download=False)
    assert caught.value.hint == "go mod download k8s.io/kubernetes@v1.37.2"


# -- what the tenants use ------------------------------------------------------------------


def test_terms_are_names_never_values_of_env_or_data() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"pw": "HunterTwo"}}
    use = tenant_use([("dep", deployment([{"name": "s", "emptyDir": {}}], allowPrivilegeEscalation=False))])
    use_secret = tenant_use([("secret", secret)])
    texts = {t.text for t in use.terms} | {t.text for t in use_secret.terms}
    assert {"Deployment", "apps/v1", "emptyDir", "allowPrivilegeEscalation", "example.com/owner"} <= texts
    assert "SecretModeValue" not in texts and "HunterTwo" not in texts and "pw" not in texts
    assert Term("emptyDir", VOLUME) in use.terms and Term("example.com/owner", ANNOTATION) in use.terms
    assert use.terms[Term("Deployment", KIND)] == {"dep"}
    assert ("spec", "template", "spec", "volumes", "emptyDir") in use.paths
    assert Term("PreferClose", VALUE) in tenant_use([("svc", SERVICE)]).terms


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=30))
def test_no_data_or_env_value_ever_becomes_a_term(value: str, key: str) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {key: value}}
    env = deployment([])
    env["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "X", "value": value}]
    env["spec"]["template"]["spec"]["containers"][0]["args"] = [value]
    use = tenant_use([("secret", secret), ("dep", env)])
    assert all(value != t.text and key != t.text for t in use.terms if t.type != KIND)


# -- matching ---------------------------------------------------------------------------------


def entries(minor: int, release: str) -> list[tuple[str, Entry]]:
    parsed = parse_changelog((DATA / f"CHANGELOG-1.{minor}.md").read_text())
    return [(f"1.{minor}", e) for e in parsed.entries(release)]


def test_a_volume_type_and_a_security_field_pick_their_real_1_37_entries() -> None:
    use = tenant_use([("dep", deployment([{"name": "s", "emptyDir": {}}], allowPrivilegeEscalation=False))])
    notes = match_entries(entries(37, "v1.37.0"), use)
    by_pr = {n.entry.pr_number: n for n in notes}
    assert 140244 in by_pr and 138834 in by_pr
    empty_dir = by_pr[140244]
    assert [(m.term.text, m.term.type, m.objects) for m in empty_dir.matches] == [("emptyDir", VOLUME, ("dep",))]
    assert "`allowPrivilegeEscalation`" in by_pr[138834].entry.text


def test_a_dotted_path_in_a_note_matches_only_objects_that_set_it() -> None:
    with_ips = match_entries(entries(36, "v1.36.0"), tenant_use([("svc", SERVICE)]))
    note = next(n for n in with_ips if n.entry.pr_number == 137293)
    assert note.entry.section == "Deprecation"
    assert {m.term.text for m in note.matches} >= {"spec.externalIPs", "externalIPs"}
    plain = dict(SERVICE, spec={"ports": [{"port": 80}]})
    assert all(n.entry.pr_number != 137293 for n in match_entries(entries(36, "v1.36.0"), tenant_use([("s", plain)])))


def test_go_type_paths_and_referenced_kinds_are_not_what_tenants_use() -> None:
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "b"},
        "roleRef": {"kind": "ClusterRole", "name": "view", "apiGroup": "rbac.authorization.k8s.io"},
    }
    job = deployment([])
    job["spec"]["template"]["spec"]["containers"][0]["command"] = ["run"]
    use = tenant_use([("binding", binding), ("job", job)])
    assert not any(t.text == "ClusterRole" for t in use.terms)
    for text in (
        "Renamed `AllowlistEntry.Name` to `AllowlistEntry.Command` in the credential plugin allowlist.",
        "Cluster administrators should restrict the `nodes/logs` ClusterRole to trusted users.",
    ):
        assert match_entry(Entry("v1.36.0", "Deprecation", text, 1), use, "1.36") is None
    spec_path = Entry("v1.36.0", "Deprecation", "Deprecated `Deployment.Spec.Template.Spec.Containers.Command`.", 1)
    note = match_entry(spec_path, use, "1.36")
    assert note is not None and [m.term.text for m in note.matches if m.term.type == "field-path"] == [
        "spec.template.spec.containers.command"
    ]


def test_everyday_kinds_alone_never_make_a_note() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {}}
    use = tenant_use([("p", pod), ("s", service)])
    mentions_pods = [e for _, e in entries(37, "v1.37.0") if "Pod" in e.text]
    assert mentions_pods and match_entries(entries(37, "v1.37.0"), use) == []


@pytest.mark.parametrize(
    ("text", "term", "hit"),
    [
        ("Added the `PreemptionPolicy` field to PodGroup.", Term("Pod", KIND), False),
        ("CronJobs now record the time zone.", Term("CronJob", KIND), True),
        ("the cronjob controller", Term("CronJob", KIND), False),
        ("The `secret` volume plugin now ...", Term("secret", VOLUME), True),
        ("Secret volume contents are refreshed.", Term("secret", VOLUME), True),
        ("a secret token is no longer logged", Term("secret", VOLUME), False),
        ("Disabled `git-repo` volume plugin by default.", Term("gitRepo", VOLUME), True),
        ("`FsGroup` is now applied recursively.", Term("fsGroup", FIELD), True),
        ("the fsGroupChangePolicy field", Term("fsGroup", FIELD), False),
    ],
)
def test_word_boundaries(text: str, term: Term, hit: bool) -> None:
    use = tenant_use([])
    use.terms[term] = {"obj"}
    use.terms[Term("fsGroupChangePolicy", FIELD)] = {"obj"}  # a second, specific term so scores pass
    entry = Entry("v1.37.0", "API Change", text, 1)
    note = match_entry(entry, use, "1.37")
    assert (note is not None and any(m.term == term for m in note.matches)) is hit


# -- a hop, end to end over a module cache -------------------------------------------------


def test_hop_notes_ok_partial_and_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODE_VARIABLE, "cache")
    extracted(tmp_path, "v1.37.2", 37, (DATA / "CHANGELOG-1.37.md").read_text())
    objects = [("dep", deployment([{"name": "s", "emptyDir": {}}]))]
    ok = hop_notes("v1.36.3>v1.37.2", V("v1.36.3"), V("v1.37.2"), objects, cache=tmp_path)
    assert ok["status"] == OK and ok["reason"] == "" and ok["considered"] > 0
    assert [n["pr_number"] for n in ok["notes"]] == [140244]
    assert ok["changelogs"][0]["missing"] == ["v1.37.2"]
    partial = hop_notes("v1.35.4>v1.37.2", V("v1.35.4"), V("v1.37.2"), objects, cache=tmp_path)
    assert partial["status"] == PARTIAL and partial["reason"].startswith("1.36: no k8s.io/kubernetes module of 1.36")
    assert [n["pr_number"] for n in partial["notes"]] == [140244]
    none = hop_notes("v1.37.2>v1.38.0", V("v1.37.2"), V("v1.38.0"), objects, cache=tmp_path)
    assert none["status"] == UNAVAILABLE and none["notes"] == []
    monkeypatch.setenv(MODE_VARIABLE, "off")
    off = hop_notes("v1.36.3>v1.37.2", V("v1.36.3"), V("v1.37.2"), objects, cache=tmp_path)
    assert off["status"] == UNAVAILABLE and f"{MODE_VARIABLE}=off" in off["reason"]
    monkeypatch.setenv(MODE_VARIABLE, "sometimes")
    bad = hop_notes("v1.36.3>v1.37.2", V("v1.36.3"), V("v1.37.2"), objects, cache=tmp_path)
    assert bad["status"] == UNAVAILABLE and "download, cache, off" in bad["reason"]


def test_a_broken_changelog_makes_the_notes_unavailable_with_the_file_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODE_VARIABLE, "cache")
    extracted(tmp_path, "v1.37.2", 37, "not a changelog\n")
    result = hop_notes("a>b", V("v1.36.3"), V("v1.37.2"), [], cache=tmp_path)
    assert result["status"] == UNAVAILABLE
    assert "CHANGELOG-1.37.md: no release heading" in result["reason"]


# -- the cell's part -------------------------------------------------------------------------


def test_the_cell_matches_its_workload_manifests_and_reports_a_broken_input_as_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "gomodcache"
    extracted(cache, "v1.37.2", 37, (DATA / "CHANGELOG-1.37.md").read_text())
    monkeypatch.setenv("GOMODCACHE", str(cache))
    monkeypatch.setenv(MODE_VARIABLE, "cache")
    workloads = tmp_path / "export" / "tenant-a"
    workloads.mkdir(parents=True)
    (workloads / "web.yaml").write_text(yaml.safe_dump(deployment([{"name": "s", "emptyDir": {}}])))
    cell: Any = SimpleNamespace(id="local:v1.36.3>v1.37.2")
    record = HopRecord(1, "v1.36.3", "v1.37.2")
    run = CellRun(cell, None, [], ProbeBudget(), tmp_path, workloads=(tmp_path / "export",))  # type: ignore[arg-type]
    notes = run.release_notes(record)
    assert notes["status"] == OK and notes["hop"] == record.label
    (note,) = notes["notes"]
    assert note["pr_number"] == 140244
    assert note["terms"][0]["objects"] == [f"apps/v1 Deployment tenant-a/web ({workloads / 'web.yaml'})"]
    assert "release notes" in run.timings
    broken = CellRun(cell, None, [], ProbeBudget(), tmp_path, workloads=(tmp_path / "nowhere",))  # type: ignore[arg-type]
    failed = broken.release_notes(record)
    assert failed["status"] == UNAVAILABLE and "InputError" in failed["reason"] and "nowhere" in failed["reason"]


def test_a_term_used_by_many_objects_names_a_few_and_counts_them() -> None:
    objects = [(f"dep-{n}", deployment([{"name": "s", "emptyDir": {}}])) for n in range(45)]
    (note,) = [n for n in match_entries(entries(37, "v1.37.0"), tenant_use(objects)) if n.entry.pr_number == 140244]
    (term,) = note.to_json()["terms"]
    assert term["objects_total"] == 45 and len(term["objects"]) == MAX_OBJECTS
