"""The HTTPS side of the webhook server: one listening socket, its accept loop and handlers.

A ``Listener`` parses each AdmissionReview and asks its owner (``ReviewAnswerer``, in practice
``harness.webhooks.server.WebhookServer``) for the verdict, so the policy, the fault modes and
the request log stay with the server while sockets, TLS and HTTP stay here.
"""

from __future__ import annotations

import enum
import json
import logging
import socket
import socketserver
import ssl
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Protocol

from harness.webhooks.certs import ServingMaterial
from harness.webhooks.review import AdmissionRequest, ReviewError, Verdict, parse_review, review_response

if TYPE_CHECKING:
    from harness.webhooks.server import RequestRecord

log = logging.getLogger(__name__)

#: The apiserver's own request-size limit is 3 MiB; an AdmissionReview wraps the object.
MAX_BODY = 4 * 1024 * 1024
#: Seconds a connection may sit idle (including the TLS handshake) before it is dropped.
CONNECTION_TIMEOUT = 5.0
ENDPOINTS = ("validate", "mutate")


class Mode(enum.StrEnum):
    """How the server behaves; see ``harness.webhooks.server``."""

    NORMAL = "normal"
    DENY_ALL = "deny-all"
    SLOW = "slow"
    DOWN = "down"


class ReviewAnswerer(Protocol):
    """What a listener's handlers need from the server they answer for."""

    @property
    def mode(self) -> Mode: ...

    def sleep_slow(self) -> None:
        """Wait as the ``slow`` mode does (ended early when the server stops)."""

    def verdict(self, endpoint: str, request: AdmissionRequest, mode: Mode) -> Verdict:
        """The answer to one review at ``/validate`` or ``/mutate``."""
        ...

    def log_request(
        self,
        started: float,
        path: str,
        request: AdmissionRequest | None,
        decision: str,
        verdict: Verdict,
        mode: Mode,
    ) -> RequestRecord:
        """Keep the metadata of one request (never its body), before its answer is written."""

    def request_answered(self, record: RequestRecord, delivered: bool) -> None:
        """Note whether the answer to a logged request reached the client."""


class Listener(ThreadingHTTPServer):
    """One bound socket and its accept loop, answering for ``owner``; a new one is made after ``down``."""

    daemon_threads = False  # joined by server_close(): no handler outlives stop()
    block_on_close = True

    def __init__(self, address: tuple[str, int], owner: ReviewAnswerer, context: ssl.SSLContext) -> None:
        self.owner = owner
        self.context = context
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves a host name with getfqdn(); a loopback IP needs none.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        try:
            # The handshake happens on the handler thread's first read, under its timeout, so
            # a slow or hostile client cannot stall the accept loop.
            return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address
        except OSError:
            sock.close()
            raise

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Failed handshakes (a client not trusting our CA) and hung-up clients end up here.
        log.debug("webhook connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: Listener
    protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive threads
    server_version = "spin-harness-webhook"
    sys_version = ""
    timeout = CONNECTION_TIMEOUT

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("webhook %s: " + format, self.client_address[0], *args)

    def _send(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/healthz":
            self._send(200, b"ok")
        else:
            self._send(404, b"not found\n")

    def do_POST(self) -> None:
        started = time.time()
        path = self.path.split("?", 1)[0]  # the apiserver appends ?timeout=<n>s
        endpoint = path.strip("/")
        if endpoint not in ENDPOINTS:
            self._send(404, b"not found\n")
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._send(411, b"Content-Length required\n")
            return
        if not 0 <= length <= MAX_BODY:
            self._send(413, b"body too large\n")
            return
        owner = self.server.owner
        try:
            request = parse_review(self.rfile.read(length))
        except ReviewError as exc:
            record = owner.log_request(started, path, None, "bad-request", Verdict(False), owner.mode)
            self._answer(record, 400, f"{exc}\n".encode())
            return
        mode = owner.mode
        if mode is Mode.SLOW:
            owner.sleep_slow()
        verdict = owner.verdict(endpoint, request, mode)
        payload = json.dumps(review_response(request.uid, verdict)).encode()
        decision = "allowed" if verdict.allowed else "denied"
        record = owner.log_request(started, path, request, decision, verdict, mode)
        self._answer(record, 200, payload, "application/json")

    def _answer(self, record: RequestRecord, status: int, body: bytes, content_type: str = "text/plain") -> None:
        delivered = False
        try:
            self._send(status, body, content_type)
            delivered = True
        except OSError:
            pass  # the apiserver gave up waiting (slow mode) or the server stopped
        finally:
            self.server.owner.request_answered(record, delivered)


def tls_context(material: ServingMaterial) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(material.cert_file, material.key_file)
    context.set_alpn_protocols(["http/1.1"])  # the apiserver would prefer h2, which we do not speak
    return context
