"""The API clients a scenario runs with: one set per thread of work.

A phase uses one ``ApiSession``; each probe of ``during`` has its own, so an apiserver
restart shows in that probe's timeline and never blocks another.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import urllib3
from kubernetes import client

from harness.kube.client import RecordingApiClient, api_client
from harness.scenarios.identity import impersonate
from harness.scenarios.rest import Discovery, Kube


class ApiSession:
    """API clients for one thread of work: admin, discovery, and impersonated identities.

    ``fail_fast`` turns off urllib3's silent connection retries: a probe attempt must report
    the refused connection at once, or one attempt stretches over seconds of outage and the
    timeline hides how long the API was gone.
    """

    def __init__(self, kubeconfig: Path, *, fail_fast: bool = False) -> None:
        self.admin_api = api_client(kubeconfig)
        if fail_fast:
            configuration = self.admin_api.configuration
            self.admin_api.close()
            configuration.retries = urllib3.Retry(total=False)
            self.admin_api = RecordingApiClient(configuration)
        self.discovery = Discovery(self.admin_api)
        self.admin = Kube(self.admin_api, self.discovery)
        self._identities: dict[tuple[str, tuple[str, ...]], Kube] = {}

    def as_user(self, user: str, groups: Sequence[str]) -> Kube:
        key = (user, tuple(groups))
        if key not in self._identities:
            self._identities[key] = Kube(impersonate(self.admin_api, user, groups), self.discovery)
        return self._identities[key]

    def impersonate_api(self, user: str, groups: Sequence[str] = ()) -> client.ApiClient:
        return self.as_user(user, groups).api

    def close(self) -> None:
        for kube in self._identities.values():
            kube.api.close()
        self._identities.clear()
        self.admin_api.close()
