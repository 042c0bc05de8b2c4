#!/usr/bin/env bash
# Times a 100-run `meshtwin sweep` of the built-in default scenario (a day of
# 15 s ticks per run) with --jobs 2, under /usr/bin/time -v: wall time, CPU
# use (both cores busy shows as ~200 %) and peak RSS of the largest process.
# The grid is 10 HPA targets x 10 scale-down windows.
# Usage: bench/run_sweep_bench.sh [build-dir] [jobs]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
jobs=${2:-2}
bin=$build/meshtwin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The library name 'default'; older binaries only take the file.
scenario=default
if ! "$bin" sweep default --param policy.target_utilization=0.6 --out "$tmp/probe.h5" \
    >/dev/null 2>&1; then
  scenario=$here/../scenarios/default.yaml
fi

/usr/bin/time -v "$bin" sweep "$scenario" \
  --param policy.target_utilization=0.40:0.85:0.05 \
  --param policy.scale_down.stabilization_window=0s:540s:60s \
  --jobs "$jobs" --out "$tmp/sweep.h5" >"$tmp/sweep.txt" 2>"$tmp/time.txt" || {
  cat "$tmp/time.txt" >&2
  exit 1
}

field() { grep "$1" "$tmp/time.txt" | awk -F': ' '{print $2}'; }
runs=$(h5dump -H -d /points "$tmp/sweep.h5" | grep -o 'SIMPLE { ( [0-9]*' | grep -o '[0-9]*$')
wall=$(field 'Elapsed (wall clock)')
cpu=$(field 'Percent of CPU')
rss=$(field 'Maximum resident set size')
printf 'sweep of %s: %s runs, --jobs %s\n' "$scenario" "$runs" "$jobs"
printf '  wall %s   CPU %s   peak RSS %.1f MiB (largest single process)\n' "$wall" "$cpu" \
  "$(awk -v r="$rss" 'BEGIN { print r / 1024 }')"
printf '  user %s s   system %s s\n' "$(field 'User time')" "$(field 'System time')"
cat "$tmp/sweep.txt"
