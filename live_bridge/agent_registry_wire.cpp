#include "live_bridge/agent_registry_wire.h"

namespace meshtwin::live::detail {

v1::NodeState ToProto(NodeState state) {
  switch (state) {
    case NodeState::kBooting:
      return v1::NODE_STATE_BOOTING;
    case NodeState::kReady:
      return v1::NODE_STATE_READY;
    case NodeState::kDraining:
      return v1::NODE_STATE_DRAINING;
    case NodeState::kStopped:
      return v1::NODE_STATE_STOPPED;
    case NodeState::kSwitching:
      return v1::NODE_STATE_SWITCHING;
    case NodeState::kFailed:
      return v1::NODE_STATE_FAILED;
  }
  return v1::NODE_STATE_UNSPECIFIED;
}

NodeState FromProto(v1::NodeState state) {
  switch (state) {
    case v1::NODE_STATE_BOOTING:
      return NodeState::kBooting;
    case v1::NODE_STATE_DRAINING:
      return NodeState::kDraining;
    case v1::NODE_STATE_STOPPED:
      return NodeState::kStopped;
    case v1::NODE_STATE_SWITCHING:
      return NodeState::kSwitching;
    case v1::NODE_STATE_FAILED:
      return NodeState::kFailed;
    default:
      return NodeState::kReady;  // READY, and UNSPECIFIED from an agent that says nothing
  }
}

void ToProto(const AgentCapabilities& in, v1::Capabilities* out) {
  out->set_cores(in.cores);
  out->set_core_speed(in.core_speed);
  out->set_memory_gb(in.memory_gb);
  for (const GpuGroup& g : in.gpus) {
    v1::GpuGroup* p = out->add_gpus();
    p->set_model(g.model);
    p->set_count(g.count);
    p->set_memory_gb(g.memory_gb);
  }
  for (const std::string& s : in.software) out->add_software(s);
  for (const std::string& r : in.roles) out->add_roles(r);
  out->set_node_type(in.node_type);
}

AgentCapabilities FromProto(const v1::Capabilities& in) {
  AgentCapabilities out;
  out.cores = in.cores();
  out.core_speed = in.core_speed();
  out.memory_gb = in.memory_gb();
  for (const v1::GpuGroup& g : in.gpus()) out.gpus.push_back({g.model(), g.count(), g.memory_gb()});
  out.software.assign(in.software().begin(), in.software().end());
  out.roles.assign(in.roles().begin(), in.roles().end());
  out.node_type = in.node_type();
  return out;
}

void ToProto(const LoadSample& in, v1::LoadSample* out) {
  out->set_time_unix(in.time_unix);
  out->set_window_s(in.window);
  out->set_cpu_utilization(in.cpu_utilization);
  out->set_memory_used_gb(in.memory_used_gb);
  out->set_requests_per_s(in.requests_per_s);
  out->set_latency_s(in.latency);
  out->set_latency_p99_s(in.latency_p99);
  out->set_error_rate(in.error_rate);
  out->set_queued_requests(in.queued_requests);
}

LoadSample FromProto(const v1::LoadSample& in) {
  LoadSample out;
  out.time_unix = in.time_unix();
  out.window = in.window_s();
  out.cpu_utilization = in.cpu_utilization();
  out.memory_used_gb = in.memory_used_gb();
  out.requests_per_s = in.requests_per_s();
  out.latency = in.latency_s();
  out.latency_p99 = in.latency_p99_s();
  out.error_rate = in.error_rate();
  out.queued_requests = in.queued_requests();
  return out;
}

void ToProto(const AgentRegistration& in, v1::RegisterRequest* out) {
  out->set_node_id(in.node_id);
  ToProto(in.capabilities, out->mutable_capabilities());
  out->set_role(in.role);
  out->set_dht_address(in.dht_address);
  out->set_metrics_address(in.metrics_address);
  out->set_agent_version(in.agent_version);
}

AgentRegistration FromProto(const v1::RegisterRequest& in) {
  AgentRegistration out;
  out.node_id = in.node_id();
  out.capabilities = FromProto(in.capabilities());
  out.role = in.role();
  out.dht_address = in.dht_address();
  out.metrics_address = in.metrics_address();
  out.agent_version = in.agent_version();
  return out;
}

void ToProto(const AgentHeartbeat& in, v1::AgentHeartbeat* out) {
  out->set_node_id(in.node_id);
  out->set_state(ToProto(in.state));
  out->set_role(in.role);
  ToProto(in.load, out->mutable_load());
  out->set_last_command_seq(in.last_command_seq);
}

AgentHeartbeat FromProto(const v1::AgentHeartbeat& in) {
  AgentHeartbeat out;
  out.node_id = in.node_id();
  out.state = FromProto(in.state());
  out.role = in.role();
  out.load = FromProto(in.load());
  out.last_command_seq = in.last_command_seq();
  return out;
}

void ToProto(const AgentCommand& in, v1::Command* out) {
  out->set_seq(in.seq);
  out->set_reason(in.reason);
  out->set_fence(in.fence);
  switch (in.kind) {
    case AgentCommandKind::kChangeRole:
      out->mutable_change_role()->set_role(in.role);
      break;
    case AgentCommandKind::kDrain:
      out->mutable_drain()->set_deadline_s(in.seconds);
      break;
    case AgentCommandKind::kStartWorkload: {
      v1::StartWorkload* s = out->mutable_start_workload();
      s->set_workload(in.workload);
      for (const std::string& a : in.args) s->add_args(a);
      break;
    }
    case AgentCommandKind::kStopWorkload:
      out->mutable_stop_workload()->set_workload(in.workload);
      out->mutable_stop_workload()->set_grace_s(in.seconds);
      break;
  }
}

AgentCommand FromProto(const v1::Command& in) {
  AgentCommand out;
  out.seq = in.seq();
  out.reason = in.reason();
  out.fence = in.fence();
  switch (in.action_case()) {
    case v1::Command::kChangeRole:
      out.kind = AgentCommandKind::kChangeRole;
      out.role = in.change_role().role();
      break;
    case v1::Command::kDrain:
      out.kind = AgentCommandKind::kDrain;
      out.seconds = in.drain().deadline_s();
      break;
    case v1::Command::kStartWorkload:
      out.kind = AgentCommandKind::kStartWorkload;
      out.workload = in.start_workload().workload();
      out.args.assign(in.start_workload().args().begin(), in.start_workload().args().end());
      break;
    case v1::Command::kStopWorkload:
      out.kind = AgentCommandKind::kStopWorkload;
      out.workload = in.stop_workload().workload();
      out.seconds = in.stop_workload().grace_s();
      break;
    case v1::Command::ACTION_NOT_SET:
      break;
  }
  return out;
}

}  // namespace meshtwin::live::detail
