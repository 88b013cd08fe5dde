"""Toolchain source: build binaries from published Go modules.

Kubernetes is built from a generated wrapper module that pins its published staging modules
(``staging.py``); ``go build`` of the upstream ``cmd/`` packages then gives the real binaries. The
version ldflags are the ones upstream's release scripts set, so ``--version`` and ``/version``
report the real version. etcd is built through a two-line main around ``etcdmain`` at the
version kubeadm pins; containerd (three commands, one build) and CoreDNS (``coredns.py``: its
plugins) through wrapper modules; kwok and the kind CLI with ``go install`` of their published
modules (version stamped the same way); the pause program from spin-harness's own source
(``pause/main.go``).

Wrapper modules live under the cache's ``build/`` directory; the kept Go build cache makes a rebuild incremental.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from harness.errors import HarnessError
from harness.progress import phase
from harness.toolchain import goproxy
from harness.toolchain.build_times import BuildLog, BuildRun, BuildTimes
from harness.toolchain.components import Component, Product, ProductBuild
from harness.toolchain.coredns import COREDNS_MODULE, write_wrapper
from harness.toolchain.goenv import process_env
from harness.toolchain.gorun import list_deps, run_counted
from harness.toolchain.manifest import BUILT_FROM_MODULES
from harness.toolchain.pinned import PINNED, PinnedBuild
from harness.toolchain.replaces import published_replaces
from harness.toolchain.sources import ProgressFn, SourceUnavailable
from harness.toolchain.staging import (
    StagingAnswers,
    linked_staging_modules,
    unpublished_staging,
    version_ldflags,
    wrapper_gomod,
)
from harness.toolchain.trim import remove_tree, trim_modules
from harness.versions import KubeVersion

_KWOK_MODULE = "sigs.k8s.io/kwok"
_ETCD_SERVER_MODULE = "go.etcd.io/etcd/server/v3"
_CONTAINERD_MODULE = "github.com/containerd/containerd/v2"
#: containerd's own release build tags, minus the snapshotters a kind node never uses.
_CONTAINERD_TAGS = "no_aufs,no_zfs,no_btrfs,no_devmapper"
_KIND_MODULE = "sigs.k8s.io/kind"
_PAUSE_SOURCE = Path(__file__).with_name("pause") / "main.go"


#: Flags of every ``go build`` and ``go install``. Binaries are linked ``-s -w`` (no DWARF), so the
#: compiler's DWARF would be thrown away: not writing it cost 18 % less compiler CPU (standard
#: library, ``k8s.io/api/core/v1``, apimachinery: 41.0 s user time, 33.7 s). Stack traces need no DWARF.
COMPILE_FLAGS = ("-gcflags=all=-dwarf=false",)


class GoModuleSource:
    """Builds every product with the local ``go`` command from the module proxy."""

    name = BUILT_FROM_MODULES

    def __init__(self, workdir: Path, history: BuildTimes | None = None) -> None:
        self.workdir = workdir
        #: Durations of earlier builds (for time-left estimates), in the cache root beside ``build/``.
        self.history = history or BuildTimes(workdir.parent)
        #: Per product version: minutes and packages compiled versus found in the Go build cache.
        self.log = BuildLog(workdir.parent)
        #: Packages compiled and needed by the go commands of the build under way.
        self._counts = [0, 0]

    def provide(
        self,
        build: ProductBuild,
        components: Sequence[Component],
        dest: Path,
        progress: ProgressFn,
    ) -> None:
        try:
            goproxy.go_binary()
        except HarnessError as exc:
            raise SourceUnavailable(f"build: {exc}") from exc
        started = time.monotonic()
        self._counts = [0, 0]
        self._build(build, components, dest, progress)
        run = BuildRun(
            build.product.value,
            build.version,
            tuple(c.value for c in components),
            round(time.monotonic() - started, 1),
            self._counts[0],
            self._counts[1],
            time.time(),
        )
        self.log.record(run)
        progress(run.describe())

    def _build(self, build: ProductBuild, components: Sequence[Component], dest: Path, progress: ProgressFn) -> None:
        if build.product is Product.KUBERNETES:
            self._build_kubernetes(KubeVersion.parse(build.version), components, dest, progress)
        elif build.product is Product.ETCD:
            self._build_etcd(build.version, dest, progress)
        elif build.product is Product.KWOK:
            self._build_kwok(build.version, dest, progress)
        elif build.product is Product.CONTAINERD:
            self._build_containerd(build.version, components, dest, progress)
        elif build.product is Product.COREDNS:
            self._build_coredns(build.version, dest, progress)
        elif build.product is Product.KIND:
            self._install(_KIND_MODULE, _KIND_MODULE, build.version, "", dest, progress)
        elif build.product in PINNED:
            self._build_pinned(PINNED[build.product], build.version, dest, progress)
        else:
            self._build_pause(build.version, dest, progress)

    def _build_kubernetes(
        self, version: KubeVersion, components: Sequence[Component], dest: Path, progress: ProgressFn
    ) -> None:
        progress(f"resolving k8s.io/kubernetes {version} on the module proxy")
        try:
            upstream = goproxy.kubernetes_gomod(version)
        except HarnessError as exc:
            raise SourceUnavailable(f"build: {exc}") from exc
        self._check_staging_published(version, upstream, progress)
        module = self.workdir / f"kubernetes-{version}"
        module.mkdir(parents=True, exist_ok=True)
        gomod = wrapper_gomod(version, upstream)
        if not (module / "go.mod").is_file() or (module / "go.mod").read_text() != gomod:
            (module / "go.mod").write_text(gomod)
            (module / "go.sum").unlink(missing_ok=True)
        build_date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ldflags = ["-s", "-w", *version_ldflags(version, build_date)]
        if version.minor <= 32:
            # Releases before Go 1.23 existed pull symbols with go:linkname from deps the
            # newer linker refuses by default; upstream built them with the older Go.
            ldflags.append("-checklinkname=0")
        packages = [f"k8s.io/kubernetes/cmd/{c.value}" for c in components]
        label = f"go build {', '.join(c.value for c in components)} {version}"
        progress(f"{label} (several minutes when cold)")
        previous = self.history.from_manifests(Product.KUBERNETES.value, [c.value for c in components])
        self._compile(
            ["build", "-trimpath", "-ldflags", " ".join(ldflags), "-o", str(dest) + "/"],
            packages,
            module,
            label=label,
            version=str(version),
            progress=progress,
            fallback_seconds=previous,
        )

    def _check_staging_published(self, version: KubeVersion, upstream: str, progress: ProgressFn) -> None:
        """Fail in seconds, naming the modules, when the proxy lacks a staging module version."""
        progress(f"checking {len(linked_staging_modules(upstream))} staging modules at {version.staging_version}")
        missing = unpublished_staging(version, upstream, go=goproxy.go_binary(), cwd=self.workdir)
        StagingAnswers(self.workdir.parent).put(version, missing)
        if missing:
            raise SourceUnavailable(
                f"build: the Go module proxy does not serve {', '.join(missing)}, which Kubernetes {version} "
                "is built from (a partial mirror, or a release whose modules were never published); "
                "choose another patch of the same minor (spin-harness toolchain versions) or another source"
            )

    def _build_etcd(self, version: str, dest: Path, progress: ProgressFn) -> None:
        module = self.workdir / f"etcd-{version}"
        module.mkdir(parents=True, exist_ok=True)
        (module / "go.mod").write_text(
            "// Generated by spin-harness: builds etcd from its published server module.\n"
            f"module spin-harness.local/etcd-build\n\ngo 1.23\n\nrequire {_ETCD_SERVER_MODULE} {version}\n"
        )
        (module / "main.go").write_text(
            "// Command etcd runs the etcd server exactly as the upstream etcd binary does.\n"
            "package main\n\n"
            'import (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\n'
            "func main() { etcdmain.Main(os.Args) }\n"
        )
        progress(f"go build etcd {version}")
        self._go(["mod", "tidy"], module)
        ldflags = "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=spin-harness"
        self._compile(
            ["build", "-trimpath", "-ldflags", ldflags, "-o", str(dest / "etcd")],
            ["."],
            module,
            label=f"go build etcd {version}",
            version=version,
            progress=progress,
            step="etcd:etcdmain",
        )

    def _build_kwok(self, version: str, dest: Path, progress: ProgressFn) -> None:
        self._install(
            _KWOK_MODULE,
            f"{_KWOK_MODULE}/cmd/kwok",
            version,
            f"-X {_KWOK_MODULE}/pkg/consts.Version={version}",
            dest,
            progress,
        )

    def _build_containerd(
        self, version: str, components: Sequence[Component], dest: Path, progress: ProgressFn
    ) -> None:
        """containerd, its shim and ctr in one ``go build``: they share most packages and link side by side."""
        wrapper = self.workdir / f"containerd-{version}"
        wrapper.mkdir(parents=True, exist_ok=True)
        (wrapper / "go.mod").write_text(
            "// Generated by spin-harness: builds containerd's commands from its published module.\n"
            f"module spin-harness.local/containerd-build\n\ngo 1.22\n\nrequire {_CONTAINERD_MODULE} {version}\n"
        )
        stamp = f"-X {_CONTAINERD_MODULE}/version.Version={version}"
        stamp += f" -X {_CONTAINERD_MODULE}/version.Revision=spin-harness"
        names = ", ".join(c.value for c in components)
        progress(f"go build {names} {version}")
        self._compile(
            ["build", "-trimpath", "-ldflags", f"-s -w {stamp}", "-tags", _CONTAINERD_TAGS, "-o", str(dest) + "/"],
            [f"{_CONTAINERD_MODULE}/cmd/{c.value}" for c in components],
            wrapper,
            label=f"go build {names} {version}",
            version=version,
            progress=progress,
            tags=_CONTAINERD_TAGS,
        )

    def _build_coredns(self, version: str, dest: Path, progress: ProgressFn) -> None:
        """CoreDNS without the plugins no test cluster can use (``coredns.py`` says which and why)."""
        try:
            source_dir = goproxy.module_dir(COREDNS_MODULE, version)
        except HarnessError as exc:
            raise SourceUnavailable(f"build: {exc}") from exc
        wrapper = self.workdir / f"coredns-{version}"
        write_wrapper(wrapper, version, source_dir)
        progress(f"go build coredns {version}")
        stamp = f"-s -w -X {COREDNS_MODULE}/coremain.GitCommit=spin-harness"
        self._compile(
            ["build", "-trimpath", "-ldflags", stamp, "-o", str(dest / "coredns")],
            ["."],
            wrapper,
            label=f"go build coredns {version}",
            version=version,
            progress=progress,
            step="coredns:coremain",
        )

    def _build_pause(self, version: str, dest: Path, progress: ProgressFn) -> None:
        module = self.workdir / "pause"
        module.mkdir(parents=True, exist_ok=True)
        (module / "go.mod").write_text("module spin-harness.local/pause\n\ngo 1.22\n")
        shutil.copyfile(_PAUSE_SOURCE, module / "main.go")
        progress(f"go build pause {version} (spin-harness's own)")
        ldflags = f"-s -w -X main.version={version}"
        self._compile(
            ["build", "-trimpath", "-ldflags", ldflags, "-o", str(dest / "pause")],
            ["."],
            module,
            label=f"go build pause {version}",
            version=version,
            progress=progress,
            step="pause:pause",
        )

    def _build_pinned(self, pinned: PinnedBuild, version: str, dest: Path, progress: ProgressFn) -> None:
        """``go build`` of a command from a wrapper module that pins its module (``pinned.py`` says why)."""
        wrapper = self.workdir / f"{pinned.output}-{version}"
        wrapper.mkdir(parents=True, exist_ok=True)
        upstream = self._module_gomod(pinned.module, version)
        replaces = published_replaces(upstream) if pinned.inherit_replaces else []
        # A dependency's excludes apply only in its own module: the wrapper repeats them.
        excludes = [line.strip() for line in upstream.splitlines() if line.startswith("exclude ")]
        lines = [
            f"// Generated by spin-harness: builds {pinned.package} at {version}.",
            f"module spin-harness.local/{pinned.output}-build",
            "",
            "go 1.22",
            "",
            f"require {pinned.module} {version}",
            "",
            *(f"replace {line}" for line in replaces),
            *(excludes if pinned.inherit_replaces else []),
            "",
        ]
        (wrapper / "go.mod").write_text("\n".join(lines))
        if pinned.trims:
            trim_modules(pinned.trims, wrapper, self._go, progress)
        progress(f"go build {pinned.package}@{version}")
        # -mod=mod (the default here) completes go.sum from the pinned module's own requirements;
        # `go mod tidy` would also resolve its test-only dependencies, some of which the proxy lacks.
        ldflags = f"-s -w {pinned.stamp(version, upstream)}"
        self._compile(
            ["build", "-trimpath", "-ldflags", ldflags, "-o", str(dest / pinned.output)],
            [pinned.package],
            wrapper,
            label=f"go build {pinned.output} {version}",
            version=version,
            progress=progress,
        )

    def _module_gomod(self, module: str, version: str) -> str:
        proc = subprocess.run(
            [goproxy.go_binary(), "mod", "download", "-json", f"{module}@{version}"],
            cwd=self.workdir,
            capture_output=True,
            text=True,
            check=False,
            env=dict(os.environ, GOFLAGS="-mod=mod"),
        )
        info = json.loads(proc.stdout or "{}")
        if proc.returncode != 0 or not info.get("GoMod"):
            raise SourceUnavailable(f"build: {module}@{version}: {info.get('Error') or proc.stderr.strip()[-300:]}")
        return Path(info["GoMod"]).read_text()

    def _install(self, module: str, package: str, version: str, ldflags: str, dest: Path, progress: ProgressFn) -> None:
        """``go install package@version`` into ``dest`` (static, trimmed, stamped with ``ldflags``)."""
        spec = f"{package}@{version}"
        progress(f"go install {spec}")
        args = ["install", "-trimpath", "-ldflags", f"-s -w {ldflags}".strip()]
        # `go list` takes no package@version: a scratch module pinning the same module lists its packages.
        listing = self.workdir / f"deps-{package.rsplit('/', 1)[-1]}-{version}"
        listing.mkdir(parents=True, exist_ok=True)
        (listing / "go.mod").write_text(
            f"// Generated by spin-harness: lists what go install {spec} compiles.\n"
            f"module spin-harness.local/deps\n\ngo 1.22\n\nrequire {module} {version}\n"
        )
        self._compile(
            args,
            [spec],
            self.workdir,
            label=f"go install {package.rsplit('/', 1)[-1]} {version}",
            version=version,
            progress=progress,
            extra_env={"GOBIN": str(dest), "GOFLAGS": ""},
            listing=(listing, [package]),
        )

    def _compile(
        self,
        args: list[str],
        targets: list[str],
        cwd: Path,
        *,
        label: str,
        version: str,
        progress: ProgressFn,
        extra_env: dict[str, str] | None = None,
        tags: str = "",
        listing: tuple[Path, list[str]] | None = None,
        step: str | None = None,
        fallback_seconds: float | None = None,
    ) -> None:
        """``go build``/``go install`` of ``targets`` with a package count and a time-left estimate.

        ``listing``: where and what to ``go list -deps`` when ``targets`` cannot be listed where
        they are built; ``step``: the build's name in the duration history (default: the targets);
        ``fallback_seconds``: the estimate when the history has none."""
        env = process_env(extra_env)
        list_dir, list_targets = listing or (cwd, targets)
        list_env = dict(env, GOFLAGS="-mod=mod") if listing else env
        with phase(progress, f"{label}: listing the packages to compile"):
            packages = list_deps(goproxy.go_binary(), list_targets, list_dir, list_env, tags)
        step = step or ",".join(list_targets)
        earlier = self.history.previous(step)
        previous = earlier.seconds if earlier else fallback_seconds
        result = run_counted(
            [goproxy.go_binary(), args[0], "-v", *COMPILE_FLAGS, *args[1:], *targets],
            cwd,
            env,
            progress=progress,
            label=label,
            packages=packages,
            previous=previous,
        )
        if result.returncode != 0:
            self._failed(args, cwd, result.stdout + result.stderr, result.stderr, result.seconds)
        self._counts[0] += result.compiled
        self._counts[1] += len(packages) if packages else 0
        if not packages or result.compiled * 10 >= len(packages):  # a cache-warm rebuild says nothing of a cold one
            self.history.record(step, result.seconds, result.compiled, version)

    def _go(self, args: list[str], cwd: Path, extra_env: dict[str, str] | None = None) -> None:
        started = time.monotonic()
        command = [goproxy.go_binary(), *args]
        proc = subprocess.run(command, cwd=cwd, env=process_env(extra_env), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            self._failed(args, cwd, proc.stdout + proc.stderr, proc.stderr, time.monotonic() - started)

    @staticmethod
    def _failed(args: list[str], cwd: Path, output: str, stderr: str, seconds: float) -> NoReturn:
        log = cwd / "build-error.log"
        log.write_text(output)
        tail = "\n".join(stderr.strip().splitlines()[-12:])
        raise SourceUnavailable(f"build: go {args[0]} failed after {seconds:.0f}s (full log {log}):\n{tail}")


def clean_workdir(workdir: Path) -> None:
    """Remove wrapper modules (the Go build cache stays, so rebuilds remain fast)."""
    remove_tree(workdir)
