"""The few Kubernetes API calls scenario steps make, on any kind, by raw REST.

Steps name objects by ``kind`` (and optionally ``apiVersion``), including custom resources a
scenario has just defined, so the typed client does not fit; the dynamic client keeps a
discovery cache on disk keyed by host, which goes stale when another test cluster reuses the
port. This module asks the server's discovery documents itself, caches them for one runner,
and refreshes when a kind is missing (a CRD established a moment ago).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from kubernetes import client

from harness.errors import InputError

#: Seconds one HTTP request may take; waits are built from many short requests.
REQUEST_TIMEOUT = 15.0


class ApiError(Exception):
    """The API server refused a request, or could not be reached (status 0)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message

    @classmethod
    def from_body(cls, status: int, text: str) -> ApiError:
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("kind") == "Status":
            return cls(status, str(body.get("reason") or ""), str(body.get("message") or ""))
        return cls(status, "", text.strip()[:500])


class KindNotServed(ApiError):
    """Discovery does not list the kind (yet: a CRD may be about to be established)."""

    def __init__(self, api_version: str | None, kind: str) -> None:
        served = f"{api_version} {kind}" if api_version else f"kind {kind}"
        super().__init__(404, "NotServed", f"the server does not serve {served}")


@dataclass(frozen=True)
class Resource:
    """Where objects of one kind live in the API."""

    group_version: str
    plural: str
    kind: str
    namespaced: bool

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        return f"{base}/{quote(name, safe='')}" if name else base


def request(
    api: client.ApiClient,
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    body: Any = None,
    content_type: str = "application/json",
    timeout: float = REQUEST_TIMEOUT,
) -> dict[str, Any]:
    """One request; the decoded JSON answer, or ``ApiError`` with the server's status and message."""
    if query:
        path = f"{path}?{urlencode(query)}"
    method, url, headers, payload, post = api.param_serialize(
        method,
        path,
        header_params={"Accept": "application/json", "Content-Type": content_type},
        body=body,
        auth_settings=["BearerToken"],
    )
    try:
        response = api.call_api(
            method, url, header_params=headers, body=payload, post_params=post, _request_timeout=timeout
        )
        response.read()
        status, text = int(response.status), (response.data or b"").decode(errors="replace")
    except client.ApiException as exc:
        status, text = int(exc.status or 0), str(exc.body or exc.reason)
    except Exception as exc:  # connection refused or reset while the apiserver restarts
        raise ApiError(0, type(exc).__name__, str(exc)[:300]) from None
    if 200 <= status < 300:
        decoded: dict[str, Any] = json.loads(text) if text.strip() else {}
        return decoded
    raise ApiError.from_body(status, text)


class Discovery:
    """Kind -> Resource from the server's discovery documents; shared by a runner's identities."""

    def __init__(self, api: client.ApiClient) -> None:
        self.api = api
        self._lock = threading.Lock()
        self._by_group_version: dict[str, list[Resource]] = {}
        self._preferred: list[str] | None = None

    def resolve(self, api_version: str | None, kind: str) -> Resource:
        """The resource serving ``kind`` (in ``api_version``, or the preferred version of the
        only group serving it, the core group first); ``KindNotServed`` if there is none."""
        with self._lock:
            for refresh in (False, True):
                if refresh:
                    self._by_group_version.clear()
                    self._preferred = None
                found = self._find(api_version, kind)
                if found is not None:
                    return found
        raise KindNotServed(api_version, kind)

    def _find(self, api_version: str | None, kind: str) -> Resource | None:
        if api_version:
            return next((r for r in self._resources(api_version) if r.kind == kind), None)
        candidates = [r for gv in self._preferred_versions() for r in self._resources(gv) if r.kind == kind]
        if not candidates:
            return None
        core = [r for r in candidates if r.group_version == "v1"]
        if core:
            return core[0]
        groups = sorted({r.group_version for r in candidates})
        if len(groups) > 1:
            raise InputError(
                f"kind {kind} is served by several API groups ({', '.join(groups)})",
                hint="give apiVersion in the step",
            )
        return candidates[0]

    def _preferred_versions(self) -> list[str]:
        if self._preferred is None:
            groups = request(self.api, "GET", "/apis").get("groups", [])
            self._preferred = ["v1"] + [g["preferredVersion"]["groupVersion"] for g in groups]
        return self._preferred

    def _resources(self, group_version: str) -> list[Resource]:
        if group_version not in self._by_group_version:
            path = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
            try:
                listing = request(self.api, "GET", path).get("resources", [])
            except ApiError as exc:
                if exc.status != 404:
                    raise
                listing = []
            self._by_group_version[group_version] = [
                Resource(group_version, r["name"], r["kind"], bool(r.get("namespaced")))
                for r in listing
                if "/" not in r["name"]
            ]
        return self._by_group_version[group_version]


