#include "gui/app.h"

#define GL_GLEXT_PROTOTYPES 1
#include <GL/gl.h>
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_opengl3.h>
#include <stb_image_write.h>
#include <unistd.h>

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "gui/data_source.h"
#include "gui/imgui_util.h"
#include "gui/panels.h"
#include "gui/rerun.h"
#include "gui/shadow_view.h"
#include "gui/snapshot_lookup.h"

namespace meshtwin::gui {
namespace {

using Clock = std::chrono::steady_clock;

struct SourceEntry {
  std::unique_ptr<DataSource> source;
  std::string error;
  bool rerun = false;
};

// Where the tiles go: fractions of the area under the timeline.
struct Splits {
  float left = 0.29f;        // end of the topology/table column
  float right = 0.73f;       // start of the scenario/activity column
  float left_rows = 0.60f;   // topology vs node table
  float right_rows = 0.52f;  // scenario vs activity
};

class App {
 public:
  explicit App(const GuiOptions& options) : options_(options) {}

  absl::Status OpenSources() {
    for (const std::string& f : options_.files) {
      DataSourceSpec spec;
      spec.path = f;
      MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<DataSource> s, OpenDataSource(spec));
      sources_.push_back({std::move(s), "", false});
    }
    if (options_.simulate) {
      DataSourceSpec spec;
      spec.kind = SourceKind::kRunningSimulation;
      spec.scenario = options_.scenario == "default" ? "" : options_.scenario;
      spec.overrides = options_.overrides;
      spec.binary = options_.binary;
      MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<DataSource> s, OpenDataSource(spec));
      sources_.push_back({std::move(s), "", false});
      follow_live_ = !options_.at.has_value();
    }
    if (!options_.live_address.empty()) {
      DataSourceSpec spec;
      spec.kind = SourceKind::kLiveManager;
      spec.address = options_.live_address;
      spec.tls_dir = options_.tls_dir;
      spec.tls_name = options_.tls_name;
      MESHTWIN_ASSIGN_OR_RETURN(std::unique_ptr<DataSource> s, OpenDataSource(spec));
      sources_.push_back({std::move(s), "", false});
      follow_live_ = !options_.at.has_value();
    }
    if (!options_.shadow.empty()) {
      MESHTWIN_ASSIGN_OR_RETURN(ShadowFileData file, ReadShadowFile(options_.shadow));
      shadow_.Load(std::filesystem::path(options_.shadow).filename().string(), std::move(file));
    }
    if (options_.at) time_ = *options_.at;
    plots_.window = options_.plot_window;
    if (!options_.rerun.empty()) {
      if (sources_.empty()) {
        return absl::InvalidArgumentError("--rerun: needs a results file (or --sim) to re-run");
      }
      for (const std::string& set : options_.rerun) {
        if (set.find('=') == std::string::npos || set.front() == '=') {
          return absl::InvalidArgumentError("--rerun " + set + ": expected KEY=VALUE");
        }
      }
      scenario_.scripted = options_.rerun;
      scenario_.scripted_pending = true;
      scripted_ = ScriptedRerun::kWaiting;
    }
    return absl::OkStatus();
  }

  void Poll() {
    for (SourceEntry& e : sources_) {
      if (!e.error.empty()) continue;
      const bool was_live = e.source->live();
      if (absl::Status st = e.source->Poll(); !st.ok()) {
        e.error = ErrorText(st);
        SetStatus(e.error, true);
      } else if (e.rerun && was_live && !e.source->live()) {
        SetStatus(e.source->name() + " finished: overlaid, summaries side by side", false);
      }
    }
  }

  ViewState BuildView() const {
    ViewState v;
    std::size_t overlay = 0;
    for (std::size_t i = 0; i < sources_.size(); ++i) {
      const SourceEntry& e = sources_[i];
      SourceView s;
      s.name = e.source->name();
      s.kind = e.source->kind();
      s.data = &e.source->data();
      s.live = e.source->live();
      s.progress = e.source->progress();
      s.version = e.source->version();
      s.error = e.error;
      s.rerun = e.rerun;
      s.color = i == 0 ? kDemandColor : kOverlayColors[overlay++ % std::size(kOverlayColors)];
      v.sources.push_back(std::move(s));
      if (e.rerun && e.source->live() && e.error.empty()) v.rerun_running = true;
    }
    if (!sources_.empty()) {
      const DataSource& p = *sources_.front().source;
      const TimeSpan span = SpanOf(p.data());
      v.begin = 0;
      v.end = std::max({span.end, p.duration(), 1.0});
    }
    v.time = std::clamp(time_, v.begin, v.end);
    v.playing = playing_;
    v.speed = speed_;
    v.selected_node = selected_;
    v.status = status_;
    v.status_is_error = status_is_error_;
    return v;
  }

