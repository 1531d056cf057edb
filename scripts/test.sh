#!/usr/bin/env bash
# The whole test suite: unit, integration, doc and end-to-end tests, the last over a real
# OpenSSH server on 127.0.0.1 (DESIGN.md §6). Installs Debian's openssh-server when sshd is
# missing and we are root; otherwise fails, because the e2e tests never skip.
#
# Usage: scripts/test.sh [extra cargo test arguments, e.g. a test name filter]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SSHD=/usr/sbin/sshd

if [[ ! -x $SSHD ]]; then
    if [[ $(id -u) -eq 0 ]]; then
        echo "test.sh: $SSHD is missing; installing openssh-server" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null
    else
        echo "test.sh: $SSHD is missing and this is not root." >&2
        echo "test.sh: install it (sudo apt-get install openssh-server) and run again; the e2e tests need it." >&2
        exit 1
    fi
fi
# The manual-page test renders `pvectl man` with man(1).
if ! command -v man >/dev/null && [[ $(id -u) -eq 0 ]]; then
    echo "test.sh: man is missing; installing man-db" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq man-db >/dev/null
fi
# The dashboard's browser test (tests/dashboard/browser.rs) drives Debian's headless chromium
# through chromedriver; installed like openssh-server when missing.
if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    if [[ $(id -u) -eq 0 ]]; then
        echo "test.sh: chromium or chromedriver is missing; installing chromium chromium-driver" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    else
        echo "test.sh: /usr/bin/chromium or /usr/bin/chromedriver is missing and this is not root." >&2
        echo "test.sh: install them (sudo apt-get install chromium chromium-driver) and run again; the dashboard test needs them." >&2
        exit 1
    fi
fi
for tool in ssh ssh-keygen; do
    command -v "$tool" >/dev/null || { echo "test.sh: $tool is missing (openssh-client)" >&2; exit 1; }
done

# The MCP tests (tests/mcp.rs) drive `pvectl mcp` with the official MCP TypeScript SDK client:
# Node.js and npm, then the client's locked packages from the npm registry.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [[ $(id -u) -eq 0 ]]; then
        echo "test.sh: node or npm is missing; installing nodejs and npm" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    else
        echo "test.sh: node and npm are missing and this is not root; install Node.js 18+ and npm, then run again." >&2
        exit 1
    fi
fi
if [[ ! -d tests/mcp-client/node_modules ]]; then
    echo "test.sh: installing the MCP test client (npm ci in tests/mcp-client)" >&2
    (cd tests/mcp-client && npm ci --no-audit --no-fund --loglevel=error)
fi

# sshd's privilege-separation directory; root's sshd refuses to start without it
# (run by another user, sshd does not chroot and needs none).
if [[ ! -d /run/sshd && $(id -u) -eq 0 ]]; then
    install -d -m 0755 /run/sshd
fi

# Formatting is part of the suite (rustfmt.toml); skipped only where rustfmt is not installed.
if cargo fmt --version >/dev/null 2>&1; then
    cargo fmt --check
fi

cargo clippy --all-targets -- -D warnings
cargo build --all-targets
cargo test --all-targets "$@"
# `--all-targets` leaves out doc tests.
if [[ $# -eq 0 ]]; then
    cargo test --doc
fi
