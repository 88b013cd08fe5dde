"""What the tenants' objects use, as terms a release note can mention.

From each object: its kind, its API version and group, the distinctive field names it sets
(camelCase names such as ``fsGroup`` or ``jobTemplate``; plain words such as ``name`` or
``image`` would match half of every changelog), its volume types, the keys of its prefixed
annotations and labels, and enum-like values (``PreferClose``, ``RuntimeDefault``; not a
reference's ``kind: ClusterRole``, which names another object, not a feature). Every
field path is kept too, so a note's dotted path (``.spec.externalIPs``) can be checked against
them. Only names are taken, never values of data, env, args or annotations: secrets must not
reach a report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

KIND = "kind"
API_VERSION = "api-version"
API_GROUP = "api-group"
FIELD = "field"
VOLUME = "volume"
ANNOTATION = "annotation"
LABEL = "label"
VALUE = "value"
#: A dotted path a note names (``.spec.externalIPs``) that the objects set.
FIELD_PATH = "field-path"

#: Kinds that are everyday words in the changelogs ("the Pod", "a Service"): on their own they
#: say little, so they count for less and never carry a note by themselves.
GENERIC_KINDS = frozenset(
    {"Pod", "Service", "Namespace", "Secret", "ConfigMap", "Node", "Job", "Event", "Role", "Deployment", "Lease"}
)
WEIGHTS = {
    KIND: 2,
    API_VERSION: 3,
    API_GROUP: 2,
    FIELD: 2,
    VOLUME: 3,
    ANNOTATION: 4,
    LABEL: 4,
    VALUE: 2,
    FIELD_PATH: 4,
}
GENERIC_WEIGHT = 1
#: camelCase fields that every workload has: matching them would pick notes about anything.
COMMON_FIELDS = frozenset(
    {
        "apiVersion",
        "matchLabels",
        "containerPort",
        "mountPath",
        "imagePullPolicy",
        "restartPolicy",
        "targetPort",
        "creationTimestamp",
        "resourceVersion",
        "generateName",
        "ownerReferences",
        "managedFields",
        "configMapKeyRef",
        "secretKeyRef",
        "valueFrom",
        "fieldRef",
        "fieldPath",
        "matchExpressions",
        "volumeMounts",
        "envFrom",
        "initContainers",
        "serviceAccountName",
        "dnsPolicy",
        "schedulerName",
        "terminationMessagePath",
        "terminationMessagePolicy",
        "revisionHistoryLimit",
        "progressDeadlineSeconds",
    }
)
#: Plain-word fields distinctive enough to match.
DISTINCT_WORDS = frozenset({"sysctls", "tolerations", "affinity", "hostname", "subdomain", "overhead", "finalizers"})
#: Keys below which only names, never values, are looked at (or nothing at all).
_NO_VALUES = frozenset({"data", "stringData", "binaryData", "env", "args", "command", "annotations", "labels"})
_SKIP = frozenset({"status", "managedFields", "data", "stringData", "binaryData"})
_IGNORED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})
_CAMEL = re.compile(r"^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+$")
_ENUM = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+$")
_PREFIXED_KEY = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?\.[a-z]{2,}/[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class Term:
    """One thing the tenants use, as a note would name it."""

    text: str
    type: str

    @property
    def weight(self) -> int:
        if self.type == KIND and self.text in GENERIC_KINDS:
            return GENERIC_WEIGHT
        return WEIGHTS[self.type]


@dataclass
class TenantUse:
    """Every term the objects use, with the objects using each, and every field path."""

    terms: dict[Term, set[str]] = field(default_factory=dict)
    #: field path (names only, list levels dropped) -> the objects that set it
    paths: dict[tuple[str, ...], set[str]] = field(default_factory=dict)

    def add(self, term: Term, who: str) -> None:
        self.terms.setdefault(term, set()).add(who)

    def kinds(self) -> set[str]:
        return {t.text for t in self.terms if t.type == KIND}


def _walk(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    """(path to the key, key, value) for every mapping key below ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                continue
            yield path, key, value
            if key not in _SKIP and key not in _NO_VALUES:
                yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, path)


def _volume_types(node: Any) -> Iterator[str]:
    """The volume types of every ``volumes`` list (and projected sources) below ``node``."""
    for _path, key, value in _walk(node, ()):
        if key == "volumes" and isinstance(value, list):
            for volume in value:
                if isinstance(volume, dict):
                    yield from (k for k in volume if k != "name")
        elif key == "sources" and isinstance(value, list):
            for source in value:
                if isinstance(source, dict):
                    yield from source


def object_terms(body: dict[str, Any], who: str, use: TenantUse) -> None:
    """Add what one object uses to ``use``; ``who`` names it in the report (never a value)."""
    kind = body.get("kind")
    if isinstance(kind, str) and kind:
        use.add(Term(kind, KIND), who)
    api_version = body.get("apiVersion")
    if isinstance(api_version, str) and "/" in api_version:
        use.add(Term(api_version, API_VERSION), who)
        group = api_version.split("/", 1)[0]
        if "." in group:
            use.add(Term(group, API_GROUP), who)
    meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    for kind_of_key, term_type in (("annotations", ANNOTATION), ("labels", LABEL)):
        keys = meta.get(kind_of_key) if isinstance(meta, dict) else None
        for key in keys if isinstance(keys, dict) else {}:
            if isinstance(key, str) and _PREFIXED_KEY.match(key) and key not in _IGNORED_ANNOTATIONS:
                use.add(Term(key, term_type), who)
    for volume_type in _volume_types(body):
        use.add(Term(volume_type, VOLUME), who)
    for path, key, value in _walk({k: v for k, v in body.items() if k != "metadata"}, ()):
        use.paths.setdefault((*path, key), set()).add(who)
        if (_CAMEL.match(key) and key not in COMMON_FIELDS) or key in DISTINCT_WORDS:
            use.add(Term(key, FIELD), who)
        if isinstance(value, str) and _ENUM.match(value) and key not in _NO_VALUES and key != "kind":
            use.add(Term(value, VALUE), who)


def tenant_use(objects: Iterable[tuple[str, dict[str, Any]]]) -> TenantUse:
    """What ``(label, body)`` objects use, together."""
    use = TenantUse()
    for who, body in objects:
        if isinstance(body, dict):
            object_terms(body, who, use)
    return use
