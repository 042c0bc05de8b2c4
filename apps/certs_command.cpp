#include "apps/certs_command.h"

#include <cstdio>
#include <memory>

#include "apps/cli_util.h"
#include "live_bridge/certs.h"

namespace meshtwin {
namespace {

int RunCertsInit(const live::CertsInitOptions& options) {
  absl::StatusOr<live::CertsInitReport> report = live::InitCertsDir(options);
  if (!report.ok()) return ReportError(report.status());
  for (const std::string& path : report->written) std::printf("wrote %s\n", path.c_str());
  std::printf("certs: a CA, manager, client and %d agent certificate%s in %s, valid %d day%s\n",
              options.nodes, options.nodes == 1 ? "" : "s", options.dir.c_str(), options.days,
              options.days == 1 ? "" : "s");
  return 0;
}

}  // namespace

void RegisterCertsCommand(CLI::App& app, int* exit_code) {
  CLI::App* certs = app.add_subcommand("certs", "Certificates for the live bridge's mutual TLS");
  certs->require_subcommand(1);
  auto options = std::make_shared<live::CertsInitOptions>();
  CLI::App* init = certs->add_subcommand(
      "init",
      "Make a development CA and certificates: ca, manager, client, agent-0..N-1 (.crt, .key)");
  init->add_option("--dir", options->dir, "Directory to write to (created if missing)")->required();
  init->add_option("--nodes", options->nodes, "Agent certificates to make (agent-0 .. agent-N-1)")
      ->capture_default_str();
  init->add_option("--days", options->days, "Validity of every certificate, days")
      ->capture_default_str();
  init->add_flag("--force", options->force, "Replace existing files");
  init->callback([options, exit_code] { *exit_code = RunCertsInit(*options); });
}

}  // namespace meshtwin
