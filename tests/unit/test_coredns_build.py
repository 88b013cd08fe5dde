"""The CoreDNS wrapper: plugin.cfg's plugins in order, without the cloud and tracing backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.toolchain.coredns import COREDNS_MODULE, LEFT_OUT, main_source, plugin_packages, write_wrapper
from harness.toolchain.sources import SourceUnavailable

PLUGIN_CFG = """# Directives are registered in the order they should be executed.
metadata:metadata
geoip:geoip
cache:cache
route53:route53
kubernetes:kubernetes
etcd:etcd
forward:forward
trace:trace
on:github.com/coredns/caddy/onevent
"""


def test_plugins_keep_their_order_and_lose_only_the_left_out_ones() -> None:
    assert plugin_packages(PLUGIN_CFG) == [
        f"{COREDNS_MODULE}/plugin/metadata",
        f"{COREDNS_MODULE}/plugin/cache",
        f"{COREDNS_MODULE}/plugin/kubernetes",
        f"{COREDNS_MODULE}/plugin/forward",
        "github.com/coredns/caddy/onevent",
    ]


def test_the_corefiles_of_kubeadm_and_k3s_keep_every_plugin_they_name() -> None:
    used = {"errors", "health", "ready", "kubernetes", "prometheus", "forward", "cache", "loop", "reload"}
    assert not used & LEFT_OUT
    assert not {"loadbalance", "hosts", "log", "rewrite", "template"} & LEFT_OUT


@pytest.mark.parametrize(("text", "needle"), [("cache\n", "line 1 is not name:package"), ("# only\n", "no plugins")])
def test_a_plugin_cfg_it_cannot_read_is_refused(text: str, needle: str) -> None:
    with pytest.raises(SourceUnavailable, match=needle):
        plugin_packages(text)


def test_main_imports_the_plugins_and_runs_coremain(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "plugin.cfg").write_text(PLUGIN_CFG)
    write_wrapper(tmp_path / "wrapper", "v1.14.2", source)
    main = (tmp_path / "wrapper" / "main.go").read_text()
    assert main == main_source(plugin_packages(PLUGIN_CFG))
    assert f'\t_ "{COREDNS_MODULE}/plugin/kubernetes"\n' in main and "route53" not in main
    assert "coremain.Run()" in main
    assert f"require {COREDNS_MODULE} v1.14.2" in (tmp_path / "wrapper" / "go.mod").read_text()


def test_a_release_without_plugin_cfg_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match=r"no readable plugin\.cfg"):
        write_wrapper(tmp_path / "wrapper", "v1.14.2", tmp_path / "missing")
