"""Loading and rendering scenarios without a cluster: every mistake names its file, line and field."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from harness.errors import InputError
from harness.scenarios import default_tenants, discover, load_scenario, preview
from harness.scenarios.load import walk_steps
from harness.scenarios.model import PHASES
from harness.versions import KubeVersion
from tests.scenarios.conftest import CANONICAL

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "scenarios"
VERSION = KubeVersion(1, 36, 3)

HEADER = """\
name: demo
description: A scenario written by a test.
promise: The test's promise holds.
"""


def write(tmp_path: Path, body: str, files: dict[str, str] | None = None, name: str = "demo") -> Path:
    """A scenario directory ``name`` with ``scenario.yaml`` = header + ``body`` and extra files."""
    directory = tmp_path / name
    directory.mkdir()
    header = HEADER.replace("name: demo", f"name: {name}")
    (directory / "scenario.yaml").write_text(header + textwrap.dedent(body))
    for filename, text in (files or {}).items():
        (directory / filename).write_text(textwrap.dedent(text))
    return directory


def line_of(directory: Path, needle: str, filename: str = "scenario.yaml") -> int:
    lines = (directory / filename).read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def load_error(directory: Path) -> str:
    with pytest.raises(InputError) as caught:
        load_scenario(directory)
    return str(caught.value)


# -- malformed scenario.yaml ------------------------------------------------------------


def test_unknown_step_type_names_file_line_and_field(tmp_path: Path) -> None:
    directory = write(
        tmp_path,
        """\
        setup:
          - name: namespaces
            apply: {manifest: {apiVersion: v1, kind: Namespace, metadata: {name: x}}}
          - name: typo
            aply: {manifest: {apiVersion: v1, kind: Namespace, metadata: {name: y}}}
        """,
    )
    message = load_error(directory)
    expected = f"{directory / 'scenario.yaml'}:{line_of(directory, 'aply:')}: setup[1].aply: unknown field"
    assert message.startswith(expected), message
    assert "not a step type" in message and "apply, assert, expect_denied" in message


def test_missing_field_names_file_line_and_field(tmp_path: Path) -> None:
    directory = write(
        tmp_path,
        """\
        verify:
          - name: no kind
            assert:
              name: web
              namespace: default
        """,
    )
    message = load_error(directory)
    where = f"{directory / 'scenario.yaml'}:{line_of(directory, 'assert:')}"
    assert message.startswith(f"{where}: verify[0].assert.kind: required field"), message


def test_missing_top_level_field(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    directory.mkdir()
    (directory / "scenario.yaml").write_text("name: demo\ndescription: d\n")
    path = re.escape(str(directory / "scenario.yaml"))
    assert re.match(rf"{path}:1: promise: required field", load_error(directory))


@pytest.mark.parametrize("timeout", ["60s", "true", "[60]"])
def test_bad_timeout_type_names_the_field(tmp_path: Path, timeout: str) -> None:
    directory = write(
        tmp_path,
        f"""\
        verify:
          - name: web
            assert:
              kind: Deployment
              name: web
              namespace: default
              timeout: {timeout}
        """,
    )
    message = load_error(directory)
    line = line_of(directory, "timeout:")
    assert message.startswith(f"{directory / 'scenario.yaml'}:{line}: verify[0].assert.timeout: "), message
    assert "valid number" in message


def test_a_step_with_two_actions_is_refused(tmp_path: Path) -> None:
    directory = write(
        tmp_path,
        """\
        setup:
          - name: both
            apply: {manifest: {apiVersion: v1, kind: Namespace, metadata: {name: x}}}
            delete: {kind: Namespace, name: x}
        """,
    )
    message = load_error(directory)
    assert f":{line_of(directory, '- name: both')}: setup[0]: a step does exactly one thing" in message
    assert "apply and delete" in message


def test_unknown_capability_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    directory = write(
        tmp_path,
        """\
        verify:
          - name: gated
            requires: [real-container]
            check: {function: anything}
        """,
    )
    message = load_error(directory)
    assert "verify[0].requires[0]: unknown capability 'real-container'" in message
    assert "real-containers" in message


def test_probes_belong_in_during_and_during_holds_only_probes(tmp_path: Path) -> None:
    probe_in_verify = write(
        tmp_path,
        """\
        verify:
          - probe: {steps: [{assert: {kind: Namespace, name: default}}]}
        """,
        name="probe-in-verify",
    )
    assert "verify[0].probe: probe steps run while a hop runs" in load_error(probe_in_verify)
    plain_in_during = write(
        tmp_path,
        """\
        during:
          - assert: {kind: Namespace, name: default}
        """,
        name="plain-in-during",
    )
    assert "during[0].assert: the during phase holds probe steps only" in load_error(plain_in_during)


def test_missing_template_and_check_function_are_named(tmp_path: Path) -> None:
    no_template = write(
        tmp_path,
        """\
        setup:
          - apply: {template: nowhere.yaml.j2}
        """,
        files={"here.yaml.j2": "apiVersion: v1\n"},
        name="no-template",
    )
    message = load_error(no_template)
    assert f"scenario.yaml:{line_of(no_template, 'nowhere')}: setup[0].apply.template: no template" in message
    assert "here.yaml.j2" in message
    no_function = write(
        tmp_path,
        """\
        verify:
          - check: {function: missing_check}
        """,
        files={"checks.py": "def present(api, ctx):\n    return None\n"},
        name="no-function",
    )
    message = load_error(no_function)
    assert "verify[0].check.function: no function 'missing_check'" in message and "present" in message


def test_checks_py_all_lists_shared_checks_and_only_those(tmp_path: Path) -> None:
    shared = "from harness.webhooks.install import register_webhooks, remove_registrations\n"
    listed = write(
        tmp_path,
        "setup: []\n",
        files={"checks.py": shared + "__all__ = ['register_webhooks', 'own']\n\ndef own(api, ctx):\n    return None\n"},
        name="listed",
    )
    assert sorted(load_scenario(listed).checks) == ["own", "register_webhooks"]
    unlisted = write(
        tmp_path,
        "setup: []\n",
        files={"checks.py": shared + "\ndef own(api, ctx):\n    return None\n"},
        name="unlisted",
    )
    assert sorted(load_scenario(unlisted).checks) == ["own"], "imported names are not checks unless listed"


def test_settle_is_only_for_dry_runs(tmp_path: Path) -> None:
    directory = write(
        tmp_path,
        """\
        verify:
          - expect_denied: {reason: admission, manifest: {apiVersion: v1, kind: Pod, metadata: {name: p}}, settle: 5}
        """,
    )
    assert "settle needs dry_run: true" in load_error(directory)


def test_name_must_match_the_directory(tmp_path: Path) -> None:
    directory = write(tmp_path, "setup: []\n", name="other")
    (directory / "scenario.yaml").write_text(HEADER + "setup: []\n")  # says name: demo
    message = load_error(directory)
    assert "scenario.yaml:1: name: scenario name 'demo' differs from its directory 'other'" in message


def test_broken_checks_py_names_its_line(tmp_path: Path) -> None:
    directory = write(tmp_path, "setup: []\n", files={"checks.py": "x = 1\n\nraise RuntimeError('boom')\n"})
    assert re.search(r"checks\.py:3: cannot be imported: RuntimeError: boom", load_error(directory))


def test_template_syntax_error_is_found_at_load(tmp_path: Path) -> None:
    directory = write(tmp_path, "setup: []\n", files={"bad.yaml.j2": "a: 1\nb: {{ tenant.name \n"})
    assert re.search(r"bad\.yaml\.j2:2: template syntax error", load_error(directory))


def test_inline_template_syntax_error_is_found_at_load(tmp_path: Path) -> None:
    directory = write(
        tmp_path,
        """\
        verify:
          - assert: {kind: Namespace, name: "{{ tenant.namespace "}
        """,
    )
    message = load_error(directory)
    line = line_of(directory, "kind: Namespace")
    assert f"scenario.yaml:{line}: verify[0].assert.name: template syntax" in message


# -- rendering ----------------------------------------------------------------------------


def test_undefined_variable_in_a_template_names_template_file_and_line(tmp_path: Path) -> None:
    directory = write(
        tmp_path,
        """\
        setup:
          - apply: {template: ns.yaml.j2}
        """,
        files={
            "ns.yaml.j2": """\
            apiVersion: v1
            kind: Namespace
            metadata:
              name: {{ tenant.namespace }}
              labels: {owner: "{{ tenant.owner_email }}"}
            """
        },
    )
    scenario = load_scenario(directory)
    with pytest.raises(InputError) as caught:
        preview(scenario, tenants=default_tenants(), version=VERSION)
    message = str(caught.value)
    assert message.startswith(f"{directory / 'ns.yaml.j2'}:5: undefined variable: "), message
    assert "owner_email" in message and "templates see tenant" in message


def test_undefined_variable_in_a_step_names_scenario_line_and_field(tmp_path: Path) -> None:
    directory = write(
        tmp_path,
        """\
        verify:
          - name: reads
            assert:
              kind: ConfigMap
              name: settings
              namespace: "{{ tenant.namespace }}"
              fields: {data.size: "{{ params.size }}"}
        """,
    )
    scenario = load_scenario(directory)
    with pytest.raises(InputError) as caught:
        preview(scenario, tenants=default_tenants(), version=VERSION)
    message = str(caught.value)
    where = f"{directory / 'scenario.yaml'}:{line_of(directory, 'fields:')}"
    assert message.startswith(f"{where}: verify[0].assert.fields.data.size: undefined variable"), message
    assert "params.size" in message


def test_a_single_expression_keeps_its_type_and_when_selects_tenants(tmp_path: Path) -> None:
    directory = write(
        tmp_path,
        """\
        parameters:
          replicas: {default: 3}
        setup:
          - name: only beta
            when: tenant.name == "beta"
            apply:
              manifest:
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: web, namespace: "{{ tenant.namespace }}"}
                spec: {replicas: "{{ params.replicas }}", note: "{{ params.replicas }} pods"}
        """,
    )
    rendered = preview(load_scenario(directory), tenants=default_tenants(), version=VERSION)
    assert len(rendered.manifests) == 1
    (manifest,) = rendered.manifests
    assert manifest["metadata"]["namespace"] == "tenant-beta"
    assert manifest["spec"] == {"replicas": 3, "note": "3 pods"}


def test_rendered_template_must_be_kubernetes_objects(tmp_path: Path) -> None:
    directory = write(
        tmp_path,
        """\
        setup:
          - apply: {template: half.yaml.j2}
        """,
        files={"half.yaml.j2": "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: x}\n"},
    )
    problem = r"half\.yaml\.j2: rendered document 1 \(ConfigMap\) has no metadata\.name"
    with pytest.raises(InputError, match=problem):
        preview(load_scenario(directory), tenants=default_tenants(), version=VERSION)


# -- the shipped scenarios ----------------------------------------------------------------


def test_discover_finds_the_canonical_scenarios() -> None:
    names = [s.name for s in discover(SHIPPED)]
    assert set(CANONICAL) <= set(names), names


@pytest.mark.parametrize("name", CANONICAL)
@pytest.mark.parametrize("version", [KubeVersion(1, 36, 3), KubeVersion(1, 37, 2)], ids=str)
def test_shipped_scenario_loads_and_renders_for_two_tenants(name: str, version: KubeVersion) -> None:
    scenario = load_scenario(SHIPPED / name)
    tenants = default_tenants()
    capabilities = frozenset({"real-containers"})  # render capability-gated steps too
    rendered = preview(scenario, tenants=tenants, version=version, capabilities=capabilities)
    assert rendered.manifests, "setup applies something"

    def owner(namespace: str) -> str | None:
        """The tenant owning ``namespace``: its ``tenant-<name>`` or a ``tenant-<name>-<purpose>``."""
        return next(
            (t.name for t in tenants if namespace == t.namespace or namespace.startswith(f"{t.namespace}-")), None
        )

    used = {m["metadata"].get("namespace") for m in rendered.manifests} - {None}
    for manifest in rendered.manifests:
        namespace = manifest["metadata"].get("namespace")
        assert namespace is None or owner(namespace), f"{manifest['kind']} outside tenant namespaces"
    for tenant in tenants:
        assert any(owner(namespace) == tenant.name for namespace in used), tenant.name


@pytest.mark.parametrize("name", CANONICAL)
def test_shipped_scenario_states_its_promise_and_names_every_step(name: str) -> None:
    scenario = load_scenario(SHIPPED / name)
    assert scenario.promise.endswith(".") and len(scenario.promise) < 240
    readme = (SHIPPED / name / "README.md").read_text()
    assert readme.startswith(f"# {name}\n") and "**Promise:**" in readme
    assert scenario.spec.setup and scenario.spec.verify and scenario.spec.during and scenario.spec.teardown
    for phase in PHASES:
        for where, step in walk_steps(scenario.spec.phase(phase), (phase,)):
            if len(where) == 2:  # top-level steps are what failure messages and reports show
                assert step.name, f"{name} {where} has no name"


def test_the_scenarios_that_register_the_harness_s_webhook_agree_on_its_timeout() -> None:
    """Both register the same configuration objects by server-side apply: the last to apply would win."""
    defaults = {
        name: load_scenario(SHIPPED / name).spec.parameters["timeout_seconds"].default
        for name in ("admission-webhooks", "global-fs-mounts")
    }
    assert set(defaults.values()) == {3}, defaults
