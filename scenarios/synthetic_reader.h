// Internal to scenarios/: reads a scenario's `trace.synthetic` section into
// the generator's DiurnalParams, with the located errors of yaml_reader.h.
// Every key is documented in scenarios/README.md (trace.synthetic).
//
//   MESHTWIN_RETURN_IF_ERROR(ReadSynthetic(reporter, item, &spec.synthetic));
#pragma once

#include "datasets/synthetic.h"
#include "scenarios/yaml_reader.h"
#include "twin/status.h"

namespace meshtwin {

// Fills `out` from the mapping at `item`; keys that are absent keep the value
// `out` already holds (the DiurnalParams defaults for a fresh struct). Bad
// input is InvalidArgumentError "FILE:LINE:COL: trace.synthetic.KEY: ...".
absl::Status ReadSynthetic(const scenario_yaml::Reporter& r, const scenario_yaml::Item& synthetic,
                           DiurnalParams* out);

}  // namespace meshtwin
