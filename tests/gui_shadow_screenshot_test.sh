#!/usr/bin/env bash
# Headless test of the GUI's shadow view (ctest -L gui): a shadow file written
# by the real Shadow::Write from a synthetic 12 h run (live_shadow_fixture),
# `meshtwin gui --shadow` screenshot under xvfb-run, and the PNG checked by
# gui_png_check --shadow: the demand line, production's capacity and node
# lines and the would-be fleet's lines in their palette colours. Then a bad
# shadow file (not HDF5; a results file; missing) must fail naming the file,
# with no PNG.
# Usage: tests/gui_shadow_screenshot_test.sh MESHTWIN GUI_PNG_CHECK LIVE_SHADOW_FIXTURE
set -euo pipefail
meshtwin=$1
png_check=$2
fixture=$3
if ! command -v xvfb-run >/dev/null; then
  echo "FAIL: xvfb-run is not installed (scripts/install-deps.sh installs xvfb xauth libgl1-mesa-dri)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
xvfb() { xvfb-run -a -s "-screen 0 1920x1080x24" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. The shadow view alone: the whole window.
"$fixture" "$tmp/shadow.h5" 12 || fail "live_shadow_fixture could not write a shadow file"
xvfb "$meshtwin" gui --shadow "$tmp/shadow.h5" --screenshot "$tmp/shadow.png" --frames 5 \
  --size 1600x1000 2>"$tmp/stats.txt" || { cat "$tmp/stats.txt" >&2; fail "gui --shadow exited non-zero"; }
grep -q "frame times over 4 frames" "$tmp/stats.txt" || fail "no frame-time statistics on stderr"
"$png_check" "$tmp/shadow.png" 1600 1000 --shadow 600 || fail "the shadow screenshot does not show the shadow view"
ls "$tmp" | grep -q '\.tmp-' && fail "a temporary PNG was left behind"

# 2. Beside a results file: the shadow view is a tab of the plots tile, shown first.
"$meshtwin" simulate --set duration=2h -o "$tmp/run.h5" --quiet
xvfb "$meshtwin" gui "$tmp/run.h5" --shadow "$tmp/shadow.h5" --screenshot "$tmp/both.png" --frames 5 \
  --size 1600x1000 2>"$tmp/both.txt" || { cat "$tmp/both.txt" >&2; fail "gui RUN --shadow exited non-zero"; }
"$png_check" "$tmp/both.png" 1600 1000 --shadow 300 || fail "the shadow tab is not shown beside the run"

# 3. Bad shadow files: one error naming the file, non-zero exit, no PNG.
expect_error() {  # expect_error WHAT-IN-MESSAGE ARGS...
  local want=$1; shift
  if xvfb "$meshtwin" gui "$@" 2>"$tmp/err.txt"; then fail "gui $* succeeded"; fi
  grep -q -- "$want" "$tmp/err.txt" || { cat "$tmp/err.txt" >&2; fail "gui $*: no error naming $want"; }
}
printf 'not an HDF5 file\n' >"$tmp/corrupt.h5"
expect_error "corrupt.h5: /: not an HDF5 file" --shadow "$tmp/corrupt.h5" --screenshot "$tmp/bad.png"
expect_error "run.h5: /: .*not a shadow file" --shadow "$tmp/run.h5" --screenshot "$tmp/bad.png"
expect_error "missing.h5" --shadow "$tmp/missing.h5" --screenshot "$tmp/bad.png"
[[ -e "$tmp/bad.png" ]] && fail "a PNG was written despite a bad shadow file"
echo "gui shadow screenshot: ok"
