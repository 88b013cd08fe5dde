"""The webhook image's entrypoint: the same server, run as a pod behind a Service.

Platforms run their admission webhooks in the cluster, where an upgrade can break them in
ways a server on the host never shows: the pod drained off its node, the Service's endpoints
empty for a moment, the service-account token or RBAC the server reads Namespaces with
changing under it. So the image (``harness.images.webhook_image``) runs this module, which
serves ``WebhookServer`` with

* the certificate and key of a ``kubernetes.io/tls`` Secret mounted at ``--tls-dir``
  (``tls.crt``, ``tls.key``, and the CA the registration trusts as ``ca.crt``),
* Namespaces read as the pod's service account (``get`` on namespaces, nothing else),
* one JSON line on stdout per review: the request log's metadata (uid, namespace, name,
  operation, decision, reason codes) and never a body, so ``kubectl logs`` is the evidence
  of which server answered.

It stops cleanly on SIGTERM (the kubelet's stop) or SIGINT, joining every handler thread.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from types import FrameType

from harness.webhooks.certs import ServingMaterial
from harness.webhooks.lookup import CachedLookup, KubeNamespaceReader
from harness.webhooks.server import RequestRecord, WebhookServer

DEFAULT_TLS_DIR = Path("/etc/spin-webhook/tls")
DEFAULT_PORT = 8443

_print_lock = threading.Lock()


def _emit(event: str, **fields: object) -> None:
    with _print_lock:
        sys.stdout.write(json.dumps({"event": event, **fields}, sort_keys=True) + "\n")
        sys.stdout.flush()


def log_record(record: RequestRecord) -> None:
    """One review as a JSON line (metadata only, like the request log itself)."""
    _emit("review", **asdict(record))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m harness.webhooks.serve_in_pod", description=__doc__.split("\n")[0])
    parser.add_argument("--tls-dir", type=Path, default=DEFAULT_TLS_DIR, help="the mounted kubernetes.io/tls Secret")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (the pod's own network)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--cache-ttl", type=float, default=5.0, help="seconds a Namespace read is remembered")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        material = ServingMaterial.from_directory(args.tls_dir)
    except OSError as exc:
        print(f"spin-harness webhook: no CA in {args.tls_dir}: {exc}", file=sys.stderr)
        return 2
    missing = [str(path) for path in (material.cert_file, material.key_file) if not path.is_file()]
    if missing:
        print(f"spin-harness webhook: missing {', '.join(missing)} (mount the tls Secret)", file=sys.stderr)
        return 2
    reader = KubeNamespaceReader.in_cluster()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = WebhookServer(
        None,
        lookup=CachedLookup(reader, ttl=args.cache_ttl),
        host=args.host,
        port=args.port,
        material=material,
        on_request=log_record,
    )
    try:
        with server:
            _emit("serving", host=args.host, port=server.port)
            stop.wait()
    finally:
        reader.close()
    _emit("stopped", reviews=len(server.requests))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
