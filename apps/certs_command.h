// `meshtwin certs init --dir D [--nodes N] [--days N] [--force]`: a development
// CA and the certificates the live bridge's mutual TLS needs (manager, agents,
// a client for tools), made with the OpenSSL library.
#pragma once

#include <CLI/CLI.hpp>

namespace meshtwin {

// Adds the subcommand to `app`; `exit_code` receives its result when it runs.
void RegisterCertsCommand(CLI::App& app, int* exit_code);

}  // namespace meshtwin
