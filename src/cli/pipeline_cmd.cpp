// rdbox pipeline: the stages as given split into words (rdbox/pipeline.hpp), then the run
// and its report as rdbox run's (the Spec carries the stages; the stub starts them).
#include "cli/cli.hpp"
#include "rdbox/pipeline.hpp"

namespace rdbox::cli {

int pipeline_command(rdbox::Spec& spec, RunArgs& args) {
  auto stages = rdbox::split_stages(spec.command);
  if (!stages) return fail(stages.error().what());
  spec.pipeline = std::move(stages.value());
  return run_command(spec, args);
}

}  // namespace rdbox::cli
