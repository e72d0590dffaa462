// Internal error type: thrown inside the core, turned into a grl_status and a thread-local message
// at the C ABI boundary (src/capi/api.h). Nothing else crosses the ABI.
#pragma once
#include <grilly.h>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace grl {

class Error : public std::runtime_error {
 public:
  Error(grl_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  grl_status status() const { return status_; }

 private:
  grl_status status_;
};

// printf-style message helper.
template <typename... Args>
std::string format(const char* fmt, Args... args) {
  int n = std::snprintf(nullptr, 0, fmt, args...);
  std::string s(static_cast<size_t>(n > 0 ? n : 0), '\0');
  std::snprintf(s.data(), s.size() + 1, fmt, args...);
  return s;
}

template <typename... Args>
[[noreturn]] void fail(grl_status status, const char* fmt, Args... args) {
  throw Error(status, format(fmt, args...));
}

}  // namespace grl
