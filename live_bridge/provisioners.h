// What adds and removes capacity when `meshtwin manager` acts: local agent
// processes (development, end-to-end tests), a Kubernetes Deployment's scale
// subresource, or an operator's own command. The manager logs the outcome of
// every call in its DecisionLog; a provisioner only carries the action out.
//
//   MESHTWIN_ASSIGN_OR_RETURN(auto k8s, KubernetesScaler::Create({
//       .api_server = "https://10.0.0.1", .namespace_ = "prod", .deployment = "web",
//       .token_file = kTokenFile, .ca_file = kCaFile}));
//   ProvisionRequest r{.node_type = "web", .count = 2, .replicas_after = 7, .tick = 340};
//   MESHTWIN_ASSIGN_OR_RETURN(std::vector<std::string> started, k8s->ScaleOut(r));
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "live_bridge/certs.h"
#include "live_bridge/tls.h"
#include "twin/status.h"
#include "twin/types.h"

namespace meshtwin::live {

// One scaling action, as the manager hands it to a provisioner.
struct ProvisionRequest {
  std::string node_type;
  std::string role;
  int count = 0;           // nodes to add or remove
  int replicas_after = 0;  // the pool size the policy asked for
  std::int64_t fence = 0;  // the leader's election revision (0: no election)
  std::int64_t tick = 0;
  // ScaleIn: the nodes chosen to go (the manager has already told their
  // agents to drain).
  std::vector<std::string> node_ids;
};

// Implementations are thread-safe.
class Provisioner {
 public:
  virtual ~Provisioner() = default;
  virtual std::string_view name() const = 0;
  // Returns the ids of the nodes it started (empty when the platform names
  // them, e.g. Kubernetes).
  virtual absl::StatusOr<std::vector<std::string>> ScaleOut(const ProvisionRequest& r) = 0;
  virtual absl::Status ScaleIn(const ProvisionRequest& r) = 0;
};

// ---------------------------------------------------------------------------
// New nodes as local `meshtwin agent` processes.

struct ProcessLauncherOptions {
  std::string agent_binary;  // the meshtwin executable
  // Created (0700: it holds keys) if missing. Per node: NODE.yaml, NODE.crt,
  // NODE.key, NODE.log, NODE.pid.
  std::string work_dir;
  // The CA that signs each new agent's certificate (CN = node id, clientAuth
  // and serverAuth, IP SAN 127.0.0.1); agents verify the manager with ca_cert.
  std::string ca_cert;
  std::string ca_key;
  // host:port of every manager replica, written into each config: `manager:`
  // for one, `managers: [...]` alone for several (agent_config.h).
  std::vector<std::string> managers;
  std::map<std::string, std::vector<std::string>> roles;  // role -> workload command line
  Seconds heartbeat_interval = 1;
  // Ids are PREFIX-fFENCE-tTICK-K: unique across leaders and ticks, and K
  // counts on past ids already in work_dir within one tick.
  std::string node_prefix = "node";
  // "chord" or "kademlia": the agents join the mesh's DHT (through the
  // manager's node, named at registration) and publish their records there.
  std::string dht_protocol;
};

// Starts each new node as `agent_binary agent --config WORK_DIR/NODE.yaml`,
// detached: in its own session, reparented away from the manager (which it
// outlives), stdin /dev/null, stdout and stderr appended to NODE.log.
class ProcessLauncher : public Provisioner {
 public:
  // Checks the options: the binary is executable, the CA's files parse and
  // the key is the certificate's, every manager is host:port, every role has
  // a command line. InvalidArgument naming the option otherwise.
  static absl::StatusOr<std::unique_ptr<ProcessLauncher>> Create(ProcessLauncherOptions options);

  std::string_view name() const override { return "process"; }
  // Issues a certificate, writes a config and starts an agent for each of
  // r.count nodes, in r.role when set (it must be one of options.roles). On
  // an error the nodes already started keep running; the error names them.
  absl::StatusOr<std::vector<std::string>> ScaleOut(const ProvisionRequest& r) override;
  // Sends SIGTERM to each of r.node_ids that this work_dir launched and that
  // still runs (checked through /proc/PID/cmdline, so that a reused pid is
  // never signalled); the agent then stops its workload gracefully. Ids it
  // did not launch, or whose agent is gone, are logged and skipped.
  absl::Status ScaleIn(const ProvisionRequest& r) override;

