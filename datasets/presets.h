// Named synthetic workloads for `meshtwin trace generate --preset NAME`, each
// with the events it responds to. Their equations are in datasets/GENERATORS.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/trace.h"
#include "twin/status.h"

namespace meshtwin {

struct PresetInfo {
  std::string name;
  std::string description;  // one line
};

// diurnal-web, weekly-business, product-launch, flash-crowd, black-friday,
// market-open, role-mix, event-mix.
const std::vector<PresetInfo>& Presets();

// `days` of the preset from its calendar start, deterministic in `seed`.
// Unknown name or days outside (0, 400] is InvalidArgument.
absl::StatusOr<Trace> GeneratePreset(std::string_view name, double days, std::uint64_t seed);

}  // namespace meshtwin
