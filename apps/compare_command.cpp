#include "apps/compare_command.h"

namespace meshtwin {

void RegisterCompareCommand(CLI::App&, int*) {}

}  // namespace meshtwin
