// Test-only helpers shared by the datasets/ tests: status messages, a fresh
// directory per test, whole-file reads and writes, and editing HDF5 files
// behind the writers' backs.
#pragma once

#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "twin/status.h"

namespace meshtwin::test_util {

// The message as a std::string (gMock prints absl::string_view char by char).
inline std::string Msg(const absl::Status& status) { return std::string(status.message()); }

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A file name of this process in the test temporary directory:
// TEMP/STEM.PID EXTENSION, so parallel test runs do not collide.
inline std::filesystem::path TempPath(const std::string& stem, const std::string& extension) {
  return std::filesystem::path(::testing::TempDir()) /
         (stem + "." + std::to_string(::getpid()) + extension);
}

// A fresh, empty directory per test, TEMP/PREFIX.TEST.PID, removed afterwards.
class TempDirTest : public ::testing::Test {
 protected:
  explicit TempDirTest(std::string prefix) : prefix_(std::move(prefix)) {}

  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           (prefix_ + "." + info->name() + "." + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // Names of the files in the test directory, sorted (to spot leftover
  // temporaries).
  std::vector<std::string> Listing() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  std::string prefix_;
  std::filesystem::path dir_;
};

// Runs `edit` on the file opened read-write with the plain HDF5 API (to make
// files of a wrong schema out of a good one).
template <typename Edit>
void EditFile(const std::string& path, Edit edit) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  edit(file);
  ASSERT_GE(H5Fclose(file), 0);
}

}  // namespace meshtwin::test_util
