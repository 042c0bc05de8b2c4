// CSV import speed: a million rows (a bit under two years of 60 s samples,
// ~40 MB) with ISO-8601 timestamps, and the same with unix seconds. The files
// are written once to a temporary directory; each iteration times the whole
// ImportCsvFile (read, parse, axis, report). The target is under 2 s per
// million rows on one core.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "datasets/csv_import.h"

namespace meshtwin {
namespace {

constexpr int kRows = 1'000'000;
constexpr double kEpoch = 1704067200;  // 2024-01-01T00:00:00Z

// Writes `path` once per process: a header and kRows rows 60 s apart with a
// diurnal-looking request rate.
const std::string& BenchFile(bool iso) {
  static const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("bench_csv_import." + std::to_string(::getpid()));
  static std::string paths[2];
  std::string& path = paths[iso ? 1 : 0];
  if (!path.empty()) return path;
  std::filesystem::create_directories(dir);
  path = (dir / (iso ? "iso.csv" : "unix.csv")).string();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  std::fputs("timestamp,requests_per_second\n", f);
  for (std::int64_t i = 0; i < kRows; ++i) {
    const double t = kEpoch + 60.0 * static_cast<double>(i);
    const double rps = 1000 + 400 * static_cast<double>(i % 1440) / 1440.0 +
                       static_cast<double>(i * 7919 % 1000) / 100.0;
    if (iso) {
      std::fprintf(f, "%s,%.6f\n", FormatIso8601(t).c_str(), rps);
    } else {
      std::fprintf(f, "%.0f,%.6f\n", t, rps);
    }
  }
  std::fclose(f);
  std::atexit([] { std::filesystem::remove_all(dir); });
  return path;
}

void RunImport(benchmark::State& state, bool iso) {
  const std::string& path = BenchFile(iso);
  for (auto _ : state) {
    ImportReport report;
    absl::StatusOr<Trace> t = ImportCsvFile(path, CsvImportOptions(), &report);
    if (!t.ok() || t->demand.size() != static_cast<std::size_t>(kRows)) {
      state.SkipWithError(t.ok() ? "wrong sample count"
                                 : std::string(t.status().message()).c_str());
      break;
    }
    benchmark::DoNotOptimize(t->demand.data());
  }
  state.SetItemsProcessed(state.iterations() * kRows);
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(std::filesystem::file_size(path)));
}

void BM_ImportCsvIso(benchmark::State& state) { RunImport(state, /*iso=*/true); }
void BM_ImportCsvUnixSeconds(benchmark::State& state) { RunImport(state, /*iso=*/false); }

BENCHMARK(BM_ImportCsvIso)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ImportCsvUnixSeconds)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace meshtwin

BENCHMARK_MAIN();
