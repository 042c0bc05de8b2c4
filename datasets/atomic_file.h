// Writing a whole file so that nobody ever sees half of it: to a temporary
// name beside it, flushed to disk, then renamed over the final name. Every
// output meshtwin writes (results, traces, events, models, CSVs) goes this way.
#pragma once

#include <string>
#include <string_view>

#include "twin/status.h"

namespace meshtwin {

// NotFound if the directory does not exist; on any failure the temporary is
// removed and `path` is left as it was.
absl::Status WriteTextFileAtomically(const std::string& path, std::string_view text);

}  // namespace meshtwin
