#!/usr/bin/env bash
# Runs every benchmark: bench/<area>/run.sh for each area that has one (local, sync, discovery…).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
status=0
for script in "$here"/*/run.sh; do
  [[ -f "$script" ]] || continue
  echo "== bench/$(basename "$(dirname "$script")")/run.sh"
  bash "$script" || { echo "bench/$(basename "$(dirname "$script")")/run.sh failed" >&2; status=1; }
done
exit $status
