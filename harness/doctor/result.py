"""What one ``doctor`` check found, and how a list of findings is shown and turned into an exit code.

Kept apart from the checks so rendering and the exit code are tested with made-up results,
without probing the machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class CheckResult:
    """One check: whether what it looks for is there, what it saw, and the command that fixes it.

    ``required`` checks decide the exit code; optional ones (Docker for kind, Chromium for the
    report test...) only say what a feature needs.
    """

    name: str
    ok: bool
    detail: str
    required: bool
    fix: str = ""

    @property
    def status(self) -> str:
        return "OK" if self.ok else "MISSING"

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "status": self.status}


def exit_code(results: Iterable[CheckResult]) -> int:
    """0 when every required check passed, 1 otherwise (optional checks never fail the run)."""
    return 0 if all(r.ok for r in results if r.required) else 1


def render(results: Sequence[CheckResult]) -> list[str]:
    """One line per check (status, name, required or optional, what was seen), a ``fix:`` line
    under each missing one, then a verdict line."""
    width = max((len(r.name) for r in results), default=0)
    lines: list[str] = []
    for result in results:
        kind = "required" if result.required else "optional"
        lines.append(f"{result.status:8} {result.name:{width}}  {kind:8}  {result.detail}")
        if not result.ok and result.fix:
            lines.append(f"{'':8} {'':{width}}  {'':8}  fix: {result.fix}")
    missing_required = [r.name for r in results if r.required and not r.ok]
    missing_optional = [r.name for r in results if not r.required and not r.ok]
    verdict = f"not ready: {', '.join(missing_required)} missing" if missing_required else "ready for local runs"
    if missing_optional:
        verdict += f"; optional features unavailable: {', '.join(missing_optional)}"
    lines.append(verdict)
    return lines
