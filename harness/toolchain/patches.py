"""Which patch a bare minor (``1.32``) means: the newest one this machine can build or fetch.

The module proxy's version list names every tagged patch, but a patch is only usable here
when its binaries are cached, its staging modules are served (so the ``build`` source works),
or the release server publishes it. Patches are tried newest first; each skipped one is named
with its reason, and the chosen one with why it was chosen, so a user who typed ``1.32`` sees
exactly what will run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.errors import VersionError
from harness.progress import ProgressFn
from harness.versions import KubeVersion


@dataclass(frozen=True)
class PatchCheck:
    """Whether one patch can be provided here, and in words why (or why not)."""

    usable: bool
    reason: str


PatchChecker = Callable[[KubeVersion], PatchCheck]


def choose_patch(
    minor: KubeVersion,
    published: Sequence[KubeVersion],
    check: PatchChecker,
    *,
    note: ProgressFn,
    field: str = "version",
    only_skips: bool = False,
) -> KubeVersion:
    """The newest of ``published`` (patches of ``minor``) that ``check`` accepts, telling ``note`` why
    (with ``only_skips``, only when an older patch had to be taken).

    Raises ``VersionError`` listing every patch and its reason when none is usable.
    """
    skipped: list[str] = []
    for candidate in sorted(published, reverse=True):
        verdict = check(candidate)
        if verdict.usable:
            because = f"; skipped {'; '.join(skipped)}" if skipped else ""
            if skipped or not only_skips:
                note(f"{minor.minor_version} resolves to {candidate} ({verdict.reason}){because}")
            return candidate
        skipped.append(f"{candidate}: {verdict.reason}")
    if not skipped:
        raise VersionError(f"{field}: no {minor.minor_version} release is published on the Go module proxy")
    raise VersionError(
        f"{field}: no published {minor.minor_version} patch can be built or fetched here: {'; '.join(skipped)}",
        hint="point GOPROXY at a proxy that serves the staging modules, set SPIN_HARNESS_RELEASE_URL to a "
        "release mirror, or put the binaries in SPIN_HARNESS_BIN_DIR",
    )
