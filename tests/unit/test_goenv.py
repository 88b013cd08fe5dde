"""The go commands' environment: static builds, go.sum completed, the compiler's GC given room."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.toolchain.goenv import COMPILER_GOGC, go_env, memory_limit, memory_total, usable_memory

MEMINFO = "MemTotal:       24000000 kB\nMemFree:        16000000 kB\nMemAvailable:   22000000 kB\n"


def test_memory_total_reads_meminfo() -> None:
    assert memory_total(MEMINFO) == 24000000 * 1024
    assert memory_total("MemFree: 1 kB\n") is None
    assert memory_total("MemTotal: lots\n") is None


@given(st.integers(min_value=1, max_value=2**44))
def test_the_limit_is_a_quarter_of_the_machine_and_never_tiny(total: int) -> None:
    limit = memory_limit(total)
    assert limit is not None and limit.endswith("MiB")
    mib = int(limit.removesuffix("MiB"))
    assert mib == max(total // 4 // 2**20, 256)


def test_defaults_fill_only_what_the_user_left_unset() -> None:
    env = go_env({"PATH": "/bin"})
    assert env["GOFLAGS"] == "-mod=mod" and env["CGO_ENABLED"] == "0" and env["GOGC"] == COMPILER_GOGC
    mine = go_env({"GOGC": "100", "GOMEMLIMIT": "2GiB", "CGO_ENABLED": "1", "GOFLAGS": "-mod=readonly"})
    assert (mine["GOGC"], mine["GOMEMLIMIT"], mine["CGO_ENABLED"], mine["GOFLAGS"]) == (
        "100",
        "2GiB",
        "1",
        "-mod=readonly",
    )


def test_extra_variables_win() -> None:
    assert go_env({"GOFLAGS": "-mod=mod"}, {"GOFLAGS": "", "GOBIN": "/x"})["GOFLAGS"] == ""


def test_a_container_limit_below_the_machine_wins() -> None:
    machine = 24 * 2**30
    assert usable_memory(machine, ["4294967296\n", ""]) == 4 * 2**30
    assert usable_memory(machine, ["max\n", ""]) == machine
    assert usable_memory(machine, ["", "9223372036854771712\n"]) == machine
    assert usable_memory(None, ["", ""]) is None
