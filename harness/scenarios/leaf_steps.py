"""The leaf steps of a scenario: apply, assert, expect_denied, check, delete.

Each is one action against the API (``harness.scenarios.steps`` runs them); the steps that
hold other steps (``as_user``, ``probe``) and the scenario itself are in
``harness.scenarios.model``, whose docstring describes the whole format.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from harness.config.validation import invalid
from harness.scenarios.schema import (
    IDENTIFIER_RE,
    ConditionStatus,
    Manifest,
    Seconds,
    StrictModel,
    TemplateName,
    exactly_one,
    manifest_label,
)

#: Reasons a request can be refused, as ``expect_denied`` names them.
DenialReason = Literal["forbidden", "admission", "quota", "invalid"]

#: Request verbs ``expect_denied`` can make.
Verb = Literal["create", "apply", "update", "patch", "delete", "get", "list"]


class ObjectRef(StrictModel):
    """An object (or, with ``label_selector``, a set of objects) by kind and name.

    ``label_selector: ""`` selects every object of the kind in the namespace.

    ``apiVersion`` may be left out when the kind is unambiguous (served by the core group or by
    a single group); the preferred version is used.
    """

    api_version: str | None = Field(None, alias="apiVersion")
    kind: str
    name: str | None = None
    namespace: str | None = None
    label_selector: str | None = None

    def describe(self) -> str:
        kind = f"{self.kind} ({self.api_version})" if self.api_version else self.kind
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{kind} {where}{self.name or f'[{self.label_selector}]'}"


class ApplyStep(StrictModel):
    """Server-side apply a template's documents (in order) or one inline manifest."""

    template: TemplateName | None = None
    manifest: Manifest | None = None
    #: Extra template variables, available as ``vars`` (e.g. which CRD version stores).
    vars: dict[str, Any] = Field(default_factory=dict)
    #: Field manager of the apply; default ``spin-harness/<scenario>``.
    field_manager: str | None = None
    #: Ask with ``dryRun=All``: admission runs in full (the request must be admitted), nothing is stored.
    dry_run: bool = False
    #: Apply to the objects' ``status`` subresource instead: the part their controller owns,
    #: e.g. a CronJob's last scheduled time, to put its controller in a state it must act on.
    subresource: Literal["status"] | None = None
    #: Seconds to retry answers that mean "not yet" (a CRD not served yet, a namespace's
    #: default ServiceAccount not created yet); refusals fail at once.
    timeout: Seconds = 30

    @model_validator(mode="after")
    def _one_source(self) -> ApplyStep:
        exactly_one(self, ("template", "manifest"), "apply")
        return self

    def describe(self) -> str:
        of = f" to {self.subresource}" if self.subresource else ""
        return f"apply {self.template or manifest_label(self.manifest)}{of}"


class AssertStep(ObjectRef):
    """An object's fields and conditions reach the expected values within ``timeout``.

    ``fields`` maps a path (``status.availableReplicas``, ``spec.containers[0].image``,
    ``metadata.labels[app.kubernetes.io/name]``) to the expected value: scalars compare equal
    (a number equals its string form, since the API writes quantities as strings), mappings
    must be contained in the observed mapping. ``conditions`` maps a condition type to its
    status. With ``label_selector`` instead of ``name``, at least ``min_count`` objects must
    each satisfy everything; ``present: false`` asserts the object is gone.
    """

    fields: dict[str, Any] = Field(default_factory=dict)
    conditions: dict[str, ConditionStatus] = Field(default_factory=dict)
    #: Paths that must be present (any value) / absent.
    exists: list[str] = Field(default_factory=list)
    absent: list[str] = Field(default_factory=list)
    present: bool = True
    #: A number, or a template string rendering to one (``"{{ params.replicas }}"``).
    min_count: Annotated[int, Field(strict=True, ge=1)] | str = 1
    timeout: Seconds = 60

    @model_validator(mode="after")
    def _target(self) -> AssertStep:
        if (self.name is None) == (self.label_selector is None):
            raise invalid("assert needs exactly one of name, label_selector")
        if not self.present and (self.fields or self.conditions or self.exists or self.absent):
            raise invalid("present: false asserts the object is gone; it cannot also check its fields")
        return self

    def describe(self) -> str:
        return f"assert {self.describe_target()}"

    def describe_target(self) -> str:
        return ObjectRef.describe(self)


