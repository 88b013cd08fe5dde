"""Who asked for an API: a tenant (or its replayed manifest), or someone a tenant cannot change.

The apiserver's audit log names, for every request, the authenticated user (and the one it
impersonated) and the object it touched. A deprecated or removed API is the tenants' problem
only when one of their identities, or the harness replaying one of their manifests, asked for
it; the control plane's controllers and the harness's own scenarios and detectors ask for such
APIs too, and nobody can act on a warning about those. This module turns audit events into
``Use`` records (who, which object, which manifest) for the detectors that need the answer:
``deprecated-api`` and ``removed-api`` (``api-warning`` knows its object from the request itself).

Who is who:

- ``replay``: an apply with the replay's field manager (``spin-harness``): a tenant manifest;
- ``tenant``: a tenant namespace's service account, or a user or group a RoleBinding in a
  tenant namespace names (``system:`` groups such as ``system:authenticated`` excluded);
- ``harness``: the identity the harness itself authenticates as, also while it impersonates a
  tenant's person for a scenario step (scenario objects are the harness's, not a tenant's);
- ``control-plane``: ``system:`` users (controllers, scheduler, kubelets, the apiserver) and
  ``kube-system`` service accounts; ``other``: anyone else (an administrator's kubectl).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from harness.kube.labels import MANAGER

if TYPE_CHECKING:
    from harness.workloads.replay import Manifest

#: The field manager of the workload replay (``harness.workloads.replay.FIELD_MANAGER``).
REPLAY_MANAGER = MANAGER
_SA_PREFIX = "system:serviceaccount:"
_CONTROL_PLANE_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})


class Actor(enum.StrEnum):
    TENANT = "tenant"
    REPLAY = "replay"
    HARNESS = "harness"
    CONTROL_PLANE = "control-plane"
    OTHER = "other"


#: The actors whose requests count against tenants.
TENANT_ACTORS = frozenset({Actor.TENANT, Actor.REPLAY})


@dataclass(frozen=True)
class ApiRequest:
    """One audited request to a resource, reduced to what attribution needs."""

    user: str  # the effective user: the impersonated one when there is one
    groups: tuple[str, ...]
    authenticated: str  # who sent the request
    verb: str
    group: str
    version: str
    resource: str
    namespace: str = ""
    name: str = ""
    request_uri: str = ""
    deprecated: bool = False
    removed_release: str = ""

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api(self) -> str:
        """``"apps/v1 deployments"``: the group-version and resource, as findings name an API."""
        return f"{self.group_version} {self.resource}"

    @property
    def field_manager(self) -> str:
        values = parse_qs(urlsplit(self.request_uri).query).get("fieldManager", [])
        return values[0] if values else ""


def parse_event(event: dict[str, Any]) -> ApiRequest | None:
    """The request an audit event records; None for non-resource requests and malformed events."""
    ref = event.get("objectRef")
    user = event.get("user")
    if not isinstance(ref, dict) or not isinstance(user, dict) or not ref.get("resource"):
        return None
    impersonated = event.get("impersonatedUser")
    effective: dict[str, Any] = impersonated if isinstance(impersonated, dict) else user
    raw_annotations = event.get("annotations")
    annotations: dict[str, Any] = raw_annotations if isinstance(raw_annotations, dict) else {}
    return ApiRequest(
        user=str(effective.get("username", "")),
        groups=tuple(str(g) for g in effective.get("groups") or ()),
        authenticated=str(user.get("username", "")),
        verb=str(event.get("verb", "")),
        group=str(ref.get("apiGroup", "")),
        version=str(ref.get("apiVersion", "")),
        resource=str(ref["resource"]),
        namespace=str(ref.get("namespace", "")),
        name=str(ref.get("name", "")),
        request_uri=str(event.get("requestURI", "")),
        deprecated=annotations.get("k8s.io/deprecated") == "true",
        removed_release=str(annotations.get("k8s.io/removed-release", "")),
    )


def read_audit_log(path: Path | None, *, containing: Sequence[str] = ()) -> Iterator[ApiRequest]:
    """Every resource request in the audit log at ``path``, once each (a watch is logged when it
    starts and when it ends); ``containing``: keep only lines with one of these strings, which
    skips the JSON parsing of the rest of a log that holds every request since the cluster began."""
    if path is None or not path.is_file():
        return
    seen: set[str] = set()
    with path.open(errors="replace") as handle:
        for line in handle:
            if containing and not any(text in line for text in containing):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            audit_id = str(event.get("auditID", ""))
            if audit_id and audit_id in seen:
                continue
            seen.add(audit_id)
            request = parse_event(event)
            if request is not None:
                yield request


@dataclass(frozen=True)
class ManifestRef:
    """A tenant manifest, as attribution matches it to requests and findings name it."""

    api_version: str
    kind: str
    name: str
    namespace: str = ""
    source: str = ""
    document: int | None = None
    #: The resource (plural) the server serves the kind as, when discovery knew the kind.
    resource: str = ""

    @property
    def object(self) -> str:
        """``tenant-alpha/Endpoints/legacy-db``: the object the manifest makes."""
        return "/".join(part for part in (self.namespace, self.kind, self.name) if part)

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {"object": self.object, "manifest": self.source}
        if self.document is not None:
            out["document"] = self.document
        return out


def manifest_ref(manifest: Manifest, resources: dict[tuple[str, str], str] | None = None) -> ManifestRef:
    """The reference to ``manifest``; ``resources``: (apiVersion, kind) -> resource, from discovery."""
    body = manifest.body
    meta = body.get("metadata") or {}
    api_version, kind = str(body.get("apiVersion", "")), str(body.get("kind", ""))
    document = getattr(manifest, "document", None)  # the document's index in its file, when the reader kept it
    return ManifestRef(
        api_version=api_version,
        kind=kind,
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace") or ""),
        source=str(manifest.source),
        document=document if isinstance(document, int) else None,
        resource=(resources or {}).get((api_version, kind), ""),
    )


@dataclass(frozen=True)
class Tenancy:
    """What counts as a tenant on one cluster: namespaces, bound subjects, the harness's own identity,
    and the tenant manifests the harness replays."""

    namespaces: frozenset[str] = frozenset()
    #: ``User:alpha-owner``, ``Group:alpha-members`` (service accounts are known by namespace).
    subjects: frozenset[str] = frozenset()
    #: The users the harness authenticates as (its kubeconfig's identity).
    harness_users: frozenset[str] = frozenset()
    manifests: tuple[ManifestRef, ...] = ()

    def actor(self, request: ApiRequest) -> Actor:
        """Who made ``request`` (see the module's docstring for the rules, applied in that order)."""
        if request.field_manager == REPLAY_MANAGER:
            return Actor.REPLAY
        if request.user.startswith(_SA_PREFIX):
            namespace = request.user[len(_SA_PREFIX) :].split(":", 1)[0]
            if namespace in self.namespaces and request.authenticated not in self.harness_users:
                return Actor.TENANT
        elif request.authenticated not in self.harness_users and self._bound(request):
            return Actor.TENANT
        if request.authenticated in self.harness_users:
            return Actor.HARNESS
        if request.user.startswith(_SA_PREFIX):
            namespace = request.user[len(_SA_PREFIX) :].split(":", 1)[0]
            return Actor.CONTROL_PLANE if namespace in _CONTROL_PLANE_NAMESPACES else Actor.OTHER
        return Actor.CONTROL_PLANE if request.user.startswith("system:") else Actor.OTHER

    def _bound(self, request: ApiRequest) -> bool:
        if f"User:{request.user}" in self.subjects:
            return True
        return any(f"Group:{g}" in self.subjects for g in request.groups if not g.startswith("system:"))

    def manifest_for(self, request: ApiRequest) -> ManifestRef | None:
        """The tenant manifest that makes the object ``request`` touched, if one does."""
        for ref in self.manifests:
            if ref.api_version != request.group_version or ref.name != request.name:
                continue
            if ref.resource and ref.resource != request.resource:
                continue
            if ref.namespace and ref.namespace != request.namespace:
                continue
            return ref
        return None


@dataclass(frozen=True)
class Use:
    """One tenant-relevant (or not) use of an API: who, what, from which manifest."""

    api: str
    actor: Actor
    user: str
    verb: str
    object: str
    manifest: str = ""
    document: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"actor": self.actor.value, "user": self.user, "verb": self.verb, "object": self.object}
        if self.manifest:
            out["manifest"] = self.manifest
        if self.document is not None:
            out["document"] = self.document
        return out


