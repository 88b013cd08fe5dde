"""The ``replace`` directives of a module's go.mod that a wrapper module can repeat.

``go install module@version`` refuses a module whose go.mod has ``replace`` directives; a
wrapper that requires the module and repeats the replacements pointing at *published*
modules builds it instead (those pointing at local directories cannot be served by a proxy).
"""

from __future__ import annotations

import re

_REPLACE_LINE = re.compile(r"^\s*(?:replace\s+)?(\S+(?:\s+v\S+)?)\s+=>\s+(\S+)\s+(v\S+)\s*$")


def published_replaces(gomod: str) -> list[str]:
    """The ``replace`` directives of a go.mod that point at published modules (not local paths)."""
    out = []
    in_block = False
    for line in gomod.splitlines():
        stripped = line.split("//", 1)[0].strip()
        if stripped.startswith("replace ("):
            in_block = True
            continue
        if in_block and stripped == ")":
            in_block = False
            continue
        if not (in_block or stripped.startswith("replace ")):
            continue
        match = _REPLACE_LINE.match(stripped)
        if match and not match.group(2).startswith((".", "/")):
            out.append(f"{match.group(1)} => {match.group(2)} {match.group(3)}")
    return out