  // Advances playback by `wall_seconds`, or follows a live run's newest tick.
  void Advance(const ViewState& v, double wall_seconds) {
    if (playing_) {
      time_ += wall_seconds * speed_;
      if (time_ >= v.end && !(v.primary() && v.primary()->live)) {
        time_ = v.end;
        playing_ = false;
      }
    }
    if (follow_live_ && v.primary() && !v.primary()->data->ticks.time.empty()) {
      time_ = v.primary()->data->ticks.time.back();
      if (!v.primary()->live) follow_live_ = false;
    }
  }

  void DrawFrame(const ViewState& view) {
    const ImGuiViewport* vp = ImGui::GetMainViewport();
    const ImVec2 o = vp->WorkPos, size = vp->WorkSize;
    // A shadow file on its own: the shadow view is the whole window.
    if (shadow_.loaded && sources_.empty()) {
      ImGui::SetNextWindowPos(o);
      ImGui::SetNextWindowSize(size);
      if (ImGui::Begin("Shadow mode", nullptr,
                       ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize |
                           ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoSavedSettings |
                           ImGuiWindowFlags_NoBackground | ImGuiWindowFlags_NoScrollbar)) {
        shadow_.Draw();
      }
      ImGui::End();
      return;
    }
    const float gap = 4;
    const float top = std::min(104.0f, size.y * 0.3f);
    const float body_y = o.y + top + gap, body_h = std::max(100.0f, size.y - top - gap);
    const float xl = o.x + size.x * splits_.left, xr = o.x + size.x * splits_.right;

    // Splitters live in a background window under the tiles' gaps.
    ImGui::SetNextWindowPos(o);
    ImGui::SetNextWindowSize(size);
    ImGui::Begin("##background", nullptr,
                 ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoSavedSettings |
                     ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoNav |
                     ImGuiWindowFlags_NoBackground | ImGuiWindowFlags_NoMove);
    Splitter("##split_l", ImVec2(xl - gap, body_y), ImVec2(gap, body_h), true, size.x,
             &splits_.left, 0.12f, splits_.right - 0.15f);
    Splitter("##split_r", ImVec2(xr, body_y), ImVec2(gap, body_h), true, size.x, &splits_.right,
             splits_.left + 0.15f, 0.92f);
    Splitter("##split_lr", ImVec2(o.x, body_y + body_h * splits_.left_rows - gap),
             ImVec2(xl - o.x - gap, gap), false, body_h, &splits_.left_rows, 0.15f, 0.9f);
    Splitter("##split_rr", ImVec2(xr + gap, body_y + body_h * splits_.right_rows - gap),
             ImVec2(o.x + size.x - xr - gap, gap), false, body_h, &splits_.right_rows, 0.15f, 0.9f);
    ImGui::End();

    // Tiles draw no background of their own: the clear colour is it. Under
    // a software renderer (Xvfb + llvmpipe) every full-screen layer of
    // blended pixels costs milliseconds.
    const ImGuiWindowFlags tile = ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize |
                                  ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoSavedSettings |
                                  ImGuiWindowFlags_NoBackground;
    auto begin_tile = [&](const char* title, ImVec2 pos, ImVec2 sz, ImGuiWindowFlags extra = 0) {
      ImGui::SetNextWindowPos(pos);
      ImGui::SetNextWindowSize(sz);
      return ImGui::Begin(title, nullptr, tile | extra);
    };
    if (begin_tile("Timeline", o, ImVec2(size.x, top))) timeline_.Draw(view, &queue_);
    ImGui::End();
    const float yl = body_y + body_h * splits_.left_rows;
    if (begin_tile("Mesh topology", ImVec2(o.x, body_y), ImVec2(xl - o.x - gap, yl - body_y - gap),
                   ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse)) {
      topology_.Draw(view, &queue_);
    }
    ImGui::End();
    if (begin_tile("Nodes", ImVec2(o.x, yl), ImVec2(xl - o.x - gap, body_y + body_h - yl))) {
      table_.Draw(view, &queue_);
    }
    ImGui::End();
    if (begin_tile("Plots", ImVec2(xl, body_y), ImVec2(xr - xl, body_h),
                   ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse)) {
      if (!shadow_.loaded) {
        plots_.Draw(view, &queue_);
      } else if (ImGui::BeginTabBar("plots_tabs")) {
        // The shadow file's time axis is its own: a tab, not an overlay.
        if (ImGui::BeginTabItem("Shadow")) {
          shadow_.Draw();
          ImGui::EndTabItem();
        }
        if (ImGui::BeginTabItem("Runs")) {
          plots_.Draw(view, &queue_);
          ImGui::EndTabItem();
        }
        ImGui::EndTabBar();
      }
    }
    ImGui::End();
    const float yr = body_y + body_h * splits_.right_rows;
    const float wr = o.x + size.x - xr - gap;
    if (begin_tile("Scenario & policy", ImVec2(xr + gap, body_y), ImVec2(wr, yr - body_y - gap))) {
      scenario_.Draw(view, &queue_);
    }
    ImGui::End();
    if (begin_tile("Decisions & events", ImVec2(xr + gap, yr), ImVec2(wr, body_y + body_h - yr))) {
      activity_.Draw(view, &queue_);
    }
    ImGui::End();
  }

