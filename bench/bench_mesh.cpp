// The pure part of a simulated tick, without SimGrid: balancing demand over
// the fleet, accounting the tick, observing it and one HPA decision. This is
// the floor under `meshtwin simulate`'s per-tick cost.
#include <benchmark/benchmark.h>

#include "policies/hpa_policy.h"
#include "twin/mesh.h"

namespace meshtwin {
namespace {

void BM_MeshTick(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  NodeTypeSpec t;
  t.name = "web";
  t.cores = 8;
  t.core_speed = 2.5e9;
  t.initial = nodes;
  t.max = 2 * nodes;
  MeshModel mesh({t}, WorkloadSpec{1e8, 30}, SloSpec{});
  mesh.AddInitialNodes();
  HpaOptions o;
  o.min_replicas = 1;
  o.max_replicas = 2 * nodes;
  HpaPolicy hpa(o);
  double now = 0;
  for (auto _ : state) {
    mesh.PromoteBooted(now);
    Plan p = hpa.Decide(mesh.Observe(now, 15));
    benchmark::DoNotOptimize(p);
    mesh.BeginTick(now, 15, nodes * 200.0 * 0.6);
    for (int id : mesh.working_nodes()) {
      const Node& n = mesh.node(id);
      mesh.ReportServed(id, n.assigned);
    }
    benchmark::DoNotOptimize(mesh.EndTick());
    now += 15;
  }
  state.SetItemsProcessed(state.iterations() * nodes);  // node-ticks
}
BENCHMARK(BM_MeshTick)->Arg(50)->Arg(1000)->Arg(10000);

}  // namespace
}  // namespace meshtwin

BENCHMARK_MAIN();
