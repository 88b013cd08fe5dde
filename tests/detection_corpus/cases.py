"""The detection corpus: upgrade-break cases taken from real Kubernetes releases.

Each folder here is one case: the tenant manifests that break (or, for a control, do not), in
``manifests/``, and a ``case.yaml`` that says which hop it is about, the release note or apiserver behaviour it rests
on, what the real apiservers answer at both versions (``objects``: checked against live control
planes by ``tests/e2e/test_detection_corpus.py``), and which findings a detector should raise
(``expect``: what ``bench/detection.py`` scores the gate and pluto against).

An object the case does not list under ``objects`` must be accepted without warnings at both
versions; so a control case lists none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

CORPUS = Path(__file__).parent
CASE_FILE = "case.yaml"
#: The tenant manifests of a case live apart from ``case.yaml``, so every reader takes the folder whole.
MANIFESTS = "manifests"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Hop(_Strict):
    """The upgrade a case is about, as minors (``1.36``) resolved to the newest usable patch."""

    source: str = Field(alias="from")
    target: str = Field(alias="to")


class Citation(_Strict):
    """Where the change is announced: a CHANGELOG entry, or the apiserver code that behaves so."""

    source: str
    quote: str


class Answer(_Strict):
    """What one apiserver answers to a server-side dry-run create of the object."""

    accepted: bool = True
    #: A part of the rejection message (only when not accepted).
    rejection: str | None = None
    #: The exact ``Warning`` header texts, in any order.
    warnings: tuple[str, ...] = ()


class Behaviour(_Strict):
    source: Answer = Answer()
    target: Answer = Answer()


class Expectation(_Strict):
    """The findings a detector should raise for the case's manifests.

    ``gate``: ``kind/severity`` pairs the gate's summary should hold for these manifests;
    ``pluto``: ``removed`` or ``deprecated`` per flagged object, empty when pluto has nothing to say.
    """

    gate: tuple[str, ...] = ()
    pluto: tuple[Literal["removed", "deprecated"], ...] = ()


class Case(_Strict):
    title: str
    hop: Hop
    release_note: Citation
    why: str
    #: Object label (``apps/v1 Deployment ns/name``) -> what the apiservers answer.
    objects: dict[str, Behaviour] = {}
    expect: Expectation = Expectation()
    #: Filled in by ``load_cases``: the case's folder.
    directory: Path = Path()

    @property
    def name(self) -> str:
        return self.directory.name

    @property
    def manifests(self) -> Path:
        return self.directory / MANIFESTS

    @property
    def is_control(self) -> bool:
        return not self.expect.gate and not self.expect.pluto


class CorpusError(ValueError):
    """A case folder that cannot be read: the message names the file and field."""


def load_case(directory: Path) -> Case:
    path = directory / CASE_FILE
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CorpusError(f"{path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise CorpusError(f"{path}: expected a mapping of case fields")
    try:
        return Case.model_validate({**raw, "directory": directory})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise CorpusError(f"{path}: {problems}") from exc


def load_cases(root: Path = CORPUS) -> list[Case]:
    """Every case under ``root``, by name."""
    return [load_case(d) for d in sorted(root.iterdir()) if (d / CASE_FILE).is_file()]
