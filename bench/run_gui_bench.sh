#!/usr/bin/env bash
# GUI frame-time benchmark: simulates bench/scenarios/gui-10k-nodes.yaml (a
# fixed fleet of 10,000 nodes, 30 minutes, a node snapshot every tick), then
# renders `meshtwin gui FILE --screenshot --frames 300 --size 1920x1080` under
# xvfb-run (Mesa llvmpipe) with /usr/bin/time -v and prints the frame-time
# statistics the GUI reports (mean, p50, p99, fps; the first frame, which
# builds the font atlas and the 10,000-node layout, is reported apart).
# Usage: bench/run_gui_bench.sh [build-dir] [frames]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
frames=${2:-300}
bin=$build/meshtwin
command -v xvfb-run >/dev/null || { echo "xvfb-run is missing (apt-get install xvfb xauth libgl1-mesa-dri)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/time -v "$bin" simulate "$here/scenarios/gui-10k-nodes.yaml" --out "$tmp/10k.h5" --quiet \
  2>"$tmp/sim.time"
printf 'simulate gui-10k-nodes: wall %s, peak RSS %.0f MiB, results file %s\n' \
  "$(grep 'Elapsed (wall clock)' "$tmp/sim.time" | awk '{print $NF}')" \
  "$(grep 'Maximum resident set size' "$tmp/sim.time" | awk '{print $NF / 1024}')" \
  "$(du -h "$tmp/10k.h5" | cut -f1)"

/usr/bin/time -v xvfb-run -a -s "-screen 0 1920x1080x24" \
  "$bin" gui "$tmp/10k.h5" --screenshot "$tmp/10k.png" --frames "$frames" --size 1920x1080 --at 15m \
  2>"$tmp/gui.err"
grep 'frame times' "$tmp/gui.err"
printf 'gui: wall %s for %s frames, peak RSS %.0f MiB\n' \
  "$(grep 'Elapsed (wall clock)' "$tmp/gui.err" | awk '{print $NF}')" "$frames" \
  "$(grep 'Maximum resident set size' "$tmp/gui.err" | awk '{print $NF / 1024}')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (the figures are shared-machine figures)"
