// What rdbox writes to its caller: whole writes, the one error line, stdout output whose
// loss is rdbox's failure (cli.hpp).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "cli/cli.hpp"
#include "rdbox/bytes.hpp"

namespace rdbox::cli {

int write_all(int fd, const std::string& s) {
  const char* p = s.data();
  std::size_t left = s.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return 0;
}

int fail(const std::string& line) {
  write_all(2, "rdbox: " + rdbox::one_line(line) + "\n");
  return kRdboxFailed;
}

int print(const std::string& text, const char* what) {
  if (int e = write_all(1, text)) return fail(std::string(what) + ": writing to stdout: " + std::strerror(e));
  return 0;
}

}  // namespace rdbox::cli
