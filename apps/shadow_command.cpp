#include "apps/shadow_command.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "apps/cli_util.h"
#include "datasets/timestamp.h"
#include "live_bridge/shadow.h"
#include "live_bridge/shadow_config.h"

namespace meshtwin {
namespace {

// Set by SIGTERM/SIGINT (lock-free, so async-signal-safe).
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

struct ShadowFlags {
  std::string config;
  std::vector<std::string> replay;  // FROM TO
  std::string out;
};

int RunShadowCommand(const ShadowFlags& flags) {
  absl::StatusOr<live::ShadowConfig> config = live::LoadShadowConfig(flags.config);
  if (!config.ok()) return ReportError(config.status());
  live::ShadowRunOptions options;
  options.out = flags.out;
  if (!flags.replay.empty()) {
    absl::StatusOr<double> from = ParseTimestamp(flags.replay[0]);
    absl::StatusOr<double> to = ParseTimestamp(flags.replay[1]);
    if (!from.ok()) {
      return ReportError(absl::InvalidArgumentError("--replay FROM: " + ErrorText(from.status())));
    }
    if (!to.ok()) {
      return ReportError(absl::InvalidArgumentError("--replay TO: " + ErrorText(to.status())));
    }
    options.replay_from = *from;
    options.replay_to = *to;
  }
  if (absl::Status out = CheckOutputPath("out", options.out.empty() ? config->out : options.out);
      !out.ok()) {
    return ReportError(out);
  }

  // SIGTERM/SIGINT set a flag the run polls; it then writes the file. A
  // handler rather than the agent's sigwait thread: libraries linked into
  // the binary may start threads before main, and a blocked mask set here
  // would not cover them (the signal would kill the process there).
  struct sigaction action {};
  action.sa_handler = [](int) { g_stop.store(true); };
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  options.stop = &g_stop;
  absl::StatusOr<live::ShadowReport> report = live::RunShadow(*config, options);
  if (!report.ok()) return ReportError(report.status());
  std::fputs(live::FormatShadowReport(*report).c_str(), stdout);
  return 0;
}

}  // namespace

void RegisterShadowCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ShadowFlags>();
  CLI::App* shadow = app.add_subcommand(
      "shadow",
      "Run a policy on production's Prometheus metrics and record what it would do (never acts)");
  shadow
      ->add_option("--config", flags->config, "The shadow's YAML config (prometheus, queries, ...)")
      ->required();
  shadow
      ->add_option("--replay", flags->replay,
                   "Replay a past range FROM TO (ISO 8601 or unix seconds) as fast as possible")
      ->expected(2);
  shadow->add_option("--out", flags->out, "The shadow file (default: the config's out)");
  shadow->callback([flags, exit_code] { *exit_code = RunShadowCommand(*flags); });
}

}  // namespace meshtwin
