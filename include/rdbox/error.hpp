// rdbox error convention (parent side only; the exec stub never builds these).
//
// Every fallible parent-side function returns Expected<T>: either a value or one Error
// carrying {context, errno, message}. The first error wins and travels up unchanged;
// the CLI prints it as one line, "rdbox: <what()>", and exits 125.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace rdbox {

struct Error {
  std::string context;  // what rdbox was doing: "exec \"/bin/x\"", "--stack-size"
  int err = 0;          // errno, 0 when the error is not a system call's
  std::string message;  // human text; strerror(err) when empty

  // "context: message" — the single line the user sees.
  std::string what() const;

  static Error sys(std::string context, int err) { return Error{std::move(context), err, {}}; }
  static Error input(std::string context, std::string message) {
    return Error{std::move(context), 0, std::move(message)};
  }
};

template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}
  Expected(Error error) : v_(std::move(error)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Expected<Unit>;
inline Status ok() { return Unit{}; }

}  // namespace rdbox
