// A program built against an installed rdbox (pkg-config or find_package): it runs a
// command in a new UTS namespace (and a user namespace when not root) through the library
// and prints what the command said and rdbox's report line.
#include <rdbox/report.hpp>
#include <rdbox/run.hpp>
#include <sched.h>
#include <unistd.h>

#include <cstdio>

int main() {
  rdbox::Spec spec;
  spec.command = {"/bin/sh", "-c", "echo \"inside $(uname -n)\""};
  spec.hostname = "rdbox-consumer";
  if (::geteuid() != 0) spec.namespaces |= CLONE_NEWUSER;
  spec.report = rdbox::ReportFormat::none;
  rdbox::Outcome out = rdbox::run(spec);
  std::printf("%s\n", rdbox::text_report(out).c_str());
  return out.exit_code();
}
