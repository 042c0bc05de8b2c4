#include "apps/sweep_command.h"

namespace meshtwin {

void RegisterSweepCommand(CLI::App&, int*) {}

}  // namespace meshtwin