def use_of(request: ApiRequest, tenancy: Tenancy) -> Use:
    """``request`` as a ``Use``: its actor, and the tenant manifest behind the object when known."""
    actor = tenancy.actor(request)
    ref = tenancy.manifest_for(request) if actor in TENANT_ACTORS else None
    if ref is not None:
        return Use(request.api, actor, request.user, request.verb, ref.object, ref.source, ref.document)
    obj = "/".join(p for p in (request.namespace, request.resource, request.name) if p)
    return Use(request.api, actor, request.user, request.verb, obj)


def manifest_uses(api: str, tenancy: Tenancy) -> list[Use]:
    """The tenant manifests that use ``api`` (``"v1 endpoints"``, or a bare group-version), whether or
    not the audit log saw them applied (a provider without an audit log, a replay not yet run)."""
    group_version, _, resource = api.partition(" ")
    return [
        Use(api, Actor.REPLAY, REPLAY_MANAGER, "apply", ref.object, ref.source, ref.document)
        for ref in tenancy.manifests
        if ref.api_version == group_version and (not resource or ref.resource == resource)
    ]


@dataclass
class Attribution:
    """The uses of a set of APIs, split into the tenants' and everyone else's."""

    tenant: list[Use] = field(default_factory=list)
    others: list[Use] = field(default_factory=list)

    def add(self, use: Use) -> None:
        (self.tenant if use.actor in TENANT_ACTORS else self.others).append(use)

    @property
    def objects(self) -> list[str]:
        return sorted({u.object for u in self.tenant})

    @property
    def manifests(self) -> list[str]:
        return sorted({u.manifest for u in self.tenant if u.manifest})

    def who_else(self, limit: int = 3) -> str:
        """``control-plane (system:kube-controller-manager, system:apiserver)``: the other requesters."""
        by_actor: dict[str, set[str]] = {}
        for use in self.others:
            by_actor.setdefault(use.actor.value, set()).add(use.user)
        parts = []
        for actor, users in sorted(by_actor.items()):
            names = sorted(users)
            more = f", +{len(names) - limit}" if len(names) > limit else ""
            parts.append(f"{actor} ({', '.join(names[:limit])}{more})")
        return "; ".join(parts)

    def evidence(self, limit: int = 20) -> dict[str, Any]:
        """The fields every attributed finding carries: tenant objects, manifests, and the requests."""
        return {
            "objects": self.objects,
            "manifests": self.manifests,
            "tenant_requests": [u.to_json() for u in _unique(self.tenant)[:limit]],
            "other_requesters": sorted({f"{u.actor.value}:{u.user}" for u in self.others})[:limit],
        }


