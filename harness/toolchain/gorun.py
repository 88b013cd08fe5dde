"""One ``go build``/``go install`` with a live count of the packages it compiles.

``go list -deps`` of the build target says how many packages there are outside the standard
library (which the shared Go build cache nearly always holds already); ``go build -v`` names
each package as it compiles it (packages found in the build cache are not named, so a warm
build finishes below the total). Both read the same module graph with the same flags, so the
count cannot include packages of another build. ``-v`` changes nothing in what is built: the
binaries and the Go build cache stay exactly as without it.

Counting is advisory: when ``go list`` fails the build still runs, with a count and no total.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.progress import Meter, ProgressFn, meter

#: A line of ``go build -v`` that names a package (not ``go: downloading ...`` or a compiler error).
_PACKAGE_LINE = re.compile(r"[A-Za-z0-9][\w.~+/-]*")


class PackageCounter:
    """Recognises the package lines of ``go build -v`` output among everything else go prints."""

    def __init__(self, packages: frozenset[str] | None = None) -> None:
        self.packages = packages
        self.seen: set[str] = set()

    def names_package(self, line: str) -> bool:
        """True when ``line`` is a package name (of the listed set, when there is one)."""
        name = line.strip()
        if self.packages is not None:
            return name in self.packages
        return bool(_PACKAGE_LINE.fullmatch(name)) and not name.startswith("go:")

    def feed(self, line: str) -> bool:
        """True when ``line`` names a package compiled now (each package counts once)."""
        name = line.strip()
        if not self.names_package(name) or name in self.seen:
            return False
        self.seen.add(name)
        return True


def count_compiled(lines: Iterable[str], packages: frozenset[str] | None) -> int:
    """How many distinct packages of ``packages`` the ``go build -v`` output ``lines`` names."""
    counter = PackageCounter(packages)
    return sum(counter.feed(line) for line in lines)


def list_deps(go: str, targets: Sequence[str], cwd: Path, env: dict[str, str], tags: str = "") -> frozenset[str] | None:
    """Every non-standard package ``targets`` depend on, or None when go cannot say."""
    args = [go, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"]
    args += [*(["-tags", tags] if tags else []), *targets]
    try:
        proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return frozenset(line.strip() for line in proc.stdout.splitlines() if line.strip())


@dataclass(frozen=True)
class GoResult:
    """What one go command did: exit code, output, time taken and packages compiled."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    compiled: int


def run_counted(
    command: Sequence[str],
    cwd: Path,
    env: dict[str, str],
    *,
    progress: ProgressFn,
    label: str,
    packages: frozenset[str] | None,
    previous: float | None,
) -> GoResult:
    """Run a ``go build -v`` style command, advancing a meter for each package it compiles.

    The meter's lines are not part of the returned ``stderr``, so error tails show go's
    messages only.
    """
    counter = PackageCounter(packages)
    started = time.monotonic()
    errors: list[str] = []
    total = len(packages) if packages else None
    with meter(progress, label, unit="packages", total=total, previous=previous) as shown:
        proc = subprocess.Popen(
            list(command), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        out: list[str] = []
        drain = threading.Thread(target=lambda: out.append(proc.stdout.read() if proc.stdout else ""), daemon=True)
        drain.start()
        _follow(proc, counter, shown, errors)
        returncode = proc.wait()
        drain.join()
    return GoResult(returncode, "".join(out), "".join(errors), time.monotonic() - started, len(counter.seen))


def _follow(proc: subprocess.Popen[str], counter: PackageCounter, shown: Meter, errors: list[str]) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        if counter.feed(line):
            shown.advance()
        elif not counter.names_package(line):
            errors.append(line)
