// Internal to live_bridge/: conversions between the AgentService messages of
// proto/meshtwin.proto and the registry's own types. The one place the two
// vocabularies meet; nothing outside live_bridge/*.cpp includes this.
#pragma once

#include "live_bridge/agent_registry.h"
#include "proto/meshtwin.pb.h"

namespace meshtwin::live::detail {

v1::NodeState ToProto(NodeState state);
NodeState FromProto(v1::NodeState state);

void ToProto(const AgentCapabilities& in, v1::Capabilities* out);
AgentCapabilities FromProto(const v1::Capabilities& in);

void ToProto(const LoadSample& in, v1::LoadSample* out);
LoadSample FromProto(const v1::LoadSample& in);

void ToProto(const AgentRegistration& in, v1::RegisterRequest* out);
AgentRegistration FromProto(const v1::RegisterRequest& in);

void ToProto(const AgentHeartbeat& in, v1::AgentHeartbeat* out);
AgentHeartbeat FromProto(const v1::AgentHeartbeat& in);

void ToProto(const AgentCommand& in, v1::Command* out);
AgentCommand FromProto(const v1::Command& in);

}  // namespace meshtwin::live::detail