  // Ids whose pid file names a running agent of this work_dir, sorted.
  std::vector<std::string> Launched() const;

 private:
  explicit ProcessLauncher(ProcessLauncherOptions options, KeyAndCertificate ca)
      : options_(std::move(options)), ca_(std::move(ca)) {}
  absl::StatusOr<std::string> StartNode(const std::string& id, const std::string& role);

  const ProcessLauncherOptions options_;
  const KeyAndCertificate ca_;
  std::mutex mu_;  // id allocation and file writing
};

// ---------------------------------------------------------------------------
// A Kubernetes Deployment's replica count, through its scale subresource.

struct KubernetesScalerOptions {
  std::string api_server;  // https://host[:port][/prefix]; plain http is refused
  std::string namespace_ = "default";
  std::string deployment;                          // for node types not in `deployments`
  std::map<std::string, std::string> deployments;  // node_type -> deployment
  // A service-account token, re-read on every request: projected tokens are
  // rotated by the kubelet while the manager runs.
  std::string token_file;
  std::string ca_file;  // the CA the API server's certificate must chain to (always verified)
  // A client certificate to present (cert, key), for clusters that
  // authenticate with one. Its ca_cert, when set, is the CA it is checked
  // against at Create; empty: ca_file.
  std::optional<TlsFiles> client_tls;
  bool dry_run = false;  // ?dryRun=All: the API server validates and answers, changes nothing
  Seconds timeout = 10;  // connect, and then the answer
};

// Both directions PATCH spec.replicas = replicas_after (a merge patch of the
// scale subresource: the count is absolute, so a retried call is harmless).
// Errors carry the HTTP status and the API's "message": NotFound (404),
// PermissionDenied (401, 403), Aborted (409), InvalidArgument (400, 422),
// Unavailable (unreachable, 5xx, others).
class KubernetesScaler : public Provisioner {
 public:
  static absl::StatusOr<std::unique_ptr<KubernetesScaler>> Create(KubernetesScalerOptions options);

  std::string_view name() const override { return "kubernetes"; }
  absl::StatusOr<std::vector<std::string>> ScaleOut(const ProvisionRequest& r) override;
  absl::Status ScaleIn(const ProvisionRequest& r) override;

  // The deployment a node type maps to.
  const std::string& DeploymentFor(const std::string& node_type) const;

 private:
  explicit KubernetesScaler(KubernetesScalerOptions options) : options_(std::move(options)) {}
  absl::Status Patch(const ProvisionRequest& r);

  const KubernetesScalerOptions options_;
};

// ---------------------------------------------------------------------------
// An operator's command, run for every action.

struct ExecHookOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  // The whole budget of one run; then the process group gets SIGTERM, and
  // SIGKILL a second later.
  Seconds timeout = 60;
};

// Runs argv in its own process group with the manager's environment plus
// MESHTWIN_ACTION (scale-out | scale-in), MESHTWIN_NODE_TYPE, MESHTWIN_ROLE,
// MESHTWIN_COUNT, MESHTWIN_REPLICAS (replicas_after), MESHTWIN_FENCE,
// MESHTWIN_TICK and MESHTWIN_NODES (node ids, comma-separated); stdin is
// /dev/null. Exit 0 is success; otherwise an error with the exit code (or
// signal) and the last lines of its stderr; DeadlineExceeded on timeout.
class ExecHook : public Provisioner {
 public:
  static absl::StatusOr<std::unique_ptr<ExecHook>> Create(ExecHookOptions options);

  std::string_view name() const override { return "exec"; }
  absl::StatusOr<std::vector<std::string>> ScaleOut(const ProvisionRequest& r) override;
  absl::Status ScaleIn(const ProvisionRequest& r) override;
  // One run with MESHTWIN_ACTION = `action`, for actions beyond scaling.
  absl::Status Run(std::string_view action, const ProvisionRequest& r) const;

 private:
  explicit ExecHook(ExecHookOptions options) : options_(std::move(options)) {}
  const ExecHookOptions options_;
};

}  // namespace meshtwin::live
