"""The REST layer records ``Warning`` headers, over a real HTTP round trip, only on a tenant's behalf.

A small local HTTP server answers like an apiserver that warns (two header lines, one of them
UTF-8); the harness's real client (``RecordingApiClient``) talks to it.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator

import pytest
from kubernetes import client

from harness.kube.api_warnings import WarningLog, on_behalf_of, recording
from harness.kube.client import RecordingApiClient, get_raw
from harness.kube.secret_values import REDACTED, Scrubber
from harness.scenarios.identity import impersonate
from harness.versions import KubeVersion

V136 = KubeVersion(1, 36, 3)
HEADERS = ['299 - "spec.x: non-functional in v1.27+; use \\"y\\" instead"', '299 - "größe, \\"quoted\\""']


class _Warner(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"kind": "Status"}'
        status = 422 if "reject" in self.path else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for value in ["not a warning"] if "junk" in self.path else HEADERS:
            # send_header writes Latin-1; the apiserver writes UTF-8 bytes
            self.send_header("Warning", value.encode("utf-8").decode("latin-1"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def api() -> Iterator[client.ApiClient]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Warner)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    configuration = client.Configuration(host=f"http://127.0.0.1:{server.server_address[1]}")
    with contextlib.closing(RecordingApiClient(configuration)) as api:
        yield api
    server.shutdown()


def test_warnings_of_a_request_on_a_tenants_behalf_are_recorded(api: client.ApiClient) -> None:
    log = WarningLog()
    with (
        recording(log, version=V136, action="replay"),
        on_behalf_of(object_label="v1 Pod t/p", manifest="/m/pod.yaml", document=2) as heard,
    ):
        assert get_raw(api, "/api/v1/namespaces/t/pods/p?dryRun=All")[0] == 200
        assert get_raw(api, "/reject")[0] == 422  # a refusal's warnings count too
    assert heard == ['spec.x: non-functional in v1.27+; use "y" instead', 'größe, "quoted"']
    assert [(w.text, w.request) for w in log.entries] == [
        (heard[0], "GET /api/v1/namespaces/t/pods/p?dryRun=All"),
        (heard[1], "GET /api/v1/namespaces/t/pods/p?dryRun=All"),
        (heard[0], "GET /reject"),
        (heard[1], "GET /reject"),
    ]
    first = log.entries[0]
    assert (first.object, first.manifest, first.document, first.version, first.action) == (
        "v1 Pod t/p",
        "/m/pod.yaml",
        2,
        V136,
        "replay",
    )
    assert log.heard_at(V136) == log.entries and log.heard_at(KubeVersion(1, 35, 4)) == []


def test_requests_not_about_a_tenant_object_are_not_recorded(api: client.ApiClient) -> None:
    log = WarningLog()
    with recording(log, version=V136, action="replay"):
        get_raw(api, "/version")  # the harness's own read
    with on_behalf_of(object_label="v1 Pod t/p", manifest="/m/pod.yaml") as heard:
        get_raw(api, "/x")  # no log: the caller still hears it
    assert log.entries == [] and len(heard) == 2


def test_threads_the_harness_starts_do_not_inherit_the_context(api: client.ApiClient) -> None:
    log = WarningLog()
    with recording(log, version=V136, action="replay"), on_behalf_of(object_label="o", manifest="m"):
        probe = threading.Thread(target=get_raw, args=(api, "/probe"))
        probe.start()
        probe.join()
    assert log.entries == []


def test_impersonating_clients_record_too(api: client.ApiClient) -> None:
    log = WarningLog()
    with (
        contextlib.closing(impersonate(api, "alice", ["team"])) as alice,
        recording(log, version=V136, action="scenario s setup"),
        on_behalf_of(object_label="o", manifest="m"),
    ):
        get_raw(alice, "/x")
    assert len(log.entries) == 2


def test_a_header_that_is_not_a_warning_is_kept_as_unparsed_not_dropped(api: client.ApiClient) -> None:
    log = WarningLog()
    with recording(log, version=V136, action="replay"), on_behalf_of(object_label="o", manifest="m") as heard:
        get_raw(api, "/junk")
    assert heard == ["(unparsed Warning header) not a warning"]
    assert [w.text for w in log.entries] == heard


def test_secret_values_the_caller_knows_are_scrubbed_before_a_warning_is_kept(api: client.ApiClient) -> None:
    # The server's text happens to contain a tenant's Secret value ("größe"): neither the caller's
    # copy nor the log that becomes report evidence may keep it.
    scrubber = Scrubber()
    scrubber.learn({"apiVersion": "v1", "kind": "Secret", "stringData": {"password": "größe"}})
    log = WarningLog()
    with (
        recording(log, version=V136, action="replay"),
        on_behalf_of(object_label="v1 Pod t/p", manifest="/m/pod.yaml", scrub=scrubber.scrub) as heard,
    ):
        get_raw(api, "/api/v1/namespaces/t/pods/p")
    assert heard[1] == f'{REDACTED}, "quoted"'
    assert all("größe" not in w.text for w in log.entries) and len(log.entries) == 2
