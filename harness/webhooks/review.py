"""``admission.k8s.io/v1`` AdmissionReview in and out, without any networking.

Kept apart from the HTTP server so the wire format can be tested on its own and the server
stays a thin shell: parse, look up the tenant, call the policy, answer. Only metadata of the
request (uid, kind, namespace, name, operation) is kept outside the policy call; the object
itself - which for a misregistered webhook could be a Secret - is never stored or logged.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.webhooks.policy import JsonPatch, Tenant, mutate_pod, validate_pod

API_VERSION = "admission.k8s.io/v1"


class ReviewError(ValueError):
    """The body is not an AdmissionReview v1 request; the server answers 400."""


@dataclass(frozen=True)
class AdmissionRequest:
    """What the server needs from ``AdmissionReview.request``."""

    uid: str
    kind: str
    namespace: str
    name: str
    operation: str
    sub_resource: str
    object: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Verdict:
    """The answer to one review, before it is put on the wire."""

    allowed: bool
    message: str = ""
    codes: tuple[str, ...] = ()
    patch: JsonPatch = field(default_factory=list)


def parse_review(body: bytes) -> AdmissionRequest:
    """Decode an AdmissionReview request; ``ReviewError`` saying what is wrong otherwise."""
    try:
        review = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReviewError(f"body is not JSON: {exc}") from None
    if not isinstance(review, dict) or review.get("kind") != "AdmissionReview":
        raise ReviewError("body is not an AdmissionReview")
    if review.get("apiVersion") != API_VERSION:
        raise ReviewError(f"apiVersion {review.get('apiVersion')!r} is not {API_VERSION}")
    request = review.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("uid"), str) or not request["uid"]:
        raise ReviewError("AdmissionReview has no request.uid")
    kind = request.get("kind")
    obj = request.get("object")
    return AdmissionRequest(
        uid=request["uid"],
        kind=str(kind.get("kind", "")) if isinstance(kind, dict) else "",
        namespace=str(request.get("namespace") or ""),
        name=str(request.get("name") or ""),
        operation=str(request.get("operation") or ""),
        sub_resource=str(request.get("subResource") or ""),
        object=obj if isinstance(obj, dict) else {},
    )


def decide(endpoint: str, request: AdmissionRequest, tenant: Tenant) -> Verdict:
    """Apply the policy: ``validate`` checks the pod, ``mutate`` patches it and never denies.

    Anything other than a create or update of a Pod (or of its ephemeral containers, which
    arrive as the whole Pod) is allowed untouched: the registrations scope
    the webhooks to pods, so other requests only arrive through a misregistration, and
    blocking them would turn that mistake into an outage.
    """
    if (
        request.kind != "Pod"
        or request.operation not in ("CREATE", "UPDATE")
        or request.sub_resource not in ("", "ephemeralcontainers")
        or not request.object
    ):
        return Verdict(True)
    if endpoint == "validate":
        decision = validate_pod(request.object, tenant)
        return Verdict(decision.allowed, decision.message(), decision.codes)
    if endpoint == "mutate":
        if request.operation != "CREATE" or request.sub_resource:
            return Verdict(True)  # a running pod's spec is immutable; patching it would fail
        return Verdict(True, patch=mutate_pod(request.object, tenant))
    raise ValueError(f"unknown endpoint {endpoint!r}")


def review_response(uid: str, verdict: Verdict) -> dict[str, Any]:
    """The AdmissionReview answer: same ``uid``; a denial carries 403 and the reasons."""
    response: dict[str, Any] = {"uid": uid, "allowed": verdict.allowed}
    if not verdict.allowed:
        response["status"] = {"code": 403, "reason": "Forbidden", "message": verdict.message}
    if verdict.allowed and verdict.patch:
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(json.dumps(verdict.patch).encode()).decode()
    return {"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": response}
