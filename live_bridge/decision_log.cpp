#include "live_bridge/decision_log.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace meshtwin::live {
namespace {

// ordered_json keeps the fields in the order written, so that a line reads
// naturally (version, time, tick, ...) when someone greps the log.
using Json = nlohmann::ordered_json;

constexpr int kVersion = 1;

std::string Errno() { return std::strerror(errno); }

// Bad paths are the user's to fix (exit code 2); anything else is ours.
absl::Status OpenError(const std::string& path, const std::string& what) {
  const std::string message = absl::StrCat(path, ": cannot ", what, ": ", Errno());
  switch (errno) {
    case ENOENT:
    case ENOTDIR:
    case EACCES:
    case EPERM:
    case EISDIR:
    case EROFS:
      return absl::InvalidArgumentError(message);
    default:
      return absl::InternalError(message);
  }
}

// The offset just past the last '\n' of the first `size` bytes of `fd` (0
// when there is none), reading backwards a block at a time.
absl::StatusOr<off_t> EndOfLastLine(int fd, off_t size, const std::string& path) {
  char block[4096];
  off_t end = size;
  while (end > 0) {
    const off_t start = std::max<off_t>(0, end - static_cast<off_t>(sizeof block));
    const ssize_t n = ::pread(fd, block, static_cast<std::size_t>(end - start), start);
    if (n < 0 && errno == EINTR) continue;
    if (n != end - start)
      return absl::InternalError(absl::StrCat(path, ": cannot read: ", Errno()));
    for (ssize_t i = n - 1; i >= 0; --i) {
      if (block[i] == '\n') return start + i + 1;
    }
    end = start;
  }
  return 0;
}

Json ActionToJson(const LoggedAction& a) {
  Json j;
  j["kind"] = a.kind;
  j["node_type"] = a.node_type;
  j["role"] = a.role;
  j["node"] = a.node;
  j["count"] = a.count;
  j["replicas_before"] = a.replicas_before;
  j["replicas_after"] = a.replicas_after;
  j["metric"] = a.metric;
  j["reason"] = a.reason;
  j["outcome"] = a.outcome;
  j["nodes_started"] = a.nodes_started;
  return j;
}

// Reads the fields of one line, each error naming PATH:LINE and the field.
class LineReader {
 public:
  LineReader(const std::string& path, std::size_t line) : where_(absl::StrCat(path, ":", line)) {}

  // "PATH:LINE: FIELD: expected ..., got ..." (no FIELD for the line itself).
  absl::Status FailText(const std::string& field, const std::string& expected,
                        const std::string& got) const {
    return absl::InvalidArgumentError(absl::StrCat(where_, ": ", field, field.empty() ? "" : ": ",
                                                   "expected ", expected, ", got ", got));
  }
  absl::Status Fail(const std::string& field, const std::string& expected, const Json& got) const {
    std::string text = got.dump(-1, ' ', false, Json::error_handler_t::replace);
    if (text.size() > 60) text = text.substr(0, 60) + "...";
    return FailText(field, expected, text);
  }
  const std::string& where() const { return where_; }

  // Each reader leaves *out alone when `key` is absent: fields added later
  // read as their defaults in older logs.
  absl::Status String(const Json& obj, const std::string& prefix, const char* key,
                      std::string* out) const {
    const Json* v = Find(obj, key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_string()) return Fail(prefix + key, "a string", *v);
    *out = v->get<std::string>();
    return absl::OkStatus();
  }
  absl::Status Bool(const Json& obj, const std::string& prefix, const char* key, bool* out) const {
    const Json* v = Find(obj, key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_boolean()) return Fail(prefix + key, "true or false", *v);
    *out = v->get<bool>();
    return absl::OkStatus();
  }
  absl::Status Number(const Json& obj, const std::string& prefix, const char* key,
                      double* out) const {
    const Json* v = Find(obj, key);
    return v == nullptr ? absl::OkStatus() : NumberValue(*v, prefix + key, out);
  }
  absl::Status Integer(const Json& obj, const std::string& prefix, const char* key,
                       std::int64_t* out) const {
    const Json* v = Find(obj, key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_number_integer()) return Fail(prefix + key, "an integer", *v);
    if (v->is_number_unsigned() &&
        v->get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return Fail(prefix + key, "a 64-bit integer", *v);
    }
    *out = v->get<std::int64_t>();
    return absl::OkStatus();
  }
  absl::Status Int(const Json& obj, const std::string& prefix, const char* key, int* out) const {
    std::int64_t wide = *out;
    MESHTWIN_RETURN_IF_ERROR(Integer(obj, prefix, key, &wide));
    if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max()) {
      return Fail(prefix + key, "a 32-bit integer", obj.at(key));
    }
    *out = static_cast<int>(wide);
    return absl::OkStatus();
  }
  absl::Status Numbers(const Json& obj, const char* key, std::vector<double>* out) const {
    const Json* v = Find(obj, key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_array()) return Fail(key, "an array of numbers", *v);
    out->resize(v->size());
    for (std::size_t i = 0; i < v->size(); ++i) {
      MESHTWIN_RETURN_IF_ERROR(NumberValue((*v)[i], absl::StrCat(key, "[", i, "]"), &(*out)[i]));
    }
    return absl::OkStatus();
  }
  absl::Status Strings(const Json& obj, const std::string& prefix, const char* key,
                       std::vector<std::string>* out) const {
    const Json* v = Find(obj, key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->is_array()) return Fail(prefix + key, "an array of strings", *v);
    for (std::size_t i = 0; i < v->size(); ++i) {
      const Json& s = (*v)[i];
      if (!s.is_string()) return Fail(absl::StrCat(prefix, key, "[", i, "]"), "a string", s);
      out->push_back(s.get<std::string>());
    }
    return absl::OkStatus();
  }

