#include "datasets/text_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace meshtwin::text_util {

std::string Num(double v) {
  char buf[32];
  const auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, ptr) : std::string("?");
}

std::string Quoted(std::string_view s, std::size_t max_size) {
  return s.size() > max_size ? Cat("'", s.substr(0, max_size), "...'") : Cat("'", s, "'");
}

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view TrimBlanksAndCr(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view NextLine(std::string_view text, std::size_t& pos) {
  std::size_t eol = text.find('\n', pos);
  if (eol == std::string_view::npos) eol = text.size();
  const std::string_view line = TrimBlanksAndCr(text.substr(pos, eol - pos));
  pos = eol + 1;
  return line;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

absl::Status LineError(std::string_view source, int line, std::string_view what) {
  return absl::InvalidArgumentError(Cat(source, ":", std::to_string(line), ": ", what));
}

const char* JsonTypeName(const nlohmann::json& v) {
  using Type = nlohmann::json::value_t;
  switch (v.type()) {
    case Type::object:
      return "an object";
    case Type::array:
      return "an array";
    case Type::string:
      return "a string";
    case Type::boolean:
      return "a boolean";
    case Type::null:
      return "null";
    case Type::number_integer:
    case Type::number_unsigned:
    case Type::number_float:
      return "a number";
    default:
      return "something else";
  }
}

std::string Shown(const nlohmann::json& v) {
  std::string s = v.dump();
  constexpr std::size_t kMax = 60;
  return s.size() > kMax ? s.substr(0, kMax) + "..." : s;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  const auto fail = [&](int err) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot read: ", std::strerror(err)));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    const int err = S_ISDIR(st.st_mode) ? EISDIR : errno;
    ::close(fd);
    return fail(err);
  }
  std::string data;
  // st_size is a hint only (pipes and /proc report 0): read until EOF.
  data.resize(static_cast<std::size_t>(std::max<off_t>(st.st_size, 0)) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == data.size()) data.resize(data.size() * 2 + 65536);
    const ssize_t got = ::read(fd, data.data() + used, data.size() - used);
    if (got < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return fail(err);
    }
    if (got == 0) break;
    used += static_cast<std::size_t>(got);
  }
  ::close(fd);
  data.resize(used);
  return data;
}

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return absl::NotFoundError(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(path + ": expected a file, got a directory");
  }
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  // The file is there, so what is left (permissions, I/O errors) is a
  // problem with the input, reported in ReadWholeFile's words.
  if (!text.ok()) return absl::InvalidArgumentError(text.status().message());
  return text;
}

}  // namespace meshtwin::text_util
