#include "twin/types.h"

namespace meshtwin {

const char* ToString(NodeState s) {
  switch (s) {
    case NodeState::kBooting: return "booting";
    case NodeState::kReady: return "ready";
    case NodeState::kDraining: return "draining";
    case NodeState::kStopped: return "stopped";
  }
  return "?";
}

const char* ToString(ActionKind k) {
  switch (k) {
    case ActionKind::kScaleOut: return "scale_out";
    case ActionKind::kScaleIn: return "scale_in";
  }
  return "?";
}

}  // namespace meshtwin
