#!/usr/bin/env bash
# Make sure Debian's OpenSSH server binary is installed, for the DVC SSH-remote test
# (tests/publish/test_dvc_ssh.py starts its own sshd on a free 127.0.0.1 port; nothing is enabled or
# started here). Idempotent: does nothing when /usr/sbin/sshd exists. Never fails the caller:
# without sshd the test is skipped with a printed reason.
set -u
if [ -x /usr/sbin/sshd ]; then
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-sshd: not root or no apt-get; the SSH remote test will be skipped" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends openssh-server >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1 || true
    apt-get install -y -q --no-install-recommends openssh-server >/dev/null 2>&1 \
        || echo "ensure-sshd: could not install openssh-server; the SSH test will be skipped" >&2
fi
exit 0
