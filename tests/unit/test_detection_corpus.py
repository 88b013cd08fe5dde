"""The detection corpus is well formed: enough cases, each readable, each naming objects it holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.versions import KubeVersion
from harness.workloads.replay import load_manifests
from tests.detection_corpus.cases import CorpusError, load_case, load_cases

CASES = load_cases()


def test_the_corpus_has_enough_cases_and_a_control() -> None:
    assert len(CASES) >= 12
    assert [c.name for c in CASES if c.is_control], "at least one case where nothing is expected"
    assert any(c.expect.pluto for c in CASES), "cases an apiVersion scanner can see"
    assert any(not c.expect.pluto and c.expect.gate for c in CASES), "cases only the apiserver tells"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_case_names_its_own_objects_and_a_one_minor_hop(case: object) -> None:
    from tests.detection_corpus.cases import Case

    assert isinstance(case, Case)
    labels = {m.label for m in load_manifests(case.manifests)}
    assert set(case.objects) <= labels, f"{case.directory}: objects not in its manifests"
    namespaces = {m.body["metadata"]["name"] for m in load_manifests(case.manifests) if m.body["kind"] == "Namespace"}
    assert namespaces == {f"det-{case.name}"}, "one namespace per case, named after it, so cases never collide"
    source = KubeVersion.parse_partial(case.hop.source, field="from")
    target = KubeVersion.parse_partial(case.hop.target, field="to")
    assert target.minor == source.minor + 1
    assert case.release_note.source and case.why
    for behaviour in case.objects.values():
        for answer in (behaviour.source, behaviour.target):
            assert answer.accepted or answer.rejection, "a rejection says what the message names"


def test_a_bad_case_file_names_the_file_and_the_field(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "case.yaml").write_text("title: x\nhop: {from: '1.36'}\nwhy: y\n")
    with pytest.raises(CorpusError) as raised:
        load_case(tmp_path / "broken")
    message = str(raised.value)
    assert str(tmp_path / "broken" / "case.yaml") in message
    assert "hop.to" in message and "release_note" in message
