"""The building blocks of ``scenario.yaml``'s schema: strict models and checked value types.

Shared by the leaf steps (``harness.scenarios.leaf_steps``) and the scenario model
(``harness.scenarios.model``), so both refuse the same things with the same words.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from harness.config.validation import invalid
from harness.providers.base import ProviderCapabilities

#: Capability names as steps spell them (``real-containers``), from the provider contract.
KNOWN_CAPABILITIES: frozenset[str] = frozenset(
    f.name.replace("_", "-") for f in dataclasses.fields(ProviderCapabilities)
)

IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TEMPLATE_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+\.j2")


def _capability(name: str) -> str:
    if name not in KNOWN_CAPABILITIES:
        raise invalid(f"unknown capability {name!r}", hint=f"capabilities are: {', '.join(sorted(KNOWN_CAPABILITIES))}")
    return name


def _template_name(name: str) -> str:
    if not TEMPLATE_NAME_RE.fullmatch(name):
        raise invalid(
            f"template {name!r} is not a file name ending in .j2",
            hint="templates live next to scenario.yaml, e.g. roles.yaml.j2",
        )
    return name


def _condition_status(value: object) -> object:
    """``Available: True`` in YAML is a boolean; conditions compare the API's "True" string."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return value


Capability = Annotated[str, AfterValidator(_capability)]
TemplateName = Annotated[str, AfterValidator(_template_name)]
#: Seconds to keep retrying; a number, never a string like "60s" (YAML would not say which unit).
Seconds = Annotated[float, Field(strict=True, ge=0, le=3600)]
ConditionStatus = Annotated[str, BeforeValidator(_condition_status)]
Manifest = dict[str, Any]


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo must not silently turn a check into a no-op."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def exactly_one(model: BaseModel, fields: tuple[str, ...], what: str) -> None:
    """Refuse ``model`` unless exactly one of ``fields`` is given."""
    given = [f for f in fields if getattr(model, f) is not None]
    if len(given) != 1:
        found = ", ".join(given) or "none"
        raise invalid(f"{what} needs exactly one of {', '.join(fields)} (found: {found})")


def manifest_label(manifest: Manifest | None) -> str:
    """``ConfigMap settings``: how a step describes an inline manifest."""
    if not manifest:
        return "manifest"
    metadata = manifest.get("metadata") if isinstance(manifest.get("metadata"), dict) else {}
    return f"{manifest.get('kind', '?')} {metadata.get('name', '?') if metadata else '?'}"
