#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium when it is missing: the report
# tests open generated reports in it over the DevTools protocol.
set -euo pipefail
for program in chromium chromium-browser; do
    if command -v "$program" >/dev/null 2>&1; then
        exit 0
    fi
done
packages=(chromium fonts-dejavu-core)
if [ "$(id -u)" != 0 ]; then
    echo "Chromium is needed by the report tests: run as root, or: sudo apt-get install -y ${packages[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# package lists may be stale or absent on a fresh machine
apt-get install -y --no-install-recommends "${packages[@]}" || {
    apt-get update
    apt-get install -y --no-install-recommends "${packages[@]}"
}