  void Execute(const ViewState& view) {
    for (Command& c : queue_.Take()) {
      if (auto* seek = std::get_if<SeekCommand>(&c)) {
        time_ = std::clamp(seek->time, view.begin, view.end);
        follow_live_ = false;
      } else if (auto* play = std::get_if<PlayCommand>(&c)) {
        playing_ = play->playing;
        if (playing_ && time_ >= view.end) time_ = view.begin;
        follow_live_ = false;
      } else if (auto* speed = std::get_if<SpeedCommand>(&c)) {
        speed_ = speed->speed;
      } else if (auto* open = std::get_if<OpenFileCommand>(&c)) {
        DataSourceSpec spec;
        spec.path = open->path;
        absl::StatusOr<std::unique_ptr<DataSource>> s = OpenDataSource(spec);
        if (s.ok()) {
          sources_.push_back({std::move(*s), "", false});
          SetStatus("opened " + open->path, false);
        } else {
          SetStatus(ErrorText(s.status()), true);
        }
      } else if (auto* close = std::get_if<CloseSourceCommand>(&c)) {
        if (close->index > 0 && close->index < sources_.size()) {
          sources_.erase(sources_.begin() + static_cast<long>(close->index));
        }
      } else if (auto* rerun = std::get_if<RerunCommand>(&c)) {
        StartRerun(view, *rerun);
      } else if (auto* select = std::get_if<SelectNodeCommand>(&c)) {
        selected_ = select->id;
      }
    }
  }

  // Headless --rerun: follows the scripted click through to the re-run's
  // end. Call once per frame after Execute().
  void UpdateScriptedRerun() {
    if (scripted_ == ScriptedRerun::kWaiting) {
      const SourceEntry& primary = sources_.front();
      if (scenario_.scripted_clicked) {
        // Execute() has run the command: a re-run source, or the reason there is none.
        scripted_ = ScriptedRerun::kFailed;
        rerun_error_ = status_.empty() ? "the re-run did not start" : status_;
        for (const SourceEntry& e : sources_) {
          if (e.rerun) scripted_ = ScriptedRerun::kStarted;
        }
      } else if (!primary.error.empty()) {
        scripted_ = ScriptedRerun::kFailed;
        rerun_error_ = primary.error;
      } else if (!primary.source->live() && primary.source->data().scenario_text.empty()) {
        scripted_ = ScriptedRerun::kFailed;
        rerun_error_ = primary.source->name() + " records no scenario to re-run";
      }
    }
    if (scripted_ == ScriptedRerun::kStarted) {
      for (const SourceEntry& e : sources_) {
        if (!e.rerun) continue;
        if (!e.error.empty()) {
          scripted_ = ScriptedRerun::kFailed;
          rerun_error_ = e.error;
        } else if (!e.source->live()) {
          scripted_ = ScriptedRerun::kDone;
        }
      }
    }
  }
  // False while a scripted re-run is still to start or running.
  bool scripted_rerun_settled() const {
    return scripted_ != ScriptedRerun::kWaiting && scripted_ != ScriptedRerun::kStarted;
  }
  absl::Status scripted_rerun_result() const {
    if (scripted_ != ScriptedRerun::kFailed) return absl::OkStatus();
    return absl::InternalError("--rerun: " + rerun_error_);
  }

