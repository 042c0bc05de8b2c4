#include "live_bridge/etcd_client.h"

#include <httplib.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <string_view>
#include <utility>

#include "absl/strings/escaping.h"
#include "nlohmann/json.hpp"

namespace meshtwin::live {
namespace {

using Json = nlohmann::json;

// Idle connections kept for reuse. The election needs one or two at a time;
// more would only hold sockets open on etcd.
constexpr std::size_t kMaxIdleConnections = 4;

std::string Base64(std::string_view bytes) {
  return absl::Base64Escape(absl::string_view(bytes.data(), bytes.size()));
}

std::string LeaseText(std::int64_t lease) {
  // Hexadecimal, as etcdctl prints lease ids, so log lines can be matched.
  char text[24];
  std::snprintf(text, sizeof text, "%llx", static_cast<unsigned long long>(lease));
  return text;
}

std::string Snippet(const std::string& text) {
  constexpr std::size_t kMax = 200;
  return text.size() > kMax ? text.substr(0, kMax) + "..." : text;
}

std::chrono::microseconds ToDuration(Seconds s) {
  return std::chrono::microseconds(static_cast<long long>(s * 1e6));
}

// The first range-end key after every key that starts with `prefix`: etcd's
// prefix convention (the prefix with its last byte incremented).
std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return std::string(1, '\0');  // with key "\0": every key
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

// Reads the answer's fields. The gateway writes int64 as JSON strings and
// omits fields holding their zero value, so a missing field is 0 or "".
class AnswerReader {
 public:
  explicit AnswerReader(std::string context) : context_(std::move(context)) {}

  absl::StatusOr<std::int64_t> Int(const Json& object, const char* field,
                                   const std::string& where) const {
    const auto it = object.find(field);
    if (it == object.end() || it->is_null()) return 0;
    if (it->is_number_integer()) return it->get<std::int64_t>();
    if (it->is_string()) {
      const std::string& text = it->get_ref<const std::string&>();
      std::int64_t value = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) return value;
    }
    return Bad(where + field, "expected an integer, got " + Snippet(it->dump()));
  }

  absl::StatusOr<std::string> Bytes(const Json& object, const char* field,
                                    const std::string& where) const {
    const auto it = object.find(field);
    if (it == object.end() || it->is_null()) return std::string();
    std::string bytes;
    if (!it->is_string() || !absl::Base64Unescape(it->get_ref<const std::string&>(), &bytes)) {
      return Bad(where + field, "expected base64 text, got " + Snippet(it->dump()));
    }
    return bytes;
  }

  absl::StatusOr<EtcdKeyValue> KeyValue(const Json& kv, const std::string& where) const {
    if (!kv.is_object()) return Bad(where, "expected an object, got " + Snippet(kv.dump()));
    EtcdKeyValue out;
    const std::string prefix = where + ".";
    MESHTWIN_ASSIGN_OR_RETURN(out.key, Bytes(kv, "key", prefix));
    MESHTWIN_ASSIGN_OR_RETURN(out.value, Bytes(kv, "value", prefix));
    MESHTWIN_ASSIGN_OR_RETURN(out.create_revision, Int(kv, "create_revision", prefix));
    MESHTWIN_ASSIGN_OR_RETURN(out.mod_revision, Int(kv, "mod_revision", prefix));
    MESHTWIN_ASSIGN_OR_RETURN(out.lease, Int(kv, "lease", prefix));
    return out;
  }

  absl::StatusOr<std::vector<EtcdKeyValue>> KeyValues(const Json& answer) const {
    std::vector<EtcdKeyValue> out;
    const auto kvs = answer.find("kvs");
    if (kvs == answer.end() || kvs->is_null()) return out;
    if (!kvs->is_array()) return Bad("kvs", "expected an array, got " + Snippet(kvs->dump()));
    for (std::size_t i = 0; i < kvs->size(); ++i) {
      MESHTWIN_ASSIGN_OR_RETURN(EtcdKeyValue kv,
                                KeyValue((*kvs)[i], "kvs[" + std::to_string(i) + "]"));
      out.push_back(std::move(kv));
    }
    return out;
  }

  absl::Status Bad(const std::string& field, const std::string& what) const {
    return absl::InternalError(context_ + ": answer field " + field + ": " + what);
  }

