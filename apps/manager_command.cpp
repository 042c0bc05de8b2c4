#include "apps/manager_command.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

#include "apps/cli_util.h"
#include "live_bridge/manager.h"
#include "live_bridge/manager_config.h"

namespace meshtwin {
namespace {

// Set by SIGTERM/SIGINT (lock-free, so async-signal-safe).
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

int RunManagerCommand(const std::string& config_path, bool check_only) {
  absl::StatusOr<live::ManagerConfig> config = live::LoadManagerConfig(config_path);
  if (!config.ok()) return ReportError(config.status());
  if (check_only) {
    std::printf("%s: ok (scenario %s, policy %s, actuator %s%s)\n", config_path.c_str(),
                config->loaded.name.c_str(), config->loaded.policy.c_str(),
                config->actuator.c_str(), config->etcd_endpoint.empty() ? "" : ", etcd election");
    return 0;
  }
  absl::StatusOr<std::unique_ptr<live::Manager>> manager = live::Manager::Create(*config);
  if (!manager.ok()) return ReportError(manager.status());
  // The same handler as `meshtwin shadow`: a flag the loop polls; the
  // manager then resigns (a standby takes over at once) and stops.
  struct sigaction action {};
  action.sa_handler = [](int) { g_stop.store(true); };
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  if (absl::Status st = (*manager)->Start(); !st.ok()) return ReportError(st);
  if (absl::Status st = (*manager)->Run(&g_stop); !st.ok()) return ReportError(st);
  const live::ManagerStatus s = (*manager)->Status();
  std::printf(
      "manager %s: %llu ticks, %llu decisions, actions %llu applied, %llu fenced, %llu failed, "
      "%llu unsupported; %llu events; elections won %llu\n",
      config->id.c_str(), static_cast<unsigned long long>(s.ticks),
      static_cast<unsigned long long>(s.decisions),
      static_cast<unsigned long long>(s.actions_applied),
      static_cast<unsigned long long>(s.actions_fenced),
      static_cast<unsigned long long>(s.actions_failed),
      static_cast<unsigned long long>(s.actions_unsupported),
      static_cast<unsigned long long>(s.events), static_cast<unsigned long long>(s.elections_won));
  return 0;
}

}  // namespace

void RegisterManagerCommand(CLI::App& app, int* exit_code) {
  auto config = std::make_shared<std::string>();
  auto check = std::make_shared<bool>(false);
  CLI::App* manager = app.add_subcommand(
      "manager",
      "Run the control loop on a live mesh: agents over mutual TLS, leader election in etcd, "
      "actions through a provisioner, every decision in an fsynced log");
  manager->add_option("--config", *config, "The manager's YAML config")->required();
  manager->add_flag("--check", *check, "Check the config (and its scenario and files), then exit");
  manager->callback(
      [config, check, exit_code] { *exit_code = RunManagerCommand(*config, *check); });
}

}  // namespace meshtwin
