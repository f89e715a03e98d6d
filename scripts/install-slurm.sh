#!/usr/bin/env bash
# Installs Slurm and munge from Debian's packages when they are missing: the
# tests start a real one-node cluster with them (never a system service).
set -euo pipefail
need=(munged slurmctld slurmd sbatch squeue scontrol)
missing=0
for program in "${need[@]}"; do
    command -v "$program" >/dev/null 2>&1 || missing=1
done
if [ "$missing" = 0 ]; then
    exit 0
fi
packages=(slurmd slurmctld slurm-client munge)
if [ "$(id -u)" != 0 ]; then
    echo "Slurm is needed by the tests: run as root, or: sudo apt-get install -y ${packages[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# package lists may be stale or absent on a fresh machine
apt-get install -y --no-install-recommends "${packages[@]}" || {
    apt-get update
    apt-get install -y --no-install-recommends "${packages[@]}"
}
# the packages start system daemons on some setups; the tests run their own
for service in slurmd slurmctld munge; do
    if command -v systemctl >/dev/null 2>&1; then systemctl stop "$service" 2>/dev/null || true; fi
done