class Kube:
    """Object-level calls as one identity (admin or impersonated), over shared discovery."""

    def __init__(self, api: client.ApiClient, discovery: Discovery, *, timeout: float = REQUEST_TIMEOUT) -> None:
        self.api = api
        self.discovery = discovery
        self.timeout = timeout

    def resource(self, api_version: str | None, kind: str) -> Resource:
        return self.discovery.resolve(api_version, kind)

    def resource_of(self, manifest: dict[str, Any]) -> Resource:
        return self.resource(str(manifest["apiVersion"]), str(manifest["kind"]))

    def object_path(self, manifest: dict[str, Any], *, with_name: bool = True) -> str:
        resource = self.resource_of(manifest)
        metadata = manifest.get("metadata") or {}
        namespace = metadata.get("namespace")
        if resource.namespaced and not namespace:
            raise InputError(
                f"{manifest['kind']} {metadata.get('name')} is namespaced but has no metadata.namespace",
                hint='set metadata.namespace, e.g. "{{ tenant.namespace }}"',
            )
        return resource.path(namespace if resource.namespaced else None, metadata["name"] if with_name else None)

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return request(self.api, method, path, timeout=self.timeout, **kwargs)

    def get(self, resource: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            return self._call("GET", resource.path(namespace, name))
        except ApiError as exc:
            if exc.status == 404 and not isinstance(exc, KindNotServed):
                return None
            raise

    def list(
        self, resource: Resource, namespace: str | None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        query = {"labelSelector": label_selector} if label_selector else None
        items: list[dict[str, Any]] = self._call("GET", resource.path(namespace), query=query).get("items", [])
        for item in items:  # list items carry neither; steps and redaction need them
            item.setdefault("kind", resource.kind)
            item.setdefault("apiVersion", resource.group_version)
        return items

    def apply(
        self, manifest: dict[str, Any], field_manager: str, *, dry_run: bool = False, subresource: str | None = None
    ) -> dict[str, Any]:
        """Server-side apply, taking over fields from other managers (the scenario owns them)."""
        query = {"fieldManager": field_manager, "force": "true"}
        if dry_run:
            query["dryRun"] = "All"
        return self._call(
            "PATCH",
            self.object_path(manifest) + (f"/{subresource}" if subresource else ""),
            query=query,
            body=manifest,
            content_type="application/apply-patch+yaml",
        )

    def create(self, manifest: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        query = {"dryRun": "All"} if dry_run else None
        return self._call("POST", self.object_path(manifest, with_name=False), query=query, body=manifest)

    def update(self, manifest: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        query = {"dryRun": "All"} if dry_run else None
        return self._call("PUT", self.object_path(manifest), query=query, body=manifest)

    def patch(self, manifest: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        query = {"dryRun": "All"} if dry_run else None
        return self._call(
            "PATCH",
            self.object_path(manifest),
            query=query,
            body=manifest,
            content_type="application/merge-patch+json",
        )

    def delete(self, resource: Resource, namespace: str | None, name: str, *, dry_run: bool = False) -> bool:
        """Delete (dependents in the background); False when there was nothing to delete."""
        query = {"propagationPolicy": "Background"}
        if dry_run:
            query["dryRun"] = "All"
        try:
            self._call("DELETE", resource.path(namespace, name), query=query)
        except ApiError as exc:
            if exc.status == 404 and not isinstance(exc, KindNotServed):
                return False
            if exc.status == 409 and resource.kind == "Namespace":
                return True  # already terminating: "ensuring all content is removed"
            raise
        return True
