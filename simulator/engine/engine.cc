#include "simulator/engine/engine.h"

#include "simulator/engine/htae.h"

namespace proteus {

SimResult Simulate(const ExecGraph& graph, const EngineOptions& options) {
  ValidateExecGraph(graph);
  Htae htae(graph, options);
  return htae.Run();
}

}  // namespace proteus
