#!/usr/bin/env bash
# Times whole `meshtwin simulate` runs with /usr/bin/time -v: the built-in
# default scenario (alone, then finding its capacity through Chord and
# Kademlia), failure-storm, and the 1,000-node x 7-day scenario. Prints wall
# time and peak RSS for each. Usage: bench/run_simulate_bench.sh [build-dir]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
bin=$build/meshtwin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() {
  local name=$1; shift
  /usr/bin/time -v "$bin" simulate "$@" --out "$tmp/$name.h5" --json >"$tmp/$name.json" 2>"$tmp/$name.time"
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$tmp/$name.time" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$tmp/$name.time" | awk '{print $NF}')
  printf '%-16s wall %-9s peak RSS %6.1f MiB  results %s\n' "$name" "$wall" \
    "$(awk -v r="$rss" 'BEGIN { print r / 1024 }')" "$(du -h "$tmp/$name.h5" | cut -f1)"
  cat "$tmp/$name.json"
}

run default
run default-chord --set dht=chord
run default-kademlia --set dht=kademlia
run failure-storm failure-storm
run fleet-1000x7d "$here/scenarios/fleet-1000x7d.yaml"
