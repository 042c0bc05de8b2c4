// live_shadow_fixture OUT.h5 [HOURS]: writes a shadow file from a synthetic
// run (test_support/synthetic_shadow.h) through the real Shadow::Write, for
// the GUI's shadow screenshot test. Exit 0 when the file is written.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "live_bridge/test_support/synthetic_shadow.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: live_shadow_fixture OUT.h5 [HOURS]\n");
    return 2;
  }
  meshtwin::live::SyntheticShadowOptions options;
  if (argc == 3) options.hours = std::atof(argv[2]);
  if (!(options.hours > 0)) {
    std::fprintf(stderr, "live_shadow_fixture: HOURS must be a positive number\n");
    return 2;
  }
  auto shadow = meshtwin::live::RunSyntheticShadow(options);
  absl::Status st = shadow.ok() ? (*shadow)->Write(argv[1], meshtwin::live::SyntheticShadowAbout())
                                : shadow.status();
  if (!st.ok()) {
    std::fprintf(stderr, "live_shadow_fixture: %s\n", meshtwin::ErrorText(st).c_str());
    return 1;
  }
  const meshtwin::live::ShadowReport r = (*shadow)->Report();
  std::printf(
      "%s: %d intervals, %d decisions, production %.1f node-hours / %d at risk, "
      "would be %.1f / %d\n",
      argv[1], r.intervals, r.decisions, r.production_node_hours, r.production_risk_intervals,
      r.would_be_node_hours, r.would_be_risk_intervals);
  return 0;
}