 private:
  std::string context_;
};

// Keeps SIGPIPE away from the process while one request runs on this
// thread. When etcd closes a connection during a write (it does so when it
// refuses our certificate) OpenSSL's write raises SIGPIPE, whose default
// action kills the process; a library must not change that process-wide, so
// the signal is blocked for this thread only and a pending one discarded.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&sigpipe_);
    sigaddset(&sigpipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    already_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &sigpipe_, &previous_);
  }
  ~ScopedSigpipeBlock() {
    if (!already_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec no_wait{};
        sigtimedwait(&sigpipe_, nullptr, &no_wait);
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t sigpipe_;
  sigset_t previous_;
  bool already_pending_ = false;
};

}  // namespace

class EtcdClient::Impl {
 public:
  EtcdOptions options;
  std::string host;
  int port = 0;

  // POSTs `request` to the gateway's `path` and returns the parsed answer.
  // `timeout` <= 0: options.timeout.
  absl::StatusOr<Json> Call(const std::string& path, const Json& request, Seconds timeout = 0) {
    if (timeout <= 0) timeout = options.timeout;
    const std::string where = Context(path);
    std::unique_ptr<httplib::SSLClient> client = TakeIdle();
    if (client == nullptr) {
      client = std::make_unique<httplib::SSLClient>(host, port, options.tls.cert, options.tls.key);
      if (!client->is_valid()) {
        return absl::InvalidArgumentError(where + ": cannot load our certificate " +
                                          options.tls.cert + " and key " + options.tls.key);
      }
      client->set_ca_cert_path(options.tls.ca_cert);
      client->enable_server_certificate_verification(true);
      client->set_keep_alive(true);
    }
    client->set_connection_timeout(ToDuration(timeout));
    client->set_read_timeout(ToDuration(timeout));
    client->set_write_timeout(ToDuration(timeout));

    httplib::Result res = [&] {
      const ScopedSigpipeBlock no_sigpipe;
      return client->Post(path, request.dump(), "application/json");
    }();
    if (!res) {
      // The connection is in an unknown state: drop it rather than pool it.
      return absl::UnavailableError(where + ": " + DescribeFailure(res.error(), *client, timeout));
    }
    Json answer;
    bool parsed = true;
    try {
      // A streaming call (lease keepalive) answers one JSON object per line;
      // we send one request, so the first line is the answer.
      const std::string& body = res->body;
      const std::size_t line_end = body.find('\n');
      answer = Json::parse(line_end == std::string::npos ? body : body.substr(0, line_end));
    } catch (const Json::exception&) {
      parsed = false;
    }
    const int status = res->status;
    const std::string body = res->body;
    ReturnIdle(std::move(client));

    if (parsed && answer.is_object() && answer.contains("code") && answer.contains("message")) {
      // The gateway's error: the gRPC status code and etcd's message.
      const int code = answer["code"].is_number_integer() ? answer["code"].get<int>() : 2;
      const std::string message =
          answer["message"].is_string() ? answer["message"].get<std::string>() : body;
      const auto absl_code =
          code > 0 && code <= 16 ? static_cast<absl::StatusCode>(code) : absl::StatusCode::kUnknown;
      return absl::Status(absl_code, where + ": " + message);
    }
    if (status != 200) {
      return absl::UnavailableError(where + ": HTTP " + std::to_string(status) + ": " +
                                    Snippet(body));
    }
    if (!parsed || !answer.is_object()) {
      return absl::InternalError(where + ": expected a JSON object, got " + Snippet(body));
    }
    return answer;
  }

  std::string Context(const std::string& path) const {
    return "etcd " + options.endpoint + " " + path;
  }

 private:
  std::string DescribeFailure(httplib::Error error, const httplib::SSLClient& client,
                              Seconds timeout) const {
    char seconds_text[32];
    std::snprintf(seconds_text, sizeof seconds_text, "%.3g s", timeout);
    const std::string seconds = seconds_text;
    switch (error) {
      case httplib::Error::Connection:
        return "cannot connect (is etcd running and listening on " + host + ":" +
               std::to_string(port) + "?)";
      case httplib::Error::ConnectionTimeout:
        return "no connection within " + seconds;
      case httplib::Error::SSLLoadingCerts:
        return "cannot load the CA file " + options.tls.ca_cert;
      case httplib::Error::SSLServerVerification: {
        const long result = client.get_openssl_verify_result();
        if (result != X509_V_OK) {
          return std::string("etcd's certificate is not trusted by our CA ") + options.tls.ca_cert +
                 ": " + X509_verify_cert_error_string(result);
        }
        return "etcd's certificate does not name " + host;
      }
      case httplib::Error::SSLConnection:
        return "TLS handshake failed: etcd refused our certificate " + options.tls.cert +
               " (is it signed by the CA etcd trusts?) or the connection broke";
      case httplib::Error::Read:
        // With TLS 1.3 the client finishes its handshake before the server
        // checks the client's certificate: a refusal shows up here.
        return "no answer within " + seconds +
               " or the connection was closed (etcd closes it when it refuses our "
               "certificate " +
               options.tls.cert + ")";
      case httplib::Error::Write:
        return "cannot send the request: etcd closed the connection (it does so when it "
               "refuses our certificate " +
               options.tls.cert + ")";
      default:
        return "request failed: " + httplib::to_string(error);
    }
  }

