#pragma once
#include <stdexcept>
#include <string>
#include <sstream>

namespace kiln {
// Every native failure is a kiln::Error; the addon turns it into a JS Error.
struct Error : std::runtime_error {
  explicit Error(const std::string& m) : std::runtime_error(m) {}
};

template <typename... A> [[noreturn]] inline void fail(const A&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw Error(os.str());
}
}  // namespace kiln
