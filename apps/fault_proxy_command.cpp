#include "apps/fault_proxy_command.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include "apps/cli_util.h"
#include "live_bridge/fault_proxy.h"

namespace meshtwin {
namespace {

struct FaultProxyFlags {
  std::string listen;
  std::string upstream;
  std::string delay = "0";
  double drop = 0;
  bool blackhole = false;
  bool refuse = false;
  std::uint64_t seed = 1;
};

int RunFaultProxy(const FaultProxyFlags& flags) {
  live::FaultMode mode;
  absl::StatusOr<double> delay = ParseDurationFlag("--delay", flags.delay);
  if (!delay.ok()) return ReportError(delay.status());
  mode.delay = *delay;
  mode.drop = flags.drop;
  mode.blackhole = flags.blackhole;
  mode.refuse = flags.refuse;
  if (absl::Status ok = live::CheckFaultMode(mode); !ok.ok()) {
    // CheckFaultMode names the field; the user typed the flag.
    const std::string flag = mode.drop < 0 || mode.drop > 1 ? "--drop" : "--delay";
    return ReportError(absl::InvalidArgumentError(flag + ": " + ErrorText(ok)));
  }

  // Blocked before the proxy's thread starts, so that it inherits the mask
  // and the signals come to sigtimedwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<std::unique_ptr<live::FaultProxy>> proxy =
      live::FaultProxy::Start(flags.listen, flags.upstream, flags.seed);
  if (!proxy.ok()) {
    const absl::Status& s = proxy.status();
    // Start names "listen address" / "upstream address"; say which flag.
    const std::string flag = ErrorText(s).rfind("upstream", 0) == 0 ? "--upstream" : "--listen";
    return ReportError(IsBadInput(s) ? absl::InvalidArgumentError(flag + ": " + ErrorText(s)) : s);
  }
  (*proxy)->SetMode(mode);
  const std::string host = flags.listen.substr(0, flags.listen.rfind(':'));
  // stdout, flushed: a script that asked for port 0 reads the port from here.
  std::printf("listening on %s:%d\n", host.c_str(), (*proxy)->port());
  std::fflush(stdout);
  spdlog::info("fault-proxy: {}:{} -> {} (delay {} s, drop {}, blackhole {}, refuse {})", host,
               (*proxy)->port(), flags.upstream, mode.delay, mode.drop, mode.blackhole,
               mode.refuse);

  for (;;) {
    const int sig = sigwaitinfo(&stop_signals, nullptr);
    if (sig == SIGTERM || sig == SIGINT) break;
  }
  spdlog::info("fault-proxy: stopping after {} connection(s), {} byte(s) forwarded",
               (*proxy)->connections(), (*proxy)->bytes_forwarded());
  return 0;
}

}  // namespace

void RegisterFaultProxyCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<FaultProxyFlags>();
  CLI::App* cmd = app.add_subcommand(
      "fault-proxy", "Forward TCP between two live-bridge components with faults in between");
  cmd->add_option("--listen", flags->listen, "HOST:PORT to listen on (port 0: any free port)")
      ->required();
  cmd->add_option("--upstream", flags->upstream, "HOST:PORT to forward every connection to")
      ->required();
  cmd->add_option("--delay", flags->delay, "Added to every chunk in each direction (e.g. 100ms)");
  cmd->add_option("--drop", flags->drop, "Probability (0..1) a new connection is reset at once");
  cmd->add_flag("--blackhole", flags->blackhole,
                "Accept and swallow everything, forward nothing (a silent partition)");
  cmd->add_flag("--refuse", flags->refuse, "Close every new connection at once");
  cmd->add_option("--seed", flags->seed, "Seed of the drop decisions");
  cmd->callback([flags, exit_code] { *exit_code = RunFaultProxy(*flags); });
}

}  // namespace meshtwin
