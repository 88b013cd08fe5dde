"""The in-cluster webhook as data: its manifests, its image's parts, its entrypoint's refusals.

The pods themselves run on the kind smoke cell (the admission-webhooks scenario, ``tests/e2e/test_kind_smoke.py``).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import marshal
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509

from harness.errors import ImageError
from harness.images import webhook_image
from harness.kube.labels import PLATFORM_DOMAIN
from harness.webhooks.certs import create_serving_material, service_dns_names
from harness.webhooks.deployment import REGISTRATION_NAME, WEBHOOK_NAMES, InClusterWebhook, deployment_manifests
from harness.webhooks.install_in_cluster import IN_CLUSTER_SELECTOR
from harness.webhooks.manifests import MUTATING_WEBHOOK, VALIDATING_WEBHOOK, registration_manifests
from harness.webhooks.serve_in_pod import main as serve_in_pod


def by_kind(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["kind"]: m for m in manifests}


@pytest.fixture
def manifests(tmp_path: Path) -> list[dict[str, Any]]:
    material = create_serving_material(tmp_path, None, dns_names=service_dns_names("hook", "spin-webhook"))
    return deployment_manifests(InClusterWebhook("spin-harness.local/admission-webhook:abc", name="hook"), material)


def test_the_secret_carries_the_serving_pair_and_the_ca(tmp_path: Path, manifests: list[dict[str, Any]]) -> None:
    secret = by_kind(manifests)["Secret"]
    assert secret["type"] == "kubernetes.io/tls"
    assert set(secret["data"]) == {"tls.crt", "tls.key", "ca.crt"}
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "hook.spin-webhook.svc" in names.get_values_for_type(x509.DNSName), "the name the apiserver dials"
    assert base64.b64decode(secret["data"]["ca.crt"]) == (tmp_path / "ca.crt").read_bytes()


def test_pods_are_unprivileged_and_read_only_and_use_the_local_image(manifests: list[dict[str, Any]]) -> None:
    pod = by_kind(manifests)["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["imagePullPolicy"] == "Never", "a locally built image is never pulled"
    security = container["securityContext"]
    assert security["runAsNonRoot"] and security["runAsUser"] != 0
    assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    assert pod["volumes"][0]["secret"]["secretName"] == "hook-tls"


def test_two_replicas_survive_a_drain(manifests: list[dict[str, Any]]) -> None:
    objects = by_kind(manifests)
    assert objects["Deployment"]["spec"]["replicas"] == 2
    assert objects["PodDisruptionBudget"]["spec"]["minAvailable"] == 1
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    assert any(t["key"] == "node-role.kubernetes.io/control-plane" for t in pod["tolerations"])
    assert pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]


def test_rbac_grants_reading_namespaces_only(manifests: list[dict[str, Any]]) -> None:
    objects = by_kind(manifests)
    assert objects["ClusterRole"]["rules"] == [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}]
    (subject,) = objects["ClusterRoleBinding"]["subjects"]
    assert subject == {"kind": "ServiceAccount", "name": "hook", "namespace": "spin-webhook"}


def test_the_webhooks_own_namespace_is_never_selected(manifests: list[dict[str, Any]]) -> None:
    namespace = by_kind(manifests)["Namespace"]
    assert f"{PLATFORM_DOMAIN}/policy" not in namespace["metadata"]["labels"]
    assert manifests[0]["kind"] == "Namespace", "applied first"


def test_a_new_certificate_rolls_the_pods(tmp_path: Path) -> None:
    webhook = InClusterWebhook("spin-harness.local/admission-webhook:abc")

    def fingerprint(directory: Path) -> str:
        material = create_serving_material(directory, None, dns_names=("x.y.svc",))
        template = by_kind(deployment_manifests(webhook, material))["Deployment"]["spec"]["template"]
        return str(template["metadata"]["annotations"][f"{PLATFORM_DOMAIN}/serving-cert"])

    assert fingerprint(tmp_path / "one") != fingerprint(tmp_path / "two")


def test_registered_by_service_under_names_that_say_in_cluster(tmp_path: Path) -> None:
    material = create_serving_material(tmp_path, None, dns_names=("x.y.svc",))
    webhook = InClusterWebhook()
    hooks = [
        m["webhooks"][0]
        for m in registration_manifests(
            webhook.endpoint(material.ca_pem),
            name=REGISTRATION_NAME,
            namespace_selector=IN_CLUSTER_SELECTOR,
            webhook_names=WEBHOOK_NAMES,
        )
    ]
    assert [h["name"] for h in hooks] == [
        VALIDATING_WEBHOOK.replace(PLATFORM_DOMAIN, f"in-cluster.{PLATFORM_DOMAIN}"),
        MUTATING_WEBHOOK.replace(PLATFORM_DOMAIN, f"in-cluster.{PLATFORM_DOMAIN}"),
    ]
    assert all(h["clientConfig"]["service"]["name"] == webhook.name for h in hooks)
    assert all(h["namespaceSelector"] == IN_CLUSTER_SELECTOR for h in hooks)


# -- the image ----------------------------------------------------------------------------


def test_the_image_python_matches_the_host_or_is_refused_with_the_reason() -> None:
    assert webhook_image.python_root((3, 11)).suite == "bookworm"
    assert webhook_image.python_root((3, 13)).suite == "trixie"
    with pytest.raises(ImageError, match=r"Python 3\.12.*Debian has 3\.11 \(bookworm\)"):
        webhook_image.python_root((3, 12))


def test_the_image_carries_what_the_entrypoint_imports() -> None:
    names = {d.name.lower().replace("_", "-") for d in webhook_image.runtime_distributions()}
    assert {"kubernetes", "cryptography"} <= names
    assert "spin-harness" not in names, "the harness is copied from its sources"
    assert "pytest" not in names, "only what the webhook imports"


def test_the_tag_follows_the_harness_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    first = webhook_image.webhook_image_reference()
    assert first.startswith(f"{webhook_image.REPOSITORY}:")
    sources = webhook_image._harness_sources()
    assert any(name == "harness/webhooks/serve_in_pod.py" for name, _ in sources)
    webhook_image.webhook_image_reference.cache_clear()
    monkeypatch.setattr(webhook_image, "_harness_sources", lambda: [*sources[:-1]])
    try:
        assert webhook_image.webhook_image_reference() != first
    finally:
        webhook_image.webhook_image_reference.cache_clear()


def test_the_image_holds_every_harness_module_the_entrypoint_imports() -> None:
    """The sources are found by reading them; importing the entrypoint must need no other module."""
    script = "import json, sys; import harness.webhooks.serve_in_pod; print(json.dumps(sorted(sys.modules)))"
    every = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, check=True).stdout)
    left_out = [m for m in every if f"{m.replace('.', '/')}/".startswith(webhook_image.UNUSED_PARTS)]
    assert not left_out, f"the image leaves these out, but the entrypoint imports them: {left_out}"
    imported = [m for m in every if m == "harness" or m.startswith("harness.")]
    staged = {name for name, _ in webhook_image._harness_sources()}
    missing = [m for m in imported if not {f"{m.replace('.', '/')}.py", f"{m.replace('.', '/')}/__init__.py"} & staged]
    assert not missing
    assert "harness/run/cell.py" not in staged, "a module the webhook cannot import is left out"


def test_the_staged_site_leaves_out_the_unused_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPIN_HARNESS_CACHE", str(tmp_path / "cache"))
    installed = tmp_path / "site-packages"
    names = ["kubernetes/__init__.py", "kubernetes/client/api.py", "kubernetes/aio/client/api.py"]
    for name in names:
        (installed / name).parent.mkdir(parents=True, exist_ok=True)
        (installed / name).write_text("VALUE = 1\n")
    dist = webhook_image.Distribution("kubernetes", "0.0-test", tuple(Path(n) for n in names), installed)
    site = webhook_image._ensure_site([dist], lambda _line: None)
    staged = sorted(str(p.relative_to(site)) for p in site.rglob("*.py"))
    assert staged == ["kubernetes/__init__.py", "kubernetes/client/api.py"]


def test_sources_include_imports_inside_functions_and_relative_ones(tmp_path: Path) -> None:
    package = tmp_path / "harness" / "sub"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    module = package / "mod.py"
    module.write_text("import os\nfrom . import sibling\n\ndef later():\n    from harness.other import name\n")
    assert sorted(webhook_image._imported_harness_modules(module, "harness.sub.mod")) == [
        "harness.other",
        "harness.other.name",
        "harness.sub",
        "harness.sub.sibling",
    ]


def test_modules_are_staged_with_byte_code_that_never_checks_its_source(tmp_path: Path) -> None:
    source = tmp_path / "src" / "mod.py"
    source.parent.mkdir()
    source.write_text("VALUE = 42\n")
    script = tmp_path / "src" / "tool"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert webhook_image._stage(tmp_path / "site", [("pkg/mod.py", source), ("pkg/tool", script)]) == 2
    compiled = tmp_path / "site" / "pkg" / "__pycache__" / f"mod.{sys.implementation.cache_tag}.pyc"
    data = compiled.read_bytes()
    assert data[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(data[4:8], "little") == 0b01, "hash-based, unchecked"
    assert marshal.loads(data[16:]).co_filename == f"{webhook_image.SITE}/pkg/mod.py"
    assert (tmp_path / "site" / "pkg" / "tool").stat().st_mode & 0o111


# -- the entrypoint -----------------------------------------------------------------------


def test_the_entrypoint_refuses_to_start_without_its_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert serve_in_pod(["--tls-dir", str(tmp_path)]) == 2
    assert f"no CA in {tmp_path}" in capsys.readouterr().err
    (tmp_path / "ca.crt").write_text("x")
    assert serve_in_pod(["--tls-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "tls.crt" in err and "tls.key" in err and "mount the tls Secret" in err


def test_a_review_is_logged_as_metadata_only(capsys: pytest.CaptureFixture[str]) -> None:
    from harness.webhooks.serve_in_pod import log_record
    from harness.webhooks.server import RequestRecord

    log_record(RequestRecord(1.0, "/validate", "u", "ns", "p", "CREATE", "normal", "denied", ("wrong-uid",)))
    entry = json.loads(capsys.readouterr().out)
    assert entry["event"] == "review" and entry["decision"] == "denied" and entry["codes"] == ["wrong-uid"]
    assert "object" not in entry and "spec" not in json.dumps(entry)


def test_older_webhook_images_and_sites_go_but_the_newest_few() -> None:
    """A developer's environment and a test environment with newer pins each keep theirs."""
    assert webhook_image._all_but_newest([1.0, 5.0, 3.0, 4.0], 2, key=float) == [3.0, 1.0]
    assert webhook_image._all_but_newest([1.0], 2, key=float) == []


