#!/bin/sh
# Make sure Debian's headless-capable Chromium is at /usr/bin/chromium for the browser tests.
# Idempotent: does nothing when it is already installed. Where it cannot be installed (no root,
# no apt, no package registry) it prints why and exits 0: the browser tests then skip with that
# reason (tests/site/test_browser.py looks for /usr/bin/chromium).
set -u
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: apt-get not found; browser tests will be skipped (no $CHROMIUM)" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "ensure-chromium: not root and no passwordless sudo; browser tests will be skipped" >&2
        exit 0
    fi
fi
echo "ensure-chromium: installing chromium with apt-get" >&2
if $SUDO apt-get update -q >/dev/null \
    && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium >/dev/null; then
    echo "ensure-chromium: installed $($CHROMIUM --version 2>/dev/null)" >&2
else
    echo "ensure-chromium: apt-get install chromium failed; browser tests will be skipped" >&2
fi
exit 0
