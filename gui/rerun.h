// How the scenario panel's "Re-run with these settings" turns into a child
// `meshtwin simulate <scenario> --set ... --stream`. Pure functions, shared by
// the button and by headless `meshtwin gui --rerun KEY=VALUE` (so that the
// test drives exactly what a click does).
//
// The re-run runs the scenario YAML stored in the results file (what really
// ran, even if the file has changed or moved since), written to a temporary
// file, with the run's --set overrides and the edited ones. A relative path
// in that YAML (trace.file, trace.events_file, forecast.model as a file) was
// relative to the original scenario's folder, which the results file does not
// record: RelativePathOverrides finds each one under the given folders (the
// results file's folder, then the current one) and passes it as an absolute
// `--set KEY=/abs/path`, or fails naming the key and the folders tried.
//
//   RerunCommand cmd = BuildRerunCommand("duration=2h\n", "predictive");
//   MESHTWIN_ASSIGN_OR_RETURN(std::vector<std::string> paths,
//       RelativePathOverrides(yaml, cmd.overrides, {"/data/runs", "/home/me"}));
#pragma once

#include <string>
#include <vector>

#include "gui/view_state.h"
#include "twin/status.h"

namespace meshtwin::gui {

// The policies the panel's combo offers.
inline constexpr const char* kRerunPolicies[] = {"hpa", "predictive", "oracle", "none"};

// The command the button pushes: `overrides_text` one KEY=VALUE per line
// (blank lines and #-comments skipped, whitespace trimmed), after
// policy.name=`policy` (so a policy.name line in the text wins, as a later
// --set does).
RerunCommand BuildRerunCommand(const std::string& overrides_text, const std::string& policy);

// Puts headless --rerun settings into the panel's edit fields, as a person
// would type them: policy.name=P selects P in the combo when it offers P
// (else the line stays in the text, where it wins over the combo); every
// other KEY=VALUE replaces a line of the same key in `overrides_text` or is
// appended.
void ApplyScriptedRerun(const std::vector<std::string>& sets, std::string* overrides_text,
                        int* policy);

// `--set KEY=/absolute/path` for each relative path key of `scenario_yaml`
// (trace.file, trace.events_file, forecast.model naming a file) that
// `overrides` does not set, found under the first of `folders` that has it.
// InvalidArgument naming the key, its value and the folders when none has it;
// InvalidArgument when the YAML does not parse.
absl::StatusOr<std::vector<std::string>> RelativePathOverrides(
    const std::string& scenario_yaml, const std::vector<std::string>& overrides,
    const std::vector<std::string>& folders);

}  // namespace meshtwin::gui