 private:
  static const Json* Find(const Json& obj, const char* key) {
    const auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }
  // null stands for a non-finite value (JSON has no NaN or infinity).
  absl::Status NumberValue(const Json& v, const std::string& field, double* out) const {
    if (v.is_null()) {
      *out = std::numeric_limits<double>::quiet_NaN();
    } else if (v.is_number()) {
      *out = v.get<double>();
    } else {
      return Fail(field, "a number (or null)", v);
    }
    return absl::OkStatus();
  }

  std::string where_;
};

absl::StatusOr<LoggedDecision> ParseLine(const std::string& text, const LineReader& r) {
  Json root;
  try {
    root = Json::parse(text);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(r.where(), ": expected a JSON object, got unparsable text (", e.what(), ")"));
  }
  if (!root.is_object()) return r.Fail("", "a JSON object", root);
  std::int64_t version = kVersion;
  MESHTWIN_RETURN_IF_ERROR(r.Integer(root, "", "version", &version));
  if (version != kVersion) {
    return r.Fail("version", absl::StrCat(kVersion, " (this build's log format)"),
                  root.at("version"));
  }
  // A decision is identified by its time and tick: a line without them is
  // not a decision record, whatever else it holds.
  for (const char* key : {"time_unix", "tick"}) {
    if (!root.contains(key)) return r.FailText(key, "a number (the field is required)", "nothing");
  }
  LoggedDecision d;
  MESHTWIN_RETURN_IF_ERROR(r.Number(root, "", "time_unix", &d.time_unix));
  MESHTWIN_RETURN_IF_ERROR(r.Integer(root, "", "tick", &d.tick));
  MESHTWIN_RETURN_IF_ERROR(r.Integer(root, "", "fence", &d.fence));
  MESHTWIN_RETURN_IF_ERROR(r.String(root, "", "manager", &d.manager));
  MESHTWIN_RETURN_IF_ERROR(r.String(root, "", "policy", &d.policy));
  MESHTWIN_RETURN_IF_ERROR(r.Bool(root, "", "shadow", &d.shadow));
  MESHTWIN_RETURN_IF_ERROR(r.Number(root, "", "demand_rps", &d.demand_rps));
  MESHTWIN_RETURN_IF_ERROR(r.Number(root, "", "capacity_rps", &d.capacity_rps));
  MESHTWIN_RETURN_IF_ERROR(r.Numbers(root, "forecast_horizons_s", &d.forecast_horizons_s));
  MESHTWIN_RETURN_IF_ERROR(r.Numbers(root, "forecast_p50", &d.forecast_p50));
  MESHTWIN_RETURN_IF_ERROR(r.Numbers(root, "forecast_p90", &d.forecast_p90));
  if (const auto it = root.find("actions"); it != root.end()) {
    if (!it->is_array()) return r.Fail("actions", "an array of actions", *it);
    for (std::size_t i = 0; i < it->size(); ++i) {
      const Json& a = (*it)[i];
      const std::string prefix = absl::StrCat("actions[", i, "].");
      if (!a.is_object()) return r.Fail(absl::StrCat("actions[", i, "]"), "an object", a);
      LoggedAction& out = d.actions.emplace_back();
      MESHTWIN_RETURN_IF_ERROR(r.String(a, prefix, "kind", &out.kind));
      MESHTWIN_RETURN_IF_ERROR(r.String(a, prefix, "node_type", &out.node_type));
      MESHTWIN_RETURN_IF_ERROR(r.String(a, prefix, "role", &out.role));
      MESHTWIN_RETURN_IF_ERROR(r.String(a, prefix, "node", &out.node));
      MESHTWIN_RETURN_IF_ERROR(r.Int(a, prefix, "count", &out.count));
      MESHTWIN_RETURN_IF_ERROR(r.Int(a, prefix, "replicas_before", &out.replicas_before));
      MESHTWIN_RETURN_IF_ERROR(r.Int(a, prefix, "replicas_after", &out.replicas_after));
      MESHTWIN_RETURN_IF_ERROR(r.Number(a, prefix, "metric", &out.metric));
      MESHTWIN_RETURN_IF_ERROR(r.String(a, prefix, "reason", &out.reason));
      MESHTWIN_RETURN_IF_ERROR(r.String(a, prefix, "outcome", &out.outcome));
      MESHTWIN_RETURN_IF_ERROR(r.Strings(a, prefix, "nodes_started", &out.nodes_started));
    }
  }
  return d;
}

}  // namespace

