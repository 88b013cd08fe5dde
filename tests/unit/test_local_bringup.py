"""The raw-JSON readiness check the local bring-up waits on agrees with the typed one."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from harness.providers.common.readiness import node_is_ready
from harness.providers.local.bringup import ready_condition


def node(conditions: list[dict[str, str]] | None) -> dict[str, Any]:
    return {"metadata": {"name": "node-0"}, "status": {} if conditions is None else {"conditions": conditions}}


@pytest.mark.parametrize(
    "conditions",
    [
        None,
        [],
        [{"type": "Ready", "status": "True"}],
        [{"type": "Ready", "status": "False"}],
        [{"type": "Ready", "status": "Unknown"}],
        [{"type": "MemoryPressure", "status": "True"}],
        [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
    ],
)
def test_raw_and_typed_node_readiness_agree(conditions: list[dict[str, str]] | None) -> None:
    typed = client.V1Node(
        status=client.V1NodeStatus(
            conditions=[client.V1NodeCondition(type=c["type"], status=c["status"]) for c in conditions or []]
        )
    )
    assert ready_condition(node(conditions)) == node_is_ready(typed)


def test_a_node_without_status_is_not_ready() -> None:
    assert not ready_condition({"metadata": {"name": "node-0"}})
