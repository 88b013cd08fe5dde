"""Warnings the apiserver sends back, kept as evidence of what a tenant's manifests will meet.

The apiserver answers many requests with ``Warning`` headers: a deprecated API version, a
field or annotation that is "non-functional in v1.27+", a value that "will be considered
invalid in a future release". kubectl prints them; the generated Python client drops every
response header. Several breaking changes were announced only this way a release or two
ahead, so the harness keeps them.

Capture happens in one place, the REST layer (``RecordingRESTClient``, installed by
``harness.kube.client.RecordingApiClient``), for every request of every client the harness
builds. Whether a warning is kept, and as what, is said by two context variables set by the
code that makes requests on a tenant's behalf:

- ``recording(log, version=..., action=...)``: where warnings go and what is being done
  (the replay at the source, the dry-run at the target, a scenario's apply steps ...);
- ``on_behalf_of(object_label=..., manifest=..., document=...)``: which object of which manifest
  the requests are about; it also collects the texts heard, for the caller's own result.

A request outside both is not recorded: platform components and the harness's own reads are
not the tenants'. Context variables do not cross into threads the harness starts (probes), so
probes record nothing.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from kubernetes.client import rest

from harness.kube.warning_header import parse_warning_headers
from harness.versions import KubeVersion


def object_label(body: dict[str, Any]) -> str:
    """``apps/v1 Deployment tenant-alpha/web``: how warnings (and replay results) name an object."""
    meta = body.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{body.get('apiVersion')} {body.get('kind')} {where}{meta.get('name')}"


@dataclass(frozen=True)
class ApiWarning:
    """One warning text the apiserver sent about one object."""

    #: The server's exact text.
    text: str
    #: The object as findings name it: ``apps/v1 Deployment tenant-alpha/web``.
    object: str
    #: The file the object came from, and its document index there (None when unknown).
    manifest: str
    document: int | None
    #: The version of the apiserver that said it.
    version: KubeVersion
    #: What the harness was doing: ``replay``, ``dry-run``, ``re-apply``, ``scenario NAME PHASE``.
    action: str
    #: ``PATCH /apis/apps/v1/namespaces/tenant-alpha/deployments/web?dryRun=All``.
    request: str

    @property
    def key(self) -> tuple[str, str]:
        """A finding is made per (object, warning text)."""
        return (self.object, self.text)


@dataclass
class WarningLog:
    """Every ``ApiWarning`` a cell heard, in order; appended to from the REST layer."""

    entries: list[ApiWarning] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, warning: ApiWarning) -> None:
        with self._lock:
            if warning not in self.entries:
                self.entries.append(warning)

    def heard_at(self, version: KubeVersion) -> list[ApiWarning]:
        """What apiservers at ``version`` said (the patch level counts: it is what ran)."""
        with self._lock:
            return [w for w in self.entries if w.version == version]


@dataclass(frozen=True)
class _Recording:
    log: WarningLog
    version: KubeVersion
    action: str


@dataclass(frozen=True)
class _Subject:
    object: str
    manifest: str
    document: int | None
    #: The texts heard about it, for the caller (``ApplyResult.warnings``).
    heard: list[str]
    #: Removes Secret values from a text before it is kept (a webhook may echo one in a warning).
    scrub: Callable[[str], str] | None = None


_RECORDING: ContextVar[_Recording | None] = ContextVar("api_warning_recording", default=None)
_SUBJECT: ContextVar[_Subject | None] = ContextVar("api_warning_subject", default=None)


@contextlib.contextmanager
def recording(log: WarningLog, *, version: KubeVersion, action: str) -> Iterator[WarningLog]:
    """Keep the warnings of requests made inside the block (about an object) in ``log``."""
    token = _RECORDING.set(_Recording(log, version, action))
    try:
        yield log
    finally:
        _RECORDING.reset(token)


@contextlib.contextmanager
def on_behalf_of(
    *, object_label: str, manifest: str, document: int | None = None, scrub: Callable[[str], str] | None = None
) -> Iterator[list[str]]:
    """Requests inside the block are about ``object_label``; yields the list of texts heard about it.

    ``scrub`` removes the Secret values the caller knows of from every text before it is kept:
    warnings end up in reports, and an admission webhook may put anything in one."""
    subject = _Subject(object_label, manifest, document, [], scrub)
    token = _SUBJECT.set(subject)
    try:
        yield subject.heard
    finally:
        _SUBJECT.reset(token)


def note_response(method: str, url: str, header_values: list[str]) -> None:
    """Keep the warnings of one response, if it was made on some object's behalf."""
    subject = _SUBJECT.get()
    if subject is None or not header_values:
        return
    warnings, problems = parse_warning_headers(_as_utf8(value) for value in header_values)
    texts = [w.text for w in warnings] + [f"(unparsed Warning header) {p.remainder}" for p in problems]
    if subject.scrub is not None:
        texts = [subject.scrub(text) for text in texts]
    for text in texts:
        if text not in subject.heard:
            subject.heard.append(text)
    where = _RECORDING.get()
    if where is None:
        return
    split = urlsplit(url)
    request = f"{method} {split.path}" + (f"?{split.query}" if split.query else "")
    for text in texts:
        where.log.add(
            ApiWarning(text, subject.object, subject.manifest, subject.document, where.version, where.action, request)
        )


def _as_utf8(value: str) -> str:
    """http.client decodes header bytes as Latin-1; the apiserver writes UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class RecordingRESTClient(rest.RESTClientObject):  # type: ignore[misc]
    """The generated client's REST layer, passing each response's ``Warning`` headers on."""

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        response = super().request(method, url, *args, **kwargs)
        headers = getattr(response, "headers", None)
        if headers is not None:
            values = headers.getlist("Warning") if hasattr(headers, "getlist") else [headers.get("Warning", "")]
            note_response(method, url, [v for v in values if v])
        return response