  bool has_sources() const { return !sources_.empty(); }
  // True while a source may still grow towards an end worth waiting for (a
  // simulation running without error). A live manager never ends.
  bool any_live() const {
    for (const SourceEntry& e : sources_) {
      if (e.error.empty() && e.source->live() && e.source->kind() != SourceKind::kLiveManager) {
        return true;
      }
    }
    return false;
  }

 private:
  void SetStatus(std::string text, bool error) {
    status_ = std::move(text);
    status_is_error_ = error;
  }

  void Splitter(const char* id, ImVec2 pos, ImVec2 sz, bool vertical, float extent, float* fraction,
                float lo, float hi) {
    ImGui::SetCursorScreenPos(pos);
    ImGui::InvisibleButton(id, ImVec2(std::max(sz.x, 1.0f), std::max(sz.y, 1.0f)));
    if (ImGui::IsItemHovered() || ImGui::IsItemActive()) {
      ImGui::SetMouseCursor(vertical ? ImGuiMouseCursor_ResizeEW : ImGuiMouseCursor_ResizeNS);
    }
    if (ImGui::IsItemActive()) {
      const float d = vertical ? ImGui::GetIO().MouseDelta.x : ImGui::GetIO().MouseDelta.y;
      *fraction = std::clamp(*fraction + d / std::max(1.0f, extent), lo, hi);
    }
  }

  // The primary run's scenario, written out, run again with the edited
  // overrides as a streamed child; it replaces an earlier re-run.
  void StartRerun(const ViewState& view, const RerunCommand& cmd) {
    const SourceView* primary = view.primary();
    if (!primary || primary->data->scenario_text.empty()) return;
    if (scratch_.empty()) {
      std::string pattern =
          (std::filesystem::temp_directory_path() / "meshtwin-gui-rerun-XXXXXX").string();
      if (::mkdtemp(pattern.data()) == nullptr) {
        SetStatus("cannot make a temporary directory for the re-run", true);
        return;
      }
      scratch_ = pattern;
    }
    const std::string yaml = scratch_ + "/scenario.yaml";
    {
      std::ofstream out(yaml, std::ios::binary | std::ios::trunc);
      out << primary->data->scenario_text;
      if (!out) {
        SetStatus("cannot write " + yaml, true);
        return;
      }
    }
    // Relative paths in the stored YAML were relative to the original
    // scenario's folder, which the results file does not record: look for
    // them next to the results file, then in the current folder.
    std::vector<std::string> folders;
    const std::string results = sources_.front().source->results_path();
    if (!results.empty()) {
      std::filesystem::path dir = std::filesystem::path(results).parent_path();
      folders.push_back(dir.empty() ? std::string(".") : dir.string());
    }
    {
      std::error_code ec;
      const std::filesystem::path cwd = std::filesystem::current_path(ec);
      if (!ec) folders.push_back(cwd.string());
    }
    absl::StatusOr<std::vector<std::string>> paths =
        RelativePathOverrides(primary->data->scenario_text, cmd.overrides, folders);
    if (!paths.ok()) {
      SetStatus(ErrorText(paths.status()), true);
      return;
    }
    std::erase_if(sources_, [](const SourceEntry& e) { return e.rerun; });
    DataSourceSpec spec;
    spec.kind = SourceKind::kRunningSimulation;
    spec.scenario = yaml;
    spec.overrides = *paths;
    spec.overrides.insert(spec.overrides.end(), cmd.overrides.begin(), cmd.overrides.end());
    spec.binary = options_.binary;
    spec.label = cmd.label;
    absl::StatusOr<std::unique_ptr<DataSource>> s = OpenDataSource(spec);
    if (!s.ok()) {
      SetStatus(ErrorText(s.status()), true);
      return;
    }
    sources_.push_back({std::move(*s), "", true});
    SetStatus("re-running " + primary->data->scenario_name, false);
  }

