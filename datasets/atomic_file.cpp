#include "datasets/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace meshtwin {

absl::Status WriteTextFileAtomically(const std::string& path, std::string_view text) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !std::filesystem::is_directory(parent, ec)) {
    return absl::NotFoundError(path + ": no such directory " + parent.string());
  }
  // The pid keeps two writers apart; the rename makes the file appear whole.
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  absl::Status status;
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) {
      return absl::InvalidArgumentError(path + ": cannot create " + temp + ": " +
                                        std::strerror(errno));
    }
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) status = absl::InternalError(path + ": cannot write " + temp);
  }
  if (status.ok()) {
    // Flush to disk before the rename, so a crash cannot leave an empty file
    // under the final name.
    const int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
      status = absl::InternalError(path + ": cannot sync " + temp + ": " + std::strerror(errno));
    }
    if (fd >= 0) ::close(fd);
  }
  if (status.ok() && std::rename(temp.c_str(), path.c_str()) != 0) {
    status = absl::InternalError(path + ": cannot rename " + temp +
                                 " into place: " + std::strerror(errno));
  }
  if (!status.ok()) std::filesystem::remove(temp, ec);
  return status;
}

}  // namespace meshtwin
