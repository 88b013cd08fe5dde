"""Pieces every configuration model shares: the name rule and the way a validator fails.

Matrices and scenarios are validated by pydantic models (``harness.matrix.model``,
``harness.scenarios.model``); their validators raise ``invalid(...)`` so that
``harness.config.yamlfile.parse_model`` can show exactly the message (with file, line and
field in front, and the hint after), not pydantic's wording around it.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic_core import PydanticCustomError

#: A name that is also a valid Kubernetes object name (RFC 1123 label): matrices, cells, scenarios.
NAME_RE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")


def invalid(message: str, hint: str | None = None) -> PydanticCustomError:
    """A validation error whose text is exactly ``message`` (``parse_model`` adds the place)."""
    context: dict[str, Any] = {"message": message}
    if hint:
        context["hint"] = hint
    return PydanticCustomError("invalid", "{message}", context)
