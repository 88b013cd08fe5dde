"""Which releases a hop crosses, and where their changelogs are.

A hop from ``v1.35.4`` to ``v1.37.2`` crosses the minors 1.36 and 1.37: the notes of ``v1.36.0``
and ``v1.37.0`` (each the summary of its minor since the previous ``.0``) and of the target
minor's patches up to ``v1.37.2``. An intermediate minor's patches are left out: they are fixes
whose changes the next minor's ``.0`` already carries. A patch hop within a minor crosses only
the patches after the source.

``CHANGELOG-1.N.md`` is read from a ``k8s.io/kubernetes`` module of minor N in the Go module
cache (extracted, or its zip), the newest patch there. A module's changelog stops before its
own release (the notes of ``v1.37.2`` are added after it is tagged), so a target's own patch
notes are usually missing; ``Located.missing`` says which.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError
from harness.releasenotes.parse import UPGRADE_SECTIONS, Changelog, Entry, parse_changelog
from harness.toolchain import goproxy
from harness.versions import KubeVersion

MODULE = goproxy.KUBERNETES_MODULE
#: ``download`` (default): fetch a missing module with ``go mod download``; ``cache``: use only
#: what the module cache has; ``off``: no release notes.
MODE_VARIABLE = "SPIN_HARNESS_RELEASE_NOTES"
MODES = ("download", "cache", "off")
_MODULE_DIR = re.compile(r"^kubernetes@(v\d+\.\d+\.\d+)$")
_MODULE_ZIP = re.compile(r"^(v\d+\.\d+\.\d+)\.zip$")


@dataclass(frozen=True)
class MinorPlan:
    """The releases of one minor whose notes a hop crosses."""

    minor: int
    releases: tuple[KubeVersion, ...]

    @property
    def file_name(self) -> str:
        return f"CHANGELOG-1.{self.minor}.md"


def crossed(source: KubeVersion, target: KubeVersion) -> list[MinorPlan]:
    """The releases between ``source`` (excluded) and ``target`` (included), grouped by minor."""
    if target <= source or target.major != source.major:
        return []
    if target.minor == source.minor:
        patches = range(source.patch + 1, target.patch + 1)
        return [MinorPlan(target.minor, tuple(KubeVersion(1, target.minor, p) for p in patches))]
    plans = []
    for minor in range(source.minor + 1, target.minor + 1):
        last = target.patch if minor == target.minor else 0
        plans.append(MinorPlan(minor, tuple(KubeVersion(1, minor, p) for p in range(last + 1))))
    return plans


def mode() -> str:
    """The configured mode; a bad value is an error naming the variable."""
    value = os.environ.get(MODE_VARIABLE, "download").strip() or "download"
    if value not in MODES:
        raise HarnessError(f"{MODE_VARIABLE}={value!r} is not one of {', '.join(MODES)}")
    return value


def cached_modules(module_cache: Path, minor: int) -> dict[KubeVersion, Path]:
    """``k8s.io/kubernetes`` versions of ``minor`` in the module cache: extracted dirs and zips."""
    found: dict[KubeVersion, Path] = {}
    downloads = module_cache / "cache" / "download" / "k8s.io" / "kubernetes" / "@v"
    for path in sorted(downloads.glob(f"v1.{minor}.*.zip")) if downloads.is_dir() else []:
        name = _MODULE_ZIP.match(path.name)
        if name:
            found[KubeVersion.parse(name.group(1))] = path
    extracted = module_cache / "k8s.io"
    for path in sorted(extracted.glob(f"kubernetes@v1.{minor}.*")) if extracted.is_dir() else []:
        name = _MODULE_DIR.match(path.name)
        if name and path.is_dir():
            found[KubeVersion.parse(name.group(1))] = path
    return found


def read_changelog(module: Path, version: KubeVersion, file_name: str) -> str:
    """``CHANGELOG/<file_name>`` of a module version, from its extracted dir or its zip."""
    if module.is_dir():
        path = module / "CHANGELOG" / file_name
        if not path.is_file():
            raise HarnessError(f"{MODULE}@{version} has no CHANGELOG/{file_name}")
        return path.read_text(errors="replace")
    member = f"{MODULE}@{version}/CHANGELOG/{file_name}"
    try:
        with zipfile.ZipFile(module) as archive:
            return archive.read(member).decode(errors="replace")
    except KeyError:
        raise HarnessError(f"{MODULE}@{version} has no CHANGELOG/{file_name}") from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise HarnessError(f"{module}: cannot read the module zip: {exc}") from None


@dataclass
class Located:
    """One minor's changelog, parsed, and which of the wanted releases it has."""

    plan: MinorPlan
    module_version: KubeVersion
    path: str
    changelog: Changelog
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    #: Releases whose notes were assembled from their pre-releases (no ``.0`` section yet).
    from_prereleases: list[str] = field(default_factory=list)

    def entries(self, sections: tuple[str, ...] = UPGRADE_SECTIONS) -> list[Entry]:
        """The entries of every found release under ``sections``; a ``.0`` assembled from its
        pre-releases lists each PR once."""
        out: list[Entry] = []
        for release in self.found:
            if release not in self.from_prereleases:
                out.extend(self.changelog.entries(release, sections))
                continue
            seen: set[object] = set()
            for name in reversed(_prerelease_names(self.changelog, release)):  # oldest first
                for entry in self.changelog.entries(name, sections):
                    key = entry.pr_number or entry.text
                    if key not in seen:
                        seen.add(key)
                        out.append(entry)
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "minor": f"1.{self.plan.minor}",
            "module": f"{MODULE}@{self.module_version}",
            "file": self.path,
            "releases": self.found,
            "missing": self.missing,
            "from_prereleases": self.from_prereleases,
        }