 public:
  ~App() {
    sources_.clear();  // stops children before their scratch files go
    if (!scratch_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_, ignored);
    }
  }

 private:
  const GuiOptions& options_;
  std::vector<SourceEntry> sources_;
  CommandQueue queue_;
  Splits splits_;
  double time_ = 0;
  bool playing_ = false;
  bool follow_live_ = false;
  double speed_ = 60;
  std::int32_t selected_ = -1;
  std::string status_;
  bool status_is_error_ = false;
  std::string scratch_;
  enum class ScriptedRerun { kNone, kWaiting, kStarted, kFailed, kDone };
  ScriptedRerun scripted_ = ScriptedRerun::kNone;
  std::string rerun_error_;
  TimelinePanel timeline_;
  TopologyPanel topology_;
  PlotsPanel plots_;
  NodeTablePanel table_;
  ScenarioPanel scenario_;
  ActivityPanel activity_;
  ShadowPanel shadow_;
};

void ApplyTheme() {
  ImGui::StyleColorsDark();
  ImGuiStyle& s = ImGui::GetStyle();
  s.WindowRounding = 0;
  s.FrameRounding = 2;
  s.WindowPadding = ImVec2(8, 6);
  s.ItemSpacing = ImVec2(8, 5);
  s.WindowBorderSize = 0;
  s.Colors[ImGuiCol_WindowBg] = Vec4(kBackground);
  s.Colors[ImGuiCol_ChildBg] = Vec4(kBackground);
  s.Colors[ImGuiCol_TitleBg] = Vec4({36, 40, 48});
  s.Colors[ImGuiCol_TitleBgActive] = Vec4({44, 52, 66});
  s.Colors[ImGuiCol_FrameBg] = Vec4({40, 44, 54});
  s.Colors[ImGuiCol_TableRowBgAlt] = Vec4({255, 255, 255}, 0.03f);
  ImGuiIO& io = ImGui::GetIO();
  for (const char* font :
       {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf"}) {
    if (std::filesystem::exists(font)) {
      io.Fonts->AddFontFromFileTTF(font, 15.0f);
      break;
    }
  }
}

absl::Status CheckPngPath(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    return absl::InvalidArgumentError("--screenshot " + path + ": is a directory");
  }
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) {
    return absl::InvalidArgumentError("--screenshot " + path + ": directory " + dir.string() +
                                      " does not exist");
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    return absl::InvalidArgumentError("--screenshot " + path + ": directory " + dir.string() +
                                      " is not writable");
  }
  return absl::OkStatus();
}

// Reads the back buffer (bottom-up in GL) and writes it top-down as an RGB
// PNG, to a temporary name renamed over `path` once complete.
absl::Status WriteScreenshot(const std::string& path, int width, int height) {
  std::vector<unsigned char> pixels(static_cast<std::size_t>(width) * height * 3);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadBuffer(GL_BACK);
  glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE, pixels.data());
  if (glGetError() != GL_NO_ERROR) return absl::InternalError("glReadPixels failed");
  std::vector<unsigned char> flipped(pixels.size());
  const std::size_t row = static_cast<std::size_t>(width) * 3;
  for (int y = 0; y < height; ++y) {
    std::copy_n(pixels.data() + static_cast<std::size_t>(height - 1 - y) * row, row,
                flipped.data() + static_cast<std::size_t>(y) * row);
  }
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  if (!stbi_write_png(tmp.c_str(), width, height, 3, flipped.data(), static_cast<int>(row))) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    return absl::InternalError("--screenshot " + path + ": cannot write the PNG");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return absl::InternalError("--screenshot " + path + ": cannot rename into place");
  }
  return absl::OkStatus();
}

}  // namespace

FrameStats ComputeFrameStats(std::vector<double> ms) {
  FrameStats s;
  s.frames = ms.size();
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double v : ms) sum += v;
  s.mean_ms = sum / static_cast<double>(ms.size());
  auto rank = [&](double q) {
    const auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(ms.size())));
    return ms[std::clamp<std::size_t>(k, 1, ms.size()) - 1];
  };
  s.p50_ms = rank(0.5);
  s.p99_ms = rank(0.99);
  s.max_ms = ms.back();
  s.fps = s.mean_ms > 0 ? 1000.0 / s.mean_ms : 0;
  return s;
}

