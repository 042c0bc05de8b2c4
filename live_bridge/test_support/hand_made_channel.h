// Tests only: a gRPC channel made by hand, trusting `ca_pem` and presenting
// `identity` (nullptr: no client certificate at all) — what the library's own
// MakeChannelCredentials refuses to make, to show that servers refuse it.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <memory>
#include <string>
#include <vector>

#include "live_bridge/certs.h"

namespace meshtwin::live::testing {

inline std::shared_ptr<grpc::Channel> HandMadeChannel(const std::string& address,
                                                      const std::string& ca_pem,
                                                      const KeyAndCertificate* identity) {
  std::shared_ptr<grpc::experimental::StaticDataCertificateProvider> provider;
  if (identity != nullptr) {
    provider = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
        ca_pem, std::vector<grpc::experimental::IdentityKeyCertPair>{
                    {identity->key_pem, identity->cert_pem}});
  } else {
    provider = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(ca_pem);
  }
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_root_certs();
  if (identity != nullptr) options.watch_identity_key_cert_pairs();
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // no connection shared between tests
  return grpc::CreateCustomChannel(address, grpc::experimental::TlsCredentials(options), args);
}

}  // namespace meshtwin::live::testing
