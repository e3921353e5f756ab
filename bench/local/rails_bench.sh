#!/usr/bin/env bash
# Generates the small Rails app into DIR and runs rails_bench.rb on it.
#   bash bench/local/rails_bench.sh DIR   (RAILS_SLOTS=2,4 REPS=3 RAILS_FILES=36 FULL=1; FULL=0: no baselines)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: rails_bench.sh DIR}
ruby "$here/gen_rails.rb" "$dir" --files "${RAILS_FILES:-36}" >/dev/null
baselines=(); [[ "${FULL:-1}" == 1 ]] || baselines=(--no-baselines)
ruby "$here/rails_bench.rb" --app "$dir" --slots "${RAILS_SLOTS:-2,4}" --reps "${REPS:-3}" "${baselines[@]}"
