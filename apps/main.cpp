// meshtwin: one binary, one subcommand per job. Exit codes: 0 ok, 1 internal
// error, 2 bad input (with one message naming the file, line and key).
#include <cstdio>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "apps/agent_command.h"
#include "apps/certs_command.h"
#include "apps/compare_command.h"
#include "apps/detect_command.h"
#include "apps/dht_command.h"
#include "apps/fault_proxy_command.h"
#include "apps/gui_command.h"
#include "apps/model_command.h"
#include "apps/scenarios_command.h"
#include "apps/manager_command.h"
#include "apps/shadow_command.h"
#include "apps/simulate_command.h"
#include "apps/sweep_command.h"
#include "apps/trace_command.h"

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("meshtwin");
  logger->set_pattern("meshtwin: %^%l%$: %v");
  spdlog::set_default_logger(logger);

  CLI::App app("meshtwin: a digital twin of an adaptive compute mesh", "meshtwin");
  app.set_version_flag("--version", "meshtwin 0.1.0");
  app.require_subcommand(1);
  int exit_code = 0;
  meshtwin::RegisterSimulateCommand(app, &exit_code);
  meshtwin::RegisterTraceCommands(app, &exit_code);
  meshtwin::RegisterEventsCommands(app, &exit_code);
  meshtwin::RegisterLogsCommands(app, &exit_code);
  meshtwin::RegisterModelCommands(app, &exit_code);
  meshtwin::RegisterScenariosCommand(app, &exit_code);
  meshtwin::RegisterCompareCommand(app, &exit_code);
  meshtwin::RegisterSweepCommand(app, &exit_code);
  meshtwin::RegisterDhtCommand(app, &exit_code);
  meshtwin::RegisterDetectCommand(app, &exit_code);
  meshtwin::RegisterGuiCommand(app, &exit_code);
  meshtwin::RegisterCertsCommand(app, &exit_code);
  meshtwin::RegisterAgentCommand(app, &exit_code);
  meshtwin::RegisterShadowCommand(app, &exit_code);
  meshtwin::RegisterManagerCommand(app, &exit_code);
  meshtwin::RegisterFaultProxyCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // a malformed command line is bad input
  }
  return exit_code;
}
