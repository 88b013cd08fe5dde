"""Checks of the ingress scenario that a declarative step cannot express.

The tenant's TLS Secret is made here rather than in a template: its certificate must name the
tenant's host, a template cannot generate a key, and a key committed to the repository would
be a key anyone can read. Nothing here returns or raises text that contains key material.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness.scenarios import CheckContext

TLS_TYPE = "kubernetes.io/tls"
#: How long an issued certificate is valid, and how close to its end setup replaces it.
VALIDITY = datetime.timedelta(days=90)
RENEW_BEFORE = datetime.timedelta(days=1)


def _refused(exc: ApiException) -> str:
    """An API error by status and reason only: a Secret's error body is never shown."""
    return f"{exc.status} {exc.reason}"


def _issue(host: str) -> tuple[bytes, bytes]:
    """A self-signed serving certificate for ``host`` and its key, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def _problems(secret: Any, host: str) -> list[str]:
    """What keeps ``secret`` from serving ``host`` (empty when nothing does)."""
    if secret.type != TLS_TYPE:
        return [f"type is {secret.type}, not {TLS_TYPE}"]
    data = secret.data or {}
    try:
        certificate = x509.load_pem_x509_certificate(base64.b64decode(data.get("tls.crt", "")))
    except ValueError:
        return ["tls.crt is not a PEM certificate"]
    try:
        key = serialization.load_pem_private_key(base64.b64decode(data.get("tls.key", "")), password=None)
    except (ValueError, TypeError):
        return ["tls.key is not an unencrypted PEM private key"]
    found = []
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = names.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        dns_names = []
    if host not in dns_names:
        found.append(f"the certificate names {dns_names or 'no DNS name'}, not {host}")
    if certificate.not_valid_after_utc - RENEW_BEFORE < datetime.datetime.now(datetime.UTC):
        found.append(f"the certificate expires {certificate.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.PEM, public) != certificate.public_key().public_bytes(
        serialization.Encoding.PEM, public
    ):
        found.append("tls.key is not the certificate's key")
    return found


def _read_secret(core: client.CoreV1Api, name: str, namespace: str, timeout: float | None = None) -> Any:
    try:
        return core.read_namespaced_secret(name, namespace, _request_timeout=timeout)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise AssertionError(f"reading Secret {namespace}/{name} failed: {_refused(exc)}") from None


def issue_certificate(api: client.ApiClient, ctx: CheckContext, secret: str, host: str) -> str:
    """the tenant has a TLS Secret with a self-signed certificate for its host.

    Creates the Secret, or replaces one that cannot serve ``host`` (wrong type, another host,
    a key that does not match, expiring within a day); a good Secret is left as it is, so
    running setup again changes nothing.
    """
    assert ctx.tenant is not None, "issue_certificate runs per tenant"
    core = client.CoreV1Api(api)
    namespace = ctx.tenant.namespace
    existing = _read_secret(core, secret, namespace)
    problems = _problems(existing, host) if existing is not None else ["missing"]
    if not problems:
        return f"Secret {secret} already holds a certificate for {host}"
    certificate, key = _issue(host)
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(name=secret, namespace=namespace, labels={"app.kubernetes.io/name": "site"}),
        type=TLS_TYPE,
        data={"tls.crt": base64.b64encode(certificate).decode(), "tls.key": base64.b64encode(key).decode()},
    )
    try:
        if existing is not None:  # a Secret's type cannot change in place
            core.delete_namespaced_secret(secret, namespace)
        core.create_namespaced_secret(namespace, body)
    except ApiException as exc:
        raise AssertionError(f"writing Secret {namespace}/{secret} failed: {_refused(exc)}") from None
    return f"Secret {secret} holds a new self-signed certificate for {host} ({'; '.join(problems)} before)"


def serving_certificate(api: client.ApiClient, ctx: CheckContext, secret: str, host: str) -> str:
    """the TLS Secret holds a certificate for the tenant's host and the matching key."""
    assert ctx.tenant is not None, "serving_certificate runs per tenant"
    found = _read_secret(client.CoreV1Api(api), secret, ctx.tenant.namespace)
    assert found is not None, f"Secret {ctx.tenant.namespace}/{secret} not found"
    problems = _problems(found, host)
    assert not problems, f"Secret {secret} cannot serve {host}: {'; '.join(problems)}"
    return f"Secret {secret} ({TLS_TYPE}) serves {host} with the certificate's own key"


def policy_in_force(api: client.ApiClient, ctx: CheckContext, host: str, ingress_class: str) -> str:
    """the host policy refuses an Ingress for a host the tenant does not own.

    Asks with a dry run, so nothing is stored even before the policy takes effect; a new
    policy reaches admission a moment after it is created, hence a check that can wait.
    """
    assert ctx.tenant is not None, "policy_in_force runs per tenant"
    body = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "policy-probe", "namespace": ctx.tenant.namespace},
        "spec": {
            "ingressClassName": ingress_class,
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "site", "port": {"name": "http"}}},
                            }
                        ]
                    },
                }
            ],
        },
    }
    try:
        client.NetworkingV1Api(api).create_namespaced_ingress(ctx.tenant.namespace, body, dry_run="All")
    except ApiException as exc:
        if "ValidatingAdmissionPolicy" in str(exc.body):
            return f"an Ingress for {host} is refused by the policy ({exc.status} {exc.reason})"
        raise AssertionError(f"a dry-run Ingress for {host} failed otherwise: {exc.status} {exc.body}") from None
    raise AssertionError(f"not in force yet: a dry-run Ingress for {host} was admitted")


