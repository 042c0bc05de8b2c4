#include "apps/agent_command.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <ctime>
#include <memory>
#include <string>
#include <thread>

#include "apps/cli_util.h"
#include "live_bridge/agent.h"
#include "live_bridge/agent_config.h"

namespace meshtwin {
namespace {

int RunAgent(const std::string& config_path) {
  absl::StatusOr<live::AgentConfig> config = live::LoadAgentConfig(config_path);
  if (!config.ok()) return ReportError(config.status());

  // SIGTERM and SIGINT are taken by a waiting thread rather than a handler:
  // blocked here, before any thread starts, so every thread inherits the mask
  // (the workload's child process unblocks them again).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  live::AgentOptions options;
  options.config = *config;
  live::Agent agent(options);
  if (absl::Status started = agent.Start(); !started.ok()) return ReportError(started);

  std::atomic<bool> done{false};
  std::thread signals([&] {
    const timespec tick{0, 200 * 1000 * 1000};
    while (!done.load()) {
      const int sig = sigtimedwait(&stop_signals, nullptr, &tick);
      if (sig == SIGTERM || sig == SIGINT) {
        spdlog::info("agent {}: {} received, stopping", options.config.node_id,
                     sig == SIGTERM ? "SIGTERM" : "SIGINT");
        agent.Shutdown();
        return;
      }
    }
  });
  const absl::Status ran = agent.Run();
  done = true;
  signals.join();
  if (!ran.ok()) return ReportError(ran);
  const live::AgentStatus status = agent.Status();
  spdlog::info("agent {}: stopped after {} heartbeat(s) and {} command(s)", options.config.node_id,
               status.heartbeats_sent, status.commands_applied);
  return 0;
}

}  // namespace

void RegisterAgentCommand(CLI::App& app, int* exit_code) {
  auto config = std::make_shared<std::string>();
  CLI::App* agent = app.add_subcommand(
      "agent", "Run a node agent: register with the manager, heartbeat, run the role's workload");
  agent->add_option("--config", *config, "The agent's YAML config (node, manager, tls, roles, ...)")
      ->required();
  agent->callback([config, exit_code] { *exit_code = RunAgent(*config); });
}

}  // namespace meshtwin