def locate(plan: MinorPlan, module_cache: Path, *, download: bool) -> Located:
    """The parsed changelog of ``plan.minor``; raises ``HarnessError`` saying why there is none.

    The newest cached patch of the minor is read (it has the most notes). With ``download``, a
    newer published patch is fetched first when the cached one cannot hold the wanted notes
    (it is not newer than the last wanted release); if the proxy cannot be asked, what is
    cached is used.
    """
    cached = cached_modules(module_cache, plan.minor)
    wanted = plan.releases[-1]
    version = max(cached) if cached else None
    if download and (version is None or version <= wanted):
        try:
            newer = _newest_published(plan.minor)
            if newer is not None and (version is None or newer > version):
                goproxy.module_dir(MODULE, str(newer))
                cached = cached_modules(module_cache, plan.minor)
                version = max(cached) if cached else None
        except HarnessError:
            if version is None:
                raise
    if version is None:
        how = "" if download else f" ({MODE_VARIABLE}=cache)"
        raise HarnessError(
            f"no {MODULE} module of 1.{plan.minor} in the Go module cache {module_cache}{how}",
            hint=f"go mod download {MODULE}@{wanted}",
        )
    source = cached[version]
    text = read_changelog(source, version, plan.file_name)
    where = str(source / "CHANGELOG" / plan.file_name) if source.is_dir() else f"{source}!{plan.file_name}"
    located = Located(plan, version, where, parse_changelog(text, where))
    for release in plan.releases:
        name = str(release)
        if name in located.changelog.releases:
            located.found.append(name)
        elif release.patch == 0 and _prerelease_names(located.changelog, name):
            located.found.append(name)
            located.from_prereleases.append(name)
        else:
            located.missing.append(name)
    return located


def _prerelease_names(changelog: Changelog, release: str) -> list[str]:
    return [name for name in changelog.releases if name.startswith(release + "-")]


def _newest_published(minor: int) -> KubeVersion | None:
    """The newest patch of ``minor`` the module proxy serves (the version list is cached)."""
    patches = [v for v in goproxy.published_versions() if v.minor == minor]
    return max(patches) if patches else None
