"""Acting as a tenant's people: API clients that impersonate a user and their groups.

RBAC checks only mean something when the request really arrives as that person, so scenario
steps under ``as_user`` send ``Impersonate-User`` and one ``Impersonate-Group`` header per
group; the apiserver then authorises (and audits) the request as that identity. The generated
client keeps headers in a plain dict, which cannot repeat a header, so the headers are added
per request as a urllib3 ``HTTPHeaderDict``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kubernetes import client
from urllib3 import HTTPHeaderDict

from harness.kube.client import RecordingApiClient


class ImpersonatingApiClient(RecordingApiClient):
    """An ``ApiClient`` whose every request is made as ``user`` in ``groups`` (and whose
    ``Warning`` headers are recorded like every other client's)."""

    def __init__(self, configuration: client.Configuration, user: str, groups: Sequence[str] = ()) -> None:
        super().__init__(configuration)
        self.impersonated_user = user
        self.impersonated_groups = tuple(groups)

    def call_api(
        self,
        method: str,
        url: str,
        header_params: dict[str, str] | None = None,
        body: Any = None,
        post_params: Any = None,
        _request_timeout: Any = None,
    ) -> Any:
        headers = HTTPHeaderDict(header_params or {})
        headers["Impersonate-User"] = self.impersonated_user
        for group in self.impersonated_groups:
            headers.add("Impersonate-Group", group)
        return super().call_api(method, url, headers, body, post_params, _request_timeout)


def impersonate(admin: client.ApiClient, user: str, groups: Sequence[str] = ()) -> client.ApiClient:
    """A new client with ``admin``'s connection settings that acts as ``user`` in ``groups``.

    ``admin`` must be allowed to impersonate (cluster admins are). The caller closes it.
    """
    return ImpersonatingApiClient(admin.configuration, user, groups)
