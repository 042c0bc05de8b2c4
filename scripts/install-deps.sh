#!/usr/bin/env bash
# Installs every Debian 12 package meshtwin needs to build, test and run.
# Idempotent: packages already present are left alone. Needs root (or sudo).
#   sudo scripts/install-deps.sh
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache git
  # simulation, models, graph layout, storage
  libsimgrid-dev simgrid
  libtorch-dev libopenblas0-pthread
  libgoogle-perftools-dev   # tcmalloc: SimGrid allocates per activity
  libboost-graph-dev
  libhdf5-dev hdf5-tools
  # live bridge: gRPC with mutual TLS (OpenSSL), the agents' /metrics endpoint
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libssl-dev libcpp-httplib-dev
  # live bridge end-to-end test: a real etcd (leader election) and Prometheus
  etcd-server prometheus
  # GUI and headless rendering for its tests
  libimgui-dev libglfw3-dev libgl-dev libstb-dev xvfb xauth libgl1-mesa-dri
  # parsing, CLI, logging, JSON/YAML
  libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libabsl-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev time
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