absl::StatusOr<std::pair<int, int>> ParseWindowSize(const std::string& flag,
                                                    const std::string& text) {
  int w = 0, h = 0;
  char x = 0, extra = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &w, &x, &h, &extra) != 3 || (x != 'x' && x != 'X') ||
      w < 64 || h < 64 || w > 16384 || h > 16384) {
    return absl::InvalidArgumentError(flag + " " + text +
                                      ": expected WIDTHxHEIGHT, each 64..16384 (e.g. 1600x1000)");
  }
  return std::make_pair(w, h);
}

absl::Status RunGui(const GuiOptions& options) {
  const bool headless = !options.screenshot.empty();
  if (headless) {
    MESHTWIN_RETURN_IF_ERROR(CheckPngPath(options.screenshot));
    if (options.frames < 1) return absl::InvalidArgumentError("--frames: must be at least 1");
  }
  App app(options);
  MESHTWIN_RETURN_IF_ERROR(app.OpenSources());

  glfwSetErrorCallback([](int, const char* text) { std::fprintf(stderr, "glfw: %s\n", text); });
  if (!glfwInit()) {
    return absl::FailedPreconditionError(
        "cannot open a window: no display (set DISPLAY, or run under xvfb-run -a)");
  }
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_RESIZABLE, headless ? GLFW_FALSE : GLFW_TRUE);
  GLFWwindow* window =
      glfwCreateWindow(options.width, options.height, "meshtwin", nullptr, nullptr);
  if (!window) {
    glfwTerminate();
    return absl::FailedPreconditionError("cannot create an OpenGL 3.3 window");
  }
  glfwMakeContextCurrent(window);
  glfwSwapInterval(headless ? 0 : 1);

  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGui::GetIO().IniFilename = nullptr;
  ApplyTheme();
  ImGui_ImplGlfw_InitForOpenGL(window, true);
  ImGui_ImplOpenGL3_Init("#version 330 core");

  std::vector<double> frame_ms;
  absl::Status result;
  auto last = Clock::now();
  // Headless with a running simulation: at least `frames` frames, and on
  // until the run has ended (so the picture shows the whole run), within
  // kSimulationWait.
  constexpr double kSimulationWait = 600;
  const auto loop_start = Clock::now();
  for (int frame = 0; !glfwWindowShouldClose(window); ++frame) {
    const auto start = Clock::now();
    glfwPollEvents();
    app.Poll();
    ViewState view = app.BuildView();
    app.Advance(view, std::chrono::duration<double>(start - last).count());
    last = start;
    view = app.BuildView();

    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    // Headless: wherever Xvfb's pointer is, it is not hovering anything.
    if (headless) ImGui::GetIO().MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
    ImGui::NewFrame();
    app.DrawFrame(view);
    ImGui::Render();
    int fw = 0, fh = 0;
    glfwGetFramebufferSize(window, &fw, &fh);
    glViewport(0, 0, fw, fh);
    glClearColor(kBackground.r / 255.0f, kBackground.g / 255.0f, kBackground.b / 255.0f, 1);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    bool final_frame = false;
    if (headless && frame >= options.frames - 1) {
      if (!app.any_live() && app.scripted_rerun_settled()) {
        result = WriteScreenshot(options.screenshot, fw, fh);
        if (result.ok()) result = app.scripted_rerun_result();
        final_frame = true;
      } else if (std::chrono::duration<double>(start - loop_start).count() > kSimulationWait) {
        result =
            absl::DeadlineExceededError("--screenshot: the simulation did not finish within " +
                                        std::to_string(static_cast<int>(kSimulationWait)) + " s");
        final_frame = true;
      }
    }
    glfwSwapBuffers(window);
    app.Execute(view);
    app.UpdateScriptedRerun();
    frame_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (final_frame) break;
  }

  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  glfwDestroyWindow(window);
  glfwTerminate();

  if (headless || options.frame_stats) {
    // The first frame builds the font atlas and the topology layout: reported apart.
    const double first = frame_ms.empty() ? 0 : frame_ms.front();
    if (!frame_ms.empty()) frame_ms.erase(frame_ms.begin());
    const FrameStats s = ComputeFrameStats(frame_ms);
    std::fprintf(stderr,
                 "frame times over %zu frames (after the first, %.1f ms): mean %.2f ms, p50 %.2f "
                 "ms, p99 %.2f ms, max %.2f ms, %.1f fps\n",
                 s.frames, first, s.mean_ms, s.p50_ms, s.p99_ms, s.max_ms, s.fps);
  }
  return result;
}

}  // namespace meshtwin::gui
