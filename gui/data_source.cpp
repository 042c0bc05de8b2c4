#include "gui/data_source.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "gui/child_process.h"
#include "gui/live_source.h"
#include "gui/sim_stream.h"

namespace meshtwin::gui {
namespace {

// The text of a child's stderr that says what went wrong: the first line with
// "error:" in it, else its first non-empty line.
std::string ErrorLineOf(const std::string& err) {
  std::string first;
  std::size_t start = 0;
  while (start < err.size()) {
    std::size_t end = err.find('\n', start);
    if (end == std::string::npos) end = err.size();
    const std::string line = err.substr(start, end - start);
    if (const std::size_t at = line.find("error:"); at != std::string::npos) {
      // "meshtwin: error: --set policy.name: ..." -> "--set policy.name: ..."
      const std::size_t text = line.find_first_not_of(' ', at + 6);
      return text == std::string::npos ? line : line.substr(text);
    }
    if (first.empty() && !line.empty()) first = line;
    start = end + 1;
  }
  return first;
}

class FileSource : public DataSource {
 public:
  FileSource(std::string name, std::string path, ResultsData data)
      : name_(std::move(name)), path_(std::move(path)), data_(std::move(data)) {}
  std::string name() const override { return name_; }
  SourceKind kind() const override { return SourceKind::kResultsFile; }
  absl::Status Poll() override { return absl::OkStatus(); }
  const ResultsData& data() const override { return data_; }
  bool live() const override { return false; }
  double progress() const override { return 1; }
  double duration() const override { return data_.summary.duration; }
  std::uint64_t version() const override { return 1; }
  std::string results_path() const override { return path_; }

 private:
  std::string name_, path_;
  ResultsData data_;
};

class SimulationSource : public DataSource {
 public:
  SimulationSource(std::string name, std::string output, std::string temp_dir,
                   std::unique_ptr<ChildProcess> child)
      : name_(std::move(name)),
        output_(std::move(output)),
        temp_dir_(std::move(temp_dir)),
        child_(std::move(child)),
        decoder_(name_) {}
  ~SimulationSource() override {
    child_.reset();  // stops and reaps a run still going before its files go
    if (!temp_dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(temp_dir_, ignored);
    }
  }

  std::string name() const override { return name_; }
  SourceKind kind() const override { return SourceKind::kRunningSimulation; }

  absl::Status Poll() override {
    if (!error_.ok() || finished_) return error_;
    std::string bytes;
    child_->ReadAvailable(&bytes);
    if (!bytes.empty()) {
      const std::size_t lines_before = decoder_.lines();
      error_ = decoder_.Feed(bytes);
      if (decoder_.lines() != lines_before) ++version_;
      if (!error_.ok()) {
        child_->Terminate();
        return error_;
      }
    }
    const std::optional<int> code = child_->ExitCode();
    if (!code) return absl::OkStatus();
    if (*code != 0 || !decoder_.done()) {
      const std::string why = ErrorLineOf(child_->err());
      error_ = absl::InternalError(name_ + ": meshtwin simulate " +
                                   (*code != 0 ? "exited with code " + std::to_string(*code)
                                               : std::string("ended without its final line")) +
                                   (why.empty() ? "" : ": " + why));
      return error_;
    }
    absl::StatusOr<ResultsData> full = ReadResultsFile(decoder_.results_path());
    if (!full.ok()) {
      error_ = absl::Status(full.status().code(), name_ + ": " + ErrorText(full.status()));
      return error_;
    }
    final_ = std::move(*full);
    finished_ = true;
    ++version_;
    return absl::OkStatus();
  }

  const ResultsData& data() const override { return finished_ ? final_ : decoder_.data(); }
  bool live() const override { return !finished_ && error_.ok(); }
  double progress() const override { return finished_ ? 1 : decoder_.progress(); }
  double duration() const override {
    return finished_ ? final_.summary.duration : decoder_.duration();
  }
  std::uint64_t version() const override { return version_; }
  std::string results_path() const override { return finished_ ? output_ : std::string(); }

 private:
  std::string name_, output_, temp_dir_;
  std::unique_ptr<ChildProcess> child_;
  StreamDecoder decoder_;
  absl::Status error_;
  bool finished_ = false;
  ResultsData final_;
  std::uint64_t version_ = 0;
};

class InMemorySource : public DataSource {
 public:
  InMemorySource(std::string name, ResultsData data)
      : name_(std::move(name)), data_(std::move(data)) {}
  std::string name() const override { return name_; }
  SourceKind kind() const override { return SourceKind::kResultsFile; }
  absl::Status Poll() override { return absl::OkStatus(); }
  const ResultsData& data() const override { return data_; }
  bool live() const override { return false; }
  double progress() const override { return 1; }
  double duration() const override { return data_.summary.duration; }
  std::uint64_t version() const override { return 1; }
  std::string results_path() const override { return {}; }

 private:
  std::string name_;
  ResultsData data_;
};

}  // namespace

const char* ToString(SourceKind kind) {
  switch (kind) {
    case SourceKind::kResultsFile:
      return "results file";
    case SourceKind::kRunningSimulation:
      return "running simulation";
    case SourceKind::kLiveManager:
      return "live manager";
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<DataSource>> OpenDataSource(const DataSourceSpec& spec) {
  switch (spec.kind) {
    case SourceKind::kResultsFile: {
      MESHTWIN_ASSIGN_OR_RETURN(ResultsData data, ReadResultsFile(spec.path));
      const std::string name =
          spec.label.empty() ? std::filesystem::path(spec.path).filename().string() : spec.label;
      return std::unique_ptr<DataSource>(new FileSource(name, spec.path, std::move(data)));
    }
    case SourceKind::kRunningSimulation: {
      if (spec.binary.empty()) {
        return absl::InternalError("a running-simulation source needs the meshtwin binary");
      }
      std::string temp_dir, output = spec.output;
      if (output.empty()) {
        std::error_code ec;
        std::filesystem::path base = std::filesystem::temp_directory_path(ec);
        if (ec) base = "/tmp";
        std::string pattern = (base / "meshtwin-gui-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
          return absl::InternalError("cannot make a temporary directory " + pattern + ": " +
                                     std::strerror(errno));
        }
        temp_dir = pattern;
        output = temp_dir + "/run.h5";
      }
      std::vector<std::string> args = {"simulate"};
      if (!spec.scenario.empty()) args.push_back(spec.scenario);
      for (const std::string& o : spec.overrides) {
        args.push_back("--set");
        args.push_back(o);
      }
      args.insert(args.end(), {"--stream", "--out", output});
      absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(spec.binary, args);
      if (!child.ok()) {
        if (!temp_dir.empty()) {
          std::error_code ignored;
          std::filesystem::remove_all(temp_dir, ignored);
        }
        return child.status();
      }
      const std::string name =
          !spec.label.empty()
              ? spec.label
              : "sim " + (spec.scenario.empty()
                              ? std::string("default")
                              : std::filesystem::path(spec.scenario).stem().string());
      return std::unique_ptr<DataSource>(
          new SimulationSource(name, output, temp_dir, std::move(*child)));
    }
    case SourceKind::kLiveManager:
      return OpenLiveManagerSource(spec);
  }
  return absl::InternalError("unknown source kind");
}

std::unique_ptr<DataSource> MakeInMemorySource(std::string name, ResultsData data) {
  return std::make_unique<InMemorySource>(std::move(name), std::move(data));
}

}  // namespace meshtwin::gui
