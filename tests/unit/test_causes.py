"""Failure causes are classified the same way every time."""

from __future__ import annotations

import ssl

import pytest

from harness.errors import ClusterError, HarnessError, ImageError, ToolchainError, WaitTimeout
from harness.run.causes import classify


@pytest.mark.parametrize(
    ("exc", "cause"),
    [
        (WaitTimeout("timed out after 60s waiting for all nodes Ready (last seen: 1/2 nodes Ready)"), "timeout"),
        (ClusterError("kube-apiserver exited during start-up:\n  | panic"), "component-crash"),
        (ClusterError("kube-scheduler is not running:\n  | ..."), "component-crash"),
        (
            RuntimeError('Internal error occurred: failed calling webhook "validate.platform": context deadline'),
            "webhook",
        ),
        (ssl.SSLError("certificate verify failed"), "tls"),
        (AssertionError("expected denied, got allowed"), "assertion"),
        (HarnessError("no playbook found"), "harness-error"),
        (ToolchainError("cannot provide kube-apiserver for kubernetes v1.36.3"), "toolchain"),
        (ToolchainError("go build timed out after 1800s"), "toolchain"),
        (ImageError("no node image kindest/node:v1.36.3"), "toolchain"),
        (KeyError("tenant"), "harness-error"),
    ],
)
def test_classify(exc: BaseException, cause: str) -> None:
    assert classify(exc) == cause
