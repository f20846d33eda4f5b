#include "rdbox/error.hpp"

#include <cstring>

namespace rdbox {

std::string Error::what() const {
  std::string text = message.empty() && err != 0 ? std::string(std::strerror(err)) : message;
  if (context.empty()) return text;
  return context + ": " + text;
}

}  // namespace rdbox
