#!/usr/bin/env bash
# Times `meshtwin dht` with /usr/bin/time -v: Chord and Kademlia at 1,000,
# 10,000 and 100,000 nodes (all joined, 600 s measured, 1 lookup per node per
# minute), and Kademlia at 2,000 nodes making about 6 lookups each over
# 1,000 s (the load of SimGrid's own Kademlia example, which takes 42 s on
# Debian's SimGrid 3.32). Prints wall time, peak RSS, lookup success and hops.
# Usage: bench/run_dht_bench.sh [build-dir] [max-nodes]   (max-nodes skips larger runs)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
max_nodes=${2:-100000}
bin=$build/meshtwin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf '%-26s %10s %10s %10s %10s %8s %8s %12s\n' run wall "peak RSS" lookups success hops p99 messages
run() {
  local name=$1; shift
  /usr/bin/time -v "$bin" dht "$@" --json >"$tmp/$name.json" 2>"$tmp/$name.time"
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$tmp/$name.time" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$tmp/$name.time" | awk '{print $NF}')
  python3 - "$tmp/$name.json" "$name" "$wall" "$rss" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
name, wall, rss = sys.argv[2], sys.argv[3], int(sys.argv[4])
print(f"{name:<26} {wall:>10} {rss / 1024:>7.0f} MiB {j['lookups']:>10,} {100 * j['success_rate']:>9.3f}% "
      f"{j['hops_mean']:>8.2f} {j['hops_p99']:>8g} {j['messages']:>12,}")
EOF
}

for nodes in 1000 10000 100000; do
  [ "$nodes" -le "$max_nodes" ] || continue
  for protocol in chord kademlia; do
    run "$protocol-$nodes" --protocol "$protocol" --nodes "$nodes" --duration 600
  done
done
# About 6 lookups per node over 1,000 simulated seconds: 0.36 per minute.
run kademlia-2000-simgrid-load --protocol kademlia --nodes 2000 --duration 1000 --lookup-rate 0.36
