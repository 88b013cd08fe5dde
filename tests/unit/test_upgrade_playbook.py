"""playbooks/upgrade.yml against a stand-in ``spin-harness``: it runs the provider's plan by name.

The stand-in answers ``cluster list --json`` and ``cluster upgrade-plan --json`` from a JSON
file and records every ``cluster upgrade --action``, so the playbook's own logic (idempotence,
the loop over the plan, the version check at the end) is tested without a cluster.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from harness.errors import ClusterError
from harness.upgrade.playbook import run_playbook

STAND_IN = """\
import json, sys
from pathlib import Path
state = Path(__file__).with_name("state.json")
data = json.loads(state.read_text())
args = [a for a in sys.argv[1:] if a != "--quiet"]
if args[:2] == ["cluster", "list"]:
    print(json.dumps(data["rows"]))
elif args[:2] == ["cluster", "upgrade-plan"]:
    print(json.dumps(data["plan"]))
elif args[:2] == ["cluster", "upgrade"]:
    data["calls"].append(args[2:])
    action = args[args.index("--action") + 1]
    if action == "finish" and not data.get("never_finish"):
        data["rows"][0]["version"] = args[args.index("--to") + 1]
    state.write_text(json.dumps(data))
    if action == data.get("fail_at"):
        sys.exit("upgrade refused: a stand-in failure")
    print(f"{action} done")
"""

PLAN = [
    {"name": "control-plane", "node": None},
    {"name": "drain", "node": "dev-worker"},
    {"name": "node", "node": "dev-worker"},
    {"name": "uncordon", "node": "dev-worker"},
    {"name": "finish", "node": None},
]


@pytest.fixture
def stand_in(tmp_path: Path) -> Path:
    if shutil.which("ansible-playbook") is None and not (Path(sys.executable).parent / "ansible-playbook").exists():
        pytest.skip("ansible-playbook is not installed")
    script = tmp_path / "spin-harness"
    script.write_text(f"#!{sys.executable}\n{STAND_IN}")
    script.chmod(0o755)
    rows = [{"name": "dev", "provider": "any", "version": "v1.36.3"}, {"name": "other", "provider": "x"}]
    (tmp_path / "state.json").write_text(json.dumps({"rows": rows, "plan": PLAN, "calls": []}))
    return script


def state(stand_in: Path) -> dict[str, object]:
    return dict(json.loads(stand_in.with_name("state.json").read_text()))


def update(stand_in: Path, **changes: object) -> None:
    stand_in.with_name("state.json").write_text(json.dumps({**state(stand_in), **changes}))


def upgrade(stand_in: Path, **extra: str) -> list[str]:
    run = run_playbook(
        "upgrade.yml", {"cluster": "dev", "to_version": "v1.37.2", "spin_harness": str(stand_in), **extra}, timeout=300
    )
    return [e.task for e in run.events if e.status == "changed"]


def test_the_plan_runs_action_by_action_then_a_second_run_changes_nothing(stand_in: Path) -> None:
    changed = upgrade(stand_in)
    calls = state(stand_in)["calls"]
    assert calls == [
        ["dev", "--to", "v1.37.2", "--action", "control-plane"],
        ["dev", "--to", "v1.37.2", "--action", "drain", "--node", "dev-worker"],
        ["dev", "--to", "v1.37.2", "--action", "node", "--node", "dev-worker"],
        ["dev", "--to", "v1.37.2", "--action", "uncordon", "--node", "dev-worker"],
        ["dev", "--to", "v1.37.2", "--action", "finish"],
    ]
    assert changed[0].startswith("control-plane") and changed[1].startswith("drain dev-worker")
    assert upgrade(stand_in) == [] and len(state(stand_in)["calls"]) == 5  # type: ignore[arg-type]


def test_a_failed_action_stops_the_playbook_naming_it_and_provider_and_force_pass_on(stand_in: Path) -> None:
    update(stand_in, fail_at="node")
    with pytest.raises(ClusterError, match="node dev-worker") as failure:
        upgrade(stand_in, provider="any", force="true")
    assert "a stand-in failure" in str(failure.value)
    calls: list[list[str]] = state(stand_in)["calls"]  # type: ignore[assignment]
    assert calls[0] == ["dev", "--to", "v1.37.2", "--provider", "any", "--action", "control-plane", "--force"]
    assert [c[c.index("--action") + 1] for c in calls] == ["control-plane", "drain", "node"]


def test_the_version_is_checked_at_the_end_and_a_missing_cluster_refused(stand_in: Path) -> None:
    update(stand_in, never_finish=True)
    with pytest.raises(ClusterError, match="Check the cluster runs"):
        upgrade(stand_in)
    with pytest.raises(ClusterError, match="no cluster named"):
        run_playbook("upgrade.yml", {"cluster": "nope", "to_version": "v1.37.2", "spin_harness": str(stand_in)})