  std::unique_ptr<httplib::SSLClient> TakeIdle() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (idle_.empty()) return nullptr;
    std::unique_ptr<httplib::SSLClient> client = std::move(idle_.back());
    idle_.pop_back();
    return client;
  }

  void ReturnIdle(std::unique_ptr<httplib::SSLClient> client) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (idle_.size() < kMaxIdleConnections) idle_.push_back(std::move(client));
  }

  std::mutex mutex_;
  std::vector<std::unique_ptr<httplib::SSLClient>> idle_;
};

namespace {

// "https://host[:port][/]" -> host, port. Plaintext is refused by design.
absl::Status ParseEndpoint(const std::string& endpoint, std::string* host, int* port) {
  const std::string bad = "etcd endpoint '" + endpoint + "': ";
  constexpr std::string_view kScheme = "https://";
  if (endpoint.rfind("http://", 0) == 0) {
    return absl::InvalidArgumentError(bad +
                                      "plaintext is not supported; use https:// (etcd must run "
                                      "with client TLS and --client-cert-auth)");
  }
  if (endpoint.rfind(kScheme, 0) != 0) {
    return absl::InvalidArgumentError(bad + "expected https://HOST:PORT");
  }
  std::string rest = endpoint.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(bad + "expected no path after HOST:PORT");
  }
  std::string port_text;
  if (!rest.empty() && rest.front() == '[') {  // [IPv6]:port
    const std::size_t close = rest.find(']');
    if (close == std::string::npos) return absl::InvalidArgumentError(bad + "unclosed '['");
    *host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return absl::InvalidArgumentError(bad + "expected ':' after ']'");
      port_text = rest.substr(close + 2);
    }
  } else {
    const std::size_t colon = rest.rfind(':');
    *host = rest.substr(0, colon);
    if (colon != std::string::npos) port_text = rest.substr(colon + 1);
  }
  if (host->empty()) return absl::InvalidArgumentError(bad + "no host");
  *port = 2379;  // etcd's client port
  if (!port_text.empty() || rest.back() == ':') {
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), *port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || *port < 1 ||
        *port > 65535) {
      return absl::InvalidArgumentError(bad + "port '" + port_text + "' is not in 1..65535");
    }
  }
  return absl::OkStatus();
}

}  // namespace

EtcdClient::EtcdClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EtcdClient::~EtcdClient() = default;

const std::string& EtcdClient::endpoint() const { return impl_->options.endpoint; }

absl::StatusOr<std::unique_ptr<EtcdClient>> EtcdClient::Connect(EtcdOptions options) {
  MESHTWIN_RETURN_IF_ERROR(CheckTlsFiles(options.tls));
  if (!(options.timeout > 0)) {
    return absl::InvalidArgumentError("etcd options: timeout must be > 0 seconds");
  }
  auto impl = std::make_unique<Impl>();
  MESHTWIN_RETURN_IF_ERROR(ParseEndpoint(options.endpoint, &impl->host, &impl->port));
  impl->options = std::move(options);
  const std::string path = "/v3/maintenance/status";
  absl::StatusOr<Json> status = impl->Call(path, Json::object());
  if (!status.ok()) {
    // Said once: the call's own context repeats the endpoint.
    std::string why = ErrorText(status.status());
    const std::string context = impl->Context(path) + ": ";
    if (why.rfind(context, 0) == 0) why = why.substr(context.size());
    return absl::UnavailableError("cannot use etcd at " + impl->options.endpoint + " (" + path +
                                  "): " + why);
  }
  if (!status->contains("version")) {
    return absl::UnavailableError(
        "cannot use etcd at " + impl->options.endpoint +
        ": /v3/maintenance/status answered without a version: " + Snippet(status->dump()));
  }
  return std::unique_ptr<EtcdClient>(new EtcdClient(std::move(impl)));
}

