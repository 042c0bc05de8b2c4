#include "twin/types.h"

namespace meshtwin {

const char* ToString(NodeState s) {
  switch (s) {
    case NodeState::kBooting:
      return "booting";
    case NodeState::kReady:
      return "ready";
    case NodeState::kDraining:
      return "draining";
    case NodeState::kStopped:
      return "stopped";
    case NodeState::kSwitching:
      return "switching";
    case NodeState::kFailed:
      return "failed";
  }
  return "?";
}

const char* ToString(RequestClass c) {
  switch (c) {
    case RequestClass::kCritical:
      return "critical";
    case RequestClass::kStandard:
      return "standard";
    case RequestClass::kBestEffort:
      return "best_effort";
  }
  return "?";
}

const char* ToString(ActionKind k) {
  switch (k) {
    case ActionKind::kScaleOut:
      return "scale_out";
    case ActionKind::kScaleIn:
      return "scale_in";
    case ActionKind::kChangeRole:
      return "change_role";
    case ActionKind::kMigrate:
      return "migrate";
    case ActionKind::kSetAdmission:
      return "set_admission";
    case ActionKind::kIsolate:
      return "isolate";
    case ActionKind::kReplace:
      return "replace";
  }
  return "?";
}

}  // namespace meshtwin