std::string ToJsonLine(const LoggedDecision& d) {
  Json j;
  j["version"] = kVersion;
  j["time_unix"] = d.time_unix;
  j["tick"] = d.tick;
  j["fence"] = d.fence;
  j["manager"] = d.manager;
  j["policy"] = d.policy;
  j["shadow"] = d.shadow;
  j["demand_rps"] = d.demand_rps;
  j["capacity_rps"] = d.capacity_rps;
  j["forecast_horizons_s"] = d.forecast_horizons_s;
  j["forecast_p50"] = d.forecast_p50;
  j["forecast_p90"] = d.forecast_p90;
  Json actions = Json::array();
  for (const LoggedAction& a : d.actions) actions.push_back(ActionToJson(a));
  j["actions"] = std::move(actions);
  // A reason or a name with invalid UTF-8 must not cost the record: replace
  // the bad bytes rather than throw. NaN and infinities dump as null.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

absl::StatusOr<std::unique_ptr<DecisionLog>> DecisionLog::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return OpenError(path, "open the decision log for appending");
  std::unique_ptr<DecisionLog> log(new DecisionLog(path, fd));  // closes fd on every error path
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          path +
          ": the decision log is already open for writing (another manager, or another "
          "DecisionLog in this one): give each replica its own file");
    }
    return OpenError(path, "lock the decision log");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) return OpenError(path, "stat the decision log");
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(path + ": the decision log must be a regular file");
  }
  if (st.st_size > 0) {
    MESHTWIN_ASSIGN_OR_RETURN(const off_t end, EndOfLastLine(fd, st.st_size, path));
    if (end != st.st_size) {
      // A record torn by a crash: the writer never saw Append succeed, and
      // left in place it would glue itself to the next record.
      spdlog::warn("{}: dropping {} bytes of a record torn by a crash mid-write", path,
                   st.st_size - end);
      if (::ftruncate(fd, end) != 0 || ::fdatasync(fd) != 0) {
        return OpenError(path, "cut the torn last record");
      }
    }
  }
  // A new file exists for good only once its directory entry is on disk.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  if (const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return log;
}

DecisionLog::~DecisionLog() { ::close(fd_); }

absl::Status DecisionLog::Append(const LoggedDecision& d) {
  std::string line = ToJsonLine(d);
  line += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    return absl::InternalError(absl::StrCat(path_, ": cannot stat: ", Errno()));
  }
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = n < 0 ? Errno() : "no progress";
      // Take the partial line back: the next record must start a line.
      [[maybe_unused]] const int ignored = ::ftruncate(fd_, st.st_size);
      return absl::InternalError(absl::StrCat(path_, ": cannot append a decision: ", why));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd_) != 0) {
    return absl::InternalError(absl::StrCat(path_, ": cannot sync a decision to disk: ", Errno()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LoggedDecision>> ReadDecisionLog(const std::string& path,
                                                            bool* torn_tail) {
  if (torn_tail != nullptr) *torn_tail = false;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return absl::NotFoundError(path + ": no such file");
    return absl::InvalidArgumentError(path + ": cannot read the decision log");
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::vector<LoggedDecision> out;
  std::size_t start = 0;
  for (std::size_t line = 1; start < text.size(); ++line) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      if (torn_tail != nullptr) *torn_tail = true;
      break;
    }
    const LineReader r(path, line);
    const std::string record = text.substr(start, end - start);
    if (record.empty()) return r.FailText("", "a JSON object", "an empty line");
    MESHTWIN_ASSIGN_OR_RETURN(LoggedDecision d, ParseLine(record, r));
    out.push_back(std::move(d));
    start = end + 1;
  }
  return out;
}

}  // namespace meshtwin::live