absl::StatusOr<std::int64_t> EtcdClient::GrantLease(Seconds ttl) {
  const std::string path = "/v3/lease/grant";
  if (!(ttl > 0)) {
    return absl::InvalidArgumentError(impl_->Context(path) + ": lease TTL must be > 0 seconds");
  }
  const auto whole = static_cast<std::int64_t>(std::ceil(ttl));
  MESHTWIN_ASSIGN_OR_RETURN(Json answer, impl_->Call(path, {{"TTL", std::to_string(whole)}}));
  const AnswerReader read(impl_->Context(path));
  if (const auto error = answer.find("error"); error != answer.end() && error->is_string() &&
                                               !error->get_ref<const std::string&>().empty()) {
    return absl::UnavailableError(impl_->Context(path) + ": " + error->get<std::string>());
  }
  MESHTWIN_ASSIGN_OR_RETURN(std::int64_t id, read.Int(answer, "ID", ""));
  if (id == 0) return read.Bad("ID", "missing: no lease was granted");
  return id;
}

absl::StatusOr<Seconds> EtcdClient::KeepAlive(std::int64_t lease) { return KeepAlive(lease, 0); }

absl::StatusOr<Seconds> EtcdClient::KeepAlive(std::int64_t lease, Seconds timeout) {
  const std::string path = "/v3/lease/keepalive";
  MESHTWIN_ASSIGN_OR_RETURN(Json answer,
                            impl_->Call(path, {{"ID", std::to_string(lease)}}, timeout));
  const AnswerReader read(impl_->Context(path));
  // A stream's message comes wrapped: {"result": {...}} or {"error": {...}}.
  if (const auto error = answer.find("error"); error != answer.end()) {
    return absl::UnavailableError(impl_->Context(path) + ": " + Snippet(error->dump()));
  }
  const auto result = answer.find("result");
  if (result == answer.end() || !result->is_object()) {
    return read.Bad("result", "expected an object, got " + Snippet(answer.dump()));
  }
  MESHTWIN_ASSIGN_OR_RETURN(std::int64_t ttl, read.Int(*result, "TTL", "result."));
  // etcd answers TTL 0 (omitted) for a lease it no longer has.
  if (ttl <= 0) {
    return absl::NotFoundError(impl_->Context(path) + ": lease " + LeaseText(lease) +
                               " has expired or was revoked");
  }
  return static_cast<Seconds>(ttl);
}

absl::StatusOr<Seconds> EtcdClient::TimeToLive(std::int64_t lease) {
  const std::string path = "/v3/lease/timetolive";
  MESHTWIN_ASSIGN_OR_RETURN(Json answer, impl_->Call(path, {{"ID", std::to_string(lease)}}));
  MESHTWIN_ASSIGN_OR_RETURN(std::int64_t ttl,
                            AnswerReader(impl_->Context(path)).Int(answer, "TTL", ""));
  if (ttl < 0) {  // -1: no such lease
    return absl::NotFoundError(impl_->Context(path) + ": lease " + LeaseText(lease) +
                               " has expired or was revoked");
  }
  return static_cast<Seconds>(ttl);
}

absl::Status EtcdClient::Revoke(std::int64_t lease) { return Revoke(lease, 0); }

absl::Status EtcdClient::Revoke(std::int64_t lease, Seconds timeout) {
  absl::StatusOr<Json> answer =
      impl_->Call("/v3/lease/revoke", {{"ID", std::to_string(lease)}}, timeout);
  if (absl::IsNotFound(answer.status())) {
    return absl::NotFoundError(ErrorText(answer.status()) + " (lease " + LeaseText(lease) + ")");
  }
  return answer.status();
}

absl::StatusOr<std::optional<EtcdKeyValue>> EtcdClient::Get(const std::string& key) {
  const std::string path = "/v3/kv/range";
  MESHTWIN_ASSIGN_OR_RETURN(Json answer, impl_->Call(path, {{"key", Base64(key)}}));
  MESHTWIN_ASSIGN_OR_RETURN(std::vector<EtcdKeyValue> kvs,
                            AnswerReader(impl_->Context(path)).KeyValues(answer));
  if (kvs.empty()) return std::nullopt;
  return std::move(kvs.front());
}

