#!/usr/bin/env bash
# Stands in for the specswarm binary in netns_bench (its SPECSWARM_BINARY): SwarmLab::StartJoin
# always passes `--slots 2` and appends the caller's arguments, documenting that "a later --slots
# wins", but `specswarm join` rejects a repeated --slots ("At Most 1 required but received 2").
# So when --slots/-n appears more than once, only the last one is kept; everything else is passed
# through unchanged to the real binary next to this script (specswarm.bin), by exec (same PID).
here=$(cd "$(dirname "$0")" && pwd)
args=("$@")
last=-1
for i in "${!args[@]}"; do
  [[ ${args[$i]} == --slots || ${args[$i]} == -n ]] && last=$i
done
out=()
for ((i = 0; i < ${#args[@]}; ++i)); do
  if [[ (${args[$i]} == --slots || ${args[$i]} == -n) && $i != "$last" ]]; then
    ((++i))
    continue
  fi
  out+=("${args[$i]}")
done
exec "$here/specswarm.bin" "${out[@]}"
