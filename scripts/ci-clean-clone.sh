#!/usr/bin/env bash
# Runs .ci/run on a fresh clone of the current HEAD, as CI does: catches files that are ignored or
# uncommitted and install steps that only work in a developer's tree.
set -euo pipefail
repo="$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone --quiet "$repo" "$work/fleetcast"
cd "$work/fleetcast"
bash .ci/run
