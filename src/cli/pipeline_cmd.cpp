// rdbox pipeline: the stages as given split into words (rdbox/pipeline.hpp), then the run
// and its report as rdbox run's (the Spec carries the stages; the stub starts them).
#include "cli/cli.hpp"

namespace rdbox::cli {

int pipeline_command(rdbox::Spec& spec, RunArgs& args) { return run_command(spec, args, true); }

}  // namespace rdbox::cli
