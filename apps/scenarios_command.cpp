#include "apps/scenarios_command.h"

namespace meshtwin {

void RegisterScenariosCommand(CLI::App&, int*) {}

}  // namespace meshtwin
