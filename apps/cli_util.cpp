#include "apps/cli_util.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
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

absl::Status WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return absl::InternalError(path + ": cannot write: " + std::strerror(errno));
  const bool written = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(tmp.c_str());
    return absl::InternalError(path + ": cannot write: " + std::strerror(error));
  }
  return absl::OkStatus();
}

absl::StatusOr<double> ParseDurationFlag(const std::string& flag, const std::string& text) {
  absl::StatusOr<double> d = ParseDuration(text);
  if (!d.ok()) return absl::InvalidArgumentError(flag + ": " + ErrorText(d.status()));
  return d;
}

}  // namespace meshtwin