class ExpectDeniedStep(StrictModel):
    """A request that the platform must refuse, for the stated reason.

    ``forbidden``: RBAC said no (403, including escalation prevention); ``admission``: an
    admission controller said no (PodSecurity, LimitRanger, a webhook or admission policy);
    ``quota``: a ResourceQuota is exceeded; ``invalid``: the object fails validation (422).
    ``message`` must appear in the server's message when given. Writes send ``template`` or
    ``manifest``; ``get``, ``list`` and ``delete`` name the object with ``kind``/``name``.
    If the request is wrongly allowed, whatever it created is deleted again.
    """

    reason: DenialReason
    message: str | None = None
    verb: Verb = "create"
    template: TemplateName | None = None
    manifest: Manifest | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    api_version: str | None = Field(None, alias="apiVersion")
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    #: Ask with ``dryRun=All`` (nothing is persisted even when wrongly allowed).
    dry_run: bool = False
    #: Seconds to retry answers that mean "not yet" (see ``apply.timeout``).
    timeout: Seconds = 10
    #: With ``dry_run``: seconds during which an allowed answer is asked again, for the first
    #: check after a policy or webhook is registered (it takes effect through a watch). Zero,
    #: the default, fails on the first allowed answer, so a flapping policy is never hidden.
    settle: Seconds = 0

    @model_validator(mode="after")
    def _target(self) -> ExpectDeniedStep:
        if self.settle and not self.dry_run:
            raise invalid("settle needs dry_run: true", hint="nothing may be stored while waiting for a policy")
        writes = self.verb in ("create", "apply", "update", "patch")
        if writes:
            exactly_one(self, ("template", "manifest"), f"expect_denied with verb {self.verb}")
            if self.kind or self.name:
                raise invalid(f"verb {self.verb} sends a manifest; kind and name come from it")
        else:
            if self.template or self.manifest:
                raise invalid(f"verb {self.verb} sends no body; name the object with kind and name")
            if not self.kind:
                raise invalid(f"verb {self.verb} needs kind (and name, except for list)")
            if self.verb != "list" and not self.name:
                raise invalid(f"verb {self.verb} needs name")
        return self

    def describe(self) -> str:
        target = self.template or (manifest_label(self.manifest) if self.manifest else f"{self.kind} {self.name}")
        return f"{self.verb} {target} is denied ({self.reason})"


class CheckStep(StrictModel):
    """Call ``function`` from the scenario's ``checks.py`` for logic no declarative step says.

    The function is called as ``function(api, ctx, **args)`` with the current identity's API
    client and a ``CheckContext``; it fails by raising ``AssertionError`` and may return a
    string describing what it saw. ``timeout`` > 0 retries it until it passes.
    """

    function: Annotated[str, Field(pattern=IDENTIFIER_RE.pattern)]
    args: dict[str, Any] = Field(default_factory=dict)
    timeout: Seconds = 0

    def describe(self) -> str:
        return f"check {self.function}"


class DeleteStep(StrictModel):
    """Delete a template's objects (in reverse order), one manifest, or an object by name.

    Missing objects are fine unless ``missing_ok`` is false; with ``wait`` the step returns
    once every object is gone (namespaces take a while: their contents go first).
    """

    template: TemplateName | None = None
    manifest: Manifest | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    api_version: str | None = Field(None, alias="apiVersion")
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    wait: bool = True
    missing_ok: bool = True
    timeout: Seconds = 120

    @model_validator(mode="after")
    def _target(self) -> DeleteStep:
        given = [x for x in (self.template, self.manifest, self.kind) if x is not None]
        if len(given) != 1:
            raise invalid("delete needs exactly one of template, manifest, kind (with name)")
        if self.kind and not self.name:
            raise invalid("delete by kind needs name")
        return self

    def describe(self) -> str:
        if self.template:
            return f"delete {self.template}"
        return f"delete {manifest_label(self.manifest) if self.manifest else f'{self.kind} {self.name}'}"