def test_a_staged_site_goes_when_newer_ones_are_kept_and_a_half_staged_one_always(tmp_path: Path) -> None:
    sites = {name: tmp_path / name for name in ("current", "recent", "older", "crashed.part")}
    for age, name in enumerate(("current", "recent", "older")):
        (sites[name] / ".complete").parent.mkdir()
        (sites[name] / ".complete").write_text("")
        os.utime(sites[name] / ".complete", (1000 - age, 1000 - age))
    sites["crashed.part"].mkdir()
    extra = tmp_path / "oldest"
    (extra / ".complete").parent.mkdir()
    (extra / ".complete").write_text("")
    os.utime(extra / ".complete", (1, 1))
    webhook_image._remove_other_sites(sites["current"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "older", "recent"]


def test_a_half_staged_site_goes_even_when_fewer_than_the_kept_are_there(tmp_path: Path) -> None:
    (tmp_path / "current").mkdir()
    (tmp_path / "current" / ".complete").write_text("")
    (tmp_path / "crashed.part").mkdir()
    webhook_image._remove_other_sites(tmp_path / "current")
    assert [p.name for p in tmp_path.iterdir()] == ["current"]


def test_a_build_removes_webhook_images_but_the_current_and_the_newest_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def image(tag: str, hour: int) -> SimpleNamespace:
        return SimpleNamespace(repo_tags=[f"{webhook_image.REPOSITORY}:{tag}"], created=datetime(2026, 1, 1, hour))

    listed = [image("current", 1), image("a", 5), image("b", 4), image("c", 3), image("d", 2)]
    removed: list[str] = []
    docker = SimpleNamespace(image=SimpleNamespace(list=lambda repository: listed, remove=removed.append))
    monkeypatch.setattr(webhook_image.engine, "docker_client", lambda: docker)
    webhook_image._remove_older(f"{webhook_image.REPOSITORY}:current")
    assert sorted(removed) == [f"{webhook_image.REPOSITORY}:{tag}" for tag in ("c", "d")]