def service_routes_to_pods(api: client.ApiClient, ctx: CheckContext, service: str, count: int) -> str:
    """the Service's ready endpoints are exactly its running pods.

    The pods are those the Service selects; the endpoints those its EndpointSlices list as
    ready. A selector that matches nothing, a pod that is not running or an endpoint left
    behind by a deleted pod shows as a difference.
    """
    assert ctx.tenant is not None, "service_routes_to_pods runs per tenant"
    namespace = ctx.tenant.namespace
    core = client.CoreV1Api(api)
    selector = core.read_namespaced_service(service, namespace).spec.selector or {}
    assert selector, f"Service {service} has no selector"
    pods = core.list_namespaced_pod(namespace, label_selector=",".join(f"{k}={v}" for k, v in selector.items()))
    running = {p.metadata.name for p in pods.items if p.status.phase == "Running" and not p.metadata.deletion_timestamp}
    slices = client.DiscoveryV1Api(api).list_namespaced_endpoint_slice(
        namespace, label_selector=f"kubernetes.io/service-name={service}"
    )
    ready = {
        endpoint.target_ref.name
        for item in slices.items
        for endpoint in item.endpoints or []
        if endpoint.target_ref is not None and (endpoint.conditions is None or endpoint.conditions.ready is not False)
    }
    assert len(running) == count, f"{len(running)} running pod(s) selected by Service {service}, expected {count}"
    assert ready == running, f"Service {service}: ready endpoints {sorted(ready)}, running pods {sorted(running)}"
    return f"Service {service} routes to its {count} running pod(s): {', '.join(sorted(ready))}"


def _load_balancer(api: client.ApiClient, namespace: str, ingress: str) -> str:
    status = client.NetworkingV1Api(api).read_namespaced_ingress(ingress, namespace).status
    points = (status.load_balancer.ingress if status and status.load_balancer else None) or []
    address = next((p.ip or p.hostname for p in points if p.ip or p.hostname), None)
    assert address, f"Ingress {namespace}/{ingress} has no address in status.loadBalancer yet"
    return str(address)


class _HostConnection(http.client.HTTPSConnection):
    """HTTPS to ``address`` asking for ``host``: SNI, Host header and certificate check all use
    the host, as a client resolving the host to the ingress controller would."""

    def __init__(self, address: str, port: int, host: str, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=10, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


#: The tenant certificates last read, by (namespace, Secret): a probe during a hop keeps trusting
#: what the tenant stored while the apiserver restarts, so it measures the data path alone.
_LAST_TRUSTED: dict[tuple[str, str], str] = {}


#: Seconds a probe waits for the tenant's Secret when it has read it before: an apiserver that
#: accepts the request but cannot answer (etcd restarting) would otherwise count as the data
#: path's outage.
SECRET_READ_TIMEOUT = 2.0


def _trusted_certificate(api: client.ApiClient, namespace: str, secret: str) -> str:
    cached = _LAST_TRUSTED.get((namespace, secret))
    timeout = SECRET_READ_TIMEOUT if cached is not None else None
    try:
        found = _read_secret(client.CoreV1Api(api), secret, namespace, timeout)
    except (AssertionError, OSError, urllib3.exceptions.HTTPError):
        if cached is not None:
            return cached
        raise
    assert found is not None, f"Secret {namespace}/{secret} not found"
    trusted = base64.b64decode((found.data or {}).get("tls.crt", "")).decode()
    _LAST_TRUSTED[namespace, secret] = trusted
    return trusted


def https_page(
    api: client.ApiClient, ctx: CheckContext, ingress: str, host: str, secret: str, text: str, address: str = ""
) -> str:
    """HTTPS to the tenant's host through the ingress controller returns the tenant's page.

    Connects to ``address`` (``host[:port]``; by default the Ingress's
    ``status.loadBalancer``), trusting only the certificate in the tenant's TLS Secret, so a
    controller serving its default certificate, or another tenant's, fails the check.
    """
    assert ctx.tenant is not None, "https_page runs per tenant"
    namespace = ctx.tenant.namespace
    target = urlsplit("//" + (address or _load_balancer(api, namespace, ingress)))
    server, port = target.hostname or "", target.port or 443
    trusted = _trusted_certificate(api, namespace, secret)
    where = f"GET https://{host}/ via {server}:{port}"
    connection = _HostConnection(server, port, host, ssl.create_default_context(cadata=trusted))
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        page = response.read(1 << 16).decode(errors="replace")
    except (OSError, http.client.HTTPException) as exc:
        raise AssertionError(f"{where}: {type(exc).__name__}: {exc}") from None
    finally:
        connection.close()
    assert response.status == 200, f"{where}: {response.status} {response.reason}"
    assert text in page, f"{where}: the page does not contain {text!r}: {page[:120]!r}"
    return f"{where}: 200, the page contains {text!r}"
