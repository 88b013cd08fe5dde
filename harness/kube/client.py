"""Kubernetes API clients built from a kubeconfig, and the raw HTTP calls the harness needs.

Every client the harness builds is a ``RecordingApiClient``: its REST layer passes the
apiserver's ``Warning`` headers to ``harness.kube.api_warnings`` (which keeps them when a
request is made on a tenant's behalf).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.config import kube_config

from harness import service_dirs
from harness.errors import InputError
from harness.kube.api_warnings import RecordingRESTClient


class RecordingApiClient(client.ApiClient):  # type: ignore[misc]
    """An ``ApiClient`` whose REST layer records the apiserver's ``Warning`` headers."""

    rest_client: RecordingRESTClient

    def __init__(self, configuration: client.Configuration | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(configuration, *args, **kwargs)
        self.rest_client.close()
        self.rest_client = RecordingRESTClient(self.configuration)


def api_client(kubeconfig: Path, *, context: str | None = None, retries: int | None = None) -> client.ApiClient:
    """A fresh ApiClient for ``kubeconfig`` (never the process-global default configuration).

    ``retries=0`` for probes: a probe measures each attempt, so the client must not retry.
    """
    if not kubeconfig.is_file():
        raise InputError(f"{kubeconfig}: no such kubeconfig file", hint="check --kubeconfig")
    _forget_removed_key_files()
    try:
        key_files = service_dirs.kube_config_files()
    except OSError as exc:
        raise InputError(
            f"cannot make a folder for {kubeconfig}'s keys under the state root: {exc}",
            hint="make SPIN_HARNESS_STATE (or ~/.local/state/spin-harness) writable",
        ) from None
    try:
        configuration = type.__call__(client.Configuration)  # never the process-global default
        config.load_kube_config(
            config_file=str(kubeconfig),
            context=context,
            client_configuration=configuration,
            persist_config=True,
            temp_file_path=str(key_files),
        )
    except (config.ConfigException, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InputError(
            f"{kubeconfig}: not a usable kubeconfig: {str(exc).splitlines()[0][:200]}",
            hint="check the file, or pass --context",
        ) from None
    except Exception as exc:  # the YAML parser's errors
        if type(exc).__module__.startswith("yaml"):
            raise InputError(f"{kubeconfig}: invalid YAML: {str(exc).splitlines()[0]}") from None
        raise
    api = RecordingApiClient(configuration)
    if retries is not None:
        api.configuration.retries = retries
        api.rest_client.pool_manager.connection_pool_kw["retries"] = retries
    return api


def _forget_removed_key_files() -> None:
    """Drop the client's memory of extracted key files that are gone.

    The client reuses the file it wrote for the same inline data earlier in the process; when
    that file's state root has been removed since (a test's temporary one), it must write anew.
    """
    written: dict[str, str] = getattr(kube_config, "_temp_files", {})
    for content, name in list(written.items()):
        if not Path(name).is_file():
            written.pop(content, None)


def get_raw(api: client.ApiClient, path: str, *, timeout: float = 5.0) -> tuple[int, str]:
    """GET a raw path such as ``/readyz`` or ``/version``; returns (status, body)."""
    return _raw(api, "GET", path, {"Accept": "application/json, */*"}, None, timeout)


def post_raw(api: client.ApiClient, path: str, obj: dict[str, Any], *, timeout: float = 10.0) -> tuple[int, str]:
    """POST ``obj`` as JSON to a raw path; returns (status, body).

    For hot paths such as cluster bring-up: the typed API classes cost seconds to import the
    first time, a raw call costs milliseconds.
    """
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    return _raw(api, "POST", path, headers, obj, timeout)


def _raw(
    api: client.ApiClient, verb: str, path: str, headers: dict[str, str], obj: dict[str, Any] | None, timeout: float
) -> tuple[int, str]:
    """One request through the client's own auth and TLS; an error status is returned, not raised."""
    method, url, header_params, body, post = api.param_serialize(
        verb, path, header_params=headers, body=obj, auth_settings=["BearerToken"]
    )
    try:
        response = api.call_api(
            method, url, header_params=header_params, body=body, post_params=post, _request_timeout=timeout
        )
        response.read()
    except client.ApiException as exc:
        return int(exc.status or 0), str(exc.body or exc.reason)
    return int(response.status), (response.data or b"").decode(errors="replace")


def server_version(api: client.ApiClient) -> dict[str, Any]:
    status, body = get_raw(api, "/version")
    if status != 200:
        raise RuntimeError(f"/version answered {status}: {body[:200]}")
    result: dict[str, Any] = json.loads(body)
    return result


def get_json(api: client.ApiClient, path: str, *, timeout: float = 10.0) -> dict[str, Any]:
    """GET ``path`` and decode JSON; ``RuntimeError`` with the status and body otherwise."""
    status, body = get_raw(api, path, timeout=timeout)
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}: {body[:300]}")
    result: dict[str, Any] = json.loads(body)
    return result
