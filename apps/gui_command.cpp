#include "apps/gui_command.h"

#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "apps/cli_util.h"
#include "gui/app.h"

namespace meshtwin {
namespace {

struct GuiArgs {
  std::vector<std::string> files;
  std::string sim;
  std::vector<std::string> overrides;
  std::vector<std::string> rerun;
  std::string live;
  std::string tls_dir;
  std::string tls_name = "client";
  std::string shadow;
  std::string screenshot;
  int frames = 30;
  std::string size = "1600x1000";
  std::string at;
  std::string window = "run";
  bool frame_stats = false;
};

std::string SelfBinary() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "/proc/self/exe";
}

int RunGuiCommand(const GuiArgs& args, bool sim_given) {
  gui::GuiOptions options;
  options.files = args.files;
  options.simulate = sim_given;
  options.scenario = args.sim;
  options.overrides = args.overrides;
  options.rerun = args.rerun;
  options.live_address = args.live;
  options.tls_dir = args.tls_dir;
  options.tls_name = args.tls_name;
  options.shadow = args.shadow;
  options.binary = SelfBinary();
  options.screenshot = args.screenshot;
  options.frames = args.frames;
  options.frame_stats = args.frame_stats;
  absl::StatusOr<std::pair<int, int>> size = gui::ParseWindowSize("--size", args.size);
  if (!size.ok()) return ReportError(size.status());
  options.width = size->first;
  options.height = size->second;
  if (!args.at.empty()) {
    absl::StatusOr<double> at = ParseDurationFlag("--at", args.at);
    if (!at.ok()) return ReportError(at.status());
    options.at = *at;
  }
  if (args.window == "run") {
    options.plot_window = 0;
  } else if (args.window == "12h") {
    options.plot_window = 1;
  } else if (args.window == "2h") {
    options.plot_window = 2;
  } else {
    return ReportError(
        absl::InvalidArgumentError("--window " + args.window + ": expected run, 12h or 2h"));
  }
  if (absl::Status st = gui::RunGui(options); !st.ok()) return ReportError(st);
  return 0;
}

}  // namespace

void RegisterGuiCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<GuiArgs>();
  CLI::App* cmd = app.add_subcommand(
      "gui",
      "Desktop viewer: mesh topology, demand/forecast/capacity plots, events, nodes, and\n"
      "re-runs with changed settings. Several results files are overlaid for comparison.");
  cmd->add_option("results", args->files, "Results files (HDF5); the first is the primary run");
  CLI::Option* sim = cmd->add_option(
      "--sim", args->sim,
      "Start a streamed simulation of SCENARIO (file or library name; `default` for the "
      "built-in one) and watch it");
  cmd->add_option("--set", args->overrides, "Override a key of the --sim scenario (repeatable)")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_option("--rerun", args->rerun,
                  "Re-run the primary run through the scenario panel with this KEY=VALUE "
                  "setting (repeatable; policy.name=P picks the policy), as its button does; "
                  "with --screenshot, waits for the re-run and shows both runs overlaid, and "
                  "fails with the child's error if the re-run fails")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_option("--live", args->live,
                  "Follow a running `meshtwin manager` at ADDRESS (host:port) over mutual TLS");
  cmd->add_option("--tls-dir", args->tls_dir,
                  "With --live: the directory `meshtwin certs init` wrote (ca.crt and the "
                  "viewer's NAME.crt, NAME.key)");
  cmd->add_option("--tls-name", args->tls_name, "With --live: the viewer's certificate name")
      ->capture_default_str();
  cmd->add_option("--shadow", args->shadow,
                  "Show a `meshtwin shadow` file: the policy's would-be fleet against "
                  "production, decisions, SLO-risk intervals and the report's figures");
  cmd->add_option("--screenshot", args->screenshot,
                  "Headless: render --frames frames and write the last one to this PNG");
  cmd->add_option("--frames", args->frames, "Frames to render with --screenshot")
      ->capture_default_str();
  cmd->add_option("--size", args->size, "Window size WIDTHxHEIGHT")->capture_default_str();
  cmd->add_option("--at", args->at, "Put the timeline cursor at this run time (40h, 1d16h)");
  cmd->add_option("--window", args->window,
                  "Plot time window: run (whole run), 12h or 2h around the cursor")
      ->capture_default_str();
  cmd->add_flag("--frame-stats", args->frame_stats,
                "Print frame-time statistics on stderr at exit (always with --screenshot)");
  cmd->callback([args, sim, exit_code] { *exit_code = RunGuiCommand(*args, sim->count() > 0); });
}

}  // namespace meshtwin
