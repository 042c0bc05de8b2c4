// Traces on disk: one HDF5 file per trace (schema in datasets/FORMAT.md,
// "Trace files"): the demand series, any channels, step, epoch, units,
// provenance and the attached events. Missing samples are NaN, never 0.
// Written to a temporary name and renamed when complete.
#pragma once

#include <string>

#include "datasets/trace.h"
#include "twin/status.h"

namespace meshtwin {

absl::Status WriteTraceFile(const std::string& path, const Trace& trace);

// A file that is not a meshtwin trace (wrong schema, other version,
// truncated, not HDF5) is InvalidArgument naming the path and the object.
absl::StatusOr<Trace> ReadTraceFile(const std::string& path);

// True if the file starts with the HDF5 signature (cheap; for dispatch).
bool LooksLikeHdf5(const std::string& path);

}  // namespace meshtwin
