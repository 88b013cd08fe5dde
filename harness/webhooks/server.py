"""A real HTTPS admission webhook on 127.0.0.1, with switches for fault tests.

The server answers ``admission.k8s.io/v1`` AdmissionReviews at ``/validate`` and ``/mutate``
with the platform policy (``harness.webhooks.policy``) and ``/healthz`` with ``ok``. The local
provider's apiserver runs on the same host, so it reaches the server by URL; the registration
(``registration_manifests``) carries the server's own CA as ``caBundle``.

Fault tests switch ``mode`` while the server runs:

``normal``     apply the policy.
``deny-all``   deny every review (is the webhook really consulted?).
``slow``       wait ``slow_seconds`` (by default longer than the 30 s any registration may set)
               before answering, so the apiserver's ``timeoutSeconds`` expires first.
``down``       close the listening socket: connections are refused, as with a crashed pod.
               Switching back re-binds the same port, so registrations stay valid.

Lifetime: ``with WebhookServer(...) as server:`` starts and stops it; stopping wakes slow
handlers, shuts the accept loop down and joins every handler thread, so nothing outlives the
block. Handler threads are not daemons for that reason, and every connection has a socket
timeout so a silent client cannot hold ``stop`` up for long.

The request log keeps metadata only (time, path, uid, namespace, name, operation, verdict);
request and response bodies are never logged or kept, whatever kind of object arrives.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

from harness.webhooks.certs import ServingMaterial, create_serving_material
from harness.webhooks.listener import Listener, Mode, tls_context
from harness.webhooks.lookup import CachedLookup, KubeNamespaceReader, NamespaceLookup
from harness.webhooks.manifests import registration_manifests, validating_admission_policy_manifests
from harness.webhooks.policy import Tenant
from harness.webhooks.review import (
    AdmissionRequest,
    Verdict,
    decide,
)

log = logging.getLogger(__name__)

#: Longer than the largest ``timeoutSeconds`` (30) a registration may set.
SLOW_SECONDS = 31.0

__all__ = [
    "Mode",
    "RequestRecord",
    "WebhookServer",
    "registration_manifests",
    "validating_admission_policy_manifests",
]


@dataclass(frozen=True)
class RequestRecord:
    """One admission request as the server saw it. No bodies, by design."""

    #: Wall-clock arrival time (seconds since the epoch).
    time: float
    path: str
    uid: str
    namespace: str
    name: str
    operation: str
    mode: str
    #: ``allowed``, ``denied`` or ``bad-request``.
    decision: str
    codes: tuple[str, ...] = ()
    patch_ops: int = 0
    #: False when writing the answer failed because the client had hung up (e.g. the apiserver
    #: timed out). Best effort: a write into a just-closed connection can still succeed. The
    #: record is logged before the answer is written, so it reads True until a failed write.
    delivered: bool = True
    seconds: float = 0.0


class WebhookServer:
    """The platform's admission webhook, served over HTTPS on ``host`` at ``port`` (0: ephemeral).

    Give either ``lookup`` (a callable from namespace name to ``NamespaceInfo``) or
    ``kubeconfig`` (Namespaces are then read from that cluster, cached for ``cache_ttl``
    seconds). Give either ``directory``, where a new CA, certificate and 0600 key go, or
    ``material`` made elsewhere (in the cluster: mounted from a Secret). ``on_request`` is
    called with each ``RequestRecord`` once its answer has been written (or writing it failed).
    """

    def __init__(
        self,
        directory: Path | None,
        *,
        lookup: NamespaceLookup | None = None,
        kubeconfig: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        material: ServingMaterial | None = None,
        on_request: Callable[[RequestRecord], None] | None = None,
        slow_seconds: float = SLOW_SECONDS,
        cache_ttl: float = 5.0,
    ) -> None:
        if (lookup is None) == (kubeconfig is None):
            raise ValueError("give exactly one of lookup= or kubeconfig=")
        if (material is None) == (directory is None):
            raise ValueError("give exactly one of directory= (new certificates) or material= (existing ones)")
        self.host = host
        self.slow_seconds = slow_seconds
        self._given_lookup = lookup
        self._kubeconfig = kubeconfig
        self._cache_ttl = cache_ttl
        self._requested_port = port
        self._on_request = on_request
        if material is None:
            assert directory is not None
            material = create_serving_material(directory, host)
        self._material = material
        self._context = tls_context(self._material)
        self._lifecycle = threading.RLock()
        self._records_lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._mode = Mode.NORMAL
        self._port: int | None = None
        self._listener: Listener | None = None
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._reader: KubeNamespaceReader | None = None
        self._lookup: NamespaceLookup | None = None
        self._stopped = False

    # -- lifetime ------------------------------------------------------------------

    def start(self) -> WebhookServer:
        """Bind, start serving, and return self. A server starts once: ``RuntimeError`` after that."""
        with self._lifecycle:
            if self._port is not None or self._stopped:
                raise RuntimeError("the webhook server is already started (a server starts once)")
            if self._kubeconfig is not None:
                self._reader = KubeNamespaceReader.from_kubeconfig(self._kubeconfig)
                self._lookup = CachedLookup(self._reader, ttl=self._cache_ttl)
            else:
                self._lookup = self._given_lookup
            try:
                self._start_listener(self._requested_port)
            except BaseException:
                self._close_reader()
                raise
            if self._mode is Mode.DOWN:
                self._stop_listener()
        return self

    def stop(self) -> None:
        """Stop serving and join every thread; safe to call twice or after a failed start."""
        with self._lifecycle:
            self._stopped = self._port is not None
            self._stop_listener()
            self._close_reader()

    def __enter__(self) -> WebhookServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _start_listener(self, port: int) -> None:
        listener = Listener((self.host, port), self, self._context)
        self._wake = threading.Event()
        self._listener = listener
        self._port = int(listener.server_address[1])
        self._thread = threading.Thread(
            target=listener.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"webhook-server:{self._port}",
        )
        self._thread.start()

    def _stop_listener(self) -> None:
        listener, thread = self._listener, self._thread
        if listener is None:
            return
        self._wake.set()  # slow handlers answer now instead of holding server_close up
        listener.shutdown()
        listener.server_close()
        if thread is not None:
            thread.join()
        self._listener = self._thread = None

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # -- controls and facts ----------------------------------------------------------

    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, value: Mode | str) -> None:
        """Switch behaviour; ``down`` closes the socket, leaving ``down`` re-binds the same port."""
        new = Mode(value)
        with self._lifecycle:
            old, self._mode = self._mode, new
            if self._port is None or self._stopped or old is new:
                return
            if new is Mode.DOWN:
                self._stop_listener()
            elif old is Mode.DOWN:
                self._start_listener(self._port)

    @property
    def running(self) -> bool:
        """Whether the socket is listening now (False before start, after stop, and when down)."""
        return self._listener is not None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the webhook server has not been started")
        return self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``https://127.0.0.1:43117``; endpoints are ``/validate`` and ``/mutate``."""
        return f"https://{self.host}:{self.port}"

    def client_config(self, path: str) -> dict[str, str]:
        """The registration's ``clientConfig`` for an endpoint (``/validate``): by URL."""
        return {"url": f"{self.url}{path}", "caBundle": base64.b64encode(self.ca_bundle).decode()}

    @property
    def ca_bundle(self) -> bytes:
        """PEM of the CA that signed the serving certificate: the registration's ``caBundle``."""
        return self._material.ca_pem

    @property
    def material(self) -> ServingMaterial:
        return self._material

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the request log, oldest first."""
        with self._records_lock:
            return list(self._records)

    def clear_requests(self) -> None:
        with self._records_lock:
            self._records.clear()

    # -- called by the handler ---------------------------------------------------------

    def sleep_slow(self) -> None:
        self._wake.wait(self.slow_seconds)

    def verdict(self, endpoint: str, request: AdmissionRequest, mode: Mode) -> Verdict:
        if mode is Mode.DENY_ALL:
            return Verdict(False, "[deny-all] the spin-harness webhook is in deny-all mode", ("deny-all",))
        lookup = self._lookup
        tenant = Tenant()
        if request.namespace and lookup is not None:
            try:
                info = lookup(request.namespace)
            except Exception as exc:  # fail closed, and say why
                log.warning("webhook: cannot read namespace %s: %s", request.namespace, type(exc).__name__)
                return Verdict(
                    False,
                    f"[namespace-lookup-failed] cannot read namespace {request.namespace} "
                    f"({type(exc).__name__} {getattr(exc, 'status', '') or ''})".rstrip(),
                    ("namespace-lookup-failed",),
                )
            tenant = info.tenant() if info is not None else Tenant()
        return decide(endpoint, request, tenant)

    def log_request(
        self,
        started: float,
        path: str,
        request: AdmissionRequest | None,
        decision: str,
        verdict: Verdict,
        mode: Mode,
    ) -> RequestRecord:
        """Keep the request before its answer is written, so a client holding the answer finds it logged."""
        name = ""
        if request is not None:
            meta = request.object.get("metadata")
            name = request.name or (str(meta.get("name") or "") if isinstance(meta, dict) else "")
        record = RequestRecord(
            time=started,
            path=path,
            uid=request.uid if request else "",
            namespace=request.namespace if request else "",
            name=name,
            operation=request.operation if request else "",
            mode=str(mode),
            decision=decision,
            codes=verdict.codes,
            patch_ops=len(verdict.patch),
            seconds=round(time.time() - started, 3),
        )
        with self._records_lock:
            self._records.append(record)
        return record

    def request_answered(self, record: RequestRecord, delivered: bool) -> None:
        """Note whether the answer reached the client, then hand the final record to ``on_request``."""
        if not delivered:
            undelivered = replace(record, delivered=False)
            with self._records_lock:
                for index in range(len(self._records) - 1, -1, -1):
                    if self._records[index] is record:
                        self._records[index] = undelivered
                        break
            record = undelivered
        if self._on_request is not None:
            self._on_request(record)