absl::StatusOr<std::vector<EtcdKeyValue>> EtcdClient::GetPrefix(const std::string& prefix) {
  const std::string path = "/v3/kv/range";
  const std::string key = prefix.empty() ? std::string(1, '\0') : prefix;
  MESHTWIN_ASSIGN_OR_RETURN(
      Json answer,
      impl_->Call(path, {{"key", Base64(key)}, {"range_end", Base64(PrefixEnd(prefix))}}));
  return AnswerReader(impl_->Context(path)).KeyValues(answer);
}

absl::StatusOr<std::int64_t> EtcdClient::Put(const std::string& key, const std::string& value,
                                             std::int64_t lease) {
  const std::string path = "/v3/kv/put";
  Json request = {{"key", Base64(key)}, {"value", Base64(value)}};
  if (lease != 0) request["lease"] = std::to_string(lease);
  MESHTWIN_ASSIGN_OR_RETURN(Json answer, impl_->Call(path, request));
  const auto header = answer.find("header");
  if (header == answer.end() || !header->is_object()) {
    return AnswerReader(impl_->Context(path)).Bad("header", "missing");
  }
  return AnswerReader(impl_->Context(path)).Int(*header, "revision", "header.");
}

absl::StatusOr<bool> EtcdClient::CreateIfAbsent(const std::string& key, const std::string& value,
                                                std::int64_t lease) {
  MESHTWIN_ASSIGN_OR_RETURN(std::int64_t revision, TryCreate(key, value, lease));
  return revision != 0;
}

namespace {

Json CreateRevisionIs(const std::string& key, std::int64_t revision) {
  return {{"target", "CREATE"},
          {"result", "EQUAL"},
          {"key", Base64(key)},
          {"create_revision", std::to_string(revision)}};
}

Json PutOp(const std::string& key, const std::string& value, std::int64_t lease) {
  Json put = {{"key", Base64(key)}, {"value", Base64(value)}};
  if (lease != 0) put["lease"] = std::to_string(lease);
  return {{"request_put", std::move(put)}};
}

// The revision a succeeded transaction wrote at (its header's revision: one
// put makes one new revision), or 0 if its compares failed.
absl::StatusOr<std::int64_t> TxnRevision(const Json& answer, const AnswerReader& read) {
  const auto succeeded = answer.find("succeeded");
  if (succeeded == answer.end() || succeeded->is_null()) return 0;
  if (!succeeded->is_boolean()) {
    return read.Bad("succeeded", "expected true or false, got " + Snippet(succeeded->dump()));
  }
  if (!succeeded->get<bool>()) return 0;
  const auto header = answer.find("header");
  if (header == answer.end() || !header->is_object()) return read.Bad("header", "missing");
  MESHTWIN_ASSIGN_OR_RETURN(std::int64_t revision, read.Int(*header, "revision", "header."));
  if (revision <= 0) return read.Bad("header.revision", "missing after a write");
  return revision;
}

}  // namespace

absl::StatusOr<std::int64_t> EtcdClient::TryCreate(const std::string& key, const std::string& value,
                                                   std::int64_t lease) {
  const std::string path = "/v3/kv/txn";
  const Json request = {{"compare", Json::array({CreateRevisionIs(key, 0)})},
                        {"success", Json::array({PutOp(key, value, lease)})}};
  MESHTWIN_ASSIGN_OR_RETURN(Json answer, impl_->Call(path, request));
  return TxnRevision(answer, AnswerReader(impl_->Context(path)));
}

absl::StatusOr<bool> EtcdClient::FencedCreate(const std::string& fence_key, std::int64_t fence,
                                              const std::string& key, const std::string& value) {
  const std::string path = "/v3/kv/txn";
  if (fence <= 0) {
    // create_revision 0 would match a missing fence key: no fence at all.
    return absl::InvalidArgumentError(impl_->Context(path) + ": fence must be > 0, got " +
                                      std::to_string(fence));
  }
  const Json request = {
      {"compare", Json::array({CreateRevisionIs(fence_key, fence), CreateRevisionIs(key, 0)})},
      {"success", Json::array({PutOp(key, value, 0)})}};
  MESHTWIN_ASSIGN_OR_RETURN(Json answer, impl_->Call(path, request));
  MESHTWIN_ASSIGN_OR_RETURN(std::int64_t revision,
                            TxnRevision(answer, AnswerReader(impl_->Context(path))));
  return revision != 0;
}

absl::Status EtcdClient::Delete(const std::string& key) {
  return impl_->Call("/v3/kv/deleterange", {{"key", Base64(key)}}).status();
}

}  // namespace meshtwin::live
