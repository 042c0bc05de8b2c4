#include "apps/cli_util.h"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "scenarios/scenario.h"

namespace meshtwin {

int ReportError(const absl::Status& status) {
  spdlog::error("{}", ErrorText(status));
  return IsBadInput(status) ? 2 : 1;
}

absl::Status CheckOutputPath(const std::string& flag, const std::string& path) {
  const std::filesystem::path out(path);
  const std::filesystem::path dir = out.has_parent_path() ? out.parent_path() : ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::InvalidArgumentError(flag + " " + path + ": directory '" + dir.string() +
                                      "' does not exist");
  }
  if (std::filesystem::is_directory(out, ec)) {
    return absl::InvalidArgumentError(flag + " " + path + ": is a directory");
  }
  return absl::OkStatus();
}

absl::StatusOr<double> ParseDurationFlag(const std::string& flag, const std::string& text) {
  absl::StatusOr<double> d = ParseDuration(text);
  if (!d.ok()) return absl::InvalidArgumentError(flag + ": " + ErrorText(d.status()));
  return d;
}

}  // namespace meshtwin
