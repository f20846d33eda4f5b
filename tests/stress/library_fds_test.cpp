// A long-lived library user (issue 10): one program calls rdbox::run(config) 1000 times in
// a thread — plain runs, namespaced ones, runs leaving orphans behind — and its descriptor
// count, its children and its threads must stay where they were.
#include <dirent.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "rdbox/run.hpp"

namespace {

int count_entries(const char* dir) {
  int n = 0;
  if (DIR* d = ::opendir(dir)) {
    while (struct dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n - 0;
}
int fd_count() { return count_entries("/proc/self/fd") - 1; }  // less opendir's own

rdbox::SandboxConfig config(int i) {
  rdbox::SandboxConfig c;
  rdbox::ProcessConfig p;
  int code = i % 100;
  switch (i % 4) {
    case 0: p.argv = {"/bin/sh", "-c", "exit " + std::to_string(code)}; break;
    case 1:  // orphans and a daemonized grandchild, killed by the library's sweep
      p.argv = {"/bin/sh", "-c", "sleep 30 & setsid sleep 30 & exit " + std::to_string(code)};
      break;
    case 2:
    case 3:  // PID 1 of new namespaces, leaving children that die with it
      c.namespaces = {{CLONE_NEWUSER, "", "user"}, {CLONE_NEWPID, "", "pid"}, {CLONE_NEWNS, "", "mnt"},
                      {CLONE_NEWUTS, "", "uts"}};
      c.launch.mode = i % 4 == 2 ? rdbox::Mode::clone : rdbox::Mode::fork;
      p.argv = {"/bin/sh", "-c", "[ $$ = 1 ] && sleep 30 & sleep 30 & exit " + std::to_string(code)};
      break;
  }
  p.env = {"PATH=/usr/bin:/bin"};
  c.processes.push_back(p);
  return c;
}

TEST(LongLivedLibraryUser, AThousandRunsInAThreadKeepTheFdCountFlat) {
  constexpr int kRuns = 1000;
  int base = -1, wrong = 0;
  std::vector<int> samples;
  std::string first_failure;
  std::thread t([&] {
    for (int i = 0; i < kRuns; ++i) {
      rdbox::SessionOptions so;
      so.reap_orphans = true;
      rdbox::Outcome out = rdbox::run(config(i), so);
      if (out.kind != rdbox::OutcomeKind::exited || out.code != i % 100) {
        if (wrong++ == 0)
          first_failure = "run " + std::to_string(i) + ": " + rdbox::to_string(out.kind) + " " +
                          std::to_string(out.code) + " " + out.message;
      }
      if (i == 9) base = fd_count();  // after the first runs made what lives as long as the process
      if (i % 100 == 99) samples.push_back(fd_count());
    }
  });
  t.join();
  EXPECT_EQ(wrong, 0) << first_failure;
  for (std::size_t k = 0; k < samples.size(); ++k)
    EXPECT_EQ(samples[k], base) << "fd count after " << (k + 1) * 100 << " runs";
  // No child left, not even a zombie; one thread again.
  int st;
  std::string kids;
  for (std::string task : {"/proc/self/task/" + std::to_string(::getpid()) + "/children"}) {
    FILE* f = std::fopen(task.c_str(), "r");
    char buf[4096] = {};
    if (f) kids = std::fgets(buf, sizeof buf, f) ? buf : "", std::fclose(f);
  }
  EXPECT_EQ(::waitpid(-1, &st, WNOHANG), -1) << "a child or zombie is left: " << kids;
  EXPECT_EQ(count_entries("/proc/self/task"), 1);
  std::printf("%d library runs in one thread; fd count %d throughout\n", kRuns, base);
}

}  // namespace
