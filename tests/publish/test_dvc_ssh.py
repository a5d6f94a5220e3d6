"""DVC push/pull through a real SSH remote: Debian's OpenSSH server on a free loopback port.

`scripts/ensure-sshd.sh` (run by `make test`) installs openssh-server. The test starts its own
`sshd` with a throwaway host key and user key (no system config, PID file in a temp folder),
pushes the benchmark and calibration records with dvc-ssh, pulls them into a fresh clone and
compares bytes.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.pipeline_helpers import env_for, file_digests, run, tracked_repo

SSHD = Path("/usr/sbin/sshd")

pytestmark = pytest.mark.slow


@dataclass
class SshServer:
    """A running sshd: where to reach it and how to log in."""

    port: int
    user: str
    key: Path
    home: Path
    log: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_banner(port: int, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return True
        except OSError:
            time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    if not SSHD.exists():
        reason = "openssh-server is not installed and could not be (see scripts/ensure-sshd.sh)"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "user_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / name)], check=True
        )
    (base / "authorized_keys").write_text((base / "user_key.pub").read_text())
    port = _free_port()
    config = base / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {base / 'host_key'}",
                f"PidFile {base / 'sshd.pid'}",
                f"AuthorizedKeysFile {base / 'authorized_keys'}",
                "StrictModes no",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "UsePAM no",
                "Subsystem sftp internal-sftp",
                "",
            ]
        )
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation folder
    log = base / "sshd.log"
    with log.open("wb") as log_handle:
        process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(config)],
            stdout=log_handle,
            stderr=subprocess.STDOUT,
        )
    try:
        if not _wait_for_banner(port):
            process.terminate()
            reason = f"sshd did not start: {log.read_text()[-500:]}"
            print(f"SKIP: {reason}")
            pytest.skip(reason)
        # A known_hosts with the throwaway host key, in a HOME of our own. (dvc-ssh, through
        # sshfs, passes known_hosts=None to asyncssh, which skips the check; this file is what a
        # checking client would need.)
        home = base / "home"
        (home / ".ssh").mkdir(parents=True)
        host_public = (base / "host_key.pub").read_text().split()
        (home / ".ssh" / "known_hosts").write_text(
            f"[127.0.0.1]:{port} {host_public[0]} {host_public[1]}\n"
        )
        yield SshServer(port, getpass.getuser(), base / "user_key", home, log)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _configure(repo: Path, server: SshServer, store: Path) -> None:
    url = f"ssh://{server.user}@127.0.0.1{store}"
    env = env_for(repo, HOME=str(server.home))
    run(["dvc", "remote", "add", "--local", "-f", "sshstore", url], repo, env)
    run(["dvc", "remote", "modify", "--local", "sshstore", "port", str(server.port)], repo, env)
    run(["dvc", "remote", "modify", "--local", "sshstore", "keyfile", str(server.key)], repo, env)


def test_push_and_pull_through_an_ssh_remote(
    sshd: SshServer, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    repo = tracked_repo(tmp_path_factory)
    [pointer] = [p.relative_to(repo).as_posix() for p in (repo / "results").rglob("records.dvc")]
    store = tmp_path / "ssh-store"
    store.mkdir()
    _configure(repo, sshd, store)
    env = env_for(repo, HOME=str(sshd.home))
    pushed = run(["dvc", "push", "-r", "sshstore", pointer], repo, env)
    assert "pushed" in pushed.stdout
    assert any(store.rglob("*")), "nothing arrived in the SSH remote's folder"
    assert "Accepted publickey" in sshd.log.read_text()

    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(repo), str(clone)], tmp_path)
    _configure(clone, sshd, store)
    run(["dvc", "pull", "-r", "sshstore", pointer], clone, env_for(clone, HOME=str(sshd.home)))
    folder = Path(pointer).parent / "records"
    original = file_digests(repo / folder)
    assert original and file_digests(clone / folder) == original
    # The calibration the run measured travels with its records.
    assert any("/calibration/" in f"/{path}" for path in original)
