#!/usr/bin/env bash
# Headless GUI test (ctest -L gui): a short simulation, `meshtwin gui
# --screenshot` on it under xvfb-run (Mesa's llvmpipe), and the PNG checked
# by gui_png_check: it decodes, has the asked size, is not one colour, and
# shows the demand line, the capacity line and the forecast band in the
# palette's colours. Then bad input: a corrupt results file, a bad --size and
# an unwritable PNG path must each exit non-zero, name the culprit, and leave
# no PNG. Then a streamed `--sim` run must render too, and the scenario
# panel's re-run (`--rerun`) must overlay a second run, or fail with the
# child's error naming the key. Then a faults topology: the real network
# drawn with the racks a partition cut off in the cut-off colour.
# Usage: tests/gui_screenshot_test.sh MESHTWIN GUI_PNG_CHECK
set -euo pipefail
meshtwin=$1
png_check=$2
if ! command -v xvfb-run >/dev/null; then
  echo "FAIL: xvfb-run is not installed (scripts/install-deps.sh installs xvfb xauth libgl1-mesa-dri)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
xvfb() { xvfb-run -a -s "-screen 0 1920x1080x24" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. A screenshot of a real run (6 simulated hours of the built-in default,
#    which runs the GRU forecaster: the plot has a forecast band).
"$meshtwin" simulate --set duration=6h -o "$tmp/run.h5" --quiet
xvfb "$meshtwin" gui "$tmp/run.h5" --screenshot "$tmp/shot.png" --frames 5 --size 1600x1000 --at 3h \
  2>"$tmp/stats.txt" || { cat "$tmp/stats.txt" >&2; fail "gui --screenshot exited non-zero"; }
grep -q "frame times over 4 frames" "$tmp/stats.txt" || fail "no frame-time statistics on stderr"
"$png_check" "$tmp/shot.png" 1600 1000 || fail "the screenshot does not look like the GUI"
ls "$tmp" | grep -q '\.tmp-' && fail "a temporary PNG was left behind"

# 2. Bad input: one clear error naming the file or flag, non-zero exit, no PNG.
expect_error() {  # expect_error WHAT-IN-MESSAGE ARGS...
  local want=$1; shift
  if xvfb "$meshtwin" gui "$@" 2>"$tmp/err.txt"; then fail "gui $* succeeded"; fi
  grep -q -- "$want" "$tmp/err.txt" || { cat "$tmp/err.txt" >&2; fail "gui $*: no error naming $want"; }
}
printf 'not an HDF5 file\n' >"$tmp/corrupt.h5"
expect_error "corrupt.h5" "$tmp/corrupt.h5" --screenshot "$tmp/bad.png"
expect_error "missing.h5" "$tmp/missing.h5" --screenshot "$tmp/bad.png"
expect_error "--size" "$tmp/run.h5" --screenshot "$tmp/bad.png" --size 12x
expect_error "--screenshot" "$tmp/run.h5" --screenshot "$tmp/no/such/dir/x.png"
[[ -e "$tmp/bad.png" ]] && fail "a PNG was written despite bad input"

# 3. A streamed simulation (`--sim`): the screenshot waits for the child's
#    run to end, so the plots show the streamed ticks and, from the results
#    file read at the end, the forecasts.
xvfb "$meshtwin" gui --sim default --set duration=2h --screenshot "$tmp/sim.png" --frames 5 \
  --size 1600x1000 2>"$tmp/sim.txt" || { cat "$tmp/sim.txt" >&2; fail "gui --sim exited non-zero"; }
"$png_check" "$tmp/sim.png" 1600 1000 || fail "the --sim screenshot does not show the run"
# 4. The scenario panel's re-run, driven headless (`--rerun` types the
#    settings into the panel and clicks its button): the child `meshtwin
#    simulate --stream` must finish, and the screenshot show both runs, the
#    re-run's dashed lines in the first overlay colour.
"$meshtwin" simulate --set duration=2h -o "$tmp/short.h5" --quiet
xvfb "$meshtwin" gui "$tmp/short.h5" --rerun "policy.name=predictive" --screenshot "$tmp/rerun.png" \
  --frames 5 --size 1600x1000 2>"$tmp/rerun.txt" ||
  { cat "$tmp/rerun.txt" >&2; fail "gui --rerun exited non-zero"; }
"$png_check" "$tmp/rerun.png" 1600 1000 --overlay 300 ||
  fail "the --rerun screenshot does not show the re-run overlaid"
# A re-run that fails: the child's error in the GUI (red text: the timeline's
# status and the scenario panel), on stderr naming the key, exit non-zero.
if xvfb "$meshtwin" gui "$tmp/short.h5" --rerun "policy.name=bogus" --screenshot "$tmp/bogus.png" \
  --frames 5 --size 1600x1000 2>"$tmp/bogus.txt"; then
  fail "gui --rerun policy.name=bogus exited 0"
fi
grep -q -- "--rerun: .*policy.name.*bogus" "$tmp/bogus.txt" ||
  { cat "$tmp/bogus.txt" >&2; fail "gui --rerun policy.name=bogus: no error naming policy.name"; }
"$png_check" "$tmp/bogus.png" 1600 1000 --failed 40 ||
  fail "the failed re-run's error is not shown in the GUI"

# 5. The real network of a faults topology: failure-storm cuts zone 2 (racks
#    8 to 11) off the core from 15:15 to 15:25; at 15:20 the topology panel
#    must draw those racks and the zone's core links in the cut-off colour
#    (hundreds of pixels: the squares, the dashed links, the labels), and at
#    12:00, before the storm, only the legend's swatch.
"$meshtwin" simulate failure-storm --set duration=16h -o "$tmp/storm.h5" --quiet
xvfb "$meshtwin" gui "$tmp/storm.h5" --screenshot "$tmp/storm.png" --frames 5 --size 1600x1000 \
  --at 15h20m 2>"$tmp/storm.txt" || { cat "$tmp/storm.txt" >&2; fail "gui failure-storm exited non-zero"; }
"$png_check" "$tmp/storm.png" 1600 1000 --cut 300 ||
  fail "the failure-storm screenshot at 15h20m does not show zone 2 cut off"
xvfb "$meshtwin" gui "$tmp/storm.h5" --screenshot "$tmp/calm.png" --frames 3 --size 1600x1000 \
  --at 12h 2>"$tmp/calm.txt" || { cat "$tmp/calm.txt" >&2; fail "gui failure-storm at 12h exited non-zero"; }
if "$png_check" "$tmp/calm.png" 1600 1000 --cut 100 >/dev/null 2>&1; then
  fail "the failure-storm screenshot at 12h shows racks cut off before the partition"
fi

ls /tmp | grep -q "meshtwin-gui-" && echo "note: /tmp holds meshtwin-gui-* directories (other runs?)" >&2
echo "gui screenshot test: OK"