def _unique(uses: Iterable[Use]) -> list[Use]:
    return sorted(set(uses), key=lambda u: (u.object, u.manifest, u.user, u.verb))


def attribute(requests: Iterable[ApiRequest], tenancy: Tenancy, key: str = "api") -> dict[str, Attribution]:
    """The requests grouped by API (``key="api"``) or group-version (``key="group_version"``)."""
    out: dict[str, Attribution] = {}
    for request in requests:
        out.setdefault(getattr(request, key), Attribution()).add(use_of(request, tenancy))
    return out


def requests_to(apis: Sequence[str], audit_log: Path | None, tenancy: Tenancy) -> dict[str, Attribution]:
    """Who requested each of ``apis`` (group-versions, or ``"group-version resource"``), per the audit
    log, with the tenant manifests that use it added when the log saw none of them applied."""
    wanted = set(apis)
    versions = tuple(f'"apiVersion":"{api.split(" ")[0].rpartition("/")[2]}"' for api in wanted)
    out: dict[str, Attribution] = {api: Attribution() for api in wanted}
    for request in read_audit_log(audit_log, containing=versions):
        for key in (request.group_version, request.api):
            if key in wanted:
                out[key].add(use_of(request, tenancy))
    for api, found in out.items():
        if not found.tenant:
            for use in manifest_uses(api, tenancy):
                found.add(use)
    return out
