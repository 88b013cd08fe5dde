"""A Kubernetes version given on the command line, as the commands that build or run one need it."""

from __future__ import annotations

from harness.toolchain import ToolchainConfig
from harness.versions import KubeVersion, check_supported


def version_from_flag(text: str, config: ToolchainConfig, *, field: str = "--version") -> KubeVersion:
    """A full version as given, or a bare minor resolved to its newest published patch.

    When the Go build is among the sources, a full version is also checked against the module
    proxy so a typo fails at once instead of after a failed build.
    """
    from harness.toolchain import goproxy

    partial = KubeVersion.parse_partial(text, field=field)
    check_supported(partial, field=field)
    if partial.is_partial or "build" in config.sources:
        return goproxy.resolve(text, field=field)
    return partial
