"""The webhook server over real HTTPS on 127.0.0.1, without a cluster.

Requests go through ``urllib`` with only the server's own CA trusted, as the apiserver does
with the registration's ``caBundle``.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from harness.webhooks.certs import ServingMaterial, create_serving_material, service_dns_names
from harness.webhooks.lookup import CachedLookup, NamespaceInfo, StaticNamespaceLookup
from harness.webhooks.policy import (
    GID_ANNOTATION,
    GLOBAL_FS_ANNOTATION,
    TENANT_LABEL,
    UID_ANNOTATION,
    Tenant,
    mutate_pod,
)
from harness.webhooks.review import (
    AdmissionRequest,
    ReviewError,
    Verdict,
    decide,
    parse_review,
    review_response,
)
from harness.webhooks.server import Mode, RequestRecord, WebhookServer

UID = 51001
ROOT = "/global/cfs/projects/alpha"
ALPHA = NamespaceInfo(
    "alpha",
    {TENANT_LABEL: "alpha"},
    {UID_ANNOTATION: str(UID), GID_ANNOTATION: str(UID), GLOBAL_FS_ANNOTATION: ROOT},
)


def server_threads() -> list[threading.Thread]:
    names = ("webhook-server", "process_request")
    return [t for t in threading.enumerate() if any(n in t.name for n in names)]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[WebhookServer]:
    lookup = StaticNamespaceLookup({"alpha": ALPHA})
    with WebhookServer(tmp_path / "webhook", lookup=lookup, slow_seconds=5) as s:
        yield s
    assert not server_threads(), "the server left threads behind"


def context_for(server: WebhookServer) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=server.ca_bundle.decode())


def review(
    obj: dict[str, Any],
    *,
    uid: str = "u-1",
    operation: str = "CREATE",
    kind: str = "Pod",
) -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": "", "version": "v1", "kind": kind},
            "resource": {"group": "", "version": "v1", "resource": kind.lower() + "s"},
            "namespace": "alpha",
            "name": obj.get("metadata", {}).get("name", ""),
            "operation": operation,
            "userInfo": {"username": "alice"},
            "object": obj,
            "dryRun": False,
        },
    }


def post(
    server: WebhookServer,
    path: str,
    body: bytes | dict[str, Any],
    timeout: float = 5,
) -> dict[str, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(server.url + path, data=data, headers=headers)
    with urllib.request.urlopen(request, context=context_for(server), timeout=timeout) as response:
        assert response.headers["Content-Type"] == "application/json"
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def http_error(server: WebhookServer, path: str, body: bytes) -> int:
    request = urllib.request.Request(server.url + path, data=body)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, context=context_for(server), timeout=5)
    caught.value.close()
    return caught.value.code


def pod(name: str = "p", **security: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "alpha"},
        "spec": {"containers": [{"name": "app", "image": "x", "securityContext": security}]},
    }


def global_fs_pod(uid: int = UID) -> dict[str, Any]:
    body = pod(
        "analysis",
        runAsUser=uid,
        runAsGroup=UID,
        allowPrivilegeEscalation=False,
        capabilities={"drop": ["ALL"]},
    )
    body["spec"]["containers"][0]["volumeMounts"] = [{"name": "project", "mountPath": "/p"}]
    body["spec"]["volumes"] = [{"name": "project", "hostPath": {"path": f"{ROOT}/work"}}]
    return body


def refused(url: str) -> bool:
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


# -- the wire --------------------------------------------------------------------------


def test_healthz_over_tls_with_the_servers_ca(server: WebhookServer) -> None:
    assert server.url.startswith("https://127.0.0.1:")
    with urllib.request.urlopen(server.url + "/healthz", context=context_for(server), timeout=5) as response:
        assert response.status == 200 and response.read() == b"ok"


def test_a_privileged_pod_is_denied_with_the_same_uid_and_the_reasons(server: WebhookServer) -> None:
    answer = post(server, "/validate", review(pod(privileged=True), uid="abc-123"))
    assert answer["apiVersion"] == "admission.k8s.io/v1" and answer["kind"] == "AdmissionReview"
    response = answer["response"]
    assert response["uid"] == "abc-123"
    assert response["allowed"] is False
    assert response["status"]["code"] == 403
    assert "[privileged]" in response["status"]["message"]
    assert "patch" not in response


def test_a_compliant_global_fs_pod_is_allowed(server: WebhookServer) -> None:
    response = post(server, "/validate", review(global_fs_pod()))["response"]
    assert response == {"uid": "u-1", "allowed": True}


def test_a_wrong_uid_is_denied_using_the_namespace_lookup(server: WebhookServer) -> None:
    response = post(server, "/validate", review(global_fs_pod(uid=1000)))["response"]
    assert response["allowed"] is False
    assert "[run-as-user-mismatch]" in response["status"]["message"]


def test_mutate_returns_a_base64_json_patch(server: WebhookServer) -> None:
    obj = global_fs_pod()
    response = post(server, "/mutate", review(obj))["response"]
    assert response["allowed"] is True and response["patchType"] == "JSONPatch"
    patch = json.loads(base64.b64decode(response["patch"]))
    assert patch == mutate_pod(obj, ALPHA.tenant())
    assert {
        "op": "add",
        "path": "/spec/securityContext",
        "value": {"seccompProfile": {"type": "RuntimeDefault"}},
    } in patch


def test_mutate_never_denies_and_leaves_updates_alone(server: WebhookServer) -> None:
    assert post(server, "/mutate", review(pod(privileged=True)))["response"]["allowed"] is True
    response = post(server, "/mutate", review(pod(), operation="UPDATE"))["response"]
    assert response == {"uid": "u-1", "allowed": True}


def test_the_apiservers_timeout_query_is_ignored(server: WebhookServer) -> None:
    assert post(server, "/validate?timeout=5s", review(pod()))["response"]["allowed"] is True


def test_an_unknown_namespace_has_no_tenant(server: WebhookServer) -> None:
    body = review(global_fs_pod())
    body["request"]["namespace"] = "nobody"
    response = post(server, "/validate", body)["response"]
    assert "[hostpath-outside-global-fs]" in response["status"]["message"]
    body = review(pod())
    body["request"]["namespace"] = "nobody"
    assert post(server, "/validate", body)["response"]["allowed"] is True


def test_a_failing_lookup_denies_and_says_why(tmp_path: Path) -> None:
    def broken(name: str) -> NamespaceInfo | None:
        raise ConnectionError("apiserver unreachable, token=do-not-log")

    with WebhookServer(tmp_path / "wh", lookup=broken) as server:
        for path in ("/validate", "/mutate"):
            response = post(server, path, review(pod()))["response"]
            assert response["allowed"] is False
            message = response["status"]["message"]
            assert message.startswith("[namespace-lookup-failed] cannot read namespace alpha")
            assert "do-not-log" not in message
        assert [r.codes for r in server.requests] == [("namespace-lookup-failed",)] * 2


NO_REQUEST = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[]", 400),
        (json.dumps({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview"}).encode(), 400),
        (json.dumps({**NO_REQUEST, "request": {}}).encode(), 400),
    ],
)
def test_malformed_reviews_get_400(server: WebhookServer, body: bytes, status: int) -> None:
    assert http_error(server, "/validate", body) == status
    assert server.requests[-1].decision == "bad-request"


def test_unknown_paths_get_404(server: WebhookServer) -> None:
    assert http_error(server, "/admit", b"{}") == 404
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(server.url + "/metrics", context=context_for(server), timeout=5)
    caught.value.close()
    assert caught.value.code == 404


def test_other_kinds_pass_untouched_and_their_contents_are_never_logged(
    server: WebhookServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="harness.webhooks")
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"password": base64.b64encode(b"hunter2").decode()},
        "stringData": {"token": "s3cr3t-t0ken"},
    }
    response = post(server, "/validate", review(secret, kind="Secret"))["response"]
    assert response == {"uid": "u-1", "allowed": True}
    env_pod = pod()
    env_pod["spec"]["containers"][0]["env"] = [{"name": "TOKEN", "value": "s3cr3t-t0ken"}]
    post(server, "/validate", review(env_pod))
    logged = repr(server.requests) + caplog.text
    assert "s3cr3t-t0ken" not in logged and "hunter2" not in logged and "aHVudGVyMg" not in logged
    assert [r.name for r in server.requests] == ["db", "p"]


def test_the_request_log_has_metadata_of_each_request(server: WebhookServer) -> None:
    before = time.time()
    post(server, "/validate", review(pod(privileged=True), uid="u-9"))
    post(server, "/mutate", review(global_fs_pod(), uid="u-10"))
    first, second = server.requests
    assert (first.path, first.uid, first.namespace, first.name, first.operation) == (
        "/validate",
        "u-9",
        "alpha",
        "p",
        "CREATE",
    )
    assert first.decision == "denied" and first.codes == ("privileged",) and first.mode == "normal"
    assert second.decision == "allowed" and second.patch_ops == 3 and second.delivered
    assert before <= first.time <= second.time <= time.time()
    server.clear_requests()
    assert server.requests == []


# -- certificates ------------------------------------------------------------------------


def test_keys_are_private_and_the_certificate_names_only_the_loopback_ip(server: WebhookServer) -> None:
    material = server.material
    assert material.key_file.stat().st_mode & 0o777 == 0o600
    assert material.key_file.parent.stat().st_mode & 0o777 == 0o700
    assert not list(material.key_file.parent.glob("ca.key")), "the CA key is never written"
    cert = x509.load_pem_x509_certificate(material.cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert names.get_values_for_type(x509.DNSName) == []
    ca = x509.load_pem_x509_certificate(server.ca_bundle)
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)


def test_a_client_that_does_not_trust_the_ca_is_refused(server: WebhookServer) -> None:
    with pytest.raises(urllib.error.URLError) as caught:
        urllib.request.urlopen(server.url + "/healthz", context=ssl.create_default_context(), timeout=5)
    assert isinstance(caught.value.reason, ssl.SSLCertVerificationError)
    # and the server keeps serving the clients that do
    with urllib.request.urlopen(server.url + "/healthz", context=context_for(server), timeout=5) as response:
        assert response.read() == b"ok"


def test_a_server_on_mounted_material_answers_to_the_service_name_and_reports_each_review(tmp_path: Path) -> None:
    # As in the pod: a kubernetes.io/tls Secret's files, a certificate for the Service's names only.
    made = create_serving_material(tmp_path / "made", None, dns_names=service_dns_names("hook", "spin-webhook"))
    mounted = tmp_path / "tls"
    mounted.mkdir()
    for source, name in (
        (made.cert_file, "tls.crt"),
        (made.key_file, "tls.key"),
        (tmp_path / "made" / "ca.crt", "ca.crt"),
    ):
        (mounted / name).write_bytes(source.read_bytes())
    material = ServingMaterial.from_directory(mounted)
    cert = x509.load_pem_x509_certificate(material.cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "hook.spin-webhook.svc" in names.get_values_for_type(x509.DNSName)
    assert names.get_values_for_type(x509.IPAddress) == []
    seen: list[RequestRecord] = []
    lookup = StaticNamespaceLookup({"alpha": ALPHA})
    with WebhookServer(None, lookup=lookup, material=material, on_request=seen.append) as server:
        context = ssl.create_default_context(cadata=material.ca_pem.decode())

        def exchange(request: bytes, name: str = "hook.spin-webhook.svc") -> bytes:
            raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            with raw, context.wrap_socket(raw, server_hostname=name) as tls:
                tls.sendall(request)
                return b"".join(iter(lambda: tls.recv(65536), b""))

        assert exchange(b"GET /healthz HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 200")
        with pytest.raises(ssl.SSLCertVerificationError):  # the apiserver dials the name, never the IP
            exchange(b"GET /healthz HTTP/1.0\r\n\r\n", name="127.0.0.1")
        body = json.dumps(review(global_fs_pod(UID + 1), uid="u-9")).encode()
        head = f"POST /validate HTTP/1.0\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        answer = json.loads(exchange(head + body).split(b"\r\n\r\n", 1)[1])
        assert answer["response"]["allowed"] is False
    assert [(r.uid, r.decision) for r in seen] == [("u-9", "denied")]
    assert seen == server.requests


def test_new_or_given_certificates_not_both(tmp_path: Path) -> None:
    material = create_serving_material(tmp_path / "m")
    with pytest.raises(ValueError, match="directory"):
        WebhookServer(tmp_path / "w", lookup=StaticNamespaceLookup(), material=material)
    with pytest.raises(ValueError, match="directory"):
        WebhookServer(None, lookup=StaticNamespaceLookup())
    with pytest.raises(ValueError, match="IP address or a DNS name"):
        create_serving_material(tmp_path / "n", None)


def test_each_server_has_its_own_ca(tmp_path: Path) -> None:
    lookup = StaticNamespaceLookup()
    one = WebhookServer(tmp_path / "one", lookup=lookup)
    two = WebhookServer(tmp_path / "two", lookup=lookup)
    assert one.ca_bundle != two.ca_bundle


# -- modes ---------------------------------------------------------------------------------


def test_deny_all_denies_everything(server: WebhookServer) -> None:
    server.mode = "deny-all"
    assert server.mode is Mode.DENY_ALL
    for path in ("/validate", "/mutate"):
        response = post(server, path, review(pod()))["response"]
        assert response["allowed"] is False and response["status"]["message"].startswith("[deny-all]")
    server.mode = Mode.NORMAL
    assert post(server, "/validate", review(pod()))["response"]["allowed"] is True


def test_slow_outlasts_the_client_and_stop_does_not_wait_for_it(tmp_path: Path) -> None:
    server = WebhookServer(tmp_path / "wh", lookup=StaticNamespaceLookup(), slow_seconds=60)
    with server:
        server.mode = Mode.SLOW
        started = time.monotonic()
        with pytest.raises((TimeoutError, urllib.error.URLError)):
            post(server, "/validate", review(pod()), timeout=0.5)
        assert time.monotonic() - started < 5
        # health checks stay fast: only admission answers are slowed
        with urllib.request.urlopen(server.url + "/healthz", context=context_for(server), timeout=5) as r:
            assert r.read() == b"ok"
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 5, "stop() waited for the slow handler"
    assert not server_threads()
    # (whether the late answer counts as delivered depends on TCP timing: not asserted)
    assert [r.mode for r in server.requests] == ["slow"]


def test_slow_answers_after_the_delay_when_the_client_waits(tmp_path: Path) -> None:
    with WebhookServer(tmp_path / "wh", lookup=StaticNamespaceLookup(), slow_seconds=0.3) as server:
        server.mode = Mode.SLOW
        started = time.monotonic()
        assert post(server, "/validate", review(pod()), timeout=5)["response"]["allowed"] is True
        assert time.monotonic() - started >= 0.3
        assert server.requests[0].seconds >= 0.3  # logged before the answer was written


def test_down_refuses_connections_and_normal_serves_again_on_the_same_port(server: WebhookServer) -> None:
    url = server.url
    server.mode = Mode.DOWN
    assert not server.running and refused(url)
    with pytest.raises(urllib.error.URLError) as caught:
        urllib.request.urlopen(url + "/healthz", context=context_for(server), timeout=5)
    assert isinstance(caught.value.reason, ConnectionRefusedError)
    assert not [t for t in threading.enumerate() if t.name.startswith("webhook-server")]
    server.mode = Mode.NORMAL
    assert server.running and server.url == url
    assert post(server, "/validate", review(pod()))["response"]["allowed"] is True


# -- lifetime ------------------------------------------------------------------------------


def test_stop_leaves_no_thread_or_socket(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    server = WebhookServer(tmp_path / "wh", lookup=StaticNamespaceLookup())
    with server:
        url = server.url
        for _ in range(5):
            post(server, "/validate", review(pod()))
        assert not refused(url)
    assert refused(url)
    assert set(threading.enumerate()) <= before
    server.stop()  # a second stop is harmless


def test_start_twice_is_an_error_and_stop_before_start_is_harmless(tmp_path: Path) -> None:
    server = WebhookServer(tmp_path / "wh", lookup=StaticNamespaceLookup())
    server.stop()
    with pytest.raises(RuntimeError, match="not been started"):
        _ = server.url
    with server, pytest.raises(RuntimeError, match="already started"):
        server.start()
    with pytest.raises(RuntimeError, match="starts once"):
        server.start()
    server.mode = Mode.DOWN
    server.mode = Mode.NORMAL  # after stop, switching modes must not bind again
    assert not server.running and refused(server.url)


def test_a_server_started_down_has_a_port_but_no_listener(tmp_path: Path) -> None:
    server = WebhookServer(tmp_path / "wh", lookup=StaticNamespaceLookup())
    server.mode = Mode.DOWN
    with server:
        assert server.port > 0 and not server.running and refused(server.url)
        server.mode = Mode.NORMAL
        assert not refused(server.url)


def test_exactly_one_source_of_namespaces(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        WebhookServer(tmp_path / "wh")
    with pytest.raises(ValueError, match="exactly one"):
        WebhookServer(tmp_path / "wh", lookup=StaticNamespaceLookup(), kubeconfig=tmp_path / "kc")


def test_concurrent_requests_are_answered(server: WebhookServer) -> None:
    results: list[bool] = []

    def one(index: int) -> None:
        answer = post(server, "/validate", review(pod(privileged=index % 2 == 0), uid=f"u-{index}"))
        results.append(answer["response"]["uid"] == f"u-{index}")

    workers = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert results == [True] * 12
    assert sorted(r.decision for r in server.requests) == ["allowed"] * 6 + ["denied"] * 6


# -- review and lookup, without the network --------------------------------------------------


def test_parse_review_reports_what_is_wrong() -> None:
    with pytest.raises(ReviewError, match="not JSON"):
        parse_review(b"\xff")
    with pytest.raises(ReviewError, match=r"request\.uid"):
        parse_review(json.dumps(NO_REQUEST).encode())
    parsed = parse_review(json.dumps(review(pod(), uid="x")).encode())
    assert (parsed.uid, parsed.kind, parsed.namespace, parsed.name, parsed.operation) == (
        "x",
        "Pod",
        "alpha",
        "p",
        "CREATE",
    )


def test_decide_scopes_to_pod_creates_and_updates() -> None:
    tenant = Tenant()
    bad = pod(privileged=True)

    def request(operation: str = "CREATE", sub: str = "", kind: str = "Pod") -> AdmissionRequest:
        return AdmissionRequest("u", kind, "alpha", "p", operation, sub, bad)

    assert not decide("validate", request(), tenant).allowed
    assert not decide("validate", request("UPDATE", "ephemeralcontainers"), tenant).allowed
    assert decide("validate", request("UPDATE", "status"), tenant).allowed
    assert decide("validate", request("DELETE"), tenant).allowed
    assert decide("validate", request(kind="ConfigMap"), tenant).allowed
    assert decide("mutate", request("UPDATE", "ephemeralcontainers"), tenant).patch == []
    with pytest.raises(ValueError, match="unknown endpoint"):
        decide("audit", request(), tenant)


def test_review_response_shapes() -> None:
    assert review_response("u", Verdict(True)) == {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": {"uid": "u", "allowed": True},
    }
    denied = review_response("u", Verdict(False, "[x] no", ("x",)))["response"]
    assert denied["status"] == {"code": 403, "reason": "Forbidden", "message": "[x] no"}
    patched = review_response("u", Verdict(True, patch=[{"op": "add", "path": "/a", "value": 1}]))["response"]
    assert json.loads(base64.b64decode(patched["patch"])) == [{"op": "add", "path": "/a", "value": 1}]


def test_cached_lookup_remembers_for_ttl_and_never_caches_errors() -> None:
    now = [100.0]
    calls: list[str] = []
    failing = [True]

    def fetch(name: str) -> NamespaceInfo | None:
        calls.append(name)
        if failing[0]:
            raise ConnectionError("down")
        return ALPHA if name == "alpha" else None

    cached = CachedLookup(fetch, ttl=5, clock=lambda: now[0])
    with pytest.raises(ConnectionError):
        cached("alpha")
    failing[0] = False
    assert cached("alpha") is ALPHA
    assert cached("gone") is None
    now[0] += 4.9
    assert cached("alpha") is ALPHA and cached("gone") is None
    assert calls == ["alpha", "alpha", "gone"]
    now[0] += 0.2
    cached("alpha")
    assert calls[-1] == "alpha" and len(calls) == 4
    cached.invalidate("alpha")
    cached("alpha")
    cached.invalidate()
    cached("gone")
    assert len(calls) == 6
