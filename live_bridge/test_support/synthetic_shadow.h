// A shadow run over synthetic production data, without Prometheus: a day-like
// demand curve with a spike, a production fleet that follows demand ten
// minutes late (so it is at SLO risk on the spike's ramp), and a few
// intervals without data. The policy (the built-in default scenario's HPA on
// its medium pool, with a naive forecaster) decides on it through the real
// Shadow. For tests of the shadow file (written by Shadow::Write) and the
// GUI's shadow view screenshot (live_shadow_fixture).
//
//   MESHTWIN_ASSIGN_OR_RETURN(auto shadow, RunSyntheticShadow({.hours = 3}));
//   MESHTWIN_RETURN_IF_ERROR(shadow->Write("shadow.h5", SyntheticShadowAbout()));
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "live_bridge/shadow.h"
#include "twin/status.h"

namespace meshtwin::live {

struct SyntheticShadowOptions {
  double start_unix = 1800000000;  // end of the first interval minus one interval
  double interval = 60;            // s
  double hours = 12;               // length of the run
  double spike_at_hours = 8;       // the spike starts this long after the start (none if >= hours)
};

// Steps a Shadow through the whole run and returns it (series, decisions and
// report ready to inspect or Write).
absl::StatusOr<std::unique_ptr<Shadow>> RunSyntheticShadow(const SyntheticShadowOptions& options);

// The free-form root attributes `meshtwin shadow` writes (where the data came
// from), with values naming this fixture.
std::vector<std::pair<std::string, std::string>> SyntheticShadowAbout();

}  // namespace meshtwin::live
