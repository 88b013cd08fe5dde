"""The keys the Kubernetes client extracts from a kubeconfig stay where ``gc`` looks, never in /tmp."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import service_dirs
from harness.kube.client import api_client

KEY_TEXT = "-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\n"


def inline_kubeconfig(path: Path, key: str = KEY_TEXT) -> Path:
    def data(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {"server": "https://127.0.0.1:1", "certificate-authority-data": data("ca")},
                    }
                ],
                "users": [
                    {"name": "u", "user": {"client-certificate-data": data("cert"), "client-key-data": data(key)}}
                ],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    return path


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SPIN_HARNESS_STATE", str(tmp_path / "state"))
    return tmp_path / "state"


def test_inline_keys_are_written_below_the_state_root_not_the_temp_folder(tmp_path: Path, state: Path) -> None:
    api = api_client(inline_kubeconfig(tmp_path / "kubeconfig"))
    key_file = Path(api.configuration.key_file)
    folder = service_dirs.kube_config_files()
    assert key_file.parent == folder
    assert folder.parent == state / "services" and folder.name.startswith(f"{os.getpid()}-")
    assert folder.stat().st_mode & 0o777 == 0o700 and key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.read_text() == KEY_TEXT


def test_a_killed_process_leaves_its_keys_to_gc_and_an_exiting_one_removes_them(tmp_path: Path, state: Path) -> None:
    kubeconfig = inline_kubeconfig(tmp_path / "kubeconfig")
    program = (
        "import os, sys; from pathlib import Path; from harness.kube.client import api_client\n"
        f"api_client(Path({str(kubeconfig)!r}))\n"
        "print(os.getpid(), flush=True)\n"
        "if sys.argv[1] == 'kill': os.kill(os.getpid(), 9)\n"
    )
    env = dict(os.environ, SPIN_HARNESS_STATE=str(state))
    killed = subprocess.run([sys.executable, "-c", program, "kill"], env=env, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    left = state / "services" / f"{killed.stdout.strip()}-kubeconfig-files"
    assert left.is_dir() and any(left.iterdir())
    assert left in service_dirs.orphaned_service_dirs()
    exited = subprocess.run(
        [sys.executable, "-c", program, "exit"], env=env, capture_output=True, text=True, check=True
    )
    assert not (state / "services" / f"{exited.stdout.strip()}-kubeconfig-files").exists()


def test_a_removed_state_root_does_not_leave_the_client_pointing_at_gone_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A key no other test loads: the client keeps one file per distinct inline data.
    kubeconfig = inline_kubeconfig(tmp_path / "kubeconfig", KEY_TEXT.replace("not-a-real", "another"))
    monkeypatch.setenv("SPIN_HARNESS_STATE", str(tmp_path / "first"))
    first = Path(api_client(kubeconfig).configuration.key_file)
    shutil.rmtree(tmp_path / "first")
    monkeypatch.setenv("SPIN_HARNESS_STATE", str(tmp_path / "second"))
    second = Path(api_client(kubeconfig).configuration.key_file)
    assert second.is_file() and second != first and (tmp_path / "second") in second.parents
